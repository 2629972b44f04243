/**
 * Table update semantics, checked against what Iceberg Java's TableMetadata.Builder does for the
 * same updates.
 */
import { describe, expect, it } from 'vitest';
import { IcebergError } from '../../src/errors/iceberg-error.ts';
import { TableMetadataBuilder } from '../../src/iceberg/metadata-builder.ts';
import { newTableBuilder } from '../../src/iceberg/new-table.ts';
import { assignFreshIds } from '../../src/iceberg/schema.ts';
import { parseTableMetadata, serializeTableMetadata } from '../../src/iceberg/table-metadata.ts';
import type { MetadataUpdate, Schema, TableMetadata } from '../../src/iceberg/types.ts';

const schema: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', type: 'long', required: true },
    { id: 2, name: 'ts', type: 'timestamp', required: false },
  ],
};

function newTable(formatVersion = 2): TableMetadata {
  return newTableBuilder({ name: 't', schema, properties: { 'format-version': String(formatVersion) } }, 'file:///wh/t', 'f79c3e09-677c-4bbd-a479-3f349cb785e7').build(1000);
}

function apply(base: TableMetadata, updates: MetadataUpdate[]): TableMetadata {
  return new TableMetadataBuilder(base, 'file:///wh/t/metadata/00000-x.metadata.json').applyAll(updates).build(2000);
}

function failure(run: () => unknown): IcebergError {
  try {
    run();
  } catch (error) {
    if (error instanceof IcebergError) return error;
    throw error;
  }
  throw new Error('expected an IcebergError');
}

