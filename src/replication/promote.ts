/**
 * Promotion (failover): a replica destination, or one table of it, stops receiving the source's
 * commits and becomes writable — the built-in replica through its own catalog routes at
 * `/replicas/<name>` (replica-writes.ts), an external REST replica catalog by pointing writers at
 * it directly. Recorded in the state database (promotion-store.ts), so it holds for every process
 * sharing it and across restarts.
 *
 * A replica that has not applied every source commit loses those commits by being promoted: the
 * promotion is refused unless forced, and what was lost is measured once shipping into it has
 * stopped, and kept with the promotion.
 *
 * Commits made to a promoted replica are not recorded in the outbox: the outbox records the
 * source's commits for shipping to replicas, and a promoted replica's own commits have nowhere to
 * ship (replicating back to the old source is not built). Its catalog keeps them like any catalog.
 */
import { badRequest } from '../errors/iceberg-error.ts';
import { entityKey } from '../outbox/entity-key.ts';
import type { EntityRef } from '../outbox/outbox.ts';
import type { OutboxStore } from '../outbox/outbox-store.ts';
import { PromotionStore, type LostChanges, type Promotion } from '../outbox/promotion-store.ts';
import { sleep } from '../util/sleep.ts';
import { replicationStatus, type InFlightLookup } from './status.ts';
import type { TableSelector } from './table-selector.ts';

/** What promotion needs to know of a destination. */
export interface PromotableDestination {
  name: string;
  /** Built-in (served at /replicas/<name>) or an external Iceberg REST catalog. */
  catalog: { type: 'builtin' } | { type: 'rest'; url: string };
  /** Levels in front of every replicated namespace (the replica's names). */
  namespacePrefix: string[];
  /** Which tables the destination takes (its rules as now in force). */
  selector: Pick<TableSelector, 'selectsTable' | 'selectsNamespace'>;
}

export interface PromoteRequest {
  destination: string;
  /** One table (the source's name); absent: the whole destination. */
  table?: { namespace: string[]; name: string };
  /** Promote even though commits would be lost. */
  force: boolean;
}

/** A promotion with where writers go now. */
export interface PromotionView extends Promotion {
  /** The promoted table's name in the replica (with the destination's namespace prefix). */
  replicaTable: string | null;
  catalogType: 'builtin' | 'rest';
  /** Where writers point now: `/replicas/<name>` (on this Icerelay) or the external catalog's URL. */
  writeTo: string;
}

export type PromoteOutcome =
  | { outcome: 'promoted'; promotion: PromotionView; alreadyPromoted: boolean }
  | { outcome: 'refused'; destination: string; lost: LostChanges[] };

export interface PromoterOptions {
  outbox: OutboxStore;
  destinations: PromotableDestination[];
  /** What this process is shipping now: a promotion waits for shipments into the replica to stop. */
  inFlight?: InFlightLookup;
  /** How long to wait for them (they stop at their next replica commit); default 30 s. */
  stopWaitMs?: number;
}

export const displayEntity = (entity: EntityRef) => [...entity.namespace, ...(entity.name === undefined ? [] : [entity.name])].join('.');

export class Promoter {
  readonly #outbox: OutboxStore;
  readonly #store: PromotionStore;
  readonly #destinations: Map<string, PromotableDestination>;
  readonly #inFlight: InFlightLookup | undefined;
  readonly #stopWaitMs: number;

  constructor(options: PromoterOptions) {
    this.#outbox = options.outbox;
    this.#store = new PromotionStore(options.outbox.db);
    this.#destinations = new Map(options.destinations.map((d) => [d.name, d]));
    this.#inFlight = options.inFlight;
    this.#stopWaitMs = options.stopWaitMs ?? 30_000;
  }

