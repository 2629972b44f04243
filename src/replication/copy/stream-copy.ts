/**
 * Copies by streaming the bytes through Icerelay: across S3 endpoints, and between local files and S3.
 * Memory per file is bounded by one upload part (or by stream buffers for files and small objects).
 *
 *   S3 or file -> S3:  one PutObject with the known length when the file fits in one part, else a
 *                      multipart upload fed part by part from the stream (aborted on failure);
 *   S3 or file -> file: a temp file next to the target, synced, then renamed into place, so a reader
 *                      never sees a partial file (the FileStore's invariant).
 *
 * One call is one attempt: a stream cannot be rewound, so the caller retries the whole file.
 */

import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';

import { TEMP_FILE_PREFIX } from '../../storage/file-store.ts';
import { ByteCounter } from './byte-counter.ts';
import type { S3WriteFields } from './destination-settings.ts';
import type { ResolvedLocation } from './locations.ts';
import { openSource } from './object-access.ts';
import { abortQuietly } from './server-side-copy.ts';

type S3Location = Extract<ResolvedLocation, { kind: 's3' }>;
type FileLocation = Extract<ResolvedLocation, { kind: 'file' }>;

export interface StreamCopyOptions {
  size: number;
  partSize: number;
  writeFields: S3WriteFields;
  onBytes: (bytesOfFile: number) => void;
}

/** Returns whether a multipart upload was used. */
export async function streamCopy(source: ResolvedLocation, destination: ResolvedLocation, options: StreamCopyOptions): Promise<boolean> {
  const body = await openSource(source, options.size);
  const counter = new ByteCounter(source.location, options.size, options.onBytes);
  if (destination.kind === 'file') {
    await streamToFile(body, counter, destination);
    return false;
  }
  const counted = body.pipe(counter);
  // pipe() does not forward errors; without this a source that fails mid-way would leave the upload waiting.
  body.once('error', (err) => counter.destroy(err));
  try {
    if (options.size <= options.partSize) {
      await putStream(counted, destination, options);
      return false;
    }
    await multipartUpload(counted, destination, options);
    return true;
  } finally {
    body.destroy();
    counter.destroy();
  }
}

async function putStream(body: Readable, destination: S3Location, options: StreamCopyOptions): Promise<void> {
  // A stream's length is known only from here: stating it lets the SDK send it without buffering.
  await destination.client.send(
    new PutObjectCommand({
      Bucket: destination.bucket,
      Key: destination.key,
      Body: body,
      ContentLength: options.size,
      ...options.writeFields,
    }),
  );
}

async function multipartUpload(body: Readable, destination: S3Location, options: StreamCopyOptions): Promise<void> {
  const { client, bucket, key } = destination;
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...options.writeFields }));
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error(`S3 CreateMultipartUpload returned no UploadId for ${destination.location}`);
  try {
    const parts: CompletedPart[] = [];
    const uploadPart = async (data: Buffer): Promise<void> => {
      const partNumber = parts.length + 1;
      const response = await client.send(
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: data, ContentLength: data.length }),
      );
      if (!response.ETag) throw new Error(`S3 UploadPart returned no ETag for part ${partNumber} of ${destination.location}`);
      parts.push({ PartNumber: partNumber, ETag: response.ETag });
    };
    // Parts go one after another: the next part is read while nothing else is held, so memory stays
    // at one part per file; parallelism comes from copying several files at once.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      while (pendingBytes >= options.partSize) {
        const joined = Buffer.concat(pending);
        await uploadPart(joined.subarray(0, options.partSize));
        const rest = joined.subarray(options.partSize);
        pending = rest.length > 0 ? [rest] : [];
        pendingBytes = rest.length;
      }
    }
    if (pendingBytes > 0 || parts.length === 0) await uploadPart(Buffer.concat(pending));
    await client.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
    );
  } catch (err) {
    await abortQuietly(destination, uploadId);
    throw err;
  }
}

async function streamToFile(body: Readable, counter: ByteCounter, destination: FileLocation): Promise<void> {
  const dir = dirname(destination.path);
  await mkdir(dir, { recursive: true });
  // Prefixed like the FileStore's temp files, so its list() hides one a crash leaves behind.
  const tempPath = `${dir}/${TEMP_FILE_PREFIX}${randomUUID()}`;
  try {
    await pipeline(body, counter, createWriteStream(tempPath, { flags: 'wx' }));
    const handle = await open(tempPath, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tempPath, destination.path);
  } catch (err) {
    await unlink(tempPath).catch(() => undefined);
    throw err;
  }
}
