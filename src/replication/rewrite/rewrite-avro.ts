/**
 * Rewriting manifests and manifest lists (Avro) for a destination.
 *
 * Order of work for a snapshot: rewrite each manifest first (rewriteManifest), then the manifest
 * list with the new manifest lengths (rewriteManifestList): a list entry's `manifest_length` must be
 * the length of the file the replica will hold, and a stale length makes readers fail or misread.
 * Only location-bearing values change; the header (schema, partition spec, format version, content,
 * sync marker) and codec are kept byte for byte, and so is every other value: records are walked
 * with a scanner compiled from the schema and new bytes are spliced in where a path is. Entries of
 * position-delete files (whose bounds hold data file paths) and of delete files rewritten with new
 * sizes are decoded, changed and encoded whole instead.
 */
import type avro from 'avsc';
import type { LocationMap } from './location-map.ts';
import { decodeRecord, encodeRecord, readAvroBlocks, readAvroContainer, typeForSchema, writeAvroBlocks, type AvroBlocks, type AvroRecord } from './avro-container.ts';
import { AvroScanError, compileRecordScanner, encodeString, encodeVarint, readString, readVarint, readVarintBigint, varintAt, type RecordScanner } from './avro-scanner.ts';

/** Manifest entry status (Iceberg spec). DELETED entries are kept but their files are not needed. */
export const ManifestEntryStatus = { EXISTING: 0, ADDED: 1, DELETED: 2 } as const;
/** data_file.content (absent in v1 manifests, which only hold data files). */
export const FileContent = { DATA: 0, POSITION_DELETES: 1, EQUALITY_DELETES: 2 } as const;
/** Field id of the `file_path` column of position-delete files (MetadataColumns.DELETE_FILE_PATH). */
export const DELETE_FILE_PATH_FIELD_ID = 2147483546;

export type ReferencedFileKind = 'data' | 'position-deletes' | 'deletion-vector' | 'equality-deletes';

export interface ReferencedFile {
  kind: ReferencedFileKind;
  sourceLocation: string;
  destinationLocation: string;
  /** `file_size_in_bytes` as the source manifest records it. */
  sizeInBytes: bigint;
  status: number;
  /** For deletion vectors (and v3 file-scoped position deletes): the data file they apply to, mapped. */
  referencedDataFile?: string;
}

/**
 * New values for a delete file whose content the caller rewrote before the manifest (position-delete
 * Parquet files and deletion-vector Puffin files embed data file paths, so their size and blob
 * offsets can change). Keyed by the file's source location.
 */
export interface RewrittenFileValues {
  fileSizeInBytes?: bigint;
  contentOffset?: bigint;
  contentSizeInBytes?: bigint;
}

export interface RewriteManifestOptions {
  rewrittenFiles?: ReadonlyMap<string, RewrittenFileValues>;
}

export interface RewrittenManifest {
  sourceLocation: string;
  destinationLocation: string;
  bytes: Buffer;
  /** Pass to rewriteManifestList (keyed by sourceLocation). */
  length: number;
  /** Live entries (ADDED, EXISTING) only: the files the replica needs copied. */
  files: ReferencedFile[];
  /** DELETED entries' files: not needed, but a rewritten delete file's entry should carry its replica size. */
  deletedFiles: ReferencedFile[];
  /** All entries, DELETED included, for callers that audit a manifest. */
  entryCount: number;
}

interface DataFile extends AvroRecord {
  content?: number;
  file_path: string;
  file_size_in_bytes: bigint;
  lower_bounds?: BoundEntry[] | null;
  upper_bounds?: BoundEntry[] | null;
  referenced_data_file?: string | null;
  content_offset?: bigint | null;
  content_size_in_bytes?: bigint | null;
}

interface BoundEntry {
  key: number;
  value: Buffer;
}

