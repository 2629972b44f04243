/**
 * String maps from client JSON (table and namespace properties) may carry keys such as
 * `__proto__` or `toString`; these helpers treat every key as plain data.
 */

/** Copies entries as own properties (Object.assign would invoke the `__proto__` setter instead). */
export function assignEntries(target: Record<string, string>, source: Record<string, string>): void {
  for (const [key, value] of Object.entries(source)) {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  }
}

/** Own-key test (`in` would also see inherited names like `toString`). */
export function hasKey(record: object, key: string): boolean {
  return Object.hasOwn(record, key);
}
