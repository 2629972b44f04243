/**
 * `icerelay conformance` as a user runs it (bin/icerelay.js), against real catalogs: Icerelay's
 * built-in catalog alone, the proxy in front of it, and its replica endpoint (read-only); and
 * against catalogs that get things wrong (a writable catalog checked as read-only, servers with
 * broken answers), which must fail naming the check. The reports are read back with a real XML
 * parser (Python's ElementTree) and JSON.parse.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllChildren, startIcerelay, type IcerelayChild } from '../helpers/child-process-icerelay.ts';
import { freePort } from '../helpers/free-port.ts';
import { sendRaw as send } from '../helpers/raw-http.ts';

const repo = resolve(import.meta.dirname, '../..');
const python = join(repo, '.venv', 'bin', 'python');
const schema = { type: 'struct', fields: [{ id: 1, name: 'id', type: 'long', required: false }] };

interface Run { code: number; stdout: string; stderr: string }
interface Check { name: string; status: string; reason: string }
interface JsonReport {
  catalogUrl: string;
  readOnly: boolean;
  passed: boolean;
  totals: { passed: number; failed: number; skipped: number; errors: number };
  runners: { runner: string; log?: string; totals: JsonReport['totals']; checks: Check[] }[];
}
interface Junit {
  tests: number; failures: number; errors: number; skipped: number;
  suites: { name: string; tests: number; failures: number; errors: number; skipped: number }[];
  cases: { suite: string; name: string; outcome: 'passed' | 'failure' | 'error' | 'skipped'; message: string }[];
}

let tmp: string;
let proxy: IcerelayChild;
let builtin: IcerelayChild;
const brokenServers: ServerType[] = [];

function icerelay(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [join(repo, 'bin', 'icerelay.js'), ...args], { cwd: tmp, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The JUnit file as Python's ElementTree reads it: a parse error fails the test. */
function readJunit(path: string): Promise<Junit> {
  const script = `
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
num = lambda e, k: int(e.get(k))
out = {k: num(root, k) for k in ("tests", "failures", "errors", "skipped")}
out["suites"], out["cases"] = [], []
for suite in root.findall("testsuite"):
    out["suites"].append(dict(name=suite.get("name"), **{k: num(suite, k) for k in ("tests", "failures", "errors", "skipped")}))
    for case in suite.findall("testcase"):
        bad = [c for c in case if c.tag in ("failure", "error", "skipped")]
        out["cases"].append({"suite": suite.get("name"), "name": case.get("name"),
            "outcome": bad[0].tag if bad else "passed", "message": bad[0].get("message", "") if bad else ""})
print(json.dumps(out))
`;
  return new Promise((done, fail) => {
    execFile('python3', ['-c', script, path], (error, stdout, stderr) => (error ? fail(new Error(`${path}: ${stderr}`)) : done(JSON.parse(stdout) as Junit)));
  });
}

async function reports(dir: string): Promise<{ json: JsonReport; junit: Junit }> {
  return {
    json: JSON.parse(readFileSync(join(tmp, dir, 'conformance.json'), 'utf8')) as JsonReport,
    junit: await readJunit(join(tmp, dir, 'conformance.junit.xml')),
  };
}

/** The JSON and the XML tell the same results, and the table printed them. */
function expectConsistent(run: Run, json: JsonReport, junit: Junit): void {
  const checks = json.runners.flatMap((r) => r.checks.map((c) => ({ ...c, suite: r.runner })));
  const outcome = { passed: 'passed', failed: 'failure', error: 'error', skipped: 'skipped' } as const;
  expect(junit.cases.map((c) => [c.suite, c.name, c.outcome])).toEqual(checks.map((c) => [c.suite, c.name, outcome[c.status as keyof typeof outcome]]));
  expect([junit.tests, junit.failures, junit.errors, junit.skipped]).toEqual([checks.length, json.totals.failed, json.totals.errors, json.totals.skipped]);
  for (const r of json.runners) {
    const t = r.totals;
    expect(run.stdout).toMatch(new RegExp(`^${r.runner}\\s+${t.passed}\\s+${t.failed}\\s+${t.skipped}\\s+${t.errors}\\s`, 'm'));
  }
  for (const failed of checks.filter((c) => c.status === 'failed')) expect(run.stdout).toContain(`${failed.suite} ${failed.name}: ${failed.reason.slice(0, 40)}`);
}

