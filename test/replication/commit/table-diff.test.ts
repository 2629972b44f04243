/**
 * The commit for an external replica catalog: applying its updates to the replica's current
 * metadata (with the same update semantics a catalog has) gives the planned metadata, and its
 * requirements pin the table UUID and every ref it moves or removes.
 */
import { describe, expect, it } from 'vitest';
import { TableMetadataBuilder } from '../../../src/iceberg/metadata-builder.ts';
import { newTableBuilder } from '../../../src/iceberg/new-table.ts';
import { canonical } from '../../../src/iceberg/schema.ts';
import { tableMetadataToJsonObject } from '../../../src/iceberg/table-metadata.ts';
import type { MetadataUpdate, Schema, TableMetadata } from '../../../src/iceberg/types.ts';
import { tableCommitBetween } from '../../../src/replication/commit/table-diff.ts';
import { planReplicaMetadata } from '../../../src/replication/plan/merge-metadata.ts';
import { LocationMap } from '../../../src/replication/rewrite/location-map.ts';

const schema: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', type: 'long', required: true }] };
const snap = (id: number, parent: number | null, seq: number) => ({
  action: 'add-snapshot',
  snapshot: {
    'snapshot-id': id, 'parent-snapshot-id': parent, 'sequence-number': seq, 'timestamp-ms': 1_700_000_000_000 + seq,
    'manifest-list': `s3://src/wh/t/metadata/snap-${id}.avro`, summary: { operation: 'append' }, 'schema-id': 0,
  },
});
const main = (id: number) => ({ action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': id });
const map = new LocationMap([{ source: 's3://src/wh/', destination: 's3://dst/wh/' }]);

let clock = 1_700_000_000_000;
function commit(base: TableMetadata, updates: MetadataUpdate[]): TableMetadata {
  return new TableMetadataBuilder(base, 's3://src/wh/t/metadata/x.metadata.json').applyAll(updates).build(++clock);
}

/** What a catalog compares: everything but the timestamps and logs it keeps itself. */
function essence(m: TableMetadata): string {
  const { 'last-updated-ms': _u, 'metadata-log': _m, 'snapshot-log': _s, ...rest } = tableMetadataToJsonObject(m);
  return canonical(rest);
}

describe('tableCommitBetween', () => {
  it('takes the replica to the planned state: schemas, specs, orders, snapshots, branches, tags, properties', () => {
    let source = newTableBuilder({ name: 't', schema, properties: { 'format-version': '2' } }, 's3://src/wh/t', 'f79c3e09-677c-4bbd-a479-3f349cb785e7').build(clock);
    source = commit(source, [snap(1, null, 1), main(1)]);
    const replica = planReplicaMetadata(source, undefined, map).metadata;

    source = commit(source, [
      { action: 'add-schema', schema: { type: 'struct', fields: [...schema.fields, { id: 2, name: 'name', type: 'string', required: false }] } },
      { action: 'set-current-schema', 'schema-id': -1 },
      { action: 'add-spec', spec: { fields: [{ 'source-id': 1, 'field-id': 1000, name: 'id_bucket', transform: 'bucket[4]' }] } },
      { action: 'set-default-spec', 'spec-id': -1 },
      { action: 'add-sort-order', 'sort-order': { 'order-id': 1, fields: [{ 'source-id': 1, transform: 'identity', direction: 'asc', 'null-order': 'nulls-first' }] } },
      { action: 'set-default-sort-order', 'sort-order-id': -1 },
    ]);
    source = commit(source, [snap(2, 1, 2), main(2)]);
    source = commit(source, [snap(3, 2, 3), { action: 'set-snapshot-ref', 'ref-name': 'audit', type: 'branch', 'snapshot-id': 3, 'max-snapshot-age-ms': 86_400_000 }]);
    source = commit(source, [{ action: 'set-snapshot-ref', 'ref-name': 'v1', type: 'tag', 'snapshot-id': 1 }, { action: 'set-properties', updates: { owner: 'sales' } }]);
    const planned = planReplicaMetadata(source, replica, map).metadata;

    const { requirements, updates } = tableCommitBetween(replica, planned);
    const applied = new TableMetadataBuilder(replica, 's3://dst/wh/t/metadata/r.metadata.json').applyAll(updates).build(clock);
    expect(essence(applied)).toBe(essence(planned));
    expect(requirements).toEqual([
      { type: 'assert-table-uuid', uuid: 'f79c3e09-677c-4bbd-a479-3f349cb785e7' },
      { type: 'assert-ref-snapshot-id', ref: 'audit', 'snapshot-id': null },
      { type: 'assert-ref-snapshot-id', ref: 'v1', 'snapshot-id': null },
      { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 1 },
    ]);
    // Snapshots go in sequence order, after the schemas and specs they use, and main moves last.
    const actions = updates.map((u) => u.action);
    expect(actions.indexOf('add-schema')).toBeLessThan(actions.indexOf('add-snapshot'));
    expect(updates.filter((u) => u.action === 'add-snapshot').map((u) => (u.snapshot as { 'snapshot-id': number })['snapshot-id'])).toEqual([2, 3]);
    expect(updates.filter((u) => u.action === 'set-snapshot-ref').at(-1)).toMatchObject({ 'ref-name': 'main', 'snapshot-id': 2 });
  });

  it('removes what the replica\'s retention drops and refs the source removed, asserting each', () => {
    let source = newTableBuilder({ name: 't', schema, properties: {} }, 's3://src/wh/t', 'f79c3e09-677c-4bbd-a479-3f349cb785e7').build(clock);
    for (let i = 1; i <= 4; i++) source = commit(source, [snap(i, i === 1 ? null : i - 1, i), main(i)]);
    source = commit(source, [{ action: 'set-snapshot-ref', 'ref-name': 'dev', type: 'branch', 'snapshot-id': 4 }]);
    const replica = planReplicaMetadata(source, undefined, map).metadata;
    source = commit(source, [{ action: 'remove-snapshot-ref', 'ref-name': 'dev' }, snap(5, 4, 5), main(5)]);
    const planned = planReplicaMetadata(source, replica, map, { retention: { keepLast: 2 } }).metadata;

    const { requirements, updates } = tableCommitBetween(replica, planned);
    const applied = new TableMetadataBuilder(replica, 's3://dst/wh/t/metadata/r.metadata.json').applyAll(updates).build(clock);
    expect(essence(applied)).toBe(essence(planned));
    expect(applied.snapshots.map((s) => Number(s['snapshot-id']))).toEqual([4, 5]);
    expect(requirements).toContainEqual({ type: 'assert-ref-snapshot-id', ref: 'dev', 'snapshot-id': 4 });
    expect(updates).toContainEqual({ action: 'remove-snapshots', 'snapshot-ids': [1, 2, 3] });
  });

  it('commits nothing but the assertions when the replica is already there', () => {
    let source = newTableBuilder({ name: 't', schema, properties: {} }, 's3://src/wh/t', 'f79c3e09-677c-4bbd-a479-3f349cb785e7').build(clock);
    source = commit(source, [snap(1, null, 1), main(1)]);
    const replica = planReplicaMetadata(source, undefined, map).metadata;
    expect(tableCommitBetween(replica, planReplicaMetadata(source, replica, map).metadata).updates).toEqual([]);
  });
});
