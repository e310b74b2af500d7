import { describe, expect, it } from 'vitest';
import { electHost, keepsHosting } from '../main/peer/election.js';

describe('host election', () => {
  it('picks the most recent replica, and of equals the smallest peer id, whatever the order', () => {
    const desks = [
      { peerId: 'c', revision: 40 },
      { peerId: 'b', revision: 42 },
      { peerId: 'a', revision: 42 },
    ];
    expect(electHost(desks)?.peerId).toBe('a');
    expect(electHost([...desks].reverse())?.peerId).toBe('a');
    expect(electHost([])).toBeUndefined();
  });

  it('lets exactly one of two meeting hosts keep hosting', () => {
    expect(keepsHosting('a', 'b')).toBe(true);
    expect(keepsHosting('b', 'a')).toBe(false);
  });
});
