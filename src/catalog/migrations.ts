/**
 * Schema migrations of the catalog tables, applied in name order at start-up. Never edit a
 * released migration: add a new one.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export const catalogMigrations: Record<string, Migration> = {
  '0001_catalog': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('catalog_namespaces')
        .addColumn('catalog', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('parent', 'text', (c) => c.notNull())
        .addColumn('properties', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('catalog_namespaces_pk', ['catalog', 'name'])
        .execute();
      await db.schema.createIndex('catalog_namespaces_parent').on('catalog_namespaces').columns(['catalog', 'parent', 'name']).execute();
      await db.schema
        .createTable('catalog_entities')
        .addColumn('catalog', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('metadata_location', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('catalog_entities_pk', ['catalog', 'namespace', 'name'])
        .execute();
      await db.schema
        .createTable('catalog_idempotency')
        .addColumn('catalog', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('headers', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('catalog_idempotency_pk', ['catalog', 'key'])
        .execute();
      await db.schema.createIndex('catalog_idempotency_created').on('catalog_idempotency').column('created_at_ms').execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of ['catalog_idempotency', 'catalog_entities', 'catalog_namespaces']) {
        await sql`drop table if exists ${sql.table(table)}`.execute(db);
      }
    },
  },
};
