/**
 * loadTable and commit latency/throughput of Iceberg REST catalogs, side by side in one run.
 *
 * Usage: tsx bench/catalog/catalog-bench.ts [--duration-ms 10000] [--rounds 5] [--concurrency 1,32] [--client node|wrk] name=url [name=url ...]
 * The first catalog is the one measured; the others are peers; ratios are first / peer.
 * The client: this process (`node`, fetch, the default) or wrk (`wrk`, a C load generator using a
 * small fraction of a core, for layouts where the client must not compete with what is measured;
 * wrk-catalog.lua). With wrk, p50 and p99 are the medians of the rounds' own percentiles.
 * Each measurement is split into rounds that take turns between the catalogs, so a machine that
 * gets slower or faster during the run (shared cores) weighs on every catalog alike.
 * Each catalog gets its own namespace with one table per worker, so commits measure the commit
 * path (read metadata, apply, write a file, swap the pointer) rather than contention on one table.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';

interface Target {
  name: string;
  url: string;
}

interface Stats {
  catalog: string;
  operation: 'loadTable' | 'commit';
  concurrency: number;
  requests: number;
  errors: number;
  throughputPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const durationMs = option('duration-ms', 10_000);
const warmupMs = option('warmup-ms', 3_000);
const rounds = option('rounds', 5);
const concurrencyIndex = args.indexOf('--concurrency');
const concurrencies = concurrencyIndex >= 0 ? args[concurrencyIndex + 1]!.split(',').map(Number) : [1, 32];
const clientIndex = args.indexOf('--client');
const client = clientIndex >= 0 ? args[clientIndex + 1]! : 'node';
if (client !== 'node' && client !== 'wrk') {
  console.error(`--client must be node or wrk, not ${client}`);
  process.exit(2);
}
const outIndex = args.indexOf('--out');
const outFile = outIndex >= 0 ? args[outIndex + 1] : undefined;
const targets: Target[] = args
  .filter((a, i) => a.includes('=') && !args[i - 1]?.startsWith('--'))
  .map((a) => ({ name: a.slice(0, a.indexOf('=')), url: a.slice(a.indexOf('=') + 1).replace(/\/+$/, '') }));
if (targets.length === 0) {
  console.error('usage: tsx bench/catalog/catalog-bench.ts [--duration-ms N] [--warmup-ms N] [--rounds N] [--concurrency 1,32] [--out file.json] name=url ...');
  process.exit(2);
}

async function call(url: string, init?: RequestInit): Promise<Response> {
  const response = await fetch(url, { ...init, headers: { 'content-type': 'application/json', ...init?.headers } });
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${response.status} ${await response.text()}`);
  return response;
}

const schema = {
  type: 'struct', 'schema-id': 0,
  fields: Array.from({ length: 20 }, (_, i) => ({ id: i + 1, name: `c${i}`, type: i % 2 ? 'string' : 'long', required: false })),
};

/**
 * A POST on a connection of its own. Set-up runs between measurements, after connections sat idle
 * while wrk measured: a pooled one may have been closed by the server in the meantime.
 */
function postOnce(url: string, body: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`POST ${url}: ${response.statusCode} ${text}`))));
    });
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

