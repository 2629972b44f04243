import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readStruct, struct, ThriftError, TType, writeStruct, i32, i64, binary, bool, list, type TValue } from '../../../src/replication/rewrite/thrift-compact.ts';
import { POSITION_DELETE_FIXTURES } from './fixtures.ts';

const sparkDeleteFiles = (() => {
  const dir = new URL('../../fixtures/replication/spark_v2_mor/data/', import.meta.url);
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.parquet')).map((f) => readFileSync(new URL(f, dir)));
})();
const parquetFiles = [...sparkDeleteFiles, ...POSITION_DELETE_FIXTURES.names().map((n) => readFileSync(POSITION_DELETE_FIXTURES.folder + n))];

describe('Thrift Compact Protocol', () => {
  it('reads and writes back every fixture Parquet footer byte for byte (parquet-mr and pyarrow)', () => {
    expect(parquetFiles.length).toBeGreaterThanOrEqual(6);
    for (const file of parquetFiles) {
      const length = file.readUInt32LE(file.length - 8);
      const footer = file.subarray(file.length - 8 - length, file.length - 8);
      const { struct: parsed, end } = readStruct(footer);
      expect(end).toBe(footer.length);
      expect(writeStruct(parsed).equals(footer)).toBe(true);
    }
  });

  it('round-trips every type: long field-id deltas, negative and 64-bit integers, doubles, maps, sets, bool lists, nesting', () => {
    const double = Buffer.alloc(8);
    double.writeDoubleLE(-1.5);
    const value = struct({
      1: bool(true),
      2: bool(false),
      3: { type: TType.BYTE, value: -7 },
      4: { type: TType.I16, value: -300 },
      20: i32(-2147483648),
      21: i64(-(2n ** 63n)),
      22: i64(2n ** 63n - 1n),
      23: { type: TType.DOUBLE, bytes: double },
      40: binary(Buffer.from('é€😀')),
      41: list(TType.I32, Array.from({ length: 20 }, (_, i) => i32(i * 1000))),
      42: { type: TType.SET, elementType: TType.BINARY, values: [binary(Buffer.from('a'))] },
      43: { type: TType.MAP, keyType: TType.BINARY, valueType: TType.STRUCT, entries: [[binary(Buffer.from('k')), struct({ 1: i64(1) })]] },
      44: { type: TType.MAP, keyType: 0, valueType: 0, entries: [] },
      45: list(TType.BOOL, [bool(true), bool(false)]),
      1000: struct({ 7: struct({ 1: list(TType.STRUCT, [struct({}), struct({ 2: i32(5) })]) }) }),
    });
    const bytes = writeStruct(value);
    const back = readStruct(bytes);
    expect(back.end).toBe(bytes.length);
    expect(back.struct).toStrictEqual(value);
    expect(writeStruct(back.struct).equals(bytes)).toBe(true);
    const get = (id: number) => back.struct.fields.find((f) => f.id === id)!.value;
    expect(get(21)).toStrictEqual(i64(-(2n ** 63n)));
    expect(get(20)).toStrictEqual(i32(-2147483648));
    expect((get(40) as Extract<TValue, { type: 8 }>).value.toString()).toBe('é€😀');
    expect(Buffer.from((get(23) as Extract<TValue, { type: 7 }>).bytes).readDoubleLE()).toBe(-1.5);
  });

  it('fails on truncated input and unknown types', () => {
    const bytes = writeStruct(struct({ 1: binary(Buffer.from('hello')), 2: i64(5) }));
    expect(() => readStruct(bytes.subarray(0, 4))).toThrowError(ThriftError);
    expect(() => readStruct(Buffer.from([0x1d]))).toThrowError('unknown Thrift type 13');
    expect(() => readStruct(Buffer.from([0x19, 0xf8, 0xff, 0xff, 0xff, 0x0f]))).toThrowError(/runs past the end/);
  });
});
