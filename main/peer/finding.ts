import type { Channel, DeskInfo } from './channel.js';
import type { DeskContext, Target } from './context.js';

/** What looking around the calendar's desks found. */
export type Finding =
  | { kind: 'follow'; channel: Channel }
  | { kind: 'host' }
  /** Nobody hosts yet, and a better candidate than this desk is there: give it a moment. */
  | { kind: 'wait'; channel: Channel };

/**
 * The one rule every desk applies to the same facts (the list of desks the last host shared), and
 * so agrees on: of the desks that can reach each other and nobody hosts, desks that held the whole
 * calendar (synced) go before those still joining, then the most recent copy, then the smallest id. Nothing acknowledged
 * depends on the choice: every desk hands its state to whoever hosts; it only saves copying.
 */
export interface Rank {
  deskId: string;
  synced: boolean;
  revision: number;
}

function ranksBefore(a: Rank, b: Rank): boolean {
  if (a.synced !== b.synced) return a.synced;
  if (a.revision !== b.revision) return a.revision > b.revision;
  return a.deskId < b.deskId;
}

/**
 * Connects to every target at once and decides. A host found is followed (of several, the one
 * that keeps hosting when hosts meet: the smallest id); a desk that follows a host leads to that
 * host; otherwise the rule above says whether this desk hosts or waits for a better one.
 * `gone` is a host known to be lost: desks still following it say nothing about who hosts now.
 */
export async function findHost(
  ctx: DeskContext,
  targets: Target[],
  me: Rank & { rankOf(deskId: string): Rank },
  gone?: string,
): Promise<Finding> {
  const channels = (await Promise.all(targets.map((t) => ctx.connect(t, ctx.timing.connectMs)))).filter((c): c is Channel => c !== null);
  const keep = (chosen: Channel | null) => {
    for (const c of channels) if (c !== chosen) c.close('only looking');
  };
  const byId = (a: Channel, b: Channel) => (a.peer.deskId < b.peer.deskId ? -1 : 1);

  const hosts = channels.filter((c) => c.peer.role === 'host').sort(byId);
  if (hosts[0]) {
    keep(hosts[0]);
    return { kind: 'follow', channel: hosts[0] };
  }
  const led = channels.map((c) => c.peer.host).find((h): h is NonNullable<DeskInfo['host']> => !!h && h.deskId !== gone && h.deskId !== me.deskId);
  if (led) {
    const channel = await ctx.connect(led, ctx.timing.connectMs);
    if (channel?.peer.role === 'host') {
      keep(null);
      return { kind: 'follow', channel };
    }
    channel?.close('only looking');
  }
  const better = channels
    .filter((c) => c.peer.role !== 'leaving' && ranksBefore(me.rankOf(c.peer.deskId), me))
    .sort((a, b) => (ranksBefore(me.rankOf(a.peer.deskId), me.rankOf(b.peer.deskId)) ? -1 : 1));
  keep(better[0] ?? null);
  return better[0] ? { kind: 'wait', channel: better[0] } : { kind: 'host' };
}

/**
 * Waits for a better candidate to start hosting (it applies the same rule and sees the same
 * desks, so it will) by asking it, a few times a second, what it is. Resolves with the channel
 * once it hosts, or with the host it went to follow instead; null if it does neither in time.
 */
export async function awaitHost(channel: Channel, ms: number): Promise<Channel | DeskInfo['host'] | null> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const info = (await channel.call('status', {}, 1000).catch(() => null)) as DeskInfo | null;
    if (!info) break;
    if (info.role === 'host') return channel;
    if (info.host) return info.host;
    await new Promise((r) => setTimeout(r, 150));
  }
  return null;
}
