/**
 * Brings one replica table to the state of one source metadata file: plan the replica's next
 * metadata, copy what the new snapshots reference (data files by the copier; manifests and
 * manifest lists rewritten), and only then commit the replica (commit/replica-catalog.ts: a
 * compare-and-swap of the pointer on the built-in catalog, a table commit with assertions on an
 * external one). Running it again for the same source file
 * changes nothing: the plan is empty and no commit is made.
 *
 * Delete files that name data files inside them are rewritten, not copied: position-delete files
 * (Parquet, `file_path` column; rewrite/position-delete-file.ts) and deletion vectors (Puffin,
 * `referenced-data-file` in the footer; rewrite/puffin-file.ts). Their size changes, so each is
 * rewritten and written before the manifest that lists it, and the manifest records the new
 * `file_size_in_bytes` (a reader that trusts a stale size seeks the footer in the wrong place).
 * Blob offsets in a Puffin file do not move, so content_offset / content_size_in_bytes stay.
 * Equality-delete files hold column values, no paths, and are copied like data files.
 *
 * Each delete file is handled once per sync, however many manifests list it (a Puffin file holds
 * the deletion vectors of several data files). One that is already at the destination is not
 * rewritten again and its size there is what the manifest records: delete files are immutable and
 * uniquely named, and writes are all-or-nothing (a temp file renamed, a single PUT), so what is
 * there is a complete rewrite of this very source file by an earlier sync — whose committed
 * manifests already carry that size. Writes use ifAbsent, so two syncs racing agree on one file.
 * A second delivery of a commit thus reads no delete file and writes nothing.
 */
import type { Identifier } from '../catalog/identifiers.ts';
import { readTableMetadata, writeTableMetadata } from '../catalog/metadata-files.ts';
import type { TableMetadata } from '../iceberg/types.ts';
import { idKey } from '../util/int64.ts';
import { ObjectExistsError } from '../storage/object-store.ts';
import type { StoreResolver } from '../storage/store-resolver.ts';
import { ensureNamespaces, ReplicaConflictError, type ReplicaCatalog } from './commit/replica-catalog.ts';
import { mapWithConcurrency } from './copy/concurrency.ts';
import type { CopyItem, CopyProgress, CopyResult } from './copy/types.ts';
import { planReplicaMetadata, type RetentionPolicy } from './plan/merge-metadata.ts';
import { isOlderSourceState, type ShippedSource } from './plan/source-order.ts';
import type { LocationMap } from './rewrite/location-map.ts';
import { rewritePositionDeleteFile } from './rewrite/position-delete-file.ts';
import { rewritePuffinFile } from './rewrite/puffin-file.ts';
import {
  readManifestListEntries,
  rewriteManifest,
  rewriteManifestList,
  type ReferencedFile,
  type RewrittenFileValues,
} from './rewrite/rewrite-avro.ts';
import { snapshotMetadataFiles } from './rewrite/rewrite-metadata.ts';
import { deleteExpiredFiles } from './retention/expire-files.ts';

export interface TableSyncContext {
  /** Reads the source's metadata, manifest lists and manifests. */
  sourceStores: StoreResolver;
  /** Writes the replica's metadata, manifest lists, manifests and rewritten delete files. */
  replicaStores: StoreResolver;
  /** Copies data files (and statistics files, equality deletes) byte for byte. */
  copyFiles(items: CopyItem[], onProgress?: (progress: CopyProgress) => void): Promise<CopyResult>;
  map: LocationMap;
  /** The replica catalog: built-in (in the state database) or an external Iceberg REST catalog. */
  replica: ReplicaCatalog;
  retention?: RetentionPolicy;
}

export interface TableSyncResult {
  /** The replica's metadata file after the sync. */
  metadataLocation: string;
  /** False when the replica already was at this state, or ahead of it (`behind`). */
  committed: boolean;
  /** The source state was older than what the replica shows: it was left as it was. */
  behind: boolean;
  /** The replica's current snapshot id after the sync (decimal text); null when it has none. */
  snapshotId: string | null;
  newSnapshots: number;
  filesCopied: number;
  filesSkipped: number;
  bytesCopied: number;
  /** Position-delete and deletion-vector files rewritten and written by this sync. */
  deleteFilesRewritten: number;
  /** Such files found already at the destination (an earlier sync wrote them). */
  deleteFilesPresent: number;
  /** Manifests the new snapshots carry over from snapshots the replica holds: neither read nor rewritten. */
  manifestsReused: number;
  /** Replica files deleted because the destination's retention expired every snapshot reaching them. */
  filesExpired: number;
}

