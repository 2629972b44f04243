/**
 * Rewriting an Iceberg position-delete file (Parquet) for a destination: every `file_path` value
 * (the data file a deleted row is in) mapped with the LocationMap; everything else kept.
 *
 * How: the file is spliced, not re-written from decoded rows. Each row group's `pos` and `row`
 * column chunks are copied byte for byte (same pages, encodings, codec, page statistics); only the
 * `file_path` chunk is encoded anew (a dictionary page and RLE_DICTIONARY data pages, format v1).
 * The footer is edited field by field (thrift-compact.ts), so the schema — field ids, names,
 * repetition, logical types, which Iceberg readers match columns by — key-value metadata,
 * created_by and column orders come through exactly. hyparquet decodes the source `file_path`
 * values, whatever their encoding (dictionary, plain, delta; data page v1 or v2) and codec (zstd,
 * snappy, gzip, brotli, lz4 through hyparquet-compressors).
 *
 * What changes besides the paths, and why:
 * - The `file_path` chunk's footer statistics are recomputed from the new values (min/max, no
 *   nulls): readers skip row groups by them (Iceberg filters a delete file by `file_path` when it
 *   looks for one data file's deletes), so the source paths there would hide the deletes.
 * - Page indexes (column and offset indexes) and bloom filters are dropped for every column: the
 *   `file_path` ones describe the source paths, and the others hold absolute offsets of pages that
 *   moved. They are optional; readers without them read every page.
 * - The `file_path` chunk is written with the source's codec when it is UNCOMPRESSED, SNAPPY
 *   (emitted as literal-only Snappy, see snappy.ts) or GZIP, and GZIP otherwise: Node 20 has no
 *   zstd or LZ4 compressor, and Parquet allows each column chunk its own codec. The dictionary
 *   keeps that chunk small whatever the codec (one entry per data file).
 *
 * Order: Iceberg requires position deletes sorted by (file_path, pos). A prefix mapping keeps that
 * order for paths that share a source prefix, but two paths under different mapped prefixes (or
 * `s3a://` and `s3://` spellings of one bucket) can swap; the rewrite checks every pair of adjacent
 * rows and refuses a file whose mapped paths would be out of order rather than reorder `pos`/`row`.
 *
 * Refused with an error naming the file: a file that is not Parquet or is truncated, an encrypted
 * file, column chunks stored in other files, a file without the `file_path`/`pos` columns, a null
 * `file_path`, and (through LocationMap.map) a path under no mapped prefix.
 */
import { gzipSync } from 'node:zlib';
import { parquetRead } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { LocationMap } from './location-map.ts';
import { snappyCompressLiteral } from './snappy.ts';
import {
  asBinary,
  asInt,
  asList,
  asOptionalInt,
  asStruct,
  getField,
  i32,
  i64,
  list,
  binary,
  readStruct,
  removeField,
  setField,
  struct,
  TType,
  writeStruct,
  type TStruct,
} from './thrift-compact.ts';

/** Field ids of the position-delete schema (Iceberg spec, "Position Delete Files"). */
export const POSITION_DELETE_FIELD_IDS = { FILE_PATH: 2147483546, POS: 2147483545, ROW: 2147483544 } as const;

export class PositionDeleteFileError extends Error {
  override readonly name = 'PositionDeleteFileError';
}

export interface RewrittenPositionDeleteFile {
  bytes: Buffer;
  rowCount: number;
  /** The distinct mapped `file_path` values, in file order. */
  dataFiles: string[];
}

const MAGIC = Buffer.from('PAR1');
const ENCRYPTED_MAGIC = Buffer.from('PARE');

// parquet.thrift enum values used here.
const Type = { INT64: 2, BYTE_ARRAY: 6 } as const;
const Repetition = { REQUIRED: 0, OPTIONAL: 1, REPEATED: 2 } as const;
const Codec = { UNCOMPRESSED: 0, SNAPPY: 1, GZIP: 2 } as const;
const Encoding = { PLAIN: 0, RLE: 3, RLE_DICTIONARY: 8 } as const;
const PageType = { DATA_PAGE: 0, DICTIONARY_PAGE: 2 } as const;

