/**
 * Two Icerelay processes sharing one Postgres state database and one warehouse folder (different
 * ports and data folders), both replicating into the same destination `local` with a claim
 * timeout of 3 s. Engine-like writers spread their appends over both; midway one process is
 * killed with SIGKILL (its claims and in-flight commits die with it) and the writers go on
 * through the other, which must take over the dead one's queues once their claims expire and
 * ship everything. It is killed while it holds claims (read in the shared database), so the
 * takeover after the claim timeout is exercised every run.
 *
 * Checked: the writers' commits are all in the source, each once; every replica has exactly its
 * source's snapshots (no duplicate, skipped or reordered one) and current snapshot; while the
 * workload ran the replicas only ever showed a prefix of the source's history; every outbox event
 * is settled and accounts for every snapshot once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../../src/catalog/database.ts';
import { OutboxStore, type ReplicationPosition } from '../../../src/outbox/outbox-store.ts';
import { killAllChildren, startIcerelay, type IcerelayChild } from '../../helpers/child-process-icerelay.ts';
import { freePort } from '../../helpers/free-port.ts';
import {
  append, createNamespace, createTable, expectOutboxAccountsFor, expectReplicaEqualsSource, freshPostgresDatabase, postgresSkip,
  runPool, sourceSnapshotIds, tableKey, waitForReplication, watchReplicas, type AppendResult, type TableId,
} from './harness.ts';

const TABLES = 8;
const COMMITS = 240;
const WRITERS = 12;
/** The second process is killed once this many commits were acknowledged. */
const KILL_AFTER = 100;

