/**
 * Protocol checks for a read-only catalog (an Icerelay replica endpoint, say): /v1/config
 * advertises no write route, the reads work on what the catalog already holds, and every write
 * route answers 403 ForbiddenException with an Iceberg error body, changing nothing.
 *
 * The writes are tried so that they cannot harm a catalog that wrongly accepts them (pointed at a
 * writer by mistake, say): they create only names of their own, and change or drop only names
 * that do not exist (a read-only catalog refuses a write before it looks the name up). Whatever a
 * wrong acceptance created is removed again (cleanUpReadOnly), without purging any file.
 */
import { namespaceSegment } from './catalog-http.ts';
import { configCheck } from './config-check.ts';
import { checkPagination } from './list-pagination.ts';
import { CheckSkipped, expectAnswer, expectIcebergError, expectStatus, expectThat } from './protocol-assertions.ts';
import { requireEndpoint, type ProtocolCheck, type ProtocolContext } from './protocol-check.ts';

export interface ReadOnlyState extends ProtocolContext {
  /** Every top-level namespace, as listed before any write was tried. */
  namespaces?: string[][];
  /** A namespace the catalog holds, and a table in it when one was found. */
  sample?: { namespace: string[]; table?: string; metadataLocation?: string; etag?: string | null };
}

/** Routes that change a catalog, as /v1/config writes them; a read-only catalog advertises none. */
export const WRITE_ENDPOINTS = [
  'POST /v1/{prefix}/namespaces',
  'DELETE /v1/{prefix}/namespaces/{namespace}',
  'POST /v1/{prefix}/namespaces/{namespace}/properties',
  'POST /v1/{prefix}/namespaces/{namespace}/tables',
  'POST /v1/{prefix}/namespaces/{namespace}/register',
  'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/unregister',
  'POST /v1/{prefix}/tables/rename',
  'POST /v1/{prefix}/transactions/commit',
  'POST /v1/{prefix}/namespaces/{namespace}/views',
  'POST /v1/{prefix}/namespaces/{namespace}/views/{view}',
  'DELETE /v1/{prefix}/namespaces/{namespace}/views/{view}',
  'POST /v1/{prefix}/views/rename',
  'POST /v1/{prefix}/namespaces/{namespace}/register-view',
];

const PLACEHOLDER_NAMESPACE = ['icerelay_conformance_read_only'];
const PLACEHOLDER = 'icerelay_conformance_write';
const SCHEMA = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', type: 'long', required: false }] };
const VIEW_VERSION = {
  'version-id': 1, 'timestamp-ms': 0, 'schema-id': 0, summary: {}, 'default-namespace': [],
  representations: [{ type: 'sql', sql: 'select 1 as id', dialect: 'spark' }],
};

/** An existing namespace to create in (so that a refusal is not a missing namespace's 404). */
const nsOf = (s: ReadOnlyState) => s.sample?.namespace ?? PLACEHOLDER_NAMESPACE;
const nsPath = (s: ReadOnlyState) => `namespaces/${namespaceSegment(nsOf(s))}`;
const placeholderNsPath = `namespaces/${namespaceSegment(PLACEHOLDER_NAMESPACE)}`;
/** The sample table, for reads only. */
const sampleTablePath = (s: ReadOnlyState) => `${nsPath(s)}/tables/${encodeURIComponent(s.sample?.table ?? PLACEHOLDER)}`;
/** A table that does not exist, for writes that would change or drop one. */
const placeholderTablePath = (s: ReadOnlyState) => `${nsPath(s)}/tables/${PLACEHOLDER}_missing`;
const identifier = (s: ReadOnlyState, name: string) => ({ namespace: nsOf(s), name });

function requireSample(s: ReadOnlyState, what: 'namespace' | 'table'): void {
  if (!s.sample) throw new CheckSkipped('the catalog holds no namespace to read');
  if (what === 'table' && !s.sample.table) throw new CheckSkipped('the catalog holds no table to read');
}

/** A write that must be refused: 403 ForbiddenException with an Iceberg error body. */
function forbidden(name: string, method: string, route: (s: ReadOnlyState) => string, body?: (s: ReadOnlyState) => unknown): ProtocolCheck<ReadOnlyState> {
  return {
    name: `forbidden-${name}`,
    needs: ['config'],
    async run(s) {
      expectIcebergError(await s.http.route(method, route(s), { body: body?.(s) }), 403, ['ForbiddenException']);
    },
  };
}

