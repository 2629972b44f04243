/**
 * Replication rules changed at run time, end to end: two Icerelay processes sharing one Postgres
 * state database (a throw-away database) and one warehouse, with a destination `eu` whose
 * configuration rules leave `sales.*` out, and reconciliation every hour only (so what brings a
 * table over is the rule change itself, not a periodic pass).
 *
 * Checked: an existing, already committed table a new rule selects is replicated (the backfill);
 * the other process, started before the rule existed, lists it and ships the table's next commit
 * on its own; the rule survives a restart; a changed rule backfills what it newly selects; two
 * operators on two instances holding the same version: one wins, the other gets 409; a deleted
 * rule stops shipping.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllChildren, startIcerelay, type IcerelayChild } from '../helpers/child-process-icerelay.ts';
import { freePort } from '../helpers/free-port.ts';
import { sendRaw } from '../helpers/raw-http.ts';
import {
  append, createNamespace, createTable, currentId, expectReplicaEqualsSource, freshPostgresDatabase, loadTable, mustLoad, postgresSkip,
  replicaBase, sleep, waitForReplication, type TableId,
} from './robustness/harness.ts';

const RULES = '/admin/v1/replication/rules';
const orders: TableId = { namespace: 'sales', name: 'orders' };
const items: TableId = { namespace: 'sales', name: 'items' };
const events: TableId = { namespace: 'ops', name: 'events' };

interface RulesAnswer {
  status: number;
  etag: string | undefined;
  body: { version?: number; rules?: { id: string; source: string; version?: number; tables: string[] }[]; rule?: { id: string; version: number }; backfill?: string; error?: { type: string } };
}

async function rules(base: string, method: string, path = '', body?: unknown, headers: Record<string, string> = {}): Promise<RulesAnswer> {
  const answer = await sendRaw(base, method, `${RULES}${path}`, body, headers);
  return { status: answer.status, etag: answer.headers.etag as string | undefined, body: answer.body ? JSON.parse(answer.body) as RulesAnswer['body'] : {} };
}

/** Waits until the replica of `t` at `eu` loads and its current snapshot is `snapshotId`. */
async function waitForReplica(base: string, t: TableId, snapshotId: string, timeoutMs = 60_000): Promise<void> {
  let last = '';
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(200)) {
    const loaded = await loadTable(replicaBase(base, 'eu'), t);
    if ('metadata' in loaded && currentId(loaded.metadata) === snapshotId) return;
    last = 'metadata' in loaded ? `at snapshot ${currentId(loaded.metadata)}` : `${loaded.status}`;
  }
  throw new Error(`the replica of ${t.namespace}.${t.name} did not reach snapshot ${snapshotId} in ${timeoutMs} ms (last: ${last})`);
}

