/**
 * Lossless JSON for Iceberg documents.
 *
 * Iceberg ids are 63-bit (snapshot ids are random longs), so `JSON.parse` would silently round them.
 * Integers that fit in a double stay `number`; larger ones become `bigint`; non-integers keep their
 * original text (LosslessNumber) so that values we only pass through are written back unchanged.
 *
 * Both directions use the engine's own JSON.parse / JSON.stringify, several times faster than a
 * parser written in JavaScript: numbers that JSON.parse would change are swapped for marker strings
 * around the call and swapped back after it. lossless-json remains the fallback for text the
 * markers cannot handle and for the position in a syntax error.
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

// A marker is a string starting with NUL, which JSON text can only carry escaped: text that
// already holds an escaped NUL takes the slow path, so no real string is ever taken for a marker.
const MARK = '\u0000';
const ESCAPED_NUL = /\\u0000/i;
// The numbers JSON.parse would change: integers of 16 digits or more and every non-integer (kept
// as written). A number in JSON text follows ':', '[' or ',' (or opens the text, which takes the
// slow path). The same characters inside a string get a marker too, but a marker splits the string
// it lands in, JSON.parse then fails and the slow path answers: a wrong value is never returned.
const EXOTIC_NUMBER = /([:[,]\s*)(-?(?:0|[1-9]\d*)(?:\.\d+)?[eE][+-]?\d+|-?(?:0|[1-9]\d*)\.\d+|-?[1-9]\d{15,})/g;
const STARTS_WITH_NUMBER = /^\s*[-\d]/;

/** Parses JSON text; throws SyntaxError with a position on malformed input. */
export function parseJson(text: string): JsonValue {
  if (ESCAPED_NUL.test(text) || STARTS_WITH_NUMBER.test(text)) return parseSlowly(text);
  const exotic: (number | bigint | LosslessNumber)[] = [];
  const marked = text.replace(EXOTIC_NUMBER, (_match, before: string, number: string) => {
    exotic.push(parseNumber(number));
    return `${before}"\\u0000${exotic.length - 1}"`;
  });
  let value: JsonValue;
  try {
    value = JSON.parse(marked) as JsonValue;
  } catch {
    return parseSlowly(text);
  }
  return exotic.length === 0 ? value : unmark(value, exotic);
}

/** lossless-json: handles any text, and names the position of a syntax error in the text as given. */
function parseSlowly(text: string): JsonValue {
  return parse(text, null, parseNumber) as JsonValue;
}

/** Puts the numbers back where parseJson left markers (in place: the value is freshly parsed). */
function unmark(value: JsonValue, exotic: (number | bigint | LosslessNumber)[]): JsonValue {
  if (typeof value === 'string') return value.charCodeAt(0) === 0 ? exotic[Number(value.slice(1))]! : value;
  if (typeof value === 'object' && value !== null) unmarkChildren(value as JsonObject, exotic);
  return value;
}

function unmarkChildren(container: JsonObject | JsonValue[], exotic: (number | bigint | LosslessNumber)[]): void {
  const items = container as Record<string, JsonValue>;
  for (const key in items) {
    const item = items[key]!;
    if (typeof item === 'string') {
      if (item.charCodeAt(0) === 0) items[key] = exotic[Number(item.slice(1))]!;
    } else if (typeof item === 'object' && item !== null) {
      unmarkChildren(item as JsonObject, exotic);
    }
  }
}

/** Serializes a value produced by parseJson (or built by hand with bigint ids) back to JSON text. */
export function toJson(value: unknown, indent?: number): string {
  let clash = false;
  const text = JSON.stringify(
    value,
    function (key, v: unknown) {
      // `this[key]` is the value before any toJSON: a LosslessNumber, a bigint, or a string.
      const raw = (this as Record<string, unknown>)[key];
      if (typeof raw === 'bigint') return MARK + raw.toString();
      if (raw instanceof LosslessNumber) return MARK + raw.value;
      if (typeof v === 'string' && v.charCodeAt(0) === 0) clash = true;
      return v;
    },
    indent,
  ) as string | undefined;
  if (text === undefined) throw new TypeError('value cannot be serialized to JSON');
  if (clash) return stringify(value as never, undefined, indent)!; // a real string starts with NUL
  return text.includes('"\\u0000') ? text.replace(/"\\u0000([^"]*)"/g, '$1') : text;
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
