/**
 * Promotions on every state database, SQLite and a real Postgres (ICERELAY_TEST_POSTGRES_URL,
 * started by `bash scripts/postgres.sh start`): what `claim` leaves out once a table or a whole
 * destination is promoted, claims released under a worker, the rows kept across connections, and
 * the promotion use case measuring what would be lost. Every test uses fresh names, so runs
 * sharing one Postgres database never see each other's work.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseConfig, type StateDatabase } from '../../src/catalog/database.ts';
import type { EntityRef } from '../../src/outbox/outbox.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { PromotionStore } from '../../src/outbox/promotion-store.ts';
import { Promoter } from '../../src/replication/promote.ts';
import { EVERYTHING, TableSelector } from '../../src/replication/table-selector.ts';

const postgresUrl = process.env.ICERELAY_TEST_POSTGRES_URL;
const postgresSkip = postgresUrl ? undefined : 'ICERELAY_TEST_POSTGRES_URL is not set (start one with: bash scripts/postgres.sh start; eval "$(bash scripts/postgres.sh env)")';

const databases: { name: 'sqlite' | 'postgres'; skip: string | undefined; config: (dir: string) => DatabaseConfig }[] = [
  { name: 'sqlite', skip: undefined, config: (dir) => ({ kind: 'sqlite', path: join(dir, 'state.db') }) },
  { name: 'postgres', skip: postgresSkip, config: () => ({ kind: 'postgres', url: postgresUrl! }) },
];

const run = randomUUID().slice(0, 8);
let counter = 0;
const fresh = (label: string) => `${label}_${run}_${++counter}`;
const freshTable = (): { namespace: string[]; name: string } => ({ namespace: [fresh('db')], name: fresh('t') });
const lockMs = 60_000;

describe.each(databases)('promotions on $name', ({ name, skip, config }) => {
  let dir: string;
  let state: StateDatabase;
  let outbox: OutboxStore;
  let promotions: PromotionStore;

  beforeAll(async () => {
    if (skip) return;
    dir = await mkdtemp(join(tmpdir(), `icerelay-promotions-${name}-`));
    state = await openDatabase(config(dir));
    outbox = new OutboxStore(state);
    promotions = new PromotionStore(outbox.db);
  });
  afterAll(async () => {
    if (skip) return;
    await state.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function committed(entity: EntityRef, snapshotIds: string[] = []): Promise<void> {
    const id = await outbox.recordIntent({ kind: 'commit-table', entities: [entity], request: { method: 'POST', path: '/v1/x', body: '{}' } });
    await outbox.recordOutcome(id, { status: 'committed', httpStatus: 200, metadataLocations: [`s3://wh/${randomUUID()}.json`], addedSnapshotIds: [snapshotIds] });
  }

  async function rejected(entity: EntityRef): Promise<void> {
    const id = await outbox.recordIntent({ kind: 'commit-table', entities: [entity], request: { method: 'POST', path: '/v1/x', body: '{}' } });
    await outbox.recordOutcome(id, { status: 'rejected', httpStatus: 409, error: 'CommitFailedException' });
  }

  const claimedKeys = async (destinations: string[], entities: EntityRef[], workerId = 'w1') =>
    (await outbox.claim({ destinations, entities, workerId, limit: 10, lockMs, nowMs: Date.now() })).map((c) => `${c.destination} ${c.entity.name}`).sort();

  const promotion = (destination: string, entity: EntityRef | null) => ({ destination, entity, promotedAtMs: Date.now(), forced: false, lost: [] });

  it.skipIf(skip)('leaves a promoted table out of claims, and every queue of a promoted destination, new entities included', async () => {
    const [eu, us] = [fresh('eu'), fresh('us')];
    const [a, b] = [freshTable(), freshTable()];
    await committed(a);
    await committed(b);
    expect(await promotions.insert(promotion(eu, a))).toBe(true);
    expect(await claimedKeys([eu, us], [a, b])).toEqual([`${eu} ${b.name}`, `${us} ${a.name}`, `${us} ${b.name}`].sort());

    const c = freshTable();
    expect(await promotions.insert(promotion(us, null))).toBe(true);
    await committed(a);
    await committed(c); // first events after the promotion: its position row is created pending
    expect(await claimedKeys([eu, us], [a, b, c], 'w2')).toEqual([`${eu} ${c.name}`]);
  });

  it.skipIf(skip)('records a promotion once, finds what covers a table, and keeps it for another connection', async () => {
    const d = fresh('dest');
    const t = freshTable();
    expect(await promotions.insert({ ...promotion(d, t), lost: [{ entity: t, commitsBehind: 2, snapshotsBehind: 1, oldestPendingAtMs: 5 }] })).toBe(true);
    expect(await promotions.insert(promotion(d, t))).toBe(false);
    expect((await promotions.covering(d, t))?.entity).toEqual(t);
    expect(await promotions.covering(d, freshTable())).toBeUndefined();
    expect(await promotions.insert(promotion(d, null))).toBe(true);
    expect((await promotions.covering(d, freshTable()))?.entity).toBeNull();

    const other = await openDatabase(config(dir));
    try {
      const listed = await new PromotionStore(new OutboxStore(other).db).list(d);
      expect(listed.map((p) => p.entity)).toEqual([t, null]);
      expect(listed[0]).toMatchObject({ forced: false, lost: [{ entity: t, commitsBehind: 2, snapshotsBehind: 1, oldestPendingAtMs: 5 }] });
    } finally {
      await other.close();
    }
    await promotions.remove(d, null);
    expect(await promotions.covering(d, freshTable())).toBeUndefined();
  });

  it.skipIf(skip)('releases the claim of a worker shipping into a promoted table: it can advance and complete nothing more', async () => {
    const d = fresh('dest');
    const t = freshTable();
    await committed(t);
    await committed(t);
    const [work] = await outbox.claim({ destinations: [d], entities: [t], workerId: 'shipper', limit: 1, lockMs, nowMs: Date.now() });
    expect(work?.events.length).toBe(2);
    expect(await outbox.advance(d, t, 1, 'shipper', Date.now() + lockMs)).toBe(true);
    await promotions.insert(promotion(d, t));
    expect(await promotions.releaseClaims(d, t)).toBe(1);
    expect(await outbox.renewClaim(d, t, 'shipper', Date.now() + lockMs)).toBe(false);
    expect(await outbox.advance(d, t, 2, 'shipper', Date.now() + lockMs)).toBe(false);
    expect(await outbox.complete(d, t, 2, Date.now(), undefined, 'shipper')).toBe(false);
    expect((await outbox.position(d, t))?.position).toBe(1);
    expect(await claimedKeys([d], [t])).toEqual([]);
  });

  it.skipIf(skip)('promotes a table: refused while commits are behind, forced with the loss recorded, rejected commits not counted', async () => {
    const d = fresh('dest');
    const t = freshTable();
    const promoter = new Promoter({ outbox, destinations: [{ name: d, catalog: { type: 'builtin' }, namespacePrefix: ['us'], selector: new TableSelector(EVERYTHING) }] });
    await committed(t, ['11']);
    await outbox.pause(d, t);
    await committed(t, ['12', '13']);
    await rejected(t);

    const refused = await promoter.promote({ destination: d, table: t, force: false });
    expect(refused).toMatchObject({ outcome: 'refused', lost: [{ entity: t, commitsBehind: 2, snapshotsBehind: 3 }] });
    expect(await promotions.list(d)).toEqual([]);

    const forced = await promoter.promote({ destination: d, table: t, force: true });
    expect(forced).toMatchObject({
      outcome: 'promoted', alreadyPromoted: false,
      promotion: { destination: d, entity: t, forced: true, replicaTable: `us.${t.namespace[0]}.${t.name}`, writeTo: `/replicas/${d}`, lost: [{ commitsBehind: 2, snapshotsBehind: 3 }] },
    });
    expect((await promotions.list(d)).map((p) => [p.forced, p.lost.length])).toEqual([[true, 1]]);
    expect(await promoter.promote({ destination: d, table: t, force: false })).toMatchObject({ outcome: 'promoted', alreadyPromoted: true });

    // Up to date: promoted without force, nothing lost.
    const u = freshTable();
    await rejected(u);
    expect(await promoter.promote({ destination: d, table: u, force: false })).toMatchObject({ outcome: 'promoted', promotion: { forced: false, lost: [] } });
    await expect(promoter.promote({ destination: 'nowhere', force: false })).rejects.toThrow(`destination must be one of ${d}, not "nowhere"`);
    await expect(promoter.promote({ destination: d, table: freshTable(), force: false })).rejects.toThrow(/has never been recorded/);
  });
});
