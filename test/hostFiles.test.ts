import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DamagedDeskFile, loadDesk, saveDesk } from '../main/hostFiles.js';
import { newCalendarId, newJoinKey } from '../main/trust/keys.js';

// desk.json holds the calendar and its key: a torn or damaged one must never look like a fresh
// start (which would make a new calendar and orphan the old one).
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lansched-deskfile-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const calendar = () => ({ id: newCalendarId(), name: 'Office', joinKey: newJoinKey(), keyGen: 0 });

describe('desk.json', () => {
  it('is written whole, for this user only, and read back', async () => {
    const c = calendar();
    await saveDesk(dir, { version: 2, calendar: c });
    expect((await stat(join(dir, 'desk.json'))).mode & 0o077).toBe(0);
    expect(await loadDesk(dir)).toEqual({ version: 2, calendar: c, upgraded: false });
    expect(await loadDesk(join(dir, 'none'))).toEqual({ version: 2, calendar: null, upgraded: false });
  });

  it('survives a write torn by a crash: the half-written file is a temp file beside the whole one', async () => {
    const c = calendar();
    await saveDesk(dir, { version: 2, calendar: c });
    // What a crash during the next save leaves: a torn temp file (the rename never happened).
    await writeFile(join(dir, 'desk.json.tmp-1234'), '{"version":2,"calendar":{"id":"ab');
    expect((await loadDesk(dir)).calendar).toEqual(c);
  });

  it('stops the desk with a message naming the file when the file itself is torn or not a desk file', async () => {
    await writeFile(join(dir, 'desk.json'), '{"version":2,"calendar":{"id":"ab12');
    await expect(loadDesk(dir)).rejects.toThrow(DamagedDeskFile);
    await expect(loadDesk(dir)).rejects.toThrow(`${join(dir, 'desk.json')} is damaged`);
    await writeFile(join(dir, 'desk.json'), '{"something":"else"}');
    await expect(loadDesk(dir)).rejects.toThrow(/not a desk file this version understands/);
    expect(await readFile(join(dir, 'desk.json'), 'utf8')).toBe('{"something":"else"}'); // left as it was
  });
});
