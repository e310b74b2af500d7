import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import express, { Router } from 'express';
import type { Logger } from './log.js';
import { HttpError } from './server/httpError.js';
import { isLoopback } from './server/webFront.js';
import { writeFileAtomic } from './store/durableFile.js';

/**
 * How a command run on the same machine (`npm run host -- --change-key`, `--backup`) reaches the
 * host that runs on a data folder: the host keeps a one-time secret and its port in
 * DATA_DIR/control.json (this user only), and answers commands on 127.0.0.1 to whoever shows it.
 */
export type ControlCommands = Record<string, (body: Record<string, unknown>) => Promise<unknown>>;

const FILE = 'control.json';

export interface ControlFile {
  port: number;
  secret: string;
}

/** The routes for `commands`, at /api/v1/control/:command: loopback connections with the secret only. */
export function controlRoutes(secret: string, commands: ControlCommands): Router {
  const router = Router();
  router.post('/api/v1/control/:command', express.json({ limit: 16 * 1024 }), async (req, res) => {
    const given = Buffer.from(String(req.get('Control-Secret') ?? ''));
    const want = Buffer.from(secret);
    if (!isLoopback(req.socket.remoteAddress) || given.length !== want.length || !timingSafeEqual(given, want)) {
      throw new HttpError(403, 'control commands come from this machine, with the secret in the data folder');
    }
    const run = Object.hasOwn(commands, req.params.command) ? commands[req.params.command] : undefined;
    if (!run) throw new HttpError(404, `no command ${req.params.command.slice(0, 40)}`);
    res.json({ ok: true, result: (await run((req.body ?? {}) as Record<string, unknown>)) ?? null });
  });
  return router;
}

export const newControlSecret = () => randomBytes(24).toString('base64url');

/** Keeps the secret with the port in the data folder, until `remove` is called (at a clean stop). */
async function writeControlFile(dataDir: string, port: number, secret: string): Promise<{ remove(): Promise<void> }> {
  const file = join(dataDir, FILE);
  await writeFileAtomic(file, `${JSON.stringify({ port, secret } satisfies ControlFile)}\n`, { mode: 0o600 });
  return { remove: () => rm(file, { force: true }) };
}

/**
 * The control file, or word that commands cannot reach this host: a full disk must not stop a host
 * from starting (it serves what it has and refuses writes until space is free).
 */
export async function writeControlFileOrSay(log: Logger, dataDir: string, port: number, secret: string): Promise<{ remove(): Promise<void> }> {
  try {
    return await writeControlFile(dataDir, port, secret);
  } catch (err) {
    log.warn(`could not write ${join(dataDir, FILE)} (${(err as Error).message}): --change-key, --backup and --import cannot reach this host`);
    return { remove: async () => undefined };
  }
}

/** Sends a command to the host running on `dataDir`; null when none runs there. */
export async function callControl(dataDir: string, command: string, body: Record<string, unknown> = {}): Promise<{ result: unknown } | null> {
  let control: ControlFile;
  try {
    control = JSON.parse(await readFile(join(dataDir, FILE), 'utf8')) as ControlFile;
  } catch {
    return null;
  }
  let res: Response;
  try {
    res = await fetch(`http://127.0.0.1:${control.port}/api/v1/control/${encodeURIComponent(command)}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Control-Secret': control.secret },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
  } catch {
    return null; // a file left by a host that is gone
  }
  const answer = (await res.json().catch(() => ({}))) as { result?: unknown; message?: string };
  if (!res.ok) throw new Error(answer.message ?? `the host answered ${res.status}`);
  return { result: answer.result };
}
