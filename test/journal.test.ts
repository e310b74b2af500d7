// The journal's records (a length and a checksum each) and how recovery reads what a disk or a
// crash left: a torn record, a bad checksum, zeros at the end, a zeroed block in the middle.
import { constants } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../main/log.js';
import { openJournal, readJournal } from '../main/store/journal.js';
import { frameRecord } from '../main/store/journalRecord.js';
import { createLowStore } from '../main/store/lowStore.js';
import { nodeFs, type StoreFs } from '../main/store/storeFs.js';
import type { Change } from '../main/store/types.js';

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lansched-journal-'));
  file = join(dir, 'changes.jsonl');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const change = (rev: number): Change => ({ rev, entity: 'events', op: 'add', record: { id: `e${rev}`, text: `event ${rev} ✓` }, hlc: `00000000001-000000-t${rev}` });
const records = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${frameRecord(JSON.stringify(change(from + i)))}\n`).join('');
const revs = (read: { changes: Change[] }) => read.changes.map((c) => c.rev);
/** A journal as a store folder holds it: a snapshot first, so that recovery reads the journal over it. */
const folderWith = async (journal: string | Buffer) => {
  await rm(file, { force: true });
  await (await createLowStore({ dir, log: silentLogger })).close();
  await writeFile(file, journal);
};

describe('journal records', () => {
  it('are JSON lines with a length and a checksum in front, read back as the changes alone', async () => {
    const store = await createLowStore({ dir, log: silentLogger });
    await store.commit([{ entity: 'events', op: 'add', record: { id: 'a', text: 'Zoë’s “review”' } }]);
    await store.commit([{ entity: 'events', op: 'delete', record: { id: 'a' } }]);
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^\{"crc":"[0-9a-f]{8}","len":\d+,"entity":"events",/);
    expect(JSON.parse(lines[0]!)).toMatchObject({ rev: 1, op: 'add', record: { id: 'a', text: 'Zoë’s “review”' } });
    const read = await readJournal(file);
    expect(read.changes[0]).toEqual({ rev: 1, entity: 'events', op: 'add', record: { id: 'a', text: 'Zoë’s “review”' }, hlc: expect.any(String) });
    expect(Object.keys(read.changes[1]!)).not.toContain('crc');
    await store.close();
  });

  it('drops a torn record at the end, cut short or whole but for its checksum, and keeps everything before it', async () => {
    const good = records(1, 3);
    const fourth = records(4, 4);
    await writeFile(file, good + fourth.slice(0, 40));
    expect(await readJournal(file)).toMatchObject({ tornTail: true, goodLength: Buffer.byteLength(good) });
    expect(revs(await readJournal(file))).toEqual([1, 2, 3]);
    // The newline landed but a byte of the middle did not.
    await writeFile(file, good + fourth.replace('event 4', 'event X'));
    expect(await readJournal(file)).toMatchObject({ tornTail: true, goodLength: Buffer.byteLength(good) });
    await folderWith(good + fourth.slice(0, 40));
    const store = await createLowStore({ dir, log: silentLogger });
    expect(store.revision()).toBe(3);
    await store.close();
  });

  it('refuses a record whose checksum does not match, with good records after it, and sets the journal aside', async () => {
    const text = records(1, 2) + records(3, 3).replace('event 3', 'event 8') + records(4, 5);
    await writeFile(file, text);
    expect((await readJournal(file)).damaged).toEqual({ line: 3, why: 'its checksum does not match' });
    const cut = records(3, 3);
    await writeFile(file, records(1, 2) + cut.replace('event 3', 'event 33') + records(4, 5));
    expect((await readJournal(file)).damaged).toEqual({ line: 3, why: 'its length does not match' });
    await folderWith(text);
    await expect(createLowStore({ dir, log: silentLogger })).rejects.toMatchObject({ kind: 'damaged', message: expect.stringMatching(/line 3 \(its checksum does not match\)/) });
    const aside = (await readdir(dir)).filter((f) => f.startsWith('changes.jsonl.damaged-'));
    expect(await readFile(join(dir, aside[0]!), 'utf8')).toBe(text);
  });

  it('drops zeros after the last record (a file extended but never written), and cuts them off', async () => {
    const good = records(1, 4);
    await folderWith(Buffer.concat([Buffer.from(good), Buffer.alloc(8192)]));
    expect(await readJournal(file)).toMatchObject({ tornTail: true, goodLength: Buffer.byteLength(good) });
    const store = await createLowStore({ dir, log: silentLogger });
    expect(store.revision()).toBe(4);
    await store.commit([{ entity: 'events', op: 'add', record: { id: 'next' } }]);
    await store.close();
    const again = await createLowStore({ dir, log: silentLogger });
    expect(again.get('events', 'next')).toBeDefined();
    await again.close();
  });

  it('never drops what follows a zeroed block in the middle, even a last record that the zeros run into', async () => {
    const text = Buffer.from(records(1, 40));
    // A block zeroed across many records, newlines included, with records after it.
    const middle = Buffer.from(text);
    middle.fill(0, 1024, 1024 + 2048);
    await writeFile(file, middle);
    expect((await readJournal(file)).damaged).toMatchObject({ why: expect.stringMatching(/not JSON|checksum|length/) });
    // Zeros from the middle of record 38 up to the start of record 40: one "line" of zeros ending in a whole record.
    const last = text.lastIndexOf('{"crc":');
    const tail = Buffer.from(text);
    tail.fill(0, last - 300, last);
    await writeFile(file, tail);
    const read = await readJournal(file);
    expect(read.damaged?.why).toMatch(/a whole record follows inside it/);
    await folderWith(tail);
    await expect(createLowStore({ dir, log: silentLogger })).rejects.toMatchObject({ kind: 'damaged' });
  });

  it('reads the lines of journals written before records had a length and a checksum', async () => {
    const old = [1, 2].map((rev) => JSON.stringify(change(rev))).join('\n') + '\n';
    await folderWith(old + records(3, 3));
    const store = await createLowStore({ dir, log: silentLogger });
    expect(store.list('events').map((e) => e.id).sort()).toEqual(['e1', 'e2', 'e3']);
    await store.close();
  });
});

describe.skipIf(process.platform === 'win32')('journal writes', () => {
  /** Node's file system, counting datasyncs; `plain` hides that the file was opened with O_DSYNC. */
  const counting = (plain: boolean) => {
    const seen = { datasyncs: 0, flags: [] as (string | number)[] };
    const fs: StoreFs = {
      ...nodeFs,
      async open(path, flags, mode) {
        const handle = await nodeFs.open(path, flags, mode);
        seen.flags.push(flags);
        return {
          durableWrites: plain ? undefined : handle.durableWrites,
          read: (b, o, l, p) => handle.read(b, o, l, p),
          write: (b, o, l, p) => handle.write(b, o, l, p),
          datasync: () => (seen.datasyncs++, handle.datasync()),
          sync: () => handle.sync(),
          truncate: (n) => handle.truncate(n),
          stat: () => handle.stat(),
          close: () => handle.close(),
        };
      },
    };
    return { fs, seen };
  };

  it('open the journal with O_DSYNC and need no datasync after it; a file that cannot say so gets one', async () => {
    for (const plain of [false, true]) {
      await rm(file, { force: true });
      const { fs, seen } = counting(plain);
      const journal = await openJournal(file, 0, fs);
      expect(Number(seen.flags[0]) & constants.O_DSYNC).toBe(constants.O_DSYNC);
      for (let rev = 1; rev <= 3; rev++) await journal.append([JSON.stringify(change(rev))]);
      expect(seen.datasyncs).toBe(plain ? 3 : 0);
      await journal.close();
      expect(revs(await readJournal(file))).toEqual([1, 2, 3]);
    }
  });
});
