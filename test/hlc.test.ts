import { describe, expect, it } from 'vitest';
import { createClock, parseStamp } from '../main/store/hlc.js';

describe('hybrid logical clock', () => {
  it('never goes backwards, even when the wall clock does', () => {
    let wall = 1000;
    const clock = createClock('a', () => wall);
    const first = clock.tick();
    wall = 500;
    const second = clock.tick();
    expect(second > first).toBe(true);
    expect(parseStamp(second)).toEqual({ wall: 1000, count: 1, node: 'a' });
  });

  it('orders a stamp made after seeing another one after it, whatever the clocks say', () => {
    const ahead = createClock('b', () => 9000);
    const behind = createClock('a', () => 1000);
    const theirs = ahead.tick();
    behind.observe(theirs);
    expect(behind.tick() > theirs).toBe(true);
  });

  it('breaks ties by node', () => {
    expect(createClock('b', () => 5).tick() > createClock('a', () => 5).tick()).toBe(true);
  });
});
