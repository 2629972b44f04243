import { describe, expect, it } from 'vitest';
import { canonicalLocation, LocationMap, UnmappedLocationError } from '../../../src/replication/rewrite/location-map.ts';

describe('LocationMap', () => {
  const map = new LocationMap([
    { source: 's3://src/wh', destination: 's3://dst/wh' },
    { source: 's3://src/wh/special', destination: 'gs://other/special' },
    { source: 'file:/data/t/', destination: 'file:/replica/t/' },
  ]);

  it('uses the longest matching prefix', () => {
    expect(map.map('s3://src/wh/db/t/data/a.parquet')).toBe('s3://dst/wh/db/t/data/a.parquet');
    expect(map.map('s3://src/wh/special/x.parquet')).toBe('gs://other/special/x.parquet');
    expect(map.map('s3://src/wh')).toBe('s3://dst/wh');
  });

  it('matches on path boundaries only', () => {
    expect(map.tryMap('s3://src/wh2/x.parquet')).toBeUndefined();
    expect(map.tryMap('s3://src/wh/specialty/x')).toBe('s3://dst/wh/specialty/x');
  });

  it('treats s3, s3a and s3n as the same object and writes the destination scheme', () => {
    expect(map.map('s3a://src/wh/x')).toBe('s3://dst/wh/x');
    expect(map.map('s3n://src/wh/x')).toBe('s3://dst/wh/x');
    expect(map.map('S3A://src/wh/x')).toBe('s3://dst/wh/x');
    expect(new LocationMap([{ source: 's3a://src/wh', destination: 's3a://dst/wh' }]).map('s3://src/wh/x')).toBe('s3a://dst/wh/x');
  });

  it('treats file:/, file:/// and file://localhost/ as the same path, but not file://host/ or a bare path', () => {
    expect(map.map('file:/data/t/x')).toBe('file:/replica/t/x');
    expect(map.map('file:///data/t/x')).toBe('file:/replica/t/x');
    expect(map.map('file://localhost/data/t/x')).toBe('file:/replica/t/x');
    expect(map.tryMap('file://otherhost/data/t/x')).toBeUndefined();
    expect(map.tryMap('/data/t/x')).toBeUndefined();
    expect(canonicalLocation('file:///a/b')).toBe(canonicalLocation('file:/a/b'));
  });

  it('keeps key case (object keys are case-sensitive)', () => {
    expect(map.tryMap('s3://SRC/wh/x')).toBeUndefined();
  });

  it('fails naming the location and its context when nothing matches', () => {
    expect(() => map.map('s3://elsewhere/f.parquet', 'listed in manifest s3://src/wh/m.avro')).toThrowError(UnmappedLocationError);
    expect(() => map.map('s3://elsewhere/f.parquet', 'listed in manifest s3://src/wh/m.avro')).toThrowError(
      /s3:\/\/elsewhere\/f\.parquet \(listed in manifest s3:\/\/src\/wh\/m\.avro\)/,
    );
  });

  it('rejects inconsistent or duplicate prefixes', () => {
    expect(() => new LocationMap([{ source: 's3://a/wh/', destination: 's3://b/wh' }])).toThrowError(/end with/);
    expect(() => new LocationMap([{ source: 's3://a/wh', destination: 's3://b/wh' }, { source: 's3a://a/wh', destination: 's3://c' }])).toThrowError(/twice/);
    expect(() => new LocationMap([{ source: '', destination: 's3://b' }])).toThrowError(/empty/);
  });

  it('inverts', () => {
    const inverse = map.inverse();
    for (const l of ['s3://src/wh/a', 's3://src/wh/special/b', 'file:/data/t/c']) expect(inverse.map(map.map(l))).toBe(l);
  });
});
