import { describe, expect, it } from 'vitest';
import { avroCodec } from '../../../src/replication/rewrite/avro-codecs.ts';
import { crc32, snappyCompressLiteral, snappyUncompress } from '../../../src/replication/rewrite/snappy.ts';

// No real Iceberg writer in this repo's toolchain emits snappy manifests (Java always uses gzip for
// manifests; PyIceberg needs python-snappy), so the codec is checked against the format itself.
describe('snappy Avro codec', () => {
  it('computes the standard CRC-32', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('decodes literals and overlapping copies', () => {
    // "abc" literal, then a 1-byte-offset copy of length 6 at offset 3.
    expect(snappyUncompress(Buffer.from([9, 0x08, 0x61, 0x62, 0x63, 0x09, 0x03])).toString()).toBe('abcabcabc');
  });

  it('round-trips blocks of every literal-length encoding through the Avro codec (with the CRC)', () => {
    const codec = avroCodec('snappy', 'test.avro');
    for (const size of [0, 1, 59, 60, 61, 255, 256, 65536, 70000]) {
      const data = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7) & 0xff));
      expect(snappyUncompress(snappyCompressLiteral(data)).equals(data)).toBe(true);
      expect(codec.decompress(codec.compress(data)).equals(data)).toBe(true);
    }
    const block = codec.compress(Buffer.from('x'));
    block.writeUInt8(block.readUInt8(block.length - 1) ^ 1, block.length - 1);
    expect(() => codec.decompress(block)).toThrowError(/checksum/);
  });
});
