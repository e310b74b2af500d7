import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir, networkInterfaces } from 'node:os';
import { join } from 'node:path';

/** The per-user data folder the desktop app and the headless host use by default. */
export function defaultDataDir(env = process.env, platform = process.platform): string {
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'LAN Scheduler');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'LAN Scheduler');
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'lan-scheduler');
}

/** A token for the calendar: the one kept in the data folder, or a new strong one kept there for next time. */
export async function loadOrCreateToken(dataDir: string): Promise<{ token: string; created: boolean }> {
  const file = join(dataDir, 'token');
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token.length >= 8) return { token, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(24).toString('base64url');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return { token, created: true };
}

/** The address colleagues can reach: the bound one, or for 0.0.0.0 this machine's first LAN IPv4. */
export function reachableHost(bind: string): string {
  if (bind !== '0.0.0.0' && bind !== '::') return bind;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export interface DeskFile {
  peerId: string;
  calendar: { name: string; joinKey: string } | null;
}

/**
 * This desk's id and the calendar it belongs to, kept in DATA_DIR/desk.json so a desk that
 * restarts comes back as itself. The file holds the join key: it is written for this user only.
 */
export async function loadDesk(dataDir: string): Promise<DeskFile> {
  const file = join(dataDir, 'desk.json');
  try {
    const desk = JSON.parse(await readFile(file, 'utf8')) as DeskFile;
    if (typeof desk.peerId === 'string' && /^[A-Za-z0-9_-]{4,64}$/.test(desk.peerId)) return desk;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
  }
  return { peerId: randomBytes(9).toString('base64url'), calendar: null };
}

export async function saveDesk(dataDir: string, desk: DeskFile): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await writeFile(join(dataDir, 'desk.json'), `${JSON.stringify(desk, null, 2)}\n`, { mode: 0o600 });
}
