/**
 * Logs, health and metrics of `icerelay serve` as it runs: real Icerelay child processes in front
 * of a real catalog behind an authenticating hop (test/helpers/auth-guard-server.ts), one with a
 * static bearer token, one with OAuth2 client credentials (and its state in Postgres), one whose
 * upstream is a closed port. Clients send their own bearer token and secrets in query strings.
 * What the processes wrote must be JSON lines, one per answered request with its id, and must not
 * hold a single one of those secrets.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { loadServerConfig } from '../../src/config/server-config.ts';
import { startCatalogServer, type RunningServer } from '../../src/server/builtin-server.ts';
import { createLogger } from '../../src/util/logger.ts';
import { startAuthGuardServer, type AuthGuardServer } from '../helpers/auth-guard-server.ts';
import { killAllChildren, startIcerelay, type IcerelayChild } from '../helpers/child-process-icerelay.ts';
import { freePort } from '../helpers/free-port.ts';
import { sendRaw as send, type RawAnswer } from '../helpers/raw-http.ts';
import { freshPostgresDatabase } from '../replication/robustness/harness.ts';

const UPSTREAM_TOKEN = 'upstream-static-token-5c1e9a';
const CLIENT_SECRET = 'oauth-client-secret-8d2f47';
const CLIENT_TOKEN = 'client-bearer-token-3b7e02';
const QUERY_SECRET = 'query-access-token-61fa9c';
const S3_SECRET = 's3-secret-access-key-0e4d3b';
/** The password of the test Postgres role (in the state database URL). */
const POSTGRES_PASSWORD = new URL(process.env.ICERELAY_TEST_POSTGRES_URL ?? 'postgres://x:icerelay_test@h/d').password;

const schema = { type: 'struct', fields: [{ id: 1, name: 'id', type: 'long', required: false }] };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let dir: string;
let database: StateDatabase;
let catalog: RunningServer;
let bearerGuard: AuthGuardServer;
let oauthGuard: AuthGuardServer;
let postgres: { url: string; drop(): Promise<void> };
let withBearer: IcerelayChild;
let withOAuth: IcerelayChild;
let unreachable: IcerelayChild;
let closedPort: number;
/** The ids of the first workload's answers. */
let workloadIds: string[] = [];

async function start(name: string, yaml: string): Promise<IcerelayChild> {
  const config = join(dir, `${name}.yaml`);
  await writeFile(config, yaml);
  return startIcerelay({ args: ['--config', config], env: { ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(dir, name) } });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icerelay-observability-'));
  database = await openDatabase({ kind: 'sqlite', path: join(dir, 'upstream.db') });
  catalog = await startCatalogServer({ ...loadServerConfig({ ICERELAY_DATA_DIR: join(dir, 'upstream') }), port: 0 }, createLogger({ level: 'silent' }), database);
  bearerGuard = await startAuthGuardServer(catalog.url, { kind: 'bearer', token: UPSTREAM_TOKEN });
  oauthGuard = await startAuthGuardServer(catalog.url, { kind: 'oauth2', clientId: 'icerelay', clientSecret: CLIENT_SECRET, lifetimeSeconds: 3600 });
  postgres = await freshPostgresDatabase();
  closedPort = await freePort();
  [withBearer, withOAuth, unreachable] = await Promise.all([
    start('bearer', `
upstream:
  url: "${bearerGuard.url}"
  auth: { type: bearer, token: "${UPSTREAM_TOKEN}" }
  s3: { accessKeyId: AKIAOBSERVABILITY, secretAccessKey: "${S3_SECRET}" }
`),
    start('oauth', `
state: { database: "${postgres.url}" }
upstream:
  url: "${oauthGuard.url}"
  auth: { type: oauth2, clientId: icerelay, clientSecret: "${CLIENT_SECRET}" }
`),
    start('unreachable', `upstream: { url: "http://127.0.0.1:${closedPort}" }\n`),
  ]);
}, 180_000);

