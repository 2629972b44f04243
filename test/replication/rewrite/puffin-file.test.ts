/**
 * Puffin rewrite on the real deletion-vector files of the spark_v3_dv fixture (Spark + Iceberg
 * Java; one file holds two vectors) and its statistics files (theta sketches, left as they are).
 */
import { describe, expect, it } from 'vitest';
import { parseJson } from '../../../src/util/json.ts';
import { LocationMap, UnmappedLocationError } from '../../../src/replication/rewrite/location-map.ts';
import { DELETION_VECTOR_BLOB_TYPE, PuffinFileError, readPuffinFooter, REFERENCED_DATA_FILE, rewritePuffinFile } from '../../../src/replication/rewrite/puffin-file.ts';
import { rewriteManifest, type ReferencedFile } from '../../../src/replication/rewrite/rewrite-avro.ts';
import { allRecords, readAvroContainer } from '../../../src/replication/rewrite/avro-container.ts';
import { fixtureTable, isManifestList } from './fixtures.ts';

const DEST = 's3://replica-bucket/wh/t';
const table = fixtureTable('spark_v3_dv');
const map = new LocationMap([{ source: table.location, destination: DEST }]);

/** Every deletion-vector entry of every manifest (live ones), with its content offset and size. */
const entries = table.avroFiles().filter((f) => !isManifestList(f)).flatMap((manifest) => {
  const { files } = rewriteManifest(table.read(manifest), manifest, map);
  const records = allRecords(readAvroContainer(table.read(manifest), manifest)).filter((e) => e.status !== 2);
  return files.flatMap((file, i): { file: ReferencedFile; offset: bigint; size: bigint }[] => {
    const dataFile = records[i]!.data_file as { content_offset: bigint; content_size_in_bytes: bigint };
    return file.kind === 'deletion-vector' ? [{ file, offset: dataFile.content_offset, size: dataFile.content_size_in_bytes }] : [];
  });
});
const puffinFiles = [...new Set(entries.map((e) => e.file.sourceLocation))].sort();
const statisticsFiles = table.metadata.statistics.map((s) => s['statistics-path']);

it('has fixtures: deletion-vector files, one with two vectors, referenced by several entries; statistics files', () => {
  expect(puffinFiles.length).toBeGreaterThanOrEqual(3);
  expect(Math.max(...puffinFiles.map((f) => readPuffinFooter(table.read(f), f).blobs.length))).toBe(2);
  expect(entries.length).toBeGreaterThan(puffinFiles.length);
  expect(statisticsFiles.length).toBeGreaterThan(0);
});

describe.each(puffinFiles)('rewritePuffinFile %s', (location) => {
  const source = table.read(location);
  const out = rewritePuffinFile(source, location, map);
  const before = readPuffinFooter(source, location);
  const after = readPuffinFooter(out.bytes, map.map(location));

  it('keeps every byte before the footer: the blobs, at the same offsets', () => {
    expect(after.footerStart).toBe(before.footerStart);
    expect(out.bytes.subarray(0, after.footerStart).equals(source.subarray(0, before.footerStart))).toBe(true);
    expect(after.blobs.map((b) => [b.type, b.offset, b.length])).toStrictEqual(before.blobs.map((b) => [b.type, b.offset, b.length]));
    expect(out.size).toBe(out.bytes.length);
    expect(out.blobs).toStrictEqual(after.blobs);
  });

  it('maps each referenced-data-file and changes nothing else in the footer', () => {
    for (const [i, blob] of after.blobs.entries()) {
      expect(blob.type).toBe(DELETION_VECTOR_BLOB_TYPE);
      expect(blob.properties[REFERENCED_DATA_FILE]).toBe(map.map(before.blobs[i]!.properties[REFERENCED_DATA_FILE]!));
      expect(blob.properties[REFERENCED_DATA_FILE]!.startsWith(`${DEST}/data/`)).toBe(true);
    }
    const blank = (text: string) => text.replace(/"referenced-data-file":"[^"]*"/g, '"referenced-data-file":""');
    const payload = (bytes: Buffer, footerStart: number) => bytes.subarray(footerStart + 4, bytes.length - 12).toString('utf8');
    expect(blank(payload(out.bytes, after.footerStart))).toBe(blank(payload(source, before.footerStart)));
    expect(payload(out.bytes, after.footerStart)).not.toContain(table.location);
    // Payload size field and flags.
    expect(out.bytes.readInt32LE(out.bytes.length - 12)).toBe(out.bytes.length - 12 - 4 - after.footerStart);
    expect(out.bytes.subarray(out.bytes.length - 8, out.bytes.length - 4)).toStrictEqual(Buffer.alloc(4));
    expect(parseJson(payload(out.bytes, after.footerStart))).toBeTruthy();
  });

  it('agrees with the manifests: each entry names a blob by content offset and size, for its referenced data file', () => {
    for (const entry of entries.filter((e) => e.file.sourceLocation === location)) {
      const blob = after.blobs.find((b) => b.offset === Number(entry.offset));
      expect(blob).toBeDefined();
      expect(blob!.length).toBe(Number(entry.size));
      expect(blob!.properties[REFERENCED_DATA_FILE]).toBe(entry.file.referencedDataFile);
    }
  });

  it('gives back the source bytes with the inverse mapping, and the same bytes with the identity mapping', () => {
    expect(rewritePuffinFile(out.bytes, map.map(location), map.inverse()).bytes.equals(source)).toBe(true);
    expect(rewritePuffinFile(source, location, new LocationMap([{ source: table.location, destination: table.location }])).bytes.equals(source)).toBe(true);
  });
});

