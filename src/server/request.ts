/**
 * Reading REST requests exactly as Iceberg clients encode them: raw path segments (the router must
 * not pre-decode `%1F`, `%2F` or `+`), form-decoded levels, bounded lossless JSON bodies.
 */
import { badRequest, payloadTooLarge } from '../errors/iceberg-error.ts';
import { isJsonObject, nestsDeeperThan, parseJson, type JsonObject } from '../util/json.ts';

/** Deepest accepted JSON nesting; real Iceberg documents stay far below it. */
const MAX_JSON_DEPTH = 200;

/** Decodes one path segment the way Java's URLEncoder encoded it (`+` is a space). */
export function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw badRequest(`Invalid path segment: malformed percent-encoding in '${raw}'`);
  }
}

/**
 * Splits a raw `{namespace}` segment into levels. Clients join levels with the unit separator
 * (`%1F`, the spec default, which this catalog advertises); the raw character is accepted too, and
 * so is any separator an upstream advertised (`%2E`, say) when the proxy decodes its clients' paths.
 */
export function decodeNamespace(raw: string, otherSeparators: Iterable<string> = []): string[] {
  if (raw === '') throw badRequest('Invalid namespace: empty');
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const separators = ['%1f', '\u001f', ...[...otherSeparators].map(escape)];
  return raw.split(new RegExp(separators.join('|'), 'i')).map(decodeSegment);
}

/** The `parent` query value: levels joined by the (already decoded) unit separator. */
export function decodeNamespaceQuery(value: string): string[] {
  return value.split('\u001f');
}

/** The raw path (percent-encoding intact) of a request target or absolute URL, without the query. */
export function rawPath(target: string): string {
  const start = target.startsWith('/') ? 0 : target.indexOf('/', target.indexOf('//') + 2);
  if (start < 0) return '/';
  const end = target.indexOf('?', start);
  return target.slice(start, end < 0 ? undefined : end);
}

export async function readBody(request: Request, limitBytes: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > limitBytes) throw payloadTooLarge(limitBytes);
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limitBytes) {
      await reader.cancel();
      throw payloadTooLarge(limitBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a JSON object body; 400 with the parser's reason when it is not one. */
export async function readJsonObject(request: Request, limitBytes: number): Promise<JsonObject> {
  const text = await readBody(request, limitBytes);
  if (text.trim() === '') throw badRequest('Malformed request: body is empty, a JSON object is required');
  let value;
  try {
    value = parseJson(text);
  } catch (error) {
    throw badRequest(`Malformed request: invalid JSON body: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isJsonObject(value)) throw badRequest('Malformed request: body must be a JSON object');
  if (nestsDeeperThan(value, MAX_JSON_DEPTH)) throw badRequest(`Malformed request: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  return value;
}

export function optionalString(body: JsonObject, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badRequest(`Invalid request: ${field} must be a string`);
  return v;
}

export function requiredString(body: JsonObject, field: string): string {
  const v = optionalString(body, field);
  if (v === undefined) throw badRequest(`Invalid request: ${field} is required`);
  return v;
}

export function stringRecord(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isJsonObject(value)) throw badRequest(`Invalid request: ${field} must be an object of strings`);
  for (const [k, v] of Object.entries(value)) if (typeof v !== 'string') throw badRequest(`Invalid request: ${field}.${k} must be a string`);
  return value as Record<string, string>;
}

export function booleanQuery(value: string | null, name: string, fallback: boolean): boolean {
  if (value === null || value === '') return fallback;
  const lower = value.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw badRequest(`Invalid query parameter ${name}: expected true or false, got '${value}'`);
}

/** Page tokens are opaque to clients: the last name of the previous page, base64url-encoded. */
export function decodePageToken(token: string | null): string | undefined {
  if (token === null || token === '') return undefined;
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  if (!decoded.startsWith('p:')) throw badRequest(`Invalid pageToken: '${token}' was not issued by this catalog`);
  return decoded.slice(2);
}

export function encodePageToken(after: string | undefined): string | null {
  return after === undefined ? null : Buffer.from(`p:${after}`, 'utf8').toString('base64url');
}

export function pageSizeQuery(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw badRequest(`Invalid query parameter pageSize: expected a positive integer, got '${value}'`);
  return Math.min(n, 10_000);
}
