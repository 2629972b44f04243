/**
 * The peer of Icerelay's backfill: a plain AWS SDK copy loop. Copies every object listed in
 * `--objects` (JSON: [{bucket, key, size}]) to `--dest-bucket` under the same key, at most
 * `--concurrency` at once, with no Iceberg logic: CopyObject within one S3 server (`--mode copy`),
 * or GetObject piped into PutObject across servers (`--mode stream`). One S3 client per server,
 * keep-alive, as many sockets as the concurrency; the SDK's default retries.
 *
 * Prints one JSON line: files, bytes, and the time from the first request to the last answer.
 *
 * Usage: node --import tsx bench/backfill/sdk-copy-loop.ts --objects F --source-endpoint URL
 *          --dest-endpoint URL --dest-bucket B --concurrency N --mode copy|stream
 */
import { Agent } from 'node:http';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { CopyObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

interface Listed {
  bucket: string;
  key: string;
  size: number;
}

function args(): Record<string, string> {
  const out: Record<string, string> = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]!;
    if (!name.startsWith('--') || argv[i + 1] === undefined) throw new Error(`bad argument ${name} (see the file's header)`);
    out[name.slice(2)] = argv[i + 1]!;
  }
  return out;
}

const a = args();
const objects = JSON.parse(readFileSync(a.objects!, 'utf8')) as Listed[];
const concurrency = Number(a.concurrency ?? '16');
const mode = a.mode ?? 'copy';
const destBucket = a['dest-bucket']!;

function client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    forcePathStyle: true,
    // The same as Icerelay's copier: a streamed PUT without aws-chunked CRC32 encoding.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: concurrency }) },
  });
}

const source = client(a['source-endpoint']!);
const destination = mode === 'copy' ? source : client(a['dest-endpoint']!);

async function copyOne(o: Listed): Promise<void> {
  if (mode === 'copy') {
    await destination.send(new CopyObjectCommand({ Bucket: destBucket, Key: o.key, CopySource: `${o.bucket}/${o.key.split('/').map(encodeURIComponent).join('/')}` }));
    return;
  }
  const got = await source.send(new GetObjectCommand({ Bucket: o.bucket, Key: o.key }));
  await destination.send(new PutObjectCommand({ Bucket: destBucket, Key: o.key, Body: got.Body as Readable, ContentLength: got.ContentLength ?? o.size }));
}

const cpuBefore = process.cpuUsage();
const started = performance.now();
const startedAtMs = Date.now();
let next = 0;
let bytes = 0;
await Promise.all(Array.from({ length: Math.min(concurrency, objects.length) }, async () => {
  while (next < objects.length) {
    const o = objects[next++]!;
    await copyOne(o);
    bytes += o.size;
  }
}));
const elapsedMs = performance.now() - started;
const cpu = process.cpuUsage(cpuBefore);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(`${JSON.stringify({ files: objects.length, bytes, concurrency, mode, startedAtMs, elapsedMs, cpuSeconds })}\n`);
source.destroy();
destination.destroy();
