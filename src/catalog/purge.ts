/**
 * Deleting a dropped table's files (`purgeRequested=true`): exactly the files its metadata
 * references (metadata history, manifest lists, manifests, data and delete files, statistics) and
 * nothing else, so a table that shares its folder with another (after a rename and a re-create
 * under the old name, say) never loses files that are not its own.
 */
import { readManifestFilePaths, readManifestPaths } from '../iceberg/manifests.ts';
import { ObjectNotFoundError } from '../storage/object-store.ts';
import { readTableMetadata, type StoreResolver } from './metadata-files.ts';
import { forgetMetadataText } from './metadata-text-cache.ts';

async function ignoreMissing<T>(work: Promise<T>, fallback: T): Promise<T> {
  try {
    return await work;
  } catch (error) {
    // Already gone (an earlier, interrupted purge; expired snapshots' files): nothing to delete.
    if (error instanceof ObjectNotFoundError) return fallback;
    throw error;
  }
}

export async function purgeTableFiles(stores: StoreResolver, metadataLocation: string): Promise<void> {
  const metadata = await readTableMetadata(stores, metadataLocation);
  const files = new Set<string>([metadataLocation]);
  for (const entry of metadata['metadata-log']) files.add(entry['metadata-file']);
  for (const stats of [...metadata.statistics, ...metadata['partition-statistics']]) files.add(stats['statistics-path']);
  const manifests = new Set<string>();
  for (const snapshot of metadata.snapshots) {
    if (snapshot['manifest-list']) files.add(snapshot['manifest-list']);
    for (const manifest of await ignoreMissing(readManifestPaths(stores, snapshot), [])) manifests.add(manifest);
  }
  for (const manifest of manifests) {
    files.add(manifest);
    for (const file of await ignoreMissing(readManifestFilePaths(stores, manifest), [])) files.add(file);
  }
  for (const file of files) forgetMetadataText(stores, file);
  await Promise.all([...files].map((file) => stores.storeFor(file).delete(file)));
}
