/**
 * An upstream that compresses its answers when the client accepts it (Jetty, CDNs): the proxy
 * still rewrites `/v1/config`, records metadata locations and settles lost answers, and passes
 * compressed bodies it does not change through as they came.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { loadServerConfig } from '../../src/config/server-config.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { decodableAcceptEncoding, decodeBody } from '../../src/proxy/content-encoding.ts';
import { startProxyServer, type RunningProxy } from '../../src/proxy/proxy-server.ts';
import { startCatalogServer, type RunningServer } from '../../src/server/builtin-server.ts';
import { createLogger } from '../../src/util/logger.ts';
import { startFaultServer, type FaultServer } from '../helpers/fault-server.ts';
import { sendRaw as send, type RawAnswer as Answer } from '../helpers/raw-http.ts';

const logger = createLogger({ level: 'silent' });
const schema = { type: 'struct', fields: [{ id: 1, name: 'id', type: 'long', required: false }] };
const GZIP = { 'accept-encoding': 'gzip, deflate, zstd' };


/** Forwards to the catalog, gzips answers for clients that accept gzip, and names itself in /v1/config. */
async function startGzipHop(upstreamUrl: string): Promise<{ url: string; seenAcceptEncodings: string[]; close(): Promise<void> }> {
  const upstream = new URL(upstreamUrl);
  const seenAcceptEncodings: string[] = [];
  let url = '';
  const server = http.createServer((req, res) => {
    seenAcceptEncodings.push(String(req.headers['accept-encoding'] ?? ''));
    const forward = http.request({ hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.url === '/v1/config') {
          const config = JSON.parse(body.toString('utf8')) as { overrides?: Record<string, string> };
          config.overrides = { ...config.overrides, uri: url };
          body = Buffer.from(JSON.stringify(config));
        }
        const headers = { ...answer.headers };
        delete headers['content-length'];
        if (/gzip/.test(String(req.headers['accept-encoding'])) && body.length > 0) {
          body = gzipSync(body);
          headers['content-encoding'] = 'gzip';
        }
        res.writeHead(answer.statusCode ?? 502, { ...headers, 'content-length': body.length }).end(body);
      });
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url, seenAcceptEncodings, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

describe('content codings', () => {
  it('undoes gzip, deflate (wrapped or raw), br and stacked codings; refuses unknown or broken ones', () => {
    const json = Buffer.from('{"a":1}');
    expect(decodeBody(gzipSync(json), { 'content-encoding': 'gzip' })).toEqual(json);
    expect(decodeBody(deflateRawSync(json), { 'content-encoding': 'deflate' })).toEqual(json);
    expect(decodeBody(brotliCompressSync(gzipSync(json)), { 'content-encoding': 'gzip, br' })).toEqual(json);
    expect(decodeBody(json, {})).toEqual(json);
    expect(decodeBody(json, { 'content-encoding': 'zstd' })).toBeUndefined();
    expect(decodeBody(json, { 'content-encoding': 'gzip' })).toBeUndefined();
  });

  it('asks only for codings it can undo', () => {
    expect(decodableAcceptEncoding({ 'accept-encoding': 'gzip;q=1.0, zstd, br', x: 'y' })).toEqual({ 'accept-encoding': 'gzip;q=1.0, br', x: 'y' });
    expect(decodableAcceptEncoding({ 'accept-encoding': 'zstd' })).toEqual({});
  });
});

describe('a compressing upstream', () => {
  let dir: string;
  let database: StateDatabase;
  let outbox: OutboxStore;
  let catalog: RunningServer;
  let hop: Awaited<ReturnType<typeof startGzipHop>>;
  let faults: FaultServer;
  let proxy: RunningProxy;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'icerelay-gzip-'));
    database = await openDatabase({ kind: 'sqlite', path: join(dir, 'state.db') });
    outbox = new OutboxStore(database);
    catalog = await startCatalogServer({ ...loadServerConfig({ ICERELAY_DATA_DIR: dir }), port: 0 }, logger, database);
    hop = await startGzipHop(catalog.url);
    faults = await startFaultServer(hop.url);
    proxy = await startProxyServer({ host: '127.0.0.1', port: 0, upstreamUrl: faults.url, upstreamTimeoutMs: 2000, maxBodyBytes: 1 << 20, outbox, logger });
  });

  afterAll(async () => {
    await proxy.close();
    await faults.close();
    await hop.close();
    await catalog.close();
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('rewrites a gzip-compressed /v1/config and sends it compressed again', async () => {
    const answer = await send(proxy.url, 'GET', '/v1/config', undefined, GZIP);
    expect(answer.headers['content-encoding']).toBe('gzip');
    expect((JSON.parse(gunzipSync(answer.bytes).toString('utf8')) as { overrides: { uri: string } }).overrides.uri).toBe(proxy.url);
    expect(hop.seenAcceptEncodings.at(-1)).toBe('gzip, deflate');
  });

  it('records the metadata location of compressed commit answers and passes load results through compressed', async () => {
    await send(proxy.url, 'POST', '/v1/namespaces', { namespace: ['gz'] }, GZIP);
    const created = await send(proxy.url, 'POST', '/v1/namespaces/gz/tables', { name: 't', schema }, GZIP);
    const commit = await send(proxy.url, 'POST', '/v1/namespaces/gz/tables/t', { requirements: [], updates: [{ action: 'set-properties', updates: { a: '1' } }] }, GZIP);
    expect([created.status, commit.status, commit.headers['content-encoding']]).toEqual([200, 200, 'gzip']);
    const location = (answer: Answer) => (JSON.parse(gunzipSync(answer.bytes).toString('utf8')) as { 'metadata-location': string })['metadata-location'];
    const events = await outbox.listEvents({ entity: { namespace: ['gz'], name: 't' }, limit: 10 });
    expect(events.map((e) => e.metadataLocation)).toEqual([location(created), location(commit)]);
    const loaded = await send(proxy.url, 'GET', '/v1/namespaces/gz/tables/t', undefined, GZIP);
    expect(loaded.headers['content-encoding']).toBe('gzip');
    expect(location(loaded)).toBe(location(commit));
  });

  it('settles a lost, compressed answer by reading the upstream', async () => {
    faults.setFault((method, path) => (method === 'POST' && path.endsWith('/tables/t') ? 'apply-then-drop' : 'pass'));
    const lost = await send(proxy.url, 'POST', '/v1/namespaces/gz/tables/t', { requirements: [], updates: [{ action: 'set-properties', updates: { a: '2' } }] }, GZIP);
    faults.setFault(() => 'pass');
    expect(lost.status).toBe(500);
    const last = async () => (await outbox.listEvents({ entity: { namespace: ['gz'], name: 't' }, limit: 10, newest: true })).at(-1)!;
    for (let i = 0; i < 50 && (await last()).status !== 'committed'; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await last()).status).toBe('committed');
  });
});
