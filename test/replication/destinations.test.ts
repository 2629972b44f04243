/**
 * Replication destinations from the configuration file, end to end: Icerelay runs as a child
 * process with a `replication` section; PyIceberg writes through the proxy into the built-in
 * catalog on S3 (bucket on server A) and reads each replica endpoint back, using only the storage
 * settings the replica's load results give it:
 * - `same-server`: another bucket of server A (server-side copies);
 * - `other-server`: a bucket of a second S3 server B (a bucket A does not have: streamed copies);
 * - `folder`: a local folder;
 * - `partial`: a rule that selects `sales.*` but excludes `sales.tmp_*`, with the namespace
 *   prefix `us` (names fan in under `us.`).
 * Then the source bucket is emptied: every replica still reads the same rows (nothing points back).
 * Needs the S3 test server (scripts/s3-server.sh) and the repo venv (moto_server, PyIceberg).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CreateBucketCommand, DeleteObjectsCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.ts';
import { replicationDone } from '../helpers/replication-status.ts';
import { killAllChildren, startIcerelay, type IcerelayChild } from '../helpers/child-process-icerelay.ts';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const python = join(repo, '.venv', 'bin', 'python');
const script = join(repo, 'test', 'replication', 'destinations_check.py');

const serverA = () => {
  const endpoint = process.env.ICERELAY_TEST_S3_ENDPOINT;
  if (!endpoint) throw new Error('ICERELAY_TEST_S3_ENDPOINT is not set: run `bash scripts/s3-server.sh start` and `eval "$(bash scripts/s3-server.sh env)"`');
  return endpoint;
};
const client = (endpoint: string) => new S3Client({
  endpoint, region: 'us-east-1', forcePathStyle: true,
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'icerelay-test', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'icerelay-test' },
});

const suffix = randomUUID().slice(0, 8);
const buckets = { source: `icerelay-dst-src-${suffix}`, sameServer: `icerelay-dst-a-${suffix}`, otherServer: `icerelay-dst-b-${suffix}` };

const kmsKey = 'arn:aws:kms:us-east-1:123456789012:key/icerelay-replica-key';
let tmp: string;
let serverB: { endpoint: string; process: ChildProcess };
let icerelay: IcerelayChild;
let written: Record<string, { snapshot_id: string; rows: unknown[] }[]>;

interface ReplicaRead { location: string; metadata_location: string; snapshots: Record<string, unknown[]>; files: string[]; io: Record<string, string> }

async function py<T>(...args: string[]): Promise<T> {
  const env = { ...process.env, AWS_REGION: 'us-east-1' };
  const { stdout } = await run(python, [script, ...args], { env, maxBuffer: 16 << 20 });
  return JSON.parse(stdout) as T;
}

async function startSecondS3Server(): Promise<{ endpoint: string; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn(join(repo, '.venv', 'bin', 'moto_server'), ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (await fetch(endpoint).then(() => true, () => false)) return { endpoint, process: child };
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`a second moto_server did not answer on ${endpoint}`);
}

beforeAll(async () => {
  if (!existsSync(python)) throw new Error('No Python venv at .venv: run "bash scripts/python-env.sh" (scripts/test.sh does) first');
  tmp = mkdtempSync(join(tmpdir(), 'icerelay-destinations-'));
  serverB = await startSecondS3Server();
  await client(serverA()).send(new CreateBucketCommand({ Bucket: buckets.source }));
  await client(serverA()).send(new CreateBucketCommand({ Bucket: buckets.sameServer }));
  await client(serverB.endpoint).send(new CreateBucketCommand({ Bucket: buckets.otherServer }));
  const configFile = join(tmp, 'icerelay.yaml');
  writeFileSync(configFile, `
replication:
  destinations:
    same-server: { warehouse: "s3://${buckets.sameServer}/wh", storageClass: STANDARD_IA, sseKmsKeyId: "${kmsKey}" }
    other-server:
      warehouse: "s3://${buckets.otherServer}/wh"
      s3: { endpoint: "${serverB.endpoint}", region: us-east-1 }
    folder: { warehouse: "${join(tmp, 'folder-replica')}" }
    partial: { warehouse: "${join(tmp, 'partial-replica')}", namespacePrefix: us }
  rules:
    - tables: ["**"]
      to: [same-server, other-server, folder]
    - tables: ["sales.*"]
      exclude: ["sales.tmp_*"]
      to: [partial]
  pollMs: 200
`);
  icerelay = await startIcerelay({
    args: ['--config', configFile],
    env: {
      ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(tmp, 'data'),
      ICERELAY_WAREHOUSE: `s3://${buckets.source}/wh`, ICERELAY_S3_ENDPOINT: serverA(), ICERELAY_S3_REGION: 'us-east-1',
    },
  });
  written = await py('write', icerelay.url);
  await replicationDone(icerelay.url);
}, 180_000);

afterAll(async () => {
  await killAllChildren();
  serverB?.process.kill('SIGKILL');
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const destinations = {
  'same-server': () => `s3://${buckets.sameServer}/wh/`,
  'other-server': () => `s3://${buckets.otherServer}/wh/`,
  folder: () => `${pathToFileURL(join(tmp, 'folder-replica')).href}/`,
};

/** The replica reads as the source was after each commit, from files under `prefix` only. */
function expectFaithful(read: ReplicaRead, states: { snapshot_id: string; rows: unknown[] }[], prefix: string): void {
  expect(Object.keys(read.snapshots).sort()).toEqual(states.map((s) => s.snapshot_id).sort());
  for (const state of states) expect([state.snapshot_id, read.snapshots[state.snapshot_id]]).toEqual([state.snapshot_id, state.rows]);
  for (const location of [read.location, read.metadata_location, ...read.files]) expect(location.startsWith(prefix), `${location} under ${prefix}`).toBe(true);
  expect(read.files.length).toBeGreaterThan(0);
}

