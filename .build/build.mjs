// Builds everything into dist/: the host (main), the desktop preload and the page.
// Usage: node .build/build.mjs [main|page|preload|bench]...   (no argument: all but bench)
import { readFile, rm } from 'node:fs/promises';
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
  page: async () => {
    await rm('dist/renderer', { recursive: true, force: true });
    return esbuild.build({
      ...common,
      entryPoints: ['renderer/app.ts', 'renderer/index.html'],
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
      entryPoints: ['test/bench/liveBench.ts'],
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile: 'dist/bench/liveBench.js',
    }),
};

const wanted = process.argv.slice(2);
const names = wanted.length ? wanted : Object.keys(targets).filter((n) => n !== 'bench');
for (const name of names) {
  if (!targets[name]) throw new Error(`unknown build target ${name}; known: ${Object.keys(targets).join(', ')}`);
}
await Promise.all(names.map((name) => targets[name]()));
