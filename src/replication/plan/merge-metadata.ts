/**
 * The state-based planner: the replica's next table metadata from the source's metadata (as of
 * the event being shipped) and the replica's current metadata, as S3 Tables replication does it,
 * but keeping history the source has expired:
 * - snapshots: the union by id, in sequence order — a snapshot the source expired stays until the
 *   destination's own retention drops it; new ones come with their locations mapped;
 * - snapshot-log: the union of both logs, in time order, for the snapshots kept;
 * - schemas, partition specs, sort orders: the union by id (the source's current ones win);
 * - refs, current ids, properties, row lineage (`next-row-id`), format version: the source's;
 * - statistics: the source's (mapped), plus the replica's for snapshots the source no longer has;
 * - location: mapped; metadata-log: the replica's own (the replica commit appends to it).
 * Pure: reads and writes no file. The caller copies what `newSnapshots` reference, then commits.
 */
import type { PartitionSpec, Schema, Snapshot, SnapshotLogEntry, SortOrder, TableMetadata } from '../../iceberg/types.ts';
import { compareInt64, idKey, type Int64 } from '../../util/int64.ts';
import type { LocationMap } from '../rewrite/location-map.ts';
import { rewriteTableMetadata } from '../rewrite/rewrite-metadata.ts';

/** The destination's own retention, independent of the source's snapshot expiry. */
export interface RetentionPolicy {
  /** Keep at most this many snapshots (the newest); snapshots a branch or tag points to are always kept. */
  keepLast?: number;
  /** Drop snapshots older than this (by their timestamp), except those a branch or tag points to. */
  maxAgeMs?: number;
}

export interface ReplicaPlan {
  /** The replica's next metadata (its metadata-log as it was: the commit appends the previous file). */
  metadata: TableMetadata;
  /** Snapshots the replica did not have: their manifest lists, manifests and files must be copied first. */
  newSnapshots: Snapshot[];
  /** Snapshots the retention policy removed from the replica (their files may be deleted once unreferenced). */
  expiredSnapshots: Snapshot[];
}

/** The source table was replaced (dropped and created again): a different table, not a next state. */
export class TableReplacedError extends Error {
  override readonly name = 'TableReplacedError';
}

export interface PlanOptions {
  retention?: RetentionPolicy;
  /** For `maxAgeMs`; defaults to the clock. */
  nowMs?: number;
}

export function planReplicaMetadata(source: TableMetadata, replica: TableMetadata | undefined, map: LocationMap, options: PlanOptions = {}): ReplicaPlan {
  if (replica && replica['table-uuid'] !== source['table-uuid']) {
    throw new TableReplacedError(`the source table's UUID is ${source['table-uuid']}, the replica's ${replica['table-uuid']}: the source table was replaced`);
  }
  const mapped = rewriteTableMetadata(source, map, { metadataLog: replica?.['metadata-log'] ?? [] });
  if (!replica) {
    const kept = applyRetention(mapped, options);
    return { metadata: kept.metadata, newSnapshots: kept.metadata.snapshots, expiredSnapshots: kept.expired };
  }

  const known = new Set(replica.snapshots.map((s) => idKey(s['snapshot-id'])));
  const newSnapshots = mapped.snapshots.filter((s) => !known.has(idKey(s['snapshot-id'])));
  const snapshots = [...replica.snapshots, ...newSnapshots].sort(bySequence);
  const inSource = new Set(mapped.snapshots.map((s) => idKey(s['snapshot-id'])));
  const merged: TableMetadata = {
    ...mapped,
    'last-sequence-number': maxInt64(source['last-sequence-number'], replica['last-sequence-number']),
    'last-column-id': Math.max(source['last-column-id'], replica['last-column-id']),
    'last-partition-id': Math.max(source['last-partition-id'], replica['last-partition-id']),
    schemas: unionById(mapped.schemas, replica.schemas, (s: Schema) => s['schema-id']),
    'partition-specs': unionById(mapped['partition-specs'], replica['partition-specs'], (s: PartitionSpec) => s['spec-id']),
    'sort-orders': unionById(mapped['sort-orders'], replica['sort-orders'], (s: SortOrder) => s['order-id']),
    snapshots,
    'snapshot-log': mergeSnapshotLogs(replica['snapshot-log'], mapped['snapshot-log']),
    statistics: [...mapped.statistics, ...replica.statistics.filter((s) => !inSource.has(idKey(s['snapshot-id'])))],
    'partition-statistics': [
      ...mapped['partition-statistics'],
      ...replica['partition-statistics'].filter((s) => !inSource.has(idKey(s['snapshot-id']))),
    ],
  };
  const kept = applyRetention(merged, options);
  const expired = new Set(kept.expired.map((s) => idKey(s['snapshot-id'])));
  return {
    metadata: kept.metadata,
    newSnapshots: newSnapshots.filter((s) => !expired.has(idKey(s['snapshot-id']))),
    expiredSnapshots: kept.expired.filter((s) => known.has(idKey(s['snapshot-id']))),
  };
}