/** Up to this many namespaces are looked into for a table to read. */
const NAMESPACES_SEARCHED = 20;

export const READ_ONLY_CHECKS: ProtocolCheck<ReadOnlyState>[] = [
  configCheck,
  {
    name: 'config-read-only',
    needs: ['config'],
    async run(s) {
      if (!s.endpoints) throw new CheckSkipped('/v1/config lists no endpoints, so clients assume the default set, writes included');
      const writes = WRITE_ENDPOINTS.filter((e) => s.endpoints!.has(e));
      expectThat(writes.length === 0, `GET /v1/config advertises write routes: ${writes.join(', ')}`);
    },
  },
  {
    name: 'namespace-list',
    needs: ['config'],
    async run(s) {
      const body = expectAnswer<{ namespaces: string[][] }>(await s.http.route('GET', 'namespaces'), 200, 'ListNamespacesResponse');
      s.namespaces = body.namespaces;
      for (const namespace of body.namespaces.slice(0, NAMESPACES_SEARCHED)) {
        const tables = expectAnswer<{ identifiers: { name: string }[] }>(
          await s.http.route('GET', `namespaces/${namespaceSegment(namespace)}/tables`), 200, 'ListTablesResponse');
        s.sample ??= { namespace };
        if (tables.identifiers[0]) {
          s.sample = { namespace, table: tables.identifiers[0].name };
          break;
        }
      }
    },
  },
  {
    name: 'namespace-load',
    needs: ['namespace-list'],
    async run(s) {
      requireSample(s, 'namespace');
      expectAnswer(await s.http.route('GET', nsPath(s)), 200, 'GetNamespaceResponse');
      if (!s.endpoints || s.endpoints.has('HEAD /v1/{prefix}/namespaces/{namespace}')) expectStatus(await s.http.route('HEAD', nsPath(s)), 204);
    },
  },
  {
    name: 'table-load',
    needs: ['namespace-list'],
    async run(s) {
      requireSample(s, 'table');
      const answer = await s.http.route('GET', sampleTablePath(s));
      const body = expectAnswer<{ 'metadata-location'?: string }>(answer, 200, 'LoadTableResult');
      s.sample!.metadataLocation = body['metadata-location'];
      s.sample!.etag = answer.headers.get('etag');
    },
  },
  {
    name: 'table-exists',
    needs: ['table-load'],
    async run(s) {
      requireEndpoint(s, 'HEAD', 'namespaces/{namespace}/tables/{table}');
      expectStatus(await s.http.route('HEAD', sampleTablePath(s)), 204);
    },
  },
  {
    name: 'table-etag',
    needs: ['table-load'],
    async run(s) {
      const etag = s.sample!.etag;
      if (!etag) throw new CheckSkipped('the catalog sends no ETag with loaded tables');
      const same = await s.http.route('GET', sampleTablePath(s), { headers: { 'if-none-match': etag } });
      expectStatus(same, 304);
      expectThat(same.text === '', `GET ${sampleTablePath(s)}: a 304 answer must have no body`);
    },
  },
  {
    name: 'namespace-missing',
    needs: ['config'],
    async run(s) {
      const missing = `namespaces/${namespaceSegment(['icerelay_conformance_missing'])}`;
      expectIcebergError(await s.http.route('GET', missing), 404, ['NoSuchNamespaceException']);
      expectIcebergError(await s.http.route('GET', `${missing}/tables`), 404, ['NoSuchNamespaceException']);
    },
  },
  {
    name: 'table-missing',
    needs: ['namespace-list'],
    async run(s) {
      requireSample(s, 'namespace');
      expectIcebergError(await s.http.route('GET', `${nsPath(s)}/tables/icerelay_conformance_missing`), 404, ['NoSuchTableException']);
    },
  },
  {
    name: 'namespace-list-pages',
    needs: ['namespace-list'],
    async run(s) {
      if ((s.namespaces ?? []).length < 2) throw new CheckSkipped('fewer than two namespaces to page through');
      await checkPagination(s, 'namespaces', 'namespaces', {}, 'ListNamespacesResponse', 2);
    },
  },
  forbidden('create-namespace', 'POST', () => 'namespaces', () => ({ namespace: PLACEHOLDER_NAMESPACE })),
  forbidden('drop-namespace', 'DELETE', () => `namespaces/${namespaceSegment([`${PLACEHOLDER}_missing`])}`),
  forbidden('update-namespace-properties', 'POST', () => `namespaces/${namespaceSegment([`${PLACEHOLDER}_missing`])}/properties`,
    () => ({ removals: [], updates: { [PLACEHOLDER]: 'x' } })),
  forbidden('create-table', 'POST', (s) => `${nsPath(s)}/tables`, () => ({ name: PLACEHOLDER, schema: SCHEMA })),
  forbidden('register-table', 'POST', (s) => `${nsPath(s)}/register`,
    (s) => ({ name: `${PLACEHOLDER}_registered`, 'metadata-location': s.sample?.metadataLocation ?? 'file:///nonexistent/metadata/00000.metadata.json' })),
  forbidden('commit-table', 'POST', placeholderTablePath, () => ({ requirements: [], updates: [{ action: 'set-properties', updates: { [PLACEHOLDER]: 'x' } }] })),
  forbidden('drop-table', 'DELETE', placeholderTablePath),
  forbidden('rename-table', 'POST', () => 'tables/rename',
    (s) => ({ source: identifier(s, `${PLACEHOLDER}_missing`), destination: identifier(s, `${PLACEHOLDER}_renamed`) })),
  forbidden('commit-transaction', 'POST', () => 'transactions/commit',
    (s) => ({ 'table-changes': [{ identifier: identifier(s, `${PLACEHOLDER}_missing`), requirements: [], updates: [{ action: 'set-properties', updates: { [PLACEHOLDER]: 'x' } }] }] })),
  forbidden('create-view', 'POST', (s) => `${nsPath(s)}/views`, () => ({ name: PLACEHOLDER, schema: SCHEMA, 'view-version': VIEW_VERSION, properties: {} })),
  forbidden('replace-view', 'POST', (s) => `${nsPath(s)}/views/${PLACEHOLDER}_missing`, () => ({ requirements: [], updates: [{ action: 'set-properties', updates: { [PLACEHOLDER]: 'x' } }] })),
  forbidden('drop-view', 'DELETE', (s) => `${nsPath(s)}/views/${PLACEHOLDER}_missing`),
  forbidden('rename-view', 'POST', () => 'views/rename',
    (s) => ({ source: identifier(s, `${PLACEHOLDER}_missing`), destination: identifier(s, `${PLACEHOLDER}_renamed`) })),
  {
    name: 'unchanged-after-writes',
    needs: ['namespace-list'],
    async run(s) {
      const body = expectAnswer<{ namespaces: string[][] }>(await s.http.route('GET', 'namespaces'), 200, 'ListNamespacesResponse');
      expectThat(JSON.stringify(body.namespaces) === JSON.stringify(s.namespaces), `GET namespaces after the refused writes: ${JSON.stringify(body.namespaces)}, before ${JSON.stringify(s.namespaces)}`);
      if (s.sample?.metadataLocation) {
        const table = expectAnswer<{ 'metadata-location'?: string }>(await s.http.route('GET', sampleTablePath(s)), 200, 'LoadTableResult');
        expectThat(table['metadata-location'] === s.sample.metadataLocation, `GET ${sampleTablePath(s)} after the refused writes: metadata-location ${table['metadata-location']}, before ${s.sample.metadataLocation}`);
      }
    },
  },
];

/** Removes what wrongly accepted writes created; no file is purged. Never throws. */
export async function cleanUpReadOnly(s: ReadOnlyState): Promise<void> {
  const removals = [
    `${nsPath(s)}/tables/${PLACEHOLDER}`,
    `${nsPath(s)}/tables/${PLACEHOLDER}_registered`,
    `${nsPath(s)}/views/${PLACEHOLDER}`,
    `${placeholderNsPath}/tables/${PLACEHOLDER}`,
    `${placeholderNsPath}/tables/${PLACEHOLDER}_registered`,
    `${placeholderNsPath}/views/${PLACEHOLDER}`,
    placeholderNsPath,
  ];
  for (const route of removals) {
    try {
      await s.http.route('DELETE', route);
    } catch {
      // Best effort: the catalog may be the thing that is broken.
    }
  }
}
