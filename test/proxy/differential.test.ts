/**
 * Differential test of the proxy: one deterministic sequence of Iceberg REST requests is sent to
 * an upstream U1 directly and, step by step, to a fresh upstream U2 of the same kind through the
 * proxy. Each step's status, headers and body must be the same on both paths, byte for byte, up
 * to what legitimately differs between two independent servers (see Normalizer in
 * test/helpers/differential-harness.ts: state-directory paths, UUIDs, wall-clock times, ETags
 * derived from UUID file names, gzip bodies compared decoded, Java identity hashes and
 * thread-pool stack frames). /v1/config is compared with the proxy's documented rewrite applied.
 * The one header the proxy adds, its request id, is checked and then left out of the comparison.
 *
 * Two kinds of upstream: the built-in catalog (in process) and Apache Iceberg's Java REST fixture
 * (conformance/fixture/start.sh; two JVMs on spare ports). The fixture part fails, never skips,
 * when Java or Maven are missing.
 *
 * The proxy records every mutation in its outbox: at the end, its entries must be exactly the
 * corpus's mutations, in order, committed where the upstream answered 2xx, rejected for a 4xx,
 * and never committed for a 5xx; committed entries carry the metadata location of their answer.
 *
 * Mutations are also sent accepting gzip: the fixture (Jetty) then compresses its answers, and the
 * proxy must still read the metadata location from them.
 *
 * Requests that depend on earlier answers (a table's UUID in a requirement, an ETag, a page token,
 * a metadata location to register) are built on each path from that path's own earlier answers.
 */
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { loadServerConfig } from '../../src/config/server-config.ts';
import type { MutationKind } from '../../src/outbox/outbox.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { startProxyServer, type RunningProxy } from '../../src/proxy/proxy-server.ts';
import { startCatalogServer, type RunningServer } from '../../src/server/builtin-server.ts';
import { createLogger } from '../../src/util/logger.ts';
import { decodedBody, Normalizer, sendRaw, startJavaFixture, type Answer, type JavaFixture } from '../helpers/differential-harness.ts';
import { freePort } from '../helpers/free-port.ts';
import { createTableRequest, createViewRequest } from '../helpers/iceberg-requests.ts';

const logger = createLogger({ level: 'silent' });

type Kind = 'builtin' | 'fixture';

/** What one path (direct or proxied) has seen so far. */
class Side {
  readonly saved = new Map<string, Answer>();

