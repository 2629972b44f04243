/**
 * Metadata files on object storage: naming (`<NNNNN>-<uuid>.metadata.json` under the table's
 * metadata folder, as Iceberg Java names them), writing (gzip when the table asks for it) and
 * reading (gzip detected by its magic bytes, whatever the name says).
 */
import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { IcebergError, invalidArgument, notFound } from '../errors/iceberg-error.ts';
import { parseMetadataFileVersion, parseTableMetadata, serializeTableMetadata } from '../iceberg/table-metadata.ts';
import type { TableMetadata, ViewMetadata } from '../iceberg/types.ts';
import { parseViewMetadata, serializeViewMetadata } from '../iceberg/view-metadata.ts';
import { ObjectNotFoundError, UnsupportedLocationError } from '../storage/object-store.ts';
import type { StoreResolver } from '../storage/store-resolver.ts';
import { cachedMetadataText, forgetMetadataText, rememberMetadataText } from './metadata-text-cache.ts';

export type { StoreResolver };

const METADATA_PATH = 'write.metadata.path';
const COMPRESSION = 'write.metadata.compression-codec';

/** The location of the next metadata file of an entity whose current file is `previous`. */
export function nextMetadataFileLocation(location: string, properties: Record<string, string>, previous: string | undefined): string {
  const folder = (properties[METADATA_PATH] ?? `${location}/metadata`).replace(/\/+$/, '');
  const version = previous === undefined ? 0 : Math.max(0, parseMetadataFileVersion(previous) + 1);
  const gzip = properties[COMPRESSION]?.toLowerCase() === 'gzip';
  return `${folder}/${String(version).padStart(5, '0')}-${randomUUID()}${gzip ? '.gz' : ''}.metadata.json`;
}

/** File-system error codes caused by where a client asked a file to go, not by this server. */
const CLIENT_LOCATION_ERRORS = new Set(['ENOTDIR', 'EEXIST', 'EISDIR', 'ENAMETOOLONG', 'EROFS', 'EACCES', 'EPERM', 'ELOOP']);

/**
 * Turns storage failures that a client's location caused into 400s naming the location; other
 * failures (the store being down) stay errors of this server.
 */
function locationError(error: unknown, location: string, action: string): unknown {
  if (error instanceof UnsupportedLocationError) return invalidArgument(`Invalid location ${location}: ${error.message}`);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CLIENT_LOCATION_ERRORS.has(code)) return invalidArgument(`Cannot ${action} ${location}: ${code}`);
  return error;
}

/**
 * How a metadata file is read. `cached`: from memory when this process wrote or read the file
 * before (metadata files are immutable; see metadata-text-cache.ts). For a commit's base and for a
 * file about to be registered or replicated; a table load always reads storage, so that a file
 * deleted behind the catalog's back is reported, not served.
 */
export interface ReadOptions {
  cached?: boolean;
}

async function readText(stores: StoreResolver, location: string, options: ReadOptions): Promise<string> {
  const cached = options.cached ? cachedMetadataText(stores, location) : undefined;
  if (cached !== undefined) return cached;
  let bytes: Uint8Array;
  try {
    bytes = await stores.storeFor(location).read(location);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) {
      // The wording Iceberg Java uses; the RCK checks for it.
      throw notFound(`Failed to open input stream for file: ${location}`);
    }
    throw locationError(error, location, 'read');
  }
  const gzipped = bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  let text: string;
  try {
    text = Buffer.from(gzipped ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (error) {
    throw invalidArgument(`Cannot read metadata file ${location}: ${error instanceof Error ? error.message : String(error)}`);
  }
  rememberMetadataText(stores, location, text);
  return text;
}

async function writeText(stores: StoreResolver, location: string, text: string): Promise<void> {
  const data = location.endsWith('.gz.metadata.json') ? gzipSync(text) : text;
  try {
    await stores.storeFor(location).write(location, data, { ifAbsent: true, contentType: 'application/json' });
  } catch (error) {
    throw locationError(error, location, 'write');
  }
  rememberMetadataText(stores, location, text);
}

/** Parses a metadata file, reporting a file that is not valid metadata as a 400 naming it. */
function parseFile<T>(location: string, text: string, parse: (text: string) => T): T {
  try {
    return parse(text);
  } catch (error) {
    const reason = error instanceof IcebergError || error instanceof Error ? error.message : String(error);
    throw invalidArgument(`Invalid metadata file ${location}: ${reason}`);
  }
}

export async function readTableMetadata(stores: StoreResolver, location: string, options: ReadOptions = {}): Promise<TableMetadata> {
  return parseFile(location, await readText(stores, location, options), parseTableMetadata);
}

export async function writeTableMetadata(stores: StoreResolver, metadata: TableMetadata, previous: string | undefined): Promise<string> {
  const location = nextMetadataFileLocation(metadata.location, metadata.properties, previous);
  await writeText(stores, location, serializeTableMetadata(metadata));
  return location;
}

export async function readViewMetadata(stores: StoreResolver, location: string, options: ReadOptions = {}): Promise<ViewMetadata> {
  return parseFile(location, await readText(stores, location, options), parseViewMetadata);
}

export async function writeViewMetadata(stores: StoreResolver, metadata: ViewMetadata, previous: string | undefined): Promise<string> {
  const location = nextMetadataFileLocation(metadata.location, metadata.properties, previous);
  await writeText(stores, location, serializeViewMetadata(metadata));
  return location;
}

/** Deletes a file we wrote for a commit that did not land; failures only leave an orphan behind. */
export async function deleteQuietly(stores: StoreResolver, location: string): Promise<void> {
  forgetMetadataText(stores, location);
  try {
    await stores.storeFor(location).delete(location);
  } catch {
    // An orphaned metadata file is harmless: nothing points at it.
  }
}
