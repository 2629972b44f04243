/**
 * Rewriting table metadata for a destination, and listing the metadata-level files snapshots use.
 *
 * Only location-bearing fields change; every other value is passed through by reference, so ids,
 * sequence numbers and row-lineage fields keep the exact (bigint / lossless) values the parser
 * produced. The metadata-log is not mapped: it names the source's previous metadata files, which
 * are never copied, so the replica gets its own log (given by the caller, empty by default).
 */
import { sameInt64, type Int64 } from '../../util/int64.ts';
import type { MetadataLogEntry, Snapshot, TableMetadata } from '../../iceberg/types.ts';
import type { LocationMap } from './location-map.ts';

/** Table properties whose values are locations (Iceberg's LocationProvider reads them). */
export const LOCATION_PROPERTIES = [
  'write.data.path',
  'write.metadata.path',
  'write.object-storage.path',
  'write.folder-storage.path',
] as const;

export interface RewriteMetadataOptions {
  /** The replica's own metadata-log; default empty. */
  metadataLog?: MetadataLogEntry[];
}

export function rewriteTableMetadata(m: TableMetadata, map: LocationMap, options: RewriteMetadataOptions = {}): TableMetadata {
  const properties = { ...m.properties };
  for (const key of LOCATION_PROPERTIES) {
    const value = properties[key];
    if (value !== undefined) properties[key] = map.map(value, `table property ${key}`);
  }
  return {
    ...m,
    location: map.map(m.location, 'table location'),
    properties,
    snapshots: m.snapshots.map((s) => rewriteSnapshot(s, map)),
    statistics: m.statistics.map((s) => ({
      ...s,
      'statistics-path': map.map(s['statistics-path'], `statistics file of snapshot ${String(s['snapshot-id'])}`),
    })),
    'partition-statistics': m['partition-statistics'].map((s) => ({
      ...s,
      'statistics-path': map.map(s['statistics-path'], `partition statistics file of snapshot ${String(s['snapshot-id'])}`),
    })),
    'metadata-log': options.metadataLog ?? [],
  };
}

function rewriteSnapshot(s: Snapshot, map: LocationMap): Snapshot {
  const context = `snapshot ${String(s['snapshot-id'])}`;
  const out: Snapshot = { ...s };
  if (s['manifest-list'] !== undefined) out['manifest-list'] = map.map(s['manifest-list'], `manifest list of ${context}`);
  // v1 snapshots written before manifest lists existed name their manifests inline.
  if (Array.isArray(s.manifests)) out.manifests = s.manifests.map((p) => map.map(p, `manifest of ${context}`));
  return out;
}

export type MetadataFileKind = 'manifest-list' | 'manifest' | 'statistics' | 'partition-statistics';

export interface MetadataFileRef {
  kind: MetadataFileKind;
  location: string;
  snapshotId: Int64;
  /** Known for statistics files (the metadata records it); manifest lists carry no size. */
  sizeInBytes?: Int64;
}

/**
 * Every file the given snapshots reference at the metadata level: manifest lists (or v1 inline
 * manifests) and statistics / partition-statistics files. Manifests inside manifest lists are
 * found by reading the lists (rewrite-avro.ts). Throws when a snapshot id is not in the metadata.
 */
export function snapshotMetadataFiles(m: TableMetadata, snapshotIds: readonly Int64[]): MetadataFileRef[] {
  const out: MetadataFileRef[] = [];
  for (const id of snapshotIds) {
    const snapshot = m.snapshots.find((s) => sameInt64(s['snapshot-id'], id));
    if (!snapshot) throw new Error(`Snapshot ${String(id)} is not in the table metadata of ${m.location}`);
    const snapshotId = snapshot['snapshot-id'];
    if (snapshot['manifest-list'] !== undefined) out.push({ kind: 'manifest-list', location: snapshot['manifest-list'], snapshotId });
    for (const manifest of snapshot.manifests ?? []) out.push({ kind: 'manifest', location: manifest, snapshotId });
    for (const s of m.statistics) {
      if (sameInt64(s['snapshot-id'], id)) {
        out.push({ kind: 'statistics', location: s['statistics-path'], snapshotId, sizeInBytes: s['file-size-in-bytes'] });
      }
    }
    for (const s of m['partition-statistics']) {
      if (sameInt64(s['snapshot-id'], id)) {
        out.push({ kind: 'partition-statistics', location: s['statistics-path'], snapshotId, sizeInBytes: s['file-size-in-bytes'] });
      }
    }
  }
  return out;
}