  answer(key: string): Answer {
    const a = this.saved.get(key);
    if (!a) throw new Error(`step needs the saved answer '${key}', which an earlier step did not produce`);
    return a;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of an earlier answer, read by field
  json(key: string): any {
    return JSON.parse(decodedBody(this.answer(key)).toString('utf8'));
  }

  tableUuid(key: string): string {
    return this.json(key).metadata['table-uuid'] as string;
  }

  viewUuid(key: string): string {
    return this.json(key).metadata['view-uuid'] as string;
  }
}

type Dyn<T> = T | ((s: Side) => T);

interface Step {
  name: string;
  method: 'GET' | 'HEAD' | 'POST' | 'DELETE';
  target: Dyn<string>;
  /** A string is sent as is (malformed JSON, say); an object as JSON; a function builds either from earlier answers. */
  body?: string | Record<string, unknown> | ((s: Side) => string | Record<string, unknown>);
  headers?: Dyn<Record<string, string>>;
  /** The spec route this step exercises (`METHOD /v1/{prefix}/...`), for the coverage check. */
  route?: string;
  /** Set when the request changes catalog state: the outbox entry kind the proxy must record. */
  mutation?: MutationKind;
  /** The status this step is written to get (checked on the direct path: the corpus does what it says). */
  expect?: number | Partial<Record<Kind, number>>;
  /** Keep the answer (on each path) for later steps. */
  save?: string;
  /** `config`: the known /v1/config differences are asserted instead of byte equality. */
  compare?: 'config';
  /**
   * A retry of the previous step with the same Idempotency-Key: where the upstream honours keys
   * (advertises a lifetime), the proxy records it as the previous step's entry, not a new one.
   */
  retryOfPrevious?: Partial<Record<Kind, boolean>>;
}

/** What PyIceberg (requests) sends on every call; Jetty then compresses. */
const GZIP = { 'accept-encoding': 'gzip, deflate' };

/** A success without a body: the built-in catalog answers 204, the Java fixture 200 with an empty body. */
const NO_CONTENT = { builtin: 204, fixture: 200 };

/** A body the server cannot parse: 400 from the built-in catalog; the Java fixture fails with a 500 (a Jetty error page). */
const UNPARSED = { builtin: 400, fixture: 500 };

/**
 * The proxy answers every request with its id (src/proxy/request-log.ts): a new UUID, as the
 * corpus sends none. Checked, then set aside, so that every other header is compared as before.
 */
function withoutRequestId(answer: Answer): Answer {
  expect(answer.headers['x-request-id'], 'the proxy\'s request id').toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const headers = { ...answer.headers };
  delete headers['x-request-id'];
  return { ...answer, headers };
}

const dyn = <T>(value: Dyn<T>, s: Side): T => (typeof value === 'function' ? (value as (s: Side) => T)(s) : value);

// --- the corpus ----------------------------------------------------------------------------------

const R = {
  config: 'GET /v1/config',
  listNs: 'GET /v1/{prefix}/namespaces',
  createNs: 'POST /v1/{prefix}/namespaces',
  loadNs: 'GET /v1/{prefix}/namespaces/{namespace}',
  headNs: 'HEAD /v1/{prefix}/namespaces/{namespace}',
  dropNs: 'DELETE /v1/{prefix}/namespaces/{namespace}',
  nsProps: 'POST /v1/{prefix}/namespaces/{namespace}/properties',
  listTables: 'GET /v1/{prefix}/namespaces/{namespace}/tables',
  createTable: 'POST /v1/{prefix}/namespaces/{namespace}/tables',
  register: 'POST /v1/{prefix}/namespaces/{namespace}/register',
  loadTable: 'GET /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  headTable: 'HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  commitTable: 'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  dropTable: 'DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  unregister: 'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/unregister',
  credentials: 'GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/credentials',
  metrics: 'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics',
  renameTable: 'POST /v1/{prefix}/tables/rename',
  transaction: 'POST /v1/{prefix}/transactions/commit',
  listViews: 'GET /v1/{prefix}/namespaces/{namespace}/views',
  createView: 'POST /v1/{prefix}/namespaces/{namespace}/views',
  loadView: 'GET /v1/{prefix}/namespaces/{namespace}/views/{view}',
  headView: 'HEAD /v1/{prefix}/namespaces/{namespace}/views/{view}',
  replaceView: 'POST /v1/{prefix}/namespaces/{namespace}/views/{view}',
  dropView: 'DELETE /v1/{prefix}/namespaces/{namespace}/views/{view}',
  renameView: 'POST /v1/{prefix}/views/rename',
  registerView: 'POST /v1/{prefix}/namespaces/{namespace}/register-view',
} as const;

/** Namespace `diff` + `ünï 🧊` (a two-level namespace), `%1F`-joined; `+` and `%20` spell the space. */
const NESTED_PLUS = 'diff%1F%C3%BCn%C3%AF+%F0%9F%A7%8A';
const NESTED_20 = 'diff%1F%C3%BCn%C3%AF%20%F0%9F%A7%8A';
const NESTED = ['diff', 'ünï 🧊'];

/** Columns of the wide table: enough that its load result is over 1 MB. */
const WIDE_COLUMNS = 14_000;
const wideSchema = () => ({
  type: 'struct',
  'schema-id': 0,
  fields: Array.from({ length: WIDE_COLUMNS }, (_, i) => ({
    id: i + 1, name: `a_rather_long_column_name_number_${String(i).padStart(5, '0')}`, type: i % 2 ? 'string' : 'long', required: false,
  })),
});

/** An `add-snapshot` update (format v2); the time is now, as the fixture refuses snapshots older than the table's last change. */
const addSnapshot = (snapshotId: number, parent: number | null, sequence: number) => ({
  action: 'add-snapshot',
  snapshot: {
    'snapshot-id': snapshotId,
    ...(parent === null ? {} : { 'parent-snapshot-id': parent }),
    'sequence-number': sequence,
    'timestamp-ms': Date.now(),
    'manifest-list': `file:///nowhere/snap-${snapshotId}.avro`,
    summary: { operation: 'append' },
    'schema-id': 0,
  },
});
const setProps = (updates: Record<string, string>) => ({ action: 'set-properties', updates });
const id = (namespace: string[], name: string) => ({ namespace, name });
const zeroUuid = '00000000-0000-0000-0000-000000000000';

/** A scan report, as Java clients send it after planning a scan. */
const scanReport = (table: string) => ({
  'report-type': 'scan-report',
  'table-name': table,
  'snapshot-id': 1,
  filter: true,
  'schema-id': 0,
  'projected-field-ids': [1, 2],
  'projected-field-names': ['id', 'data'],
  metrics: { 'total-planning-duration': { count: 1, 'time-unit': 'nanoseconds', 'total-duration': 2644235116 } },
});

/** The updates a Java client commits to finish a staged create (RESTSessionCatalog's create transaction). */
function stagedCreateUpdates(s: Side) {
  const m = s.json('staged').metadata;
  return [
    { action: 'assign-uuid', uuid: m['table-uuid'] },
    { action: 'upgrade-format-version', 'format-version': m['format-version'] },
    { action: 'add-schema', schema: m.schemas[0], 'last-column-id': m['last-column-id'] },
    { action: 'set-current-schema', 'schema-id': -1 },
    { action: 'add-spec', spec: m['partition-specs'][0] },
    { action: 'set-default-spec', 'spec-id': -1 },
    { action: 'add-sort-order', 'sort-order': m['sort-orders'][0] },
    { action: 'set-default-sort-order', 'sort-order-id': -1 },
    { action: 'set-location', location: m.location },
    setProps(m.properties),
  ];
}

const viewVersion = (versionId: number, sql: string) => ({
  'version-id': versionId,
  'timestamp-ms': 1_700_000_100_000 + versionId,
  'schema-id': 0,
  summary: { 'engine-name': 'tests' },
  representations: [{ type: 'sql', sql, dialect: 'spark' }],
  'default-namespace': ['diff'],
});

const corpus: Step[] = [
  // config
  { name: 'config', method: 'GET', target: '/v1/config', route: R.config, expect: 200, compare: 'config' },
  { name: 'config, gzip accepted', method: 'GET', target: '/v1/config', headers: GZIP, expect: 200, compare: 'config' },

  // namespaces
  { name: 'create namespace', method: 'POST', target: '/v1/namespaces', body: { namespace: ['diff'], properties: { owner: 'me', 'ünï': '🧊' } }, route: R.createNs, mutation: 'create-namespace', expect: 200 },
  { name: 'create namespace again: 409 AlreadyExists', method: 'POST', target: '/v1/namespaces', body: { namespace: ['diff'] }, mutation: 'create-namespace', expect: 409 },
  { name: 'create a nested namespace with unicode, emoji and a space', method: 'POST', target: '/v1/namespaces', body: { namespace: NESTED }, mutation: 'create-namespace', expect: 200 },
  { name: 'create namespace with a space', method: 'POST', target: '/v1/namespaces', body: { namespace: ['odd space'] }, mutation: 'create-namespace', expect: 200 },
  { name: 'create namespace with a dot', method: 'POST', target: '/v1/namespaces', body: { namespace: ['dot.ted'] }, mutation: 'create-namespace', expect: 200 },
  { name: 'create namespace with malformed JSON: 400 (the fixture: 500)', method: 'POST', target: '/v1/namespaces', body: '{"namespace": [', mutation: 'create-namespace', expect: UNPARSED },
  { name: 'create namespace with an empty body: 400 (the fixture: 500)', method: 'POST', target: '/v1/namespaces', body: '', mutation: 'create-namespace', expect: UNPARSED },
  { name: 'create namespace with an Idempotency-Key', method: 'POST', target: '/v1/namespaces', body: { namespace: ['idem'] }, headers: { 'idempotency-key': '01936e6c-0000-7000-8000-000000000001' }, mutation: 'create-namespace', expect: 200 },
  { name: 'the same request and Idempotency-Key again: replayed (the fixture: 409)', method: 'POST', target: '/v1/namespaces', body: { namespace: ['idem'] }, headers: { 'idempotency-key': '01936e6c-0000-7000-8000-000000000001' }, mutation: 'create-namespace', expect: { builtin: 200, fixture: 409 }, retryOfPrevious: { builtin: true } },
  { name: 'list namespaces', method: 'GET', target: '/v1/namespaces', route: R.listNs, expect: 200 },
  { name: 'list namespaces, gzip accepted', method: 'GET', target: '/v1/namespaces', headers: GZIP, expect: 200 },
  { name: 'list namespaces, empty pageToken', method: 'GET', target: '/v1/namespaces?pageToken=', expect: 200 },
  { name: 'list namespaces, page 1 of size 2', method: 'GET', target: '/v1/namespaces?pageSize=2', expect: 200, save: 'ns-page-1' },
  {
    name: 'list namespaces, page 2 of size 2', method: 'GET', expect: 200, save: 'ns-page-2',
    target: (s) => `/v1/namespaces?pageSize=2&pageToken=${encodeURIComponent(s.json('ns-page-1')['next-page-token'] ?? '')}`,
  },
  {
    name: 'list namespaces, page 3 of size 2', method: 'GET', expect: 200,
    target: (s) => `/v1/namespaces?pageSize=2&pageToken=${encodeURIComponent(s.json('ns-page-2')['next-page-token'] ?? '')}`,
  },
  { name: 'list namespaces, pageSize=0: 400', method: 'GET', target: '/v1/namespaces?pageSize=0' },
  { name: 'list child namespaces', method: 'GET', target: '/v1/namespaces?parent=diff', expect: 200 },
  { name: 'list child namespaces, parent %1F-encoded', method: 'GET', target: `/v1/namespaces?parent=${NESTED_20}`, expect: 200 },
  { name: 'load namespace', method: 'GET', target: '/v1/namespaces/diff', route: R.loadNs, expect: 200 },
  { name: 'load nested namespace (+ for the space)', method: 'GET', target: `/v1/namespaces/${NESTED_PLUS}`, expect: 200 },
  { name: 'load nested namespace (%20 for the space)', method: 'GET', target: `/v1/namespaces/${NESTED_20}`, expect: 200 },
  { name: 'load namespace spelled odd+space', method: 'GET', target: '/v1/namespaces/odd+space', expect: 200 },
  { name: 'load namespace with a dot, raw', method: 'GET', target: '/v1/namespaces/dot.ted' },
  { name: 'load namespace with a dot, %2E', method: 'GET', target: '/v1/namespaces/dot%2Eted' },
  { name: 'load a missing namespace: 404', method: 'GET', target: '/v1/namespaces/missing', expect: 404 },
  { name: 'HEAD namespace', method: 'HEAD', target: '/v1/namespaces/diff', route: R.headNs, expect: NO_CONTENT },
  { name: 'HEAD nested namespace', method: 'HEAD', target: `/v1/namespaces/${NESTED_PLUS}`, expect: NO_CONTENT },
  { name: 'HEAD missing namespace: 404', method: 'HEAD', target: '/v1/namespaces/missing', expect: 404 },
  {
    name: 'update namespace properties', method: 'POST', target: '/v1/namespaces/diff/properties', route: R.nsProps, mutation: 'update-namespace-properties', expect: 200,
    body: { removals: ['owner', 'never-set'], updates: { team: 'relay', 'ünï': 'changed' } },
  },
  { name: 'update properties of a missing namespace: 404', method: 'POST', target: '/v1/namespaces/missing/properties', body: { updates: { a: 'b' } }, mutation: 'update-namespace-properties', expect: 404 },
  { name: 'update properties: a key both removed and set: 422', method: 'POST', target: '/v1/namespaces/diff/properties', body: { removals: ['x'], updates: { x: 'y' } }, mutation: 'update-namespace-properties', expect: 422 },
  { name: 'load namespace after the update', method: 'GET', target: '/v1/namespaces/diff', expect: 200 },

  // tables
  { name: 'create table', method: 'POST', target: '/v1/namespaces/diff/tables', body: createTableRequest('t'), route: R.createTable, mutation: 'create-table', expect: 200, save: 't-created' },
  { name: 'create the same table again: 409 AlreadyExists', method: 'POST', target: '/v1/namespaces/diff/tables', body: createTableRequest('t'), mutation: 'create-table', expect: 409 },
  { name: 'create table in a missing namespace: 404', method: 'POST', target: '/v1/namespaces/missing/tables', body: createTableRequest('t'), mutation: 'create-table', expect: 404 },
  { name: 'create table with malformed JSON: 400 (the fixture: 500)', method: 'POST', target: '/v1/namespaces/diff/tables', body: '{"name": "broken", "schema": ', mutation: 'create-table', expect: UNPARSED },
  { name: 'create table without a schema: 400', method: 'POST', target: '/v1/namespaces/diff/tables', body: { name: 'noschema' }, mutation: 'create-table', expect: 400 },
  { name: 'create table u (for transactions)', method: 'POST', target: '/v1/namespaces/diff/tables', body: createTableRequest('u'), mutation: 'create-table', expect: 200, save: 'u-created' },
  { name: 'stage-create a table (not a mutation yet)', method: 'POST', target: '/v1/namespaces/diff/tables', body: { ...createTableRequest('staged'), 'stage-create': true }, expect: 200, save: 'staged' },
  { name: 'a staged table does not exist yet: 404', method: 'GET', target: '/v1/namespaces/diff/tables/staged', expect: 404 },
  {
    name: 'commit the staged create (assert-create)', method: 'POST', target: '/v1/namespaces/diff/tables/staged', mutation: 'commit-table', expect: 200,
    body: (s) => ({ identifier: id(['diff'], 'staged'), requirements: [{ type: 'assert-create' }], updates: stagedCreateUpdates(s) }),
  },
  {
    name: 'commit the staged create again: 409', method: 'POST', target: '/v1/namespaces/diff/tables/staged', mutation: 'commit-table', expect: 409,
    body: (s) => ({ identifier: id(['diff'], 'staged'), requirements: [{ type: 'assert-create' }], updates: stagedCreateUpdates(s) }),
  },
  { name: 'list tables', method: 'GET', target: '/v1/namespaces/diff/tables', route: R.listTables, expect: 200 },
  { name: 'list tables, empty pageToken', method: 'GET', target: '/v1/namespaces/diff/tables?pageToken=', expect: 200 },
  { name: 'list tables, page 1 of size 1', method: 'GET', target: '/v1/namespaces/diff/tables?pageToken=&pageSize=1', expect: 200, save: 'tables-page-1' },
  {
    name: 'list tables, page 2 of size 1', method: 'GET', expect: 200,
    target: (s) => `/v1/namespaces/diff/tables?pageSize=1&pageToken=${encodeURIComponent(s.json('tables-page-1')['next-page-token'] ?? '')}`,
  },
  { name: 'list tables of a missing namespace: 404', method: 'GET', target: '/v1/namespaces/missing/tables', expect: 404 },
  { name: 'load table', method: 'GET', target: '/v1/namespaces/diff/tables/t', route: R.loadTable, expect: 200, save: 't-loaded' },
  { name: 'load table, snapshots=all', method: 'GET', target: '/v1/namespaces/diff/tables/t?snapshots=all', expect: 200 },
  { name: 'load table, snapshots=refs', method: 'GET', target: '/v1/namespaces/diff/tables/t?snapshots=refs', expect: 200 },
  { name: 'load table, snapshots=bogus', method: 'GET', target: '/v1/namespaces/diff/tables/t?snapshots=bogus' },
  {
    name: 'conditional load with the current ETag: 304 (built-in)', method: 'GET', target: '/v1/namespaces/diff/tables/t', expect: { builtin: 304 },
    headers: (s) => ({ 'if-none-match': s.answer('t-loaded').headers.etag ?? '*' }),
  },
  { name: 'conditional load with a stale ETag: 200', method: 'GET', target: '/v1/namespaces/diff/tables/t', headers: { 'if-none-match': '"stale"' }, expect: 200 },
  { name: 'HEAD table', method: 'HEAD', target: '/v1/namespaces/diff/tables/t', route: R.headTable, expect: NO_CONTENT },
  { name: 'HEAD missing table: 404', method: 'HEAD', target: '/v1/namespaces/diff/tables/missing', expect: 404 },
  { name: 'load a missing table: 404 NoSuchTable', method: 'GET', target: '/v1/namespaces/diff/tables/missing', expect: 404 },
  { name: 'load a table of a missing namespace: 404', method: 'GET', target: '/v1/namespaces/missing/tables/t', expect: 404 },
  {
    name: 'commit: add a snapshot on main', method: 'POST', target: '/v1/namespaces/diff/tables/t', route: R.commitTable, mutation: 'commit-table', expect: 200,
    body: (s) => ({
      requirements: [{ type: 'assert-table-uuid', uuid: s.tableUuid('t-created') }, { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null }],
      updates: [addSnapshot(1001, null, 1), { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': 1001 }],
    }),
  },
  {
    name: 'commit: a second snapshot on main, a tag on the first', method: 'POST', target: '/v1/namespaces/diff/tables/t', mutation: 'commit-table', expect: 200,
    body: () => ({
      requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 1001 }],
      updates: [
        addSnapshot(1002, 1001, 2), { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': 1002 },
        { action: 'set-snapshot-ref', 'ref-name': 'first', type: 'tag', 'snapshot-id': 1001 },
      ],
    }),
  },
  {
    name: 'commit: a snapshot no ref points at', method: 'POST', target: '/v1/namespaces/diff/tables/t', mutation: 'commit-table', expect: 200,
    body: () => ({ requirements: [], updates: [addSnapshot(1003, 1002, 3)] }),
  },
  { name: 'commit: properties', method: 'POST', target: '/v1/namespaces/diff/tables/t', mutation: 'commit-table', expect: 200, body: { requirements: [], updates: [setProps({ 'commit.retry.num-retries': '3', 'ünï': '🧊' })] }, save: 't-committed' },
  { name: 'commit: properties, gzip accepted', method: 'POST', target: '/v1/namespaces/diff/tables/t', mutation: 'commit-table', expect: 200, headers: GZIP, body: { requirements: [], updates: [setProps({ gzip: 'yes' })] } },
  { name: 'load table, gzip accepted', method: 'GET', target: '/v1/namespaces/diff/tables/t', headers: GZIP, expect: 200 },
  {
    name: 'commit with a wrong table UUID: 409 CommitFailed', method: 'POST', target: '/v1/namespaces/diff/tables/t', mutation: 'commit-table', expect: 409,
    body: { requirements: [{ type: 'assert-table-uuid', uuid: zeroUuid }], updates: [setProps({ never: 'applied' })] },
  },
  {
    name: 'commit with a stale ref requirement: 409 CommitFailed', method: 'POST', target: '/v1/namespaces/diff/tables/t', mutation: 'commit-table', expect: 409,
    body: { requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 1001 }], updates: [setProps({ never: 'applied' })] },
  },
  { name: 'commit to a missing table: 404', method: 'POST', target: '/v1/namespaces/diff/tables/missing', mutation: 'commit-table', expect: 404, body: { requirements: [], updates: [setProps({ a: 'b' })] } },
  { name: 'commit with malformed JSON: 400 (the fixture: 500)', method: 'POST', target: '/v1/namespaces/diff/tables/t', mutation: 'commit-table', body: '{"requirements": [], "updates": [', expect: UNPARSED },
  { name: 'commit with an unknown update action: 400 (the fixture: 500)', method: 'POST', target: '/v1/namespaces/diff/tables/t', mutation: 'commit-table', body: { requirements: [], updates: [{ action: 'no-such-action' }] }, expect: UNPARSED },
  { name: 'load table after the commits, snapshots=all', method: 'GET', target: '/v1/namespaces/diff/tables/t', expect: 200, save: 't-after' },
  { name: 'load table after the commits, snapshots=refs', method: 'GET', target: '/v1/namespaces/diff/tables/t?snapshots=refs', expect: 200, save: 't-after-refs' },
  {
    name: 'conditional load with the pre-commit ETag: 200', method: 'GET', target: '/v1/namespaces/diff/tables/t', expect: 200,
    headers: (s) => ({ 'if-none-match': s.answer('t-loaded').headers.etag ?? '"none"' }),
  },
  {
    name: 'conditional load (refs) with its current ETag: 304 (built-in)', method: 'GET', target: '/v1/namespaces/diff/tables/t?snapshots=refs', expect: { builtin: 304 },
    headers: (s) => ({ 'if-none-match': s.answer('t-after-refs').headers.etag ?? '*' }),
  },
  { name: 'table credentials', method: 'GET', target: '/v1/namespaces/diff/tables/t/credentials', route: R.credentials, expect: { builtin: 200 } },
  { name: 'report metrics', method: 'POST', target: '/v1/namespaces/diff/tables/t/metrics', body: scanReport('diff.t'), route: R.metrics, expect: { builtin: 204 } },
  { name: 'report metrics of a missing table', method: 'POST', target: '/v1/namespaces/diff/tables/missing/metrics', body: scanReport('diff.missing') },

