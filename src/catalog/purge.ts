/**
 * Deleting a dropped table's files (`purgeRequested=true`): every metadata file in its history, the
 * manifest lists and statistics it references, and whatever lies under its own `data/` and
 * `metadata/` folders. Files elsewhere (a custom write.data.path, files added from other places)
 * are left alone rather than risk deleting data another table uses.
 */
import { readTableMetadata, type StoreResolver } from './metadata-files.ts';

export async function purgeTableFiles(stores: StoreResolver, metadataLocation: string): Promise<void> {
  const metadata = await readTableMetadata(stores, metadataLocation);
  const files = new Set<string>([metadataLocation]);
  for (const entry of metadata['metadata-log']) files.add(entry['metadata-file']);
  for (const snapshot of metadata.snapshots) if (snapshot['manifest-list']) files.add(snapshot['manifest-list']);
  for (const stats of [...metadata.statistics, ...metadata['partition-statistics']]) files.add(stats['statistics-path']);
  for (const folder of ['data', 'metadata']) {
    const prefix = `${metadata.location}/${folder}/`;
    for await (const object of stores.storeFor(prefix).list(prefix)) files.add(object.location);
  }
  await Promise.all([...files].map((file) => stores.storeFor(file).delete(file)));
}