afterAll(async () => {
  await killAllChildren();
  await bearerGuard?.close();
  await oauthGuard?.close();
  await catalog?.close();
  await database?.close();
  await postgres?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const client = { authorization: `Bearer ${CLIENT_TOKEN}` };

/** Namespace, table, commit and reads, as an engine would send them; each answer kept. */
async function workload(base: string, namespace: string): Promise<RawAnswer[]> {
  const answers: RawAnswer[] = [];
  answers.push(await send(base, 'GET', '/v1/config', undefined, client));
  answers.push(await send(base, 'POST', '/v1/namespaces', { namespace: [namespace] }, client));
  answers.push(await send(base, 'POST', `/v1/namespaces/${namespace}/tables`, { name: 't', schema }, client));
  answers.push(await send(base, 'POST', `/v1/namespaces/${namespace}/tables/t`, { requirements: [], updates: [{ action: 'set-properties', updates: { k: 'v' } }] }, client));
  answers.push(await send(base, 'GET', `/v1/namespaces/${namespace}/tables/t?snapshots=refs&access_token=${QUERY_SECRET}`, undefined, client));
  return answers;
}

interface LogLine {
  level: string;
  time: string;
  msg: string;
  [field: string]: unknown;
}

/** Every line the process wrote, each parsed as JSON (a line that is not JSON fails the test). */
function logLines(child: IcerelayChild): LogLine[] {
  return child.output().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as LogLine);
}

/** The request log line of `id`, once written (it is written when the answer has ended). */
async function requestLine(child: IcerelayChild, id: string): Promise<LogLine> {
  for (let i = 0; i < 100; i++) {
    const line = logLines(child).find((l) => l.msg === 'request' && l.requestId === id);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no request log line with id ${id}`);
}

describe('request logs', () => {
  it('log every answered request once, with its id, method, path, status, duration and route kind', async () => {
    const answers = await workload(withBearer.url, 'logged');
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    const kinds = ['config', 'namespace', 'create-table', 'commit-table', 'load-table'];
    workloadIds = answers.map((a) => a.headers['x-request-id'] as string);
    for (const [i, answer] of answers.entries()) {
      const id = answer.headers['x-request-id'] as string;
      expect(id).toMatch(UUID);
      const line = await requestLine(withBearer, id);
      expect(line).toMatchObject({ level: 'info', method: i === 0 || i === 4 ? 'GET' : 'POST', status: 200, route: kinds[i] });
      expect(typeof line.durationMs).toBe('number');
      expect(logLines(withBearer).filter((l) => l.requestId === id)).toHaveLength(1);
    }
    // The path is logged without its query.
    expect((await requestLine(withBearer, answers[4]!.headers['x-request-id'] as string)).path).toBe('/v1/namespaces/logged/tables/t');
  });

  it('keep a client\'s own request id, send it upstream, and replace one that is not plausible', async () => {
    const own = await send(withBearer.url, 'GET', '/v1/namespaces/logged', undefined, { ...client, 'x-request-id': 'trace-0af7651916cd43dd' });
    expect(own.status).toBe(200);
    expect(own.headers['x-request-id']).toBe('trace-0af7651916cd43dd');
    expect(await requestLine(withBearer, 'trace-0af7651916cd43dd')).toMatchObject({ path: '/v1/namespaces/logged', route: 'namespace', status: 200 });
    const forwarded = bearerGuard.seen.filter((r) => r.path === '/v1/namespaces/logged');
    expect(forwarded.at(-1)!.headers['x-request-id']).toBe('trace-0af7651916cd43dd');
    // Reads and mutations alike reached the upstream with the id their client got back.
    for (const id of workloadIds) expect(bearerGuard.seen.filter((r) => r.headers['x-request-id'] === id), id).toHaveLength(1);

    const odd = await send(withBearer.url, 'GET', '/v1/namespaces/logged', undefined, { 'x-request-id': 'not an id; "quoted"' });
    expect(odd.headers['x-request-id']).toMatch(UUID);
    expect(bearerGuard.seen.at(-1)!.headers['x-request-id']).toBe(odd.headers['x-request-id']);
  });

  it('log requests Icerelay answers itself and failed ones too', async () => {
    const missing = await send(withBearer.url, 'GET', '/v1/namespaces/nowhere/tables/none', undefined, client);
    expect(missing.status).toBe(404);
    expect(await requestLine(withBearer, missing.headers['x-request-id'] as string)).toMatchObject({ status: 404, route: 'load-table' });
    const admin = await send(withBearer.url, 'GET', '/admin/v1/outbox?limit=1');
    expect(await requestLine(withBearer, admin.headers['x-request-id'] as string)).toMatchObject({ status: 200, route: 'admin', path: '/admin/v1/outbox' });
    const down = await send(unreachable.url, 'GET', '/v1/namespaces', undefined, client);
    expect(down.status).toBe(503);
    expect(await requestLine(unreachable, down.headers['x-request-id'] as string)).toMatchObject({ status: 503, route: 'namespace' });
    const warning = logLines(unreachable).find((l) => l.msg === 'upstream catalog did not answer a read');
    expect(warning?.err).toMatchObject({ type: 'UpstreamUnreachableError', message: expect.stringContaining('ECONNREFUSED') as unknown });
    expect((warning?.err as { stack?: string }).stack).toContain('UpstreamUnreachableError');
  });

  it('hold no secret: not the upstream token, the OAuth client secret or token, the client\'s token, a query secret, S3 or database passwords', async () => {
    expect((await workload(withOAuth.url, 'oauth')).map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    await send(unreachable.url, 'POST', '/v1/namespaces', { namespace: ['x'] }, client);
    // The token the guard issued to Icerelay, as Icerelay sent it upstream.
    const issued = oauthGuard.seen.find((r) => r.verdict === 'forwarded')!.headers.authorization!.replace(/^Bearer /, '');
    expect(issued).toMatch(/^tok-/);
    const secrets = [UPSTREAM_TOKEN, CLIENT_SECRET, CLIENT_TOKEN, QUERY_SECRET, S3_SECRET, POSTGRES_PASSWORD, issued];
    for (const child of [withBearer, withOAuth, unreachable]) {
      const output = child.output();
      expect(logLines(child).filter((l) => l.msg === 'request').length).toBeGreaterThan(0);
      for (const secret of secrets) expect(output.includes(secret), `${secret} in the output of ${child.url}`).toBe(false);
      // Neither headers nor bodies are logged.
      expect(output).not.toMatch(/"headers"|authorization|"schema"|set-properties/i);
    }
  });
});

describe('health', () => {
  it('/healthz: 200 while the process serves, whatever the upstream', async () => {
    for (const child of [withBearer, withOAuth, unreachable]) {
      const alive = await send(child.url, 'GET', '/healthz');
      expect([alive.status, JSON.parse(alive.body)]).toEqual([200, { status: 'ok' }]);
    }
  });

  it('/readyz: 200 with the upstream (through its authentication) and the database (SQLite, Postgres) answering', async () => {
    for (const child of [withBearer, withOAuth]) {
      const ready = await send(child.url, 'GET', '/readyz');
      expect([ready.status, JSON.parse(ready.body)]).toEqual([200, { status: 'ok', checks: { upstream: { status: 'ok' }, database: { status: 'ok' } } }]);
    }
  });

  it('/readyz: 503 naming the upstream, and why, when nothing listens at the upstream\'s port', async () => {
    const ready = await send(unreachable.url, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    const body = JSON.parse(ready.body) as { status: string; checks: { upstream: { status: string; error: string }; database: { status: string } } };
    expect(body.status).toBe('unavailable');
    expect(body.checks.database).toEqual({ status: 'ok' });
    expect(body.checks.upstream.status).toBe('failed');
    expect(body.checks.upstream.error).toContain(`http://127.0.0.1:${closedPort} is unreachable: ECONNREFUSED`);
  });
});

