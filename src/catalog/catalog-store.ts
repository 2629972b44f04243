/**
 * The catalog's SQL: one method per statement, no Iceberg logic. Every query is scoped to one
 * catalog name so the same database can hold the source catalog and built-in replica catalogs.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database, EntityRow, IdempotencyRow, StateDatabase } from './database.ts';
import type { DialectAdapter } from './dialect-adapter.ts';

type Db = Kysely<Database> | Transaction<Database>;
export type EntityKind = EntityRow['kind'];

export interface PageRequest {
  /** Exclusive lower bound: the last name of the previous page. */
  after?: string;
  /** Rows to return; undefined = all. */
  limit?: number;
}

/** Thrown inside a transaction when a pointer moved under a commit; the caller reloads and retries. */
export class PointerMovedError extends Error {
  override readonly name = 'PointerMovedError';
  constructor(readonly namespace: string, readonly entity: string) {
    super(`metadata pointer of ${namespace}.${entity} moved during the commit`);
  }
}

export class CatalogStore {
  readonly db: Kysely<Database>;
  readonly adapter: DialectAdapter;

  constructor(state: StateDatabase, readonly catalog: string) {
    this.db = state.db;
    this.adapter = state.adapter;
  }

  // --- namespaces -------------------------------------------------------------------------

  async getNamespace(name: string, db: Db = this.db): Promise<Record<string, string> | undefined> {
    const row = await db.selectFrom('catalog_namespaces').select('properties')
      .where('catalog', '=', this.catalog).where('name', '=', name).executeTakeFirst();
    return row ? (JSON.parse(row.properties) as Record<string, string>) : undefined;
  }

