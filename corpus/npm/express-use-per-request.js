// expect: leak
// holder: stack
// package: router
// items: Layer
// url: /tenants/t{seq}/home
//
// Registering middleware from inside a request handler: the tenant home page
// "lazily" mounts that tenant's asset middleware with app.use() on the
// request path, instead of once at startup. Every app.use() appends a Layer
// to the Express router's stack for the life of the app, so the stack grows
// by one Layer per request; each request also walks the longer stack, so
// the app gets slower as it leaks. (Express 5's router is the `router`
// package, whose code owns the stack array and creates the Layers.)
'use strict';
const express = require('express');

const app = express();

function tenantAssets(tenant) {
  const prefix = `/assets/${tenant}`;
  return function serveTenantAsset(req, res, next) {
    if (req.path.endsWith('.css')) res.type('css').send(`/* ${prefix} */`);
    else next();
  };
}

app.get('/tenants/:tenant/home', (req, res) => {
  const tenant = req.params.tenant;
  app.use(`/assets/${tenant}`, tenantAssets(tenant)); // BUG: belongs in startup code
  res.send(`home of ${tenant}\n`);
});
app.get('/', (req, res) => res.send('ok\n'));

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