// parquet.thrift field ids.
const FileMetaData = { SCHEMA: 2, NUM_ROWS: 3, ROW_GROUPS: 4, ENCRYPTION_ALGORITHM: 8 } as const;
const SchemaElement = { TYPE: 1, REPETITION: 3, NAME: 4, NUM_CHILDREN: 5, FIELD_ID: 9 } as const;
const RowGroup = { COLUMNS: 1, TOTAL_BYTE_SIZE: 2, NUM_ROWS: 3, FILE_OFFSET: 5, TOTAL_COMPRESSED_SIZE: 6 } as const;
const ColumnChunk = {
  FILE_PATH: 1,
  FILE_OFFSET: 2,
  META_DATA: 3,
  OFFSET_INDEX_OFFSET: 4,
  OFFSET_INDEX_LENGTH: 5,
  COLUMN_INDEX_OFFSET: 6,
  COLUMN_INDEX_LENGTH: 7,
  CRYPTO_METADATA: 8,
  ENCRYPTED_COLUMN_METADATA: 9,
} as const;
const ColumnMetaData = {
  ENCODINGS: 2,
  PATH_IN_SCHEMA: 3,
  CODEC: 4,
  NUM_VALUES: 5,
  TOTAL_UNCOMPRESSED_SIZE: 6,
  TOTAL_COMPRESSED_SIZE: 7,
  DATA_PAGE_OFFSET: 9,
  INDEX_PAGE_OFFSET: 10,
  DICTIONARY_PAGE_OFFSET: 11,
  STATISTICS: 12,
  ENCODING_STATS: 13,
  BLOOM_FILTER_OFFSET: 14,
  BLOOM_FILTER_LENGTH: 15,
  SIZE_STATISTICS: 16,
  GEOSPATIAL_STATISTICS: 17,
} as const;

/** Values per data page of the new `file_path` chunk (parquet-java's default page row limit). */
const PAGE_VALUES = 20_000;

