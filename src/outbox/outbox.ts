/**
 * The outbox: a durable, append-only record of every mutation Icerelay forwards to the source
 * catalog, written before the request leaves (the intent) and completed with what happened (the
 * outcome). The shipper replicates committed entries, per table in order.
 *
 * Terms:
 * - entry: one intercepted mutation (a table commit, a multi-table transaction, a create, a drop...).
 * - table event: an entry's effect on one table (a transaction has one per table), numbered by a
 *   per-table sequence that gives the shipper its order.
 * - outcome: `committed` (the source applied it), `rejected` (the source refused it: never
 *   replicated) or `unknown` (no answer, or a 5xx: settled later by reading the source).
 * - position: per (destination, table), the last table sequence a destination has applied.
 */

export type MutationKind =
  | 'commit-table'
  | 'commit-transaction'
  | 'create-table'
  | 'register-table'
  | 'drop-table'
  | 'unregister-table'
  | 'rename-table'
  | 'create-namespace'
  | 'drop-namespace'
  | 'update-namespace-properties'
  | 'create-view'
  | 'replace-view'
  | 'drop-view'
  | 'rename-view'
  | 'register-view'
  /** Not a request: reconciliation found the source table at a state no recorded event names (a write that bypassed the proxy, or a table older than replication). */
  | 'observe-table';

export type OutcomeStatus = 'intent' | 'committed' | 'rejected' | 'unknown';

/** A table (or view, or namespace for namespace mutations) an entry affects. */
export interface EntityRef {
  namespace: string[];
  /** Absent for namespace mutations. */
  name?: string;
}

export interface NewIntent {
  kind: MutationKind;
  /** Entities affected, in request order (for a rename: source then destination). */
  entities: EntityRef[];
  /** The forwarded request, kept verbatim so an unknown outcome can be settled later. */
  request: { method: string; path: string; body: string | null };
  /** Who asked, when known (for audit). */
  principal?: string;
  /** The client's Idempotency-Key: a retry carrying it again is the same mutation. */
  idempotencyKey?: string;
}

/** What the source answered, per affected entity where it matters. */
export type Outcome =
  | {
      status: 'committed';
      httpStatus: number;
      /** New metadata-location per entity (same order as `entities`), when the response carried it or it was read back. */
      metadataLocations?: (string | null)[];
      /** Snapshot ids the mutation added, per entity, as decimal strings (63-bit ids). */
      addedSnapshotIds?: string[][];
    }
  | { status: 'rejected'; httpStatus: number; error: string }
  | { status: 'unknown'; reason: string };

export interface OutboxEntry {
  id: number;
  kind: MutationKind;
  status: OutcomeStatus;
  entities: EntityRef[];
  request: NewIntent['request'];
  principal: string | null;
  httpStatus: number | null;
  error: string | null;
  metadataLocations: (string | null)[] | null;
  addedSnapshotIds: string[][] | null;
  createdAtMs: number;
  settledAtMs: number | null;
}

/** One entity's event, with its per-entity sequence (what the admin API lists and the shipper claims). */
export interface TableEvent {
  entryId: number;
  sequence: number;
  entity: EntityRef;
  kind: MutationKind;
  status: OutcomeStatus;
  metadataLocation: string | null;
  addedSnapshotIds: string[];
  createdAtMs: number;
}
