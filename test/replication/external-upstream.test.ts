/**
 * Shipping from an external upstream: Icerelay in front of another Iceberg REST catalog (a
 * catalog-only Icerelay, reached over HTTP like any REST catalog), replicating into a folder.
 * Tables that were there before (written straight to the upstream) are found by reconciliation
 * through the upstream's REST routes — namespaces listed, tables loaded, properties read — and
 * backfilled; commits through the proxy follow. PyIceberg reads the replica with the source's rows.
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
import { sendRaw as send } from '../helpers/raw-http.ts';
import { replicationDone } from '../helpers/replication-status.ts';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const python = join(repo, '.venv', 'bin', 'python');
const script = join(repo, 'test', 'replication', 'destinations_check.py');

let tmp: string;
let upstream: IcerelayChild;
let proxy: IcerelayChild;
let written: Record<string, { snapshot_id: string; rows: unknown[] }[]>;

interface ReplicaRead { location: string; snapshots: Record<string, unknown[]>; files: string[] }
const py = async <T>(...args: string[]) => JSON.parse((await run(python, [script, ...args], { maxBuffer: 16 << 20 })).stdout) as T;

beforeAll(async () => {
  if (!existsSync(python)) throw new Error('No Python venv at .venv: run "bash scripts/python-env.sh" (scripts/test.sh does) first');
  tmp = mkdtempSync(join(tmpdir(), 'icerelay-external-upstream-'));
  upstream = await startIcerelay({ args: ['--catalog-only'], env: { ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(tmp, 'upstream') } });
  written = await py('write', upstream.url); // before Icerelay is in front: only a backfill can find these
  const config = join(tmp, 'icerelay.yaml');
  writeFileSync(config, `
upstream: { url: "${upstream.url}" }
replication:
  destinations:
    copy:
      warehouse: "${join(tmp, 'replica')}"
      locations: [{ source: "${pathToFileURL(join(tmp, 'upstream', 'warehouse')).href}/", destination: "${pathToFileURL(join(tmp, 'replica')).href}/" }]
  pollMs: 200
`);
  proxy = await startIcerelay({ args: ['--config', config], env: { ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(tmp, 'proxy') } });
  await replicationDone(proxy.url);
}, 180_000);

afterAll(async () => {
  await killAllChildren();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('replication from an external upstream catalog', () => {
  it('backfills the tables the upstream already had, with every snapshot and the same rows', async () => {
    const prefix = `${pathToFileURL(join(tmp, 'replica')).href}/`;
    for (const table of ['sales.orders', 'ops.events']) {
      const read = await py<ReplicaRead>('read', `${proxy.url}/replicas/copy`, table);
      expect(Object.keys(read.snapshots).sort()).toEqual(written[table]!.map((s) => s.snapshot_id).sort());
      for (const state of written[table]!) expect([state.snapshot_id, read.snapshots[state.snapshot_id]]).toEqual([state.snapshot_id, state.rows]);
      for (const location of [read.location, ...read.files]) expect(location.startsWith(prefix), location).toBe(true);
    }
  }, 60_000);

  it('follows commits through the proxy, namespace properties included', async () => {
    const commit = { requirements: [], updates: [{ action: 'set-properties', updates: { n: '1' } }] };
    expect((await send(proxy.url, 'POST', '/v1/namespaces/ops/tables/events', commit)).status).toBe(200);
    expect((await send(proxy.url, 'POST', '/v1/namespaces/sales/properties', { removals: [], updates: { tier: 'gold' } })).status).toBe(200);
    await replicationDone(proxy.url);
    const table = (await (await fetch(`${proxy.url}/replicas/copy/v1/namespaces/ops/tables/events`)).json()) as { metadata: { properties: Record<string, string> } };
    expect(table.metadata.properties.n).toBe('1');
    const namespace = (await (await fetch(`${proxy.url}/replicas/copy/v1/namespaces/sales`)).json()) as { properties: Record<string, string> };
    expect(namespace.properties).toEqual({ owner: 'sales-team', tier: 'gold' });
  }, 60_000);
});
