/**
 * Reconciliation: compares each source table's current metadata file with the newest committed
 * event the outbox has for it, and records an `observe-table` event where they differ. That
 * catches writes that bypassed the proxy, and is how existing tables are backfilled: a table with
 * no event at all is observed at its current state, and the shipper then brings it over with every
 * snapshot the source still has.
 *
 * A table the outbox knows at its current state is observed all the same when a destination that
 * selects it now has not brought it over and has nothing queued for it: the destination stepped
 * over its events while no rule selected it, and a rule added since (a run-time rule, or a
 * configuration changed across a restart) wants it replicated. This is the backfill of a new rule.
 *
 * Order matters: the outbox is read before the source. A commit through the proxy landing in
 * between then shows up as its own event first and as an observation of the same state after it
 * (a no-op for the shipper), never as an observation of an older state after a newer event.
 */
import type { Identifier } from '../catalog/identifiers.ts';
import type { TableEvent } from '../outbox/outbox.ts';
import type { OutboxStore } from '../outbox/outbox-store.ts';
import type { Logger } from '../util/logger.ts';
import type { SourceCatalog } from './source-catalog.ts';

export interface ReconcileOptions {
  outbox: OutboxStore;
  source: SourceCatalog;
  /** Whether any destination replicates the table. */
  selects(id: Identifier): boolean;
  /**
   * The destinations whose rules select the table now. With it, a destination that has not
   * brought the table over although nothing is queued for it gets an observation (see above).
   */
  destinationsSelecting?(id: Identifier): readonly string[];
  /**
   * When the rules last changed (or this process started with its configuration's): observations
   * made since then that a destination passed without bringing the table over are not repeated
   * more than once (the replica is ahead of that state; repeating would only grow the outbox).
   */
  rulesChangedAtMs?: number;
  logger: Logger;
}

export interface ReconcileResult {
  /** Source tables looked at (selected by some destination). */
  tables: number;
  /** Observations recorded (tables the outbox did not know at their current state). */
  observed: number;
  /** Tables left for the next pass (an event still being settled, or a read that failed). */
  skipped: number;
}

/** How far back to look for the newest committed state among recent events. */
const RECENT_EVENTS = 50;

export async function reconcileTables(options: ReconcileOptions): Promise<ReconcileResult> {
  const result: ReconcileResult = { tables: 0, observed: 0, skipped: 0 };
  for await (const id of options.source.listTables()) {
    if (!options.selects(id)) continue;
    result.tables++;
    try {
      const recent = await options.outbox.listEvents({ entity: id, limit: RECENT_EVENTS, newest: true });
      const known = lastKnownState(recent);
      if (known === 'unsettled') {
        result.skipped++;
        continue;
      }
      const current = await options.source.currentMetadataLocation(id);
      if (current === undefined) continue;
      if (current === known && !(await leftBehindSomewhere(options, id, current, recent))) continue;
      await options.outbox.recordObserved(id, current);
      result.observed++;
    } catch (error) {
      result.skipped++;
      options.logger.warn({ err: error, table: [...id.namespace, id.name].join('.') }, 'reconciliation could not check a table; next pass will');
    }
  }
  return result;
}

/**
 * Whether a destination that selects the table now is not at `current` although its queue has
 * nothing left for the table (its position is at the newest event, and it is not paused or failed).
 */
async function leftBehindSomewhere(options: ReconcileOptions, id: Identifier, current: string, recent: TableEvent[]): Promise<boolean> {
  const destinations = options.destinationsSelecting?.(id) ?? [];
  const newest = recent.at(-1);
  if (destinations.length === 0 || !newest) return false;
  // Observations of this very state since the rules last changed. The first can be stepped over
  // by an instance that read the rules just before the change; by the second every instance has
  // read them again, so a destination passing that one is ahead of the state (nothing to do).
  let repeated = 0;
  for (let i = recent.length - 1; i >= 0; i--) {
    const e = recent[i]!;
    if (e.kind !== 'observe-table' || e.metadataLocation !== current || e.createdAtMs < (options.rulesChangedAtMs ?? 0)) break;
    repeated++;
  }
  if (repeated >= 2) return false;
  const positions = new Map((await options.outbox.positions({ entity: id })).map((p) => [p.destination, p]));
  return destinations.some((destination) => {
    const p = positions.get(destination);
    // No position yet: its first claim starts the queue at the first event and goes through all.
    if (!p || p.position < newest.sequence || p.state !== 'pending') return false;
    return p.shipped?.metadataLocation !== current;
  });
}

/**
 * The metadata file the newest committed event names; undefined when none names one; 'unsettled'
 * when an event after it is still in flight or unknown (its outcome decides, not this pass).
 */
function lastKnownState(events: TableEvent[]): string | undefined | 'unsettled' {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if (event.status === 'intent' || event.status === 'unknown') return 'unsettled';
    if (event.status === 'committed') return event.metadataLocation ?? undefined;
  }
  return undefined;
}
