import type { CalendarHint, KeyTrial } from '../peer/probe.js';
import type { CalendarConfig } from '../peer/runtime.js';
import { parseDeskInvite, type DeskInvite } from '../trust/invite.js';
import { joinKeyProblem } from '../trust/keys.js';
import { IpcArgumentError } from './ipc.js';
import type { Lobby } from './lobby.js';

// Whether pasted text is a whole desk invite (else it is taken for a key alone): asked beside the steps below.
export { isDeskInvite } from '../trust/invite.js';

/** A pasted desk invite, or an answer in words for the person who pasted it. */
export function pastedInvite(text: string): DeskInvite {
  try {
    return parseDeskInvite(text);
  } catch (err) {
    throw new IpcArgumentError((err as Error).message);
  }
}

/**
 * The calendar `joinKey` opens among the lobby's hints (`calendarId` when the person picked one),
 * found by asking its desks to take the key's proof; an answer in words when none opens.
 */
export async function calendarForKey(
  tryKey: (joinKey: string, hints: CalendarHint[]) => Promise<KeyTrial>,
  lobby: Pick<Lobby, 'hints'>,
  joinKey: string,
  calendarId?: string,
): Promise<CalendarConfig> {
  const problem = joinKeyProblem(joinKey);
  if (problem) throw new IpcArgumentError(`That is not a calendar key: ${problem}.`);
  const trial = await tryKey(joinKey, lobby.hints(calendarId));
  if (!trial.found) {
    throw new IpcArgumentError(
      calendarId
        ? `That key does not open this calendar (${trial.why}). Check it with the colleague who invited you.`
        : `${trial.why[0]!.toUpperCase()}${trial.why.slice(1)}. If this network hides other computers, paste the whole invite instead of the key.`,
    );
  }
  return { id: trial.found.id, name: trial.found.name || 'Office', joinKey, keyGen: trial.found.keyGen };
}
