/**
 * Rewriting manifests and manifest lists (Avro) for a destination.
 *
 * Order of work for a snapshot: rewrite each manifest first (rewriteManifest), then the manifest
 * list with the new manifest lengths (rewriteManifestList): a list entry's `manifest_length` must be
 * the length of the file the replica will hold, and a stale length makes readers fail or misread.
 * Only location-bearing values change; the header (schema, partition spec, format version, content,
 * sync marker) and codec are kept byte for byte and every other record value is re-encoded as read.
 */
import type { LocationMap } from './location-map.ts';
import { readAvroContainer, writeAvroContainer, type AvroContainer, type AvroRecord } from './avro-container.ts';

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

export function rewriteManifest(bytes: Uint8Array, location: string, map: LocationMap, options: RewriteManifestOptions = {}): RewrittenManifest {
  const container = readAvroContainer(bytes, location);
  const files: ReferencedFile[] = [];
  const deletedFiles: ReferencedFile[] = [];
  let entryCount = 0;
  const blocks = container.blocks.map((records) =>
    records.map((entry) => {
      entryCount++;
      const { record, file } = rewriteEntry(entry, location, map, options);
      if (file.status === ManifestEntryStatus.DELETED) deletedFiles.push(file);
      else files.push(file);
      return record;
    }),
  );
  const out = writeAvroContainer(container, blocks);
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
  const container: AvroContainer = readAvroContainer(bytes, location);
  const manifests: RewrittenManifestList['manifests'] = [];
  const blocks = container.blocks.map((records) =>
    records.map((entry) => {
      const path = entry.manifest_path as string;
      const length = manifestLengths.get(path);
      if (length === undefined) {
        throw new Error(`Manifest ${path} listed in manifest list ${location} has no rewritten length: rewrite it first`);
      }
      const record = Object.assign(Object.create(Object.getPrototypeOf(entry) as object) as AvroRecord, entry, {
        manifest_path: map.map(path, `listed in manifest list ${location}`),
        manifest_length: BigInt(length),
      });
      manifests.push({ sourceLocation: path, destinationLocation: record.manifest_path as string, length: BigInt(length) });
      return record;
    }),
  );
  return { sourceLocation: location, destinationLocation: map.map(location, 'manifest list'), bytes: writeAvroContainer(container, blocks), manifests };
}

/** The manifests a manifest list names, with their recorded lengths (to read them before rewriting). */
export function readManifestListEntries(bytes: Uint8Array, location: string): { path: string; length: bigint; content: number }[] {
  return readAvroContainer(bytes, location).blocks.flat().map((e) => ({
    path: e.manifest_path as string,
    length: e.manifest_length as bigint,
    content: (e.content as number | undefined) ?? FileContent.DATA,
  }));
}
