/** The `table` parameter of admin routes: `ns.t` (or `a.b.t`), the last dot separating the table name. */
export function parseTableParam(value: string): { namespace: string[]; name: string } | undefined {
  const parts = value.split('.');
  if (parts.length < 2 || parts.some((p) => p === '')) return undefined;
  return { namespace: parts.slice(0, -1), name: parts.at(-1)! };
}