  // multi-table transactions
  {
    name: 'transaction over t and u', method: 'POST', target: '/v1/transactions/commit', route: R.transaction, mutation: 'commit-transaction', expect: NO_CONTENT,
    body: (s) => ({
      'table-changes': [
        { identifier: id(['diff'], 't'), requirements: [{ type: 'assert-table-uuid', uuid: s.tableUuid('t-created') }], updates: [setProps({ txn: '1' })] },
        { identifier: id(['diff'], 'u'), requirements: [{ type: 'assert-table-uuid', uuid: s.tableUuid('u-created') }], updates: [setProps({ txn: '1' })] },
      ],
    }),
  },
  {
    name: 'transaction with one failing requirement: 409, nothing applied', method: 'POST', target: '/v1/transactions/commit', mutation: 'commit-transaction', expect: 409,
    body: (s) => ({
      'table-changes': [
        { identifier: id(['diff'], 't'), requirements: [{ type: 'assert-table-uuid', uuid: s.tableUuid('t-created') }], updates: [setProps({ txn: '2' })] },
        { identifier: id(['diff'], 'u'), requirements: [{ type: 'assert-table-uuid', uuid: zeroUuid }], updates: [setProps({ txn: '2' })] },
      ],
    }),
  },
  { name: 'load u after the transactions', method: 'GET', target: '/v1/namespaces/diff/tables/u', expect: 200 },