const startBroken = (app: Hono): Promise<string> => new Promise((ready) => {
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => ready(`http://127.0.0.1:${info.port}`));
  brokenServers.push(server);
});

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'icerelay-conformance-'));
  [proxy, builtin] = await Promise.all([
    startIcerelay({ env: { ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(tmp, 'proxy-data') } }),
    startIcerelay({ args: ['--catalog-only'], env: { ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(tmp, 'builtin-data') } }),
  ]);
}, 120_000);

afterAll(async () => {
  await killAllChildren();
  await Promise.all(brokenServers.map((s) => new Promise((done) => s.close(done))));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('icerelay conformance', () => {
  it('explains itself; wrong arguments are usage errors (2), an unreachable catalog a failure (1)', async () => {
    const help = await icerelay(['conformance', '--help']);
    expect(help.code).toBe(0);
    for (const part of ['--read-only', '--runners', 'protocol', 'pyiceberg', 'spark', 'rck', 'conformance.junit.xml', 'Exit codes']) expect(help.stdout).toContain(part);
    expect((await icerelay(['--help'])).stdout).toContain('conformance URL');
    const unknown = await icerelay(['conformance', builtin.url, '--runners', 'protocol,trino']);
    expect([unknown.code, unknown.stderr]).toEqual([2, 'icerelay: --runners takes some of protocol, pyiceberg, spark, rck, not trino (see icerelay conformance --help)\n']);
    const notHttp = await icerelay(['conformance', 'ftp://catalog']);
    expect([notHttp.code, notHttp.stderr]).toEqual([2, "icerelay: the catalog URL must be an http:// or https:// URL, not 'ftp://catalog' (see icerelay conformance --help)\n"]);
    expect((await icerelay(['conformance'])).code).toBe(2);
    expect((await icerelay(['conformance', builtin.url, '--colour'])).code).toBe(2);
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const unreachable = await icerelay(['conformance', nobody, '--runners', 'protocol', '--output', 'unreachable']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(`no answer from ${nobody}/v1/config`);
  }, 120_000);

  for (const target of ['built-in catalog', 'proxy'] as const) {
    it(`passes every protocol check against the ${target}, with the table, JUnit XML and JSON`, async () => {
      const url = target === 'proxy' ? proxy.url : builtin.url;
      const dir = `protocol-${target === 'proxy' ? 'proxy' : 'builtin'}`;
      const run = await icerelay(['conformance', url, '--runners', 'protocol', '--output', dir]);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const { json, junit } = await reports(dir);
      expect([json.catalogUrl, json.readOnly, json.passed]).toEqual([url, false, true]);
      const checks = json.runners[0]!.checks;
      expect(checks.length).toBeGreaterThanOrEqual(20);
      expect(checks.filter((c) => c.status !== 'passed')).toEqual([]);
      expect(checks.map((c) => c.name)).toEqual(expect.arrayContaining(['config', 'table-commit-conflict', 'table-etag', 'table-list-pages', 'namespace-missing']));
      expect(junit.suites).toEqual([{ name: 'protocol', tests: checks.length, failures: 0, errors: 0, skipped: 0 }]);
      expectConsistent(run, json, junit);
      expect(run.stdout).toContain('conformance: passed');
      expect(run.stderr).toContain('conformance: protocol: table-commit PASSED');
      // The run's namespace is gone again: the catalog is as it was.
      expect(JSON.parse((await send(url, 'GET', '/v1/namespaces')).body)).toEqual({ namespaces: [], 'next-page-token': null });
    }, 120_000);
  }

  it('checks the replica endpoint read-only: reads of a replicated table work, every write is refused, rck is skipped', async () => {
    // Two namespaces, so that the namespace listing has pages to check.
    for (const namespace of ['archive', 'shop']) expect((await send(proxy.url, 'POST', '/v1/namespaces', { namespace: [namespace] })).status).toBe(200);
    expect((await send(proxy.url, 'POST', '/v1/namespaces/shop/tables', { name: 'orders', schema })).status).toBe(200);
    const replica = `${proxy.url}/replicas/local`;
    const replicated = async () => (await send(replica, 'GET', '/v1/namespaces/shop/tables/orders')).status === 200 && (await send(replica, 'GET', '/v1/namespaces/archive')).status === 200;
    for (let i = 0; i < 100 && !(await replicated()); i++) await new Promise((r) => setTimeout(r, 200));
    const run = await icerelay(['conformance', replica, '--read-only', '--runners', 'protocol,rck', '--output', 'replica']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const { json, junit } = await reports('replica');
    expect([json.readOnly, json.passed]).toEqual([true, true]);
    const [protocol, rck] = json.runners;
    expect(protocol!.checks.filter((c) => c.status !== 'passed')).toEqual([]);
    const names = protocol!.checks.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['config-read-only', 'table-load', 'table-etag', 'namespace-list-pages', 'forbidden-create-table', 'forbidden-commit-table', 'forbidden-drop-table', 'unchanged-after-writes']));
    expect(rck!.checks).toEqual([expect.objectContaining({ name: 'rck', status: 'skipped', reason: expect.stringContaining('read-only') })]);
    expect(junit.suites.map((s) => [s.name, s.skipped])).toEqual([['protocol', 0], ['rck', 1]]);
    expectConsistent(run, json, junit);
    expect(run.stdout).toMatch(/skipped \(1\):\n {2}rck: the REST Compatibility Kit/);
  }, 120_000);

  it('fails (1) when a writable catalog is checked as read-only, names the failed checks, and leaves the catalog as it was', async () => {
    const before = (await send(proxy.url, 'GET', '/v1/namespaces')).body;
    const run = await icerelay(['conformance', proxy.url, '--read-only', '--runners', 'protocol', '--output', 'writable-as-read-only']);
    expect(run.code).toBe(1);
    const { json, junit } = await reports('writable-as-read-only');
    expect(json.passed).toBe(false);
    const failed = junit.cases.filter((c) => c.outcome === 'failure');
    expect(failed.map((c) => c.name)).toEqual(expect.arrayContaining(['config-read-only', 'forbidden-create-namespace', 'forbidden-create-table', 'forbidden-drop-table']));
    expect(failed.find((c) => c.name === 'forbidden-create-namespace')!.message).toMatch(/expected HTTP 403, got 200/);
    expect(failed.find((c) => c.name === 'forbidden-drop-table')!.message).toMatch(/expected HTTP 403, got 404 NoSuchTableException/);
    expectConsistent(run, json, junit);
    expect(run.stdout).toMatch(/conformance: FAILED \(\d+ failed, 0 runner errors\)/);
    expect((await send(proxy.url, 'GET', '/v1/namespaces')).body).toBe(before);
    expect(JSON.parse((await send(proxy.url, 'GET', '/v1/namespaces/shop/tables')).body).identifiers).toEqual([{ namespace: ['shop'], name: 'orders' }]);
  }, 120_000);

  it('fails (1) against servers with wrong answers, naming the check and why', async () => {
    const wrongConfig = new Hono().get('/v1/config', (c) => c.json({ defaults: {}, overrides: {}, endpoints: 'everything' }));
    const run = await icerelay(['conformance', await startBroken(wrongConfig), '--runners', 'protocol', '--output', 'wrong-config']);
    expect(run.code).toBe(1);
    const { json, junit } = await reports('wrong-config');
    expect(junit.cases[0]).toMatchObject({ name: 'config', outcome: 'failure', message: expect.stringContaining('not a valid CatalogConfig: /endpoints must be array') });
    // Everything else builds on the config, directly or through another check: skipped, saying so.
    expect(junit.cases.slice(1).filter((c) => c.outcome !== 'skipped' || !/^needs [\w-]+(, [\w-]+)*, which did not pass$/.test(c.message))).toEqual([]);
    expect(junit.cases.find((c) => c.name === 'namespace-create')!.message).toBe('needs config, which did not pass');
    expectConsistent(run, json, junit);

    // A right config, then plain-text 404s and a wrong error type.
    const wrongErrors = new Hono()
      .get('/v1/config', (c) => c.json({ defaults: {}, overrides: {} }))
      .get('/v1/namespaces/:ns', (c) => c.json({ error: { message: 'nope', type: 'NoSuchTableException', code: 404 } }, 404))
      .all('*', (c) => c.text('not here', 404));
    const broken = await icerelay(['conformance', await startBroken(wrongErrors), '--runners', 'protocol', '--output', 'wrong-errors']);
    expect(broken.code).toBe(1);
    const cases = (await reports('wrong-errors')).junit.cases;
    expect(cases.find((c) => c.name === 'config')!.outcome).toBe('passed');
    expect(cases.find((c) => c.name === 'namespace-create')).toMatchObject({ outcome: 'failure', message: 'POST /v1/namespaces: expected HTTP 200, got 404 not here' });
    expect(cases.find((c) => c.name === 'namespace-missing')).toMatchObject({ outcome: 'failure', message: expect.stringContaining('expected error type NoSuchNamespaceException, got NoSuchTableException') });
  }, 120_000);

  it('reports a runner whose tools are missing as an error saying what to install (1)', async () => {
    const bin = join(tmp, 'only-bash-and-python');
    mkdirSync(bin);
    for (const tool of ['bash', 'python3']) symlinkSync(await which(tool), join(bin, tool));
    const run = await icerelay(['conformance', builtin.url, '--runners', 'protocol,spark', '--output', 'no-java'], { ...process.env, PATH: bin });
    expect(run.code).toBe(1);
    const { json, junit } = await reports('no-java');
    expect(json.runners[0]!.totals.failed).toBe(0);
    expect(json.runners[1]!.checks).toEqual([expect.objectContaining({ name: 'spark', status: 'error', reason: expect.stringMatching(/^spark needs java, mvn on PATH: install a JDK 17 or newer .*; Maven/) })]);
    expect(junit.errors).toBe(1);
    expect(run.stdout).toMatch(/runner errors \(1\):\n {2}spark: spark needs java, mvn/);
  }, 120_000);

  it('runs the PyIceberg scenarios against the built-in catalog, one result per scenario', async () => {
    if (!existsSync(python)) throw new Error('No Python venv at .venv: run "bash scripts/python-env.sh" (scripts/test.sh does) first');
    const run = await icerelay(['conformance', builtin.url, '--runners', 'pyiceberg', '--output', 'pyiceberg']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const { json, junit } = await reports('pyiceberg');
    const checks = json.runners[0]!.checks;
    expect(checks.map((c) => c.name)).toEqual(expect.arrayContaining(['namespaces', 'append', 'schema_evolution', 'time_travel', 'drop_table']));
    expect(checks.filter((c) => c.status !== 'passed')).toEqual([]);
    expect(readFileSync(join(tmp, 'pyiceberg', json.runners[0]!.log!), 'utf8')).toMatch(/pyiceberg: \d+ passed, 0 failed/);
    expect(run.stderr).toContain('conformance: pyiceberg: append PASS');
    expectConsistent(run, json, junit);
  }, 180_000);
});

function which(tool: string): Promise<string> {
  return new Promise((done, fail) => execFile('bash', ['-c', `command -v ${tool}`], (error, stdout) => (error ? fail(error) : done(stdout.trim()))));
}
