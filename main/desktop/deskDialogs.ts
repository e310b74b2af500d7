// The two menu items that ask the person something (Change key…, Export backup…), without
// Electron: the composition root hands in its dialog and clipboard.
import { join } from 'node:path';
import { writeBackup } from '../store/backup.js';
import type { Desktop } from './desktop.js';

/** The parts of Electron's `dialog` these conversations use. */
export interface Dialogs {
  showMessageBox(options: {
    type: 'warning' | 'info';
    message: string;
    detail?: string;
    buttons?: string[];
    defaultId?: number;
    cancelId?: number;
  }): Promise<{ response: number }>;
  showSaveDialog(options: { title: string; defaultPath: string }): Promise<{ canceled: boolean; filePath?: string }>;
  showErrorBox(title: string, content: string): void;
}

export interface DeskDialogsOptions {
  desktop: Pick<Desktop, 'changeKey' | 'invite' | 'calendarStore'>;
  dialog: Dialogs;
  clipboard: { writeText(text: string): void };
  /** The folder a backup is offered in first (the person's documents), asked when it is needed. */
  documentsDir(): string;
}

/** Change key… and Export backup…: each asks, acts, and says in a dialog what came of it. */
export function createDeskDialogs(options: DeskDialogsOptions) {
  const { desktop, dialog, clipboard } = options;
  return {
    /** Removes a person: a new key for every desk connected now, after the person confirms. */
    async changeKey(): Promise<void> {
      const { response } = await dialog.showMessageBox({
        type: 'warning',
        buttons: ['Change key', 'Cancel'],
        defaultId: 1,
        cancelId: 1,
        message: 'Make a new key for this calendar?',
        detail:
          'Every desk connected now gets the new key. Every earlier invite stops working, for desks and browsers alike: use this when someone should no longer have the calendar. Desks that are off now, and browsers, need a new invite.',
      });
      if (response !== 0) return;
      try {
        await desktop.changeKey();
        clipboard.writeText(desktop.invite());
        await dialog.showMessageBox({ type: 'info', message: 'The calendar has a new key.', detail: 'The new invite is on the clipboard: send it to colleagues whose desks were off, and to people who use a browser.' });
      } catch (err) {
        dialog.showErrorBox('The key was not changed', (err as Error).message);
      }
    },

    /** One file with every record and deletion, consistent while colleagues go on writing (restore: README, "Your data"). */
    async exportBackup(): Promise<void> {
      const calendar = desktop.calendarStore();
      if (!calendar) return;
      const day = new Date().toISOString().slice(0, 10);
      const { canceled, filePath } = await dialog.showSaveDialog({ title: 'Export backup', defaultPath: join(options.documentsDir(), `lan-scheduler-${day}.backup`) });
      if (canceled || !filePath) return;
      try {
        const info = await writeBackup(calendar.store, filePath);
        await dialog.showMessageBox({ type: 'info', message: 'The backup is saved.', detail: `${info.records.toLocaleString()} records and deletions in ${filePath}. A new calendar folder is started from it with the host's --restore (README, “Your data”).` });
      } catch (err) {
        dialog.showErrorBox('The backup was not saved', (err as Error).message);
      }
    },
  };
}

export type DeskDialogs = ReturnType<typeof createDeskDialogs>;