async function setUp(target: Target, tables: number): Promise<string> {
  const ns = `bench_${randomUUID().slice(0, 8)}`;
  await postOnce(`${target.url}/v1/namespaces`, { namespace: [ns] });
  for (let i = 0; i < tables; i++) await postOnce(`${target.url}/v1/namespaces/${ns}/tables`, { name: `t${i}`, schema });
  return ns;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Recorder {
  /** Every request's latency (the Node.js client). */
  latencies: number[];
  /** Each round's percentiles (wrk reports no single latencies). */
  roundPercentiles: { p50Ms: number; p99Ms: number }[];
  requests: number;
  errors: number;
  elapsedMs: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** One wrk run of `operation` against one catalog: a connection (and thread) per table. */
function runWrk(target: Target, ns: string, operation: Stats['operation'], concurrency: number, ms: number, into?: Recorder): void {
  const seconds = Math.max(1, Math.round(ms / 1000));
  const script = new URL('./wrk-catalog.lua', import.meta.url).pathname;
  const output = execFileSync('wrk', ['-t', String(concurrency), '-c', String(concurrency), '-d', `${seconds}s`, '--timeout', '10s', '-s', script, target.url], {
    env: { ...process.env, BENCH_NS: ns, BENCH_OP: operation },
    encoding: 'utf8',
  });
  const line = output.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (!line) throw new Error(`wrk printed no result:\n${output}`);
  const result = JSON.parse(line) as { requests: number; durationUs: number; errors: number; p50Us: number; p99Us: number };
  if (!into) return;
  into.requests += result.requests;
  into.errors += result.errors;
  into.elapsedMs += result.durationUs / 1000;
  into.roundPercentiles.push({ p50Ms: result.p50Us / 1000, p99Ms: result.p99Us / 1000 });
}

/** Runs `operation` against one catalog for `ms`, adding to `into` when given (else a warm-up). */
async function runFor(target: Target, ns: string, operation: Stats['operation'], concurrency: number, ms: number, into?: Recorder): Promise<void> {
  if (client === 'wrk') return runWrk(target, ns, operation, concurrency, ms, into);
  let counter = 0;
  const once = async (worker: number) => {
    const table = `${target.url}/v1/namespaces/${ns}/tables/t${worker}`;
    if (operation === 'loadTable') {
      await (await call(table)).arrayBuffer();
    } else {
      const body = { requirements: [], updates: [{ action: 'set-properties', updates: { n: String(counter++) } }] };
      await (await call(table, { method: 'POST', body: JSON.stringify(body) })).arrayBuffer();
    }
  };
  const started = performance.now();
  const end = started + ms;
  await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
    while (performance.now() < end) {
      const start = performance.now();
      try {
        await once(worker);
        into?.latencies.push(performance.now() - start);
        if (into) into.requests++;
      } catch (error) {
        if (into && into.errors++ === 0) console.error(String(error).slice(0, 300));
      }
    }
  }));
  if (into) into.elapsedMs += performance.now() - started;
}

const results: Stats[] = [];
for (const concurrency of concurrencies) {
  for (const operation of ['loadTable', 'commit'] as const) {
    const namespaces = new Map<string, string>();
    const recorders = new Map<string, Recorder>();
    for (const target of targets) {
      namespaces.set(target.name, await setUp(target, concurrency));
      recorders.set(target.name, { latencies: [], roundPercentiles: [], requests: 0, errors: 0, elapsedMs: 0 });
      await runFor(target, namespaces.get(target.name)!, operation, concurrency, warmupMs);
    }
    for (let round = 0; round < rounds; round++) {
      for (const target of targets) {
        await runFor(target, namespaces.get(target.name)!, operation, concurrency, durationMs / rounds, recorders.get(target.name));
      }
    }
    for (const target of targets) {
      const { latencies, roundPercentiles, requests, errors, elapsedMs } = recorders.get(target.name)!;
      latencies.sort((a, b) => a - b);
      const fromRounds = roundPercentiles.length > 0;
      const stats: Stats = {
        catalog: target.name, operation, concurrency, requests, errors,
        throughputPerSec: requests / (elapsedMs / 1000),
        p50Ms: fromRounds ? median(roundPercentiles.map((r) => r.p50Ms)) : percentile(latencies, 50),
        p99Ms: fromRounds ? median(roundPercentiles.map((r) => r.p99Ms)) : percentile(latencies, 99),
      };
      results.push(stats);
      console.error(`${stats.catalog} ${operation} c=${concurrency}: ${stats.throughputPerSec.toFixed(0)}/s p50 ${stats.p50Ms.toFixed(2)}ms p99 ${stats.p99Ms.toFixed(2)}ms errors ${stats.errors}`);
    }
  }
}

const lines = ['| operation | concurrency | catalog | throughput (req/s) | p50 (ms) | p99 (ms) | errors | throughput ratio |', '|---|---|---|---|---|---|---|---|'];
for (const r of results) {
  const first = results.find((x) => x.operation === r.operation && x.concurrency === r.concurrency && x.catalog === targets[0]!.name)!;
  const ratio = r.catalog === first.catalog ? '' : `${(first.throughputPerSec / r.throughputPerSec).toFixed(2)}x (${first.catalog} / ${r.catalog})`;
  lines.push(`| ${r.operation} | ${r.concurrency} | ${r.catalog} | ${r.throughputPerSec.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.errors} | ${ratio} |`);
}
console.log(lines.join('\n'));
if (outFile) writeFileSync(outFile, `${JSON.stringify({ client, durationMs, warmupMs, rounds, results }, null, 2)}\n`);
