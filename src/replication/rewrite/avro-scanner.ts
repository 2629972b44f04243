/**
 * Walking Avro-encoded records without decoding them, to find where a few fields' bytes are.
 *
 * Rewriting a manifest for a destination changes one string per entry (the file path) in records
 * of dozens of values (partition, per-column metrics, bounds). Decoding every value into objects
 * and encoding it again costs about twenty times more than stepping over the bytes, so the
 * rewriter walks each record with a scanner compiled from the file's schema, notes the byte spans
 * of the fields it asked for, and splices new bytes in at those spans only; every other byte is
 * copied as the source wrote it.
 *
 * A scanner checks every length against the buffer it walks, so a truncated or corrupt block fails
 * with an error instead of reading past its end.
 */

type Schema = string | SchemaObject | Schema[];
interface SchemaObject {
  type: Schema;
  name?: string;
  namespace?: string;
  fields?: { name: string; type: Schema }[];
  items?: Schema;
  values?: Schema;
  size?: number;
  symbols?: string[];
}

export class AvroScanError extends Error {}

const truncated = () => new AvroScanError('value runs past the end of its block');

/** Reads a zig-zag varint as a JS number; exact up to 2^53 (lengths, counts, ints, file sizes). */
export function readVarint(buf: Buffer, pos: number): { value: number; end: number } {
  let result = 0;
  let multiplier = 1;
  let i = pos;
  for (;;) {
    if (i >= buf.length) throw truncated();
    const b = buf[i++]!;
    result += (b & 0x7f) * multiplier;
    if (!(b & 0x80)) break;
    multiplier *= 128;
    if (i - pos > 10) throw new AvroScanError('varint longer than 10 bytes');
  }
  // Zig-zag: even = non-negative, odd = negative (done in floating point: no 32-bit overflow).
  const value = result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  return { value, end: i };
}

/** Reads a zig-zag varint long exactly, as a bigint. */
export function readVarintBigint(buf: Buffer, pos: number): bigint {
  let n = 0n;
  let shift = 0n;
  for (let i = pos; ; i++) {
    if (i >= buf.length) throw truncated();
    const b = buf[i]!;
    n |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
    shift += 7n;
  }
  return (n >> 1n) ^ -(n & 1n);
}

export function encodeVarint(value: number | bigint): Buffer {
  if (typeof value === 'number' && Number.isSafeInteger(value)) {
    const out = Buffer.allocUnsafe(varintLength(value));
    writeVarint(out, 0, value);
    return out;
  }
  let n = BigInt.asUintN(64, (BigInt(value) << 1n) ^ (BigInt(value) >> 63n));
  const out: number[] = [];
  do {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    out.push(n > 0n ? b | 0x80 : b);
  } while (n > 0n);
  return Buffer.from(out);
}

/** Bytes of a safe integer's zig-zag varint. */
function varintLength(value: number): number {
  let n = value >= 0 ? value * 2 : -value * 2 - 1;
  let length = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    length++;
  }
  return length;
}

