/**
 * spec/openapi.yaml against the code and a running Icerelay:
 * - the document (and Apache Iceberg's, which it references) is valid OpenAPI, every `$ref`
 *   resolves, and its own examples validate against their schemas;
 * - every route the admin app registers is documented, and every route documented there is
 *   registered: a new admin route without its documentation fails here;
 * - the Iceberg operations documented are exactly those `GET /v1/config` advertises;
 * - a real Icerelay (a child process: built-in catalog on SQLite, a replica `local`) answers every
 *   admin operation and a set of Iceberg operations, with good and bad input, at the root and at
 *   the replica: every answer's status must be documented for that operation, and its content type
 *   and body must match what is documented for that status. A second Icerelay, in front of a
 *   closed port and without replication, gives the answers only such a one gives (503, 409);
 * - every status and content type documented for Icerelay's own operations was seen.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { Promoter } from '../../src/replication/promote.ts';
import { ReplicationRules } from '../../src/replication/replication-rules.ts';
import { RulesStore } from '../../src/replication/rules-store.ts';
import { EVERYTHING, TableSelector } from '../../src/replication/table-selector.ts';
import { createAdminApp } from '../../src/server/admin-routes.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { listen, requestListener } from '../../src/server/http-server.ts';
import { toJson } from '../../src/util/json.ts';
import { createLogger } from '../../src/util/logger.ts';
import { killAllChildren, startIcerelay, type IcerelayChild } from '../helpers/child-process-icerelay.ts';
import { freePort } from '../helpers/free-port.ts';
import { createViewRequest } from '../helpers/iceberg-requests.ts';
import { sendRaw, type RawAnswer } from '../helpers/raw-http.ts';
import { waitForReplication } from '../replication/robustness/harness.ts';
import { TABLE_SCHEMA, writeAppend } from '../replication/robustness/iceberg-files.ts';
import { isJsonMedia, loadDocuments, MAIN_DOCUMENT, OpenApiContract, references, SPEC_DIR, SPEC_FILES, type Operation } from './openapi-contract.ts';

const contract = new OpenApiContract();
const logger = createLogger({ level: 'silent' });
const operationKey = (method: string, template: string) => `${method} ${template}`;

// --- the document -----------------------------------------------------------------------------

// Generous limits: a loaded CI machine validates and starts processes far slower than a quiet one.
describe('spec/openapi.yaml', { timeout: 60_000 }, () => {
  it('is a valid OpenAPI document, and so is the Iceberg document it references', async () => {
    for (const file of [MAIN_DOCUMENT, 'iceberg-rest-catalog-open-api.yaml']) {
      const validator = new Validator();
      // The files spec/openapi.yaml references, under the names it uses for them (copies: the
      // validator marks what it is given with an `$id`). Iceberg's references only itself.
      if (file === MAIN_DOCUMENT) {
        for (const other of SPEC_FILES.filter((f) => f !== file)) await validator.addSpecRef(structuredClone(contract.documents.get(other)), other);
      }
      const result = await validator.validate(structuredClone(contract.documents.get(file)));
      expect(result.errors ?? [], file).toEqual([]);
      expect(result.valid, file).toBe(true);
    }
  });

  it('resolves every $ref, in all the documents it names', () => {
    const broken: string[] = [];
    for (const [file, document] of contract.documents) {
      for (const { ref, path } of references(document)) {
        try {
          // The outbox event schema's own references are to its `$defs`, under its `$id`.
          contract.resolveRef(ref, file);
        } catch (error) {
          broken.push(`${file} /${path.join('/')}: ${ref}: ${(error as Error).message}`);
        }
      }
    }
    expect(broken).toEqual([]);
    // The document names no file it does not ship.
    const files = new Set([...references(contract.main)].map(({ ref }) => ref.split('#', 1)[0]).filter((f) => f !== ''));
    expect([...files].every((f) => SPEC_FILES.includes(f!))).toBe(true);
  });

  it('gives every operation a unique operationId and declares every path parameter of its own routes', () => {
    const ids = contract.operations().map((op) => op.operation.node.operationId as string);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    for (const op of contract.ownOperations()) {
      const inPath = [...op.template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const declared = (contract.parameters(op) as { in: string; name: string }[]).filter((p) => p.in === 'path').map((p) => p.name);
      expect(declared.sort(), operationKey(op.method, op.template)).toEqual(inPath.sort());
    }
  });

  it('has examples that validate against their own schemas', () => {
    const checked: string[] = [];
    for (const op of contract.ownOperations()) {
      const media: { where: string; at: ReturnType<OpenApiContract['at']> }[] = [];
      if (op.operation.node.requestBody) {
        const body = contract.child(op.operation, 'requestBody');
        for (const type of Object.keys(body.node.content)) media.push({ where: `request ${type}`, at: contract.at(body.file, [...body.path, 'content', type]) });
      }
      const responses = contract.child(op.operation, 'responses');
      for (const status of Object.keys(responses.node)) {
        const response = contract.child(responses, status);
        for (const type of Object.keys(response.node.content ?? {})) media.push({ where: `${status} ${type}`, at: contract.at(response.file, [...response.path, 'content', type]) });
      }
      for (const { where, at } of media) {
        if (at.node.example === undefined || !at.node.schema) continue;
        checked.push(`${op.method} ${op.template} ${where}`);
        expect(contract.validate(contract.at(at.file, [...at.path, 'schema']), at.node.example), `${op.method} ${op.template} ${where} example`).toEqual([]);
      }
    }
    // Not vacuous: the admin API's examples are there.
    expect(checked).toContain('GET /admin/v1/replication/status 200 application/json');
    expect(checked).toContain('POST /admin/v1/replication/pause request application/json');
  });
});

// --- routes registered by the code ------------------------------------------------------------

/** Hono's `:name` (with an optional `{regex}`) is OpenAPI's `{name}`. */
const templateOf = (honoPath: string) => honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');

