import { newRecordId } from '../store/ids.js';
import type { Change, ChangeRequest, Store, StoredRecord } from '../store/types.js';
import { events, links, tasks, type EntityDef } from './entities.js';
import { HttpError } from './httpError.js';
import { checkId, validateRecord } from './validate.js';

export type RestAnswer = { action: 'inserted' | 'updated' | 'deleted'; tid?: string };

export interface RecordService {
  add(def: EntityDef, body: unknown): Promise<RestAnswer>;
  update(def: EntityDef, id: string, body: unknown): Promise<RestAnswer>;
  remove(def: EntityDef, id: string): Promise<RestAnswer>;
}

const isSeries = (r: StoredRecord) => typeof r.rrule === 'string' && r.rrule !== '' && !r.recurring_event_id;

/**
 * Writes through the store and announces every change once it is durable: the REST
 * answer and the live message both wait for the disk (`announce` may defer the fan-out). Ids are random UUIDs, so records
 * written on different desks can be merged without clashes.
 */
export function createRecordService(store: Store, announce: (changes: Change[]) => void): RecordService {
  const commit = async (requests: ChangeRequest[]) => {
    const changes = await store.commit(requests);
    announce(changes);
    return changes;
  };
  const existing = (def: EntityDef, id: string) => {
    const record = store.get(def.name, checkId(id));
    if (!record) throw new HttpError(404, `no ${def.noun} with id ${id}`);
    return record;
  };
  const deleteRequests = (def: EntityDef, records: StoredRecord[]): ChangeRequest[] =>
    records.map((record) => ({ entity: def.name, op: 'delete', record }));

  /** Scheduler 7: an edited or deleted series loses its exceptions (modified or deleted occurrences). */
  const exceptionsOf = (id: string) => store.list(events.name).filter((e) => String(e.recurring_event_id) === id);

  /** Gantt: a deleted task takes its subtasks and every link that touches them along. */
  const taskCascade = (id: string) => {
    const doomed = new Set([id]);
    const all = store.list(tasks.name);
    for (let grew = true; grew; ) {
      grew = false;
      for (const t of all) {
        if (!doomed.has(t.id) && doomed.has(String(t.parent))) {
          doomed.add(t.id);
          grew = true;
        }
      }
    }
    doomed.delete(id);
    const childTasks = all.filter((t) => doomed.has(t.id));
    doomed.add(id);
    const touching = store.list(links.name).filter((l) => doomed.has(String(l.source)) || doomed.has(String(l.target)));
    return [...deleteRequests(links, touching), ...deleteRequests(tasks, childTasks.reverse())];
  };

  return {
    async add(def, body) {
      const record: StoredRecord = { ...validateRecord(def.spec, body), id: newRecordId() };
      await commit([{ entity: def.name, op: 'add', record }]);
      // A deleted occurrence of a series is stored like any exception; the client expects "deleted".
      return { action: def === events && record.deleted ? 'deleted' : 'inserted', tid: record.id };
    },
    async update(def, id, body) {
      const before = existing(def, id);
      const record: StoredRecord = { ...validateRecord(def.spec, body), id: before.id };
      const requests: ChangeRequest[] = [{ entity: def.name, op: 'update', record }];
      if (def === events && isSeries(record)) requests.push(...deleteRequests(events, exceptionsOf(id)));
      await commit(requests);
      return { action: 'updated' };
    },
    async remove(def, id) {
      const before = store.get(def.name, checkId(id));
      // Deleting what is already gone succeeds: two people may delete the same thing. The answer
      // must not overtake the other delete's trip to the disk, or a crash could bring the event back.
      if (!before) {
        await store.flushed();
        return { action: 'deleted' };
      }
      const requests: ChangeRequest[] = [];
      if (def === events && before.recurring_event_id) {
        requests.push({ entity: def.name, op: 'update', record: { ...before, deleted: true } });
      } else {
        if (def === events && isSeries(before)) requests.push(...deleteRequests(events, exceptionsOf(id)));
        if (def === tasks) requests.push(...taskCascade(id));
        requests.push({ entity: def.name, op: 'delete', record: before });
      }
      await commit(requests);
      return { action: 'deleted' };
    },
  };
}

