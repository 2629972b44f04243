/**
 * The built-in Iceberg catalog: namespaces, tables and views kept in the state database, metadata
 * files on object storage. A commit validates requirements, applies updates, writes a new metadata
 * file and then compare-and-swaps the pointer; when the swap loses to a concurrent commit it reloads
 * and tries again (requirements re-checked), so non-conflicting writers both succeed.
 */
import { randomUUID } from 'node:crypto';
import {
  alreadyExists, badRequest, commitFailed, namespaceNotEmpty, noSuchNamespace, noSuchTable, noSuchView,
  unprocessable,
} from '../errors/iceberg-error.ts';
import { TableMetadataBuilder } from '../iceberg/metadata-builder.ts';
import { newTableBuilder, type CreateTableRequest } from '../iceberg/new-table.ts';
import { checkTableRequirements, checkViewRequirements } from '../iceberg/requirements.ts';
import { DEFAULT_FORMAT_VERSION } from '../iceberg/table-metadata.ts';
import type { MetadataUpdate, TableMetadata, TableRequirement, ViewMetadata } from '../iceberg/types.ts';
import { newViewBuilder, ViewMetadataBuilder, type CreateViewRequest } from '../iceberg/view-metadata.ts';
import { PointerMovedError, type CatalogStore, type EntityKind } from './catalog-store.ts';
import { displayIdentifier, displayNamespace, namespaceFromKey, namespaceKey, type Identifier } from './identifiers.ts';
import {
  deleteQuietly, readTableMetadata, readViewMetadata, writeTableMetadata, writeViewMetadata, type StoreResolver,
} from './metadata-files.ts';
import { purgeTableFiles } from './purge.ts';
import { assignEntries, hasKey } from '../util/records.ts';
import { sleep } from '../util/sleep.ts';

export interface LoadedTable {
  /** null only for a staged create, which has no file yet. */
  metadataLocation: string | null;
  metadata: TableMetadata;
}

export interface LoadedView {
  metadataLocation: string;
  metadata: ViewMetadata;
}

export interface Page<T> {
  items: T[];
  /** Name to continue after, or undefined on the last page. */
  next: string | undefined;
}

export interface TableChange {
  identifier: Identifier;
  requirements: TableRequirement[];
  updates: MetadataUpdate[];
}

export interface BuiltinCatalogOptions {
  store: CatalogStore;
  /** Root location of default table locations: `file:///...` or `s3://bucket/prefix`. */
  warehouse: string;
  stores: StoreResolver;
  /** Attempts after a lost pointer swap (requirements still holding). */
  commitRetries?: number;
}

/** Wait before retrying a commit that lost its pointer swap: exponential, jittered, at most ~1.5 s. */
function retryDelayMs(attempt: number): number {
  return Math.min(1000, 10 * 2 ** attempt) * (0.5 + Math.random());
}

export class BuiltinCatalog {
  readonly store: CatalogStore;
  readonly warehouse: string;
  readonly stores: StoreResolver;
  private readonly commitRetries: number;

  constructor(options: BuiltinCatalogOptions) {
    this.store = options.store;
    this.warehouse = options.warehouse.replace(/\/+$/, '');
    this.stores = options.stores;
    this.commitRetries = options.commitRetries ?? 8;
  }

  get name(): string {
    return this.store.catalog;
  }

  // --- namespaces -------------------------------------------------------------------------

  private async requireNamespace(levels: string[]): Promise<Record<string, string>> {
    const properties = await this.store.getNamespace(namespaceKey(levels));
    if (!properties) throw noSuchNamespace(displayNamespace(levels));
    return properties;
  }

  async namespaceExists(levels: string[]): Promise<boolean> {
    return (await this.store.getNamespace(namespaceKey(levels))) !== undefined;
  }

  async listNamespaces(parent: string[], page: { after?: string; limit?: number }): Promise<Page<string[]>> {
    if (parent.length > 0) await this.requireNamespace(parent);
    return this.paged(page, (p) => this.store.listNamespaces(namespaceKey(parent), p), namespaceFromKey);
  }