/** The routes of a Hono app that spec/openapi.yaml does not document, and the documented own operations the app does not serve. */
function routeCoverage(app: Hono): { undocumented: string[]; unserved: string[] } {
  const registered = new Set(app.routes
    // Middleware (`app.use`) is registered for every method on a wildcard path: no route of its own.
    .filter((r) => !(r.method === 'ALL' && r.path.endsWith('*')))
    .map((r) => operationKey(r.method, templateOf(r.path))));
  const documented = new Set(contract.ownOperations().map((op) => operationKey(op.method, op.template)));
  return {
    undocumented: [...registered].filter((r) => !documented.has(r)),
    unserved: [...documented].filter((d) => !registered.has(d)),
  };
}

describe('the admin app', { timeout: 60_000 }, () => {
  let dir: string;
  let database: StateDatabase;
  let outbox: OutboxStore;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'icerelay-openapi-routes-'));
    database = await openDatabase({ kind: 'sqlite', path: join(dir, 'state.db') });
    outbox = new OutboxStore(database);
  });

  afterAll(async () => {
    await database?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The admin app with every option given, so that every route it can have is registered. */
  const fullAdminApp = () => createAdminApp(outbox, {
    destinations: ['local'],
    rules: new ReplicationRules({ destinations: ['local'], configRules: [], store: new RulesStore(database), logger }),
    logger,
    metrics: createMetrics(outbox, ['local']),
    inFlight: () => undefined,
    wake: () => {},
    reconcile: async () => ({ tables: 0, observed: 0, skipped: 0 }),
    health: { checkUpstream: async () => {}, checkDatabase: async () => {} },
    promoter: new Promoter({ outbox, destinations: [{ name: 'local', catalog: { type: 'builtin' }, namespacePrefix: [], selector: new TableSelector(EVERYTHING) }] }),
  });

  it('serves exactly the routes spec/openapi.yaml documents for it', () => {
    const app = fullAdminApp();
    expect(app.routes.length).toBeGreaterThan(10);
    const { undocumented, unserved } = routeCoverage(app);
    expect(undocumented, 'routes the admin app registers that spec/openapi.yaml does not document: document them there').toEqual([]);
    expect(unserved, 'operations spec/openapi.yaml documents that the admin app does not register').toEqual([]);
  });

  it('finds a route added without documentation', () => {
    const app = fullAdminApp();
    const before = new Set(routeCoverage(app).undocumented);
    app.get('/admin/v1/replication/undocumented', () => new Response('{}'));
    app.post('/admin/v1/items/:id{[0-9]+}', () => new Response('{}'));
    expect(routeCoverage(app).undocumented.filter((r) => !before.has(r))).toEqual(['GET /admin/v1/replication/undocumented', 'POST /admin/v1/items/{id}']);
  });
});

// --- a running Icerelay -----------------------------------------------------------------------

interface Seen {
  operation: Operation;
  status: number;
  mediaType: string;
}

const seen: Seen[] = [];

/**
 * Sends a request to a running Icerelay and checks the answer against the document: the operation
 * must be documented (at the root, or at a replica for `/replicas/...` targets), and the answer
 * must conform to it. Returns the answer.
 */
