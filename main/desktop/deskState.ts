import { networkInterfaces } from 'node:os';
import type { PeerState } from '../peer/runtime.js';
import { MAX_STAMP_AHEAD_MS } from '../store/lowStore.js';
import type { DeskStatus } from './ipc.js';

/** A computer with no interface but loopback is offline, whatever its desk thinks. */
export function hasNetwork(): boolean {
  return Object.values(networkInterfaces()).some((list) => list?.some((a) => !a.internal));
}

/** What a person should read about the desk's state, in words. */
export function noticesOf(s: PeerState): string[] {
  const notices: string[] = [];
  if (s.storage.state === 'disk-full') notices.push('This computer’s disk is full: changes made here are refused until space is freed. Everything saved so far is safe.');
  else if (s.storage.state === 'failing') notices.push(`This desk cannot save changes: ${s.storage.message}`);
  if (s.keyChanged) notices.push('The calendar’s key was changed while this desk was away. Leave, then join again with a new invite.');
  if (s.clockSkewMs !== null && Math.abs(s.clockSkewMs) > MAX_STAMP_AHEAD_MS) {
    notices.push(`This desk’s clock is ${Math.round(Math.abs(s.clockSkewMs) / 60_000)} min ${s.clockSkewMs > 0 ? 'fast' : 'slow'}. Changes are stamped with the hosting desk’s time; set this computer’s clock.`);
  }
  if (s.lostEdits.length > 0) {
    notices.push(`While this desk was away, ${s.lostEdits.length === 1 ? 'an event it changed was' : `${s.lostEdits.length} events it changed were`} deleted on other desks and not brought back: ${s.lostEdits.slice(0, 3).map((t) => `“${t}”`).join(', ')}${s.lostEdits.length > 3 ? '…' : ''}`);
  }
  for (const old of s.outdated) notices.push(`The desk at ${old.address} runs an older LAN Scheduler: update it to share this calendar.`);
  return notices;
}

/** What the top bar says a desk of a calendar is doing. */
export function statusOf(s: PeerState, desk: { leaving: boolean; online: boolean; joinedHost: string | null; hostLost: boolean }): DeskStatus {
  if (desk.leaving || s.role === 'leaving') return 'leaving';
  if (!desk.online) return 'offline';
  if (s.role === 'host') return 'hosting';
  if (s.role === 'starting') return 'starting';
  if (s.host && desk.joinedHost === s.host.deskId) return 'connected';
  return s.host && !desk.hostLost ? 'connecting' : 'taking-over';
}
