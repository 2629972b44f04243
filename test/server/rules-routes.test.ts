/**
 * The rules routes of the admin API (in-process, over a real state database: SQLite and a
 * throw-away Postgres database): the configuration's rules listed read-only, rules added, changed
 * and deleted with If-Match carrying the rule's ETag, a stale ETag refused with 409 and nothing
 * changed, bad input answered 400 naming the field, and a backfill started by every new or
 * changed rule.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseConfig, type StateDatabase } from '../../src/catalog/database.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { ReplicationRules } from '../../src/replication/replication-rules.ts';
import { RulesStore } from '../../src/replication/rules-store.ts';
import { createAdminApp } from '../../src/server/admin-routes.ts';
import { createLogger } from '../../src/util/logger.ts';
import { freshPostgresDatabase, postgresSkip } from '../replication/robustness/harness.ts';

const logger = createLogger({ level: 'silent' });
const BASE = '/admin/v1/replication/rules';

const databases: { name: string; skip: string | undefined; open: (dir: string) => Promise<{ config: DatabaseConfig; drop(): Promise<void> }> }[] = [
  { name: 'sqlite', skip: undefined, open: async (dir) => ({ config: { kind: 'sqlite', path: join(dir, 'state.db') }, drop: async () => {} }) },
  {
    name: 'postgres',
    skip: postgresSkip,
    open: async () => {
      const db = await freshPostgresDatabase();
      return { config: { kind: 'postgres', url: db.url }, drop: db.drop };
    },
  },
];

interface Answer {
  status: number;
  etag: string | null;
  location: string | null;
  body: Record<string, unknown> & { error?: { message: string; type: string; code: number } };
}

describe.each(databases)('rules routes on $name', ({ skip, open }) => {
  let dir: string;
  let drop: () => Promise<void>;
  let database: StateDatabase;
  let admin: ReturnType<typeof createAdminApp>;
  let backfills = 0;

  async function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const init: RequestInit = { method, headers: { 'content-type': 'application/json', ...headers } };
    if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
    const response = await admin.request(path, init);
    const text = await response.text();
    return { status: response.status, etag: response.headers.get('etag'), location: response.headers.get('location'), body: text ? JSON.parse(text) as Answer['body'] : {} };
  }

  beforeAll(async () => {
    if (skip) return;
    dir = await mkdtemp(join(tmpdir(), 'icerelay-rules-routes-'));
    const opened = await open(dir);
    drop = opened.drop;
    database = await openDatabase(opened.config);
    const rules = new ReplicationRules({
      destinations: ['eu', 'archive'],
      configRules: [{ tables: ['**'], exclude: ['sales.*'], to: ['eu'] }, { tables: ['**'], exclude: [] }],
      store: new RulesStore(database),
      logger,
    });
    await rules.reload();
    admin = createAdminApp(new OutboxStore(database), {
      destinations: ['eu', 'archive'],
      rules,
      logger,
      reconcile: async () => {
        backfills++;
        return { tables: 0, observed: 0, skipped: 0 };
      },
    });
  });
  afterAll(async () => {
    if (skip) return;
    await database.close();
    await drop();
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(skip)("lists the configuration's rules, read-only, with the rule set's version as ETag", async () => {
    const listed = await send('GET', BASE);
    expect(listed).toMatchObject({ status: 200, etag: '"0"', body: { version: 0 } });
    expect(listed.body.rules).toEqual([
      { id: 'config-1', source: 'config', tables: ['**'], exclude: ['sales.*'], to: ['eu'] },
      { id: 'config-2', source: 'config', tables: ['**'], exclude: [] },
    ]);
    expect((await send('GET', `${BASE}/config-1`)).body).toMatchObject({ id: 'config-1', source: 'config' });
    for (const method of ['PUT', 'DELETE']) {
      const refused = await send(method, `${BASE}/config-1`, { tables: ['**'] }, { 'if-match': '"1"' });
      expect([method, refused.status, refused.body.error?.type]).toEqual([method, 403, 'ForbiddenException']);
      expect(refused.body.error?.message).toContain('configuration file');
    }
  });

  it.skipIf(skip)('answers 400 naming the field for a bad rule, and creates nothing', async () => {
    const cases: [unknown, string][] = [
      [{ tables: ['sales orders'] }, 'tables.0'],
      [{ tables: [] }, 'tables'],
      [{ tables: ['sales.*'], exclude: [7] }, 'exclude.0'],
      [{ tables: ['sales.*'], to: ['nowhere'] }, "to.0: no destination named 'nowhere'"],
      [{ tables: ['sales.*'], to: [] }, 'to'],
      [{ tables: ['sales.*'], destination: 'eu' }, 'destination'],
      [['sales.*'], '(body)'],
      ['{"tables": [', 'must be a JSON object'],
    ];
    for (const [body, field] of cases) {
      const answer = await send('POST', BASE, body);
      expect([JSON.stringify(body), answer.status, answer.body.error?.type]).toEqual([JSON.stringify(body), 400, 'BadRequestException']);
      expect(answer.body.error?.message).toContain(field);
    }
    expect((await send('GET', BASE)).body.version).toBe(0);
    expect(backfills).toBe(0);
  });

  it.skipIf(skip)('creates a rule (201, ETag, Location) and starts a backfill', async () => {
    const created = await send('POST', BASE, { tables: ['sales.orders'], to: ['eu'] });
    expect(created).toMatchObject({ status: 201, etag: '"1"', body: { backfill: 'started', rule: { source: 'api', tables: ['sales.orders'], exclude: [], to: ['eu'], version: 1 } } });
    const id = (created.body.rule as { id: string }).id;
    expect(created.location).toBe(`${BASE}/${id}`);
    expect(backfills).toBe(1);
    const listed = await send('GET', BASE);
    expect(listed).toMatchObject({ status: 200, etag: '"1"', body: { version: 1 } });
    expect((listed.body.rules as { id: string }[]).map((r) => r.id)).toEqual(['config-1', 'config-2', id]);
    expect(await send('GET', `${BASE}/${id}`)).toMatchObject({ status: 200, etag: '"1"', body: { id, version: 1 } });
  });

  it.skipIf(skip)('needs If-Match to change or delete; a stale one gets 409 and changes nothing; exactly one of two writers wins', async () => {
    const created = await send('POST', BASE, { tables: ['hr.*'] });
    const id = (created.body.rule as { id: string }).id;
    const path = `${BASE}/${id}`;
    expect(await send('PUT', path, { tables: ['hr.payroll'] })).toMatchObject({ status: 428, body: { error: { type: 'PreconditionRequiredException', code: 428 } } });
    expect(await send('DELETE', path)).toMatchObject({ status: 428 });
    expect(await send('PUT', path, { tables: ['hr.payroll'] }, { 'if-match': 'yesterday' })).toMatchObject({ status: 400, body: { error: { type: 'BadRequestException' } } });
    expect(await send('PUT', `${BASE}/no-such-rule`, { tables: ['**'] }, { 'if-match': '"1"' })).toMatchObject({ status: 404, body: { error: { type: 'NotFoundException' } } });
    expect(await send('PUT', path, { tables: ['hr payroll'] }, { 'if-match': '"1"' })).toMatchObject({ status: 400 });

    const before = backfills;
    const changed = await send('PUT', path, { tables: ['hr.payroll'], to: ['archive'] }, { 'if-match': created.etag! });
    expect(changed).toMatchObject({ status: 200, etag: '"2"', body: { backfill: 'started', rule: { id, tables: ['hr.payroll'], to: ['archive'], version: 2 } } });
    expect(backfills).toBe(before + 1);

    // Two operators read version 2 and both write.
    const [a, b] = await Promise.all([
      send('PUT', path, { tables: ['hr.a'] }, { 'if-match': '"2"' }),
      send('PUT', path, { tables: ['hr.b'] }, { 'if-match': 'W/"2"' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const [winner, loser] = a.status === 200 ? [a, b] : [b, a];
    expect(loser.body.error).toMatchObject({ type: 'CommitFailedException', code: 409 });
    expect(loser.body.error?.message).toContain('If-Match: "3"');
    expect((await send('GET', path)).body).toEqual(winner.body.rule);

    const versionBefore = (await send('GET', BASE)).body.version;
    expect(await send('DELETE', path, undefined, { 'if-match': '"2"' })).toMatchObject({ status: 409, body: { error: { type: 'CommitFailedException' } } });
    expect((await send('GET', BASE)).body.version).toBe(versionBefore);
    expect(await send('DELETE', path, undefined, { 'if-match': '"3"' })).toMatchObject({ status: 204 });
    expect(await send('GET', path)).toMatchObject({ status: 404 });
    expect(await send('DELETE', path, undefined, { 'if-match': '"3"' })).toMatchObject({ status: 404 });
    expect((await send('GET', BASE)).body.version).toBe((versionBefore as number) + 1);
  });
});
