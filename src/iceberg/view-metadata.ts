/**
 * View metadata: creation from a CreateViewRequest and the spec's view updates, with Iceberg Java's
 * ViewMetadata.Builder semantics (schema and version id reuse, `-1` = last added, version-log,
 * history trimmed to `version.history.num-entries`, one query per dialect).
 */
import { randomUUID } from 'node:crypto';
import { badRequest, invalidArgument, validationFailed } from '../errors/iceberg-error.ts';
import { int64, isInt64, toBigInt } from '../util/int64.ts';
import { isJsonObject, parseJson, toJson } from '../util/json.ts';
import { assignEntries } from '../util/records.ts';
import { canonical, sameSchema, validateSchema } from './schema.ts';
import type { MetadataUpdate, Schema, ViewMetadata, ViewVersion } from './types.ts';

const LAST_ADDED = -1;
const HISTORY_SIZE = 'version.history.num-entries';
const HISTORY_SIZE_DEFAULT = 10;
const DROP_DIALECT_ALLOWED = 'replace.drop-dialect.allowed';

export const VIEW_UPDATE_ACTIONS = new Set([
  'assign-uuid', 'upgrade-format-version', 'add-schema', 'set-location', 'set-properties', 'remove-properties',
  'add-view-version', 'set-current-view-version',
]);

export function parseViewMetadata(text: string): ViewMetadata {
  const json = parseJson(text);
  if (!isJsonObject(json) || typeof json['view-uuid'] !== 'string' || !Array.isArray(json.versions)) {
    throw invalidArgument('Invalid view metadata');
  }
  const m = json as unknown as ViewMetadata;
  m.properties ??= {};
  m['version-log'] ??= [];
  return m;
}

export function serializeViewMetadata(m: ViewMetadata): string {
  return toJson(m);
}

export function parseViewUpdates(value: unknown): MetadataUpdate[] {
  if (!Array.isArray(value)) throw badRequest('Invalid view commit: updates must be a list');
  return value.map((u, i) => {
    if (!isJsonObject(u) || typeof u.action !== 'string') throw badRequest(`Invalid view commit: update ${i} has no action`);
    if (!VIEW_UPDATE_ACTIONS.has(u.action)) throw badRequest(`Invalid view commit: unknown update action: ${u.action}`);
    return u as MetadataUpdate;
  });
}

function emptyView(): ViewMetadata {
  return {
    'view-uuid': '',
    'format-version': 1,
    location: '',
    'current-version-id': -1,
    versions: [],
    'version-log': [],
    schemas: [],
    properties: {},
  };
}

function dialects(version: ViewVersion): Set<string> {
  return new Set(version.representations.filter((r) => r.type === 'sql').map((r) => String(r.dialect).toLowerCase()));
}

export class ViewMetadataBuilder {
  private readonly m: ViewMetadata;
  readonly changes: MetadataUpdate[] = [];
  private lastAddedSchemaId: number | undefined;
  private lastAddedVersionId: number | undefined;

  constructor(private readonly base: ViewMetadata | undefined) {
    this.m = structuredClone(base ?? emptyView());
  }

  applyAll(updates: MetadataUpdate[]): this {
    for (const u of updates) this.apply(u);
    return this;
  }

