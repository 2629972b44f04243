/**
 * The admin API's outbox listing: the newest events of one table or of all, oldest first, and
 * clear Iceberg-style errors for bad parameters and unknown admin routes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { createAdminApp } from '../../src/server/admin-routes.ts';

let dir: string;
let database: StateDatabase;
let outbox: OutboxStore;
let admin: ReturnType<typeof createAdminApp>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icerelay-admin-'));
  database = await openDatabase({ kind: 'sqlite', path: join(dir, 'state.db') });
  outbox = new OutboxStore(database);
  admin = createAdminApp(outbox);
  // Five commits on a.t, then two on b.u, then one rejected on a.t.
  const commit = async (namespace: string, name: string, n: number, status: 'committed' | 'rejected' = 'committed') => {
    const id = await outbox.recordIntent({ kind: 'commit-table', entities: [{ namespace: [namespace], name }], request: { method: 'POST', path: `/v1/namespaces/${namespace}/tables/${name}`, body: '{}' } });
    await outbox.recordOutcome(id, status === 'committed'
      ? { status, httpStatus: 200, metadataLocations: [`file:///w/${name}/metadata/${n}.metadata.json`], addedSnapshotIds: [[String(9007199254740993n + BigInt(n))]] }
      : { status, httpStatus: 409, error: 'CommitFailedException: stale' });
  };
  for (let n = 1; n <= 5; n++) await commit('a', 't', n);
  for (let n = 1; n <= 2; n++) await commit('b', 'u', n);
  await commit('a', 't', 6, 'rejected');
});

afterAll(async () => {
  await database.close();
  await rm(dir, { recursive: true, force: true });
});

interface Listed {
  events: Array<{ sequence: number; entity: { namespace: string[]; name?: string }; status: string; metadataLocation: string | null; addedSnapshotIds: string[] }>;
}

async function list(query: string): Promise<{ status: number; body: Listed & { error?: { type: string; message: string } } }> {
  const response = await admin.request(`/admin/v1/outbox${query}`);
  return { status: response.status, body: (await response.json()) as Listed & { error?: { type: string; message: string } } };
}

describe('GET /admin/v1/outbox', () => {
  it('lists the newest events of one table, oldest first, with 63-bit ids as strings', async () => {
    const { status, body } = await list('?table=a.t&limit=3');
    expect(status).toBe(200);
    expect(body.events.map((e) => [e.sequence, e.status])).toEqual([[4, 'committed'], [5, 'committed'], [6, 'rejected']]);
    expect(body.events[0]!.metadataLocation).toBe('file:///w/t/metadata/4.metadata.json');
    expect(body.events[0]!.addedSnapshotIds).toEqual(['9007199254740997']);
  });

  it('lists the newest events of all tables without a table filter', async () => {
    const { body } = await list('?limit=3');
    expect(body.events.map((e) => `${e.entity.namespace.join('.')}.${e.entity.name}#${e.sequence}`)).toEqual(['b.u#1', 'b.u#2', 'a.t#6']);
  });

  it('answers 400 for a bad limit or table, 404 for an unknown admin route', async () => {
    for (const query of ['?limit=0', '?limit=abc', '?limit=10001', '?table=t', '?table=a..t']) {
      const { status, body } = await list(query);
      expect([query, status, body.error?.type]).toEqual([query, 400, 'BadRequestException']);
    }
    const missing = await admin.request('/admin/v1/nothing');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { type: string } }).error.type).toBe('NoSuchResourceException');
  });
});