describe('metrics', () => {
  it('/metrics has request and upstream latencies by method, route kind and status, never by path', async () => {
    await workload(withBearer.url, 'metered');
    const text = (await send(withBearer.url, 'GET', '/metrics')).body;
    for (const series of [
      'icerelay_http_request_duration_seconds_count{method="GET",route="config",status="200"}',
      'icerelay_http_request_duration_seconds_count{method="POST",route="commit-table",status="200"}',
      'icerelay_http_request_duration_seconds_count{method="GET",route="load-table",status="404"}',
      'icerelay_http_request_duration_seconds_count{method="GET",route="admin",status="200"}',
      'icerelay_upstream_request_duration_seconds_count{method="GET",route="load-table",status="200"}',
      'icerelay_upstream_request_duration_seconds_count{method="POST",route="commit-table",status="200"}',
    ]) expect(text, series).toContain(series);
    expect(text).toMatch(/icerelay_http_request_duration_seconds_bucket\{le="0\.1",method="POST",route="create-table",status="200"\} \d+/);
    const routes = new Set([...text.matchAll(/route="([^"]*)"/g)].map((m) => m[1]));
    for (const route of routes) expect(route).toMatch(/^[a-z-]+$/);

    const down = (await send(unreachable.url, 'GET', '/metrics')).body;
    expect(down).toMatch(/icerelay_upstream_request_duration_seconds_count\{method="GET",route="namespace",status="error"\} [1-9]/);
  });
});
