/**
 * The files of one small Iceberg table's first append, as an engine writes them: `dataFiles` data
 * files of opaque random bytes (the copier never parses data files), one format-v2 manifest listing
 * them, one manifest list naming the manifest. Returns the bytes to write and the snapshot to commit.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { container, manifestListSchema, manifestListType, manifestSchema, manifestType, TABLE_SCHEMA } from '../../test/helpers/iceberg-avro-files.ts';

export { TABLE_SCHEMA };

export interface AppendFiles {
  /** Location -> bytes, data files first, then the manifest, then the manifest list. */
  files: Array<{ location: string; bytes: Buffer; kind: 'data' | 'manifest' | 'manifest-list' }>;
  /** The `add-snapshot` update's snapshot. */
  snapshot: Record<string, unknown>;
  snapshotId: bigint;
}

/** The files of a first append to an empty table at `tableLocation`, data files of the given sizes. */
export function firstAppend(tableLocation: string, dataFileSizes: number[]): AppendFiles {
  const snapshotId = randomBytes(8).readBigUInt64BE() >> 2n || 1n;
  const uuid = randomUUID();
  const files: AppendFiles['files'] = dataFileSizes.map((size, i) => ({
    location: `${tableLocation}/data/${uuid}-${i}.parquet`,
    bytes: randomBytes(size),
    kind: 'data' as const,
  }));
  const manifestLocation = `${tableLocation}/metadata/${uuid}-m0.avro`;
  const manifest = container(manifestType, manifestSchema, {
    schema: JSON.stringify(TABLE_SCHEMA), 'schema-id': '0', 'partition-spec': '[]', 'partition-spec-id': '0', 'format-version': '2', content: 'data',
  }, files.map((f) => ({
    status: 1,
    snapshot_id: snapshotId,
    sequence_number: null,
    file_sequence_number: null,
    data_file: { content: 0, file_path: f.location, file_format: 'PARQUET', partition: {}, record_count: 100n, file_size_in_bytes: BigInt(f.bytes.length) },
  })));
  const listLocation = `${tableLocation}/metadata/snap-${snapshotId}-1-${uuid}.avro`;
  const rows = BigInt(files.length * 100);
  const list = container(manifestListType, manifestListSchema, {
    'snapshot-id': String(snapshotId), 'parent-snapshot-id': 'null', 'sequence-number': '1', 'format-version': '2',
  }, [{
    manifest_path: manifestLocation, manifest_length: BigInt(manifest.length), partition_spec_id: 0, content: 0,
    sequence_number: 1n, min_sequence_number: 1n, added_snapshot_id: snapshotId,
    added_files_count: files.length, existing_files_count: 0, deleted_files_count: 0,
    added_rows_count: rows, existing_rows_count: 0n, deleted_rows_count: 0n,
  }]);
  files.push({ location: manifestLocation, bytes: manifest, kind: 'manifest' }, { location: listLocation, bytes: list, kind: 'manifest-list' });
  const snapshot = {
    'snapshot-id': snapshotId,
    'parent-snapshot-id': null,
    'sequence-number': 1,
    'timestamp-ms': Date.now(),
    'manifest-list': listLocation,
    summary: { operation: 'append', 'added-data-files': String(dataFileSizes.length), 'added-records': String(rows) },
    'schema-id': 0,
  };
  return { files, snapshot, snapshotId };
}
