/**
 * The shipper over the real outbox: commits through the proxy to the built-in catalog are shipped
 * to a replica catalog in order, the position follows, redelivery changes nothing, and a table
 * that cannot be shipped (a location outside the mapping) fails alone while the others go on.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { loadServerConfig } from '../../src/config/server-config.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { startProxyServer, type RunningProxy } from '../../src/proxy/proxy-server.ts';
import { builtinReplica } from '../../src/replication/commit/replica-catalog.ts';
import { copyFiles } from '../../src/replication/copy/copier.ts';
import { LocationMap } from '../../src/replication/rewrite/location-map.ts';
import { Shipper, type ShipperOptions } from '../../src/replication/shipper.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { builtinSource } from '../../src/replication/source-catalog.ts';
import { TableSelector } from '../../src/replication/table-selector.ts';
import { buildCatalog, replicaCatalogName, startCatalogServer, type RunningServer } from '../../src/server/builtin-server.ts';
import { createAdminApp } from '../../src/server/admin-routes.ts';
import { createStoreResolver } from '../../src/storage/store-resolver.ts';
import { createLogger } from '../../src/util/logger.ts';
import { createViewRequest } from '../helpers/iceberg-requests.ts';
import { sendRaw as send } from '../helpers/raw-http.ts';

const logger = createLogger({ level: 'silent' });
const schema = { type: 'struct', fields: [{ id: 1, name: 'id', type: 'long', required: false }] };

let dir: string;
let database: StateDatabase;
let outbox: OutboxStore;
let source: RunningServer;
let proxy: RunningProxy;
let shipper: Shipper;
let shipperOptions: ShipperOptions;
let replica: Awaited<ReturnType<typeof buildCatalog>>;
const closers: Array<() => Promise<void>> = [];

/** Ships until nothing is due. */
async function drain(): Promise<void> {
  for (let round = 0; round < 20 && (await shipper.syncOnce()) > 0; round++) {
    // next round
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icerelay-shipper-'));
  database = await openDatabase({ kind: 'sqlite', path: join(dir, 'state.db') });
  outbox = new OutboxStore(database);
  const config = { ...loadServerConfig({ ICERELAY_DATA_DIR: dir }), port: 0 };
  source = await startCatalogServer(config, logger, database);
  const replicaWarehouse = pathToFileURL(join(dir, 'replica')).href;
  replica = await buildCatalog({ ...config, warehouse: replicaWarehouse }, logger, database, { name: replicaCatalogName('local') });
  proxy = await startProxyServer({ host: '127.0.0.1', port: 0, upstreamUrl: source.url, upstreamTimeoutMs: 5000, maxBodyBytes: 1 << 20, outbox, logger });
  const stores = createStoreResolver();
  shipperOptions = {
    outbox, destination: 'local', source: builtinSource(source.catalog), logger, workerId: 'test', views: replica.catalog,
    sync: {
      sourceStores: stores, replicaStores: stores, copyFiles: (items) => copyFiles(items), replica: builtinReplica(replica.catalog, stores),
      map: new LocationMap([{ source: `${config.warehouse}/`, destination: `${replicaWarehouse}/` }]),
    },
  };
  shipper = new Shipper(shipperOptions);
  closers.push(() => proxy.close(), async () => stores.destroy(), () => replica.close(), () => source.close(), () => database.close());
});

afterAll(async () => {
  for (const close of closers) await close();
  await rm(dir, { recursive: true, force: true });
});

