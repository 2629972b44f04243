/**
 * Applies the spec's table updates (`MetadataUpdate`, discriminated by `action`) to table metadata,
 * with Iceberg Java's TableMetadata.Builder semantics: id reuse for identical schemas/specs/orders,
 * `-1` meaning "the last one added in this commit", sequence-number and row-lineage checks,
 * `main` <-> `current-snapshot-id`, snapshot-log and metadata-log upkeep.
 *
 * Each update is validated before it changes anything; a bad update throws a 400 (or a 409 for the
 * stale-state checks a client resolves by retrying), leaving the builder's caller to discard it.
 */
import { randomUUID } from 'node:crypto';
import { badRequest, commitFailed, invalidArgument, validationFailed } from '../errors/iceberg-error.ts';
import { addInt64, compareInt64, idKey, int64, isInt64, sameInt64, toBigInt, type Int64 } from '../util/int64.ts';
import { isJsonObject } from '../util/json.ts';
import { assignEntries } from '../util/records.ts';
import { canonical, fieldIds, highestFieldId, sameSchema, validateSchema } from './schema.ts';
import { DEFAULT_FORMAT_VERSION, MAIN_BRANCH, MIN_FORMAT_VERSION_ROW_LINEAGE, SUPPORTED_FORMAT_VERSION } from './table-metadata.ts';
import type {
  MetadataUpdate, PartitionSpec, PartitionStatisticsFile, Schema, Snapshot, SnapshotRef, SortOrder,
  StatisticsFile, TableMetadata,
} from './types.ts';

const LAST_ADDED = -1;
const PARTITION_DATA_ID_START = 1000;
const PREVIOUS_VERSIONS_MAX = 'write.metadata.previous-versions-max';
const PREVIOUS_VERSIONS_MAX_DEFAULT = 100;

export const TABLE_UPDATE_ACTIONS = new Set([
  'assign-uuid', 'upgrade-format-version', 'add-schema', 'set-current-schema', 'add-spec', 'set-default-spec',
  'add-sort-order', 'set-default-sort-order', 'add-snapshot', 'set-snapshot-ref', 'remove-snapshots',
  'remove-snapshot-ref', 'set-location', 'set-properties', 'remove-properties', 'set-statistics',
  'remove-statistics', 'set-partition-statistics', 'remove-partition-statistics', 'remove-partition-specs',
  'remove-schemas', 'add-encryption-key', 'remove-encryption-key', 'enable-row-lineage',
]);

/** Validates the outer shape of an updates list: objects with a known `action` (400 otherwise). */
export function parseTableUpdates(value: unknown): MetadataUpdate[] {
  if (!Array.isArray(value)) throw badRequest('Invalid commit: updates must be a list');
  return value.map((u, i) => {
    if (!isJsonObject(u) || typeof u.action !== 'string') throw badRequest(`Invalid commit: update ${i} has no action`);
    if (!TABLE_UPDATE_ACTIONS.has(u.action)) throw badRequest(`Invalid commit: unknown update action: ${u.action}`);
    return u as MetadataUpdate;
  });
}

function int(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw badRequest(`Invalid update: ${what} must be an integer`);
  return value;
}
function long(value: unknown, what: string): Int64 {
  if (!isInt64(value)) throw badRequest(`Invalid update: ${what} must be a long`);
  return int64(toBigInt(value));
}
function str(value: unknown, what: string): string {
  if (typeof value !== 'string') throw badRequest(`Invalid update: ${what} must be a string`);
  return value;
}
function stringMap(value: unknown, what: string): Record<string, string> {
  if (!isJsonObject(value)) throw badRequest(`Invalid update: ${what} must be an object of strings`);
  for (const [k, v] of Object.entries(value)) if (typeof v !== 'string') throw badRequest(`Invalid update: ${what}.${k} must be a string`);
  return value as Record<string, string>;
}
function stringList(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw badRequest(`Invalid update: ${what} must be a list of strings`);
  return value as string[];
}
/** A partition or sort field's source columns: `source-ids` (v3 multi-argument) or `source-id`. */
function sourceIdsOf(field: Record<string, unknown>): number[] {
  const isId = (v: unknown) => typeof v === 'number' && Number.isInteger(v);
  const ids = field['source-ids'];
  if (ids !== undefined && ids !== null) {
    if (!Array.isArray(ids) || !ids.every(isId)) throw badRequest('Invalid field: source-ids must be a list of integers');
    return ids as number[];
  }
  const id = field['source-id'];
  if (id === undefined || id === null) return [];
  if (!isId(id)) throw badRequest('Invalid field: source-id must be an integer');
  return [id as number];
}
const stripTrailingSlash = (location: string) => location.replace(/\/+$/, '');

