/**
 * What the upstream's `/v1/config` tells clients about the shape of its routes: the catalog
 * prefix(es), the namespace separator, and whether it honours Idempotency-Key. The proxy learns it
 * as config answers pass (and asks for it itself before settling at start-up).
 */
import { isJsonObject, type JsonObject } from '../util/json.ts';
import { parseIsoDuration } from '../util/iso-duration.ts';

export interface CatalogShape {
  prefixes: Set<string>;
  /** As announced: URL-encoded, e.g. `%1F` (the spec's default) or `%2E`. */
  separators: Set<string>;
  /** How long the upstream honours an Idempotency-Key (its `idempotency-key-lifetime`); unset if it does not. */
  idempotencyLifetimeMs?: number;
}

export function emptyCatalogShape(): CatalogShape {
  return { prefixes: new Set(), separators: new Set() };
}

export function learnCatalogShape(shape: CatalogShape, config: JsonObject): void {
  const lifetime = config['idempotency-key-lifetime'];
  if (typeof lifetime === 'string') shape.idempotencyLifetimeMs = parseIsoDuration(lifetime);
  for (const block of [config.defaults, config.overrides]) {
    if (!isJsonObject(block)) continue;
    if (typeof block.prefix === 'string') shape.prefixes.add(block.prefix);
    if (typeof block['namespace-separator'] === 'string') shape.separators.add(block['namespace-separator']);
  }
}

/** The separator to join namespace levels with in paths the proxy builds itself. */
export function namespaceSeparator(shape: CatalogShape): string {
  return [...shape.separators][0] ?? '%1F';
}
