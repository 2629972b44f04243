/**
 * The shipper: a loop around `syncOnce`, which claims due (destination, table) queues from the
 * outbox, ships each queue's events in order, and advances the position only after the replica
 * commit (or records the failure, with backoff, so the other tables go on).
 *
 * Shipping is state-based: a table event brings the replica to the source metadata the event
 * names (or, when the event carries none — a multi-table transaction — to the source's current
 * state). Namespace events create the namespace and copy its properties. A rename moves the
 * replica table (same UUID) to its new name. Drops keep the replica unless the destination says
 * otherwise (a replica outlives its source by design). Tables the destination's rules do not
 * select are stepped over. Views are replicated the same way (sync-view.ts): metadata only.
 */
import type { BuiltinCatalog } from '../catalog/builtin-catalog.ts';
import { ensureNamespaces } from './commit/replica-catalog.ts';
import type { Identifier } from '../catalog/identifiers.ts';
import type { EntityRef, TableEvent } from '../outbox/outbox.ts';
import type { ClaimedWork, OutboxStore } from '../outbox/outbox-store.ts';
import { PromotionStore } from '../outbox/promotion-store.ts';
import type { Logger } from '../util/logger.ts';
import { mapWithConcurrency } from './copy/concurrency.ts';
import type { CopyProgress } from './copy/types.ts';
import { SourceReadError, type SourceCatalog } from './source-catalog.ts';
import { syncTable, type TableSyncContext, type TableSyncResult } from './sync-table.ts';
import type { ShippedSource } from './plan/source-order.ts';
import { readTableMetadata } from '../catalog/metadata-files.ts';
import { syncView } from './sync-view.ts';
import { EVERYTHING, TableSelector } from './table-selector.ts';

interface SyncedTable {
  sourceMetadataLocation: string;
  result: TableSyncResult;
}

/** What the table syncs of one claim share. */
interface SyncStep {
  progress: InFlight;
  /** The source state the destination was last brought to, as of now. */
  shipped(): ShippedSource | undefined;
  beforeCommit(): Promise<void>;
}

/** This worker's claim on a queue expired and another worker took the queue over. */
class ClaimLostError extends Error {
  override readonly name = 'ClaimLostError';
  constructor(claim: ClaimedWork) {
    super(`the claim on ${claim.entityKey} for destination ${claim.destination} was taken over by another worker (this one stalled past it); it stops shipping that queue`);
  }
}

function memoize<K, V>(fn: (key: K) => Promise<V>): (key: K) => Promise<V> {
  const cache = new Map<K, Promise<V>>();
  return (key) => {
    let value = cache.get(key);
    if (!value) cache.set(key, (value = fn(key)));
    return value;
  };
}

/** What one claimed queue shipped (for metrics). */
export interface ShipReport {
  destination: string;
  entity: EntityRef;
  events: TableEvent[];
  /** One per table sync the events caused (none for namespace events, drops, unselected tables). */
  synced: TableSyncResult[];
}

export interface ShipperOptions {
  outbox: OutboxStore;
  /** The destination's name (its outbox queues are claimed under it). */
  destination: string;
  /** The source catalog, for the current state when an event names no metadata file. */
  source: SourceCatalog;
  sync: TableSyncContext;
  logger: Logger;
  /** Distinct per process. */
  workerId: string;
  /** Which tables and namespaces this destination takes; default: all. Asked at each event. */
  selector?: Pick<TableSelector, 'selectsTable' | 'selectsNamespace'>;
  /** Runs before each round's claim: brings the selector's rules up to date (rules change at run time). */
  beforeRound?: () => Promise<void>;
  /** The replica catalog views go to (built-in replicas only); without it view events fail. */
  views?: BuiltinCatalog;
  /** Levels put in front of every namespace in the replica; default none (same names). */
  namespacePrefix?: string[];
  /** What a source drop does to the replica: kept (default) or dropped too (its files are kept). */
  onSourceDrop?: 'keep' | 'drop';
  /** Called after a queue shipped, and after it failed (for metrics). */
  onShipped?: (report: ShipReport) => void;
  onFailed?: (failure: { destination: string; entity: EntityRef; error: unknown }) => void;
  /** Tables shipped at once. */
  concurrency?: number;
  /** How long a claim holds before another worker may take the queue. */
  lockMs?: number;
  /** Poll interval when not woken by a commit. */
  idleMs?: number;
}