  /**
   * Creates a namespace; missing parents are created too (with no properties) so that every
   * namespace a client can list can also be loaded and dropped.
   */
  async createNamespace(levels: string[], properties: Record<string, string>): Promise<Record<string, string>> {
    for (let depth = 1; depth < levels.length; depth++) {
      const ancestor = levels.slice(0, depth);
      await this.store.insertNamespace(namespaceKey(ancestor), namespaceKey(ancestor.slice(0, -1)), {});
    }
    const created = await this.store.insertNamespace(namespaceKey(levels), namespaceKey(levels.slice(0, -1)), properties);
    if (!created) throw alreadyExists(`Namespace already exists: ${displayNamespace(levels)}`);
    return properties;
  }

  async loadNamespace(levels: string[]): Promise<Record<string, string>> {
    return this.requireNamespace(levels);
  }

  async dropNamespace(levels: string[]): Promise<void> {
    const key = namespaceKey(levels);
    await this.requireNamespace(levels);
    if ((await this.store.countEntities(key)) > 0 || (await this.store.hasChildNamespaces(key))) {
      throw namespaceNotEmpty(displayNamespace(levels));
    }
    if (!(await this.store.deleteNamespace(key))) throw noSuchNamespace(displayNamespace(levels));
  }

  async updateNamespaceProperties(levels: string[], removals: string[], updates: Record<string, string>) {
    const both = removals.filter((key) => hasKey(updates, key));
    if (both.length > 0) throw unprocessable(`Duplicate keys to update and remove: ${both.join(', ')}`);
    const key = namespaceKey(levels);
    return this.store.transaction(async (trx) => {
      const properties = await this.store.getNamespace(key, trx);
      if (!properties) throw noSuchNamespace(displayNamespace(levels));
      const removed: string[] = [];
      const missing: string[] = [];
      for (const name of removals) {
        if (hasKey(properties, name)) {
          delete properties[name];
          removed.push(name);
        } else {
          missing.push(name);
        }
      }
      assignEntries(properties, updates);
      await this.store.updateNamespaceProperties(key, properties, trx);
      return { updated: Object.keys(updates), removed, missing };
    });
  }

  // --- listing ----------------------------------------------------------------------------

  async listEntities(levels: string[], kind: EntityKind, page: { after?: string; limit?: number }): Promise<Page<Identifier>> {
    await this.requireNamespace(levels);
    return this.paged(page, (p) => this.store.listEntities(namespaceKey(levels), kind, p), (name) => ({ namespace: levels, name }));
  }

  /** Fetches one row more than asked so the last page is known without a second query. */
  private async paged<T>(page: { after?: string; limit?: number }, fetch: (p: { after?: string; limit?: number }) => Promise<string[]>, map: (key: string) => T): Promise<Page<T>> {
    const rows = await fetch({ after: page.after, limit: page.limit === undefined ? undefined : page.limit + 1 });
    const more = page.limit !== undefined && rows.length > page.limit;
    const items = more ? rows.slice(0, page.limit) : rows;
    return { items: items.map(map), next: more ? items[items.length - 1] : undefined };
  }

  // --- tables -----------------------------------------------------------------------------

  /** Where a table or view goes when the request names no location. */
  private async defaultLocation(levels: string[], name: string): Promise<string> {
    const properties = await this.requireNamespace(levels);
    const base = properties.location?.replace(/\/+$/, '') ?? [this.warehouse, ...levels].join('/');
    return `${base}/${name}`;
  }

  /** 409 when a table or view already has this name, worded as Iceberg Java words it. */
  private async checkNameFree(id: Identifier, kind: EntityKind): Promise<void> {
    const row = await this.store.getEntity(namespaceKey(id.namespace), id.name);
    if (!row) return;
    const name = displayIdentifier(id.namespace, id.name);
    const label = (k: EntityKind) => (k === 'table' ? 'Table' : 'View');
    throw alreadyExists(row.kind === kind ? `${label(kind)} already exists: ${name}` : `${label(row.kind)} with same name already exists: ${name}`);
  }

