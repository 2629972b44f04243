/**
 * The outbox's SQL: one method per statement (the private ones), composed into the operations the
 * proxy, the shipper and the admin API call. No Iceberg logic and no HTTP here.
 *
 * Who calls what:
 * - proxy: `recordIntent` before forwarding (durable first), `recordOutcome` after the answer.
 * - start-up and reconciliation: `unsettled`, then `recordOutcome` once the source was read.
 * - shipper: `claim` -> ship -> `complete` | `fail`; a periodic `sweepStale`.
 * - admin API / CLI: `listEvents`, `positions`, `pause`, `resume` (and promotion-store.ts, whose
 *   promotions `claim` leaves out).
 *
 * Ordering: per entity, events are numbered 1, 2, 3... with no gap (the counter row in
 * `outbox_entities` is incremented inside the intent's transaction, so a rolled-back intent takes
 * its number back). A destination's queue for an entity ships strictly in that order: committed
 * events ship, rejected ones are stepped over, and an event still `intent` or `unknown` stops the
 * queue until it is settled (its effect, and so everything after it, is not known yet).
 */
import { sql, type Kysely } from 'kysely';
import type { StateDatabase } from '../catalog/database.ts';
import { entityKey, parseEntityKey } from './entity-key.ts';
import type { EntityRef, NewIntent, Outcome, OutboxEntry, OutcomeStatus, TableEvent } from './outbox.ts';
import { outboxDialect, type OutboxDialect } from './outbox-dialect.ts';
import type { OutboxEntryRow, OutboxEventRow, OutboxPositionRow, OutboxTables, PositionState } from './outbox-tables.ts';
import { defaultRetryPolicy, distinctDelaySteps, retryDelayMs, validateRetryPolicy, type RetryPolicy } from './retry-policy.ts';

export type { PositionState } from './outbox-tables.ts';

type Db = Kysely<OutboxTables>;
type EntryRow = { [K in keyof OutboxEntryRow]: K extends 'id' ? number : OutboxEntryRow[K] };
type PositionRow = { [K in keyof OutboxPositionRow]: K extends 'position' | 'attempts' | 'run_at_ms' ? number : K extends 'state' ? PositionState : OutboxPositionRow[K] };

const unsettledStatuses: OutcomeStatus[] = ['intent', 'unknown'];
const settledStatuses: OutcomeStatus[] = ['committed', 'rejected'];
/** Rows per `in (...)` list, far below either dialect's parameter limit. */
const chunkSize = 500;
const decimalId = /^-?(0|[1-9][0-9]*)$/;

export interface OutboxStoreOptions {
  /** Backoff and give-up policy of `fail` (see retry-policy.ts); defaults to `defaultRetryPolicy`. */
  retry?: Partial<RetryPolicy>;
  /** The jitter source, in [0, 1); tests pin it. */
  random?: () => number;
  /**
   * This process, when several may share the state database: intents are tagged with it, and
   * `unsettled` then leaves out intents another live process may still have in flight.
   * Without it every unsettled entry is returned (one process; tests).
   */
  instance?: InstanceLiveness;
}

export interface InstanceLiveness {
  id: string;
  host: string;
  pid: number;
  /** A process not seen for this long is dead (it heartbeats much more often). */
  deadAfterMs: number;
  /** An intent older than this is stuck whoever owns it (longer than any request may take). */
  stuckAfterMs: number;
  /** Whether process `pid` runs on this host (only asked for instances on this host). */
  processAlive(pid: number): boolean;
}

export interface ListEventsRequest {
  /** One entity's events, oldest first by sequence. Without it: every event, oldest first by entry id. */
  entity?: EntityRef;
  /** At most this many events (>= 1). */
  limit: number;
  /** With `entity`: only events after this sequence (the last one of the previous page). */
  afterSequence?: number;
  /** Without `entity`: only events of entries after this id (the last one of the previous page). */
  afterEntryId?: number;
  /** The newest `limit` events (still listed oldest first) instead of the oldest. */
  newest?: boolean;
}

export interface ClaimRequest {
  /** Destinations this worker ships to. A position row is created for each with every entity that has events. */
  destinations: string[];
  /** Written to `locked_by`; distinct per worker (e.g. host:pid:n). */
  workerId: string;
  /** At most this many (destination, entity) queues. */
  limit: number;
  /** The claim expires after this long; then another worker may take it (or sweepStale frees it). */
  lockMs: number;
  nowMs: number;
  /** At most this many events per queue (default 1000); the rest come with the next claim. */
  eventLimit?: number;
  /** Only these entities (a one-shot sync of some tables; tests). Default: every entity. */
  entities?: EntityRef[];
}

