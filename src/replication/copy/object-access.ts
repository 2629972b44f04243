/**
 * Size lookups and source streams over both kinds of location, mapping "not there" to the copier's
 * errors. Each function is one request; callers wrap them in withRetry.
 */

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';

import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';

import { SizeMismatchError, SourceMissingError } from './errors.ts';
import type { ResolvedLocation } from './locations.ts';
import { httpStatusOf } from './retry.ts';

export interface ObjectHead {
  size: number;
  /** S3 only: pins a multipart copy's parts to one version of the source. */
  etag?: string;
}

/** Size of the object, or undefined when there is none. */
export async function headObject(target: ResolvedLocation): Promise<ObjectHead | undefined> {
  if (target.kind === 'file') {
    try {
      const info = await stat(target.path);
      return info.isFile() ? { size: info.size } : undefined;
    } catch (err) {
      if (isMissingFile(err)) return undefined;
      throw err;
    }
  }
  try {
    const response = await target.client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: target.key }));
    return { size: response.ContentLength ?? 0, etag: response.ETag };
  } catch (err) {
    if (isMissingObject(err)) return undefined;
    throw err;
  }
}

/** The source's head, failing permanently when it is missing or not of the expected size. */
export async function headSource(source: ResolvedLocation, expectedSize: number): Promise<ObjectHead> {
  const head = await headObject(source);
  if (!head) throw new SourceMissingError(source.location);
  if (head.size !== expectedSize) throw new SizeMismatchError(source.location, expectedSize, head.size, 'source');
  return head;
}

/**
 * A stream of the source's bytes. Its length is checked up front where the store tells it (S3's
 * Content-Length, the file's size); the stream itself is counted by the caller.
 */
export async function openSource(source: ResolvedLocation, expectedSize: number): Promise<Readable> {
  if (source.kind === 'file') {
    await headSource(source, expectedSize);
    return createReadStream(source.path);
  }
  let response;
  try {
    response = await source.client.send(new GetObjectCommand({ Bucket: source.bucket, Key: source.key }));
  } catch (err) {
    if (isMissingObject(err)) throw new SourceMissingError(source.location, { cause: err });
    throw err;
  }
  const body = response.Body as Readable | undefined;
  if (!body) throw new Error(`S3 GetObject returned no body for ${source.location}`);
  if (response.ContentLength !== undefined && response.ContentLength !== expectedSize) {
    body.destroy();
    throw new SizeMismatchError(source.location, expectedSize, response.ContentLength, 'source');
  }
  return body;
}

/** A missing bucket is a configuration error, not a missing file: it must surface as itself. */
export function isMissingObject(err: unknown): boolean {
  const name = (err as Error | undefined)?.name;
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatusOf(err) === 404;
}

function isMissingFile(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