  async createTable(levels: string[], request: CreateTableRequest): Promise<LoadedTable> {
    const id = { namespace: levels, name: request.name };
    const location = request.location ? request.location.replace(/\/+$/, '') : await this.defaultLocation(levels, request.name);
    await this.requireNamespace(levels);
    await this.checkNameFree(id, 'table');
    const metadata = newTableBuilder(request, location, randomUUID()).build();
    if (request['stage-create']) return { metadataLocation: null, metadata };
    const metadataLocation = await writeTableMetadata(this.stores, metadata, undefined);
    await this.insertOrCleanUp(id, 'table', metadataLocation);
    return { metadataLocation, metadata };
  }

  private async insertOrCleanUp(id: Identifier, kind: EntityKind, metadataLocation: string): Promise<void> {
    if (await this.store.insertEntity(namespaceKey(id.namespace), id.name, kind, metadataLocation)) return;
    await deleteQuietly(this.stores, metadataLocation);
    await this.checkNameFree(id, kind);
    throw alreadyExists(`${kind === 'table' ? 'Table' : 'View'} already exists: ${displayIdentifier(id.namespace, id.name)}`);
  }

  private async tableRow(id: Identifier) {
    const row = await this.store.getEntity(namespaceKey(id.namespace), id.name);
    if (!row || row.kind !== 'table') throw noSuchTable(displayIdentifier(id.namespace, id.name));
    return row;
  }

  async loadTable(id: Identifier): Promise<{ metadataLocation: string; metadata: TableMetadata }> {
    const row = await this.tableRow(id);
    return { metadataLocation: row.metadata_location, metadata: await readTableMetadata(this.stores, row.metadata_location) };
  }

  /** The current metadata location, without reading the file (cheap existence and ETag checks). */
  async tableMetadataLocation(id: Identifier): Promise<string> {
    return (await this.tableRow(id)).metadata_location;
  }

  async tableExists(id: Identifier): Promise<boolean> {
    const row = await this.store.getEntity(namespaceKey(id.namespace), id.name);
    return row?.kind === 'table';
  }

  async registerTable(levels: string[], name: string, metadataLocation: string, overwrite: boolean): Promise<LoadedTable> {
    const id = { namespace: levels, name };
    await this.requireNamespace(levels);
    const metadata = await readTableMetadata(this.stores, metadataLocation, { cached: true });
    const existing = await this.store.getEntity(namespaceKey(levels), name);
    if (existing && (!overwrite || existing.kind !== 'table')) await this.checkNameFree(id, 'table');
    if (existing) {
      if (!(await this.store.swapPointer(namespaceKey(levels), name, existing.metadata_location, metadataLocation))) {
        throw commitFailed(`Table ${displayIdentifier(levels, name)} changed while it was being registered`);
      }
    } else if (!(await this.store.insertEntity(namespaceKey(levels), name, 'table', metadataLocation))) {
      await this.checkNameFree(id, 'table');
    }
    return { metadataLocation, metadata };
  }

  async unregisterTable(id: Identifier): Promise<{ metadataLocation: string; metadata: TableMetadata }> {
    const row = await this.tableRow(id);
    const metadata = await readTableMetadata(this.stores, row.metadata_location);
    if (!(await this.store.deleteEntity(namespaceKey(id.namespace), id.name, 'table'))) throw noSuchTable(displayIdentifier(id.namespace, id.name));
    return { metadataLocation: row.metadata_location, metadata };
  }

  async dropTable(id: Identifier, purge: boolean): Promise<void> {
    const row = await this.store.deleteEntity(namespaceKey(id.namespace), id.name, 'table');
    if (!row) throw noSuchTable(displayIdentifier(id.namespace, id.name));
    if (purge) await purgeTableFiles(this.stores, row.metadata_location);
  }

  async renameTable(from: Identifier, to: Identifier): Promise<void> {
    await this.rename(from, to, 'table');
  }

