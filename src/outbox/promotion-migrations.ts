/**
 * Schema of promotions (failover): which replica destinations, or which tables of one, were made
 * writable and no longer receive the source's commits. Registered with the outbox's migrations in
 * the one Migrator of the state database (database.ts). Never edit a released migration: add one.
 */
import { type Kysely, type Migration } from 'kysely';

export const promotionMigrations: Record<string, Migration> = {
  '0007_promotions': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('replication_promotions')
        .addColumn('destination', 'text', (c) => c.notNull())
        // The promoted table's entity key, or '' for the whole destination (no entity key is empty).
        .addColumn('entity_key', 'text', (c) => c.notNull())
        .addColumn('promoted_at_ms', 'bigint', (c) => c.notNull())
        // 1 when the destination was behind and the promotion was forced (SQLite has no boolean).
        .addColumn('forced', 'integer', (c) => c.notNull().defaultTo(0))
        // JSON list of what the destination had not applied when replication into it stopped.
        .addColumn('lost', 'text', (c) => c.notNull().defaultTo('[]'))
        .addPrimaryKeyConstraint('replication_promotions_pk', ['destination', 'entity_key'])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('replication_promotions').execute();
    },
  },
};
