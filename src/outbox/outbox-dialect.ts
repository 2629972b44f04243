/**
 * Where the outbox's SQL differs between SQLite and Postgres: how a claim keeps two workers off the
 * same queue, and how a write transaction starts. Queries elsewhere stay dialect-free.
 */
import { sql, type Kysely } from 'kysely';
import type { DialectAdapter } from '../catalog/dialect-adapter.ts';

export interface OutboxDialect {
  readonly name: DialectAdapter['name'];
  /**
   * Postgres: claims lock the chosen position rows with `FOR UPDATE SKIP LOCKED`, so concurrent
   * claimers (several instances) pass each other. SQLite has no row locks and needs none: its write
   * transactions are serial.
   */
  readonly supportsSkipLocked: boolean;
  /**
   * Runs `work` in a transaction that writes. On SQLite it starts with `BEGIN IMMEDIATE`, taking
   * the write lock up front: a deferred transaction that reads and then writes can fail with
   * SQLITE_BUSY when another process (a CLI next to the server) wrote in between, and busy_timeout
   * cannot help it. Kysely runs every query of one better-sqlite3 database on one connection, so
   * the callback also has the connection to itself.
   */
  writeTransaction<DB, T>(db: Kysely<DB>, work: (trx: Kysely<DB>) => Promise<T>): Promise<T>;
}

const sqliteDialect: OutboxDialect = {
  name: 'sqlite',
  supportsSkipLocked: false,
  writeTransaction: (db, work) =>
    db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await work(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (error) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw error;
      }
    }),
};

const postgresDialect: OutboxDialect = {
  name: 'postgres',
  supportsSkipLocked: true,
  writeTransaction: (db, work) => db.transaction().execute(work),
};

export function outboxDialect(adapter: DialectAdapter): OutboxDialect {
  return adapter.name === 'postgres' ? postgresDialect : sqliteDialect;
}
