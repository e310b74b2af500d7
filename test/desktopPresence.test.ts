import { describe, expect, it } from 'vitest';
import { deskName, desksOf, newPeerId, startPresence, type PresenceState } from '../main/desktop/presence.js';

describe('desk ids that carry a name', () => {
  const fixed = () => '0123456789abcdef';

  it('makes ids the runtime and mDNS accept, from any name', () => {
    const cases: [string, string][] = [
      ['alice', 'alice'],
      ['Alice Martin', 'Alice-Martin'],
      ['José Müller-Lüdenscheidt', 'Jose-Muller-Ludenscheidt'],
      ['  --weird!!name..  ', 'weird-name'],
      ['DESKTOP-7H3K2LQ', 'DESKTOP-7H3K2LQ'],
      ['a'.repeat(40), 'a'.repeat(24)],
      ['山田', 'desk'],
      ['', 'desk'],
    ];
    for (const [person, name] of cases) {
      const id = newPeerId(person, fixed);
      expect(id).toBe(`${name}_0123456789abcdef`);
      expect(id).toMatch(/^[A-Za-z0-9_-]{4,64}$/); // loadDesk's and discovery's rule
      expect(deskName(id)).toBe(name);
    }
    expect(newPeerId('alice')).not.toBe(newPeerId('alice'));
  });

  it('shows other ids (desks started by the CLI) as a short id', () => {
    expect(deskName('Xk3_pQ9zLm2a')).toBe('Desk Xk3_pQ');
    expect(deskName('alice_0123')).toBe('Desk alice_');
  });
});

describe('who is online', () => {
  const state = (over: Partial<PresenceState> = {}): PresenceState => ({
    peerId: 'alice_0123456789abcdef',
    role: 'peer',
    peers: [
      { peerId: 'zed_0123456789abcdef', role: 'peer' },
      { peerId: 'bob_0123456789abcdef', role: 'peer' },
      { peerId: 'carol_0123456789abcdef', role: 'host' },
      { peerId: 'dan_0123456789abcdef', role: 'leaving' },
    ],
    ...over,
  });

  it('lists this desk first, then the host, then the others by name; leaving desks are gone', () => {
    expect(desksOf(state(), 'Alice').map((d) => [d.name, d.role, d.self])).toEqual([
      ['Alice', 'peer', true],
      ['carol', 'host', false],
      ['bob', 'peer', false],
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
    set(state({ role: 'host', peers: [] }));
    expect(published).toHaveLength(2);
    expect(presence.desks()).toEqual([{ peerId: 'alice_0123456789abcdef', name: 'Alice', role: 'host', self: true }]);
    presence.close();
    expect(listeners.size).toBe(0);
  });
});
