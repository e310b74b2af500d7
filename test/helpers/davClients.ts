import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, 'dav_client.py');
// requests honours proxy variables; these clients talk to 127.0.0.1 only.
const env = { ...process.env, NO_PROXY: '*', no_proxy: '*', HTTP_PROXY: '', HTTPS_PROXY: '', http_proxy: '', https_proxy: '' };

/** Why the Debian CalDAV clients cannot run here (a message for a skipped test), or null if they can. */
export function davClientsMissing(): string | null {
  try {
    execFileSync(PYTHON, ['-c', 'import caldav, icalendar, recurring_ical_events, requests'], { stdio: 'pipe', env });
    return null;
  } catch {
    return 'CalDAV client tests need Debian packages: apt-get install python3-caldav python3-icalendar python3-recurring-ical-events';
  }
}

/** Runs one command of test/helpers/dav_client.py (python3-caldav and friends) and answers its JSON. */
export async function davClient(command: string, url: string, password: string, args: Record<string, unknown> = {}, options: { verify?: string } = {}): Promise<any> {
  try {
    const { stdout } = await run(PYTHON, [SCRIPT, command, url, password, JSON.stringify(args)], { env: { ...env, DAV_VERIFY: options.verify ?? '' }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    return JSON.parse(stdout);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`dav_client.py ${command} failed: ${e.stderr?.trim().split('\n').slice(-6).join('\n') || e.message}`);
  }
}

/** iCalendar text with CRLF line ends, from lines. */
export const ics = (...lines: string[]) => [...lines, ''].join('\r\n');

/** A VCALENDAR around events, as clients write it. */
export const vcalendar = (...body: string[]) => ics('BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Test//Client//EN', ...body, 'END:VCALENDAR');
