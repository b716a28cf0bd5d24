// expect: leak
// holder: models
// package: sequelize
// items: closure model
// url: /imports/{seq}/rows
//
// Defining ORM models per request: every CSV import gets its own table, and
// the handler calls sequelize.define(`import_${id}`, ...) each time it needs
// to touch it. Sequelize registers each model class in its ModelManager's
// models array (and in sequelize.models) and never drops one unless
// removeModel() is called; a model class with its attributes, hooks and
// query options is several kilobytes. define() also looks the name up with a
// linear scan of all models, so requests get slower as the leak grows.
// Nothing connects here: Sequelize only opens connections on the first
// query, and this handler never queries.
'use strict';
const http = require('node:http');
const { Sequelize, DataTypes } = require('sequelize');

const sequelize = new Sequelize('postgres://corpus:corpus@127.0.0.1:1/corpus', {
  logging: false,
  pool: { max: 2, min: 0 },
});

const server = http.createServer((req, res) => {
  const id = req.url.split('/')[2] || '0';
  const ImportRow = sequelize.define(`import_${id}`, {
    sku: DataTypes.STRING(64),
    quantity: DataTypes.INTEGER,
  }, { tableName: `import_${id}`, timestamps: false });
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ table: ImportRow.getTableName(), columns: Object.keys(ImportRow.getAttributes()) }));
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
