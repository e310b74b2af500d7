/** Methods a page may call (`remote.api.service.method(...)`), by "service.method" name. */
export type RpcMethods = Record<string, (...args: unknown[]) => unknown>;

export interface RpcResult {
  id: unknown;
  data: unknown;
  error?: string;
}

/** Calls one frame or one POST may carry: a frame asks for bounded work (a change page is at most 512 KiB). */
export const MAX_CALLS = 4;

/** Runs a batch of `{id, name, args}` calls; an unknown method or a throw is an error result, never a crash. */
export function runCalls(methods: RpcMethods, calls: unknown[]): Promise<RpcResult[]> {
  return Promise.all(
    calls.map(async (call) => {
      const { id = null, name, args } = (call ?? {}) as { id?: unknown; name?: unknown; args?: unknown };
      const method = typeof name === 'string' && Object.hasOwn(methods, name) ? methods[name] : undefined;
      if (!method) return { id, data: null, error: `unknown method ${String(name).slice(0, 80)}` };
      try {
        return { id, data: (await method(...(Array.isArray(args) ? args : []))) ?? null };
      } catch (err) {
        return { id, data: null, error: (err as Error).message };
      }
    }),
  );
}

/** The answer to a batch of more than MAX_CALLS calls: an error for each, and nothing run. */
export function refuseCalls(calls: unknown[]): RpcResult[] {
  return calls.map((call) => ({
    id: (call as { id?: unknown } | null)?.id ?? null,
    data: null,
    error: `at most ${MAX_CALLS} calls at a time; send the rest after these are answered`,
  }));
}

/** The handshake's `api`: `{service: {method: 1}}` for every "service.method". */
export function apiShape(methods: RpcMethods): Record<string, Record<string, 1>> {
  const api: Record<string, Record<string, 1>> = {};
  for (const name of Object.keys(methods)) {
    const [service, method] = name.split('.') as [string, string];
    (api[service] ??= {})[method] = 1;
  }
  return api;
}