export async function rewritePositionDeleteFile(bytes: Uint8Array, location: string, map: LocationMap): Promise<RewrittenPositionDeleteFile> {
  const fail = (message: string) => new PositionDeleteFileError(`Position-delete file ${location}: ${message}`);
  const footer = readFooter(bytes, fail);
  const columns = leafColumns(footer, fail);
  const filePath = columns.find((c) => c.fieldId === POSITION_DELETE_FIELD_IDS.FILE_PATH && c.topLevel);
  const pos = columns.find((c) => c.fieldId === POSITION_DELETE_FIELD_IDS.POS && c.topLevel);
  if (!filePath || !pos) throw fail(`not a position-delete file: no top-level columns with field ids ${POSITION_DELETE_FIELD_IDS.FILE_PATH} (file_path) and ${POSITION_DELETE_FIELD_IDS.POS} (pos)`);
  if (filePath.physicalType !== Type.BYTE_ARRAY || filePath.repetition === Repetition.REPEATED) throw fail('its file_path column is not a single string');

  const rowGroups = asList(getField(footer, FileMetaData.ROW_GROUPS), 'row_groups').map((rg) => asStruct(rg, 'row group'));
  const sourcePaths = await readFilePaths(bytes, filePath.name, fail);
  const groupRows = rowGroups.map((rg) => asInt(getField(rg, RowGroup.NUM_ROWS), 'row group num_rows'));
  const totalRows = groupRows.reduce((a, b) => a + b, 0);
  if (sourcePaths.length !== totalRows) throw fail(`read ${sourcePaths.length} file_path values for ${totalRows} rows`);
  const mappedPaths = mapPaths(sourcePaths, map, location, fail);

  const out: Uint8Array[] = [MAGIC];
  let offset = MAGIC.length;
  let start = 0;
  for (const [g, rowGroup] of rowGroups.entries()) {
    const chunks = asList(getField(rowGroup, RowGroup.COLUMNS), 'row group columns').map((c) => asStruct(c, 'column chunk'));
    if (chunks.length !== columns.length) throw fail(`row group ${g} has ${chunks.length} column chunks for ${columns.length} columns`);
    const groupStart = offset;
    let compressedSize = 0;
    let uncompressedDelta = 0;
    for (const [c, chunk] of chunks.entries()) {
      if (getField(chunk, ColumnChunk.FILE_PATH)) throw fail('its column chunks are stored in other files');
      if (getField(chunk, ColumnChunk.CRYPTO_METADATA) || getField(chunk, ColumnChunk.ENCRYPTED_COLUMN_METADATA)) throw fail('it is encrypted');
      const meta = asStruct(getField(chunk, ColumnChunk.META_DATA), 'column metadata');
      for (const id of [ColumnChunk.OFFSET_INDEX_OFFSET, ColumnChunk.OFFSET_INDEX_LENGTH, ColumnChunk.COLUMN_INDEX_OFFSET, ColumnChunk.COLUMN_INDEX_LENGTH]) removeField(chunk, id);
      for (const id of [ColumnMetaData.BLOOM_FILTER_OFFSET, ColumnMetaData.BLOOM_FILTER_LENGTH]) removeField(meta, id);
      const range = chunkRange(meta, bytes.length, fail);
      if (c === filePath.index) {
        const values = mappedPaths.slice(start, start + groupRows[g]!);
        const encoded = encodeFilePathChunk(values, sourceCodec(meta), filePath.repetition === Repetition.OPTIONAL);
        uncompressedDelta += encoded.uncompressedSize - asInt(getField(meta, ColumnMetaData.TOTAL_UNCOMPRESSED_SIZE), 'total_uncompressed_size');
        const oldDataPage = asInt(getField(meta, ColumnMetaData.DATA_PAGE_OFFSET), 'data_page_offset');
        describeFilePathChunk(meta, encoded, offset);
        const fileOffset = asOptionalInt(getField(chunk, ColumnChunk.FILE_OFFSET), 'file_offset');
        if (fileOffset !== undefined && fileOffset >= range.start && fileOffset <= range.end) {
          // parquet-java puts the first data page here, others the chunk start.
          setField(chunk, ColumnChunk.FILE_OFFSET, i64(fileOffset === oldDataPage ? offset + encoded.dataPageOffset : offset));
        }
        out.push(encoded.bytes);
        offset += encoded.bytes.length;
        compressedSize += encoded.bytes.length;
      } else {
        const delta = offset - range.start;
        for (const id of [ColumnMetaData.DATA_PAGE_OFFSET, ColumnMetaData.DICTIONARY_PAGE_OFFSET, ColumnMetaData.INDEX_PAGE_OFFSET]) {
          const value = asOptionalInt(getField(meta, id), 'page offset');
          if (value !== undefined && value > 0) setField(meta, id, i64(value + delta));
        }
        shiftFileOffset(chunk, range, offset);
        out.push(bytes.subarray(range.start, range.end));
        offset += range.end - range.start;
        compressedSize += range.end - range.start;
      }
    }
    start += groupRows[g]!;
    if (getField(rowGroup, RowGroup.FILE_OFFSET)) setField(rowGroup, RowGroup.FILE_OFFSET, i64(groupStart));
    if (getField(rowGroup, RowGroup.TOTAL_COMPRESSED_SIZE)) setField(rowGroup, RowGroup.TOTAL_COMPRESSED_SIZE, i64(compressedSize));
    const totalByteSize = asOptionalInt(getField(rowGroup, RowGroup.TOTAL_BYTE_SIZE), 'total_byte_size');
    if (totalByteSize !== undefined) setField(rowGroup, RowGroup.TOTAL_BYTE_SIZE, i64(totalByteSize + uncompressedDelta));
  }
  const footerBytes = writeStruct(footer);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(footerBytes.length);
  out.push(footerBytes, length, MAGIC);
  return { bytes: Buffer.concat(out), rowCount: totalRows, dataFiles: [...new Set(mappedPaths)] };
}

function readFooter(bytes: Uint8Array, fail: (m: string) => Error): TStruct {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 12 || !buf.subarray(0, 4).equals(MAGIC)) throw fail(`not a Parquet file (${buf.length} bytes, no PAR1 at the start)`);
  const tail = buf.subarray(buf.length - 4);
  if (tail.equals(ENCRYPTED_MAGIC)) throw fail('it is encrypted (PARE footer)');
  if (!tail.equals(MAGIC)) throw fail(`truncated or not a Parquet file (${buf.length} bytes, no PAR1 at the end)`);
  const footerLength = buf.readUInt32LE(buf.length - 8);
  const footerStart = buf.length - 8 - footerLength;
  if (footerStart < 4) throw fail(`truncated: its footer claims ${footerLength} bytes of ${buf.length}`);
  let parsed;
  try {
    parsed = readStruct(buf.subarray(0, buf.length - 8), footerStart);
  } catch (err) {
    throw fail(`unreadable footer (${(err as Error).message})`);
  }
  if (getField(parsed.struct, FileMetaData.ENCRYPTION_ALGORITHM)) throw fail('it is encrypted');
  return parsed.struct;
}

