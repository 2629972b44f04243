/**
 * `icerelay promote` (failover) as a user runs it, against a real running Icerelay (built-in catalog
 * on SQLite, the default replica `local`), with PyIceberg writing to the source and to the promoted
 * replica:
 * - a table that is up to date is promoted: PyIceberg commits to it at /replicas/local, its other
 *   tables stay read-only, later source commits are not shipped into it (a commit to another table
 *   is, as a control), status says `promoted`, and all of it holds after a restart;
 * - a table that is behind (its queue paused, a commit at the source) is refused with what would be
 *   lost (exit 1, nothing changed), then promoted with --force, the loss recorded;
 * - a destination or table that is not there, or a malformed request: 400 and exit code 2;
 * - the whole destination: every write route works at the replica, and nothing more is shipped.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllChildren, startIcerelay, type IcerelayChild } from '../helpers/child-process-icerelay.ts';
import { freePort } from '../helpers/free-port.ts';
import { sendRaw as send } from '../helpers/raw-http.ts';
import {
  append, createNamespace, createTable, currentId, mustLoad, replicaBase, replicationStatus, sleep, waitForReplication, type StatusRow,
} from '../replication/robustness/harness.ts';

const repo = resolve(import.meta.dirname, '../..');
const python = join(repo, '.venv', 'bin', 'python');
const script = join(import.meta.dirname, 'promote_check.py');
const run = promisify(execFile);

let tmp: string;
let server: IcerelayChild;
const env = { ICERELAY_PORT: '', ICERELAY_DATA_DIR: '' };

function icerelay(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(repo, 'bin', 'icerelay.js'), ...args], { env: { ...process.env, ICERELAY_URL: server.url } }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

interface TableState {
  snapshot_id: string | null;
  rows: number[];
}

async function py(command: 'append' | 'read', url: string, table: string, ...ids: number[]): Promise<TableState> {
  const { stdout } = await run(python, [script, command, url, table, ...ids.map(String)], { maxBuffer: 16 << 20 });
  return JSON.parse(stdout) as TableState;
}

const replica = () => replicaBase(server.url);

async function statusOf(table: string): Promise<StatusRow & { promotion?: { forced: boolean; wholeDestination: boolean } }> {
  const [row] = await replicationStatus(server.url, table);
  if (!row) throw new Error(`no status row for ${table}`);
  return row;
}

/** Waits until the table's queue at `local` has applied everything (a commit to it was shipped). */
async function shipped(table: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const row = await statusOf(table);
    if (row.state === 'completed' && row.eventsBehind === 0) return;
    if (row.state === 'failed') throw new Error(`${table} failed: ${row.lastError}`);
    await sleep(100);
  }
  throw new Error(`${table} was not shipped: ${JSON.stringify(await statusOf(table))}`);
}

async function outboxCount(table: string): Promise<number> {
  const answer = await send(server.url, 'GET', `/admin/v1/outbox?limit=10000&table=${table}`);
  return (JSON.parse(answer.body) as { events: unknown[] }).events.length;
}

const setProperty = (value: string) => ({ requirements: [], updates: [{ action: 'set-properties', updates: { note: value } }] });

async function startServer(): Promise<void> {
  server = await startIcerelay({ env });
}

beforeAll(async () => {
  if (!existsSync(python)) throw new Error('No Python venv at .venv: run "bash scripts/python-env.sh" (scripts/test.sh does) first');
  tmp = mkdtempSync(join(tmpdir(), 'icerelay-promote-'));
  Object.assign(env, { ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(tmp, 'data') });
  await startServer();
  await py('append', server.url, 'shop.orders', 1, 2);
  await py('append', server.url, 'shop.clicks', 10);
  await waitForReplication(() => server.url, 60_000);
}, 180_000);

