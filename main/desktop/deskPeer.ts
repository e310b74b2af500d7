import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { Target } from '../peer/context.js';
import type { CalendarConfig, PeerRuntime, PeerRuntimeOptions, RoleEvent } from '../peer/runtime.js';

/** The parts of a peer runtime the desktop uses, so that a test can pass a stand-in. */
export type DeskPeer = Pick<PeerRuntime, 'port' | 'state' | 'onState' | 'close' | 'calendar' | 'browserToken' | 'inviteTargets' | 'changeKey'> & {
  certificate: Pick<PeerRuntime['certificate'], 'fingerprint'>;
  /** The desk's store, read by this desk's reminders (stand-ins may have none). */
  store?: PeerRuntime['store'];
};

export interface DeskPeerOptions {
  /** The desk's own folder: its identity, and one folder per calendar below it. */
  dataDir: string;
  pageDir: string;
  log: Logger;
  /** The name colleagues see this desk by. */
  person: string;
  port: number;
  bind?: string;
  handoverMs?: number;
  startPeer(options: PeerRuntimeOptions): Promise<DeskPeer>;
  onRole(event: RoleEvent): void;
  /** Keeps a calendar whose key changed where the desk keeps it. */
  saveCalendar(next: CalendarConfig): Promise<void>;
}

/**
 * One folder per calendar: a desk that leaves one and joins another must not hand the first
 * calendar's events to the second one's host.
 */
export const calendarDir = (dataDir: string, calendarId: string) => join(dataDir, 'calendars', calendarId);

/** Starts the desk on `calendar`, on other ports when the usual ones are in use. */
export async function startDeskPeer(options: DeskPeerOptions, calendar: CalendarConfig, invite?: Target[]): Promise<DeskPeer> {
  const { dataDir, port, log } = options;
  const base: PeerRuntimeOptions = {
    dataDir: calendarDir(dataDir, calendar.id),
    identityDir: dataDir,
    calendar,
    deskName: options.person,
    port,
    bind: options.bind ?? '0.0.0.0',
    log,
    pageDir: options.pageDir,
    onRole: options.onRole,
    invite,
    ...(options.handoverMs !== undefined && { timing: { handoverMs: options.handoverMs } }),
    saveCalendar: options.saveCalendar,
  };
  try {
    return await options.startPeer(base);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err;
    // Desks find each other's ports over mDNS and in invites; only the firewall rule wants 3210.
    log.warn(`port ${port} or ${port + 1} is in use; listening on others`);
    return options.startPeer({ ...base, port: 0 });
  }
}
