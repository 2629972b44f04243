/**
 * The proxy between clients and a real upstream (the built-in catalog on a port), with the real
 * outbox (SQLite): transparency of reads, one outbox event per commit, and unknown outcomes —
 * injected by a real misbehaving HTTP hop — settled by reading the upstream.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { loadServerConfig } from '../../src/config/server-config.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { startProxyServer, type RunningProxy } from '../../src/proxy/proxy-server.ts';
import { startCatalogServer, type RunningServer } from '../../src/server/builtin-server.ts';
import { createLogger } from '../../src/util/logger.ts';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.ts';
import { sendRaw as send } from '../helpers/raw-http.ts';

const logger = createLogger({ level: 'silent' });
const schema = { type: 'struct', fields: [{ id: 1, name: 'id', type: 'long', required: false }] };


let dir: string;
let database: StateDatabase;
let outbox: OutboxStore;
let upstream: RunningServer;
let faults: FaultServer;
let proxy: RunningProxy;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icerelay-proxy-'));
  database = await openDatabase({ kind: 'sqlite', path: join(dir, 'state.db') });
  outbox = new OutboxStore(database);
  upstream = await startCatalogServer({ ...loadServerConfig({ ICERELAY_DATA_DIR: dir }), port: 0 }, logger, database);
  faults = await startFaultServer(upstream.url);
  proxy = await startProxyServer({
    host: '127.0.0.1', port: 0, upstreamUrl: faults.url, upstreamTimeoutMs: 2000, maxBodyBytes: 1024 * 1024, outbox, logger,
  });
  await send(proxy.url, 'GET', '/v1/config'); // as clients do first
});

afterAll(async () => {
  await proxy.close();
  await faults.close();
  await upstream.close();
  await database.close();
  await rm(dir, { recursive: true, force: true });
});

async function eventsOf(namespace: string[], name: string) {
  return outbox.listEvents({ entity: { namespace, name }, limit: 1000 });
}

/** Writes raw bytes on a fresh connection and returns everything the server sends until it closes. */
function rawExchange(base: string, bytes: Buffer): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

describe('forwarding', () => {
  it('answers requests that are not valid HTTP with an Iceberg error body (none for HEAD)', async () => {
    const invalidByte = await rawExchange(proxy.url, Buffer.from('GET /v1/namespaces/\xe9 HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'));
    expect(invalidByte).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(JSON.parse(invalidByte.slice(invalidByte.indexOf('\r\n\r\n') + 4)).error.type).toBe('BadRequestException');
    const head = await rawExchange(proxy.url, Buffer.from('HEAD /v1/namespaces/\xe9 HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'));
    expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[^]*\r\n\r\n$/);
    // A backslash passes HTTP parsing; the upstream refuses it, and its Iceberg error comes through.
    const backslash = await send(proxy.url, 'GET', '/v1/namespaces/a\\b');
    expect([backslash.status, JSON.parse(backslash.body).error.type]).toEqual([400, 'BadRequestException']);
  });

  it('answers reads exactly as the upstream does, odd encodings included', async () => {
    await send(proxy.url, 'POST', '/v1/namespaces', { namespace: ['odd space', 'ünï'] });
    await send(proxy.url, 'POST', '/v1/namespaces/odd+space%1F%C3%BCn%C3%AF/tables', { name: 'a b', schema });
    const targets = [
      '/v1/namespaces/odd+space%1F%C3%BCn%C3%AF/tables/a+b',
      '/v1/namespaces/odd%20space%1F%C3%BCn%C3%AF/tables/a%20b?snapshots=refs',
      '/v1/namespaces?parent=odd%20space&pageToken=',
      '/v1/namespaces/odd+space%1F%C3%BCn%C3%AF/tables?pageToken=&pageSize=1',
      '/v1/namespaces/missing/tables/nope',
      '/v1/namespaces/x/tables/%2E%2E',
    ];
    for (const target of targets) {
      const direct = await send(upstream.url, 'GET', target);
      const proxied = await send(proxy.url, 'GET', target);
      expect([proxied.status, proxied.body, proxied.headers.etag]).toEqual([direct.status, direct.body, direct.headers.etag]);
    }
    const head = await send(proxy.url, 'HEAD', '/v1/namespaces/odd+space%1F%C3%BCn%C3%AF/tables/a+b');
    expect([head.status, head.body]).toEqual([204, '']);
  });

  it('passes 304 through for a matching If-None-Match', async () => {
    const target = '/v1/namespaces/odd+space%1F%C3%BCn%C3%AF/tables/a+b';
    const etag = (await send(proxy.url, 'GET', target)).headers.etag as string;
    const cached = await send(proxy.url, 'GET', target, undefined, { 'if-none-match': etag });
    expect([cached.status, cached.body, cached.headers.etag]).toEqual([304, '', etag]);
  });

  it('passes a /v1/config without callback URLs through unchanged', async () => {
    const direct = JSON.parse((await send(upstream.url, 'GET', '/v1/config')).body) as Record<string, unknown>;
    const proxied = JSON.parse((await send(proxy.url, 'GET', '/v1/config')).body) as Record<string, unknown>;
    expect(proxied).toEqual(direct);
  });

  it('refuses bodies over the limit with 413', async () => {
    const answer = await send(proxy.url, 'POST', '/v1/namespaces', { namespace: ['big'], properties: { k: 'x'.repeat(2 * 1024 * 1024) } });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.type).toBe('RequestEntityTooLargeException');
  });
});

