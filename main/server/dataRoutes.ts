import { Router, type Request } from 'express';
import type { Store, StoredRecord } from '../store/types.js';
import { calendars, events, links, tasks, type EntityDef } from './entities.js';
import { HttpError } from './httpError.js';
import type { RecordService } from './records.js';
import { dateKey } from './validate.js';

/** REST routes for the Scheduler (/events), the Gantt (/gantt/…) and custom entities (/calendars). */
export function dataRoutes(store: Store, records: RecordService): Router {
  const router = Router();
  const spans = new WeakMap<StoredRecord, Span>();
  const withRevision = (res: { setHeader(k: string, v: string): unknown }) => {
    res.setHeader('X-Revision', String(store.revision()));
    res.setHeader('X-Store-Id', store.storeId);
  };
  const crud = (base: string, def: EntityDef) => {
    router.post(base, async (req, res) => void res.json(await records.add(def, req.body)));
    router.put(`${base}/:id`, async (req, res) => void res.json(await records.update(def, req.params.id, req.body)));
    router.delete(`${base}/:id`, async (req, res) => void res.json(await records.remove(def, req.params.id)));
  };

  router.get('/events', (req, res) => {
    withRevision(res);
    res.json(eventsInRange(store.list(events.name), rangeOf(req), spans));
  });
  crud('/events', events);

  router.get('/gantt/data', (_req, res) => {
    withRevision(res);
    res.json({ data: store.list(tasks.name), links: store.list(links.name) });
  });
  crud('/gantt/task', tasks);
  crud('/gantt/link', links);

  router.get('/calendars', (_req, res) => {
    withRevision(res);
    res.json(store.list(calendars.name));
  });
  crud('/calendars', calendars);
  return router;
}

interface Range {
  from: number;
  to: number;
}

function rangeOf(req: Request): Range | null {
  const { from, to } = req.query;
  if (from === undefined && to === undefined) return null;
  const parse = (v: unknown, name: string) => {
    const key = typeof v === 'string' ? dateKey(v) : NaN;
    if (Number.isNaN(key)) throw new HttpError(400, `${name} must be a date like 2026-03-02`);
    return key;
  };
  return { from: from === undefined ? -Infinity : parse(from, 'from'), to: to === undefined ? Infinity : parse(to, 'to') };
}

type Span = readonly [start: number, end: number];

/**
 * Events that overlap [from, to). A series overlaps through its own span (its end_date is
 * the end of the recurrence); its exceptions come with it, wherever they were moved.
 * `spans` caches each record's parsed dates: records are never changed in place, so a page
 * that loads range after range parses each of 50,000 dates once, not on every request.
 */
function eventsInRange(all: StoredRecord[], range: Range | null, spans: WeakMap<StoredRecord, Span>): StoredRecord[] {
  if (!range) return all;
  const spanOf = (e: StoredRecord) => {
    let span = spans.get(e);
    if (!span) spans.set(e, (span = [dateKey(e.start_date as string), dateKey(e.end_date as string)]));
    return span;
  };
  const hits = all.filter((e) => {
    const [start, end] = spanOf(e);
    return start < range.to && end > range.from;
  });
  const series = new Set(hits.filter((e) => e.rrule && !e.recurring_event_id).map((e) => e.id));
  if (series.size === 0) return hits;
  const inRange = new Set(hits);
  return all.filter((e) => inRange.has(e) || (e.recurring_event_id && series.has(String(e.recurring_event_id))));
}