/** One claimed (destination, entity) queue. */
export interface ClaimedWork {
  destination: string;
  entity: EntityRef;
  entityKey: string;
  /** The destination's position when claimed: the last sequence it applied. */
  position: number;
  /** Consecutive failures so far (0 on a first try). */
  attempts: number;
  /**
   * The committed events after `position`, in sequence order, up to (not including) the first
   * unsettled one. Rejected events are left out. May be empty when every event in reach was rejected.
   */
  events: TableEvent[];
  /**
   * Pass this to `complete` after shipping `events`: the last settled sequence covered, so rejected
   * events are stepped over too. Always > `position`.
   */
  throughSequence: number;
  lockedUntilMs: number;
  /** The source metadata file the destination was last brought to (null before the first ship). */
  shippedMetadataLocation: string | null;
}

export interface ReplicationPosition {
  destination: string;
  entity: EntityRef;
  entityKey: string;
  position: number;
  state: PositionState;
  attempts: number;
  runAtMs: number;
  lockedBy: string | null;
  lockedUntilMs: number | null;
  lastError: string | null;
  completedAtMs: number | null;
  /** The source state the destination was last brought to (null before the first ship). */
  shipped: ShippedState | null;
}

/** Where a destination stands after shipping: the source state it was brought to. */
export interface ShippedState {
  metadataLocation: string;
  snapshotId: string | null;
}

export interface FailResult {
  state: PositionState;
  attempts: number;
  runAtMs: number;
}

export class OutboxStore {
  readonly db: Db;
  readonly dialect: OutboxDialect;
  readonly retry: RetryPolicy;
  readonly #random: () => number;
  readonly #instance: InstanceLiveness | undefined;
  readonly #startedAtMs = Date.now();

  constructor(state: StateDatabase, options: OutboxStoreOptions = {}) {
    // The catalog's `Database` type does not list the outbox tables (its migrations create them,
    // see database.ts); this view of the same connection does.
    this.db = state.db as unknown as Db;
    this.dialect = outboxDialect(state.adapter);
    this.retry = validateRetryPolicy({ ...defaultRetryPolicy, ...options.retry });
    this.#random = options.random ?? Math.random;
    this.#instance = options.instance;
  }

  // --- proxy: intents and outcomes ----------------------------------------------------------

  /**
   * Records a mutation about to be forwarded, with one event per entity numbered by the entity's
   * next sequence; durable when the promise resolves. Returns the entry id for `recordOutcome`.
   */
  async recordIntent(intent: NewIntent, nowMs: number = Date.now()): Promise<number> {
    const keys = intent.entities.map(entityKey);
    // Counter rows are locked in key order, so two intents over the same entities (a rename and
    // its reverse, two transactions) never wait on each other in a cycle on Postgres.
    const lockOrder = keys.map((_, i) => i).sort((a, b) => compareText(keys[a]!, keys[b]!) || a - b);
    return this.dialect.writeTransaction(this.db, async (trx) => {
      const id = await this.insertEntry(trx, intent, nowMs);
      const sequences: number[] = [];
      for (const i of lockOrder) sequences[i] = await this.nextSequence(trx, keys[i]!);
      if (keys.length > 0) {
        await this.insertEvents(trx, keys.map((key, ordinal) => ({
          entry_id: id, ordinal, entity_key: key, sequence: sequences[ordinal]!, kind: intent.kind,
          status: 'intent', metadata_location: null, added_snapshot_ids: '[]', created_at_ms: nowMs,
        })));
      }
      return id;
    });
  }

  /**
   * Records what the source answered. Applies only while the entry is `intent` or `unknown`;
   * once `committed` or `rejected` it is final and this returns false (as for an unknown id), so
   * a late or repeated settlement is harmless.
   */
  async recordOutcome(id: number, outcome: Outcome, nowMs: number = Date.now()): Promise<boolean> {
    if (outcome.status === 'committed') {
      for (const ids of outcome.addedSnapshotIds ?? []) {
        for (const snapshotId of ids) {
          if (typeof snapshotId !== 'string' || !decimalId.test(snapshotId)) {
            throw new TypeError(`outbox entry ${id}: snapshot id ${String(snapshotId)} is not a decimal string`);
          }
        }
      }
    }
    return this.dialect.writeTransaction(this.db, async (trx) => {
      if (!(await this.settleEntry(trx, id, outcome, nowMs))) return false;
      await this.settleEvents(trx, id, outcome);
      return true;
    });
  }

  /**
   * The newest entry recorded since `sinceMs` for the same request (method, path, body) with the
   * same Idempotency-Key, if any: a client's retry of a mutation it already sent.
   */
  async findRetried(idempotencyKey: string, request: NewIntent['request'], sinceMs: number): Promise<{ id: number; status: OutcomeStatus } | undefined> {
    const row = await this.db.selectFrom('outbox_entries').select(['id', 'status', 'request_body'])
      .where('idempotency_key', '=', idempotencyKey).where('request_method', '=', request.method).where('request_path', '=', request.path)
      .where('created_at_ms', '>=', sinceMs).orderBy('id', 'desc').limit(1).executeTakeFirst();
    if (!row || row.request_body !== request.body) return undefined;
    return { id: Number(row.id), status: row.status };
  }