interface LeafColumn {
  index: number;
  name: string;
  fieldId: number | undefined;
  physicalType: number;
  repetition: number | undefined;
  topLevel: boolean;
}

/** The schema's leaves (one per column chunk, in chunk order), from its depth-first flattening. */
function leafColumns(footer: TStruct, fail: (m: string) => Error): LeafColumn[] {
  const elements = asList(getField(footer, FileMetaData.SCHEMA), 'schema').map((e) => asStruct(e, 'schema element'));
  const leaves: LeafColumn[] = [];
  let next = 1;
  const walk = (depth: number): void => {
    if (next >= elements.length) throw fail('its schema is truncated');
    const element = elements[next++]!;
    const children = asOptionalInt(getField(element, SchemaElement.NUM_CHILDREN), 'num_children') ?? 0;
    if (children > 0) {
      for (let i = 0; i < children; i++) walk(depth + 1);
      return;
    }
    leaves.push({
      index: leaves.length,
      name: Buffer.from(asBinary(getField(element, SchemaElement.NAME), 'schema name')).toString('utf8'),
      fieldId: asOptionalInt(getField(element, SchemaElement.FIELD_ID), 'field_id'),
      physicalType: asOptionalInt(getField(element, SchemaElement.TYPE), 'type') ?? -1,
      repetition: asOptionalInt(getField(element, SchemaElement.REPETITION), 'repetition_type'),
      topLevel: depth === 1,
    });
  };
  const rootChildren = elements.length ? (asOptionalInt(getField(elements[0]!, SchemaElement.NUM_CHILDREN), 'num_children') ?? 0) : 0;
  for (let i = 0; i < rootChildren; i++) walk(1);
  return leaves;
}

async function readFilePaths(bytes: Uint8Array, column: string, fail: (m: string) => Error): Promise<string[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const values: string[] = [];
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    await parquetRead({
      file,
      columns: [column],
      compressors,
      onChunk({ columnData, rowStart }) {
        for (let i = 0; i < columnData.length; i++) {
          const value: unknown = columnData[i];
          if (typeof value === 'string') values[rowStart + i] = value;
          else if (value instanceof Uint8Array) values[rowStart + i] = decoder.decode(value);
          else throw new PositionDeleteFileError(`row ${rowStart + i} has a ${value === null || value === undefined ? 'null' : typeof value} file_path`);
        }
      },
    });
  } catch (err) {
    throw fail(`could not read its file_path column (${(err as Error).message})`);
  }
  for (let i = 0; i < values.length; i++) if (values[i] === undefined) throw fail(`row ${i} has no file_path`);
  return values;
}

/**
 * Maps every path (each distinct one once) and checks that adjacent rows in (file_path) order in
 * the source are still in order after mapping; see the module comment.
 */
function mapPaths(paths: string[], map: LocationMap, location: string, fail: (m: string) => Error): string[] {
  const mapped = new Map<string, string>();
  const context = `file_path in position-delete file ${location}`;
  const out = paths.map((p) => {
    let m = mapped.get(p);
    if (m === undefined) {
      m = map.map(p, context);
      mapped.set(p, m);
    }
    return m;
  });
  for (let i = 1; i < paths.length; i++) {
    if (paths[i] === paths[i - 1]) continue;
    if (compareUtf8(paths[i - 1]!, paths[i]!) < 0 && compareUtf8(out[i - 1]!, out[i]!) > 0) {
      throw fail(
        `mapping its file_path values would break the (file_path, pos) order Iceberg requires: ` +
          `${paths[i - 1]} < ${paths[i]} but ${out[i - 1]} > ${out[i]}; the location mapping sends these paths to prefixes that sort the other way`,
      );
    }
  }
  return out;
}

