import { describe, expect, it } from 'vitest';
import { readAvroFile } from '../../../src/iceberg/avro-file.ts';
import { allRecords, readAvroContainer, type AvroRecord } from '../../../src/replication/rewrite/avro-container.ts';
import { LocationMap } from '../../../src/replication/rewrite/location-map.ts';
import {
  DELETE_FILE_PATH_FIELD_ID,
  readManifestListEntries,
  rewriteManifest,
  rewriteManifestList,
  type RewrittenManifest,
} from '../../../src/replication/rewrite/rewrite-avro.ts';
import { FIXTURE_TABLES, fixtureTable, isManifestList, plain, type FixtureTable } from './fixtures.ts';

const DEST = 's3://replica-bucket/wh/t';

type Bound = { key: number; value: Buffer };
type DataFile = AvroRecord & { file_path: string; referenced_data_file?: string | null; lower_bounds?: Bound[] | null; upper_bounds?: Bound[] | null; content?: number };

/** A manifest entry with its location-bearing values blanked. */
function blankEntry(entry: AvroRecord): unknown {
  const f = entry.data_file as DataFile;
  const blankBounds = (b: Bound[] | null | undefined) => b?.map((x) => (x.key === DELETE_FILE_PATH_FIELD_ID ? { ...x, value: Buffer.alloc(0) } : { ...x }));
  return {
    ...entry,
    data_file: { ...f, file_path: '', referenced_data_file: f.referenced_data_file ? '' : f.referenced_data_file, lower_bounds: blankBounds(f.lower_bounds), upper_bounds: blankBounds(f.upper_bounds) },
  };
}

/** Rewrites every manifest of a table, then every manifest list with the new lengths. */
function rewriteTable(table: FixtureTable, map: LocationMap, read = (l: string) => table.read(l)) {
  const manifests = new Map<string, RewrittenManifest>();
  const lists = table.avroFiles().filter(isManifestList);
  for (const list of lists) {
    for (const m of readManifestListEntries(read(list), list)) {
      if (!manifests.has(m.path)) manifests.set(m.path, rewriteManifest(read(m.path), m.path, map));
    }
  }
  const lengths = new Map([...manifests].map(([k, v]) => [k, v.length]));
  return { manifests, lists: lists.map((l) => rewriteManifestList(read(l), l, map, lengths)) };
}

