import { describe, expect, it } from 'vitest';
import {
  Channel,
  checkArity,
  checkCalendarId,
  checkCalendarName,
  checkInviteText,
  checkJoinKey,
  failed,
  IpcArgumentError,
  ipcArguments,
  isOwnFrame,
  ok,
  unwrap,
} from '../main/desktop/ipc.js';
import { newCalendarId, newJoinKey } from '../main/trust/keys.js';

const rejects = (run: () => unknown) => expect(run).toThrow(IpcArgumentError);
const NOT_STRINGS = [undefined, null, 42, true, {}, [], ['Office'], { toString: () => 'Office' }];

describe('calendar names from the window', () => {
  it('takes a trimmed name of 1 to 80 characters, in any script', () => {
    expect(checkCalendarName('  Office ')).toBe('Office');
    expect(checkCalendarName('Büro München · 3. OG')).toBe('Büro München · 3. OG');
    expect(checkCalendarName('x'.repeat(80))).toBe('x'.repeat(80));
    expect(checkCalendarName('<b>Sales</b>')).toBe('<b>Sales</b>'); // text: the page shows it as text
  });

  it('refuses empty, long, control characters and anything that is not a string', () => {
    for (const bad of ['', '   ', 'x'.repeat(81), 'a\nb', 'tab\there', 'nul\u0000', 'del\u007f', 'c1\u0085', 'line\u2028sep']) {
      rejects(() => checkCalendarName(bad));
    }
    for (const bad of NOT_STRINGS) rejects(() => checkCalendarName(bad));
    expect(() => checkCalendarName('')).toThrow('Give the calendar a name.');
  });
});

describe('join keys from the window', () => {
  it('takes what newJoinKey makes, and 8 to 200 characters of A-Z a-z 0-9 _ -', () => {
    const key = newJoinKey();
    expect(checkJoinKey(key)).toBe(key);
    expect(checkJoinKey(` ${key}\n`)).toBe(key);
    expect(checkJoinKey('abcd-_09')).toBe('abcd-_09');
    expect(checkJoinKey('K'.repeat(200))).toBe('K'.repeat(200));
  });

  it('refuses short, long, spaced, base64 padding and other characters, and non-strings', () => {
    for (const bad of ['', 'short12', 'K'.repeat(201), 'two words here', 'abc+/abc=', 'ключ-ключ-ключ', 'key;rm -rf']) {
      rejects(() => checkJoinKey(bad));
    }
    for (const bad of NOT_STRINGS) rejects(() => checkJoinKey(bad));
  });
});

describe('invites from the window', () => {
  it('takes pasted text, trimmed and bounded; the desk reads the invite itself', () => {
    expect(checkInviteText('  an invite\n')).toBe('an invite');
    expect(() => checkInviteText('   ')).toThrow(/Paste the invite/);
    for (const bad of NOT_STRINGS) rejects(() => checkInviteText(bad));
  });
});

describe('calendar ids from the window', () => {
  it('takes the lowercase hex ids desks announce', () => {
    const id = newCalendarId();
    expect(checkCalendarId(id)).toBe(id);
  });

  it('refuses uppercase, non-hex, short, long and non-strings', () => {
    const id = newCalendarId();
    for (const bad of [id.toUpperCase(), 'abcdefg1', 'abc', 'a'.repeat(65), ` ${id}`, '__proto__']) rejects(() => checkCalendarId(bad));
    for (const bad of NOT_STRINGS) rejects(() => checkCalendarId(bad));
  });
});

