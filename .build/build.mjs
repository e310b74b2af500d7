// Builds everything into dist/: the host (main), the desktop app (desktop, preload) and the page.
// Usage: node .build/build.mjs [main|desktop|preload|page|bench]...   (no argument: all but bench)
import { cp, readFile, rm } from 'node:fs/promises';
import * as esbuild from 'esbuild';

const common = { bundle: true, sourcemap: true, logLevel: 'warning' };

/** The vendor themes load Inter from a font CDN; a LAN without internet must not try. */
const noRemoteFonts = {
  name: 'no-remote-fonts',
  setup(build) {
    build.onLoad({ filter: /dhtmlx-(scheduler|gantt)[\\/]codebase[\\/].*\.css$/ }, async (args) => {
      const css = await readFile(args.path, 'utf8');
      return { contents: css.replace(/@font-face\{[^}]*https?:\/\/[^}]*\}/g, ''), loader: 'css' };
    });
  },
};

const targets = {
  main: () =>
    esbuild.build({
      ...common,
      entryPoints: ['main/cli.ts'],
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outdir: 'dist/main',
    }),
  // Electron's main process (ESM since Electron 28); the icons for the window and the tray go beside it.
  desktop: async () => {
    await cp('main/assets', 'dist/main/assets', { recursive: true, filter: (src) => !src.endsWith('.nsh') });
    return esbuild.build({
      ...common,
      entryPoints: ['main/index.ts'],
      platform: 'node',
      format: 'esm',
      target: 'node22',
      packages: 'external',
      external: ['electron'],
      outfile: 'dist/main/index.js',
    });
  },
  // A sandboxed preload can neither be ESM nor require our files: one CommonJS file, electron external.
  preload: () =>
    esbuild.build({
      ...common,
      entryPoints: ['preload/index.ts'],
      platform: 'browser',
      format: 'cjs',
      target: 'chrome130',
      external: ['electron'],
      outfile: 'dist/preload/index.cjs',
    }),
  page: async () => {
    await rm('dist/renderer', { recursive: true, force: true });
    return esbuild.build({
      ...common,
      // The Gantt's stylesheet is an entry of its own: the Projects tab links it when it opens, so the
      // calendar's first paint neither downloads nor parses it (esbuild would fold it into app.css).
      entryPoints: ['renderer/app.ts', 'renderer/index.html', { in: 'dhtmlx-gantt/codebase/dhtmlxgantt.css', out: 'gantt' }],
      format: 'esm',
      splitting: true,
      target: 'chrome120',
      minify: true,
      loader: { '.html': 'copy', '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.png': 'file', '.svg': 'file', '.gif': 'file' },
      plugins: [noRemoteFonts],
      outdir: 'dist/renderer',
    });
  },
  bench: () =>
    esbuild.build({
      ...common,
      entryPoints: ['test/bench/liveBench.ts', 'test/bench/lanBench.ts', 'test/bench/soak.ts', 'test/bench/fuzz.ts', 'test/bench/pageBench.ts'],
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outdir: 'dist/bench',
    }),
};

const wanted = process.argv.slice(2);
const names = wanted.length ? wanted : Object.keys(targets).filter((n) => n !== 'bench');
for (const name of names) {
  if (!targets[name]) throw new Error(`unknown build target ${name}; known: ${Object.keys(targets).join(', ')}`);
}
await Promise.all(names.map((name) => targets[name]()));
