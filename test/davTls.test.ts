import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCalendarZone } from '../main/dav/calendarSettings.js';
import { silentLogger } from '../main/log.js';
import { loadOrCreateDeskCertificate, type DeskCertificate } from '../main/trust/certificate.js';
import { davClient, davClientsMissing, vcalendar } from './helpers/davClients.js';
import { startTestHost, TOKEN, type TestHost } from './helpers/liveHost.js';

// CalDAV over the desk's own HTTPS, with clients that accept its self-signed certificate the way
// the README tells people to: by trusting the certificate file, or by its SHA-256 fingerprint.
const missing = davClientsMissing() ?? (existsSync('/usr/bin/vdirsyncer') ? null : 'vdirsyncer is not installed: apt-get install vdirsyncer');
if (missing) console.warn(`skipping: ${missing}`);
const run = promisify(execFile);

let dir: string;
let desk: DeskCertificate;
let host: TestHost;
let https: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lansched-davtls-'));
  desk = await loadOrCreateDeskCertificate(join(dir, 'desk'), silentLogger);
  await writeFile(join(dir, 'desk-cert.pem'), desk.cert);
  host = await startTestHost({ tls: { cert: desk.cert, key: desk.key } });
  await ensureCalendarZone(host.store, { zone: 'Europe/Berlin' });
  https = `https://127.0.0.1:${host.port}`;
});
afterAll(async () => {
  await host?.close();
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!!missing)('CalDAV over the desk\'s HTTPS', () => {
  it('python3-caldav refuses the unknown certificate, and works once it is trusted', async () => {
    await expect(davClient('discover', `${https}/`, TOKEN)).rejects.toThrow(/certificate verify failed|SSLError/i);
    const found = await davClient('discover', `${https}/`, TOKEN, {}, { verify: join(dir, 'desk-cert.pem') });
    expect(found.calendars.map((c: any) => c.url)).toEqual([`${https}/dav/calendars/default/`]);
    const { url } = await davClient('put', `${https}/`, TOKEN, { calendar: 'Office calendar (no calendar)', ics: vcalendar('BEGIN:VEVENT', 'UID:tls@test', 'DTSTAMP:20260101T000000Z', 'DTSTART;TZID=Europe/Berlin:20260302T100000', 'DTEND;TZID=Europe/Berlin:20260302T110000', 'SUMMARY:Over TLS', 'END:VEVENT') }, { verify: join(dir, 'desk-cert.pem') });
    expect(url).toBe(`${https}/dav/calendars/default/tls%40test.ics`);
    expect(host.store.list('events').map((e) => e.text)).toContain('Over TLS');
  });

  it('vdirsyncer syncs when told the certificate\'s SHA-256 fingerprint, and refuses a wrong one', async () => {
    const local = join(dir, 'local');
    await mkdir(local, { recursive: true });
    const config = (fingerprint: string) =>
      ['[general]', `status_path = "${join(dir, 'status')}/"`, '[pair office]', 'a = "local"', 'b = "remote"', 'collections = null',
        '[storage local]', 'type = "filesystem"', `path = "${local}/"`, 'fileext = ".ics"',
        '[storage remote]', 'type = "caldav"', `url = "${https}/dav/calendars/default/"`, 'username = "desk"', `password = "${TOKEN}"`, `verify_fingerprint = "${fingerprint}"`, ''].join('\n');
    const env = { ...process.env, NO_PROXY: '*', no_proxy: '*' };
    const vdirsyncer = async (fingerprint: string) => {
      await writeFile(join(dir, 'config'), config(fingerprint));
      await run('/usr/bin/vdirsyncer', ['-c', join(dir, 'config'), 'discover', 'office'], { env, timeout: 60_000 });
      return run('/usr/bin/vdirsyncer', ['-c', join(dir, 'config'), 'sync'], { env, timeout: 60_000 });
    };
    const wrong = desk.fingerprint.replace(/^../, desk.fingerprint.startsWith('00') ? '11' : '00');
    // aiohttp's fingerprint mismatch: vdirsyncer reports it as the two digests, and syncs nothing.
    await expect(vdirsyncer(wrong)).rejects.toThrow(/error/);
    expect(await readdir(local)).toEqual([]);
    await vdirsyncer(desk.fingerprint);
    expect((await readdir(local)).length).toBe(host.store.list('events').filter((e) => !e.recurring_event_id).length);
  });
});
