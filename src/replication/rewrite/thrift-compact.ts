/**
 * Thrift Compact Protocol, read and written as a typed tree, for editing Parquet footers and page
 * headers without losing anything.
 *
 * Parquet libraries decode the footer into their own objects and write back only the fields they
 * know, with wire types they infer (an i16 can come back as an i32; a field added to parquet.thrift
 * after the library was written disappears). A footer edited that way can lose what the writer put
 * there. This module keeps every field with its wire type and its value exactly (binary stays
 * bytes, i64 stays bigint, a double stays its 8 bytes), so reading and writing an unedited footer
 * gives back the same bytes, and an edit changes only the fields it names.
 *
 * Wire format: https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md
 */

export const TType = {
  BOOL: 1, // in a field header: 1 = true, 2 = false; as a list element: one byte
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
} as const;

export type TValue =
  | { type: typeof TType.BOOL; value: boolean }
  | { type: typeof TType.BYTE | typeof TType.I16 | typeof TType.I32; value: number }
  | { type: typeof TType.I64; value: bigint }
  | { type: typeof TType.DOUBLE; bytes: Uint8Array }
  | { type: typeof TType.BINARY; value: Uint8Array }
  | { type: typeof TType.LIST | typeof TType.SET; elementType: number; values: TValue[] }
  | { type: typeof TType.MAP; keyType: number; valueType: number; entries: [TValue, TValue][] }
  | TStruct;

export interface TStruct {
  type: typeof TType.STRUCT;
  /** In wire order (ascending ids as every Thrift writer emits them; setField keeps that). */
  fields: TField[];
}

export interface TField {
  id: number;
  value: TValue;
}

export class ThriftError extends Error {
  override readonly name = 'ThriftError';
}

const MAX_DEPTH = 64;

/** Reads one struct at `offset`; returns it and the offset after it. */
export function readStruct(bytes: Uint8Array, offset = 0): { struct: TStruct; end: number } {
  const reader = new Reader(bytes, offset);
  const struct = reader.struct(0);
  return { struct, end: reader.pos };
}

export function writeStruct(struct: TStruct): Buffer {
  const writer = new Writer();
  writer.struct(struct);
  return writer.bytes();
}

class Reader {
  constructor(private readonly buf: Uint8Array, public pos: number) {}

  private byte(): number {
    if (this.pos >= this.buf.length) throw new ThriftError(`truncated Thrift data at byte ${this.pos}`);
    return this.buf[this.pos++]!;
  }

  private varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
      shift += 7n;
      if (shift > 63n) throw new ThriftError(`varint too long at byte ${this.pos}`);
    }
  }

  private zigzag(): bigint {
    const n = this.varint();
    return (n >> 1n) ^ -(n & 1n);
  }

  private int(bits: number): number {
    const n = this.zigzag();
    if (n < -(2n ** BigInt(bits - 1)) || n >= 2n ** BigInt(bits - 1)) throw new ThriftError(`i${bits} out of range at byte ${this.pos}`);
    return Number(n);
  }

  private take(length: number): Uint8Array {
    if (length < 0 || this.pos + length > this.buf.length) throw new ThriftError(`truncated Thrift data: ${length} bytes wanted at byte ${this.pos}`);
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  struct(depth: number): TStruct {
    if (depth > MAX_DEPTH) throw new ThriftError('Thrift structs nested too deeply');
    const fields: TField[] = [];
    let lastId = 0;
    for (;;) {
      const header = this.byte();
      if (header === 0) return { type: TType.STRUCT, fields };
      const type = header & 0x0f;
      const delta = header >> 4;
      const id = delta === 0 ? this.int(16) : lastId + delta;
      lastId = id;
      if (type === 1 || type === 2) fields.push({ id, value: { type: TType.BOOL, value: type === 1 } });
      else fields.push({ id, value: this.value(type, depth) });
    }
  }

  value(type: number, depth: number): TValue {
    switch (type) {
      case TType.BOOL:
        return { type, value: this.byte() === 1 };
      case TType.BYTE: {
        const b = this.byte();
        return { type, value: b > 127 ? b - 256 : b };
      }
      case TType.I16:
        return { type, value: this.int(16) };
      case TType.I32:
        return { type, value: this.int(32) };
      case TType.I64:
        return { type, value: this.zigzag() };
      case TType.DOUBLE:
        return { type, bytes: this.take(8) };
      case TType.BINARY:
        return { type, value: this.take(Number(this.varint())) };
      case TType.LIST:
      case TType.SET: {
        const header = this.byte();
        const size = header >> 4 === 15 ? Number(this.varint()) : header >> 4;
        const elementType = header & 0x0f;
        if (size > this.buf.length - this.pos) throw new ThriftError(`list of ${size} elements runs past the end`);
        const values: TValue[] = [];
        for (let i = 0; i < size; i++) values.push(this.value(elementType, depth + 1));
        return { type, elementType, values };
      }
      case TType.MAP: {
        const size = Number(this.varint());
        if (size === 0) return { type, keyType: 0, valueType: 0, entries: [] };
        const kv = this.byte();
        const entries: [TValue, TValue][] = [];
        if (size > this.buf.length - this.pos) throw new ThriftError(`map of ${size} entries runs past the end`);
        for (let i = 0; i < size; i++) entries.push([this.value(kv >> 4, depth + 1), this.value(kv & 0x0f, depth + 1)]);
        return { type, keyType: kv >> 4, valueType: kv & 0x0f, entries };
      }
      case TType.STRUCT:
        return this.struct(depth + 1);
      default:
        throw new ThriftError(`unknown Thrift type ${type} at byte ${this.pos}`);
    }
  }
}

