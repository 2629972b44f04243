/**
 * A destination's replica served read-only under `/replicas/{destination}`: every read route
 * works (ETag/304, HEAD, snapshots=refs), every write route of the spec answers 403
 * ForbiddenException and changes nothing, `/v1/config` advertises the read routes only, and the
 * replica is a catalog of its own (the source's tables are not in it).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { loadServerConfig, warehouseLocation } from '../../src/config/server-config.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { startProxyServer, type RunningProxy } from '../../src/proxy/proxy-server.ts';
import { buildCatalog, replicaCatalogName, startCatalogServer, type RunningServer } from '../../src/server/builtin-server.ts';
import { buildCatalogRoutes } from '../../src/server/catalog-routes.ts';
import { createLogger } from '../../src/util/logger.ts';
import { createTableRequest, createViewRequest } from '../helpers/iceberg-requests.ts';
import { sendRaw as send } from '../helpers/raw-http.ts';

const logger = createLogger({ level: 'silent' });


let dir: string;
let database: StateDatabase;
let source: RunningServer;
let proxy: RunningProxy;
let replicaUrl: string;
/** Writes into the replica catalog, as the shipper will (the same rows, without the read-only guard). */
let shipperWrite: (method: string, path: string, body?: unknown) => Promise<Response>;
let closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icerelay-replica-'));
  database = await openDatabase({ kind: 'sqlite', path: join(dir, 'state.db') });
  const config = { ...loadServerConfig({ ICERELAY_DATA_DIR: dir }), port: 0 };
  const replicaConfig = { ...config, warehouse: warehouseLocation(join(dir, 'replicas', 'local')) };
  source = await startCatalogServer(config, logger, database);
  const replica = await buildCatalog(replicaConfig, logger, database, { name: replicaCatalogName('local'), readOnly: { reason: 'read-only replica "local"' } });
  const writable = await buildCatalog(replicaConfig, logger, database, { name: replicaCatalogName('local') });
  shipperWrite = async (method, path, body) => writable.app.request(path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  proxy = await startProxyServer({
    host: '127.0.0.1', port: 0, upstreamUrl: source.url, upstreamTimeoutMs: 5000, maxBodyBytes: 1 << 20, outbox: new OutboxStore(database), logger,
    replicas: new Map([['local', replica.app]]),
  });
  replicaUrl = `${proxy.url}/replicas/local`;
  closers = [() => proxy.close(), () => replica.close(), () => writable.close(), () => source.close(), () => database.close()];
  expect((await shipperWrite('POST', '/v1/namespaces', { namespace: ['sales'] })).status).toBe(200);
  expect((await shipperWrite('POST', '/v1/namespaces/sales/tables', createTableRequest('orders'))).status).toBe(200);
  expect((await shipperWrite('POST', '/v1/namespaces/sales/views', createViewRequest('recent', ['sales']))).status).toBe(200);
});

afterAll(async () => {
  for (const close of closers) await close();
  await rm(dir, { recursive: true, force: true });
});

describe('replica endpoint', () => {
  it('advertises only read routes in /v1/config', async () => {
    const config = JSON.parse((await send(replicaUrl, 'GET', '/v1/config')).body) as { endpoints: string[] };
    expect(config.endpoints.length).toBeGreaterThan(5);
    expect(config.endpoints.filter((e) => !/^(GET|HEAD) /.test(e))).toEqual(['POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics']);
  });

  it('serves reads: lists, loads with ETag and 304, HEAD, snapshots=refs, views', async () => {
    expect(JSON.parse((await send(replicaUrl, 'GET', '/v1/namespaces')).body).namespaces).toEqual([['sales']]);
    const loaded = await send(replicaUrl, 'GET', '/v1/namespaces/sales/tables/orders');
    expect(loaded.status).toBe(200);
    expect(JSON.parse(loaded.body)['metadata-location']).toContain('/replicas/local/');
    const etag = String(loaded.headers.etag);
    expect((await send(replicaUrl, 'GET', '/v1/namespaces/sales/tables/orders', undefined, { 'if-none-match': etag })).status).toBe(304);
    expect((await send(replicaUrl, 'HEAD', '/v1/namespaces/sales/tables/orders')).status).toBe(204);
    expect((await send(replicaUrl, 'GET', '/v1/namespaces/sales/tables/orders?snapshots=refs')).status).toBe(200);
    expect(JSON.parse((await send(replicaUrl, 'GET', '/v1/namespaces/sales/views')).body).identifiers).toEqual([{ namespace: ['sales'], name: 'recent' }]);
    expect((await send(replicaUrl, 'GET', '/v1/namespaces/sales/views/recent')).status).toBe(200);
  });

  it('answers every write route of the spec with 403 ForbiddenException and changes nothing', async () => {
    const before = (await send(replicaUrl, 'GET', '/v1/namespaces/sales/tables/orders')).body;
    const writes = buildCatalogRoutes({ catalog: {} as never, maxBodyBytes: 0, tableConfig: () => ({}) }).filter((r) => r.mutating);
    expect(writes.length).toBeGreaterThan(12);
    const bodies: Record<string, unknown> = {
      'POST /v1/{prefix}/namespaces': { namespace: ['new'] },
      'POST /v1/{prefix}/namespaces/{namespace}/tables': createTableRequest('other'),
      'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}': { requirements: [], updates: [{ action: 'set-properties', updates: { a: 'b' } }] },
      'POST /v1/{prefix}/tables/rename': { source: { namespace: ['sales'], name: 'orders' }, destination: { namespace: ['sales'], name: 'renamed' } },
    };
    for (const route of writes) {
      const path = route.path.replace('/{prefix}', '').replace('{namespace}', 'sales').replace('{table}', 'orders').replace('{view}', 'recent');
      const answer = await send(replicaUrl, route.method, path, route.method === 'DELETE' ? undefined : bodies[`${route.method} ${route.path}`] ?? {}, { 'idempotency-key': `k-${route.path}` });
      expect([`${route.method} ${route.path}`, answer.status, JSON.parse(answer.body).error.type]).toEqual([`${route.method} ${route.path}`, 403, 'ForbiddenException']);
      expect(JSON.parse(answer.body).error.message).toContain('read-only replica');
    }
    expect((await send(replicaUrl, 'GET', '/v1/namespaces/sales/tables/orders')).body).toBe(before);
    expect(JSON.parse((await send(replicaUrl, 'GET', '/v1/namespaces')).body).namespaces).toEqual([['sales']]);
  });

  it('is a catalog of its own: the source does not see it, and it does not see the source', async () => {
    expect((await send(proxy.url, 'POST', '/v1/namespaces', { namespace: ['only_source'] })).status).toBe(200);
    expect(JSON.parse((await send(proxy.url, 'GET', '/v1/namespaces')).body).namespaces).toEqual([['only_source']]);
    expect(JSON.parse((await send(replicaUrl, 'GET', '/v1/namespaces')).body).namespaces).toEqual([['sales']]);
  });

  it('answers 404 for a replica that does not exist', async () => {
    const answer = await send(proxy.url, 'GET', '/replicas/elsewhere/v1/config');
    expect([answer.status, JSON.parse(answer.body).error.type]).toEqual([404, 'NoSuchCatalogException']);
    expect(JSON.parse(answer.body).error.message).toContain("replicas: local");
  });
});