/** A table being shipped by this process right now, and how far its file copy is. */
export interface InFlight {
  entity: EntityRef;
  startedAtMs: number;
  copy: CopyProgress | null;
}

export class Shipper {
  /** By entity key: what this process is shipping now (for status). */
  readonly inFlight = new Map<string, InFlight>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;

  constructor(private readonly options: ShipperOptions) {}

  start(): void {
    this.#stopped = false;
    this.wake();
  }

  /** Ships now (after a commit was recorded); a call while shipping runs one more round after. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = this.loop().finally(() => {
      this.#running = undefined;
      if (this.#stopped) return;
      if (this.#again) {
        this.#again = false;
        this.wake();
      } else {
        this.#timer = setTimeout(() => this.wake(), this.options.idleMs ?? 2000);
      }
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  private async loop(): Promise<void> {
    try {
      while (!this.#stopped && (await this.syncOnce()) > 0) {
        // keep going while there is work
      }
    } catch (error) {
      this.options.logger.error({ err: error, destination: this.options.destination }, 'shipper round failed');
    }
  }

  /** One round: claims due queues, ships them, returns how many were claimed. */
  async syncOnce(nowMs: number = Date.now()): Promise<number> {
    const { outbox, destination, workerId } = this.options;
    const concurrency = this.options.concurrency ?? 4;
    await this.options.beforeRound?.();
    const claims = await outbox.claim({ destinations: [destination], workerId, limit: concurrency, lockMs: this.options.lockMs ?? 120_000, nowMs });
    await mapWithConcurrency(claims, concurrency, (claim) => this.ship(claim));
    return claims.length;
  }