/** Metadata of a table that does not exist yet: what a create or a staged-create commit starts from. */
export function emptyTableMetadata(formatVersion = DEFAULT_FORMAT_VERSION): TableMetadata {
  return {
    'format-version': formatVersion,
    'table-uuid': '',
    location: '',
    'last-sequence-number': 0,
    'last-updated-ms': 0,
    'last-column-id': 0,
    'current-schema-id': -1,
    schemas: [],
    'default-spec-id': -1,
    'partition-specs': [],
    'last-partition-id': PARTITION_DATA_ID_START - 1,
    'default-sort-order-id': -1,
    'sort-orders': [],
    properties: {},
    'current-snapshot-id': null,
    refs: {},
    snapshots: [],
    statistics: [],
    'partition-statistics': [],
    'snapshot-log': [],
    'metadata-log': [],
    ...(formatVersion >= MIN_FORMAT_VERSION_ROW_LINEAGE ? { 'next-row-id': 0 } : {}),
  };
}

export class TableMetadataBuilder {
  private readonly m: TableMetadata;
  /** The updates that changed something, in order, with `-1` ids kept as sent when they meant "last added". */
  readonly changes: MetadataUpdate[] = [];
  private lastAddedSchemaId: number | undefined;
  private lastAddedSpecId: number | undefined;
  private lastAddedOrderId: number | undefined;
  private lastUpdatedMs: Int64 | undefined;
  private readonly addedSnapshotIds = new Set<string>();
  private removedSnapshots = false;

  /**
   * @param base the current metadata, or undefined for a new table
   * @param baseLocation the file `base` was read from; it goes into the new metadata-log
   */
  constructor(
    private readonly base: TableMetadata | undefined,
    private readonly baseLocation?: string,
    formatVersion?: number,
  ) {
    this.m = structuredClone(base ?? emptyTableMetadata(formatVersion));
  }

  get isNew(): boolean {
    return this.base === undefined;
  }

  applyAll(updates: MetadataUpdate[]): this {
    for (const update of updates) this.apply(update);
    return this;
  }

  apply(u: MetadataUpdate): this {
    switch (u.action) {
      case 'assign-uuid': return this.assignUuid(str(u.uuid, 'uuid'));
      case 'upgrade-format-version': return this.upgradeFormatVersion(int(u['format-version'], 'format-version'));
      case 'add-schema': return this.addSchema(u.schema, u['last-column-id']);
      case 'set-current-schema': return this.setCurrentSchema(int(u['schema-id'], 'schema-id'));
      case 'add-spec': return this.addSpec(u.spec);
      case 'set-default-spec': return this.setDefaultSpec(int(u['spec-id'], 'spec-id'));
      case 'add-sort-order': return this.addSortOrder(u['sort-order']);
      case 'set-default-sort-order': return this.setDefaultSortOrder(int(u['sort-order-id'], 'sort-order-id'));
      case 'add-snapshot': return this.addSnapshot(u.snapshot);
      case 'set-snapshot-ref': return this.setRef(u);
      case 'remove-snapshots': return this.removeSnapshots(u['snapshot-ids']);
      case 'remove-snapshot-ref': return this.removeRef(str(u['ref-name'], 'ref-name'));
      case 'set-location': return this.setLocation(str(u.location, 'location'));
      case 'set-properties': return this.setProperties(stringMap(u.updates ?? u.updated, 'updates'));
      case 'remove-properties': return this.removeProperties(stringList(u.removals ?? u.removed, 'removals'));
      case 'set-statistics': return this.setStatistics(u);
      case 'remove-statistics': return this.removeStatistics(long(u['snapshot-id'], 'snapshot-id'));
      case 'set-partition-statistics': return this.setPartitionStatistics(u['partition-statistics']);
      case 'remove-partition-statistics': return this.removePartitionStatistics(long(u['snapshot-id'], 'snapshot-id'));
      case 'remove-partition-specs': return this.removeSpecs(u['spec-ids']);
      case 'remove-schemas': return this.removeSchemas(u['schema-ids']);
      case 'add-encryption-key': return this.addEncryptionKey(u['encryption-key']);
      case 'remove-encryption-key': return this.removeEncryptionKey(str(u['key-id'], 'key-id'));
      case 'enable-row-lineage': return this; // removed from the spec: row lineage is always on in v3
      default: throw badRequest(`Invalid commit: unknown update action: ${u.action}`);
    }
  }

