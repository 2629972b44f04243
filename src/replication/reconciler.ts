/**
 * Reconciliation: compares each source table's current metadata file with the newest committed
 * event the outbox has for it, and records an `observe-table` event where they differ. That
 * catches writes that bypassed the proxy, and is how existing tables are backfilled: a table with
 * no event at all is observed at its current state, and the shipper then brings it over with every
 * snapshot the source still has.
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
      if (current === undefined || current === known) continue;
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
