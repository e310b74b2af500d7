import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings, saveSettings } from '../main/desktop/settings.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lansched-settings-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('desktop settings', () => {
  it('keeps the choice to keep hosting, and falls back to the default on a missing or broken file', async () => {
    expect(await loadSettings(dir)).toEqual({ keepHostingWhenClosed: false });
    await saveSettings(join(dir, 'nested'), { keepHostingWhenClosed: true });
    expect(await loadSettings(join(dir, 'nested'))).toEqual({ keepHostingWhenClosed: true });
    await writeFile(join(dir, 'settings.json'), '{"keepHostingWhen');
    expect(await loadSettings(dir)).toEqual({ keepHostingWhenClosed: false });
    await writeFile(join(dir, 'settings.json'), '{"keepHostingWhenClosed":"yes"}');
    expect(await loadSettings(dir)).toEqual({ keepHostingWhenClosed: false });
  });
});