  assignUuid(uuid: string): this {
    if (this.m['table-uuid'] === uuid) return this;
    if (this.base) throw invalidArgument(`Cannot reassign uuid of table ${this.base['table-uuid']} to ${uuid}`);
    this.m['table-uuid'] = uuid;
    this.changes.push({ action: 'assign-uuid', uuid });
    return this;
  }

  upgradeFormatVersion(version: number): this {
    if (version > SUPPORTED_FORMAT_VERSION) {
      throw invalidArgument(`Cannot upgrade table to unsupported format version: v${version} (supported: v${SUPPORTED_FORMAT_VERSION})`);
    }
    const current = this.m['format-version'];
    if (version < current) {
      // A brand-new table may be created at a lower version than the builder's default.
      if (!this.isNew || this.m.schemas.length > 0) throw invalidArgument(`Cannot downgrade v${current} table to v${version}`);
      this.m['format-version'] = version;
      if (version < MIN_FORMAT_VERSION_ROW_LINEAGE) delete this.m['next-row-id'];
      this.changes.push({ action: 'upgrade-format-version', 'format-version': version });
      return this;
    }
    if (version === current) return this;
    this.m['format-version'] = version;
    if (version >= MIN_FORMAT_VERSION_ROW_LINEAGE) this.m['next-row-id'] ??= 0;
    this.changes.push({ action: 'upgrade-format-version', 'format-version': version });
    return this;
  }

  addSchema(schemaValue: unknown, lastColumnIdValue?: unknown): this {
    validateSchema(schemaValue, this.m['format-version']);
    const schema = schemaValue as Schema;
    const sent = typeof lastColumnIdValue === 'number' ? lastColumnIdValue : 0;
    const newLastColumnId = Math.max(this.m['last-column-id'], highestFieldId(schema), sent);
    const existing = this.m.schemas.find((s) => sameSchema(s, schema));
    // Java's reuseOrCreateNewSchemaId: reuse an identical schema's id, else one past the highest.
    let schemaId = Math.max(this.m['current-schema-id'], 0);
    if (existing) schemaId = existing['schema-id'];
    else for (const s of this.m.schemas) if (s['schema-id'] >= schemaId) schemaId = s['schema-id'] + 1;
    if (existing && newLastColumnId === this.m['last-column-id']) {
      const addedNow = this.changes.some((c) => c.action === 'add-schema' && (c.schema as Schema)['schema-id'] === schemaId);
      this.lastAddedSchemaId = addedNow ? schemaId : undefined;
      return this;
    }
    this.m['last-column-id'] = newLastColumnId;
    const stored: Schema = { ...schema, 'schema-id': schemaId };
    if (!existing) this.m.schemas.push(stored);
    this.changes.push({ action: 'add-schema', schema: stored });
    this.lastAddedSchemaId = schemaId;
    return this;
  }

  setCurrentSchema(schemaId: number): this {
    if (schemaId === LAST_ADDED) {
      if (this.lastAddedSchemaId === undefined) throw validationFailed('Cannot set last added schema: no schema has been added');
      return this.setCurrentSchema(this.lastAddedSchemaId);
    }
    if (this.m['current-schema-id'] === schemaId) return this;
    if (!this.m.schemas.some((s) => s['schema-id'] === schemaId)) {
      throw invalidArgument(`Cannot set current schema to unknown schema: ${schemaId}`);
    }
    this.m['current-schema-id'] = schemaId;
    this.changes.push({ action: 'set-current-schema', 'schema-id': schemaId === this.lastAddedSchemaId ? LAST_ADDED : schemaId });
    return this;
  }

