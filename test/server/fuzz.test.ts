/**
 * Property-based fuzzing of every route in the route table: whatever the path segments, query
 * parameters, headers and body, the catalog never answers 5xx, and every error response is an
 * Iceberg error body (`{error: {message, type, code}}`, `code` equal to the HTTP status).
 *
 * Routes come from buildCatalogRoutes, so a new route is fuzzed without touching this file; routes
 * whose body schema is known get spec-shaped bodies with mutated fields, every route also gets
 * arbitrary JSON, raw text and random bytes. A seeded namespace, table and view (re-created when a
 * run drops or renames them) let requests reach the catalog's deeper code.
 *
 * Every route runs with the same seed (the default, or ICERELAY_FUZZ_SEED); fast-check prints it with
 * the failing request. The catalog's state carries over from route to route, so reproduce with the
 * whole file: ICERELAY_FUZZ_SEED=<seed> npx vitest run test/server/fuzz.test.ts
 * Fuzz harder with ICERELAY_FUZZ_RUNS=<runs per route>; ICERELAY_FUZZ_STATS=1 prints the statuses
 * each route answered, to check that the generated requests still reach past validation.
 *
 * The same requests run twice: against the catalog app in process, and over HTTP through the
 * proxy in front of it — where, in addition, no outbox entry may be left undecided.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { buildCatalogRoutes, type Route } from '../../src/server/catalog-routes.ts';
import { encodePageToken } from '../../src/server/request.ts';
import { tryParseFileLocation } from '../../src/storage/file-store.ts';
import { tryParseS3Location } from '../../src/storage/s3-store.ts';
import { toJson } from '../../src/util/json.ts';
import { createCatalogFixture, type CatalogFixture } from '../helpers/catalog-fixture.ts';
import { icebergArbitraries, mutated } from '../helpers/iceberg-arbitraries.ts';
import { createTableRequest, createViewRequest, isIcebergErrorBody } from '../helpers/iceberg-requests.ts';

const RUNS = Number(process.env.ICERELAY_FUZZ_RUNS ?? 150);
const SEED = Number(process.env.ICERELAY_FUZZ_SEED ?? 20_240_611);
const stats = new Map<string, Map<number, number>>();

/** Only the method and path of each route are used here; the handlers are never called. */
const ROUTES: Route[] = buildCatalogRoutes({ catalog: {} as never, maxBodyBytes: 0, tableConfig: () => ({}) });

/** The spec schema of each route's request body (components.schemas). */
const BODY_SCHEMAS: Record<string, BodySchema> = {
  'POST /v1/{prefix}/namespaces': 'CreateNamespaceRequest',
  'POST /v1/{prefix}/namespaces/{namespace}/properties': 'UpdateNamespacePropertiesRequest',
  'POST /v1/{prefix}/namespaces/{namespace}/tables': 'CreateTableRequest',
  'POST /v1/{prefix}/namespaces/{namespace}/register': 'RegisterTableRequest',
  'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}': 'CommitTableRequest',
  'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics': 'ReportMetricsRequest',
  'POST /v1/{prefix}/tables/rename': 'RenameTableRequest',
  'POST /v1/{prefix}/transactions/commit': 'CommitTransactionRequest',
  'POST /v1/{prefix}/namespaces/{namespace}/views': 'CreateViewRequest',
  'POST /v1/{prefix}/namespaces/{namespace}/views/{view}': 'CommitViewRequest',
  'POST /v1/{prefix}/views/rename': 'RenameTableRequest',
  'POST /v1/{prefix}/namespaces/{namespace}/register-view': 'RegisterViewRequest',
};
type BodySchema = keyof ReturnType<typeof icebergArbitraries>['bodies'];

const NS = 'fz';
const CHILD = [NS, 'child'];

let catalog: CatalogFixture;
/** Locations the fuzzer may hand to the server as they are; any other file/S3 location is confined. */
let safeLocations: string[] = [];

