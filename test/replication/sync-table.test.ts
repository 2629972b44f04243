/**
 * One table brought to the state of each source commit in turn, end to end on real files:
 * PyIceberg writes a table over several commits (appends, a copy-on-write delete, an overwrite,
 * a schema change); after each, syncTable copies and rewrites into a replica catalog in another
 * folder; PyIceberg then reads the replica — every snapshot it has, by time travel — and gets the
 * source's rows. A second delivery of the same commit changes nothing.
 * Needs the repo venv (scripts/python-env.sh; the test suite's script creates it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { readTableMetadata } from '../../src/catalog/metadata-files.ts';
import { loadServerConfig } from '../../src/config/server-config.ts';
import { copyFiles } from '../../src/replication/copy/copier.ts';
import { LocationMap } from '../../src/replication/rewrite/location-map.ts';
import { syncTable, type TableSyncContext } from '../../src/replication/sync-table.ts';
import { buildCatalog, replicaCatalogName } from '../../src/server/builtin-server.ts';
import { createStoreResolver } from '../../src/storage/store-resolver.ts';
import { createLogger } from '../../src/util/logger.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const python = join(repo, '.venv', 'bin', 'python');
const script = join(repo, 'test', 'fixtures', 'replication', 'sync_check.py');
const run = <T>(...args: string[]): T => JSON.parse(execFileSync(python, [script, ...args], { encoding: 'utf8' })) as T;

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
    replica: replica.catalog,
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

describe('syncTable', () => {
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
});
