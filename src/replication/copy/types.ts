/**
 * The copier's vocabulary: what the shipper asks for (a plan of files) and what it gets back.
 *
 * The copier knows nothing of Iceberg: the shipper has already mapped every source location to its
 * destination (DESIGN.md section 4) and knows each file's size from the manifests.
 */
import type { S3ClientPool } from './locations.ts';

import type { StoreResolverConfig } from '../../storage/store-resolver.ts';
import type { RetryPolicy } from './retry.ts';

export interface CopyItem {
  /** `s3://bucket/key` (or s3a/s3n), `file:` location or absolute path. */
  source: string;
  destination: string;
  /** Size the metadata says the file has; a source or destination of another size is an error. */
  size: number;
}

export type CopyPlan = readonly CopyItem[];

/** How a file got to its destination; reported per file so tests and logs can tell. */
export type CopyMethod = 'server-side' | 'multipart-server-side' | 'stream' | 'multipart-stream';

export interface CopiedFile {
  item: CopyItem;
  method: CopyMethod;
  /** 1 when the first attempt succeeded. */
  attempts: number;
}

export interface CopyFailure {
  item: CopyItem;
  /** One line naming the file and the reason, fit for a status page. */
  message: string;
  cause: unknown;
}

export interface CopyResult {
  copied: CopiedFile[];
  /** Already at the destination with the expected size; not copied again. */
  skipped: CopyItem[];
  /** Bytes copied (skipped files not counted). */
  bytes: number;
  failures: CopyFailure[];
}

export interface CopyProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/** Settings applied to every object the copier writes at the destination. */
export interface DestinationWriteSettings {
  /** e.g. `STANDARD_IA`, `INTELLIGENT_TIERING`; omit for the bucket's default. */
  storageClass?: string;
  /** Writes with SSE-KMS under this key (id, ARN or alias); omit for the bucket's default encryption. */
  sseKmsKeyId?: string;
}

export interface CopyOptions {
  /** S3 settings for source locations (same shape as the store resolver's). */
  source?: StoreResolverConfig;
  /** S3 settings for destination locations. */
  destination?: StoreResolverConfig;
  destinationWrite?: DestinationWriteSettings;
  /** Files copied at the same time. Default 16. */
  concurrency?: number;
  /** Server-side copies above this many bytes use a multipart copy (CopyObject's limit is 5 GiB). Default 5 GiB. */
  multipartCopyThreshold?: number;
  /** Part size of a multipart server-side copy. Default 512 MiB; at least 5 MiB. */
  copyPartSize?: number;
  /** Parts of one multipart server-side copy in flight at once. Default 4. */
  copyPartConcurrency?: number;
  /**
   * Part size of a streamed upload, which is also the most a streamed copy holds in memory; streams up
   * to this size go as one PutObject. Default 16 MiB; at least 5 MiB.
   */
  streamPartSize?: number;
  retry?: Partial<RetryPolicy>;
  /** Per-request socket timeout in ms; a timed-out request counts as a retryable failure. Default 120 s. */
  requestTimeoutMs?: number;
  onProgress?: (progress: CopyProgress) => void;
  /**
   * S3 clients to use (and keep open) across calls: a long-running shipper reuses its connections
   * from table to table. Without it, each call opens clients and closes them at the end.
   */
  clients?: S3ClientPool;
}