/** Writes a safe integer's zig-zag varint at `pos`; returns the position after it. */
function writeVarint(out: Buffer, pos: number, value: number): number {
  // Division, not bit operations: zig-zag values of safe integers exceed 32 bits.
  let n = value >= 0 ? value * 2 : -value * 2 - 1;
  let i = pos;
  while (n >= 128) {
    out[i++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[i++] = n;
  return i;
}

/** An Avro string or bytes value: varint length, then the bytes. */
export function encodeString(value: string): Buffer {
  const length = Buffer.byteLength(value, 'utf8');
  const out = Buffer.allocUnsafe(varintLength(length) + length);
  out.write(value, writeVarint(out, 0, length), 'utf8');
  return out;
}

/** The value of the varint at `pos` (ints, enum and union indexes). */
export function varintAt(buf: Buffer, pos: number): number {
  return readVarint(buf, pos).value;
}

export function readString(buf: Buffer, pos: number): string {
  const { value: length, end } = readVarint(buf, pos);
  if (length < 0 || end + length > buf.length) throw truncated();
  return buf.toString('utf8', end, end + length);
}

/**
 * The fields to locate, by dotted path of field names from the top record
 * (`data_file.file_path`). Each found field's value span lands in `spans` at 2*index (start) and
 * 2*index+1 (end); a field the schema lacks keeps -1. Fields inside arrays, maps or unions cannot
 * be located (their count varies per record).
 */
export interface RecordScanner {
  /** Steps over one record at `pos`, filling `spans`; returns the position after it. */
  scan(buf: Buffer, pos: number, spans: Int32Array): number;
  /** Per located field: the union branch index that is `null`, or -1 (not a union, or no null). */
  nullBranch: number[];
  /**
   * Per located field: whether its type is a union, so that its span starts with the branch index
   * (DuckDB declares every field of a manifest list as `["null", ...]`).
   */
  union: boolean[];
  /** New spans array for this scanner, filled with -1. */
  newSpans(): Int32Array;
}

export function compileRecordScanner(schema: unknown, locate: readonly string[]): RecordScanner {
  const named = new Map<string, Schema>();
  const nullBranch = locate.map(() => -1);
  const union = locate.map(() => false);
  // Named types met by reference get a function of their own (a record may refer to itself);
  // everything else is inlined into the caller's code.
  const functionOf = new Map<Schema, string>();
  const functions: string[] = [];
  const pendingFunctions: { name: string; schema: Schema; namespace: string | undefined }[] = [];

  // Statements stepping `p` over one value of `s`; each in a block of its own, so that the
  // constants they declare never clash. `L` is the buffer's length, `end` set by `varint`.
  const emit = (s: Schema, path: string | undefined, namespace: string | undefined): string => {
    if (Array.isArray(s)) {
      const cases = s.map((b, i) => `case ${i}: ${emit(b, undefined, namespace)} break;`).join(' ');
      return `{ const b = varint(buf, p); p = end; switch (b) { ${cases} default: throw new AvroScanError('union branch ' + b + ' does not exist'); } }`;
    }
    if (typeof s === 'string') {
      switch (s) {
        case 'null': return '';
        case 'boolean': return fixed(1);
        case 'int':
        case 'long': return VARINT;
        case 'float': return fixed(4);
        case 'double': return fixed(8);
        case 'bytes':
        case 'string': return BYTES;
        default: {
          const full = s.includes('.') || !namespace ? s : `${namespace}.${s}`;
          const target = named.get(full) ?? named.get(s);
          if (target === undefined) throw new AvroScanError(`unknown type name '${s}'`);
          let fn = functionOf.get(target);
          if (fn === undefined) {
            fn = `named${functionOf.size}`;
            functionOf.set(target, fn);
            pendingFunctions.push({ name: fn, schema: target, namespace });
          }
          return `p = ${fn}(buf, p, spans);`;
        }
      }
    }
    const type = s.type;
    if (typeof type !== 'string') return emit(type, path, namespace);
    const ns = s.name?.includes('.') ? s.name.slice(0, s.name.lastIndexOf('.')) : s.namespace ?? namespace;
    if (s.name && ['record', 'error', 'enum', 'fixed'].includes(type)) {
      named.set(s.name.includes('.') || !ns ? s.name : `${ns}.${s.name}`, s);
      named.set(s.name, s);
    }
    switch (type) {
      case 'record':
      case 'error': {
        const fields = (s.fields ?? []).map((f) => {
          const fieldPath = path === undefined ? undefined : path === '' ? f.name : `${path}.${f.name}`;
          const code = emit(f.type, fieldPath, ns);
          const slot = fieldPath === undefined ? -1 : locate.indexOf(fieldPath);
          if (slot < 0) return code;
          if (Array.isArray(f.type)) {
            union[slot] = true;
            nullBranch[slot] = f.type.findIndex((b) => b === 'null' || (typeof b === 'object' && !Array.isArray(b) && b.type === 'null'));
          }
          return `{ const start = p; ${code} spans[${slot * 2}] = start; spans[${slot * 2 + 1}] = p; }`;
        });
        return `{ ${fields.join(' ')} }`;
      }
      case 'enum': return VARINT;
      case 'fixed': return fixed(s.size);
      case 'array': return blocks(emit(s.items!, undefined, ns));
      case 'map': return blocks(`${BYTES} ${emit(s.values!, undefined, ns)}`);
      default: return emit(type, path, ns);
    }
  };

  const main = emit(schema as Schema, '', undefined);
  for (let next = pendingFunctions.shift(); next; next = pendingFunctions.shift()) {
    functions.push(`function ${next.name}(buf, p, spans) { const L = buf.length; ${emit(next.schema, undefined, next.namespace)} return p; }`);
  }
  const source = `"use strict";
    let end = 0;
    ${VARINT_FUNCTION}
    ${functions.join('\n')}
    return function scan(buf, p, spans) { const L = buf.length; ${main} return p; };`;
  // Generated code, as avsc does for its decoders: a closure per value costs a call per value.
  const scan = new Function('AvroScanError', 'truncated', source)(AvroScanError, truncated) as RecordScanner['scan'];
  return {
    scan,
    nullBranch,
    union,
    newSpans: () => new Int32Array(locate.length * 2).fill(-1),
  };
}

// The pieces of generated code. A varint is stepped over without decoding it; a length is decoded
// by `varint` (readVarint's algorithm, the end left in `end`).
const VARINT = '{ while (p < L && buf[p] & 0x80) p++; if (p >= L) throw truncated(); p++; }';
const BYTES = '{ const n = varint(buf, p); if (n < 0 || end + n > L) throw truncated(); p = end + n; }';
const fixed = (size: unknown) => {
  // Only a checked number goes into the code: the schema comes from the file being read.
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new AvroScanError(`fixed size ${JSON.stringify(size)} is not a non-negative integer`);
  return `{ if (p + ${size} > L) throw truncated(); p += ${size}; }`;
};
/** Arrays and maps: blocks of `count` items (a negative count is followed by the block's size). */
const blocks = (item: string) => `for (;;) {
  const count = varint(buf, p); p = end;
  if (count === 0) break;
  if (count < 0) { const size = varint(buf, p); if (size < 0 || end + size > L) throw truncated(); p = end + size; continue; }
  for (let i = 0; i < count; i++) { ${item} }
}`;
const VARINT_FUNCTION = `function varint(buf, pos) {
  let result = 0, multiplier = 1, i = pos;
  for (;;) {
    if (i >= buf.length) throw truncated();
    const b = buf[i++];
    result += (b & 0x7f) * multiplier;
    if (!(b & 0x80)) break;
    multiplier *= 128;
    if (i - pos > 10) throw new AvroScanError('varint longer than 10 bytes');
  }
  end = i;
  return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
}`;