  private async rename(from: Identifier, to: Identifier, kind: EntityKind): Promise<void> {
    const source = await this.store.getEntity(namespaceKey(from.namespace), from.name);
    const fromName = displayIdentifier(from.namespace, from.name);
    if (!source || source.kind !== kind) throw kind === 'table' ? noSuchTable(fromName) : noSuchView(fromName);
    await this.requireNamespace(to.namespace);
    const target = await this.store.getEntity(namespaceKey(to.namespace), to.name);
    const toName = displayIdentifier(to.namespace, to.name);
    // Iceberg Java's wording, which clients and the RCK match on.
    const taken = (kindTaken: EntityKind) =>
      kind === 'table' && kindTaken === 'table'
        ? alreadyExists(`Table already exists: ${toName}`)
        : alreadyExists(`Cannot rename ${fromName} to ${toName}. ${kindTaken === 'table' ? 'Table' : 'View'} already exists`);
    if (target) throw taken(target.kind);
    const result = await this.store.renameEntity({ namespace: namespaceKey(from.namespace), name: from.name }, { namespace: namespaceKey(to.namespace), name: to.name }, kind);
    if (result === 'missing') throw kind === 'table' ? noSuchTable(fromName) : noSuchView(fromName);
    if (result === 'taken') throw taken((await this.store.getEntity(namespaceKey(to.namespace), to.name))?.kind ?? kind);
  }

  /** Applies one commit to a table (or creates it, for a staged create's `assert-create` commit). */
  async commitTable(change: TableChange): Promise<LoadedTable & { metadataLocation: string }> {
    const [result] = await this.commitTables([change]);
    return result!;
  }

  /**
   * Commits changes to one or more tables atomically: every requirement is checked and every
   * metadata file written before any pointer moves, and the pointers move in one transaction.
   */
  async commitTables(changes: TableChange[]): Promise<(LoadedTable & { metadataLocation: string })[]> {
    const seen = new Set<string>();
    for (const c of changes) {
      const key = `${namespaceKey(c.identifier.namespace)}\u0000${c.identifier.name}`;
      if (seen.has(key)) throw badRequest(`Invalid commit: table ${displayIdentifier(c.identifier.namespace, c.identifier.name)} appears more than once`);
      seen.add(key);
    }
    for (let attempt = 0; ; attempt++) {
      const prepared = await Promise.all(changes.map((c) => this.prepareTableCommit(c)));
      const written: string[] = [];
      try {
        for (const p of prepared) {
          if (p.unchanged) continue;
          p.metadataLocation = await writeTableMetadata(this.stores, p.metadata, p.baseLocation);
          written.push(p.metadataLocation);
        }
        if (written.length > 0) {
          await this.store.transaction(async (trx) => {
            for (const p of prepared) {
              if (p.unchanged) continue;
              const ns = namespaceKey(p.id.namespace);
              const ok = p.baseLocation === undefined
                ? await this.store.insertEntity(ns, p.id.name, 'table', p.metadataLocation, trx)
                : await this.store.swapPointer(ns, p.id.name, p.baseLocation, p.metadataLocation, trx);
              if (!ok) {
                if (p.baseLocation === undefined) throw alreadyExists(`Table already exists: ${displayIdentifier(p.id.namespace, p.id.name)}`);
                throw new PointerMovedError(ns, p.id.name);
              }
            }
          });
        }
        return prepared.map((p) => ({ metadataLocation: p.metadataLocation, metadata: p.metadata }));
      } catch (error) {
        await Promise.all(written.map((location) => deleteQuietly(this.stores, location)));
        if (!(error instanceof PointerMovedError)) throw error;
        if (attempt >= this.commitRetries) {
          throw commitFailed(`Commit to ${error.namespace.replaceAll('\u001f', '.')}.${error.entity} failed: too many concurrent commits, retry`);
        }
        await sleep(retryDelayMs(attempt));
      }
    }
  }

