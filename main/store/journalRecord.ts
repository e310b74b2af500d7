import * as zlib from 'node:zlib';

/**
 * A journal record: one change as a JSON line, with its length and checksum in front,
 * `{"crc":"1a2b3c4d","len":245,"rev":…}`, so that recovery tells a whole record from one the disk
 * cut short, garbled or zeroed. The line stays JSON (with two extra keys), so the file can still
 * be read by a person or `jq`. Lines without the two keys (journals of earlier versions) are read
 * as they are.
 */
const FRAMED = /^\{"crc":"([0-9a-f]{8})","len":(\d{1,10}),/;

// zlib.crc32 came with Node 20.15 and 22.2; before that, a table.
const crc32: (data: string | Uint8Array) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? (zlib as unknown as { crc32(d: string | Uint8Array): number }).crc32 : tableCrc32;

/** The record for one change's JSON (which starts with '{'). */
export function frameRecord(json: string): string {
  return `{"crc":"${crc32(json).toString(16).padStart(8, '0')}","len":${Buffer.byteLength(json)},${json.slice(1)}`;
}

/**
 * The change's JSON in a record, and why the record is not whole if it is not (its length or
 * checksum disagree). A line without a frame is taken as it is.
 */
export function unframeRecord(line: Buffer): { json: string; why?: string } {
  const head = FRAMED.exec(line.toString('latin1', 0, 40));
  if (!head) return { json: line.toString('utf8') };
  const json = `{${line.toString('utf8', head[0].length)}`;
  if (Buffer.byteLength(json) !== Number(head[2])) return { json, why: 'its length does not match' };
  if (crc32(json) !== parseInt(head[1]!, 16)) return { json, why: 'its checksum does not match' };
  return { json };
}

/** Whether `bytes` is exactly one framed record, whole: the frame's length and checksum agree. */
export function isWholeRecord(bytes: Buffer): boolean {
  return FRAMED.test(bytes.toString('latin1', 0, 40)) && unframeRecord(bytes).why === undefined;
}

let table: Uint32Array | undefined;
function tableCrc32(data: string | Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let crc = 0xffffffff;
  for (const b of bytes) crc = table[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