  // register, rename, drop
  {
    name: 'register a table from t\'s metadata file', method: 'POST', target: '/v1/namespaces/diff/register', route: R.register, mutation: 'register-table', expect: 200,
    body: (s) => ({ name: 'reg', 'metadata-location': s.json('t-after')['metadata-location'] }),
  },
  {
    name: 'register under a taken name: 409', method: 'POST', target: '/v1/namespaces/diff/register', mutation: 'register-table', expect: 409,
    body: (s) => ({ name: 'reg', 'metadata-location': s.json('t-after')['metadata-location'] }),
  },
  { name: 'rename reg to renamed', method: 'POST', target: '/v1/tables/rename', route: R.renameTable, mutation: 'rename-table', expect: NO_CONTENT, body: { source: id(['diff'], 'reg'), destination: id(['diff'], 'renamed') } },
  { name: 'rename into another namespace', method: 'POST', target: '/v1/tables/rename', mutation: 'rename-table', expect: NO_CONTENT, body: { source: id(['diff'], 'renamed'), destination: id(['odd space'], 'moved') } },
  { name: 'rename a missing table: 404', method: 'POST', target: '/v1/tables/rename', mutation: 'rename-table', expect: 404, body: { source: id(['diff'], 'missing'), destination: id(['diff'], 'other') } },
  { name: 'rename onto an existing table: 409', method: 'POST', target: '/v1/tables/rename', mutation: 'rename-table', expect: 409, body: { source: id(['diff'], 'u'), destination: id(['diff'], 't') } },
  { name: 'load the moved table', method: 'GET', target: '/v1/namespaces/odd%20space/tables/moved', expect: 200 },
  { name: 'drop the moved table (no purge)', method: 'DELETE', target: '/v1/namespaces/odd+space/tables/moved', route: R.dropTable, mutation: 'drop-table', expect: NO_CONTENT },
  { name: 'drop it again: 404', method: 'DELETE', target: '/v1/namespaces/odd+space/tables/moved', mutation: 'drop-table', expect: 404 },
  { name: 'create table g, gzip accepted', method: 'POST', target: '/v1/namespaces/diff/tables', headers: GZIP, body: createTableRequest('g'), mutation: 'create-table', expect: 200 },
  { name: 'create table p', method: 'POST', target: '/v1/namespaces/diff/tables', body: createTableRequest('p'), mutation: 'create-table', expect: 200 },
  { name: 'drop p with purgeRequested=true', method: 'DELETE', target: '/v1/namespaces/diff/tables/p?purgeRequested=true', mutation: 'drop-table', expect: NO_CONTENT },
  { name: 'create table q', method: 'POST', target: '/v1/namespaces/diff/tables', body: createTableRequest('q'), mutation: 'create-table', expect: 200 },
  { name: 'drop q with purgeRequested=false', method: 'DELETE', target: '/v1/namespaces/diff/tables/q?purgeRequested=false', mutation: 'drop-table', expect: NO_CONTENT },
  { name: 'create table r', method: 'POST', target: '/v1/namespaces/diff/tables', body: createTableRequest('r'), mutation: 'create-table', expect: 200 },
  { name: 'unregister r', method: 'POST', target: '/v1/namespaces/diff/tables/r/unregister', route: R.unregister, mutation: 'unregister-table', expect: { builtin: 200 } },

