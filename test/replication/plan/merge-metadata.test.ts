/**
 * The state-based planner on real table metadata (Spark and PyIceberg, test/fixtures/metadata):
 * a first replication, a next commit, source-side expiry, redelivery, schema evolution,
 * retention, and a replaced source table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTableMetadata, serializeTableMetadata } from '../../../src/iceberg/table-metadata.ts';
import type { TableMetadata } from '../../../src/iceberg/types.ts';
import { idKey } from '../../../src/util/int64.ts';
import { planReplicaMetadata, TableReplacedError } from '../../../src/replication/plan/merge-metadata.ts';
import { LocationMap, UnmappedLocationError } from '../../../src/replication/rewrite/location-map.ts';

const fixture = (name: string) => parseTableMetadata(readFileSync(join(import.meta.dirname, '../../fixtures/metadata', `${name}.metadata.json`), 'utf8'));
const ids = (m: TableMetadata) => m.snapshots.map((s) => idKey(s['snapshot-id']));

/** The Spark table with refs: four snapshots, `main` and `audit` at the last one. */
const source = fixture('java-refs');
const map = new LocationMap([{ source: source.location, destination: 's3://replica-bucket/refs' }]);

/** The same table one commit earlier: the last snapshot not there yet, refs at its parent. */
function oneCommitEarlier(m: TableMetadata): TableMetadata {
  const last = m.snapshots.at(-1)!;
  const parent = last['parent-snapshot-id']!;
  return {
    ...m,
    snapshots: m.snapshots.slice(0, -1),
    'snapshot-log': m['snapshot-log'].filter((e) => idKey(e['snapshot-id']) !== idKey(last['snapshot-id'])),
    refs: Object.fromEntries(Object.entries(m.refs).map(([name, ref]) => [name, { ...ref, 'snapshot-id': parent }])),
    'current-snapshot-id': parent,
  };
}

describe('planReplicaMetadata', () => {
  it('first replication: every snapshot, locations mapped, same UUID and ids, an empty metadata-log', () => {
    const plan = planReplicaMetadata(source, undefined, map);
    expect(plan.newSnapshots.map((s) => idKey(s['snapshot-id']))).toEqual(ids(source));
    expect(plan.metadata['table-uuid']).toBe(source['table-uuid']);
    expect(plan.metadata.location).toBe('s3://replica-bucket/refs');
    expect(plan.metadata.snapshots.every((s) => s['manifest-list']!.startsWith('s3://replica-bucket/refs/'))).toBe(true);
    expect(plan.metadata['metadata-log']).toEqual([]);
    expect(plan.metadata.refs).toEqual(source.refs);
    expect(plan.metadata.snapshots.map((s) => [s['sequence-number'], s['parent-snapshot-id'], s['timestamp-ms']]))
      .toEqual(source.snapshots.map((s) => [s['sequence-number'], s['parent-snapshot-id'], s['timestamp-ms']]));
  });

  it('next commit: only the new snapshot is new; refs and current snapshot move', () => {
    const replica = planReplicaMetadata(oneCommitEarlier(source), undefined, map).metadata;
    const plan = planReplicaMetadata(source, replica, map);
    expect(plan.newSnapshots.map((s) => idKey(s['snapshot-id']))).toEqual([idKey(source.snapshots.at(-1)!['snapshot-id'])]);
    expect(ids(plan.metadata)).toEqual(ids(source));
    expect(plan.metadata['current-snapshot-id']).toEqual(source['current-snapshot-id']);
    expect(plan.metadata.refs).toEqual(source.refs);
    // The next state is what a first replication of the source gives (but for the replica's own log).
    expect(serializeTableMetadata(plan.metadata)).toBe(serializeTableMetadata(planReplicaMetadata(source, undefined, map).metadata));
  });

  it('redelivery changes nothing', () => {
    const replica = planReplicaMetadata(source, undefined, map).metadata;
    const plan = planReplicaMetadata(source, replica, map);
    expect(plan.newSnapshots).toEqual([]);
    expect(serializeTableMetadata(plan.metadata)).toBe(serializeTableMetadata(replica));
  });

  it('source expiry does not remove replica history', () => {
    const replica = planReplicaMetadata(source, undefined, map).metadata;
    const first = source.snapshots[0]!;
    const expiredAtSource: TableMetadata = {
      ...source,
      snapshots: source.snapshots.slice(1),
      'snapshot-log': source['snapshot-log'].filter((e) => idKey(e['snapshot-id']) !== idKey(first['snapshot-id'])),
    };
    const plan = planReplicaMetadata(expiredAtSource, replica, map);
    expect(ids(plan.metadata)).toEqual(ids(source));
    expect(plan.metadata['snapshot-log'].map((e) => idKey(e['snapshot-id']))).toContain(idKey(first['snapshot-id']));
    expect(plan.newSnapshots).toEqual([]);
  });

  it('keeps schemas, specs and sort orders of both sides, the source’s current ones', () => {
    const replica = planReplicaMetadata(source, undefined, map).metadata;
    const evolved: TableMetadata = {
      ...source,
      schemas: [...source.schemas, { ...source.schemas[0]!, 'schema-id': 7 }],
      'current-schema-id': 7,
    };
    const plan = planReplicaMetadata(evolved, replica, map);
    expect(plan.metadata.schemas.map((s) => s['schema-id'])).toEqual([0, 7]);
    expect(plan.metadata['current-schema-id']).toBe(7);
  });

  it('applies the destination’s retention, never to snapshots a branch or tag points to', () => {
    const plan = planReplicaMetadata(source, undefined, map, { retention: { keepLast: 2 } });
    const kept = ids(plan.metadata);
    expect(kept).toHaveLength(2);
    expect(kept).toContain(idKey(source.refs.main!['snapshot-id']));
    expect(plan.expiredSnapshots).toHaveLength(2);
    expect(plan.metadata['snapshot-log'].every((e) => kept.includes(idKey(e['snapshot-id'])))).toBe(true);
    const byAge = planReplicaMetadata(source, undefined, map, { retention: { maxAgeMs: 1 }, nowMs: Number(source['last-updated-ms']) + 10_000 });
    expect(ids(byAge.metadata)).toEqual([idKey(source.refs.main!['snapshot-id'])]);
  });

  it('works on v2 tables with tags and branches and on v3 tables', () => {
    for (const name of ['pyiceberg-v2', 'java-mor_v3']) {
      const m = fixture(name);
      const plan = planReplicaMetadata(m, undefined, new LocationMap([{ source: m.location, destination: 's3://replica/t' }]));
      expect([name, ids(plan.metadata)]).toEqual([name, ids(m)]);
      expect(plan.metadata.refs).toEqual(m.refs);
      expect(plan.metadata['next-row-id']).toEqual(m['next-row-id']);
    }
  });

  it('refuses a replaced source table and a location outside the mapping', () => {
    const replica = planReplicaMetadata(source, undefined, map).metadata;
    expect(() => planReplicaMetadata({ ...source, 'table-uuid': '00000000-0000-4000-8000-000000000000' }, replica, map)).toThrow(TableReplacedError);
    expect(() => planReplicaMetadata(source, undefined, new LocationMap([{ source: 's3://elsewhere', destination: 's3://x' }]))).toThrow(UnmappedLocationError);
  });
});
