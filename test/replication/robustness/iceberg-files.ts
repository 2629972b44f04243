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
import avro from 'avsc';
import { bigintLong } from '../../../src/iceberg/avro-file.ts';
import { readAvroContainer, type AvroRecord } from '../../../src/replication/rewrite/avro-container.ts';

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]);

const manifestListSchema = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    { name: 'manifest_path', type: 'string', 'field-id': 500 },
    { name: 'manifest_length', type: 'long', 'field-id': 501 },
    { name: 'partition_spec_id', type: 'int', 'field-id': 502 },
    { name: 'content', type: 'int', 'field-id': 517 },
    { name: 'sequence_number', type: 'long', 'field-id': 515 },
    { name: 'min_sequence_number', type: 'long', 'field-id': 516 },
    { name: 'added_snapshot_id', type: 'long', 'field-id': 503 },
    { name: 'added_files_count', type: 'int', 'field-id': 504 },
    { name: 'existing_files_count', type: 'int', 'field-id': 505 },
    { name: 'deleted_files_count', type: 'int', 'field-id': 506 },
    { name: 'added_rows_count', type: 'long', 'field-id': 512 },
    { name: 'existing_rows_count', type: 'long', 'field-id': 513 },
    { name: 'deleted_rows_count', type: 'long', 'field-id': 514 },
  ],
};

const manifestSchema = {
  type: 'record',
  name: 'manifest_entry',
  fields: [
    { name: 'status', type: 'int', 'field-id': 0 },
    { name: 'snapshot_id', type: ['null', 'long'], default: null, 'field-id': 1 },
    { name: 'sequence_number', type: ['null', 'long'], default: null, 'field-id': 3 },
    { name: 'file_sequence_number', type: ['null', 'long'], default: null, 'field-id': 4 },
    {
      name: 'data_file',
      'field-id': 2,
      type: {
        type: 'record',
        name: 'r2',
        fields: [
          { name: 'content', type: 'int', 'field-id': 134 },
          { name: 'file_path', type: 'string', 'field-id': 100 },
          { name: 'file_format', type: 'string', 'field-id': 101 },
          { name: 'partition', type: { type: 'record', name: 'r102', fields: [] }, 'field-id': 102 },
          { name: 'record_count', type: 'long', 'field-id': 103 },
          { name: 'file_size_in_bytes', type: 'long', 'field-id': 104 },
        ],
      },
    },
  ],
};

const registry = () => ({ long: bigintLong });
const manifestListType = avro.Type.forSchema(manifestListSchema as avro.Schema, { registry: registry() });
const manifestType = avro.Type.forSchema(manifestSchema as avro.Schema, { registry: registry() });
const metadataMapType = avro.Type.forSchema({ type: 'map', values: 'bytes' });
const longType = avro.Type.forSchema('long');

/** The table's schema as Iceberg writes it into manifest headers. */
export const TABLE_SCHEMA = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', type: 'long', required: false }] };

function container(type: avro.Type, schema: object, meta: Record<string, string>, records: AvroRecord[]): Buffer {
  const header = metadataMapType.toBuffer(Object.fromEntries(
    Object.entries({ 'avro.schema': JSON.stringify(schema), 'avro.codec': 'null', ...meta }).map(([k, v]) => [k, Buffer.from(v, 'utf8')]),
  ));
  const sync = randomBytes(16);
  const parts = [MAGIC, header, sync];
  if (records.length > 0) {
    const data = Buffer.concat(records.map((r) => type.toBuffer(r)));
    parts.push(longType.toBuffer(records.length), longType.toBuffer(data.length), data, sync);
  }
  return Buffer.concat(parts);
}

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
