import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHROMIUM, launchBrowser } from './helpers/browser.js';

// What the installers are made of, checked with electron-builder's own code (its schema and its
// file-name expansion) and the tray icons as chromium decodes them. Nothing here is downloaded.

const ROOT = join(import.meta.dirname, '..');
const require = createRequire(join(ROOT, 'package.json'));
const ASSETS = join(ROOT, 'main', 'assets');

async function builderConfig() {
  const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config.js');
  const { DebugLogger } = require('builder-util');
  const config = await getConfig(ROOT, join(ROOT, 'electron-builder.yml'), null);
  await validateConfiguration(config, new DebugLogger(false));
  return config;
}

describe('electron-builder.yml', () => {
  it('passes electron-builder’s schema, with the static AppImage runtime and dmgs for Intel and Apple silicon', async () => {
    const config = await builderConfig();
    // "0.0.0" (the default) is the runtime that needs libfuse.so.2; 1.0.2 and 1.0.3 are the static one.
    expect(['1.0.2', '1.0.3']).toContain(config.toolsets?.appimage);
    expect(config.mac.target).toEqual([{ target: 'dmg', arch: ['x64', 'arm64'] }]);
    // Ad-hoc unless a build names a real identity: with none, Apple silicon calls the app damaged.
    expect(config.mac.identity).toBe('-');
    expect(config.mac.extendInfo.NSBonjourServices).toEqual(['_lansched._tcp']);
  });

  it('names every installer without a space', async () => {
    const config = await builderConfig();
    const { expandMacro } = require('app-builder-lib/out/util/macroExpander.js');
    const { Arch, getArtifactArchName } = require('builder-util');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const appInfo = { name: pkg.name, version: pkg.version, productName: config.productName, sanitizedProductName: config.productName };
    const name = (pattern: string, arch: number, ext: string) => expandMacro(pattern, getArtifactArchName(arch, ext), appInfo, { ext });
    const names = [
      name(config.artifactName, Arch.x64, 'AppImage'),
      name(config.deb?.artifactName ?? config.artifactName, Arch.x64, 'deb'),
      name(config.nsis?.artifactName ?? config.win?.artifactName ?? config.artifactName, Arch.x64, 'exe'),
      name(config.dmg?.artifactName ?? config.mac?.artifactName ?? config.artifactName, Arch.x64, 'dmg'),
      name(config.dmg?.artifactName ?? config.mac?.artifactName ?? config.artifactName, Arch.arm64, 'dmg'),
    ];
    expect(names).toEqual([
      'lan-scheduler-0.1.0-x86_64.AppImage',
      'lan-scheduler_0.1.0_amd64.deb',
      'lan-scheduler-0.1.0-x64.exe',
      'lan-scheduler-0.1.0-x64.dmg',
      'lan-scheduler-0.1.0-arm64.dmg',
    ]);
  });
});

describe.skipIf(!existsSync(CHROMIUM))('the macOS tray icon', () => {
  it('is a template image: black and alpha only, with an @2x twice its size', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.browser.newPage();
      const decode = (file: string) =>
        page.evaluate(async (base64) => {
          const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${base64}`)).blob());
          const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
          const g = canvas.getContext('2d')!;
          g.drawImage(bitmap, 0, 0);
          const { data } = g.getImageData(0, 0, bitmap.width, bitmap.height);
          let coloured = 0;
          let drawn = 0;
          for (let i = 0; i < data.length; i += 4) {
            if (data[i + 3]! > 0) drawn++;
            if (data[i + 3]! > 0 && (data[i]! | data[i + 1]! | data[i + 2]!) !== 0) coloured++;
          }
          return { width: bitmap.width, height: bitmap.height, coloured, drawn };
        }, readFileSync(join(ASSETS, file)).toString('base64'));
      const one = await decode('trayTemplate.png');
      const two = await decode('trayTemplate@2x.png');
      expect(one).toMatchObject({ width: 16, height: 16, coloured: 0 });
      expect(two).toMatchObject({ width: 32, height: 32, coloured: 0 });
      expect(one.drawn).toBeGreaterThan(40);
      expect(two.drawn).toBeGreaterThan(one.drawn * 3);
    } finally {
      await browser.close();
    }
  });
});
