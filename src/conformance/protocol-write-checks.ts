/**
 * Protocol checks for a catalog that accepts writes: namespaces and tables through their whole
 * life (create, load, HEAD, list, properties, commit, rename, drop), the spec's error answers (404
 * with NoSuchNamespaceException / NoSuchTableException, 409 on a failed commit requirement or an
 * existing name), pagination and ETags. Everything happens inside one namespace unique to the run,
 * removed at the end whatever happened (cleanUpWrites).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { namespaceSegment, type HttpAnswer } from './catalog-http.ts';
import { configCheck } from './config-check.ts';
import { CheckSkipped, expectAnswer, expectIcebergError, expectStatus, expectThat } from './protocol-assertions.ts';
import { checkPagination } from './list-pagination.ts';
import { requireEndpoint, type ProtocolCheck, type ProtocolContext } from './protocol-check.ts';

export interface WriteState extends ProtocolContext {
  /** The run's namespace, e.g. icerelay_conformance_1a2b3c4d. */
  namespace: string;
  table?: { uuid: string; metadataLocation: string; etag: string | null };
}

interface LoadTableResult {
  'metadata-location'?: string;
  metadata: { 'table-uuid': string; 'current-schema-id'?: number; properties?: Record<string, string> };
}

const TABLE = 'events';
const RENAMED = 'events_renamed';
const PAGED_TABLES = ['paged_0', 'paged_1', 'paged_2'];
const CHILD_NAMESPACES = ['child_0', 'child_1', 'child_2'];
const SCHEMA = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', type: 'long', required: false },
    { id: 2, name: 'data', type: 'string', required: false },
  ],
};

export function newWriteState(context: ProtocolContext): WriteState {
  return { ...context, namespace: `icerelay_conformance_${randomBytes(4).toString('hex')}` };
}

const ns = (s: WriteState) => namespaceSegment([s.namespace]);
const tablePath = (s: WriteState, name: string) => `namespaces/${ns(s)}/tables/${encodeURIComponent(name)}`;
const createTable = (s: WriteState, name: string) => s.http.route('POST', `namespaces/${ns(s)}/tables`, { body: { name, schema: SCHEMA } });

const loadTable = async (s: WriteState, name: string, headers: Record<string, string> = {}): Promise<HttpAnswer> =>
  s.http.route('GET', tablePath(s, name), { headers });

