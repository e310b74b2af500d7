// The tray's and the application menu's items, without Electron: the composition root hands
// them to Menu.buildFromTemplate (they are a subset of its MenuItemConstructorOptions).

export interface MenuItem {
  label?: string;
  type?: 'separator' | 'checkbox';
  checked?: boolean;
  enabled?: boolean;
  /** Electron passes the item (for a checkbox, already toggled). */
  click?(item: { checked: boolean }): void;
}

export interface MenuActions {
  open(): void;
  copyInvite(): void;
  changeKey(): void;
  exportBackup(): void;
  keepHosting(checked: boolean): void;
  quit(): void;
  openLogs(): void;
  copyDiagnostics(): void;
}

export interface MenuState {
  hasCalendar: boolean;
  keepHostingWhenClosed: boolean;
}

/** The tray menu; the application menu's Calendar menu is the same without its first item. */
export function deskMenu(state: MenuState, act: MenuActions): MenuItem[] {
  return [
    { label: 'Open LAN Scheduler', click: () => act.open() },
    { label: 'Copy invite', enabled: state.hasCalendar, click: () => act.copyInvite() },
    { label: 'Change key…', enabled: state.hasCalendar, click: () => act.changeKey() },
    { label: 'Export backup…', enabled: state.hasCalendar, click: () => act.exportBackup() },
    { type: 'separator' },
    { label: 'Keep hosting when the window is closed', type: 'checkbox', checked: state.keepHostingWhenClosed, click: (item) => act.keepHosting(item.checked) },
    { type: 'separator' },
    { label: 'Quit LAN Scheduler', click: () => act.quit() },
  ];
}

/** Help: what support asks for first. */
export function helpMenu(act: MenuActions): MenuItem[] {
  return [
    { label: 'Open logs folder', click: () => act.openLogs() },
    { label: 'Copy diagnostics', click: () => act.copyDiagnostics() },
  ];
}
