/**
 * The versioned JSON form of a table event, as the admin API returns it
 * (`GET /admin/v1/outbox?table=ns.t&limit=N`). Its contract is spec/outbox-event.schema.json.
 * Snapshot ids stay decimal strings: they are 63-bit and JSON readers would round them.
 */
import type { MutationKind, OutcomeStatus, TableEvent } from './outbox.ts';

export const OUTBOX_EVENT_VERSION = 1;

export interface OutboxEventPayload extends TableEvent {
  version: typeof OUTBOX_EVENT_VERSION;
}

export function toEventPayload(event: TableEvent): OutboxEventPayload {
  return {
    version: OUTBOX_EVENT_VERSION,
    entryId: event.entryId,
    sequence: event.sequence,
    // A fresh object: `name` absent (not undefined) for namespaces, no stray fields.
    entity: event.entity.name === undefined
      ? { namespace: [...event.entity.namespace] }
      : { namespace: [...event.entity.namespace], name: event.entity.name },
    kind: event.kind,
    status: event.status,
    metadataLocation: event.metadataLocation,
    addedSnapshotIds: event.addedSnapshotIds,
    createdAtMs: event.createdAtMs,
  };
}

/** Every mutation kind, at run time (the schema's enum is checked against this list). */
export const mutationKinds = [
  'commit-table',
  'commit-transaction',
  'create-table',
  'register-table',
  'drop-table',
  'unregister-table',
  'rename-table',
  'create-namespace',
  'drop-namespace',
  'update-namespace-properties',
  'create-view',
  'replace-view',
  'drop-view',
  'rename-view',
  'register-view',
  'observe-table',
] as const satisfies readonly MutationKind[];

export const outcomeStatuses = ['intent', 'committed', 'rejected', 'unknown'] as const satisfies readonly OutcomeStatus[];

// Compile-time completeness: adding a kind or status to outbox.ts without listing it here fails tsc.
type Missing<All, Listed> = Exclude<All, Listed> extends never ? true : Exclude<All, Listed>;
const _allKindsListed: Missing<MutationKind, (typeof mutationKinds)[number]> = true;
const _allStatusesListed: Missing<OutcomeStatus, (typeof outcomeStatuses)[number]> = true;
void _allKindsListed;
void _allStatusesListed;
