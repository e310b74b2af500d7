// Debian's chromium, and the flags every headless run of it here starts with: no sandbox or GPU
// (containers, CI), and nothing that reaches outside this machine (QUIC, background networking,
// component updates, sync). Plain JavaScript, so that the Electron stand-in, which node runs as
// it is, takes it from the same place as the browser tests and the page bench.
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]);
