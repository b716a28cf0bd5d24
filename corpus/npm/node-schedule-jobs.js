// expect: leak
// holder: scheduledJobs
// package: node-schedule
// items: Job
// url: /subscriptions/s{seq}
//
// In-process follow-up jobs per request: every trial sign-up schedules its
// "your trial ends soon" e-mail with schedule.scheduleJob(date, ...) twelve
// days ahead and keeps no handle to cancel it (not even when the user
// upgrades or deletes the account). node-schedule registers each job, with
// its closure and the sign-up data, in its module-level scheduledJobs
// object (and the pending run in its sorted `invocations` list) until the
// job has fired, so the process holds weeks of traffic; deployed more often
// than that, nothing is ever sent and the heap only grows. Only one timer
// is armed, for the earliest run.
'use strict';
const http = require('node:http');
const schedule = require('node-schedule');

const TWELVE_DAYS = 12 * 24 * 3600 * 1000;

class TrialSignup {
  constructor(id) {
    this.id = id;
    this.plan = 'team';
    this.seats = 5;
    this.features = ['sso', 'audit-log', 'exports'];
  }
}

const server = http.createServer((req, res) => {
  const signup = new TrialSignup(req.url.slice('/subscriptions/'.length));
  schedule.scheduleJob(new Date(Date.now() + TWELVE_DAYS), function sendTrialReminder() {
    signup.reminded = true;
  });
  res.end(`trial started for ${signup.id}\n`);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