interface FuzzRequest {
  method: string;
  path: string;
  body: { kind: 'json'; value: unknown } | { kind: 'raw'; value: string | Uint8Array } | undefined;
  headers: Record<string, string>;
}

/** Re-creates the seeded namespaces, table and view when a run dropped, renamed or broke them. */
async function ensureSeed(): Promise<void> {
  const status = async (method: string, path: string, body?: unknown) => (await catalog.request(method, path, body)).status;
  const create = async (path: string, body: unknown) => {
    const res = await catalog.request('POST', path, body);
    if (res.status !== 200) throw new Error(`could not re-create the seed at ${path}: ${res.status} ${await res.text()}`);
  };
  if ((await status('HEAD', `/v1/namespaces/${NS}`)) !== 204) await status('POST', '/v1/namespaces', { namespace: [NS] });
  if ((await status('HEAD', `/v1/namespaces/${CHILD.join('%1F')}`)) !== 204) await status('POST', '/v1/namespaces', { namespace: CHILD });
  // Explicit locations: a fuzzed `location` namespace property must not stop the seed from coming back.
  if ((await status('GET', `/v1/namespaces/${NS}/tables/t`)) !== 200) {
    await status('DELETE', `/v1/namespaces/${NS}/tables/t`);
    await status('DELETE', `/v1/namespaces/${NS}/views/t`);
    await create(`/v1/namespaces/${NS}/tables`, { ...createTableRequest('t'), location: `${catalog.warehouse}/${NS}/t` });
  }
  if ((await status('GET', `/v1/namespaces/${NS}/views/v`)) !== 200) {
    await status('DELETE', `/v1/namespaces/${NS}/views/v`);
    await status('DELETE', `/v1/namespaces/${NS}/tables/v`);
    await create(`/v1/namespaces/${NS}/views`, { ...createViewRequest('v', [NS]), location: `${catalog.warehouse}/${NS}/v` });
  }
}

/**
 * Keeps every location the fuzzer sends inside the temp directory: the process may run as root,
 * and a table placed at `/` and then purged would delete real files. Strings a store would accept
 * as a location are replaced by a location under the temp directory unless explicitly safe.
 */
