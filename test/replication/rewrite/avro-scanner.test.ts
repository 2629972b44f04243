import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { compileRecordScanner, encodeString, encodeVarint, readString, readVarint, readVarintBigint } from '../../../src/replication/rewrite/avro-scanner.ts';

// A schema with every kind of Avro type, named types referred to by name, and the located fields
// after each of them, so a wrong step anywhere puts a span in the wrong place.
const schema = {
  type: 'record',
  name: 'entry',
  namespace: 'test',
  fields: [
    { name: 'flag', type: 'boolean' },
    { name: 'f', type: 'float' },
    { name: 'd', type: 'double' },
    { name: 'color', type: { type: 'enum', name: 'Color', symbols: ['RED', 'GREEN'] } },
    { name: 'hash', type: { type: 'fixed', name: 'Hash', size: 3 } },
    { name: 'tags', type: { type: 'map', values: 'long' } },
    { name: 'bounds', type: ['null', { type: 'array', items: { type: 'record', name: 'kv', fields: [{ name: 'key', type: 'int' }, { name: 'value', type: 'bytes' }] } }] },
    { name: 'again', type: ['null', { type: 'array', items: 'kv' }] },
    { name: 'other', type: 'Hash' },
    { name: 'date', type: { type: 'int', logicalType: 'date' } },
    {
      name: 'file',
      type: {
        type: 'record',
        name: 'file',
        fields: [
          { name: 'path', type: 'string' },
          { name: 'size', type: 'long' },
          { name: 'ref', type: ['null', 'string'] },
        ],
      },
    },
    { name: 'tail', type: 'string' },
  ],
};

const type = avro.Type.forSchema(schema as avro.Schema);
const value = (path: string, size: number, ref: string | null) => ({
  flag: true,
  f: 1.5,
  d: -2.25,
  color: 'GREEN',
  hash: Buffer.from('abc'),
  tags: { a: 1, bb: -300 },
  bounds: [{ key: 1, value: Buffer.from('x') }, { key: 2, value: Buffer.from('yy') }],
  again: null,
  other: Buffer.from('xyz'),
  date: 19000,
  file: { path, size, ref },
  tail: 'end',
});

describe('compileRecordScanner', () => {
  const scanner = compileRecordScanner(schema, ['file.path', 'file.size', 'file.ref', 'tail', 'missing.field']);

  it('finds the spans of the located fields in consecutive records, and the end of each record', () => {
    const records = [value('s3://a/b.parquet', 123456789012, null), value('file:/tmp/ü x', -5, 's3://a/c.parquet')];
    const buf = Buffer.concat(records.map((r) => type.toBuffer(r)));
    const spans = scanner.newSpans();
    let pos = 0;
    for (const record of records) {
      pos = scanner.scan(buf, pos, spans);
      expect(readString(buf, spans[0]!)).toBe(record.file.path);
      expect(readVarintBigint(buf, spans[2]!)).toBe(BigInt(record.file.size));
      const branch = readVarint(buf, spans[4]!);
      expect(branch.value === scanner.nullBranch[2]).toBe(record.file.ref === null);
      if (record.file.ref !== null) expect(readString(buf, branch.end)).toBe(record.file.ref);
      expect(readString(buf, spans[6]!)).toBe('end');
      expect(spans[7]).toBe(pos);
      expect(spans[8]).toBe(-1);
    }
    expect(pos).toBe(buf.length);
  });

  it('splicing new bytes at a span gives a record that decodes with only that field changed', () => {
    const source = type.toBuffer(value('s3://a/b.parquet', 7, null));
    const spans = scanner.newSpans();
    scanner.scan(source, 0, spans);
    const spliced = Buffer.concat([source.subarray(0, spans[0]), encodeString('gs://elsewhere/b.parquet'), source.subarray(spans[1])]);
    expect(type.fromBuffer(spliced)).toEqual(type.fromBuffer(type.toBuffer(value('gs://elsewhere/b.parquet', 7, null))));
  });

  it('steps over array and map blocks written with a byte size (negative count)', () => {
    // avsc writes plain blocks; Java writers may write [-count, size, items...]: build one by hand.
    const plain = type.toBuffer(value('p', 1, null));
    const spans = scanner.newSpans();
    scanner.scan(plain, 0, spans);
    // Re-encode `bounds` (union branch 1, then the array) as one sized block.
    const items = Buffer.concat([encodeVarint(1), encodeString('x'), encodeVarint(2), encodeString('yy')]);
    const boundsSized = Buffer.concat([encodeVarint(1), encodeVarint(-2), encodeVarint(items.length), items, encodeVarint(0)]);
    const boundsPlain = Buffer.concat([encodeVarint(1), encodeVarint(2), items, encodeVarint(0)]);
    const at = plain.indexOf(boundsPlain);
    expect(at).toBeGreaterThan(0);
    const sized = Buffer.concat([plain.subarray(0, at), boundsSized, plain.subarray(at + boundsPlain.length)]);
    const end = scanner.scan(sized, 0, spans);
    expect(end).toBe(sized.length);
    expect(readString(sized, spans[0]!)).toBe('p');
  });

  it('fails on a truncated record instead of reading past it', () => {
    const buf = type.toBuffer(value('s3://a/b.parquet', 7, null));
    for (const cut of [1, 5, buf.length - 1]) {
      expect(() => scanner.scan(buf.subarray(0, cut), 0, scanner.newSpans())).toThrow(/past the end/);
    }
  });

  it('refuses a fixed type whose size is not a non-negative integer (the schema is never run as code)', () => {
    for (const size of ['1; globalThis.injected = 1; 0', -1, 1.5, undefined]) {
      expect(() => compileRecordScanner({ type: 'record', name: 'r', fields: [{ name: 'h', type: { type: 'fixed', name: 'H', size } }] }, ['h'])).toThrow(/fixed size/);
    }
    expect((globalThis as { injected?: number }).injected).toBeUndefined();
  });

  it('fails on a union branch that does not exist and on an unknown type name', () => {
    const buf = type.toBuffer(value('p', 1, null));
    const spans = scanner.newSpans();
    scanner.scan(buf, 0, spans);
    const bad = Buffer.from(buf);
    bad[spans[4]!] = 0x08; // branch 4 of a two-branch union
    expect(() => scanner.scan(bad, 0, spans)).toThrow(/union branch 4/);
    expect(() => compileRecordScanner({ type: 'record', name: 'r', fields: [{ name: 'x', type: 'nope' }] }, [])).toThrow(/unknown type name 'nope'/);
  });

  it('reads and writes varints across the 64-bit range', () => {
    for (const n of [0n, 1n, -1n, 63n, -64n, 2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n]) {
      expect(readVarintBigint(encodeVarint(n), 0)).toBe(n);
    }
    expect(readVarint(encodeVarint(-123456789), 0).value).toBe(-123456789);
  });
});
