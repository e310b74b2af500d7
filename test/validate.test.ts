import { describe, expect, it } from 'vitest';
import { calendars, events } from '../main/server/entities.js';
import { HttpError } from '../main/server/httpError.js';
import { checkRrule, dateKey, limits, validateRecord, validateStoredRecord } from '../main/server/validate.js';

const anEvent = (extra: Record<string, unknown> = {}) => ({ text: 'Standup', start_date: '2026-03-02 09:00', end_date: '2026-03-02 09:15', ...extra });
const refused = (run: () => unknown, message: RegExp) => {
  expect(run).toThrow(HttpError);
  expect(run).toThrow(message);
};

describe('dates', () => {
  it('takes 1900 to 9999, the Scheduler\'s "no end" included, and nothing outside', () => {
    expect(dateKey('1900-01-01 00:00')).toBe(Date.UTC(1900, 0, 1));
    expect(dateKey('9999-02-01 00:00')).toBe(Date.UTC(9999, 1, 1));
    expect(dateKey('9999-12-31T23:59:59Z')).toBe(Date.UTC(9999, 11, 31, 23, 59, 59));
    for (const d of ['1899-12-31 23:59', '0001-01-01', '1899-12-31T23:00:00Z', '1900-01-01T00:30:00+01:00']) expect(dateKey(d)).toBeNaN();
    refused(() => validateRecord(events.spec, anEvent({ start_date: '1850-03-02 09:00' })), /from 1900 to 9999/);
  });
});

describe('rrule', () => {
  it('takes what the Scheduler\'s editor writes', () => {
    for (const r of ['FREQ=DAILY;INTERVAL=1', 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR', 'FREQ=MONTHLY;INTERVAL=1;BYDAY=2TU', 'FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=2', 'FREQ=HOURLY;INTERVAL=4;COUNT=20', '']) {
      expect(checkRrule(r)).toBe(r);
    }
  });

  it('refuses repeats finer than hourly, huge intervals and counts, unknown parts and garbage', () => {
    refused(() => checkRrule('FREQ=MINUTELY'), /hourly, daily/);
    refused(() => checkRrule('FREQ=SECONDLY;INTERVAL=1'), /hourly, daily/);
    refused(() => checkRrule('INTERVAL=2'), /hourly, daily/);
    refused(() => checkRrule('FREQ=DAILY;INTERVAL=0'), /INTERVAL/);
    refused(() => checkRrule(`FREQ=DAILY;INTERVAL=${limits.rruleMaxInterval + 1}`), /INTERVAL/);
    refused(() => checkRrule(`FREQ=DAILY;COUNT=${limits.rruleMaxCount + 1}`), /COUNT/);
    refused(() => checkRrule('FREQ=DAILY;BYSECOND=1,2,3'), /BYSECOND/);
    refused(() => checkRrule('FREQ=DAILY;X-EVIL=1'), /X-EVIL/);
    refused(() => validateRecord(events.spec, anEvent({ rrule: 'FREQ=MINUTELY;INTERVAL=1' })), /hourly/);
  });
});

describe('text limits', () => {
  it('count text as stored, after escaping', () => {
    const fits = 'a'.repeat(limits.textChars);
    expect(validateRecord(events.spec, anEvent({ text: fits })).text).toBe(fits);
    // 2,000 "<" are 10,000 characters once spelled "&#60;".
    expect(validateRecord(events.spec, anEvent({ text: '<'.repeat(2000) })).text).toHaveLength(10_000);
    refused(() => validateRecord(events.spec, anEvent({ text: `${'<'.repeat(2000)}a` })), /longer than 10000 characters \(as stored/);
    refused(() => validateRecord(events.spec, anEvent({ note: '&'.repeat(limits.extraStringChars / 5 + 1) })), /note is longer/);
  });
});

describe('records from other desks', () => {
  const stored = (body: Record<string, unknown>) => ({ ...validateRecord(events.spec, body), id: 'e1' });

  it('take exactly what REST would have stored', () => {
    const record = stored(anEvent({ text: '<b>Tea & cake</b>', color: '#ff0000', deleted: false, note: 'it\'s "fine"' }));
    expect(validateStoredRecord(events.spec, record)).toEqual(record);
    expect(validateStoredRecord(calendars.spec, { id: 'c1', name: 'Room &#60;A&#62;', color: 'teal' })).toMatchObject({ name: 'Room &#60;A&#62;' });
  });

  it('refuse markup, other entities, odd types, bad colours and dates, and text too long as stored', () => {
    const good = stored(anEvent());
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...good, text: '<img src=x onerror=alert(1)>' }, /form this calendar stores/],
      [{ ...good, text: 'Tom &amp; Jerry' }, /form this calendar stores/],
      [{ ...good, text: 'a'.repeat(limits.textChars + 1) }, /longer than/],
      [{ ...good, text: 42 }, /text must be text/],
      [{ ...good, color: 'red;background:url(x)' }, /CSS colour/],
      [{ ...good, color: 'expression(alert(1))' }, /CSS colour/],
      [{ ...good, start_date: '1200-01-01 00:00' }, /1900/],
      [{ ...good, deleted: 'true' }, /form this calendar stores/],
      [{ ...good, duration: '3600' }, /form this calendar stores/],
      [{ ...good, rrule: 'FREQ=SECONDLY' }, /hourly/],
      [{ ...good, nested: { a: 1 } }, /must be text, a number/],
      [{ ...good, __proto__: null, constructor: 'x' }, /not allowed/],
      [{ ...good, id: '../../etc' }, /id must be/],
      [{ ...good, _status: 'x' }, /form this calendar stores/],
    ];
    for (const [record, message] of cases) refused(() => validateStoredRecord(events.spec, record), message);
    refused(() => validateStoredRecord(events.spec, null), /JSON object/);
    refused(() => validateStoredRecord(events.spec, [good]), /JSON object/);
  });
});