  // odd names and encodings
  { name: 'create "a b" in the nested namespace', method: 'POST', target: `/v1/namespaces/${NESTED_PLUS}/tables`, body: createTableRequest('a b'), mutation: 'create-table', expect: 200 },
  { name: 'load a+b', method: 'GET', target: `/v1/namespaces/${NESTED_PLUS}/tables/a+b`, expect: 200 },
  { name: 'load a%20b, namespace with %20', method: 'GET', target: `/v1/namespaces/${NESTED_20}/tables/a%20b?snapshots=refs`, expect: 200 },
  { name: 'load a%2Bb (a table named "a+b": missing)', method: 'GET', target: `/v1/namespaces/${NESTED_PLUS}/tables/a%2Bb`, expect: 404 },
  { name: 'list tables of the nested namespace', method: 'GET', target: `/v1/namespaces/${NESTED_20}/tables?pageToken=`, expect: 200 },
  { name: 'create "ünï🧊"', method: 'POST', target: '/v1/namespaces/diff/tables', body: createTableRequest('ünï🧊'), mutation: 'create-table', expect: 200 },
  { name: 'load %C3%BCn%C3%AF%F0%9F%A7%8A', method: 'GET', target: '/v1/namespaces/diff/tables/%C3%BCn%C3%AF%F0%9F%A7%8A', expect: 200 },
  { name: 'load %c3%bcn%c3%af%f0%9f%a7%8a (lower-case escapes)', method: 'GET', target: '/v1/namespaces/diff/tables/%c3%bcn%c3%af%f0%9f%a7%8a', expect: 200 },
  { name: 'create "x/y"', method: 'POST', target: '/v1/namespaces/diff/tables', body: createTableRequest('x/y'), mutation: 'create-table' },
  { name: 'load x%2Fy', method: 'GET', target: '/v1/namespaces/diff/tables/x%2Fy' },
  { name: 'commit to x%2Fy', method: 'POST', target: '/v1/namespaces/diff/tables/x%2Fy', mutation: 'commit-table', body: { requirements: [], updates: [setProps({ slash: 'yes' })] } },
  { name: 'create ".."', method: 'POST', target: '/v1/namespaces/diff/tables', body: createTableRequest('..'), mutation: 'create-table' },
  { name: 'load %2E%2E', method: 'GET', target: '/v1/namespaces/diff/tables/%2E%2E' },
  { name: 'load %2e%2E (mixed case)', method: 'GET', target: '/v1/namespaces/diff/tables/%2e%2E' },
  { name: 'create "t.dot"', method: 'POST', target: '/v1/namespaces/diff/tables', body: createTableRequest('t.dot'), mutation: 'create-table', expect: 200 },
  { name: 'load t%2Edot', method: 'GET', target: '/v1/namespaces/diff/tables/t%2Edot', expect: 200 },
  { name: 'load a table with a malformed escape: 400', method: 'GET', target: '/v1/namespaces/diff/tables/bad%ZZ' },
  { name: 'drop "a b" spelled a%20b', method: 'DELETE', target: `/v1/namespaces/${NESTED_20}/tables/a%20b`, mutation: 'drop-table', expect: NO_CONTENT },

