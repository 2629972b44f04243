/**
 * The REST surface as a client sees it: bad input gets an Iceberg error body with the right status
 * (never a 5xx), and the protocol details clients rely on (config, path encoding, pagination, ETags,
 * HEAD, Idempotency-Key) behave as the spec says.
 *
 * Tests marked `it.fails` pin known server bugs: each one passes today only because the server is
 * wrong, and starts failing (so the marker must go) once the bug is fixed.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServerConfig } from '../../src/config/server-config.ts';
import { startCatalogServer } from '../../src/server/builtin-server.ts';
import { createLogger } from '../../src/util/logger.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogFixture, type CatalogFixture } from '../helpers/catalog-fixture.ts';
import {
  createTableRequest, createViewRequest, expectIcebergError, sampleSchema, snapshotUpdate,
} from '../helpers/iceberg-requests.ts';

let catalog: CatalogFixture;
const request = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  catalog.request(method, path, body, headers);

/** A fresh name, so tests sharing the catalog never collide. */
const fresh = (prefix: string) => `${prefix}_${randomUUID().slice(0, 8)}`;

async function createNamespace(levels: string[], properties: Record<string, string> = {}): Promise<void> {
  const res = await request('POST', '/v1/namespaces', { namespace: levels, properties });
  expect(res.status, await res.clone().text()).toBe(200);
}

async function createTable(namespace: string, name: string): Promise<{ 'metadata-location': string; metadata: Record<string, unknown> }> {
  const res = await request('POST', `/v1/namespaces/${namespace}/tables`, createTableRequest(name));
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json() as never;
}

async function createView(namespace: string, name: string): Promise<void> {
  const res = await request('POST', `/v1/namespaces/${namespace}/views`, createViewRequest(name, [namespace]));
  expect(res.status, await res.clone().text()).toBe(200);
}

/** Namespace `ns` with table `t` and view `v`, shared by tests that only read them. */
const NS = 'ns';

beforeAll(async () => {
  catalog = await createCatalogFixture();
  await createNamespace([NS]);
  await createTable(NS, 't');
  await createView(NS, 'v');
});

afterAll(async () => {
  await catalog?.close();
});