describe('Shipper', () => {
  it('ships namespaces and every table commit in order; the position follows', async () => {
    expect((await send(proxy.url, 'POST', '/v1/namespaces', { namespace: ['shop'], properties: { owner: 'data' } })).status).toBe(200);
    expect((await send(proxy.url, 'POST', '/v1/namespaces/shop/tables', { name: 'orders', schema })).status).toBe(200);
    for (const n of [1, 2, 3]) {
      const commit = { requirements: [], updates: [{ action: 'set-properties', updates: { n: String(n) } }] };
      expect((await send(proxy.url, 'POST', '/v1/namespaces/shop/tables/orders', commit)).status).toBe(200);
    }
    await drain();
    const id = { namespace: ['shop'], name: 'orders' };
    const [sourceTable, replicaTable] = [await source.catalog.loadTable(id), await replica.catalog.loadTable(id)];
    expect(replicaTable.metadata['table-uuid']).toBe(sourceTable.metadata['table-uuid']);
    expect(replicaTable.metadata.properties.n).toBe('3');
    expect(replicaTable.metadata.location.startsWith(pathToFileURL(join(dir, 'replica')).href)).toBe(true);
    expect(await replica.catalog.loadNamespace(['shop'])).toEqual({ owner: 'data' });
    expect((await outbox.position('local', id))?.position).toBe(await outbox.entitySequence(id));
    // Nothing is due any more; shipping again changes nothing.
    expect(await shipper.syncOnce()).toBe(0);
    expect((await replica.catalog.loadTable(id)).metadataLocation).toBe(replicaTable.metadataLocation);
  });

  it('fails a table whose files lie outside the mapping, and ships the others', async () => {
    const elsewhere = pathToFileURL(join(dir, 'elsewhere', 'odd')).href;
    expect((await send(proxy.url, 'POST', '/v1/namespaces/shop/tables', { name: 'odd', schema, location: elsewhere })).status).toBe(200);
    expect((await send(proxy.url, 'POST', '/v1/namespaces/shop/tables', { name: 'fine', schema })).status).toBe(200);
    await drain();
    expect(await replica.catalog.tableExists({ namespace: ['shop'], name: 'fine' })).toBe(true);
    expect(await replica.catalog.tableExists({ namespace: ['shop'], name: 'odd' })).toBe(false);
    const failed = await outbox.position('local', { namespace: ['shop'], name: 'odd' });
    expect(failed?.position).toBe(0);
    expect(failed?.lastError).toContain(`${elsewhere} (table location) is under no mapped source prefix`);
  });

  it('reports per table and destination how far replication is', async () => {
    const commit = { requirements: [], updates: [{ action: 'set-properties', updates: { n: '4' } }] };
    expect((await send(proxy.url, 'POST', '/v1/namespaces/shop/tables/orders', commit)).status).toBe(200);
    const admin = createAdminApp(outbox, { destinations: ['local'] });
    interface Row { entity: { namespace: string[]; name?: string }; state: string; eventsBehind: number; oldestPendingAtMs: number | null; lastError: string | null }
    const status = async (query = '') => ((await (await admin.request(`/admin/v1/replication/status${query}`)).json()) as { tables: Row[] }).tables;
    const byName = (rows: Row[]) => Object.fromEntries(rows.map((r) => [[...r.entity.namespace, r.entity.name ?? ''].join('.'), r]));
    let rows = byName(await status());
    expect(rows['shop.orders']).toMatchObject({ state: 'pending', eventsBehind: 1 });
    expect(rows['shop.orders']!.oldestPendingAtMs).toBeGreaterThan(0);
    expect(rows['shop.fine']).toMatchObject({ state: 'completed', eventsBehind: 0, oldestPendingAtMs: null });
    expect(rows['shop.odd']!.lastError).toContain('is under no mapped source prefix');
    expect(rows['shop.']).toMatchObject({ state: 'completed' });
    await drain();
    rows = byName(await status('?table=shop.orders'));
    expect(Object.keys(rows)).toEqual(['shop.orders']);
    expect(rows['shop.orders']).toMatchObject({ state: 'completed', eventsBehind: 0 });
  });

  it('mirrors renames (same table, new name), honours rules and the namespace prefix, and applies the drop policy', async () => {
    const config = { ...loadServerConfig({ ICERELAY_DATA_DIR: dir }), port: 0 };
    const warehouse = pathToFileURL(join(dir, 'fan-in')).href;
    const fanIn = await buildCatalog({ ...config, warehouse }, logger, database, { name: replicaCatalogName('fan-in') });
    const stores = createStoreResolver();
    closers.unshift(async () => stores.destroy(), () => fanIn.close());
    const other = new Shipper({
      outbox, destination: 'fan-in', source: builtinSource(source.catalog), logger, workerId: 'test',
      selector: new TableSelector([{ tables: ['hr.**'], exclude: ['hr.secret'] }]),
      namespacePrefix: ['eu'],
      onSourceDrop: 'drop',
      sync: {
        sourceStores: stores, replicaStores: stores, copyFiles: (items) => copyFiles(items), replica: builtinReplica(fanIn.catalog, stores),
        map: new LocationMap([{ source: `${config.warehouse}/`, destination: `${warehouse}/` }]),
      },
    });
    const ship = async () => {
      for (let round = 0; round < 20 && (await other.syncOnce()) > 0; round++) { /* next round */ }
    };
    expect((await send(proxy.url, 'POST', '/v1/namespaces', { namespace: ['hr'], properties: { region: 'eu' } })).status).toBe(200);
    for (const name of ['people', 'secret', 'leaving']) {
      expect((await send(proxy.url, 'POST', '/v1/namespaces/hr/tables', { name, schema })).status).toBe(200);
    }
    await ship();
    const eu = (name: string) => ({ namespace: ['eu', 'hr'], name });
    expect(await fanIn.catalog.loadNamespace(['eu', 'hr'])).toEqual({ region: 'eu' });
    expect([await fanIn.catalog.tableExists(eu('people')), await fanIn.catalog.tableExists(eu('secret'))]).toEqual([true, false]);
    // 'shop' tables are not selected: their queues are stepped over, nothing is created.
    expect(await fanIn.catalog.namespaceExists(['eu', 'shop'])).toBe(false);
    expect((await outbox.position('fan-in', { namespace: ['shop'], name: 'orders' }))?.state).not.toBe('failed');

    const uuid = (await fanIn.catalog.loadTable(eu('people'))).metadata['table-uuid'];
    expect((await send(proxy.url, 'POST', '/v1/tables/rename', {
      source: { namespace: ['hr'], name: 'people' }, destination: { namespace: ['hr'], name: 'staff' },
    })).status).toBe(204);
    expect((await send(proxy.url, 'DELETE', '/v1/namespaces/hr/tables/leaving')).status).toBe(204);
    await ship();
    expect(await fanIn.catalog.tableExists(eu('people'))).toBe(false);
    expect((await fanIn.catalog.loadTable(eu('staff'))).metadata['table-uuid']).toBe(uuid);
    expect(await fanIn.catalog.tableExists(eu('leaving'))).toBe(false); // this destination drops with the source
    // The default destination keeps what the source dropped.
    await drain();
    expect(await replica.catalog.tableExists({ namespace: ['hr'], name: 'leaving' })).toBe(true);
  });

  it('exposes replication state and what was shipped as Prometheus metrics', async () => {
    const metrics = createMetrics(outbox, ['local']);
    const counted = new Shipper({ ...shipperOptions, onShipped: (r) => metrics.shipped(r), onFailed: (f) => metrics.failed(f) });
    const commit = { requirements: [], updates: [{ action: 'set-properties', updates: { n: '5' } }] };
    expect((await send(proxy.url, 'POST', '/v1/namespaces/shop/tables/orders', commit)).status).toBe(200);
    expect((await send(proxy.url, 'POST', '/v1/namespaces/shop/tables', { name: 'odd2', schema, location: pathToFileURL(join(dir, 'elsewhere', 'odd2')).href })).status).toBe(200);
    const scrape = async () => (await createAdminApp(outbox, { destinations: ['local'], metrics }).request('/metrics')).text();
    const value = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(`${series} `))?.split(' ')[1]);
    let text = await scrape();
    expect(value(text, 'icerelay_replication_events_behind{destination="local",table="shop.orders"}')).toBe(1);
    expect(value(text, 'icerelay_replication_lag_seconds{destination="local",table="shop.orders"}')).toBeGreaterThan(0);
    for (let round = 0; round < 5 && (await counted.syncOnce()) > 0; round++) { /* next round */ }
    text = await scrape();
    expect(value(text, 'icerelay_replication_events_behind{destination="local",table="shop.orders"}')).toBe(0);
    expect(value(text, 'icerelay_replication_lag_seconds{destination="local",table="shop.orders"}')).toBe(0);
    expect(value(text, 'icerelay_replication_commits_shipped_total{destination="local"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'icerelay_replication_lag_histogram_seconds_count{destination="local"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'icerelay_replication_failures_total{destination="local",cause="UnmappedLocationError"}')).toBeGreaterThanOrEqual(1); // retried once more if the rounds outlast the backoff
    expect(value(text, 'icerelay_replication_tables{destination="local",state="completed"}')).toBeGreaterThan(0);
    expect(text).toContain('icerelay_outbox_depth ');
    const status = (await (await createAdminApp(outbox, { destinations: ['local'] }).request('/admin/v1/replication/status?table=shop.orders')).json()) as { tables: { lastReplicated: { metadataLocation: string; snapshotId: string | null } }[] };
    expect(status.tables[0]!.lastReplicated).toEqual({ metadataLocation: await source.catalog.tableMetadataLocation({ namespace: ['shop'], name: 'orders' }), snapshotId: null });
  });

  it('replicates views: create, replace, rename, with the location mapped and the same UUID and versions', async () => {
    expect((await send(proxy.url, 'POST', '/v1/namespaces/shop/views', createViewRequest('recent', ['shop'], 'SELECT id FROM orders'))).status).toBe(200);
    await drain();
    const id = { namespace: ['shop'], name: 'recent' };
    let [s, r] = [await source.catalog.loadView(id), await replica.catalog.loadView(id)];
    expect(r.metadata['view-uuid']).toBe(s.metadata['view-uuid']);
    expect(r.metadata.location).toBe(`${pathToFileURL(join(dir, 'replica')).href}/shop/recent`);
    expect(r.metadataLocation.startsWith(pathToFileURL(join(dir, 'replica')).href)).toBe(true);

    const version = { ...createViewRequest('recent', ['shop'], 'SELECT id FROM orders WHERE id > 1')['view-version'], 'version-id': 2 };
    const replace = { requirements: [{ type: 'assert-view-uuid', uuid: s.metadata['view-uuid'] }], updates: [{ action: 'add-view-version', 'view-version': version }, { action: 'set-current-view-version', 'view-version-id': -1 }] };
    expect((await send(proxy.url, 'POST', '/v1/namespaces/shop/views/recent', replace)).status).toBe(200);
    await drain();
    [s, r] = [await source.catalog.loadView(id), await replica.catalog.loadView(id)];
    expect(r.metadata.versions).toEqual(s.metadata.versions);
    expect(r.metadata['current-version-id']).toBe(s.metadata['current-version-id']);
    const replicaFile = r.metadataLocation;
    await drain(); // nothing due: unchanged
    expect((await replica.catalog.loadView(id)).metadataLocation).toBe(replicaFile);

    expect((await send(proxy.url, 'POST', '/v1/views/rename', { source: id, destination: { namespace: ['shop'], name: 'latest' } })).status).toBe(204);
    await drain();
    expect(await replica.catalog.viewExists(id)).toBe(false);
    expect((await replica.catalog.loadView({ namespace: ['shop'], name: 'latest' })).metadata['view-uuid']).toBe(s.metadata['view-uuid']);
  });

  it('shows which tables this process is shipping right now, and a summary per destination', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered!: () => void;
    const copying = new Promise<void>((r) => (entered = r));
    const held = new Shipper({
      ...shipperOptions,
      sync: { ...shipperOptions.sync, copyFiles: async (items, onProgress) => {
        entered();
        await gate;
        return copyFiles(items, { onProgress });
      } },
    });
    const commit = { requirements: [], updates: [{ action: 'set-properties', updates: { n: '6' } }] };
    expect((await send(proxy.url, 'POST', '/v1/namespaces/shop/tables/orders', commit)).status).toBe(200);
    const round = held.syncOnce();
    await copying;
    const admin = createAdminApp(outbox, { destinations: ['local'], inFlight: () => held.inFlight });
    interface Status { summary: { destination: string; shipping: number; entities: number }[]; tables: { shipping: { startedAtMs: number } | null }[] }
    const during = (await (await admin.request('/admin/v1/replication/status?table=shop.orders')).json()) as Status;
    expect(during.tables[0]!.shipping?.startedAtMs).toBeGreaterThan(0);
    expect((during.tables[0] as unknown as { bytesPending: number | null }).bytesPending).toBeNull(); // not planned into a copy yet
    expect(during.summary).toMatchObject([{ destination: 'local', shipping: 1, entities: 1 }]);
    release();
    await round;
    const after = (await (await admin.request('/admin/v1/replication/status?table=shop.orders')).json()) as Status;
    expect(after.tables[0]!.shipping).toBeNull();
    expect((after.tables[0] as unknown as { bytesPending: number | null }).bytesPending).toBe(0);
  });
});
