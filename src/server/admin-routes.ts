/**
 * The admin API: `/admin/v1/...`:
 * - `GET /admin/v1/outbox?table=ns.t&limit=N`: the recorded mutations (newest N, oldest first);
 * - `GET /admin/v1/replication/status?table=ns.t`: per table and destination, how far replication is;
 * - `POST /admin/v1/replication/pause` and `/resume` `{destination, table?}`: hold or release a
 *   destination's queues (one table's, or all of them); resume also retries failed ones;
 * - `POST /admin/v1/replication/backfill`: a reconciliation pass now (tables the outbox does not
 *   know at their current state are recorded and shipped), answering what it found;
 * - `/admin/v1/replication/rules[/{id}]`: list, add, change and delete replication rules (rules-routes.ts);
 * - `GET /admin/v1/audit?table=ns.t&since=&until=&limit=N`: who made which mutation (audit-routes.ts);
 * - `POST /admin/v1/replication/promote`, `GET /admin/v1/replication/promotions`: failover to a
 *   replica, and what was promoted (promotion-routes.ts);
 * - `GET /healthz`, `GET /readyz`: liveness and readiness (health.ts);
 * - `GET /metrics`: Prometheus metrics (metrics.ts);
 * - `GET /ui`: the status page, and the lag history it charts (status-page.ts);
 * - `GET /admin/docs`: the API reference, and spec/openapi.yaml itself (api-docs.ts).
 *
 * Every route registered here is documented in spec/openapi.yaml (test/spec/openapi.test.ts fails
 * on one that is not).
 */
import { Hono } from 'hono';
import { badRequest, IcebergError } from '../errors/iceberg-error.ts';
import { toEventPayload } from '../outbox/event-payload.ts';
import type { OutboxStore } from '../outbox/outbox-store.ts';
import type { Promoter } from '../replication/promote.ts';
import type { ReconcileResult } from '../replication/reconciler.ts';
import { replicationStatus, summarize, type InFlightLookup } from '../replication/status.ts';
import { toJson } from '../util/json.ts';
import { registerApiDocs } from './api-docs.ts';
import { registerHealthRoutes, type HealthChecks } from './health.ts';
import type { Metrics } from './metrics.ts';
import { registerPromotionRoutes } from './promotion-routes.ts';
import { registerStatusPage } from './status-page.ts';
import { registerAuditRoutes } from './audit-routes.ts';
import { registerRulesRoutes } from './rules-routes.ts';
import type { ReplicationRules } from '../replication/replication-rules.ts';
import type { Logger } from '../util/logger.ts';
import { parseTableParam } from './table-param.ts';


export interface AdminOptions {
  /** The replication destinations of this process. */
  destinations?: string[];
  metrics?: Metrics;
  /** What this process is shipping now, per destination. */
  inFlight?: InFlightLookup;
  /** Ships now (after a resume or a backfill). */
  wake?: () => void;
  /** Runs one reconciliation pass (the backfill). */
  reconcile?: () => Promise<ReconcileResult>;
  /** Failover to a replica (promote); without it the promotion routes are not served. */
  promoter?: Promoter;
  /** What `/readyz` checks; without it, `/healthz` and `/readyz` are not served. */
  health?: HealthChecks;
  /** The replication rules in force; without it, the rules routes are not served. */
  rules?: ReplicationRules;
  /** Where rule changes are logged. */
  logger?: Logger;
}

const json = (body: unknown, status = 200) => new Response(toJson(body as never), { status, headers: { 'content-type': 'application/json' } });

export function createAdminApp(outbox: OutboxStore, options: AdminOptions = {}): Hono {
  const { destinations = [], metrics, inFlight } = options;
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
  /** The body of pause/resume: a known destination, optionally one table. */
  async function queueTarget(request: Request): Promise<{ destination: string; entity?: { namespace: string[]; name: string } } | Response> {
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return badRequest('the body must be JSON: {"destination": "<name>", "table": "ns.t"} (table optional)').toResponse();
    }
    const { destination, table } = (body ?? {}) as { destination?: unknown; table?: unknown };
    if (typeof destination !== 'string' || !destinations.includes(destination)) {
      return badRequest(`destination must be one of ${destinations.join(', ') || '(none configured)'}, not ${JSON.stringify(destination)}`).toResponse();
    }
    if (table === undefined) return { destination };
    const entity = typeof table === 'string' ? parseTableParam(table) : undefined;
    if (!entity) return badRequest(`table must be namespace.table, not ${JSON.stringify(table)}`).toResponse();
    return { destination, entity };
  }
  app.post('/admin/v1/replication/pause', async (c) => {
    const target = await queueTarget(c.req.raw);
    if (target instanceof Response) return target;
    return json({ ...target, paused: await outbox.pause(target.destination, target.entity) });
  });
  app.post('/admin/v1/replication/resume', async (c) => {
    const target = await queueTarget(c.req.raw);
    if (target instanceof Response) return target;
    const resumed = await outbox.resume(target.destination, target.entity);
    options.wake?.();
    return json({ ...target, resumed });
  });
  app.post('/admin/v1/replication/backfill', async () => {
    if (!options.reconcile) return new IcebergError(409, 'NotConfiguredException', 'No replication is configured in this Icerelay: nothing to backfill').toResponse();
    return json(await options.reconcile());
  });
  registerStatusPage(app, outbox, { destinations, inFlight });
  registerAuditRoutes(app, outbox);
  if (options.rules) registerRulesRoutes(app, { rules: options.rules, reconcile: options.reconcile, logger: options.logger });
  registerApiDocs(app);
  if (options.promoter) registerPromotionRoutes(app, options.promoter);
  if (options.health) registerHealthRoutes(app, options.health);
  if (metrics) {
    app.get('/metrics', async () => new Response(await metrics.registry.metrics(), { headers: { 'content-type': metrics.registry.contentType } }));
  }
  return app;
}
