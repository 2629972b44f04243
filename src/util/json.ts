/**
 * Lossless JSON for Iceberg documents.
 *
 * Iceberg ids are 63-bit (snapshot ids are random longs), so `JSON.parse` would silently round them.
 * Integers that fit in a double stay `number`; larger ones become `bigint`; non-integers keep their
 * original text (LosslessNumber) so that values we only pass through are written back unchanged.
 */
import { isInteger, isSafeNumber, LosslessNumber, parse, stringify } from 'lossless-json';

export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | LosslessNumber
  | JsonValue[]
  | { [key: string]: JsonValue };

export type JsonObject = { [key: string]: JsonValue };

function parseNumber(text: string): number | bigint | LosslessNumber {
  if (isInteger(text)) return isSafeNumber(text) ? Number(text) : BigInt(text);
  return new LosslessNumber(text);
}

/** Parses JSON text; throws SyntaxError with a position on malformed input. */
export function parseJson(text: string): JsonValue {
  return parse(text, null, parseNumber) as JsonValue;
}

/** Serializes a value produced by parseJson (or built by hand with bigint ids) back to JSON text. */
export function toJson(value: unknown, indent?: number): string {
  const text = stringify(value as never, undefined, indent);
  if (text === undefined) throw new TypeError('value cannot be serialized to JSON');
  return text;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof LosslessNumber);
}

/**
 * True when a parsed value nests deeper than `max` arrays/objects. Checked iteratively, so that
 * the recursive code that later walks the value (schemas, canonical comparison) never meets
 * nesting deep enough to overflow the stack.
 */
export function nestsDeeperThan(value: JsonValue, max: number): boolean {
  const stack: [JsonValue, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (Array.isArray(v)) {
      if (depth > max) return true;
      for (const item of v) stack.push([item, depth + 1]);
    } else if (isJsonObject(v)) {
      if (depth > max) return true;
      for (const item of Object.values(v)) stack.push([item, depth + 1]);
    }
  }
  return false;
}
