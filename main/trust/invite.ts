import { isIP } from 'node:net';
import { calendarNameProblem, isPort } from '../checks.js';
import { DESK_ID } from './certificate.js';
import { CALENDAR_ID, checkJoinKey } from './keys.js';

/**
 * Invites. A desk invite is one line a person pastes on another desk: the calendar, its key, and
 * where its desks are, each with the fingerprint of its key (its desk id), so a desk on a network
 * that drops multicast joins by unicast and knows who must answer. A browser invite is an https
 * link with the access token in the fragment (never sent to any server) and the fingerprint of the
 * desk's certificate, for the person to compare with what the browser shows.
 */
export interface DeskInvite {
  calendar: { id: string; name: string; joinKey: string; keyGen: number };
  desks: { deskId: string; addresses: string[]; deskPort: number }[];
}

const SCHEME = 'lansched://join';
const MAX_DESKS = 8;
/** Where a desk invite starts, inside whatever text holds it. */
export const DESK_INVITE = /lansched:\/\/join\?/;
const INVITE_LINE = new RegExp(`${DESK_INVITE.source}\\S+`);

/** Whether pasted text holds a desk invite (else it is taken for a key alone). */
export const isDeskInvite = (text: string) => DESK_INVITE.test(text);

export function formatDeskInvite(invite: DeskInvite): string {
  const q = new URLSearchParams({ c: invite.calendar.id, n: invite.calendar.name, k: invite.calendar.joinKey, g: String(invite.calendar.keyGen) });
  for (const d of invite.desks.slice(0, MAX_DESKS)) q.append('d', `${d.deskId}~${d.deskPort}~${d.addresses.slice(0, 4).join(',')}`);
  return `${SCHEME}?${q}`;
}

/** Reads a desk invite out of whatever a person pasted (the whole invite text, or only its line); throws a TypeError saying what is wrong. */
export function parseDeskInvite(text: unknown): DeskInvite {
  if (typeof text !== 'string' || text.length > 20_000) throw new TypeError('an invite is text');
  const line = INVITE_LINE.exec(text)?.[0];
  if (!line) throw new TypeError('That is not a LAN Scheduler invite: it has no "lansched://join?" line.');
  const q = new URL(line).searchParams;
  const id = q.get('c') ?? '';
  const name = (q.get('n') ?? '').trim();
  const keyGen = Number(q.get('g') ?? '0');
  if (!CALENDAR_ID.test(id)) throw new TypeError('The invite names no calendar: copy it again, whole.');
  if (calendarNameProblem(name)) throw new TypeError('The invite\'s calendar name is not usable.');
  if (!Number.isSafeInteger(keyGen) || keyGen < 0) throw new TypeError('The invite\'s key generation is not a number.');
  const joinKey = checkJoinKey(q.get('k') ?? '');
  const desks = q.getAll('d').slice(0, MAX_DESKS).map((entry) => {
    const [deskId = '', portText = '', list = ''] = entry.split('~');
    const deskPort = Number(portText);
    const addresses = list.split(',').filter((a) => isIP(a) !== 0).slice(0, 4);
    if (!DESK_ID.test(deskId) || !isPort(deskPort) || addresses.length === 0) {
      throw new TypeError('The invite lists a desk in a form this version does not read.');
    }
    return { deskId, addresses, deskPort };
  });
  return { calendar: { id, name, joinKey, keyGen }, desks };
}

/** An address as the host part of a URL: an IPv6 one in brackets. */
export const urlHost = (address: string) => (address.includes(':') ? `[${address}]` : address);

/** The link a browser on the LAN opens: https, the token in the fragment. */
export function browserLink(address: string, port: number, token: string): string {
  return `https://${urlHost(address)}:${port}/#token=${encodeURIComponent(token)}`;
}

/** The whole text `Copy invite` puts on the clipboard. */
export function inviteText(o: { calendarName: string; deskInvite: string; browserLink: string; fingerprint: string }): string {
  return [
    `You are invited to the "${o.calendarName}" calendar in LAN Scheduler.`,
    '',
    'On a computer with LAN Scheduler: paste this whole invite under "Join a calendar".',
    `Desk invite: ${o.deskInvite}`,
    '',
    `In a browser on the office network: ${o.browserLink}`,
    'The browser warns about the certificate the first time. Go on only if the certificate\'s SHA-256 fingerprint is:',
    o.fingerprint,
  ].join('\n');
}
