/**
 * The state database's tables for replication rules added at run time (the admin API), and the
 * index the audit listing filters time by. Registered in src/outbox/migrations.ts as
 * `0006_replication_rules`, so it runs in the same Migrator as the outbox's.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export const replicationRulesMigration: Migration = {
  async up(db: Kysely<unknown>) {
    // One row per rule; patterns and destinations as JSON arrays (the same shape as a rule of the
    // configuration file). `destinations` null: every destination. `version` counts the rule's
    // changes: a writer must name the version it read (optimistic concurrency).
    await db.schema
      .createTable('replication_rules')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tables', 'text', (c) => c.notNull())
      .addColumn('exclude', 'text', (c) => c.notNull())
      .addColumn('destinations', 'text')
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
      .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
      .execute();
    // A single row: the version of the rule set as a whole, raised by every create, change and
    // delete. Every process reads it before selecting tables (one cheap query) and reloads the
    // rules when it moved, so instances sharing the database follow each other's changes.
    await db.schema
      .createTable('replication_rules_state')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('version', 'bigint', (c) => c.notNull())
      .addColumn('changed_at_ms', 'bigint', (c) => c.notNull())
      .execute();
    await sql`insert into replication_rules_state (id, version, changed_at_ms) values (1, 0, 0)`.execute(db);
    // The audit listing (GET /admin/v1/audit) filters entries by when they were recorded.
    await db.schema.createIndex('outbox_entries_created_at').on('outbox_entries').column('created_at_ms').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropIndex('outbox_entries_created_at').execute();
    await db.schema.dropTable('replication_rules_state').execute();
    await db.schema.dropTable('replication_rules').execute();
  },
};
