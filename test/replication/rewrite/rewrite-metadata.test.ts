import { describe, expect, it } from 'vitest';
import { parseTableMetadata, serializeTableMetadata } from '../../../src/iceberg/table-metadata.ts';
import type { TableMetadata } from '../../../src/iceberg/types.ts';
import { LocationMap } from '../../../src/replication/rewrite/location-map.ts';
import { LOCATION_PROPERTIES, rewriteTableMetadata, snapshotMetadataFiles } from '../../../src/replication/rewrite/rewrite-metadata.ts';
import { FIXTURE_TABLES, fixtureTable } from './fixtures.ts';

const DEST = 's3://replica-bucket/wh/t';

/** The metadata with every location-bearing field blanked, for comparing everything else. */
function withoutLocations(m: TableMetadata): unknown {
  const properties = { ...m.properties };
  for (const key of LOCATION_PROPERTIES) if (key in properties) properties[key] = '';
  return {
    ...m,
    location: '',
    properties,
    snapshots: m.snapshots.map((s) => ({ ...s, 'manifest-list': '', manifests: s.manifests?.map(() => '') })),
    statistics: m.statistics.map((s) => ({ ...s, 'statistics-path': '' })),
    'partition-statistics': m['partition-statistics'].map((s) => ({ ...s, 'statistics-path': '' })),
    'metadata-log': [],
  };
}

describe.each(FIXTURE_TABLES)('rewriteTableMetadata (%s)', (name) => {
  const table = fixtureTable(name);
  const map = new LocationMap([{ source: table.location, destination: DEST }]);
  const rewritten = parseTableMetadata(serializeTableMetadata(rewriteTableMetadata(table.metadata, map)));

  it('rewrites every location-bearing field', () => {
    expect(rewritten.location).toBe(DEST);
    for (const s of rewritten.snapshots) expect(s['manifest-list']).toMatch(/^s3:\/\/replica-bucket\/wh\/t\/metadata\/snap-/);
    for (const s of [...rewritten.statistics, ...rewritten['partition-statistics']]) expect(s['statistics-path']).toMatch(/^s3:\/\/replica-bucket\/wh\/t\//);
    for (const key of LOCATION_PROPERTIES) if (key in rewritten.properties) expect(rewritten.properties[key]).toMatch(/^s3:\/\/replica-bucket\//);
    // No source path survives anywhere in the written JSON (the metadata-log is the replica's own).
    const sourceRoot = table.location.replace(/^file:(\/\/)?/, '');
    expect(serializeTableMetadata(rewritten)).not.toContain(sourceRoot);
  });

  it('keeps everything else, 64-bit ids exactly', () => {
    expect(withoutLocations(rewritten)).toStrictEqual(withoutLocations(table.metadata));
    expect(rewritten.snapshots.map((s) => String(s['snapshot-id']))).toStrictEqual(table.metadata.snapshots.map((s) => String(s['snapshot-id'])));
    // The raw text's 64-bit ids (beyond 2^53 for most random snapshot ids) are all still there.
    const text = serializeTableMetadata(rewritten);
    for (const id of table.metadataText.match(/"snapshot-id"\s*:\s*(\d{16,})/g) ?? []) expect(text).toContain(id.replace(/\s/g, ''));
  });

  it('round-trips through the inverse mapping', () => {
    const back = rewriteTableMetadata(rewriteTableMetadata(table.metadata, map), map.inverse(), { metadataLog: table.metadata['metadata-log'] });
    expect(serializeTableMetadata(back)).toBe(serializeTableMetadata(table.metadata));
  });

  it('lists the metadata-level files of snapshots', () => {
    const ids = table.metadata.snapshots.map((s) => s['snapshot-id']);
    const files = snapshotMetadataFiles(table.metadata, ids);
    expect(files.filter((f) => f.kind === 'manifest-list').map((f) => f.location)).toStrictEqual(table.metadata.snapshots.map((s) => s['manifest-list']));
    expect(files.filter((f) => f.kind === 'statistics')).toHaveLength(table.metadata.statistics.length);
    expect(files.filter((f) => f.kind === 'partition-statistics')).toHaveLength(table.metadata['partition-statistics'].length);
  });
});

describe('rewriteTableMetadata errors and coverage', () => {
  it('covers statistics, partition statistics, v1/v2/v3 and location properties in the fixtures', () => {
    const all = FIXTURE_TABLES.map(fixtureTable);
    expect(new Set(all.map((t) => t.metadata['format-version']))).toStrictEqual(new Set([1, 2, 3]));
    expect(all.some((t) => t.metadata.statistics.length > 0)).toBe(true);
    expect(all.some((t) => t.metadata['partition-statistics'].length > 0)).toBe(true);
    expect(all.some((t) => 'write.data.path' in t.metadata.properties)).toBe(true);
    expect(all.some((t) => t.metadata['next-row-id'] !== undefined && t.metadata.snapshots.some((s) => s['first-row-id'] !== undefined))).toBe(true);
  });

  it('fails naming the field when a location is unmapped', () => {
    const table = fixtureTable('pyiceberg_v2');
    const m = { ...table.metadata, properties: { ...table.metadata.properties, 'write.metadata.path': 's3://elsewhere/meta' } };
    expect(() => rewriteTableMetadata(m, new LocationMap([{ source: table.location, destination: DEST }]))).toThrowError(
      /s3:\/\/elsewhere\/meta \(table property write\.metadata\.path\)/,
    );
  });

  it('fails on an unknown snapshot id', () => {
    const table = fixtureTable('spark_v3_dv');
    expect(() => snapshotMetadataFiles(table.metadata, [123n])).toThrowError(/Snapshot 123/);
  });

  it('lists statistics files only for the snapshots asked for', () => {
    const table = fixtureTable('spark_v3_dv');
    const statsSnapshot = table.metadata.statistics[0]!['snapshot-id'];
    const other = table.metadata.snapshots.find((s) => String(s['snapshot-id']) !== String(statsSnapshot))!;
    expect(snapshotMetadataFiles(table.metadata, [other['snapshot-id']]).map((f) => f.kind)).toStrictEqual(['manifest-list']);
    expect(snapshotMetadataFiles(table.metadata, [statsSnapshot]).map((f) => f.kind).sort()).toStrictEqual(['manifest-list', 'partition-statistics', 'statistics']);
  });
});