/** The manifest entry fields the byte-level rewrite reads or replaces, in scanner slot order. */
const ENTRY_FIELDS = ['status', 'data_file.content', 'data_file.file_path', 'data_file.file_size_in_bytes', 'data_file.referenced_data_file'] as const;
const [STATUS, CONTENT, FILE_PATH, FILE_SIZE, REFERENCED_DATA_FILE] = [0, 2, 4, 6, 8];
const LIST_FIELDS = ['manifest_path', 'manifest_length'] as const;
const [MANIFEST_PATH, MANIFEST_LENGTH] = [0, 2];

const scanners = new Map<string, RecordScanner>();

/** One compiled scanner per schema and field list (a table's manifests share a few schemas). */
function scannerFor(file: AvroBlocks, fields: readonly string[]): RecordScanner {
  const key = `${fields.join(',')}\n${file.schemaText}`;
  let scanner = scanners.get(key);
  if (!scanner) {
    scanner = compileRecordScanner(file.schema, fields);
    if (scanners.size >= 256) scanners.delete(scanners.keys().next().value!);
    scanners.set(key, scanner);
  }
  return scanner;
}

function requireFields(spans: Int32Array, fields: readonly string[], required: number[], location: string, what: string): void {
  for (const slot of required) {
    if (spans[slot] === -1) throw new Error(`Cannot rewrite ${what} ${location}: its schema has no ${fields[slot / 2]} field`);
  }
}

/**
 * Where a located field's value starts: after the branch index when the field is a union
 * (`["null", "string"]`), at its span otherwise. A null there is an error naming the field.
 */
function valueAt(data: Buffer, spans: Int32Array, slot: number, scanner: RecordScanner, fields: readonly string[], location: string): number {
  const start = spans[slot]!;
  if (!scanner.union[slot / 2]) return start;
  const { value: branch, end } = readVarint(data, start);
  if (branch === scanner.nullBranch[slot / 2]) throw new Error(`Cannot rewrite ${location}: a record's ${fields[slot / 2]} is null`);
  return end;
}

function scanError(error: unknown, location: string): Error {
  return error instanceof AvroScanError ? new Error(`Cannot read Avro file ${location}: ${error.message}`) : (error as Error);
}

/**
 * Rewrites each record of each block: `edit` returns the byte ranges of the record to replace
 * (in order) or, for a record it cannot edit in place, its whole new encoding.
 */
function rewriteBlocks(
  file: AvroBlocks,
  scanner: RecordScanner,
  edit: (data: Buffer, start: number, end: number, spans: Int32Array) => { start: number; end: number; bytes: Buffer }[],
): Buffer {
  const spans = scanner.newSpans();
  const blocks = file.blocks.map(({ count, data }) => {
    const parts: Buffer[] = [];
    let copied = 0;
    let pos = 0;
    try {
      for (let i = 0; i < count; i++) {
        const start = pos;
        pos = scanner.scan(data, pos, spans);
        for (const change of edit(data, start, pos, spans)) {
          parts.push(data.subarray(copied, change.start), change.bytes);
          copied = change.end;
        }
      }
    } catch (error) {
      throw scanError(error, file.location);
    }
    if (pos !== data.length) throw new Error(`Cannot read Avro file ${file.location}: a block has bytes after its last record`);
    parts.push(data.subarray(copied));
    return { count, data: Buffer.concat(parts) };
  });
  return writeAvroBlocks(file, blocks);
}