afterAll(async () => {
  await killAllChildren();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('icerelay promote', () => {
  it('promotes an up-to-date table: PyIceberg commits to it at the replica, the source no longer ships into it, also after a restart', async () => {
    // Before: the replica is read-only like every replica.
    const refused = await send(replica(), 'POST', '/v1/namespaces/shop/tables/orders', setProperty('before'));
    expect([refused.status, JSON.parse(refused.body).error.type]).toEqual([403, 'ForbiddenException']);

    const promoted = await icerelay('promote', '--destination', 'local', '--table', 'shop.orders');
    expect([promoted.code, promoted.stderr]).toEqual([0, '']);
    expect(promoted.stdout).toContain('Promoted the table shop.orders of destination local: replication into it has stopped.');
    expect(promoted.stdout).toContain('Nothing was lost');
    expect(promoted.stdout).toContain(`writers: ${server.url}/replicas/local\n`);

    // A real engine commits to the promoted table through the replica's catalog routes.
    const eventsBefore = await outboxCount('shop.orders');
    const written = await py('append', replica(), 'shop.orders', 3);
    expect(written.rows).toEqual([1, 2, 3]);
    expect(currentId((await mustLoad(replica(), { namespace: 'shop', name: 'orders' })).metadata)).toBe(written.snapshot_id);
    // Not recorded as a source commit: the outbox is the source's.
    expect(await outboxCount('shop.orders')).toBe(eventsBefore);
    const config = JSON.parse((await send(replica(), 'GET', '/v1/config')).body) as { endpoints: string[] };
    expect(config.endpoints).toContain('POST /v1/{prefix}/namespaces/{namespace}/tables/{table}');
    expect(config.endpoints).not.toContain('POST /v1/{prefix}/namespaces');

    // The replica's other tables stay read-only.
    const other = await send(replica(), 'POST', '/v1/namespaces/shop/tables/clicks', setProperty('no'));
    expect([other.status, JSON.parse(other.body).error.type]).toEqual([403, 'ForbiddenException']);

    // The source goes on: its commit to the promoted table stays at the source; one to another table ships (the control).
    await py('append', server.url, 'shop.orders', 100);
    await py('append', server.url, 'shop.clicks', 11);
    await shipped('shop.clicks');
    expect((await py('read', replica(), 'shop.clicks')).rows).toEqual([10, 11]);
    expect(await py('read', replica(), 'shop.orders')).toEqual(written);
    expect(await statusOf('shop.orders')).toMatchObject({ state: 'promoted', eventsBehind: 1, promotion: { forced: false, wholeDestination: false } });
    const status = await icerelay('status');
    expect(status.stdout).toMatch(/shop\.orders\s+local\s+promoted/);
    expect(status.stdout).toContain('1 promoted (writable, no longer replicated)');

    // Promoting it again changes nothing.
    const again = await icerelay('promote', '--destination', 'local', '--table', 'shop.orders');
    expect([again.code, again.stdout]).toEqual([0, expect.stringContaining('was already promoted')]);

    // After a restart: still promoted, still writable, still not shipped into.
    await server.kill('SIGKILL');
    await startServer();
    expect((await statusOf('shop.orders')).state).toBe('promoted');
    expect((await py('append', replica(), 'shop.orders', 4)).rows).toEqual([1, 2, 3, 4]);
    await py('append', server.url, 'shop.orders', 101);
    await py('append', server.url, 'shop.clicks', 12);
    await shipped('shop.clicks');
    expect((await py('read', replica(), 'shop.orders')).rows).toEqual([1, 2, 3, 4]);
    expect((await py('read', server.url, 'shop.orders')).rows).toEqual([1, 2, 100, 101]);
    expect(await statusOf('shop.orders')).toMatchObject({ state: 'promoted', eventsBehind: 2 });
  }, 240_000);

  it('refuses a table that is behind, naming what would be lost, and promotes it with --force', async () => {
    const table = { namespace: 'shop', name: 'lagging' };
    await createTable(server.url, table);
    await shipped('shop.lagging');
    expect((await icerelay('pause', '--destination', 'local', '--table', 'shop.lagging')).code).toBe(0);
    await append({ base: () => server.url, table });
    await append({ base: () => server.url, table });
    const replicaBefore = await mustLoad(replica(), table);

    const refused = await icerelay('promote', '--destination', 'local', '--table', 'shop.lagging');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('icerelay: promotion refused. Table shop.lagging of destination local is behind the source; promoting it would lose shop.lagging: 2 commits, 2 snapshots (oldest recorded ');
    expect(refused.stderr).toContain('Nothing was changed. To promote anyway and lose them, repeat with force (icerelay promote --force)');
    // Nothing changed: still paused, still read-only.
    expect((await statusOf('shop.lagging')).state).toBe('paused');
    expect((await send(replica(), 'POST', '/v1/namespaces/shop/tables/lagging', setProperty('x'))).status).toBe(403);
    const api = await send(server.url, 'POST', '/admin/v1/replication/promote', { destination: 'local', table: 'shop.lagging' });
    expect([api.status, JSON.parse(api.body).error.type]).toEqual([409, 'ReplicaBehindException']);

    const forced = await icerelay('promote', '--destination', 'local', '--table', 'shop.lagging', '--force');
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('Lost (not replicated before the promotion): shop.lagging: 2 commits, 2 snapshots');
    const { promotions } = JSON.parse((await send(server.url, 'GET', '/admin/v1/replication/promotions')).body) as { promotions: { table: string; forced: boolean; lost: { commitsBehind: number; snapshotsBehind: number }[] }[] };
    expect(promotions.map((p) => p.table)).toEqual(['shop.orders', 'shop.lagging']);
    expect(promotions[1]).toMatchObject({ forced: true, lost: [{ entity: { namespace: ['shop'], name: 'lagging' }, commitsBehind: 2, snapshotsBehind: 2 }] });

    // Resuming its queue does not start replication again: the promotion holds it.
    expect((await icerelay('resume', '--destination', 'local', '--table', 'shop.lagging')).code).toBe(0);
    await py('append', server.url, 'shop.clicks', 13);
    await shipped('shop.clicks');
    expect((await mustLoad(replica(), table)).metadataLocation).toBe(replicaBefore.metadataLocation);
    expect(await statusOf('shop.lagging')).toMatchObject({ state: 'promoted', eventsBehind: 2, promotion: { forced: true } });
    // And it takes commits now.
    await append({ base: replica, table });
  }, 120_000);

  it('answers 400 (exit code 2) for a destination or table that is not there, and for a malformed request', async () => {
    const nowhere = await icerelay('promote', '--destination', 'nowhere');
    expect([nowhere.code, nowhere.stderr]).toEqual([2, 'icerelay: destination must be one of local, not "nowhere" (see icerelay --help)\n']);
    const unknown = await icerelay('promote', '--destination', 'local', '--table', 'shop.nothing');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('table shop.nothing has never been recorded');
    const malformed = await icerelay('promote', '--destination', 'local', '--table', 'orders');
    expect([malformed.code, malformed.stderr]).toEqual([2, 'icerelay: table must be namespace.table, not "orders" (see icerelay --help)\n']);
    const missing = await icerelay('promote', '--table', 'shop.orders');
    expect([missing.code, missing.stderr]).toEqual([2, 'icerelay: promote needs --destination NAME (the replica to fail over to) (see icerelay --help)\n']);
    for (const [body, message] of [
      [{ destination: 'local', force: 'yes' }, 'force must be true or false, not "yes"'],
      [{ destination: 'local', tables: ['shop.orders'] }, 'unknown field(s) tables'],
      [{ table: 'shop.orders' }, 'destination must be one of local, not null'],
      ['{"destination":', 'Malformed request: invalid JSON body'],
    ] as const) {
      const answer = await send(server.url, 'POST', '/admin/v1/replication/promote', body);
      const error = (JSON.parse(answer.body) as { error: { message: string; type: string; code: number } }).error;
      expect([answer.status, error.type, error.code, error.message]).toEqual([400, 'BadRequestException', 400, expect.stringContaining(message)]);
    }
    const help = await icerelay('promote', '--help');
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('refuses (exit\ncode 1)')]);
  }, 120_000);

  it('keeps a promoted table where it is when the source renames it: the new name gets a replica of its own', async () => {
    const moving = { namespace: 'shop', name: 'moving' };
    await createTable(server.url, moving);
    await shipped('shop.moving');
    expect((await icerelay('promote', '--destination', 'local', '--table', 'shop.moving')).code).toBe(0);
    const promotedState = await mustLoad(replica(), moving);
    const rename = { source: { namespace: ['shop'], name: 'moving' }, destination: { namespace: ['shop'], name: 'moved' } };
    expect((await send(server.url, 'POST', '/v1/tables/rename', rename)).status).toBe(204);
    await shipped('shop.moved');
    expect((await mustLoad(replica(), moving)).metadataLocation).toBe(promotedState.metadataLocation);
    const moved = await mustLoad(replica(), { namespace: 'shop', name: 'moved' });
    expect(moved.metadata['table-uuid']).toBe(promotedState.metadata['table-uuid']);
  }, 120_000);

  it('promotes the whole destination: every write route of the replica works and nothing more is shipped', async () => {
    const clicks = { namespace: 'shop', name: 'clicks' };
    const promoted = await icerelay('promote', '--destination', 'local');
    expect(promoted.code).toBe(0);
    expect(promoted.stdout).toContain('Promoted the destination local: replication into it has stopped. Every write route of /replicas/local takes writes now');
    // The tables promoted on their own before lost what they lost then, not again.
    expect(promoted.stdout).toContain('Nothing was lost');
    const config = JSON.parse((await send(replica(), 'GET', '/v1/config')).body) as { endpoints: string[] };
    expect(config.endpoints).toContain('POST /v1/{prefix}/namespaces');
    expect((await send(replica(), 'POST', '/v1/namespaces', { namespace: ['made_at_replica'] })).status).toBe(200);
    await createTable(replica(), { namespace: 'made_at_replica', name: 't' });
    await createNamespace(server.url, 'made_at_source');

    const before = await mustLoad(replica(), clicks);
    await py('append', server.url, 'shop.clicks', 14);
    // No control is left to wait for: the proxy wakes the shipper at the commit, so a shipment would land within moments.
    await sleep(3000);
    expect((await mustLoad(replica(), clicks)).metadataLocation).toBe(before.metadataLocation);
    expect(await statusOf('shop.clicks')).toMatchObject({ state: 'promoted', eventsBehind: 1, promotion: { wholeDestination: true } });
    expect((await send(replica(), 'HEAD', '/v1/namespaces/made_at_source')).status).toBe(404);
    expect((await py('append', replica(), 'shop.clicks', 99)).rows).toEqual([10, 11, 12, 13, 99]);
  }, 120_000);
});
