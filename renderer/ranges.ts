/**
 * Loading the calendar by range: first what the view shows and a day either side, so a calendar
 * of years paints as fast as an empty one; then, once the page is idle, a month either side, so
 * moving on is instant; and more as the person navigates. The Scheduler's own dynamic loading
 * cannot be used: it sends no token, marks a range loaded before the answer arrives, and never
 * retries; this one retries with backoff until the range is in.
 */
export interface RangeAnswer {
  records: Record<string, unknown>[];
  revision: number;
}

export interface RangeLoaderOptions {
  /** One range, `from` inclusive, `to` exclusive, as YYYY-MM-DD. */
  fetch(from: string, to: string): Promise<RangeAnswer>;
  /** Hands loaded records to the view (those it does not hold yet). */
  apply(records: Record<string, unknown>[]): void;
  /** A fetch failed (said once per run of failures); it is tried again by itself. */
  onError(err: Error): void;
}

/** Days loaded either side of the view before it paints, and soon after. */
const NEAR_DAYS = 1;
const AHEAD_DAYS = 35;
const DAY = 86_400_000;

const pad = (n: number) => String(n).padStart(2, '0');
/** Days since 1970-01-01 of a local date: wall-clock days, as the Scheduler's dates are. */
const dayOf = (d: Date) => Math.floor(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) / DAY);
const textOf = (day: number) => {
  const d = new Date(day * DAY);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
};
/** A record's date string ("2026-03-02 10:00", or ISO) as a day number. */
const dayOfText = (s: unknown) => {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(s ?? ''));
  return m ? Math.floor(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!) / DAY) : NaN;
};

export function createRangeLoader(options: RangeLoaderOptions) {
  /** Loaded days as sorted, disjoint [from, to) intervals. */
  let loaded: [number, number][] = [];
  const loadedAt = new Map<string, number>(); // record id → revision it was loaded at
  let queue: Promise<unknown> = Promise.resolve();
  let generation = 0;
  let idle: ReturnType<typeof setTimeout> | undefined;

  const add = (from: number, to: number) => {
    const all = [...loaded, [from, to] as [number, number]].sort((a, b) => a[0] - b[0]);
    loaded = [];
    for (const r of all) {
      const last = loaded.at(-1);
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else loaded.push([r[0], r[1]]);
    }
  };
  /** The parts of [from, to) not loaded yet. */
  const missing = (from: number, to: number) => {
    const gaps: [number, number][] = [];
    let at = from;
    for (const [a, b] of loaded) {
      if (b <= at) continue;
      if (a >= to) break;
      if (a > at) gaps.push([at, a]);
      at = Math.max(at, b);
    }
    if (at < to) gaps.push([at, to]);
    return gaps;
  };

  /** Fetches one gap until it succeeds (or a reset makes it moot), with backoff. */
  const fetchGap = async (from: number, to: number, gen: number) => {
    for (let delay = 1000, failing = false; ; delay = Math.min(delay * 2, 30_000)) {
      try {
        const answer = await options.fetch(textOf(from), textOf(to));
        if (gen !== generation) return null;
        add(from, to);
        for (const r of answer.records) loadedAt.set(String(r.id), answer.revision);
        options.apply(answer.records);
        return answer.revision;
      } catch (err) {
        if (gen !== generation) return null;
        if (!failing) options.onError(err as Error);
        failing = true;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
  const load = (from: number, to: number): Promise<number | null> => {
    const gen = generation;
    const next = queue.then(async () => {
      let revision: number | null = null;
      for (const [a, b] of missing(from, to)) revision = (await fetchGap(a, b, gen)) ?? revision;
      return revision;
    });
    queue = next.catch(() => undefined);
    return next;
  };

  return {
    /**
     * Loads what the view [from, to) shows and a day either side; resolves with the last revision
     * fetched (or null). A month either side follows a moment later, in the background.
     */
    ensure(from: Date, to: Date): Promise<number | null> {
      const a = dayOf(from);
      const b = dayOf(new Date(to.getTime() - 1)) + 1;
      const near = load(a - NEAR_DAYS, b + NEAR_DAYS);
      clearTimeout(idle);
      idle = setTimeout(() => void load(a - AHEAD_DAYS, b + AHEAD_DAYS), 300);
      return near;
    },
    /** Whether a span (a record's start and end) touches a loaded day: its live updates matter here. */
    covers(start: unknown, end: unknown): boolean {
      const a = dayOfText(start);
      const b = dayOfText(end);
      if (Number.isNaN(a) || Number.isNaN(b)) return false;
      return loaded.some(([from, to]) => from <= b && a < to);
    },
    /** The revision a record was loaded at: a live message about it from before then is old news. */
    loadedAt: (id: string) => loadedAt.get(id),
    /** Forgets what is loaded (the page reloads everything). */
    reset() {
      generation++;
      clearTimeout(idle);
      loaded = [];
      loadedAt.clear();
    },
  };
}

export type RangeLoader = ReturnType<typeof createRangeLoader>;
