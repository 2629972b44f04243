/**
 * Reading and writing table metadata JSON files.
 *
 * Reading normalizes the legacy v1 layout (`schema`, `partition-spec`, missing `refs`) into the
 * modern one so the rest of the code sees one shape; writing emits what Iceberg Java writes for the
 * table's format version, keys in spec order, unknown keys kept.
 */
import { invalidArgument } from '../errors/iceberg-error.ts';
import { int64, isInt64, sameInt64, type Int64 } from '../util/int64.ts';
import { isJsonObject, parseJson, toJson } from '../util/json.ts';
import { highestFieldId } from './schema.ts';
import type { PartitionSpec, Schema, SnapshotRef, TableMetadata } from './types.ts';

export const MAIN_BRANCH = 'main';
export const SUPPORTED_FORMAT_VERSION = 3;
export const DEFAULT_FORMAT_VERSION = 2;
export const MIN_FORMAT_VERSION_ROW_LINEAGE = 3;

/** Parses a metadata file's text. Throws a 400-style error when it is not table metadata. */
export function parseTableMetadata(text: string): TableMetadata {
  const json = parseJson(text);
  if (!isJsonObject(json)) throw invalidArgument('Invalid table metadata: not a JSON object');
  return normalizeTableMetadata(json as Record<string, unknown>);
}

export function normalizeTableMetadata(raw: Record<string, unknown>): TableMetadata {
  const m = { ...raw } as Record<string, unknown>;
  const version = m['format-version'];
  if (typeof version !== 'number' || version < 1 || version > SUPPORTED_FORMAT_VERSION) {
    throw invalidArgument(`Invalid table metadata: unsupported format-version ${String(version)}`);
  }
  if (version > 1 && typeof m['table-uuid'] !== 'string') throw invalidArgument('Invalid table metadata: table-uuid is required');
  if (typeof m.location !== 'string') throw invalidArgument('Invalid table metadata: location is required');
  if (!Array.isArray(m.schemas)) {
    if (!isJsonObject(m.schema)) throw invalidArgument('Invalid table metadata: no schemas');
    const legacy = { 'schema-id': 0, ...(m.schema as object) } as Schema;
    m.schemas = [legacy];
    m['current-schema-id'] = legacy['schema-id'];
  }
  delete m.schema;
  if (!Array.isArray(m['partition-specs'])) {
    const fields = Array.isArray(m['partition-spec']) ? m['partition-spec'] : [];
    m['partition-specs'] = [{ 'spec-id': 0, fields }];
    m['default-spec-id'] = 0;
  }
  delete m['partition-spec'];
  const specs = m['partition-specs'] as PartitionSpec[];
  m['last-partition-id'] ??= Math.max(999, ...specs.flatMap((s) => s.fields.map((f) => f['field-id'] ?? 999)));
  m['default-spec-id'] ??= 0;
  m['sort-orders'] ??= [{ 'order-id': 0, fields: [] }];
  m['default-sort-order-id'] ??= 0;
  m['last-sequence-number'] ??= 0;
  m['last-column-id'] ??= Math.max(0, ...(m.schemas as Schema[]).map(highestFieldId));
  if (typeof m['current-schema-id'] !== 'number') throw invalidArgument('Invalid table metadata: current-schema-id is required');
  m.properties ??= {};
  m.snapshots ??= [];
  m.statistics ??= [];
  m['partition-statistics'] ??= [];
  m['snapshot-log'] ??= [];
  m['metadata-log'] ??= [];
  const current = m['current-snapshot-id'];
  m['current-snapshot-id'] = isInt64(current) && !sameInt64(current, -1) ? int64(BigInt(current)) : null;
  if (!isJsonObject(m.refs)) {
    // Metadata written before refs existed: main is implied by the current snapshot.
    m.refs = m['current-snapshot-id'] === null ? {} : { [MAIN_BRANCH]: { 'snapshot-id': m['current-snapshot-id'], type: 'branch' } };
  }
  if (version >= MIN_FORMAT_VERSION_ROW_LINEAGE) m['next-row-id'] ??= 0;
  return m as TableMetadata;
}

/** The current snapshot id, or undefined when the table has none. */
export function currentSnapshotId(m: TableMetadata): Int64 | undefined {
  const id = m['current-snapshot-id'];
  return id === null || id === undefined || sameInt64(id, -1) ? undefined : id;
}

export function currentSchema(m: TableMetadata): Schema {
  const schema = m.schemas.find((s) => s['schema-id'] === m['current-schema-id']);
  if (!schema) throw invalidArgument(`Invalid table metadata: current schema ${m['current-schema-id']} is missing`);
  return schema;
}

const KEY_ORDER = [
  'format-version', 'table-uuid', 'location', 'last-sequence-number', 'last-updated-ms', 'last-column-id',
  'current-schema-id', 'schemas', 'default-spec-id', 'partition-specs', 'last-partition-id',
  'default-sort-order-id', 'sort-orders', 'properties', 'current-snapshot-id', 'refs', 'snapshots',
  'statistics', 'partition-statistics', 'snapshot-log', 'metadata-log', 'next-row-id', 'encryption-keys',
];

/** The JSON object Iceberg writes for this metadata (legacy v1 fields included for v1 readers). */
export function tableMetadataToJsonObject(m: TableMetadata): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const version = m['format-version'];
  for (const key of KEY_ORDER) {
    if (!(key in m) || m[key] === undefined) continue;
    if (key === 'last-sequence-number' && version === 1) continue;
    if (key === 'next-row-id' && version < MIN_FORMAT_VERSION_ROW_LINEAGE) continue;
    if (key === 'encryption-keys' && (m[key]?.length ?? 0) === 0) continue;
    out[key] = m[key];
    if (key === 'current-schema-id' && version === 1) out.schema = currentSchema(m);
    if (key === 'default-spec-id' && version === 1) {
      out['partition-spec'] = m['partition-specs'].find((s) => s['spec-id'] === m['default-spec-id'])?.fields ?? [];
    }
  }
  // Java writes -1 for "no current snapshot" before v3 and null from v3 on; both parse everywhere.
  if (m['current-snapshot-id'] === null) out['current-snapshot-id'] = version >= 3 ? null : -1;
  // Keys this version does not know go last, unchanged.
  const known = new Set([...KEY_ORDER, 'schema', 'partition-spec']);
  for (const [key, value] of Object.entries(m)) if (!known.has(key) && value !== undefined) out[key] = value;
  return out;
}

export function serializeTableMetadata(m: TableMetadata): string {
  return toJson(tableMetadataToJsonObject(m));
}

/** The metadata with only the snapshots that a branch or tag points at (`snapshots=refs`). */
export function withReferencedSnapshotsOnly(m: TableMetadata): TableMetadata {
  const refIds = Object.values(m.refs).map((r: SnapshotRef) => r['snapshot-id']);
  return { ...m, snapshots: m.snapshots.filter((s) => refIds.some((id) => sameInt64(id, s['snapshot-id']))) };
}

/**
 * The version number in a metadata file name (`00003-<uuid>.metadata.json` -> 3), or -1 when the
 * name does not follow the convention (for example a registered file with another name).
 */
export function parseMetadataFileVersion(location: string): number {
  const name = location.slice(location.lastIndexOf('/') + 1);
  const match = /^(\d+)-.*\.metadata\.json$/.exec(name) ?? /^v(\d+)(\.gz)?\.metadata\.json$/.exec(name);
  return match ? Number(match[1]) : -1;
}
