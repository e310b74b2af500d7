/** Listeners of a value that changes in bursts: each burst is one call, on the next turn. */
export function createFeed<T>(read: () => T) {
  const listeners = new Set<(value: T) => void>();
  let queued = false;
  return {
    notify() {
      if (queued) return;
      queued = true;
      setImmediate(() => {
        queued = false;
        const value = read();
        for (const l of listeners) l(value);
      });
    },
    subscribe(listener: (value: T) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}
