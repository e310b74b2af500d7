import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeskLog, diagnostics, redact } from '../main/desktop/logs.js';
import type { DesktopState } from '../main/desktop/ipc.js';
import { formatDeskInvite, inviteText } from '../main/trust/invite.js';
import { calendarSecrets, newCalendarId, newJoinKey } from '../main/trust/keys.js';

// The desktop's log file and its diagnostics: rotated, and never holding a key or a token.

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lansched-logs-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const calendar = { id: newCalendarId(), name: 'Office', joinKey: newJoinKey(), keyGen: 0 };
const token = calendarSecrets(calendar.joinKey).browserToken;
const invite = inviteText({
  calendarName: calendar.name,
  deskInvite: formatDeskInvite({ calendar, desks: [{ deskId: 'abcdefghijklmnopqrstuvwxyz234567', addresses: ['192.168.1.20'], deskPort: 3211 }] }),
  browserLink: `https://192.168.1.20:3210/#token=${token}`,
  fingerprint: 'AB:CD',
});

describe('desk log', () => {
  it('moves a full file aside and keeps two older ones', async () => {
    const log = createDeskLog({ dir: join(dir, 'logs'), maxBytes: 400, keep: 2 });
    for (let i = 0; i < 40; i++) log.logger.info(`line ${i} ${'x'.repeat(40)}`);
    expect((await readdir(join(dir, 'logs'))).sort()).toEqual(['desktop.log', 'desktop.log.1', 'desktop.log.2']);
    const newest = await readFile(log.file, 'utf8');
    expect(newest).toMatch(/ info line 39 x+\n$/);
    expect(newest.length).toBeLessThanOrEqual(400);
    const older = await readFile(`${log.file}.1`, 'utf8');
    expect(older).not.toContain('line 39 ');
  });

  it('writes neither the key nor the token, in a line or in the diagnostics, even when an error quotes them', async () => {
    const secrets = () => [calendar.joinKey, token];
    const log = createDeskLog({ dir, secrets });
    log.logger.error(`joining with ${calendar.joinKey} failed`);
    log.logger.warn(`a colleague pasted:\n${invite}`);
    log.logger.error(`GET /events Remote-Token: ${token} answered 500`);
    // Unknown to the log (an old key): still hidden by its shape.
    const oldKey = newJoinKey();
    log.logger.error(`the old key ${oldKey} was refused`);
    const state: DesktopState = {
      calendar: { id: calendar.id, name: 'Office' },
      status: 'hosting',
      host: null,
      desks: [{ deskId: 'abcdefghijklmnopqrstuvwxyz234567', name: 'alice', role: 'host', self: true }],
      found: [],
      notices: [],
    };
    const text = diagnostics({
      version: '0.1.0',
      versions: { electron: '45.5.0', node: process.versions.node },
      platform: 'linux x64',
      state,
      dataDir: dir,
      logFile: log.file,
      recent: log.recent(),
      secrets: secrets(),
    });
    const file = await readFile(log.file, 'utf8');
    for (const written of [file, text]) {
      expect(written).not.toContain(calendar.joinKey);
      expect(written).not.toContain(token);
      expect(written).not.toContain(oldKey);
      expect(written).not.toMatch(/lansched:\/\/join\?[^[]/);
    }
    expect(text).toContain('role: hosting');
    expect(text).toContain('alice (this desk): host, abcdefgh');
    expect(text).toContain(`calendar: Office (${calendar.id.slice(0, 8)})`);
    expect(text).toMatch(/error joining with \[hidden\] failed/);
    // A calendar id is lowercase hex, not a secret: it stays readable.
    expect(redact(`calendar ${calendar.id}`)).toBe(`calendar ${calendar.id}`);
  });

  it('keeps logging to the console when the file cannot be written', async () => {
    const echoed: string[] = [];
    const echo = { info: (m: string) => echoed.push(m), warn: (m: string) => echoed.push(m), error: (m: string) => echoed.push(m) };
    // The folder would have to be inside a file: ENOTDIR.
    await writeFile(join(dir, 'a-file'), '');
    const log = createDeskLog({ dir: join(dir, 'a-file', 'logs'), echo });
    log.logger.error('first');
    log.logger.info('second');
    expect(echoed[0]).toBe('first');
    expect(echoed[1]).toMatch(/cannot be written/);
    expect(echoed.at(-1)).toBe('second');
  });
});
