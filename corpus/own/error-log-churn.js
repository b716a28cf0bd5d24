// expect: leak
// holder: Array `recentErrors`
// items: ValidationError
// url: /submit?form={seq}
//
// Slow leak buried in churn. Every request validates a form by building
// ~200 short-lived field objects; every 5th form fails validation and its
// ValidationError (message, field list and captured stack) is kept in
// `recentErrors` for a debug page. The trim was meant to keep the last 100
// with `recentErrors.slice(-100)`, but slice returns a new array and the
// result is thrown away, so the array keeps every error.
'use strict';
const http = require('node:http');

class ValidationError extends Error {
  constructor(form, fields) {
    super(`form ${form} has ${fields.length} invalid fields`);
    this.name = 'ValidationError';
    this.form = form;
    this.fields = fields;
  }
}

const recentErrors = [];
let forms = 0;

function parseFields(form) {
  const fields = [];
  for (let i = 0; i < 200; i++) fields.push({ name: `field${i}`, value: `${form}-${i}`, required: i % 3 === 0 });
  return fields;
}

function validate(form, fields) {
  const missing = fields.filter((f) => f.required && f.value === '').map((f) => f.name);
  if (forms % 5 === 0) missing.push('captcha', 'terms', 'email');
  if (missing.length > 0) throw new ValidationError(form, missing);
}

const server = http.createServer((req, res) => {
  forms++;
  const form = new URL(req.url, 'http://localhost').searchParams.get('form') || 'anonymous';
  const fields = parseFields(form);
  try {
    validate(form, fields);
    res.end(`accepted ${fields.length} fields\n`);
  } catch (error) {
    recentErrors.push(error);
    recentErrors.slice(-100); // meant: recentErrors = recentErrors.slice(-100)
    res.end(`rejected: ${error.message}\n`);
  }
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
