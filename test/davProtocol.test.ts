import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureCalendarZone } from '../main/dav/calendarSettings.js';
import { silentLogger } from '../main/log.js';
import { createTokenAuth } from '../main/server/auth.js';
import { calendarAppRoutes } from '../main/dav/calendarApps.js';
import { createLiveServer } from '../main/server/liveServer.js';
import { createLowStore } from '../main/store/lowStore.js';
import { vcalendar } from './helpers/davClients.js';
import { startTestHost, TOKEN, type TestHost } from './helpers/liveHost.js';

let host: TestHost;
beforeEach(async () => {
  host = await startTestHost();
  await ensureCalendarZone(host.store, { zone: 'Europe/Berlin' });
});
afterEach(() => host.close());

const basic = (password = TOKEN) => `Basic ${Buffer.from(`someone:${password}`).toString('base64')}`;
async function dav(method: string, path: string, body?: string, headers: Record<string, string> = {}, base = host.base) {
  const res = await fetch(base + path, { method, headers: { Authorization: basic(), ...headers }, body });
  return { status: res.status, text: await res.text(), headers: res.headers };
}
const propfind = (path: string, depth: string, props: string) =>
  dav('PROPFIND', path, `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/" xmlns:a="http://apple.com/ns/ical/"><d:prop>${props}</d:prop></d:propfind>`, { Depth: depth });
const event = (uid: string, ...lines: string[]) =>
  vcalendar('BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20260101T000000Z', 'DTSTART;TZID=Europe/Berlin:20260302T100000', 'DTEND;TZID=Europe/Berlin:20260302T110000', 'SUMMARY:Test', ...lines, 'END:VEVENT');
const put = (name: string, body: string, headers: Record<string, string> = {}) => dav('PUT', `/dav/calendars/default/${name}`, body, { 'Content-Type': 'text/calendar', ...headers });
const syncReport = (token: string, path = '/dav/calendars/default/') =>
  dav('REPORT', path, `<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`, { Depth: '0' });
const tokenIn = (xml: string) => /<d:sync-token>([^<]+)<\/d:sync-token>/.exec(xml)![1]!;

describe('WebDAV answers', () => {
  it('principal, home and collection properties, as clients ask for them', async () => {
    const room = await host.call('POST', '/calendars', { name: 'Room A', color: '#16a34a', description: 'Second floor' });
    const principal = await propfind('/dav/principal/', '0', '<c:calendar-home-set/><d:displayname/><d:current-user-principal/>');
    expect(principal.status).toBe(207);
    expect(principal.text).toContain('<cal:calendar-home-set><d:href>/dav/calendars/</d:href></cal:calendar-home-set>');

    const collection = await propfind(`/dav/calendars/${room.body.tid}/`, '0', '<d:resourcetype/><d:displayname/><c:supported-calendar-component-set/><a:calendar-color/><c:calendar-description/><d:sync-token/><cs:getctag/><x:unknown xmlns:x="urn:x"/>');
    expect(collection.text).toContain('<d:resourcetype><d:collection/><cal:calendar/></d:resourcetype>');
    expect(collection.text).toContain('<cal:comp name="VEVENT"/>');
    expect(collection.text).toContain('<ical:calendar-color>#16a34aFF</ical:calendar-color>');
    expect(collection.text).toContain('<cal:calendar-description>Second floor</cal:calendar-description>');
    expect(collection.text).toMatch(/<d:sync-token>urn:x-lan-scheduler:sync:[^<]+:\d+<\/d:sync-token>/);
    // What a collection does not have is listed under 404, as RFC 4918 asks.
    expect(collection.text).toMatch(/<d:propstat><d:prop><x0:unknown xmlns:x0="urn:x"\/><\/d:prop><d:status>HTTP\/1.1 404 Not Found<\/d:status>/);

    await put('one.ics', event('one@test'));
    const members = await propfind('/dav/calendars/default/', '1', '<d:getetag/><d:getcontenttype/>');
    expect(members.text).toContain('<d:href>/dav/calendars/default/one.ics</d:href>');
    expect(members.text).toMatch(/<d:getetag>"[A-Za-z0-9_-]+"<\/d:getetag>/);

    const options = await fetch(`${host.base}/dav/calendars/default/`, { method: 'OPTIONS' });
    expect(options.status).toBe(200);
    expect(options.headers.get('dav')).toContain('calendar-access');
  });

  it('calendar-multiget answers each href, and 404 for one that is not there', async () => {
    await put('one.ics', event('one@test'));
    const res = await dav('REPORT', '/dav/calendars/default/', `<?xml version="1.0"?><c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop><d:href>/dav/calendars/default/one.ics</d:href><d:href>/dav/calendars/default/missing.ics</d:href></c:calendar-multiget>`, { Depth: '1' });
    expect(res.status).toBe(207);
    expect(res.text).toContain('UID:one@test');
    expect(res.text).toMatch(/<d:href>\/dav\/calendars\/default\/missing.ics<\/d:href><d:status>HTTP\/1.1 404 Not Found<\/d:status>/);
  });
});