  apply(u: MetadataUpdate): this {
    switch (u.action) {
      case 'assign-uuid': {
        if (typeof u.uuid !== 'string') throw badRequest('Invalid update assign-uuid: uuid must be a string');
        if (this.m['view-uuid'] === u.uuid) return this;
        if (this.base) throw invalidArgument(`Cannot reassign uuid of view ${this.base['view-uuid']}`);
        this.m['view-uuid'] = u.uuid;
        break;
      }
      case 'upgrade-format-version':
        if (u['format-version'] !== 1) throw invalidArgument(`Cannot upgrade view to unsupported format version: v${String(u['format-version'])} (supported: v1)`);
        return this;
      case 'add-schema':
        return this.addSchema(u.schema);
      case 'set-location':
        if (typeof u.location !== 'string' || u.location === '') throw badRequest('Invalid update set-location: location must be a string');
        if (this.m.location === u.location.replace(/\/+$/, '')) return this;
        this.m.location = u.location.replace(/\/+$/, '');
        break;
      case 'set-properties': {
        const updates = (u.updates ?? u.updated) as Record<string, unknown>;
        if (!isJsonObject(updates) || Object.values(updates).some((v) => typeof v !== 'string')) {
          throw badRequest('Invalid update set-properties: updates must be an object of strings');
        }
        if (Object.keys(updates).length === 0) return this;
        assignEntries(this.m.properties, updates as Record<string, string>);
        break;
      }
      case 'remove-properties': {
        const removals = (u.removals ?? u.removed) as unknown;
        if (!Array.isArray(removals) || removals.some((r) => typeof r !== 'string')) {
          throw badRequest('Invalid update remove-properties: removals must be a list of strings');
        }
        if (removals.length === 0) return this;
        for (const key of removals as string[]) delete this.m.properties[key];
        break;
      }
      case 'add-view-version':
        return this.addVersion(u['view-version']);
      case 'set-current-view-version': {
        const id = u['view-version-id'];
        if (typeof id !== 'number') throw badRequest('Invalid update set-current-view-version: view-version-id must be an integer');
        return this.setCurrentVersion(id);
      }
      default:
        throw badRequest(`Invalid view commit: unknown update action: ${u.action}`);
    }
    this.changes.push(u);
    return this;
  }

  addSchema(value: unknown): this {
    validateSchema(value, 1);
    const schema = value as Schema;
    const existing = this.m.schemas.find((s) => sameSchema(s, schema));
    if (existing) {
      this.lastAddedSchemaId = existing['schema-id'];
      return this;
    }
    const id = Math.max(0, ...this.m.schemas.map((s) => s['schema-id'] + 1));
    const stored = { ...schema, 'schema-id': id };
    this.m.schemas.push(stored);
    this.lastAddedSchemaId = id;
    this.changes.push({ action: 'add-schema', schema: stored });
    return this;
  }

  addVersion(value: unknown): this {
    if (!isJsonObject(value) || !Array.isArray(value.representations) || typeof value['schema-id'] !== 'number') {
      throw badRequest('Invalid update add-view-version: view-version needs schema-id and representations');
    }
    if (!Array.isArray(value['default-namespace'])) throw badRequest('Invalid view version: default-namespace is required');
    if (!isInt64(value['timestamp-ms'])) throw badRequest('Invalid view version: timestamp-ms is required');
    const sent = value as unknown as ViewVersion;
    const seen = new Set<string>();
    for (const r of sent.representations) {
      if (!isJsonObject(r) || typeof r.type !== 'string') throw badRequest('Invalid view version: every representation needs a type');
      if (r.type !== 'sql') continue;
      const dialect = String(r.dialect).toLowerCase();
      if (seen.has(dialect)) throw invalidArgument(`Invalid view version: Cannot add multiple queries for dialect ${dialect}`);
      seen.add(dialect);
    }
    let schemaId = sent['schema-id'];
    if (schemaId === LAST_ADDED) {
      if (this.lastAddedSchemaId === undefined) throw validationFailed('Cannot set last added schema: no schema has been added');
      schemaId = this.lastAddedSchemaId;
    }
    if (!this.m.schemas.some((s) => s['schema-id'] === schemaId)) {
      throw invalidArgument(`Cannot add version with unknown schema: ${schemaId}`);
    }
    const version: ViewVersion = { ...sent, 'schema-id': schemaId, 'timestamp-ms': int64(toBigInt(sent['timestamp-ms'])) };
    const key = (v: ViewVersion) =>
      canonical({ s: v.summary, r: v.representations, c: v['default-catalog'] ?? null, n: v['default-namespace'], id: v['schema-id'] });
    const same = this.m.versions.find((v) => key(v) === key(version));
    if (same) {
      this.lastAddedVersionId = same['version-id'];
      return this;
    }
    let versionId = 1;
    for (const v of this.m.versions) if (v['version-id'] >= versionId) versionId = v['version-id'] + 1;
    const stored = { ...version, 'version-id': versionId };
    this.m.versions.push(stored);
    this.lastAddedVersionId = versionId;
    this.changes.push({ action: 'add-view-version', 'view-version': stored });
    return this;
  }