describe('malformed bodies are 400', () => {
  it('rejects malformed JSON', async () => {
    await expectIcebergError(await request('POST', '/v1/namespaces', '{"namespace": ["x"'), 400);
  });

  it('rejects an empty body', async () => {
    await expectIcebergError(await request('POST', '/v1/namespaces', ''), 400);
    await expectIcebergError(await request('POST', '/v1/namespaces'), 400);
  });

  it('rejects a JSON array body', async () => {
    await expectIcebergError(await request('POST', '/v1/namespaces', [{ namespace: ['x'] }]), 400);
  });

  it('rejects JSON scalars as a body', async () => {
    for (const body of ['null', '42', '"text"', 'true']) {
      await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/tables`, body), 400);
    }
  });

  it('rejects bytes that are not UTF-8 JSON', async () => {
    await expectIcebergError(await request('POST', '/v1/tables/rename', new Uint8Array([0xff, 0xfe, 0x00, 0x7b])), 400);
  });
});

describe('invalid commits are 400', () => {
  it('rejects an unknown update action', async () => {
    const res = await request('POST', `/v1/namespaces/${NS}/tables/t`, { requirements: [], updates: [{ action: 'make-it-fast' }] });
    const error = await expectIcebergError(res, 400);
    expect(error.message).toContain('make-it-fast');
  });

  it('rejects an unknown requirement type', async () => {
    const res = await request('POST', `/v1/namespaces/${NS}/tables/t`, { requirements: [{ type: 'assert-nothing' }], updates: [] });
    const error = await expectIcebergError(res, 400);
    expect(error.message).toContain('assert-nothing');
  });

  it('rejects an unknown update action inside a transaction', async () => {
    const res = await request('POST', '/v1/transactions/commit', {
      'table-changes': [{ identifier: { namespace: [NS], name: 't' }, requirements: [], updates: [{ action: 'nope' }] }],
    });
    await expectIcebergError(res, 400);
  });

  it('rejects an unknown view update action and view requirement type', async () => {
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/views/v`, { updates: [{ action: 'add-snapshot' }] }), 400);
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/views/v`, { requirements: [{ type: 'assert-create' }], updates: [] }), 400);
  });

  it('rejects an identifier in the body that differs from the path', async () => {
    const res = await request('POST', `/v1/namespaces/${NS}/tables/t`, { identifier: { namespace: [NS], name: 'other' }, requirements: [], updates: [] });
    await expectIcebergError(res, 400);
  });

  it('rejects an empty transaction', async () => {
    await expectIcebergError(await request('POST', '/v1/transactions/commit', { 'table-changes': [] }), 400);
  });
});

describe('fields of the wrong type are 400', () => {
  const cases: [string, string, string, unknown][] = [
    ['namespace as a string', 'POST', '/v1/namespaces', { namespace: 'db' }],
    ['namespace with a number level', 'POST', '/v1/namespaces', { namespace: ['db', 1] }],
    ['namespace properties with number values', 'POST', '/v1/namespaces', { namespace: ['db'], properties: { a: 1 } }],
    ['namespace properties as a list', 'POST', '/v1/namespaces', { namespace: ['db'], properties: ['a'] }],
    ['property updates with number values', 'POST', `/v1/namespaces/${NS}/properties`, { updates: { a: 1 } }],
    ['property removals as a string', 'POST', `/v1/namespaces/${NS}/properties`, { removals: 'a' }],
    ['table name as a number', 'POST', `/v1/namespaces/${NS}/tables`, { ...createTableRequest('x'), name: 7 }],
    ['table without a schema', 'POST', `/v1/namespaces/${NS}/tables`, { name: 'x' }],
    ['table schema as a string', 'POST', `/v1/namespaces/${NS}/tables`, { ...createTableRequest('x'), schema: 'struct' }],
    ['table properties with number values', 'POST', `/v1/namespaces/${NS}/tables`, { ...createTableRequest('x'), properties: { a: 1 } }],
    ['table location as a number', 'POST', `/v1/namespaces/${NS}/tables`, { ...createTableRequest('x'), location: 5 }],
    ['partition spec without fields', 'POST', `/v1/namespaces/${NS}/tables`, { ...createTableRequest('x'), 'partition-spec': {} }],
    ['snapshot-id as a string', 'POST', `/v1/namespaces/${NS}/tables/t`, {
      requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': '1' }], updates: [],
    }],
    ['current-schema-id as a float', 'POST', `/v1/namespaces/${NS}/tables/t`, {
      requirements: [{ type: 'assert-current-schema-id', 'current-schema-id': 0.5 }], updates: [],
    }],
    ['updates as an object', 'POST', `/v1/namespaces/${NS}/tables/t`, { requirements: [], updates: {} }],
    ['requirements as a string', 'POST', `/v1/namespaces/${NS}/tables/t`, { requirements: 'none', updates: [] }],
    ['set-properties with number values', 'POST', `/v1/namespaces/${NS}/tables/t`, {
      requirements: [], updates: [{ action: 'set-properties', updates: { a: 1 } }],
    }],
    ['remove-snapshots with string ids', 'POST', `/v1/namespaces/${NS}/tables/t`, {
      requirements: [], updates: [{ action: 'remove-snapshots', 'snapshot-ids': ['1'] }],
    }],
    ['set-current-schema with a string id', 'POST', `/v1/namespaces/${NS}/tables/t`, {
      requirements: [], updates: [{ action: 'set-current-schema', 'schema-id': '0' }],
    }],
    ['register without metadata-location', 'POST', `/v1/namespaces/${NS}/register`, { name: 'r' }],
    ['register with overwrite as a string', 'POST', `/v1/namespaces/${NS}/register`, { name: 'r', 'metadata-location': '/x', overwrite: 'yes' }],
    ['rename source as a string', 'POST', '/v1/tables/rename', { source: `${NS}.t`, destination: { namespace: [NS], name: 't2' } }],
    ['rename without destination', 'POST', '/v1/views/rename', { source: { namespace: [NS], name: 'v' } }],
    ['transaction changes as an object', 'POST', '/v1/transactions/commit', { 'table-changes': {} }],
    ['transaction change without identifier', 'POST', '/v1/transactions/commit', { 'table-changes': [{ requirements: [], updates: [] }] }],
    ['view without view-version', 'POST', `/v1/namespaces/${NS}/views`, { name: 'x', schema: sampleSchema() }],
    ['view properties with number values', 'POST', `/v1/namespaces/${NS}/views`, { ...createViewRequest('x'), properties: { a: 1 } }],
    ['view updates missing', 'POST', `/v1/namespaces/${NS}/views/v`, { requirements: [] }],
  ];
  it.each(cases)('%s', async (_name, method, path, body) => {
    await expectIcebergError(await request(method, path, body), 400);
  });
});

describe('invalid identifiers are 400', () => {
  it('rejects empty namespace lists and empty levels', async () => {
    await expectIcebergError(await request('POST', '/v1/namespaces', { namespace: [] }), 400);
    await expectIcebergError(await request('POST', '/v1/namespaces', { namespace: [''] }), 400);
    await expectIcebergError(await request('GET', '/v1/namespaces/a%1F%1Fb'), 400);
    await expectIcebergError(await request('GET', '/v1/namespaces/%1F'), 400);
  });

  it('rejects empty table and view names', async () => {
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/tables`, createTableRequest('')), 400);
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/views`, createViewRequest('')), 400);
    await expectIcebergError(await request('POST', '/v1/tables/rename', {
      source: { namespace: [NS], name: 't' }, destination: { namespace: [NS], name: '' },
    }), 400);
  });

  it.each(['%00', '%01', '%1F', '%7F', 'a%0Ab', 'a%1Fb'])('rejects control character %s in a table name', async (raw) => {
    await expectIcebergError(await request('GET', `/v1/namespaces/${NS}/tables/${raw}`), 400);
    await expectIcebergError(await request('DELETE', `/v1/namespaces/${NS}/views/${raw}`), 400);
    expect((await request('HEAD', `/v1/namespaces/${NS}/tables/${raw}`)).status).toBe(400);
  });

  it('treats %1F in the namespace segment as the level separator, not as a control character', async () => {
    await expectIcebergError(await request('GET', `/v1/namespaces/${NS}%1Fmissing`), 404, 'NoSuchNamespaceException');
    await expectIcebergError(await request('GET', `/v1/namespaces/${NS}%1Fmissing/tables/t`), 404);
  });

  it('rejects other control characters in namespace levels', async () => {
    await expectIcebergError(await request('GET', '/v1/namespaces/a%00b'), 400);
    await expectIcebergError(await request('POST', '/v1/namespaces', { namespace: ['a\u0007b'] }), 400);
  });

  it.each(['.', '..'])('rejects the dot name %j in bodies', async (name) => {
    await expectIcebergError(await request('POST', '/v1/namespaces', { namespace: [name] }), 400);
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/tables`, createTableRequest(name)), 400);
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/views`, createViewRequest(name)), 400);
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/register`, { name, 'metadata-location': '/nowhere.json' }), 400);
  });

  it('rejects a dot-dot level inside a namespace segment', async () => {
    await expectIcebergError(await request('GET', `/v1/namespaces/${NS}%1F..`), 400);
  });

  it('rejects / (%2F) and \\ in names', async () => {
    await expectIcebergError(await request('GET', `/v1/namespaces/${NS}/tables/a%2Fb`), 400);
    await expectIcebergError(await request('GET', '/v1/namespaces/a%2Fb'), 400);
    await expectIcebergError(await request('DELETE', `/v1/namespaces/${NS}/views/a%5Cb`), 400);
    await expectIcebergError(await request('POST', '/v1/namespaces', { namespace: ['a/b'] }), 400);
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/tables`, createTableRequest('../escape')), 400);
  });

  it('rejects malformed percent-encoding', async () => {
    await expectIcebergError(await request('GET', `/v1/namespaces/${NS}/tables/%E0%A4%A`), 400);
    await expectIcebergError(await request('GET', '/v1/namespaces/%ZZ'), 400);
  });

  it('rejects names longer than 1024 characters', async () => {
    await expectIcebergError(await request('GET', `/v1/namespaces/${NS}/tables/${'x'.repeat(1025)}`), 400);
  });

  // The WHATWG URL parser (behind Request and fetch) resolves `.` / `..` segments, `%2E%2E` included,
  // so this is checked on a real server with a raw request target: the table `..` must not become
  // its namespace (DELETE .../tables/%2E%2E once dropped namespace x).
  it('does not turn DELETE of a table named %2E%2E into a drop of its namespace', async () => {
    const ns = fresh('dots');
    const dir = await mkdtemp(join(tmpdir(), 'icerelay-dots-'));
    const server = await startCatalogServer(
      { ...loadServerConfig({ ICERELAY_DATA_DIR: dir }), port: 0 },
      createLogger({ level: 'silent' }),
    );
    try {
      const raw = (method: string, path: string, body?: string) =>
        new Promise<number>((resolve, reject) => {
          const req = httpRequest(`${server.url}${path}`, { method, path, headers: { 'content-type': 'application/json' } }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end(body);
        });
      expect(await raw('POST', '/v1/namespaces', JSON.stringify({ namespace: [ns] }))).toBe(200);
      for (const target of [`/v1/namespaces/${ns}/tables/%2E%2E`, `/v1/namespaces/${ns}/tables/..`, `/v1/namespaces/${ns}/views/%2e%2e`]) {
        expect(await raw('DELETE', target)).toBe(400);
      }
      expect(await raw('HEAD', `/v1/namespaces/${ns}`)).toBe(204);
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('missing entities are 404 with the type clients dispatch on', () => {
  it('reports a missing namespace', async () => {
    await expectIcebergError(await request('GET', '/v1/namespaces/missing'), 404, 'NoSuchNamespaceException');
    await expectIcebergError(await request('DELETE', '/v1/namespaces/missing'), 404, 'NoSuchNamespaceException');
    await expectIcebergError(await request('POST', '/v1/namespaces/missing/properties', { updates: { a: 'b' } }), 404, 'NoSuchNamespaceException');
    await expectIcebergError(await request('GET', '/v1/namespaces/missing/tables'), 404, 'NoSuchNamespaceException');
    await expectIcebergError(await request('GET', '/v1/namespaces/missing/views'), 404, 'NoSuchNamespaceException');
    await expectIcebergError(await request('GET', '/v1/namespaces?parent=missing'), 404, 'NoSuchNamespaceException');
    await expectIcebergError(await request('POST', '/v1/namespaces/missing/tables', createTableRequest('x')), 404, 'NoSuchNamespaceException');
    await expectIcebergError(await request('POST', '/v1/namespaces/missing/views', createViewRequest('x')), 404, 'NoSuchNamespaceException');
  });

  it('reports a missing rename target namespace', async () => {
    const res = await request('POST', '/v1/tables/rename', { source: { namespace: [NS], name: 't' }, destination: { namespace: ['missing'], name: 't' } });
    await expectIcebergError(res, 404, 'NoSuchNamespaceException');
  });

  it('reports a missing table', async () => {
    const t = `/v1/namespaces/${NS}/tables/missing`;
    await expectIcebergError(await request('GET', t), 404, 'NoSuchTableException');
    await expectIcebergError(await request('POST', t, { requirements: [], updates: [] }), 404, 'NoSuchTableException');
    await expectIcebergError(await request('DELETE', t), 404, 'NoSuchTableException');
    await expectIcebergError(await request('GET', `${t}/credentials`), 404, 'NoSuchTableException');
    await expectIcebergError(await request('POST', `${t}/metrics`, { 'report-type': 'scan-report' }), 404, 'NoSuchTableException');
    await expectIcebergError(await request('POST', `${t}/unregister`), 404, 'NoSuchTableException');
    await expectIcebergError(await request('GET', t, undefined, { 'if-none-match': '"abc"' }), 404, 'NoSuchTableException');
    await expectIcebergError(await request('POST', '/v1/tables/rename', {
      source: { namespace: [NS], name: 'missing' }, destination: { namespace: [NS], name: 'other' },
    }), 404, 'NoSuchTableException');
  });

  it('reports a view as a missing table and a table as a missing view', async () => {
    await expectIcebergError(await request('GET', `/v1/namespaces/${NS}/tables/v`), 404, 'NoSuchTableException');
    await expectIcebergError(await request('GET', `/v1/namespaces/${NS}/views/t`), 404, 'NoSuchViewException');
  });

  it('reports a missing view', async () => {
    const v = `/v1/namespaces/${NS}/views/missing`;
    await expectIcebergError(await request('GET', v), 404, 'NoSuchViewException');
    await expectIcebergError(await request('POST', v, { requirements: [], updates: [] }), 404, 'NoSuchViewException');
    await expectIcebergError(await request('DELETE', v), 404, 'NoSuchViewException');
    await expectIcebergError(await request('POST', '/v1/views/rename', {
      source: { namespace: [NS], name: 'missing' }, destination: { namespace: [NS], name: 'other' },
    }), 404, 'NoSuchViewException');
  });

  it('reports a registered metadata file that does not exist', async () => {
    const res = await request('POST', `/v1/namespaces/${NS}/register`, { name: fresh('r'), 'metadata-location': join(catalog.dir, 'no-such.metadata.json') });
    await expectIcebergError(res, 404, 'NotFoundException');
  });
});

describe('conflicts are 409', () => {
  it('reports an existing namespace, table and view', async () => {
    await expectIcebergError(await request('POST', '/v1/namespaces', { namespace: [NS] }), 409, 'AlreadyExistsException');
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/tables`, createTableRequest('t')), 409, 'AlreadyExistsException');
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/views`, createViewRequest('v')), 409, 'AlreadyExistsException');
  });

  it('reports a table name taken by a view and the reverse', async () => {
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/tables`, createTableRequest('v')), 409, 'AlreadyExistsException');
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/views`, createViewRequest('t')), 409, 'AlreadyExistsException');
    await expectIcebergError(await request('POST', '/v1/tables/rename', {
      source: { namespace: [NS], name: 't' }, destination: { namespace: [NS], name: 'v' },
    }), 409, 'AlreadyExistsException');
  });

  it('refuses to drop a namespace that holds a table or a child namespace', async () => {
    await expectIcebergError(await request('DELETE', `/v1/namespaces/${NS}`), 409, 'NamespaceNotEmptyException');
    const parent = fresh('parent');
    await createNamespace([parent, 'child']);
    await expectIcebergError(await request('DELETE', `/v1/namespaces/${parent}`), 409, 'NamespaceNotEmptyException');
  });

  it('fails a commit whose assert-ref-snapshot-id does not hold', async () => {
    const name = fresh('t');
    await createTable(NS, name);
    const path = `/v1/namespaces/${NS}/tables/${name}`;
    const snap = snapshotUpdate(1001, null, 1);
    const setMain = { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': 1001 };
    const ok = await request('POST', path, { requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null }], updates: [snap, setMain] });
    expect(ok.status, await ok.clone().text()).toBe(200);
    // main now exists: asserting it is absent, or at another snapshot, must fail.
    for (const expected of [null, 999]) {
      const res = await request('POST', path, {
        requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': expected }],
        updates: [{ action: 'set-properties', updates: { k: 'v' } }],
      });
      await expectIcebergError(res, 409, 'CommitFailedException');
    }
  });

  it('fails a commit whose table uuid does not match', async () => {
    const res = await request('POST', `/v1/namespaces/${NS}/tables/t`, {
      requirements: [{ type: 'assert-table-uuid', uuid: randomUUID() }], updates: [],
    });
    await expectIcebergError(res, 409, 'CommitFailedException');
  });
});

describe('other client errors', () => {
  it('answers 422 when a namespace property is both updated and removed', async () => {
    const res = await request('POST', `/v1/namespaces/${NS}/properties`, { updates: { a: '1', b: '2' }, removals: ['b'] });
    await expectIcebergError(res, 422, 'UnprocessableEntityException');
  });

  it('answers 404 for an unknown /v1 route', async () => {
    await expectIcebergError(await request('GET', '/v1/nothing-here'), 404);
    await expectIcebergError(await request('GET', `/v1/namespaces/${NS}/tables/t/unknown`), 404);
    await expectIcebergError(await request('POST', '/v1/oauth/tokens', 'grant_type=client_credentials'), 404);
  });

  it('answers 405 with an Allow header for a known path and the wrong method', async () => {
    const res = await request('PUT', '/v1/namespaces', { namespace: ['x'] });
    expect(res.headers.get('allow')).toMatch(/GET/);
    await expectIcebergError(res, 405);
    await expectIcebergError(await request('DELETE', '/v1/config'), 405);
    await expectIcebergError(await request('PATCH', `/v1/namespaces/${NS}/tables/t`, {}), 405);
    await expectIcebergError(await request('GET', '/v1/transactions/commit'), 405);
  });

  it.each(['bogus', '%%%', '!!!', 'p:x'])('answers 400 for the pageToken %j, which this catalog never issued', async (token) => {
    await expectIcebergError(await request('GET', `/v1/namespaces?pageToken=${encodeURIComponent(token)}`), 400);
    await expectIcebergError(await request('GET', `/v1/namespaces/${NS}/tables?pageToken=${encodeURIComponent(token)}`), 400);
  });

  it.each(['0', '-1', '1.5', 'abc', '1e400', ' '])('answers 400 for pageSize=%j', async (size) => {
    await expectIcebergError(await request('GET', `/v1/namespaces/${NS}/views?pageSize=${encodeURIComponent(size)}`), 400);
  });

  it('answers 400 for snapshots=bogus', async () => {
    await expectIcebergError(await request('GET', `/v1/namespaces/${NS}/tables/t?snapshots=bogus`), 400);
  });

  it('answers 400 for purgeRequested=maybe and keeps the table', async () => {
    await expectIcebergError(await request('DELETE', `/v1/namespaces/${NS}/tables/t?purgeRequested=maybe`), 400);
    expect((await request('HEAD', `/v1/namespaces/${NS}/tables/t`)).status).toBe(204);
  });

  it('answers 400 for a format version this catalog does not support', async () => {
    const body = { ...createTableRequest(fresh('t')), properties: { 'format-version': '9' } };
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/tables`, body), 400);
  });
});

