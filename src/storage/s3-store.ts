/**
 * ObjectStore on S3 and S3-compatible servers (MinIO, moto, Ceph...), via @aws-sdk/client-s3.
 *
 * Locations are `s3://bucket/key`; `s3a://` and `s3n://` (Hadoop's spellings, common in Iceberg
 * tables written by Spark) name the same object. Keys are taken literally, without percent-decoding,
 * as Iceberg's S3FileIO does. list() answers in the scheme of the prefix it was given.
 */

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  type StorageClass,
} from '@aws-sdk/client-s3';

import {
  ObjectExistsError,
  ObjectNotFoundError,
  type ObjectInfo,
  type ObjectStore,
  type WriteOptions,
} from './object-store.ts';

export interface S3StoreOptions {
  /** For S3-compatible servers, e.g. `http://127.0.0.1:9100`; omit for AWS. */
  endpoint?: string;
  /** Omit to use the SDK default chain (AWS_REGION, profile...). */
  region?: string;
  /** `http://host/bucket/key` instead of `http://bucket.host/key`; most non-AWS servers need it. */
  forcePathStyle?: boolean;
  /** Omit to use the SDK default chain (environment, profile, instance role...). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Keys per ListObjectsV2 page (S3's maximum and default is 1000); small values exercise paging in tests. */
  listPageSize?: number;
  /** Storage class of every object written (e.g. STANDARD_IA); default: the bucket's. */
  storageClass?: string;
  /** Writes every object with SSE-KMS under this key (id, ARN or alias); default: the bucket's encryption. */
  sseKmsKeyId?: string;
}

export interface S3Location {
  /** As spelled in the location: `s3`, `s3a` or `s3n` (any case). */
  scheme: string;
  bucket: string;
  key: string;
}

// Flag `s`: a newline in a key is unusual but legal, and still part of the key.
const S3_LOCATION = /^(s3|s3a|s3n):\/\/([^/]+)(?:\/(.*))?$/is;

/** Splits an S3 location, or returns undefined when it is not one. The key may be empty. */
export function tryParseS3Location(location: string): S3Location | undefined {
  const match = S3_LOCATION.exec(location);
  if (!match) return undefined;
  return { scheme: match[1] as string, bucket: match[2] as string, key: match[3] ?? '' };
}

/** How many times a conditional PUT is re-sent after S3 answers 409 ConditionalRequestConflict. */
const CONDITIONAL_CONFLICT_ATTEMPTS = 5;

export class S3Store implements ObjectStore {
  private readonly client: S3Client;
  private readonly listPageSize: number | undefined;
  private readonly storageClass: string | undefined;
  private readonly sseKmsKeyId: string | undefined;

  constructor(options: S3StoreOptions = {}) {
    const config: S3ClientConfig = {};
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    if (options.region !== undefined) config.region = options.region;
    if (options.forcePathStyle !== undefined) config.forcePathStyle = options.forcePathStyle;
    if (options.credentials !== undefined) config.credentials = options.credentials;
    const pageSize = options.listPageSize;
    if (pageSize !== undefined && !(Number.isInteger(pageSize) && pageSize >= 1 && pageSize <= 1000)) {
      throw new Error(`S3Store listPageSize must be an integer from 1 to 1000, got ${pageSize}`);
    }
    this.client = new S3Client(config);
    this.listPageSize = pageSize;
    this.storageClass = options.storageClass;
    this.sseKmsKeyId = options.sseKmsKeyId;
  }

  async read(location: string): Promise<Uint8Array> {
    const { bucket, key } = parseObjectLocation(location);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!response.Body) throw new Error(`S3 GetObject returned no body for ${location}`);
      return await response.Body.transformToByteArray();
    } catch (err) {
      if (isMissingObjectError(err)) throw new ObjectNotFoundError(location, { cause: err });
      throw err;
    }
  }

  async write(location: string, data: Uint8Array | string, options: WriteOptions = {}): Promise<void> {
    const { bucket, key } = parseObjectLocation(location);
    const body = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    const put = new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      // Stated, so the SDK does not take an empty body for a stream of unknown length.
      ContentLength: body.byteLength,
      ContentType: options.contentType,
      // S3 (since 2024-08) and recent S3-compatible servers refuse the PUT with 412 when the key exists,
      // deciding atomically on the server. A server that ignores the header would silently overwrite;
      // the contract suite's concurrent ifAbsent test is there to catch such a server.
      IfNoneMatch: options.ifAbsent ? '*' : undefined,
      StorageClass: this.storageClass as StorageClass | undefined,
      ...(this.sseKmsKeyId ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: this.sseKmsKeyId } : {}),
    });
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(put);
        return;
      } catch (err) {
        if (options.ifAbsent && httpStatus(err) === 412) throw new ObjectExistsError(location, { cause: err });
        // 409 means another conditional write to this key was in flight; S3 asks the client to retry,
        // and the retry then gets 412 if that other write won.
        if (options.ifAbsent && httpStatus(err) === 409 && attempt < CONDITIONAL_CONFLICT_ATTEMPTS) {
          await sleep(50 * attempt);
          continue;
        }
        throw err;
      }
    }
  }

  async stat(location: string): Promise<ObjectInfo | undefined> {
    const { bucket, key } = parseObjectLocation(location);
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { location, size: response.ContentLength ?? 0 };
    } catch (err) {
      if (isMissingObjectError(err)) return undefined;
      throw err;
    }
  }

  async delete(location: string): Promise<void> {
    const { bucket, key } = parseObjectLocation(location);
    // S3 answers 204 for a missing key too, which is exactly the port's "idempotent delete".
    await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const { scheme, bucket, key: keyPrefix } = parseS3Location(prefix);
    let continuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: keyPrefix === '' ? undefined : keyPrefix,
          MaxKeys: this.listPageSize,
          ContinuationToken: continuationToken,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        yield { location: `${scheme}://${bucket}/${object.Key}`, size: object.Size ?? 0 };
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
  }

  /** Closes the client's idle sockets; the store must not be used afterwards. */
  destroy(): void {
    this.client.destroy();
  }
}

function parseS3Location(location: string): S3Location {
  const parsed = tryParseS3Location(location);
  if (!parsed) throw new Error(`Not an S3 location: "${location}" (expected s3://bucket/key, s3a:// or s3n://)`);
  return parsed;
}

/** Like parseS3Location, for operations on one object, which need a non-empty key. */
function parseObjectLocation(location: string): S3Location {
  const parsed = parseS3Location(location);
  if (parsed.key === '') throw new Error(`S3 location names a bucket, not an object: "${location}"`);
  return parsed;
}

/**
 * GetObject says NoSuchKey; HeadObject has no body, so only NotFound/404. A missing bucket is not a
 * missing object: that is a configuration error and must surface as such.
 */
function isMissingObjectError(err: unknown): boolean {
  const name = (err as Error | undefined)?.name;
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatus(err) === 404;
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
