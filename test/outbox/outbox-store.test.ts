/**
 * The outbox store on every state database: SQLite (always) and a real Postgres
 * (ICERELAY_TEST_POSTGRES_URL, started by `bash scripts/postgres.sh start`). Every test uses fresh
 * entity and destination names, and claims only its own entities, so runs sharing one Postgres
 * database never see each other's work.
 */
import { randomUUID } from 'node:crypto';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConfig, StateDatabase } from '../../src/catalog/database.ts';
import { entityKey, InvalidEntityError, parseEntityKey } from '../../src/outbox/entity-key.ts';
import { mutationKinds, outcomeStatuses, toEventPayload } from '../../src/outbox/event-payload.ts';
import type { EntityRef, MutationKind, NewIntent } from '../../src/outbox/outbox.ts';
import { OutboxStore, type ClaimedWork } from '../../src/outbox/outbox-store.ts';
import { nominalDelayMs, retryDelayMs } from '../../src/outbox/retry-policy.ts';
import { validate } from './json-schema-subset.ts';
import { openDatabase } from '../../src/catalog/database.ts';

const postgresUrl = process.env.ICERELAY_TEST_POSTGRES_URL;
const postgresSkip = postgresUrl ? undefined : 'ICERELAY_TEST_POSTGRES_URL is not set (start one with: bash scripts/postgres.sh start; eval "$(bash scripts/postgres.sh env)")';
if (postgresSkip) console.warn(`outbox store on postgres: skipped: ${postgresSkip}`);

const databases: { name: 'sqlite' | 'postgres'; skip: string | undefined; config: (dir: string) => Promise<DatabaseConfig> }[] = [
  { name: 'sqlite', skip: undefined, config: async (dir) => ({ kind: 'sqlite', path: join(dir, 'state.db') }) },
  { name: 'postgres', skip: postgresSkip, config: async () => ({ kind: 'postgres', url: postgresUrl! }) },
];

const run = randomUUID().slice(0, 8);
let counter = 0;
const fresh = (label: string) => `${label}_${run}_${++counter}`;
const freshTable = (): EntityRef => ({ namespace: [fresh('db'), 'inner'], name: fresh('t') });
const freshDestination = () => fresh('dest');
const lockMs = 60_000;

function intent(entities: EntityRef[], kind: MutationKind = 'commit-table'): NewIntent {
  return { kind, entities, request: { method: 'POST', path: '/v1/namespaces/db/tables/t', body: '{"requirements":[],"updates":[]}' }, principal: 'alice' };
}

const sequencesOf = (work: ClaimedWork | undefined) => work?.events.map((e) => e.sequence);

