/**
 * The writes a built-in replica takes once promoted (promote.ts): every write when the whole
 * destination was promoted, else writes to its promoted tables only. Asked of the state database
 * at each write, so a promotion made through any process sharing it applies at once everywhere.
 */
import type { Identifier } from '../catalog/identifiers.ts';
import type { PromotionStore } from '../outbox/promotion-store.ts';
import type { WriteExceptions } from '../server/catalog-routes.ts';

export function promotedWrites(promotions: PromotionStore, destination: string, namespacePrefix: string[]): WriteExceptions {
  return {
    async scope() {
      const promoted = await promotions.list(destination);
      return promoted.some((p) => p.entity === null) ? 'all' : promoted.length > 0 ? 'tables' : 'none';
    },
    async tableWritable(id) {
      const source = sourceName(id, namespacePrefix);
      return source !== undefined && (await promotions.covering(destination, source)) !== undefined;
    },
  };
}

/** The source table a replica table replicates: its name without the destination's namespace prefix. */
function sourceName(id: Identifier, prefix: string[]): Identifier | undefined {
  if (id.namespace.length <= prefix.length || prefix.some((level, i) => id.namespace[i] !== level)) return undefined;
  return { namespace: id.namespace.slice(prefix.length), name: id.name };
}
