import { appendFileSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { DESK_INVITE } from '../trust/invite.js';
import type { DesktopState } from './ipc.js';

export interface DeskLogOptions {
  /** The folder the log lives in (the app's data folder, `logs/`). */
  dir: string;
  /** A file this large is moved aside and a new one begun. */
  maxBytes?: number;
  /** How many files moved aside are kept (desktop.log.1 is the newest). */
  keep?: number;
  /** Also writes every line here (the console, for `npm start`). */
  echo?: Logger;
  /** The secrets known now (the join key, the browser token): never written, in any form. */
  secrets?: () => string[];
  now?: () => Date;
}

const LOG = 'desktop.log';
const RECENT = 30;
// A join key is 24 base64url characters, a browser token 43: a run of exactly that many is hidden
// unless it is lowercase hex (calendar ids; a random key is never that). Record ids are UUIDs and
// desk ids base32 of 32 characters: neither matches.
// A desk invite to its end: it carries the key.
const INVITES = new RegExp(`${DESK_INVITE.source}\\S*`, 'gi');
const SECRET_LIKE = /(?<![A-Za-z0-9_-])(?:[A-Za-z0-9_-]{24}|[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])/g;

/**
 * Hides what could open the calendar: the secrets given, desk invites (they carry the key), and
 * tokens in links and headers. Applied to every log line and to the diagnostics.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join('[hidden]');
  return out
    .replace(INVITES, 'lansched://join?[hidden]')
    .replace(/(token=)[^\s&"']+/gi, '$1[hidden]')
    .replace(/(remote-token:?\s*)\S+/gi, '$1[hidden]')
    .replace(SECRET_LIKE, (run) => (/^[0-9a-f]+$/.test(run) ? run : '[hidden]'));
}

/**
 * The desktop app's log: lines appended to DIR/desktop.log, moved aside to desktop.log.1 (and
 * on) when it passes `maxBytes`, with the last warnings and errors kept for the diagnostics.
 * Written synchronously: lines are few, and the last ones before a crash or an exit are the
 * ones support needs.
 */
export function createDeskLog(options: DeskLogOptions) {
  const { dir, echo } = options;
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const keep = options.keep ?? 2;
  const now = options.now ?? (() => new Date());
  const file = join(dir, LOG);
  const recent: string[] = [];
  let size = -1;
  let broken = false;

  const rotate = () => {
    for (let i = keep; i >= 1; i--) {
      try {
        renameSync(i === 1 ? file : `${file}.${i - 1}`, `${file}.${i}`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    size = 0;
  };

  const write = (level: 'info' | 'warn' | 'error', message: string) => {
    const text = redact(message, options.secrets?.() ?? []);
    echo?.[level](text);
    const line = `${now().toISOString()} ${level} ${text.replace(/\r?\n/g, '\n    ')}\n`;
    if (level !== 'info') {
      recent.push(line.trimEnd());
      if (recent.length > RECENT) recent.shift();
    }
    if (broken) return;
    try {
      if (size < 0) {
        mkdirSync(dir, { recursive: true });
        size = statSync(file, { throwIfNoEntry: false })?.size ?? 0;
      }
      const bytes = Buffer.byteLength(line);
      if (size > 0 && size + bytes > maxBytes) rotate();
      appendFileSync(file, line, { mode: 0o600 });
      size += bytes;
    } catch (err) {
      // A full disk or a read-only folder must not stop the app; the console still has the lines.
      broken = true;
      echo?.error(`the log file ${file} cannot be written (${(err as Error).message}); logging to the console only`);
    }
  };

  const logger: Logger = {
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
  };
  return {
    logger,
    dir,
    file,
    /** The last warnings and errors, oldest first. */
    recent: () => [...recent],
  };
}

export interface DiagnosticsInput {
  version: string;
  /** e.g. { electron: '45.5.0', chrome: '…', node: '…' } */
  versions: Record<string, string | undefined>;
  platform: string;
  state: DesktopState;
  dataDir: string;
  logFile: string;
  recent: string[];
  secrets: string[];
}

/** What "Copy diagnostics" puts on the clipboard: enough for support, never a key or a token. */
export function diagnostics(input: DiagnosticsInput): string {
  const { state } = input;
  const desk = (d: DesktopState['desks'][number]) => `  - ${d.name}${d.self ? ' (this desk)' : ''}: ${d.role}, ${d.deskId.slice(0, 8)}`;
  const lines = [
    `LAN Scheduler ${input.version}`,
    `versions: ${Object.entries(input.versions).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `platform: ${input.platform}`,
    `calendar: ${state.calendar ? `${state.calendar.name} (${state.calendar.id.slice(0, 8)})` : 'none (first run)'}`,
    `role: ${state.status}${state.host ? `, host ${state.host.name} (${state.host.deskId.slice(0, 8)})` : ''}`,
    `desks seen: ${state.desks.length}`,
    ...state.desks.map(desk),
    `calendars found on the LAN: ${state.found.length}`,
    ...state.notices.map((n) => `notice: ${n}`),
    `data folder: ${input.dataDir}`,
    `log: ${input.logFile}`,
    `last warnings and errors (${input.recent.length}):`,
    ...input.recent.map((l) => `  ${l}`),
  ];
  return redact(`${lines.join('\n')}\n`, input.secrets);
}
