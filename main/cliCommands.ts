import { resolve } from 'node:path';
import { callControl, type ControlCommands } from './control.js';
import { importFile, importLines } from './dav/importCommand.js';
import type { ImportOutcome } from './dav/importIcs.js';
import { backupDataDir, BackupError, restoreBackup, writeBackup, type BackupInfo } from './store/backup.js';
import type { Store } from './store/types.js';

/** A one-off command for the host or desk that runs on a data folder (or for the folder itself). */
export type Command =
  | { kind: 'change-key' }
  | { kind: 'backup'; file: string }
  | { kind: 'restore'; file: string }
  | { kind: 'import'; file: string; into?: string };

const done = (info: BackupInfo) => `${info.records.toLocaleString('en')} records and deletions, up to revision ${info.revision}`;

/**
 * The control commands every host and desk answers (see control.ts): a consistent backup while it
 * runs, and an import through its own import endpoint (so the events are announced like any write).
 */
export function hostCommands(host: { store(): Store; port(): number; token(): string }): ControlCommands {
  return {
    async backup(body) {
      if (typeof body.file !== 'string' || !body.file) throw new Error('backup needs a file');
      return writeBackup(host.store(), body.file);
    },
    async import(body) {
      if (typeof body.file !== 'string' || !body.file) throw new Error('import needs a file');
      const into = typeof body.into === 'string' ? body.into : undefined;
      return importFile({ baseUrl: `http://127.0.0.1:${host.port()}`, token: host.token(), file: body.file, into });
    },
  };
}

/** Runs `command` against the host running on `dataDir` (or on the folder, where that is safe), prints what happened. */
export async function runCommand(command: Command, dataDir: string): Promise<void> {
  const notRunning = () => {
    console.error(`no host or desk is running on ${dataDir}: start it first (npm run host -- --data-dir ${dataDir})`);
    process.exit(1);
  };
  try {
    switch (command.kind) {
      case 'change-key': {
        const answer = await callControl(dataDir, 'change-key');
        if (!answer) return notRunning();
        const { deskInvite, browserLink } = answer.result as { deskInvite: string; browserLink: string };
        console.log('The calendar has a new key. Every earlier invite is refused from now on, for desks and browsers alike.');
        console.log(`invite for desks: ${deskInvite}`);
        console.log(`invite for browsers: ${browserLink}`);
        return;
      }
      case 'backup': {
        const file = resolve(command.file);
        // A running host writes a consistent copy itself; a stopped folder is read as it lies.
        const answer = await callControl(dataDir, 'backup', { file });
        const info = answer ? (answer.result as BackupInfo) : await backupDataDir(dataDir, file);
        console.log(`backed up ${done(info)} to ${file}`);
        return;
      }
      case 'restore': {
        const info = await restoreBackup(resolve(command.file), dataDir);
        console.log(`restored ${done(info)} into ${dataDir}; start the host on it now`);
        return;
      }
      case 'import': {
        const answer = await callControl(dataDir, 'import', { file: resolve(command.file), into: command.into });
        if (!answer) return notRunning();
        for (const line of importLines(answer.result as ImportOutcome)) console.log(line);
        return;
      }
    }
  } catch (err) {
    if (err instanceof BackupError || (err as NodeJS.ErrnoException).code === 'ENOENT') {
      console.error(`error: ${(err as Error).message}`);
      process.exit(1);
    }
    throw err;
  }
}
