/**
 * Whether a source state is older than what the replica already shows, so that bringing the
 * replica "to" it would take the replica back in time (refs and current snapshot of an older
 * commit). That happens when an event is delivered again after newer ones were applied: a worker
 * died between the replica commit and the position update, a claim expired while its worker was
 * stalled, an operator replayed the outbox, or a multi-table transaction's event brought the
 * replica to the source's current state ahead of the events after it. Such an event has nothing
 * left to do.
 *
 * Two signs, each sound on its own:
 * - sequence numbers: the source's `last-sequence-number` only grows, so a state with a lower one
 *   than the replica's is older — provided the replica holds that state's newest snapshot (a table
 *   restored from an older metadata file by register-table starts a new line of snapshots, which
 *   must be followed even though its sequence numbers are lower);
 * - the metadata log: a state whose file is in the metadata-log of the source state the
 *   destination was last brought to is older than that one (this covers metadata-only commits,
 *   which add no sequence number).
 */
import type { TableMetadata } from '../../iceberg/types.ts';
import { compareInt64, idKey } from '../../util/int64.ts';

export interface ShippedSource {
  /** The source metadata file the destination was last brought to. */
  location: string;
  /** Reads it (only when the sequence numbers cannot tell). */
  metadata(): Promise<TableMetadata>;
}

export async function isOlderSourceState(
  source: { location: string; metadata: TableMetadata },
  replica: TableMetadata,
  shipped?: ShippedSource,
): Promise<boolean> {
  const order = compareInt64(source.metadata['last-sequence-number'] ?? 0, replica['last-sequence-number'] ?? 0);
  if (order < 0) {
    const newest = newestSnapshotId(source.metadata);
    if (newest === undefined || replica.snapshots.some((s) => idKey(s['snapshot-id']) === newest)) return true;
  }
  if (order > 0 || !shipped || shipped.location === source.location) return false;
  return (await shipped.metadata())['metadata-log'].some((e) => e['metadata-file'] === source.location);
}

function newestSnapshotId(metadata: TableMetadata): string | undefined {
  let newest: TableMetadata['snapshots'][number] | undefined;
  for (const s of metadata.snapshots) {
    if (!newest || compareInt64(s['sequence-number'] ?? 0, newest['sequence-number'] ?? 0) > 0) newest = s;
  }
  return newest && idKey(newest['snapshot-id']);
}