  private currentSchemaIds(): Set<number> {
    const schema = this.m.schemas.find((s) => s['schema-id'] === this.m['current-schema-id']);
    return schema ? fieldIds(schema) : new Set();
  }

  private checkSourceIds(sourceIds: number[], transform: string, what: string): void {
    if (sourceIds.length === 0) throw invalidArgument(`Invalid ${what}: a field has no source-id`);
    const known = this.currentSchemaIds();
    for (const id of sourceIds) {
      // Void transforms may keep pointing at a dropped column (v1 partition specs do this).
      if (!known.has(id) && transform !== 'void') throw invalidArgument(`Cannot find source column for ${what}: ${id}`);
    }
  }

  addSpec(specValue: unknown): this {
    if (!isJsonObject(specValue) || !Array.isArray(specValue.fields)) throw badRequest('Invalid update add-spec: spec must have fields');
    const spec = specValue as unknown as PartitionSpec;
    let nextFieldId = this.m['last-partition-id'];
    const fields = spec.fields.map((f) => {
      if (!isJsonObject(f) || typeof f.name !== 'string' || typeof f.transform !== 'string') {
        throw badRequest('Invalid update add-spec: every field needs name and transform');
      }
      this.checkSourceIds(sourceIdsOf(f), f.transform, 'partition field');
      return f;
    });
    const names = new Set<string>();
    for (const f of fields) {
      if (names.has(f.name)) throw invalidArgument(`Cannot use partition name more than once: ${f.name}`);
      names.add(f.name);
    }
    const sameFields = (s: PartitionSpec) =>
      s.fields.length === fields.length &&
      s.fields.every((f, i) => {
        const g = fields[i]!;
        return f.name === g.name && f.transform === g.transform && canonical(f['source-id']) === canonical(g['source-id']) &&
          canonical(f['source-ids']) === canonical(g['source-ids']);
      });
    const existing = this.m['partition-specs'].find(sameFields);
    if (existing) {
      const addedNow = this.changes.some((c) => c.action === 'add-spec' && (c.spec as PartitionSpec)['spec-id'] === existing['spec-id']);
      this.lastAddedSpecId = addedNow ? existing['spec-id'] : undefined;
      return this;
    }
    const specId = Math.max(0, ...this.m['partition-specs'].map((s) => s['spec-id'] + 1));
    const fresh: PartitionSpec = {
      'spec-id': specId,
      fields: fields.map((f) => ({ ...f, 'field-id': typeof f['field-id'] === 'number' ? f['field-id'] : ++nextFieldId })),
    };
    this.m['last-partition-id'] = Math.max(this.m['last-partition-id'], ...fresh.fields.map((f) => f['field-id']!));
    this.m['partition-specs'].push(fresh);
    this.changes.push({ action: 'add-spec', spec: fresh });
    this.lastAddedSpecId = specId;
    return this;
  }

  setDefaultSpec(specId: number): this {
    if (specId === LAST_ADDED) {
      if (this.lastAddedSpecId === undefined) throw validationFailed('Cannot set last added spec: no spec has been added');
      return this.setDefaultSpec(this.lastAddedSpecId);
    }
    if (this.m['default-spec-id'] === specId) return this;
    if (!this.m['partition-specs'].some((s) => s['spec-id'] === specId)) {
      throw invalidArgument(`Cannot set default partition spec to unknown spec: ${specId}`);
    }
    this.m['default-spec-id'] = specId;
    this.changes.push({ action: 'set-default-spec', 'spec-id': specId === this.lastAddedSpecId ? LAST_ADDED : specId });
    return this;
  }