  private async prepareTableCommit(change: TableChange) {
    const id = change.identifier;
    const row = await this.store.getEntity(namespaceKey(id.namespace), id.name);
    const isCreate = change.requirements.some((r) => r.type === 'assert-create');
    if (row && row.kind !== 'table') {
      if (isCreate) throw alreadyExists(`View with same name already exists: ${displayIdentifier(id.namespace, id.name)}`);
      throw noSuchTable(displayIdentifier(id.namespace, id.name));
    }
    if (!row) {
      if (!isCreate) throw noSuchTable(displayIdentifier(id.namespace, id.name));
      await this.requireNamespace(id.namespace);
      checkTableRequirements(change.requirements, undefined);
      // A staged create sends the whole table as updates; start from the version it asks for.
      const upgrade = change.updates.find((u) => u.action === 'upgrade-format-version');
      const version = typeof upgrade?.['format-version'] === 'number' ? upgrade['format-version'] : DEFAULT_FORMAT_VERSION;
      const builder = new TableMetadataBuilder(undefined, undefined, version).applyAll(change.updates);
      if (!change.updates.some((u) => u.action === 'set-location')) builder.setLocation(await this.defaultLocation(id.namespace, id.name));
      return { id, baseLocation: undefined, metadata: builder.build(), metadataLocation: '', unchanged: false };
    }
    const base = await readTableMetadata(this.stores, row.metadata_location, { cached: true });
    checkTableRequirements(change.requirements, base);
    const builder = new TableMetadataBuilder(base, row.metadata_location).applyAll(change.updates);
    const metadata = builder.build();
    return { id, baseLocation: row.metadata_location, metadata, metadataLocation: row.metadata_location, unchanged: !builder.hasChanges };
  }

  // --- views ------------------------------------------------------------------------------

  private async viewRow(id: Identifier) {
    const row = await this.store.getEntity(namespaceKey(id.namespace), id.name);
    if (!row || row.kind !== 'view') throw noSuchView(displayIdentifier(id.namespace, id.name));
    return row;
  }

  async createView(levels: string[], request: CreateViewRequest): Promise<LoadedView> {
    const id = { namespace: levels, name: request.name };
    await this.requireNamespace(levels);
    await this.checkNameFree(id, 'view');
    const location = request.location ? request.location.replace(/\/+$/, '') : await this.defaultLocation(levels, request.name);
    const metadata = newViewBuilder(request, location).build();
    const metadataLocation = await writeViewMetadata(this.stores, metadata, undefined);
    await this.insertOrCleanUp(id, 'view', metadataLocation);
    return { metadataLocation, metadata };
  }

  async loadView(id: Identifier): Promise<LoadedView> {
    const row = await this.viewRow(id);
    return { metadataLocation: row.metadata_location, metadata: await readViewMetadata(this.stores, row.metadata_location) };
  }

  async viewExists(id: Identifier): Promise<boolean> {
    const row = await this.store.getEntity(namespaceKey(id.namespace), id.name);
    return row?.kind === 'view';
  }

  async replaceView(id: Identifier, requirements: unknown, updates: MetadataUpdate[]): Promise<LoadedView> {
    for (let attempt = 0; ; attempt++) {
      const row = await this.viewRow(id);
      const base = await readViewMetadata(this.stores, row.metadata_location, { cached: true });
      checkViewRequirements(requirements, base);
      const builder = new ViewMetadataBuilder(base).applyAll(updates);
      if (!builder.hasChanges) return { metadataLocation: row.metadata_location, metadata: base };
      const metadata = builder.build();
      const metadataLocation = await writeViewMetadata(this.stores, metadata, row.metadata_location);
      if (await this.store.swapPointer(namespaceKey(id.namespace), id.name, row.metadata_location, metadataLocation)) {
        return { metadataLocation, metadata };
      }
      await deleteQuietly(this.stores, metadataLocation);
      if (attempt >= this.commitRetries) throw commitFailed(`Commit to view ${displayIdentifier(id.namespace, id.name)} failed: too many concurrent commits, retry`);
      await sleep(retryDelayMs(attempt));
    }
  }

  async dropView(id: Identifier): Promise<void> {
    if (!(await this.store.deleteEntity(namespaceKey(id.namespace), id.name, 'view'))) throw noSuchView(displayIdentifier(id.namespace, id.name));
  }

  async renameView(from: Identifier, to: Identifier): Promise<void> {
    await this.rename(from, to, 'view');
  }

  async registerView(levels: string[], name: string, metadataLocation: string): Promise<LoadedView> {
    await this.requireNamespace(levels);
    const metadata = await readViewMetadata(this.stores, metadataLocation);
    await this.checkNameFree({ namespace: levels, name }, 'view');
    // Never clean up here: the file belongs to whoever registers it.
    if (!(await this.store.insertEntity(namespaceKey(levels), name, 'view', metadataLocation))) {
      await this.checkNameFree({ namespace: levels, name }, 'view');
    }
    return { metadataLocation, metadata };
  }
}
