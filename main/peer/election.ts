/** What a desk knows of another desk of its calendar. */
export interface Candidate {
  peerId: string;
  /** How far its replica reaches: the revision of the host's store it has applied (0 when none). */
  revision: number;
}

/**
 * The one rule every desk applies to the same facts and so agrees on: the most recent
 * replica hosts, and of equals the smallest peer id. Nothing acknowledged depends on the
 * choice (every desk hands its state to whoever hosts); it only saves copying.
 */
export function electHost(candidates: readonly Candidate[]): Candidate | undefined {
  let best: Candidate | undefined;
  for (const c of candidates) {
    if (!best || c.revision > best.revision || (c.revision === best.revision && c.peerId < best.peerId)) best = c;
  }
  return best;
}

/** When two hosts of one calendar meet (a healed partition), the one with the larger peer id steps down. */
export function keepsHosting(me: string, otherHost: string): boolean {
  return me < otherHost;
}

/**
 * Desks that announced themselves but did not answer (a crash mDNS has not noticed yet, a cut
 * cable). A suspect is left out of elections for a while; `onExpire` runs when that ends, since
 * nothing on the LAN may change to prompt another look.
 */
export function createSuspects(onExpire: () => void, forMs = 10_000) {
  const until = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  return {
    add(id: string) {
      until.set(id, Date.now() + forMs);
      const timer = setTimeout(() => {
        timers.delete(timer);
        onExpire();
      }, forMs + 100);
      timer.unref();
      timers.add(timer);
    },
    has: (id: string) => (until.get(id) ?? 0) >= Date.now(),
    clear: (id: string) => void until.delete(id),
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
