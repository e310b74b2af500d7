import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awaitOutput, within } from './hostProcess.js';

// Packet captures on a test LAN's bridge with Debian's tcpdump. The bridge is the LAN's switch:
// it sees every frame the desks flood (multicast) and, in promiscuous mode, every frame it forwards.

/** Why captures cannot run here, or undefined when they can. */
export function captureUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'packet captures need root';
  if (!['/usr/bin/tcpdump', '/usr/sbin/tcpdump'].some(existsSync)) return 'tcpdump is not installed (apt-get install tcpdump)';
  return undefined;
}

const tcpdump = () => (existsSync('/usr/sbin/tcpdump') ? '/usr/sbin/tcpdump' : '/usr/bin/tcpdump');

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(tcpdump(), args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)));
  });
}

export interface Capture {
  /** What was captured so far (tcpdump writes each packet as it comes). */
  read(): Promise<Buffer>;
  /** Stops capturing and returns the whole capture file. */
  stop(): Promise<Buffer>;
  /** Packets and bytes (whole frames) in what was captured, as tcpdump reads the file back. */
  summary(): Promise<{ packets: number; bytes: number }>;
  /** How many captured packets match a BPF filter (the capture is stopped first). */
  count(filter: string): Promise<number>;
  /** tcpdump's one-line reading of every packet (the capture is stopped first): for a failing test's report. */
  dump(): Promise<string>;
  /** Removes the capture file; safe to call twice. */
  close(): Promise<void>;
}

/** Starts tcpdump on `device` with a BPF `filter`, writing every whole frame to a temp file. */
export async function capture(device: string, filter: string): Promise<Capture> {
  const dir = await mkdtemp(join(tmpdir(), 'lansched-pcap-'));
  const file = join(dir, 'capture.pcap');
  // -U: write each packet as it comes, so stop() loses nothing; -s 0: whole frames.
  const child = spawn(tcpdump(), ['-i', device, '-n', '-s', '0', '-U', '-w', file, filter], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  // tcpdump says "listening on …" once its socket is open: packets sent before that are not seen.
  await awaitOutput({
    output: child.stderr!,
    found: () => /listening on/.test(stderr),
    exited,
    exitMessage: () => `tcpdump exited: ${stderr}`,
    timeoutMs: 10_000,
    what: 'tcpdump to start listening',
  });
  let stopped: Promise<Buffer> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      child.kill('SIGINT');
      await within(exited, 10_000, 'tcpdump to stop');
      return readFile(file);
    })());
  return {
    read: () => readFile(file),
    stop,
    async summary() {
      await stop();
      const lines = (await run(['-r', file, '-n', '-e'])).split('\n').filter(Boolean);
      let bytes = 0;
      for (const line of lines) bytes += Number(/length (\d+)/.exec(line)?.[1] ?? 0);
      return { packets: lines.length, bytes };
    },
    async dump() {
      await stop();
      return run(['-r', file, '-n', '-tt']);
    },
    async count(filter: string) {
      await stop();
      return (await run(['-r', file, '-n', filter])).split('\n').filter(Boolean).length;
    },
    async close() {
      await stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
