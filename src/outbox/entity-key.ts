/**
 * The entity key: how the outbox names a table, view or namespace in its rows. One string, so that
 * sequences, positions and claims are keyed by a single column on every dialect.
 *
 *   table/view  a.b.t  ->  "a" U+001F "b" U+001E "t"
 *   namespace   a.b    ->  "a" U+001F "b"
 *
 * Levels are joined by U+001F (the REST spec's own namespace separator). The name is set off by
 * U+001E, not U+0000: Postgres `text` cannot hold a NUL character (error 22021), and U+001E, like
 * U+0000, sorts below U+001F, so a namespace's tables still sort right after the namespace itself.
 */
import type { EntityRef } from './outbox.ts';

export const LEVEL_SEPARATOR = '\u001f';
export const NAME_SEPARATOR = '\u001e';

/** Thrown for a name the key cannot represent (a separator or NUL inside a level or name). */
export class InvalidEntityError extends TypeError {
  override readonly name = 'InvalidEntityError';
}

const forbidden = /[\u0000\u001e\u001f]/;

export function entityKey(ref: EntityRef): string {
  if (ref.namespace.length === 0) throw new InvalidEntityError('an outbox entity needs at least one namespace level');
  for (const level of ref.namespace) {
    if (forbidden.test(level)) throw new InvalidEntityError(`namespace level ${JSON.stringify(level)} contains U+0000, U+001E or U+001F`);
  }
  const namespace = ref.namespace.join(LEVEL_SEPARATOR);
  if (ref.name === undefined) return namespace;
  if (forbidden.test(ref.name)) throw new InvalidEntityError(`name ${JSON.stringify(ref.name)} contains U+0000, U+001E or U+001F`);
  return `${namespace}${NAME_SEPARATOR}${ref.name}`;
}

export function parseEntityKey(key: string): EntityRef {
  const at = key.indexOf(NAME_SEPARATOR);
  if (at < 0) return { namespace: key.split(LEVEL_SEPARATOR) };
  return { namespace: key.slice(0, at).split(LEVEL_SEPARATOR), name: key.slice(at + 1) };
}