  /**
   * Entries still `intent` or `unknown`, oldest first: to settle by reading the source. With an
   * `instance` configured, an intent of another live process (or one of this process's own, not
   * stuck) is left out: its request may still be in flight, and reading the source now could
   * settle as rejected a commit about to land. `unknown` entries are always included (their
   * request is over).
   */
  async unsettled(nowMs: number = Date.now()): Promise<OutboxEntry[]> {
    const rows = await this.selectUnsettledEntries();
    const me = this.#instance;
    if (!me || rows.length === 0) return this.withEvents(rows);
    const instances = new Map((await this.db.selectFrom('icerelay_instances').selectAll().execute()).map((r) => [r.instance_id, r]));
    const settleable = rows.filter((row) => {
      if (row.status !== 'intent' || row.instance_id === null) return true;
      if (Number(row.created_at_ms) < nowMs - me.stuckAfterMs) return true;
      if (row.instance_id === me.id) return false;
      const owner = instances.get(row.instance_id);
      if (!owner || Number(owner.last_seen_ms) < nowMs - me.deadAfterMs) return true;
      // On this host the process table says at once whether the owner is gone (a restart after
      // a crash); the same pid as this process is an earlier run (a container restarts as pid 1).
      if (owner.host === me.host) return owner.pid === me.pid || !me.processAlive(owner.pid);
      return false;
    });
    return this.withEvents(settleable);
  }

  /**
   * Records, already committed, that the source table is at `metadataLocation` although no event
   * says so (reconciliation). One transaction: never left half-written for settlement to puzzle over.
   */
  async recordObserved(entity: EntityRef, metadataLocation: string, nowMs: number = Date.now()): Promise<number> {
    const key = entityKey(entity);
    return this.dialect.writeTransaction(this.db, async (trx) => {
      const { rows } = await sql<{ id: number }>`insert into outbox_entries
        (kind, status, request_method, request_path, request_body, http_status, created_at_ms, settled_at_ms, instance_id)
        values (${'observe-table'}, ${'committed'}, ${''}, ${''}, ${null}, ${null}, ${nowMs}, ${nowMs}, ${this.#instance?.id ?? null})
        returning id`.execute(trx);
      const id = Number(rows[0]!.id);
      const sequence = await this.nextSequence(trx, key);
      await this.insertEvents(trx, [{
        entry_id: id, ordinal: 0, entity_key: key, sequence, kind: 'observe-table',
        status: 'committed', metadata_location: metadataLocation, added_snapshot_ids: '[]', created_at_ms: nowMs,
      }]);
      return id;
    });
  }

