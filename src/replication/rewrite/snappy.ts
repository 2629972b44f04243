/**
 * The Avro `snappy` codec without a native dependency: each block is a raw Snappy stream followed
 * by the big-endian CRC-32 of the uncompressed bytes (Avro spec, "Object Container Files").
 *
 * Decompression is the full Snappy format. Compression emits literal-only Snappy (a valid stream
 * every decoder reads, just not smaller): manifests are a few KB, so the lost compression does not
 * matter and there is no compressor to get wrong. A package such as `snappyjs` could replace this.
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new Error('snappy: truncated length');
    const b = buf[pos++]!;
    result += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [result, pos];
    shift += 7;
    if (shift > 35) throw new Error('snappy: length varint too long');
  }
}

export function snappyUncompress(input: Uint8Array): Buffer {
  const [length, start] = readVarint(input, 0);
  const out = Buffer.alloc(length);
  let pos = start;
  let o = 0;
  while (pos < input.length) {
    const tag = input[pos++]!;
    const type = tag & 3;
    if (type === 0) {
      let len = tag >>> 2;
      if (len >= 60) {
        const bytes = len - 59;
        len = 0;
        for (let i = 0; i < bytes; i++) len |= input[pos + i]! << (8 * i);
        pos += bytes;
        len >>>= 0;
      }
      len += 1;
      if (pos + len > input.length || o + len > length) throw new Error('snappy: literal out of range');
      out.set(input.subarray(pos, pos + len), o);
      pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (type === 1) {
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | input[pos++]!;
    } else if (type === 2) {
      len = (tag >>> 2) + 1;
      offset = input[pos]! | (input[pos + 1]! << 8);
      pos += 2;
    } else {
      len = (tag >>> 2) + 1;
      offset = (input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16) | (input[pos + 3]! << 24)) >>> 0;
      pos += 4;
    }
    if (offset === 0 || offset > o || o + len > length) throw new Error('snappy: bad copy');
    // Byte by byte: copies may overlap their own output (run-length style).
    for (let i = 0; i < len; i++, o++) out[o] = out[o - offset]!;
  }
  if (o !== length) throw new Error(`snappy: expected ${length} bytes, got ${o}`);
  return out;
}

export function snappyCompressLiteral(input: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  const header: number[] = [];
  let n = input.length;
  do {
    header.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  parts.push(Buffer.from(header));
  const CHUNK = 65536;
  for (let pos = 0; pos < input.length; pos += CHUNK) {
    const chunk = input.subarray(pos, Math.min(pos + CHUNK, input.length));
    const len = chunk.length - 1;
    // Tag 61 (60 + 1 in the upper six bits) means a two-byte little-endian length follows.
    parts.push(len < 60 ? Buffer.from([len << 2]) : Buffer.from([61 << 2, len & 0xff, len >>> 8]), Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}