export function rewriteManifest(bytes: Uint8Array, location: string, map: LocationMap, options: RewriteManifestOptions = {}): RewrittenManifest {
  const file = readAvroBlocks(bytes, location);
  const scanner = scannerFor(file, ENTRY_FIELDS);
  const refNull = scanner.nullBranch[REFERENCED_DATA_FILE / 2];
  const context = `listed in manifest ${location}`;
  const files: ReferencedFile[] = [];
  const deletedFiles: ReferencedFile[] = [];
  let entryCount = 0;
  let type: avro.Type | undefined;
  const out = rewriteBlocks(file, scanner, (data, start, end, spans) => {
    if (entryCount++ === 0) requireFields(spans, ENTRY_FIELDS, [STATUS, FILE_PATH, FILE_SIZE], location, 'manifest');
    // valueAt called directly, not through a closure made per record: this runs for every entry.
    const status = varintAt(data, valueAt(data, spans, STATUS, scanner, ENTRY_FIELDS, location));
    const content = spans[CONTENT] === -1 ? FileContent.DATA : varintAt(data, valueAt(data, spans, CONTENT, scanner, ENTRY_FIELDS, location));
    const pathAt = valueAt(data, spans, FILE_PATH, scanner, ENTRY_FIELDS, location);
    const path = readString(data, pathAt);
    const referencesDataFile = spans[REFERENCED_DATA_FILE] !== -1 && varintAt(data, spans[REFERENCED_DATA_FILE]!) !== refNull;
    let ref: ReferencedFile;
    let change: { start: number; end: number; bytes: Buffer };
    if (content === FileContent.POSITION_DELETES || referencesDataFile || options.rewrittenFiles?.has(path)) {
      type ??= typeForSchema(file.schemaText);
      const rewritten = rewriteEntry(decodeRecord(type, data, start, location).value, location, map, options);
      ref = rewritten.file;
      change = { start, end, bytes: encodeRecord({ type, location }, rewritten.record) };
    } else {
      const destination = map.map(path, context);
      ref = {
        kind: content === FileContent.EQUALITY_DELETES ? 'equality-deletes' : 'data',
        sourceLocation: path,
        destinationLocation: destination,
        sizeInBytes: readVarintBigint(data, valueAt(data, spans, FILE_SIZE, scanner, ENTRY_FIELDS, location)),
        status,
      };
      change = { start: pathAt, end: spans[FILE_PATH + 1]!, bytes: encodeString(destination) };
    }
    (ref.status === ManifestEntryStatus.DELETED ? deletedFiles : files).push(ref);
    return [change];
  });
  return {
    sourceLocation: location,
    destinationLocation: map.map(location, 'manifest'),
    bytes: out,
    length: out.length,
    files,
    deletedFiles,
    entryCount,
  };
}

function rewriteEntry(entry: AvroRecord, manifest: string, map: LocationMap, options: RewriteManifestOptions) {
  const source = entry.data_file as DataFile;
  const context = `listed in manifest ${manifest}`;
  // Shallow copies of the generated record objects keep their prototypes (avsc encodes by field name).
  const dataFile = Object.assign(Object.create(Object.getPrototypeOf(source) as object) as DataFile, source);
  dataFile.file_path = map.map(source.file_path, context);
  if (typeof source.referenced_data_file === 'string') {
    dataFile.referenced_data_file = map.map(source.referenced_data_file, `referenced data file of ${source.file_path} ${context}`);
  }
  const content = source.content ?? FileContent.DATA;
  if (content === FileContent.POSITION_DELETES) rewritePathBounds(dataFile, source, map, context);
  const rewritten = options.rewrittenFiles?.get(source.file_path);
  if (rewritten?.fileSizeInBytes !== undefined) dataFile.file_size_in_bytes = rewritten.fileSizeInBytes;
  if (rewritten?.contentOffset !== undefined) dataFile.content_offset = rewritten.contentOffset;
  if (rewritten?.contentSizeInBytes !== undefined) dataFile.content_size_in_bytes = rewritten.contentSizeInBytes;
  const record = Object.assign(Object.create(Object.getPrototypeOf(entry) as object) as AvroRecord, entry, { data_file: dataFile });

  const status = entry.status as number;
  const file: ReferencedFile = {
    kind: fileKind(content, source),
    sourceLocation: source.file_path,
    destinationLocation: dataFile.file_path,
    sizeInBytes: source.file_size_in_bytes,
    status,
  };
  if (typeof dataFile.referenced_data_file === 'string') file.referencedDataFile = dataFile.referenced_data_file;
  return { record, file };
}

function fileKind(content: number, file: DataFile): ReferencedFileKind {
  if (content === FileContent.DATA) return 'data';
  if (content === FileContent.EQUALITY_DELETES) return 'equality-deletes';
  return file.content_offset !== undefined && file.content_offset !== null ? 'deletion-vector' : 'position-deletes';
}