export { ReplicaConflictError };

/** Delete files read, rewritten and written at once (each is read whole into memory). */
const DELETE_FILE_CONCURRENCY = 8;
/** Manifests read, rewritten and written at once. */
export const MANIFEST_CONCURRENCY = 4;

export interface TableSyncOptions {
  /**
   * The caller saw the replica table and decided on that: if it is gone now (renamed or dropped
   * meanwhile), fail with ReplicaConflictError instead of creating it again under this name.
   */
  mustExist?: boolean;
  /** Told how far the copy of data files is (a backfill of a large table takes a while). */
  onProgress?: (progress: CopyProgress) => void;
  /** The source state the destination was last brought to: tells an older state delivered again. */
  shipped?: ShippedSource;
  /** Called right before the replica commit; throwing stops the sync with nothing committed. */
  beforeCommit?: () => Promise<void>;
}

export async function syncTable(ctx: TableSyncContext, id: Identifier, sourceMetadataLocation: string, options: TableSyncOptions = {}): Promise<TableSyncResult> {
  const source = await readTableMetadata(ctx.sourceStores, sourceMetadataLocation, { cached: true });
  const current = (await ctx.replica.tableExists(id)) ? await ctx.replica.loadTable(id) : undefined;
  if (!current && options.mustExist) {
    throw new ReplicaConflictError(`the replica of ${[...id.namespace, id.name].join('.')} disappeared during the sync (renamed or dropped meanwhile); nothing was committed`);
  }
  // An older state delivered again leaves the replica where it is (source-order.ts).
  if (current && (await isOlderSourceState({ location: sourceMetadataLocation, metadata: source }, current.metadata, options.shipped))) {
    return unchangedResult(current, true);
  }
  const plan = planReplicaMetadata(source, current?.metadata, ctx.map, { retention: ctx.retention });
  if (current && ctx.replica.unchanged(current, plan.metadata)) return unchangedResult(current, false);

  // Copy before pointer: every file the new snapshots reference exists at the destination first.
  const newIds = plan.newSnapshots.map((s) => s['snapshot-id']);
  const copies: CopyItem[] = [];
  const deleteFiles = new Map<string, Promise<RewrittenDeleteFile>>();
  copies.push(...newStatisticsFiles(source, current?.metadata, ctx.map));
  // Rewritten length by source manifest: of those written now and of those the replica holds.
  const manifestLengths = new Map<string, number | bigint>();
  const held = await manifestsHeldByReplica(ctx, current?.metadata, plan.newSnapshots);
  let manifestsReused = 0;
  /** Reads, rewrites and writes one manifest (its delete files first); answers its new length. */
  const rewriteOne = async (path: string): Promise<number> => {
    const manifestBytes = await ctx.sourceStores.storeFor(path).read(path);
    let manifest = rewriteManifest(manifestBytes, path, ctx.map);
    // Delete files first: the manifest is written with their new sizes, after they exist.
    const toRewrite = manifest.files.filter((f) => f.kind === 'position-deletes' || f.kind === 'deletion-vector');
    for (const referenced of manifest.files) {
      if (toRewrite.includes(referenced)) continue;
      copies.push({ source: referenced.sourceLocation, destination: referenced.destinationLocation, size: Number(referenced.sizeInBytes) });
    }
    const values = new Map<string, RewrittenFileValues>();
    await mapWithConcurrency(toRewrite, DELETE_FILE_CONCURRENCY, async (referenced) => {
      let pending = deleteFiles.get(referenced.sourceLocation);
      if (!pending) {
        pending = rewriteDeleteFile(ctx, referenced);
        deleteFiles.set(referenced.sourceLocation, pending);
      }
      values.set(referenced.sourceLocation, (await pending).values);
    });
    // A DELETED entry of a rewritten delete file records the size the replica's file has (when the
    // replica has it: an earlier sync rewrote it); readers skip such entries, auditors do not.
    const deletedRewritten = manifest.deletedFiles.filter((f) => f.kind === 'position-deletes' || f.kind === 'deletion-vector');
    await mapWithConcurrency(deletedRewritten, DELETE_FILE_CONCURRENCY, async (file) => {
      const info = await ctx.replicaStores.storeFor(file.destinationLocation).stat(file.destinationLocation);
      if (info) values.set(file.sourceLocation, { fileSizeInBytes: BigInt(info.size) });
    });
    if (values.size > 0) manifest = rewriteManifest(manifestBytes, path, ctx.map, { rewrittenFiles: values });
    await ctx.replicaStores.storeFor(manifest.destinationLocation).write(manifest.destinationLocation, manifest.bytes);
    return manifest.length;
  };
  // Each manifest once, however many of the new snapshots list it; several at a time, across the
  // lists of all new snapshots (a backfill's history adds one manifest per snapshot, typically),
  // so that reading and writing one (object storage round trips) overlaps with rewriting another.
  const lists: { location: string; bytes: Uint8Array }[] = [];
  const toRewrite = new Set<string>();
  for (const file of snapshotMetadataFiles(source, newIds)) {
    if (file.kind !== 'manifest-list') continue;
    const listBytes = await ctx.sourceStores.storeFor(file.location).read(file.location);
    lists.push({ location: file.location, bytes: listBytes });
    for (const entry of readManifestListEntries(listBytes, file.location)) {
      if (manifestLengths.has(entry.path) || toRewrite.has(entry.path)) continue;
      const heldLength = held.get(ctx.map.map(entry.path, `manifest listed in ${file.location}`));
      if (heldLength !== undefined) {
        manifestsReused++;
        manifestLengths.set(entry.path, heldLength);
      } else {
        toRewrite.add(entry.path);
      }
    }
  }
  await mapWithConcurrency([...toRewrite], MANIFEST_CONCURRENCY, async (path) => {
    manifestLengths.set(path, await rewriteOne(path));
  });
  // Written after their manifests: a list never names a manifest that is not there.
  for (const { location, bytes } of lists) {
    const list = rewriteManifestList(bytes, location, ctx.map, manifestLengths);
    await ctx.replicaStores.storeFor(list.destinationLocation).write(list.destinationLocation, list.bytes);
  }
  const copied = await ctx.copyFiles(dedupe(copies), options.onProgress);
  if (copied.failures.length > 0) {
    throw new Error(`${copied.failures.length} file(s) could not be copied; first: ${copied.failures[0]!.message}`);
  }

  await options.beforeCommit?.();
  let metadataLocation: string;
  if (current) {
    metadataLocation = await ctx.replica.commitReplica(id, current, plan.metadata);
  } else {
    // A new replica starts from a metadata file written at the destination, registered.
    metadataLocation = await writeTableMetadata(ctx.replicaStores, plan.metadata, undefined);
    await ensureNamespaces(ctx.replica, id.namespace);
    await ctx.replica.registerTable(id.namespace, id.name, metadataLocation, false);
  }
  // Only once the commit landed: the files of snapshots the destination's retention removed.
  const expired = current && plan.expiredSnapshots.length > 0
    ? await deleteExpiredFiles(ctx.replicaStores, current.metadata, plan.metadata)
    : { deleted: 0, failed: 0 };
  const deletes = await Promise.all(deleteFiles.values());
  return {
    metadataLocation,
    committed: true,
    behind: false,
    snapshotId: currentSnapshotId(plan.metadata),
    newSnapshots: plan.newSnapshots.length,
    filesCopied: copied.copied.length,
    filesSkipped: copied.skipped.length,
    bytesCopied: copied.bytes,
    deleteFilesRewritten: deletes.filter((d) => d.written).length,
    deleteFilesPresent: deletes.filter((d) => !d.written).length,
    manifestsReused,
    filesExpired: expired.deleted,
  };
}

