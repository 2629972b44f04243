/**
 * The shipper's file copier: `copyFiles(plan, options)` moves every file of a plan to its destination
 * and reports what was copied, skipped and failed. It never throws for a file; one bad file does not
 * stop the others, and the shipper decides what a failure means for the commit.
 *
 * Per file: skip when the destination already has the expected size (redelivery and backfill resume
 * are cheap); else a server-side copy when source and destination share an S3 endpoint, or a streamed
 * copy otherwise. Then, once all files are done, every copied destination is checked for its size.
 * Both checks look sizes up a folder at a time (listed-sizes.ts): a table's files share folders, and
 * a request per file would cost more than the copies themselves on small files.
 */

import { DeleteObjectCommand } from '@aws-sdk/client-s3';

import type { StoreResolverConfig } from '../../storage/store-resolver.ts';
import { mapWithConcurrency } from './concurrency.ts';
import { s3WriteFields, type S3WriteFields } from './destination-settings.ts';
import { resolveLocation, S3ClientPool, type ResolvedLocation } from './locations.ts';
import { headSource } from './object-access.ts';
import { sizesOf } from './listed-sizes.ts';
import { SizeMismatchError } from './errors.ts';
import { ProgressTracker } from './progress.ts';
import { httpStatusOf, resolveRetryPolicy, withRetry, type RetryPolicy } from './retry.ts';
import { serverSideCopy } from './server-side-copy.ts';
import { streamCopy } from './stream-copy.ts';
import type { CopiedFile, CopyFailure, CopyItem, CopyMethod, CopyOptions, CopyPlan, CopyResult } from './types.ts';

export type * from './types.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** S3's smallest part (every part but the last) and its most parts per upload. */
const MIN_PART_SIZE = 5 * MiB;
const MAX_PARTS = 10_000;

interface Settings {
  source: StoreResolverConfig;
  destination: StoreResolverConfig;
  writeFields: S3WriteFields;
  concurrency: number;
  multipartCopyThreshold: number;
  copyPartSize: number;
  copyPartConcurrency: number;
  streamPartSize: number;
  retry: RetryPolicy;
}

type FileOutcome = { kind: 'copied'; copied: CopiedFile } | { kind: 'skipped' } | { kind: 'failed'; failure: CopyFailure };

export async function copyFiles(plan: CopyPlan, options: CopyOptions = {}): Promise<CopyResult> {
  const settings = resolveSettings(options);
  const pool = options.clients ?? new S3ClientPool({ requestTimeoutMs: options.requestTimeoutMs ?? 120_000 });
  const progress = new ProgressTracker(
    plan.map((item) => item.size),
    options.onProgress,
  );
  try {
    const existing = await existingSizes(plan, settings, pool);
    const outcomes = await mapWithConcurrency(plan, settings.concurrency, async (item, index) => {
      const outcome = existing[index] === item.size ? { kind: 'skipped' as const } : await copyOne(item, index, settings, pool, progress);
      progress.fileDone(index);
      return outcome;
    });
    return await summarize(plan, outcomes, settings, pool);
  } finally {
    if (!options.clients) pool.destroy();
  }
}

async function copyOne(
  item: CopyItem,
  index: number,
  settings: Settings,
  pool: S3ClientPool,
  progress: ProgressTracker,
): Promise<FileOutcome> {
  let attempts = 1;
  const onRetry = () => {
    attempts++;
    progress.setFileBytes(index, 0);
  };
  const onBytes = (bytes: number) => progress.setFileBytes(index, bytes);
  try {
    const source = resolveLocation(item.source, settings.source, pool);
    const destination = resolveLocation(item.destination, settings.destination, pool);
    let method: CopyMethod;
    if (source.kind === 's3' && destination.kind === 's3' && source.endpointId === destination.endpointId) {
      // A multipart copy pins its parts to one version of the source by ETag. A single CopyObject is
      // atomic: its result's size is checked with the others after all copies.
      const multipart = item.size > settings.multipartCopyThreshold;
      const head = multipart ? (await withRetry(() => headSource(source, item.size), settings.retry, onRetry)).value : undefined;
      await serverSideCopy(source, destination, {
        size: item.size,
        sourceEtag: head?.etag,
        multipartThreshold: settings.multipartCopyThreshold,
        partSize: partSizeFor(item.size, settings.copyPartSize),
        partConcurrency: settings.copyPartConcurrency,
        writeFields: settings.writeFields,
        retry: settings.retry,
        onRetry,
        onBytes,
      });
      method = multipart ? 'multipart-server-side' : 'server-side';
    } else {
      // A stream cannot be rewound: a failed attempt starts the file over (attempt counted by onRetry).
      const { value: multipart } = await withRetry(
        () =>
          streamCopy(source, destination, {
            size: item.size,
            partSize: partSizeFor(item.size, settings.streamPartSize),
            writeFields: destination.kind === 's3' ? settings.writeFields : {},
            onBytes,
          }),
        settings.retry,
        onRetry,
      );
      method = multipart ? 'multipart-stream' : 'stream';
    }
    return { kind: 'copied', copied: { item, method, attempts } };
  } catch (err) {
    return { kind: 'failed', failure: failureOf(item, err, attempts) };
  }
}

