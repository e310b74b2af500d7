import { callControl } from './control.js';

/** A one-off command for the host or desk that runs on a data folder. */
export type Command = { kind: 'change-key' };

/** Runs `command` against the host running on `dataDir`, prints what it answered, and exits. */
export async function runCommand(command: Command, dataDir: string): Promise<void> {
  switch (command.kind) {
    case 'change-key': {
      const answer = await callControl(dataDir, 'change-key');
      if (!answer) {
        console.error(`no desk is running on ${dataDir}: start it (npm run host -- --advertise --data-dir ${dataDir}), then change the key`);
        process.exit(1);
      }
      const { deskInvite, browserLink } = answer.result as { deskInvite: string; browserLink: string };
      console.log('The calendar has a new key. Every earlier invite is refused from now on, for desks and browsers alike.');
      console.log(`invite for desks: ${deskInvite}`);
      console.log(`invite for browsers: ${browserLink}`);
      return;
    }
  }
}
