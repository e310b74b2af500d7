// The stand-in's line to the test: JSON lines over the unix socket STANDIN_CONTROL (commands in,
// answers and reports out), and every report also appended, synchronously, to STANDIN_RECORD, so
// that the last ones before process.exit are never lost.
import { appendFileSync } from 'node:fs';
import { connect } from 'node:net';

export function openControl(handlers) {
  const path = process.env.STANDIN_CONTROL;
  const record = process.env.STANDIN_RECORD;
  let socket = null;
  const queued = [];
  const send = (message) => {
    const line = `${JSON.stringify(message)}\n`;
    if (socket) socket.write(line);
    else queued.push(line);
  };
  if (path) {
    const s = connect(path);
    s.on('connect', () => {
      socket = s;
      for (const line of queued.splice(0)) s.write(line);
    });
    s.on('error', (err) => process.stderr.write(`stand-in control: ${err.message}\n`));
    // The line must not keep the app alive: Electron's process ends when the app says so.
    s.unref();
    let buffer = '';
    s.setEncoding('utf8').on('data', (chunk) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        if (line.trim()) void answer(JSON.parse(line));
      }
    });
  }
  const answer = async ({ id, cmd, ...args }) => {
    try {
      const handler = handlers[cmd];
      if (!handler) throw new Error(`the stand-in has no command ${cmd}`);
      send({ id, ok: true, value: (await handler(args)) ?? null });
    } catch (err) {
      send({ id, ok: false, error: err?.stack ?? String(err) });
    }
  };
  return {
    /** Something the app did, for the test to see. */
    report(type, data = {}) {
      const message = { report: type, at: Date.now(), ...data };
      if (record) appendFileSync(record, `${JSON.stringify(message)}\n`);
      send(message);
    },
  };
}
