import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { capture, captureUnavailable } from './helpers/capture.js';
import { desks, replicas, type Desk } from './helpers/desks.js';
import { request, requireBuiltCli } from './helpers/hostProcess.js';
import { messageQueue } from './helpers/liveHost.js';
import { createLan, netnsUnavailable, type Lan } from './helpers/netns.js';

/** An upper bound, not a measure: ten desks start, then 16 s of backoff and 10 s of writes are waited out: about 30 s here, more on a busy machine. */
const LONG_MS = 120_000;

// mDNS only finds desks: once they have, an idle LAN is almost silent, and desks watch each other
// over their own channels (a host failure, a goodbye) without it.
const unavailable = (await netnsUnavailable()) ?? captureUnavailable();
if (unavailable) console.warn(`quiet LAN tests skipped: ${unavailable}`);

const SETTLE = { timeout: 30_000, interval: 200 };
const anEvent = (text: string) => ({ text, start_date: '2026-03-02 10:00', end_date: '2026-03-02 11:00' });

describe.skipIf(unavailable !== undefined)('a quiet LAN', () => {
  let lan: Lan;
  let office: ReturnType<typeof desks>;
  beforeEach(() => requireBuiltCli());
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') console.log(office.dump());
    await office?.cleanup();
    await lan?.destroy();
  });

  it('ten desks find one host, and then the switch hears almost no mDNS, with or without writes', async () => {
    lan = await createLan({ peers: 10 });
    office = desks(lan);
    const first = await office.start(0);
    await expect.poll(() => first.role(), SETTLE).toBe('host');
    const rest = await Promise.all(Array.from({ length: 9 }, (_, i) => office.start(i + 1)));
    const lastStarted = Date.now();
    await expect.poll(() => rest.filter((d) => d.role() === 'peer').length, { ...SETTLE, timeout: 60_000 }).toBe(9);
    // Questions back off (1, 2, 4, 8, 16 s …): from 16 s after the last start, the next round is 15 s away.
    await new Promise((r) => setTimeout(r, Math.max(0, lastStarted + 16_000 - Date.now())));
    const cap = await capture(lan.bridge, 'udp port 5353');
    try {
      for (let n = 0; n < 10; n++) {
        await first.write('POST', '/events', anEvent(`write ${n}`));
        await new Promise((r) => setTimeout(r, 1000));
      }
      const { packets } = await cap.summary();
      if (process.env.DEBUG_MDNS) console.log(await cap.dump());
      // Ten seconds, ten desks, a write a second: at most a question or two, which name every desk as
      // known, so nobody answers (before the known answers were spelt right, all ten did).
      expect(packets).toBeLessThanOrEqual(3);
    } finally {
      await cap.close();
    }
    await expect.poll(async () => (await replicas([first, ...rest])).every((r) => r.length === 10), SETTLE).toBe(true);
  }, LONG_MS);

  it('elects the next host from the list the host shared, with mDNS dropped after the desks joined', async () => {
    lan = await createLan({ peers: 3 });
    office = desks(lan);
    const list = await office.startInOrder(3);
    const [a, b, c] = list as [Desk, Desk, Desk];
    await lan.blockMulticast();
    await office.kill(a);
    await expect.poll(() => [b, c].filter((d) => d.role() === 'host').length, SETTLE).toBe(1);
    const host = [b, c].find((d) => d.role() === 'host')!;
    const other = host === b ? c : b;
    await expect.poll(() => other.roles().at(-1), SETTLE).toBe(`joined desk ${host.deskId()!.slice(0, 8)} at ${host.address}`);
    const { json } = await other.write('POST', '/events', anEvent('after the failover'));
    await expect.poll(async () => (await host.events()).map((e) => e.id), SETTLE).toContain(json.tid);
  });

  it('drops a desk that says goodbye at once, in who is online on every desk', async () => {
    lan = await createLan({ peers: 3 });
    office = desks(lan);
    const list = await office.startInOrder(3);
    const [, b, c] = list as [Desk, Desk, Desk];
    // A browser on desk c, watching who is online.
    const hs = (await request(c.base, 'GET', '/api/v1', office.token)).json;
    const page = new WebSocket(`wss://${c.address}:3210/api/v1?token=${hs.key}&ws=1`, { rejectUnauthorized: false });
    const inbox = messageQueue(page);
    await inbox.next();
    page.send(JSON.stringify({ action: 'subscribe', name: 'presence' }));
    const names = (m: any) => (m.body?.value?.value?.desks ?? []).map((d: { name: string }) => d.name).sort();
    await inbox.next((m) => m.action === 'event' && names(m).join() === 'desk0,desk1,desk2', 20_000);
    await office.quit(b);
    await inbox.next((m) => m.action === 'event' && names(m).join() === 'desk0,desk2', 5_000);
    page.close();
  });
});
