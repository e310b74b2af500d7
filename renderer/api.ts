import { fromWire } from './text.js';

export class AuthError extends Error {}

/** One live message as the host sends it, with the revision it belongs to. */
export interface LiveChange {
  rev: number;
  name: string;
  value: Record<string, unknown> & { type: string };
}

export type ChangesAnswer =
  | { reload: false; revision: number; storeId: string; changes: LiveChange[]; more?: true }
  | { reload: true; revision: number; storeId: string; reason: string };

/** The host's REST API, always with the token, always answering plain-text records. */
export function createApi(baseUrl: string, token: string) {
  const request = async (path: string) => {
    const res = await fetch(baseUrl + path, { headers: { 'Remote-Token': token, Accept: 'application/json' } });
    if (res.status === 401 || res.status === 403) throw new AuthError('the token was not accepted');
    if (!res.ok) throw new Error(`${path} answered ${res.status}`);
    return { body: await res.json(), revision: Number(res.headers.get('X-Revision') ?? 0), storeId: res.headers.get('X-Store-Id') ?? '' };
  };
  return {
    baseUrl,
    token,
    async handshake(): Promise<{ revision: number; storeId: string }> {
      const { body } = await request('/api/v1');
      return body.data;
    },
    async events() {
      const r = await request('/events');
      return { ...r, body: (r.body as Record<string, unknown>[]).map(fromWire) };
    },
    /** Events that overlap [from, to) (YYYY-MM-DD), series that reach into it with their exceptions. */
    async eventsIn(from: string, to: string) {
      const r = await request(`/events?from=${from}&to=${to}`);
      return { ...r, body: (r.body as Record<string, unknown>[]).map(fromWire) };
    },
    async calendars() {
      const r = await request('/calendars');
      return { ...r, body: (r.body as Record<string, unknown>[]).map(fromWire) };
    },
    async gantt() {
      const r = await request('/gantt/data');
      const { data, links } = r.body as { data: Record<string, unknown>[]; links: Record<string, unknown>[] };
      return { ...r, body: { data: data.map(fromWire), links: links.map(fromWire) } };
    },
    async changesSince(revision: number, storeId: string): Promise<ChangesAnswer> {
      return (await request(`/api/v1/changes?since=${revision}&store=${encodeURIComponent(storeId)}`)).body;
    },
    /** An answer as the host sends it, text still escaped (the reminder planner unescapes it itself). */
    async getRaw(path: string) {
      return (await request(path)).body;
    },
    /** A request whose failure says the host's own message. The body is sent as JSON, or with `type` as it is (an .ics file). */
    async send(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, type?: string) {
      const res = await fetch(baseUrl + path, {
        method,
        headers: { 'Remote-Token': token, ...(body !== undefined && { 'Content-Type': type ?? 'application/json' }) },
        body: body === undefined ? undefined : type ? (body as BodyInit) : JSON.stringify(body),
      });
      const answer = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(answer.message ?? `the host answered ${res.status}`);
      return answer;
    },
  };
}

export type Api = ReturnType<typeof createApi>;