describe('the arguments of every channel', () => {
  it('has a checker for every channel the window invokes, and none for the ones it only hears', () => {
    const invoked = Object.values(Channel).filter((c) => c !== Channel.stateChanged && c !== Channel.openEvent).sort();
    expect(Object.keys(ipcArguments).sort()).toEqual(invoked);
    expect(new Set(Object.values(Channel)).size).toBe(Object.values(Channel).length);
  });

  it('answers the checked arguments, and refuses extra or missing ones', () => {
    const key = newJoinKey();
    const id = newCalendarId();
    expect(ipcArguments[Channel.joinInvite]([' lansched://join?c=x '])).toEqual(['lansched://join?c=x']);
    rejects(() => ipcArguments[Channel.joinInvite](['']));
    rejects(() => ipcArguments[Channel.joinInvite](['x'.repeat(10_001)]));
    rejects(() => ipcArguments[Channel.joinInvite]([{ text: key }]));
    expect(ipcArguments[Channel.createCalendar]([' Office '])).toEqual(['Office']);
    expect(ipcArguments[Channel.joinCalendar]([id, key])).toEqual([id, key]);
    expect(ipcArguments[Channel.state]([])).toEqual([]);
    rejects(() => ipcArguments[Channel.createCalendar]([]));
    rejects(() => ipcArguments[Channel.createCalendar](['Office', 'extra']));
    rejects(() => ipcArguments[Channel.joinCalendar]([id]));
    rejects(() => ipcArguments[Channel.joinCalendar]([key, id])); // swapped
    rejects(() => ipcArguments[Channel.joinCalendar]([id, { key }]));
    for (const channel of [Channel.connection, Channel.state, Channel.copyInvite, Channel.leave] as const) {
      rejects(() => ipcArguments[channel](['anything']));
    }
    expect(() => checkArity([1, 2], 1)).toThrow('expected 1 argument, got 2');
  });

  it('takes a reminder choice for an event, and calendar ids to hide, and nothing else', () => {
    expect(ipcArguments[Channel.setReminder](['0190f5a2-7b3c-7d4e-8f60-123456789abc', 10])).toEqual(['0190f5a2-7b3c-7d4e-8f60-123456789abc', 10]);
    expect(ipcArguments[Channel.setReminder](['e1', 'none'])).toEqual(['e1', 'none']);
    expect(ipcArguments[Channel.setReminder](['e1', null])).toEqual(['e1', null]);
    for (const bad of [7, '10', -5, 1440.5, {}, undefined]) rejects(() => ipcArguments[Channel.setReminder](['e1', bad]));
    for (const bad of ['', '__proto__ x', 'a'.repeat(129), 42, null]) rejects(() => ipcArguments[Channel.setReminder]([bad, 10]));
    rejects(() => ipcArguments[Channel.setReminder](['e1']));
    expect(ipcArguments[Channel.hideCalendars]([['room-a', 'c2']])).toEqual([['room-a', 'c2']]);
    rejects(() => ipcArguments[Channel.hideCalendars](['room-a']));
    rejects(() => ipcArguments[Channel.hideCalendars]([['<b>']]));
    rejects(() => ipcArguments[Channel.hideCalendars]([Array(1001).fill('c')]));
    rejects(() => ipcArguments[Channel.reminders](['anything']));
  });
});

describe('isOwnFrame', () => {
  const app = 'http://127.0.0.1:3210';

  it('accepts any page on the desk server\'s own origin', () => {
    expect(isOwnFrame('http://127.0.0.1:3210/', app)).toBe(true);
    expect(isOwnFrame('http://127.0.0.1:3210/index.html?x=1#week', app)).toBe(true);
    expect(isOwnFrame('http://127.0.0.1:3210/', 'http://127.0.0.1:3210/')).toBe(true);
  });

  it('refuses other ports, hosts, schemes, opaque origins, credentials and nonsense', () => {
    for (const url of [
      'http://127.0.0.1:3211/',
      'http://localhost:3210/',
      'http://192.168.1.20:3210/',
      'https://127.0.0.1:3210/',
      'ws://127.0.0.1:3210/',
      'file:///tmp/index.html',
      'about:blank',
      'data:text/html,<script>1</script>',
      'http://user:pw@127.0.0.1:3210/',
      'not a url',
      '',
    ]) {
      expect(isOwnFrame(url, app), url).toBe(false);
    }
    expect(isOwnFrame(null, app)).toBe(false);
    expect(isOwnFrame(undefined, app)).toBe(false);
    expect(isOwnFrame('http://127.0.0.1:3210/', null)).toBe(false);
    expect(isOwnFrame('file:///x', 'file:///x')).toBe(false);
  });
});

describe('IPC answers', () => {
  it('carries a value, or an error the preload turns into an Error with the main process\'s message', () => {
    expect(unwrap(ok({ a: 1 }))).toEqual({ a: 1 });
    expect(unwrap(ok(undefined))).toBeUndefined();
    expect(() => unwrap(failed('That key does not open this calendar.'))).toThrow('That key does not open this calendar.');
    expect(() => unwrap(undefined as never)).toThrow('no answer from the desktop app');
  });
});
