/**
 * The real S3-compatible server for the copier tests: moto, started by `bash scripts/s3-server.sh start`,
 * found through ICERELAY_TEST_S3_ENDPOINT (`eval "$(bash scripts/s3-server.sh env)"`).
 *
 * Unlike the object-store contract suite, these tests fail (not skip) without it: the copier is mostly
 * S3 code, and a green run that tested none of it would mislead.
 *
 * Two endpoints: `sourceSettings` and `otherEndpointSettings` reach the same moto with different
 * access keys. The copier identifies an endpoint by its connection settings (URL, region, path
 * style, access key), so to it they are two endpoints and it must stream between them, which is
 * the code path under test. moto ignores the key, so both see the same buckets; a second moto
 * process would only make the test slower without exercising anything more in the copier.
 */

import { randomUUID } from 'node:crypto';

import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import type { S3StoreOptions } from '../../../src/storage/s3-store.ts';

export const SOURCE_BUCKET = 'icerelay-copier-source';
export const REPLICA_BUCKET = 'icerelay-copier-replica';

export function s3Endpoint(): string {
  const endpoint = process.env.ICERELAY_TEST_S3_ENDPOINT;
  if (!endpoint) {
    throw new Error(
      'ICERELAY_TEST_S3_ENDPOINT is not set: the copier tests need a real S3-compatible server. Run ' +
        '`bash scripts/s3-server.sh start` and `eval "$(bash scripts/s3-server.sh env)"`, then rerun.',
    );
  }
  return endpoint;
}

function settingsWithKey(accessKeyId: string): S3StoreOptions {
  return {
    endpoint: s3Endpoint(),
    region: process.env.AWS_REGION ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'icerelay-test' },
  };
}

export const sourceSettings = (): S3StoreOptions => settingsWithKey(process.env.AWS_ACCESS_KEY_ID ?? 'icerelay-test');
export const otherEndpointSettings = (): S3StoreOptions => settingsWithKey('icerelay-other-endpoint');

/** A plain client for arranging and inspecting objects (SDK retries on, unlike the copier's). */
export function testClient(): S3Client {
  return new S3Client({ ...sourceSettings(), maxAttempts: 2 });
}

export async function createBuckets(client: S3Client): Promise<void> {
  for (const bucket of [SOURCE_BUCKET, REPLICA_BUCKET]) {
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') continue;
      throw new Error(
        `S3 test server at ${s3Endpoint()} failed to create bucket ${bucket}: ${String(err)}. ` +
          'Is it running? Start it with: bash scripts/s3-server.sh start',
        { cause: err },
      );
    }
  }
}

/** A fresh key prefix, so tests never see each other's objects. */
export const newPrefix = (): string => `${randomUUID()}/`;

/** Deterministic, non-repeating-ish bytes: a copy that reorders or drops a range is caught. */
export function patternBytes(size: number, seed = 1): Buffer {
  const data = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    if (i % 4 === 0) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
    }
    data[i] = (x >>> ((i % 4) * 8)) & 0xff;
  }
  return data;
}

export async function putObject(client: S3Client, bucket: string, key: string, data: Uint8Array): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data, ContentLength: data.length }));
}

export async function getObject(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await (response.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

export async function headObject(client: S3Client, bucket: string, key: string) {
  return client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
}
