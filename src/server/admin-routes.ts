/**
 * The admin API: `/admin/v1/...`:
 * - `GET /admin/v1/outbox?table=ns.t&limit=N`: the recorded mutations (newest N, oldest first);
 * - `GET /admin/v1/replication/status?table=ns.t`: per table and destination, how far replication is;
 * - `GET /metrics`: Prometheus metrics (metrics.ts).
 */
import { Hono } from 'hono';
import { badRequest, IcebergError } from '../errors/iceberg-error.ts';
import { toEventPayload } from '../outbox/event-payload.ts';
import type { OutboxStore } from '../outbox/outbox-store.ts';
import { replicationStatus, summarize, type InFlightLookup } from '../replication/status.ts';
import { toJson } from '../util/json.ts';
import type { Metrics } from './metrics.ts';


/** `ns.t` (or `a.b.t`): the last dot separates the table name from its namespace levels. */
function parseTableParam(value: string): { namespace: string[]; name: string } | undefined {
  const parts = value.split('.');
  if (parts.length < 2 || parts.some((p) => p === '')) return undefined;
  return { namespace: parts.slice(0, -1), name: parts.at(-1)! };
}

export function createAdminApp(outbox: OutboxStore, destinations: string[] = [], metrics?: Metrics, inFlight?: InFlightLookup): Hono {
  const app = new Hono();
  app.notFound((c) => new IcebergError(404, 'NoSuchResourceException', `No admin route for ${c.req.method} ${c.req.path}`).toResponse());
  app.get('/admin/v1/outbox', async (c) => {
    const limitText = c.req.query('limit') ?? '100';
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) return badRequest(`limit must be an integer from 1 to 10000, not '${limitText}'`).toResponse();
    const table = c.req.query('table');
    const entity = table === undefined ? undefined : parseTableParam(table);
    if (table !== undefined && !entity) return badRequest(`table must be namespace.table, not '${table}'`).toResponse();
    // Newest `limit` events of the table (or of all tables), oldest first.
    const events = await outbox.listEvents({ entity, limit, newest: true });
    return new Response(toJson({ events: events.map(toEventPayload) }), { headers: { 'content-type': 'application/json' } });
  });
  app.get('/admin/v1/replication/status', async (c) => {
    const table = c.req.query('table');
    const entity = table === undefined ? undefined : parseTableParam(table);
    if (table !== undefined && !entity) return badRequest(`table must be namespace.table, not '${table}'`).toResponse();
    const tables = await replicationStatus(outbox, destinations, entity, inFlight);
    return new Response(toJson({ destinations, summary: summarize(destinations, tables), tables }), { headers: { 'content-type': 'application/json' } });
  });
  if (metrics) {
    app.get('/metrics', async () => new Response(await metrics.registry.metrics(), { headers: { 'content-type': metrics.registry.contentType } }));
  }
  return app;
}
