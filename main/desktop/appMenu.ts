// The application menu around the desk's own items, without Electron: the composition root hands
// it to Menu.buildFromTemplate; the items by role are Electron's own (Edit, Window, macOS's app menu).
import type { MenuItem } from './menus.js';

export type AppMenuItem = { label: string; submenu: MenuItem[] } | { role: 'appMenu' | 'editMenu' | 'windowMenu' } | { role: 'help'; submenu: MenuItem[] };

/** macOS's app menu, Calendar (the tray menu without its Open item), Edit, Window and Help. */
export function applicationMenu(trayItems: MenuItem[], help: MenuItem[], platform: NodeJS.Platform): AppMenuItem[] {
  return [
    ...(platform === 'darwin' ? [{ role: 'appMenu' } as const] : []),
    { label: 'Calendar', submenu: trayItems.slice(1) },
    { role: 'editMenu' },
    { role: 'windowMenu' },
    { role: 'help', submenu: help },
  ];
}