  addSortOrder(orderValue: unknown): this {
    if (!isJsonObject(orderValue) || !Array.isArray(orderValue.fields)) throw badRequest('Invalid update add-sort-order: sort-order must have fields');
    const order = orderValue as unknown as SortOrder;
    for (const f of order.fields) {
      if (!isJsonObject(f) || typeof f.transform !== 'string' || (f.direction !== 'asc' && f.direction !== 'desc') ||
        (f['null-order'] !== 'nulls-first' && f['null-order'] !== 'nulls-last')) {
        throw badRequest('Invalid update add-sort-order: every field needs transform, direction (asc/desc) and null-order');
      }
      this.checkSourceIds(sourceIdsOf(f), f.transform, 'sort field');
    }
    const fieldsKey = canonical(order.fields);
    let orderId: number;
    const unsorted = order.fields.length === 0;
    const existing = unsorted
      ? this.m['sort-orders'].find((o) => o.fields.length === 0)
      : this.m['sort-orders'].find((o) => o.fields.length > 0 && canonical(o.fields) === fieldsKey);
    if (existing) {
      orderId = existing['order-id'];
      const addedNow = this.changes.some((c) => c.action === 'add-sort-order' && (c['sort-order'] as SortOrder)['order-id'] === orderId);
      this.lastAddedOrderId = addedNow ? orderId : undefined;
      return this;
    }
    orderId = unsorted ? 0 : Math.max(1, ...this.m['sort-orders'].map((o) => o['order-id'] + 1));
    const fresh: SortOrder = { 'order-id': orderId, fields: order.fields };
    this.m['sort-orders'].push(fresh);
    this.changes.push({ action: 'add-sort-order', 'sort-order': fresh });
    this.lastAddedOrderId = orderId;
    return this;
  }

  setDefaultSortOrder(orderId: number): this {
    if (orderId === LAST_ADDED) {
      if (this.lastAddedOrderId === undefined) throw validationFailed('Cannot set last added sort order: no sort order has been added');
      return this.setDefaultSortOrder(this.lastAddedOrderId);
    }
    if (this.m['default-sort-order-id'] === orderId) return this;
    if (!this.m['sort-orders'].some((o) => o['order-id'] === orderId)) {
      throw invalidArgument(`Cannot set default sort order to unknown sort order: ${orderId}`);
    }
    this.m['default-sort-order-id'] = orderId;
    this.changes.push({ action: 'set-default-sort-order', 'sort-order-id': orderId === this.lastAddedOrderId ? LAST_ADDED : orderId });
    return this;
  }

  addSnapshot(value: unknown): this {
    if (!isJsonObject(value)) throw badRequest('Invalid update add-snapshot: snapshot must be an object');
    const s = value as unknown as Snapshot;
    const id = long(s['snapshot-id'], 'snapshot.snapshot-id');
    long(s['timestamp-ms'], 'snapshot.timestamp-ms');
    if (!isJsonObject(s.summary) || typeof s.summary.operation !== 'string') {
      throw badRequest('Invalid update add-snapshot: snapshot.summary.operation is required');
    }
    if (typeof s['manifest-list'] !== 'string' && !Array.isArray(s.manifests)) {
      throw badRequest('Invalid update add-snapshot: snapshot.manifest-list is required');
    }
    if (this.m.schemas.length === 0) throw validationFailed('Attempting to add a snapshot before a schema is added');
    if (this.m['partition-specs'].length === 0) throw validationFailed('Attempting to add a snapshot before a partition spec is added');
    if (this.m['sort-orders'].length === 0) throw validationFailed('Attempting to add a snapshot before a sort order is added');
    if (this.m.snapshots.some((x) => sameInt64(x['snapshot-id'], id))) throw validationFailed(`Snapshot already exists for id: ${id}`);
    const version = this.m['format-version'];
    const sequenceNumber = isInt64(s['sequence-number']) ? s['sequence-number'] : 0;
    const hasParent = s['parent-snapshot-id'] !== undefined && s['parent-snapshot-id'] !== null;
    if (version > 1 && hasParent && compareInt64(sequenceNumber, this.m['last-sequence-number']) <= 0) {
      // Stale: another commit took this sequence number. 409 makes the client rebuild and retry.
      throw commitFailed(`Cannot add snapshot with sequence number ${sequenceNumber} older than last sequence number ${this.m['last-sequence-number']}`);
    }
    const snapshot: Snapshot = { ...s, 'snapshot-id': id };
    // A JSON null parent is no parent: written out as absent, as Iceberg's own writer does (the
    // spec types the field as a non-null long).
    if (!hasParent) delete snapshot['parent-snapshot-id'];
    if (version >= MIN_FORMAT_VERSION_ROW_LINEAGE) {
      const firstRowId = s['first-row-id'];
      if (!isInt64(firstRowId)) throw validationFailed('Cannot add a snapshot: first-row-id is null');
      const nextRowId = this.m['next-row-id'] ?? 0;
      if (compareInt64(firstRowId, nextRowId) < 0) {
        throw commitFailed(`Cannot add a snapshot, first-row-id is behind table next-row-id: ${firstRowId} < ${nextRowId}`);
      }
      const addedRows = s['added-rows'];
      if (!isInt64(addedRows)) throw validationFailed('Cannot add a snapshot: added-rows is null');
      this.m['next-row-id'] = addInt64(nextRowId, addedRows);
    }
    this.lastUpdatedMs = s['timestamp-ms'];
    this.m['last-sequence-number'] = sequenceNumber;
    this.m.snapshots.push(snapshot);
    this.addedSnapshotIds.add(idKey(id));
    this.changes.push({ action: 'add-snapshot', snapshot });
    return this;
  }