/** Parquet and Spark order strings by their UTF-8 bytes, unsigned. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function sourceCodec(meta: TStruct): number {
  const codec = asInt(getField(meta, ColumnMetaData.CODEC), 'codec');
  return codec === Codec.UNCOMPRESSED || codec === Codec.SNAPPY ? codec : Codec.GZIP;
}

function compress(codec: number, data: Buffer): Buffer {
  if (codec === Codec.UNCOMPRESSED) return data;
  if (codec === Codec.SNAPPY) return snappyCompressLiteral(data);
  return gzipSync(data);
}

/** Byte range of a column chunk: from its dictionary page (when it has one) over all its pages. */
function chunkRange(meta: TStruct, fileLength: number, fail: (m: string) => Error): { start: number; end: number } {
  const dataPage = asInt(getField(meta, ColumnMetaData.DATA_PAGE_OFFSET), 'data_page_offset');
  const dictionaryPage = asOptionalInt(getField(meta, ColumnMetaData.DICTIONARY_PAGE_OFFSET), 'dictionary_page_offset');
  // Some writers put 0 here for "no dictionary"; a dictionary page always precedes the data pages.
  const start = dictionaryPage !== undefined && dictionaryPage > 0 && dictionaryPage < dataPage ? dictionaryPage : dataPage;
  const end = start + asInt(getField(meta, ColumnMetaData.TOTAL_COMPRESSED_SIZE), 'total_compressed_size');
  if (start < 4 || end > fileLength - 8) throw fail(`truncated: a column chunk spans bytes ${start}-${end} of ${fileLength}`);
  return { start, end };
}

/** ColumnChunk.file_offset: writers differ (first data page, or 0); moved with its chunk when it pointed into it. */
function shiftFileOffset(chunk: TStruct, range: { start: number; end: number }, newStart: number): void {
  const value = asOptionalInt(getField(chunk, ColumnChunk.FILE_OFFSET), 'file_offset');
  if (value !== undefined && value >= range.start && value <= range.end) setField(chunk, ColumnChunk.FILE_OFFSET, i64(value - range.start + newStart));
}

interface EncodedChunk {
  bytes: Buffer;
  codec: number;
  uncompressedSize: number;
  numValues: number;
  dictionary: boolean;
  /** Offset of the first data page from the chunk start. */
  dataPageOffset: number;
  dataPages: number;
  min?: Buffer;
  max?: Buffer;
}

/**
 * The new `file_path` column chunk: a PLAIN dictionary page of the distinct paths and data pages
 * (v1) of RLE-encoded dictionary indices. Paths come sorted, so the indices are long runs.
 */
function encodeFilePathChunk(values: string[], codec: number, optional: boolean): EncodedChunk {
  const parts: Buffer[] = [];
  let uncompressedSize = 0;
  const addPage = (header: TStruct, body: Buffer) => {
    const compressed = compress(codec, body);
    setField(header, 2, i32(body.length));
    setField(header, 3, i32(compressed.length));
    const headerBytes = writeStruct(header);
    parts.push(headerBytes, compressed);
    uncompressedSize += headerBytes.length + body.length;
  };
  const levels = (count: number) => (optional ? definitionLevels(count) : Buffer.alloc(0));

  if (values.length === 0) {
    addPage(struct({ 1: i32(PageType.DATA_PAGE), 5: dataPageHeader(0, Encoding.PLAIN) }), levels(0));
    return { bytes: Buffer.concat(parts), codec, uncompressedSize, numValues: 0, dictionary: false, dataPageOffset: 0, dataPages: 1 };
  }

  const ids = new Map<string, number>();
  const dictionary: Buffer[] = [];
  const indices = values.map((v) => {
    let id = ids.get(v);
    if (id === undefined) {
      id = ids.size;
      ids.set(v, id);
      dictionary.push(Buffer.from(v, 'utf8'));
    }
    return id;
  });
  const plain = Buffer.concat(dictionary.flatMap((d) => [uint32(d.length), d]));
  addPage(struct({ 1: i32(PageType.DICTIONARY_PAGE), 7: struct({ 1: i32(dictionary.length), 2: i32(Encoding.PLAIN) }) }), plain);
  const dataPageOffset = parts.reduce((n, p) => n + p.length, 0);

  // Bit width 1 at least: a width of 0 (one dictionary entry) is legal but not every reader takes it.
  const bitWidth = Math.max(1, Math.ceil(Math.log2(dictionary.length)));
  let dataPages = 0;
  for (let from = 0; from < indices.length; from += PAGE_VALUES) {
    const page = indices.slice(from, from + PAGE_VALUES);
    const body = Buffer.concat([levels(page.length), Buffer.from([bitWidth]), rleRuns(page, bitWidth)]);
    addPage(struct({ 1: i32(PageType.DATA_PAGE), 5: dataPageHeader(page.length, Encoding.RLE_DICTIONARY) }), body);
    dataPages++;
  }
  const sorted = [...dictionary].sort(Buffer.compare);
  return {
    bytes: Buffer.concat(parts),
    codec,
    uncompressedSize,
    numValues: values.length,
    dictionary: true,
    dataPageOffset,
    dataPages,
    min: sorted[0],
    max: sorted.at(-1),
  };
}

