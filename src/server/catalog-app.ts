/**
 * The HTTP application of a catalog: routes every `/v1/...` request through the route table,
 * replays finalized responses for repeated Idempotency-Keys, and turns every thrown error into an
 * Iceberg error response (a client's mistake is never a 500).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Hono } from 'hono';
import type { CatalogStore } from '../catalog/catalog-store.ts';
import { IcebergError } from '../errors/iceberg-error.ts';
import type { Logger } from '../util/logger.ts';
import { toJson } from '../util/json.ts';
import { sleep } from '../util/sleep.ts';
import { buildCatalogRoutes, type CatalogRouteOptions, type Route, type RouteContext } from './catalog-routes.ts';
import { rawPath } from './request.ts';
import { RouteTable } from './router.ts';
import { formatIsoDuration } from '../util/iso-duration.ts';

export interface CatalogAppOptions extends Omit<CatalogRouteOptions, 'configExtras'> {
  /** How long a finalized response is replayed for a repeated Idempotency-Key (ms). */
  idempotencyLifetimeMs: number;
  logger: Logger;
}

export function errorResponse(error: unknown, logger: Logger, context: string): Response {
  if (error instanceof IcebergError) return error.toResponse();
  logger.error({ err: error, context }, 'unexpected error');
  const message = error instanceof Error ? error.message : String(error);
  return new IcebergError(500, 'InternalServerError', `Internal error: ${message}`).toResponse();
}

export function createCatalogApp(options: CatalogAppOptions): Hono {
  const routes = buildCatalogRoutes({
    ...options,
    configExtras: { 'idempotency-key-lifetime': formatIsoDuration(options.idempotencyLifetimeMs) },
  });
  const table = new RouteTable(routes);
  const store = options.catalog.store;
  const app = new Hono();

  app.all('/v1/*', async (c) => {
    const request = c.req.raw;
    // Route on the request target exactly as sent: the URL parser behind Request would resolve
    // `..` and `%2E%2E` segments, turning a table named `..` into its namespace.
    const target = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.url ?? request.url;
    const path = rawPath(target);
    try {
      const { route, raw } = table.match(request.method, path);
      const ctx: RouteContext = { request, raw, query: new URL(target, 'http://target').searchParams };
      const key = request.headers.get('idempotency-key');
      // A replica's writes only when it may take some (a promoted one); refused ones are 403s anyway.
      if (route.mutating && key && (!options.readOnly || options.readOnly.except)) return await withIdempotency(store, options.idempotencyLifetimeMs, key, route, ctx);
      return await route.handle(ctx);
    } catch (error) {
      return errorResponse(error, options.logger, `${request.method} ${path}`);
    }
  });
  app.notFound((c) => new IcebergError(404, 'NoSuchEndpointException', `No Iceberg REST route for ${c.req.method} ${c.req.path}`).toResponse());
  app.onError((error) => errorResponse(error, options.logger, 'request'));
  return app;
}

/** How long a claimed Idempotency-Key may stay in flight before it counts as abandoned. */
const IN_FLIGHT_LIMIT_MS = 120_000;

/**
 * Idempotency-Key semantics of the spec: the first request with a key claims it in the database
 * (so concurrent duplicates, even on other instances, wait instead of running again); a finalized
 * response (2xx, or a deterministic 4xx) is stored and replayed for the same key within its
 * lifetime; a 5xx releases the key, so a retry runs again.
 */
async function withIdempotency(store: CatalogStore, lifetimeMs: number, key: string, route: Route, ctx: RouteContext): Promise<Response> {
  const operation = createHash('sha256').update(`${route.method} ${route.path} ${JSON.stringify(ctx.raw)}`).digest('hex');
  const waitUntil = Date.now() + IN_FLIGHT_LIMIT_MS;
  for (;;) {
    const now = Date.now();
    if (await store.reserveIdempotencyKey(key, operation, now, now - lifetimeMs, now - IN_FLIGHT_LIMIT_MS)) break;
    const prior = await store.getIdempotencyRecord(key, now - lifetimeMs);
    if (prior && prior.request_hash !== operation) {
      throw new IcebergError(422, 'UnprocessableEntityException', `Idempotency-Key ${key} was already used for a different operation`);
    }
    if (prior && prior.status > 0) {
      return new Response(prior.status === 204 ? null : prior.body, { status: prior.status, headers: JSON.parse(prior.headers) as Record<string, string> });
    }
    if (now > waitUntil) {
      throw new IcebergError(503, 'ServiceUnavailableException', `A request with Idempotency-Key ${key} is still in progress; retry later`, { headers: { 'retry-after': '1' } });
    }
    await sleep(20);
  }
  let response: Response;
  try {
    response = await route.handle(ctx);
  } catch (error) {
    if (!(error instanceof IcebergError) || error.status >= 500) {
      await store.releaseIdempotencyKey(key);
      throw error;
    }
    response = error.toResponse();
  }
  if (response.status >= 500) {
    await store.releaseIdempotencyKey(key);
    return response;
  }
  const body = response.status === 204 ? '' : await response.clone().text();
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'etag']) {
    const value = response.headers.get(name);
    if (value) headers[name] = value;
  }
  await store.finishIdempotencyKey(key, response.status, body, toJson(headers));
  if (Math.random() < 0.01) await store.deleteIdempotencyRecordsBefore(Date.now() - lifetimeMs);
  return response;
}
