/**
 * Namespace and table identifiers: validation, storage keys and the dotted form used in messages.
 */
import { badRequest } from '../errors/iceberg-error.ts';

/** Joins namespace levels into the stored key. U+001F cannot occur in a level (see validateLevel). */
export const NAMESPACE_KEY_SEPARATOR = '\u001f';

export function namespaceKey(levels: string[]): string {
  return levels.join(NAMESPACE_KEY_SEPARATOR);
}

export function namespaceFromKey(key: string): string[] {
  return key === '' ? [] : key.split(NAMESPACE_KEY_SEPARATOR);
}

/** `a.b` as Iceberg Java prints a Namespace, used in error messages the RCK asserts. */
export function displayNamespace(levels: string[]): string {
  return levels.join('.');
}

export function displayIdentifier(namespace: string[], name: string): string {
  return [...namespace, name].join('.');
}

// Control characters would break storage keys and logs; '/' and dot-only names would let a
// default location escape its namespace folder in the warehouse.
const CONTROL = /[\u0000-\u001f\u007f]/;

function validateName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw badRequest(`Invalid ${what}: must be a non-empty string`);
  if (CONTROL.test(value)) throw badRequest(`Invalid ${what} ${JSON.stringify(value)}: must not contain control characters`);
  if (value === '.' || value === '..') throw badRequest(`Invalid ${what} '${value}': '.' and '..' are not allowed`);
  if (value.includes('/') || value.includes('\\')) throw badRequest(`Invalid ${what} ${JSON.stringify(value)}: must not contain '/' or '\\'`);
  if (value.length > 1024) throw badRequest(`Invalid ${what}: longer than 1024 characters`);
  return value;
}

export function validateNamespace(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw badRequest('Invalid namespace: must be a non-empty list of strings');
  return value.map((level) => validateName(level, 'namespace level'));
}

export function validateTableName(value: unknown, what = 'table name'): string {
  return validateName(value, what);
}

export interface Identifier {
  namespace: string[];
  name: string;
}

/** Parses a TableIdentifier object from a request body (`{namespace: [...], name}`). */
export function parseIdentifier(value: unknown, what: string): Identifier {
  if (typeof value !== 'object' || value === null) throw badRequest(`Invalid ${what}: must be an object with namespace and name`);
  const v = value as { namespace?: unknown; name?: unknown };
  return { namespace: validateNamespace(v.namespace), name: validateTableName(v.name) };
}
