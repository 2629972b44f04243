/**
 * Brings one replica view to the state of one source view metadata file. A view has no data
 * files: its replica metadata is the source's (same UUID, versions, version log, schemas,
 * properties) with the location mapped, written as the replica's own metadata file and committed
 * with a compare-and-swap (or registered when the replica has no such view yet). Running it again
 * for the same source file changes nothing.
 *
 * With a namespace prefix (fan-in) each version's `default-namespace` gets the prefix, so that
 * unqualified names in the SQL resolve in the replica; qualified names inside the SQL text are
 * left as written (SQL is not rewritten).
 */
import type { BuiltinCatalog } from '../catalog/builtin-catalog.ts';
import { namespaceKey, type Identifier } from '../catalog/identifiers.ts';
import { readViewMetadata, writeViewMetadata } from '../catalog/metadata-files.ts';
import { serializeViewMetadata } from '../iceberg/view-metadata.ts';
import type { ViewMetadata } from '../iceberg/types.ts';
import type { StoreResolver } from '../storage/store-resolver.ts';
import type { LocationMap } from './rewrite/location-map.ts';
import { ReplicaConflictError } from './commit/replica-catalog.ts';

export interface ViewSyncContext {
  sourceStores: StoreResolver;
  replicaStores: StoreResolver;
  map: LocationMap;
  replica: BuiltinCatalog;
  namespacePrefix?: string[];
}

/** Returns the replica's metadata file and whether a commit was made. */
export async function syncView(ctx: ViewSyncContext, id: Identifier, sourceMetadataLocation: string): Promise<{ metadataLocation: string; committed: boolean }> {
  const source = await readViewMetadata(ctx.sourceStores, sourceMetadataLocation, { cached: true });
  const planned = replicaViewMetadata(source, ctx.map, ctx.namespacePrefix ?? []);
  const current = (await ctx.replica.viewExists(id)) ? await ctx.replica.loadView(id) : undefined;
  if (current && serializeViewMetadata(current.metadata) === serializeViewMetadata(planned)) {
    return { metadataLocation: current.metadataLocation, committed: false };
  }
  const metadataLocation = await writeViewMetadata(ctx.replicaStores, planned, current?.metadataLocation);
  if (current) {
    if (!(await ctx.replica.store.swapPointer(namespaceKey(id.namespace), id.name, current.metadataLocation, metadataLocation))) {
      throw new ReplicaConflictError(`the replica of view ${[...id.namespace, id.name].join('.')} changed during the sync; nothing was committed`);
    }
  } else {
    await ctx.replica.registerView(id.namespace, id.name, metadataLocation);
  }
  return { metadataLocation, committed: true };
}

function replicaViewMetadata(source: ViewMetadata, map: LocationMap, prefix: string[]): ViewMetadata {
  return {
    ...source,
    location: map.map(source.location, 'view location'),
    versions: prefix.length === 0
      ? source.versions
      : source.versions.map((v) => ({ ...v, 'default-namespace': [...prefix, ...(v['default-namespace'] ?? [])] })),
  };
}
