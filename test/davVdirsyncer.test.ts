import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureCalendarZone } from '../main/dav/calendarSettings.js';
import { vcalendar } from './helpers/davClients.js';
import { startTestHost, TOKEN, type TestHost } from './helpers/liveHost.js';

const VDIRSYNCER = '/usr/bin/vdirsyncer';
const missing = existsSync(VDIRSYNCER) ? null : 'the vdirsyncer test needs Debian package vdirsyncer: apt-get install vdirsyncer';
if (missing) console.warn(`skipping: ${missing}`);
const run = promisify(execFile);
const env = { ...process.env, NO_PROXY: '*', no_proxy: '*', HTTP_PROXY: '', HTTPS_PROXY: '', http_proxy: '', https_proxy: '' };

let host: TestHost;
let dir: string;
let local: string;
beforeEach(async () => {
  host = await startTestHost();
  await ensureCalendarZone(host.store, { zone: 'Europe/Berlin' });
  dir = await mkdtemp(join(tmpdir(), 'lansched-vdirsyncer-'));
  local = join(dir, 'local');
  await mkdir(local);
  await writeFile(
    join(dir, 'config'),
    [
      '[general]',
      `status_path = "${join(dir, 'status')}/"`,
      '',
      '[pair office]',
      'a = "office_local"',
      'b = "office_remote"',
      'collections = null',
      '',
      '[storage office_local]',
      'type = "filesystem"',
      `path = "${local}/"`,
      'fileext = ".ics"',
      '',
      '[storage office_remote]',
      'type = "caldav"',
      `url = "${host.base}/dav/calendars/default/"`,
      'username = "desk"',
      `password = "${TOKEN}"`,
      '',
    ].join('\n'),
  );
});
afterEach(async () => {
  await host.close();
  await rm(dir, { recursive: true, force: true });
});

async function vdirsyncer(...args: string[]) {
  try {
    return await run(VDIRSYNCER, ['-c', join(dir, 'config'), ...args], { env, timeout: 60_000 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`vdirsyncer ${args.join(' ')} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

const localFiles = async () => {
  const out = new Map<string, string>();
  for (const name of await readdir(local)) out.set(name, await readFile(join(local, name), 'utf8'));
  return out;
};
const events = () => host.store.list('events');

describe.skipIf(!!missing)('a vdirsyncer round trip', () => {
  it('brings the calendar down, takes local edits, additions and deletions up, and brings page edits down again', async () => {
    const plain = await host.call('POST', '/events', { text: 'Budget review', start_date: '2026-03-03 14:00', end_date: '2026-03-03 15:00' });
    const weekly = await host.call('POST', '/events', { text: 'Standup', start_date: '2026-03-16 09:00', end_date: '9999-02-01 00:00', rrule: 'FREQ=WEEKLY;BYDAY=MO', duration: 900 });
    await host.call('POST', '/events', { text: 'Standup', start_date: '2026-03-30 09:00', end_date: '2026-03-30 09:15', recurring_event_id: weekly.body.tid, original_start: '2026-03-30 09:00', deleted: true });

    await vdirsyncer('discover', 'office');
    await vdirsyncer('sync');
    let files = await localFiles();
    expect([...files.keys()].sort()).toEqual([`${plain.body.tid}.ics`, `${weekly.body.tid}.ics`].sort());
    const standupFile = files.get(`${weekly.body.tid}.ics`)!;
    expect(standupFile).toContain('RRULE:FREQ=WEEKLY;BYDAY=MO');
    expect(standupFile).toContain('EXDATE;TZID=Europe/Berlin:20260330T090000');
    expect(standupFile).toContain('BEGIN:VTIMEZONE');

    // Local side: rename one event, add one, and upload both.
    const budgetFile = join(local, `${plain.body.tid}.ics`);
    await writeFile(budgetFile, files.get(`${plain.body.tid}.ics`)!.replace('SUMMARY:Budget review', 'SUMMARY:Budget review (moved to room 4)'));
    await writeFile(
      join(local, 'from-laptop@test.ics'),
      vcalendar('BEGIN:VEVENT', 'UID:from-laptop@test', 'DTSTAMP:20260301T000000Z', 'DTSTART;TZID=Europe/Berlin:20260305T083000', 'DTEND;TZID=Europe/Berlin:20260305T090000', 'SUMMARY:Written offline', 'END:VEVENT'),
    );
    await vdirsyncer('sync');
    expect(host.store.get('events', plain.body.tid)!.text).toBe('Budget review (moved to room 4)');
    expect(events().find((e) => e.ical_uid === 'from-laptop@test')).toMatchObject({ text: 'Written offline', start_date: '2026-03-05 08:30', end_date: '2026-03-05 09:00' });
    // The series and its deleted occurrence were not touched by the round trip.
    expect(events().filter((e) => e.recurring_event_id === weekly.body.tid)).toHaveLength(1);
    // A PUT is answered without an ETag (the server stores its reading of the text, RFC 4791 5.3.4),
    // so the next sync downloads what the server made of the two uploads.
    await vdirsyncer('sync');
    expect((await localFiles()).get('from-laptop@test.ics')).toContain('PRODID:-//LAN Scheduler');

    // Page side: an edit comes down; a local delete goes up.
    await host.call('PUT', `/events/${weekly.body.tid}`, { text: 'Standup (new room)', start_date: '2026-03-16 09:00', end_date: '9999-02-01 00:00', rrule: 'FREQ=WEEKLY;BYDAY=MO', duration: 900 });
    await unlink(budgetFile);
    await vdirsyncer('sync');
    files = await localFiles();
    expect(files.get(`${weekly.body.tid}.ics`)).toContain('SUMMARY:Standup (new room)');
    expect(host.store.get('events', plain.body.tid)).toBeUndefined();
    expect([...files.keys()]).not.toContain(`${plain.body.tid}.ics`);

    // A second sync with nothing changed changes nothing on either side.
    const revision = host.store.revision();
    const before = await localFiles();
    await vdirsyncer('sync');
    expect(host.store.revision()).toBe(revision);
    expect(await localFiles()).toEqual(before);
  });
});
