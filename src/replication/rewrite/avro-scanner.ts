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

/** Steps over one value starting at `pos`; returns the position after it. */
type Skip = (buf: Buffer, pos: number, spans: Int32Array) => number;

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

function skipVarint(buf: Buffer, pos: number): number {
  let i = pos;
  while (i < buf.length && buf[i]! & 0x80) i++;
  if (i >= buf.length) throw truncated();
  return i + 1;
}

function skipFixed(size: number): Skip {
  return (buf, pos) => {
    if (pos + size > buf.length) throw truncated();
    return pos + size;
  };
}

const skipBytes: Skip = (buf, pos) => {
  const { value: length, end } = readVarint(buf, pos);
  if (length < 0 || end + length > buf.length) throw truncated();
  return end + length;
};

/** Arrays and maps: blocks of `count` items (a negative count is followed by the block's size). */
function skipBlocks(item: Skip): Skip {
  return (buf, pos, spans) => {
    let p = pos;
    for (;;) {
      const { value: count, end } = readVarint(buf, p);
      p = end;
      if (count === 0) return p;
      if (count < 0) {
        // The block's byte size lets it be stepped over whole.
        const size = readVarint(buf, p);
        if (size.value < 0 || size.end + size.value > buf.length) throw truncated();
        p = size.end + size.value;
        continue;
      }
      for (let i = 0; i < count; i++) p = item(buf, p, spans);
    }
  };
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

  const compile = (s: Schema, path: string | undefined, namespace: string | undefined): Skip => {
    if (Array.isArray(s)) {
      const branches = s.map((b) => compile(b, undefined, namespace));
      return (buf, pos, spans) => {
        const { value: index, end } = readVarint(buf, pos);
        const branch = branches[index];
        if (!branch) throw new AvroScanError(`union branch ${index} does not exist`);
        return branch(buf, end, spans);
      };
    }
    if (typeof s === 'string') {
      switch (s) {
        case 'null': return (_buf, pos) => pos;
        case 'boolean': return skipFixed(1);
        case 'int':
        case 'long': return skipVarint;
        case 'float': return skipFixed(4);
        case 'double': return skipFixed(8);
        case 'bytes':
        case 'string': return skipBytes;
        default: {
          const full = s.includes('.') || !namespace ? s : `${namespace}.${s}`;
          const target = named.get(full) ?? named.get(s);
          if (target === undefined) throw new AvroScanError(`unknown type name '${s}'`);
          // A reference compiles lazily: a record may refer to itself.
          let compiled: Skip | undefined;
          return (buf, pos, spans) => (compiled ??= compile(target, undefined, namespace))(buf, pos, spans);
        }
      }
    }
    const type = s.type;
    if (typeof type !== 'string') return compile(type, path, namespace);
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
          const skip = compile(f.type, fieldPath, ns);
          const slot = fieldPath === undefined ? -1 : locate.indexOf(fieldPath);
          if (slot < 0) return skip;
          if (Array.isArray(f.type)) {
            union[slot] = true;
            nullBranch[slot] = f.type.findIndex((b) => b === 'null' || (typeof b === 'object' && !Array.isArray(b) && b.type === 'null'));
          }
          const at = slot * 2;
          return (buf: Buffer, pos: number, spans: Int32Array) => {
            const end = skip(buf, pos, spans);
            spans[at] = pos;
            spans[at + 1] = end;
            return end;
          };
        });
        return (buf, pos, spans) => {
          let p = pos;
          for (const field of fields) p = field(buf, p, spans);
          return p;
        };
      }
      case 'enum': return skipVarint;
      case 'fixed': return skipFixed(s.size ?? 0);
      case 'array': return skipBlocks(compile(s.items!, undefined, ns));
      case 'map': {
        const value = compile(s.values!, undefined, ns);
        return skipBlocks((buf, pos, spans) => value(buf, skipBytes(buf, pos, spans), spans));
      }
      default: return compile(type, path, ns);
    }
  };

  const scan = compile(schema as Schema, '', undefined);
  return {
    scan,
    nullBranch,
    union,
    newSpans: () => new Int32Array(locate.length * 2).fill(-1),
  };
}
