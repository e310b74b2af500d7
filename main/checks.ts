// Checks that every boundary applies alike to what comes from outside: a desk over the network, an
// mDNS record, a pasted invite, the window's IPC. Free of Node imports: the preload bundles this file.

/** C0, DEL and C1 controls, and the line and paragraph separators. */
export const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Why a calendar name (trimmed) is not usable, or undefined: it is 1–80 characters, none of them a control. */
export function calendarNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'Give the calendar a name.';
  if (name.length > 80) return 'Keep the calendar name under 80 characters.';
  if (CONTROL.test(name)) return 'The calendar name cannot contain control characters.';
  return undefined;
}

/** A TCP port another desk could listen on (not 0). */
export const isPort = (p: unknown): p is number => Number.isInteger(p) && (p as number) > 0 && (p as number) <= 65535;
