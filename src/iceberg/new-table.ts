/**
 * Metadata for a table created from a CreateTableRequest, as Iceberg Java's
 * TableMetadata.newTableMetadata builds it: fresh column ids from 1, partition field ids from 1000,
 * sort order 1 (0 when unsorted), reserved properties dropped and the new-table defaults added.
 */
import { badRequest, invalidArgument } from '../errors/iceberg-error.ts';
import { isJsonObject } from '../util/json.ts';
import { TableMetadataBuilder } from './metadata-builder.ts';
import { assignFreshIds, findFieldIdByName, indexNamesById, validateSchema } from './schema.ts';
import { DEFAULT_FORMAT_VERSION, SUPPORTED_FORMAT_VERSION } from './table-metadata.ts';
import type { MetadataUpdate, PartitionField, Schema, SortField } from './types.ts';

/** Table properties that describe metadata rather than configure the table; never persisted. */
export const RESERVED_PROPERTIES = new Set([
  'format-version', 'uuid', 'snapshot-count', 'current-snapshot-id', 'current-snapshot-summary',
  'current-snapshot-timestamp-ms', 'current-schema', 'default-partition-spec', 'default-sort-order',
]);

/** Defaults Java sets on every new table (not on existing ones). */
const NEW_TABLE_DEFAULTS: Record<string, string> = { 'write.parquet.compression-codec': 'zstd' };

export interface CreateTableRequest {
  name: string;
  location?: string;
  schema: Schema;
  'partition-spec'?: { 'spec-id'?: number; fields: PartitionField[] };
  'write-order'?: { 'order-id'?: number; fields: SortField[] };
  'stage-create'?: boolean;
  properties?: Record<string, string>;
}

/** Validates the body of a create-table request (400 on anything malformed). */
export function parseCreateTableRequest(body: unknown): CreateTableRequest {
  if (!isJsonObject(body)) throw badRequest('Invalid create table request: body must be a JSON object');
  if (typeof body.name !== 'string') throw badRequest('Invalid create table request: name is required');
  if (body.schema === undefined) throw badRequest('Invalid create table request: schema is required');
  if (body.location !== undefined && body.location !== null && typeof body.location !== 'string') {
    throw badRequest('Invalid create table request: location must be a string');
  }
  if (body.properties !== undefined && body.properties !== null) {
    if (!isJsonObject(body.properties)) throw badRequest('Invalid create table request: properties must be an object');
    for (const [k, v] of Object.entries(body.properties)) {
      if (typeof v !== 'string') throw badRequest(`Invalid create table request: property ${k} must be a string`);
    }
  }
  for (const key of ['partition-spec', 'write-order'] as const) {
    const v = body[key];
    if (v !== undefined && v !== null && (!isJsonObject(v) || !Array.isArray(v.fields))) {
      throw badRequest(`Invalid create table request: ${key} must have a fields list`);
    }
    if (isJsonObject(v) && Array.isArray(v.fields) && v.fields.some((f) => !isJsonObject(f))) {
      throw badRequest(`Invalid create table request: every ${key} field must be an object`);
    }
  }
  return body as unknown as CreateTableRequest;
}

function formatVersionOf(properties: Record<string, string>): number {
  const raw = properties['format-version'];
  if (raw === undefined) return DEFAULT_FORMAT_VERSION;
  const version = Number(raw);
  if (!Number.isInteger(version) || version < 1 || version > SUPPORTED_FORMAT_VERSION) {
    throw invalidArgument(`Unsupported format version: v${raw} (supported: v${SUPPORTED_FORMAT_VERSION})`);
  }
  return version;
}

/**
 * The updates that create the table (what a staged-create commit would send), already
 * applied to a builder. `location` must be resolved by the caller.
 */
export function newTableBuilder(request: CreateTableRequest, location: string, uuid: string): TableMetadataBuilder {
  const requested = request.properties ?? {};
  const formatVersion = formatVersionOf(requested);
  validateSchema(request.schema, formatVersion);

  let lastId = 0;
  const schema = assignFreshIds(request.schema, 0, () => ++lastId);
  const oldNames = indexNamesById(request.schema);
  const freshSourceId = (sourceId: number | undefined, what: string): number => {
    const name = sourceId === undefined ? undefined : oldNames.get(sourceId);
    const id = name === undefined ? undefined : findFieldIdByName(schema, name);
    if (id === undefined) throw invalidArgument(`Cannot find source column for ${what}: ${String(sourceId)}`);
    return id;
  };

  let nextPartitionId = 999;
  const specFields = (request['partition-spec']?.fields ?? []).map((f) => {
    if (typeof f.name !== 'string' || typeof f.transform !== 'string') throw badRequest('Invalid partition spec: every field needs name and transform');
    return { 'source-id': freshSourceId(f['source-id'], `partition field ${f.name}`), 'field-id': ++nextPartitionId, name: f.name, transform: f.transform };
  });
  const orderFields = (request['write-order']?.fields ?? []).map((f) => ({
    ...f,
    'source-id': freshSourceId(f['source-id'], 'sort field'),
  }));

  const properties: Record<string, string> = { ...NEW_TABLE_DEFAULTS };
  for (const [k, v] of Object.entries(requested)) if (!RESERVED_PROPERTIES.has(k)) properties[k] = v;

  const updates: MetadataUpdate[] = [
    { action: 'assign-uuid', uuid },
    { action: 'upgrade-format-version', 'format-version': formatVersion },
    { action: 'add-schema', schema, 'last-column-id': lastId },
    { action: 'set-current-schema', 'schema-id': -1 },
    { action: 'add-spec', spec: { 'spec-id': 0, fields: specFields } },
    { action: 'set-default-spec', 'spec-id': -1 },
    { action: 'add-sort-order', 'sort-order': { 'order-id': orderFields.length ? 1 : 0, fields: orderFields } },
    { action: 'set-default-sort-order', 'sort-order-id': -1 },
    { action: 'set-location', location },
    { action: 'set-properties', updates: properties },
  ];
  return new TableMetadataBuilder(undefined, undefined, formatVersion).applyAll(updates);
}
