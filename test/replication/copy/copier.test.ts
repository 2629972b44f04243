/**
 * copyFiles against a real S3-compatible server (moto, see s3-fixture.ts) and the local file system.
 * Fault injection lives in copier-faults.test.ts.
 */

import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { copyFiles, type CopyOptions, type CopyProgress } from '../../../src/replication/copy/copier.ts';
import { SourceMissingError, SizeMismatchError } from '../../../src/replication/copy/errors.ts';
import {
  REPLICA_BUCKET,
  SOURCE_BUCKET,
  createBuckets,
  getObject,
  headObject,
  newPrefix,
  otherEndpointSettings,
  patternBytes,
  putObject,
  sourceSettings,
  testClient,
} from './s3-fixture.ts';

const MiB = 1024 * 1024;

/** Buffer.equals, not toEqual: vitest's deep equality walks megabytes byte by byte, for minutes. */
function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Buffer.from(actual).equals(Buffer.from(expected)), 'content differs').toBe(true);
}

// Real server, files of several MiB: more than vitest's 5 s default on a slow machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 30_000 });

let client: S3Client;
let dir: string;

beforeAll(async () => {
  client = testClient();
  await createBuckets(client);
  dir = await mkdtemp(join(tmpdir(), 'icerelay-copier-'));
});
afterAll(async () => {
  client?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Source and destination on one endpoint: server-side copies. */
const sameEndpoint = (): CopyOptions => ({ source: { s3: sourceSettings() }, destination: { s3: sourceSettings() } });
/** Destination on another endpoint: streamed copies. */
const crossEndpoint = (): CopyOptions => ({ source: { s3: sourceSettings() }, destination: { s3: otherEndpointSettings() } });
const fastRetry = { baseDelayMs: 1, maxDelayMs: 5 };

describe('server-side copy within one endpoint', () => {
  it('copies with CopyObject between buckets', async () => {
    const prefix = newPrefix();
    const data = patternBytes(100_000, 7);
    await putObject(client, SOURCE_BUCKET, `${prefix}data/a.parquet`, data);
    const item = { source: `s3://${SOURCE_BUCKET}/${prefix}data/a.parquet`, destination: `s3://${REPLICA_BUCKET}/${prefix}data/a.parquet`, size: data.length };

    const result = await copyFiles([item], sameEndpoint());

    expect(result.failures).toEqual([]);
    expect(result.copied).toEqual([{ item, method: 'server-side', attempts: 1 }]);
    expect(result.bytes).toBe(data.length);
    expectSameBytes(await getObject(client, REPLICA_BUCKET, `${prefix}data/a.parquet`), data);
  });

  it('copies keys with spaces, unicode and URL-special characters', async () => {
    const prefix = newPrefix();
    const key = `${prefix}dt=2024-01-01 00:00/ünï 表+%20#?.parquet`;
    const data = patternBytes(1000, 3);
    await putObject(client, SOURCE_BUCKET, key, data);
    const result = await copyFiles(
      [{ source: `s3a://${SOURCE_BUCKET}/${key}`, destination: `s3://${REPLICA_BUCKET}/${key}`, size: data.length }],
      sameEndpoint(),
    );
    expect(result.failures).toEqual([]);
    expectSameBytes(await getObject(client, REPLICA_BUCKET, key), data);
  });

  it('uses a multipart copy above the threshold, part by byte range', async () => {
    const prefix = newPrefix();
    const data = patternBytes(12 * MiB + 123, 11);
    await putObject(client, SOURCE_BUCKET, `${prefix}big.parquet`, data);
    const item = { source: `s3://${SOURCE_BUCKET}/${prefix}big.parquet`, destination: `s3://${REPLICA_BUCKET}/${prefix}big.parquet`, size: data.length };
    const progress: CopyProgress[] = [];

    const result = await copyFiles([item], {
      ...sameEndpoint(),
      multipartCopyThreshold: 5 * MiB,
      copyPartSize: 5 * MiB,
      onProgress: (p) => progress.push(p),
    });

    expect(result.failures).toEqual([]);
    expect(result.copied.map((c) => c.method)).toEqual(['multipart-server-side']);
    expectSameBytes(await getObject(client, REPLICA_BUCKET, `${prefix}big.parquet`), data);
    // Three parts (5 + 5 + 2 MiB): progress grows per part and ends complete.
    const bytes = progress.map((p) => p.bytesDone);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    expect(new Set(bytes).size).toBeGreaterThanOrEqual(3);
    expect(progress.at(-1)).toEqual({ filesDone: 1, filesTotal: 1, bytesDone: data.length, bytesTotal: data.length });
  });
});

describe('streamed copies', () => {
  it('streams across endpoints with a multipart upload, byte for byte', async () => {
    const prefix = newPrefix();
    const data = patternBytes(12 * MiB + 5, 13);
    await putObject(client, SOURCE_BUCKET, `${prefix}big.parquet`, data);
    const item = { source: `s3://${SOURCE_BUCKET}/${prefix}big.parquet`, destination: `s3://${REPLICA_BUCKET}/${prefix}x/big.parquet`, size: data.length };

    const result = await copyFiles([item], { ...crossEndpoint(), streamPartSize: 5 * MiB });

    expect(result.failures).toEqual([]);
    expect(result.copied).toEqual([{ item, method: 'multipart-stream', attempts: 1 }]);
    expectSameBytes(await getObject(client, REPLICA_BUCKET, `${prefix}x/big.parquet`), data);
  });

  it('streams a small file across endpoints with one PutObject', async () => {
    const prefix = newPrefix();
    const data = patternBytes(4096, 17);
    await putObject(client, SOURCE_BUCKET, `${prefix}small.avro`, data);
    const result = await copyFiles(
      [{ source: `s3://${SOURCE_BUCKET}/${prefix}small.avro`, destination: `s3://${REPLICA_BUCKET}/${prefix}small.avro`, size: data.length }],
      crossEndpoint(),
    );
    expect(result.copied.map((c) => c.method)).toEqual(['stream']);
    expectSameBytes(await getObject(client, REPLICA_BUCKET, `${prefix}small.avro`), data);
  });

  it('copies a local file to S3 (multipart above one part) and an empty file', async () => {
    const prefix = newPrefix();
    const data = patternBytes(6 * MiB, 19);
    await writeFile(join(dir, 'local.parquet'), data);
    await writeFile(join(dir, 'empty.bin'), '');

    const result = await copyFiles(
      [
        { source: `file://${join(dir, 'local.parquet')}`, destination: `s3://${REPLICA_BUCKET}/${prefix}local.parquet`, size: data.length },
        { source: join(dir, 'empty.bin'), destination: `s3://${REPLICA_BUCKET}/${prefix}empty.bin`, size: 0 },
      ],
      { destination: { s3: sourceSettings() }, streamPartSize: 5 * MiB },
    );

    expect(result.failures).toEqual([]);
    expect(result.copied.map((c) => c.method)).toEqual(['multipart-stream', 'stream']);
    expectSameBytes(await getObject(client, REPLICA_BUCKET, `${prefix}local.parquet`), data);
    expect((await headObject(client, REPLICA_BUCKET, `${prefix}empty.bin`)).ContentLength).toBe(0);
  });

  it('copies S3 to a local file through a temp file, leaving no temp file behind', async () => {
    const prefix = newPrefix();
    const data = patternBytes(3 * MiB + 1, 23);
    await putObject(client, SOURCE_BUCKET, `${prefix}down.parquet`, data);
    const target = join(dir, 'down', 'nested', 'down.parquet');

    const result = await copyFiles(
      [{ source: `s3://${SOURCE_BUCKET}/${prefix}down.parquet`, destination: `file:${target}`, size: data.length }],
      { source: { s3: sourceSettings() } },
    );

    expect(result.failures).toEqual([]);
    expectSameBytes(await readFile(target), data);
    expect(await readdir(join(dir, 'down', 'nested'))).toEqual(['down.parquet']);
  });
});

describe('skipping and size checks', () => {
  it('skips a destination that already has the expected size, copies one of another size', async () => {
    const prefix = newPrefix();
    const data = patternBytes(2000, 29);
    await putObject(client, SOURCE_BUCKET, `${prefix}a`, data);
    await putObject(client, SOURCE_BUCKET, `${prefix}b`, data);
    await putObject(client, REPLICA_BUCKET, `${prefix}a`, patternBytes(2000, 99));
    await putObject(client, REPLICA_BUCKET, `${prefix}b`, patternBytes(10, 99));
    const a = { source: `s3://${SOURCE_BUCKET}/${prefix}a`, destination: `s3://${REPLICA_BUCKET}/${prefix}a`, size: 2000 };
    const b = { source: `s3://${SOURCE_BUCKET}/${prefix}b`, destination: `s3://${REPLICA_BUCKET}/${prefix}b`, size: 2000 };

    const result = await copyFiles([a, b], sameEndpoint());

    expect(result.skipped).toEqual([a]);
    expect(result.copied.map((c) => c.item)).toEqual([b]);
    expect(result.bytes).toBe(2000);
    // Skipped means untouched: the same-size object is not replaced.
    expectSameBytes(await getObject(client, REPLICA_BUCKET, `${prefix}a`), patternBytes(2000, 99));
    expectSameBytes(await getObject(client, REPLICA_BUCKET, `${prefix}b`), data);
  });

  it.each([
    ['server-side', sameEndpoint],
    ['streamed', crossEndpoint],
  ])('fails a source whose size is not the expected one (%s) and writes nothing', async (_name, options) => {
    const prefix = newPrefix();
    await putObject(client, SOURCE_BUCKET, `${prefix}f`, patternBytes(1500));
    const item = { source: `s3://${SOURCE_BUCKET}/${prefix}f`, destination: `s3://${REPLICA_BUCKET}/${prefix}f`, size: 1000 };

    const result = await copyFiles([item], { ...options(), retry: fastRetry });

    expect(result.copied).toEqual([]);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]?.cause).toBeInstanceOf(SizeMismatchError);
    expect(result.failures[0]?.message).toContain(`s3://${SOURCE_BUCKET}/${prefix}f has 1500 bytes, expected 1000`);
    await expect(headObject(client, REPLICA_BUCKET, `${prefix}f`)).rejects.toThrow();
  });

  it('fails a local source whose size is not the expected one', async () => {
    await writeFile(join(dir, 'short.bin'), patternBytes(10));
    const result = await copyFiles([{ source: join(dir, 'short.bin'), destination: join(dir, 'short-copy.bin'), size: 11 }]);
    expect(result.failures[0]?.message).toMatch(/short\.bin has 10 bytes, expected 11/);
  });
});

