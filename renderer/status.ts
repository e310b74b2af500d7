import type { LinkState } from './liveSync.js';

const LABELS: Record<LinkState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

/** The connection pill in the top bar and the toasts below it. */
export function createStatus(pill: HTMLElement, toasts: HTMLElement) {
  return {
    link(state: LinkState) {
      pill.dataset.state = state;
      pill.textContent = LABELS[state];
      pill.title =
        state === 'live'
          ? 'Changes from colleagues appear as they happen'
          : state === 'offline'
            ? 'No network: changes you make are not saved until it is back'
            : 'Trying to reach the calendar host; changes will catch up';
    },
    /** A short message, text only, with an optional action button. */
    toast(text: string, kind: 'info' | 'warning' | 'error' = 'info', ms = 6000, action?: { label: string; run(): void }) {
      const el = document.createElement('div');
      el.className = `toast toast-${kind}`;
      el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
      const message = document.createElement('span');
      message.textContent = text;
      el.append(message);
      if (action) {
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = action.label;
        button.addEventListener('click', () => {
          el.remove();
          action.run();
        });
        el.append(button);
      }
      toasts.append(el);
      setTimeout(() => el.remove(), ms);
    },
  };
}

export type Status = ReturnType<typeof createStatus>;
