/**
 * An upstream whose `/v1/config` announces a catalog prefix — with a `/` in it (Polaris style)
 * or a URL-encoded ARN (S3 Tables style): mutations under the prefix are recorded, unknown
 * outcomes settle by reading under the same prefix, and a restarted proxy that has not seen the
 * config yet still recognizes and settles them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { loadServerConfig } from '../../src/config/server-config.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { splitRoute } from '../../src/proxy/mutation-routes.ts';
import { startProxyServer, type RunningProxy } from '../../src/proxy/proxy-server.ts';
import { startCatalogServer, type RunningServer } from '../../src/server/builtin-server.ts';
import { createLogger } from '../../src/util/logger.ts';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.ts';
import { startPrefixServer, type PrefixServer } from '../helpers/prefix-server.ts';
import { sendRaw as send } from '../helpers/raw-http.ts';

const logger = createLogger({ level: 'silent' });
const schema = { type: 'struct', fields: [{ id: 1, name: 'id', type: 'long', required: false }] };


describe('splitRoute', () => {
  it('prefers announced prefixes, then none, then where a mutation route starts', () => {
    expect(splitRoute('POST', '/v1/catalogs/main/namespaces/a/tables/t', ['catalogs/main'])).toEqual({ prefix: 'catalogs/main', segments: ['namespaces', 'a', 'tables', 't'] });
    expect(splitRoute('POST', '/v1/namespaces/a/tables/t', ['catalogs/main'])).toEqual({ prefix: '', segments: ['namespaces', 'a', 'tables', 't'] });
    expect(splitRoute('POST', '/v1/catalogs/main/namespaces/a/tables/t', [])).toEqual({ prefix: 'catalogs/main', segments: ['namespaces', 'a', 'tables', 't'] });
    expect(splitRoute('POST', '/v1/arn%3Aaws%3As3tables%3Aus-east-1%3A1%3Abucket%2Fb/transactions/commit', [])).toEqual({ prefix: 'arn%3Aaws%3As3tables%3Aus-east-1%3A1%3Abucket%2Fb', segments: ['transactions', 'commit'] });
    // A table named like a route word is still the table.
    expect(splitRoute('POST', '/v1/namespaces/a/tables/namespaces', [])).toEqual({ prefix: '', segments: ['namespaces', 'a', 'tables', 'namespaces'] });
    expect(splitRoute('GET', '/v2/namespaces', [])).toBeUndefined();
  });
});

for (const prefix of ['catalogs/main', 'arn%3Aaws%3As3tables%3Aus-east-1%3A123456789012%3Abucket%2Fmy-bucket']) {
  describe(`an upstream with prefix ${prefix}`, () => {
    let dir: string;
    let database: StateDatabase;
    let outbox: OutboxStore;
    let catalog: RunningServer;
    let prefixed: PrefixServer;
    let faults: FaultServer;
    let proxy: RunningProxy;
    const base = `/v1/${prefix}`;
    const eventsOf = (name: string) => outbox.listEvents({ entity: { namespace: ['p'], name }, limit: 100 });
    const newProxy = () => startProxyServer({ host: '127.0.0.1', port: 0, upstreamUrl: faults.url, upstreamTimeoutMs: 2000, maxBodyBytes: 1 << 20, outbox, logger });

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'icerelay-prefix-'));
      database = await openDatabase({ kind: 'sqlite', path: join(dir, 'state.db') });
      outbox = new OutboxStore(database);
      catalog = await startCatalogServer({ ...loadServerConfig({ ICERELAY_DATA_DIR: dir }), port: 0 }, logger, database);
      prefixed = await startPrefixServer(catalog.url, prefix);
      faults = await startFaultServer(prefixed.url);
      proxy = await newProxy();
    });

    afterAll(async () => {
      await proxy.close();
      await faults.close();
      await prefixed.close();
      await catalog.close();
      await database.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('records every mutation under the prefix and settles a lost answer by reading under it', async () => {
      const config = JSON.parse((await send(proxy.url, 'GET', '/v1/config')).body) as { overrides: Record<string, string> };
      expect(config.overrides.prefix).toBe(prefix);
      expect((await send(proxy.url, 'POST', `${base}/namespaces`, { namespace: ['p'] })).status).toBe(200);
      expect((await send(proxy.url, 'POST', `${base}/namespaces/p/tables`, { name: 't', schema })).status).toBe(200);
      const commit = { requirements: [], updates: [{ action: 'set-properties', updates: { a: '1' } }] };
      expect((await send(proxy.url, 'POST', `${base}/namespaces/p/tables/t`, commit)).status).toBe(200);
      faults.setFault((method, path) => (method === 'POST' && path.endsWith('/tables/t') ? 'apply-then-drop' : 'pass'));
      const lost = await send(proxy.url, 'POST', `${base}/namespaces/p/tables/t`, { requirements: [], updates: [{ action: 'set-properties', updates: { a: '2' } }] });
      faults.setFault(() => 'pass');
      expect(lost.status).toBe(500);
      for (let i = 0; i < 50 && (await eventsOf('t')).at(-1)!.status !== 'committed'; i++) await new Promise((r) => setTimeout(r, 50));
      const loaded = JSON.parse((await send(prefixed.url, 'GET', `${base}/namespaces/p/tables/t`)).body) as { 'metadata-location': string };
      const events = await eventsOf('t');
      expect(events.map((e) => e.status)).toEqual(['committed', 'committed', 'committed']);
      expect(events.at(-1)!.metadataLocation).toBe(loaded['metadata-location']);
    });

    it('a restarted proxy that has not seen /v1/config records and settles prefixed mutations', async () => {
      const fresh = await newProxy();
      try {
        expect((await send(fresh.url, 'POST', `${base}/namespaces/p/tables`, { name: 'after_restart', schema })).status).toBe(200);
        expect((await eventsOf('after_restart')).map((e) => e.status)).toEqual(['committed']);
        // What a crash between intent and outcome leaves, once applied upstream and once not.
        const path = `${base}/namespaces/p/tables/after_restart`;
        const applied = { requirements: [], updates: [{ action: 'set-properties', updates: { landed: 'yes' } }] };
        const first = await outbox.recordIntent({ kind: 'commit-table', entities: [{ namespace: ['p'], name: 'after_restart' }], request: { method: 'POST', path, body: JSON.stringify(applied) } });
        expect((await send(prefixed.url, 'POST', path, applied)).status).toBe(200);
        const notApplied = { requirements: [], updates: [{ action: 'set-properties', updates: { landed: 'never' } }] };
        const second = await outbox.recordIntent({ kind: 'commit-table', entities: [{ namespace: ['p'], name: 'after_restart' }], request: { method: 'POST', path, body: JSON.stringify(notApplied) } });
        expect(await fresh.settleUnsettled()).toEqual({ settled: 2, open: 0 });
        expect((await outbox.entry(first))?.status).toBe('committed');
        expect((await outbox.entry(second))?.status).toBe('rejected');
      } finally {
        await fresh.close();
      }
    });
  });
}

describe('an upstream whose namespace separator is %2E', () => {
  let dir: string;
  let database: StateDatabase;
  let outbox: OutboxStore;
  let catalog: RunningServer;
  let prefixed: PrefixServer;
  let faults: FaultServer;
  const base = '/v1/catalogs/main';
  const newProxy = () => startProxyServer({ host: '127.0.0.1', port: 0, upstreamUrl: faults.url, upstreamTimeoutMs: 2000, maxBodyBytes: 1 << 20, outbox, logger });
  const eventsOf = (name: string) => outbox.listEvents({ entity: { namespace: ['p', 'q'], name }, limit: 100 });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'icerelay-separator-'));
    database = await openDatabase({ kind: 'sqlite', path: join(dir, 'state.db') });
    outbox = new OutboxStore(database);
    catalog = await startCatalogServer({ ...loadServerConfig({ ICERELAY_DATA_DIR: dir }), port: 0 }, logger, database);
    prefixed = await startPrefixServer(catalog.url, 'catalogs/main', '%2E');
    faults = await startFaultServer(prefixed.url);
  });

  afterAll(async () => {
    await faults.close();
    await prefixed.close();
    await catalog.close();
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('settles lost answers by reading multi-level namespaces with that separator, also right after a restart', async () => {
    const proxy = await newProxy();
    try {
      expect(JSON.parse((await send(proxy.url, 'GET', '/v1/config')).body).overrides['namespace-separator']).toBe('%2E');
      for (const namespace of [['p'], ['p', 'q']]) expect((await send(proxy.url, 'POST', `${base}/namespaces`, { namespace })).status).toBe(200);
      expect((await send(proxy.url, 'POST', `${base}/namespaces/p%2Eq/tables`, { name: 't', schema })).status).toBe(200);
      faults.setFault((method, path) => (method === 'POST' && path.endsWith('/tables/t') ? 'apply-then-drop' : 'pass'));
      const lost = await send(proxy.url, 'POST', `${base}/namespaces/p%2Eq/tables/t`, { requirements: [], updates: [{ action: 'set-properties', updates: { a: '1' } }] });
      faults.setFault(() => 'pass');
      expect(lost.status).toBe(500);
      for (let i = 0; i < 50 && (await eventsOf('t')).at(-1)!.status !== 'committed'; i++) await new Promise((r) => setTimeout(r, 50));
      expect((await eventsOf('t')).map((e) => e.status)).toEqual(['committed', 'committed']);
    } finally {
      await proxy.close();
    }
    // A crash left an applied intent; the next start has seen no /v1/config yet.
    const path = `${base}/namespaces/p%2Eq/tables/t`;
    const applied = { requirements: [], updates: [{ action: 'set-properties', updates: { a: '2' } }] };
    const id = await outbox.recordIntent({ kind: 'commit-table', entities: [{ namespace: ['p', 'q'], name: 't' }], request: { method: 'POST', path, body: JSON.stringify(applied) } });
    expect((await send(prefixed.url, 'POST', path, applied)).status).toBe(200);
    const restarted = await newProxy();
    try {
      expect(await restarted.settleUnsettled()).toEqual({ settled: 1, open: 0 });
      expect((await outbox.entry(id))?.status).toBe('committed');
    } finally {
      await restarted.close();
    }
  });
});
