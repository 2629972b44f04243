/**
 * The outbox's tables, as one typed schema (see migrations.ts for the DDL). Column names are
 * snake_case as in SQL; times are epoch milliseconds; 63-bit Iceberg ids are decimal TEXT, never
 * numbers. The store views the state database as `Kysely<OutboxTables>`, so the catalog's
 * `Database` interface does not have to list these tables.
 */
import type { Generated } from 'kysely';
import type { MutationKind, OutcomeStatus } from './outbox.ts';

/** One intercepted mutation. */
export interface OutboxEntryRow {
  /** Autoincrement: never reused, so ids also order entries by arrival. */
  id: Generated<number>;
  kind: MutationKind;
  status: OutcomeStatus;
  request_method: string;
  /** Raw path and query as forwarded (percent-encodings intact). */
  request_path: string;
  request_body: string | null;
  principal: string | null;
  /** The client's Idempotency-Key header, when it sent one. */
  idempotency_key: string | null;
  /** The source's status code when it answered (committed or rejected). */
  http_status: number | null;
  /** The rejection's error, or why the outcome is unknown. */
  error: string | null;
  created_at_ms: number;
  /** Set when the status becomes committed or rejected; null while intent or unknown. */
  settled_at_ms: number | null;
  /** The Icerelay process that recorded it (null before instances were recorded). */
  instance_id: string | null;
}

/** One Icerelay process using the state database, and when it last said it is alive. */
export interface InstanceRow {
  instance_id: string;
  host: string;
  pid: number;
  started_at_ms: number;
  last_seen_ms: number;
}

/** One row per entity ever mutated: the per-entity sequence counter. */
export interface OutboxEntityRow {
  entity_key: string;
  /** The sequence of the entity's newest event (sequences run 1, 2, 3... with no gap). */
  last_sequence: number;
}

/** An entry's effect on one entity. Primary key (entity_key, sequence); unique (entry_id, ordinal). */
export interface OutboxEventRow {
  entry_id: number;
  /** The entity's index in the entry's `entities` (request order). */
  ordinal: number;
  entity_key: string;
  sequence: number;
  /** Copied from the entry (never changes), so the shipper and the admin API read one table. */
  kind: MutationKind;
  /** Mirrors the entry's status; updated in the same transaction. */
  status: OutcomeStatus;
  metadata_location: string | null;
  /** JSON array of decimal strings. */
  added_snapshot_ids: string;
  created_at_ms: number;
}

export type PositionState = 'pending' | 'failed' | 'paused';

/** How far one destination has applied one entity's events, and its retry state. */
export interface OutboxPositionRow {
  destination: string;
  entity_key: string;
  /** The last sequence applied at the destination; 0 = none yet. Only moves forward. */
  position: Generated<number>;
  state: Generated<PositionState>;
  /** Consecutive failures since the last success (or resume). */
  attempts: Generated<number>;
  /** Not claimed before this time (backoff). */
  run_at_ms: Generated<number>;
  /** The claiming worker, while claimed. */
  locked_by: string | null;
  /** The claim expires at this time; a later claim or sweepStale takes it back. */
  locked_until_ms: number | null;
  last_error: string | null;
  /** When the position last advanced. */
  completed_at_ms: number | null;
  /** The source metadata file the destination was last brought to (null before, or unknown). */
  shipped_metadata_location: string | null;
  /** The current snapshot id of that state (decimal text; null when none). */
  shipped_snapshot_id: string | null;
}

/**
 * A promotion (failover): the destination, or one table of it, no longer receives the source's
 * commits and takes writes itself (promotion-migrations.ts). Primary key (destination, entity_key).
 */
export interface PromotionRow {
  destination: string;
  /** The promoted entity's key, or '' when the whole destination was promoted. */
  entity_key: string;
  promoted_at_ms: number;
  /** 1 when it was behind and promoted anyway. */
  forced: number;
  /** JSON list of what was behind when replication into it stopped (see promotion-store.ts). */
  lost: string;
}

export interface OutboxTables {
  outbox_entries: OutboxEntryRow;
  outbox_entities: OutboxEntityRow;
  outbox_events: OutboxEventRow;
  outbox_positions: OutboxPositionRow;
  icerelay_instances: InstanceRow;
  replication_promotions: PromotionRow;
}