describe('failures', () => {
  it('names a missing source while the other files still copy', async () => {
    const prefix = newPrefix();
    const files = Array.from({ length: 4 }, (_, i) => `${prefix}f${i}`);
    for (const key of files) await putObject(client, SOURCE_BUCKET, key, patternBytes(500));
    // One run per path; each writes under its own destination folder so the second is not all skips.
    for (const [run, options] of [sameEndpoint(), crossEndpoint()].entries()) {
      const item = (key: string) => ({ source: `s3://${SOURCE_BUCKET}/${key}`, destination: `s3://${REPLICA_BUCKET}/${run}/${key}`, size: 500 });
      const missing = item(`${prefix}gone.parquet`);
      const plan = [...files.slice(0, 2).map(item), missing, ...files.slice(2).map(item)];
      const started = Date.now();
      const result = await copyFiles(plan, { ...options, retry: { baseDelayMs: 1_000 } });
      expect(result.copied).toHaveLength(4);
      expect(result.failures).toHaveLength(1);
      expect(result.failures[0]?.item).toEqual(missing);
      expect(result.failures[0]?.cause).toBeInstanceOf(SourceMissingError);
      expect(result.failures[0]?.message).toContain(`Source file does not exist: s3://${SOURCE_BUCKET}/${prefix}gone.parquet`);
      // Not retried: a 404 fails at once (a retry would say "after 2 attempts").
      expect(result.failures[0]?.message).not.toMatch(/attempts/);
      expect(Date.now() - started).toBeLessThan(5_000);
    }
  });

  it('names a missing local source', async () => {
    const result = await copyFiles([{ source: join(dir, 'nope.bin'), destination: join(dir, 'nope-copy.bin'), size: 1 }]);
    expect(result.failures[0]?.message).toContain(`Source file does not exist: ${join(dir, 'nope.bin')}`);
  });

  it('reports a missing destination bucket as itself, not as a missing file', async () => {
    const prefix = newPrefix();
    await putObject(client, SOURCE_BUCKET, `${prefix}x`, patternBytes(10));
    const result = await copyFiles(
      [{ source: `s3://${SOURCE_BUCKET}/${prefix}x`, destination: `s3://icerelay-no-such-bucket/${prefix}x`, size: 10 }],
      { ...sameEndpoint(), retry: fastRetry },
    );
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]?.message).toMatch(/NoSuchBucket/);
  });
});

