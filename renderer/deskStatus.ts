import type { DeskInfo, DeskStatus, Presence } from '../main/desktop/ipc.js';
import type { DesktopBridge, DesktopState } from './connection.js';
import type { Status } from './status.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const hostName = (s: DesktopState) => s.host?.name ?? 'the hosting desk';
const ROLE: Record<DeskStatus, [text: (s: DesktopState) => string, title: string]> = {
  hosting: [() => 'Hosting', 'This desk hosts the calendar: colleagues’ desks and browsers connect to it.'],
  connected: [(s) => `Connected to ${hostName(s)}`, 'Changes go through the desk that hosts the calendar.'],
  connecting: [(s) => `Connecting to ${hostName(s)}…`, 'Reaching the desk that hosts the calendar.'],
  'taking-over': [() => 'Taking over…', 'The hosting desk left. Another desk is taking over; changes made meanwhile are kept.'],
  offline: [() => 'Offline', 'No network: changes stay on this desk and reach colleagues when it is back.'],
  starting: [() => 'Starting…', 'Looking for the desk that hosts the calendar.'],
  leaving: [() => 'Leaving…', 'Handing the calendar over to the other desks.'],
  lobby: [() => 'No calendar', ''],
};
const SHOWN = 5;

/** Two letters for an avatar: the initials of the first two words, or the first two letters. */
export function initials(name: string): string {
  const words = name.split(/[\s._-]+/).filter(Boolean);
  const letters = words.length > 1 ? words[0]!.charAt(0) + words[1]!.charAt(0) : (words[0] ?? '?').slice(0, 2);
  return letters.toUpperCase();
}

const hueOf = (id: string) => [...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 360, 7);

/**
 * The desk's side of the top bar: its role (hosting, connected to a named desk, taking over,
 * offline), who is online, the invite and leaving. In the desktop it follows the bridge; in a
 * browser it shows only who is online, from the `presence` live entity, once that arrives.
 */
export function mountDeskStatus(options: { bridge?: DesktopBridge; status: Status }) {
  const { bridge, status } = options;
  const root = $('desk-status');
  const role = $('desk-role');
  const people = $('desk-people');
  let desk: DesktopState | null = null;

  const showPeople = (desks: DeskInfo[]) => {
    people.replaceChildren(
      ...desks.slice(0, SHOWN).map((d) => {
        const li = document.createElement('li');
        li.className = 'person';
        li.dataset.role = d.role;
        if (d.self) li.dataset.self = 'true';
        const label = `${d.name}${d.self ? ' (this desk)' : ''}${d.role === 'host' ? ', hosting' : ''}`;
        li.title = label;
        li.setAttribute('aria-label', label);
        li.textContent = initials(d.name);
        li.style.background = `hsl(${hueOf(d.deskId)} 55% 46%)`;
        return li;
      }),
    );
    if (desks.length > SHOWN) {
      const more = document.createElement('li');
      more.className = 'person more';
      more.textContent = `+${desks.length - SHOWN}`;
      more.title = desks.slice(SHOWN).map((d) => d.name).join(', ');
      people.append(more);
    }
    people.dataset.count = String(desks.length);
  };

  const showRole = () => {
    if (!desk) return;
    // The window's own view of the network can be quicker than the desk's.
    const now: DeskStatus = navigator.onLine ? desk.status : 'offline';
    const [text, title] = ROLE[now];
    role.dataset.status = now;
    role.textContent = text(desk);
    role.title = title;
  };

  // What the person should know about this desk (a clock that is off, a key that changed), in words.
  const notice = $('desk-notice');
  const showNotices = (notices: string[]) => {
    notice.hidden = notices.length === 0;
    notice.textContent = notices[0] ?? '';
    notice.title = notices.join('\n');
  };

  const follow = (state: DesktopState) => {
    desk = state;
    showRole();
    showPeople(state.desks);
    showNotices(state.notices ?? []);
  };

  if (bridge) {
    root.hidden = false;
    role.hidden = false;
    const invite = $<HTMLButtonElement>('invite-button');
    const leave = $<HTMLButtonElement>('leave-button');
    invite.hidden = leave.hidden = false;
    invite.addEventListener('click', async () => {
      try {
        await bridge.copyInvite();
        status.toast('Invite copied. It holds the calendar’s key: send it only to colleagues.', 'info');
      } catch (err) {
        status.toast(`Could not copy the invite: ${(err as Error).message}`, 'error');
      }
    });
    const dialog = $<HTMLDialogElement>('leave-dialog');
    leave.addEventListener('click', () => {
      $('leave-name').textContent = desk?.calendar?.name ?? 'this calendar';
      dialog.showModal();
    });
    $('leave-cancel').addEventListener('click', () => dialog.close());
    $('leave-confirm').addEventListener('click', async () => {
      dialog.close();
      leave.disabled = invite.disabled = true;
      try {
        await bridge.leave();
      } catch (err) {
        leave.disabled = invite.disabled = false;
        status.toast(`Could not leave the calendar: ${(err as Error).message}`, 'error');
      }
    });
    bridge.onState(follow);
    bridge.state().then(follow, (err) => status.toast(`The desk did not answer: ${(err as Error).message}`, 'error'));
    addEventListener('online', showRole);
    addEventListener('offline', showRole);
  }

  return {
    /** A `presence` live message: who is online, for a browser (the desktop has the bridge). */
    presence(message: { value?: Presence }) {
      if (bridge || !Array.isArray(message?.value?.desks)) return;
      root.hidden = false;
      showPeople(message.value.desks);
    },
  };
}