describe('oversized bodies are 413', () => {
  let small: CatalogFixture;
  beforeAll(async () => {
    small = await createCatalogFixture({ env: { ICERELAY_MAX_BODY_BYTES: '256' } });
  });
  afterAll(async () => {
    await small?.close();
  });

  it('rejects a body larger than ICERELAY_MAX_BODY_BYTES', async () => {
    const body = { namespace: ['big'], properties: { blob: 'x'.repeat(1000) } };
    await expectIcebergError(await small.request('POST', '/v1/namespaces', body), 413);
    await expectIcebergError(await small.request('GET', '/v1/namespaces/big'), 404);
  });

  it('rejects a declared Content-Length over the limit before reading the body', async () => {
    const res = await small.request('POST', '/v1/namespaces', '{"namespace":["x"]}', { 'content-length': '100000' });
    await expectIcebergError(res, 413);
  });

  it('accepts a body at the limit', async () => {
    const body = JSON.stringify({ namespace: ['fits'], properties: { pad: '' } });
    const padded = body.replace('"pad":""', `"pad":"${'p'.repeat(256 - body.length)}"`);
    expect(Buffer.byteLength(padded)).toBe(256);
    expect((await small.request('POST', '/v1/namespaces', padded)).status).toBe(200);
  });
});

describe('known bugs: client mistakes answered with 500', () => {
  // Bug (src/iceberg/new-table.ts:86): partition-spec fields are read with `f.name` before checking
  // that each field is an object, so a null field is a TypeError, i.e. a 500.
  it('answers 400 for a null partition field in create table [known bug]', async () => {
    const body = { ...createTableRequest(fresh('t')), 'partition-spec': { fields: [null] } };
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/tables`, body), 400);
  });

  // Bug (src/iceberg/new-table.ts:91): write-order fields are read with `f['source-id']` unchecked.
  it('answers 400 for a null sort field in create table [known bug]', async () => {
    const body = { ...createTableRequest(fresh('t')), 'write-order': { fields: [null] } };
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/tables`, body), 400);
  });

  // Bug (src/iceberg/metadata-builder.ts:230, reached from addSpec and addSortOrder): `source-ids`
  // is iterated without checking it is a list; a number or object throws "sourceIds is not iterable".
  it('answers 400 for add-spec with source-ids that is not a list [known bug]', async () => {
    const res = await request('POST', `/v1/namespaces/${NS}/tables/t`, {
      requirements: [], updates: [{ action: 'add-spec', spec: { fields: [{ name: 'p', transform: 'identity', 'source-ids': 1 }] } }],
    });
    await expectIcebergError(res, 400);
  });

  it('answers 400 for add-sort-order with source-ids that is not a list [known bug]', async () => {
    const res = await request('POST', `/v1/namespaces/${NS}/tables/t`, {
      requirements: [],
      updates: [{ action: 'add-sort-order', 'sort-order': { fields: [{ transform: 'identity', direction: 'asc', 'null-order': 'nulls-first', 'source-ids': {} }] } }],
    });
    await expectIcebergError(res, 400);
  });

  // Bug (src/storage/store-resolver.ts:51): an unsupported location throws a plain Error, which the
  // app maps to 500. A client-chosen table location or metadata-location should be a 400.
  it('answers 400 for a table location with no supported scheme [known bug]', async () => {
    const body = { ...createTableRequest(fresh('t')), location: 'relative/folder' };
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/tables`, body), 400);
  });

  it('answers 400 for a set-location update with no supported scheme [known bug]', async () => {
    const name = fresh('t');
    await createTable(NS, name);
    const res = await request('POST', `/v1/namespaces/${NS}/tables/${name}`, { requirements: [], updates: [{ action: 'set-location', location: 'hdfs://nn/warehouse/t' }] });
    await expectIcebergError(res, 400);
  });

  it('answers 400 for a registered metadata-location with no supported scheme [known bug]', async () => {
    const res = await request('POST', `/v1/namespaces/${NS}/register`, { name: fresh('r'), 'metadata-location': 'not-a-location' });
    await expectIcebergError(res, 400);
  });

  // Bug (src/iceberg/table-metadata.ts:21 and view-metadata.ts:24): parseJson's SyntaxError is not
  // mapped, so registering a file that is not JSON is a 500.
  it('answers 400 when the registered metadata file is not JSON [known bug]', async () => {
    const file = join(catalog.dir, `${fresh('garbage')}.metadata.json`);
    await writeFile(file, 'this is not json');
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/register`, { name: fresh('r'), 'metadata-location': file }), 400);
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/register-view`, { name: fresh('r'), 'metadata-location': file }), 400);
  });

  // Bug (src/storage/file-store.ts write, reached from every metadata write): a file-system error at
  // a client-chosen location (here: a location below an existing file, ENOTDIR) is a 500.
  it('answers 400 for a table location below an existing file [known bug]', async () => {
    const { 'metadata-location': file } = await createTable(NS, fresh('t'));
    const body = { ...createTableRequest(fresh('t')), location: file };
    await expectIcebergError(await request('POST', `/v1/namespaces/${NS}/tables`, body), 400);
  });

  // Bug (src/iceberg/table-metadata.ts normalizeTableMetadata): a metadata file is accepted as table
  // metadata without table-uuid, location or current-schema-id, so a view's metadata file registers
  // as a table (200); a later assert-table-uuid on it is a TypeError in requirements.ts:72 (500).
  it('refuses to register a view metadata file as a table [known bug]', async () => {
    const view = fresh('v');
    await createView(NS, view);
    const { 'metadata-location': location } = (await (await request('GET', `/v1/namespaces/${NS}/views/${view}`)).json()) as { 'metadata-location': string };
    const res = await request('POST', `/v1/namespaces/${NS}/register`, { name: fresh('r'), 'metadata-location': location });
    await expectIcebergError(res, 400);
  });

  it('answers 4xx for assert-table-uuid on a table registered from a view metadata file [known bug]', async () => {
    const view = fresh('v');
    await createView(NS, view);
    const { 'metadata-location': location } = (await (await request('GET', `/v1/namespaces/${NS}/views/${view}`)).json()) as { 'metadata-location': string };
    const name = fresh('r');
    await request('POST', `/v1/namespaces/${NS}/register`, { name, 'metadata-location': location });
    const res = await request('POST', `/v1/namespaces/${NS}/tables/${name}`, { requirements: [{ type: 'assert-table-uuid', uuid: randomUUID() }], updates: [] });
    expect(res.status).toBeLessThan(500);
  });

  // Bug (src/iceberg/metadata-builder.ts addSchema -> schema.ts sameSchema/canonical, validateSchema):
  // schema nesting has no depth limit, and the recursive helpers overflow the stack (RangeError, 500)
  // at depths the JSON parser still accepts (a few hundred levels). Where the parser itself
  // overflows the answer is a 400, so the depths tried span both sides.
  it('answers 4xx for deeply nested schemas in add-schema [known bug]', async () => {
    const name = fresh('deep');
    await createTable(NS, name);
    for (const depth of [100, 300, 600, 900, 1200, 1600, 2000, 3000]) {
      let type = '"long"';
      for (let i = 0; i < depth; i++) type = `{"type":"struct","fields":[{"id":${i + 2},"name":"f","required":false,"type":${type}}]}`;
      const schema = `{"type":"struct","fields":[{"id":1,"name":"x","required":false,"type":${type}}]}`;
      const res = await request('POST', `/v1/namespaces/${NS}/tables/${name}`, `{"requirements":[],"updates":[{"action":"add-schema","schema":${schema}}]}`);
      expect(res.status, `depth ${depth}: ${await res.text()}`).toBeLessThan(500);
    }
  });
});

describe('known bugs: semantics', () => {
  // Bug (src/catalog/builtin-catalog.ts:121 and :130): `key in updates` / `name in properties` see
  // inherited Object.prototype members, so removing a property named `toString` or `constructor`
  // is refused as "Duplicate keys to update and remove" (422) instead of being reported missing.
  it('reports a removed property named toString as missing [known bug]', async () => {
    const res = await request('POST', `/v1/namespaces/${NS}/properties`, { removals: ['toString'] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ updated: [], removed: [], missing: ['toString'] });
  });

  // Bug (src/catalog/builtin-catalog.ts:137, also metadata-builder.ts:450 and view-metadata.ts:104):
  // Object.assign runs the `__proto__` setter, so a property with that key is reported as updated
  // but never stored (create namespace, by contrast, stores it).
  it('stores a namespace property named __proto__ that it reports as updated [known bug]', async () => {
    const ns = fresh('proto');
    await createNamespace([ns]);
    const res = await request('POST', `/v1/namespaces/${ns}/properties`, '{"updates": {"__proto__": "x"}}');
    expect(await res.json()).toEqual({ updated: ['__proto__'], removed: [], missing: [] });
    const loaded = (await (await request('GET', `/v1/namespaces/${ns}`)).json()) as { properties: Record<string, string> };
    expect(Object.hasOwn(loaded.properties, '__proto__')).toBe(true);
  });

  // Bug (src/server/catalog-app.ts withIdempotency): the key is checked, then the operation runs,
  // then the response is stored; concurrent requests with one key (a client retrying after a
  // timeout while the first attempt still runs) all execute. The spec: "the server ensures no
  // additional effects for requests that carry the same Idempotency-Key".
  it('applies a commit once when requests with the same Idempotency-Key overlap [known bug]', async () => {
    const name = fresh('race');
    await createTable(NS, name);
    const key = randomUUID();
    const body = { requirements: [], updates: [{ action: 'set-properties', updates: { k: 'v' } }] };
    const responses = await Promise.all([1, 2, 3].map(() => request('POST', `/v1/namespaces/${NS}/tables/${name}`, body, { 'idempotency-key': key })));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    const table = (await (await request('GET', `/v1/namespaces/${NS}/tables/${name}`)).json()) as { metadata: { 'metadata-log': unknown[] } };
    expect(table.metadata['metadata-log']).toHaveLength(1);
  });

  it('answers overlapping creates with the same Idempotency-Key alike [known bug]', async () => {
    const key = randomUUID();
    const body = { namespace: [fresh('race')] };
    const responses = await Promise.all([1, 2].map(() => request('POST', '/v1/namespaces', body, { 'idempotency-key': key })));
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
  });
});

describe('/v1/config', () => {
  it('has defaults, overrides, endpoints and the idempotency-key lifetime', async () => {
    const res = await request('GET', '/v1/config');
    expect(res.status).toBe(200);
    const config = (await res.json()) as Record<string, unknown>;
    expect(config.defaults).toBeTypeOf('object');
    expect(config.overrides).toBeTypeOf('object');
    expect(Array.isArray(config.endpoints) && config.endpoints.length).toBeGreaterThan(0);
    for (const endpoint of config.endpoints as string[]) expect(endpoint).toMatch(/^(GET|HEAD|POST|DELETE) \/v1\/\{prefix\}\/\S+$/);
    expect(config['idempotency-key-lifetime']).toMatch(/^PT\d+[MS]$/);
  });

  it('ignores a warehouse parameter', async () => {
    expect((await request('GET', '/v1/config?warehouse=anything')).status).toBe(200);
  });

  it('serves every endpoint it advertises', async () => {
    const { endpoints } = (await (await request('GET', '/v1/config')).json()) as { endpoints: string[] };
    // Its own entities: the DELETE, unregister and commit endpoints may change them.
    const ns = fresh('routes');
    await createNamespace([ns]);
    await createTable(ns, 't');
    await createView(ns, 'v');
    const values: Record<string, string> = { namespace: ns, table: 't', view: 'v' };
    for (const endpoint of endpoints) {
      const [method, template] = endpoint.split(' ') as [string, string];
      const path = template.replace('/{prefix}', '').replace(/\{([^}]+)\}/g, (_m, name: string) => values[name] ?? 'x');
      // An empty JSON object is invalid for most POSTs: what matters is that the route exists.
      const res = await request(method, path, method === 'POST' ? {} : undefined);
      const text = await res.text();
      expect(res.status, `${endpoint}: ${text}`).not.toBe(405);
      expect(text, endpoint).not.toContain('NoSuchEndpointException');
      expect(res.status, `${endpoint}: ${text}`).toBeLessThan(500);
    }
  });
});

describe('path and query encoding', () => {
  it('decodes both + and %20 to a space in a table name', async () => {
    const name = `${fresh('with')} space`;
    const res = await request('POST', `/v1/namespaces/${NS}/tables`, createTableRequest(name));
    expect(res.status).toBe(200);
    const plus = name.replace(' ', '+');
    const pct = name.replace(' ', '%20');
    expect((await request('GET', `/v1/namespaces/${NS}/tables/${plus}`)).status).toBe(200);
    expect((await request('GET', `/v1/namespaces/${NS}/tables/${pct}`)).status).toBe(200);
    expect((await request('HEAD', `/v1/namespaces/${NS}/tables/${plus}`)).status).toBe(204);
    const list = (await (await request('GET', `/v1/namespaces/${NS}/tables`)).json()) as { identifiers: { name: string }[] };
    expect(list.identifiers.map((i) => i.name)).toContain(name);
  });

  it('keeps a literal plus as %2B', async () => {
    const name = `${fresh('a')}+b`;
    expect((await request('POST', `/v1/namespaces/${NS}/tables`, createTableRequest(name))).status).toBe(200);
    expect((await request('HEAD', `/v1/namespaces/${NS}/tables/${encodeURIComponent(name)}`)).status).toBe(204);
    expect((await request('HEAD', `/v1/namespaces/${NS}/tables/${name}`)).status).toBe(404);
  });

  it('decodes unicode names', async () => {
    const name = `${fresh('tbl')}_é雪🧊`;
    expect((await request('POST', `/v1/namespaces/${NS}/tables`, createTableRequest(name))).status).toBe(200);
    expect((await request('HEAD', `/v1/namespaces/${NS}/tables/${encodeURIComponent(name)}`)).status).toBe(204);
  });

  it('splits a multi-level namespace on %1F (either case)', async () => {
    const top = fresh('multi');
    await createNamespace([top, 'b c', 'd']);
    for (const sep of ['%1F', '%1f']) {
      const res = await request('GET', `/v1/namespaces/${top}${sep}b+c${sep}d`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { namespace: string[] }).namespace).toEqual([top, 'b c', 'd']);
    }
    const table = await request('POST', `/v1/namespaces/${top}%1Fb%20c%1Fd/tables`, createTableRequest('deep'));
    expect(table.status).toBe(200);
    const list = await request('GET', `/v1/namespaces/${top}%1Fb%20c%1Fd/tables`);
    expect(await list.json()).toEqual({ identifiers: [{ namespace: [top, 'b c', 'd'], name: 'deep' }], 'next-page-token': null });
  });

  it('lists children of a parent with their full paths', async () => {
    const top = fresh('parent');
    await createNamespace([top, 'x']);
    await createNamespace([top, 'y', 'z']);
    const res = await request('GET', `/v1/namespaces?parent=${top}`);
    expect(await res.json()).toEqual({ namespaces: [[top, 'x'], [top, 'y']], 'next-page-token': null });
    const nested = await request('GET', `/v1/namespaces?parent=${top}%1Fy`);
    expect(((await nested.json()) as { namespaces: string[][] }).namespaces).toEqual([[top, 'y', 'z']]);
    const empty = await request('GET', `/v1/namespaces?parent=${top}%1Fx`);
    expect(((await empty.json()) as { namespaces: string[][] }).namespaces).toEqual([]);
  });

  it('treats an empty parent as absent (top level)', async () => {
    const top = (await (await request('GET', '/v1/namespaces')).json()) as { namespaces: string[][] };
    const emptyParent = (await (await request('GET', '/v1/namespaces?parent=')).json()) as { namespaces: string[][] };
    expect(emptyParent.namespaces).toEqual(top.namespaces);
    expect(top.namespaces).toContainEqual([NS]);
  });
});

describe('pagination', () => {
  const names = ['a', 'b', 'c', 'd', 'e'];
  let ns: string;
  beforeAll(async () => {
    ns = fresh('paged');
    await createNamespace([ns]);
    for (const name of [...names].reverse()) await createTable(ns, name);
    for (const name of names) await createNamespace([ns, name]);
    await createView(ns, 'only_view');
  });

  async function walk(path: string, key: 'identifiers' | 'namespaces', pageSize: number): Promise<{ items: unknown[]; pages: number }> {
    const items: unknown[] = [];
    let token = '';
    for (let pages = 1; pages < 100; pages++) {
      const sep = path.includes('?') ? '&' : '?';
      const res = await request('GET', `${path}${sep}pageSize=${pageSize}&pageToken=${encodeURIComponent(token)}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      const page = body[key] as unknown[];
      expect(page.length).toBeLessThanOrEqual(pageSize);
      items.push(...page);
      const next = body['next-page-token'];
      if (next === null) return { items, pages };
      expect(typeof next).toBe('string');
      token = next as string;
    }
    throw new Error('pagination did not end');
  }

  it.each([1, 2, 3, 5, 6])('walks every table with pageSize=%i, ending on next-page-token null', async (size) => {
    const { items, pages } = await walk(`/v1/namespaces/${ns}/tables`, 'identifiers', size);
    expect(items).toEqual(names.map((name) => ({ namespace: [ns], name })));
    expect(pages).toBe(Math.ceil(names.length / size));
  });

  it('walks child namespaces of a parent', async () => {
    const { items } = await walk(`/v1/namespaces?parent=${ns}`, 'namespaces', 2);
    expect(items).toEqual(names.map((name) => [ns, name]));
  });

  it('treats an empty pageToken as the first page', async () => {
    const res = await request('GET', `/v1/namespaces/${ns}/tables?pageToken=&pageSize=2`);
    const body = (await res.json()) as { identifiers: { name: string }[]; 'next-page-token': string | null };
    expect(body.identifiers.map((i) => i.name)).toEqual(['a', 'b']);
    expect(body['next-page-token']).toEqual(expect.any(String));
  });

  it('returns everything with next-page-token null when no pageToken is sent', async () => {
    for (const query of ['', '?pageToken=']) {
      const body = (await (await request('GET', `/v1/namespaces/${ns}/tables${query}`)).json()) as Record<string, unknown>;
      expect((body.identifiers as unknown[]).length).toBe(names.length);
      expect(body['next-page-token']).toBeNull();
    }
  });

  it('lists views separately from tables', async () => {
    const body = (await (await request('GET', `/v1/namespaces/${ns}/views?pageSize=10`)).json()) as Record<string, unknown>;
    expect(body).toEqual({ identifiers: [{ namespace: [ns], name: 'only_view' }], 'next-page-token': null });
  });
});