describe('statistics Puffin files', () => {
  it.each(statisticsFiles)('%s carries no paths: read, and rewritten as the same bytes', (location) => {
    const bytes = table.read(location);
    const footer = readPuffinFooter(bytes, location);
    expect(footer.blobs.every((b) => b.type === 'apache-datasketches-theta-v1' && !(REFERENCED_DATA_FILE in b.properties))).toBe(true);
    expect(rewritePuffinFile(bytes, location, map).bytes.equals(bytes)).toBe(true);
  });
});

describe('rewritePuffinFile refuses bad input, naming the file', () => {
  const location = puffinFiles[0]!;
  const source = table.read(location);
  const expectError = (bytes: Buffer, message: string, m = map) =>
    expect(() => rewritePuffinFile(bytes, location, m)).toThrowError(new PuffinFileError(`Puffin file ${location}: ${message}`));

  it('garbage, empty and truncated files', () => {
    expectError(Buffer.from('definitely not a puffin file'), 'not a Puffin file (28 bytes, no PFA1 at the start)');
    expectError(Buffer.alloc(0), 'not a Puffin file (0 bytes, no PFA1 at the start)');
    expectError(source.subarray(0, source.length - 7), `truncated or not a Puffin file (${source.length - 7} bytes, no PFA1 at the end)`);
    // Blobs cut away: the footer is intact, but there is no room for what it claims.
    const footerStart = readPuffinFooter(source, location).footerStart;
    expectError(Buffer.concat([source.subarray(0, 4), source.subarray(footerStart)]), 'blob 0 (offset 4, length 42) is not between the header and the footer (byte 4)');
    const badSize = Buffer.from(source);
    badSize.writeInt32LE(source.length, source.length - 12);
    expectError(badSize, `truncated: its footer claims a ${source.length}-byte payload in ${source.length} bytes`);
    const shifted = Buffer.from(source);
    shifted.writeInt32LE(source.readInt32LE(source.length - 12) - 1, source.length - 12);
    expectError(shifted, `truncated or corrupt: no PFA1 where its footer should start (byte ${footerStart + 1})`);
  });

  it('a footer that is not JSON, or has no blobs', () => {
    const payload = (text: string) => {
      const body = Buffer.from(text);
      const size = Buffer.alloc(4);
      size.writeInt32LE(body.length);
      return Buffer.concat([Buffer.from('PFA1'), Buffer.from('PFA1'), body, size, Buffer.alloc(4), Buffer.from('PFA1')]);
    };
    expect(() => rewritePuffinFile(payload('{"blobs": [tr'), location, map)).toThrowError(`Puffin file ${location}: unreadable footer`);
    expectError(payload('{"properties": {}}'), 'its footer has no "blobs" list');
    expectError(payload('{"blobs": [{"type": "deletion-vector-v1", "fields": [], "offset": 4, "length": 0}]}'), 'deletion vector blob 0 has no referenced-data-file');
  });

  it('an LZ4-compressed footer and unknown flags', () => {
    const compressed = Buffer.from(source);
    compressed[compressed.length - 8] = 0x01;
    expectError(compressed, 'its footer payload is LZ4-compressed, which is not supported');
    const unknown = Buffer.from(source);
    unknown[unknown.length - 6] = 0x04;
    expectError(unknown, 'unknown footer flags 00000400');
  });

  it('a referenced data file under no mapped prefix', () => {
    const narrow = new LocationMap([{ source: `${table.location}/metadata`, destination: `${DEST}/metadata` }]);
    expect(() => rewritePuffinFile(source, location, narrow)).toThrowError(UnmappedLocationError);
    expect(() => rewritePuffinFile(source, location, narrow)).toThrowError(`(referenced-data-file of blob 0 in Puffin file ${location})`);
  });
});
