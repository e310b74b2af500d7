// The desk window's options, without Electron (the composition root passes them to BrowserWindow):
// a sandboxed page with no Node, which reaches the main process only through the preload's bridge.

export interface WindowPaths {
  /** The built preload: one CommonJS file, as a sandboxed preload must be. */
  preload: string;
  icon: string;
  /** Developer tools only in a build that is not packaged. */
  devTools: boolean;
}

/** The window: hidden until its page is there, with contextIsolation, sandbox and no nodeIntegration. */
export function deskWindowOptions({ preload, icon, devTools }: WindowPaths) {
  return {
    width: 1320,
    height: 860,
    minWidth: 760,
    minHeight: 520,
    show: false,
    title: 'LAN Scheduler',
    icon,
    backgroundColor: '#f6f7fb',
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webviewTag: false,
      spellcheck: false,
      devTools,
    },
  };
}
