/**
 * The copier's size lookups a folder at a time, against the real S3 server: the sizes must be the
 * same as a HeadObject per file would give, whatever else the folder holds.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { sizesOf } from '../../../src/replication/copy/listed-sizes.ts';
import { resolveLocation, S3ClientPool } from '../../../src/replication/copy/locations.ts';
import { resolveRetryPolicy } from '../../../src/replication/copy/retry.ts';
import { SOURCE_BUCKET, createBuckets, newPrefix, putObject, sourceSettings, testClient } from './s3-fixture.ts';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 30_000 });

let client: S3Client;
const pool = new S3ClientPool({ requestTimeoutMs: 30_000 });
const retry = resolveRetryPolicy({ baseDelayMs: 1, maxDelayMs: 5 });

beforeAll(async () => {
  client = testClient();
  await createBuckets(client);
});
afterAll(() => {
  client?.destroy();
  pool.destroy();
});

const locate = (key: string) => resolveLocation(`s3://${SOURCE_BUCKET}/${key}`, { s3: sourceSettings() }, pool);

describe('sizesOf', () => {
  it('gives each object its size and a missing one none, in a folder crowded with other objects and subfolders', async () => {
    const prefix = newPrefix();
    // Other objects sort before, between and after the wanted ones; a subfolder sorts among them.
    const others = ['a0', 'b5', 'c1', 'c2', 'c3', 'd9', 'sub/x', 'sub/y', 'zz'];
    const wanted = { b: 11, c: 22, d: 33 };
    for (const name of others) await putObject(client, SOURCE_BUCKET, `${prefix}${name}`, Buffer.alloc(1));
    for (const [name, size] of Object.entries(wanted)) await putObject(client, SOURCE_BUCKET, `${prefix}${name}`, Buffer.alloc(size));
    const keys = ['d', 'missing-c4', 'b', 'c', 'a-missing', 'zzz-missing', 'sub/y'];
    const expected = [33, undefined, 11, 22, undefined, undefined, 1];
    // Pages of 2 keys: the listing reaches only part of the folder and the rest is asked one by one;
    // pages of 1000: one listing answers for the folder.
    for (const pageSize of [2, 1000]) {
      const sizes = await sizesOf(keys.map((k) => locate(`${prefix}${k}`)), retry, 4, pageSize);
      expect(sizes, `page size ${pageSize}`).toEqual(expected);
    }
  });

  it('answers local files and single objects too', async () => {
    const prefix = newPrefix();
    await putObject(client, SOURCE_BUCKET, `${prefix}only`, Buffer.alloc(5));
    const local = resolveLocation(import.meta.filename, {}, pool);
    const sizes = await sizesOf([locate(`${prefix}only`), local, locate(`${prefix}none`)], retry, 2);
    expect(sizes[0]).toBe(5);
    expect(sizes[1]).toBeGreaterThan(0);
    expect(sizes[2]).toBeUndefined();
  });
});
