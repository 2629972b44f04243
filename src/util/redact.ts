/**
 * Keeps secrets out of log lines, whatever a caller passes: the value of every field whose name
 * says it holds a secret is replaced, at any depth (errors included), and credentials embedded in
 * text (a URL's user info, a bearer token, a signed URL's query) are masked wherever they appear.
 *
 * One walk over the fields rather than pino's `redact` paths: wildcard paths (`*.token`,
 * `*.*.token`) cost pino 40 to 100 µs per line, on every request log line, and still stop at the
 * depth they spell out.
 */
import { stdSerializers } from 'pino';

export const REDACTED = '[redacted]';

/**
 * Field names, compared in lower case without `-` and `_`: `authorization`, `token`,
 * `access_token`, `refresh_token`, `client_secret`, `credential`, `secret`, `password`,
 * `secretAccessKey`, `sessionToken`, `x-amz-security-token`, `set-cookie`, `x-api-key`, and
 * whatever else ends like them.
 */
const SECRET_NAME = /(authorization|secret|password|passwd|token|credentials?|apikey|cookie|secretaccesskey|privatekey|signature)$/;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name.toLowerCase().replace(/[-_]/g, ''));
}

const TEXT_RULES: Array<[RegExp, string]> = [
  // scheme://user:password@host
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, `$1${REDACTED}@`],
  // An Authorization header's value quoted in a message.
  [/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
  // Signed URLs and tokens passed as query parameters.
  [/([?&](?:x-amz-(?:signature|credential|security-token)|access_token|refresh_token|id_token|token|client_secret|password|sig|signature)=)[^&\s"'<>]*/gi, `$1${REDACTED}`],
];
/** Cheap pre-check: text without any of these cannot match a rule. */
const MAY_HOLD_SECRET = /[@=]|bearer|basic/i;

/** `text` with embedded credentials masked. */
export function scrubText(text: string): string {
  if (!MAY_HOLD_SECRET.test(text)) return text;
  let out = text;
  for (const [pattern, replacement] of TEXT_RULES) out = out.replace(pattern, replacement);
  return out;
}

/** Deeper than any field a caller logs on purpose; also where a cyclic value stops. */
const MAX_DEPTH = 8;

/**
 * A copy of `value` fit for a log line: secret fields replaced, text scrubbed, errors serialized
 * (type, message, stack and their own fields, which are walked too), bigints as decimal strings
 * (snapshot ids would lose digits as JSON numbers in most readers).
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  switch (typeof value) {
    case 'string':
      return scrubText(value);
    case 'bigint':
      return value.toString();
    case 'object':
      break;
    default:
      return value;
  }
  if (value === null) return null;
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (value instanceof Error) return redactSecrets(stdSerializers.err(value), depth);
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    // A URL, a Date, a Buffer...: logged as JSON would show it, then walked as that.
    const toJSON = (value as { toJSON?: () => unknown }).toJSON;
    if (typeof toJSON === 'function') return redactSecrets(toJSON.call(value), depth + 1);
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = isSecretName(key) && item !== undefined && item !== null ? REDACTED : redactSecrets(item, depth + 1);
  }
  return out;
}
