import { describe, expect, it } from 'vitest';
import type { Logger } from '../main/log.js';
import { createQuitSequence, type QuitOptions } from '../main/desktop/quitting.js';
import { within } from './helpers/hostProcess.js';

// The quit sequence without Electron: what a person's quit, a shutdown and a signal do, per platform.
// test/desktopShell.test.ts runs the same sequence in the built app with a stand-in Electron.

const QUIT = 600;
const SHUTDOWN = 250;

function sequence(platform: NodeJS.Platform, close: () => Promise<void>) {
  const steps: string[] = [];
  const lines: string[] = [];
  const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(`warning: ${m}`), error: (m) => lines.push(`error: ${m}`) };
  let exited: (code: number) => void = () => undefined;
  const exit = new Promise<number>((resolve) => (exited = resolve));
  const options: QuitOptions = {
    platform,
    log,
    close: () => (steps.push('close'), close()),
    hide: () => steps.push('hide'),
    beforeExit: () => steps.push('tray destroyed'),
    exit: (code) => (steps.push(`exit ${code}`), exited(code)),
    // Electron's quit comes back as before-quit: the stand-in event records whether it was held.
    quit: () => {
      steps.push('quit');
      quit.beforeQuit(event('before-quit'));
    },
    limits: { quitMs: QUIT, shutdownMs: SHUTDOWN },
  };
  const event = (name: string) => ({ preventDefault: () => steps.push(`${name} held`) });
  const quit = createQuitSequence(options);
  return { quit, steps, lines, exit, event };
}

const never = () => new Promise<void>(() => undefined);

describe('quitting', () => {
  it('holds a person’s quit once, hands over, takes the tray down, then exits', async () => {
    let handedOver: () => void = () => undefined;
    const s = sequence('linux', () => new Promise<void>((resolve) => (handedOver = resolve)));
    s.quit.beforeQuit(s.event('before-quit'));
    s.quit.beforeQuit(s.event('before-quit'));
    expect(s.steps).toEqual(['before-quit held', 'hide', 'close', 'before-quit held']);
    handedOver();
    expect(await s.exit).toBe(0);
    expect(s.steps.slice(-2)).toEqual(['tray destroyed', 'exit 0']);
  });

  it('exits at the limit when the hand-over does not end, and with 1 when closing failed', async () => {
    const slow = sequence('linux', never);
    slow.quit.beforeQuit(slow.event('before-quit'));
    expect(await within(slow.exit, QUIT * 10, 'the exit at the quit limit')).toBe(0);
    expect(slow.lines).toContain(`warning: quitting after ${QUIT / 1000} s without a clean hand-over; the other desks take over`);
    const failing = sequence('linux', () => Promise.reject(new Error('disk gone')));
    failing.quit.beforeQuit(failing.event('before-quit'));
    expect(await failing.exit).toBe(1);
    expect(failing.steps.at(-2)).toBe('tray destroyed');
  });

  it('on Linux delays a shutdown for a short hand-over only, also when a quit was already under way', async () => {
    const s = sequence('linux', never);
    s.quit.shutdown(s.event('shutdown'));
    expect(s.steps.slice(0, 3)).toEqual(['shutdown held', 'quit', 'before-quit held']);
    expect(await within(s.exit, QUIT, 'the exit at the shutdown limit')).toBe(0);
    expect(s.lines).toContain(`warning: quitting after ${SHUTDOWN / 1000} s without a clean hand-over; the other desks take over`);

    const late = sequence('linux', never);
    late.quit.beforeQuit(late.event('before-quit'));
    late.quit.signal('SIGTERM');
    expect(await within(late.exit, QUIT, 'the exit at the shutdown limit after a quit')).toBe(0);
    expect(late.lines.some((l) => l.includes(`${SHUTDOWN / 1000} s without`))).toBe(true);
  });

  it('on macOS holds nothing when the system ends the session: the system quits the app at once', async () => {
    const s = sequence('darwin', never);
    s.quit.shutdown(s.event('shutdown'));
    // Electron then quits on the system's behalf: before-quit must let it through.
    s.quit.beforeQuit(s.event('before-quit'));
    s.quit.willQuit();
    expect(s.steps).toEqual(['tray destroyed', 'tray destroyed']);
    expect(s.steps.join()).not.toMatch(/held|close/);
    // A signal on macOS quits the same way.
    const signalled = sequence('darwin', never);
    signalled.quit.signal('SIGTERM');
    expect(signalled.steps).toEqual(['quit', 'tray destroyed']);
  });

  it('quits on SIGINT like a person would, with the long limit', async () => {
    let handedOver: () => void = () => undefined;
    const s = sequence('linux', () => new Promise<void>((resolve) => (handedOver = resolve)));
    s.quit.signal('SIGINT');
    expect(s.steps).toEqual(['quit', 'before-quit held', 'hide', 'close']);
    expect(s.quit.quitting()).toBe(true);
    handedOver();
    expect(await s.exit).toBe(0);
  });
});
