import { describe, expect, it } from 'vitest';
import { desksOf, startPresence, type PresenceState } from '../main/peer/presence.js';

describe('who is online', () => {
  const state = (over: Partial<PresenceState> = {}): PresenceState => ({
    deskId: 'a'.repeat(32),
    role: 'peer',
    desks: [
      { deskId: 'a'.repeat(32), name: 'Alice', role: 'peer', self: true },
      { deskId: 'z'.repeat(32), name: 'zed', role: 'peer', self: false },
      { deskId: 'b'.repeat(32), name: 'bob', role: 'peer', self: false },
      { deskId: 'c'.repeat(32), name: 'carol', role: 'host', self: false },
      { deskId: 'd'.repeat(32), name: 'dan', role: 'leaving', self: false },
      { deskId: 'e'.repeat(32), name: '', role: 'peer', self: false },
    ],
    ...over,
  });

  it('lists this desk first, then the host, then the others by name; leaving desks are gone', () => {
    expect(desksOf(state(), 'Alice').map((d) => [d.name, d.role, d.self])).toEqual([
      ['Alice', 'peer', true],
      ['carol', 'host', false],
      ['bob', 'peer', false],
      ['Desk eeeeee', 'peer', false],
      ['zed', 'peer', false],
    ]);
  });

  it('publishes on change only, and stops when closed', () => {
    let current = state();
    const listeners = new Set<(s: PresenceState) => void>();
    const published: any[] = [];
    const source = {
      state: () => current,
      onState: (l: (s: PresenceState) => void) => (listeners.add(l), () => void listeners.delete(l)),
      server: { publish: (name: string, value: unknown) => (published.push([name, value]), 1) },
    };
    const set = (next: PresenceState) => listeners.forEach((l) => l((current = next)));
    const presence = startPresence(source, 'Alice');
    expect(published).toHaveLength(1);
    expect(published[0][0]).toBe('presence');
    expect(published[0][1]).toMatchObject({ type: 'update-presence', value: { desks: expect.any(Array) } });
    set(state());
    expect(published).toHaveLength(1);
    set(state({ role: 'host', desks: [] }));
    expect(published).toHaveLength(2);
    expect(presence.desks()).toEqual([{ deskId: 'a'.repeat(32), name: 'Alice', role: 'host', self: true }]);
    presence.close();
    expect(listeners.size).toBe(0);
  });
});
