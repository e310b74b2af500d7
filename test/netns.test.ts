import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { within, type Run } from './helpers/hostProcess.js';
import { createLan, netnsUnavailable, waitForOutput, type Lan } from './helpers/netns.js';

const BONJOUR = createRequire(import.meta.url).resolve('bonjour-service');
const TXT = { calendar: 'team a', v: '1' };

// Every mDNS process runs inside a peer's namespace: the root namespace never binds 5353.
// argv: bonjour-service path, instance name, TXT as JSON.
const PUBLISH = `
const { Bonjour } = require(process.argv[1]);
const bonjour = new Bonjour({}, (err) => { console.error('mdns error:', err); process.exit(2); });
const service = bonjour.publish({ name: process.argv[2], type: 'lansched-test', port: 4321, txt: JSON.parse(process.argv[3]) });
service.on('up', () => console.log('published'));
`;

// argv: bonjour-service path, instance name to wait for.
const BROWSE = `
const { Bonjour } = require(process.argv[1]);
const bonjour = new Bonjour({}, (err) => { console.error('mdns error:', err); process.exit(2); });
bonjour.find({ type: 'lansched-test' }, (service) => {
  if (service.name !== process.argv[2]) return;
  console.log(JSON.stringify({ address: service.referer.address, port: service.port, txt: service.txt }));
});
`;

const HTTP = `
require('node:http')
  .createServer((req, res) => res.end('peer3'))
  .listen(0, '0.0.0.0', function () { console.log('listening', this.address().port, process.pid); });
`;

// argv: URL, timeout in ms. Prints "reached <body>" or the error's name. Exits at once: an
// aborted fetch leaves its socket connecting, which would keep the process alive for seconds.
const FETCH = `
fetch(process.argv[1], { signal: AbortSignal.timeout(Number(process.argv[2])) })
  .then((res) => res.text())
  .then((body) => console.log('reached', body), (err) => console.log(err.name, err.cause?.code ?? ''))
  .finally(() => process.exit(0));
`;

const unavailable = await netnsUnavailable();
if (unavailable) console.warn(`LAN tests skipped: ${unavailable}`);

const names = (file: string, args: string[]) => execFileSync(file, args, { encoding: 'utf8' });

