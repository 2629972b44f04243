/**
 * One table brought to the state of each source commit in turn, end to end on real files:
 * PyIceberg writes a table over several commits (appends, a copy-on-write delete, an overwrite,
 * a schema change); after each, syncTable copies and rewrites into a replica catalog in another
 * folder; PyIceberg then reads the replica — every snapshot it has, by time travel — and gets the
 * source's rows. A second delivery of the same commit changes nothing.
 *
 * Then the same with Spark merge-on-read tables, whose deletes live in files that name data files:
 * position-delete files (format v2) and deletion vectors (v3). After every commit is replicated the
 * source folder is moved away and Spark (and PyIceberg, for v2) reads the replica at every snapshot:
 * the rows equal the source's, so the deletes are applied there and nothing points back.
 * Needs the repo venv (scripts/python-env.sh; the test suite's script creates it) and, for Spark,
 * Java and the Iceberg Spark runtime (conformance/common/lib.sh fetches it once).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { readTableMetadata } from '../../src/catalog/metadata-files.ts';
import { loadServerConfig } from '../../src/config/server-config.ts';
import { builtinReplica } from '../../src/replication/commit/replica-catalog.ts';
import { copyFiles } from '../../src/replication/copy/copier.ts';
import { LocationMap } from '../../src/replication/rewrite/location-map.ts';
import { readManifestListEntries, rewriteManifest } from '../../src/replication/rewrite/rewrite-avro.ts';
import { syncTable, type TableSyncContext } from '../../src/replication/sync-table.ts';
import { buildCatalog, replicaCatalogName } from '../../src/server/builtin-server.ts';
import { createStoreResolver } from '../../src/storage/store-resolver.ts';
import { createLogger } from '../../src/util/logger.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const python = join(repo, '.venv', 'bin', 'python');
const script = join(repo, 'test', 'fixtures', 'replication', 'sync_check.py');
const run = <T>(...args: string[]): T => JSON.parse(execFileSync(python, [script, ...args], { encoding: 'utf8' })) as T;
const sparkScript = join(repo, 'test', 'fixtures', 'replication', 'spark_sync_check.py');

interface SourceState { metadata_location: string; snapshot_id: string }
interface Scan { location: string; current: string; snapshots: Record<string, unknown[]> }

let tmp: string;
let database: StateDatabase;
let ctx: TableSyncContext;
let close: () => Promise<void>;
let states: SourceState[];
const id = { namespace: ['db'], name: 't' };

beforeAll(async () => {
  if (!existsSync(python)) throw new Error('No Python venv at .venv: run "bash scripts/python-env.sh" (scripts/test.sh does) first');
  tmp = mkdtempSync(join(tmpdir(), 'icerelay-sync-'));
  states = run<SourceState[]>('create', join(tmp, 'source'));
  database = await openDatabase({ kind: 'sqlite', path: join(tmp, 'state.db') });
  const replicaWarehouse = pathToFileURL(join(tmp, 'replica')).href;
  const replica = await buildCatalog({ ...loadServerConfig({ ICERELAY_DATA_DIR: tmp }), warehouse: replicaWarehouse }, createLogger({ level: 'silent' }), database, { name: replicaCatalogName('local') });
  const stores = createStoreResolver();
  const sourceLocation = (await readTableMetadata(stores, states[0]!.metadata_location)).location;
  ctx = {
    sourceStores: stores,
    replicaStores: stores,
    copyFiles: (items) => copyFiles(items),
    map: new LocationMap([{ source: sourceLocation, destination: `${replicaWarehouse}/db/t` }]),
    replica: builtinReplica(replica.catalog, stores),
  };
  close = async () => {
    stores.destroy();
    await replica.close();
    await database.close();
  };
}, 120_000);

afterAll(async () => {
  await close?.();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('syncTable (PyIceberg table)', () => {
  it('follows every source commit; the replica serves the same rows at every snapshot', async () => {
    expect(states.length).toBe(6);
    const sourceScan = run<Scan>('scan', join(tmp, 'check-source'), states.at(-1)!.metadata_location);
    for (const [index, state] of states.entries()) {
      const result = await syncTable(ctx, id, state.metadata_location);
      expect(result.committed).toBe(true);
      const replicaScan = run<Scan>('scan', join(tmp, `check-replica-${index}`), result.metadataLocation);
      expect(replicaScan.location).toBe(ctx.map.map(sourceScan.location));
      expect(replicaScan.current).toBe(state.snapshot_id);
      // Every snapshot the replica has reads as the source's snapshot of the same id.
      for (const [snapshotId, rows] of Object.entries(replicaScan.snapshots)) {
        expect([snapshotId, rows]).toEqual([snapshotId, sourceScan.snapshots[snapshotId]]);
      }
    }
    const final = run<Scan>('scan', join(tmp, 'check-final'), (await ctx.replica.loadTable(id)).metadataLocation);
    expect(Object.keys(final.snapshots).sort()).toEqual(Object.keys(sourceScan.snapshots).sort());
  }, 300_000);

  it('a second delivery of the same commit changes nothing', async () => {
    const before = await ctx.replica.loadTable(id);
    const again = await syncTable(ctx, id, states.at(-1)!.metadata_location);
    expect(again).toMatchObject({ committed: false, metadataLocation: before.metadataLocation, newSnapshots: 0 });
  });

  it('keeps its own metadata-log, one entry per replica commit', async () => {
    const { metadata } = await ctx.replica.loadTable(id);
    expect(metadata['metadata-log']).toHaveLength(states.length - 1);
    expect(metadata['metadata-log'].every((e) => e['metadata-file'].startsWith(`${metadata.location}/metadata/`))).toBe(true);
  });

  it('applies the destination\'s retention: expired snapshots\' files are deleted, the kept ones read as before', async () => {
    const kept = await buildCatalog({ ...loadServerConfig({ ICERELAY_DATA_DIR: tmp }), warehouse: pathToFileURL(join(tmp, 'kept')).href }, createLogger({ level: 'silent' }), database, { name: replicaCatalogName('kept') });
    const stores = createStoreResolver();
    const folder = join(tmp, 'kept', 'db', 't');
    const retained: TableSyncContext = {
      ...ctx, replica: builtinReplica(kept.catalog, stores), retention: { keepLast: 2 },
      map: new LocationMap([{ source: (await readTableMetadata(stores, states[0]!.metadata_location)).location, destination: pathToFileURL(folder).href }]),
    };
    let expiredFiles = 0;
    for (const state of states) expiredFiles += (await syncTable(retained, id, state.metadata_location)).filesExpired;
    const sourceScan = run<Scan>('scan', join(tmp, 'check-kept-source'), states.at(-1)!.metadata_location);
    const { metadataLocation, metadata } = await retained.replica.loadTable(id);
    expect(metadata.snapshots.map((s) => String(s['snapshot-id']))).toEqual(states.slice(-2).map((s) => s.snapshot_id));
    expect(expiredFiles).toBeGreaterThan(0);
    // What is left on disk besides metadata JSON is exactly what the two kept snapshots reach.
    const onDisk = readdirSync(folder, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.endsWith('.metadata.json') && !e.name.startsWith('.'))
      .map((e) => pathToFileURL(join(e.parentPath, e.name)).href).sort();
    const reachable = run<{ files: string[] }>('files', join(tmp, 'check-kept-files'), metadataLocation).files.sort();
    expect(onDisk).toEqual(reachable);
    const scan = run<Scan>('scan', join(tmp, 'check-kept'), metadataLocation);
    for (const [snapshotId, rows] of Object.entries(scan.snapshots)) expect([snapshotId, rows]).toEqual([snapshotId, sourceScan.snapshots[snapshotId]]);
    stores.destroy();
    await kept.close();
  }, 300_000);
});

type Rows = Record<string, string | null>[];
interface SparkTable { states: SourceState[]; snapshots: Record<string, Rows> }
interface SparkScan { location: string; current: string; snapshots: Record<string, Rows>; pyiceberg?: Record<string, Rows> }

describe('syncTable (Spark merge-on-read tables: position deletes, deletion vectors)', () => {
  let dir: string;
  let db: StateDatabase;
  let replica: Awaited<ReturnType<typeof buildCatalog>>;
  let stores: ReturnType<typeof createStoreResolver>;
  let sparkEnv: NodeJS.ProcessEnv;
  let source: Record<string, SparkTable>;
  const spark = <T>(...args: string[]): T =>
    JSON.parse(execFileSync(python, [sparkScript, ...args], { encoding: 'utf8', env: sparkEnv, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 })) as T;

  beforeAll(async () => {
    if (!existsSync(python)) throw new Error('No Python venv at .venv: run "bash scripts/python-env.sh" (scripts/test.sh does) first');
    const jars = execFileSync('bash', ['-c', 'source conformance/common/lib.sh && conformance_spark_jars "$1" local && printf %s "$CONFORMANCE_SPARK_JARS"', 'bash', python], {
      cwd: repo,
      encoding: 'utf8',
    });
    sparkEnv = { ...process.env, CONFORMANCE_SPARK_JARS: jars };
    dir = mkdtempSync(join(tmpdir(), 'icerelay-sync-spark-'));
    source = spark<Record<string, SparkTable>>('create', join(dir, 'source'));
    db = await openDatabase({ kind: 'sqlite', path: join(dir, 'state.db') });
    replica = await buildCatalog({ ...loadServerConfig({ ICERELAY_DATA_DIR: dir }), warehouse: pathToFileURL(join(dir, 'replica')).href }, createLogger({ level: 'silent' }), db, {
      name: replicaCatalogName('local'),
    });
    stores = createStoreResolver();
  }, 600_000);

  afterAll(async () => {
    stores?.destroy();
    await replica?.close();
    await db?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('replicates every commit with its delete files rewritten; Spark reads the source\'s rows at every snapshot once the source is gone', async () => {
    const replicaLocations: { table: string; state: SourceState; metadataLocation: string }[] = [];
    for (const [name, table] of Object.entries(source)) {
      expect(table.states).toHaveLength(6);
      const sourceLocation = (await readTableMetadata(stores, table.states[0]!.metadata_location)).location;
      const ctx: TableSyncContext = {
        sourceStores: stores,
        replicaStores: stores,
        copyFiles: (items) => copyFiles(items),
        map: new LocationMap([{ source: sourceLocation, destination: `${pathToFileURL(join(dir, 'replica')).href}/db/${name}` }]),
        replica: builtinReplica(replica.catalog, stores),
      };
      const id = { namespace: ['db'], name };
      let rewrittenTotal = 0;
      for (const [index, state] of table.states.entries()) {
        const result = await syncTable(ctx, id, state.metadata_location);
        expect(result.committed).toBe(true);
        rewrittenTotal += result.deleteFilesRewritten;
        // From the second commit on, the manifests carried over from the parent are the replica's
        // own already: neither read nor rewritten again, so no delete file is met a second time.
        if (index >= 1) expect(result.manifestsReused).toBeGreaterThan(0);
        expect(result.deleteFilesPresent).toBe(0);
        replicaLocations.push({ table: name, state, metadataLocation: result.metadataLocation });
      }
      // Every live delete file of the final replica is at its mapped location, rewritten exactly once, with the size its manifest records.
      const { metadata } = await ctx.replica.loadTable(id);
      const live = new Map<string, bigint>();
      for (const snapshot of metadata.snapshots) {
        const listLocation = snapshot['manifest-list']!;
        const list = await stores.storeFor(listLocation).read(listLocation);
        for (const entry of readManifestListEntries(list, listLocation)) {
          const manifest = rewriteManifest(await stores.storeFor(entry.path).read(entry.path), entry.path, new LocationMap([{ source: metadata.location, destination: metadata.location }]));
          for (const f of manifest.files) if (f.kind === 'position-deletes' || f.kind === 'deletion-vector') live.set(f.sourceLocation, f.sizeInBytes);
        }
      }
      expect(live.size).toBeGreaterThanOrEqual(3);
      expect(rewrittenTotal).toBe(live.size);
      for (const [location, size] of live) {
        expect(location.startsWith(`${metadata.location}/`)).toBe(true);
        expect(BigInt((await stores.storeFor(location).stat(location))!.size)).toBe(size);
      }
      // A second delivery of the last commit changes nothing.
      const again = await syncTable(ctx, id, table.states.at(-1)!.metadata_location);
      expect(again).toMatchObject({ committed: false, newSnapshots: 0, deleteFilesRewritten: 0 });
    }

    // Nothing may point back at the source: move it away before reading the replica.
    renameSync(join(dir, 'source'), join(dir, 'source-gone'));
    const locationsFile = join(dir, 'scan', 'locations.json');
    execFileSync('mkdir', ['-p', join(dir, 'scan')]);
    // Each replica state at its current snapshot; the last one at every snapshot (the same manifest lists).
    const all = (i: number) => replicaLocations[i + 1]?.table !== replicaLocations[i]!.table;
    writeFileSync(locationsFile, JSON.stringify(replicaLocations.map((r, i) => ({ location: r.metadataLocation, all: all(i) }))));
    const scans = spark<SparkScan[]>('scan', locationsFile);
    expect(scans).toHaveLength(replicaLocations.length);
    for (const [i, scan] of scans.entries()) {
      const { table, state } = replicaLocations[i]!;
      expect(scan.location).toBe(`${pathToFileURL(join(dir, 'replica')).href}/db/${table}`);
      expect(scan.current).toBe(state.snapshot_id);
      expect(Object.keys(scan.snapshots)).toHaveLength(all(i) ? source[table]!.states.length : 1);
      for (const [snapshotId, rows] of Object.entries(scan.snapshots)) {
        expect([table, snapshotId, rows]).toEqual([table, snapshotId, source[table]!.snapshots[snapshotId]]);
      }
      if (table === 'v2') expect(scan.pyiceberg).toEqual(scan.snapshots);
    }
    // The deletes are there to be applied: the last snapshot lacks deleted rows and has the updated one.
    const last = source.v3!.snapshots[source.v3!.states.at(-1)!.snapshot_id]!;
    expect(last.map((r) => r.id)).toEqual(['3', '6', '7', '9007199254740993']);
    expect(last.find((r) => r.id === '3')!.payload).toBe('updated');
  }, 600_000);
});
