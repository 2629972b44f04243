/**
 * Where replica tables are committed: the built-in catalog (a catalog of the state database, its
 * pointer swapped with a compare-and-swap after Icerelay wrote the metadata file), or an external
 * Iceberg REST catalog (Polaris, Lakekeeper, Glue, another Icerelay...), which keeps its own
 * metadata files: a new replica is registered from a metadata file Icerelay wrote at the
 * destination, and every later state is a table commit with `assert-table-uuid` and
 * `assert-ref-snapshot-id` requirements (table-diff.ts).
 *
 * The shipper uses both through the methods the built-in catalog already has (tableExists,
 * loadTable, registerTable, namespaces, rename, drop) plus `commitReplica`.
 */
import type { BuiltinCatalog } from '../../catalog/builtin-catalog.ts';
import { namespaceKey, type Identifier } from '../../catalog/identifiers.ts';
import { writeTableMetadata } from '../../catalog/metadata-files.ts';
import { normalizeTableMetadata, serializeTableMetadata } from '../../iceberg/table-metadata.ts';
import type { MetadataLogEntry, TableMetadata } from '../../iceberg/types.ts';
import type { UpstreamClient } from '../../proxy/upstream-client.ts';
import type { StoreResolver } from '../../storage/store-resolver.ts';
import { isJsonObject } from '../../util/json.ts';
import { catalogRoutes, loadOnce, sendJson, type RestAnswer } from '../rest-catalog.ts';
import { tableCommitBetween } from './table-diff.ts';

/** The replica changed under the sync (another shipper, or a writer): nothing was committed; try again. */
export class ReplicaConflictError extends Error {
  override readonly name = 'ReplicaConflictError';
}

/** The external replica catalog refused or failed a request. */
export class ReplicaCatalogError extends Error {
  override readonly name = 'ReplicaCatalogError';
}

/** A replica table as loaded: its metadata file and metadata. */
export interface ReplicaTable {
  metadataLocation: string;
  metadata: TableMetadata;
}

export interface ReplicaCatalog {
  tableExists(id: Identifier): Promise<boolean>;
  loadTable(id: Identifier): Promise<ReplicaTable>;
  registerTable(namespace: string[], name: string, metadataLocation: string, overwrite: false): Promise<unknown>;
  /** Whether the replica is already at `planned` (nothing to commit). */
  unchanged(current: ReplicaTable, planned: TableMetadata): boolean;
  /** Commits `next` over `current` (compare-and-swap); returns the replica's new metadata file. */
  commitReplica(id: Identifier, current: ReplicaTable, next: TableMetadata): Promise<string>;
  namespaceExists(namespace: string[]): Promise<boolean>;
  createNamespace(namespace: string[], properties: Record<string, string>): Promise<unknown>;
  loadNamespace(namespace: string[]): Promise<Record<string, string>>;
  updateNamespaceProperties(namespace: string[], removals: string[], updates: Record<string, string>): Promise<unknown>;
  renameTable(from: Identifier, to: Identifier): Promise<void>;
  dropTable(id: Identifier, purge: false): Promise<void>;
}

const PREVIOUS_VERSIONS_MAX = 'write.metadata.previous-versions-max';

/** The built-in catalog as a replica: Icerelay writes each metadata file and swaps the pointer. */
export function builtinReplica(catalog: BuiltinCatalog, replicaStores: StoreResolver): ReplicaCatalog {
  // The catalog's own methods, bound (they use private fields), plus the replica commit.
  return {
    tableExists: (id) => catalog.tableExists(id),
    loadTable: async (id) => {
      const loaded = await catalog.loadTable(id);
      return { metadataLocation: loaded.metadataLocation!, metadata: loaded.metadata };
    },
    registerTable: (namespace, name, location, overwrite) => catalog.registerTable(namespace, name, location, overwrite),
    namespaceExists: (namespace) => catalog.namespaceExists(namespace),
    createNamespace: (namespace, properties) => catalog.createNamespace(namespace, properties),
    loadNamespace: (namespace) => catalog.loadNamespace(namespace),
    updateNamespaceProperties: (namespace, removals, updates) => catalog.updateNamespaceProperties(namespace, removals, updates),
    renameTable: (from, to) => catalog.renameTable(from, to),
    dropTable: (id, purge) => catalog.dropTable(id, purge),
    unchanged: (current, planned) => serializeTableMetadata(current.metadata) === serializeTableMetadata(planned),
    async commitReplica(id: Identifier, current: ReplicaTable, next: TableMetadata): Promise<string> {
      const metadata = withReplicaLogEntry(next, current.metadata, current.metadataLocation);
      const location = await writeTableMetadata(replicaStores, metadata, current.metadataLocation);
      if (!(await catalog.store.swapPointer(namespaceKey(id.namespace), id.name, current.metadataLocation, location))) {
        throw new ReplicaConflictError(`the replica of ${[...id.namespace, id.name].join('.')} changed during the sync; nothing was committed`);
      }
      return location;
    },
  };
}

/** Creates whichever of the namespace and its ancestors the replica does not have yet. */
export async function ensureNamespaces(catalog: Pick<ReplicaCatalog, 'namespaceExists' | 'createNamespace'>, levels: string[]): Promise<void> {
  for (let depth = 1; depth <= levels.length; depth++) {
    const prefix = levels.slice(0, depth);
    if (!(await catalog.namespaceExists(prefix))) await catalog.createNamespace(prefix, {});
  }
}

