/**
 * A location mapping for replication: literal prefix pairs (source prefix -> destination prefix).
 *
 * The longest matching source prefix wins, and a location under no source prefix is an error that
 * names the location (and, when given, the file or field it came from): a silently unmapped path
 * would leave the replica pointing at the source bucket, which looks fine until the source is gone.
 *
 * Equivalences used when matching (the output always uses the destination prefix as written):
 * - `s3://`, `s3a://` and `s3n://` name the same S3 object (the latter two are Hadoop connector
 *   schemes Spark/Hive tables often carry), so a source prefix written with any of them matches
 *   locations written with any other.
 * - `file:/p`, `file:///p` and `file://localhost/p` are the same local path (RFC 8089: an empty or
 *   `localhost` authority). `file://otherhost/p` is NOT equivalent (a remote host), and a bare `/p`
 *   is NOT equivalent to `file:/p`: Hadoop resolves it against the default file system (often HDFS).
 * - Scheme names compare case-insensitively; everything after the scheme (bucket, key) is
 *   case-sensitive, as object keys are.
 *
 * Prefixes match on path boundaries only: `s3://b/wh` matches `s3://b/wh` and `s3://b/wh/x` but not
 * `s3://b/wh2/x`, so one table's prefix can never capture a sibling whose name merely starts alike.
 */

export interface PrefixPair {
  source: string;
  destination: string;
}

/** Thrown when a location is under no mapped source prefix. */
export class UnmappedLocationError extends Error {
  override readonly name = 'UnmappedLocationError';
  constructor(readonly location: string, readonly context: string | undefined, prefixes: readonly string[]) {
    super(
      `Location ${location}${context ? ` (${context})` : ''} is under no mapped source prefix; ` +
        `mapped prefixes: ${prefixes.join(', ') || '(none)'}`,
    );
  }
}

const S3_ALIASES = /^s3[an]?:\/\//i;
const LOCAL_FILE = /^file:(\/\/(localhost)?)?(?=\/)/i;

/** The form two equivalent locations share (see the module comment). */
export function canonicalLocation(location: string): string {
  if (S3_ALIASES.test(location)) return location.replace(S3_ALIASES, 's3://');
  if (LOCAL_FILE.test(location)) return location.replace(LOCAL_FILE, 'file:');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(location);
  return scheme ? scheme[1]!.toLowerCase() + location.slice(scheme[1]!.length) : location;
}

interface Entry {
  source: string;
  canonicalSource: string;
  destination: string;
}

export class LocationMap {
  private readonly entries: Entry[];

  constructor(pairs: readonly PrefixPair[]) {
    const seen = new Set<string>();
    this.entries = pairs.map(({ source, destination }) => {
      if (!source || !destination) throw new Error('Location mapping: prefixes must not be empty');
      if (source.endsWith('/') !== destination.endsWith('/')) {
        // Otherwise `s3://a/wh/` -> `s3://b/wh` would produce `s3://b/whx` for `s3://a/wh/x`.
        throw new Error(`Location mapping ${source} -> ${destination}: both prefixes must end with "/" or neither`);
      }
      const canonicalSource = canonicalLocation(source);
      if (seen.has(canonicalSource)) throw new Error(`Location mapping: source prefix ${source} is mapped twice`);
      seen.add(canonicalSource);
      return { source, canonicalSource, destination };
    });
    this.entries.sort((a, b) => b.canonicalSource.length - a.canonicalSource.length);
  }

  get pairs(): PrefixPair[] {
    return this.entries.map(({ source, destination }) => ({ source, destination }));
  }

  /** The destination location, or undefined when no source prefix matches. */
  tryMap(location: string): string | undefined {
    let canonical: string | undefined;
    for (const entry of this.entries) {
      // Written with the same scheme as the prefix (the usual case): no need to canonicalize. Only
      // the scheme part differs between equivalent forms, so the rest is the same either way.
      let rest: string;
      if (location.startsWith(entry.source)) {
        rest = location.slice(entry.source.length);
      } else {
        canonical ??= canonicalLocation(location);
        if (!canonical.startsWith(entry.canonicalSource)) continue;
        rest = canonical.slice(entry.canonicalSource.length);
      }
      if (rest === '' || entry.canonicalSource.endsWith('/') || rest.startsWith('/')) return entry.destination + rest;
    }
    return undefined;
  }

  /**
   * The destination location. `context` says where the location came from (a metadata field, a
   * manifest file) and goes into the error.
   */
  map(location: string, context?: string): string {
    const mapped = this.tryMap(location);
    if (mapped === undefined) throw new UnmappedLocationError(location, context, this.entries.map((e) => e.source));
    return mapped;
  }

  /** The reverse mapping (destination -> source), e.g. to fail back or to check a round trip. */
  inverse(): LocationMap {
    return new LocationMap(this.entries.map(({ source, destination }) => ({ source: destination, destination: source })));
  }
}