describe('commit interception', () => {
  it('records one committed event per commit, in order, and none that counts for a 409', async () => {
    await send(proxy.url, 'POST', '/v1/namespaces', { namespace: ['w'] });
    const created = JSON.parse((await send(proxy.url, 'POST', '/v1/namespaces/w/tables', { name: 't', schema })).body);
    const uuid = created.metadata['table-uuid'] as string;
    const locations: string[] = [created['metadata-location']];
    for (let i = 0; i < 5; i++) {
      const answer = await send(proxy.url, 'POST', '/v1/namespaces/w/tables/t', {
        requirements: [{ type: 'assert-table-uuid', uuid }], updates: [{ action: 'set-properties', updates: { i: String(i) } }],
      });
      locations.push(JSON.parse(answer.body)['metadata-location']);
    }
    const conflict = await send(proxy.url, 'POST', '/v1/namespaces/w/tables/t', {
      requirements: [{ type: 'assert-table-uuid', uuid: '00000000-0000-0000-0000-000000000000' }], updates: [],
    });
    expect(conflict.status).toBe(409);
    const events = await eventsOf(['w'], 't');
    const committed = events.filter((e) => e.status === 'committed');
    expect(committed.map((e) => e.metadataLocation)).toEqual(locations);
    expect(committed.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events.at(-1)?.status).toBe('rejected');
  });

  it('keeps 63-bit snapshot ids of a commit exactly', async () => {
    await send(proxy.url, 'POST', '/v1/namespaces/w/tables', { name: 'snap', schema });
    const id = '9223372036854775807';
    const body = `{"requirements":[],"updates":[{"action":"add-snapshot","snapshot":{"snapshot-id":${id},"sequence-number":1,"timestamp-ms":1,"manifest-list":"file:///nowhere.avro","summary":{"operation":"append"}}},{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":${id}}]}`;
    expect((await send(proxy.url, 'POST', '/v1/namespaces/w/tables/snap', body)).status).toBe(200);
    const last = (await eventsOf(['w'], 'snap')).at(-1)!;
    expect([last.status, last.addedSnapshotIds]).toEqual(['committed', [id]]);
  });
});

describe('unknown outcomes', () => {
  const commit = (table: string, key: string) => ({ requirements: [], updates: [{ action: 'set-properties', updates: { [key]: 'yes' } }] });

  async function settledStatus(namespace: string[], name: string): Promise<string> {
    for (let i = 0; i < 50; i++) {
      const last = (await eventsOf(namespace, name)).at(-1)!;
      if (last.status === 'committed' || last.status === 'rejected') return last.status;
      await new Promise((r) => setTimeout(r, 50));
    }
    return (await eventsOf(namespace, name)).at(-1)!.status;
  }

  it('settles a commit whose answer was lost as committed', async () => {
    await send(proxy.url, 'POST', '/v1/namespaces/w/tables', { name: 'lost', schema });
    faults.setFault((method, path) => (method === 'POST' && path.endsWith('/tables/lost') ? 'apply-then-drop' : 'pass'));
    const answer = await send(proxy.url, 'POST', '/v1/namespaces/w/tables/lost', commit('lost', 'applied'));
    faults.setFault(() => 'pass');
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body).error.type).toBe('CommitStateUnknownException');
    expect(await settledStatus(['w'], 'lost')).toBe('committed');
  });

  it('settles a commit that never reached the upstream as rejected', async () => {
    await send(proxy.url, 'POST', '/v1/namespaces/w/tables', { name: 'never', schema });
    faults.setFault((method, path) => (method === 'POST' && path.endsWith('/tables/never') ? 'drop-before-forward' : 'pass'));
    const answer = await send(proxy.url, 'POST', '/v1/namespaces/w/tables/never', commit('never', 'applied'));
    faults.setFault(() => 'pass');
    expect(answer.status).toBe(500);
    expect(await settledStatus(['w'], 'never')).toBe('rejected');
  });

  it('passes an upstream 502 through and settles it from the upstream state', async () => {
    await send(proxy.url, 'POST', '/v1/namespaces/w/tables', { name: 'gateway', schema });
    faults.setFault((method, path) => (method === 'POST' && path.endsWith('/tables/gateway') ? 'answer-502' : 'pass'));
    const answer = await send(proxy.url, 'POST', '/v1/namespaces/w/tables/gateway', commit('gateway', 'applied'));
    faults.setFault(() => 'pass');
    expect(answer.status).toBe(502);
    expect(await settledStatus(['w'], 'gateway')).toBe('rejected');
  });

  it('settles an unanswered commit whose body is not JSON as rejected: no catalog could apply it', async () => {
    await send(proxy.url, 'POST', '/v1/namespaces/w/tables', { name: 'garbled', schema });
    faults.setFault((method, path) => (method === 'POST' && path.endsWith('/tables/garbled') ? 'answer-502' : 'pass'));
    const answer = await send(proxy.url, 'POST', '/v1/namespaces/w/tables/garbled', '{"requirements": [');
    faults.setFault(() => 'pass');
    expect(answer.status).toBe(502);
    expect(await settledStatus(['w'], 'garbled')).toBe('rejected');
  });

  it('answers 503 to reads and the unknown-state 500 to commits when the upstream is unreachable', async () => {
    const down = await startProxyServer({
      host: '127.0.0.1', port: 0, upstreamUrl: 'http://127.0.0.1:9', upstreamTimeoutMs: 1000, maxBodyBytes: 1024, outbox, logger,
    });
    try {
      expect((await send(down.url, 'GET', '/v1/namespaces')).status).toBe(503);
      const answer = await send(down.url, 'POST', '/v1/namespaces/w/tables/t', commit('t', 'x'));
      expect([answer.status, JSON.parse(answer.body).error.type]).toEqual([500, 'CommitStateUnknownException']);
    } finally {
      await down.close();
    }
  });
});

