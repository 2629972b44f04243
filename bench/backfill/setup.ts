/**
 * The backfill benchmark's source: `tables` small Iceberg tables in the built-in catalog (reached
 * at `catalogUrl`, an Icerelay started with --catalog-only on an S3 warehouse), each with one
 * snapshot: one manifest list, one manifest, `filesPerTable` data files of random bytes whose sizes
 * are drawn (seeded) from [minKiB, maxKiB]. Tables are created and committed through the REST API;
 * the data files, manifest and manifest list are written to S3 by this script, as an engine does.
 *
 * Returns every object a replica of these tables holds (data files, manifest, manifest list, the
 * current metadata file): what the plain copy loop copies.
 */
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mapWithConcurrency } from '../../src/replication/copy/concurrency.ts';
import { isJsonObject, parseJson, toJson } from '../../src/util/json.ts';
import { firstAppend, TABLE_SCHEMA } from './iceberg-files.ts';

export interface SourceObject {
  table: string;
  kind: 'data' | 'manifest' | 'manifest-list' | 'metadata';
  bucket: string;
  key: string;
  size: number;
}

export interface SetupOptions {
  catalogUrl: string;
  s3: S3Client;
  namespace: string;
  tables: number;
  filesPerTable: number;
  minKiB: number;
  maxKiB: number;
  seed: number;
  concurrency: number;
  onProgress?: (done: number) => void;
}

/** mulberry32: a small seeded PRNG, so every run draws the same file sizes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function parseS3(location: string): { bucket: string; key: string } {
  const match = /^s3a?:\/\/([^/]+)\/(.+)$/.exec(location);
  if (!match) throw new Error(`not an s3 location: ${location}`);
  return { bucket: match[1]!, key: match[2]! };
}

async function rest(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; text: string }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : toJson(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? parseJson(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

export async function setupTables(options: SetupOptions): Promise<SourceObject[]> {
  const { catalogUrl, s3, namespace } = options;
  const created = await rest(catalogUrl, 'POST', '/v1/namespaces', { namespace: [namespace], properties: {} });
  if (created.status !== 200) throw new Error(`create namespace ${namespace}: ${created.status} ${created.text}`);
  const random = prng(options.seed);
  const sizes = Array.from({ length: options.tables }, () =>
    Array.from({ length: options.filesPerTable }, () => Math.round((options.minKiB + random() * (options.maxKiB - options.minKiB)) * 1024)),
  );
  const width = String(options.tables - 1).length;
  let done = 0;
  const perTable = await mapWithConcurrency(sizes, options.concurrency, async (fileSizes, index) => {
    const name = `t${String(index).padStart(width, '0')}`;
    const tablePath = `/v1/namespaces/${encodeURIComponent(namespace)}/tables/${encodeURIComponent(name)}`;
    const table = await rest(catalogUrl, 'POST', `/v1/namespaces/${encodeURIComponent(namespace)}/tables`, {
      name, schema: TABLE_SCHEMA, properties: { 'format-version': '2' },
    });
    if (table.status !== 200 || !isJsonObject(table.json)) throw new Error(`create table ${name}: ${table.status} ${table.text.slice(0, 300)}`);
    const metadata = table.json.metadata as { location: string; 'table-uuid': string };
    const append = firstAppend(metadata.location, fileSizes);
    await Promise.all(append.files.map((f) => {
      const { bucket, key } = parseS3(f.location);
      return s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: f.bytes, ContentLength: f.bytes.length }));
    }));
    const commit = await rest(catalogUrl, 'POST', tablePath, {
      requirements: [
        { type: 'assert-table-uuid', uuid: metadata['table-uuid'] },
        { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null },
      ],
      updates: [
        { action: 'add-snapshot', snapshot: append.snapshot },
        { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': append.snapshotId },
      ],
    });
    if (commit.status !== 200 || !isJsonObject(commit.json)) throw new Error(`commit to ${name}: ${commit.status} ${commit.text.slice(0, 300)}`);
    const metadataLocation = parseS3(commit.json['metadata-location'] as string);
    const head = await s3.send(new HeadObjectCommand({ Bucket: metadataLocation.bucket, Key: metadataLocation.key }));
    const objects: SourceObject[] = append.files.map((f) => ({ table: `${namespace}.${name}`, kind: f.kind, ...parseS3(f.location), size: f.bytes.length }));
    objects.push({ table: `${namespace}.${name}`, kind: 'metadata', ...metadataLocation, size: head.ContentLength ?? 0 });
    options.onProgress?.(++done);
    return objects;
  });
  return perTable.flat();
}
