import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/durableFile.js';

/** What the person chose in the tray menu. */
export interface Settings {
  /** Keep the desk running (and hosting) in the tray when its window is closed. */
  keepHostingWhenClosed: boolean;
}

export const defaultSettings: Settings = { keepHostingWhenClosed: false };

/** The settings kept in DIR/settings.json; defaults for whatever is missing or unreadable. */
export async function loadSettings(dir: string): Promise<Settings> {
  try {
    const kept = JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8')) as Partial<Settings>;
    return { keepHostingWhenClosed: kept.keepHostingWhenClosed === true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
    return { ...defaultSettings };
  }
}

export async function saveSettings(dir: string, settings: Settings): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Written aside, synced and renamed, so a crash never leaves half a file that resets the choice.
  await writeFileAtomic(join(dir, 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);
}