  setRef(u: MetadataUpdate): this {
    const name = str(u['ref-name'], 'ref-name');
    if (name === '') throw invalidArgument('Invalid update set-snapshot-ref: ref-name must not be empty');
    const type = u.type;
    if (type !== 'branch' && type !== 'tag') throw badRequest(`Invalid update set-snapshot-ref: type must be branch or tag, not ${String(type)}`);
    if (name === MAIN_BRANCH && type !== 'branch') throw invalidArgument('Cannot set main to a tag: main must be a branch');
    const snapshotId = long(u['snapshot-id'], 'snapshot-id');
    const ref: SnapshotRef = { 'snapshot-id': snapshotId, type };
    for (const key of ['max-ref-age-ms', 'max-snapshot-age-ms'] as const) {
      if (u[key] !== undefined && u[key] !== null) ref[key] = long(u[key], key);
    }
    if (u['min-snapshots-to-keep'] !== undefined && u['min-snapshots-to-keep'] !== null) {
      ref['min-snapshots-to-keep'] = int(u['min-snapshots-to-keep'], 'min-snapshots-to-keep');
    }
    const existing = this.m.refs[name];
    if (existing && canonical(existing) === canonical(ref)) return this;
    const snapshot = this.m.snapshots.find((s) => sameInt64(s['snapshot-id'], snapshotId));
    if (!snapshot) throw validationFailed(`Cannot set ${name} to unknown snapshot: ${snapshotId}`);
    if (this.addedSnapshotIds.has(idKey(snapshotId))) this.lastUpdatedMs = snapshot['timestamp-ms'];
    if (name === MAIN_BRANCH) {
      this.m['current-snapshot-id'] = snapshotId;
      this.lastUpdatedMs ??= Date.now();
      this.m['snapshot-log'].push({ 'timestamp-ms': this.lastUpdatedMs, 'snapshot-id': snapshotId });
    }
    this.m.refs[name] = ref;
    this.changes.push({ action: 'set-snapshot-ref', 'ref-name': name, ...ref });
    return this;
  }

  removeRef(name: string): this {
    if (name === MAIN_BRANCH) this.m['current-snapshot-id'] = null;
    if (this.m.refs[name]) {
      delete this.m.refs[name];
      this.changes.push({ action: 'remove-snapshot-ref', 'ref-name': name });
    }
    return this;
  }

  removeSnapshots(value: unknown): this {
    if (!Array.isArray(value) || value.some((v) => !isInt64(v))) throw badRequest('Invalid update remove-snapshots: snapshot-ids must be a list of longs');
    const remove = new Set((value as Int64[]).map(idKey));
    const removed: Int64[] = [];
    this.m.snapshots = this.m.snapshots.filter((s) => {
      if (!remove.has(idKey(s['snapshot-id']))) return true;
      removed.push(s['snapshot-id']);
      return false;
    });
    if (removed.length === 0) return this;
    this.removedSnapshots = true;
    this.changes.push({ action: 'remove-snapshots', 'snapshot-ids': removed });
    for (const id of removed) {
      this.removeStatistics(id);
      this.removePartitionStatistics(id);
    }
    for (const [name, ref] of Object.entries(this.m.refs)) {
      if (remove.has(idKey(ref['snapshot-id']))) this.removeRef(name);
    }
    return this;
  }

