import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostProcesses, request, requireBuiltCli, stop, within } from './helpers/hostProcess.js';

// The one-off commands of `npm run host`, against a host running on a data folder (or the folder).
const hosts = hostProcesses('lansched-cmd-');
const TOKEN = 'commands-token-0123';
const EVENT = (text: string) => ({ text, start_date: '2026-03-02 10:00', end_date: '2026-03-02 10:15' });
const GOOGLE = join(import.meta.dirname, 'fixtures', 'ics', 'google.ics');

beforeAll(requireBuiltCli);
afterEach(hosts.killLeftovers);
afterAll(hosts.cleanup);

const command = async (args: string[]) => {
  const run = hosts.run(args);
  const exit = await within(run.closed, 30_000, `npm run host -- ${args.join(' ')}`);
  return { exit: exit.code, out: run.stdout(), err: run.stderr() };
};
const start = (dir: string) => hosts.start(['--port', '0', '--bind', '127.0.0.1', '--data-dir', dir, '--token', TOKEN]);
const texts = async (base: string) => ((await request(base, 'GET', '/events', TOKEN)).json as { text: string }[]).map((e) => e.text).sort();

describe('backup and restore', () => {
  it('backs up a running host, restores into an empty folder, and refuses a folder in use', async () => {
    const dir = await hosts.tempDir();
    const host = await start(dir);
    for (const text of ['one', 'two', 'three']) await request(host.base, 'POST', '/events', TOKEN, EVENT(text));
    const file = join(await hosts.tempDir(), 'office.backup');
    const backup = await command(['--backup', file, '--data-dir', dir]);
    expect(backup).toMatchObject({ exit: 0 });
    // Three events and the calendar's settings (its time zone).
    expect(backup.out).toMatch(/backed up 4 records and deletions, up to revision 4/);
    await request(host.base, 'POST', '/events', TOKEN, EVENT('after the backup'));
    expect((await stop(host)).code).toBe(0);

    const fresh = join(await hosts.tempDir(), 'restored');
    const restore = await command(['--restore', file, '--data-dir', fresh]);
    expect(restore).toMatchObject({ exit: 0 });
    expect(restore.out).toContain(`restored 4 records and deletions, up to revision 4 into ${fresh}`);
    const back = await start(fresh);
    expect(await texts(back.base)).toEqual(['one', 'three', 'two']);
    await stop(back);
    const refused = await command(['--restore', file, '--data-dir', fresh]);
    expect(refused.exit).toBe(1);
    expect(refused.err).toMatch(/error: /);
  });

  it('backs up a folder whose host is not running, and says what is not a backup', async () => {
    const dir = await hosts.tempDir();
    const host = await start(dir);
    await request(host.base, 'POST', '/events', TOKEN, EVENT('kept'));
    await stop(host);
    const file = join(await hosts.tempDir(), 'stopped.backup');
    expect((await command(['--backup', file, '--data-dir', dir])).out).toMatch(/backed up 2 records and deletions/);
    const junk = join(await hosts.tempDir(), 'junk.backup');
    await writeFile(junk, 'not a backup\n');
    const refused = await command(['--restore', junk, '--data-dir', join(await hosts.tempDir(), 'x')]);
    expect(refused.exit).toBe(1);
    expect(refused.err).toMatch(/not a LAN Scheduler backup|backup/i);
  });
});

describe('import', () => {
  it('imports an .ics file into the running host, once: the same file again adds nothing', async () => {
    const dir = await hosts.tempDir();
    const host = await start(dir);
    const first = await command(['--import', GOOGLE, '--data-dir', dir]);
    expect(first, first.err).toMatchObject({ exit: 0 });
    expect(first.out).toMatch(/imported/);
    const after = (await request(host.base, 'GET', '/events', TOKEN)).json as unknown[];
    expect(after.length).toBeGreaterThan(0);
    const again = await command(['--import', GOOGLE, '--data-dir', dir]);
    expect(again.exit).toBe(0);
    expect(((await request(host.base, 'GET', '/events', TOKEN)).json as unknown[]).length).toBe(after.length);
  });

  it('says so when no host runs on the folder, and refuses two commands at once', async () => {
    const dir = await hosts.tempDir();
    const none = await command(['--import', GOOGLE, '--data-dir', dir]);
    expect(none.exit).toBe(1);
    expect(none.err).toMatch(/no host or desk is running/);
    const keyless = await command(['--change-key', '--data-dir', dir]);
    expect(keyless.exit).toBe(1);
    const both = await command(['--backup', 'x', '--import', 'y', '--data-dir', dir]);
    expect(both.exit).toBe(2);
    expect(both.err).toContain('one of --change-key, --backup, --restore and --import at a time');
  });
});

describe('the feed address in the ready output', () => {
  it('prints a read-only .ics address that serves the calendar', async () => {
    const dir = await hosts.tempDir();
    const host = await start(dir);
    await request(host.base, 'POST', '/events', TOKEN, EVENT('Stand-up'));
    const feed = /calendar feed \(read-only, for Outlook, Apple Calendar, Thunderbird\): (\S+\.ics)/.exec(host.stdout())?.[1];
    expect(feed).toMatch(new RegExp(`^${host.base}/feed/\\S+/all\\.ics$`));
    const res = await request(feed!, 'GET', '');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/calendar/);
    expect(res.text).toContain('SUMMARY:Stand-up');
  });
});
