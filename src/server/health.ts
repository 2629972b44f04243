/**
 * Health routes, for load balancers and orchestrators:
 * - `GET /healthz`: alive. Always 200 `{"status":"ok"}` while the process serves requests; it
 *   checks nothing else, so a slow upstream never gets a live process restarted.
 * - `GET /readyz`: ready for traffic. 200 when the upstream catalog answers `GET /v1/config` and
 *   the state database answers a trivial query, each within a short timeout; otherwise 503, with
 *   each check's result and the reason of each failure.
 */
import type { Hono } from 'hono';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../catalog/database.ts';
import type { UpstreamClient } from '../proxy/upstream-client.ts';

export interface HealthChecks {
  /** Resolves when the upstream catalog answers; rejects saying why it does not. */
  checkUpstream(): Promise<void>;
  /** Resolves when the state database answers; rejects saying why it does not. */
  checkDatabase(): Promise<void>;
}

/** Long enough for a healthy catalog under load, short enough for a probe's own timeout. */
export const READY_CHECK_TIMEOUT_MS = 2_000;

type CheckResult = { status: 'ok' } | { status: 'failed'; error: string };

const answer = (status: number, body: unknown) => new Response(JSON.stringify(body), {
  status,
  // A probe's answer is about this moment only.
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
});

async function run(check: () => Promise<void>, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check(), timeout]);
    return { status: 'ok' };
  } catch (error) {
    return { status: 'failed', error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

export function registerHealthRoutes(app: Hono, checks: HealthChecks, timeoutMs = READY_CHECK_TIMEOUT_MS): void {
  app.get('/healthz', () => answer(200, { status: 'ok' }));
  app.get('/readyz', async () => {
    const [upstream, database] = await Promise.all([run(() => checks.checkUpstream(), timeoutMs), run(() => checks.checkDatabase(), timeoutMs)]);
    const ready = upstream.status === 'ok' && database.status === 'ok';
    return answer(ready ? 200 : 503, { status: ready ? 'ok' : 'unavailable', checks: { upstream, database } });
  });
}

/**
 * The upstream check: `GET /v1/config` (what every client asks first) answers 200. When the proxy
 * has no credentials of its own (clients' pass through), a 401 or 403 is an answer too: the
 * upstream is up and refuses anonymous requests, as it should.
 */
export function upstreamConfigCheck(upstream: UpstreamClient): () => Promise<void> {
  const ownCredentials = upstream.options.auth?.terminatesClientAuth ?? false;
  return async () => {
    const response = await upstream.send('GET', '/v1/config', { accept: 'application/json' }, null);
    response.body.resume();
    if (response.status === 200) return;
    if (!ownCredentials && (response.status === 401 || response.status === 403)) return;
    throw new Error(`upstream catalog ${upstream.origin} answered GET /v1/config with ${response.status}`);
  };
}

/** The database check: a query that touches no table, through the same pool as every other. */
export function databaseCheck(db: Kysely<Database>): () => Promise<void> {
  return async () => {
    await sql`select 1`.execute(db);
  };
}