describe('ETag and If-None-Match', () => {
  it('answers 304 with an empty body for a matching ETag, per representation', async () => {
    const path = `/v1/namespaces/${NS}/tables/t`;
    const all = await request('GET', path);
    const etag = all.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    const refs = await request('GET', `${path}?snapshots=refs`);
    expect(refs.status).toBe(200);
    const refsEtag = refs.headers.get('etag');
    expect(refsEtag).toBeTruthy();
    expect(refsEtag).not.toBe(etag);

    const notModified = await request('GET', path, undefined, { 'if-none-match': etag! });
    expect(notModified.status).toBe(304);
    expect(await notModified.text()).toBe('');
    expect(notModified.headers.get('etag')).toBe(etag);

    expect((await request('GET', path, undefined, { 'if-none-match': `W/${etag}` })).status).toBe(304);
    expect((await request('GET', path, undefined, { 'if-none-match': `"other", ${etag}` })).status).toBe(304);
    expect((await request('GET', `${path}?snapshots=refs`, undefined, { 'if-none-match': etag! })).status).toBe(200);
    expect((await request('GET', path, undefined, { 'if-none-match': '"stale"' })).status).toBe(200);
  });

  it('changes the ETag after a commit, and the commit response carries the new one', async () => {
    const name = fresh('etag');
    await createTable(NS, name);
    const path = `/v1/namespaces/${NS}/tables/${name}`;
    const before = (await request('GET', path)).headers.get('etag');
    const commit = await request('POST', path, { requirements: [], updates: [{ action: 'set-properties', updates: { k: 'v' } }] });
    expect(commit.status).toBe(200);
    const after = (await request('GET', path)).headers.get('etag');
    expect(after).not.toBe(before);
    expect(commit.headers.get('etag')).toBe(after);
    expect((await request('GET', path, undefined, { 'if-none-match': before! })).status).toBe(200);
  });

  it('sends an ETag on create', async () => {
    const res = await request('POST', `/v1/namespaces/${NS}/tables`, createTableRequest(fresh('t')));
    expect(res.headers.get('etag')).toMatch(/^".+"$/);
  });
});