/**
 * Position-delete files carry metrics on their `file_path` column: the data file paths they cover.
 * When lower == upper the file is scoped to one data file and readers use the bound to find it, so
 * the bound must be mapped like the path; otherwise (a range of paths) it cannot be mapped
 * faithfully and is dropped, which only costs pruning (Iceberg's RewriteTablePath does the same).
 */
function rewritePathBounds(target: DataFile, source: DataFile, map: LocationMap, context: string): void {
  const lower = source.lower_bounds?.find((b) => b.key === DELETE_FILE_PATH_FIELD_ID);
  const upper = source.upper_bounds?.find((b) => b.key === DELETE_FILE_PATH_FIELD_ID);
  if (!lower && !upper) return;
  const replace = (bounds: BoundEntry[] | null | undefined, value: Buffer | undefined) =>
    bounds?.flatMap((b) => {
      if (b.key !== DELETE_FILE_PATH_FIELD_ID) return [b];
      if (!value) return [];
      return [Object.assign(Object.create(Object.getPrototypeOf(b) as object) as BoundEntry, b, { value })];
    }) ?? bounds;
  let value: Buffer | undefined;
  if (lower && upper && lower.value.equals(upper.value)) {
    const path = lower.value.toString('utf8');
    value = Buffer.from(map.map(path, `file_path bound of position-delete file ${source.file_path} ${context}`), 'utf8');
  }
  target.lower_bounds = replace(source.lower_bounds, value);
  target.upper_bounds = replace(source.upper_bounds, value);
}

export interface RewrittenManifestList {
  sourceLocation: string;
  destinationLocation: string;
  bytes: Buffer;
  manifests: { sourceLocation: string; destinationLocation: string; length: bigint }[];
}

/**
 * Rewrites a manifest list. `manifestLengths` maps each listed manifest's source location to the
 * length of its rewritten file; a listed manifest missing from it is an error (never a stale length).
 */
export function rewriteManifestList(
  bytes: Uint8Array,
  location: string,
  map: LocationMap,
  manifestLengths: ReadonlyMap<string, number | bigint>,
): RewrittenManifestList {
  const file = readAvroBlocks(bytes, location);
  const scanner = scannerFor(file, LIST_FIELDS);
  const manifests: RewrittenManifestList['manifests'] = [];
  const out = rewriteBlocks(file, scanner, (data, _start, _end, spans) => {
    if (manifests.length === 0) requireFields(spans, LIST_FIELDS, [MANIFEST_PATH, MANIFEST_LENGTH], location, 'manifest list');
    const pathAt = valueAt(data, spans, MANIFEST_PATH, scanner, LIST_FIELDS, location);
    const lengthAt = valueAt(data, spans, MANIFEST_LENGTH, scanner, LIST_FIELDS, location);
    const path = readString(data, pathAt);
    const length = manifestLengths.get(path);
    if (length === undefined) {
      throw new Error(`Manifest ${path} listed in manifest list ${location} has no rewritten length: rewrite it first`);
    }
    const destination = map.map(path, `listed in manifest list ${location}`);
    manifests.push({ sourceLocation: path, destinationLocation: destination, length: BigInt(length) });
    const changes = [
      { start: pathAt, end: spans[MANIFEST_PATH + 1]!, bytes: encodeString(destination) },
      { start: lengthAt, end: spans[MANIFEST_LENGTH + 1]!, bytes: encodeVarint(length) },
    ];
    return changes.sort((a, b) => a.start - b.start);
  });
  return { sourceLocation: location, destinationLocation: map.map(location, 'manifest list'), bytes: out, manifests };
}

/** The manifests a manifest list names, with their recorded lengths (to read them before rewriting). */
export function readManifestListEntries(bytes: Uint8Array, location: string): { path: string; length: bigint; content: number }[] {
  return readAvroContainer(bytes, location).blocks.flat().map((e) => ({
    path: e.manifest_path as string,
    length: e.manifest_length as bigint,
    content: (e.content as number | undefined) ?? FileContent.DATA,
  }));
}
