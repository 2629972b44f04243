/**
 * The built-in catalog's use cases, run on every state database: SQLite (always) and a real
 * Postgres (ICERELAY_TEST_POSTGRES_URL, started by `bash scripts/postgres.sh start`).
 * Each run uses its own catalog name, so runs never see each other's rows.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuiltinCatalog } from '../../src/catalog/builtin-catalog.ts';
import { CatalogStore } from '../../src/catalog/catalog-store.ts';
import { openDatabase, type DatabaseConfig, type StateDatabase } from '../../src/catalog/database.ts';
import { IcebergError } from '../../src/errors/iceberg-error.ts';
import type { Schema, TableRequirement, MetadataUpdate } from '../../src/iceberg/types.ts';
import { createStoreResolver } from '../../src/storage/store-resolver.ts';

const postgresUrl = process.env.ICERELAY_TEST_POSTGRES_URL;
const databases: { name: string; skip: string | undefined; config: (dir: string) => DatabaseConfig }[] = [
  { name: 'sqlite', skip: undefined, config: (dir) => ({ kind: 'sqlite', path: join(dir, 'catalog.db') }) },
  {
    name: 'postgres',
    // Without the variable there is no server to test against; CI always sets it (.ci/run).
    skip: postgresUrl ? undefined : 'ICERELAY_TEST_POSTGRES_URL is not set (start one with: bash scripts/postgres.sh start)',
    config: () => ({ kind: 'postgres', url: postgresUrl! }),
  },
];

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', type: 'long', required: true },
    { id: 2, name: 'data', type: 'string', required: false },
  ],
};

async function rejection(promise: Promise<unknown>): Promise<IcebergError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof IcebergError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

function snapshot(id: bigint | number, parent: bigint | number | null, sequence: number, timestamp = Date.now()) {
  return {
    'snapshot-id': id,
    'parent-snapshot-id': parent,
    'sequence-number': sequence,
    'timestamp-ms': timestamp,
    'manifest-list': `file:///nowhere/snap-${String(id)}.avro`,
    summary: { operation: 'append' },
    'schema-id': 0,
  };
}

function appendUpdates(id: bigint | number, parent: bigint | number | null, sequence: number): MetadataUpdate[] {
  return [
    { action: 'add-snapshot', snapshot: snapshot(id, parent, sequence) },
    { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': id },
  ];
}

describe.each(databases)('built-in catalog on $name', ({ name, skip, config }) => {
  let dir: string;
  let state: StateDatabase;
  let catalog: BuiltinCatalog;

  beforeAll(async () => {
    if (skip) return;
    dir = await mkdtemp(join(tmpdir(), `icerelay-catalog-${name}-`));
    state = await openDatabase(config(dir));
    catalog = new BuiltinCatalog({
      store: new CatalogStore(state, `test-${randomUUID()}`),
      warehouse: pathToFileURL(join(dir, 'warehouse')).href,
      stores: createStoreResolver(),
    });
  });
  afterAll(async () => {
    if (skip) return;
    await state.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(skip)('creates, lists, updates and drops nested namespaces', async () => {
    await catalog.createNamespace(['a'], { owner: 'x' });
    await catalog.createNamespace(['a', 'b', 'c'], {});
    expect((await catalog.listNamespaces([], {})).items).toContainEqual(['a']);
    expect((await catalog.listNamespaces(['a'], {})).items).toEqual([['a', 'b']]);
    expect((await catalog.listNamespaces(['a', 'b'], {})).items).toEqual([['a', 'b', 'c']]);
    expect((await rejection(catalog.createNamespace(['a'], {}))).type).toBe('AlreadyExistsException');
    const result = await catalog.updateNamespaceProperties(['a'], ['owner', 'nope'], { k: 'v' });
    expect(result).toEqual({ updated: ['k'], removed: ['owner'], missing: ['nope'] });
    expect(await catalog.loadNamespace(['a'])).toEqual({ k: 'v' });
    expect((await rejection(catalog.updateNamespaceProperties(['a'], ['k'], { k: 'w' }))).status).toBe(422);
    expect((await rejection(catalog.dropNamespace(['a']))).type).toBe('NamespaceNotEmptyException');
    await catalog.dropNamespace(['a', 'b', 'c']);
    await catalog.dropNamespace(['a', 'b']);
    await catalog.dropNamespace(['a']);
    expect(await catalog.namespaceExists(['a'])).toBe(false);
    const missing = await rejection(catalog.listNamespaces(['a'], {}));
    expect([missing.status, missing.message]).toEqual([404, 'Namespace does not exist: a']);
  });

  it.skipIf(skip)('pages through tables in name order', async () => {
    await catalog.createNamespace(['paged'], {});
    const names = ['t3', 't1', 't5', 't2', 't4'];
    for (const n of names) await catalog.createTable(['paged'], { name: n, schema });
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await catalog.listEntities(['paged'], 'table', { after, limit: 2 });
      seen.push(...page.items.map((i) => i.name));
      after = page.next;
      pages++;
    } while (after !== undefined);
    expect(seen).toEqual([...names].sort());
    expect(pages).toBe(3);
  });

  it.skipIf(skip)('commits snapshots, checks requirements and keeps the metadata log', async () => {
    await catalog.createNamespace(['c'], {});
    const created = await catalog.createTable(['c'], { name: 't', schema, properties: { 'write.metadata.previous-versions-max': '2' } });
    const id = { namespace: ['c'], name: 't' };
    const big = 9007199254740993n; // not representable as a double: must survive exactly
    const first = await catalog.commitTable({
      identifier: id,
      requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null }],
      updates: appendUpdates(big, null, 1),
    });
    expect(first.metadata['current-snapshot-id']).toBe(big);
    expect(first.metadata['metadata-log'].map((e) => e['metadata-file'])).toEqual([created.metadataLocation]);

    const stale: TableRequirement[] = [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null }];
    const conflict = await rejection(catalog.commitTable({ identifier: id, requirements: stale, updates: appendUpdates(2, null, 2) }));
    expect([conflict.status, conflict.type]).toEqual([409, 'CommitFailedException']);
    expect(conflict.message).toBe('Requirement failed: branch main was created concurrently');

    let parent: bigint | number = big;
    for (let i = 0; i < 3; i++) {
      const next = 100 + i;
      await catalog.commitTable({
        identifier: id,
        requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': parent }],
        updates: appendUpdates(next, parent, 2 + i),
      });
      parent = next;
    }
    const loaded = await catalog.loadTable(id);
    expect(loaded.metadata.snapshots.map((s) => s['snapshot-id'])).toEqual([big, 100, 101, 102]);
    expect(loaded.metadata['snapshot-log'].map((e) => e['snapshot-id'])).toEqual([big, 100, 101, 102]);
    expect(loaded.metadata['last-sequence-number']).toBe(4);
    expect(loaded.metadata['metadata-log']).toHaveLength(2); // previous-versions-max
    expect(loaded.metadataLocation).toMatch(/\/metadata\/00004-[0-9a-f-]+\.metadata\.json$/);
  });

  it.skipIf(skip)('retries non-conflicting concurrent commits on the server', async () => {
    await catalog.createNamespace(['concurrent'], {});
    await catalog.createTable(['concurrent'], { name: 't', schema });
    const id = { namespace: ['concurrent'], name: 't' };
    const writers = Array.from({ length: 6 }, (_, i) =>
      catalog.commitTable({ identifier: id, requirements: [], updates: [{ action: 'set-properties', updates: { [`k${i}`]: `${i}` } }] }),
    );
    await Promise.all(writers);
    const { metadata } = await catalog.loadTable(id);
    for (let i = 0; i < 6; i++) expect(metadata.properties[`k${i}`]).toBe(`${i}`);
    expect(metadata['metadata-log']).toHaveLength(6);
  });

  it.skipIf(skip)('commits several tables atomically or not at all', async () => {
    await catalog.createNamespace(['tx'], {});
    await catalog.createTable(['tx'], { name: 'a', schema });
    await catalog.createTable(['tx'], { name: 'b', schema });
    const a = { namespace: ['tx'], name: 'a' };
    const b = { namespace: ['tx'], name: 'b' };
    const failure = await rejection(catalog.commitTables([
      { identifier: a, requirements: [], updates: [{ action: 'set-properties', updates: { x: '1' } }] },
      { identifier: b, requirements: [{ type: 'assert-table-uuid', uuid: randomUUID() }], updates: [{ action: 'set-properties', updates: { x: '1' } }] },
    ]));
    expect(failure.status).toBe(409);
    expect((await catalog.loadTable(a)).metadata.properties.x).toBeUndefined();
    await catalog.commitTables([
      { identifier: a, requirements: [], updates: [{ action: 'set-properties', updates: { x: '2' } }] },
      { identifier: b, requirements: [], updates: [{ action: 'set-properties', updates: { x: '2' } }] },
    ]);
    expect((await catalog.loadTable(a)).metadata.properties.x).toBe('2');
    expect((await catalog.loadTable(b)).metadata.properties.x).toBe('2');
  });

  it.skipIf(skip)('creates a staged table only when its assert-create commit lands', async () => {
    await catalog.createNamespace(['staged'], {});
    const staged = await catalog.createTable(['staged'], { name: 't', schema, 'stage-create': true });
    expect(staged.metadataLocation).toBeNull();
    expect(await catalog.tableExists({ namespace: ['staged'], name: 't' })).toBe(false);
    const m = staged.metadata;
    const updates: MetadataUpdate[] = [
      { action: 'assign-uuid', uuid: m['table-uuid'] },
      { action: 'upgrade-format-version', 'format-version': 2 },
      { action: 'add-schema', schema: m.schemas[0] },
      { action: 'set-current-schema', 'schema-id': -1 },
      { action: 'add-spec', spec: m['partition-specs'][0] },
      { action: 'set-default-spec', 'spec-id': -1 },
      { action: 'add-sort-order', 'sort-order': m['sort-orders'][0] },
      { action: 'set-default-sort-order', 'sort-order-id': -1 },
      { action: 'set-location', location: m.location },
      ...appendUpdates(7, null, 1),
    ];
    const id = { namespace: ['staged'], name: 't' };
    const created = await catalog.commitTable({ identifier: id, requirements: [{ type: 'assert-create' }], updates });
    expect(created.metadata['table-uuid']).toBe(m['table-uuid']);
    expect(created.metadata['current-snapshot-id']).toBe(7);
    const again = await rejection(catalog.commitTable({ identifier: id, requirements: [{ type: 'assert-create' }], updates }));
    expect(again.status).toBe(409);
  });

  it.skipIf(skip)('keeps one name space for tables and views, renames and drops with purge', async () => {
    await catalog.createNamespace(['mixed'], {});
    await catalog.createNamespace(['other'], {});
    const t = await catalog.createTable(['mixed'], { name: 't', schema });
    await catalog.createView(['mixed'], {
      name: 'v',
      schema,
      'view-version': {
        'version-id': 1, 'timestamp-ms': Date.now(), 'schema-id': 0, summary: {}, 'default-namespace': ['mixed'],
        representations: [{ type: 'sql', sql: 'select 1', dialect: 'spark' }],
      },
    });
    expect((await rejection(catalog.createTable(['mixed'], { name: 'v', schema }))).message).toBe('View with same name already exists: mixed.v');
    const renameOnto = await rejection(catalog.renameTable({ namespace: ['mixed'], name: 't' }, { namespace: ['mixed'], name: 'v' }));
    expect(renameOnto.message).toBe('Cannot rename mixed.t to mixed.v. View already exists');
    await catalog.renameTable({ namespace: ['mixed'], name: 't' }, { namespace: ['other'], name: 't2' });
    expect(await catalog.tableExists({ namespace: ['mixed'], name: 't' })).toBe(false);
    expect((await catalog.loadTable({ namespace: ['other'], name: 't2' })).metadataLocation).toBe(t.metadataLocation);
    await catalog.dropTable({ namespace: ['other'], name: 't2' }, true);
    const folder = new URL(t.metadata.location).pathname;
    expect(await readdir(join(folder, 'metadata'))).toEqual([]);
    expect((await rejection(catalog.loadView({ namespace: ['mixed'], name: 't' }))).type).toBe('NoSuchViewException');
  });

  it.skipIf(skip)('purges only the dropped table\'s own files when another table shares its folder', async () => {
    await catalog.createNamespace(['shared'], {});
    const first = await catalog.createTable(['shared'], { name: 't', schema });
    await catalog.renameTable({ namespace: ['shared'], name: 't' }, { namespace: ['shared'], name: 'renamed' });
    const second = await catalog.createTable(['shared'], { name: 't', schema });
    expect(second.metadata.location).toBe(first.metadata.location);
    await catalog.dropTable({ namespace: ['shared'], name: 't' }, true);
    const renamed = await catalog.loadTable({ namespace: ['shared'], name: 'renamed' });
    expect(renamed.metadataLocation).toBe(first.metadataLocation);
  });

  it.skipIf(skip)('reports a missing metadata file as NotFoundException', async () => {
    await catalog.createNamespace(['missing'], {});
    const t = await catalog.createTable(['missing'], { name: 't', schema });
    await rm(new URL(t.metadataLocation!).pathname);
    const error = await rejection(catalog.loadTable({ namespace: ['missing'], name: 't' }));
    expect([error.status, error.type]).toEqual([404, 'NotFoundException']);
    expect(error.message).toContain(`Failed to open input stream for file: ${t.metadataLocation}`);
  });
});
