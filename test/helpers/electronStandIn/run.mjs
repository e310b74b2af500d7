// Runs an Electron main-process entry (the built dist/main/index.js) under Node with the stand-in
// `electron`: `node run.mjs dist/main/index.js`. As Electron does with an ESM entry, `ready` comes
// once the entry has finished evaluating (or, with STANDIN_HOLD_READY=1, when the test says so).
import { register } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

register('./hooks.mjs', import.meta.url);
const { standIn } = await import('electron');
const entry = process.argv[2];
if (!entry) throw new Error('usage: node run.mjs <main entry>');
await import(pathToFileURL(resolve(entry)).href);
standIn.mainEvaluated();