describe.each(FIXTURE_TABLES)('Avro rewrite of real table %s', (name) => {
  const table = fixtureTable(name);
  const map = new LocationMap([{ source: table.location, destination: DEST }]);
  const { manifests, lists } = rewriteTable(table, map);

  it('rewrites file_path, referenced_data_file and file-scoped path bounds; keeps every other value', async () => {
    for (const [source, out] of manifests) {
      const before = readAvroContainer(table.read(source), source);
      const after = readAvroContainer(out.bytes, out.destinationLocation);
      const [b, a] = [allRecords(before), allRecords(after)];
      expect(a).toHaveLength(b.length);
      b.forEach((entry, i) => {
        const rf = a[i]!.data_file as DataFile;
        const sf = entry.data_file as DataFile;
        expect(rf.file_path).toBe(map.map(sf.file_path));
        if (sf.referenced_data_file) expect(rf.referenced_data_file).toBe(map.map(sf.referenced_data_file));
        for (const bounds of [rf.lower_bounds, rf.upper_bounds]) {
          const pathBound = bounds?.find((x) => x.key === DELETE_FILE_PATH_FIELD_ID);
          if (pathBound) expect(pathBound.value.toString()).toMatch(/^s3:\/\/replica-bucket\/wh\/t\//);
        }
        expect(plain(blankEntry(a[i]!))).toStrictEqual(plain(blankEntry(entry)));
      });
      // The existing reader (src/iceberg/avro-file.ts) reads the result, with the same values.
      const viaExisting = await readAvroFile(out.bytes, out.destinationLocation);
      expect(plain(viaExisting.records)).toStrictEqual(plain(a));
      expect(viaExisting.codec).toBe(before.codec);
    }
  });

  it('keeps the Avro header: key-value metadata byte for byte, codec, sync marker', () => {
    for (const [source, out] of [...manifests, ...lists.map((l) => [l.sourceLocation, l] as const)]) {
      const before = readAvroContainer(table.read(source), source);
      const after = readAvroContainer(out.bytes, source);
      expect([...after.metadata.entries()]).toStrictEqual([...before.metadata.entries()]);
      expect(after.header.equals(before.header)).toBe(true);
      expect(after.blocks.map((x) => x.length)).toStrictEqual(before.blocks.map((x) => x.length));
    }
  });

  it('rewrites manifest_path and carries the new manifest_length; keeps the rest of each list entry', () => {
    for (const list of lists) {
      const before = allRecords(readAvroContainer(table.read(list.sourceLocation), list.sourceLocation));
      const after = allRecords(readAvroContainer(list.bytes, list.destinationLocation));
      expect(list.destinationLocation).toBe(map.map(list.sourceLocation));
      before.forEach((entry, i) => {
        const m = manifests.get(entry.manifest_path as string)!;
        expect(after[i]!.manifest_path).toBe(m.destinationLocation);
        expect(after[i]!.manifest_length).toBe(BigInt(m.bytes.length));
        expect(plain({ ...after[i]!, manifest_path: '', manifest_length: 0n })).toStrictEqual(plain({ ...entry, manifest_path: '', manifest_length: 0n }));
      });
    }
  });

  it('returns the live files (ADDED, EXISTING) with their sizes, never DELETED ones', () => {
    for (const [source, out] of manifests) {
      const entries = allRecords(readAvroContainer(table.read(source), source));
      const live = entries.filter((e) => e.status !== 2);
      expect(out.files.map((f) => f.sourceLocation)).toStrictEqual(live.map((e) => (e.data_file as DataFile).file_path));
      expect(out.files.map((f) => f.sizeInBytes)).toStrictEqual(live.map((e) => (e.data_file as AvroRecord).file_size_in_bytes));
      expect(out.entryCount).toBe(entries.length);
    }
  });

  it('round-trips: the inverse mapping gives back the original records and bytes', () => {
    const inverse = map.inverse();
    const identity = new LocationMap([{ source: table.location, destination: table.location }]);
    const rewrittenRead = (l: string) => {
      const m = [...manifests.values()].find((x) => x.destinationLocation === l) ?? lists.find((x) => x.destinationLocation === l);
      if (!m) throw new Error(`no rewritten file ${l}`);
      return m.bytes;
    };
    for (const out of manifests.values()) {
      const back = rewriteManifest(rewrittenRead(out.destinationLocation), out.destinationLocation, inverse);
      const original = table.read(out.sourceLocation);
      expect(plain(allRecords(readAvroContainer(back.bytes, 'back')))).toStrictEqual(plain(allRecords(readAvroContainer(original, 'original'))));
      // Same bytes as rewriting the original with the identity mapping (re-encoding is deterministic).
      expect(back.bytes.equals(rewriteManifest(original, out.sourceLocation, identity).bytes)).toBe(true);
    }
  });

  it('re-encodes records byte for byte: with the identity mapping, uncompressed block data equals the source', () => {
    const identity = new LocationMap([{ source: table.location, destination: table.location }]);
    for (const file of table.avroFiles()) {
      const before = readAvroContainer(table.read(file), file);
      const out = isManifestList(file)
        ? rewriteManifestList(table.read(file), file, identity, new Map(readManifestListEntries(table.read(file), file).map((e) => [e.path, e.length]))).bytes
        : rewriteManifest(table.read(file), file, identity).bytes;
      if (before.codec === 'null') expect(out.equals(table.read(file))).toBe(true);
      const encode = (c: ReturnType<typeof readAvroContainer>) => c.blocks.map((b) => Buffer.concat(b.map((r) => c.type.toBuffer(r))).toString('hex'));
      expect(encode(readAvroContainer(out, file))).toStrictEqual(encode(before));
    }
  });
});

describe('Avro rewrite coverage and errors', () => {
  const all = FIXTURE_TABLES.map(fixtureTable);
  const containers = all.flatMap((t) => t.avroFiles().map((f) => ({ t, f, c: readAvroContainer(t.read(f), f) })));
  const manifests = containers.filter((x) => !isManifestList(x.f));

  it('covers v1, v2 and v3 manifests, delete manifests, deletion vectors, DELETED entries, codecs', () => {
    expect(new Set(manifests.map((x) => x.c.metadata.get('format-version')?.toString()))).toStrictEqual(new Set(['1', '2', '3']));
    const deletes = manifests.filter((x) => x.c.metadata.get('content')?.toString() === 'deletes');
    expect(deletes.some((x) => x.c.metadata.get('format-version')?.toString() === '2')).toBe(true);
    expect(deletes.some((x) => allRecords(x.c).some((e) => (e.data_file as DataFile).referenced_data_file))).toBe(true);
    expect(manifests.some((x) => allRecords(x.c).some((e) => e.status === 2))).toBe(true);
    expect(new Set(containers.map((x) => x.c.codec))).toStrictEqual(new Set(['deflate', 'null']));
  });

  it('fails naming the data file and the manifest when a data file is unmapped', () => {
    const t = fixtureTable('spark_v2_mor');
    const manifest = t.avroFiles().find((f) => !isManifestList(f))!;
    const narrow = new LocationMap([
      { source: `${t.location}/metadata`, destination: `${DEST}/metadata` },
    ]);
    expect(() => rewriteManifest(t.read(manifest), manifest, narrow)).toThrowError(new RegExp(`/data/.*\\.parquet \\(listed in manifest ${manifest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
  });

  it('refuses a manifest list whose manifests were not rewritten first', () => {
    const t = fixtureTable('spark_v3_dv');
    const list = t.avroFiles().find(isManifestList)!;
    expect(() => rewriteManifestList(t.read(list), list, new LocationMap([{ source: t.location, destination: DEST }]), new Map())).toThrowError(/has no rewritten length: rewrite it first/);
  });

  it('fails naming the file for an unsupported codec', () => {
    const t = fixtureTable('spark_v2_mor');
    const file = t.avroFiles()[0]!;
    const bytes = Buffer.from(t.read(file));
    const at = bytes.indexOf('avro.codec') + 'avro.codec'.length + 1; // + the value's one-byte length
    expect(bytes.toString('latin1', at, at + 7)).toBe('deflate');
    bytes.write('zstdxyz', at); // same length keeps the header parseable
    expect(() => readAvroContainer(bytes, file)).toThrowError(`Avro file ${file} uses codec "zstdxyz", which is not supported`);
  });

  it('applies new sizes and offsets for delete files the caller rewrote', () => {
    const t = fixtureTable('spark_v3_dv');
    const map = new LocationMap([{ source: t.location, destination: DEST }]);
    const x = manifests.find((m) => m.t.name === 'spark_v3_dv' && m.c.metadata.get('content')?.toString() === 'deletes')!;
    const dv = allRecords(x.c)[0]!.data_file as DataFile;
    const out = rewriteManifest(t.read(x.f), x.f, map, { rewrittenFiles: new Map([[dv.file_path, { fileSizeInBytes: 999n, contentOffset: 7n, contentSizeInBytes: 42n }]]) });
    const after = allRecords(readAvroContainer(out.bytes, 'out'))[0]!.data_file as AvroRecord;
    expect([after.file_size_in_bytes, after.content_offset, after.content_size_in_bytes]).toStrictEqual([999n, 7n, 42n]);
    expect(out.files[0]!.kind).toBe('deletion-vector');
    expect(out.files[0]!.referencedDataFile).toMatch(/^s3:\/\/replica-bucket\/wh\/t\/data\//);
  });
});