describe('replication destinations from the configuration file', () => {
  it.each(Object.keys(destinations) as (keyof typeof destinations)[])('%s: every table, every snapshot, files in its own storage', async (name) => {
    for (const table of ['sales.orders', 'sales.tmp_scratch', 'ops.events']) {
      expectFaithful(await py<ReplicaRead>('read', `${icerelay.url}/replicas/${name}`, table), written[table]!, destinations[name]());
    }
  }, 60_000);

  it('other-server: the replica lives on the second S3 server only, and its load results say so', async () => {
    await expect(client(serverA()).send(new HeadBucketCommand({ Bucket: buckets.otherServer }))).rejects.toThrow();
    const listed = await client(serverB.endpoint).send(new ListObjectsV2Command({ Bucket: buckets.otherServer }));
    expect(listed.KeyCount).toBeGreaterThan(0);
    const read = await py<ReplicaRead>('read', `${icerelay.url}/replicas/other-server`, 'ops.events');
    expect(read.io['s3.endpoint']).toBe(serverB.endpoint);
  }, 30_000);

  it('same-server: every object of the replica, copied or written, has the storage class and KMS key', async () => {
    const a = client(serverA());
    const listed = await a.send(new ListObjectsV2Command({ Bucket: buckets.sameServer }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    expect(keys.some((k) => k.endsWith('.parquet')) && keys.some((k) => k.endsWith('.avro')) && keys.some((k) => k.endsWith('.metadata.json'))).toBe(true);
    for (const key of keys) {
      const head = await a.send(new HeadObjectCommand({ Bucket: buckets.sameServer, Key: key }));
      expect([key, head.StorageClass, head.SSEKMSKeyId]).toEqual([key, 'STANDARD_IA', kmsKey]);
    }
  }, 60_000);

  it('partial: only the tables its rule selects, under the namespace prefix', async () => {
    const url = `${icerelay.url}/replicas/partial`;
    expectFaithful(await py<ReplicaRead>('read', url, 'us.sales.orders'), written['sales.orders']!, `${pathToFileURL(join(tmp, 'partial-replica')).href}/`);
    const tables = async (ns: string) => (await fetch(`${url}/v1/namespaces/${ns}/tables`)).json() as Promise<{ identifiers?: { name: string }[] }>;
    expect((await tables('us%1Fsales')).identifiers?.map((i) => i.name)).toEqual(['orders']);
    expect((await fetch(`${url}/v1/namespaces/ops`)).status).toBe(404);
    expect((await fetch(`${url}/v1/namespaces/us%1Fops`)).status).toBe(404);
    const namespace = (await (await fetch(`${url}/v1/namespaces/us%1Fsales`)).json()) as { properties: Record<string, string> };
    expect(namespace.properties).toEqual({ owner: 'sales-team' });
  }, 30_000);

  it('replicas do not depend on the source: emptied source bucket, same rows', async () => {
    const a = client(serverA());
    for (;;) {
      const page = await a.send(new ListObjectsV2Command({ Bucket: buckets.source }));
      if (!page.Contents?.length) break;
      await a.send(new DeleteObjectsCommand({ Bucket: buckets.source, Delete: { Objects: page.Contents.map((o) => ({ Key: o.Key! })) } }));
    }
    for (const name of Object.keys(destinations) as (keyof typeof destinations)[]) {
      expectFaithful(await py<ReplicaRead>('read', `${icerelay.url}/replicas/${name}`, 'sales.orders'), written['sales.orders']!, destinations[name]());
    }
  }, 60_000);
});