describe.skipIf(postgresSkip !== undefined)('two Icerelay processes sharing one Postgres state database', () => {
  const tables: TableId[] = Array.from({ length: TABLES }, (_, i) => ({ namespace: 'shared', name: `t${i}` }));
  let dir: string;
  let postgres: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let a: IcerelayChild;
  let b: IcerelayChild;
  let bKilled = false;
  let results: AppendResult[] = [];
  let order: TableId[] = [];
  let watch: ReturnType<typeof watchReplicas>;
  let finalIds: Map<string, string[]>;
  let workloadDone = false;

  let state: StateDatabase;
  let outbox: OutboxStore;

  let commitSentToB: (() => void) | undefined;
  let killedAtMs = 0;

  /**
   * Kills b while it ships and commits: once it holds a claim (read in the shared database), at
   * the next commit request sent to it. Returns the claims it still held after it died.
   */
  async function killWhileShipping(): Promise<ReplicationPosition[]> {
    const worker = `${hostname()}:${b.pid}`;
    const held = async () => (await outbox.positions({ destination: 'local' })).filter((p) => p.lockedBy === worker && (p.lockedUntilMs ?? 0) > Date.now());
    // The kill must leave both behind: a commit on its way to b (no answer) and a queue b is shipping
    // (an orphaned claim). Shipping a small commit takes b only milliseconds, so wait for a commit
    // sent to b while b holds a claim, then kill at once.
    for (const deadline = Date.now() + 30_000; ;) {
      await new Promise<void>((resolve) => (commitSentToB = resolve));
      if ((await held()).length > 0 || Date.now() > deadline) break;
    }
    bKilled = true; // from now on the writers use the survivor (commits in flight to b get no answer)
    killedAtMs = Date.now();
    await b.kill('SIGKILL');
    return held();
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'icerelay-robust-shared-'));
    postgres = await freshPostgresDatabase();
    const config = join(dir, 'icerelay.yaml');
    // Both processes must name the same destinations (the replica catalog lives in the shared database).
    writeFileSync(config, [
      'replication:',
      '  destinations:',
      `    local: { warehouse: "${join(dir, 'replicas', 'local')}" }`,
      '  pollMs: 200',
      '  claimTimeout: 3s',
      '',
    ].join('\n'));
    const env = async (name: string) => ({
      ICERELAY_PORT: String(await freePort()),
      ICERELAY_DATA_DIR: join(dir, name),
      ICERELAY_DATABASE_URL: postgres.url,
      ICERELAY_WAREHOUSE: join(dir, 'warehouse'),
    });
    // One after the other: both run the migrations of the shared database at start.
    a = await startIcerelay({ args: ['--config', config], env: await env('a') });
    b = await startIcerelay({ args: ['--config', config], env: await env('b') });
    state = await openDatabase({ kind: 'postgres', url: postgres.url });
    outbox = new OutboxStore(state);
  }, 180_000);

  afterAll(async () => {
    await killAllChildren();
    await state?.close();
    await postgres?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('spreads commits over both, kills one midway: the other takes its queues over and ships everything', async () => {
    await createNamespace(a.url, 'shared');
    for (const [i, t] of tables.entries()) await createTable(i % 2 === 0 ? a.url : b.url, t);
    watch = watchReplicas(() => a.url, tables);

    order = Array.from({ length: COMMITS }, (_, i) => tables[i % TABLES]!).sort(() => Math.random() - 0.5);
    let acknowledged = 0;
    let killing: Promise<ReplicationPosition[]> | undefined;
    const pick = () => (bKilled || Math.random() < 0.5 ? a.url : b.url);
    const started = Date.now();
    results = await runPool(order.map((table) => async () => {
      const result = await append({ base: pick, table, onCommitSent: (to) => { if (to === b.url) commitSentToB?.(); } });
      if (++acknowledged === KILL_AFTER) killing = killWhileShipping();
      return result;
    }), WRITERS);
    const orphaned = (await killing) ?? [];
    const committedMs = Date.now() - started;
    expect((await b.exited).signal).toBe('SIGKILL');
    await waitForReplication(() => a.url, 180_000);
    await watch.stop();
    const unknown = results.reduce((n, r) => n + r.unknown, 0);
    const conflicts = results.reduce((n, r) => n + r.conflicts, 0);
    console.info(`shared postgres: ${COMMITS} commits in ${committedMs} ms (${conflicts} conflicts, ${unknown} without an answer), all replicated after ${Date.now() - started} ms`);
    expect(bKilled).toBe(true);
    expect(unknown, 'a commit to the killed process got no answer').toBeGreaterThan(0);
    // Entries the dead process recorded and left open, settled by the survivor (by reading the source).
    const bInstance = await outbox.db.selectFrom('icerelay_instances').select('instance_id').where('pid', '=', b.pid).executeTakeFirst();
    const settledForB = await outbox.db.selectFrom('outbox_entries').select(['id', 'status', 'error'])
      .where('instance_id', '=', bInstance?.instance_id ?? '').where('settled_at_ms', '>=', killedAtMs).execute();
    console.info(`shared postgres: ${settledForB.length} outbox entr(y/ies) left open by the killed process settled by the survivor: ${JSON.stringify(settledForB)}`);
    // The dead process held claims when it died; the survivor took each of those queues over.
    expect(orphaned.length, 'queues claimed by the killed process').toBeGreaterThan(0);
    const now = new Map((await outbox.positions({ destination: 'local' })).map((p) => [p.entityKey, p]));
    for (const claim of orphaned) {
      expect(now.get(claim.entityKey)?.lockedBy ?? null, `${claim.entityKey}: claim released`).toBeNull();
      expect(now.get(claim.entityKey)!.position, `${claim.entityKey}: shipped past the dead claim`).toBeGreaterThan(claim.position);
    }

    finalIds = await sourceSnapshotIds(a.url, tables);
    for (const t of tables) {
      const mine = results.filter((_, i) => order[i] === t).map((r) => r.snapshotId);
      expect(mine).toHaveLength(COMMITS / TABLES);
      expect([...finalIds.get(tableKey(t))!].sort(), `${tableKey(t)}: the source holds each acknowledged commit once`).toEqual(mine.sort());
    }
    workloadDone = true;
  }, 420_000);

  it('every replica equals its source: no snapshot duplicated, skipped or reordered; the same current snapshot and files', async (context) => {
    if (!workloadDone) context.skip('the workload did not finish');
    for (const t of tables) await expectReplicaEqualsSource(a.url, t);
  }, 120_000);

  it('every outbox event is settled, and each snapshot was added by exactly one committed event', async (context) => {
    if (!workloadDone) context.skip('the workload did not finish');
    for (const t of tables) await expectOutboxAccountsFor(a.url, t, finalIds.get(tableKey(t))!);
  }, 60_000);

  it('while it ran, each replica only ever showed a prefix of its source\'s history: nothing skipped, reordered, doubled or lost', (context) => {
    if (!workloadDone) context.skip('the workload did not finish');
    expect(watch.observations.length).toBeGreaterThan(100);
    // Nor went back when the survivor delivered again what the killed process had applied.
    expect(watch.violations(finalIds)).toEqual([]);
  });
});