describe('what is not understood is refused and changes nothing', () => {
  it('answers each kind of bad request with its 4xx, leaving the store as it was', async () => {
    await put('taken.ics', event('taken@test'));
    const revision = host.store.revision();
    const cases: [Promise<{ status: number; text: string }>, number, RegExp][] = [
      [put('garbage.ics', 'this is not iCalendar'), 400, /not iCalendar/],
      [put('todo.ics', vcalendar('BEGIN:VTODO', 'UID:todo@test', 'SUMMARY:Chairs', 'END:VTODO')), 403, /supported-calendar-component/],
      [put('fast.ics', event('fast@test', 'RRULE:FREQ=MINUTELY')), 403, /hourly, daily, weekly, monthly or yearly/],
      [put('zone.ics', vcalendar('BEGIN:VEVENT', 'UID:zone@test', 'DTSTART;TZID=Mars/Olympus:20260302T100000', 'SUMMARY:x', 'END:VEVENT')), 403, /Mars\/Olympus/],
      [put('two.ics', vcalendar('BEGIN:VEVENT', 'UID:a@test', 'DTSTART:20260302T100000Z', 'END:VEVENT', 'BEGIN:VEVENT', 'UID:b@test', 'DTSTART:20260302T100000Z', 'END:VEVENT')), 403, /one UID/],
      [put('clash.ics', event('taken@test')), 403, /no-uid-conflict/],
      [put('old.ics', event('old@test').replace('20260302T100000', '18000302T100000')), 403, /start_date/],
      [put('huge.ics', 'X'.repeat(1024 * 1024 + 10)), 413, /max-resource-size/],
      [dav('PUT', '/dav/calendars/nope/x.ics', event('x@test'), { 'Content-Type': 'text/calendar' }), 409, /no such calendar/],
      [dav('MKCALENDAR', '/dav/calendars/new/'), 403, /added in the LAN Scheduler page/],
      [dav('PROPFIND', '/dav/calendars/', '<d:propfind xmlns:d="DAV:"><d:prop>', { Depth: '0' }), 400, /not XML/],
      [dav('REPORT', '/dav/calendars/default/', '<d:expand-property xmlns:d="DAV:"/>'), 403, /supported-report/],
      [dav('REPORT', '/dav/calendars/default/', '<c:calendar-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VTODO"><c:time-range start="20260101T000000Z"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>'), 403, /supported-filter/],
      [dav('REPORT', '/dav/calendars/default/', '<c:calendar-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:filter><c:comp-filter name="VCALENDAR"><c:prop-filter name="SUMMARY"><c:text-match collation="i;unicode-casemap">x</c:text-match></c:prop-filter></c:comp-filter></c:filter></c:calendar-query>'), 403, /supported-collation/],
      [dav('GET', '/dav/elsewhere'), 404, /nothing here/],
    ];
    for (const [request, status, body] of cases) {
      const res = await request;
      expect([res.status, res.text], res.text).toEqual([status, expect.stringMatching(body)]);
    }
    expect(host.store.revision()).toBe(revision);
  });

  it('sync tokens: one from another store, a made-up one, and one older than the change log are the valid-sync-token error', async () => {
    const other = await startTestHost();
    try {
      const foreign = tokenIn((await dav('REPORT', '/dav/calendars/default/', '<d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:prop><d:getetag/></d:prop></d:sync-collection>', {}, other.base)).text);
      for (const token of [foreign, 'urn:x-lan-scheduler:sync:nonsense', 'http://example.com/sync/1']) {
        const res = await syncReport(token);
        expect([res.status, res.text]).toEqual([403, expect.stringContaining('<d:valid-sync-token/>')]);
      }
    } finally {
      await other.close();
    }

    const dir = await mkdtemp(join(tmpdir(), 'lansched-dav-'));
    const store = await createLowStore({ dir, log: silentLogger, changeLogLimit: 3 });
    const auth = createTokenAuth(TOKEN);
    const server = createLiveServer({ store, auth, log: silentLogger, routes: (onChanges) => [calendarAppRoutes({ store, auth, log: silentLogger, onChanges })] });
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const base = `http://127.0.0.1:${port}`;
      const first = await dav('REPORT', '/dav/calendars/default/', '<d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:prop><d:getetag/></d:prop></d:sync-collection>', {}, base);
      // The log is trimmed in steps (past twice its limit): a dozen writes leave the first token behind.
      for (let i = 0; i < 12; i++) await dav('PUT', `/dav/calendars/default/e${i}.ics`, event(`e${i}@test`), {}, base);
      const res = await dav('REPORT', '/dav/calendars/default/', `<d:sync-collection xmlns:d="DAV:"><d:sync-token>${tokenIn(first.text)}</d:sync-token><d:prop><d:getetag/></d:prop></d:sync-collection>`, {}, base);
      expect([res.status, res.text]).toEqual([403, expect.stringContaining('<d:valid-sync-token/>')]);
    } finally {
      await server.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a sync after more changes than one page of the change log still reports every one', async () => {
    const first = await syncReport('');
    const records = Array.from({ length: 1500 }, (_, i) => ({ entity: 'events', op: 'add' as const, record: { id: `bulk-${i}`, text: `Bulk ${i}`, start_date: '2026-03-02 10:00', end_date: '2026-03-02 11:00' } }));
    await host.store.commit(records);
    const res = await syncReport(tokenIn(first.text));
    expect(res.status).toBe(207);
    expect(res.text.match(/<d:response>/g)).toHaveLength(1500);
    expect(tokenIn(res.text)).toMatch(new RegExp(`:${host.store.revision()}$`));
  });
});

describe('sync-collection follows events between calendars', () => {
  it('an event moved to another calendar in the page leaves one collection and joins the other', async () => {
    const room = await host.call('POST', '/calendars', { name: 'Room A', color: '#16a34a' });
    const e = await host.call('POST', '/events', { text: 'Moves', start_date: '2026-03-02 10:00', end_date: '2026-03-02 11:00' });
    const defaultToken = tokenIn((await syncReport('')).text);
    const roomToken = tokenIn((await syncReport('', `/dav/calendars/${room.body.tid}/`)).text);
    await host.call('PUT', `/events/${e.body.tid}`, { text: 'Moves', start_date: '2026-03-02 10:00', end_date: '2026-03-02 11:00', calendar_id: room.body.tid });
    const left = await syncReport(defaultToken);
    expect(left.text).toMatch(new RegExp(`<d:href>/dav/calendars/default/${e.body.tid}.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status>`));
    const joined = await syncReport(roomToken, `/dav/calendars/${room.body.tid}/`);
    expect(joined.text).toContain(`<d:href>/dav/calendars/${room.body.tid}/${e.body.tid}.ics</d:href><d:propstat>`);
  });
});