describe('destination settings', () => {
  const write = { storageClass: 'STANDARD_IA', sseKmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/icerelay-test-key' };

  it.each([
    ['server-side', () => ({ ...sameEndpoint() }), 1000],
    ['multipart server-side', () => ({ ...sameEndpoint(), multipartCopyThreshold: 5 * MiB, copyPartSize: 5 * MiB }), 6 * MiB],
    ['streamed', () => ({ ...crossEndpoint() }), 1000],
    ['multipart streamed', () => ({ ...crossEndpoint(), streamPartSize: 5 * MiB }), 6 * MiB],
  ])('%s copies carry the storage class and SSE-KMS key', async (_name, options, size) => {
    const prefix = newPrefix();
    await putObject(client, SOURCE_BUCKET, `${prefix}f`, patternBytes(size));
    const result = await copyFiles(
      [{ source: `s3://${SOURCE_BUCKET}/${prefix}f`, destination: `s3://${REPLICA_BUCKET}/${prefix}f`, size }],
      { ...options(), destinationWrite: write },
    );
    expect(result.failures).toEqual([]);
    const head = await headObject(client, REPLICA_BUCKET, `${prefix}f`);
    expect(head.StorageClass).toBe('STANDARD_IA');
    expect(head.ServerSideEncryption).toBe('aws:kms');
    expect(head.SSEKMSKeyId).toBe(write.sseKmsKeyId);
  });
});

describe('progress and many files', () => {
  it('copies a mixed plan and reports progress up to the totals', async () => {
    const prefix = newPrefix();
    const sizes = [0, 1, 1000, 70_000, 300_000];
    for (const [i, size] of sizes.entries()) await putObject(client, SOURCE_BUCKET, `${prefix}${i}`, patternBytes(size, i + 1));
    const plan = sizes.map((size, i) => ({ source: `s3://${SOURCE_BUCKET}/${prefix}${i}`, destination: `s3://${REPLICA_BUCKET}/${prefix}${i}`, size }));
    const progress: CopyProgress[] = [];

    const result = await copyFiles(plan, { ...crossEndpoint(), concurrency: 2, onProgress: (p) => progress.push({ ...p }) });

    expect(result.failures).toEqual([]);
    expect(result.bytes).toBe(sizes.reduce((a, b) => a + b));
    const total = sizes.reduce((a, b) => a + b);
    expect(progress.every((p) => p.bytesDone <= total && p.filesDone <= 5 && p.filesTotal === 5 && p.bytesTotal === total)).toBe(true);
    expect(progress.at(-1)).toEqual({ filesDone: 5, filesTotal: 5, bytesDone: total, bytesTotal: total });
    for (const [i, size] of sizes.entries()) {
      expectSameBytes(await getObject(client, REPLICA_BUCKET, `${prefix}${i}`), patternBytes(size, i + 1));
    }
  });

  it('returns an empty summary for an empty plan', async () => {
    expect(await copyFiles([])).toEqual({ copied: [], skipped: [], bytes: 0, failures: [] });
  });
});
