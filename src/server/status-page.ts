/**
 * The status page, `GET /ui`: a static HTML page (ui/ beside this file, plain HTML, CSS and
 * JavaScript read once at start-up, no build step) that polls the admin API and draws the
 * replication status per table and destination, the lag over time, and a table's history.
 *
 * Also `GET /admin/v1/replication/lag-history?since=<ms>`: the lag samples the page charts
 * (lag-history.ts), newest after `since`.
 *
 * The page reaches everything by relative URLs (`ui/status.js`, `admin/v1/...`), so it works
 * behind a reverse proxy that serves Icerelay under a path prefix; `/ui/` redirects to `/ui` for
 * that reason.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { badRequest } from '../errors/iceberg-error.ts';
import type { OutboxStore } from '../outbox/outbox-store.ts';
import { replicationStatus, type InFlightLookup } from '../replication/status.ts';
import { toJson } from '../util/json.ts';
import { LagHistory } from './lag-history.ts';

interface Asset {
  body: string;
  type: string;
}

const ASSET_TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'status.css': 'text/css; charset=utf-8',
  'status.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
};

// Read once when the server starts: a missing file fails the start, not a visitor's request.
const assets = new Map<string, Asset>(
  Object.entries(ASSET_TYPES).map(([name, type]) => [name, { body: readFileSync(join(import.meta.dirname, 'ui', name), 'utf8'), type }]),
);

// The page builds its DOM from API data with textContent only; the policy is a second line of
// defence should a table name ever reach markup: no inline or foreign script runs. The API
// reference page (api-docs.ts) is served under the same policy.
export const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Served from memory and small: always revalidated, so an upgrade shows at the next load.
  'cache-control': 'no-cache',
};

function serve(name: string): Response {
  const asset = assets.get(name)!;
  return new Response(asset.body, { headers: { 'content-type': asset.type, ...SECURITY_HEADERS } });
}

export interface StatusPageOptions {
  destinations?: string[];
  inFlight?: InFlightLookup;
}

export function registerStatusPage(app: Hono, outbox: OutboxStore, options: StatusPageOptions = {}): LagHistory {
  const destinations = options.destinations ?? [];
  const history = new LagHistory({ destinations, read: () => replicationStatus(outbox, destinations, undefined, options.inFlight) });
  app.get('/ui', () => {
    history.watch();
    return serve('index.html');
  });
  app.get('/ui/', () => new Response(null, { status: 308, headers: { location: '../ui' } }));
  app.get('/ui/:asset', (c) => {
    const name = c.req.param('asset');
    return name !== 'index.html' && assets.has(name) ? serve(name) : c.notFound();
  });
  app.get('/admin/v1/replication/lag-history', (c) => {
    const sinceText = c.req.query('since');
    const since = sinceText === undefined ? -Infinity : Number(sinceText);
    if (Number.isNaN(since)) return badRequest(`since must be a time in milliseconds, not '${sinceText}'`).toResponse();
    history.watch();
    const body = { intervalMs: history.intervalMs, capacity: history.capacity, destinations, samples: history.samples(since) };
    return new Response(toJson(body), { headers: { 'content-type': 'application/json' } });
  });
  return history;
}
