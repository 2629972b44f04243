/**
 * The README's quickstart and the PyIceberg and DuckDB snippets of docs/connect.md, as a new user
 * would run them: `npm start` (the README's second command; the first, `npm ci`, made this
 * checkout), then each engine's writer snippet against the writer endpoint and its replica
 * snippet against the replica endpoint (conformance/docs/snippets.py checks the commit landed,
 * the replica caught up, and the reader printed the source's row count). Only the port differs
 * from the page. The Spark snippets run in the conformance suite (a JVM each).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

describe('README quickstart and docs/connect.md snippets', () => {
  let dir: string;
  let server: ChildProcess;
  let output = '';
  let url: string;
  let python: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'icerelay-docs-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('ICERELAY_')) env[name] = value;
    // The README's `npm start`, in a process group of its own so that npm, tsx and node all stop.
    server = spawn('npm', ['start'], { cwd: root, env: { ...env, ICERELAY_PORT: String(port), ICERELAY_DATA_DIR: join(dir, 'data') }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
    server.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
    python = join((await run('bash', [join(root, 'scripts/python-env.sh')])).stdout.trim(), 'bin', 'python');
    const deadline = Date.now() + 60_000;
    for (;;) {
      const answer = await fetch(`${url}/healthz`).catch(() => undefined);
      if (answer?.ok) break;
      if (server.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not serve ${url}:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 600_000);

  afterAll(async () => {
    if (server?.pid !== undefined && server.exitCode === null) {
      const exited = new Promise((done) => server.once('exit', done));
      process.kill(-server.pid, 'SIGTERM');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('serves the writer endpoint and the replica endpoint named on the page', async () => {
    // The start-up line comes once what a previous run left open is settled, just after the port opens.
    for (let i = 0; i < 100 && !output.includes('listening on'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(output).toContain(`Iceberg REST catalog listening on ${url}; read-only replicas at ${url}/replicas/local`);
    expect((await fetch(`${url}/v1/config`)).status).toBe(200);
    expect((await fetch(`${url}/replicas/local/v1/config`)).status).toBe(200);
  });

  it('runs the PyIceberg and DuckDB snippets: writes land, replicas catch up, readers see the rows', async () => {
    const result = await run(python, [join(root, 'conformance/docs/snippets.py'), url, '--engine', 'pyiceberg', '--engine', 'duckdb', '--timeout', '120'], { cwd: root, maxBuffer: 16 * 1024 * 1024 })
      .catch((error: { stdout: string; stderr: string; code: number }) => error);
    const text = `${result.stdout}\n${result.stderr}`;
    expect(text, text).toMatch(/^docs-snippets: 4 passed, 0 failed, 0 skipped$/m);
    for (const scenario of ['pyiceberg_writer', 'pyiceberg_replica', 'duckdb_writer', 'duckdb_replica']) {
      expect(text).toContain(`--- docs-snippets/${scenario}: PASS`);
    }
  }, 600_000);
});