  // views
  { name: 'create view', method: 'POST', target: '/v1/namespaces/diff/views', body: createViewRequest('v', ['diff'], 'SELECT id, data FROM t'), route: R.createView, mutation: 'create-view', expect: 200, save: 'v-created' },
  { name: 'create the same view again: 409', method: 'POST', target: '/v1/namespaces/diff/views', body: createViewRequest('v', ['diff']), mutation: 'create-view', expect: 409 },
  { name: 'create a view named like a table: 409', method: 'POST', target: '/v1/namespaces/diff/views', body: createViewRequest('t', ['diff']), mutation: 'create-view', expect: 409 },
  { name: 'create a table named like a view: 409', method: 'POST', target: '/v1/namespaces/diff/tables', body: createTableRequest('v'), mutation: 'create-table', expect: 409 },
  { name: 'create view w in the nested namespace', method: 'POST', target: `/v1/namespaces/${NESTED_PLUS}/views`, body: createViewRequest('w ü', NESTED), mutation: 'create-view', expect: 200 },
  { name: 'list views', method: 'GET', target: '/v1/namespaces/diff/views', route: R.listViews, expect: 200 },
  { name: 'list views, page of size 1', method: 'GET', target: '/v1/namespaces/diff/views?pageToken=&pageSize=1', expect: 200 },
  { name: 'load view', method: 'GET', target: '/v1/namespaces/diff/views/v', route: R.loadView, expect: 200 },
  { name: 'load nested view w+%C3%BC', method: 'GET', target: `/v1/namespaces/${NESTED_20}/views/w+%C3%BC`, expect: 200 },
  { name: 'HEAD view', method: 'HEAD', target: '/v1/namespaces/diff/views/v', route: R.headView, expect: NO_CONTENT },
  { name: 'HEAD missing view: 404', method: 'HEAD', target: '/v1/namespaces/diff/views/missing', expect: 404 },
  { name: 'load a missing view: 404', method: 'GET', target: '/v1/namespaces/diff/views/missing', expect: 404 },
  {
    name: 'replace view: a new version', method: 'POST', target: '/v1/namespaces/diff/views/v', route: R.replaceView, mutation: 'replace-view', expect: 200,
    body: (s) => ({
      requirements: [{ type: 'assert-view-uuid', uuid: s.viewUuid('v-created') }],
      updates: [{ action: 'add-view-version', 'view-version': viewVersion(2, 'SELECT id FROM t') }, { action: 'set-current-view-version', 'view-version-id': -1 }, setProps({ replaced: 'yes' })],
    }),
  },
  {
    name: 'replace view with a wrong UUID: 409', method: 'POST', target: '/v1/namespaces/diff/views/v', mutation: 'replace-view', expect: 409,
    body: { requirements: [{ type: 'assert-view-uuid', uuid: zeroUuid }], updates: [setProps({ never: 'applied' })] },
  },
  { name: 'replace a missing view: 404', method: 'POST', target: '/v1/namespaces/diff/views/missing', mutation: 'replace-view', expect: 404, body: { requirements: [], updates: [setProps({ a: 'b' })] } },
  { name: 'rename view v to v2', method: 'POST', target: '/v1/views/rename', route: R.renameView, mutation: 'rename-view', expect: NO_CONTENT, body: { source: id(['diff'], 'v'), destination: id(['diff'], 'v2') } },
  { name: 'rename a missing view: 404', method: 'POST', target: '/v1/views/rename', mutation: 'rename-view', expect: 404, body: { source: id(['diff'], 'v'), destination: id(['diff'], 'v3') } },
  { name: 'load v2', method: 'GET', target: '/v1/namespaces/diff/views/v2', expect: 200, save: 'v2' },
  {
    name: 'register a view from v2\'s metadata file', method: 'POST', target: '/v1/namespaces/diff/register-view', route: R.registerView, mutation: 'register-view', expect: { builtin: 200 },
    body: (s) => ({ name: 'vreg', 'metadata-location': s.json('v2')['metadata-location'] }),
  },
  { name: 'drop view v2', method: 'DELETE', target: '/v1/namespaces/diff/views/v2', route: R.dropView, mutation: 'drop-view', expect: NO_CONTENT },
  { name: 'drop view v2 again: 404', method: 'DELETE', target: '/v1/namespaces/diff/views/v2', mutation: 'drop-view', expect: 404 },

  // a large metadata response
  { name: `create a table with ${WIDE_COLUMNS} columns`, method: 'POST', target: '/v1/namespaces/diff/tables', body: { name: 'wide', schema: wideSchema() }, mutation: 'create-table', expect: 200 },
  { name: 'commit to the wide table', method: 'POST', target: '/v1/namespaces/diff/tables/wide', mutation: 'commit-table', expect: 200, body: { requirements: [], updates: [setProps({ wide: 'yes' })] } },
  { name: 'load the wide table (over 1 MB)', method: 'GET', target: '/v1/namespaces/diff/tables/wide', expect: 200, save: 'wide' },
  { name: 'load the wide table, gzip accepted', method: 'GET', target: '/v1/namespaces/diff/tables/wide', headers: GZIP, expect: 200 },
  { name: 'load the wide table, snapshots=refs', method: 'GET', target: '/v1/namespaces/diff/tables/wide?snapshots=refs', expect: 200 },

  // routes that do not exist, methods that are not allowed
  { name: 'unknown route', method: 'GET', target: '/v1/nope', expect: { builtin: 404 } },
  { name: 'unknown route outside /v1', method: 'GET', target: '/nope' },
  { name: 'unknown route under a namespace', method: 'GET', target: '/v1/namespaces/diff/whatever' },
  { name: 'method not allowed on /v1/config', method: 'DELETE', target: '/v1/config' },
  { name: 'POST on a namespace (no such route)', method: 'POST', target: '/v1/namespaces/diff', body: {} },

  // namespace drops
  { name: 'drop a non-empty namespace: 409', method: 'DELETE', target: '/v1/namespaces/diff', route: R.dropNs, mutation: 'drop-namespace', expect: 409 },
  { name: 'drop the namespace with a dot via %2E', method: 'DELETE', target: '/v1/namespaces/dot%2Eted', mutation: 'drop-namespace' },
  { name: 'drop odd space (spelled %20)', method: 'DELETE', target: '/v1/namespaces/odd%20space', mutation: 'drop-namespace', expect: NO_CONTENT },
  { name: 'drop odd space again: 404', method: 'DELETE', target: '/v1/namespaces/odd+space', mutation: 'drop-namespace', expect: 404 },
  { name: 'list namespaces at the end', method: 'GET', target: '/v1/namespaces', expect: 200 },
  { name: 'list tables at the end', method: 'GET', target: '/v1/namespaces/diff/tables', expect: 200 },
];

