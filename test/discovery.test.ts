import { describe, expect, it } from 'vitest';
import { createHintBook, parseHint, printable, type Hint } from '../main/peer/discovery.js';
import type { Sighting } from '../main/peer/mdnsBrowser.js';

// What mDNS brings is anyone's text: read strictly, kept bounded, printed without control characters.
const service = (txt: Record<string, string>, over: Partial<Sighting> = {}): Sighting => ({ instance: 'lan scheduler x._lansched._tcp.local', txt, port: 3211, address: '10.0.0.7', ...over });
const good = { v: '2', cal: 'ab12ab12ab12ab12ab12ab12', name: 'Office', id: 'a'.repeat(32), role: 'host', web: '3210' };

describe('hints from announcements', () => {
  it('read this version\'s announcements, and nothing else', () => {
    expect(parseHint(service(good), 5)).toEqual({ calendarId: good.cal, calendarName: 'Office', deskId: good.id, role: 'host', webPort: 3210, address: '10.0.0.7', deskPort: 3211, seen: 5 });
    for (const bad of [{ v: '1' }, { cal: 'XYZ' }, { id: 'alice_0123456789abcdef' }, { role: 'king' }, { web: '0' }, { web: 'x' }]) {
      expect(parseHint(service({ ...good, ...bad })), JSON.stringify(bad)).toBeNull();
    }
    expect(parseHint(service(good, { port: 70000 }))).toBeNull();
    expect(parseHint(service(good, { address: 'not-an-ip' }))).toBeNull();
  });

  it('carry names without control characters, bounded', () => {
    expect(parseHint(service({ ...good, name: 'Off\u001b[31mice\r\nX\u2028' }))!.calendarName).toBe('Off[31miceX');
    expect(printable('a'.repeat(500), 80)).toHaveLength(80);
    expect(printable(undefined)).toBe('');
  });

  it('cost bounded memory: a thousand made-up desks keep only the newest', () => {
    const book = createHintBook(256);
    const hint = (i: number): Hint => ({ ...parseHint(service(good))!, deskId: i.toString(36).padStart(32, 'a') });
    for (let i = 0; i < 1000; i++) book.add(hint(i));
    expect(book.size()).toBe(256);
    expect(book.values().at(-1)!.deskId).toBe(hint(999).deskId);
    expect(book.values().some((h) => h.deskId === hint(0).deskId)).toBe(false);
    // The same desk again is a refresh, not news; a new role is news.
    expect(book.add(hint(999))).toBe(false);
    expect(book.add({ ...hint(999), role: 'peer' })).toBe(true);
    expect(book.remove({ ...hint(999), address: '10.0.0.8' })).toBe(false);
    expect(book.remove(hint(999))).toBe(true);
  });
});
