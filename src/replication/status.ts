/**
 * Replication status per table (and namespace) and destination, from the outbox: how far each
 * destination has shipped each entity's events, what state its queue is in, and how old the
 * oldest commit not yet replicated is. What `/admin/v1/replication/status` returns.
 */
import { entityKey } from '../outbox/entity-key.ts';
import type { EntityRef } from '../outbox/outbox.ts';
import type { OutboxStore } from '../outbox/outbox-store.ts';
import { covers, PromotionStore, type Promotion } from '../outbox/promotion-store.ts';
import type { CopyProgress } from './copy/types.ts';
import type { InFlight } from './shipper.ts';

const shippingOf = (f: InFlight | undefined) => (f ? { startedAtMs: f.startedAtMs, copy: f.copy } : null);
const bytesPendingOf = (behind: number, f: InFlight | undefined) =>
  f?.copy ? f.copy.bytesTotal - f.copy.bytesDone : behind === 0 ? 0 : null;

/** `promoted`: made writable by a failover (promote.ts); the source's commits no longer ship into it. */
export type ReplicationState = 'pending' | 'completed' | 'failed' | 'paused' | 'promoted';

export interface EntityStatus {
  destination: string;
  entity: EntityRef;
  state: ReplicationState;
  /** The last event sequence the destination applied; `latestSequence` is the entity's newest. */
  position: number;
  latestSequence: number;
  /** Events recorded but not applied at the destination (rejected ones included until stepped over). */
  eventsBehind: number;
  /** Snapshots the source added in the events not yet applied (as far as the events say). */
  snapshotsBehind: number;
  /**
   * When the oldest event not yet applied was recorded; null when none is behind, and on a promoted
   * row (nothing is pending there: replication into it stopped on purpose, so it has no lag).
   */
  oldestPendingAtMs: number | null;
  /** The source state last brought over: its metadata file and current snapshot id. */
  lastReplicated: { metadataLocation: string; snapshotId: string | null } | null;
  /** Consecutive failed attempts, and the last error (kept for display until a success). */
  attempts: number;
  lastError: string | null;
  completedAtMs: number | null;
  /** While this process ships the table: since when, and how far the file copy is. */
  shipping: { startedAtMs: number; copy: CopyProgress | null } | null;
  /**
   * Bytes still to copy, once known: while the table's files are being copied. Null otherwise
   * (0 when nothing is behind): how much a queued commit will copy is known only when it is planned.
   */
  bytesPending: number | null;
  /** On a promoted row: when it was promoted (the table's own promotion, or its destination's). */
  promotion?: { promotedAtMs: number; forced: boolean; wholeDestination: boolean };
}

/** Per destination: how many tables (and namespaces) are in each state, and how many are being shipped. */
export interface DestinationSummary {
  destination: string;
  entities: number;
  completed: number;
  pending: number;
  failed: number;
  paused: number;
  promoted: number;
  shipping: number;
}

/** What each destination's shipper in this process is working on, by entity key. */
export type InFlightLookup = (destination: string) => ReadonlyMap<string, InFlight> | undefined;

export function summarize(destinations: string[], rows: EntityStatus[]): DestinationSummary[] {
  return destinations.map((destination) => {
    const mine = rows.filter((r) => r.destination === destination);
    const count = (state: ReplicationState) => mine.filter((r) => r.state === state).length;
    return {
      destination, entities: mine.length,
      completed: count('completed'), pending: count('pending'), failed: count('failed'), paused: count('paused'), promoted: count('promoted'),
      shipping: mine.filter((r) => r.shipping !== null).length,
    };
  });
}

/**
 * `ignorePromotions`: report promoted rows as if they were not (their state and lag as replication
 * left them), for measuring what a promotion leaves behind.
 */
export async function replicationStatus(outbox: OutboxStore, destinations: string[], only?: EntityRef, inFlight?: InFlightLookup, options: { ignorePromotions?: boolean } = {}): Promise<EntityStatus[]> {
  const onlyKey = only && entityKey(only);
  const entities = (await outbox.entities()).filter((e) => onlyKey === undefined || e.entityKey === onlyKey);
  const promotions: Promotion[] = options.ignorePromotions ? [] : await new PromotionStore(outbox.db).list();
  const out: EntityStatus[] = [];
  for (const destination of destinations) {
    const positions = new Map((await outbox.positions({ destination })).map((p) => [p.entityKey, p]));
    const pending = await outbox.pendingSummaries(destination);
    for (const { entity, entityKey: key, lastSequence } of entities) {
      const p = positions.get(key);
      const position = p?.position ?? 0;
      const behind = Math.max(0, lastSequence - position);
      const summary = behind > 0 ? pending.get(key) : undefined;
      // The destination's own promotion first: it covers the table whether or not the table has one.
      const mine = promotions.filter((pr) => pr.destination === destination && covers(pr, key));
      const promotion = mine.find((pr) => pr.entity === null) ?? mine[0];
      const state: ReplicationState = promotion ? 'promoted'
        : p?.state === 'failed' || p?.state === 'paused' ? p.state : behind > 0 ? 'pending' : 'completed';
      out.push({
        destination, entity, state, position, latestSequence: lastSequence, eventsBehind: behind,
        snapshotsBehind: summary?.snapshots ?? 0,
        oldestPendingAtMs: promotion ? null : summary?.oldestAtMs ?? null,
        lastReplicated: p?.shipped ?? null,
        attempts: p?.attempts ?? 0, lastError: p?.lastError ?? null, completedAtMs: p?.completedAtMs ?? null,
        shipping: shippingOf(inFlight?.(destination)?.get(key)),
        bytesPending: bytesPendingOf(behind, inFlight?.(destination)?.get(key)),
        ...(promotion ? { promotion: { promotedAtMs: promotion.promotedAtMs, forced: promotion.forced, wholeDestination: promotion.entity === null } } : {}),
      });
    }
  }
  return out;
}
