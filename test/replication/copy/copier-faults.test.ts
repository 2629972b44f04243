/**
 * Retries and bounded concurrency, with faults injected by msw in front of the real moto server:
 * msw's Node interceptor sees the SDK's http requests; a handler answers the first N with an error
 * (or drops the connection) and passes the rest through to moto untouched.
 */

import { S3Client } from '@aws-sdk/client-s3';
import { HttpResponse, delay, http, passthrough } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { copyFiles, type CopyOptions } from '../../../src/replication/copy/copier.ts';
import {
  REPLICA_BUCKET,
  SOURCE_BUCKET,
  createBuckets,
  getObject,
  newPrefix,
  otherEndpointSettings,
  patternBytes,
  putObject,
  s3Endpoint,
  sourceSettings,
  testClient,
} from './s3-fixture.ts';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 30_000 });

const server = setupServer();
let client: S3Client;

beforeAll(async () => {
  client = testClient();
  await createBuckets(client);
  server.listen({ onUnhandledRequest: 'bypass' });
});
afterEach(() => server.resetHandlers());
afterAll(() => {
  server.close();
  client?.destroy();
});

const sameEndpoint = (): CopyOptions => ({ source: { s3: sourceSettings() }, destination: { s3: sourceSettings() } });
const crossEndpoint = (): CopyOptions => ({ source: { s3: sourceSettings() }, destination: { s3: otherEndpointSettings() } });
const fastRetry = (maxAttempts: number) => ({ maxAttempts, baseDelayMs: 1, maxDelayMs: 10 });

const slowDown = () =>
  new HttpResponse(
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
    { status: 503, headers: { 'Content-Type': 'application/xml' } },
  );
const internalError = () =>
  new HttpResponse(
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>',
    { status: 500, headers: { 'Content-Type': 'application/xml' } },
  );
const accessDenied = () =>
  new HttpResponse('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>', {
    status: 403,
    headers: { 'Content-Type': 'application/xml' },
  });

type Fault = 'slowdown' | 'internal' | 'reset';
const respond = (fault: Fault) => (fault === 'slowdown' ? slowDown() : fault === 'internal' ? internalError() : HttpResponse.error());

/** Fails the first `count` requests matching `method` on the object at `key` of the replica bucket. */
function failFirst(method: 'put' | 'get', bucket: string, key: string, count: number, fault: Fault): { seen: () => number } {
  let seen = 0;
  const url = `${s3Endpoint()}/${bucket}/${key}`;
  server.use(
    http[method](url, () => {
      seen++;
      return seen <= count ? respond(fault) : passthrough();
    }),
  );
  return { seen: () => seen };
}

async function sourceObject(size: number): Promise<{ key: string; data: Buffer }> {
  const key = `${newPrefix()}data.parquet`;
  const data = patternBytes(size, 5);
  await putObject(client, SOURCE_BUCKET, key, data);
  return { key, data };
}