  setLocation(location: string): this {
    const normalized = stripTrailingSlash(location);
    if (normalized === '') throw invalidArgument('Invalid location: must not be empty');
    if (this.m.location === normalized) return this;
    this.m.location = normalized;
    this.changes.push({ action: 'set-location', location: normalized });
    return this;
  }

  setProperties(updates: Record<string, string>): this {
    if (Object.keys(updates).length === 0) return this;
    assignEntries(this.m.properties, updates);
    this.changes.push({ action: 'set-properties', updates });
    return this;
  }

  removeProperties(removals: string[]): this {
    if (removals.length === 0) return this;
    for (const key of removals) delete this.m.properties[key];
    this.changes.push({ action: 'remove-properties', removals });
    return this;
  }

  setStatistics(u: MetadataUpdate): this {
    const file = u.statistics;
    if (!isJsonObject(file) || typeof file['statistics-path'] !== 'string') {
      throw badRequest('Invalid update set-statistics: statistics must have a statistics-path');
    }
    const snapshotId = long(file['snapshot-id'] ?? u['snapshot-id'], 'statistics.snapshot-id');
    const stats = { ...(file as unknown as StatisticsFile), 'snapshot-id': snapshotId };
    this.m.statistics = [...this.m.statistics.filter((s) => !sameInt64(s['snapshot-id'], snapshotId)), stats];
    this.changes.push({ action: 'set-statistics', statistics: stats });
    return this;
  }

  removeStatistics(snapshotId: Int64): this {
    const before = this.m.statistics.length;
    this.m.statistics = this.m.statistics.filter((s) => !sameInt64(s['snapshot-id'], snapshotId));
    if (this.m.statistics.length !== before) this.changes.push({ action: 'remove-statistics', 'snapshot-id': snapshotId });
    return this;
  }

  setPartitionStatistics(file: unknown): this {
    if (!isJsonObject(file) || typeof file['statistics-path'] !== 'string') {
      throw badRequest('Invalid update set-partition-statistics: partition-statistics must have a statistics-path');
    }
    const snapshotId = long(file['snapshot-id'], 'partition-statistics.snapshot-id');
    const stats = { ...(file as unknown as PartitionStatisticsFile), 'snapshot-id': snapshotId };
    this.m['partition-statistics'] = [...this.m['partition-statistics'].filter((s) => !sameInt64(s['snapshot-id'], snapshotId)), stats];
    this.changes.push({ action: 'set-partition-statistics', 'partition-statistics': stats });
    return this;
  }

  removePartitionStatistics(snapshotId: Int64): this {
    const before = this.m['partition-statistics'].length;
    this.m['partition-statistics'] = this.m['partition-statistics'].filter((s) => !sameInt64(s['snapshot-id'], snapshotId));
    if (this.m['partition-statistics'].length !== before) this.changes.push({ action: 'remove-partition-statistics', 'snapshot-id': snapshotId });
    return this;
  }