function confine(value: unknown): unknown {
  if (typeof value === 'string') {
    if (safeLocations.includes(value)) return value;
    if (tryParseFileLocation(value) || tryParseS3Location(value)) {
      return `file://${catalog.dir}/confined/${createHash('sha256').update(value).digest('hex').slice(0, 12)}`;
    }
    return value;
  }
  if (Array.isArray(value)) return value.map(confine);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: confine(v), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

function requestArbitrary(route: Route): fc.Arbitrary<FuzzRequest> {
  const arbs = icebergArbitraries({
    names: ['t', 'v', NS, 'child', 'missing'],
    namespaces: [[NS], CHILD, ['missing']],
    locations: safeLocations,
  });
  // Repeats bias the choice towards the seeded entities, which reach the deepest code.
  const known = {
    namespace: [NS, NS, NS, NS, CHILD.join('%1F'), 'missing'],
    table: ['t', 't', 't', 't', 'v', 'missing'],
    view: ['v', 'v', 'v', 'v', 't', 'missing'],
  };
  const hostile = fc.constantFrom(
    'a', '%1F', '%1f', '+', '%20', '%00', '%01', '%7F', '%2F', '%2E', '.', '..', '%', '%Z', '%E9', '%C3%A9', 'é', '🧊',
    '\u0000', '\u001f', '\t', '#', '?', '&', '=', ';', '%25', '/', '\\', '%5C', ' ',
  );
  const segment = (values: string[]) => fc.oneof(
    { weight: 24, arbitrary: fc.constantFrom(...values) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeURIComponent) },
    { weight: 2, arbitrary: fc.array(hostile, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('')) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 4000 }).map((n) => 'x'.repeat(n)) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...values, ''), { minLength: 2, maxLength: 3 }).map((levels) => levels.join('%1F')) },
  );
  const path = fc.record({
    namespace: segment(known.namespace), table: segment(known.table), view: segment(known.view),
  }).map((values) => route.path
    .replace('/{prefix}', '')
    .replace(/\{([^}]+)\}/g, (_m, name: string) => values[name as keyof typeof values] ?? 'x'));

  const queryValue = fc.oneof(
    fc.constantFrom('', 'all', 'refs', 'true', 'TRUE', 'false', 'maybe', '1', '0', '-1', '2.5', 'abc', NS, `${NS}\u001fchild`, 'missing'),
    fc.constantFrom(encodePageToken('t')!, encodePageToken('')!, encodePageToken('\u0000')!),
    fc.string({ maxLength: 10 }),
  );
  const query = fc.tuple(
    fc.array(fc.tuple(fc.constantFrom('pageToken', 'pageSize', 'parent', 'snapshots', 'purgeRequested', 'warehouse', 'referenced-by', 'x'), queryValue), { maxLength: 3 }),
    fc.boolean(),
  ).map(([pairs, encode]) => {
    if (pairs.length === 0) return '';
    return `?${encode ? new URLSearchParams(pairs).toString() : pairs.map(([k, v]) => `${k}=${v}`).join('&')}`;
  });

  // Mostly no extra headers: a reused Idempotency-Key or a huge Content-Length ends a request early.
  const headers = fc.oneof(
    { weight: 7, arbitrary: fc.constant({}) },
    {
      weight: 3,
      arbitrary: fc.record({
        'idempotency-key': fc.oneof(
          { weight: 4, arbitrary: fc.uuid() },
          { weight: 1, arbitrary: fc.constantFrom('key-1', 'key-2', 'x'.repeat(200)) },
        ),
        'if-none-match': fc.constantFrom('*', '"x"', 'W/"x"', '', ','),
        'content-type': fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'),
        'x-iceberg-access-delegation': fc.constantFrom('vended-credentials', 'remote-signing', 'bogus'),
        'content-length': fc.constantFrom('0', '1', '99999999999', '-1', 'abc'),
      }, { requiredKeys: [] }),
    },
  );

  const schema = BODY_SCHEMAS[`${route.method} ${route.path}`];
  const body: fc.Arbitrary<FuzzRequest['body']> = route.method === 'GET' || route.method === 'HEAD'
    ? fc.constant(undefined)
    : fc.oneof(
      ...(schema ? [{ weight: 12, arbitrary: mutated(arbs.bodies[schema]).map((value) => ({ kind: 'json' as const, value })) }] : []),
      { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, value })) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((value) => ({ kind: 'raw' as const, value })) },
      { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((value) => ({ kind: 'raw' as const, value })) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    );

  return fc.record({ path, query, body, headers }).map((r) => ({
    method: route.method, path: r.path + r.query, body: r.body, headers: r.headers,
  }));
}

function describeRequest(req: FuzzRequest): string {
  const body = req.body === undefined ? '(none)'
    : req.body.kind === 'json' ? toJson(confine(req.body.value)).slice(0, 2000)
      : typeof req.body.value === 'string' ? JSON.stringify(req.body.value) : `bytes ${Buffer.from(req.body.value).toString('hex')}`;
  return `${req.method} ${req.path}\nheaders: ${JSON.stringify(req.headers)}\nbody: ${body}`;
}

