/**
 * Iceberg longs arrive as `number` (when they fit a double exactly) or `bigint` (when they do not).
 * These helpers compare and compute on them without losing precision.
 */
export type Int64 = number | bigint;

export function isInt64(value: unknown): value is Int64 {
  return (typeof value === 'number' && Number.isInteger(value)) || typeof value === 'bigint';
}

export function toBigInt(value: Int64): bigint {
  return typeof value === 'bigint' ? value : BigInt(value);
}

/** The canonical form: a number when exact, a bigint otherwise. */
export function int64(value: bigint | number): Int64 {
  if (typeof value === 'number') return value;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

export function sameInt64(a: Int64 | null | undefined, b: Int64 | null | undefined): boolean {
  if (a === null || a === undefined || b === null || b === undefined) return a === b || (a == null && b == null);
  return toBigInt(a) === toBigInt(b);
}

export function addInt64(a: Int64, b: Int64): Int64 {
  return int64(toBigInt(a) + toBigInt(b));
}

export function compareInt64(a: Int64, b: Int64): number {
  const x = toBigInt(a);
  const y = toBigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A stable map key for an id. */
export function idKey(value: Int64): string {
  return toBigInt(value).toString();
}
