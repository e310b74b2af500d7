import { nodeFs, type StoreFile, type StoreFs } from '../../main/store/storeFs.js';

/** Which operation fails, on which files, and how. */
export interface Fault {
  /** `write` fails after writing half of what it was given (a disk filling up mid-line). */
  op: 'write' | 'datasync' | 'sync' | 'rename' | 'open';
  code: string;
  /** Only files whose path passes this; every file when left out. */
  path?: (path: string) => boolean;
}

const failure = (code: string) => Object.assign(new Error(`${code}: injected failure`), { code });

/**
 * The real file system with failures switched on and off by the test: an injected dependency
 * of the store (its `fs` option), not a stand-in for it. `hold` parks every datasync until
 * released, so a test can pile writers up behind one group commit.
 */
export function faultyFs() {
  let fault: Fault | null = null;
  let halfWritten = false;
  let held: Promise<void> | null = null;
  let release: () => void = () => undefined;
  const hits = (op: Fault['op'], path: string) => !!fault && fault.op === op && (!fault.path || fault.path(path));

  const wrap = (path: string, file: StoreFile): StoreFile => ({
    read: (b, o, l, p) => file.read(b, o, l, p),
    async write(buffer, offset, length, position) {
      if (!hits('write', path)) return file.write(buffer, offset, length, position);
      // Half of the first write lands, as on a disk that fills up mid-line; the rest fails.
      const half = Math.floor(length / 2);
      if (!halfWritten && half > 0) {
        halfWritten = true;
        return file.write(buffer, offset, half, position);
      }
      throw failure(fault!.code);
    },
    async datasync() {
      if (held) await held;
      if (hits('datasync', path)) throw failure(fault!.code);
      return file.datasync();
    },
    async sync() {
      if (hits('sync', path)) throw failure(fault!.code);
      return file.sync();
    },
    truncate: (length) => file.truncate(length),
    stat: () => file.stat(),
    close: () => file.close(),
  });

  const fs: StoreFs = {
    ...nodeFs,
    async open(path, flags, mode) {
      if (hits('open', path)) throw failure(fault!.code);
      return wrap(path, await nodeFs.open(path, flags, mode));
    },
    async rename(from, to) {
      if (hits('rename', from)) throw failure(fault!.code);
      return nodeFs.rename(from, to);
    },
  };
  return {
    fs,
    fail(next: Fault) {
      fault = next;
      halfWritten = false;
    },
    heal() {
      fault = null;
    },
    /** Parks datasyncs until `unhold`. */
    hold() {
      held = new Promise((resolve) => (release = resolve));
    },
    unhold() {
      held = null;
      release();
    },
  };
}
