import type { Logger } from '../log.js';
import { failed, IpcArgumentError, ipcArguments, isOwnFrame, ok, type InvokeChannel, type IpcResult } from './ipc.js';

/** What Electron's IpcMainInvokeEvent tells about the caller (the part checked here). */
export interface InvokeEvent {
  sender: unknown;
  senderFrame: { url: string; parent: unknown } | null;
}

/** The part of ipcMain used here. */
export interface IpcHost {
  handle(channel: string, listener: (event: InvokeEvent, ...args: unknown[]) => Promise<unknown>): void;
}

/** Every channel the window invokes, with what it does once its arguments are checked. */
export type IpcHandlers = { [C in InvokeChannel]: (...args: ReturnType<(typeof ipcArguments)[C]>) => unknown };

/** Whether a call comes from the top frame of our window, showing our own page. */
export function fromOurPage(event: InvokeEvent, window: unknown, origin: string | null): boolean {
  const frame = event.senderFrame;
  return window !== null && window !== undefined && event.sender === window && frame !== null && frame.parent === null && isOwnFrame(frame.url, origin);
}

/**
 * Serves every channel: only to callers `trusted` accepts, with each argument checked first; an
 * answer is a value or an error in words (Electron would prefix a thrown error's message).
 */
export function serveIpc(host: IpcHost, options: { trusted(event: InvokeEvent): boolean; log: Logger; handlers: IpcHandlers }): void {
  const { log, handlers } = options;
  for (const channel of Object.keys(handlers) as InvokeChannel[]) {
    host.handle(channel, async (event, ...raw): Promise<IpcResult<unknown>> => {
      if (!options.trusted(event)) {
        log.warn(`ignored ${channel} from ${event.senderFrame?.url ?? 'a frame that is gone'}`);
        return failed('not allowed');
      }
      try {
        const args = ipcArguments[channel](raw);
        return ok(await (handlers[channel] as (...a: unknown[]) => unknown)(...args));
      } catch (err) {
        if (err instanceof IpcArgumentError) return failed(err.message);
        log.error(`${channel}: ${(err as Error).stack ?? err}`);
        return failed(`LAN Scheduler could not do that: ${(err as Error).message}`);
      }
    });
  }
}
