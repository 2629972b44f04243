/**
 * Brings one replica table to the state of one source metadata file: plan the replica's next
 * metadata, copy what the new snapshots reference (data files by the copier; manifests and
 * manifest lists rewritten), write the replica's metadata file, and only then swap the replica's
 * pointer (compare-and-swap on the replica catalog). Running it again for the same source file
 * changes nothing: the plan is empty and no commit is made.
 *
 * Not replicated yet, and refused with a clear error rather than copied wrong: position-delete
 * files and deletion vectors, whose contents name data files by their source paths.
 */
import type { BuiltinCatalog } from '../catalog/builtin-catalog.ts';
import { namespaceKey, type Identifier } from '../catalog/identifiers.ts';
import { readTableMetadata, writeTableMetadata } from '../catalog/metadata-files.ts';
import { serializeTableMetadata } from '../iceberg/table-metadata.ts';
import type { MetadataLogEntry, TableMetadata } from '../iceberg/types.ts';
import type { StoreResolver } from '../storage/store-resolver.ts';
import type { CopyItem, CopyResult } from './copy/types.ts';
import { planReplicaMetadata, type RetentionPolicy } from './plan/merge-metadata.ts';
import type { LocationMap } from './rewrite/location-map.ts';
import { readManifestListEntries, rewriteManifest, rewriteManifestList, type RewrittenManifest } from './rewrite/rewrite-avro.ts';
import { snapshotMetadataFiles } from './rewrite/rewrite-metadata.ts';

export interface TableSyncContext {
  /** Reads the source's metadata, manifest lists and manifests. */
  sourceStores: StoreResolver;
  /** Writes the replica's metadata, manifest lists and manifests. */
  replicaStores: StoreResolver;
  /** Copies data files (and statistics files) byte for byte. */
  copyFiles(items: CopyItem[]): Promise<CopyResult>;
  map: LocationMap;
  /** The replica catalog (a catalog of the state database). */
  replica: BuiltinCatalog;
  retention?: RetentionPolicy;
}

export interface TableSyncResult {
  /** The replica's metadata file after the sync. */
  metadataLocation: string;
  /** False when the replica already was at this state. */
  committed: boolean;
  newSnapshots: number;
  filesCopied: number;
  filesSkipped: number;
  bytesCopied: number;
}

/** A file kind replication cannot carry over yet; the table fails with this, the others go on. */
export class UnsupportedReplicationError extends Error {
  override readonly name = 'UnsupportedReplicationError';
}

/** The replica changed under the sync (another shipper): nothing was committed; try again. */
export class ReplicaConflictError extends Error {
  override readonly name = 'ReplicaConflictError';
}

const PREVIOUS_VERSIONS_MAX = 'write.metadata.previous-versions-max';

export async function syncTable(ctx: TableSyncContext, id: Identifier, sourceMetadataLocation: string): Promise<TableSyncResult> {
  const source = await readTableMetadata(ctx.sourceStores, sourceMetadataLocation);
  const current = (await ctx.replica.tableExists(id)) ? await ctx.replica.loadTable(id) : undefined;
  const plan = planReplicaMetadata(source, current?.metadata, ctx.map, { retention: ctx.retention });
  if (current && serializeTableMetadata(plan.metadata) === serializeTableMetadata(current.metadata)) {
    return { metadataLocation: current.metadataLocation, committed: false, newSnapshots: 0, filesCopied: 0, filesSkipped: 0, bytesCopied: 0 };
  }

  // Copy before pointer: every file the new snapshots reference exists at the destination first.
  const newIds = plan.newSnapshots.map((s) => s['snapshot-id']);
  const copies: CopyItem[] = [];
  const rewritten = new Map<string, RewrittenManifest>();
  for (const file of snapshotMetadataFiles(source, newIds)) {
    if (file.kind === 'statistics' || file.kind === 'partition-statistics') {
      copies.push({ source: file.location, destination: ctx.map.map(file.location, `${file.kind} file`), size: Number(file.sizeInBytes) });
      continue;
    }
    if (file.kind !== 'manifest-list') continue;
    const listBytes = await ctx.sourceStores.storeFor(file.location).read(file.location);
    for (const entry of readManifestListEntries(listBytes, file.location)) {
      if (rewritten.has(entry.path)) continue;
      const manifest = rewriteManifest(await ctx.sourceStores.storeFor(entry.path).read(entry.path), entry.path, ctx.map);
      for (const referenced of manifest.files) {
        if (referenced.kind === 'position-deletes' || referenced.kind === 'deletion-vector') {
          throw new UnsupportedReplicationError(
            `${referenced.sourceLocation} is a ${referenced.kind} file: its contents name data files by their source paths, and rewriting them is not supported yet`,
          );
        }
        copies.push({ source: referenced.sourceLocation, destination: referenced.destinationLocation, size: Number(referenced.sizeInBytes) });
      }
      await ctx.replicaStores.storeFor(manifest.destinationLocation).write(manifest.destinationLocation, manifest.bytes);
      rewritten.set(entry.path, manifest);
    }
    // Written after its manifests: a list never names a manifest that is not there.
    const lengths = new Map([...rewritten].map(([path, m]) => [path, m.length]));
    const list = rewriteManifestList(listBytes, file.location, ctx.map, lengths);
    await ctx.replicaStores.storeFor(list.destinationLocation).write(list.destinationLocation, list.bytes);
  }
  const copied = await ctx.copyFiles(dedupe(copies));
  if (copied.failures.length > 0) {
    throw new Error(`${copied.failures.length} file(s) could not be copied; first: ${copied.failures[0]!.message}`);
  }

  const next = current ? withReplicaLogEntry(plan.metadata, current.metadata, current.metadataLocation) : plan.metadata;
  const metadataLocation = await writeTableMetadata(ctx.replicaStores, next, current?.metadataLocation);
  if (current) {
    if (!(await ctx.replica.store.swapPointer(namespaceKey(id.namespace), id.name, current.metadataLocation, metadataLocation))) {
      throw new ReplicaConflictError(`the replica of ${id.namespace.join('.')}.${id.name} changed during the sync; nothing was committed`);
    }
  } else {
    await ensureNamespace(ctx.replica, id.namespace);
    await ctx.replica.registerTable(id.namespace, id.name, metadataLocation, false);
  }
  return {
    metadataLocation,
    committed: true,
    newSnapshots: plan.newSnapshots.length,
    filesCopied: copied.copied.length,
    filesSkipped: copied.skipped.length,
    bytesCopied: copied.bytes,
  };
}

function dedupe(items: CopyItem[]): CopyItem[] {
  return [...new Map(items.map((i) => [i.destination, i])).values()];
}

/** The replica's own metadata-log: its previous file appended, trimmed as the table property says. */
function withReplicaLogEntry(next: TableMetadata, previous: TableMetadata, previousLocation: string): TableMetadata {
  const max = Number(next.properties[PREVIOUS_VERSIONS_MAX] ?? 100);
  const log: MetadataLogEntry[] = [...previous['metadata-log'], { 'timestamp-ms': previous['last-updated-ms'], 'metadata-file': previousLocation }];
  return { ...next, 'metadata-log': log.slice(Math.max(0, log.length - max)) };
}

async function ensureNamespace(catalog: BuiltinCatalog, levels: string[]): Promise<void> {
  for (let depth = 1; depth <= levels.length; depth++) {
    const prefix = levels.slice(0, depth);
    if (!(await catalog.namespaceExists(prefix))) await catalog.createNamespace(prefix, {});
  }
}