/** The replica's own metadata-log: its previous file appended, trimmed as the table property says. */
function withReplicaLogEntry(next: TableMetadata, previous: TableMetadata, previousLocation: string): TableMetadata {
  const max = Number(next.properties[PREVIOUS_VERSIONS_MAX] ?? 100);
  const log: MetadataLogEntry[] = [...previous['metadata-log'], { 'timestamp-ms': previous['last-updated-ms'], 'metadata-file': previousLocation }];
  return { ...next, 'metadata-log': log.slice(Math.max(0, log.length - max)) };
}

/**
 * An external Iceberg REST catalog as a replica. Its prefix and namespace separator come from its
 * `/v1/config` (read once, with `warehouse` when given).
 */
export function restReplica(client: UpstreamClient, options: { warehouse?: string } = {}): ReplicaCatalog {
  const send = (method: string, target: string, body?: unknown) => sendJson(client, method, target, body);

  function fail(what: string, answer: RestAnswer): never {
    const error = isJsonObject(answer.json?.error) ? answer.json.error : undefined;
    const detail = error ? `${String(error.type)}: ${String(error.message)}` : answer.text.slice(0, 300);
    if (answer.status === 409) throw new ReplicaConflictError(`${what}: the replica catalog answered 409 (${detail}); nothing was committed`);
    throw new ReplicaCatalogError(`${what}: the replica catalog answered ${answer.status} (${detail})`);
  }

  const routes = loadOnce(async () => {
    const query = options.warehouse ? `?warehouse=${encodeURIComponent(options.warehouse)}` : '';
    const answer = await send('GET', `/v1/config${query}`);
    if (answer.status !== 200) fail('GET /v1/config', answer);
    return catalogRoutes(answer.json);
  });
  const nsPath = async (namespace: string[]) => (await routes()).namespace(namespace);
  const tablePath = async (id: Identifier) => (await routes()).table(id);
  const display = (id: Identifier) => [...id.namespace, id.name].join('.');

  async function load(id: Identifier): Promise<ReplicaTable | undefined> {
    const answer = await send('GET', await tablePath(id));
    if (answer.status === 404) return undefined;
    if (answer.status !== 200 || !answer.json) fail(`loading replica table ${display(id)}`, answer);
    const location = answer.json['metadata-location'];
    if (typeof location !== 'string' || !isJsonObject(answer.json.metadata)) fail(`loading replica table ${display(id)} (no metadata-location)`, answer);
    return { metadataLocation: location, metadata: normalizeTableMetadata(answer.json.metadata) };
  }

  return {
    async tableExists(id) {
      return (await load(id)) !== undefined;
    },
    async loadTable(id) {
      const loaded = await load(id);
      if (!loaded) throw new ReplicaCatalogError(`replica table ${display(id)} does not exist`);
      return loaded;
    },
    async registerTable(namespace, name, metadataLocation) {
      const answer = await send('POST', `${await nsPath(namespace)}/register`, { name, 'metadata-location': metadataLocation });
      if (answer.status !== 200) fail(`registering replica table ${display({ namespace, name })}`, answer);
    },
    unchanged(current, planned) {
      // The external catalog keeps its own logs and timestamps: compare what a commit would change.
      return tableCommitBetween(current.metadata, planned).updates.length === 0;
    },
    async commitReplica(id, current, next) {
      const { requirements, updates } = tableCommitBetween(current.metadata, next);
      if (updates.length === 0) return current.metadataLocation;
      const answer = await send('POST', await tablePath(id), { identifier: { namespace: id.namespace, name: id.name }, requirements, updates });
      if (answer.status !== 200) fail(`committing replica table ${display(id)}`, answer);
      const location = answer.json?.['metadata-location'];
      return typeof location === 'string' ? location : (await this.loadTable(id)).metadataLocation;
    },
    async namespaceExists(namespace) {
      const answer = await send('HEAD', await nsPath(namespace));
      return answer.status === 204 || answer.status === 200;
    },
    async createNamespace(namespace, properties) {
      const { base } = await routes();
      const answer = await send('POST', `${base}/namespaces`, { namespace, properties });
      if (answer.status !== 200 && answer.status !== 409) fail(`creating replica namespace ${namespace.join('.')}`, answer);
    },
    async loadNamespace(namespace) {
      const answer = await send('GET', await nsPath(namespace));
      if (answer.status !== 200) fail(`loading replica namespace ${namespace.join('.')}`, answer);
      const properties = isJsonObject(answer.json?.properties) ? answer.json.properties : {};
      return Object.fromEntries(Object.entries(properties).filter((e): e is [string, string] => typeof e[1] === 'string'));
    },
    async updateNamespaceProperties(namespace, removals, updates) {
      const answer = await send('POST', `${await nsPath(namespace)}/properties`, { removals, updates });
      if (answer.status !== 200) fail(`updating replica namespace ${namespace.join('.')}`, answer);
    },
    async renameTable(from, to) {
      const { base } = await routes();
      const answer = await send('POST', `${base}/tables/rename`, { source: from, destination: to });
      if (answer.status !== 204 && answer.status !== 200) fail(`renaming replica table ${display(from)}`, answer);
    },
    async dropTable(id) {
      const answer = await send('DELETE', `${await tablePath(id)}?purgeRequested=false`);
      if (answer.status !== 204 && answer.status !== 200 && answer.status !== 404) fail(`dropping replica table ${display(id)}`, answer);
    },
  };
}