/** Sizes of the plan's destinations now (undefined: absent, or not resolvable, left to copyOne). */
async function existingSizes(plan: CopyPlan, settings: Settings, pool: S3ClientPool): Promise<(number | undefined)[]> {
  const resolved: { location: ResolvedLocation; index: number }[] = [];
  plan.forEach((item, index) => {
    try {
      resolved.push({ location: resolveLocation(item.destination, settings.destination, pool), index });
    } catch {
      // An unsupported location fails in copyOne, with the file named.
    }
  });
  const sizes = new Array<number | undefined>(plan.length);
  const found = await sizesOf(resolved.map((r) => r.location), settings.retry, settings.concurrency).catch(() => []);
  resolved.forEach((r, i) => (sizes[r.index] = found[i]));
  return sizes;
}

async function summarize(plan: CopyPlan, outcomes: FileOutcome[], settings: Settings, pool: S3ClientPool): Promise<CopyResult> {
  const result: CopyResult = { copied: [], skipped: [], bytes: 0, failures: [] };
  const copied = outcomes.flatMap((outcome) => (outcome.kind === 'copied' ? [outcome.copied] : []));
  // Skipped files were just found with the right size; copied ones are checked once all are written:
  // a copy that "succeeded" can still be wrong (a server that truncated, a concurrent delete, a
  // source whose size is not the one its manifest records), and the replica must not point at it.
  // A listing that fails after its retries fails every copied file's verification, naming why.
  let listingError: unknown;
  const sizes = await sizesOf(copied.map((file) => resolveLocation(file.item.destination, settings.destination, pool)), settings.retry, settings.concurrency)
    .catch((err: unknown) => {
      listingError = err;
      return [];
    });
  const verified = await Promise.all(copied.map(async (file, i) => {
    if (listingError !== undefined) return failureOf(file.item, listingError, file.attempts, 'verification failed');
    const size = sizes[i];
    if (size === file.item.size) return undefined;
    if (size === undefined) return failureOf(file.item, new Error(`Destination file is missing after copying: ${file.item.destination}`), file.attempts, 'verification failed');
    if (file.method === 'server-side') {
      // A single CopyObject copies the source as it is: the source has this size, not the one its
      // manifest records. The wrong copy is removed (best effort) so nothing is left behind.
      await removeQuietly(resolveLocation(file.item.destination, settings.destination, pool));
      return failureOf(file.item, new SizeMismatchError(file.item.source, file.item.size, size, 'source'), file.attempts);
    }
    return failureOf(file.item, new SizeMismatchError(file.item.destination, file.item.size, size, 'destination'), file.attempts, 'verification failed');
  }));
  copied.forEach((file, i) => {
    const failure = verified[i];
    if (failure) {
      result.failures.push(failure);
    } else {
      result.copied.push(file);
      result.bytes += file.item.size;
    }
  });
  outcomes.forEach((outcome, i) => {
    if (outcome.kind === 'skipped') result.skipped.push(plan[i] as CopyItem);
    if (outcome.kind === 'failed') result.failures.push(outcome.failure);
  });
  return result;
}

async function removeQuietly(target: ResolvedLocation): Promise<void> {
  if (target.kind !== 's3') return;
  await target.client.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: target.key })).catch(() => undefined);
}

function failureOf(item: CopyItem, err: unknown, attempts: number, stage = 'failed'): CopyFailure {
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  return { item, message: `Copy of ${item.source} to ${item.destination} ${stage}${tries}: ${describeError(err)}`, cause: err };
}

/** The error's own message, with the S3 error code and HTTP status when it has them. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const status = httpStatusOf(err);
  const code = (err as { code?: string }).code;
  const label = status !== undefined ? `${err.name} (HTTP ${status})` : code ? `${err.name} (${code})` : err.name;
  return err.message && err.message !== err.name && err.message !== 'UnknownError' ? `${label}: ${err.message}` : label;
}

/** The configured part size, raised when the file would need more than S3's 10,000 parts. */
function partSizeFor(size: number, configured: number): number {
  return Math.max(configured, Math.ceil(size / MAX_PARTS));
}

function resolveSettings(options: CopyOptions): Settings {
  const settings: Settings = {
    source: options.source ?? {},
    destination: options.destination ?? {},
    writeFields: s3WriteFields(options.destinationWrite),
    concurrency: options.concurrency ?? 16,
    multipartCopyThreshold: options.multipartCopyThreshold ?? 5 * GiB,
    copyPartSize: options.copyPartSize ?? 512 * MiB,
    copyPartConcurrency: options.copyPartConcurrency ?? 4,
    streamPartSize: options.streamPartSize ?? 16 * MiB,
    retry: resolveRetryPolicy(options.retry),
  };
  for (const name of ['copyPartSize', 'streamPartSize'] as const) {
    const value = settings[name];
    if (!Number.isInteger(value) || value < MIN_PART_SIZE || value > 5 * GiB) {
      throw new RangeError(`${name} must be an integer from 5 MiB to 5 GiB (S3's part limits), got ${value}`);
    }
  }
  if (!(settings.multipartCopyThreshold >= 0 && settings.multipartCopyThreshold <= 5 * GiB)) {
    throw new RangeError(`multipartCopyThreshold must be from 0 to 5 GiB (CopyObject's limit), got ${settings.multipartCopyThreshold}`);
  }
  return settings;
}
