/**
 * The object-store port. Every file Icerelay reads or writes (metadata JSON, manifests, data files)
 * goes through one of these, addressed by the location string Iceberg uses: `s3://bucket/key`,
 * `file:/abs/path`, `file:///abs/path` or a plain absolute path.
 *
 * Implementations: file-store.ts (local disk), s3-store.ts (S3 and S3-compatible servers).
 * One contract suite (test/storage/object-store.contract.test.ts) runs against all of them.
 */

export interface ObjectInfo {
  /** The location as the caller would pass it back to read(). */
  location: string;
  size: number;
}

export interface WriteOptions {
  /** Fail with ObjectExistsError instead of replacing an existing object. */
  ifAbsent?: boolean;
  contentType?: string;
}

export interface ObjectStore {
  /** Reads a whole object. Throws ObjectNotFoundError when it does not exist. */
  read(location: string): Promise<Uint8Array>;
  /**
   * Writes a whole object so that readers see either nothing or all of it
   * (file: temp name then rename; S3: a single PUT).
   */
  write(location: string, data: Uint8Array | string, options?: WriteOptions): Promise<void>;
  /** Size of an object, or undefined when it does not exist. */
  stat(location: string): Promise<ObjectInfo | undefined>;
  /** Deletes an object; deleting a missing object is not an error. */
  delete(location: string): Promise<void>;
  /** Every object whose location starts with `prefix` (a folder-like prefix ending in `/` is typical). */
  list(prefix: string): AsyncIterable<ObjectInfo>;
}

/** Raised by read() for a location with no object. Carries the location for error messages. */
export class ObjectNotFoundError extends Error {
  override readonly name = 'ObjectNotFoundError';
  constructor(readonly location: string, options?: { cause?: unknown }) {
    super(`Object does not exist: ${location}`, options);
  }
}

/** Raised by write({ifAbsent: true}) when the object already exists. */
export class ObjectExistsError extends Error {
  override readonly name = 'ObjectExistsError';
  constructor(readonly location: string, options?: { cause?: unknown }) {
    super(`Object already exists: ${location}`, options);
  }
}

/** Raised for a location no store can serve (unknown scheme, relative path, remote file host). */
export class UnsupportedLocationError extends Error {
  override readonly name = 'UnsupportedLocationError';
  constructor(readonly location: string, detail: string) {
    super(`Unsupported location "${location}": ${detail}`);
  }
}
