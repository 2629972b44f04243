/**
 * Reading and re-writing Avro object container files so that only record values can change.
 *
 * The header (magic, key-value metadata including `avro.schema` byte for byte, sync marker) is kept
 * as the exact source bytes, and records are re-encoded into blocks of the same sizes as the source
 * with the source codec. avsc's own BlockEncoder cannot do this: it re-serializes `avro.schema`
 * from the parsed schema, which may reorder or reformat the JSON Iceberg readers resolve field ids
 * from. Longs decode to bigint (Iceberg ids and sizes are 64-bit), exactly as avro-file.ts does.
 */
import avro from 'avsc';
import { typeWithBigintLongs } from '../../iceberg/avro-file.ts';
import { avroCodec } from './avro-codecs.ts';

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1

export type AvroRecord = Record<string, unknown>;

export interface AvroContainer {
  location: string;
  type: avro.Type;
  codec: string;
  /** Header key-value metadata in file order, avro.* keys included. */
  metadata: Map<string, Buffer>;
  /** The exact header bytes (magic, metadata, sync marker). */
  header: Buffer;
  sync: Buffer;
  /** Records per block, in file order. */
  blocks: AvroRecord[][];
}

class Cursor {
  pos = 0;
  constructor(readonly buf: Buffer, readonly location: string) {}

  long(): number {
    let n = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw this.error('truncated varint');
      const b = this.buf[this.pos++]!;
      n |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7n;
    }
    const value = (n >> 1n) ^ -(n & 1n);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw this.error('length out of range');
    return Number(value);
  }

  bytes(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw this.error('truncated');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  error(detail: string): Error {
    return new Error(`Cannot read Avro file ${this.location}: ${detail} at byte ${this.pos}`);
  }
}

function encodeLong(value: number): Buffer {
  let n = (BigInt(value) << 1n) ^ (BigInt(value) >> 63n);
  const out: number[] = [];
  do {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    out.push(n > 0n ? b | 0x80 : b);
  } while (n > 0n);
  return Buffer.from(out);
}

export function readAvroContainer(bytes: Uint8Array, location: string): AvroContainer {
  const c = new Cursor(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), location);
  if (!c.bytes(4).equals(MAGIC)) throw c.error('not an Avro container file (bad magic)');
  const metadata = new Map<string, Buffer>();
  for (let count = c.long(); count !== 0; count = c.long()) {
    if (count < 0) c.long(); // a negative count is followed by the block's byte size
    for (let i = 0; i < Math.abs(count); i++) {
      const key = c.bytes(c.long()).toString('utf8');
      metadata.set(key, Buffer.from(c.bytes(c.long())));
    }
  }
  const sync = Buffer.from(c.bytes(16));
  const header = Buffer.from(c.buf.subarray(0, c.pos));
  const schemaBytes = metadata.get('avro.schema');
  if (!schemaBytes) throw c.error('no avro.schema in header');
  const codec = metadata.get('avro.codec')?.toString('utf8') || 'null';
  const decompress = avroCodec(codec, location);
  const type = typeWithBigintLongs(JSON.parse(schemaBytes.toString('utf8')) as avro.Schema);
  const blocks: AvroRecord[][] = [];
  while (c.pos < c.buf.length) {
    const count = c.long();
    const data = decompress.decompress(c.bytes(c.long()));
    if (!c.bytes(16).equals(sync)) throw c.error('sync marker mismatch');
    const records: AvroRecord[] = [];
    let pos = 0;
    for (let i = 0; i < count; i++) {
      const { value, offset } = type.decode(data, pos);
      if (offset < 0) throw c.error(`block record ${i} is truncated`);
      records.push(value as AvroRecord);
      pos = offset;
    }
    if (pos !== data.length) throw c.error('block has bytes after its last record');
    blocks.push(records);
  }
  return { location, type, codec, metadata, header, sync, blocks };
}

/** Encodes `blocks` (same shape as the source's) under the source header, sync marker and codec. */
export function writeAvroContainer(source: AvroContainer, blocks: AvroRecord[][]): Buffer {
  const codec = avroCodec(source.codec, source.location);
  const parts: Buffer[] = [source.header];
  for (const records of blocks) {
    if (records.length === 0) continue;
    const data = codec.compress(Buffer.concat(records.map((r) => encodeRecord(source, r))));
    parts.push(encodeLong(records.length), encodeLong(data.length), data, source.sync);
  }
  return Buffer.concat(parts);
}

function encodeRecord(source: AvroContainer, record: AvroRecord): Buffer {
  const errors: string[] = [];
  const valid = source.type.isValid(record, { errorHook: (path) => errors.push(path.join('.')) });
  if (!valid) throw new Error(`Cannot write Avro file for ${source.location}: invalid value at ${errors.join(', ')}`);
  return source.type.toBuffer(record);
}

export function allRecords(container: AvroContainer): AvroRecord[] {
  return container.blocks.flat();
}
