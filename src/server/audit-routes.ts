/**
 * `GET /admin/v1/audit?table=ns.t&since=...&until=...&limit=N`: who made which mutation, newest
 * first: one record per table, view or namespace a recorded mutation touched (a multi-table
 * transaction gives one per table), committed, rejected or not settled yet (audit-record.ts).
 * `since` (inclusive) and `until` (exclusive) are ISO 8601 times or epoch milliseconds and filter on
 * when the proxy received the mutation; `limit` is 1 to 10000 (default 100).
 */
import type { Hono } from 'hono';
import { badRequest, type IcebergError } from '../errors/iceberg-error.ts';
import { selectAuditRows } from '../outbox/audit-query.ts';
import { toAuditRecord } from '../outbox/audit-record.ts';
import type { OutboxStore } from '../outbox/outbox-store.ts';
import { parseTableParam } from './table-param.ts';

const MAX_LIMIT = 10_000;

export function registerAuditRoutes(app: Hono, outbox: OutboxStore): void {
  app.get('/admin/v1/audit', async (c) => {
    const query = c.req.query();
    const unknown = Object.keys(query).filter((name) => !['table', 'since', 'until', 'limit'].includes(name));
    if (unknown.length > 0) return badRequest(`Unknown query parameter ${unknown.join(', ')}: use table, since, until and limit`).toResponse();
    const limitText = query.limit ?? '100';
    const limit = /^[0-9]{1,6}$/.test(limitText) ? Number(limitText) : Number.NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) return badRequest(`limit must be an integer from 1 to ${MAX_LIMIT}, not '${limitText}'`).toResponse();
    const entity = query.table === undefined ? undefined : parseTableParam(query.table);
    if (query.table !== undefined && !entity) return badRequest(`table must be namespace.table (e.g. sales.orders), not '${query.table}'`).toResponse();
    const since = timeParam('since', query.since);
    if (typeof since === 'object') return since.toResponse();
    const until = timeParam('until', query.until);
    if (typeof until === 'object') return until.toResponse();
    if (since !== undefined && until !== undefined && since >= until) {
      return badRequest(`since (${query.since}) must be before until (${query.until})`).toResponse();
    }
    const rows = await selectAuditRows(outbox, { entity, sinceMs: since, untilMs: until, limit });
    return Response.json({ entries: rows.map(toAuditRecord) });
  });
}

/** Epoch milliseconds, or an ISO 8601 date or date-time (`2026-05-04`, `2026-05-04T09:12:31Z`). */
function timeParam(name: string, value: string | undefined): number | undefined | IcebergError {
  if (value === undefined) return undefined;
  if (/^[0-9]{1,15}$/.test(value)) return Number(value);
  const ms = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    return badRequest(`${name} must be an ISO 8601 time (e.g. 2026-05-04T09:12:31Z) or epoch milliseconds, not '${value}'`);
  }
  return ms;
}
