import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { isPort } from '../checks.js';
import type { Logger } from '../log.js';
import { writeFileAtomic } from '../store/durableFile.js';
import { DESK_ID } from '../trust/certificate.js';

/**
 * The desks of this calendar that this desk has seen prove the key (or that its host listed):
 * where each one was last reachable. Kept in the calendar's folder, so that a desk on a network
 * without multicast, or after a restart, can find the calendar again by unicast; and so that a
 * host can look for desks that vanished (a healed partition) without asking the LAN.
 */
export interface KnownDesk {
  deskId: string;
  name: string;
  addresses: string[];
  deskPort: number;
  /** When it was last connected or listed (ms since the epoch). */
  lastSeen: number;
}

export interface DeskBook {
  all(): KnownDesk[];
  get(deskId: string): KnownDesk | undefined;
  /** Adds or refreshes desks; saved a moment later, once per burst. */
  note(desks: Omit<KnownDesk, 'lastSeen'>[], seen?: number): void;
  /** The last time this desk was in sync with another desk of the calendar (0: never). */
  inSyncAt(): number;
  /** This desk is in sync with another now (it follows a host, or hosts a follower). */
  markInSync(at?: number): void;
  close(): Promise<void>;
}

const FILE = 'desks.json';
/** Enough for any office; the least recently seen go first. */
const MAX_DESKS = 200;

function valid(d: Partial<KnownDesk>): d is KnownDesk {
  return (
    typeof d?.deskId === 'string' && DESK_ID.test(d.deskId) &&
    typeof d.name === 'string' && d.name.length <= 64 &&
    Array.isArray(d.addresses) && d.addresses.length <= 16 && d.addresses.every((a) => typeof a === 'string' && isIP(a) !== 0) &&
    isPort(d.deskPort) &&
    Number.isFinite(d.lastSeen)
  );
}

export async function openDeskBook(dir: string, me: string, log: Logger): Promise<DeskBook> {
  const file = join(dir, FILE);
  const desks = new Map<string, KnownDesk>();
  let inSyncAt = 0;
  try {
    const kept = JSON.parse(await readFile(file, 'utf8')) as { desks?: unknown[]; inSyncAt?: unknown };
    for (const d of kept.desks ?? []) if (valid(d as KnownDesk)) desks.set((d as KnownDesk).deskId, d as KnownDesk);
    if (Number.isSafeInteger(kept.inSyncAt) && (kept.inSyncAt as number) > 0) inSyncAt = kept.inSyncAt as number;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`${file} is unreadable (${(err as Error).message}); starting a new list of desks`);
  }
  let saving: Promise<void> = Promise.resolve();
  let dirty = false;
  let closed = false;
  const save = () => {
    if (dirty || closed) return;
    dirty = true;
    saving = saving.then(async () => {
      dirty = false;
      const list = [...desks.values()].sort((a, b) => b.lastSeen - a.lastSeen).slice(0, MAX_DESKS);
      await writeFileAtomic(file, `${JSON.stringify({ inSyncAt, desks: list }, null, 1)}\n`, { mode: 0o600 }).catch((err) =>
        log.warn(`could not save the list of desks: ${(err as Error).message}`),
      );
    });
  };
  return {
    all: () => [...desks.values()],
    get: (deskId) => desks.get(deskId),
    note(list, seen = Date.now()) {
      let changed = false;
      for (const d of list) {
        if (d.deskId === me) continue;
        const before = desks.get(d.deskId);
        const next: KnownDesk = { deskId: d.deskId, name: d.name, addresses: d.addresses.slice(0, 16), deskPort: d.deskPort, lastSeen: Math.max(seen, before?.lastSeen ?? 0) };
        if (!valid(next)) continue;
        desks.set(d.deskId, next);
        changed ||= !before || before.name !== next.name || before.deskPort !== next.deskPort || before.addresses.join() !== next.addresses.join() || seen - before.lastSeen > 60_000;
      }
      while (desks.size > MAX_DESKS) {
        const oldest = [...desks.values()].reduce((a, b) => (a.lastSeen <= b.lastSeen ? a : b));
        desks.delete(oldest.deskId);
      }
      if (changed) save();
    },
    inSyncAt: () => inSyncAt,
    markInSync(at = Date.now()) {
      // Saved at most once a minute: the time matters to the day, not to the second.
      const worth = at - inSyncAt > 60_000;
      inSyncAt = Math.max(inSyncAt, at);
      if (worth) save();
    },
    async close() {
      await saving;
      closed = true;
    },
  };
}