  get destinationNames(): string[] {
    return [...this.#destinations.keys()];
  }

  /**
   * Promotes a destination or one table of it. Throws a 400 IcebergError for a destination or
   * table that is not there. Refused (nothing changed) when commits would be lost and not `force`.
   */
  async promote(request: PromoteRequest): Promise<PromoteOutcome> {
    const destination = this.#destination(request.destination);
    const entity = request.table ? await this.#knownTable(destination, request.table) : null;
    const existing = await this.#store.covering(destination.name, entity);
    if (existing) return { outcome: 'promoted', promotion: this.#view(existing), alreadyPromoted: true };

    // Refuse before touching anything when it is already clear that commits would be lost.
    const before = await this.#measureLoss(destination, entity);
    if (before.length > 0 && !request.force) return { outcome: 'refused', destination: destination.name, lost: before };

    const promotion: Promotion = { destination: destination.name, entity, promotedAtMs: Date.now(), forced: before.length > 0, lost: before };
    if (!(await this.#store.insert(promotion))) {
      // Another request (or process) promoted it meanwhile: that one stands.
      const winner = await this.#store.covering(destination.name, entity);
      if (winner) return { outcome: 'promoted', promotion: this.#view(winner), alreadyPromoted: true };
    }
    // From here no worker claims the queues; one shipping into the replica now stops at its next
    // commit (its claim is gone), and this process's own are waited for.
    await this.#store.releaseClaims(destination.name, entity);
    await this.#waitForShipmentsToStop(destination.name, entity);

    // Measured again: a commit recorded since the first measure is lost too.
    const lost = await this.#measureLoss(destination, entity);
    if (lost.length > 0 && !request.force) {
      await this.#store.remove(destination.name, entity);
      return { outcome: 'refused', destination: destination.name, lost };
    }
    await this.#store.recordLoss(destination.name, entity, lost);
    return { outcome: 'promoted', promotion: this.#view({ ...promotion, forced: lost.length > 0, lost }), alreadyPromoted: false };
  }

  /** Every promotion, oldest first, with where its writers go. */
  async list(): Promise<PromotionView[]> {
    return (await this.#store.list()).map((p) => this.#view(p));
  }

  #destination(name: string): PromotableDestination {
    const destination = this.#destinations.get(name);
    if (!destination) {
      throw badRequest(`destination must be one of ${this.destinationNames.join(', ') || '(none configured)'}, not ${JSON.stringify(name)}`);
    }
    return destination;
  }

  /** The table, when the outbox knows it and the destination's rules take it. */
  async #knownTable(destination: PromotableDestination, table: { namespace: string[]; name: string }): Promise<EntityRef> {
    const label = displayEntity(table);
    if (!destination.selector.selectsTable(table.namespace, table.name)) {
      throw badRequest(`table ${label} is not replicated to destination ${destination.name} (its rules do not select it): nothing to promote`);
    }
    if ((await this.#outbox.entitySequence(table)) === 0) {
      throw badRequest(`table ${label} has never been recorded (no commit, create or backfill of it): nothing to promote in destination ${destination.name}`);
    }
    return table;
  }

  /**
   * Per entity of the destination (or the one table) that the destination's rules take: the
   * source commits it has not applied. Rejected commits are not lost (they never applied anywhere).
   */
  async #measureLoss(destination: PromotableDestination, entity: EntityRef | null): Promise<LostChanges[]> {
    const rows = await replicationStatus(this.#outbox, [destination.name], entity ?? undefined, undefined, { ignorePromotions: true });
    // A table promoted on its own before lost what it lost then; promoting its destination loses nothing more of it.
    const promotedAlready = new Set((await this.#store.list(destination.name)).flatMap((p) => (p.entity ? [entityKey(p.entity)] : [])));
    const lost: LostChanges[] = [];
    for (const row of rows) {
      if (row.eventsBehind === 0 || (entity === null && promotedAlready.has(entityKey(row.entity)))) continue;
      const selected = row.entity.name === undefined
        ? destination.selector.selectsNamespace(row.entity.namespace)
        : destination.selector.selectsTable(row.entity.namespace, row.entity.name);
      if (!selected) continue;
      const events = await this.#outbox.listEvents({ entity: row.entity, afterSequence: row.position, limit: row.eventsBehind });
      const commitsBehind = events.filter((e) => e.status !== 'rejected').length;
      if (commitsBehind === 0) continue;
      lost.push({ entity: row.entity, commitsBehind, snapshotsBehind: row.snapshotsBehind, oldestPendingAtMs: row.oldestPendingAtMs });
    }
    return lost;
  }

  async #waitForShipmentsToStop(destination: string, entity: EntityRef | null): Promise<void> {
    const key = entity && entityKey(entity);
    const shipping = () => [...(this.#inFlight?.(destination)?.keys() ?? [])].some((k) => key === null || k === key);
    const deadline = Date.now() + this.#stopWaitMs;
    while (shipping() && Date.now() < deadline) await sleep(50);
  }

  #view(promotion: Promotion): PromotionView {
    const destination = this.#destinations.get(promotion.destination);
    const rest = destination?.catalog.type === 'rest' ? destination.catalog : undefined;
    const replicaTable = promotion.entity && displayEntity({ ...promotion.entity, namespace: [...(destination?.namespacePrefix ?? []), ...promotion.entity.namespace] });
    return { ...promotion, replicaTable, catalogType: rest ? 'rest' : 'builtin', writeTo: rest ? rest.url : `/replicas/${encodeURIComponent(promotion.destination)}` };
  }
}

/**
 * One line per entity that would be (or was) lost: `sales.orders: 3 commits, 2 snapshots (oldest
 * recorded 2026-05-04T09:12:31.207Z)`.
 */
export function describeLoss(lost: LostChanges[]): string {
  return lost.map((l) =>
    `${displayEntity(l.entity)}${l.entity.name === undefined ? ' (namespace)' : ''}: ${plural(l.commitsBehind, 'commit')}, ${plural(l.snapshotsBehind, 'snapshot')}` +
    (l.oldestPendingAtMs === null ? '' : ` (oldest recorded ${new Date(l.oldestPendingAtMs).toISOString()})`)).join('; ');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