/**
 * The manifests the replica already holds that the new snapshots may carry over from their
 * parents: destination location -> length of the replica's file (from the parent's manifest list
 * at the destination). Manifests are immutable and uniquely named, and a replica snapshot exists
 * only once every file it reaches was copied, so these are neither read nor rewritten again: a
 * commit costs the manifests it adds, not the table's whole history.
 */
async function manifestsHeldByReplica(ctx: TableSyncContext, replica: TableMetadata | undefined, newSnapshots: TableMetadata['snapshots']): Promise<Map<string, bigint>> {
  const held = new Map<string, bigint>();
  if (!replica) return held;
  const replicaLists = new Map(replica.snapshots.map((s) => [idKey(s['snapshot-id']), s['manifest-list']]));
  const parents = new Set(newSnapshots.flatMap((s) => (s['parent-snapshot-id'] === undefined || s['parent-snapshot-id'] === null ? [] : [idKey(s['parent-snapshot-id'])])));
  for (const parent of parents) {
    const list = replicaLists.get(parent);
    if (list === undefined) continue;
    const bytes = await ctx.replicaStores.storeFor(list).read(list);
    for (const entry of readManifestListEntries(bytes, list)) held.set(entry.path, entry.length);
  }
  return held;
}

function unchangedResult(current: { metadataLocation: string; metadata: TableMetadata }, behind: boolean): TableSyncResult {
  return {
    metadataLocation: current.metadataLocation,
    committed: false,
    behind,
    snapshotId: currentSnapshotId(current.metadata),
    newSnapshots: 0,
    filesCopied: 0,
    filesSkipped: 0,
    bytesCopied: 0,
    deleteFilesRewritten: 0,
    deleteFilesPresent: 0,
    manifestsReused: 0,
    filesExpired: 0,
  };
}

