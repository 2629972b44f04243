/**
 * Iceberg's Avro files as engines write them, for tests and benchmarks that make tables without an
 * engine: the format-v2 manifest and manifest list schemas (unpartitioned, the fields Icerelay
 * reads) and an Avro container writer with Iceberg's header metadata.
 */
import { randomBytes } from 'node:crypto';
import avro from 'avsc';
import { bigintLong } from '../../src/iceberg/avro-file.ts';
import type { AvroRecord } from '../../src/replication/rewrite/avro-container.ts';

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]);

export const manifestListSchema = {
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

export const manifestSchema = {
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
export const manifestListType = avro.Type.forSchema(manifestListSchema as avro.Schema, { registry: registry() });
export const manifestType = avro.Type.forSchema(manifestSchema as avro.Schema, { registry: registry() });
const metadataMapType = avro.Type.forSchema({ type: 'map', values: 'bytes' });
const longType = avro.Type.forSchema('long');

/** The table's schema as Iceberg writes it into manifest headers. */
export const TABLE_SCHEMA = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', type: 'long', required: false }] };

/** An Avro object container file: `meta` is Iceberg's header metadata (schema, spec, format version...). */
export function container(type: avro.Type, schema: unknown, meta: Record<string, string>, records: AvroRecord[]): Buffer {
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