  setCurrentVersion(id: number): this {
    if (id === LAST_ADDED) {
      if (this.lastAddedVersionId === undefined) throw validationFailed('Cannot set last added version: no version has been added');
      return this.setCurrentVersion(this.lastAddedVersionId);
    }
    const version = this.m.versions.find((v) => v['version-id'] === id);
    if (!version) throw invalidArgument(`Cannot set current version to unknown version: ${id}`);
    if (this.m['current-version-id'] === id) return this;
    const previous = this.m.versions.find((v) => v['version-id'] === this.m['current-version-id']);
    if (previous && this.m.properties[DROP_DIALECT_ALLOWED] !== 'true') {
      const now = dialects(version);
      const lost = [...dialects(previous)].filter((d) => !now.has(d));
      if (lost.length > 0) {
        throw invalidArgument(
          `Cannot replace view due to loss of view dialects (${DROP_DIALECT_ALLOWED}=false):\n` +
            `Previous dialects: [${[...dialects(previous)].join(', ')}]\nNew dialects: [${[...now].join(', ')}]`,
        );
      }
    }
    this.m['current-version-id'] = id;
    this.m['version-log'].push({ 'timestamp-ms': version['timestamp-ms'], 'version-id': id });
    this.changes.push({ action: 'set-current-view-version', 'view-version-id': id });
    return this;
  }

  get hasChanges(): boolean {
    return this.changes.length > 0;
  }

  build(): ViewMetadata {
    if (this.base && !this.hasChanges) return this.base;
    const m = this.m;
    if (!m['view-uuid']) m['view-uuid'] = randomUUID();
    if (!m.location) throw validationFailed('View metadata has no location');
    if (!m.versions.some((v) => v['version-id'] === m['current-version-id'])) throw validationFailed('View metadata has no current version');
    // Keep the newest versions (always the current one) and the log entries that still resolve.
    const keep = Math.max(1, Number.parseInt(m.properties[HISTORY_SIZE] ?? '', 10) || HISTORY_SIZE_DEFAULT);
    if (m.versions.length > keep) {
      const sorted = [...m.versions].sort((a, b) => b['version-id'] - a['version-id']);
      const kept = new Set(sorted.slice(0, keep).map((v) => v['version-id']));
      kept.add(m['current-version-id']);
      m.versions = m.versions.filter((v) => kept.has(v['version-id']));
      m['version-log'] = m['version-log'].filter((e) => kept.has(e['version-id']));
    }
    return m;
  }
}

export interface CreateViewRequest {
  name: string;
  location?: string;
  schema: Schema;
  'view-version': ViewVersion;
  properties?: Record<string, string>;
}

export function parseCreateViewRequest(body: unknown): CreateViewRequest {
  if (!isJsonObject(body)) throw badRequest('Invalid create view request: body must be a JSON object');
  if (typeof body.name !== 'string') throw badRequest('Invalid create view request: name is required');
  if (body.schema === undefined) throw badRequest('Invalid create view request: schema is required');
  if (!isJsonObject(body['view-version'])) throw badRequest('Invalid create view request: view-version is required');
  if (body.location !== undefined && body.location !== null && typeof body.location !== 'string') {
    throw badRequest('Invalid create view request: location must be a string');
  }
  if (body.properties !== undefined && body.properties !== null && !isJsonObject(body.properties)) {
    throw badRequest('Invalid create view request: properties must be an object');
  }
  return body as unknown as CreateViewRequest;
}

/** A builder holding a new view: the version's schema-id is replaced by the id the schema receives. */
export function newViewBuilder(request: CreateViewRequest, location: string): ViewMetadataBuilder {
  return new ViewMetadataBuilder(undefined).applyAll([
    { action: 'assign-uuid', uuid: randomUUID() },
    { action: 'upgrade-format-version', 'format-version': 1 },
    { action: 'add-schema', schema: request.schema },
    { action: 'set-location', location },
    { action: 'set-properties', updates: request.properties ?? {} },
    { action: 'add-view-version', 'view-version': { ...request['view-version'], 'schema-id': LAST_ADDED } },
    { action: 'set-current-view-version', 'view-version-id': LAST_ADDED },
  ]);
}