  /** Inserts a namespace; false when it already exists. */
  async insertNamespace(name: string, parent: string, properties: Record<string, string>): Promise<boolean> {
    try {
      await this.db.insertInto('catalog_namespaces')
        .values({ catalog: this.catalog, name, parent, properties: JSON.stringify(properties) }).execute();
      return true;
    } catch (error) {
      if (this.adapter.isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async listNamespaces(parent: string, page: PageRequest): Promise<string[]> {
    let q = this.db.selectFrom('catalog_namespaces').select('name')
      .where('catalog', '=', this.catalog).where('parent', '=', parent);
    if (page.after !== undefined) q = q.where('name', '>', page.after);
    q = q.orderBy('name');
    if (page.limit !== undefined) q = q.limit(page.limit);
    return (await q.execute()).map((r) => r.name);
  }

  async hasChildNamespaces(name: string): Promise<boolean> {
    const row = await this.db.selectFrom('catalog_namespaces').select('name')
      .where('catalog', '=', this.catalog).where('parent', '=', name).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  async updateNamespaceProperties(name: string, properties: Record<string, string>, db: Db = this.db): Promise<void> {
    await db.updateTable('catalog_namespaces').set({ properties: JSON.stringify(properties) })
      .where('catalog', '=', this.catalog).where('name', '=', name).execute();
  }

  async deleteNamespace(name: string): Promise<boolean> {
    const result = await this.db.deleteFrom('catalog_namespaces')
      .where('catalog', '=', this.catalog).where('name', '=', name).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  // --- tables and views -------------------------------------------------------------------

  async getEntity(namespace: string, name: string, db: Db = this.db): Promise<EntityRow | undefined> {
    return db.selectFrom('catalog_entities').selectAll()
      .where('catalog', '=', this.catalog).where('namespace', '=', namespace).where('name', '=', name)
      .executeTakeFirst();
  }

  async listEntities(namespace: string, kind: EntityKind, page: PageRequest): Promise<string[]> {
    let q = this.db.selectFrom('catalog_entities').select('name')
      .where('catalog', '=', this.catalog).where('namespace', '=', namespace).where('kind', '=', kind);
    if (page.after !== undefined) q = q.where('name', '>', page.after);
    q = q.orderBy('name');
    if (page.limit !== undefined) q = q.limit(page.limit);
    return (await q.execute()).map((r) => r.name);
  }

  async countEntities(namespace: string): Promise<number> {
    const row = await this.db.selectFrom('catalog_entities').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('catalog', '=', this.catalog).where('namespace', '=', namespace).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Inserts a table or view; false when the name is taken (by a table or a view). */
  async insertEntity(namespace: string, name: string, kind: EntityKind, metadataLocation: string, db: Db = this.db): Promise<boolean> {
    const now = Date.now();
    try {
      await db.insertInto('catalog_entities').values({
        catalog: this.catalog, namespace, name, kind, metadata_location: metadataLocation, created_at_ms: now, updated_at_ms: now,
      }).execute();
      return true;
    } catch (error) {
      if (this.adapter.isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** Compare-and-swap of the metadata pointer; false when it no longer points at `expected`. */
  async swapPointer(namespace: string, name: string, expected: string, next: string, db: Db = this.db): Promise<boolean> {
    const result = await db.updateTable('catalog_entities').set({ metadata_location: next, updated_at_ms: Date.now() })
      .where('catalog', '=', this.catalog).where('namespace', '=', namespace).where('name', '=', name)
      .where('metadata_location', '=', expected).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async deleteEntity(namespace: string, name: string, kind: EntityKind, db: Db = this.db): Promise<EntityRow | undefined> {
    const row = await this.getEntity(namespace, name, db);
    if (!row || row.kind !== kind) return undefined;
    const result = await db.deleteFrom('catalog_entities')
      .where('catalog', '=', this.catalog).where('namespace', '=', namespace).where('name', '=', name)
      .where('metadata_location', '=', row.metadata_location).executeTakeFirst();
    return Number(result.numDeletedRows) === 1 ? row : undefined;
  }

  /** Moves an entity to a new identifier; false when the target name is taken. */
  async renameEntity(from: { namespace: string; name: string }, to: { namespace: string; name: string }, kind: EntityKind): Promise<'renamed' | 'missing' | 'taken'> {
    try {
      const result = await this.db.updateTable('catalog_entities')
        .set({ namespace: to.namespace, name: to.name, updated_at_ms: Date.now() })
        .where('catalog', '=', this.catalog).where('namespace', '=', from.namespace).where('name', '=', from.name)
        .where('kind', '=', kind).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1 ? 'renamed' : 'missing';
    } catch (error) {
      if (this.adapter.isUniqueViolation(error)) return 'taken';
      throw error;
    }
  }

  transaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  // --- idempotency ------------------------------------------------------------------------

  async getIdempotencyRecord(key: string, notBeforeMs: number): Promise<IdempotencyRow | undefined> {
    return this.db.selectFrom('catalog_idempotency').selectAll()
      .where('catalog', '=', this.catalog).where('key', '=', key).where('created_at_ms', '>=', notBeforeMs)
      .executeTakeFirst();
  }

  /**
   * Claims a key for a request about to run (status 0 = in flight). False when the key is taken:
   * by a finished response to replay, or by a request still running. Expired records and claims
   * abandoned by a crashed process (older than `abandonedBeforeMs`) are cleared first.
   */
  async reserveIdempotencyKey(key: string, requestHash: string, nowMs: number, expiredBeforeMs: number, abandonedBeforeMs: number): Promise<boolean> {
    await this.db.deleteFrom('catalog_idempotency')
      .where('catalog', '=', this.catalog).where('key', '=', key)
      .where((eb) => eb.or([
        eb('created_at_ms', '<', expiredBeforeMs),
        eb.and([eb('status', '=', 0), eb('created_at_ms', '<', abandonedBeforeMs)]),
      ]))
      .execute();
    try {
      await this.db.insertInto('catalog_idempotency')
        .values({ catalog: this.catalog, key, request_hash: requestHash, status: 0, body: '', headers: '{}', created_at_ms: nowMs })
        .execute();
      return true;
    } catch (error) {
      if (this.adapter.isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** Stores the finalized response of a claimed key. */
  async finishIdempotencyKey(key: string, status: number, body: string, headers: string): Promise<void> {
    await this.db.updateTable('catalog_idempotency').set({ status, body, headers })
      .where('catalog', '=', this.catalog).where('key', '=', key).where('status', '=', 0).execute();
  }

  /** Gives a claimed key up (the request ended in a 5xx, which is never replayed). */
  async releaseIdempotencyKey(key: string): Promise<void> {
    await this.db.deleteFrom('catalog_idempotency')
      .where('catalog', '=', this.catalog).where('key', '=', key).where('status', '=', 0).execute();
  }

  async deleteIdempotencyRecordsBefore(ms: number): Promise<void> {
    await this.db.deleteFrom('catalog_idempotency').where('created_at_ms', '<', ms).execute();
  }
}