export const WRITE_CHECKS: ProtocolCheck<WriteState>[] = [
  configCheck,
  {
    name: 'namespace-create',
    needs: ['config'],
    async run(s) {
      const answer = await s.http.route('POST', 'namespaces', { body: { namespace: [s.namespace], properties: { owner: 'icerelay-conformance' } } });
      const body = expectAnswer<{ namespace: string[] }>(answer, 200, 'CreateNamespaceResponse');
      expectThat(JSON.stringify(body.namespace) === JSON.stringify([s.namespace]), `POST namespaces answered namespace ${JSON.stringify(body.namespace)}, created [${s.namespace}]`);
    },
  },
  {
    name: 'namespace-create-existing',
    needs: ['namespace-create'],
    async run(s) {
      expectIcebergError(await s.http.route('POST', 'namespaces', { body: { namespace: [s.namespace] } }), 409, ['AlreadyExistsException']);
    },
  },
  {
    name: 'namespace-load',
    needs: ['namespace-create'],
    async run(s) {
      const body = expectAnswer<{ properties?: Record<string, string> }>(await s.http.route('GET', `namespaces/${ns(s)}`), 200, 'GetNamespaceResponse');
      expectThat(body.properties?.owner === 'icerelay-conformance', `GET namespaces/${s.namespace}: property owner is ${body.properties?.owner}, created as icerelay-conformance`);
    },
  },
  {
    name: 'namespace-exists',
    needs: ['namespace-create'],
    async run(s) {
      requireEndpoint(s, 'HEAD', 'namespaces/{namespace}');
      expectStatus(await s.http.route('HEAD', `namespaces/${ns(s)}`), 204);
    },
  },
  {
    name: 'namespace-list',
    needs: ['namespace-create'],
    async run(s) {
      const body = expectAnswer<{ namespaces: string[][] }>(await s.http.route('GET', 'namespaces'), 200, 'ListNamespacesResponse');
      expectThat(body.namespaces.some((n) => n.length === 1 && n[0] === s.namespace), `GET namespaces does not list ${s.namespace}`);
    },
  },
  {
    name: 'namespace-properties',
    needs: ['namespace-create'],
    async run(s) {
      const route = `namespaces/${ns(s)}/properties`;
      const body = expectAnswer<{ updated: string[]; removed: string[] }>(
        await s.http.route('POST', route, { body: { removals: ['owner'], updates: { purpose: 'protocol checks' } } }), 200, 'UpdateNamespacePropertiesResponse');
      expectThat(body.updated.includes('purpose') && body.removed.includes('owner'), `POST ${route}: updated ${JSON.stringify(body.updated)}, removed ${JSON.stringify(body.removed)}`);
      const after = expectAnswer<{ properties?: Record<string, string> }>(await s.http.route('GET', `namespaces/${ns(s)}`), 200, 'GetNamespaceResponse');
      expectThat(after.properties?.purpose === 'protocol checks' && after.properties.owner === undefined, `GET namespaces/${s.namespace} after the update: properties ${JSON.stringify(after.properties)}`);
    },
  },
  {
    name: 'namespace-missing',
    needs: ['config'],
    async run(s) {
      const missing = namespaceSegment([`${s.namespace}_missing`]);
      expectIcebergError(await s.http.route('GET', `namespaces/${missing}`), 404, ['NoSuchNamespaceException']);
      expectIcebergError(await s.http.route('GET', `namespaces/${missing}/tables`), 404, ['NoSuchNamespaceException']);
      if (!s.endpoints || s.endpoints.has('HEAD /v1/{prefix}/namespaces/{namespace}')) expectStatus(await s.http.route('HEAD', `namespaces/${missing}`), 404);
    },
  },
  {
    name: 'table-create',
    needs: ['namespace-create'],
    async run(s) {
      const answer = await createTable(s, TABLE);
      const body = expectAnswer<LoadTableResult>(answer, 200, 'LoadTableResult');
      const location = body['metadata-location'];
      expectThat(typeof location === 'string' && location !== '', `POST namespaces/${s.namespace}/tables: no metadata-location for a created (not staged) table`);
      s.table = { uuid: body.metadata['table-uuid'], metadataLocation: location, etag: answer.headers.get('etag') };
    },
  },
  {
    name: 'table-create-existing',
    needs: ['table-create'],
    async run(s) {
      expectIcebergError(await createTable(s, TABLE), 409, ['AlreadyExistsException']);
    },
  },
  {
    name: 'table-create-invalid',
    needs: ['namespace-create'],
    async run(s) {
      // No schema: a client mistake, which deserves a 400 with an error body (any type).
      expectIcebergError(await s.http.route('POST', `namespaces/${ns(s)}/tables`, { body: { name: 'no_schema' } }), 400);
    },
  },
  {
    name: 'table-load',
    needs: ['table-create'],
    async run(s) {
      const answer = await loadTable(s, TABLE);
      const body = expectAnswer<LoadTableResult>(answer, 200, 'LoadTableResult');
      expectThat(body.metadata['table-uuid'] === s.table!.uuid, `GET ${tablePath(s, TABLE)}: table-uuid ${body.metadata['table-uuid']}, created as ${s.table!.uuid}`);
      s.table!.etag = answer.headers.get('etag');
    },
  },
  {
    name: 'table-exists',
    needs: ['table-create'],
    async run(s) {
      requireEndpoint(s, 'HEAD', 'namespaces/{namespace}/tables/{table}');
      expectStatus(await s.http.route('HEAD', tablePath(s, TABLE)), 204);
    },
  },
  {
    name: 'table-list',
    needs: ['table-create'],
    async run(s) {
      const body = expectAnswer<{ identifiers: { namespace: string[]; name: string }[] }>(await s.http.route('GET', `namespaces/${ns(s)}/tables`), 200, 'ListTablesResponse');
      expectThat(body.identifiers.some((i) => i.name === TABLE && JSON.stringify(i.namespace) === JSON.stringify([s.namespace])), `GET namespaces/${s.namespace}/tables does not list ${TABLE}: ${JSON.stringify(body.identifiers)}`);
    },
  },
  {
    name: 'table-missing',
    needs: ['namespace-create'],
    async run(s) {
      expectIcebergError(await loadTable(s, 'no_such_table'), 404, ['NoSuchTableException']);
      if (!s.endpoints || s.endpoints.has('HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}')) expectStatus(await s.http.route('HEAD', tablePath(s, 'no_such_table')), 404);
      // In a namespace that does not exist either, the spec allows either error type.
      const elsewhere = `namespaces/${namespaceSegment([`${s.namespace}_missing`])}/tables/${TABLE}`;
      expectIcebergError(await s.http.route('GET', elsewhere), 404, ['NoSuchTableException', 'NoSuchNamespaceException']);
    },
  },
  {
    name: 'table-commit',
    needs: ['table-create'],
    async run(s) {
      const route = tablePath(s, TABLE);
      const commit = { requirements: [{ type: 'assert-table-uuid', uuid: s.table!.uuid }], updates: [{ action: 'set-properties', updates: { 'conformance.committed': 'yes' } }] };
      const body = expectAnswer<{ 'metadata-location': string; metadata: LoadTableResult['metadata'] }>(await s.http.route('POST', route, { body: commit }), 200, 'CommitTableResponse');
      expectThat(body.metadata.properties?.['conformance.committed'] === 'yes', `POST ${route}: the committed metadata lacks the property set`);
      expectThat(body['metadata-location'] !== s.table!.metadataLocation, `POST ${route}: the metadata-location did not change with the commit`);
      const loaded = expectAnswer<LoadTableResult>(await loadTable(s, TABLE), 200, 'LoadTableResult');
      expectThat(loaded['metadata-location'] === body['metadata-location'], `GET ${route} after the commit: metadata-location ${loaded['metadata-location']}, committed ${body['metadata-location']}`);
    },
  },
  {
    name: 'table-commit-conflict',
    needs: ['table-create'],
    async run(s) {
      const route = tablePath(s, TABLE);
      const update = { action: 'set-properties', updates: { 'conformance.conflict': 'applied' } };
      for (const requirement of [{ type: 'assert-table-uuid', uuid: randomUUID() }, { type: 'assert-current-schema-id', 'current-schema-id': 4242 }]) {
        expectIcebergError(await s.http.route('POST', route, { body: { requirements: [requirement], updates: [update] } }), 409, ['CommitFailedException']);
      }
      const loaded = expectAnswer<LoadTableResult>(await loadTable(s, TABLE), 200, 'LoadTableResult');
      expectThat(loaded.metadata.properties?.['conformance.conflict'] === undefined, `POST ${route}: a commit whose requirement failed still changed the table`);
    },
  },
  {
    name: 'table-etag',
    needs: ['table-load', 'table-commit'],
    async run(s) {
      // table-load kept the ETag of the state before table-commit.
      const before = s.table!.etag;
      if (!before) throw new CheckSkipped('the catalog sends no ETag with loaded tables');
      const changed = await loadTable(s, TABLE, { 'if-none-match': before });
      expectAnswer(changed, 200, 'LoadTableResult');
      const now = changed.headers.get('etag');
      expectThat(now !== null && now !== before, `GET ${tablePath(s, TABLE)}: the ETag ${now} did not change with a commit`);
      const same = await loadTable(s, TABLE, { 'if-none-match': now });
      expectStatus(same, 304);
      expectThat(same.text === '', `GET ${tablePath(s, TABLE)}: a 304 answer must have no body`);
    },
  },
  {
    name: 'table-rename',
    needs: ['table-create'],
    async run(s) {
      requireEndpoint(s, 'POST', 'tables/rename');
      const rename = { source: { namespace: [s.namespace], name: TABLE }, destination: { namespace: [s.namespace], name: RENAMED } };
      expectStatus(await s.http.route('POST', 'tables/rename', { body: rename }), 204);
      expectIcebergError(await loadTable(s, TABLE), 404, ['NoSuchTableException']);
      const moved = expectAnswer<LoadTableResult>(await loadTable(s, RENAMED), 200, 'LoadTableResult');
      expectThat(moved.metadata['table-uuid'] === s.table!.uuid, `GET ${tablePath(s, RENAMED)}: table-uuid ${moved.metadata['table-uuid']}, renamed ${s.table!.uuid}`);
      const missing = { source: { namespace: [s.namespace], name: 'no_such_table' }, destination: { namespace: [s.namespace], name: 'anything' } };
      expectIcebergError(await s.http.route('POST', 'tables/rename', { body: missing }), 404, ['NoSuchTableException']);
    },
  },
  {
    name: 'table-list-pages',
    needs: ['namespace-create'],
    async run(s) {
      for (const name of PAGED_TABLES) expectAnswer(await createTable(s, name), 200, 'LoadTableResult');
      await checkPagination(s, `namespaces/${ns(s)}/tables`, 'identifiers', {}, 'ListTablesResponse', PAGED_TABLES.length);
    },
  },
  {
    name: 'namespace-list-pages',
    needs: ['namespace-create'],
    async run(s) {
      for (const child of CHILD_NAMESPACES) {
        const answer = await s.http.route('POST', 'namespaces', { body: { namespace: [s.namespace, child] } });
        if (answer.status !== 200) throw new CheckSkipped(`the catalog does not create nested namespaces (POST namespaces answered ${answer.status})`);
      }
      await checkPagination(s, 'namespaces', 'namespaces', { parent: namespaceSegment([s.namespace]) }, 'ListNamespacesResponse', CHILD_NAMESPACES.length);
    },
  },
  {
    name: 'namespace-drop-not-empty',
    needs: ['table-create'],
    async run(s) {
      expectIcebergError(await s.http.route('DELETE', `namespaces/${ns(s)}`), 409, ['NamespaceNotEmptyException']);
    },
  },
  {
    name: 'table-drop',
    needs: ['table-create'],
    async run(s) {
      const listed = expectAnswer<{ identifiers: { name: string }[] }>(await s.http.route('GET', `namespaces/${ns(s)}/tables`), 200, 'ListTablesResponse');
      for (const { name } of listed.identifiers) {
        expectStatus(await s.http.route('DELETE', tablePath(s, name), { query: { purgeRequested: 'true' } }), 204);
        expectIcebergError(await loadTable(s, name), 404, ['NoSuchTableException']);
      }
      expectIcebergError(await s.http.route('DELETE', tablePath(s, TABLE)), 404, ['NoSuchTableException']);
    },
  },
  {
    name: 'namespace-drop',
    needs: ['namespace-create'],
    async run(s) {
      for (const child of CHILD_NAMESPACES) await s.http.route('DELETE', `namespaces/${namespaceSegment([s.namespace, child])}`);
      expectStatus(await s.http.route('DELETE', `namespaces/${ns(s)}`), 204);
      expectIcebergError(await s.http.route('GET', `namespaces/${ns(s)}`), 404, ['NoSuchNamespaceException']);
      expectIcebergError(await s.http.route('DELETE', `namespaces/${ns(s)}`), 404, ['NoSuchNamespaceException']);
    },
  },
];

/** Removes whatever the checks left (after a failure midway); never throws. */
export async function cleanUpWrites(s: WriteState): Promise<void> {
  try {
    const listed = await s.http.route('GET', `namespaces/${ns(s)}/tables`);
    if (listed.status === 404) return;
    for (const { name } of (listed.body as { identifiers?: { name: string }[] } | undefined)?.identifiers ?? []) {
      await s.http.route('DELETE', tablePath(s, name), { query: { purgeRequested: 'true' } });
    }
    for (const child of CHILD_NAMESPACES) await s.http.route('DELETE', `namespaces/${namespaceSegment([s.namespace, child])}`);
    await s.http.route('DELETE', `namespaces/${ns(s)}`);
  } catch {
    // Best effort: the catalog may be the thing that is broken.
  }
}
