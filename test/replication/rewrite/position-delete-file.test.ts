/**
 * Position-delete file rewrite on real files: the Spark-written delete files of the spark_v2_mor
 * fixture (zstd, parquet-mr, one or two data files each) and pyarrow-written ones with the `row`
 * column (zstd/snappy/gzip/uncompressed, data page v1 and v2, dictionary and plain, several row
 * groups, page indexes). Decoded with hyparquet and, independently, with pyarrow.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parquetMetadata, parquetReadObjects, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { describe, expect, it } from 'vitest';
import { LocationMap, UnmappedLocationError } from '../../../src/replication/rewrite/location-map.ts';
import { POSITION_DELETE_FIELD_IDS, PositionDeleteFileError, rewritePositionDeleteFile } from '../../../src/replication/rewrite/position-delete-file.ts';
import { rewriteManifest } from '../../../src/replication/rewrite/rewrite-avro.ts';
import { asList, asStruct, getField, i32, readStruct, setField, writeStruct } from '../../../src/replication/rewrite/thrift-compact.ts';
import { fixtureTable, isManifestList, POSITION_DELETE_FIXTURES } from './fixtures.ts';

const DEST = 's3://replica-bucket/wh/t';

interface Case {
  name: string;
  location: string;
  bytes: Buffer;
  map: LocationMap;
  sourceRoot: string;
}

function sparkCases(): Case[] {
  const table = fixtureTable('spark_v2_mor');
  const map = new LocationMap([{ source: table.location, destination: DEST }]);
  const files = new Set<string>();
  for (const manifest of table.avroFiles().filter((f) => !isManifestList(f))) {
    for (const f of rewriteManifest(table.read(manifest), manifest, map).files) if (f.kind === 'position-deletes') files.add(f.sourceLocation);
  }
  return [...files].sort().map((location) => ({
    name: `spark_v2_mor ${location.split('/').slice(-2).join('/')}`,
    location,
    bytes: table.read(location),
    map,
    sourceRoot: table.location.replace(/^file:/, ''),
  }));
}

function pyarrowCases(): Case[] {
  const map = new LocationMap([{ source: POSITION_DELETE_FIXTURES.location, destination: DEST }]);
  return POSITION_DELETE_FIXTURES.names().map((name) => ({
    name: `pyarrow ${name}`,
    location: `${POSITION_DELETE_FIXTURES.location}/data/${name}`,
    bytes: readFileSync(POSITION_DELETE_FIXTURES.folder + name),
    map,
    sourceRoot: POSITION_DELETE_FIXTURES.location,
  }));
}

const CASES = [...sparkCases(), ...pyarrowCases()];

const arrayBuffer = (b: Uint8Array) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
const rowsOf = (b: Uint8Array) => parquetReadObjects({ file: arrayBuffer(b), compressors });
const metadataOf = (b: Uint8Array): FileMetaData => parquetMetadata(arrayBuffer(b));

function chunkBytes(file: Uint8Array, metadata: FileMetaData, group: number, column: number): Buffer {
  const m = metadata.row_groups[group]!.columns[column]!.meta_data!;
  const dictionary = m.dictionary_page_offset !== undefined && m.dictionary_page_offset > 0n && m.dictionary_page_offset < m.data_page_offset ? m.dictionary_page_offset : undefined;
  const start = Number(dictionary ?? m.data_page_offset);
  return Buffer.from(file.subarray(start, start + Number(m.total_compressed_size)));
}

it('has fixtures: Spark delete files (one naming two data files) and pyarrow ones with the row column', async () => {
  const spark = CASES.filter((c) => c.name.startsWith('spark'));
  expect(spark.length).toBeGreaterThanOrEqual(3);
  const distinct = await Promise.all(spark.map(async (c) => new Set((await rowsOf(c.bytes)).map((r) => r.file_path)).size));
  expect(Math.max(...distinct)).toBe(2);
  const pyarrow = CASES.filter((c) => c.name.startsWith('pyarrow'));
  expect(pyarrow.length).toBeGreaterThanOrEqual(4);
  expect(pyarrow.some((c) => metadataOf(c.bytes).schema.some((e) => e.name === 'row'))).toBe(true);
  expect(new Set(CASES.map((c) => metadataOf(c.bytes).row_groups[0]!.columns[0]!.meta_data!.codec))).toEqual(new Set(['ZSTD', 'SNAPPY', 'GZIP', 'UNCOMPRESSED']));
});

describe.each(CASES.map((c) => [c.name, c] as const))('rewritePositionDeleteFile: %s', (_name, c) => {
  const result = rewritePositionDeleteFile(c.bytes, c.location, c.map);

  it('maps every file_path and keeps pos and row, in the same order', async () => {
    const { bytes, rowCount, dataFiles } = await result;
    const [before, after] = [await rowsOf(c.bytes), await rowsOf(bytes)];
    expect(after).toHaveLength(before.length);
    expect(rowCount).toBe(before.length);
    expect(after.map((r) => r.file_path)).toEqual(before.map((r) => c.map.map(r.file_path as string)));
    expect(after.map((r) => r.file_path)).toEqual(after.map((r) => r.file_path).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    expect(after.map(({ file_path: _, ...rest }) => rest)).toStrictEqual(before.map(({ file_path: _, ...rest }) => rest));
    expect(dataFiles).toEqual([...new Set(after.map((r) => r.file_path))]);
  });

  it('keeps the schema (field ids, repetition, logical types), key-value metadata, created_by and row groups', async () => {
    const [before, after] = [metadataOf(c.bytes), metadataOf((await result).bytes)];
    expect(after.schema).toStrictEqual(before.schema);
    expect(after.schema.find((e) => e.name === 'file_path')?.field_id).toBe(POSITION_DELETE_FIELD_IDS.FILE_PATH);
    expect(after.schema.find((e) => e.name === 'pos')?.field_id).toBe(POSITION_DELETE_FIELD_IDS.POS);
    expect(after.key_value_metadata).toStrictEqual(before.key_value_metadata);
    expect(after.created_by).toBe(before.created_by);
    expect(after.num_rows).toBe(before.num_rows);
    expect(after.row_groups.map((g) => g.num_rows)).toStrictEqual(before.row_groups.map((g) => g.num_rows));
    // The schema's Thrift bytes are the source's, field for field.
    const schemaBytes = (b: Uint8Array) => {
      const footerStart = b.length - 8 - Buffer.from(b).readUInt32LE(b.length - 8);
      return asList(getField(readStruct(b, footerStart).struct, 2), 'schema').map((e) => writeStruct(asStruct(e, 'element')).toString('hex'));
    };
    expect(schemaBytes((await result).bytes)).toStrictEqual(schemaBytes(c.bytes));
  });

  it('copies the pos and row column chunks byte for byte', async () => {
    const { bytes } = await result;
    const [before, after] = [metadataOf(c.bytes), metadataOf(bytes)];
    before.row_groups.forEach((group, g) => {
      group.columns.forEach((chunk, i) => {
        if (chunk.meta_data!.path_in_schema[0] === 'file_path') return;
        expect(chunkBytes(bytes, after, g, i).equals(chunkBytes(c.bytes, before, g, i))).toBe(true);
        const [a, b] = [after.row_groups[g]!.columns[i]!.meta_data!, chunk.meta_data!];
        expect({ ...a, data_page_offset: 0n, dictionary_page_offset: 0n, bloom_filter_offset: 0n, bloom_filter_length: 0 }).toStrictEqual({
          ...b,
          data_page_offset: 0n,
          dictionary_page_offset: 0n,
          bloom_filter_offset: 0n,
          bloom_filter_length: 0,
        });
      });
    });
  });

  it('describes the new file_path values in its statistics; drops page indexes and bloom filters; no source path is left', async () => {
    const { bytes } = await result;
    const after = metadataOf(bytes);
    const rows = await rowsOf(bytes);
    let start = 0;
    for (const group of after.row_groups) {
      const paths = rows.slice(start, start + Number(group.num_rows)).map((r) => Buffer.from(r.file_path as string)).sort(Buffer.compare);
      start += Number(group.num_rows);
      const stats = group.columns.find((x) => x.meta_data!.path_in_schema[0] === 'file_path')!.meta_data!.statistics!;
      expect([stats.min_value, stats.max_value, stats.null_count]).toStrictEqual([paths[0]!.toString(), paths.at(-1)!.toString(), 0n]);
      expect(stats.min).toBeUndefined();
      for (const chunk of group.columns) {
        expect([chunk.column_index_offset, chunk.offset_index_offset, chunk.meta_data!.bloom_filter_offset]).toStrictEqual([undefined, undefined, undefined]);
      }
    }
    expect(Buffer.from(bytes).includes(c.sourceRoot)).toBe(false);
    expect(Buffer.from(c.bytes).includes(c.sourceRoot) || metadataOf(c.bytes).row_groups[0]!.columns[0]!.meta_data!.codec !== 'UNCOMPRESSED').toBe(true);
  });

  it('is deterministic, and the inverse mapping gives back the source rows', async () => {
    const { bytes } = await result;
    expect((await rewritePositionDeleteFile(c.bytes, c.location, c.map)).bytes.equals(bytes)).toBe(true);
    const back = await rewritePositionDeleteFile(bytes, c.map.map(c.location), c.map.inverse());
    expect(await rowsOf(back.bytes)).toStrictEqual(await rowsOf(c.bytes));
  });
});

describe('rewritten files read by pyarrow', () => {
  const repo = fileURLToPath(new URL('../../../', import.meta.url));
  const python = join(repo, '.venv', 'bin', 'python');
  // Compares each source/rewritten pair: schema with its field ids, every column but file_path,
  // file_path mapped by the prefix, and the footer statistics of file_path in every row group.
  const check = `
import json, sys
import pyarrow.parquet as pq
out = {}
for pair in json.load(open(sys.argv[1])):
    a, b = pq.read_table(pair["source"]), pq.read_table(pair["rewritten"])
    fa, fb = pq.ParquetFile(pair["source"]), pq.ParquetFile(pair["rewritten"])
    paths = b.column("file_path").to_pylist()
    stats, start = [], 0
    for g in range(fb.metadata.num_row_groups):
        rg = fb.metadata.row_group(g)
        col = next(rg.column(i) for i in range(rg.num_columns) if rg.column(i).path_in_schema == "file_path")
        group = paths[start:start + rg.num_rows]
        start += rg.num_rows
        stats.append(col.statistics.min == min(group) and col.statistics.max == max(group) and col.statistics.null_count == 0)
    out[pair["name"]] = {
        "schema": fb.schema_arrow.equals(fa.schema_arrow, check_metadata=True),
        "field_ids": [f.metadata[b"PARQUET:field_id"].decode() for f in fb.schema_arrow],
        "rest": b.drop_columns(["file_path"]).equals(a.drop_columns(["file_path"])),
        "paths": paths == [p.replace(pair["from"], pair["to"], 1) for p in a.column("file_path").to_pylist()],
        "stats": all(stats),
    }
print(json.dumps(out))
`;

  it('reads the same schema, field ids, pos and row values, mapped paths and file_path statistics', async () => {
    if (!existsSync(python)) throw new Error('No Python venv at .venv: run "bash scripts/python-env.sh" (scripts/test.sh does) first');
    const tmp = mkdtempSync(join(tmpdir(), 'icerelay-posdel-'));
    try {
      const pairs = await Promise.all(
        CASES.map(async (c, i) => {
          writeFileSync(join(tmp, `${i}.source.parquet`), c.bytes);
          writeFileSync(join(tmp, `${i}.rewritten.parquet`), (await rewritePositionDeleteFile(c.bytes, c.location, c.map)).bytes);
          const from = c.location.startsWith('file:') ? c.location.slice(0, c.location.indexOf('/data/')) : POSITION_DELETE_FIXTURES.location;
          return { name: c.name, source: join(tmp, `${i}.source.parquet`), rewritten: join(tmp, `${i}.rewritten.parquet`), from, to: DEST };
        }),
      );
      writeFileSync(join(tmp, 'pairs.json'), JSON.stringify(pairs));
      const results = JSON.parse(execFileSync(python, ['-c', check, join(tmp, 'pairs.json')], { encoding: 'utf8' })) as Record<string, { field_ids: string[] }>;
      for (const c of CASES) {
        expect([c.name, results[c.name]]).toEqual([c.name, { schema: true, field_ids: expect.arrayContaining(['2147483546', '2147483545']), rest: true, paths: true, stats: true }]);
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('rewritePositionDeleteFile refuses bad input, naming the file', () => {
  const c = pyarrowCases().find((x) => x.name.includes('zstd-v1-dict'))!;
  const spark = sparkCases()[0]!;

  it('garbage and truncated files', async () => {
    await expect(rewritePositionDeleteFile(Buffer.from('this is not a parquet file, only text'), 's3://b/garbage.parquet', c.map)).rejects.toThrowError(
      new PositionDeleteFileError('Position-delete file s3://b/garbage.parquet: not a Parquet file (37 bytes, no PAR1 at the start)'),
    );
    await expect(rewritePositionDeleteFile(c.bytes.subarray(0, c.bytes.length - 100), c.location, c.map)).rejects.toThrowError(
      `Position-delete file ${c.location}: truncated or not a Parquet file`,
    );
    await expect(rewritePositionDeleteFile(Buffer.alloc(0), c.location, c.map)).rejects.toThrowError(`Position-delete file ${c.location}: not a Parquet file`);
    // The footer length pointing before the start of the file.
    const bad = Buffer.from(spark.bytes);
    bad.writeUInt32LE(bad.length, bad.length - 8);
    await expect(rewritePositionDeleteFile(bad, spark.location, spark.map)).rejects.toThrowError(`Position-delete file ${spark.location}: truncated: its footer claims`);
  });

  it('a corrupt file_path chunk', async () => {
    const metadata = metadataOf(spark.bytes);
    const chunk = metadata.row_groups[0]!.columns[0]!.meta_data!;
    const bad = Buffer.from(spark.bytes);
    bad.fill(0xff, Number(chunk.data_page_offset), Number(chunk.data_page_offset) + 12);
    await expect(rewritePositionDeleteFile(bad, spark.location, spark.map)).rejects.toThrowError(`Position-delete file ${spark.location}: could not read its file_path column`);
  });

  it('a Parquet file without the position-delete columns', async () => {
    const footerStart = c.bytes.length - 8 - c.bytes.readUInt32LE(c.bytes.length - 8);
    const footer = readStruct(c.bytes, footerStart).struct;
    const filePath = asList(getField(footer, 2), 'schema').map((e) => asStruct(e, 'element'))[1]!;
    setField(filePath, 9, i32(7)); // field_id 2147483546 -> 7
    const footerBytes = writeStruct(footer);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(footerBytes.length);
    const other = Buffer.concat([c.bytes.subarray(0, footerStart), footerBytes, length, Buffer.from('PAR1')]);
    await expect(rewritePositionDeleteFile(other, c.location, c.map)).rejects.toThrowError(`Position-delete file ${c.location}: not a position-delete file`);
  });

  it('a file_path under no mapped prefix', async () => {
    const narrow = new LocationMap([{ source: `${POSITION_DELETE_FIXTURES.location}/data/category=a`, destination: `${DEST}/data/category=a` }]);
    const error = await rewritePositionDeleteFile(c.bytes, c.location, narrow).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnmappedLocationError);
    expect((error as Error).message).toContain(`${POSITION_DELETE_FIXTURES.location}/data/category=b/00001-0-b.parquet (file_path in position-delete file ${c.location})`);
  });

  it('a mapping that would put the rows out of (file_path, pos) order', async () => {
    // category=a paths go to a prefix that sorts after the one category=b paths go to.
    const swapped = new LocationMap([
      { source: `${POSITION_DELETE_FIXTURES.location}/data/category=a`, destination: 's3://zz/a' },
      { source: POSITION_DELETE_FIXTURES.location, destination: 's3://aa/t' },
    ]);
    await expect(rewritePositionDeleteFile(c.bytes, c.location, swapped)).rejects.toThrowError(
      `Position-delete file ${c.location}: mapping its file_path values would break the (file_path, pos) order Iceberg requires`,
    );
    // Prefixes that keep the order are fine.
    const kept = new LocationMap([
      { source: `${POSITION_DELETE_FIXTURES.location}/data/category=a`, destination: 's3://aa/a' },
      { source: POSITION_DELETE_FIXTURES.location, destination: 's3://zz/t' },
    ]);
    expect((await rewritePositionDeleteFile(c.bytes, c.location, kept)).dataFiles[0]).toBe('s3://aa/a/00000-0-a.parquet');
  });
});
