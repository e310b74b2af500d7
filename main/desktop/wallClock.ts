// Wall-clock times of one calendar zone: the records' "YYYY-MM-DD HH:MM" read, written and placed
// in time through the zone's IANA rules with Intl. Shared by the reminder planner, which a browser
// page runs too, so this file stays free of Node and DOM imports.

export const DAY_MS = 86_400_000;
const WALL = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?/;

/** A wall-clock time as records hold it, in no zone. */
export interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

/** The wall clock at the start of a record's date ("2026-03-02 09:00", or a date alone: midnight). */
export function parseWall(value: unknown): Wall | null {
  const m = WALL.exec(String(value ?? ''));
  if (!m) return null;
  const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1).map((p) => p ?? '0');
  return { y: +y!, mo: +mo!, d: +d!, h: +h, mi: +mi, s: +s };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
export const wallText = (w: Wall) => `${pad(w.y, 4)}-${pad(w.mo)}-${pad(w.d)} ${pad(w.h)}:${pad(w.mi)}${w.s ? `:${pad(w.s)}` : ''}`;
/** A wall clock as if it were UTC: for wall arithmetic and comparisons only. */
export const wallMs = (w: Wall) => Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);
export const wallOf = (ms: number): Wall => {
  const t = new Date(ms);
  return { y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate(), h: t.getUTCHours(), mi: t.getUTCMinutes(), s: t.getUTCSeconds() };
};

/**
 * Places wall-clock times of one zone in time. A time that does not exist (the hour skipped in
 * spring) is read with the offset from before the change, a time that exists twice (autumn) as
 * the first of the two: what RFC 5545 asks of calendar apps.
 */
export function zoneClock(zone: string) {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  // Offsets change on whole minutes: one answer per minute asked (Intl is the slow part of a plan).
  const known = new Map<number, number>();
  /** The zone's offset from UTC at an instant, in ms. */
  const offsetAt = (instant: number) => {
    const minute = Math.floor(instant / 60_000);
    let offset = known.get(minute);
    if (offset === undefined) {
      const parts: Record<string, number> = {};
      for (const p of format.formatToParts(new Date(minute * 60_000))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
      offset = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) - minute * 60_000;
      known.set(minute, offset);
    }
    return offset;
  };
  return {
    offsetAt,
    instant(wall: Wall): number {
      const asUtc = wallMs(wall);
      const before = offsetAt(asUtc - DAY_MS / 2);
      const after = offsetAt(asUtc + DAY_MS / 2);
      // No change of offset within half a day either side: the usual case.
      if (before === after) return asUtc - before;
      const fits = [before, after].map((o) => asUtc - o).filter((t) => offsetAt(t) === asUtc - t);
      return fits.length ? Math.min(...fits) : asUtc - before;
    },
  };
}

export type ZoneClock = ReturnType<typeof zoneClock>;
