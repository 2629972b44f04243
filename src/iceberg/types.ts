/**
 * The Iceberg documents Icerelay handles, typed as they appear on the wire (JSON names exactly as in
 * the spec). Every interface allows extra keys: fields this version does not know are carried through
 * untouched rather than dropped. Longs are `Int64` (number or bigint, see util/int64.ts).
 */
import type { Int64 } from '../util/int64.ts';
import type { JsonValue } from '../util/json.ts';

export type IcebergType = string | StructType | ListType | MapType;

export interface StructField {
  id: number;
  name: string;
  type: IcebergType;
  required: boolean;
  doc?: string;
  'initial-default'?: JsonValue;
  'write-default'?: JsonValue;
  [extra: string]: unknown;
}

export interface StructType {
  type: 'struct';
  fields: StructField[];
  [extra: string]: unknown;
}

export interface ListType {
  type: 'list';
  'element-id': number;
  element: IcebergType;
  'element-required': boolean;
  [extra: string]: unknown;
}

export interface MapType {
  type: 'map';
  'key-id': number;
  key: IcebergType;
  'value-id': number;
  value: IcebergType;
  'value-required': boolean;
  [extra: string]: unknown;
}

export interface Schema extends StructType {
  'schema-id': number;
  'identifier-field-ids'?: number[];
}

export interface PartitionField {
  'source-id'?: number;
  'source-ids'?: number[];
  'field-id'?: number;
  name: string;
  transform: string;
  [extra: string]: unknown;
}

export interface PartitionSpec {
  'spec-id': number;
  fields: PartitionField[];
  [extra: string]: unknown;
}

export interface SortField {
  transform: string;
  'source-id'?: number;
  'source-ids'?: number[];
  direction: 'asc' | 'desc';
  'null-order': 'nulls-first' | 'nulls-last';
  [extra: string]: unknown;
}

export interface SortOrder {
  'order-id': number;
  fields: SortField[];
  [extra: string]: unknown;
}

export interface Snapshot {
  'snapshot-id': Int64;
  'parent-snapshot-id'?: Int64 | null;
  'sequence-number'?: Int64;
  'timestamp-ms': Int64;
  'manifest-list'?: string;
  manifests?: string[];
  summary: { operation: string; [key: string]: string };
  'schema-id'?: number;
  'first-row-id'?: Int64 | null;
  'added-rows'?: Int64 | null;
  'key-id'?: string;
  [extra: string]: unknown;
}

export interface SnapshotRef {
  'snapshot-id': Int64;
  type: 'branch' | 'tag';
  'max-ref-age-ms'?: Int64 | null;
  'max-snapshot-age-ms'?: Int64 | null;
  'min-snapshots-to-keep'?: number | null;
  [extra: string]: unknown;
}

export interface SnapshotLogEntry {
  'timestamp-ms': Int64;
  'snapshot-id': Int64;
}

export interface MetadataLogEntry {
  'timestamp-ms': Int64;
  'metadata-file': string;
}

export interface StatisticsFile {
  'snapshot-id': Int64;
  'statistics-path': string;
  'file-size-in-bytes': Int64;
  'file-footer-size-in-bytes': Int64;
  'key-metadata'?: string;
  'blob-metadata': unknown[];
  [extra: string]: unknown;
}

export interface PartitionStatisticsFile {
  'snapshot-id': Int64;
  'statistics-path': string;
  'file-size-in-bytes': Int64;
  [extra: string]: unknown;
}

export interface EncryptedKey {
  'key-id': string;
  'encrypted-key-metadata': string;
  'encrypted-by-id'?: string;
  properties?: Record<string, string>;
  [extra: string]: unknown;
}

export interface TableMetadata {
  'format-version': number;
  /** Absent only in v1 tables written before UUIDs existed. */
  'table-uuid': string;
  location: string;
  'last-sequence-number': Int64;
  'last-updated-ms': Int64;
  'last-column-id': number;
  'current-schema-id': number;
  schemas: Schema[];
  'default-spec-id': number;
  'partition-specs': PartitionSpec[];
  'last-partition-id': number;
  'default-sort-order-id': number;
  'sort-orders': SortOrder[];
  properties: Record<string, string>;
  /** -1 (v1/v2) or null (v3) when the table has no current snapshot. */
  'current-snapshot-id': Int64 | null;
  refs: Record<string, SnapshotRef>;
  snapshots: Snapshot[];
  statistics: StatisticsFile[];
  'partition-statistics': PartitionStatisticsFile[];
  'snapshot-log': SnapshotLogEntry[];
  'metadata-log': MetadataLogEntry[];
  'next-row-id'?: Int64;
  'encryption-keys'?: EncryptedKey[];
  [extra: string]: unknown;
}

export interface ViewRepresentation {
  type: string;
  sql?: string;
  dialect?: string;
  [extra: string]: unknown;
}

export interface ViewVersion {
  'version-id': number;
  'timestamp-ms': Int64;
  'schema-id': number;
  summary: Record<string, string>;
  representations: ViewRepresentation[];
  'default-catalog'?: string | null;
  'default-namespace': string[];
  [extra: string]: unknown;
}

export interface ViewMetadata {
  'view-uuid': string;
  'format-version': number;
  location: string;
  'current-version-id': number;
  versions: ViewVersion[];
  'version-log': { 'timestamp-ms': Int64; 'version-id': number }[];
  schemas: Schema[];
  properties: Record<string, string>;
  [extra: string]: unknown;
}

export interface TableIdentifier {
  namespace: string[];
  name: string;
}

export type TableRequirement = { type: string; [field: string]: unknown };
export type MetadataUpdate = { action: string; [field: string]: unknown };
