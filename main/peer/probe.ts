import type { Logger } from '../log.js';
import type { DeskCertificate } from '../trust/certificate.js';
import { calendarSecrets } from '../trust/keys.js';
import type { DeskInfo } from './channel.js';
import { defaultTiming, type Target } from './context.js';
import { connectDesk, type LinkIdentity, type LinkRefused, type LinkTiming } from './deskLink.js';
import { hintTarget, type Hint } from './discovery.js';

export interface CalendarHint {
  calendarId: string;
  calendarName: string;
  target: Target & { deskId: string };
}

/** A hint of a desk as a key is tried on its calendar. */
export const calendarHintOf = (h: Pick<Hint, 'calendarId' | 'calendarName' | 'deskId' | 'address' | 'deskPort'>): CalendarHint => ({
  calendarId: h.calendarId,
  calendarName: h.calendarName,
  target: hintTarget(h),
});

/** Offers the key's proof to one desk, at each of its addresses until one answers. */
type Verdict = { kind: 'opened'; keyGen: number } | { kind: 'refused' | 'key-changed' | 'unreachable' };

async function tryDesk(hint: CalendarHint, me: LinkIdentity, timing: LinkTiming, log: Logger): Promise<Verdict> {
  for (const address of hint.target.addresses.slice(0, 3)) {
    try {
      const channel = await connectDesk({ address, port: hint.target.deskPort, deskId: hint.target.deskId }, me, timing, log);
      channel.close('only trying the key');
      return { kind: 'opened', keyGen: channel.keyGen };
    } catch (err) {
      // connectDesk rejects with a LinkRefused only.
      const { kind } = err as LinkRefused;
      if (kind === 'key-changed') return { kind: 'key-changed' };
      if (kind === 'proof' || kind === 'pin' || kind === 'calendar') return { kind: 'refused' };
    }
  }
  return { kind: 'unreachable' };
}

export type KeyTrial = { found: { id: string; name: string; keyGen: number } } | { found: null; why: string };

/**
 * Which calendar on the LAN a key opens, for a person who pasted only a key: for each calendar
 * seen, one of its desks is asked to take the key's proof. Nothing the key could be guessed from
 * leaves this desk: a desk that does not hold the key only ever sees a proof bound to a connection
 * it cannot reuse. Calendars are tried one after the other, so a busy LAN sees few connections.
 */
export async function findCalendarByKey(o: { cert: DeskCertificate; joinKey: string; hints: CalendarHint[]; log: Logger; name?: string }): Promise<KeyTrial> {
  const { deskSecret } = calendarSecrets(o.joinKey);
  const timing = { ...defaultTiming(Date.now), handshakeMs: 2000 };
  const byCalendar = new Map<string, CalendarHint[]>();
  for (const h of o.hints) byCalendar.set(h.calendarId, [...(byCalendar.get(h.calendarId) ?? []), h]);
  let why = byCalendar.size === 0 ? 'no calendar was found on this network' : 'no calendar on this network opens with that key';
  for (const [calendarId, hints] of byCalendar) {
    const me = {
      cert: o.cert,
      calendar: () => ({ id: calendarId, deskSecret, keyGen: 0 }),
      info: (): DeskInfo => ({ deskId: o.cert.deskId, name: o.name ?? 'Desk', role: 'starting', host: null, addresses: [], deskPort: 1, webPort: 1, revision: 0, inSyncAt: 0 }),
    };
    for (const hint of hints.slice(0, 3)) {
      const verdict = await tryDesk(hint, me, timing, o.log);
      if (verdict.kind === 'opened') return { found: { id: calendarId, name: hint.calendarName, keyGen: verdict.keyGen } };
      if (verdict.kind === 'key-changed') why = 'that key was changed since: ask a colleague for a new invite';
      if (verdict.kind !== 'unreachable') break; // this calendar answered: the key is not its key
    }
  }
  return { found: null, why };
}
