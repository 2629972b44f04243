/**
 * Copies inside one S3 endpoint without moving the bytes through Icerelay: CopyObject up to the
 * multipart threshold, above it CreateMultipartUpload + UploadPartCopy by byte range +
 * CompleteMultipartUpload (CopyObject refuses sources over 5 GiB). Each request is retried on its
 * own, so a throttled part does not restart a 50 GiB copy. A failed multipart copy is aborted so no
 * orphaned parts keep costing storage.
 */

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';

import { mapWithConcurrency } from './concurrency.ts';
import type { S3WriteFields } from './destination-settings.ts';
import { SourceMissingError } from './errors.ts';
import { copySource, type ResolvedLocation } from './locations.ts';
import { isMissingObject } from './object-access.ts';
import { withRetry, type RetryPolicy } from './retry.ts';

type S3Location = Extract<ResolvedLocation, { kind: 's3' }>;

export interface ServerSideCopyOptions {
  size: number;
  /** The source's ETag from HeadObject; every part copy requires it, so a replaced source fails the copy. */
  sourceEtag: string | undefined;
  multipartThreshold: number;
  partSize: number;
  partConcurrency: number;
  writeFields: S3WriteFields;
  retry: RetryPolicy;
  /** Called before each retry of any request of this copy, to count attempts. */
  onRetry: () => void;
  /** Bytes of this file copied so far (grows per part). */
  onBytes: (bytesOfFile: number) => void;
}

/** Returns whether the multipart path was taken. */
export async function serverSideCopy(source: S3Location, destination: S3Location, options: ServerSideCopyOptions): Promise<boolean> {
  if (options.size <= options.multipartThreshold) {
    await withRetry(
      () =>
        destination.client
          .send(
            new CopyObjectCommand({
              Bucket: destination.bucket,
              Key: destination.key,
              CopySource: copySource(source.bucket, source.key),
              CopySourceIfMatch: options.sourceEtag,
              ...options.writeFields,
            }),
          )
          .catch((err: unknown) => {
            // NoSuchKey here is the source's (the destination key is being created).
            throw isMissingObject(err) ? new SourceMissingError(source.location, { cause: err }) : err;
          }),
      options.retry,
      options.onRetry,
    );
    options.onBytes(options.size);
    return false;
  }
  await multipartCopy(source, destination, options);
  return true;
}

async function multipartCopy(source: S3Location, destination: S3Location, options: ServerSideCopyOptions): Promise<void> {
  const { client, bucket, key } = destination;
  const created = await withRetry(
    () => client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...options.writeFields })),
    options.retry,
      options.onRetry,
  );
  const uploadId = created.value.UploadId;
  if (!uploadId) throw new Error(`S3 CreateMultipartUpload returned no UploadId for ${destination.location}`);
  try {
    const ranges = byteRanges(options.size, options.partSize);
    let bytesDone = 0;
    const parts = await mapWithConcurrency(ranges, options.partConcurrency, async ([first, last], index) => {
      const partNumber = index + 1;
      const { value } = await withRetry(
        () =>
          client.send(
            new UploadPartCopyCommand({
              Bucket: bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: partNumber,
              CopySource: copySource(source.bucket, source.key),
              CopySourceRange: `bytes=${first}-${last}`,
              CopySourceIfMatch: options.sourceEtag,
            }),
          ),
        options.retry,
      options.onRetry,
      );
      const etag = value.CopyPartResult?.ETag;
      if (!etag) throw new Error(`S3 UploadPartCopy returned no ETag for part ${partNumber} of ${destination.location}`);
      bytesDone += last - first + 1;
      options.onBytes(bytesDone);
      return { PartNumber: partNumber, ETag: etag };
    });
    await withRetry(
      () =>
        client.send(
          new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
        ),
      options.retry,
      options.onRetry,
    );
  } catch (err) {
    await abortQuietly(destination, uploadId);
    throw err;
  }
}

/** Inclusive [first, last] byte ranges covering `size` bytes in parts of `partSize` (the last may be shorter). */
export function byteRanges(size: number, partSize: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (let first = 0; first < size; first += partSize) ranges.push([first, Math.min(size, first + partSize) - 1]);
  return ranges;
}

/**
 * Best effort: the copy has already failed and that error is the one to report. A lifecycle rule
 * for incomplete multipart uploads is the backstop for an abort that fails too.
 */
export async function abortQuietly(destination: S3Location, uploadId: string): Promise<void> {
  await destination.client
    .send(new AbortMultipartUploadCommand({ Bucket: destination.bucket, Key: destination.key, UploadId: uploadId }))
    .catch(() => undefined);
}
