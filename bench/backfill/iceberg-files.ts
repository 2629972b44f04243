/**
 * The files of one small Iceberg table's first append, as an engine writes them: `dataFiles` data
 * files of opaque random bytes (the copier never parses data files), one format-v2 manifest listing
 * them, one manifest list naming the manifest. Returns the bytes to write and the snapshot to commit.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import avro from 'avsc';
import { bigintLong } from '../../src/iceberg/avro-file.ts';

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

/** The tables' schema (also written into manifest headers, as Iceberg does). */
export const TABLE_SCHEMA = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', type: 'long', required: false }] };

function container(type: avro.Type, schema: object, meta: Record<string, string>, records: Record<string, unknown>[]): Buffer {
  const header = metadataMapType.toBuffer(Object.fromEntries(
    Object.entries({ 'avro.schema': JSON.stringify(schema), 'avro.codec': 'null', ...meta }).map(([k, v]) => [k, Buffer.from(v, 'utf8')]),
  ));
  const sync = randomBytes(16);
  const data = Buffer.concat(records.map((r) => type.toBuffer(r)));
  return Buffer.concat([MAGIC, header, sync, longType.toBuffer(records.length), longType.toBuffer(data.length), data, sync]);
}

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
