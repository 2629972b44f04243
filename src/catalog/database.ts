/**
 * The state database: one typed schema, opened on SQLite (embedded default, better-sqlite3) or on
 * Postgres (several instances). Dialect differences live in dialect-adapter.ts, not in queries.
 */
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Migration, type MigrationProvider, type SqliteDatabase } from 'kysely';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pg from 'pg';
import { outboxMigrations } from '../outbox/migrations.ts';
import { promotionMigrations } from '../outbox/promotion-migrations.ts';
import { catalogMigrations } from './migrations.ts';
import { postgresAdapter, sqliteAdapter, type DialectAdapter } from './dialect-adapter.ts';

/** Namespaces of every catalog this database holds; `name` is the levels joined by U+001F. */
export interface NamespaceRow {
  catalog: string;
  name: string;
  /** The parent's `name`; '' for a top-level namespace. */
  parent: string;
  /** JSON object of string properties. */
  properties: string;
}

/** Tables and views share one key space, as the REST spec requires (a view and a table cannot share a name). */
export interface EntityRow {
  catalog: string;
  namespace: string;
  name: string;
  kind: 'table' | 'view';
  /** The pointer: the current metadata file. Commits compare-and-swap it. */
  metadata_location: string;
  created_at_ms: number;
  updated_at_ms: number;
}

/** Finalized responses of requests that carried an Idempotency-Key. */
export interface IdempotencyRow {
  catalog: string;
  key: string;
  request_hash: string;
  status: number;
  body: string;
  headers: string;
  created_at_ms: number;
}

export interface Database {
  catalog_namespaces: NamespaceRow;
  catalog_entities: EntityRow;
  catalog_idempotency: IdempotencyRow;
}

export type DatabaseConfig =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string; maxConnections?: number };

export interface StateDatabase {
  db: Kysely<Database>;
  adapter: DialectAdapter;
  close(): Promise<void>;
}

/** Opens the database and brings its schema up to date. */
export async function openDatabase(config: DatabaseConfig): Promise<StateDatabase> {
  let db: Kysely<Database>;
  let adapter: DialectAdapter;
  if (config.kind === 'sqlite') {
    if (config.path !== ':memory:') mkdirSync(dirname(config.path), { recursive: true });
    const sqlite = new BetterSqlite3(config.path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    adapter = sqliteAdapter;
  } else {
    // int8 columns hold millisecond times, which fit a double exactly.
    pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
    const pool = new pg.Pool({ connectionString: config.url, max: config.maxConnections ?? 10 });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    adapter = postgresAdapter;
  }
  await migrate(db);
  return { db, adapter, close: () => db.destroy() };
}

/**
 * Kysely prepares every query anew; preparing costs about as much as running a small write. The
 * same SQL text gets the same prepared statement back (queries run one at a time on the single
 * connection, so a statement is never in use twice at once).
 */
function withStatementCache(sqlite: BetterSqlite3.Database, capacity = 1000): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => sqlite.close(),
    prepare: (text: string) => {
      let statement = cache.get(text);
      if (statement === undefined) {
        statement = sqlite.prepare(text);
        // SQL texts vary with the number of values in a list; keep the cache bounded.
        if (cache.size >= capacity) cache.delete(cache.keys().next().value!);
        cache.set(text, statement);
      }
      return statement;
    },
  };
}

async function migrate(db: Kysely<Database>): Promise<void> {
  // One migrator for every table of the state database: catalog, then outbox (and promotions).
  const provider: MigrationProvider = { getMigrations: async () => ({ ...catalogMigrations, ...outboxMigrations, ...promotionMigrations }) as Record<string, Migration> };
  const { error, results } = await new Migrator({ db, provider, migrationTableName: 'icerelay_migrations', migrationLockTableName: 'icerelay_migrations_lock' }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`Database migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