async function exchange(base: string, method: string, target: string, body?: unknown, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const answer = await sendRaw(base, method, target, body, headers);
  const path = target.split('?', 1)[0]!;
  const replica = /^\/replicas\/[^/]+(\/.*)$/.exec(path);
  const operation = contract.findOperation(method, replica ? replica[1]! : path, replica ? 'replica' : 'root');
  const what = `${method} ${target} answered ${answer.status} ${answer.body.slice(0, 300)}`;
  expect(operation, `${method} ${target} is not documented in spec/openapi.yaml`).toBeDefined();
  expect(contract.checkResponse(operation!, { method, status: answer.status, headers: answer.headers, body: answer.body }), what).toEqual([]);
  seen.push({ operation: operation!, status: answer.status, mediaType: String(answer.headers['content-type'] ?? '').split(';', 1)[0]! });
  return answer;
}

const bodyOf = <T>(answer: RawAnswer) => JSON.parse(answer.body) as T;
const errorTypeOf = (answer: RawAnswer) => bodyOf<{ error: { type: string } }>(answer).error.type;

describe('a running Icerelay answers as spec/openapi.yaml says', { timeout: 120_000 }, () => {
  let dir: string;
  let icerelay: IcerelayChild;
  /** In front of a closed port, without replication: not ready, nothing to backfill. */
  let detached: IcerelayChild;
  let base: string;
  const table = (name: string) => `/v1/namespaces/spec/tables/${name}`;
  const view = (name: string) => `/v1/namespaces/spec/views/${name}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'icerelay-openapi-'));
    await writeFile(join(dir, 'icerelay.yaml'), `replication:\n  destinations:\n    local: { warehouse: "${join(dir, 'data', 'replicas', 'local')}" }\n  pollMs: 200\n`);
    await writeFile(join(dir, 'detached.yaml'), `upstream: { url: "http://127.0.0.1:${await freePort()}" }\n`);
    [icerelay, detached] = await Promise.all([
      startIcerelay({ args: ['--config', join(dir, 'icerelay.yaml')], env: { ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(dir, 'data') } }),
      startIcerelay({ args: ['--config', join(dir, 'detached.yaml')], env: { ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(dir, 'detached') } }),
    ]);
    base = icerelay.url;
  }, 120_000);

  afterAll(async () => {
    await killAllChildren();
    await rm(dir, { recursive: true, force: true });
  });

  it('advertises in /v1/config exactly the Iceberg operations the document lists', async () => {
    const config = bodyOf<{ endpoints: string[] }>(await exchange(base, 'GET', '/v1/config'));
    const documented = contract.operations().filter((op) => op.operation.file !== MAIN_DOCUMENT).map((op) => operationKey(op.method, op.template));
    expect(new Set([...config.endpoints, 'GET /v1/config'])).toEqual(new Set(documented));
    await exchange(base, 'GET', '/v1/config?warehouse=anything');
  });

  it('answers namespace operations as documented', async () => {
    expect((await exchange(base, 'POST', '/v1/namespaces', { namespace: ['spec'], properties: { owner: 'tests' } })).status).toBe(200);
    expect((await exchange(base, 'POST', '/v1/namespaces', { namespace: ['spec'] })).status).toBe(409);
    expect((await exchange(base, 'POST', '/v1/namespaces', '{"namespace": [')).status).toBe(400);
    expect((await exchange(base, 'GET', '/v1/namespaces')).status).toBe(200);
    expect((await exchange(base, 'GET', '/v1/namespaces/spec')).status).toBe(200);
    expect((await exchange(base, 'HEAD', '/v1/namespaces/spec')).status).toBe(204);
    expect((await exchange(base, 'GET', '/v1/namespaces/nowhere')).status).toBe(404);
    expect((await exchange(base, 'HEAD', '/v1/namespaces/nowhere')).status).toBe(404);
    expect((await exchange(base, 'POST', '/v1/namespaces/spec/properties', { updates: { tier: 'gold' }, removals: ['absent'] })).status).toBe(200);
    expect((await exchange(base, 'POST', '/v1/namespaces/spec/properties', { removals: 'tier' })).status).toBe(400);
    expect((await exchange(base, 'POST', '/v1/namespaces', { namespace: ['scratch'] })).status).toBe(200);
    expect((await exchange(base, 'DELETE', '/v1/namespaces/scratch')).status).toBe(204);
    expect((await exchange(base, 'DELETE', '/v1/namespaces/scratch')).status).toBe(404);
  });

  it('answers table operations as documented', async () => {
    const create = { name: 'events', schema: TABLE_SCHEMA, properties: { 'format-version': '2' } };
    expect((await exchange(base, 'POST', '/v1/namespaces/spec/tables', create)).status).toBe(200);
    expect((await exchange(base, 'POST', '/v1/namespaces/spec/tables', create)).status).toBe(409);
    expect((await exchange(base, 'POST', '/v1/namespaces/spec/tables', { name: 'schemaless' })).status).toBe(400);
    expect((await exchange(base, 'POST', '/v1/namespaces/nowhere/tables', create)).status).toBe(404);
    // A real snapshot (data file, manifest, manifest list), so that loads carry one. The first
    // snapshot has no parent: the field is left out, as Iceberg's clients do.
    const created = bodyOf<{ metadata: { location: string; 'table-uuid': string } }>(await exchange(base, 'GET', table('events')));
    const written = await writeAppend(created.metadata.location, undefined, 1n);
    const { 'parent-snapshot-id': _noParent, ...snapshot } = written.snapshot;
    const addSnapshot = toJson({
      requirements: [{ type: 'assert-table-uuid', uuid: created.metadata['table-uuid'] }, { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null }],
      updates: [{ action: 'add-snapshot', snapshot }, { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': written.snapshotId }],
    });
    expect((await exchange(base, 'POST', table('events'), addSnapshot)).status).toBe(200);
    // The same again: main has moved, so the requirement fails.
    expect((await exchange(base, 'POST', table('events'), addSnapshot)).status).toBe(409);

    expect((await exchange(base, 'GET', '/v1/namespaces/spec/tables')).status).toBe(200);
    const loaded = await exchange(base, 'GET', table('events'));
    expect(loaded.status).toBe(200);
    const { metadata, 'metadata-location': location } = bodyOf<{ metadata: { 'table-uuid': string }; 'metadata-location': string }>(loaded);
    expect((await exchange(base, 'GET', table('events'), undefined, { 'if-none-match': String(loaded.headers.etag) })).status).toBe(304);
    expect((await exchange(base, 'GET', `${table('events')}?snapshots=refs`)).status).toBe(200);
    expect((await exchange(base, 'GET', `${table('events')}?snapshots=some`)).status).toBe(400);
    expect((await exchange(base, 'HEAD', table('events'))).status).toBe(204);
    expect((await exchange(base, 'GET', table('missing'))).status).toBe(404);
    expect((await exchange(base, 'HEAD', table('missing'))).status).toBe(404);

    const uuid = metadata['table-uuid'];
    const setProperties = (updates: Record<string, string>) => ({ action: 'set-properties', updates });
    expect((await exchange(base, 'POST', table('events'), { requirements: [{ type: 'assert-table-uuid', uuid }], updates: [setProperties({ stage: 'one' })] })).status).toBe(200);
    expect((await exchange(base, 'POST', table('events'), { requirements: [{ type: 'assert-table-uuid', uuid: randomUUID() }], updates: [setProperties({ stage: 'never' })] })).status).toBe(409);
    expect((await exchange(base, 'POST', table('events'), { requirements: [], updates: [{ action: 'no-such-action' }] })).status).toBe(400);
    expect((await exchange(base, 'POST', table('missing'), { requirements: [], updates: [setProperties({ a: 'b' })] })).status).toBe(404);

    expect((await exchange(base, 'GET', `${table('events')}/credentials`)).status).toBe(200);
    const report = { 'report-type': 'commit-report', 'table-name': 'spec.events', 'snapshot-id': 1, 'sequence-number': 1, operation: 'append', metrics: {} };
    expect((await exchange(base, 'POST', `${table('events')}/metrics`, report)).status).toBe(204);
    expect((await exchange(base, 'POST', `${table('missing')}/metrics`, report)).status).toBe(404);

    const identifier = { namespace: ['spec'], name: 'events' };
    expect((await exchange(base, 'POST', '/v1/transactions/commit', { 'table-changes': [{ identifier, requirements: [{ type: 'assert-table-uuid', uuid }], updates: [setProperties({ stage: 'two' })] }] })).status).toBe(204);
    expect((await exchange(base, 'POST', '/v1/transactions/commit', { 'table-changes': [] })).status).toBe(400);

    // Register, rename, unregister and drop, on tables of their own.
    expect((await exchange(base, 'POST', '/v1/namespaces/spec/register', { name: 'registered', 'metadata-location': location })).status).toBe(200);
    expect((await exchange(base, 'POST', '/v1/namespaces/spec/register', { name: 'registered', 'metadata-location': location })).status).toBe(409);
    const rename = (from: string, to: string) => ({ source: { namespace: ['spec'], name: from }, destination: { namespace: ['spec'], name: to } });
    expect((await exchange(base, 'POST', '/v1/tables/rename', rename('registered', 'moved'))).status).toBe(204);
    expect((await exchange(base, 'POST', '/v1/tables/rename', rename('registered', 'moved_again'))).status).toBe(404);
    expect((await exchange(base, 'POST', `${table('moved')}/unregister`)).status).toBe(200);
    expect((await exchange(base, 'POST', `${table('moved')}/unregister`)).status).toBe(404);
    expect((await exchange(base, 'POST', '/v1/namespaces/spec/tables', { ...create, name: 'doomed' })).status).toBe(200);
    expect((await exchange(base, 'DELETE', table('doomed'))).status).toBe(204);
    expect((await exchange(base, 'DELETE', table('doomed'))).status).toBe(404);
    expect((await exchange(base, 'DELETE', '/v1/namespaces/spec')).status).toBe(409);
  });

  it('answers view operations as documented', async () => {
    const create = createViewRequest('recent', ['spec'], 'SELECT id FROM events');
    expect((await exchange(base, 'POST', '/v1/namespaces/spec/views', create)).status).toBe(200);
    expect((await exchange(base, 'POST', '/v1/namespaces/spec/views', create)).status).toBe(409);
    expect((await exchange(base, 'POST', '/v1/namespaces/spec/views', { name: 'versionless', schema: create.schema })).status).toBe(400);
    expect((await exchange(base, 'GET', '/v1/namespaces/spec/views')).status).toBe(200);
    const loaded = bodyOf<{ metadata: { 'view-uuid': string }; 'metadata-location': string }>(await exchange(base, 'GET', view('recent')));
    expect((await exchange(base, 'HEAD', view('recent'))).status).toBe(204);
    expect((await exchange(base, 'GET', view('missing'))).status).toBe(404);
    expect((await exchange(base, 'HEAD', view('missing'))).status).toBe(404);
    const replace = { requirements: [{ type: 'assert-view-uuid', uuid: loaded.metadata['view-uuid'] }], updates: [{ action: 'set-properties', updates: { stage: 'one' } }] };
    expect((await exchange(base, 'POST', view('recent'), replace)).status).toBe(200);
    expect((await exchange(base, 'POST', view('missing'), replace)).status).toBe(404);
    expect((await exchange(base, 'POST', '/v1/namespaces/spec/register-view', { name: 'copied', 'metadata-location': loaded['metadata-location'] })).status).toBe(200);
    expect((await exchange(base, 'POST', '/v1/namespaces/spec/register-view', { name: 'copied', 'metadata-location': loaded['metadata-location'] })).status).toBe(409);
    const rename = (from: string, to: string) => ({ source: { namespace: ['spec'], name: from }, destination: { namespace: ['spec'], name: to } });
    expect((await exchange(base, 'POST', '/v1/views/rename', rename('copied', 'moved_view'))).status).toBe(204);
    expect((await exchange(base, 'POST', '/v1/views/rename', rename('copied', 'moved_again'))).status).toBe(404);
    expect((await exchange(base, 'DELETE', view('moved_view'))).status).toBe(204);
    expect((await exchange(base, 'DELETE', view('moved_view'))).status).toBe(404);
  });

  it('serves the replica read-only, as documented: reads answer, every write is 403 ForbiddenException', async () => {
    await waitForReplication(() => base, 60_000);
    const replica = '/replicas/local';
    const config = bodyOf<{ endpoints: string[] }>(await exchange(base, 'GET', `${replica}/v1/config`));
    const source = bodyOf<{ endpoints: string[] }>(await sendRaw(base, 'GET', '/v1/config'));
    expect(config.endpoints.every((e) => source.endpoints.includes(e))).toBe(true);

    expect((await exchange(base, 'GET', `${replica}/v1/namespaces`)).status).toBe(200);
    expect((await exchange(base, 'GET', `${replica}/v1/namespaces/spec`)).status).toBe(200);
    expect((await exchange(base, 'GET', `${replica}/v1/namespaces/spec/tables`)).status).toBe(200);
    expect((await exchange(base, 'GET', `${replica}${table('events')}`)).status).toBe(200);
    expect((await exchange(base, 'HEAD', `${replica}${table('events')}`)).status).toBe(204);
    expect((await exchange(base, 'GET', `${replica}${table('missing')}`)).status).toBe(404);
    expect((await exchange(base, 'GET', `${replica}/v1/namespaces/spec/views`)).status).toBe(200);
    expect((await exchange(base, 'GET', `${replica}${view('recent')}`)).status).toBe(200);

    // Every operation the source advertises and the replica does not is a write: each answers 403.
    const writes = source.endpoints.filter((e) => !config.endpoints.includes(e));
    expect(writes).toContain('POST /v1/{prefix}/namespaces/{namespace}/tables/{table}');
    for (const endpoint of writes) {
      const [method, template] = endpoint.split(' ') as [string, string];
      const path = template.replace('/{prefix}', '').replace('{namespace}', 'spec').replace('{table}', 'events').replace('{view}', 'recent');
      const answer = await exchange(base, method, `${replica}${path}`, method === 'POST' ? {} : undefined);
      expect([endpoint, answer.status, errorTypeOf(answer)], answer.body).toEqual([endpoint, 403, 'ForbiddenException']);
    }

    // A destination that does not exist: 404 NoSuchCatalogException, as the document says.
    const unknown = await exchange(base, 'GET', '/replicas/nowhere/v1/config');
    expect([unknown.status, errorTypeOf(unknown)]).toEqual([404, 'NoSuchCatalogException']);
    // Icerelay's own routes are not served under a replica, and not documented there.
    expect(contract.findOperation('GET', '/admin/v1/outbox', 'replica')).toBeUndefined();
    expect((await sendRaw(base, 'GET', `${replica}/admin/v1/outbox`)).status).toBe(404);
  });

  it('answers the outbox and replication routes as documented, good input and bad', async () => {
    const events = bodyOf<{ events: { entity: { name?: string } }[] }>(await exchange(base, 'GET', '/admin/v1/outbox'));
    expect(events.events.length).toBeGreaterThan(0);
    const limited = bodyOf<{ events: { entity: { namespace: string[]; name?: string } }[] }>(await exchange(base, 'GET', '/admin/v1/outbox?table=spec.events&limit=3'));
    expect(limited.events.map((e) => `${e.entity.namespace.join('.')}.${e.entity.name}`)).toEqual(['spec.events', 'spec.events', 'spec.events']);
    for (const query of ['?limit=0', '?limit=many', '?table=events']) expect((await exchange(base, 'GET', `/admin/v1/outbox${query}`)).status).toBe(400);

    const status = bodyOf<{ tables: { state: string }[] }>(await exchange(base, 'GET', '/admin/v1/replication/status'));
    expect(status.tables.length).toBeGreaterThan(0);
    expect((await exchange(base, 'GET', '/admin/v1/replication/status?table=spec.events')).status).toBe(200);
    expect((await exchange(base, 'GET', '/admin/v1/replication/status?table=.events')).status).toBe(400);

    expect((await exchange(base, 'GET', '/admin/v1/replication/lag-history')).status).toBe(200);
    expect((await exchange(base, 'GET', '/admin/v1/replication/lag-history?since=0')).status).toBe(200);
    expect((await exchange(base, 'GET', '/admin/v1/replication/lag-history?since=yesterday')).status).toBe(400);

    // Request bodies: those the document accepts are accepted, those it refuses are refused.
    for (const action of ['pause', 'resume']) {
      const op = contract.findOperation('POST', `/admin/v1/replication/${action}`, 'root')!;
      for (const good of [{ destination: 'local', table: 'spec.events' }, { destination: 'local' }]) {
        expect(contract.checkRequestBody(op, good), JSON.stringify(good)).toEqual([]);
        expect((await exchange(base, 'POST', `/admin/v1/replication/${action}`, good)).status).toBe(200);
      }
      for (const bad of [{}, { destination: 'local', table: 'events' }, { destination: 7 }, { destination: '' }]) {
        expect(contract.checkRequestBody(op, bad), JSON.stringify(bad)).not.toEqual([]);
        expect((await exchange(base, 'POST', `/admin/v1/replication/${action}`, bad)).status).toBe(400);
      }
      // Well-formed, but no such destination here; and no JSON at all.
      expect((await exchange(base, 'POST', `/admin/v1/replication/${action}`, { destination: 'elsewhere' })).status).toBe(400);
      expect((await exchange(base, 'POST', `/admin/v1/replication/${action}`, 'pause everything')).status).toBe(400);
    }
    expect((await exchange(base, 'POST', '/admin/v1/replication/backfill')).status).toBe(200);
    expect((await exchange(detached.url, 'POST', '/admin/v1/replication/backfill')).status).toBe(409);
    expect((await exchange(detached.url, 'POST', '/admin/v1/replication/pause', { destination: 'local' })).status).toBe(400);
  });

  it('answers the audit listing as documented', async () => {
    const audit = bodyOf<{ entries: { identifier: { name?: string } | null }[] }>(await exchange(base, 'GET', '/admin/v1/audit?table=spec.events&limit=5'));
    expect(audit.entries.length).toBe(5);
    expect(audit.entries.every((e) => e.identifier?.name === 'events')).toBe(true);
    expect((await exchange(base, 'GET', '/admin/v1/audit')).status).toBe(200);
    expect((await exchange(base, 'GET', `/admin/v1/audit?since=2020-01-01T00:00:00Z&until=${Date.now() + 60_000}`)).status).toBe(200);
    for (const query of ['?limit=0', '?table=events', '?since=last-week', '?since=2030-01-01&until=2020-01-01', '?user=alice']) {
      expect((await exchange(base, 'GET', `/admin/v1/audit${query}`)).status, query).toBe(400);
    }
  });

  it('answers the replication rules routes as documented, with their ETags', async () => {
    const rules = '/admin/v1/replication/rules';
    expect((await exchange(base, 'GET', rules)).status).toBe(200);
    expect((await exchange(base, 'GET', `${rules}/config-1`)).status).toBe(200);
    const good = { tables: ['spec.*'], exclude: ['spec.tmp_*'], to: ['local'] };
    const op = contract.findOperation('POST', rules, 'root')!;
    expect(contract.checkRequestBody(op, good)).toEqual([]);
    const created = await exchange(base, 'POST', rules, good);
    expect(created.status).toBe(201);
    const path = String(created.headers.location);
    expect((await exchange(base, 'GET', path)).status).toBe(200);
    for (const bad of [{ tables: [] }, { tables: ['spec events'] }, { to: ['elsewhere'] }, { tables: ['**'], also: true }]) {
      expect((await exchange(base, 'POST', rules, bad)).status, JSON.stringify(bad)).toBe(400);
    }
    // The document refuses the malformed ones itself; a destination it cannot know of is the server's to refuse.
    expect([{ tables: [] }, { tables: ['spec events'] }, { tables: ['**'], also: true }].map((bad) => contract.checkRequestBody(op, bad).length > 0)).toEqual([true, true, true]);
    expect((await exchange(base, 'POST', rules, 'every table')).status).toBe(400);

    const changed = await exchange(base, 'PUT', path, { tables: ['spec.**'] }, { 'if-match': String(created.headers.etag) });
    expect(changed.status).toBe(200);
    const stale = { 'if-match': String(created.headers.etag) };
    expect((await exchange(base, 'PUT', path, { tables: ['spec.events'] }, stale)).status).toBe(409);
    expect((await exchange(base, 'PUT', path, { tables: ['spec.events'] })).status).toBe(428);
    expect((await exchange(base, 'PUT', path, { tables: ['spec.events'] }, { 'if-match': 'yesterday' })).status).toBe(400);
    expect((await exchange(base, 'PUT', path, { tables: [] }, { 'if-match': String(changed.headers.etag) })).status).toBe(400);
    expect((await exchange(base, 'PUT', `${rules}/config-1`, { tables: ['**'] }, { 'if-match': '"1"' })).status).toBe(403);
    expect((await exchange(base, 'PUT', `${rules}/no-such-rule`, { tables: ['**'] }, { 'if-match': '"1"' })).status).toBe(404);
    expect((await exchange(base, 'GET', `${rules}/no-such-rule`)).status).toBe(404);

    expect((await exchange(base, 'DELETE', path)).status).toBe(428);
    expect((await exchange(base, 'DELETE', path, undefined, { 'if-match': 'yesterday' })).status).toBe(400);
    expect((await exchange(base, 'DELETE', path, undefined, stale)).status).toBe(409);
    expect((await exchange(base, 'DELETE', `${rules}/config-1`, undefined, { 'if-match': '"1"' })).status).toBe(403);
    expect((await exchange(base, 'DELETE', path, undefined, { 'if-match': String(changed.headers.etag) })).status).toBe(204);
    expect((await exchange(base, 'DELETE', path, undefined, { 'if-match': String(changed.headers.etag) })).status).toBe(404);
  });

  it('answers 409 NotConfiguredException where rules cannot change at run time', async () => {
    // Rules without a store of their own: an admin app served on a real port, as the proxy does.
    const database = await openDatabase({ kind: 'sqlite', path: join(dir, 'no-rules-store.db') });
    const rules = new ReplicationRules({ destinations: ['local'], configRules: [{ tables: ['**'], exclude: [] }], logger });
    const server = await listen(requestListener(createAdminApp(new OutboxStore(database), { destinations: ['local'], rules, logger }).fetch), '127.0.0.1', 0);
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const answer = await exchange(url, 'POST', '/admin/v1/replication/rules', { tables: ['spec.*'] });
      expect([answer.status, errorTypeOf(answer)]).toEqual([409, 'NotConfiguredException']);
    } finally {
      await new Promise((done) => server.close(done));
      await database.close();
    }
  });

  it('answers health, metrics and the status page as documented', async () => {
    expect((await exchange(base, 'GET', '/healthz')).status).toBe(200);
    expect((await exchange(base, 'GET', '/readyz')).status).toBe(200);
    expect((await exchange(detached.url, 'GET', '/healthz')).status).toBe(200);
    expect((await exchange(detached.url, 'GET', '/readyz')).status).toBe(503);
    expect((await exchange(base, 'GET', '/metrics')).body).toContain('icerelay_outbox_depth');
    expect((await exchange(base, 'GET', '/ui')).status).toBe(200);
    expect((await exchange(base, 'GET', '/ui/')).status).toBe(308);
    for (const asset of ['status.css', 'status.js']) expect((await exchange(base, 'GET', `/ui/${asset}`)).status).toBe(200);
    for (const asset of ['index.html', 'secrets.txt']) expect((await exchange(base, 'GET', `/ui/${asset}`)).status).toBe(404);
  });

  it('serves the API reference and the documents themselves, unchanged', async () => {
    const page = await exchange(base, 'GET', '/admin/docs');
    expect(page.body).toContain('docs/docs.js');
    for (const asset of ['docs.css', 'docs.js']) expect((await exchange(base, 'GET', `/admin/docs/${asset}`)).status).toBe(200);
    expect((await exchange(base, 'GET', '/admin/docs/secrets.txt')).status).toBe(404);
    const documents = bodyOf<Record<string, unknown>>(await exchange(base, 'GET', '/admin/docs/documents.json'));
    expect(documents).toEqual(JSON.parse(JSON.stringify(Object.fromEntries(loadDocuments()))));

    expect((await exchange(base, 'GET', '/admin/openapi.yaml')).body).toBe(await readFile(join(SPEC_DIR, 'openapi.yaml'), 'utf8'));
    expect(bodyOf(await exchange(base, 'GET', '/admin/openapi.json'))).toEqual(documents['openapi.yaml']);
    // What its references name is served beside it, so they resolve for a tool reading it from here.
    for (const file of SPEC_FILES.filter((f) => f !== MAIN_DOCUMENT)) {
      expect((await exchange(base, 'GET', `/admin/${file}`)).body).toBe(await readFile(join(SPEC_DIR, file), 'utf8'));
    }
  });

  it('answers the promotion routes as documented: refused while behind, promoted with force, listed', async () => {
    const promote = '/admin/v1/replication/promote';
    const listed = async () => bodyOf<{ promotions: { table: string | null }[] }>(await exchange(base, 'GET', '/admin/v1/replication/promotions')).promotions;
    expect(await listed()).toEqual([]);
    const op = contract.findOperation('POST', promote, 'root')!;
    for (const bad of [{}, { destination: 'local', table: 'events' }, { destination: 'local', force: 'yes' }, { destination: 'local', also: true }]) {
      expect(contract.checkRequestBody(op, bad), JSON.stringify(bad)).not.toEqual([]);
      expect((await exchange(base, 'POST', promote, bad)).status, JSON.stringify(bad)).toBe(400);
    }
    expect((await exchange(base, 'POST', promote, { destination: 'elsewhere' })).status).toBe(400);
    expect((await exchange(base, 'POST', promote, 'promote everything')).status).toBe(400);

    // Behind: its queue held while the source commits.
    expect((await exchange(base, 'POST', '/admin/v1/replication/pause', { destination: 'local', table: 'spec.events' })).status).toBe(200);
    expect((await exchange(base, 'POST', table('events'), { requirements: [], updates: [{ action: 'set-properties', updates: { stage: 'promoted' } }] })).status).toBe(200);
    const target = { destination: 'local', table: 'spec.events' };
    expect(contract.checkRequestBody(op, { ...target, force: true })).toEqual([]);
    const refused = await exchange(base, 'POST', promote, target);
    expect([refused.status, errorTypeOf(refused)]).toEqual([409, 'ReplicaBehindException']);
    expect((await exchange(base, 'POST', promote, { ...target, force: true })).status).toBe(200);
    expect((await listed()).map((p) => p.table)).toEqual(['spec.events']);
    const status = bodyOf<{ tables: { state: string }[] }>(await exchange(base, 'GET', '/admin/v1/replication/status?table=spec.events'));
    expect(status.tables.map((t) => t.state)).toEqual(['promoted']);
  });

  it('was seen giving every status and content type documented for its own operations', () => {
    const expected: string[] = [];
    for (const op of contract.ownOperations()) {
      const responses = contract.child(op.operation, 'responses');
      for (const status of Object.keys(responses.node)) {
        const types = Object.keys(contract.child(responses, status).node.content ?? { '(no body)': {} });
        for (const type of types) expected.push(`${op.method} ${op.template} ${status} ${type}`);
      }
    }
    const got = new Set(seen.filter((s) => s.operation.operation.file === MAIN_DOCUMENT)
      .map((s) => `${s.operation.method} ${s.operation.template} ${s.status} ${contract.child(s.operation.operation, 'responses', String(s.status)).node.content ? s.mediaType : '(no body)'}`));
    expect(expected.filter((e) => !got.has(e)), 'documented answers never seen: exercise them in this test').toEqual([]);
    // Every JSON answer checked was parsed as JSON: a wrong content type cannot slip through as text.
    expect(seen.filter((s) => isJsonMedia(s.mediaType)).length).toBeGreaterThan(50);
  });
});
