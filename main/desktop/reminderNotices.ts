// This desk's reminders as system notifications, without Electron: the composition root hands in
// how to make one (Electron's Notification) and what a click does (open the event in the window).
import type { Logger } from '../log.js';
import type { OpenTarget } from './ipc.js';
import { reminderText, type Reminder } from './reminderPlan.js';

/** The parts of Electron's Notification used here. */
export interface Notice {
  on(event: 'close', listener: () => void): unknown;
  on(event: 'click', listener: () => void): unknown;
  show(): void;
}

export interface ReminderNoticesOptions {
  /** Whether this system shows notifications at all. */
  supported(): boolean;
  create(options: { title: string; body: string; silent: boolean }): Notice;
  /** Opens the reminder's event (the occurrence of a series at `start`) in the window. */
  open(target: OpenTarget): void;
  log: Logger;
  now?: () => number;
}

/** Shows a reminder as a notification; clicking it opens the event. */
export function createReminderNotices(options: ReminderNoticesOptions) {
  const { log } = options;
  const now = options.now ?? Date.now;
  // Held until closed: a notification that is garbage-collected no longer answers clicks.
  const showing = new Set<Notice>();
  return {
    show(reminder: Reminder): void {
      if (!options.supported()) {
        log.warn(`reminder for "${reminder.text}" not shown: this system has no notifications`);
        return;
      }
      const notification = options.create({ ...reminderText(reminder, now()), silent: false });
      showing.add(notification);
      if (showing.size > 20) showing.delete(showing.values().next().value!);
      notification.on('close', () => showing.delete(notification));
      notification.on('click', () => options.open({ eventId: reminder.eventId, series: reminder.series, start: reminder.start }));
      notification.show();
    },
  };
}