function dataPageHeader(numValues: number, encoding: number): TStruct {
  return struct({ 1: i32(numValues), 2: i32(encoding), 3: i32(Encoding.RLE), 4: i32(Encoding.RLE) });
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** RLE runs of the RLE/bit-packing hybrid (no bit-packed runs: sorted paths give long runs). */
function rleRuns(values: number[], bitWidth: number): Buffer {
  const width = Math.ceil(bitWidth / 8);
  const out: number[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i + 1;
    while (j < values.length && values[j] === values[i]) j++;
    out.push(...varint((j - i) * 2));
    for (let b = 0; b < width; b++) out.push((values[i]! >>> (8 * b)) & 0xff);
    i = j;
  }
  return Buffer.from(out);
}

/** Definition levels of an optional column with no nulls: one RLE run of 1s, length-prefixed (v1 page). */
function definitionLevels(count: number): Buffer {
  const run = count === 0 ? Buffer.alloc(0) : Buffer.from([...varint(count * 2), 1]);
  return Buffer.concat([uint32(run.length), run]);
}

function describeFilePathChunk(meta: TStruct, chunk: EncodedChunk, start: number): void {
  setField(meta, ColumnMetaData.ENCODINGS, list(TType.I32, (chunk.dictionary ? [Encoding.PLAIN, Encoding.RLE, Encoding.RLE_DICTIONARY] : [Encoding.PLAIN, Encoding.RLE]).map(i32)));
  setField(meta, ColumnMetaData.CODEC, i32(chunk.codec));
  setField(meta, ColumnMetaData.NUM_VALUES, i64(chunk.numValues));
  setField(meta, ColumnMetaData.TOTAL_UNCOMPRESSED_SIZE, i64(chunk.uncompressedSize));
  setField(meta, ColumnMetaData.TOTAL_COMPRESSED_SIZE, i64(chunk.bytes.length));
  setField(meta, ColumnMetaData.DATA_PAGE_OFFSET, i64(start + chunk.dataPageOffset));
  if (chunk.dictionary) setField(meta, ColumnMetaData.DICTIONARY_PAGE_OFFSET, i64(start));
  else removeField(meta, ColumnMetaData.DICTIONARY_PAGE_OFFSET);
  removeField(meta, ColumnMetaData.INDEX_PAGE_OFFSET);
  // Statistics of the new values (never the source paths); size statistics and the rest dropped.
  if (chunk.min && chunk.max) setField(meta, ColumnMetaData.STATISTICS, struct({ 3: i64(0), 5: binary(chunk.max), 6: binary(chunk.min) }));
  else removeField(meta, ColumnMetaData.STATISTICS);
  const encodingStats = [
    ...(chunk.dictionary ? [struct({ 1: i32(PageType.DICTIONARY_PAGE), 2: i32(Encoding.PLAIN), 3: i32(1) })] : []),
    struct({ 1: i32(PageType.DATA_PAGE), 2: i32(chunk.dictionary ? Encoding.RLE_DICTIONARY : Encoding.PLAIN), 3: i32(chunk.dataPages) }),
  ];
  setField(meta, ColumnMetaData.ENCODING_STATS, list(TType.STRUCT, encodingStats));
  removeField(meta, ColumnMetaData.SIZE_STATISTICS);
  removeField(meta, ColumnMetaData.GEOSPATIAL_STATISTICS);
}
