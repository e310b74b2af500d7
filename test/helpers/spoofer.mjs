// A keyless stranger on the office LAN, for the trust tests: it copies announcements it is given
// (another desk's id, the lowest id there could be, claiming to host), adds any number of made-up
// ones, and serves TLS on the announced port, answering like a desk would at first. It records all
// that any desk sends it, decrypted (it is the end of the connection), in --out, one JSON line each.
// Usage: node spoofer.mjs --port 3211 --cert FILE --key FILE --out FILE --announce JSON [--fakes N]
import { Bonjour } from 'bonjour-service';
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const { values } = parseArgs({ options: { port: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' }, out: { type: 'string' }, announce: { type: 'string' }, fakes: { type: 'string', default: '0' } } });
const record = (kind, data) => appendFileSync(values.out, `${JSON.stringify({ kind, data: String(data) })}\n`);
const server = createServer({ cert: readFileSync(values.cert), key: readFileSync(values.key), requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' });
const wss = new WebSocketServer({ noServer: true });
server.on('secureConnection', (socket) => record('tls', socket.remoteAddress));
server.on('request', (req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    record('http', `${req.method} ${req.url} ${JSON.stringify(req.headers)} ${body}`);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
  });
});
server.on('upgrade', (req, socket, head) => {
  record('upgrade', `${req.url} ${JSON.stringify(req.headers)}`);
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (m) => record('message', m));
    ws.on('error', () => undefined);
  });
});
server.listen(Number(values.port), '0.0.0.0', () => console.log('spoofer listening'));

const bonjour = new Bonjour({}, () => undefined);
for (const a of JSON.parse(values.announce)) bonjour.publish({ name: `LAN Scheduler ${a.txt.id.slice(0, 12)}`, type: 'lansched', port: Number(values.port), txt: a.txt, probe: false });
const template = JSON.parse(values.announce)[0]?.txt;
for (let i = 0; i < Number(values.fakes); i++) {
  const id = Array.from(randomBytes(32), (b) => 'abcdefghijklmnopqrstuvwxyz234567'[b & 31]).join('');
  bonjour.publish({ name: `LAN Scheduler ${id.slice(0, 12)}`, type: 'lansched', port: Number(values.port), txt: { ...template, id, role: i % 2 ? 'host' : 'peer' }, probe: false });
}
console.log('spoofer announced');
