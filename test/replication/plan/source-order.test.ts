/**
 * Telling an older source state delivered again from a newer one, on real Spark metadata
 * (test/fixtures/metadata/java-refs): by sequence numbers, by the metadata log of the state last
 * shipped, and not fooled by a table restored from an older metadata file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTableMetadata } from '../../../src/iceberg/table-metadata.ts';
import type { TableMetadata } from '../../../src/iceberg/types.ts';
import { planReplicaMetadata } from '../../../src/replication/plan/merge-metadata.ts';
import { isOlderSourceState } from '../../../src/replication/plan/source-order.ts';
import { LocationMap } from '../../../src/replication/rewrite/location-map.ts';

const source = parseTableMetadata(readFileSync(join(import.meta.dirname, '../../fixtures/metadata/java-refs.metadata.json'), 'utf8'));
const map = new LocationMap([{ source: source.location, destination: 's3://replica-bucket/refs' }]);

/** The same table `n` commits earlier: its last n snapshots not there yet. */
function earlier(m: TableMetadata, n: number): TableMetadata {
  const snapshots = m.snapshots.slice(0, m.snapshots.length - n);
  const last = snapshots.at(-1)!;
  return {
    ...m,
    snapshots,
    'last-sequence-number': last['sequence-number']!,
    refs: Object.fromEntries(Object.entries(m.refs).map(([name, ref]) => [name, { ...ref, 'snapshot-id': last['snapshot-id'] }])),
    'current-snapshot-id': last['snapshot-id'],
  };
}

const at = (location: string, metadata: TableMetadata) => ({ location, metadata });
const shippedAt = (location: string, metadata: TableMetadata) => ({ location, metadata: async () => metadata });

describe('isOlderSourceState', () => {
  const replica = planReplicaMetadata(source, undefined, map).metadata;

  it('a state with a lower last-sequence-number whose snapshots the replica has is older', async () => {
    expect(source.snapshots.length).toBeGreaterThan(2);
    expect(await isOlderSourceState(at('s3://src/m1.json', earlier(source, 1)), replica)).toBe(true);
    expect(await isOlderSourceState(at('s3://src/m0.json', { ...earlier(source, source.snapshots.length - 1) }), replica)).toBe(true);
  });

  it('the same or a newer state is not older', async () => {
    expect(await isOlderSourceState(at('s3://src/m.json', source), replica)).toBe(false);
    const older = planReplicaMetadata(earlier(source, 1), undefined, map).metadata;
    expect(await isOlderSourceState(at('s3://src/m.json', source), older)).toBe(false);
  });

  it('an empty table (the create event) is older than a replica with snapshots', async () => {
    const created = { ...source, snapshots: [], 'snapshot-log': [], refs: {}, 'current-snapshot-id': -1, 'last-sequence-number': 0 };
    expect(await isOlderSourceState(at('s3://src/m0.json', created), replica)).toBe(true);
  });

  it('a restored line of snapshots (lower sequence numbers, a snapshot the replica never saw) is followed', async () => {
    const base = earlier(source, 2);
    const sequence = BigInt(base['last-sequence-number']) + 1n;
    const restored = { ...base.snapshots.at(-1)!, 'snapshot-id': 424242424242n, 'sequence-number': sequence };
    const next = { ...base, snapshots: [...base.snapshots, restored], 'last-sequence-number': sequence };
    expect(sequence < BigInt(replica['last-sequence-number'])).toBe(true);
    expect(await isOlderSourceState(at('s3://src/restored.json', next), replica)).toBe(false);
  });

  it('a metadata-only commit (same sequence number) is older when the state last shipped lists it in its metadata log', async () => {
    const newer = { ...source, 'metadata-log': [...source['metadata-log'], { 'metadata-file': 's3://src/props-1.json', 'timestamp-ms': 1 }] };
    const olderPropsState = { ...source, properties: { ...source.properties, owner: 'x' } };
    expect(await isOlderSourceState(at('s3://src/props-1.json', olderPropsState), replica, shippedAt('s3://src/props-2.json', newer))).toBe(true);
    // Not listed there: a newer metadata-only commit, applied.
    expect(await isOlderSourceState(at('s3://src/props-3.json', olderPropsState), replica, shippedAt('s3://src/props-2.json', newer))).toBe(false);
    // The very state last shipped: not older (the planner finds nothing to do).
    expect(await isOlderSourceState(at('s3://src/props-2.json', newer), replica, shippedAt('s3://src/props-2.json', newer))).toBe(false);
  });

  it('reads the state last shipped only when the sequence numbers cannot tell', async () => {
    let reads = 0;
    const shipped = { location: 's3://src/last.json', metadata: async () => { reads++; return source; } };
    await isOlderSourceState(at('s3://src/m1.json', earlier(source, 1)), replica, shipped);
    const older = planReplicaMetadata(earlier(source, 1), undefined, map).metadata;
    await isOlderSourceState(at('s3://src/m.json', source), older, shipped);
    expect(reads).toBe(0);
    await isOlderSourceState(at('s3://src/m.json', source), replica, shipped);
    expect(reads).toBe(1);
  });
});
