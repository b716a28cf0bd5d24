// expect: leak
// holder: _cache
// package: ajv
// items: SchemaEnv
// url: /forms/f{seq}/validate
//
// Compiling a JSON schema per request: each form's validation schema is
// built from its field configuration on every request and passed to
// ajv.compile(). Ajv caches compiled schemas in a Map (_cache) keyed by the
// schema *object*, so a freshly built object is always a cache miss; each
// call generates and keeps a new validator (source, closures, SchemaEnv)
// for the life of the Ajv instance.
'use strict';
const http = require('node:http');
const Ajv = require('ajv');

const ajv = new Ajv();

function formSchema(formId) {
  return {
    $comment: formId,
    type: 'object',
    properties: { email: { type: 'string' }, plan: { type: 'string' } },
    required: ['email'],
  };
}

const server = http.createServer((req, res) => {
  const formId = req.url.split('/')[2] || 'default';
  const validate = ajv.compile(formSchema(formId));
  const ok = validate({ email: 'ada@example.com', plan: 'pro', age: 36 });
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ form: formId, ok }));
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
