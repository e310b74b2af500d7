import type { Candidate } from './election.js';
import type { CalendarIdentity } from './identity.js';
import type { SeenPeer } from './discovery.js';
import type { PeerStatus } from './peerRoutes.js';

/** The base URL of a desk seen on the LAN (IPv6 addresses in brackets). */
export function deskUrl(desk: { address: string; port: number }): string {
  return `http://${desk.address.includes(':') ? `[${desk.address}]` : desk.address}:${desk.port}`;
}

/** One request from a desk to another, with the calendar's token: GET without a body, POST with one. */
export async function deskRequest(url: string, token: string, timeoutMs: number, body?: unknown): Promise<any> {
  const res = await fetch(url, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'Remote-Token': token, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res.json();
}

/** Asks each desk how far its data reaches; a desk that does not answer is reported and left out. */
export async function probeDesks(
  peers: SeenPeer[],
  calendar: CalendarIdentity,
  onSilent: (peerId: string) => void,
): Promise<(Candidate & { peer: SeenPeer })[]> {
  const answers = await Promise.all(
    peers.map(async (peer) => {
      try {
        const s = (await deskRequest(`${deskUrl(peer)}/api/v1/peer/status`, calendar.token, 1500)) as PeerStatus;
        if (s.peerId !== peer.peerId || s.calendarId !== calendar.id) return null;
        return { peerId: s.peerId, revision: s.revision, peer: { ...peer, role: s.role } };
      } catch {
        onSilent(peer.peerId);
        return null;
      }
    }),
  );
  return answers.filter((a) => a !== null);
}
