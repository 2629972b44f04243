/**
 * Icerelay's side of the metadata rewrite benchmark: rewrites a whole table's metadata (every
 * metadata JSON version, every snapshot's manifest list, every manifest once) from a source prefix
 * to a target prefix, as Iceberg's `rewrite_table_path` procedure does, and writes the results plus a
 * copy plan (source,target per line, data files and metadata files) into a folder.
 *
 * It is a long-lived worker, warm like a running shipper: each line on stdin is one job, as JSON
 * `{"metadata": "<current metadata file location>", "sourcePrefix": "...", "targetPrefix": "...",
 * "outDir": "<folder>"}`, and each job answers one JSON line on stdout with its timings (the job's
 * own wall time, measured in this process: Node.js start-up is not included).
 *
 * Same work as the procedure: read each file from disk, parse, map every location, re-encode with
 * the source's codec, write the file. Uses the code the shipper runs (src/replication/...):
 * planReplicaMetadata (which maps through rewriteTableMetadata) for each metadata version, in
 * order, the previous version's result being the replica's state; rewriteManifest per manifest,
 * as many at once as the shipper runs; rewriteManifestList per list.
 *
 * Usage: tsx bench/replication/rewrite-worker.ts                 (jobs on stdin, answers on stdout)
 *        tsx bench/replication/rewrite-worker.ts --job '<json>' [--repeat N] [--profile FILE.cpuprofile]
 *          (one job: a warm-up run, then N measured runs, optionally CPU-profiled; then exit)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Session } from 'node:inspector';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { readTableMetadata } from '../../src/catalog/metadata-files.ts';
import { serializeTableMetadata } from '../../src/iceberg/table-metadata.ts';
import type { TableMetadata } from '../../src/iceberg/types.ts';
import { planReplicaMetadata } from '../../src/replication/plan/merge-metadata.ts';
import { LocationMap } from '../../src/replication/rewrite/location-map.ts';
import { mapWithConcurrency } from '../../src/replication/copy/concurrency.ts';
import { readManifestListEntries, rewriteManifest, rewriteManifestList } from '../../src/replication/rewrite/rewrite-avro.ts';
import { MANIFEST_CONCURRENCY } from '../../src/replication/sync-table.ts';
import { createStoreResolver } from '../../src/storage/store-resolver.ts';

interface Job {
  metadata: string;
  sourcePrefix: string;
  targetPrefix: string;
  outDir: string;
}

const stores = createStoreResolver();

async function read(location: string): Promise<Uint8Array> {
  return stores.storeFor(location).read(location);
}

async function run(job: Job) {
  const started = performance.now();
  const ms = { metadataJson: 0, manifests: 0, listRead: 0, listRewrite: 0, listWrite: 0, copyPlan: 0 };
  let t = performance.now();
  const lap = (key: keyof typeof ms) => {
    const now = performance.now();
    ms[key] += now - t;
    t = now;
  };
  mkdirSync(job.outDir, { recursive: true });
  const map = new LocationMap([{ source: job.sourcePrefix, destination: job.targetPrefix }]);
  const copyPlan: string[] = [];
  const out = (destination: string) => join(job.outDir, basename(destination));

  // 1. Metadata JSON: every version the current file's metadata-log names, then the current one.
  const current = await readTableMetadata(stores, job.metadata);
  const versions = [...current['metadata-log'].map((e) => e['metadata-file']), job.metadata];
  let replica: TableMetadata | undefined;
  let replicaLocation: string | undefined;
  for (const location of versions) {
    const source = location === job.metadata ? current : await readTableMetadata(stores, location);
    const plan = planReplicaMetadata(source, replica, map);
    let next = plan.metadata;
    if (replica && replicaLocation) {
      next = { ...next, 'metadata-log': [...replica['metadata-log'], { 'timestamp-ms': replica['last-updated-ms'], 'metadata-file': replicaLocation }] };
    }
    const destination = map.map(location, 'metadata file');
    writeFileSync(out(destination), serializeTableMetadata(next));
    copyPlan.push(`${out(destination)},${destination}`);
    replica = next;
    replicaLocation = destination;
  }
  lap('metadataJson');

  // 2. Manifests (each once), then each snapshot's manifest list with the new manifest lengths.
  const lengths = new Map<string, number>();
  const dataFiles = new Map<string, string>();
  let entries = 0;
  let manifestBytesIn = 0;
  let manifestBytesOut = 0;
  // As the shipper does (sync-table.ts): every snapshot's list read first, then each manifest
  // once, MANIFEST_CONCURRENCY at a time (reading one overlaps with rewriting another), then each
  // list with the new lengths.
  const lists: { location: string; bytes: Uint8Array }[] = [];
  const fresh = new Set<string>();
  for (const snapshot of current.snapshots) {
    const listLocation = snapshot['manifest-list'];
    if (listLocation === undefined) throw new Error(`snapshot ${String(snapshot['snapshot-id'])} has no manifest list (v1 inline manifests are not benchmarked)`);
    const listBytes = await read(listLocation);
    lists.push({ location: listLocation, bytes: listBytes });
    for (const entry of readManifestListEntries(listBytes, listLocation)) fresh.add(entry.path);
  }
  lap('listRead');
  await mapWithConcurrency([...fresh], MANIFEST_CONCURRENCY, async (path) => {
    const bytes = await read(path);
    const manifest = rewriteManifest(bytes, path, map);
    for (const file of manifest.files) dataFiles.set(file.destinationLocation, file.sourceLocation);
    entries += manifest.entryCount;
    manifestBytesIn += bytes.length;
    manifestBytesOut += manifest.length;
    writeFileSync(out(manifest.destinationLocation), manifest.bytes);
    copyPlan.push(`${out(manifest.destinationLocation)},${manifest.destinationLocation}`);
    lengths.set(path, manifest.length);
  });
  lap('manifests');
  for (const { location, bytes } of lists) {
    const list = rewriteManifestList(bytes, location, map, lengths);
    lap('listRewrite');
    writeFileSync(out(list.destinationLocation), list.bytes);
    copyPlan.push(`${out(list.destinationLocation)},${list.destinationLocation}`);
    lap('listWrite');
  }

  // 3. The copy plan: rewritten metadata files (above) and every live data file, source -> target.
  for (const [destination, source] of dataFiles) copyPlan.push(`${source},${destination}`);
  writeFileSync(join(job.outDir, 'file-list.csv'), copyPlan.join('\n') + '\n');
  lap('copyPlan');

  const totalMs = performance.now() - started;
  return {
    totalMs,
    phasesMs: ms,
    metadataVersions: versions.length,
    snapshots: current.snapshots.length,
    manifests: lengths.size,
    entries,
    dataFiles: dataFiles.size,
    copyPlanLines: copyPlan.length,
    manifestBytesIn,
    manifestBytesOut,
    entriesPerSec: entries / (totalMs / 1000),
  };
}

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const oneJob = flag('--job');
if (oneJob) {
  // One job, run `--repeat` times (default 1) after one warm-up run; with `--profile FILE`, a V8 CPU
  // profile of the measured runs (not of start-up and warm-up) is written to FILE.
  const job = JSON.parse(oneJob) as Job;
  const repeat = Number(flag('--repeat') ?? 1);
  const profileFile = flag('--profile');
  await run(job);
  const session = new Session();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((done, fail) => session.post(method, params, (error, result) => (error ? fail(error) : done(result))));
  if (profileFile) {
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 500 });
    await post('Profiler.start');
  }
  for (let i = 0; i < repeat; i++) console.log(JSON.stringify(await run(job)));
  if (profileFile) {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    writeFileSync(profileFile, JSON.stringify(profile));
    session.disconnect();
  }
} else {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    try {
      console.log(JSON.stringify(await run(JSON.parse(line) as Job)));
    } catch (error) {
      console.log(JSON.stringify({ error: error instanceof Error ? error.stack ?? error.message : String(error) }));
    }
  }
}
stores.destroy();