interface RewrittenDeleteFile {
  values: RewrittenFileValues;
  /** False when the destination already held the file. */
  written: boolean;
}

/**
 * Brings one position-delete or deletion-vector file to the destination with its paths mapped
 * (see the module comment for why a file already there is kept as it is).
 */
async function rewriteDeleteFile(ctx: TableSyncContext, file: ReferencedFile): Promise<RewrittenDeleteFile> {
  const destination = ctx.replicaStores.storeFor(file.destinationLocation);
  const present = async (): Promise<RewrittenDeleteFile | undefined> => {
    const info = await destination.stat(file.destinationLocation);
    return info ? { values: { fileSizeInBytes: BigInt(info.size) }, written: false } : undefined;
  };
  const existing = await present();
  if (existing) return existing;
  const source = await ctx.sourceStores.storeFor(file.sourceLocation).read(file.sourceLocation);
  if (BigInt(source.length) !== file.sizeInBytes) {
    throw new Error(`${file.kind} file ${file.sourceLocation} has ${source.length} bytes, but its manifest says ${file.sizeInBytes}`);
  }
  const bytes =
    file.kind === 'deletion-vector'
      ? rewritePuffinFile(source, file.sourceLocation, ctx.map).bytes
      : (await rewritePositionDeleteFile(source, file.sourceLocation, ctx.map)).bytes;
  try {
    await destination.write(file.destinationLocation, bytes, { ifAbsent: true });
  } catch (err) {
    // Another sync wrote it between the check and the write: use theirs, as for any file present.
    if (err instanceof ObjectExistsError) {
      const raced = await present();
      if (raced) return raced;
    }
    throw err;
  }
  return { values: { fileSizeInBytes: BigInt(bytes.length) }, written: true };
}

/**
 * Statistics files the replica does not list yet — of new snapshots, and those computed later for
 * snapshots it already has (a statistics-only commit adds no snapshot).
 */
function newStatisticsFiles(source: TableMetadata, replica: TableMetadata | undefined, map: LocationMap): CopyItem[] {
  const present = new Set([...(replica?.statistics ?? []), ...(replica?.['partition-statistics'] ?? [])].map((f) => f['statistics-path']));
  const items: CopyItem[] = [];
  for (const [kind, files] of [['statistics', source.statistics], ['partition statistics', source['partition-statistics']]] as const) {
    for (const file of files) {
      const destination = map.map(file['statistics-path'], `${kind} file`);
      if (!present.has(destination)) items.push({ source: file['statistics-path'], destination, size: Number(file['file-size-in-bytes']) });
    }
  }
  return items;
}

function currentSnapshotId(metadata: TableMetadata): string | null {
  const id = metadata['current-snapshot-id'];
  return id === undefined || id === null || BigInt(id) === -1n ? null : BigInt(id).toString();
}

function dedupe(items: CopyItem[]): CopyItem[] {
  return [...new Map(items.map((i) => [i.destination, i])).values()];
}
