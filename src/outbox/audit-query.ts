/**
 * The audit log's read of the outbox: every recorded mutation (rejected and unsettled ones too:
 * an attempt is audit-relevant), one row per entity it touched, newest first. An entry whose
 * names the outbox could not key has no event and comes as one row without an entity.
 */
import { entityKey, parseEntityKey } from './entity-key.ts';
import type { EntityRef, MutationKind, OutcomeStatus } from './outbox.ts';
import type { OutboxStore } from './outbox-store.ts';

export interface AuditFilter {
  /** Only this table's (or view's) rows. */
  entity?: EntityRef;
  /** Recorded at or after this time (epoch ms). */
  sinceMs?: number;
  /** Recorded before this time (epoch ms). */
  untilMs?: number;
  limit: number;
}

export interface AuditRow {
  entryId: number;
  kind: MutationKind;
  status: OutcomeStatus;
  principal: string | null;
  /** The forwarded request body, verbatim (the snapshots a commit adds are read from it). */
  requestBody: string | null;
  httpStatus: number | null;
  error: string | null;
  createdAtMs: number;
  settledAtMs: number | null;
  /** Null for an entry without events. */
  entity: EntityRef | null;
  metadataLocation: string | null;
  /** Decimal strings; recorded for committed entries only. */
  addedSnapshotIds: string[];
}

export async function selectAuditRows(outbox: OutboxStore, filter: AuditFilter): Promise<AuditRow[]> {
  const { entity, sinceMs, untilMs, limit } = filter;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`selectAuditRows: limit must be an integer >= 1, got ${limit}`);
  let q = outbox.db.selectFrom('outbox_entries as en')
    .leftJoin('outbox_events as ev', 'ev.entry_id', 'en.id')
    .select([
      'en.id', 'en.kind', 'en.status', 'en.principal', 'en.request_body', 'en.http_status', 'en.error', 'en.created_at_ms',
      'en.settled_at_ms', 'ev.entity_key', 'ev.metadata_location', 'ev.added_snapshot_ids',
    ]);
  if (sinceMs !== undefined) q = q.where('en.created_at_ms', '>=', sinceMs);
  if (untilMs !== undefined) q = q.where('en.created_at_ms', '<', untilMs);
  // One table: its events in sequence order, newest first (the events' primary key); a table's
  // sequences grow with its entries. Otherwise entries newest first, each in request order.
  q = entity
    ? q.where('ev.entity_key', '=', entityKey(entity)).orderBy('ev.sequence', 'desc')
    : q.orderBy('en.id', 'desc').orderBy('ev.ordinal', 'asc');
  const rows = await q.limit(limit).execute();
  return rows.map((row) => ({
    entryId: Number(row.id),
    kind: row.kind,
    status: row.status,
    principal: row.principal,
    requestBody: row.request_body,
    httpStatus: row.http_status === null ? null : Number(row.http_status),
    error: row.error,
    createdAtMs: Number(row.created_at_ms),
    settledAtMs: row.settled_at_ms === null ? null : Number(row.settled_at_ms),
    entity: row.entity_key === null ? null : parseEntityKey(row.entity_key),
    metadataLocation: row.metadata_location,
    addedSnapshotIds: row.added_snapshot_ids === null ? [] : (JSON.parse(row.added_snapshot_ids) as string[]),
  }));
}
