/**
 * The `icerelay` command as a user runs it (bin/icerelay.js), against a real running Icerelay:
 * help, status, pause and resume, backfill of a table created around the proxy, config check,
 * and the documented exit codes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllChildren, startIcerelay, type IcerelayChild } from '../helpers/child-process-icerelay.ts';
import { freePort } from '../helpers/free-port.ts';
import { sendRaw as send } from '../helpers/raw-http.ts';

const repo = resolve(import.meta.dirname, '../..');
const schema = { type: 'struct', fields: [{ id: 1, name: 'id', type: 'long', required: false }] };

let tmp: string;
let server: IcerelayChild;

function icerelay(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(repo, 'bin', 'icerelay.js'), ...args], { env: { ...process.env, ICERELAY_URL: server?.url ?? '' } }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function until(check: () => Promise<boolean>): Promise<void> {
  // Each check runs the command (a process start): a few tries, a moment apart.
  for (let i = 0; i < 15; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error('condition not met');
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'icerelay-cli-'));
  server = await startIcerelay({ env: { ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(tmp, 'data') } });
  expect((await send(server.url, 'POST', '/v1/namespaces', { namespace: ['shop'] })).status).toBe(200);
  expect((await send(server.url, 'POST', '/v1/namespaces/shop/tables', { name: 'orders', schema })).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await killAllChildren();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('icerelay (the command)', () => {
  it('explains every command; no command is a usage error', async () => {
    const help = await icerelay('--help');
    expect(help.code).toBe(0);
    for (const command of ['serve', 'status', 'backfill', 'pause, resume', 'config check', 'Exit codes']) expect(help.stdout).toContain(command);
    for (const command of ['serve', 'status', 'backfill', 'pause', 'resume', 'config']) {
      const sub = await icerelay(command, '--help');
      expect([command, sub.code, sub.stdout.length > 100]).toEqual([command, 0, true]);
    }
    expect((await icerelay()).code).toBe(2);
    const unknown = await icerelay('promote-everything');
    expect([unknown.code, unknown.stderr]).toEqual([2, "icerelay: unknown command 'promote-everything' (see icerelay --help)\n"]);
  }, 60_000);

  it('status prints tables x destinations; pause holds a table, resume ships it', async () => {
    await until(async () => /shop\.orders\s+local\s+completed/.test((await icerelay('status')).stdout));
    const paused = await icerelay('pause', '--destination', 'local', '--table', 'shop.orders');
    expect([paused.code, paused.stdout]).toEqual([0, 'paused 1 queue(s) of destination local (table shop.orders)\n']);
    const commit = { requirements: [], updates: [{ action: 'set-properties', updates: { n: '1' } }] };
    expect((await send(server.url, 'POST', '/v1/namespaces/shop/tables/orders', commit)).status).toBe(200);
    const held = await icerelay('status', '--table', 'shop.orders', '--json');
    const row = (JSON.parse(held.stdout) as { tables: { state: string; eventsBehind: number }[] }).tables[0];
    expect(row).toMatchObject({ state: 'paused', eventsBehind: 1 });
    expect((await icerelay('resume', '--destination', 'local', '--table', 'shop.orders')).code).toBe(0);
    await until(async () => (await icerelay('status', '--table', 'shop.orders')).stdout.includes('completed'));
    const wrong = await icerelay('pause', '--destination', 'nowhere');
    expect([wrong.code, wrong.stderr]).toEqual([2, 'icerelay: destination must be one of local, not "nowhere" (see icerelay --help)\n']);
  }, 120_000);

  it('backfill finds a table written around the proxy and waits until it is replicated', async () => {
    // Straight into the state database's catalog through a second, catalog-only server.
    const direct = await startIcerelay({ args: ['--catalog-only'], env: { ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(tmp, 'data') } });
    expect((await send(direct.url, 'POST', '/v1/namespaces/shop/tables', { name: 'legacy', schema })).status).toBe(200);
    await direct.kill('SIGTERM');
    const result = await icerelay('backfill');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/checked 2 source table\(s\): 1 to replicate/);
    expect(result.stdout).toMatch(/tables 2\/2/);
    expect((await send(server.url, 'GET', '/replicas/local/v1/namespaces/shop/tables/legacy')).status).toBe(200);
  }, 60_000);

  it('config check names a wrong field (exit 2) and summarizes a valid file', async () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'replication: { destinations: { eu: { warehouse: /x, retention: { maxAge: soon } } } }\n');
    const refused = await icerelay('config', 'check', '--config', bad);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('replication.destinations.eu.retention.maxAge');
    const good = join(tmp, 'good.yaml');
    writeFileSync(good, 'replication: { destinations: { eu: { warehouse: /x, namespacePrefix: us } } }\n');
    const checked = await icerelay('config', 'check', '--config', good);
    expect(checked.code).toBe(0);
    expect(checked.stdout).toContain('destination eu: built-in, served at /replicas/eu, files under file:///x, names under us.');
  }, 30_000);
});