describe('HEAD routes', () => {
  it.each([
    ['namespace', `/v1/namespaces/${NS}`, '/v1/namespaces/missing'],
    ['table', `/v1/namespaces/${NS}/tables/t`, `/v1/namespaces/${NS}/tables/missing`],
    ['view', `/v1/namespaces/${NS}/views/v`, `/v1/namespaces/${NS}/views/missing`],
  ])('answers 204 or 404 for a %s, with no body', async (_kind, present, missing) => {
    const yes = await request('HEAD', present);
    expect(yes.status).toBe(204);
    expect(await yes.text()).toBe('');
    const no = await request('HEAD', missing);
    expect(no.status).toBe(404);
    expect(await no.text()).toBe('');
  });

  it('answers 404 for a table in a missing namespace and for the other kind', async () => {
    expect((await request('HEAD', '/v1/namespaces/missing/tables/t')).status).toBe(404);
    expect((await request('HEAD', `/v1/namespaces/${NS}/tables/v`)).status).toBe(404);
    expect((await request('HEAD', `/v1/namespaces/${NS}/views/t`)).status).toBe(404);
  });
});

describe('Idempotency-Key', () => {
  it('replays the response of a repeated create, creating the namespace once', async () => {
    const ns = fresh('idem');
    const key = randomUUID();
    const first = await request('POST', '/v1/namespaces', { namespace: [ns], properties: { a: '1' } }, { 'idempotency-key': key });
    const second = await request('POST', '/v1/namespaces', { namespace: [ns], properties: { a: '1' } }, { 'idempotency-key': key });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual(await first.json());
    const list = (await (await request('GET', '/v1/namespaces')).json()) as { namespaces: string[][] };
    expect(list.namespaces.filter((n) => n[0] === ns)).toEqual([[ns]]);
    // Without the key the same request conflicts: it really ran only once.
    await expectIcebergError(await request('POST', '/v1/namespaces', { namespace: [ns] }), 409);
  });

  it('replays a 204 without a body and does not drop twice', async () => {
    const ns = fresh('idem');
    await createNamespace([ns]);
    const key = randomUUID();
    const first = await request('DELETE', `/v1/namespaces/${ns}`, undefined, { 'idempotency-key': key });
    const second = await request('DELETE', `/v1/namespaces/${ns}`, undefined, { 'idempotency-key': key });
    expect([first.status, second.status]).toEqual([204, 204]);
    expect(await second.text()).toBe('');
  });

  it('replays a finalized 4xx', async () => {
    const key = randomUUID();
    const body = { namespace: [NS] };
    await expectIcebergError(await request('POST', '/v1/namespaces', body, { 'idempotency-key': key }), 409, 'AlreadyExistsException');
    await expectIcebergError(await request('POST', '/v1/namespaces', body, { 'idempotency-key': key }), 409, 'AlreadyExistsException');
  });

  it('replays the ETag of a commit', async () => {
    const name = fresh('idem');
    await createTable(NS, name);
    const key = randomUUID();
    const body = { requirements: [], updates: [{ action: 'set-properties', updates: { n: '1' } }] };
    const first = await request('POST', `/v1/namespaces/${NS}/tables/${name}`, body, { 'idempotency-key': key });
    const second = await request('POST', `/v1/namespaces/${NS}/tables/${name}`, body, { 'idempotency-key': key });
    expect(second.status).toBe(200);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    const log = (await (await request('GET', `/v1/namespaces/${NS}/tables/${name}`)).json()) as { metadata: { 'metadata-log': unknown[] } };
    expect(log.metadata['metadata-log']).toHaveLength(1);
  });

  it('answers 422 when a key is reused for a different operation', async () => {
    const key = randomUUID();
    expect((await request('POST', '/v1/namespaces', { namespace: [fresh('idem')] }, { 'idempotency-key': key })).status).toBe(200);
    const res = await request('POST', `/v1/namespaces/${NS}/properties`, { updates: { x: 'y' } }, { 'idempotency-key': key });
    await expectIcebergError(res, 422, 'UnprocessableEntityException');
    const props = (await (await request('GET', `/v1/namespaces/${NS}`)).json()) as { properties: Record<string, string> };
    expect(props.properties.x).toBeUndefined();
  });

  it('ignores the key on read-only routes', async () => {
    const key = randomUUID();
    expect((await request('GET', `/v1/namespaces/${NS}`, undefined, { 'idempotency-key': key })).status).toBe(200);
    expect((await request('POST', '/v1/namespaces', { namespace: [fresh('idem')] }, { 'idempotency-key': key })).status).toBe(200);
  });
});
