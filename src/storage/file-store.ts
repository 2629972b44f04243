/**
 * ObjectStore on the local file system.
 *
 * Locations may be spelled `file:/abs/path`, `file:///abs/path`, `file://localhost/abs/path` or
 * `/abs/path`; all four name the same file. list() answers in the spelling of the prefix it was given,
 * so a caller can pass what it listed straight back to read().
 *
 * Paths are taken literally, without percent-decoding: Iceberg writes file locations Hadoop-style,
 * where a space in a directory name is a plain space, not `%20`.
 *
 * Invariant: a reader never sees a half-written object. Every write goes to a temp file in the target
 * directory (same file system, so the final step is atomic) and is then renamed or linked into place.
 */

import { randomUUID } from 'node:crypto';
import { type Dirent, constants as fsConstants } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

import {
  ObjectExistsError,
  ObjectNotFoundError,
  UnsupportedLocationError,
  type ObjectInfo,
  type ObjectStore,
  type WriteOptions,
} from './object-store.ts';

/** Temp files start with this; list() hides them, including any left behind by a crash. */
export const TEMP_FILE_PREFIX = '.icerelay-tmp-';

/** A file location split into the spelling of its scheme part and the absolute path. */
export interface FileLocation {
  /** `file:`, `file://`, `file://localhost` or '' (plain path); `head + path` is the original string. */
  head: string;
  path: string;
}

// Flag `s`: a newline in a file name is still part of the path.
const FILE_LOCATION = /^(file:(?:\/\/(?:localhost)?(?=\/))?)?(\/.*)$/is;

/** Splits a file location, or returns undefined when it is not one FileStore can serve. */
export function tryParseFileLocation(location: string): FileLocation | undefined {
  const match = FILE_LOCATION.exec(location);
  const path = match?.[2];
  // A path starting `//` is a host name in disguise (`file://server/x`) or not POSIX: refuse both.
  if (path === undefined || path.startsWith('//')) return undefined;
  return { head: match?.[1] ?? '', path };
}

function parseFileLocation(location: string): FileLocation {
  const parsed = tryParseFileLocation(location);
  if (!parsed) {
    throw new UnsupportedLocationError(location, 'expected /abs/path, file:/abs/path, file:///abs/path or file://localhost/abs/path');
  }
  return parsed;
}

export class FileStore implements ObjectStore {
  async read(location: string): Promise<Uint8Array> {
    const { path } = parseFileLocation(location);
    try {
      return new Uint8Array(await readFile(path));
    } catch (err) {
      if (isMissingFileError(err)) throw new ObjectNotFoundError(location, { cause: err });
      throw err;
    }
  }

  async write(location: string, data: Uint8Array | string, options: WriteOptions = {}): Promise<void> {
    const { path } = parseFileLocation(location);
    const dir = dirname(path);
    await mkdir(dir, { recursive: true });
    const tempPath = `${dir}/${TEMP_FILE_PREFIX}${randomUUID()}`;
    await writeDurably(tempPath, data);
    try {
      if (options.ifAbsent) {
        // link() fails with EEXIST if the name is taken, atomically; a check-then-rename would let two
        // writers both see "absent" and the second silently replace the first.
        await link(tempPath, path).catch((err: unknown) => {
          if (errorCode(err) === 'EEXIST') throw new ObjectExistsError(location, { cause: err });
          throw err;
        });
      } else {
        await rename(tempPath, path);
      }
    } finally {
      // After link() the temp name is a second name for the same file; after rename() it is gone.
      await unlink(tempPath).catch(() => undefined);
    }
    await syncDirectory(dir);
  }

  async stat(location: string): Promise<ObjectInfo | undefined> {
    const { path } = parseFileLocation(location);
    try {
      const info = await stat(path);
      // A directory is not an object, as on S3 where "folders" are only key prefixes.
      return info.isFile() ? { location, size: info.size } : undefined;
    } catch (err) {
      if (isMissingFileError(err)) return undefined;
      throw err;
    }
  }

  async delete(location: string): Promise<void> {
    const { path } = parseFileLocation(location);
    try {
      await unlink(path);
    } catch (err) {
      // Deleting what is not there (or is a directory, hence not an object) is a no-op.
      if (isMissingFileError(err)) return;
      throw err;
    }
  }

  /**
   * Walks the directory holding the prefix and yields every file whose location starts with it.
   * Locations are built from the prefix string itself, so `file://localhost/x/` lists as
   * `file://localhost/x/...` and `/x/` as `/x/...`. Order is by name within each directory.
   */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const { head, path } = parseFileLocation(prefix);
    // Walk from the last `/` of the prefix: `/t/metadata/v` walks `/t/metadata/` and filters on `v`.
    const walkRoot = path.slice(0, path.lastIndexOf('/') + 1);
    for await (const file of walkFiles(walkRoot, path)) {
      yield { location: head + file.path, size: file.size };
    }
  }
}

/** Files under `dir` (which ends in `/`) whose path starts with `prefix`, depth first. */
async function* walkFiles(dir: string, prefix: string): AsyncGenerator<{ path: string; size: number }> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissingFileError(err)) return;
    throw err;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith(TEMP_FILE_PREFIX)) continue;
    const path = dir + entry.name;
    if (entry.isDirectory()) {
      // Descend only where a match is still possible: into `/t/meta/` for prefix `/t/metadata/v`,
      // or anything below the prefix once the prefix is fully inside the path.
      const subdir = `${path}/`;
      if (subdir.startsWith(prefix) || prefix.startsWith(subdir)) yield* walkFiles(subdir, prefix);
    } else if (path.startsWith(prefix)) {
      const size = await sizeOfFile(path, entry);
      if (size !== undefined) yield { path, size };
    }
  }
}

/**
 * Size of a regular file or of a symlink to one; undefined for anything else or when it vanished
 * mid-walk. Symlinked directories are not followed, so a link loop cannot hang list().
 */
async function sizeOfFile(path: string, entry: Dirent): Promise<number | undefined> {
  if (!entry.isFile() && !entry.isSymbolicLink()) return undefined;
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : undefined;
  } catch (err) {
    if (isMissingFileError(err)) return undefined;
    throw err;
  }
}

/** Writes a new file and flushes it to disk, so a rename after a crash never exposes an empty file. */
async function writeDurably(path: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw err;
  }
  await handle.close();
}

/** Flushes a directory entry (the new name) to disk; best effort where directories cannot be opened. */
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms and file systems refuse fsync on a directory; the data itself is already synced.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** ENOENT: no such file; ENOTDIR: a parent is a file; EISDIR: a directory, which is not an object. */
function isMissingFileError(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

function errorCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}
