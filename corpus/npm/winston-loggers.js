// expect: leak
// holder: loggers
// package: winston
// items: DerivedLogger
// url: /api/jobs/{seq}
//
// A logger per job through winston's logger container: the handler calls
// winston.loggers.get(`job:${id}`, ...) to get a logger whose label carries
// the job id. Container.get() creates and registers a new Logger for every
// unknown id in its `loggers` Map and only forgets one when that logger is
// closed, which nobody does, so each job leaves a whole logger (a Transform
// stream with its format and transport) behind. A child logger was meant.
'use strict';
const http = require('node:http');
const winston = require('winston');

const server = http.createServer((req, res) => {
  const id = req.url.slice('/api/jobs/'.length);
  const log = winston.loggers.get(`job:${id}`, {
    level: 'warn',
    format: winston.format.combine(winston.format.label({ label: `job:${id}` }), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
  log.info('job accepted'); // below 'warn': formatted, then dropped
  res.end(`job ${id} accepted\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