describe.each(databases)('outbox store on $name', ({ name, skip, config }) => {
  let dir: string;
  let databaseConfig: DatabaseConfig;
  let state: StateDatabase;
  let store: OutboxStore;

  beforeAll(async () => {
    if (skip) return;
    dir = await mkdtemp(join(tmpdir(), `icerelay-outbox-${name}-`));
    databaseConfig = await config(dir);
    state = await openDatabase(databaseConfig);
    store = new OutboxStore(state);
  });
  afterAll(async () => {
    if (skip) return;
    await state.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Records an intent and settles it right away. */
  async function committed(entity: EntityRef, metadataLocation = `s3://wh/${entity.name}/metadata/${randomUUID()}.json`, snapshotIds: string[] = []) {
    const id = await store.recordIntent(intent([entity]));
    await store.recordOutcome(id, { status: 'committed', httpStatus: 200, metadataLocations: [metadataLocation], addedSnapshotIds: [snapshotIds] });
    return id;
  }

  async function claimOne(destination: string, entity: EntityRef, nowMs = Date.now(), workerId = 'w1') {
    const claimed = await store.claim({ destinations: [destination], entities: [entity], workerId, limit: 10, lockMs, nowMs });
    expect(claimed.length).toBeLessThanOrEqual(1);
    return claimed[0];
  }

  it.skipIf(skip)('numbers each entity\'s events 1, 2, 3... independently of other entities', async () => {
    const a = freshTable();
    const b = freshTable();
    const ns: EntityRef = { namespace: a.namespace };
    const e1 = await store.recordIntent(intent([a]));
    const e2 = await store.recordIntent(intent([a]));
    const e3 = await store.recordIntent(intent([b, a], 'commit-transaction'));
    const e4 = await store.recordIntent(intent([ns], 'update-namespace-properties'));
    expect(e1 < e2 && e2 < e3 && e3 < e4).toBe(true);

    expect((await store.listEvents({ entity: a, limit: 10 })).map((e) => [e.entryId, e.sequence])).toEqual([[e1, 1], [e2, 2], [e3, 3]]);
    expect((await store.listEvents({ entity: b, limit: 10 })).map((e) => [e.entryId, e.sequence])).toEqual([[e3, 1]]);
    expect((await store.listEvents({ entity: ns, limit: 10 })).map((e) => [e.entryId, e.sequence, e.entity])).toEqual([[e4, 1, ns]]);
    expect([await store.entitySequence(a), await store.entitySequence(b), await store.entitySequence(freshTable())]).toEqual([3, 1, 0]);

    const entry = await store.entry(e3);
    expect(entry).toMatchObject({
      id: e3, kind: 'commit-transaction', status: 'intent', entities: [b, a], principal: 'alice',
      request: { method: 'POST', path: '/v1/namespaces/db/tables/t', body: '{"requirements":[],"updates":[]}' },
      httpStatus: null, error: null, metadataLocations: null, addedSnapshotIds: null, settledAtMs: null,
    });
  });

  it.skipIf(skip)('gives 20 concurrent intents on one entity the sequences 1..20, no gap, no duplicate', async () => {
    const t = freshTable();
    const ids = await Promise.all(Array.from({ length: 20 }, () => store.recordIntent(intent([t]))));
    expect(new Set(ids).size).toBe(20);
    const events = await store.listEvents({ entity: t, limit: 100 });
    expect(events.map((e) => e.sequence)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(events.map((e) => e.entryId))).toEqual(new Set(ids));
  });

  it.skipIf(skip)('runs concurrent renames in both directions without deadlock or gaps', async () => {
    const a = freshTable();
    const b = freshTable();
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.recordIntent(intent(i % 2 ? [a, b] : [b, a], 'rename-table'))));
    for (const t of [a, b]) {
      expect((await store.listEvents({ entity: t, limit: 100 })).map((e) => e.sequence)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    }
    // Within one entry the events keep the request order.
    const entry = (await store.entry((await store.listEvents({ entity: a, limit: 1 }))[0]!.entryId))!;
    expect(entry.entities).toContainEqual(a);
    expect(entry.entities).toContainEqual(b);
  });

  it.skipIf(skip)('records outcomes, and a committed or rejected entry is final', async () => {
    const t = freshTable();
    const u = freshTable();
    const maxLong = '9223372036854775807';
    const id = await store.recordIntent(intent([t, u], 'commit-transaction'), 1_000);
    expect(await store.recordOutcome(id, { status: 'committed', httpStatus: 204, metadataLocations: ['s3://wh/t/m1.json', null], addedSnapshotIds: [[maxLong, '1']] }, 2_000)).toBe(true);
    const entry = await store.entry(id);
    expect(entry).toMatchObject({
      status: 'committed', httpStatus: 204, error: null, createdAtMs: 1_000, settledAtMs: 2_000,
      metadataLocations: ['s3://wh/t/m1.json', null], addedSnapshotIds: [[maxLong, '1'], []],
    });
    expect((await store.listEvents({ entity: t, limit: 10 }))[0]).toMatchObject({ status: 'committed', metadataLocation: 's3://wh/t/m1.json', addedSnapshotIds: [maxLong, '1'] });
    expect((await store.listEvents({ entity: u, limit: 10 }))[0]).toMatchObject({ status: 'committed', metadataLocation: null, addedSnapshotIds: [] });

    // Settled: a second outcome of any kind changes nothing.
    expect(await store.recordOutcome(id, { status: 'rejected', httpStatus: 409, error: 'CommitFailedException' }, 3_000)).toBe(false);
    expect(await store.recordOutcome(id, { status: 'unknown', reason: 'timeout' }, 3_000)).toBe(false);
    expect(await store.recordOutcome(id, { status: 'committed', httpStatus: 200, metadataLocations: ['s3://wh/t/other.json'] }, 3_000)).toBe(false);
    expect(await store.entry(id)).toEqual(entry);

    // intent -> unknown -> unknown -> rejected, then final.
    const r = await store.recordIntent(intent([t]), 1_000);
    expect(await store.recordOutcome(r, { status: 'unknown', reason: '502 from source' }, 2_000)).toBe(true);
    expect(await store.entry(r)).toMatchObject({ status: 'unknown', error: '502 from source', httpStatus: null, settledAtMs: null });
    expect(await store.recordOutcome(r, { status: 'unknown', reason: 'timeout' }, 2_500)).toBe(true);
    expect(await store.recordOutcome(r, { status: 'rejected', httpStatus: 409, error: 'CommitFailedException: branch main changed' }, 3_000)).toBe(true);
    expect(await store.entry(r)).toMatchObject({ status: 'rejected', httpStatus: 409, error: 'CommitFailedException: branch main changed', settledAtMs: 3_000, metadataLocations: null });
    expect((await store.listEvents({ entity: t, limit: 10 })).map((e) => e.status)).toEqual(['committed', 'rejected']);
    expect(await store.recordOutcome(r, { status: 'committed', httpStatus: 200 })).toBe(false);

    expect(await store.recordOutcome(2 ** 40, { status: 'committed', httpStatus: 200 })).toBe(false);
    await expect(store.recordOutcome(r, { status: 'committed', httpStatus: 200, addedSnapshotIds: [[1 as unknown as string]] })).rejects.toThrow(/not a decimal string/);
  });

  it.skipIf(skip)('lists unsettled entries (intent or unknown) oldest first', async () => {
    const t = freshTable();
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) ids.push(await store.recordIntent(intent([t])));
    await store.recordOutcome(ids[1]!, { status: 'committed', httpStatus: 200 });
    await store.recordOutcome(ids[2]!, { status: 'unknown', reason: 'socket hang up' });
    const mine = (await store.unsettled()).filter((e) => ids.includes(e.id));
    expect(mine.map((e) => [e.id, e.status])).toEqual([[ids[0], 'intent'], [ids[2], 'unknown'], [ids[3], 'intent']]);
    expect(mine[0]).toMatchObject({ entities: [t], request: { method: 'POST', path: '/v1/namespaces/db/tables/t' }, principal: 'alice' });
  });

  it.skipIf(skip)('pages events by sequence for an entity and by entry id across entities', async () => {
    const t = freshTable();
    const u = freshTable();
    const singles: number[] = [];
    for (let i = 0; i < 5; i++) singles.push(await store.recordIntent(intent([t])));
    const first = singles[0]!;
    const last = await store.recordIntent(intent([u, t], 'commit-transaction'));
    const page1 = await store.listEvents({ entity: t, limit: 2 });
    const page2 = await store.listEvents({ entity: t, limit: 2, afterSequence: page1.at(-1)!.sequence });
    const page3 = await store.listEvents({ entity: t, limit: 2, afterSequence: page2.at(-1)!.sequence });
    expect([...page1, ...page2, ...page3].map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    // The newest N of an entity:
    expect((await store.listEvents({ entity: t, limit: 2, afterSequence: (await store.entitySequence(t)) - 2 })).map((e) => e.sequence)).toEqual([5, 6]);

    // Across entities (other runs' entries may interleave on a shared database: keep ours).
    const all = (await store.listEvents({ limit: 1000, afterEntryId: first - 1 })).filter((e) => e.entity.name === t.name || e.entity.name === u.name);
    expect(all.map((e) => [e.entryId, e.entity.name])).toEqual([...singles.map((id) => [id, t.name]), [last, u.name], [last, t.name]]);
    expect((await store.listEvents({ limit: 1000, afterEntryId: last - 1 })).filter((e) => e.entryId === last).length).toBe(2);
    await expect(store.listEvents({ limit: 10, afterSequence: 1 })).rejects.toThrow(/needs an entity/);
    await expect(store.listEvents({ entity: t, limit: 0 })).rejects.toThrow(RangeError);
  });

  it.skipIf(skip)('claims committed events in order, steps over rejected ones and stops at an unsettled one', async () => {
    const t = freshTable();
    const dest = freshDestination();
    const e1 = await committed(t, 's3://wh/m1.json', ['11']);
    const e2 = await store.recordIntent(intent([t]));
    await store.recordOutcome(e2, { status: 'rejected', httpStatus: 409, error: 'conflict' });
    const e3 = await committed(t, 's3://wh/m3.json', ['33']);
    const e4 = await store.recordIntent(intent([t]));
    await committed(t, 's3://wh/m5.json');

    const work = await claimOne(dest, t);
    expect(work).toMatchObject({ destination: dest, entity: t, entityKey: entityKey(t), position: 0, attempts: 0, throughSequence: 3 });
    expect(work!.events.map((e) => [e.sequence, e.entryId, e.metadataLocation, e.addedSnapshotIds])).toEqual([[1, e1, 's3://wh/m1.json', ['11']], [3, e3, 's3://wh/m3.json', ['33']]]);
    // Claimed: nobody else gets it.
    expect(await claimOne(dest, t, Date.now(), 'w2')).toBeUndefined();
    expect(await store.complete(dest, t, work!.throughSequence)).toBe(true);
    expect(await store.position(dest, t)).toMatchObject({ position: 3, attempts: 0, lockedBy: null, lockedUntilMs: null, state: 'pending' });

    // Event 4 is still an intent: the queue waits, even though event 5 is committed.
    expect(await claimOne(dest, t)).toBeUndefined();
    await store.recordOutcome(e4, { status: 'unknown', reason: 'timeout' });
    expect(await claimOne(dest, t)).toBeUndefined();
    await store.recordOutcome(e4, { status: 'committed', httpStatus: 200, metadataLocations: ['s3://wh/m4.json'] });
    const next = await claimOne(dest, t);
    expect([sequencesOf(next), next!.position, next!.throughSequence]).toEqual([[4, 5], 3, 5]);
    await store.complete(dest, t, 5);

    // Only rejected events in reach: an empty batch to complete, so the position still moves.
    const r = await store.recordIntent(intent([t]));
    await store.recordOutcome(r, { status: 'rejected', httpStatus: 400, error: 'bad' });
    const skipOnly = await claimOne(dest, t);
    expect([sequencesOf(skipOnly), skipOnly!.throughSequence]).toEqual([[], 6]);
    await store.complete(dest, t, skipOnly!.throughSequence);
    expect(await claimOne(dest, t)).toBeUndefined();

    // A destination's position never goes back.
    expect(await store.complete(dest, t, 2)).toBe(true);
    expect((await store.position(dest, t))!.position).toBe(6);
    expect(await store.complete(freshDestination(), t, 1)).toBe(false);
  });

  it.skipIf(skip)('advances event by event while the claim is held, and fences a worker whose claim was taken over', async () => {
    const e = freshTable();
    const d = freshDestination();
    await committed(e, 's3://wh/a1.json');
    await committed(e, 's3://wh/a2.json');
    const now = Date.now();
    const work = await claimOne(d, e, now, 'slow');
    expect(sequencesOf(work)).toEqual([1, 2]);
    // Event 1 applied: the position moves and the claim is extended, still held.
    expect(await store.advance(d, e, 1, 'slow', now + 2 * lockMs, { metadataLocation: 's3://wh/a1.json', snapshotId: '1' })).toBe(true);
    expect(await store.position(d, e)).toMatchObject({ position: 1, lockedBy: 'slow', lockedUntilMs: now + 2 * lockMs, shipped: { metadataLocation: 's3://wh/a1.json', snapshotId: '1' } });
    expect(await store.renewClaim(d, e, 'slow', now + 3 * lockMs)).toBe(true);
    // The claim runs out; another worker takes the queue from event 2.
    const later = now + 3 * lockMs + 1;
    const taken = await claimOne(d, e, later, 'fast');
    expect([sequencesOf(taken), taken!.shippedMetadataLocation]).toEqual([[2], 's3://wh/a1.json']);
    // The slow worker can no longer renew, advance, complete nor fail it.
    expect(await store.renewClaim(d, e, 'slow', later + lockMs)).toBe(false);
    expect(await store.advance(d, e, 2, 'slow', later + lockMs, { metadataLocation: 's3://wh/old.json', snapshotId: '9' })).toBe(false);
    expect(await store.complete(d, e, 2, later, undefined, 'slow')).toBe(false);
    expect(await store.fail(d, e, 'late', later, 'slow')).toBeUndefined();
    expect(await store.position(d, e)).toMatchObject({ position: 1, lockedBy: 'fast', attempts: 0, shipped: { metadataLocation: 's3://wh/a1.json' } });
    // The new holder can; an advance never moves the position back.
    expect(await store.advance(d, e, 2, 'fast', later + lockMs, { metadataLocation: 's3://wh/a2.json', snapshotId: '2' })).toBe(true);
    expect(await store.advance(d, e, 1, 'fast', later + lockMs, { metadataLocation: 's3://wh/a1.json', snapshotId: '1' })).toBe(true);
    expect(await store.position(d, e)).toMatchObject({ position: 2, shipped: { metadataLocation: 's3://wh/a2.json', snapshotId: '2' } });
    expect(await store.complete(d, e, 2, later, undefined, 'fast')).toBe(true);
    expect(await store.position(d, e)).toMatchObject({ position: 2, lockedBy: null, shipped: { metadataLocation: 's3://wh/a2.json' } });
  });

  it.skipIf(skip)('keeps one queue per (destination, entity) and serves the longest-waiting queue first', async () => {
    const a = freshTable();
    const b = freshTable();
    const d1 = freshDestination();
    const d2 = freshDestination();
    await committed(a);
    await committed(b);
    const now = Date.now();
    const claimed = await store.claim({ destinations: [d1, d2], entities: [a, b], workerId: 'w1', limit: 10, lockMs, nowMs: now });
    expect(claimed.map((w) => [w.destination, w.entity.name])).toEqual([[d1, a.name], [d1, b.name], [d2, a.name], [d2, b.name]]);
    for (const w of claimed) await store.complete(w.destination, w.entity, w.throughSequence, now);

    // a ships again later than b would: after its next commit, b's older queue still comes first.
    await committed(a);
    await committed(b);
    await store.complete(d1, a, 0, now + 10); // a touched more recently than b
    const first = await store.claim({ destinations: [d1], entities: [a, b], workerId: 'w1', limit: 1, lockMs, nowMs: now + 20 });
    expect(first.map((w) => w.entity.name)).toEqual([b.name]);
    // A limit of events per claim: the rest comes with the next claim.
    await store.complete(d1, b, first[0]!.throughSequence, now + 30);
    for (let i = 0; i < 3; i++) await committed(a);
    const window = await store.claim({ destinations: [d1], entities: [a], workerId: 'w1', limit: 1, lockMs, nowMs: now + 40, eventLimit: 2 });
    expect([sequencesOf(window[0]), window[0]!.throughSequence]).toEqual([[2, 3], 3]);
  });

  it.skipIf(skip)('never hands one queue to two concurrent claimers', async () => {
    const tables = Array.from({ length: 30 }, freshTable);
    for (const t of tables) await committed(t);
    const dest = freshDestination();
    // Postgres: a second pool, as a second instance would have. SQLite: one handle per file in a
    // process (a second better-sqlite3 handle would block the event loop waiting for the lock).
    const other = name === 'postgres' ? await openDatabase(databaseConfig) : undefined;
    try {
      const stores = [store, other ? new OutboxStore(other) : store];
      const now = Date.now();
      const claims = await Promise.all(Array.from({ length: 6 }, (_, i) =>
        stores[i % 2]!.claim({ destinations: [dest], entities: tables, workerId: `w${i}`, limit: 7, lockMs, nowMs: now })));
      const keys = claims.flat().map((w) => w.entityKey);
      expect(new Set(keys).size).toBe(keys.length);
      const rest = await store.claim({ destinations: [dest], entities: tables, workerId: 'last', limit: 100, lockMs, nowMs: now });
      expect(new Set([...keys, ...rest.map((w) => w.entityKey)])).toEqual(new Set(tables.map(entityKey)));
      expect(keys.length + rest.length).toBe(30);
      // Every row is held by the worker that got it.
      for (const [i, list] of claims.entries()) {
        for (const w of list) expect((await store.position(dest, w.entity))!.lockedBy).toBe(`w${i}`);
      }
    } finally {
      await other?.close();
    }
  });

  it.skipIf(skip)('ships every committed event exactly once and in order while intents, outcomes and claims race', async () => {
    const tables = Array.from({ length: 4 }, freshTable);
    const destinations = [freshDestination(), freshDestination()];
    const other = name === 'postgres' ? await openDatabase(databaseConfig) : undefined;
    const stores = [store, other ? new OutboxStore(other) : store];
    const shipped = new Map<string, number[]>(); // "destination|entity key" -> sequences, in shipping order
    const holders = new Map<string, string>();
    const expected = new Map<string, number[]>(); // entity key -> committed sequences
    let producing = true;
    const pause = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 3));

    const produce = async () => {
      await Promise.all(Array.from({ length: 40 }, async (_, i) => {
        const t = tables[i % tables.length]!;
        const id = await stores[i % 2]!.recordIntent(intent([t]));
        await pause();
        const rejected = i % 5 === 0;
        await stores[(i + 1) % 2]!.recordOutcome(id, rejected
          ? { status: 'rejected', httpStatus: 409, error: 'conflict' }
          : { status: 'committed', httpStatus: 200, metadataLocations: [`s3://wh/${i}.json`] });
      }));
      producing = false;
    };
    const ship = async (worker: number) => {
      const s = stores[worker % 2]!;
      for (let idle = 0; producing || idle < 3;) {
        const claimed = await s.claim({ destinations, entities: tables, workerId: `w${worker}`, limit: 2, lockMs, nowMs: Date.now() });
        idle = claimed.length === 0 ? idle + 1 : 0;
        for (const work of claimed) {
          const queue = `${work.destination}|${work.entityKey}`;
          expect(holders.get(queue), `${queue} claimed twice`).toBeUndefined();
          holders.set(queue, `w${worker}`);
          const log = shipped.get(queue) ?? [];
          expect(work.position).toBe(Math.max(0, ...log, work.position));
          log.push(...work.events.map((e) => e.sequence));
          shipped.set(queue, log);
          await pause();
          holders.delete(queue);
          await s.complete(work.destination, work.entity, work.throughSequence);
        }
        await pause();
      }
    };
    try {
      await Promise.all([produce(), ...Array.from({ length: 4 }, (_, w) => ship(w))]);
      for (const t of tables) {
        const events = await store.listEvents({ entity: t, limit: 100 });
        expect(events.map((e) => e.sequence)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
        expected.set(entityKey(t), events.filter((e) => e.status === 'committed').map((e) => e.sequence));
      }
      for (const d of destinations) {
        for (const t of tables) {
          expect(shipped.get(`${d}|${entityKey(t)}`) ?? []).toEqual(expected.get(entityKey(t)));
          expect((await store.position(d, t))!.position).toBe(10);
        }
      }
    } finally {
      await other?.close();
    }
  });

  it.skipIf(skip)('backs off exponentially with jitter after failures and marks the queue failed after maxAttempts', async () => {
    const retry = { baseDelayMs: 1_000, maxDelayMs: 8_000, maxAttempts: 5 };
    const backoff = new OutboxStore(state, { retry, random: () => 0.5 });
    const t = freshTable();
    const dest = freshDestination();
    await committed(t);
    let now = Date.now();
    const expectedDelays = [750, 1_500, 3_000, 6_000, 6_000]; // d/2 + 0.5 * d/2, d = 1 s, 2 s, 4 s, 8 s, 8 s (cap)
    for (const [i, delay] of expectedDelays.entries()) {
      const work = await backoff.claim({ destinations: [dest], entities: [t], workerId: 'w1', limit: 1, lockMs, nowMs: now });
      expect(work.map((w) => w.attempts)).toEqual([i]);
      const result = await backoff.fail(dest, t, `S3 503 #${i + 1}`, now, 'w1');
      expect(result).toEqual({ attempts: i + 1, runAtMs: now + delay, state: i + 1 < 5 ? 'pending' : 'failed' });
      expect(await backoff.position(dest, t)).toMatchObject({ lockedBy: null, lockedUntilMs: null, lastError: `S3 503 #${i + 1}` });
      if (i + 1 < 5) {
        expect(await backoff.claim({ destinations: [dest], entities: [t], workerId: 'w1', limit: 1, lockMs, nowMs: now + delay - 1 })).toEqual([]);
      }
      now += delay;
    }
    // Failed: never claimed again until resumed.
    expect(await backoff.claim({ destinations: [dest], entities: [t], workerId: 'w1', limit: 1, lockMs, nowMs: now + 86_400_000 })).toEqual([]);
    expect(await backoff.resume(dest, t, now)).toBe(1);
    expect(await backoff.position(dest, t)).toMatchObject({ state: 'pending', attempts: 0, runAtMs: now, lastError: 'S3 503 #5' });
    const again = await backoff.claim({ destinations: [dest], entities: [t], workerId: 'w2', limit: 1, lockMs, nowMs: now });
    expect(again).toHaveLength(1);
    // A worker that does not hold the claim cannot count a failure.
    expect(await backoff.fail(dest, t, 'late', now, 'w1')).toBeUndefined();
    await backoff.complete(dest, t, again[0]!.throughSequence, now);
    expect(await backoff.position(dest, t)).toMatchObject({ state: 'pending', attempts: 0, lastError: null, position: 1, completedAtMs: now });
  });

  it.skipIf(skip)('pauses and resumes one queue or a whole destination', async () => {
    const a = freshTable();
    const b = freshTable();
    const dest = freshDestination();
    await committed(a);
    await committed(b);
    const now = Date.now();
    // Pausing a queue before it exists creates it paused.
    expect(await store.pause(dest, a)).toBe(1);
    const claim = () => store.claim({ destinations: [dest], entities: [a, b], workerId: 'w1', limit: 10, lockMs, nowMs: now });
    const onlyB = await claim();
    expect(onlyB.map((w) => w.entity.name)).toEqual([b.name]);
    // Pausing a claimed queue lets the claim finish; the queue stays paused.
    expect(await store.pause(dest)).toBe(1);
    await store.complete(dest, b, onlyB[0]!.throughSequence, now);
    const positions = await store.positions({ destination: dest });
    expect(Object.fromEntries(positions.map((p) => [p.entity.name, [p.state, p.position]]))).toEqual({ [a.name!]: ['paused', 0], [b.name!]: ['paused', 1] });
    await committed(b);
    expect(await claim()).toEqual([]);
    expect(await store.resume(dest, b, now)).toBe(1);
    expect((await claim()).map((w) => w.entity.name)).toEqual([b.name]);
    expect(await store.resume(dest, undefined, now)).toBe(1);
    expect((await claim()).map((w) => w.entity.name)).toEqual([a.name]);
    expect(await store.resume(dest, undefined, now)).toBe(0);
  });

  it.skipIf(skip)('sweeps stale claims, and a claim whose time ran out can be taken over', async () => {
    const t = freshTable();
    const u = freshTable();
    const dest = freshDestination();
    await committed(t);
    await committed(u);
    // An hour in the past, so this sweep cannot touch the live claims of a concurrent run.
    const base = Date.now() - 3_600_000;
    const first = await store.claim({ destinations: [dest], entities: [t, u], workerId: 'crashed', limit: 10, lockMs: 1_000, nowMs: base });
    expect(first).toHaveLength(2);
    expect(await store.claim({ destinations: [dest], entities: [t, u], workerId: 'w2', limit: 10, lockMs: 1_000, nowMs: base + 999 })).toEqual([]);
    // Taken over directly once expired...
    const takeover = await store.claim({ destinations: [dest], entities: [t], workerId: 'w2', limit: 10, lockMs: 1_000, nowMs: base + 1_000 });
    expect(takeover.map((w) => [w.entityKey, w.lockedUntilMs])).toEqual([[entityKey(t), base + 2_000]]);
    // ...or released by the sweep.
    expect(await store.sweepStale(base + 1_000)).toBeGreaterThanOrEqual(1);
    expect(await store.position(dest, u)).toMatchObject({ lockedBy: null, lockedUntilMs: null, attempts: 0 });
    expect(await store.position(dest, t)).toMatchObject({ lockedBy: 'w2', lockedUntilMs: base + 2_000 });
    expect(await store.sweepStale(base + 2_000)).toBeGreaterThanOrEqual(1);
    expect(await store.position(dest, t)).toMatchObject({ lockedBy: null });
  });

  it.skipIf(skip)('returns event payloads that match spec/outbox-event.schema.json', async () => {
    const schema = JSON.parse(await readFile(new URL('../../spec/outbox-event.schema.json', import.meta.url), 'utf8')) as Record<string, unknown> & { properties: Record<string, { enum?: string[] }>; required: string[] };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.properties.kind!.enum).toEqual([...mutationKinds]);
    expect(schema.properties.status!.enum).toEqual([...outcomeStatuses]);

    const t = freshTable();
    const ns: EntityRef = { namespace: [fresh('db')] };
    await committed(t, 's3://wh/t/metadata/00001.json', ['9223372036854775807', '0']);
    const unknown = await store.recordIntent(intent([t]));
    await store.recordOutcome(unknown, { status: 'unknown', reason: 'timeout' });
    await store.recordIntent(intent([ns], 'create-namespace'));
    const events = [...await store.listEvents({ entity: t, limit: 10 }), ...await store.listEvents({ entity: ns, limit: 10 })];
    expect(events).toHaveLength(3);
    for (const event of events) {
      const payload = JSON.parse(JSON.stringify(toEventPayload(event))) as Record<string, unknown>;
      expect(validate(payload, schema)).toEqual([]);
      expect(Object.keys(payload).sort()).toEqual([...schema.required].sort());
    }
    expect(toEventPayload(events[0]!)).toMatchObject({ version: 1, addedSnapshotIds: ['9223372036854775807', '0'] });
    expect('name' in toEventPayload(events[2]!).entity).toBe(false);
    // The checker really checks.
    const bad = { ...toEventPayload(events[0]!), addedSnapshotIds: [9223372036854775807], extra: 1 };
    expect(validate(bad, schema)).toEqual(['$.addedSnapshotIds[0]: expected string, got 9223372036854776000', '$: unexpected property extra']);
  });

  it.skipIf(skip)('summarizes per entity what a destination has not applied: oldest time, snapshots added', async () => {
    const [a, b, done] = [freshTable(), freshTable(), freshTable()];
    const dest = freshDestination();
    const recordAt = async (entity: EntityRef, atMs: number, snapshotIds: string[]) => {
      const id = await store.recordIntent(intent([entity]), atMs);
      await store.recordOutcome(id, { status: 'committed', httpStatus: 200, metadataLocations: ['s3://wh/m.json'], addedSnapshotIds: [snapshotIds] });
    };
    await recordAt(a, 1_000, ['1']);
    await recordAt(a, 2_000, ['2', '3']);
    const rejected = await store.recordIntent(intent([a]), 3_000);
    await store.recordOutcome(rejected, { status: 'rejected', httpStatus: 409, error: 'conflict' });
    await recordAt(b, 5_000, []);
    await recordAt(done, 500, ['9']);
    expect(sequencesOf(await claimOne(dest, a))).toEqual([1, 2]);
    await store.complete(dest, a, 1);
    expect(sequencesOf(await claimOne(dest, done))).toEqual([1]);
    await store.complete(dest, done, 1);
    const summaries = await store.pendingSummaries(dest);
    expect(summaries.get(entityKey(a))).toEqual({ oldestAtMs: 2_000, snapshots: 2 });
    expect(summaries.get(entityKey(b))).toEqual({ oldestAtMs: 5_000, snapshots: 0 });
    expect(summaries.has(entityKey(done))).toBe(false);
  });

  it.skipIf(skip)('leaves out intents another live process may still have in flight', async () => {
    const now = 1_000_000_000;
    const liveness = (id: string, pid: number, host = 'host-a') => ({
      id, host, pid, deadAfterMs: 20_000, stuckAfterMs: 90_000, processAlive: (p: number) => p === 111,
    });
    const alive = new OutboxStore(state, { instance: liveness(fresh('live'), 111) });
    const crashedHere = new OutboxStore(state, { instance: liveness(fresh('crashed'), 222) });
    const silentElsewhere = new OutboxStore(state, { instance: liveness(fresh('silent'), 333, 'host-b') });
    const me = new OutboxStore(state, { instance: liveness(fresh('me'), 444) });
    for (const store of [alive, crashedHere, silentElsewhere, me]) await store.heartbeat(now - 1_000);
    await silentElsewhere.heartbeat(now - 60_000); // not seen for a minute: dead
    const t = freshTable;
    const inFlightElsewhere = await alive.recordIntent(intent([t()]), now - 5_000);
    const ofCrashedProcess = await crashedHere.recordIntent(intent([t()]), now - 5_000);
    const ofSilentProcess = await silentElsewhere.recordIntent(intent([t()]), now - 5_000);
    const mineInFlight = await me.recordIntent(intent([t()]), now - 5_000);
    const stuck = await alive.recordIntent(intent([t()]), now - 100_000);
    const unknown = await alive.recordIntent(intent([t()]), now - 5_000);
    await alive.recordOutcome(unknown, { status: 'unknown', reason: 'no answer' });
    const ids = [inFlightElsewhere, ofCrashedProcess, ofSilentProcess, mineInFlight, stuck, unknown];
    const settleable = (await me.unsettled(now)).map((e) => e.id).filter((id) => ids.includes(id));
    expect(settleable).toEqual([ofCrashedProcess, ofSilentProcess, stuck, unknown]);
    // Without an instance (one process) everything unsettled is listed.
    expect((await store.unsettled()).map((e) => e.id).filter((id) => ids.includes(id))).toEqual(ids);
  });

  it.skipIf(skip)('keeps everything across a restart (close and reopen)', async () => {
    const t = freshTable();
    const dest = freshDestination();
    const shipped = await committed(t, 's3://wh/m1.json', ['42']);
    await committed(t, 's3://wh/m2.json');
    const pending = await store.recordIntent(intent([t]), 5_000);
    expect(sequencesOf(await claimOne(dest, t))).toEqual([1, 2]);
    await store.complete(dest, t, 1);
    await store.fail(dest, t, 'destination down', Date.now());
    const before = { events: await store.listEvents({ entity: t, limit: 10 }), position: await store.position(dest, t), entry: await store.entry(shipped) };

    await state.close();
    state = await openDatabase(databaseConfig);
    store = new OutboxStore(state);

    expect(await store.listEvents({ entity: t, limit: 10 })).toEqual(before.events);
    expect(await store.position(dest, t)).toEqual(before.position);
    expect(await store.entry(shipped)).toEqual(before.entry);
    expect((await store.unsettled()).find((e) => e.id === pending)).toMatchObject({ status: 'intent', createdAtMs: 5_000, entities: [t] });
    expect(before.position).toMatchObject({ position: 1, attempts: 1, lastError: 'destination down', state: 'pending' });
    // Numbering continues where it stopped.
    const next = await store.recordIntent(intent([t]));
    expect((await store.listEvents({ entity: t, limit: 10, afterSequence: 3 })).map((e) => [e.entryId, e.sequence])).toEqual([[next, 4]]);
  });
});

