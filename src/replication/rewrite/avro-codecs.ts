/**
 * Block codecs for Avro container files: null, deflate (raw DEFLATE, what Iceberg's default
 * `gzip` manifest compression writes) and snappy. Anything else (zstd, bzip2, xz) fails with the
 * file and codec named rather than producing a file some reader cannot open.
 */
import { promisify } from 'node:util';
import { deflateRaw, deflateRawSync, inflateRaw, inflateRawSync } from 'node:zlib';
import { crc32, snappyCompressLiteral, snappyUncompress } from './snappy.ts';

export interface AvroCodec {
  decompress(block: Buffer): Buffer;
  compress(block: Buffer): Buffer;
  /**
   * The same off the main thread where the codec allows it (deflate runs on libuv's thread pool),
   * so manifests being rewritten side by side compress on other cores.
   */
  decompressAsync(block: Buffer): Promise<Buffer>;
  compressAsync(block: Buffer): Promise<Buffer>;
}

const deflateRawAsync = promisify(deflateRaw);
const inflateRawAsync = promisify(inflateRaw);

type SyncCodec = Pick<AvroCodec, 'decompress' | 'compress'>;

const SYNC_CODECS: Record<string, SyncCodec> = {
  null: { decompress: (b) => b, compress: (b) => b },
  deflate: { decompress: (b) => inflateRawSync(b), compress: (b) => deflateRawSync(b) },
  snappy: {
    decompress(b) {
      const data = snappyUncompress(b.subarray(0, b.length - 4));
      if (crc32(data) !== b.readUInt32BE(b.length - 4)) throw new Error('snappy block checksum mismatch');
      return data;
    },
    compress(b) {
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(b));
      return Buffer.concat([snappyCompressLiteral(b), crc]);
    },
  },
};

const CODECS: Record<string, AvroCodec> = Object.fromEntries(
  Object.entries(SYNC_CODECS).map(([name, codec]) => [
    name,
    {
      ...codec,
      decompressAsync: name === 'deflate' ? (b: Buffer) => inflateRawAsync(b) : async (b: Buffer) => codec.decompress(b),
      compressAsync: name === 'deflate' ? (b: Buffer) => deflateRawAsync(b) : async (b: Buffer) => codec.compress(b),
    },
  ]),
);

export function avroCodec(name: string, location: string): AvroCodec {
  const codec = Object.hasOwn(CODECS, name) ? CODECS[name] : undefined;
  if (!codec) throw new Error(`Avro file ${location} uses codec "${name}", which is not supported (supported: ${Object.keys(CODECS).join(', ')})`);
  return codec;
}
