/**
 * A hybrid logical clock: stamps that follow wall time but never go backwards and order
 * causally (a stamp made after seeing another is larger). Stamps are fixed-width strings,
 * so they compare with `<`; the node id at the end breaks ties between desks.
 */
export interface Clock {
  tick(): string;
  /** Moves the clock past a stamp from elsewhere. */
  observe(stamp: string): void;
}

const WALL = 11;
const COUNT = 6;

export function createClock(node: string, now: () => number = Date.now): Clock {
  let wall = 0;
  let count = 0;
  return {
    tick() {
      const t = now();
      if (t > wall) {
        wall = t;
        count = 0;
      } else {
        count++;
      }
      return formatStamp(wall, count, node);
    },
    observe(stamp) {
      const theirs = parseStamp(stamp);
      if (!theirs) return;
      const t = now();
      const next = Math.max(t, wall, theirs.wall);
      if (next === wall && next === theirs.wall) count = Math.max(count, theirs.count) + 1;
      else if (next === wall) count++;
      else if (next === theirs.wall) count = theirs.count + 1;
      else count = 0;
      wall = next;
    },
  };
}

export function formatStamp(wall: number, count: number, node: string): string {
  return `${wall.toString(36).padStart(WALL, '0')}-${count.toString(36).padStart(COUNT, '0')}-${node}`;
}

export function parseStamp(stamp: string): { wall: number; count: number; node: string } | null {
  const m = /^([0-9a-z]{11})-([0-9a-z]{6})-(.+)$/.exec(stamp);
  return m ? { wall: parseInt(m[1]!, 36), count: parseInt(m[2]!, 36), node: m[3]! } : null;
}
