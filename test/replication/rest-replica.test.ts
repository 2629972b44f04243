/**
 * An external Iceberg REST catalog as the replica: Apache Iceberg's own REST fixture (Java, from
 * Maven Central) receives the replicas. PyIceberg writes through Icerelay; the first state of each
 * table is registered in the fixture from a metadata file Icerelay wrote, later ones are table
 * commits with assert-table-uuid and assert-ref-snapshot-id, which the fixture (Iceberg's
 * TableMetadata.Builder) validates and applies. PyIceberg then reads the replicas from the
 * fixture itself — every snapshot, the same rows, files only under the destination folder.
 * Needs Java and Maven (conformance/fixture/start.sh fetches the fixture's jars once) and the venv.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllChildren, startIcerelay, type IcerelayChild } from '../helpers/child-process-icerelay.ts';
import { freePort } from '../helpers/free-port.ts';
import { replicationDone } from '../helpers/replication-status.ts';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const python = join(repo, '.venv', 'bin', 'python');
const script = join(repo, 'test', 'replication', 'destinations_check.py');

let tmp: string;
let fixturePort: number;
let fixtureUrl: string;
let icerelay: IcerelayChild;
let written: Record<string, { snapshot_id: string; rows: unknown[] }[]>;

interface ReplicaRead { location: string; metadata_location: string; snapshots: Record<string, unknown[]>; files: string[] }

async function py<T>(...args: string[]): Promise<T> {
  const { stdout } = await run(python, [script, ...args], { maxBuffer: 16 << 20 });
  return JSON.parse(stdout) as T;
}

beforeAll(async () => {
  if (!existsSync(python)) throw new Error('No Python venv at .venv: run "bash scripts/python-env.sh" (scripts/test.sh does) first');
  tmp = mkdtempSync(join(tmpdir(), 'icerelay-rest-replica-'));
  fixturePort = await freePort();
  fixtureUrl = `http://127.0.0.1:${fixturePort}`;
  await run('bash', ['conformance/fixture/start.sh', '--version', '1.11.0', '--warehouse', join(tmp, 'fixture-warehouse'), String(fixturePort)], { cwd: repo, maxBuffer: 16 << 20 });
  const configFile = join(tmp, 'icerelay.yaml');
  writeFileSync(configFile, `
replication:
  destinations:
    central:
      catalog: { type: rest, url: "${fixtureUrl}" }
      warehouse: "${join(tmp, 'central')}"
  pollMs: 200
`);
  icerelay = await startIcerelay({ args: ['--config', configFile], env: { ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(tmp, 'data') } });
  written = await py('write', icerelay.url);
  await replicationDone(icerelay.url);
}, 300_000);

afterAll(async () => {
  await killAllChildren();
  if (fixturePort) await run('bash', ['conformance/fixture/stop.sh', '--clean', String(fixturePort)], { cwd: repo }).catch(() => undefined);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('an external Iceberg REST catalog (Apache\'s REST fixture) as the replica', () => {
  it('serves every table with every snapshot and the same rows, files in the destination folder', async () => {
    const prefix = `${pathToFileURL(join(tmp, 'central')).href}/`;
    for (const table of ['sales.orders', 'sales.tmp_scratch', 'ops.events']) {
      const read = await py<ReplicaRead>('read', fixtureUrl, table);
      expect(Object.keys(read.snapshots).sort()).toEqual(written[table]!.map((s) => s.snapshot_id).sort());
      for (const state of written[table]!) expect([state.snapshot_id, read.snapshots[state.snapshot_id]]).toEqual([state.snapshot_id, state.rows]);
      for (const location of [read.location, ...read.files]) expect(location.startsWith(prefix), `${location} under ${prefix}`).toBe(true);
    }
  }, 120_000);

  it('commits later states with assertions: the fixture kept the table (same UUID) and wrote its own metadata files', async () => {
    interface Load { 'metadata-location': string; metadata: { 'table-uuid': string; 'metadata-log': unknown[]; snapshots: unknown[] } }
    const replica = (await (await fetch(`${fixtureUrl}/v1/namespaces/sales/tables/orders`)).json()) as Load;
    const source = (await (await fetch(`${icerelay.url}/v1/namespaces/sales/tables/orders`)).json()) as Load;
    expect(replica.metadata['table-uuid']).toBe(source.metadata['table-uuid']);
    expect(replica.metadata.snapshots.length).toBe(3);
    // Registered once from Icerelay's file, then committed to by the fixture: its log has entries.
    expect(replica.metadata['metadata-log'].length).toBeGreaterThan(0);
    expect(replica['metadata-location'], replica['metadata-location']).toContain(`${join(tmp, 'central')}/sales/orders/metadata/`);
    const status = (await (await fetch(`${icerelay.url}/admin/v1/replication/status?table=sales.orders`)).json()) as { tables: { lastReplicated: { metadataLocation: string } }[] };
    expect(status.tables[0]!.lastReplicated.metadataLocation).toBe(source['metadata-location']);
  });
});
