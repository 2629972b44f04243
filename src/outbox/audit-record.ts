/**
 * The audit log's record of one mutation on one table, view or namespace, as
 * `GET /admin/v1/audit` answers it: who, what, on which, with which outcome, when.
 *
 * The snapshots are those the request adds (`add-snapshot` updates), each with the Iceberg
 * operation its summary names (`append`, `overwrite`, `delete`, `replace`): added when the outcome
 * is `committed`, attempted otherwise. Snapshot ids stay decimal strings (63-bit).
 */
import { isJsonObject, parseJson, type JsonObject, type JsonValue } from '../util/json.ts';
import { scrubText } from '../util/redact.ts';
import type { AuditRow } from './audit-query.ts';
import type { EntityRef, MutationKind, OutcomeStatus } from './outbox.ts';

export interface AuditSnapshot {
  snapshotId: string;
  /** The snapshot summary's `operation`; null when the request did not say (or is not at hand). */
  operation: string | null;
}

export interface AuditRecord {
  entryId: number;
  /** When the proxy received the mutation (ISO 8601, and epoch ms). */
  time: string;
  timeMs: number;
  /** When its outcome became final; null while `intent` or `unknown`. */
  settledAtMs: number | null;
  /** Who made it, when known (see src/proxy/request-principal.ts); null for reconciliation's observations. */
  principal: string | null;
  kind: MutationKind;
  target: 'table' | 'view' | 'namespace';
  /** Null for a request whose names the outbox could not record. */
  identifier: EntityRef | null;
  /** committed, rejected, unknown (settled later by reading the catalog), or intent (not answered yet). */
  outcome: OutcomeStatus;
  httpStatus: number | null;
  /** Why the catalog rejected it, or why the outcome is unknown. */
  error: string | null;
  /** The table's metadata file after a committed mutation, when known. */
  metadataLocation: string | null;
  snapshots: AuditSnapshot[];
}

export function toAuditRecord(row: AuditRow): AuditRecord {
  const requested = requestedSnapshots(row.kind, row.requestBody, row.entity);
  const operations = new Map(requested.map((s) => [s.snapshotId, s.operation]));
  const snapshots = row.status === 'committed'
    ? row.addedSnapshotIds.map((id) => ({ snapshotId: id, operation: operations.get(id) ?? null }))
    : requested;
  return {
    entryId: row.entryId,
    time: new Date(row.createdAtMs).toISOString(),
    timeMs: row.createdAtMs,
    settledAtMs: row.settledAtMs,
    principal: row.principal,
    kind: row.kind,
    target: targetOf(row.kind),
    identifier: row.entity && (row.entity.name === undefined ? { namespace: [...row.entity.namespace] } : { namespace: [...row.entity.namespace], name: row.entity.name }),
    outcome: row.status,
    httpStatus: row.httpStatus,
    error: row.error === null ? null : scrubText(row.error),
    metadataLocation: row.metadataLocation,
    snapshots,
  };
}

function targetOf(kind: MutationKind): AuditRecord['target'] {
  if (kind.endsWith('-namespace') || kind === 'update-namespace-properties') return 'namespace';
  if (kind.endsWith('-view')) return 'view';
  return 'table';
}

/** The `add-snapshot` updates a table commit (or a transaction's change of this table) carries. */
function requestedSnapshots(kind: MutationKind, body: string | null, entity: EntityRef | null): AuditSnapshot[] {
  if (body === null || entity === null || (kind !== 'commit-table' && kind !== 'commit-transaction')) return [];
  let parsed: JsonValue;
  try {
    parsed = parseJson(body);
  } catch {
    return [];
  }
  if (!isJsonObject(parsed)) return [];
  let updates: JsonValue | undefined = parsed.updates;
  if (kind === 'commit-transaction') {
    // This table's change, found by its identifier (the request's order is not the events' order
    // when a change named no valid identifier).
    const changes = Array.isArray(parsed['table-changes']) ? parsed['table-changes'] : [];
    const change = changes.find((c): c is JsonObject => isJsonObject(c) && sameIdentifier(c.identifier, entity));
    updates = change?.updates;
  }
  if (!Array.isArray(updates)) return [];
  const out: AuditSnapshot[] = [];
  for (const update of updates) {
    if (!isJsonObject(update) || update.action !== 'add-snapshot' || !isJsonObject(update.snapshot)) continue;
    const id = update.snapshot['snapshot-id'];
    if (typeof id !== 'number' && typeof id !== 'bigint') continue;
    const summary = update.snapshot.summary;
    const operation = isJsonObject(summary) && typeof summary.operation === 'string' ? summary.operation : null;
    out.push({ snapshotId: id.toString(), operation });
  }
  return out;
}

function sameIdentifier(value: JsonValue | undefined, entity: EntityRef): boolean {
  if (!isJsonObject(value) || value.name !== entity.name || !Array.isArray(value.namespace)) return false;
  return value.namespace.length === entity.namespace.length && value.namespace.every((level, i) => level === entity.namespace[i]);
}
