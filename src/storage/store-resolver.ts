/**
 * Picks the ObjectStore for a location: FileStore for `file:` locations and absolute paths, S3Store
 * for `s3://`, `s3a://` and `s3n://`.
 *
 * S3 settings come from `s3` (every bucket) unless `s3Buckets` names the bucket, so a source and a
 * replica in different regions or on different servers can each get their own client. Stores are
 * created on first use and reused: one S3 client per distinct bucket configuration.
 */

import { FileStore, tryParseFileLocation } from './file-store.ts';
import { UnsupportedLocationError, type ObjectStore } from './object-store.ts';
import { S3Store, tryParseS3Location, type S3StoreOptions } from './s3-store.ts';

export interface StoreResolverConfig {
  /** Settings for every S3 bucket not listed in s3Buckets; omit to use the SDK defaults. */
  s3?: S3StoreOptions;
  /** Per-bucket settings, by bucket name; they replace `s3` entirely for that bucket. */
  s3Buckets?: Record<string, S3StoreOptions>;
}

export interface StoreResolver {
  /** The store serving `location`; throws for a location no store understands. */
  storeFor(location: string): ObjectStore;
  /** Releases the S3 clients' sockets. */
  destroy(): void;
}

export function createStoreResolver(config: StoreResolverConfig = {}): StoreResolver {
  const fileStore = new FileStore();
  const defaultS3Options = config.s3 ?? {};
  // Keyed by the options object, so buckets sharing the default share one client.
  const s3Stores = new Map<S3StoreOptions, S3Store>();

  function s3StoreFor(bucket: string): S3Store {
    const options = Object.hasOwn(config.s3Buckets ?? {}, bucket)
      ? (config.s3Buckets?.[bucket] as S3StoreOptions)
      : defaultS3Options;
    let store = s3Stores.get(options);
    if (!store) {
      store = new S3Store(options);
      s3Stores.set(options, store);
    }
    return store;
  }

  return {
    storeFor(location) {
      if (tryParseFileLocation(location)) return fileStore;
      const s3Location = tryParseS3Location(location);
      if (s3Location) return s3StoreFor(s3Location.bucket);
      throw new UnsupportedLocationError(location, 'supported are s3://, s3a://, s3n://, file: and absolute paths');
    },
    destroy() {
      for (const store of s3Stores.values()) store.destroy();
      s3Stores.clear();
    },
  };
}