describe('retries', () => {
  it.each<Fault>(['slowdown', 'internal', 'reset'])('server-side copy succeeds after 3 failures (%s)', async (fault) => {
    const { key, data } = await sourceObject(2000);
    const copyRequests = failFirst('put', REPLICA_BUCKET, key, 3, fault);

    const result = await copyFiles(
      [{ source: `s3://${SOURCE_BUCKET}/${key}`, destination: `s3://${REPLICA_BUCKET}/${key}`, size: data.length }],
      { ...sameEndpoint(), retry: fastRetry(5) },
    );

    expect(result.failures).toEqual([]);
    expect(result.copied[0]?.attempts).toBe(4);
    expect(copyRequests.seen()).toBe(4);
    expect((await getObject(client, REPLICA_BUCKET, key)).equals(data)).toBe(true);
  });

  it.each<Fault>(['slowdown', 'internal', 'reset'])('streamed copy succeeds after the source read fails twice (%s)', async (fault) => {
    const { key, data } = await sourceObject(2000);
    const reads = failFirst('get', SOURCE_BUCKET, key, 2, fault);

    const result = await copyFiles(
      [{ source: `s3://${SOURCE_BUCKET}/${key}`, destination: `s3://${REPLICA_BUCKET}/${key}`, size: data.length }],
      { ...crossEndpoint(), retry: fastRetry(5) },
    );

    expect(result.failures).toEqual([]);
    expect(result.copied[0]).toMatchObject({ method: 'stream', attempts: 3 });
    expect(reads.seen()).toBe(3);
    expect((await getObject(client, REPLICA_BUCKET, key)).equals(data)).toBe(true);
  });

  it('fails cleanly after the retry limit, naming the file and the last error', async () => {
    const { key, data } = await sourceObject(2000);
    const copyRequests = failFirst('put', REPLICA_BUCKET, key, 100, 'slowdown');
    const item = { source: `s3://${SOURCE_BUCKET}/${key}`, destination: `s3://${REPLICA_BUCKET}/${key}`, size: data.length };

    const result = await copyFiles([item], { ...sameEndpoint(), retry: fastRetry(4) });

    expect(result.copied).toEqual([]);
    expect(copyRequests.seen()).toBe(4);
    expect(result.failures).toHaveLength(1);
    expect(result.failures[0]?.item).toEqual(item);
    expect(result.failures[0]?.message).toBe(
      `Copy of ${item.source} to ${item.destination} failed after 4 attempts: SlowDown (HTTP 503): Please reduce your request rate.`,
    );
  });

  it('does not retry 403', async () => {
    const { key, data } = await sourceObject(2000);
    let seen = 0;
    server.use(
      http.put(`${s3Endpoint()}/${REPLICA_BUCKET}/${key}`, () => {
        seen++;
        return accessDenied();
      }),
    );
    const result = await copyFiles(
      [{ source: `s3://${SOURCE_BUCKET}/${key}`, destination: `s3://${REPLICA_BUCKET}/${key}`, size: data.length }],
      { ...sameEndpoint(), retry: fastRetry(5) },
    );
    expect(seen).toBe(1);
    expect(result.failures[0]?.message).toMatch(/AccessDenied \(HTTP 403\)/);
  });

  it('retries one failing part of a multipart copy, not the whole copy, and aborts when parts keep failing', async () => {
    const MiB = 1024 * 1024;
    const { key, data } = await sourceObject(11 * MiB);
    let part2 = 0;
    let aborts = 0;
    server.use(
      http.put(`${s3Endpoint()}/${REPLICA_BUCKET}/${key}`, ({ request }) => {
        if (new URL(request.url).searchParams.get('partNumber') !== '2') return passthrough();
        part2++;
        return part2 <= 2 ? slowDown() : passthrough();
      }),
    );
    const options = { ...sameEndpoint(), multipartCopyThreshold: 5 * MiB, copyPartSize: 5 * MiB, retry: fastRetry(5) };
    const item = { source: `s3://${SOURCE_BUCKET}/${key}`, destination: `s3://${REPLICA_BUCKET}/${key}`, size: data.length };

    const ok = await copyFiles([item], options);
    expect(ok.failures).toEqual([]);
    expect(ok.copied[0]).toMatchObject({ method: 'multipart-server-side', attempts: 3 });
    expect(part2).toBe(3);
    expect((await getObject(client, REPLICA_BUCKET, key)).equals(data)).toBe(true);

    server.resetHandlers(
      http.put(`${s3Endpoint()}/${REPLICA_BUCKET}/${key}-again`, ({ request }) =>
        new URL(request.url).searchParams.get('partNumber') === '2' ? internalError() : passthrough(),
      ),
      http.delete(`${s3Endpoint()}/${REPLICA_BUCKET}/${key}-again`, () => {
        aborts++;
        return passthrough();
      }),
    );
    const failed = await copyFiles([{ ...item, destination: `${item.destination}-again` }], options);
    expect(failed.failures[0]?.message).toMatch(/failed after \d+ attempts: InternalError \(HTTP 500\)/);
    expect(aborts).toBe(1);
  });
});

describe('bounded concurrency', () => {
  it('never has more files in flight than configured', async () => {
    const prefix = newPrefix();
    const keys = Array.from({ length: 12 }, (_, i) => `${prefix}f${i}`);
    for (const key of keys) await putObject(client, SOURCE_BUCKET, key, patternBytes(100));
    let inFlight = 0;
    let maxInFlight = 0;
    // Holds each CopyObject for a while, so files that run together overlap here.
    server.use(
      http.put(`${s3Endpoint()}/${REPLICA_BUCKET}/*`, async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await delay(40);
        inFlight--;
        return passthrough();
      }),
    );

    const result = await copyFiles(
      keys.map((key) => ({ source: `s3://${SOURCE_BUCKET}/${key}`, destination: `s3://${REPLICA_BUCKET}/${key}`, size: 100 })),
      { ...sameEndpoint(), concurrency: 3 },
    );

    expect(result.failures).toEqual([]);
    expect(result.copied).toHaveLength(12);
    expect(maxInFlight).toBe(3);
  });
});
