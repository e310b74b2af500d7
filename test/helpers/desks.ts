import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDeskInvite } from '../../main/trust/invite.js';
import { calendarSecrets, newCalendarId, newJoinKey } from '../../main/trust/keys.js';
import { CLI, awaitOutput, request, within, type Answer, type Run } from './hostProcess.js';
import type { Lan } from './netns.js';

export const PORT = 3210;
export const DESK_PORT = 3211;

export interface Desk {
  index: number;
  address: string;
  base: string;
  dir: string;
  token: string;
  run: Run;
  /** Role lines printed so far (hosting, joined, host gone, stepping down). */
  roles(): string[];
  /** The latest role: 'host', 'peer' or 'starting'. */
  role(): 'host' | 'peer' | 'starting';
  /** The desk's id, from its first line. */
  deskId(): string | undefined;
  /** The last desk invite it printed. */
  invite(): string | undefined;
  events(): Promise<{ id: string; text: string }[]>;
  write(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<Answer>;
}

const ROLE_LINE = /^(taking over: hosting|hosting|joined|host .* is gone|stepping down).*$/gm;

/** A calendar made up front, as its first desk would have made it: id, name, key. */
export function newCalendar(name = 'Office') {
  return { id: newCalendarId(), name, joinKey: newJoinKey(), keyGen: 0 };
}

export type Calendar = ReturnType<typeof newCalendar>;

/** Desks of one calendar, each a `npm run host -- --advertise` process in its own namespace, over https. */
export function desks(lan: Lan, calendar: Calendar = newCalendar()) {
  const started: Desk[] = [];
  const folders: string[] = [];
  const token = calendarSecrets(calendar.joinKey).browserToken;
  // An invite that names the calendar and no desk: every desk finds the others by mDNS.
  const bare = formatDeskInvite({ calendar, desks: [] });
  return {
    calendar,
    token,
    /** The invite that names the calendar and no desk. */
    invite: () => bare,
    async start(index: number, options: { dir?: string; args?: string[]; token?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Desk> {
      const dir = options.dir ?? (await mkdtemp(join(tmpdir(), `lansched-desk${index}-`)));
      if (!options.dir) folders.push(dir);
      const peer = lan.peers[index]!;
      const args = options.args ?? ['--invite', bare];
      const run = lan.exec(peer.ns, process.execPath, [CLI, '--advertise', ...args, '--name', `desk${index}`, '--data-dir', dir, '--port', String(PORT)], options.env ? { env: { ...process.env, ...options.env } } : {});
      const base = `https://${peer.address}:${PORT}`;
      const deskToken = options.token ?? token;
      const roles = () => run.stdout().match(ROLE_LINE) ?? [];
      const desk: Desk = {
        index,
        address: peer.address,
        base,
        dir,
        token: deskToken,
        run,
        roles,
        role() {
          const last = roles().at(-1) ?? '';
          return /^(taking over: )?hosting/.test(last) ? 'host' : /^joined/.test(last) ? 'peer' : 'starting';
        },
        deskId: () => /LAN Scheduler desk ([a-z2-7]{32}) /.exec(run.stdout())?.[1],
        invite: () => [...run.stdout().matchAll(/invite for desks: (\S+)/g)].at(-1)?.[1],
        async events() {
          const res = await request(base, 'GET', '/events', deskToken, undefined, 3000);
          if (res.status !== 200) throw new Error(`${base}/events answered ${res.status}`);
          return (res.json as { id: string; text: string }[]).map(({ id, text }) => ({ id, text }));
        },
        write: (method, path, body) => request(base, method, path, deskToken, body, 5000),
      };
      started.push(desk);
      return desk;
    },
    /** Starts desks 0 … count-1 one after the other, each once it has settled: the first hosts, the others join it. */
    async startInOrder(count: number): Promise<Desk[]> {
      const list: Desk[] = [];
      for (let i = 0; i < count; i++) {
        const d = await this.start(i);
        const role = i === 0 ? 'host' : 'peer';
        await awaitOutput({
          output: d.run.child.stdout!,
          found: () => d.role() === role,
          exited: d.run.closed,
          exitMessage: () => `desk ${i} exited before it became ${role}`,
          timeoutMs: 30_000,
          what: `desk ${i} to settle as ${role}`,
        });
        list.push(d);
      }
      return list;
    },
    /** SIGKILL: no hand-over, no goodbye. */
    async kill(desk: Desk) {
      desk.run.child.kill('SIGKILL');
      await within(desk.run.closed, 10_000, `desk ${desk.index} to die`);
    },
    async quit(desk: Desk) {
      desk.run.child.kill('SIGTERM');
      return within(desk.run.closed, 20_000, `desk ${desk.index} to quit`);
    },
    /** Everything the desks printed, for a failing test's report. */
    dump: () => started.map((d) => `--- desk ${d.index} (${d.address})\n${d.run.stdout()}${d.run.stderr()}`).join('\n'),
    async cleanup() {
      for (const d of started) if (d.run.child.exitCode === null && d.run.child.signalCode === null) d.run.child.kill('SIGKILL');
      await Promise.all(started.map((d) => d.run.closed.catch(() => undefined)));
      await Promise.all(folders.map((f) => rm(f, { recursive: true, force: true })));
    },
  };
}

/** The events of every desk, as sorted "id=text" lines, for comparing replicas. */
export async function replicas(list: Desk[]): Promise<string[][]> {
  return Promise.all(list.map(async (d) => (await d.events()).map((e) => `${e.id}=${e.text}`).sort()));
}