function bySequence(a: Snapshot, b: Snapshot): number {
  return compareInt64(a['sequence-number'] ?? 0, b['sequence-number'] ?? 0) || compareInt64(a['timestamp-ms'], b['timestamp-ms']);
}

function maxInt64(a: Int64, b: Int64): Int64 {
  return compareInt64(a, b) >= 0 ? a : b;
}

/** The source's entries, then the replica's with ids the source no longer has, in id order. */
function unionById<T>(source: T[], replica: T[], id: (item: T) => number): T[] {
  const ids = new Set(source.map(id));
  return [...source, ...replica.filter((item) => !ids.has(id(item)))].sort((a, b) => id(a) - id(b));
}

function mergeSnapshotLogs(replica: SnapshotLogEntry[], source: SnapshotLogEntry[]): SnapshotLogEntry[] {
  const key = (e: SnapshotLogEntry) => `${idKey(e['timestamp-ms'])}:${idKey(e['snapshot-id'])}`;
  const seen = new Set(replica.map(key));
  return [...replica, ...source.filter((e) => !seen.has(key(e)))].sort((a, b) => compareInt64(a['timestamp-ms'], b['timestamp-ms']));
}

/** Drops what the destination's retention expires; snapshots that refs point to always stay. */
function applyRetention(metadata: TableMetadata, options: PlanOptions): { metadata: TableMetadata; expired: Snapshot[] } {
  const { keepLast, maxAgeMs } = options.retention ?? {};
  if (keepLast === undefined && maxAgeMs === undefined) return { metadata, expired: [] };
  const referenced = new Set(Object.values(metadata.refs).map((r) => idKey(r['snapshot-id'])));
  const newestFirst = [...metadata.snapshots].sort((a, b) => -bySequence(a, b));
  const cutoff = maxAgeMs === undefined ? undefined : (options.nowMs ?? Date.now()) - maxAgeMs;
  const expired = newestFirst.filter((s, index) => {
    if (referenced.has(idKey(s['snapshot-id']))) return false;
    const tooMany = keepLast !== undefined && index >= keepLast;
    const tooOld = cutoff !== undefined && compareInt64(s['timestamp-ms'], cutoff) < 0;
    return tooMany || tooOld;
  });
  if (expired.length === 0) return { metadata, expired };
  const gone = new Set(expired.map((s) => idKey(s['snapshot-id'])));
  const keep = <T extends { 'snapshot-id': Int64 }>(items: T[]) => items.filter((i) => !gone.has(idKey(i['snapshot-id'])));
  return {
    metadata: {
      ...metadata,
      snapshots: keep(metadata.snapshots),
      'snapshot-log': keep(metadata['snapshot-log']),
      statistics: keep(metadata.statistics),
      'partition-statistics': keep(metadata['partition-statistics']),
    },
    expired,
  };
}
