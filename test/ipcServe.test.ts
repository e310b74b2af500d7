import { describe, expect, it } from 'vitest';
import { Channel, type InvokeChannel } from '../main/desktop/ipc.js';
import { fromOurPage, serveIpc, type IpcHandlers, type InvokeEvent } from '../main/desktop/ipcServe.js';
import type { Logger } from '../main/log.js';

// The main process's side of IPC without Electron: who may call, and what a caller gets back.

const ORIGIN = 'http://127.0.0.1:3210';
const webContents = { id: 1 };
const ours: InvokeEvent = { sender: webContents, senderFrame: { url: `${ORIGIN}/`, parent: null } };

function served(handlers: Partial<IpcHandlers> = {}) {
  const listeners = new Map<string, (event: InvokeEvent, ...args: unknown[]) => Promise<unknown>>();
  const lines: string[] = [];
  const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  const none = () => undefined;
  const all = Object.fromEntries(Object.values(Channel).filter((c) => c !== Channel.stateChanged && c !== Channel.openEvent).map((c) => [c, none])) as unknown as IpcHandlers;
  serveIpc({ handle: (channel, listener) => void listeners.set(channel, listener) }, { trusted: (e) => fromOurPage(e, webContents, ORIGIN), log, handlers: { ...all, ...handlers } });
  const call = (channel: InvokeChannel, event: InvokeEvent, ...args: unknown[]) => listeners.get(channel)!(event, ...args);
  return { call, lines, channels: [...listeners.keys()] };
}

describe('serving IPC', () => {
  it('answers our page’s top frame, with checked arguments', async () => {
    const s = served({ [Channel.setReminder]: (id, choice) => `${id}:${choice}` });
    expect(s.channels).toHaveLength(Object.values(Channel).length - 2);
    expect(await s.call(Channel.setReminder, ours, 'e1', 10)).toEqual({ ok: true, value: 'e1:10' });
    expect(await s.call(Channel.setReminder, ours, 'e1', 7)).toMatchObject({ ok: false, error: expect.stringMatching(/^a reminder is one of/) });
  });

  it('refuses other frames, other windows and other origins, and says so in the log', async () => {
    const s = served();
    const cases: InvokeEvent[] = [
      { sender: webContents, senderFrame: { url: `${ORIGIN}/`, parent: {} } },
      { sender: { id: 2 }, senderFrame: { url: `${ORIGIN}/`, parent: null } },
      { sender: webContents, senderFrame: { url: 'http://127.0.0.1:9999/', parent: null } },
      { sender: webContents, senderFrame: null },
    ];
    for (const event of cases) expect(await s.call(Channel.state, event)).toEqual({ ok: false, error: 'not allowed' });
    expect(s.lines.filter((l) => l.startsWith('ignored lan-scheduler:state'))).toHaveLength(4);
  });

  it('turns a failure into words and logs its stack', async () => {
    const s = served({ [Channel.leave]: () => Promise.reject(new Error('disk gone')) });
    expect(await s.call(Channel.leave, ours)).toEqual({ ok: false, error: 'LAN Scheduler could not do that: disk gone' });
    expect(s.lines[0]).toMatch(/^lan-scheduler:leave: Error: disk gone/);
  });
});