  /** Records that this process is alive (a no-op without an `instance`); call it periodically. */
  async heartbeat(nowMs: number = Date.now()): Promise<void> {
    const me = this.#instance;
    if (!me) return;
    await this.db.insertInto('icerelay_instances')
      .values({ instance_id: me.id, host: me.host, pid: me.pid, started_at_ms: this.#startedAtMs, last_seen_ms: nowMs })
      .onConflict((oc) => oc.column('instance_id').doUpdateSet({ last_seen_ms: nowMs }))
      .execute();
    // Rows of processes gone for a day are of no use to anyone.
    await this.db.deleteFrom('icerelay_instances').where('last_seen_ms', '<', nowMs - 86_400_000).execute();
  }

  async entry(id: number): Promise<OutboxEntry | undefined> {
    const row = await this.db.selectFrom('outbox_entries').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? (await this.withEvents([row]))[0] : undefined;
  }

  // --- admin API -----------------------------------------------------------------------------

  /**
   * Table events, oldest first: by sequence for one entity (page with `afterSequence`), else by
   * entry id and the entity's place in the entry (page with `afterEntryId`); or the newest ones.
   */
  async listEvents(request: ListEventsRequest): Promise<TableEvent[]> {
    const { entity, limit, afterSequence, afterEntryId, newest = false } = request;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`listEvents: limit must be an integer >= 1, got ${limit}`);
    const direction = newest ? 'desc' : 'asc';
    let q = this.db.selectFrom('outbox_events').selectAll();
    if (entity) {
      if (afterEntryId !== undefined) throw new TypeError('listEvents: afterEntryId pages the all-entities listing; use afterSequence with an entity');
      q = q.where('entity_key', '=', entityKey(entity)).where('sequence', '>', afterSequence ?? 0).orderBy('sequence', direction);
    } else {
      if (afterSequence !== undefined) throw new TypeError('listEvents: sequences are per entity; afterSequence needs an entity');
      q = q.where('entry_id', '>', afterEntryId ?? 0).orderBy('entry_id', direction).orderBy('ordinal', direction);
    }
    const rows = (await q.limit(limit).execute()).map(toTableEvent);
    return newest ? rows.reverse() : rows;
  }

  /**
   * Per entity, what `destination` has not applied yet (events after its position), in one query:
   * when the oldest was recorded and how many snapshots the committed ones added. Entities the
   * destination is up to date with are absent.
   */
  async pendingSummaries(destination: string): Promise<Map<string, { oldestAtMs: number; snapshots: number }>> {
    const rows = await this.db.selectFrom('outbox_events as e')
      .leftJoin('outbox_positions as p', (join) => join.onRef('p.entity_key', '=', 'e.entity_key').on('p.destination', '=', destination))
      .select(['e.entity_key', 'e.status', 'e.added_snapshot_ids', 'e.created_at_ms'])
      .where((eb) => eb('e.sequence', '>', eb.fn.coalesce('p.position', sql.lit(0))))
      .execute();
    const out = new Map<string, { oldestAtMs: number; snapshots: number }>();
    for (const row of rows) {
      const summary = out.get(row.entity_key) ?? { oldestAtMs: Number.POSITIVE_INFINITY, snapshots: 0 };
      summary.oldestAtMs = Math.min(summary.oldestAtMs, Number(row.created_at_ms));
      if (row.status === 'committed') summary.snapshots += (JSON.parse(row.added_snapshot_ids) as unknown[]).length;
      out.set(row.entity_key, summary);
    }
    return out;
  }

  /** Every entity that has events, with the sequence of its newest one, in key order. */
  async entities(): Promise<{ entity: EntityRef; entityKey: string; lastSequence: number }[]> {
    const rows = await this.db.selectFrom('outbox_entities').select(['entity_key', 'last_sequence']).orderBy('entity_key').execute();
    return rows.map((r) => ({ entity: parseEntityKey(r.entity_key), entityKey: r.entity_key, lastSequence: Number(r.last_sequence) }));
  }

  /** The event of `entity` with this sequence, if any. */
  async event(entity: EntityRef, sequence: number): Promise<TableEvent | undefined> {
    const row = await this.db.selectFrom('outbox_events').selectAll().where('entity_key', '=', entityKey(entity)).where('sequence', '=', sequence).executeTakeFirst();
    return row ? toTableEvent(row) : undefined;
  }

  /** The sequence of an entity's newest event; 0 when it has none. */
  async entitySequence(entity: EntityRef): Promise<number> {
    const row = await this.db.selectFrom('outbox_entities').select('last_sequence')
      .where('entity_key', '=', entityKey(entity)).executeTakeFirst();
    return row ? Number(row.last_sequence) : 0;
  }

  async positions(filter: { destination?: string; entity?: EntityRef } = {}): Promise<ReplicationPosition[]> {
    let q = this.db.selectFrom('outbox_positions').selectAll();
    if (filter.destination !== undefined) q = q.where('destination', '=', filter.destination);
    if (filter.entity !== undefined) q = q.where('entity_key', '=', entityKey(filter.entity));
    return (await q.orderBy('destination').orderBy('entity_key').execute()).map(toPosition);
  }

  async position(destination: string, entity: EntityRef): Promise<ReplicationPosition | undefined> {
    return (await this.positions({ destination, entity }))[0];
  }

  // --- shipper -------------------------------------------------------------------------------

  /**
   * Claims up to `limit` due (destination, entity) queues for `workerId`: state `pending`,
   * `run_at` reached, not claimed (or the claim expired), and the next event settled. Oldest
   * `run_at` first, so queues just shipped go to the back. Each comes with its events to ship.
   */
  async claim(request: ClaimRequest): Promise<ClaimedWork[]> {
    const { workerId, limit, lockMs, nowMs, eventLimit = 1000 } = request;
    const destinations = [...new Set(request.destinations)].sort(compareText);
    if (destinations.length === 0 || limit < 1) return [];
    if (!Number.isInteger(eventLimit) || eventLimit < 1) throw new RangeError(`claim: eventLimit must be an integer >= 1, got ${eventLimit}`);
    const only = request.entities?.map(entityKey);
    if (only?.length === 0) return [];
    const lockedUntilMs = nowMs + lockMs;
    return this.dialect.writeTransaction(this.db, async (trx) => {
      for (const destination of destinations) await this.insertMissingPositions(trx, destination, only);
      const due = await this.selectDuePositions(trx, destinations, only, limit, nowMs);
      if (due.length === 0) return [];
      const locked = await this.lockPositions(trx, due, workerId, lockedUntilMs);
      const events = await this.selectEventWindows(trx, locked, eventLimit);
      locked.sort((a, b) => a.run_at_ms - b.run_at_ms || compareText(a.destination, b.destination) || compareText(a.entity_key, b.entity_key));
      return locked.map((row) => toClaimedWork(row, events, eventLimit, lockedUntilMs));
    });
  }

  /**
   * Records that `destination` applied `entity` through `position` (a claim's `throughSequence`):
   * the position moves forward (never back), attempts and the last error are cleared, the claim
   * is released, and the queue goes to the back of the due order. A paused queue stays paused.
   * False when there is no such position row.
   */
  async complete(destination: string, entity: EntityRef, position: number, nowMs: number = Date.now(), shipped?: ShippedState, workerId?: string): Promise<boolean> {
    let q = this.db.updateTable('outbox_positions')
      .set((eb) => ({
        // Only with the position: a late worker's older state never overwrites a newer one.
        ...(shipped ? {
          shipped_metadata_location: eb.case().when('position', '<', position).then(shipped.metadataLocation).else(eb.ref('shipped_metadata_location')).end(),
          shipped_snapshot_id: eb.case().when('position', '<', position).then(shipped.snapshotId).else(eb.ref('shipped_snapshot_id')).end(),
        } : {}),
        position: eb.case().when('position', '<', position).then(position).else(eb.ref('position')).end(),
        attempts: 0,
        last_error: null,
        locked_by: null,
        locked_until_ms: null,
        run_at_ms: nowMs,
        completed_at_ms: nowMs,
      }))
      .where('destination', '=', destination).where('entity_key', '=', entityKey(entity));
    // With `workerId`, only while that worker holds the claim (a worker whose claim was taken over
    // has nothing to report: the new holder ships the queue).
    if (workerId !== undefined) q = q.where('locked_by', '=', workerId);
    const result = await q.executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Extends `workerId`'s claim on a queue to `lockedUntilMs`. False when the worker no longer
   * holds it (it expired and another worker took the queue, or it was released): the caller must
   * stop shipping that queue, since the other worker is shipping it now.
   */
  async renewClaim(destination: string, entity: EntityRef, workerId: string, lockedUntilMs: number): Promise<boolean> {
    const result = await this.db.updateTable('outbox_positions').set({ locked_until_ms: lockedUntilMs })
      .where('destination', '=', destination).where('entity_key', '=', entityKey(entity)).where('locked_by', '=', workerId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Records, while `workerId` holds the claim, that one event of the claim was applied: the
   * position moves forward to `sequence` (never back), with the source state it brought the
   * destination to when given, and the claim is extended to `lockedUntilMs`. The claim stays
   * held (`complete` releases it). Advancing after each event keeps the replica at most one event
   * ahead of the position, so a worker that dies mid-batch leaves at most that one event to be
   * delivered again. False when the worker no longer holds the claim.
   */
  async advance(destination: string, entity: EntityRef, sequence: number, workerId: string, lockedUntilMs: number, shipped?: ShippedState): Promise<boolean> {
    const result = await this.db.updateTable('outbox_positions')
      .set((eb) => ({
        ...(shipped ? {
          shipped_metadata_location: eb.case().when('position', '<', sequence).then(shipped.metadataLocation).else(eb.ref('shipped_metadata_location')).end(),
          shipped_snapshot_id: eb.case().when('position', '<', sequence).then(shipped.snapshotId).else(eb.ref('shipped_snapshot_id')).end(),
        } : {}),
        position: eb.case().when('position', '<', sequence).then(sequence).else(eb.ref('position')).end(),
        locked_until_ms: lockedUntilMs,
      }))
      .where('destination', '=', destination).where('entity_key', '=', entityKey(entity)).where('locked_by', '=', workerId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Records a failed shipment: attempts + 1, `run_at` = now + the backoff for that many failures
   * (retry-policy.ts), the claim released, and state `failed` once attempts reach
   * `retry.maxAttempts` (a paused queue stays paused). The delay is computed in SQL from the row's
   * own attempts, so one statement does it. With `workerId`, applies only while that worker holds
   * the claim (a worker whose claim expired and was taken over cannot count a failure).
   * Undefined when nothing was updated.
   */
  async fail(destination: string, entity: EntityRef, error: string, nowMs: number = Date.now(), workerId?: string): Promise<FailResult | undefined> {
    const r = this.#random();
    const steps = distinctDelaySteps(this.retry);
    // `attempts` on the right-hand side is the value before this update, i.e. n - 1.
    const runAt = sql<number>`case ${sql.ref('attempts')} ${sql.join(
      Array.from({ length: steps - 1 }, (_, i) => sql`when ${sql.lit(i)} then ${sql.lit(nowMs + retryDelayMs(i + 1, this.retry, r))}`),
      sql` `,
    )} else ${sql.lit(nowMs + retryDelayMs(steps, this.retry, r))} end`;
    const state = sql<PositionState>`case when ${sql.ref('state')} = 'paused' then 'paused' when ${sql.ref('attempts')} + 1 >= ${sql.lit(this.retry.maxAttempts)} then 'failed' else 'pending' end`;
    let q = this.db.updateTable('outbox_positions')
      .set((eb) => ({
        attempts: eb('attempts', '+', 1),
        run_at_ms: runAt,
        state,
        last_error: error,
        locked_by: null,
        locked_until_ms: null,
      }))
      .where('destination', '=', destination).where('entity_key', '=', entityKey(entity));
    if (workerId !== undefined) q = q.where('locked_by', '=', workerId);
    const row = await q.returning(['state', 'attempts', 'run_at_ms']).executeTakeFirst();
    return row ? { state: row.state as PositionState, attempts: Number(row.attempts), runAtMs: Number(row.run_at_ms) } : undefined;
  }

  /**
   * Pauses one (destination, entity) queue (creating its position row if it has none yet), or
   * every existing queue of a destination. A paused queue is never claimed; a claim in progress
   * finishes normally. Returns the number of queues paused.
   *
   * Note: a destination-wide pause covers the queues that exist now; an entity that first gets
   * events later starts `pending`. To hold a whole destination, leave it out of `claim`.
   */
  async pause(destination: string, entity?: EntityRef): Promise<number> {
    if (entity !== undefined) {
      await this.db.insertInto('outbox_positions')
        .values({ destination, entity_key: entityKey(entity), state: 'paused' })
        .onConflict((oc) => oc.columns(['destination', 'entity_key']).doUpdateSet({ state: 'paused' }))
        .execute();
      return 1;
    }
    const result = await this.db.updateTable('outbox_positions').set({ state: 'paused' })
      .where('destination', '=', destination).where('state', '<>', 'paused').executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * Resumes paused or failed queues (one, or all of a destination): state `pending`, attempts
   * reset, due now. The last error is kept for display until the next success. Returns the count.
   */
  async resume(destination: string, entity?: EntityRef, nowMs: number = Date.now()): Promise<number> {
    let q = this.db.updateTable('outbox_positions').set({ state: 'pending', attempts: 0, run_at_ms: nowMs })
      .where('destination', '=', destination).where('state', 'in', ['paused', 'failed']);
    if (entity !== undefined) q = q.where('entity_key', '=', entityKey(entity));
    return Number((await q.executeTakeFirst()).numUpdatedRows);
  }

  /**
   * Releases claims whose time ran out (a worker that crashed or hung). `claim` already treats
   * them as free; sweeping makes the state visible and tidy. Attempts are not counted: nothing
   * is known to have failed. Returns the number released.
   */
  async sweepStale(nowMs: number = Date.now()): Promise<number> {
    const result = await this.db.updateTable('outbox_positions').set({ locked_by: null, locked_until_ms: null })
      .where('locked_until_ms', '<=', nowMs).executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  // --- statements ----------------------------------------------------------------------------

  // The proxy's statements (intent, outcome) run on every commit: plain SQL, the fewest
  // statements per transaction, no query building.

  private async insertEntry(db: Db, intent: NewIntent, nowMs: number): Promise<number> {
    const { rows } = await sql<{ id: number }>`insert into outbox_entries
      (kind, status, request_method, request_path, request_body, principal, idempotency_key, created_at_ms, instance_id)
      values (${intent.kind}, ${'intent'}, ${intent.request.method}, ${intent.request.path}, ${intent.request.body}, ${intent.principal ?? null}, ${intent.idempotencyKey ?? null}, ${nowMs}, ${this.#instance?.id ?? null})
      returning id`.execute(db);
    return Number(rows[0]!.id);
  }

  /** Takes the entity's next sequence; on Postgres this locks the counter row until commit. */
  private async nextSequence(db: Db, key: string): Promise<number> {
    const { rows } = await sql<{ last_sequence: number }>`insert into outbox_entities (entity_key, last_sequence) values (${key}, 1)
      on conflict (entity_key) do update set last_sequence = outbox_entities.last_sequence + 1
      returning last_sequence`.execute(db);
    return Number(rows[0]!.last_sequence);
  }

  private async insertEvents(db: Db, rows: OutboxEventRow[]): Promise<void> {
    const values = rows.map((r) => sql`(${r.entry_id}, ${r.ordinal}, ${r.entity_key}, ${r.sequence}, ${r.kind}, ${r.status}, ${r.metadata_location}, ${r.added_snapshot_ids}, ${r.created_at_ms})`);
    await sql`insert into outbox_events
      (entry_id, ordinal, entity_key, sequence, kind, status, metadata_location, added_snapshot_ids, created_at_ms)
      values ${sql.join(values)}`.execute(db);
  }

  private async settleEntry(db: Db, id: number, outcome: Outcome, nowMs: number): Promise<boolean> {
    const [httpStatus, error, settledAtMs] = outcome.status === 'committed'
      ? [outcome.httpStatus, null, nowMs]
      : outcome.status === 'rejected'
        ? [outcome.httpStatus, outcome.error, nowMs]
        : [null, outcome.reason, null];
    const result = await sql`update outbox_entries
      set status = ${outcome.status}, http_status = ${httpStatus}, error = ${error}, settled_at_ms = ${settledAtMs}
      where id = ${id} and status in (${sql.join(unsettledStatuses)})`.execute(db);
    return Number(result.numAffectedRows ?? 0) === 1;
  }

  /** Mirrors the outcome on the entry's events; a committed one also gets each entity's new state. */
  private async settleEvents(db: Db, entryId: number, outcome: Outcome): Promise<void> {
    if (outcome.status !== 'committed') {
      await sql`update outbox_events set status = ${outcome.status} where entry_id = ${entryId}`.execute(db);
      return;
    }
    const count = Math.max(outcome.metadataLocations?.length ?? 0, outcome.addedSnapshotIds?.length ?? 0);
    const locations = Array.from({ length: count }, (_, ordinal) => sql`when ${sql.lit(ordinal)} then ${outcome.metadataLocations?.[ordinal] ?? null}`);
    const ids = Array.from({ length: count }, (_, ordinal) => sql`when ${sql.lit(ordinal)} then ${JSON.stringify(outcome.addedSnapshotIds?.[ordinal] ?? [])}`);
    await sql`update outbox_events set status = ${outcome.status},
      metadata_location = ${count > 0 ? sql`case ordinal ${sql.join(locations, sql` `)} else null end` : sql`null`},
      added_snapshot_ids = ${count > 0 ? sql`case ordinal ${sql.join(ids, sql` `)} else '[]' end` : sql`'[]'`}
      where entry_id = ${entryId}`.execute(db);
  }

  private async selectUnsettledEntries(): Promise<EntryRow[]> {
    return this.db.selectFrom('outbox_entries').selectAll().where('status', 'in', unsettledStatuses).orderBy('id').execute();
  }

  private async selectEventsOfEntries(ids: number[]): Promise<OutboxEventRow[]> {
    return this.db.selectFrom('outbox_events').selectAll().where('entry_id', 'in', ids)
      .orderBy('entry_id').orderBy('ordinal').execute();
  }

  /** Creates the missing position rows of `destination`: one per entity with events, at 0. */
  private async insertMissingPositions(db: Db, destination: string, only: string[] | undefined): Promise<void> {
    await db.insertInto('outbox_positions')
      .columns(['destination', 'entity_key'])
      .expression((eb) => eb.selectFrom('outbox_entities as e')
        .select([sql<string>`cast(${destination} as text)`.as('destination'), 'e.entity_key'])
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('outbox_positions as p').select(sql.lit(1).as('one'))
          .where('p.destination', '=', destination).whereRef('p.entity_key', '=', 'e.entity_key'))))
        .$if(only !== undefined, (qb) => qb.where('e.entity_key', 'in', only!))
        // Key order: concurrent claimers insert (and lock) new rows in the same order on Postgres.
        .orderBy('e.entity_key'))
      .onConflict((oc) => oc.columns(['destination', 'entity_key']).doNothing())
      .execute();
  }

  private async selectDuePositions(db: Db, destinations: string[], only: string[] | undefined, limit: number, nowMs: number): Promise<{ destination: string; entity_key: string }[]> {
    return db.selectFrom('outbox_positions as p')
      .select(['p.destination', 'p.entity_key'])
      .where('p.destination', 'in', destinations)
      .$if(only !== undefined, (qb) => qb.where('p.entity_key', 'in', only!))
      .where('p.state', '=', 'pending')
      .where('p.run_at_ms', '<=', nowMs)
      .where((eb) => eb.or([eb('p.locked_until_ms', 'is', null), eb('p.locked_until_ms', '<=', nowMs)]))
      // The next event must be settled: an intent or unknown outcome blocks the queue behind it.
      .where((eb) => eb.exists(eb.selectFrom('outbox_events as e').select(sql.lit(1).as('one'))
        .whereRef('e.entity_key', '=', 'p.entity_key')
        .where('e.sequence', '=', eb('p.position', '+', 1))
        .where('e.status', 'in', settledStatuses)))
      // A promoted destination, or promoted table (failover), takes none of the source's commits
      // any more (promotion-store.ts; '' promotes the whole destination).
      .where((eb) => eb.not(eb.exists(eb.selectFrom('replication_promotions as r').select(sql.lit(1).as('one'))
        .whereRef('r.destination', '=', 'p.destination')
        .where((w) => w.or([w('r.entity_key', '=', ''), w('r.entity_key', '=', w.ref('p.entity_key'))])))))
      .orderBy('p.run_at_ms').orderBy('p.destination').orderBy('p.entity_key')
      .limit(limit)
      .$if(this.dialect.supportsSkipLocked, (qb) => qb.forUpdate(['p']).skipLocked())
      .execute();
  }

  private async lockPositions(db: Db, keys: { destination: string; entity_key: string }[], workerId: string, lockedUntilMs: number): Promise<PositionRow[]> {
    const rows = await db.updateTable('outbox_positions')
      .set({ locked_by: workerId, locked_until_ms: lockedUntilMs })
      .where((eb) => eb(eb.refTuple('destination', 'entity_key'), 'in', keys.map((k) => eb.tuple(k.destination, k.entity_key))))
      .returningAll()
      .execute();
    return rows.map(numericPosition);
  }

  /** Each claimed queue's next `eventLimit` events (sequences are gapless, so a range bounds them). */
  private async selectEventWindows(db: Db, queues: PositionRow[], eventLimit: number): Promise<OutboxEventRow[]> {
    const windows = new Map<string, { key: string; from: number }>();
    for (const q of queues) windows.set(`${q.entity_key}\u0000${q.position}`, { key: q.entity_key, from: q.position });
    return db.selectFrom('outbox_events').selectAll()
      .where((eb) => eb.or([...windows.values()].map((w) =>
        eb.and([eb('entity_key', '=', w.key), eb('sequence', '>', w.from), eb('sequence', '<=', w.from + eventLimit)]))))
      .orderBy('entity_key').orderBy('sequence').execute();
  }

  private async withEvents(rows: EntryRow[]): Promise<OutboxEntry[]> {
    const byEntry = new Map<number, OutboxEventRow[]>();
    const ids = rows.map((r) => Number(r.id));
    for (let i = 0; i < ids.length; i += chunkSize) {
      for (const event of await this.selectEventsOfEntries(ids.slice(i, i + chunkSize))) {
        const list = byEntry.get(Number(event.entry_id)) ?? [];
        list.push(event);
        byEntry.set(Number(event.entry_id), list);
      }
    }
    return rows.map((row) => toEntry(row, byEntry.get(Number(row.id)) ?? []));
  }
}

// --- row mapping ---------------------------------------------------------------------------------

/** Code-unit order, the same on every machine (localeCompare is not). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toTableEvent(row: OutboxEventRow): TableEvent {
  return {
    entryId: Number(row.entry_id),
    sequence: Number(row.sequence),
    entity: parseEntityKey(row.entity_key),
    kind: row.kind,
    status: row.status,
    metadataLocation: row.metadata_location,
    addedSnapshotIds: JSON.parse(row.added_snapshot_ids) as string[],
    createdAtMs: Number(row.created_at_ms),
  };
}

function toEntry(row: EntryRow, events: OutboxEventRow[]): OutboxEntry {
  const committed = row.status === 'committed';
  return {
    id: Number(row.id),
    kind: row.kind,
    status: row.status,
    entities: events.map((e) => parseEntityKey(e.entity_key)),
    request: { method: row.request_method, path: row.request_path, body: row.request_body },
    principal: row.principal,
    httpStatus: row.http_status === null ? null : Number(row.http_status),
    error: row.error,
    metadataLocations: committed ? events.map((e) => e.metadata_location) : null,
    addedSnapshotIds: committed ? events.map((e) => JSON.parse(e.added_snapshot_ids) as string[]) : null,
    createdAtMs: Number(row.created_at_ms),
    settledAtMs: row.settled_at_ms === null ? null : Number(row.settled_at_ms),
  };
}

/** Postgres returns bigint columns through the pg type parser; normalize in one place anyway. */
function numericPosition(row: PositionRow): PositionRow {
  return {
    ...row,
    position: Number(row.position),
    attempts: Number(row.attempts),
    run_at_ms: Number(row.run_at_ms),
    locked_until_ms: row.locked_until_ms === null ? null : Number(row.locked_until_ms),
    completed_at_ms: row.completed_at_ms === null ? null : Number(row.completed_at_ms),
  };
}

function toPosition(raw: PositionRow): ReplicationPosition {
  const row = numericPosition(raw);
  return {
    destination: row.destination,
    entity: parseEntityKey(row.entity_key),
    entityKey: row.entity_key,
    position: row.position,
    state: row.state,
    attempts: row.attempts,
    runAtMs: row.run_at_ms,
    lockedBy: row.locked_by,
    lockedUntilMs: row.locked_until_ms,
    lastError: row.last_error,
    completedAtMs: row.completed_at_ms,
    shipped: row.shipped_metadata_location === null ? null : { metadataLocation: row.shipped_metadata_location, snapshotId: row.shipped_snapshot_id },
  };
}

/**
 * Walks a queue's window in sequence order: committed events ship, rejected ones are stepped
 * over, the first unsettled one ends the batch.
 */
function toClaimedWork(row: PositionRow, windows: OutboxEventRow[], eventLimit: number, lockedUntilMs: number): ClaimedWork {
  const events: TableEvent[] = [];
  let through = row.position;
  for (const e of windows) {
    const sequence = Number(e.sequence);
    if (e.entity_key !== row.entity_key || sequence <= row.position || sequence > row.position + eventLimit) continue;
    if (sequence !== through + 1 || !settledStatuses.includes(e.status)) break;
    if (e.status === 'committed') events.push(toTableEvent(e));
    through = sequence;
  }
  return {
    destination: row.destination,
    entity: parseEntityKey(row.entity_key),
    entityKey: row.entity_key,
    position: row.position,
    attempts: row.attempts,
    events,
    throughSequence: through,
    lockedUntilMs,
    shippedMetadataLocation: row.shipped_metadata_location,
  };
}