// --- comparison ----------------------------------------------------------------------------------

/** Undefined when equal; else where the two texts first differ, with some context. */
function firstDifference(direct: string, proxied: string): string | undefined {
  if (direct === proxied) return undefined;
  let i = 0;
  while (i < direct.length && direct[i] === proxied[i]) i++;
  const around = (s: string) => JSON.stringify(s.slice(Math.max(0, i - 120), i + 120));
  return `bodies differ at character ${i} (lengths ${direct.length} and ${proxied.length}):\n  direct:  ${around(direct)}\n  proxied: ${around(proxied)}`;
}

/** Keys of /v1/config the proxy points at itself (a client must keep calling the proxy). */
const CALLBACK_URL_KEYS = ['uri', 'oauth2-server-uri', 'signer.uri', 's3.signer.uri', 'signer.endpoint', 's3.signer.endpoint'];

interface Pair {
  /** U1, reached directly. */
  directUrl: string;
  /** The proxy in front of U2. */
  proxyUrl: string;
  upstreamUrl: string;
  directRoots: string[];
  proxiedRoots: string[];
  outbox: OutboxStore;
  close(): Promise<void>;
}

interface StepResult {
  step: Step;
  direct: Answer;
  proxied: Answer;
}

function differentialSuite(kind: Kind, setUp: () => Promise<Pair>) {
  let pair: Pair;
  let direct: Side;
  let proxied: Side;
  let normDirect: Normalizer;
  let normProxied: Normalizer;
  const results: StepResult[] = [];
  const advertised: string[] = [];
  // A set-up failure (no Java, say) fails the first test below, by name, instead of only the suite.
  let setUpError: unknown;

  beforeAll(async () => {
    try {
      pair = await setUp();
    } catch (error) {
      setUpError = error;
      return;
    }
    direct = new Side();
    proxied = new Side();
    normDirect = new Normalizer(pair.directRoots);
    normProxied = new Normalizer(pair.proxiedRoots);
  }, 600_000);

  it(`starts two ${kind === 'builtin' ? 'built-in catalogs' : 'Java REST fixtures'} and the proxy`, () => {
    if (setUpError) throw setUpError;
  });

  afterAll(async () => {
    await pair?.close();
  }, 120_000);

  async function send(side: Side, base: string, step: Step): Promise<Answer> {
    const body = step.body === undefined ? undefined : dyn(step.body, side);
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const answer = await sendRaw(base, step.method, dyn(step.target, side), text, step.headers ? dyn(step.headers, side) : {});
    if (step.save) side.saved.set(step.save, answer);
    return answer;
  }

  for (const step of corpus) {
    it(step.name, async (ctx) => {
      if (setUpError) ctx.skip();
      const d = await send(direct, pair.directUrl, step);
      const p = withoutRequestId(await send(proxied, pair.proxyUrl, step));
      results.push({ step, direct: d, proxied: p });
      const expected = typeof step.expect === 'number' ? step.expect : step.expect?.[kind];
      if (expected !== undefined) expect(d.status, `the direct answer, so the step tests what it says: ${d.body.toString('utf8').slice(0, 400)}`).toBe(expected);

      expect(p.status, `status (direct body: ${d.body.toString('utf8').slice(0, 300)}; proxied body: ${p.body.toString('utf8').slice(0, 300)})`).toBe(d.status);
      const encoded = d.headers['content-encoding'] !== undefined || p.headers['content-encoding'] !== undefined;
      const lengths = d.headers['content-length'] !== undefined && p.headers['content-length'] !== undefined && !encoded;
      if (step.compare === 'config') {
        const rewritten = compareConfig(d, p);
        // A rewritten config is re-serialized: its length may differ (and nothing else).
        expect(normProxied.headers(p.headers, lengths && !rewritten), 'headers').toEqual(normDirect.headers(d.headers, lengths && !rewritten));
        advertised.push(...(JSON.parse(decodedBody(d).toString('utf8')).endpoints as string[] ?? []));
        return;
      }
      expect(normProxied.headers(p.headers, lengths), 'headers').toEqual(normDirect.headers(d.headers, lengths));
      expect(firstDifference(normDirect.body(d), normProxied.body(p)), 'body').toBeUndefined();
      if (step.save === 'wide') expect(d.body.length).toBeGreaterThan(1024 * 1024);
    });
  }

  /**
   * /v1/config: equal but for the callback URLs the proxy points at itself (neither upstream here
   * advertises one, so then byte-equal). True when the config needed rewriting.
   */
  function compareConfig(d: Answer, p: Answer): boolean {
    const directConfig = JSON.parse(decodedBody(d).toString('utf8'));
    const proxiedConfig = JSON.parse(decodedBody(p).toString('utf8'));
    const rewritten = structuredClone(directConfig);
    for (const block of ['defaults', 'overrides'] as const) {
      rewritten[block] ??= {};
      for (const key of CALLBACK_URL_KEYS) {
        const value = rewritten[block][key];
        if (typeof value !== 'string') continue;
        if (key === 'uri') rewritten[block][key] = pair.proxyUrl;
        else if (value.startsWith(pair.upstreamUrl)) rewritten[block][key] = `${pair.proxyUrl}${value.slice(pair.upstreamUrl.length)}`;
      }
    }
    // The proxy forwards every route, so it must not filter `endpoints` (it may only drop routes it does not serve).
    expect(proxiedConfig).toEqual(rewritten);
    const needsRewrite = JSON.stringify(rewritten) !== JSON.stringify(directConfig);
    if (!needsRewrite) expect(firstDifference(normDirect.body(d), normProxied.body(p)), 'a config without callback URLs passes byte for byte').toBeUndefined();
    return needsRewrite;
  }

  it('covered every route the upstream advertises', (ctx) => {
    if (setUpError) ctx.skip();
    const covered = new Set(corpus.map((s) => s.route).filter((r): r is string => r !== undefined));
    const served = advertised.filter((e) => /^[A-Z]+ \/v1\//.test(e)); // the fixture also lists its OAuth token endpoints
    expect(served.length).toBeGreaterThan(10);
    expect(served.filter((e) => !covered.has(e))).toEqual([]);
  });

  it('recorded every mutation in the outbox, in order: committed for each 2xx, rejected for each 4xx', async (ctx) => {
    if (setUpError) ctx.skip();
    expect(results.length, 'every step ran').toBe(corpus.length);
    const mutations = results.filter((r) => r.step.mutation !== undefined && r.step.retryOfPrevious?.[kind] !== true);
    const entries = await pair.outbox.db.selectFrom('outbox_entries').select(['id', 'kind', 'status', 'request_method', 'request_path'])
      .orderBy('id').execute();
    expect(entries.map((e) => [e.kind, e.request_method, e.request_path]))
      .toEqual(mutations.map((r) => [r.step.mutation, r.step.method, dyn(r.step.target, proxied)]));
    // A 5xx leaves the outcome unknown until a read of the upstream settles it. The only 5xx here
    // are the fixture's answers to bodies it cannot parse (nothing applied), which no read can
    // settle: `unknown` or `rejected`, never `committed`.
    const allowed = (status: number) => (status < 300 ? ['committed'] : status < 500 ? ['rejected'] : ['unknown', 'rejected']);
    for (const [i, e] of entries.entries()) {
      expect(allowed(mutations[i]!.proxied.status), `entry ${e.id} (${e.kind} ${e.request_path}, answered ${mutations[i]!.proxied.status})`).toContain(e.status);
    }
    const successes = mutations.filter((r) => r.proxied.status < 300);
    expect(entries.filter((e) => e.status === 'committed').length, 'committed entries = successful mutations').toBe(successes.length);
    const mismatches = await metadataLocationMismatches(entries, successes, (r) => !acceptsGzip(r));
    expect(mismatches, 'each committed entry carries the metadata location its answer had (one entity), or none').toEqual([]);
  });

  // Jetty compresses when the client accepts it (as PyIceberg always does); the built-in never does.
  it('keeps the metadata location of a mutation answered gzip-compressed', async (ctx) => {
    if (setUpError) ctx.skip();
    const entries = await pair.outbox.db.selectFrom('outbox_entries').select(['id', 'kind', 'status', 'request_method', 'request_path'])
      .orderBy('id').execute();
    const successes = results.filter((r) => r.step.mutation !== undefined && r.step.retryOfPrevious?.[kind] !== true && r.proxied.status < 300);
    expect(successes.filter(acceptsGzip).length).toBeGreaterThan(0);
    expect(await metadataLocationMismatches(entries, successes, acceptsGzip)).toEqual([]);
  });

  const acceptsGzip = (r: StepResult) => r.step.headers === GZIP;

  /** Committed entries (among those `only` keeps) whose metadata locations are not what their answers said. */
  async function metadataLocationMismatches(entries: { id: number | bigint; kind: string; status: string; request_path: string }[], successes: StepResult[], only: (r: StepResult) => boolean) {
    const committed = entries.filter((e) => e.status === 'committed');
    const out: unknown[] = [];
    for (const [i, e] of committed.entries()) {
      if (!only(successes[i]!)) continue;
      const entry = (await pair.outbox.entry(Number(e.id)))!;
      const answer = decodedBody(successes[i]!.proxied).toString('utf8');
      const location = answer.startsWith('{') ? (JSON.parse(answer)['metadata-location'] ?? null) : null;
      const want = entry.entities.length === 1 ? [location] : entry.entities.map(() => null);
      if (JSON.stringify(entry.metadataLocations) !== JSON.stringify(want)) {
        out.push({ entry: Number(e.id), request: `${e.kind} ${e.request_path}`, recorded: entry.metadataLocations, answered: want });
      }
    }
    return out;
  }
}

// --- the two kinds of upstream ---------------------------------------------------------------------

async function tempDir(name: string): Promise<string> {
  return realpath(await mkdtemp(join(tmpdir(), `icerelay-${name}-`)));
}

async function proxyInFront(upstreamUrl: string, database: StateDatabase): Promise<{ proxy: RunningProxy; outbox: OutboxStore }> {
  const outbox = new OutboxStore(database);
  const proxy = await startProxyServer({
    host: '127.0.0.1', port: 0, upstreamUrl, upstreamTimeoutMs: 60_000, maxBodyBytes: 64 * 1024 * 1024, outbox, logger,
  });
  return { proxy, outbox };
}

describe('the proxy in front of the built-in catalog answers as the catalog does', { timeout: 120_000 }, () => {
  differentialSuite('builtin', async () => {
    const dir = await tempDir('differential');
    const start = async (name: string) => {
      const root = join(dir, name);
      await mkdir(root);
      const database = await openDatabase({ kind: 'sqlite', path: join(root, 'state.db') });
      const server = await startCatalogServer({ ...loadServerConfig({ ICERELAY_DATA_DIR: root }), port: 0 }, logger, database);
      return { root, database, server };
    };
    // Same-length names: locations then have the same length on both paths, so content-length compares.
    const u1 = await start('u1');
    const u2 = await start('u2');
    const { proxy, outbox } = await proxyInFront(u2.server.url, u2.database);
    const servers: RunningServer[] = [u1.server, u2.server];
    return {
      directUrl: u1.server.url,
      proxyUrl: proxy.url,
      upstreamUrl: u2.server.url,
      directRoots: [u1.root],
      proxiedRoots: [u2.root],
      outbox,
      close: async () => {
        await proxy.close();
        for (const s of servers) await s.close();
        await u1.database.close();
        await u2.database.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
});

describe('the proxy in front of Apache Iceberg\'s REST fixture answers as the fixture does', { timeout: 300_000 }, () => {
  differentialSuite('fixture', async () => {
    const dir = await tempDir('differential-fixture');
    const fixtures: JavaFixture[] = [];
    let database: StateDatabase | undefined;
    const close = async () => {
      for (const f of fixtures) await f.stop();
      await database?.close();
      await rm(dir, { recursive: true, force: true });
    };
    try {
      // One after the other: two JVMs starting at once on two cores time out more easily.
      fixtures.push(await startJavaFixture(await freePort(), join(dir, 'u1')));
      fixtures.push(await startJavaFixture(await freePort(), join(dir, 'u2')));
      database = await openDatabase({ kind: 'sqlite', path: join(dir, 'outbox.db') });
      const [u1, u2] = fixtures as [JavaFixture, JavaFixture];
      const { proxy, outbox } = await proxyInFront(u2.url, database);
      return {
        directUrl: u1.url,
        proxyUrl: proxy.url,
        upstreamUrl: u2.url,
        directRoots: [u1.stateDir],
        proxiedRoots: [u2.stateDir],
        outbox,
        close: async () => {
          await proxy.close();
          await close();
        },
      };
    } catch (error) {
      await close().catch(() => undefined);
      throw error;
    }
  });
});