describe('entity keys', () => {
  it('round-trips tables and namespaces, and keeps them apart', () => {
    const table = { namespace: ['a', 'b'], name: 't' };
    const namespace = { namespace: ['a', 'b', 't'] };
    expect(entityKey(table)).toBe('a\u001fb\u001et');
    expect(entityKey(namespace)).toBe('a\u001fb\u001ft');
    expect(parseEntityKey(entityKey(table))).toEqual(table);
    expect(parseEntityKey(entityKey(namespace))).toEqual(namespace);
    expect(parseEntityKey(entityKey({ namespace: ['ü.x y'], name: 'ß.%2E' }))).toEqual({ namespace: ['ü.x y'], name: 'ß.%2E' });
    // A namespace's tables sort right after it, before its child namespaces.
    expect([entityKey({ namespace: ['a', 'b'] }), entityKey(namespace), entityKey(table)].sort()).toEqual(['a\u001fb', 'a\u001fb\u001et', 'a\u001fb\u001ft']);
  });

  it('refuses names it cannot represent', () => {
    expect(() => entityKey({ namespace: [] })).toThrow(InvalidEntityError);
    expect(() => entityKey({ namespace: ['a\u001fb'] })).toThrow(InvalidEntityError);
    expect(() => entityKey({ namespace: ['a'], name: 'x\u0000' })).toThrow(InvalidEntityError);
    expect(() => entityKey({ namespace: ['a'], name: 'x\u001ey' })).toThrow(InvalidEntityError);
  });
});

describe('retry policy', () => {
  const policy = { baseDelayMs: 1_000, maxDelayMs: 600_000, maxAttempts: 20 };
  it('doubles from the base up to the cap, with equal jitter in [d/2, d)', () => {
    expect([1, 2, 3, 10, 11, 30].map((n) => nominalDelayMs(n, policy))).toEqual([1_000, 2_000, 4_000, 512_000, 600_000, 600_000]);
    expect(retryDelayMs(3, policy, 0)).toBe(2_000);
    expect(retryDelayMs(3, policy, 0.999999)).toBe(3_999);
    expect(retryDelayMs(1_000, policy, 0.5)).toBe(450_000);
  });
});