class Writer {
  private chunks: number[] = [];
  private parts: Uint8Array[] = [];

  private flush(): void {
    if (this.chunks.length) this.parts.push(Uint8Array.from(this.chunks));
    this.chunks = [];
  }

  bytes(): Buffer {
    this.flush();
    return Buffer.concat(this.parts);
  }

  private byte(b: number): void {
    this.chunks.push(b & 0xff);
  }

  private raw(bytes: Uint8Array): void {
    this.flush();
    this.parts.push(bytes);
  }

  private varint(n: bigint): void {
    let v = n;
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }

  private zigzag(n: bigint): void {
    this.varint(n >= 0n ? n << 1n : ((-n) << 1n) - 1n);
  }

  struct(struct: TStruct): void {
    let lastId = 0;
    for (const { id, value } of struct.fields) {
      const wireType = value.type === TType.BOOL ? (value.value ? 1 : 2) : value.type;
      const delta = id - lastId;
      if (delta > 0 && delta <= 15) this.byte((delta << 4) | wireType);
      else {
        this.byte(wireType);
        this.zigzag(BigInt(id));
      }
      lastId = id;
      if (value.type !== TType.BOOL) this.value(value);
    }
    this.byte(0);
  }

  value(value: TValue): void {
    switch (value.type) {
      case TType.BOOL:
        return this.byte(value.value ? 1 : 2);
      case TType.BYTE:
        return this.byte(value.value);
      case TType.I16:
      case TType.I32:
        return this.zigzag(BigInt(value.value));
      case TType.I64:
        return this.zigzag(value.value);
      case TType.DOUBLE:
        return this.raw(value.bytes);
      case TType.BINARY:
        this.varint(BigInt(value.value.length));
        return this.raw(value.value);
      case TType.LIST:
      case TType.SET:
        if (value.values.length < 15) this.byte((value.values.length << 4) | value.elementType);
        else {
          this.byte(0xf0 | value.elementType);
          this.varint(BigInt(value.values.length));
        }
        for (const v of value.values) this.value(v);
        return;
      case TType.MAP:
        this.varint(BigInt(value.entries.length));
        if (value.entries.length === 0) return;
        this.byte((value.keyType << 4) | value.valueType);
        for (const [k, v] of value.entries) {
          this.value(k);
          this.value(v);
        }
        return;
      case TType.STRUCT:
        return this.struct(value);
    }
  }
}

// Accessors and constructors for editing a tree.

export function getField(struct: TStruct, id: number): TValue | undefined {
  return struct.fields.find((f) => f.id === id)?.value;
}

/** Sets (or adds, keeping ids ascending) a field. */
export function setField(struct: TStruct, id: number, value: TValue): void {
  const existing = struct.fields.find((f) => f.id === id);
  if (existing) existing.value = value;
  else {
    struct.fields.push({ id, value });
    struct.fields.sort((a, b) => a.id - b.id);
  }
}

export function removeField(struct: TStruct, id: number): void {
  struct.fields = struct.fields.filter((f) => f.id !== id);
}

export function i32(value: number): TValue {
  return { type: TType.I32, value };
}
export function i64(value: bigint | number): TValue {
  return { type: TType.I64, value: BigInt(value) };
}
export function binary(value: Uint8Array): TValue {
  return { type: TType.BINARY, value };
}
export function bool(value: boolean): TValue {
  return { type: TType.BOOL, value };
}
export function struct(fields: Record<number, TValue | undefined>): TStruct {
  return {
    type: TType.STRUCT,
    fields: Object.entries(fields)
      .filter((e): e is [string, TValue] => e[1] !== undefined)
      .map(([id, value]) => ({ id: Number(id), value }))
      .sort((a, b) => a.id - b.id),
  };
}
export function list(elementType: number, values: TValue[]): TValue {
  return { type: TType.LIST, elementType, values };
}

/** Typed reads that fail with a message naming what was expected. */
export function asStruct(value: TValue | undefined, what: string): TStruct {
  if (value?.type !== TType.STRUCT) throw new ThriftError(`${what}: expected a struct`);
  return value;
}
export function asList(value: TValue | undefined, what: string): TValue[] {
  if (value?.type !== TType.LIST && value?.type !== TType.SET) throw new ThriftError(`${what}: expected a list`);
  return value.values;
}
export function asInt(value: TValue | undefined, what: string): number {
  if (value?.type === TType.I64) return Number(value.value);
  if (value?.type === TType.I32 || value?.type === TType.I16 || value?.type === TType.BYTE) return value.value;
  throw new ThriftError(`${what}: expected an integer`);
}
export function asOptionalInt(value: TValue | undefined, what: string): number | undefined {
  return value === undefined ? undefined : asInt(value, what);
}
export function asBinary(value: TValue | undefined, what: string): Uint8Array {
  if (value?.type !== TType.BINARY) throw new ThriftError(`${what}: expected a binary`);
  return value.value;
}
