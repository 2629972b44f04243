/**
 * After the destination's retention removed snapshots from a replica (and that commit landed),
 * deletes the replica's files no kept snapshot reaches any more: manifest lists, manifests, data
 * and delete files, statistics files. The replica keeps its own history independently of the
 * source, so this is the only place its files are ever deleted.
 *
 * Reachability, as Iceberg's expire-snapshots computes it: the files of expired snapshots minus
 * everything the kept snapshots reference. A manifest entry counts as a reference whatever its
 * status (a DELETED entry still names a file an older kept snapshot may read), which errs on the
 * side of keeping. Files outside the replica table's own location are never deleted (they are
 * not the replica's to delete).
 *
 * Reads every manifest of every kept snapshot: proportional to the table, done only when
 * snapshots were expired. A failed delete leaves an orphan, never a broken table.
 */
import type { TableMetadata } from '../../iceberg/types.ts';
import type { StoreResolver } from '../../storage/store-resolver.ts';
import { idKey } from '../../util/int64.ts';
import { mapWithConcurrency } from '../copy/concurrency.ts';
import { allRecords, readAvroContainer } from '../rewrite/avro-container.ts';
import { readManifestListEntries } from '../rewrite/rewrite-avro.ts';

export interface ExpiredFiles {
  /** Files deleted. */
  deleted: number;
  /** Files that could not be deleted (left as orphans); the first error, if any. */
  failed: number;
  firstError?: string;
}

const CONCURRENCY = 16;

export async function deleteExpiredFiles(stores: StoreResolver, before: TableMetadata, after: TableMetadata): Promise<ExpiredFiles> {
  const kept = new Set(after.snapshots.map((s) => idKey(s['snapshot-id'])));
  const expired = before.snapshots.filter((s) => !kept.has(idKey(s['snapshot-id'])));
  if (expired.length === 0) return { deleted: 0, failed: 0 };

  const reachable = await reachableFiles(stores, after.snapshots.map((s) => s['manifest-list']), after);
  const candidates = await reachableFiles(stores, expired.map((s) => s['manifest-list']), before, (f) => !reachable.has(f));
  const root = `${after.location.replace(/\/+$/, '')}/`;
  const doomed = [...candidates].filter((f) => !reachable.has(f) && f.startsWith(root));
  const result: ExpiredFiles = { deleted: 0, failed: 0 };
  await mapWithConcurrency(doomed, CONCURRENCY, async (location) => {
    try {
      await stores.storeFor(location).delete(location);
      result.deleted++;
    } catch (error) {
      result.failed++;
      result.firstError ??= `${location}: ${error instanceof Error ? error.message : String(error)}`;
    }
  });
  return result;
}

/**
 * Every file the given manifest lists reach (lists, manifests, the files their entries name) plus
 * the statistics files of `metadata` for those snapshots. `descend` decides whether a manifest's
 * entries are read (a manifest known to be reachable from kept snapshots need not be).
 */
async function reachableFiles(
  stores: StoreResolver,
  manifestLists: (string | undefined)[],
  metadata: TableMetadata,
  descend: (manifest: string) => boolean = () => true,
): Promise<Set<string>> {
  const files = new Set<string>();
  const manifests = new Set<string>();
  for (const list of manifestLists) {
    if (list === undefined || files.has(list)) continue;
    files.add(list);
    const bytes = await stores.storeFor(list).read(list);
    for (const entry of readManifestListEntries(bytes, list)) manifests.add(entry.path);
  }
  await mapWithConcurrency([...manifests], CONCURRENCY, async (manifest) => {
    files.add(manifest);
    if (!descend(manifest)) return;
    const container = readAvroContainer(await stores.storeFor(manifest).read(manifest), manifest);
    for (const entry of allRecords(container)) files.add((entry.data_file as { file_path: string }).file_path);
  });
  const snapshotIds = new Set(metadata.snapshots.filter((s) => manifestLists.includes(s['manifest-list'])).map((s) => idKey(s['snapshot-id'])));
  for (const stats of [...metadata.statistics, ...metadata['partition-statistics']]) {
    if (snapshotIds.has(idKey(stats['snapshot-id']))) files.add(stats['statistics-path']);
  }
  return files;
}
