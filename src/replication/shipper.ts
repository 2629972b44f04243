/**
 * The shipper: a loop around `syncOnce`, which claims due (destination, table) queues from the
 * outbox, ships each queue's events in order, and advances the position only after the replica
 * commit (or records the failure, with backoff, so the other tables go on).
 *
 * Shipping is state-based: a table event brings the replica to the source metadata the event
 * names (or, when the event carries none — a multi-table transaction — to the source's current
 * state). Namespace events create the namespace and copy its properties. Drops keep the replica
 * (a replica outlives its source by design). Views are not replicated yet: their queues fail
 * with that reason instead of being skipped silently.
 */
import type { BuiltinCatalog } from '../catalog/builtin-catalog.ts';
import type { EntityRef, TableEvent } from '../outbox/outbox.ts';
import type { ClaimedWork, OutboxStore } from '../outbox/outbox-store.ts';
import type { Logger } from '../util/logger.ts';
import { mapWithConcurrency } from './copy/concurrency.ts';
import { syncTable, type TableSyncContext } from './sync-table.ts';

export interface ShipperOptions {
  outbox: OutboxStore;
  /** The destination's name (its outbox queues are claimed under it). */
  destination: string;
  /** The source catalog, for the current state when an event names no metadata file. */
  source: BuiltinCatalog;
  sync: TableSyncContext;
  logger: Logger;
  /** Distinct per process. */
  workerId: string;
  /** Tables shipped at once. */
  concurrency?: number;
  /** How long a claim holds before another worker may take the queue. */
  lockMs?: number;
  /** Poll interval when not woken by a commit. */
  idleMs?: number;
}

export class Shipper {
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
    const claims = await outbox.claim({ destinations: [destination], workerId, limit: concurrency, lockMs: this.options.lockMs ?? 120_000, nowMs });
    await mapWithConcurrency(claims, concurrency, (claim) => this.ship(claim));
    return claims.length;
  }

  private async ship(claim: ClaimedWork): Promise<void> {
    const { outbox, destination, logger } = this.options;
    try {
      for (const event of claim.events) await this.apply(event);
      await outbox.complete(destination, claim.entity, claim.throughSequence);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const result = await outbox.fail(destination, claim.entity, message, Date.now(), this.options.workerId);
      logger.warn({ err: error, destination, entity: claim.entityKey, state: result?.state, attempts: result?.attempts }, 'replication of a table failed; it will be retried');
    }
  }

  private async apply(event: TableEvent): Promise<void> {
    const { entity } = event;
    switch (event.kind) {
      case 'create-table':
      case 'register-table':
      case 'commit-table':
      case 'commit-transaction':
      case 'rename-table':
        return this.syncTableEntity(entity, event.metadataLocation);
      case 'create-namespace':
      case 'update-namespace-properties':
        return this.syncNamespace(entity);
      case 'drop-table':
      case 'unregister-table':
      case 'drop-namespace':
        return; // the replica keeps what the source dropped
      default:
        throw new Error(`${event.kind} events are not replicated yet (views): ${entity.namespace.join('.')}.${entity.name ?? ''}`);
    }
  }

  private async syncTableEntity(entity: EntityRef, metadataLocation: string | null): Promise<void> {
    const id = { namespace: entity.namespace, name: entity.name! };
    let location = metadataLocation;
    if (location === null) {
      // Renamed away or dropped since: nothing of this name to bring over.
      if (!(await this.options.source.tableExists(id))) return;
      location = await this.options.source.tableMetadataLocation(id);
    }
    await syncTable(this.options.sync, id, location);
  }

  private async syncNamespace(entity: EntityRef): Promise<void> {
    const { source } = this.options;
    const replica = this.options.sync.replica;
    if (!(await source.namespaceExists(entity.namespace))) return;
    const properties = await source.loadNamespace(entity.namespace);
    for (let depth = 1; depth < entity.namespace.length; depth++) {
      const parent = entity.namespace.slice(0, depth);
      if (!(await replica.namespaceExists(parent))) await replica.createNamespace(parent, {});
    }
    if (!(await replica.namespaceExists(entity.namespace))) {
      await replica.createNamespace(entity.namespace, properties);
      return;
    }
    const current = await replica.loadNamespace(entity.namespace);
    const removals = Object.keys(current).filter((k) => !(k in properties));
    await replica.updateNamespaceProperties(entity.namespace, removals, properties);
  }
}
