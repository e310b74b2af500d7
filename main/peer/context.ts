import type { Logger } from '../log.js';
import type { Change, Store } from '../store/types.js';
import type { Channel, DeskInfo } from './channel.js';
import type { DeskBook } from './deskBook.js';
import type { LinkIdentity, LinkTiming } from './deskLink.js';

/** How quickly desks notice each other's absence and look for each other. */
export interface Timing extends LinkTiming {
  /** How long a starting desk listens to the LAN before it decides. */
  listenMs: number;
  /** How long a connection attempt may take while looking for the host. */
  connectMs: number;
  /** How often a host looks for desks that vanished without a goodbye (a split network), at first… */
  fastProbeMs: number;
  /** …for this long after they vanished, */
  fastProbeForMs: number;
  /** …and then this often. */
  slowProbeMs: number;
  /** The most a graceful hand-over may take before the host leaves anyway (the others then take over as after a crash). */
  handoverMs: number;
  /** How long tombstones are kept: desks apart for longer rejoin with the long-absence rules (longAbsence.ts). */
  keepDeletionsMs: number;
}

export const defaultTiming = (now: () => number): Timing => ({
  now,
  heartbeatMs: 250,
  lossMs: 1000,
  handshakeMs: 3000,
  maxBufferedBytes: 64 * 1024 * 1024,
  listenMs: 1500,
  connectMs: 700,
  fastProbeMs: 1000,
  fastProbeForMs: 10 * 60_000,
  slowProbeMs: 60_000,
  handoverMs: 4000,
  keepDeletionsMs: 90 * 86_400_000,
});

/** A desk as the host lists it to every follower: where it is, and how far its copy reaches. */
export interface ListedDesk {
  deskId: string;
  name: string;
  role: DeskInfo['role'];
  addresses: string[];
  deskPort: number;
  webPort: number;
  /** It has handed over its state and taken the host's: a good successor. */
  synced: boolean;
  /** How far its copy reaches, in the host's revisions (as it last said, every few seconds at most). */
  revision: number;
}

/** Where a desk can be reached, as far as this desk knows. */
export interface Target {
  deskId?: string;
  addresses: string[];
  deskPort: number;
}

/** What the role modules share with the runtime. */
export interface DeskContext {
  log: Logger;
  store: Store;
  me: LinkIdentity;
  timing: Timing;
  book: DeskBook;
  /** A proven channel to the first address of `target` that answers, or null (refusals are logged once). */
  connect(target: Target, timeoutMs?: number): Promise<Channel | null>;
  /** Tells this desk's own pages about changes that came from elsewhere. */
  announce(changes: Change[]): void;
}

/** The call every desk answers in every role: what it is now (a desk looking for the host asks it). */
export const statusHandler = (ctx: DeskContext) => ({ status: () => ctx.me.info() });

export const targetOf = (info: Pick<DeskInfo, 'deskId' | 'addresses' | 'deskPort'>, seenAt?: string): Target => ({
  deskId: info.deskId,
  // The address its packets came from first: the one that certainly routes back.
  addresses: [...new Set([...(seenAt ? [seenAt] : []), ...info.addresses])],
  deskPort: info.deskPort,
});
