/**
 * /healthz and /readyz on a real admin app, with the real checks: an UpstreamClient asking a
 * real catalog (or a closed port, or a server that never answers), and a real SQLite state
 * database (open, then closed).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { loadServerConfig } from '../../src/config/server-config.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { UpstreamClient } from '../../src/proxy/upstream-client.ts';
import { createAdminApp } from '../../src/server/admin-routes.ts';
import { startCatalogServer, type RunningServer } from '../../src/server/builtin-server.ts';
import { databaseCheck, registerHealthRoutes, upstreamConfigCheck } from '../../src/server/health.ts';
import { createLogger } from '../../src/util/logger.ts';
import { freePort } from '../helpers/free-port.ts';

let dir: string;
let database: StateDatabase;
let catalog: RunningServer;
const closers: Array<() => unknown> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icerelay-health-'));
  database = await openDatabase({ kind: 'sqlite', path: join(dir, 'state.db') });
  catalog = await startCatalogServer({ ...loadServerConfig({ ICERELAY_DATA_DIR: dir }), port: 0 }, createLogger({ level: 'silent' }), database);
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await catalog.close();
  await database.close();
  await rm(dir, { recursive: true, force: true });
});

function client(url: string): UpstreamClient {
  const upstream = new UpstreamClient({ url, timeoutMs: 10_000, maxSockets: 2 });
  closers.push(() => upstream.close());
  return upstream;
}

async function get(app: Hono, path: string): Promise<{ status: number; body: { status: string; checks?: Record<string, { status: string; error?: string }> } }> {
  const response = await app.request(path);
  return { status: response.status, body: await response.json() as never };
}

describe('health routes', () => {
  it('answers 200 to both while the upstream and the database answer', async () => {
    const app = createAdminApp(new OutboxStore(database), {
      health: { checkUpstream: upstreamConfigCheck(client(catalog.url)), checkDatabase: databaseCheck(database.db) },
    });
    expect(await get(app, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await get(app, '/readyz')).toEqual({ status: 200, body: { status: 'ok', checks: { upstream: { status: 'ok' }, database: { status: 'ok' } } } });
  });

  it('is not ready, naming the upstream and why, when nothing listens at its port; still alive', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const app = new Hono();
    registerHealthRoutes(app, { checkUpstream: upstreamConfigCheck(client(closed)), checkDatabase: databaseCheck(database.db) });
    const ready = await get(app, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('unavailable');
    expect(ready.body.checks!.database).toEqual({ status: 'ok' });
    expect(ready.body.checks!.upstream!.status).toBe('failed');
    expect(ready.body.checks!.upstream!.error).toContain(`${closed} is unreachable: ECONNREFUSED`);
    expect((await get(app, '/healthz')).status).toBe(200);
  });

  it('is not ready when the upstream does not answer within the timeout', async () => {
    // Takes requests and never answers them.
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => {
      silent.closeAllConnections();
      silent.close(() => resolve());
    }));
    const app = new Hono();
    registerHealthRoutes(app, {
      checkUpstream: upstreamConfigCheck(client(`http://127.0.0.1:${(silent.address() as { port: number }).port}`)),
      checkDatabase: databaseCheck(database.db),
    }, 300);
    const started = Date.now();
    const ready = await get(app, '/readyz');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(ready.status).toBe(503);
    expect(ready.body.checks!.upstream).toEqual({ status: 'failed', error: 'no answer within 300 ms' });
  });

  it('is not ready, naming the database, when the state database cannot be queried', async () => {
    const other = await openDatabase({ kind: 'sqlite', path: join(dir, 'closed.db') });
    await other.close();
    const app = new Hono();
    registerHealthRoutes(app, { checkUpstream: upstreamConfigCheck(client(catalog.url)), checkDatabase: databaseCheck(other.db) });
    const ready = await get(app, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks!.upstream).toEqual({ status: 'ok' });
    expect(ready.body.checks!.database!.status).toBe('failed');
    expect(ready.body.checks!.database!.error).toMatch(/\S/);
  });

  it('is not served without checks (the admin app of a process that has none)', async () => {
    const app = createAdminApp(new OutboxStore(database));
    expect((await app.request('/readyz')).status).toBe(404);
  });
});
