/**
 * An in-process catalog for HTTP-level tests: the real app (routes, error mapping, idempotency) on a
 * fresh temp directory with a SQLite file and a file warehouse, called through Hono's `app.request()`
 * without opening a port.
 *
 *   const catalog = await createCatalogFixture();
 *   const res = await catalog.request('POST', '/v1/namespaces', { namespace: ['db'] });
 *   await catalog.close();
 */
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import type { BuiltinCatalog } from '../../src/catalog/builtin-catalog.ts';
import { loadServerConfig, type ServerConfig } from '../../src/config/server-config.ts';
import { buildCatalog } from '../../src/server/builtin-server.ts';
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
  close(): Promise<void>;
}

export interface CatalogFixtureOptions {
  /** Extra ICERELAY_* settings, e.g. `{ ICERELAY_MAX_BODY_BYTES: '1024' }`. */
  env?: Record<string, string>;
  /** Defaults to a silent logger. */
  logger?: Logger;
}

export async function createCatalogFixture(options: CatalogFixtureOptions = {}): Promise<CatalogFixture> {
  // realpath: on some systems the temp folder is a symlink, and locations are compared as strings.
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'icerelay-http-')));
  const config = loadServerConfig({
    ICERELAY_DATA_DIR: dir,
    ICERELAY_DATABASE_URL: join(dir, 'catalog.db'),
    ...options.env,
  });
  const built = await buildCatalog(config, options.logger ?? createLogger({ level: 'silent' }));

  const request = (method: string, path: string, body?: RequestBody, headers: Record<string, string> = {}) => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      if (typeof body === 'string' || body instanceof Uint8Array) {
        init.body = body;
      } else {
        init.body = toJson(body);
        (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
      }
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
    close: async () => {
      await built.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
