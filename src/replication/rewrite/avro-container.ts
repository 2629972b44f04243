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
import { encodeVarint } from './avro-scanner.ts';

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


/**
 * Compiled types by schema text. Compiling one (avsc generates code per record type) costs more
 * than decoding a small manifest, and a table's manifests share a handful of schemas (one per
 * partition spec and format version), so each is compiled once per process.
 */
const compiledTypes = new Map<string, avro.Type>();
const MAX_COMPILED_TYPES = 256;

export function typeForSchema(schemaText: string): avro.Type {
  let type = compiledTypes.get(schemaText);
  if (!type) {
    type = typeWithBigintLongs(JSON.parse(schemaText) as avro.Schema);
    // Evicts the oldest when full: a bound for a process that sees many tables' schemas.
    if (compiledTypes.size >= MAX_COMPILED_TYPES) compiledTypes.delete(compiledTypes.keys().next().value!);
    compiledTypes.set(schemaText, type);
  }
  return type;
}

/** A container file's header and its blocks, decompressed but not decoded. */
export interface AvroBlocks {
  location: string;
  codec: string;
  /** Header key-value metadata in file order, avro.* keys included. */
  metadata: Map<string, Buffer>;
  /** The exact header bytes (magic, metadata, sync marker). */
  header: Buffer;
  sync: Buffer;
  /** The writer's schema, as the header holds it. */
  schema: unknown;
  schemaText: string;
  blocks: { count: number; data: Buffer }[];
}

export function readAvroBlocks(bytes: Uint8Array, location: string): AvroBlocks {
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
  const schemaText = schemaBytes.toString('utf8');
  const blocks: AvroBlocks['blocks'] = [];
  while (c.pos < c.buf.length) {
    const count = c.long();
    const data = decompress.decompress(c.bytes(c.long()));
    if (!c.bytes(16).equals(sync)) throw c.error('sync marker mismatch');
    blocks.push({ count, data });
  }
  return { location, codec, metadata, header, sync, schema: parsedSchema(schemaText), schemaText, blocks };
}

/** Writes blocks of encoded records under the source's header, sync marker and codec. */
export function writeAvroBlocks(source: Pick<AvroBlocks, 'header' | 'sync' | 'codec' | 'location'>, blocks: { count: number; data: Buffer }[]): Buffer {
  const codec = avroCodec(source.codec, source.location);
  const parts: Buffer[] = [source.header];
  for (const { count, data } of blocks) {
    if (count === 0) continue;
    const compressed = codec.compress(data);
    parts.push(encodeVarint(count), encodeVarint(compressed.length), compressed, source.sync);
  }
  return Buffer.concat(parts);
}

const parsedSchemas = new Map<string, unknown>();

function parsedSchema(schemaText: string): unknown {
  let schema = parsedSchemas.get(schemaText);
  if (schema === undefined) {
    schema = JSON.parse(schemaText);
    if (parsedSchemas.size >= MAX_COMPILED_TYPES) parsedSchemas.delete(parsedSchemas.keys().next().value!);
    parsedSchemas.set(schemaText, schema);
  }
  return schema;
}

/** Decodes one record of `type` at `pos` of a block, with the file named in errors. */
export function decodeRecord(type: avro.Type, data: Buffer, pos: number, location: string): { value: AvroRecord; offset: number } {
  const { value, offset } = type.decode(data, pos);
  if (offset < 0) throw new Error(`Cannot read Avro file ${location}: a record at block byte ${pos} is truncated`);
  return { value: value as AvroRecord, offset };
}

export function readAvroContainer(bytes: Uint8Array, location: string): AvroContainer {
  const file = readAvroBlocks(bytes, location);
  const type = typeForSchema(file.schemaText);
  const blocks = file.blocks.map(({ count, data }) => {
    const records: AvroRecord[] = [];
    let pos = 0;
    for (let i = 0; i < count; i++) {
      const { value, offset } = decodeRecord(type, data, pos, location);
      records.push(value);
      pos = offset;
    }
    if (pos !== data.length) throw new Error(`Cannot read Avro file ${location}: a block has bytes after its last record`);
    return records;
  });
  return { location, type, codec: file.codec, metadata: file.metadata, header: file.header, sync: file.sync, blocks };
}

/** Encodes `blocks` (same shape as the source's) under the source header, sync marker and codec. */
export function writeAvroContainer(source: AvroContainer, blocks: AvroRecord[][]): Buffer {
  return writeAvroBlocks(source, blocks.map((records) => ({ count: records.length, data: Buffer.concat(records.map((r) => encodeRecord(source, r))) })));
}

export function encodeRecord(source: Pick<AvroContainer, 'type' | 'location'>, record: AvroRecord): Buffer {
  const errors: string[] = [];
  const valid = source.type.isValid(record, { errorHook: (path) => errors.push(path.join('.')) });
  if (!valid) throw new Error(`Cannot write Avro file for ${source.location}: invalid value at ${errors.join(', ')}`);
  return source.type.toBuffer(record);
}

export function allRecords(container: AvroContainer): AvroRecord[] {
  return container.blocks.flat();
}
