import { readFile, stat } from 'node:fs/promises';
import { unescapeHtml } from '../server/validate.js';
import type { ImportOutcome } from './importIcs.js';
import { IMPORT_PATH, MAX_IMPORT_BYTES } from './settingsRoutes.js';

export interface ImportFileOptions {
  /** The host, e.g. http://127.0.0.1:3210 (the CLI runs on the desk itself). */
  baseUrl: string;
  token: string;
  file: string;
  /** A calendar's id or name (case does not matter); none for events without a calendar. */
  into?: string;
  fetch?: typeof fetch;
}

/**
 * Imports an .ics file into a running host through its import endpoint, as the page does, so the
 * events are announced to every page and desk. Throws an Error whose message says what went wrong.
 */
export async function importFile(options: ImportFileOptions): Promise<ImportOutcome> {
  const send = options.fetch ?? fetch;
  const base = options.baseUrl.replace(/\/+$/, '');
  const size = (await stat(options.file)).size;
  if (size > MAX_IMPORT_BYTES) throw new Error(`${options.file} is larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MiB`);
  const text = await readFile(options.file, 'utf8');
  const calendarId = options.into ? await calendarIdOf(send, base, options.token, options.into) : '';
  const res = await send(`${base}${IMPORT_PATH}${calendarId ? `?calendar=${encodeURIComponent(calendarId)}` : ''}`, {
    method: 'POST',
    headers: { 'Remote-Token': options.token, 'Content-Type': 'text/calendar; charset=utf-8' },
    body: text,
  });
  const answer = (await res.json().catch(() => ({}))) as ImportOutcome & { message?: string };
  if (!res.ok) throw new Error(`the host refused the import: ${answer.message ?? res.status}`);
  return answer;
}

async function calendarIdOf(send: typeof fetch, base: string, token: string, into: string): Promise<string> {
  const res = await send(`${base}/calendars`, { headers: { 'Remote-Token': token, Accept: 'application/json' } });
  if (!res.ok) throw new Error(`could not list the calendars: the host answered ${res.status}`);
  const list = (await res.json()) as { id: string; name: string }[];
  const found = list.find((c) => c.id === into) ?? list.find((c) => unescapeHtml(c.name).toLowerCase() === into.toLowerCase());
  if (!found) throw new Error(`no calendar "${into}"; the calendars are: ${list.map((c) => unescapeHtml(c.name)).join(', ') || 'none yet'}`);
  return found.id;
}

/** The outcome as lines for a terminal: the summary, then one line per event. */
export function importLines(outcome: ImportOutcome): string[] {
  return [
    outcome.summary,
    ...outcome.imported.map((e) => `  imported: ${e.title} (${e.start}${e.repeats ? ', repeating' : ''})`),
    ...outcome.skipped.map((s) => `  skipped: ${s.title}: ${s.reason}`),
  ];
}
