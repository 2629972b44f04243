/**
 * The commit that takes a replica kept in an external Iceberg REST catalog from its current
 * metadata to the planned one (plan/merge-metadata.ts): the spec's table updates, in the order a
 * catalog can apply them, and the requirements that make it a compare-and-swap —
 * `assert-table-uuid` (the same table) and `assert-ref-snapshot-id` for every ref the commit moves
 * or removes (no other writer moved it since we read it).
 *
 * Order: format version, then schemas, specs and sort orders (added before anything refers to
 * them), then snapshots in sequence-number order (a catalog checks each is newer than the last),
 * then refs (branches and tags first, `main` last, since it also sets the current snapshot), then
 * removed refs and snapshots, properties, location, statistics.
 *
 * External catalogs number added schemas, specs and sort orders themselves (the next free id);
 * adding them in id order keeps the source's ids as long as the source's ids have no gaps the
 * replica cannot reproduce. The caller checks the result and refuses a commit that would renumber.
 */
import type { MetadataUpdate, SnapshotRef, TableMetadata } from '../../iceberg/types.ts';
import { canonical } from '../../iceberg/schema.ts';
import { compareInt64, idKey } from '../../util/int64.ts';

export interface TableCommit {
  requirements: Record<string, unknown>[];
  updates: MetadataUpdate[];
}

const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);

export function tableCommitBetween(current: TableMetadata, planned: TableMetadata): TableCommit {
  const updates: MetadataUpdate[] = [];
  if (planned['format-version'] > current['format-version']) {
    updates.push({ action: 'upgrade-format-version', 'format-version': planned['format-version'] });
  }

  const schemaIds = new Set(current.schemas.map((s) => s['schema-id']));
  for (const schema of [...planned.schemas].sort((a, b) => a['schema-id'] - b['schema-id'])) {
    if (!schemaIds.has(schema['schema-id'])) updates.push({ action: 'add-schema', schema });
  }
  if (planned['current-schema-id'] !== current['current-schema-id']) updates.push({ action: 'set-current-schema', 'schema-id': planned['current-schema-id'] });

  const specIds = new Set(current['partition-specs'].map((s) => s['spec-id']));
  for (const spec of [...planned['partition-specs']].sort((a, b) => a['spec-id'] - b['spec-id'])) {
    if (!specIds.has(spec['spec-id'])) updates.push({ action: 'add-spec', spec });
  }
  if (planned['default-spec-id'] !== current['default-spec-id']) updates.push({ action: 'set-default-spec', 'spec-id': planned['default-spec-id'] });

  const orderIds = new Set(current['sort-orders'].map((o) => o['order-id']));
  for (const order of [...planned['sort-orders']].sort((a, b) => a['order-id'] - b['order-id'])) {
    if (!orderIds.has(order['order-id'])) updates.push({ action: 'add-sort-order', 'sort-order': order });
  }
  if (planned['default-sort-order-id'] !== current['default-sort-order-id']) {
    updates.push({ action: 'set-default-sort-order', 'sort-order-id': planned['default-sort-order-id'] });
  }

  const currentSnapshots = new Set(current.snapshots.map((s) => idKey(s['snapshot-id'])));
  const added = planned.snapshots.filter((s) => !currentSnapshots.has(idKey(s['snapshot-id'])));
  added.sort((a, b) => compareInt64(a['sequence-number'] ?? 0, b['sequence-number'] ?? 0) || compareInt64(a['timestamp-ms'], b['timestamp-ms']));
  for (const snapshot of added) updates.push({ action: 'add-snapshot', snapshot });

  const requirements: Record<string, unknown>[] = [{ type: 'assert-table-uuid', uuid: current['table-uuid'] }];
  const assertRef = (name: string) => requirements.push({
    type: 'assert-ref-snapshot-id', ref: name, 'snapshot-id': current.refs[name]?.['snapshot-id'] ?? null,
  });
  const refNames = Object.keys(planned.refs).sort((a, b) => (a === 'main' ? 1 : b === 'main' ? -1 : a.localeCompare(b)));
  for (const name of refNames) {
    const ref = planned.refs[name]!;
    if (current.refs[name] && same(current.refs[name], ref)) continue;
    assertRef(name);
    updates.push(setRef(name, ref));
  }
  for (const name of Object.keys(current.refs)) {
    if (planned.refs[name]) continue;
    assertRef(name);
    updates.push({ action: 'remove-snapshot-ref', 'ref-name': name });
  }
  // Every commit asserts main, moved or not: the replica's history is ours alone to change.
  if (!requirements.some((r) => r.ref === 'main')) assertRef('main');

  const plannedSnapshots = new Set(planned.snapshots.map((s) => idKey(s['snapshot-id'])));
  const removed = current.snapshots.filter((s) => !plannedSnapshots.has(idKey(s['snapshot-id']))).map((s) => s['snapshot-id']);
  if (removed.length > 0) updates.push({ action: 'remove-snapshots', 'snapshot-ids': removed });

  const changed = Object.fromEntries(Object.entries(planned.properties).filter(([k, v]) => current.properties[k] !== v));
  if (Object.keys(changed).length > 0) updates.push({ action: 'set-properties', updates: changed });
  const removals = Object.keys(current.properties).filter((k) => !(k in planned.properties));
  if (removals.length > 0) updates.push({ action: 'remove-properties', removals });
  if (planned.location !== current.location) updates.push({ action: 'set-location', location: planned.location });

  const byId = <T extends { 'snapshot-id': unknown }>(files: T[]) => new Map(files.map((f) => [idKey(f['snapshot-id'] as never), f]));
  const [currentStats, plannedStats] = [byId(current.statistics), byId(planned.statistics)];
  for (const [id, file] of plannedStats) {
    if (!same(currentStats.get(id), file)) updates.push({ action: 'set-statistics', 'snapshot-id': file['snapshot-id'], statistics: file });
  }
  for (const [id, file] of currentStats) if (!plannedStats.has(id)) updates.push({ action: 'remove-statistics', 'snapshot-id': file['snapshot-id'] });
  const [currentPartStats, plannedPartStats] = [byId(current['partition-statistics']), byId(planned['partition-statistics'])];
  for (const [id, file] of plannedPartStats) {
    if (!same(currentPartStats.get(id), file)) updates.push({ action: 'set-partition-statistics', 'partition-statistics': file });
  }
  for (const [id, file] of currentPartStats) if (!plannedPartStats.has(id)) updates.push({ action: 'remove-partition-statistics', 'snapshot-id': file['snapshot-id'] });

  return { requirements, updates };
}

function setRef(name: string, ref: SnapshotRef): MetadataUpdate {
  const update: MetadataUpdate = { action: 'set-snapshot-ref', 'ref-name': name, type: ref.type, 'snapshot-id': ref['snapshot-id'] };
  for (const field of ['max-ref-age-ms', 'max-snapshot-age-ms', 'min-snapshots-to-keep'] as const) {
    if (ref[field] !== undefined && ref[field] !== null) update[field] = ref[field];
  }
  return update;
}
