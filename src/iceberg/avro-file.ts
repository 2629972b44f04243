/**
 * Reading Avro object container files (manifest lists, manifests) with avsc.
 *
 * Iceberg's longs (snapshot ids, sequence numbers, sizes) are 64-bit, and avsc's default long
 * throws on values beyond 2^53, so every file is decoded with a BigInt-backed long type. The
 * file's key-value metadata (`schema`, `partition-spec`, `format-version`, `content`) is returned
 * too, because a rewritten file must carry it unchanged.
 */
import avro from 'avsc';
import { Readable } from 'node:stream';

/** Avro `long` decoded to bigint: use it for every Iceberg Avro file. */
export const bigintLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint | number) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (n: number | string) => BigInt(n),
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

/**
 * An avsc type for an Avro schema with every `long` decoded to bigint. The registry entry covers
 * `"long"` written as a name; the hook covers `{"type": "long"}` written as an object (DuckDB
 * writes its manifests so), which avsc would otherwise build as its own, lossy long.
 */
export function typeWithBigintLongs(schema: avro.Schema): avro.Type {
  return avro.Type.forSchema(schema, {
    registry: { long: bigintLong },
    typeHook: (s: avro.Schema) => (typeof s === 'object' && s !== null && !Array.isArray(s) && (s as { type?: unknown }).type === 'long' ? bigintLong : undefined),
  });
}

export interface AvroFile {
  type: avro.Type;
  codec: string;
  /** The header's key-value metadata, avro.* keys included. */
  metadata: Record<string, Buffer>;
  records: Record<string, unknown>[];
}

/** Decodes a whole Avro container file held in memory. Codecs: null and deflate. */
export async function readAvroFile(bytes: Uint8Array, location: string): Promise<AvroFile> {
  const decoder = new avro.streams.BlockDecoder({
    parseHook: typeWithBigintLongs,
  });
  let header: { type: avro.Type; codec: string; metadata: Record<string, Buffer> } | undefined;
  decoder.on('metadata', (type: avro.Type, codec: string, h: { meta: Record<string, Buffer> }) => {
    header = { type, codec, metadata: h.meta };
  });
  const records: Record<string, unknown>[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      decoder.on('data', (record: Record<string, unknown>) => records.push(record));
      decoder.on('end', () => resolve());
      decoder.on('error', reject);
      Readable.from([Buffer.from(bytes)]).pipe(decoder);
    });
  } catch (error) {
    throw new Error(`Cannot read Avro file ${location}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (!header) throw new Error(`Cannot read Avro file ${location}: no header`);
  return { ...header, records };
}
