import type { Router } from 'express';
import type { Logger } from '../log.js';
import type { createSwitchableAuth } from '../server/auth.js';
import type { LiveServer } from '../server/liveServer.js';
import type { StorageStatus, Store } from '../store/types.js';
import type { DeskCertificate } from '../trust/certificate.js';
import type { CalendarSecrets } from '../trust/keys.js';
import type { Target, Timing } from './context.js';
import type { DeskBook } from './deskBook.js';
import type { LinkIdentity } from './deskLink.js';
import type { Discovery, Role } from './discovery.js';
import type { createFeed } from './feed.js';
import type { RoleEvent, Roles } from './roles.js';

// What a desk's runtime is given and what it offers (runtime.ts builds it).

/** A calendar as a desk keeps it: its public id, its name, and the key with its generation (bumped by every key change). */
export interface CalendarConfig {
  id: string;
  name: string;
  joinKey: string;
  keyGen: number;
}

export interface PeerState {
  role: Role;
  deskId: string;
  name: string;
  calendar: { id: string; name: string };
  /** The desk this one follows (or is joining). */
  host: { deskId: string; name: string; address: string; webPort: number } | null;
  /** Who is online: the calendar's desks as the host lists them (this desk first). */
  desks: { deskId: string; name: string; role: Role; self: boolean }[];
  /** Calendars of other offices (or teams) seen on the LAN: one could join them with their key. */
  otherCalendars: { id: string; name: string }[];
  /** Desks of this calendar that run an older LAN Scheduler, which this desk cannot talk to. */
  outdated: { name: string; address: string; version: string }[];
  /** How far this desk's clock is from the host's (ours minus theirs), when it follows one. */
  clockSkewMs: number | null;
  /** A desk of this calendar refused this desk's key as an old one: it needs a new invite. */
  keyChanged: boolean;
  /** The SHA-256 fingerprint of this desk's certificate, as browsers show it. */
  fingerprint: string;
  /** Whether this desk's store can write (a full disk refuses writes, and says so). */
  storage: StorageStatus;
  /** Back from a long absence: its edits of records deleted elsewhere meanwhile (titles), which were not brought back. */
  lostEdits: string[];
}

export interface PeerRuntimeOptions {
  /** The calendar's folder: its store and the desks it has seen. */
  dataDir: string;
  /** Where this desk's key and certificate live (one per desk, whatever calendar); default dataDir. */
  identityDir?: string;
  calendar: CalendarConfig;
  /** What colleagues see this desk as, inside the calendar only (never announced). */
  deskName: string;
  port: number;
  /** Desks talk on their own port; default port + 1 (0 with port 0). */
  deskPort?: number;
  bind: string;
  log: Logger;
  pageDir?: string;
  onRole?(event: RoleEvent): void;
  /** Keeps the calendar (a new key) where this desk's file is. */
  saveCalendar(calendar: CalendarConfig): Promise<void>;
  /** Desks to reach by unicast at start (from an invite), besides mDNS and the desks seen before. */
  invite?: Target[];
  timing?: Partial<Timing>;
  /** How long deletions are remembered (default 90 days): desks apart for longer rejoin by the long-absence rules. */
  keepDeletionsDays?: number;
  /** Routes with their own authentication on the web port (local control commands), besides the calendar apps'. */
  routes?: readonly Router[];
}

export interface PeerRuntime {
  readonly deskId: string;
  readonly port: number;
  readonly deskPort: number;
  readonly server: LiveServer;
  readonly store: Store;
  readonly certificate: DeskCertificate;
  calendar(): CalendarConfig;
  /** The access token browsers use now (it changes with the key). */
  browserToken(): string;
  state(): PeerState;
  onState(listener: (state: PeerState) => void): () => void;
  /** Where desks reach the calendar, for invites: the host first, then this desk. */
  inviteTargets(): (Target & { deskId: string })[];
  /** A new key for everyone connected now; old invites stop working. Resolves with the new calendar. */
  changeKey(): Promise<CalendarConfig>;
  /** Leaves the calendar: a host hands over to the best desk first, then everyone says goodbye. */
  close(): Promise<void>;
}

/** What the phases of `startPeer` share (runtime.ts): the parts opened at start, and what changes while the desk runs. */
export interface PeerParts {
  readonly options: PeerRuntimeOptions;
  readonly deskId: string;
  readonly certificate: DeskCertificate;
  readonly timing: Timing;
  readonly feed: ReturnType<typeof createFeed<PeerState>>;
  readonly store: Store;
  readonly book: DeskBook;
  readonly auth: ReturnType<typeof createSwitchableAuth>;
  readonly server: LiveServer;
  readonly me: LinkIdentity;
  calendar: CalendarConfig;
  secrets: CalendarSecrets;
  /** A desk of the calendar refused this desk's key as an old one. */
  keyChanged: boolean;
  clockSkewed: boolean;
  lostEdits: string[];
  /** The web and desk ports, once they listen. */
  port: number;
  deskPort: number;
  /** Made once the parts are open (they need them), though the clock and the status ask them from the start. */
  roles?: Roles;
  discovery?: Discovery;
}