describe.skipIf(postgresSkip !== undefined)('replication rules changed at run time, two processes on one Postgres', () => {
  let dir: string;
  let config: string;
  let postgres: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let a: IcerelayChild;
  let b: IcerelayChild;
  let ruleId: string;
  let ordersSnapshot: string;

  const start = async (name: string) => startIcerelay({
    args: ['--config', config],
    env: { ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(dir, name), ICERELAY_DATABASE_URL: postgres.url, ICERELAY_WAREHOUSE: join(dir, 'warehouse') },
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'icerelay-rules-runtime-'));
    postgres = await freshPostgresDatabase();
    config = join(dir, 'icerelay.yaml');
    writeFileSync(config, [
      'replication:',
      '  destinations:',
      `    eu: { warehouse: "${join(dir, 'replicas', 'eu')}" }`,
      '  rules:',
      '    - { tables: ["**"], exclude: ["sales.*"] }',
      '  pollMs: 200',
      '  reconcileInterval: 1h',
      '',
    ].join('\n'));
    // One after the other: both run the migrations of the shared database at start.
    a = await start('a');
    b = await start('b');
  }, 180_000);

  afterAll(async () => {
    await killAllChildren();
    await postgres?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('a new rule backfills a table its configuration left out, and the other process follows it', async () => {
    await createNamespace(a.url, 'sales');
    await createNamespace(a.url, 'ops');
    for (const t of [orders, events]) await createTable(a.url, t);
    ordersSnapshot = (await append({ base: () => a.url, table: orders })).snapshotId;
    await append({ base: () => a.url, table: events });
    await waitForReplication(() => a.url, 60_000);
    // Every queue is done: sales.orders was stepped over (no rule selects it), ops.events shipped.
    expect((await loadTable(replicaBase(a.url, 'eu'), orders) as { status: number }).status).toBe(404);
    await expectReplicaEqualsSource(a.url, events, 'eu');

    const before = await rules(b.url, 'GET');
    expect(before).toMatchObject({ status: 200, etag: '"0"', body: { version: 0 } });
    const created = await rules(a.url, 'POST', '', { tables: ['sales.orders'], to: ['eu'] });
    expect(created).toMatchObject({ status: 201, etag: '"1"', body: { backfill: 'started', rule: { version: 1 } } });
    ruleId = created.body.rule!.id;

    await waitForReplica(a.url, orders, ordersSnapshot);
    await expectReplicaEqualsSource(a.url, orders, 'eu');

    // The other process lists the rule, and ships the table's next commit alone.
    const seen = await rules(b.url, 'GET');
    expect(seen).toMatchObject({ status: 200, etag: '"1"', body: { version: 1 } });
    expect(seen.body.rules!.map((r) => [r.id, r.source])).toEqual([['config-1', 'config'], [ruleId, 'api']]);
    await a.kill('SIGTERM');
    ordersSnapshot = (await append({ base: () => b.url, table: orders })).snapshotId;
    await waitForReplica(b.url, orders, ordersSnapshot);
    await expectReplicaEqualsSource(b.url, orders, 'eu');
    // Still only that table of sales.
    await createTable(b.url, items);
    const itemsSnapshot = (await append({ base: () => b.url, table: items })).snapshotId;
    await waitForReplication(() => b.url, 60_000);
    expect((await loadTable(replicaBase(b.url, 'eu'), items) as { status: number }).status).toBe(404);
    expect(itemsSnapshot).toMatch(/^[0-9]+$/);
  }, 240_000);

  it('keeps the rule across a restart; a change backfills; of two operators with one version the second gets 409', async () => {
    a = await start('a');
    const listed = await rules(a.url, 'GET');
    expect(listed).toMatchObject({ status: 200, etag: '"1"' });
    expect(listed.body.rules!.at(-1)).toMatchObject({ id: ruleId, source: 'api', version: 1, tables: ['sales.orders'] });

    const changed = await rules(a.url, 'PUT', `/${ruleId}`, { tables: ['sales.orders', 'sales.items'], to: ['eu'] }, { 'if-match': '"1"' });
    expect(changed).toMatchObject({ status: 200, etag: '"2"', body: { backfill: 'started', rule: { version: 2 } } });
    const late = await rules(b.url, 'PUT', `/${ruleId}`, { tables: ['**'], to: ['eu'] }, { 'if-match': '"1"' });
    expect(late).toMatchObject({ status: 409, body: { error: { type: 'CommitFailedException' } } });
    expect((await rules(b.url, 'GET', `/${ruleId}`)).body).toMatchObject({ version: 2, tables: ['sales.orders', 'sales.items'] });

    const itemsNow = currentId((await mustLoad(a.url, items)).metadata)!;
    await waitForReplica(a.url, items, itemsNow);
    await expectReplicaEqualsSource(a.url, items, 'eu');
  }, 240_000);

  it('stops shipping a table once its rule is deleted', async () => {
    expect((await rules(b.url, 'DELETE', `/${ruleId}`, undefined, { 'if-match': '"2"' })).status).toBe(204);
    expect((await rules(a.url, 'GET')).body).toMatchObject({ version: 3, rules: [{ id: 'config-1' }] });
    const replicated = ordersSnapshot;
    const next = (await append({ base: () => b.url, table: orders })).snapshotId;
    await waitForReplication(() => b.url, 60_000);
    expect(currentId((await mustLoad(a.url, orders)).metadata)).toBe(next);
    expect(currentId((await mustLoad(replicaBase(a.url, 'eu'), orders)).metadata)).toBe(replicated);
  }, 120_000);
});