describe('Idempotency-Key retries', () => {
  const commit = (value: string) => ({ requirements: [], updates: [{ action: 'set-properties', updates: { retried: value } }] });

  it('records a replayed retry as the one mutation it is', async () => {
    await send(proxy.url, 'POST', '/v1/namespaces/w/tables', { name: 'idem', schema });
    const key = { 'idempotency-key': '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' };
    const first = await send(proxy.url, 'POST', '/v1/namespaces/w/tables/idem', commit('a'), key);
    const retry = await send(proxy.url, 'POST', '/v1/namespaces/w/tables/idem', commit('a'), key);
    expect([first.status, retry.status, retry.body]).toEqual([200, 200, first.body]);
    const events = await eventsOf(['w'], 'idem');
    expect(events.map((e) => [e.kind, e.status])).toEqual([['create-table', 'committed'], ['commit-table', 'committed']]);
  });

  it('settles a lost answer through the client’s retry, still one event', async () => {
    await send(proxy.url, 'POST', '/v1/namespaces/w/tables', { name: 'idem_lost', schema });
    const key = { 'idempotency-key': '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c' };
    faults.setFault((method, path) => (method === 'POST' && path.endsWith('/tables/idem_lost') ? 'apply-then-drop' : 'pass'));
    const lost = await send(proxy.url, 'POST', '/v1/namespaces/w/tables/idem_lost', commit('b'), key);
    faults.setFault(() => 'pass');
    expect(lost.status).toBe(500);
    const retry = await send(proxy.url, 'POST', '/v1/namespaces/w/tables/idem_lost', commit('b'), key);
    expect(retry.status).toBe(200);
    const events = await eventsOf(['w'], 'idem_lost');
    expect(events.map((e) => e.status)).toEqual(['committed', 'committed']);
    expect(events.at(-1)!.metadataLocation).toBe(JSON.parse(retry.body)['metadata-location']);
  });

  it('does not merge a different request that reuses a key', async () => {
    const key = { 'idempotency-key': '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d' };
    await send(proxy.url, 'POST', '/v1/namespaces/w/tables', { name: 'idem_other', schema }, key);
    await send(proxy.url, 'POST', '/v1/namespaces/w/tables', { name: 'idem_other2', schema }, key);
    expect((await eventsOf(['w'], 'idem_other')).length + (await eventsOf(['w'], 'idem_other2')).length).toBe(2);
  });
});

describe('restart settlement', () => {
  it('settles intents a crash left open by reading the upstream', async () => {
    await send(proxy.url, 'POST', '/v1/namespaces/w/tables', { name: 'crash', schema });
    const applied = { requirements: [], updates: [{ action: 'set-properties', updates: { landed: 'yes' } }] };
    const notApplied = { requirements: [], updates: [{ action: 'set-properties', updates: { landed: 'never' } }] };
    // What a crash between intent and outcome leaves: intents in the outbox, one of them applied upstream.
    const path = '/v1/namespaces/w/tables/crash';
    const first = await outbox.recordIntent({ kind: 'commit-table', entities: [{ namespace: ['w'], name: 'crash' }], request: { method: 'POST', path, body: JSON.stringify(applied) } });
    expect((await send(upstream.url, 'POST', path, applied)).status).toBe(200);
    const second = await outbox.recordIntent({ kind: 'commit-table', entities: [{ namespace: ['w'], name: 'crash' }], request: { method: 'POST', path, body: JSON.stringify(notApplied) } });
    await proxy.settleUnsettled();
    expect((await outbox.entry(first))?.status).toBe('committed');
    expect((await outbox.entry(second))?.status).toBe('rejected');
  });
});
