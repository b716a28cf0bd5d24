// expect: leak
// holder: __data__
// package: lodash
// items: ParsedQuery
// url: /search?q=shoes+size:{seq}+color:red
//
// An unbounded memo: the search filter parser is wrapped in _.memoize, keyed
// by the raw query string. Real traffic has near-unique queries, and lodash's
// memoize cache (a MapCache whose string keys live in a Hash's __data__
// object) has no size limit or expiry, so every distinct query is parsed once
// and then kept for the life of the process.
'use strict';
const http = require('node:http');
const _ = require('lodash');

class ParsedQuery {
  constructor(text) {
    this.text = text;
    this.terms = [];
    this.filters = {};
    for (const token of text.split(/\s+/)) {
      const colon = token.indexOf(':');
      if (colon > 0) this.filters[token.slice(0, colon)] = token.slice(colon + 1);
      else if (token) this.terms.push(token.toLowerCase());
    }
  }
}

const parseQuery = _.memoize((text) => new ParsedQuery(text));

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const parsed = parseQuery(url.searchParams.get('q') || '');
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ terms: parsed.terms.length, filters: Object.keys(parsed.filters) }));
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