  removeSpecs(value: unknown): this {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'number')) throw badRequest('Invalid update remove-partition-specs: spec-ids must be a list of integers');
    const ids = new Set(value as number[]);
    if (ids.has(this.m['default-spec-id'])) throw invalidArgument('Cannot remove the default partition spec');
    const kept = this.m['partition-specs'].filter((s) => !ids.has(s['spec-id']));
    if (kept.length !== this.m['partition-specs'].length) {
      this.m['partition-specs'] = kept;
      this.changes.push({ action: 'remove-partition-specs', 'spec-ids': [...ids] });
    }
    return this;
  }

  removeSchemas(value: unknown): this {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'number')) throw badRequest('Invalid update remove-schemas: schema-ids must be a list of integers');
    const ids = new Set(value as number[]);
    if (ids.has(this.m['current-schema-id'])) throw invalidArgument('Cannot remove the current schema');
    const kept = this.m.schemas.filter((s) => !ids.has(s['schema-id']));
    if (kept.length !== this.m.schemas.length) {
      this.m.schemas = kept;
      this.changes.push({ action: 'remove-schemas', 'schema-ids': [...ids] });
    }
    return this;
  }

  addEncryptionKey(key: unknown): this {
    if (!isJsonObject(key) || typeof key['key-id'] !== 'string' || typeof key['encrypted-key-metadata'] !== 'string') {
      throw badRequest('Invalid update add-encryption-key: encryption-key needs key-id and encrypted-key-metadata');
    }
    const keys = (this.m['encryption-keys'] ?? []).filter((k) => k['key-id'] !== key['key-id']);
    this.m['encryption-keys'] = [...keys, key as never];
    this.changes.push({ action: 'add-encryption-key', 'encryption-key': key });
    return this;
  }

  removeEncryptionKey(keyId: string): this {
    const keys = this.m['encryption-keys'] ?? [];
    if (!keys.some((k) => k['key-id'] === keyId)) return this;
    this.m['encryption-keys'] = keys.filter((k) => k['key-id'] !== keyId);
    this.changes.push({ action: 'remove-encryption-key', 'key-id': keyId });
    return this;
  }

  get hasChanges(): boolean {
    return this.changes.length > 0;
  }

  /**
   * The new metadata, or the base itself when nothing changed. Checks the result is a valid table
   * (current schema, default spec and sort order exist; refs point at snapshots).
   */
  build(now: number = Date.now()): TableMetadata {
    if (this.base && !this.hasChanges) return this.base;
    const m = this.m;
    if (!m['table-uuid']) m['table-uuid'] = randomUUID();
    if (!m.schemas.some((s) => s['schema-id'] === m['current-schema-id'])) throw validationFailed('Table metadata has no current schema');
    if (!m['partition-specs'].some((s) => s['spec-id'] === m['default-spec-id'])) throw validationFailed('Table metadata has no default partition spec');
    if (!m['sort-orders'].some((o) => o['order-id'] === m['default-sort-order-id'])) throw validationFailed('Table metadata has no default sort order');
    if (!m.location) throw validationFailed('Table metadata has no location');
    m['last-updated-ms'] = this.lastUpdatedMs ?? now;
    if (this.base && this.baseLocation) {
      const max = Math.max(1, Number.parseInt(m.properties[PREVIOUS_VERSIONS_MAX] ?? '', 10) || PREVIOUS_VERSIONS_MAX_DEFAULT);
      const log = [...this.base['metadata-log'], { 'timestamp-ms': this.base['last-updated-ms'], 'metadata-file': this.baseLocation }];
      m['metadata-log'] = log.slice(Math.max(0, log.length - max));
    }
    m['snapshot-log'] = this.rebuildSnapshotLog();
    return m;
  }

  /**
   * Java's updateSnapshotLog: drop entries of snapshots that were added and then replaced as `main`
   * within this commit, and when snapshots were removed, drop all history before a removed entry
   * (a gap would make time travel answer with the wrong snapshot).
   */
  private rebuildSnapshotLog(): TableMetadata['snapshot-log'] {
    const m = this.m;
    const current = m['current-snapshot-id'];
    const intermediate = new Set<string>();
    const added = new Set<string>();
    for (const c of this.changes) {
      if (c.action === 'add-snapshot') added.add(idKey((c.snapshot as Snapshot)['snapshot-id']));
      if (c.action === 'set-snapshot-ref' && c['ref-name'] === MAIN_BRANCH) {
        const id = idKey(c['snapshot-id'] as Int64);
        if (added.has(id) && (current === null || id !== idKey(current))) intermediate.add(id);
      }
    }
    if (intermediate.size === 0 && !this.removedSnapshots) return m['snapshot-log'];
    const live = new Set(m.snapshots.map((s) => idKey(s['snapshot-id'])));
    let log: TableMetadata['snapshot-log'] = [];
    for (const entry of m['snapshot-log']) {
      const id = idKey(entry['snapshot-id']);
      if (live.has(id)) {
        if (!intermediate.has(id)) log.push(entry);
      } else if (this.removedSnapshots) {
        log = [];
      }
    }
    return log;
  }
}

