/**
 * Resolves a location to what the copier needs to move bytes: a local path, or an S3 bucket and key
 * with the client for its endpoint.
 *
 * "Same endpoint" (which allows a server-side copy) means equal connection settings: endpoint URL,
 * region, path style and access key. Two buckets on one server with one set of credentials qualify;
 * the same server reached with other credentials does not, because CopyObject needs one identity
 * allowed to read the source and write the destination.
 */

import { S3Client } from '@aws-sdk/client-s3';

import { tryParseFileLocation } from '../../storage/file-store.ts';
import { UnsupportedLocationError } from '../../storage/object-store.ts';
import { tryParseS3Location, type S3StoreOptions } from '../../storage/s3-store.ts';
import type { StoreResolverConfig } from '../../storage/store-resolver.ts';

export type ResolvedLocation =
  | { kind: 'file'; location: string; path: string }
  | { kind: 's3'; location: string; bucket: string; key: string; client: S3Client; endpointId: string };

export interface ClientPoolOptions {
  requestTimeoutMs: number;
}

/** One S3 client per distinct endpoint identity, shared by source and destination when they match. */
export class S3ClientPool {
  private readonly clients = new Map<string, S3Client>();

  constructor(private readonly options: ClientPoolOptions) {}

  clientFor(settings: S3StoreOptions): { client: S3Client; endpointId: string } {
    const endpointId = endpointIdentity(settings);
    let client = this.clients.get(endpointId);
    if (!client) {
      client = new S3Client({
        endpoint: settings.endpoint,
        region: settings.region,
        forcePathStyle: settings.forcePathStyle,
        credentials: settings.credentials,
        // One attempt per send(): the copier retries itself (retry.ts). The SDK's own retries (3 by
        // default) would multiply with ours, sleep without our jitter policy, and cannot replay a
        // streamed body anyway. The copier's policy then is the only one in charge.
        maxAttempts: 1,
        requestHandler: { requestTimeout: this.options.requestTimeoutMs, connectionTimeout: 10_000 },
        // Checksums only where S3 requires them: the default (CRC32 on every upload) turns a streamed
        // body into aws-chunked encoding, which several S3-compatible servers do not accept. Data
        // integrity is checked by size here and by the file formats' own checksums downstream.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      this.clients.set(endpointId, client);
    }
    return { client, endpointId };
  }

  destroy(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }
}

export function resolveLocation(location: string, config: StoreResolverConfig, pool: S3ClientPool): ResolvedLocation {
  const file = tryParseFileLocation(location);
  if (file) return { kind: 'file', location, path: file.path };
  const s3 = tryParseS3Location(location);
  if (s3) {
    if (s3.key === '') throw new UnsupportedLocationError(location, 'names a bucket, not an object');
    const settings = Object.hasOwn(config.s3Buckets ?? {}, s3.bucket)
      ? (config.s3Buckets?.[s3.bucket] as S3StoreOptions)
      : (config.s3 ?? {});
    return { kind: 's3', location, bucket: s3.bucket, key: s3.key, ...pool.clientFor(settings) };
  }
  throw new UnsupportedLocationError(location, 'supported are s3://, s3a://, s3n://, file: and absolute paths');
}

function endpointIdentity(settings: S3StoreOptions): string {
  return JSON.stringify([
    settings.endpoint ?? null,
    settings.region ?? null,
    settings.forcePathStyle ?? false,
    settings.credentials?.accessKeyId ?? null,
    settings.credentials?.sessionToken ?? null,
  ]);
}

/** The x-amz-copy-source value: bucket and key, URL-encoded per path segment as S3 requires. */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
