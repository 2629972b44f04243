/**
 * A manifest list whose every field is a nullable union (`["null", {"type": "string"}]`), as DuckDB
 * writes them: the byte-level rewrite maps `manifest_path` and replaces `manifest_length` inside
 * the union (the branch index stays), and leaves every other byte as it was. The schema is
 * DuckDB's own, as found in the header of a manifest list DuckDB 1.4 wrote.
 */
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { typeWithBigintLongs } from '../../../src/iceberg/avro-file.ts';
import { readAvroContainer } from '../../../src/replication/rewrite/avro-container.ts';
import { LocationMap } from '../../../src/replication/rewrite/location-map.ts';
import { rewriteManifestList } from '../../../src/replication/rewrite/rewrite-avro.ts';
import { container } from '../../helpers/iceberg-avro-files.ts';

const nullable = (name: string, type: string, id: number) => ({ name, type: ['null', { type }], 'field-id': id });

const DUCKDB_MANIFEST_LIST = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    nullable('manifest_path', 'string', 500), nullable('manifest_length', 'long', 501), nullable('partition_spec_id', 'int', 502),
    nullable('content', 'int', 517), nullable('sequence_number', 'long', 515), nullable('min_sequence_number', 'long', 516),
    nullable('added_snapshot_id', 'long', 503), nullable('added_files_count', 'int', 504), nullable('existing_files_count', 'int', 505),
    nullable('deleted_files_count', 'int', 506), nullable('added_rows_count', 'long', 512), nullable('existing_rows_count', 'long', 513),
    nullable('deleted_rows_count', 'long', 514),
    {
      name: 'partitions',
      type: ['null', {
        type: 'array', 'element-id': 508,
        items: ['null', {
          type: 'record', name: 'element0',
          fields: [nullable('contains_null', 'boolean', 509), nullable('contains_nan', 'boolean', 518), nullable('lower_bound', 'bytes', 510), nullable('upper_bound', 'bytes', 511)],
        }],
      }],
      'field-id': 507,
    },
  ],
} as unknown as avro.Schema;

/** A container of `records` whose header carries the schema text exactly as DuckDB writes it. */
const duckdbManifestList = (records: Record<string, unknown>[]) => container(typeWithBigintLongs(DUCKDB_MANIFEST_LIST), DUCKDB_MANIFEST_LIST, {}, records);

const SOURCE = 'file:///warehouse/analytics/events';
const DEST = 'file:///replicas/local/analytics/events';

const entry = (n: number) => ({
  manifest_path: `${SOURCE}/metadata/m${n}.avro`, manifest_length: BigInt(1000 + n), partition_spec_id: 0, content: 0,
  sequence_number: BigInt(n), min_sequence_number: BigInt(n), added_snapshot_id: 2n ** 60n + BigInt(n),
  added_files_count: 1, existing_files_count: 0, deleted_files_count: 0,
  added_rows_count: 3n, existing_rows_count: 0n, deleted_rows_count: 0n, partitions: [],
});

describe('a manifest list of nullable fields (DuckDB)', () => {
  it('maps manifest_path and sets manifest_length inside their unions, keeping the rest', async () => {
    const source = duckdbManifestList([entry(1), entry(2)]);
    const lengths = new Map([[`${SOURCE}/metadata/m1.avro`, 111], [`${SOURCE}/metadata/m2.avro`, 222_222]]);
    const rewritten = rewriteManifestList(source, `${SOURCE}/metadata/snap-1.avro`, new LocationMap([{ source: `${SOURCE}/`, destination: `${DEST}/` }]), lengths);

    expect(rewritten.manifests).toEqual([
      { sourceLocation: `${SOURCE}/metadata/m1.avro`, destinationLocation: `${DEST}/metadata/m1.avro`, length: 111n },
      { sourceLocation: `${SOURCE}/metadata/m2.avro`, destinationLocation: `${DEST}/metadata/m2.avro`, length: 222_222n },
    ]);
    const read = readAvroContainer(rewritten.bytes, 'rewritten');
    expect(read.metadata.get('avro.schema')?.toString('utf8')).toBe(JSON.stringify(DUCKDB_MANIFEST_LIST));
    expect(read.blocks.flat().map((r) => ({ ...r }))).toEqual([
      { ...entry(1), manifest_path: `${DEST}/metadata/m1.avro`, manifest_length: 111n },
      { ...entry(2), manifest_path: `${DEST}/metadata/m2.avro`, manifest_length: 222_222n },
    ]);
  });

  it('refuses a record whose manifest_path is null, naming the field', async () => {
    const source = duckdbManifestList([{ ...entry(1), manifest_path: null }]);
    expect(() => rewriteManifestList(source, `${SOURCE}/metadata/snap-1.avro`, new LocationMap([{ source: `${SOURCE}/`, destination: `${DEST}/` }]), new Map()))
      .toThrow(`Cannot rewrite ${SOURCE}/metadata/snap-1.avro: a record's manifest_path is null`);
  });
});