const snap = (id: number | bigint, parent: number | bigint | null, seq: number, extra: Record<string, unknown> = {}) => ({
  'snapshot-id': id, 'parent-snapshot-id': parent, 'sequence-number': seq, 'timestamp-ms': 1500 + seq,
  'manifest-list': `s3://b/m-${String(id)}.avro`, summary: { operation: 'append' }, 'schema-id': 0, ...extra,
});
const addAndSetMain = (s: ReturnType<typeof snap>): MetadataUpdate[] => [
  { action: 'add-snapshot', snapshot: s },
  { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': s['snapshot-id'] },
];

describe('new table metadata', () => {
  it('assigns fresh ids level by level, as Java does', () => {
    const nested: Schema = {
      type: 'struct', 'schema-id': 7, 'identifier-field-ids': [10],
      fields: [
        { id: 10, name: 'a', type: { type: 'struct', fields: [{ id: 11, name: 'x', type: 'int', required: false }, { id: 12, name: 'y', type: 'int', required: false }] }, required: true },
        { id: 20, name: 'b', type: { type: 'list', 'element-id': 21, element: 'int', 'element-required': false }, required: false },
        { id: 30, name: 'c', type: { type: 'map', 'key-id': 31, key: 'string', 'value-id': 32, value: 'long', 'value-required': true }, required: false },
      ],
    };
    let next = 0;
    const fresh = assignFreshIds(nested, 0, () => ++next);
    const a = fresh.fields[0]!.type as { fields: { id: number }[] };
    const b = fresh.fields[1]!.type as { 'element-id': number };
    const c = fresh.fields[2]!.type as { 'key-id': number; 'value-id': number };
    expect(fresh.fields.map((f) => f.id)).toEqual([1, 2, 3]);
    expect(a.fields.map((f) => f.id)).toEqual([4, 5]);
    expect([b['element-id'], c['key-id'], c['value-id']]).toEqual([6, 7, 8]);
    expect(fresh['identifier-field-ids']).toEqual([1]);
  });

  it('remaps partition and sort sources, starts partition ids at 1000 and drops reserved properties', () => {
    const m = newTableBuilder({
      name: 't',
      schema: { ...schema, fields: schema.fields.map((f) => ({ ...f, id: f.id + 40 })) },
      'partition-spec': { fields: [{ 'source-id': 42, name: 'ts_day', transform: 'day' }] },
      'write-order': { fields: [{ 'source-id': 41, transform: 'identity', direction: 'asc', 'null-order': 'nulls-first' }] },
      properties: { 'format-version': '3', owner: 'me', 'current-snapshot-id': '5' },
    }, 'file:///wh/t/', 'u').build(1);
    expect(m['format-version']).toBe(3);
    expect(m.location).toBe('file:///wh/t');
    expect(m['partition-specs']).toEqual([{ 'spec-id': 0, fields: [{ 'source-id': 2, 'field-id': 1000, name: 'ts_day', transform: 'day' }] }]);
    expect(m['last-partition-id']).toBe(1000);
    expect(m['sort-orders']).toEqual([{ 'order-id': 1, fields: [{ 'source-id': 1, transform: 'identity', direction: 'asc', 'null-order': 'nulls-first' }] }]);
    expect(m['default-sort-order-id']).toBe(1);
    expect(m.properties).toEqual({ 'write.parquet.compression-codec': 'zstd', owner: 'me' });
    expect(m['next-row-id']).toBe(0);
    expect(m['current-snapshot-id']).toBeNull();
  });
});

describe('table updates', () => {
  it('reuses an identical schema and resolves -1 to the schema added in this commit', () => {
    const base = newTable();
    const evolved: Schema = { ...schema, fields: [...schema.fields, { id: 3, name: 'extra', type: 'string', required: false }] };
    const m = apply(base, [{ action: 'add-schema', schema: evolved }, { action: 'set-current-schema', 'schema-id': -1 }]);
    expect(m.schemas.map((s) => s['schema-id'])).toEqual([0, 1]);
    expect([m['current-schema-id'], m['last-column-id']]).toEqual([1, 3]);
    const back = apply(m, [{ action: 'add-schema', schema }, { action: 'set-current-schema', 'schema-id': 0 }]);
    expect(back.schemas).toHaveLength(2);
    expect(back['current-schema-id']).toBe(0);
    expect(failure(() => apply(base, [{ action: 'set-current-schema', 'schema-id': -1 }])).status).toBe(400);
  });

  it('assigns partition field ids after last-partition-id and reuses a compatible spec', () => {
    const base = newTable();
    const m = apply(base, [
      { action: 'add-spec', spec: { fields: [{ 'source-id': 1, name: 'id_bucket', transform: 'bucket[16]' }] } },
      { action: 'set-default-spec', 'spec-id': -1 },
    ]);
    expect(m['partition-specs'][1]).toEqual({ 'spec-id': 1, fields: [{ 'source-id': 1, 'field-id': 1000, name: 'id_bucket', transform: 'bucket[16]' }] });
    expect([m['default-spec-id'], m['last-partition-id']]).toEqual([1, 1000]);
    const again = new TableMetadataBuilder(m, 'x').apply({ action: 'add-spec', spec: { fields: [{ 'source-id': 1, 'field-id': 1000, name: 'id_bucket', transform: 'bucket[16]' }] } });
    expect(again.hasChanges).toBe(false);
    expect(failure(() => apply(base, [{ action: 'add-spec', spec: { fields: [{ 'source-id': 99, name: 'p', transform: 'identity' }] } }])).message)
      .toBe('Cannot find source column for partition field: 99');
  });

  it('moves main and the snapshot log together and checks sequence numbers', () => {
    let m = apply(newTable(), addAndSetMain(snap(1, null, 1)));
    m = apply(m, addAndSetMain(snap(2, 1, 2)));
    expect(m['current-snapshot-id']).toBe(2);
    expect(m['last-sequence-number']).toBe(2);
    expect(m['last-updated-ms']).toBe(1502);
    expect(m['snapshot-log']).toEqual([{ 'timestamp-ms': 1501, 'snapshot-id': 1 }, { 'timestamp-ms': 1502, 'snapshot-id': 2 }]);
    const stale = failure(() => apply(m, addAndSetMain(snap(3, 2, 2))));
    expect([stale.status, stale.type]).toEqual([409, 'CommitFailedException']);
    expect(failure(() => apply(m, [{ action: 'set-snapshot-ref', 'ref-name': 'main', type: 'tag', 'snapshot-id': 1 }])).status).toBe(400);
    expect(failure(() => apply(m, [{ action: 'set-snapshot-ref', 'ref-name': 'b', type: 'branch', 'snapshot-id': 77 }])).message)
      .toBe('Cannot set b to unknown snapshot: 77');
  });

  it('writes a null parent-snapshot-id as absent (the spec types it as a non-null long)', () => {
    const m = apply(newTable(), addAndSetMain(snap(1, null, 1)));
    expect(m.snapshots[0]).not.toHaveProperty('parent-snapshot-id');
    expect(apply(m, addAndSetMain(snap(2, 1, 2))).snapshots[1]?.['parent-snapshot-id']).toBe(1);
  });

  it('leaves intermediate snapshots of one commit out of the snapshot log', () => {
    const m = apply(newTable(), [...addAndSetMain(snap(1, null, 1)), ...addAndSetMain(snap(2, 1, 2))]);
    expect(m['snapshot-log'].map((e) => e['snapshot-id'])).toEqual([2]);
    expect(m.snapshots).toHaveLength(2);
  });

  it('removing snapshots drops their refs, statistics and the log history before them', () => {
    let m = apply(newTable(), addAndSetMain(snap(1, null, 1)));
    m = apply(m, addAndSetMain(snap(2, 1, 2)));
    m = apply(m, [
      ...addAndSetMain(snap(3, 2, 3)),
      { action: 'set-snapshot-ref', 'ref-name': 'old', type: 'tag', 'snapshot-id': 2 },
      { action: 'set-statistics', statistics: { 'snapshot-id': 2, 'statistics-path': 's3://b/s.puffin', 'file-size-in-bytes': 1, 'file-footer-size-in-bytes': 1, 'blob-metadata': [] } },
    ]);
    const after = apply(m, [{ action: 'remove-snapshots', 'snapshot-ids': [2] }]);
    expect(after.snapshots.map((s) => s['snapshot-id'])).toEqual([1, 3]);
    expect(Object.keys(after.refs)).toEqual(['main']);
    expect(after.statistics).toEqual([]);
    expect(after['snapshot-log'].map((e) => e['snapshot-id'])).toEqual([3]);
  });

  it('tracks v3 row lineage', () => {
    const v3 = newTable(3);
    const m = apply(v3, addAndSetMain(snap(1, null, 1, { 'first-row-id': 0, 'added-rows': 10 })));
    expect(m['next-row-id']).toBe(10);
    const behind = failure(() => apply(m, addAndSetMain(snap(2, 1, 2, { 'first-row-id': 5, 'added-rows': 1 }))));
    expect(behind.status).toBe(409);
    expect(failure(() => apply(m, addAndSetMain(snap(2, 1, 2)))).message).toBe('Cannot add a snapshot: first-row-id is null');
  });

  it('upgrades but never downgrades the format version', () => {
    const m = apply(newTable(2), [{ action: 'upgrade-format-version', 'format-version': 3 }]);
    expect([m['format-version'], m['next-row-id']]).toEqual([3, 0]);
    expect(failure(() => apply(m, [{ action: 'upgrade-format-version', 'format-version': 2 }])).message).toBe('Cannot downgrade v3 table to v2');
    expect(failure(() => apply(m, [{ action: 'upgrade-format-version', 'format-version': 4 }])).status).toBe(400);
  });

  it('keeps the metadata log to write.metadata.previous-versions-max', () => {
    let m = apply(newTable(), [{ action: 'set-properties', updates: { 'write.metadata.previous-versions-max': '2' } }]);
    for (let i = 0; i < 4; i++) {
      m = new TableMetadataBuilder(m, `file:///wh/t/metadata/0000${i + 1}-x.metadata.json`).apply({ action: 'set-properties', updates: { i: String(i) } }).build(3000 + i);
    }
    expect(m['metadata-log'].map((e) => e['metadata-file'])).toEqual(['file:///wh/t/metadata/00003-x.metadata.json', 'file:///wh/t/metadata/00004-x.metadata.json']);
  });
});

describe('metadata JSON', () => {
  it('round-trips 63-bit ids and unknown fields exactly', () => {
    const text = serializeTableMetadata(apply(newTable(), addAndSetMain(snap(9223372036854775807n, null, 1))));
    expect(text).toContain('"snapshot-id":9223372036854775807');
    const reparsed = parseTableMetadata(text);
    expect(reparsed['current-snapshot-id']).toBe(9223372036854775807n);
    expect(serializeTableMetadata(reparsed)).toBe(text);
    // A field this version does not know, with a number whose text must not change.
    const withUnknown = text.replace('"schema-id":0}]', '"schema-id":0,"future-field":{"a":1.50}}]');
    expect(withUnknown).not.toBe(text);
    expect(serializeTableMetadata(parseTableMetadata(withUnknown))).toBe(withUnknown);
  });
});
