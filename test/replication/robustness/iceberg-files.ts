/**
 * The files an engine writes for an append, written by the test itself: a data file (opaque
 * bytes: the shipper copies data files byte for byte and never parses them), a format-v2
 * manifest listing it, and a manifest list holding the parent snapshot's manifests plus the new
 * one (a "fast append", as Iceberg's Java and Python writers do). Also reads them back, to compare
 * a replica's files with its source's.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAvroContainer, type AvroRecord } from '../../../src/replication/rewrite/avro-container.ts';
import { container, manifestListSchema, manifestListType, manifestSchema, manifestType, TABLE_SCHEMA } from '../../helpers/iceberg-avro-files.ts';

export { TABLE_SCHEMA };

export function localPath(location: string): string {
  return location.startsWith('file:') ? fileURLToPath(location) : location;
}

async function put(location: string, bytes: Buffer): Promise<void> {
  const path = localPath(location);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}

export interface WrittenAppend {
  snapshotId: bigint;
  manifestList: string;
  manifest: string;
  dataFile: string;
  /** The snapshot object of the `add-snapshot` update. */
  snapshot: Record<string, unknown>;
}

export interface AppendOptions {
  /** Leave the data file out (a file missing at the source). */
  withoutDataFile?: boolean;
  /** Leave the new manifest out (the manifest list names a file that is not there). */
  withoutManifest?: boolean;
}

/** A random positive 62-bit snapshot id, as engines make them (beyond 2^53 most of the time). */
export function randomSnapshotId(): bigint {
  return randomBytes(8).readBigUInt64BE() >> 2n || 1n;
}

/**
 * Writes the files of one append on top of `parent` (its manifest list is read back for the
 * manifests to carry over) and returns the snapshot to commit.
 */
export async function writeAppend(
  tableLocation: string,
  parent: { snapshotId: bigint; manifestList: string } | undefined,
  sequenceNumber: bigint,
  options: AppendOptions = {},
): Promise<WrittenAppend> {
  const snapshotId = randomSnapshotId();
  const uuid = randomUUID();
  const dataFile = `${tableLocation}/data/${uuid}-${snapshotId}.parquet`;
  const manifest = `${tableLocation}/metadata/${uuid}-m0.avro`;
  const manifestList = `${tableLocation}/metadata/snap-${snapshotId}-1-${uuid}.avro`;
  // Opaque "rows": the snapshot id, so every file's bytes are its own.
  const data = Buffer.concat([Buffer.from('PAR1'), Buffer.from(`rows of ${snapshotId} `), randomBytes(64 + Number(snapshotId % 200n)), Buffer.from('PAR1')]);
  if (!options.withoutDataFile) await put(dataFile, data);
  const manifestBytes = container(manifestType, manifestSchema, {
    schema: JSON.stringify(TABLE_SCHEMA), 'schema-id': '0', 'partition-spec': '[]', 'partition-spec-id': '0', 'format-version': '2', content: 'data',
  }, [{
    status: 1,
    snapshot_id: snapshotId,
    sequence_number: null,
    file_sequence_number: null,
    data_file: { content: 0, file_path: dataFile, file_format: 'PARQUET', partition: {}, record_count: 1n, file_size_in_bytes: BigInt(data.length) },
  }]);
  if (!options.withoutManifest) await put(manifest, manifestBytes);
  const carried = parent ? await readManifestList(parent.manifestList) : [];
  const entries: AvroRecord[] = [
    {
      manifest_path: manifest, manifest_length: BigInt(manifestBytes.length), partition_spec_id: 0, content: 0,
      sequence_number: sequenceNumber, min_sequence_number: sequenceNumber, added_snapshot_id: snapshotId,
      added_files_count: 1, existing_files_count: 0, deleted_files_count: 0, added_rows_count: 1n, existing_rows_count: 0n, deleted_rows_count: 0n,
    },
    ...carried.map((e) => ({ ...e })),
  ];
  await put(manifestList, container(manifestListType, manifestListSchema, {
    'snapshot-id': String(snapshotId), 'parent-snapshot-id': parent ? String(parent.snapshotId) : 'null',
    'sequence-number': String(sequenceNumber), 'format-version': '2',
  }, entries));
  const snapshot = {
    'snapshot-id': snapshotId,
    'parent-snapshot-id': parent ? parent.snapshotId : null,
    'sequence-number': sequenceNumber,
    'timestamp-ms': Date.now(),
    'manifest-list': manifestList,
    summary: { operation: 'append', 'added-data-files': '1', 'added-records': '1' },
    'schema-id': 0,
  };
  return { snapshotId, manifestList, manifest, dataFile, snapshot };
}

/** The records of a manifest list (plain objects). */
export async function readManifestList(location: string): Promise<AvroRecord[]> {
  const bytes = await readFile(localPath(location));
  return readAvroContainer(bytes, location).blocks.flat().map((r) => ({ ...r }));
}

/** The data files a manifest lists: path and recorded size. */
export async function readManifestFiles(location: string): Promise<{ path: string; size: bigint; status: number }[]> {
  const bytes = await readFile(localPath(location));
  return readAvroContainer(bytes, location).blocks.flat().map((e) => {
    const file = e.data_file as { file_path: string; file_size_in_bytes: bigint };
    return { path: file.file_path, size: file.file_size_in_bytes, status: e.status as number };
  });
}
