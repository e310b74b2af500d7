/**
 * The host stores every text field HTML-escaped, so that any client that renders it
 * as HTML shows text. This page keeps plain text in its model (so editors show what
 * people typed) and escapes it again in every template that renders HTML.
 */
const ENTITIES: Record<string, string> = { '&#38;': '&', '&#60;': '<', '&#62;': '>', '&#34;': '"', '&#39;': "'" };

export function escapeHtml(text: unknown): string {
  return String(text ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function unescapeText(text: string): string {
  return text.replace(/&#(38|60|62|34|39);/g, (e) => ENTITIES[e]!);
}

/** A record from the host with its text fields back in plain text (a new object). */
export function fromWire<T extends Record<string, unknown>>(record: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) out[key] = typeof value === 'string' ? unescapeText(value) : value;
  return out as T;
}
