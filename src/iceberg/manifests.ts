/**
 * The files a table references, found by walking snapshots -> manifest lists -> manifests.
 */
import type { StoreResolver } from '../storage/store-resolver.ts';
import { readAvroFile } from './avro-file.ts';
import type { Snapshot } from './types.ts';

export async function readManifestPaths(stores: StoreResolver, snapshot: Snapshot): Promise<string[]> {
  if (Array.isArray(snapshot.manifests)) return snapshot.manifests; // v1 snapshots may list manifests inline
  const location = snapshot['manifest-list'];
  if (!location) return [];
  const file = await readAvroFile(await stores.storeFor(location).read(location), location);
  return file.records.map((r) => String(r.manifest_path));
}

/** Paths of every data and delete file a manifest lists (any status). */
export async function readManifestFilePaths(stores: StoreResolver, manifest: string): Promise<string[]> {
  const file = await readAvroFile(await stores.storeFor(manifest).read(manifest), manifest);
  return file.records.map((entry) => String((entry.data_file as { file_path: unknown }).file_path));
}