/** Why the response breaks the property, or undefined when it holds. */
function violation(route: Route, req: FuzzRequest, status: number, contentType: string, text: string): string | undefined {
  if (status >= 500) return `server error ${status}: ${text.slice(0, 300)}`;
  if (status < 400) {
    if (status === 204 || status === 304) return text === '' ? undefined : `${status} with a body`;
    if (req.method === 'HEAD') return undefined;
    try {
      JSON.parse(text);
      return undefined;
    } catch {
      return `${status} with a body that is not JSON`;
    }
  }
  if (req.method === 'HEAD') return text === '' ? undefined : 'HEAD error with a body';
  // A path whose dot segments resolve outside /v1 is not an Iceberg route (the URL parser resolves
  // `..` before the app sees the request); there only the status matters.
  if (!new URL(req.path, 'http://localhost').pathname.startsWith('/v1/')) return undefined;
  if (!/^application\/json/.test(contentType)) return `error with content-type ${contentType}`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'error body is not JSON';
  }
  if (!isIcebergErrorBody(body)) return 'error body is not an IcebergErrorResponse';
  if (body.error.code !== status) return `error.code ${body.error.code} differs from the status ${status}`;
  return undefined;
}

async function send(req: FuzzRequest): Promise<Response | undefined> {
  const body = req.body === undefined ? undefined
    : req.body.kind === 'json' ? toJson(confine(req.body.value)) : req.body.value;
  if (!URL.canParse(req.path, 'http://localhost')) return undefined; // not a request a client could send
  try {
    return await catalog.request(req.method, req.path, body, req.headers);
  } catch (error) {
    // Over real HTTP, Node's client refuses to put control or non-Latin-1 characters on the wire.
    if ((error as NodeJS.ErrnoException).code === 'ERR_UNESCAPED_CHARACTERS') return undefined;
    throw error;
  }
}

async function setUp(viaProxy: boolean): Promise<void> {
  catalog = await createCatalogFixture({ viaProxy });
  await ensureSeed();
  const table = (await (await catalog.request('GET', `/v1/namespaces/${NS}/tables/t`)).json()) as { 'metadata-location': string };
  const view = (await (await catalog.request('GET', `/v1/namespaces/${NS}/views/v`)).json()) as { 'metadata-location': string };
  safeLocations = [
    table['metadata-location'], view['metadata-location'], `${catalog.warehouse}/${NS}/elsewhere`,
    `file://${catalog.dir}/custom/location`, `${catalog.dir}/plain/path`, `file://${catalog.dir}/missing.metadata.json`,
  ];
}

afterAll(() => {
  if (process.env.ICERELAY_FUZZ_STATS) {
    for (const [route, counts] of stats) console.log(route, Object.fromEntries([...counts].sort(([a], [b]) => a - b)));
  }
});

describe.each([
  { mode: 'in process', viaProxy: false },
  { mode: 'through the proxy', viaProxy: true },
])('every route survives fuzzed requests ($mode)', ({ viaProxy }) => {
  beforeAll(() => setUp(viaProxy), 60_000);
  afterAll(async () => {
    await catalog?.close();
  });

  for (const route of ROUTES) {
    it(`${route.method} ${route.path} never answers 5xx and always sends Iceberg error bodies`, async () => {
      await fc.assert(
        fc.asyncProperty(requestArbitrary(route), async (req) => {
          await ensureSeed();
          const res = await send(req);
          if (!res) return;
          const counts = stats.get(`${route.method} ${route.path}`) ?? new Map<number, number>();
          stats.set(`${route.method} ${route.path}`, counts.set(res.status, (counts.get(res.status) ?? 0) + 1));
          const text = await res.text();
          const problem = violation(route, req, res.status, res.headers.get('content-type') ?? '', text);
          if (problem) throw new Error(`${problem}\n${describeRequest(req)}\n=> ${res.status} ${text.slice(0, 1000)}`);
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: false, interruptAfterTimeLimit: 120_000 },
      );
    }, 180_000);
  }

  // After every route ran: each mutation the proxy forwarded was answered, so none is open.
  if (viaProxy) {
    it('leaves no mutation undecided in the outbox', async () => {
      const open = await catalog.outbox!.unsettled();
      if (open.length > 0) throw new Error(`undecided outbox entries: ${JSON.stringify(open.slice(0, 5).map((e) => [e.status, e.request.method, e.request.path]))}`);
    });
  }
});