  private async ship(claim: ClaimedWork): Promise<void> {
    const { outbox, destination, logger, workerId } = this.options;
    const synced: TableSyncResult[] = [];
    const progress: InFlight = { entity: claim.entity, startedAtMs: Date.now(), copy: null };
    this.inFlight.set(claim.entityKey, progress);
    let shippedLocation = claim.shippedMetadataLocation;
    const readShipped = memoize((location: string) => readTableMetadata(this.options.sync.sourceStores, location, { cached: true }));
    const step: SyncStep = {
      progress,
      shipped: () => (shippedLocation === null ? undefined : { location: shippedLocation, metadata: () => readShipped(shippedLocation!) }),
      // Fencing: a worker whose claim was taken over (it stalled past the claim) commits nothing.
      beforeCommit: () => this.holdClaim(claim),
    };
    try {
      for (const event of claim.events) {
        const result = await this.apply(event, step);
        if (result) synced.push(result.result);
        // The source state it brought the replica to (none when the event was older than the replica).
        const shipped = result && !result.result.behind ? { metadataLocation: result.sourceMetadataLocation, snapshotId: result.result.snapshotId } : undefined;
        if (shipped) shippedLocation = shipped.metadataLocation;
        if (!(await outbox.advance(destination, claim.entity, event.sequence, workerId, Date.now() + this.lockMs, shipped))) throw new ClaimLostError(claim);
      }
      if (!(await outbox.complete(destination, claim.entity, claim.throughSequence, Date.now(), undefined, workerId))) throw new ClaimLostError(claim);
      this.options.onShipped?.({ destination, entity: claim.entity, events: claim.events, synced });
    } catch (error) {
      if (error instanceof ClaimLostError) {
        logger.warn({ destination, entity: claim.entityKey }, error.message);
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      const result = await outbox.fail(destination, claim.entity, message, Date.now(), workerId);
      this.options.onFailed?.({ destination, entity: claim.entity, error });
      logger.warn({ err: error, destination, entity: claim.entityKey, state: result?.state, attempts: result?.attempts }, 'replication of a table failed; it will be retried');
    } finally {
      this.inFlight.delete(claim.entityKey);
    }
  }

  private get lockMs(): number {
    return this.options.lockMs ?? 120_000;
  }

  /** Extends this worker's claim on the queue; throws ClaimLostError when another worker took it. */
  private async holdClaim(claim: ClaimedWork): Promise<void> {
    const { outbox, destination, workerId } = this.options;
    if (!(await outbox.renewClaim(destination, claim.entity, workerId, Date.now() + this.lockMs))) throw new ClaimLostError(claim);
  }

  /** Applies one event; for a table brought to a source state, which one and what it took. */
  private async apply(event: TableEvent, step: SyncStep): Promise<SyncedTable | undefined> {
    const { entity } = event;
    const selector = this.options.selector ?? EVERYTHING_SELECTOR;
    const isTable = entity.name !== undefined;
    if (isTable ? !selector.selectsTable(entity.namespace, entity.name!) : !selector.selectsNamespace(entity.namespace)) return;
    switch (event.kind) {
      case 'create-table':
      case 'register-table':
      case 'commit-table':
      case 'commit-transaction':
      case 'observe-table':
        return this.syncTableEntity(tableId(entity), event.metadataLocation, event.sequence, step);
      case 'rename-table':
        return this.renameTable(event, step);
      case 'create-namespace':
      case 'update-namespace-properties':
        return this.syncNamespace(entity.namespace);
      case 'drop-table':
      case 'unregister-table':
        return this.sourceDropped(tableId(entity));
      case 'drop-namespace':
        return; // the replica keeps its namespaces (they may hold kept tables)
      case 'create-view':
      case 'replace-view':
      case 'register-view':
        return this.syncViewEntity(tableId(entity), event.metadataLocation);
      case 'rename-view':
        return this.renameView(event);
      case 'drop-view':
        return this.sourceViewDropped(tableId(entity));
    }
  }

  private async syncViewEntity(id: Identifier, metadataLocation: string | null): Promise<undefined> {
    const location = metadataLocation ?? (await this.options.source.currentViewMetadataLocation(id));
    if (location === undefined) return;
    const views = this.viewCatalog();
    const target = this.replicaId(id);
    await ensureNamespaces(views, target.namespace);
    await syncView({ ...this.options.sync, replica: views, namespacePrefix: this.options.namespacePrefix }, target, location);
  }

  /** Views are replicated into built-in replica catalogs only. */
  private viewCatalog(): BuiltinCatalog {
    if (!this.options.views) {
      throw new Error(`views are not replicated into destination ${this.options.destination} (an external replica catalog): only into built-in ones yet`);
    }
    return this.options.views;
  }

  private async renameView(event: TableEvent): Promise<undefined> {
    const entry = await this.options.outbox.entry(event.entryId);
    const [from, to] = entry?.entities ?? [];
    if (!from || !to || !sameEntity(to, event.entity)) return; // the old name: the new name's event moves it
    const replica = this.viewCatalog();
    const [oldId, newId] = [this.replicaId(tableId(from)), this.replicaId(tableId(to))];
    if ((await replica.viewExists(oldId)) && !(await replica.viewExists(newId))) {
      await ensureNamespaces(replica, newId.namespace);
      await replica.renameView(oldId, newId);
    }
    return this.syncViewEntity(tableId(to), event.metadataLocation);
  }

  private async sourceViewDropped(id: Identifier): Promise<undefined> {
    if (this.options.onSourceDrop !== 'drop') return;
    const replica = this.viewCatalog();
    const target = this.replicaId(id);
    if ((await replica.viewExists(target)) && (await this.options.source.currentViewMetadataLocation(id)) === undefined) {
      await replica.dropView(target);
    }
  }

  /** The replica's name for a source table (the destination's namespace prefix in front). */
  private replicaId(id: Identifier): Identifier {
    return { namespace: [...(this.options.namespacePrefix ?? []), ...id.namespace], name: id.name };
  }

  private async syncTableEntity(id: Identifier, metadataLocation: string | null, sequence: number, step: SyncStep): Promise<SyncedTable | undefined> {
    const replica = this.options.sync.replica;
    const target = this.replicaId(id);
    let location = metadataLocation ?? undefined;
    const existed = await replica.tableExists(target);
    if (location === undefined) {
      location = await this.options.source.currentMetadataLocation(id);
      if (location === undefined) return;
    } else if (!existed && !(await this.sourceHasTable(id)) && (await this.goneOnPurpose(id, sequence))) {
      return;
    }
    // Decided on the replica as it was: a rename moving it meanwhile must not make this a create.
    const result = await syncTable(this.options.sync, target, location, {
      mustExist: existed,
      onProgress: (copy) => (step.progress.copy = copy),
      shipped: step.shipped(),
      beforeCommit: step.beforeCommit,
    });
    return { sourceMetadataLocation: location, result };
  }

  /**
   * A table the replica does not have and the source no longer has: was it renamed away (its new
   * name carries it: creating it under the old name too would duplicate it), or dropped on a
   * destination that drops with the source? Otherwise the replica gets it: a kept copy of what the
   * source dropped is what replicas are for.
   */
  private async goneOnPurpose(id: Identifier, sequence: number): Promise<boolean> {
    const later = await this.options.outbox.listEvents({ entity: id, afterSequence: sequence, limit: 1000 });
    if (later.some((e) => e.kind === 'rename-table' && e.status === 'committed')) return true;
    return this.options.onSourceDrop === 'drop';
  }

  /** Whether the source still has the table; assumed so when the source cannot be read (no credentials). */
  private async sourceHasTable(id: Identifier): Promise<boolean> {
    try {
      return (await this.options.source.currentMetadataLocation(id)) !== undefined;
    } catch (error) {
      if (error instanceof SourceReadError) return true;
      throw error;
    }
  }

  /**
   * The event of a rename's new name moves the replica table from the old name (when it is there
   * and is the same table) and brings it up to date; the old name's event has nothing left to do.
   */
  private async renameTable(event: TableEvent, step: SyncStep): Promise<SyncedTable | undefined> {
    const entry = await this.options.outbox.entry(event.entryId);
    const [from, to] = entry?.entities ?? [];
    const isTarget = to !== undefined && sameEntity(to, event.entity);
    if (!isTarget || !from) return; // the old name: the new name's event moves the table
    const replica = this.options.sync.replica;
    const oldId = this.replicaId(tableId(from));
    const newId = this.replicaId(tableId(to));
    // A promoted table (failover) belongs to its own writers now: a source rename leaves it where
    // it is, and the new name gets a replica of its own.
    const promoted = (await new PromotionStore(this.options.outbox.db).covering(this.options.destination, from)) !== undefined;
    if (!promoted && (await replica.tableExists(oldId)) && !(await replica.tableExists(newId))) {
      await ensureNamespaces(replica, newId.namespace);
      await replica.renameTable(oldId, newId);
    }
    return this.syncTableEntity(tableId(to), event.metadataLocation, event.sequence, step);
  }

  private async sourceDropped(id: Identifier): Promise<undefined> {
    if (this.options.onSourceDrop !== 'drop') return;
    const replica = this.options.sync.replica;
    const target = this.replicaId(id);
    // Dropped again only if the source has not created a table of that name since.
    if ((await replica.tableExists(target)) && (await this.options.source.currentMetadataLocation(id)) === undefined) {
      await replica.dropTable(target, false);
    }
  }

  private async syncNamespace(namespace: string[]): Promise<undefined> {
    const replica = this.options.sync.replica;
    const properties = await this.options.source.namespaceProperties(namespace);
    if (properties === undefined) return;
    const target = [...(this.options.namespacePrefix ?? []), ...namespace];
    await ensureNamespaces(replica, target.slice(0, -1));
    if (!(await replica.namespaceExists(target))) {
      await replica.createNamespace(target, properties);
      return;
    }
    const current = await replica.loadNamespace(target);
    const removals = Object.keys(current).filter((k) => !(k in properties));
    await replica.updateNamespaceProperties(target, removals, properties);
  }
}

const EVERYTHING_SELECTOR = new TableSelector(EVERYTHING);

const tableId = (entity: EntityRef): Identifier => ({ namespace: entity.namespace, name: entity.name! });

function sameEntity(a: EntityRef, b: EntityRef): boolean {
  return a.name === b.name && a.namespace.length === b.namespace.length && a.namespace.every((level, i) => level === b.namespace[i]);
}
