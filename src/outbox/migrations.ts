/**
 * Schema migrations of the outbox tables. They run in the same Migrator as the catalog's (one
 * `icerelay_migrations` table), so their names sort after `0001_catalog`. Never edit a released
 * migration: add a new one.
 */
import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';
import { replicationRulesMigration } from './rules-migration.ts';

export const outboxMigrations: Record<string, Migration> = {
  '0002_outbox': {
    async up(db: Kysely<unknown>) {
      // The one dialect difference in the DDL: how an id column autoincrements. SQLite's
      // AUTOINCREMENT, unlike a bare rowid, never hands out an id twice.
      const postgres = isPostgres(db);
      await db.schema
        .createTable('outbox_entries')
        .addColumn('id', postgres ? 'bigint' : 'integer', (c) =>
          postgres ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('request_method', 'text', (c) => c.notNull())
        .addColumn('request_path', 'text', (c) => c.notNull())
        .addColumn('request_body', 'text')
        .addColumn('principal', 'text')
        .addColumn('http_status', 'integer')
        .addColumn('error', 'text')
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('settled_at_ms', 'bigint')
        .execute();
      // Unsettled entries are few and looked up at every start and reconciliation pass.
      await db.schema.createIndex('outbox_entries_unsettled').on('outbox_entries').column('id')
        .where(sql<boolean>`status in ('intent', 'unknown')`).execute();

      await db.schema
        .createTable('outbox_entities')
        .addColumn('entity_key', 'text', (c) => c.primaryKey())
        .addColumn('last_sequence', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('outbox_events')
        .addColumn('entry_id', 'bigint', (c) => c.notNull().references('outbox_entries.id'))
        .addColumn('ordinal', 'integer', (c) => c.notNull())
        .addColumn('entity_key', 'text', (c) => c.notNull())
        .addColumn('sequence', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('metadata_location', 'text')
        .addColumn('added_snapshot_ids', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        // The shipper's and the admin API's read: one entity's events in sequence order.
        .addPrimaryKeyConstraint('outbox_events_pk', ['entity_key', 'sequence'])
        .addUniqueConstraint('outbox_events_entry_unique', ['entry_id', 'ordinal'])
        .execute();

      await db.schema
        .createTable('outbox_positions')
        .addColumn('destination', 'text', (c) => c.notNull())
        .addColumn('entity_key', 'text', (c) => c.notNull())
        .addColumn('position', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('state', 'text', (c) => c.notNull().defaultTo('pending'))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('run_at_ms', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('locked_by', 'text')
        .addColumn('locked_until_ms', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('completed_at_ms', 'bigint')
        .addPrimaryKeyConstraint('outbox_positions_pk', ['destination', 'entity_key'])
        .execute();
      await db.schema.createIndex('outbox_positions_due').on('outbox_positions').columns(['state', 'run_at_ms']).execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['outbox_positions', 'outbox_events', 'outbox_entities', 'outbox_entries']) {
        await sql`drop table if exists ${sql.table(table)}`.execute(db);
      }
    },
  },
  '0003_outbox_idempotency': {
    async up(db: Kysely<unknown>) {
      // A client's retry with the same Idempotency-Key is the same mutation: found by its key.
      await db.schema.alterTable('outbox_entries').addColumn('idempotency_key', 'text').execute();
      await db.schema.createIndex('outbox_entries_idempotency_key').on('outbox_entries').column('idempotency_key')
        .where(sql<boolean>`idempotency_key is not null`).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex('outbox_entries_idempotency_key').execute();
      await db.schema.alterTable('outbox_entries').dropColumn('idempotency_key').execute();
    },
  },
  '0004_outbox_instances': {
    async up(db: Kysely<unknown>) {
      // Which Icerelay process recorded an intent, and which processes are alive: an intent of a
      // live process may still be in flight and must not be settled by another one.
      await db.schema.alterTable('outbox_entries').addColumn('instance_id', 'text').execute();
      await db.schema
        .createTable('icerelay_instances')
        .addColumn('instance_id', 'text', (c) => c.primaryKey())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('started_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('icerelay_instances').execute();
      await db.schema.alterTable('outbox_entries').dropColumn('instance_id').execute();
    },
  },
  '0005_positions_shipped_state': {
    async up(db: Kysely<unknown>) {
      // What a destination last brought over, for status: the source metadata file and the
      // current snapshot id the replica has since.
      await db.schema.alterTable('outbox_positions').addColumn('shipped_metadata_location', 'text').execute();
      await db.schema.alterTable('outbox_positions').addColumn('shipped_snapshot_id', 'text').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('outbox_positions').dropColumn('shipped_snapshot_id').execute();
      await db.schema.alterTable('outbox_positions').dropColumn('shipped_metadata_location').execute();
    },
  },
  // Replication rules added through the admin API, and the audit listing's time index.
  '0006_replication_rules': replicationRulesMigration,
};

/**
 * The Migrator hands a migration only a Kysely instance; its adapter tells the dialect
 * (getExecutor() is marked internal in Kysely's typings, but stable since its first releases).
 */
function isPostgres(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}
