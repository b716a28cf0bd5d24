// node bench/load.js PORT SECONDS CONNECTIONS: a keep-alive load fallback when wrk is absent; prints req/s.
const http = require('http');
const [port, secs, conns] = [process.argv[2], +(process.argv[3]||10), +(process.argv[4]||8)];
const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
let n = 0, stop = Date.now() + secs * 1000;
function one() { if (Date.now() > stop) return; http.get({ port, host: '127.0.0.1', path: '/x?n=' + n, agent }, (res) => { res.resume(); res.on('end', () => { n++; one(); }); }).on('error', () => setTimeout(one, 10)); }
for (let i = 0; i < conns; i++) one();
setTimeout(() => { console.log((n / secs).toFixed(0)); process.exit(0); }, secs * 1000 + 200);
