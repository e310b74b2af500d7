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
