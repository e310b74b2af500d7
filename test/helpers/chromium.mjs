// Debian's chromium, and the flags every headless run of it here starts with: no sandbox or GPU
// (containers, CI), and nothing that reaches outside this machine (QUIC, background networking,
// component updates, sync, autofill's server). Those flags leave some lookups (a capture of a test
// run still saw DNS questions for accounts.google.com and content-autofill.googleapis.com), so the
// resolver answers every name "not found" but the ones the tests open: 127.0.0.1 and the
// addresses of the test LANs' namespaces (10.231.X.Y, test/helpers/netns.ts). Chromium applies
// the rule to IP literals too, hence the exclusions. Plain JavaScript, so that the Electron
// stand-in, which node runs as it is, takes it from the same place as the browser tests and the
// page bench.
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
  '--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter,DialMediaRouteProvider',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE 10.231.*',
]);
