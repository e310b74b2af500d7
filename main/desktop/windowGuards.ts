import { isOwnFrame } from './ipc.js';

/** The parts of Electron's webContents the guards use. */
export interface GuardedContents {
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
  on(event: 'will-navigate' | 'will-redirect' | 'will-attach-webview', listener: (event: { url: string; preventDefault(): void }) => void): unknown;
}

/**
 * Guards every web contents, present and future: no new windows, no navigation or redirect off our
 * own origin, no <webview>. Links to the web go to `openOutside` (the system browser).
 */
export function guardContents(contents: GuardedContents, origin: () => string | null, openOutside: (url: string) => void): void {
  contents.setWindowOpenHandler(({ url }) => {
    openOutside(url);
    return { action: 'deny' };
  });
  contents.on('will-navigate', (event) => {
    if (isOwnFrame(event.url, origin())) return;
    event.preventDefault();
    openOutside(event.url);
  });
  contents.on('will-redirect', (event) => {
    if (!isOwnFrame(event.url, origin())) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}
