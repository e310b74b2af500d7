import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { CalendarConfig } from './peer/runtime.js';
import { writeFileAtomic } from './store/durableFile.js';
import { CALENDAR_ID, legacyCalendarId } from './trust/keys.js';

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
  await writeFileAtomic(file, `${token}\n`, { mode: 0o600 });
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

/** What a desk keeps in DATA_DIR/desk.json: the calendar it belongs to (with its key), if any. */
export interface DeskFile {
  version: 2;
  calendar: CalendarConfig | null;
}

export class DamagedDeskFile extends Error {}

/** The desk file of the previous version: a desk id that carried a login name, and a calendar without an id. */
interface DeskFileV1 {
  peerId: string;
  calendar: { name: string; joinKey: string } | null;
}

const isCalendar = (c: Partial<CalendarConfig> | null | undefined): c is CalendarConfig =>
  !!c && typeof c.id === 'string' && CALENDAR_ID.test(c.id) && typeof c.name === 'string' && c.name.length <= 100 &&
  typeof c.joinKey === 'string' && c.joinKey.length >= 8 && Number.isSafeInteger(c.keyGen) && (c.keyGen as number) >= 0;

/**
 * This desk's calendar, kept in DATA_DIR/desk.json so a desk that restarts comes back to it. A file
 * of the previous version is carried over: its calendar keeps the id the old version derived from
 * the key, so its folder and everything that names it stay as they were. A file that is there but
 * does not read is never taken for a fresh start (that would make a new calendar and orphan the
 * old one): it stops the desk with a message saying so.
 */
export async function loadDesk(dataDir: string): Promise<DeskFile & { upgraded: boolean }> {
  const file = join(dataDir, 'desk.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 2, calendar: null, upgraded: false };
    throw err;
  }
  let kept: Partial<DeskFile> & Partial<DeskFileV1>;
  try {
    kept = JSON.parse(text);
  } catch (err) {
    throw new DamagedDeskFile(`${file} is damaged (${(err as Error).message}). It holds this desk's calendar and key: put back a copy (or the one from a backup), or move it away to start this desk afresh.`);
  }
  if (kept?.version === 2 && (kept.calendar === null || isCalendar(kept.calendar))) return { version: 2, calendar: kept.calendar ?? null, upgraded: false };
  if (kept && typeof kept.peerId === 'string' && !('version' in kept)) {
    const old = kept.calendar;
    const calendar = old && typeof old.joinKey === 'string' ? { id: legacyCalendarId(old.joinKey), name: String(old.name ?? 'Office').slice(0, 100), joinKey: old.joinKey, keyGen: 0 } : null;
    return { version: 2, calendar, upgraded: true };
  }
  throw new DamagedDeskFile(`${file} is not a desk file this version understands. Move it away to start this desk afresh.`);
}

/** Written aside, synced and renamed: a crash leaves the old file or the new one, never half of one. Readable by this user only: it holds the key. */
export async function saveDesk(dataDir: string, desk: DeskFile): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  await writeFileAtomic(join(dataDir, 'desk.json'), `${JSON.stringify({ version: 2, calendar: desk.calendar }, null, 2)}\n`, { mode: 0o600 });
}
