/**
 * An in-process catalog for HTTP-level tests: the real app (routes, error mapping, idempotency) on a
 * fresh temp directory with a SQLite file and a file warehouse, called through Hono's `app.request()`
 * without opening a port. With `viaProxy`, requests go over real HTTP through Icerelay's proxy
 * (outbox in the same database) to the catalog served on a loopback port.
 *
 *   const catalog = await createCatalogFixture();
 *   const res = await catalog.request('POST', '/v1/namespaces', { namespace: ['db'] });
 *   await catalog.close();
 */
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import type { Hono } from 'hono';
import type { BuiltinCatalog } from '../../src/catalog/builtin-catalog.ts';
import { loadServerConfig, type ServerConfig } from '../../src/config/server-config.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { startProxyServer } from '../../src/proxy/proxy-server.ts';
import { buildCatalog } from '../../src/server/builtin-server.ts';
import { listen, requestListener } from '../../src/server/http-server.ts';
import { createLogger, type Logger } from '../../src/util/logger.ts';
import { toJson } from '../../src/util/json.ts';

/** A request body: a JSON value (serialized losslessly, bigints allowed), or raw text / bytes sent as is. */
export type RequestBody = string | Uint8Array | unknown;

export interface CatalogFixture {
  app: Hono;
  catalog: BuiltinCatalog;
  config: ServerConfig;
  /** The temp directory holding the database and the warehouse; removed by close(). */
  dir: string;
  /** `file:///.../warehouse`, the root of default table locations. */
  warehouse: string;
  /** Sends one request to the app. `path` is sent as written (percent-encodings intact). */
  request(method: string, path: string, body?: RequestBody, headers?: Record<string, string>): Promise<Response>;
  /** With `viaProxy`: the proxy's outbox. */
  outbox?: OutboxStore;
  close(): Promise<void>;
}

export interface CatalogFixtureOptions {
  /** Extra ICERELAY_* settings, e.g. `{ ICERELAY_MAX_BODY_BYTES: '1024' }`. */
  env?: Record<string, string>;
  /** Defaults to a silent logger. */
  logger?: Logger;
  /** Send every request over HTTP through the proxy instead of calling the app in process. */
  viaProxy?: boolean;
}

/** One raw HTTP request (the target is sent as written; `fetch` would normalize it). */
function sendRaw(base: string, method: string, path: string, body: string | Uint8Array | undefined, headers: Record<string, string>): Promise<Response> {
  return new Promise((resolve, reject) => {
    // Node frames a DELETE's body only with an explicit length.
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = httpRequest(`${base}/`, { method, path, headers: { ...headers, ...length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) responseHeaders.append(name, v);
        }
        const status = res.statusCode ?? 0;
        const noBody = status === 204 || status === 304 || method === 'HEAD';
        resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, headers: responseHeaders }));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function createCatalogFixture(options: CatalogFixtureOptions = {}): Promise<CatalogFixture> {
  // realpath: on some systems the temp folder is a symlink, and locations are compared as strings.
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'icerelay-http-')));
  const config = loadServerConfig({
    ICERELAY_DATA_DIR: dir,
    ICERELAY_DATABASE_URL: join(dir, 'catalog.db'),
    ...options.env,
  });
  const logger = options.logger ?? createLogger({ level: 'silent' });
  const built = await buildCatalog(config, logger);
  let proxy: { url: string; close(): Promise<void> } | undefined;
  let server: { close(): Promise<void> } | undefined;
  let outbox: OutboxStore | undefined;
  if (options.viaProxy) {
    const listening = await listen(requestListener(built.app.fetch), '127.0.0.1', 0);
    server = { close: () => new Promise((resolve) => listening.close(() => resolve())) };
    const port = (listening.address() as { port: number }).port;
    outbox = new OutboxStore(built.database);
    proxy = await startProxyServer({
      host: '127.0.0.1', port: 0, upstreamUrl: `http://127.0.0.1:${port}`, upstreamTimeoutMs: 30_000, maxBodyBytes: config.maxBodyBytes, outbox, logger,
    });
  }

  const request = (method: string, path: string, body?: RequestBody, headers: Record<string, string> = {}) => {
    const init: RequestInit & { headers: Record<string, string> } = { method, headers: { ...headers } };
    if (body !== undefined) {
      if (typeof body === 'string' || body instanceof Uint8Array) {
        init.body = body;
      } else {
        init.body = toJson(body);
        init.headers['content-type'] ??= 'application/json';
      }
    }
    if (proxy) {
      // Over a real connection the client frames the body: its own content-length is the true one.
      const { 'content-length': _ignored, ...sent } = init.headers;
      return sendRaw(proxy.url, method, path, init.body as string | Uint8Array | undefined, sent);
    }
    return Promise.resolve(built.app.request(path, init));
  };

  return {
    app: built.app,
    catalog: built.catalog,
    config,
    dir,
    warehouse: config.warehouse,
    request,
    outbox,
    close: async () => {
      await proxy?.close();
      await server?.close();
      await built.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
