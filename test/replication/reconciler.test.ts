/**
 * Reconciliation against the real built-in catalog and outbox: tables written around the proxy
 * (straight to the catalog) are found, recorded as observations and shipped; existing tables are
 * backfilled the same way; a steady state records nothing; a table whose last event is still in
 * flight is left for the next pass; tables no destination selects are not looked at.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { loadServerConfig } from '../../src/config/server-config.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { builtinReplica } from '../../src/replication/commit/replica-catalog.ts';
import { copyFiles } from '../../src/replication/copy/copier.ts';
import { reconcileTables } from '../../src/replication/reconciler.ts';
import { LocationMap } from '../../src/replication/rewrite/location-map.ts';
import { Shipper } from '../../src/replication/shipper.ts';
import { builtinSource } from '../../src/replication/source-catalog.ts';
import { TableSelector } from '../../src/replication/table-selector.ts';
import { buildCatalog, replicaCatalogName, startCatalogServer, type RunningServer } from '../../src/server/builtin-server.ts';
import { createStoreResolver } from '../../src/storage/store-resolver.ts';
import { createLogger } from '../../src/util/logger.ts';
import { sendRaw as send } from '../helpers/raw-http.ts';

const logger = createLogger({ level: 'silent' });
const schema = { type: 'struct', fields: [{ id: 1, name: 'id', type: 'long', required: false }] };
const selector = new TableSelector([{ tables: ['**'], exclude: ['scratch.*'] }]);

let dir: string;
let database: StateDatabase;
let outbox: OutboxStore;
let source: RunningServer;
let replica: Awaited<ReturnType<typeof buildCatalog>>;
let shipper: Shipper;
const closers: Array<() => Promise<void>> = [];

const reconcile = () => reconcileTables({ outbox, source: builtinSource(source.catalog), selects: (id) => selector.selectsTable(id.namespace, id.name), logger });
async function ship(): Promise<void> {
  for (let round = 0; round < 20 && (await shipper.syncOnce()) > 0; round++) { /* next round */ }
}
/** A commit straight to the catalog: the outbox never hears of it. */
async function bypassCommit(table: string, n: string): Promise<void> {
  const commit = { requirements: [], updates: [{ action: 'set-properties', updates: { n } }] };
  expect((await send(source.url, 'POST', `/v1/namespaces/legacy/tables/${table}`, commit)).status).toBe(200);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icerelay-reconcile-'));
  database = await openDatabase({ kind: 'sqlite', path: join(dir, 'state.db') });
  outbox = new OutboxStore(database);
  const config = { ...loadServerConfig({ ICERELAY_DATA_DIR: dir }), port: 0 };
  source = await startCatalogServer(config, logger, database);
  const warehouse = pathToFileURL(join(dir, 'replica')).href;
  replica = await buildCatalog({ ...config, warehouse }, logger, database, { name: replicaCatalogName('r') });
  const stores = createStoreResolver();
  shipper = new Shipper({
    outbox, destination: 'r', source: builtinSource(source.catalog), logger, workerId: 'test', selector,
    sync: {
      sourceStores: stores, replicaStores: stores, copyFiles: (items) => copyFiles(items), replica: builtinReplica(replica.catalog, stores),
      map: new LocationMap([{ source: `${config.warehouse}/`, destination: `${warehouse}/` }]),
    },
  });
  closers.push(async () => stores.destroy(), () => replica.close(), () => source.close(), () => database.close());
  // Tables that existed before replication began.
  for (const ns of ['legacy', 'scratch']) expect((await send(source.url, 'POST', '/v1/namespaces', { namespace: [ns] })).status).toBe(200);
  for (const name of ['a', 'b']) expect((await send(source.url, 'POST', '/v1/namespaces/legacy/tables', { name, schema })).status).toBe(200);
  expect((await send(source.url, 'POST', '/v1/namespaces/scratch/tables', { name: 'tmp', schema })).status).toBe(200);
  await bypassCommit('a', '1');
});

afterAll(async () => {
  for (const close of closers) await close();
  await rm(dir, { recursive: true, force: true });
});

const id = (name: string) => ({ namespace: ['legacy'], name });

describe('reconcileTables', () => {
  it('backfills tables the outbox never saw, at their current state', async () => {
    expect(await reconcile()).toEqual({ tables: 2, observed: 2, skipped: 0 });
    await ship();
    for (const name of ['a', 'b']) {
      const [s, r] = [await source.catalog.loadTable(id(name)), await replica.catalog.loadTable(id(name))];
      expect(r.metadata['table-uuid']).toBe(s.metadata['table-uuid']);
      expect(r.metadata.properties).toEqual(s.metadata.properties);
    }
    expect(await replica.catalog.tableExists({ namespace: ['scratch'], name: 'tmp' })).toBe(false);
  });

  it('records nothing when every table is where the outbox says', async () => {
    expect(await reconcile()).toEqual({ tables: 2, observed: 0, skipped: 0 });
  });

  it('catches a write that bypassed the proxy and ships it', async () => {
    await bypassCommit('b', '2');
    expect(await reconcile()).toEqual({ tables: 2, observed: 1, skipped: 0 });
    const [observed] = await outbox.listEvents({ entity: id('b'), limit: 1, newest: true });
    expect(observed).toMatchObject({ kind: 'observe-table', status: 'committed', metadataLocation: await source.catalog.tableMetadataLocation(id('b')) });
    await ship();
    expect((await replica.catalog.loadTable(id('b'))).metadata.properties.n).toBe('2');
  });

  it('leaves a table whose newest event is unsettled to the settlement of that event', async () => {
    await outbox.recordIntent({ kind: 'commit-table', entities: [id('a')], request: { method: 'POST', path: '/v1/namespaces/legacy/tables/a', body: '{}' } });
    await bypassCommit('a', '3');
    expect(await reconcile()).toEqual({ tables: 2, observed: 0, skipped: 1 });
  });
});