describe.skipIf(unavailable !== undefined)('netns LAN', () => {
  let lan: Lan;
  let server: Run;
  let url: string;
  const instance = `lansched-smoke-${process.pid}`;

  const node = (peer: number, script: string, args: string[]) => lan.exec(lan.peers[peer]!.ns, process.execPath, ['-e', script, ...args]);

  /** What a fetch from inside peer `from` to the HTTP server in peer 3 ends in. */
  const fetchFrom = async (from: number, timeoutMs = 1_500) => {
    const probe = node(from, FETCH, [url, String(timeoutMs)]);
    await within(probe.closed, timeoutMs + 5_000, `a fetch from ${lan.peers[from]!.name}`);
    return probe.stdout().trim();
  };

  const fetchFromTest = async () => (await fetch(url, { signal: AbortSignal.timeout(2_000) })).text();

  beforeAll(async () => {
    lan = await createLan({ peers: 3 });
    server = node(2, HTTP, []);
    const [, port, pid] = await waitForOutput(server, /listening (\d+) (\d+)/, 10_000, 'the HTTP server in peer 3');
    // `ip netns exec` execs: the child we hold is the server itself, so destroy() can kill it.
    expect(Number(pid)).toBe(server.child.pid);
    url = `http://${lan.peers[2]!.address}:${port}/`;
  });

  afterAll(() => lan?.destroy());

  it('keeps the LAN sealed: the bridge holds only our peers, and peers have no way out', () => {
    const ports = JSON.parse(names('ip', ['-j', 'link', 'show', 'master', lan.bridge])) as { ifname: string }[];
    expect(ports.map((p) => p.ifname).sort()).toEqual(lan.peers.map((p) => p.port).sort());
    for (const peer of lan.peers) {
      const routes = names('ip', ['-n', peer.ns, '-4', 'route', 'show', 'table', 'all']);
      expect(routes).not.toMatch(/^default/m);
      const links = JSON.parse(names('ip', ['-n', peer.ns, '-j', 'link', 'show'])) as { ifname: string }[];
      expect(links.map((l) => l.ifname).sort()).toEqual(['lan0', 'lo']);
    }
  });

  it("peer 2 finds the service peer 1 publishes, from peer 1's address with its TXT intact", async () => {
    const publisher = node(0, PUBLISH, [BONJOUR, instance, JSON.stringify(TXT)]);
    await waitForOutput(publisher, /^published$/m, 10_000, 'the service in peer 1 to be up');
    const browser = node(1, BROWSE, [BONJOUR, instance]);
    const [line] = await waitForOutput(browser, /^\{.*\}$/m, 10_000, "peer 2 to find peer 1's service");
    expect(JSON.parse(line)).toEqual({ address: lan.peers[0]!.address, port: 4321, txt: TXT });
  });

  it('lets the test process reach an HTTP server in peer 3 through the bridge', async () => {
    expect(await fetchFromTest()).toBe('peer3');
    expect(await fetchFrom(0)).toBe('reached peer3');
  });

  it('split([2]) cuts peer 3 off from peers 1 and 2, but not from the test process; heal() reconnects', async () => {
    await lan.split([2]);
    try {
      const [fromPeer1, fromPeer2, mdnsInPeer3] = await Promise.all([
        fetchFrom(0),
        fetchFrom(1),
        // The publisher from the previous test still answers queries, but not across the split.
        (async () => {
          const browser = node(2, BROWSE, [BONJOUR, instance]);
          const found = await waitForOutput(browser, /^\{.*\}$/m, 2_000, 'peer 3 to find the service').then(
            () => 'found',
            (err: Error) => err.message,
          );
          browser.child.kill('SIGKILL');
          return found;
        })(),
      ]);
      expect(fromPeer1).toBe('TimeoutError');
      expect(fromPeer2).toBe('TimeoutError');
      expect(mdnsInPeer3).toMatch(/timed out/);
      expect(await fetchFromTest()).toBe('peer3');
    } finally {
      await lan.heal();
    }
    expect(await fetchFrom(0)).toBe('reached peer3');
    const browser = node(2, BROWSE, [BONJOUR, instance]);
    const [line] = await waitForOutput(browser, /^\{.*\}$/m, 10_000, 'peer 3 to find the service after heal');
    expect(JSON.parse(line).address).toBe(lan.peers[0]!.address);
  });

  it('split([1, 2]) keeps peers 2 and 3 together and apart from peer 1', async () => {
    await lan.split([1, 2]);
    try {
      const [fromPeer1, fromPeer2] = await Promise.all([fetchFrom(0), fetchFrom(1)]);
      expect(fromPeer1).toBe('TimeoutError');
      expect(fromPeer2).toBe('reached peer3');
    } finally {
      await lan.heal();
    }
  });

  it('rejects a split that leaves one side empty', async () => {
    await expect(lan.split([])).rejects.toThrow(RangeError);
    await expect(lan.split([0, 1, 2])).rejects.toThrow(RangeError);
    await expect(lan.split([3])).rejects.toThrow(RangeError);
  });

  it('destroy() kills every process and removes every namespace, veth, bridge and rule', async () => {
    await lan.destroy();
    await lan.destroy();
    expect(server.child.exitCode ?? server.child.signalCode).toBe('SIGKILL');
    const namespaces = names('ip', ['netns', 'list']);
    const links = names('ip', ['-o', 'link', 'show']);
    for (const peer of lan.peers) {
      expect(namespaces).not.toContain(peer.ns);
      expect(links).not.toContain(peer.port);
    }
    expect(links).not.toContain(lan.bridge);
    expect(names('nft', ['list', 'tables'])).not.toContain(`lansched${lan.bridge.slice(3)}`);
    expect(() => lan.exec(lan.peers[0]!.ns, 'true', [])).toThrow(/destroyed/);
  });
});
