/**
 * The backfill benchmark's driver (bench/backfill/run.sh starts the S3 servers and calls it).
 *
 * Setup (not timed): an Icerelay with --catalog-only on an S3 warehouse (s3://source/warehouse on
 * the first S3 server) gets `tables` small tables (setup.ts); its state database is then kept as
 * the pristine copy every round starts from.
 *
 * Per round and variant, taking turns (odd rounds Icerelay first, even rounds the peer first):
 *  - Icerelay: `node --import tsx src/main.ts --config F` on a copy of the pristine state database,
 *    the same source warehouse, and a `replication:` section with one destination: a fresh bucket
 *    on the same S3 server (variant server-side: CopyObject) or on the second one (variant stream).
 *    Its first reconciliation pass (at start) finds every table unknown to the outbox and ships it.
 *    Timed from the server being up (its "listening" log line; the reconcile pass starts with it)
 *    to the last table's completion (max completedAtMs), watched by polling
 *    GET /admin/v1/replication/status every `pollMs`. Also reported: from process spawn.
 *  - Peer: sdk-copy-loop.ts copying exactly the objects the replica holds (data files, manifest,
 *    manifest list, current metadata file of every table) into a fresh bucket, timed from its
 *    first request to its last answer.
 * Every destination is listed afterwards (object count checked) and emptied (not timed). The S3
 * servers' request logs are counted per run: requests by method.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import BetterSqlite3 from 'better-sqlite3';
import { setupTables, type SourceObject } from './setup.ts';

// --- arguments ------------------------------------------------------------------------------------

interface Options {
  tables: number;
  rounds: number;
  filesPerTable: number;
  minKiB: number;
  maxKiB: number;
  concurrency: number;
  peerConcurrency: number;
  variants: Array<'server-side' | 'stream'>;
  pollMs: number;
  /**
   * How Icerelay's completion is watched: `status` polls GET /admin/v1/replication/status (the
   * route `icerelay backfill` polls); `db` reads the outbox's position rows from the state database
   * (read-only, from this process) and asks the status route once at the end.
   */
  observers: Array<'status' | 'db'>;
  endpoint: string;
  endpoint2: string | undefined;
  s3Log: string | undefined;
  s3Log2: string | undefined;
  s3Pid: string | undefined;
  s3Pid2: string | undefined;
  work: string;
  outDir: string;
  seed: number;
  cpuProf: boolean;
  /** Stop after the setup / reuse the setup already in `work` (the S3 server still holding it). */
  setupOnly: boolean;
  skipSetup: boolean;
  /** Time Icerelay's SQLite statements (sql-timing.ts) and report the costliest. */
  sqlTiming: boolean;
  sides: Array<'icerelay' | 'peer'>;
  command: string;
}

function parseOptions(argv: string[]): Options {
  const o: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--cpu-prof' || arg === '--setup-only' || arg === '--skip-setup' || arg === '--sql-timing') {
      o[arg.slice(2)] = '1';
      continue;
    }
    if (!arg.startsWith('--') || argv[i + 1] === undefined) throw new Error(`bad argument ${arg}`);
    o[arg.slice(2)] = argv[++i]!;
  }
  const num = (name: string, fallback: number) => (o[name] === undefined ? fallback : Number(o[name]));
  const filesPerTable = num('files-per-table', 4);
  const concurrency = num('concurrency', 16);
  const variants = (o.variants ?? 'server-side,stream').split(',') as Options['variants'];
  if (variants.includes('stream') && !o['endpoint-2']) throw new Error('variant stream needs --endpoint-2');
  return {
    tables: num('tables', 1000),
    rounds: num('rounds', 3),
    filesPerTable,
    minKiB: num('min-kib', 16),
    maxKiB: num('max-kib', 64),
    concurrency,
    peerConcurrency: num('peer-concurrency', concurrency * filesPerTable),
    variants,
    pollMs: num('poll-ms', 100),
    observers: (o.observers ?? 'status,db').split(',') as Options['observers'],
    endpoint: o.endpoint ?? 'http://127.0.0.1:9100',
    endpoint2: o['endpoint-2'],
    s3Log: o['s3-log'],
    s3Log2: o['s3-log-2'],
    s3Pid: o['s3-pid'],
    s3Pid2: o['s3-pid-2'],
    work: resolve(o.work ?? '.tmp/bench-backfill'),
    outDir: resolve(o['out-dir'] ?? 'bench/backfill'),
    seed: num('seed', 1),
    cpuProf: o['cpu-prof'] === '1',
    setupOnly: o['setup-only'] === '1',
    skipSetup: o['skip-setup'] === '1',
    sqlTiming: o['sql-timing'] === '1',
    sides: (o.sides ?? 'icerelay,peer').split(',') as Options['sides'],
    command: o.command ?? 'bash bench/backfill/run.sh',
  };
}

const options = parseOptions(process.argv.slice(2));
const root = resolve(import.meta.dirname, '../..');
const credentials = { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'icerelay-test', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'icerelay-test' };
const region = process.env.AWS_REGION ?? 'us-east-1';
const env = { ...process.env, AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_REGION: region };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (message: string) => process.stderr.write(`[backfill-bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

function s3(endpoint: string): S3Client {
  return new S3Client({ endpoint, region, forcePathStyle: true, credentials, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
}
const s3a = s3(options.endpoint);
const s3b = options.endpoint2 ? s3(options.endpoint2) : undefined;

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

// --- processes ------------------------------------------------------------------------------------

interface Started {
  child: ChildProcess;
  spawnedAtMs: number;
  /** Parsed JSON log lines as they come (stderr). */
  lines: Array<Record<string, unknown>>;
  /** CPU seconds the process had used when it logged that it listens (its start-up's cost). */
  cpuAtUp: number | undefined;
  exited: Promise<number | null>;
}

function startIcerelay(args: string[], extraEnv: Record<string, string>, logFile: string, nodeArgs: string[] = []): Started {
  const spawnedAtMs = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeArgs, 'src/main.ts', ...args], {
    cwd: root,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let buffered = '';
  const out: string[] = [];
  const started: Started = { child, spawnedAtMs, lines, exited: undefined as unknown as Promise<number | null>, cpuAtUp: undefined };
  child.stderr!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      out.push(line);
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        lines.push(parsed);
        if (started.cpuAtUp === undefined && typeof parsed.msg === 'string' && parsed.msg.includes('listening')) started.cpuAtUp = cpuSeconds(child.pid);
      } catch {
        // not a log line (a stack trace, a warning of node's)
      }
    }
  });
  started.exited = new Promise<number | null>((r) => child.once('exit', (code) => {
    writeFileSync(logFile, `${out.join('\n')}\n${buffered}`);
    r(code);
  }));
  return started;
}

async function stop(started: Started): Promise<void> {
  if (started.child.exitCode === null) started.child.kill('SIGTERM');
  const timeout = sleep(15_000).then(() => 'timeout');
  if ((await Promise.race([started.exited, timeout])) === 'timeout') {
    started.child.kill('SIGKILL');
    await started.exited;
  }
}

async function waitForHttp(url: string, started: Started): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (started.child.exitCode !== null) throw new Error(`the server exited (${started.child.exitCode}) before answering ${url}`);
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  throw new Error(`no answer from ${url}`);
}

// --- S3 helpers -----------------------------------------------------------------------------------

async function createBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
}

/** Every object of the bucket: count and bytes; deletes them and the bucket when asked (not timed). */
async function listBucket(client: S3Client, bucket: string, remove: boolean): Promise<{ objects: number; bytes: number }> {
  let objects = 0;
  let bytes = 0;
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    const contents = page.Contents ?? [];
    objects += contents.length;
    bytes += contents.reduce((n, c) => n + (c.Size ?? 0), 0);
    if (remove && contents.length > 0) {
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: contents.map((c) => ({ Key: c.Key! })), Quiet: true } }));
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (remove) await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  return { objects, bytes };
}

/** What an S3 server's request log (moto's werkzeug lines) gained since `offset`: requests by method. */
function requestsSince(logFile: string | undefined, offset: number): Record<string, number> {
  if (!logFile || !existsSync(logFile)) return {};
  const size = statSync(logFile).size;
  const length = size - offset;
  if (length <= 0) return {};
  const buffer = Buffer.alloc(length);
  const fd = openSync(logFile, 'r');
  try {
    readSync(fd, buffer, 0, length, offset);
  } finally {
    closeSync(fd);
  }
  const counts: Record<string, number> = {};
  for (const match of buffer.toString('utf8').matchAll(/"(?:\x1b\[[0-9;]*m)?(GET|PUT|HEAD|POST|DELETE) \/([^ ?]*)(\?[^ ]*)? HTTP/g)) {
    const method = match[1]!;
    const query = match[3] ?? '';
    // Name the S3 operation as far as the request line tells it.
    let op = method;
    if (method === 'GET' && query.includes('list-type')) op = 'LIST';
    if (method === 'PUT' && query.includes('x-id=CopyObject')) op = 'COPY';
    counts[op] = (counts[op] ?? 0) + 1;
  }
  counts.total = Object.entries(counts).reduce((n, [k, v]) => (k === 'total' ? n : n + v), 0);
  return counts;
}
/** CPU seconds (user + system) a live process has used so far; 0 when unknown. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
const CLOCK_TICKS = 100;
const pidOf = (file: string | undefined) => {
  if (!file || !existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
};
const s3CpuSeconds = () => cpuSeconds(pidOf(options.s3Pid)) + cpuSeconds(pidOf(options.s3Pid2));
const logOffset = (logFile: string | undefined) => (logFile && existsSync(logFile) ? statSync(logFile).size : 0);
const addCounts = (a: Record<string, number>, b: Record<string, number>) => {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
};

// --- setup ----------------------------------------------------------------------------------------

const pristine = join(options.work, 'pristine');
const objectsFile = join(options.work, 'objects.json');
const NAMESPACE = 'bench';
/** Tells this invocation's buckets and folders from an earlier one's on a reused setup. */
const RUN_ID = Date.now().toString(36);

async function setup(): Promise<SourceObject[]> {
  mkdirSync(pristine, { recursive: true });
  await createBucket(s3a, 'source');
  const port = await freePort();
  const catalog = startIcerelay(['--catalog-only'], {
    ICERELAY_PORT: String(port),
    ICERELAY_DATA_DIR: pristine,
    ICERELAY_WAREHOUSE: 's3://source/warehouse',
    ICERELAY_S3_ENDPOINT: options.endpoint,
  }, join(options.work, 'setup-catalog.log'));
  try {
    await waitForHttp(`http://127.0.0.1:${port}/v1/config`, catalog);
    const started = Date.now();
    const objects = await setupTables({
      catalogUrl: `http://127.0.0.1:${port}`, s3: s3a, namespace: NAMESPACE, tables: options.tables,
      filesPerTable: options.filesPerTable, minKiB: options.minKiB, maxKiB: options.maxKiB, seed: options.seed, concurrency: 16,
      onProgress: (done) => {
        if (done % 100 === 0) log(`setup: ${done}/${options.tables} tables`);
      },
    });
    log(`setup: ${options.tables} tables, ${objects.length} objects in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    writeFileSync(objectsFile, JSON.stringify(objects));
    return objects;
  } finally {
    await stop(catalog);
  }
}

/** A fresh data folder holding a copy of the pristine state database. */
function freshDataDir(name: string): string {
  const dir = join(options.work, name);
  mkdirSync(dir, { recursive: true });
  for (const file of readdirSync(pristine)) {
    if (file.startsWith('icerelay.db')) copyFileSync(join(pristine, file), join(dir, file));
  }
  return dir;
}

// --- one Icerelay backfill ------------------------------------------------------------------------

interface RunResult {
  side: 'icerelay' | 'peer';
  variant: string;
  /** Icerelay only: how completion was watched. */
  observer?: 'status' | 'db';
  round: number;
  order: number;
  tables: number;
  files: number;
  bytes: number;
  /** The measured time (Icerelay: server up -> last table completed; peer: first request -> last answer). */
  seconds: number;
  tablesPerSec: number;
  filesPerSec: number;
  bytesPerSec: number;
  /** Icerelay only: from process spawn to the last completion, and the parts of it. */
  fromSpawnSeconds?: number;
  startupSeconds?: number;
  reconcileSeconds?: number;
  /** Icerelay only: when the poll saw every table completed (after its last completion). */
  detectedSeconds?: number;
  statusPolls?: number;
  statusPollMedianMs?: number;
  statusPollMaxMs?: number;
  /** Objects found at the destination afterwards, and their bytes. */
  destinationObjects: number;
  destinationBytes: number;
  /**
   * CPU seconds used during the measured run: by the side's own process (Icerelay: after its
   * start-up, i.e. since it logged that it listens), and by the S3 server(s).
   */
  cpuSeconds: number;
  s3CpuSeconds: number;
  /** With --sql-timing: Icerelay's costliest SQL statements over the whole process (runs, ms). */
  sql?: Array<{ sql: string; runs: number; ms: number }>;
  /** Requests the S3 server(s) logged during the run, by method. */
  requests: Record<string, number>;
  loadavg1: number;
}

const sourceBytes = (objects: SourceObject[]) => objects.reduce((n, o) => n + o.size, 0);
const median = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

type StatusBody = {
  summary: Array<{ entities: number; completed: number; failed: number }>;
  tables: Array<{ completedAtMs: number | null; state: string; lastError: string | null }>;
};

/** Counts from the state database, as the status route computes them (tables only). */
function observeDatabase(db: BetterSqlite3.Database): { entities: number; completed: number; failed: number } {
  const row = db.prepare(`
    select count(*) as entities,
           sum(case when p.state not in ('failed', 'paused') and p.position >= e.last_sequence then 1 else 0 end) as completed,
           sum(case when p.state = 'failed' then 1 else 0 end) as failed
    from outbox_entities e left join outbox_positions p on p.entity_key = e.entity_key and p.destination = 'bench'`).get() as
    { entities: number; completed: number | null; failed: number | null };
  return { entities: row.entities, completed: row.completed ?? 0, failed: row.failed ?? 0 };
}

async function runIcerelay(variant: 'server-side' | 'stream', observer: 'status' | 'db', round: number, order: number, objects: SourceObject[], profileDir?: string): Promise<RunResult> {
  const name = `r${round}-${variant}-icerelay-${observer}${profileDir ? '-profiled' : ''}-${RUN_ID}`;
  const bucket = name.toLowerCase();
  const destinationClient = variant === 'stream' ? s3b! : s3a;
  await createBucket(destinationClient, bucket);
  const dataDir = freshDataDir(name);
  const port = await freePort();
  const configFile = join(dataDir, 'icerelay.yaml');
  const destinationS3 = variant === 'stream'
    ? `\n      s3: { endpoint: "${options.endpoint2}", region: ${region}, accessKeyId: "\${AWS_ACCESS_KEY_ID}", secretAccessKey: "\${AWS_SECRET_ACCESS_KEY}" }`
    : '';
  writeFileSync(configFile, [
    'replication:',
    '  destinations:',
    '    bench:',
    `      warehouse: s3://${bucket}/warehouse${destinationS3}`,
    `  concurrency: ${options.concurrency}`,
    '  reconcileInterval: 1h',
    '',
  ].join('\n'));
  const offsets = [logOffset(options.s3Log), logOffset(options.s3Log2)];
  const loadavg1 = loadavg()[0]!;
  const s3CpuBefore = s3CpuSeconds();
  let s3CpuAfter = 0;
  let ownCpu = 0;
  let firstEventAtMs: number | undefined;
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const sqlTimingFile = join(options.work, `${name}-sql.json`);
  if (options.sqlTiming) nodeArgs.push('--import', join(import.meta.dirname, 'sql-timing.ts'));
  const started = startIcerelay(['--config', configFile], {
    ...(options.sqlTiming ? { ICERELAY_BENCH_SQL_TIMING: sqlTimingFile } : {}),
    ICERELAY_PORT: String(port),
    ICERELAY_DATA_DIR: dataDir,
    ICERELAY_WAREHOUSE: 's3://source/warehouse',
    ICERELAY_S3_ENDPOINT: options.endpoint,
  }, join(options.work, `${name}.log`), nodeArgs);
  const statusUrl = `http://127.0.0.1:${port}/admin/v1/replication/status`;
  const pollTimes: number[] = [];
  let detectedAtMs: number | undefined;
  let last: StatusBody | undefined;
  let db: BetterSqlite3.Database | undefined;
  const fetchStatus = async () => {
    const response = await fetch(statusUrl);
    if (!response.ok) throw new Error(`status answered ${response.status}`);
    return (await response.json()) as StatusBody;
  };
  try {
    const deadline = Date.now() + 30 * 60_000;
    while (Date.now() < deadline) {
      if (started.child.exitCode !== null) throw new Error(`Icerelay exited with ${started.child.exitCode}; see ${name}.log`);
      const t = performance.now();
      try {
        let summary: { entities: number; completed: number; failed: number };
        if (observer === 'status') {
          last = await fetchStatus();
          summary = last.summary[0]!;
        } else {
          db ??= new BetterSqlite3(join(dataDir, 'icerelay.db'), { readonly: true, fileMustExist: true });
          summary = observeDatabase(db);
        }
        pollTimes.push(performance.now() - t);
        if (summary.failed > 0) {
          const failed = (last ?? (await fetchStatus())).tables.find((x) => x.state === 'failed');
          throw new Error(`a table failed: ${failed?.lastError}`);
        }
        if (summary.entities >= options.tables && summary.completed === summary.entities) {
          detectedAtMs = Date.now();
          s3CpuAfter = s3CpuSeconds();
          ownCpu = cpuSeconds(started.child.pid) - (started.cpuAtUp ?? 0);
          break;
        }
      } catch (error) {
        if ((error as Error).message.startsWith('a table failed')) throw error;
        // not up yet
      }
      await sleep(Math.max(0, options.pollMs - (performance.now() - t)));
    }
    if (detectedAtMs === undefined) throw new Error('the backfill did not complete within 30 minutes');
    if (observer === 'db') {
      last = await fetchStatus();
      const summary = last.summary[0]!;
      if (summary.completed !== options.tables) throw new Error(`the database said done, the status route says ${JSON.stringify(summary)}`);
    }
    // The reconcile pass may record its first observation before the "listening" line is written.
    const outbox = (await (await fetch(`http://127.0.0.1:${port}/admin/v1/outbox?limit=10000`)).json()) as { events: Array<{ createdAtMs: number }> };
    firstEventAtMs = Math.min(...outbox.events.map((e) => e.createdAtMs));
  } finally {
    db?.close();
    await stop(started);
  }
  const timeOf = (predicate: (line: Record<string, unknown>) => boolean) => {
    const line = started.lines.find(predicate);
    return line ? Date.parse(line.time as string) : undefined;
  };
  const upAtMs = timeOf((l) => typeof l.msg === 'string' && l.msg.startsWith('Iceberg REST catalog listening'));
  const reconciledAtMs = timeOf((l) => typeof l.msg === 'string' && l.msg.startsWith('reconciliation found'));
  if (upAtMs === undefined) throw new Error(`no "listening" log line from Icerelay; see ${name}.log`);
  const startAtMs = Math.min(upAtMs, firstEventAtMs ?? upAtMs);
  const doneAtMs = Math.max(...last!.tables.map((x) => x.completedAtMs ?? 0));
  const seconds = (doneAtMs - startAtMs) / 1000;
  const files = objects.length;
  const bytes = sourceBytes(objects);
  // Counted before the benchmark lists and empties the destination (its own requests).
  const requests = addCounts(requestsSince(options.s3Log, offsets[0]!), requestsSince(options.s3Log2, offsets[1]!));
  const listed = await listBucket(destinationClient, bucket, true);
  if (listed.objects !== files) log(`warning: ${name}: ${listed.objects} objects at the destination, expected ${files}`);
  return {
    side: 'icerelay', variant, observer, round, order, tables: options.tables, files, bytes, seconds,
    tablesPerSec: options.tables / seconds, filesPerSec: files / seconds, bytesPerSec: bytes / seconds,
    fromSpawnSeconds: (doneAtMs - started.spawnedAtMs) / 1000,
    startupSeconds: (startAtMs - started.spawnedAtMs) / 1000,
    reconcileSeconds: reconciledAtMs === undefined ? undefined : (reconciledAtMs - startAtMs) / 1000,
    detectedSeconds: (detectedAtMs - startAtMs) / 1000,
    statusPolls: pollTimes.length, statusPollMedianMs: median(pollTimes), statusPollMaxMs: Math.max(...pollTimes),
    destinationObjects: listed.objects, destinationBytes: listed.bytes, requests, loadavg1,
    cpuSeconds: ownCpu, s3CpuSeconds: s3CpuAfter - s3CpuBefore,
    sql: options.sqlTiming && existsSync(sqlTimingFile)
      ? (JSON.parse(readFileSync(sqlTimingFile, 'utf8')) as Array<{ sql: string; runs: number; ms: number }>).slice(0, 10)
      : undefined,
  };
}

// --- one peer copy loop ---------------------------------------------------------------------------

async function runPeer(variant: 'server-side' | 'stream', round: number, order: number, objects: SourceObject[]): Promise<RunResult> {
  const name = `r${round}-${variant}-peer-${RUN_ID}`;
  const bucket = name.toLowerCase();
  const destinationClient = variant === 'stream' ? s3b! : s3a;
  await createBucket(destinationClient, bucket);
  const offsets = [logOffset(options.s3Log), logOffset(options.s3Log2)];
  const loadavg1 = loadavg()[0]!;
  const s3CpuBefore = s3CpuSeconds();
  const child = spawn(process.execPath, [
    '--import', 'tsx', 'bench/backfill/sdk-copy-loop.ts',
    '--objects', objectsFile,
    '--source-endpoint', options.endpoint,
    '--dest-endpoint', variant === 'stream' ? options.endpoint2! : options.endpoint,
    '--dest-bucket', bucket,
    '--concurrency', String(options.peerConcurrency),
    '--mode', variant === 'stream' ? 'stream' : 'copy',
  ], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const s3CpuAfter = s3CpuSeconds();
  if (code !== 0) throw new Error(`the copy loop exited with ${code}`);
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { files: number; bytes: number; elapsedMs: number; cpuSeconds: number };
  const seconds = report.elapsedMs / 1000;
  // Counted before the benchmark lists and empties the destination (its own requests).
  const requests = addCounts(requestsSince(options.s3Log, offsets[0]!), requestsSince(options.s3Log2, offsets[1]!));
  const listed = await listBucket(destinationClient, bucket, true);
  if (listed.objects !== objects.length) log(`warning: ${name}: ${listed.objects} objects at the destination, expected ${objects.length}`);
  return {
    side: 'peer', variant, round, order, tables: options.tables, files: report.files, bytes: report.bytes, seconds,
    tablesPerSec: options.tables / seconds, filesPerSec: report.files / seconds, bytesPerSec: report.bytes / seconds,
    destinationObjects: listed.objects, destinationBytes: listed.bytes, requests, loadavg1,
    cpuSeconds: report.cpuSeconds, s3CpuSeconds: s3CpuAfter - s3CpuBefore,
  };
}

// --- main -----------------------------------------------------------------------------------------

function describeMachine() {
  const motoVersion = (() => {
    try {
      const venv = join(root, '.venv');
      const dist = readdirSync(join(venv, 'lib')).flatMap((py) => readdirSync(join(venv, 'lib', py, 'site-packages')).filter((d) => /^moto-.*\.dist-info$/.test(d)));
      return dist[0]?.replace(/^moto-/, '').replace(/\.dist-info$/, '') ?? 'unknown';
    } catch {
      return 'unknown';
    }
  })();
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    moto: motoVersion,
    sdk: (JSON.parse(readFileSync(join(root, 'node_modules/@aws-sdk/client-s3/package.json'), 'utf8')) as { version: string }).version,
  };
}

type Leg = { side: 'icerelay'; observer: 'status' | 'db' } | { side: 'peer' };
type Medians = { seconds: number; tablesPerSec: number; filesPerSec: number; bytesPerSec: number };

interface VariantSummary {
  variant: string;
  peer: Medians & { requestsPerFile: number; cpuSeconds: number; s3CpuSeconds: number };
  icerelay: Array<Medians & {
    observer: 'status' | 'db';
    ratio: number;
    perRoundRatios: number[];
    goalMet: boolean;
    requestsPerFile: number;
    cpuSeconds: number;
    s3CpuSeconds: number;
    fromSpawnSeconds: number;
    statusPollMedianMs: number;
  }>;
}

function medians(runs: RunResult[]): Medians {
  return {
    seconds: median(runs.map((r) => r.seconds)),
    tablesPerSec: median(runs.map((r) => r.tablesPerSec)),
    filesPerSec: median(runs.map((r) => r.filesPerSec)),
    bytesPerSec: median(runs.map((r) => r.bytesPerSec)),
  };
}

function summarize(runs: RunResult[]): VariantSummary[] {
  return options.variants.map((variant) => {
    const peerRuns = runs.filter((r) => r.variant === variant && r.side === 'peer');
    const peer = medians(peerRuns);
    const perFile = (rs: RunResult[]) => median(rs.map((r) => (r.requests.total ?? 0) / r.files));
    return {
      variant,
      peer: { ...peer, requestsPerFile: perFile(peerRuns), cpuSeconds: median(peerRuns.map((r) => r.cpuSeconds)), s3CpuSeconds: median(peerRuns.map((r) => r.s3CpuSeconds)) },
      icerelay: options.observers.map((observer) => {
        const mine = runs.filter((r) => r.variant === variant && r.side === 'icerelay' && r.observer === observer);
        const m = medians(mine);
        const ratio = m.tablesPerSec / peer.tablesPerSec;
        return {
          observer, ...m, ratio, goalMet: ratio >= 0.8,
          perRoundRatios: mine.map((r) => {
            const p = peerRuns.find((x) => x.round === r.round);
            return p ? r.tablesPerSec / p.tablesPerSec : NaN;
          }),
          requestsPerFile: perFile(mine),
          cpuSeconds: median(mine.map((r) => r.cpuSeconds)),
          s3CpuSeconds: median(mine.map((r) => r.s3CpuSeconds)),
          fromSpawnSeconds: median(mine.map((r) => r.fromSpawnSeconds!)),
          statusPollMedianMs: median(mine.map((r) => r.statusPollMedianMs!)),
        };
      }),
    };
  });
}

async function main(): Promise<void> {
  mkdirSync(options.work, { recursive: true });
  const loadBefore = loadavg();
  const objects = options.skipSetup ? (JSON.parse(readFileSync(objectsFile, 'utf8')) as SourceObject[]) : await setup();
  if (options.setupOnly) return;
  const runs: RunResult[] = [];
  let order = 0;
  const legs: Leg[] = [
    ...(options.sides.includes('icerelay') ? options.observers.map((observer) => ({ side: 'icerelay' as const, observer })) : []),
    ...(options.sides.includes('peer') ? [{ side: 'peer' as const }] : []),
  ];
  for (let round = 1; round <= options.rounds; round++) {
    for (const variant of options.variants) {
      // Taking turns: odd rounds in the listed order, even rounds reversed.
      for (const leg of round % 2 === 1 ? legs : [...legs].reverse()) {
        const result = leg.side === 'icerelay'
          ? await runIcerelay(variant, leg.observer, round, ++order, objects)
          : await runPeer(variant, round, ++order, objects);
        runs.push(result);
        if (result.sql) for (const q of result.sql) log(`  sql ${q.ms.toFixed(0)} ms in ${q.runs} runs: ${q.sql.slice(0, 300)}`);
        log(`round ${round} ${variant} ${leg.side}${leg.side === 'icerelay' ? ` (${leg.observer})` : ''}: ${result.seconds.toFixed(2)} s, ` +
          `${result.tablesPerSec.toFixed(1)} tables/s, ${result.filesPerSec.toFixed(0)} files/s, ${(result.bytesPerSec / 2 ** 20).toFixed(1)} MiB/s, ` +
          `CPU ${result.cpuSeconds.toFixed(1)} s, S3 server CPU ${result.s3CpuSeconds.toFixed(1)} s, requests ${JSON.stringify(result.requests)}`);
      }
    }
  }
  let profile: string | undefined;
  if (options.cpuProf) {
    const dir = join(options.work, 'profile');
    mkdirSync(dir, { recursive: true });
    const result = await runIcerelay(options.variants[0]!, options.observers.at(-1)!, options.rounds + 1, ++order, objects, dir);
    profile = dir;
    log(`profiled run (not in the medians): ${JSON.stringify(result)}; profile in ${dir}`);
  }
  const loadAfter = loadavg();
  const result: Results = {
    command: options.command,
    date: new Date().toISOString(),
    machine: { ...describeMachine(), loadavgBefore: loadBefore, loadavgAfter: loadAfter },
    settings: {
      tables: options.tables, rounds: options.rounds, filesPerTable: options.filesPerTable, dataFileKiB: [options.minKiB, options.maxKiB],
      objectsPerTable: objects.length / options.tables, sourceBytes: sourceBytes(objects),
      icerelayConcurrency: options.concurrency, peerConcurrency: options.peerConcurrency, pollMs: options.pollMs, observers: options.observers, seed: options.seed,
    },
    summary: summarize(runs),
    runs,
    profile,
  };
  mkdirSync(options.outDir, { recursive: true });
  writeFileSync(join(options.outDir, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(options.outDir, 'results.md'), markdown(result));
  process.stdout.write(markdown(result));
}

interface Results {
  command: string;
  date: string;
  machine: ReturnType<typeof describeMachine> & { loadavgBefore: number[]; loadavgAfter: number[] };
  settings: {
    tables: number; rounds: number; filesPerTable: number; dataFileKiB: number[]; objectsPerTable: number; sourceBytes: number;
    icerelayConcurrency: number; peerConcurrency: number; pollMs: number; observers: string[]; seed: number;
  };
  summary: VariantSummary[];
  runs: RunResult[];
  profile: string | undefined;
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
function markdown(r: Results): string {
  const s = r.settings;
  const m = r.machine;
  const lines = [
    '# Backfill benchmark: Icerelay vs a plain AWS SDK copy loop',
    '',
    `Command: \`${r.command}\` on ${m.cores} cores (${m.cpu}, ${m.memoryGiB} GiB), ${r.date.slice(0, 10)}; Node.js ${m.node}, moto ${m.moto}, @aws-sdk/client-s3 ${m.sdk}.`,
    `Load average (1/5/15 min) before: ${m.loadavgBefore.map((x) => x.toFixed(2)).join(' / ')}, after: ${m.loadavgAfter.map((x) => x.toFixed(2)).join(' / ')} (other processes share the machine).`,
    '',
    `Source: ${s.tables} Iceberg tables in Icerelay's built-in catalog (SQLite), warehouse s3://source/warehouse on a moto S3 server on loopback; ` +
      `each with 1 snapshot: 1 manifest list, 1 manifest, ${s.filesPerTable} data files of ${s.dataFileKiB[0]}-${s.dataFileKiB[1]} KiB (random bytes). ` +
      `${s.objectsPerTable} objects per table (data files, manifest, manifest list, current metadata file), ${s.tables * s.objectsPerTable} in all, ${mib(s.sourceBytes)} MiB.`,
    '',
    `- **Icerelay**: \`node --import tsx src/main.ts --config F\` on a copy of the source's state database, \`replication:\` with one destination (a fresh bucket), ` +
      `\`concurrency: ${s.icerelayConcurrency}\` tables at once (the copier: up to 16 files per table, so up to ${s.icerelayConcurrency * s.filesPerTable} data-file copies in flight). ` +
      'Its reconciliation pass at start observes every table and the shipper ships it. Timed from the server being up (its "listening" log line, or the first ' +
      'observation when the pass records one earlier) to the last table\'s `completedAtMs`. Completion is watched two ways, in separate runs: ' +
      `**status**: \`GET /admin/v1/replication/status\` every ${s.pollMs} ms (what \`icerelay backfill\` polls, every 500 ms); ` +
      `**db**: the outbox's position rows read from the state database every ${s.pollMs} ms by the benchmark, then the status route once to confirm.`,
    `- **Peer**: bench/backfill/sdk-copy-loop.ts, the same ${s.tables * s.objectsPerTable} objects into a fresh bucket, ${s.peerConcurrency} at once ` +
      '(Icerelay\'s most data-file copies in flight), one S3 client, no Iceberg logic; timed from its first request to its last answer.',
    '- Variants: **server-side** (destination bucket on the same S3 server: CopyObject) and **stream** (destination on a second moto server: GetObject + PutObject through the process).',
    `- ${s.rounds} rounds, the runs of a round taking turns (odd rounds Icerelay first, even rounds the peer first); bytes/s count the source objects' bytes for both sides ` +
      '(Icerelay writes rewritten manifests, lists and metadata of about the same size). CPU seconds: of the side\'s process and of the S3 server(s) during the timed part.',
    '',
    '| variant | side | median time (s) | tables/s | files/s | MiB/s | S3 requests per file | CPU s (side / S3) | throughput ratio Icerelay/peer (per round) | goal >= 0.8x |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const v of r.summary) {
    for (const i of v.icerelay) {
      lines.push(`| ${v.variant} | Icerelay (${i.observer}) | ${i.seconds.toFixed(2)} | ${i.tablesPerSec.toFixed(1)} | ${i.filesPerSec.toFixed(0)} | ${mib(i.bytesPerSec)} | ` +
        `${i.requestsPerFile.toFixed(2)} | ${i.cpuSeconds.toFixed(0)} / ${i.s3CpuSeconds.toFixed(0)} | **${i.ratio.toFixed(2)}x** (${i.perRoundRatios.map((x) => x.toFixed(2)).join(', ')}) | ${i.goalMet ? 'met' : 'missed'} |`);
    }
    const p = v.peer;
    lines.push(`| ${v.variant} | peer | ${p.seconds.toFixed(2)} | ${p.tablesPerSec.toFixed(1)} | ${p.filesPerSec.toFixed(0)} | ${mib(p.bytesPerSec)} | ` +
      `${p.requestsPerFile.toFixed(2)} | ${p.cpuSeconds.toFixed(0)} / ${p.s3CpuSeconds.toFixed(0)} |  |  |`);
  }
  lines.push('', 'Where the time goes: S3 requests per table by kind (as the S3 servers logged them; COPY = CopyObject), CPU per request of the S3 server(s), ' +
    'CPU per table of the side\'s own process (averages over the runs of each row).', '',
  '| variant | side | S3 requests per table | S3 server CPU per request (ms) | own CPU per table (ms) |', '|---|---|---|---|---|');
  for (const variant of [...new Set(r.runs.map((x) => x.variant))]) {
    for (const key of [...new Set(r.runs.filter((x) => x.variant === variant).map((x) => `${x.side}${x.observer ? ` (${x.observer})` : ''}`))]) {
      const mine = r.runs.filter((x) => x.variant === variant && `${x.side}${x.observer ? ` (${x.observer})` : ''}` === key);
      const kinds = [...new Set(mine.flatMap((x) => Object.keys(x.requests)))].filter((k) => k !== 'total');
      const perTable = kinds.map((k) => `${k} ${(mine.reduce((n, x) => n + (x.requests[k] ?? 0) / x.tables, 0) / mine.length).toFixed(2)}`).join(', ');
      const total = mine.reduce((n, x) => n + (x.requests.total ?? 0) / x.tables, 0) / mine.length;
      const s3PerRequest = mine.reduce((n, x) => n + (1000 * x.s3CpuSeconds) / Math.max(1, x.requests.total ?? 0), 0) / mine.length;
      const ownPerTable = mine.reduce((n, x) => n + (1000 * x.cpuSeconds) / x.tables, 0) / mine.length;
      lines.push(`| ${variant} | ${key.replace('icerelay', 'Icerelay')} | ${total.toFixed(1)} (${perTable}) | ${s3PerRequest.toFixed(2)} | ${ownPerTable.toFixed(1)} |`);
    }
  }
  lines.push('', REQUEST_BOUND_NOTE);
  lines.push('', 'Every run, in the order run:', '',
    '| # | round | variant | side | time (s) | tables/s | from spawn (s) | startup (s) | reconcile pass (s) | polls (median / max ms) | S3 requests | CPU s (side / S3) | load (1 min) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const run of [...r.runs].sort((a, b) => a.order - b.order)) {
    const req = Object.entries(run.requests).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(`| ${run.order} | ${run.round} | ${run.variant} | ${run.side}${run.observer ? ` (${run.observer})` : ''} | ${run.seconds.toFixed(2)} | ${run.tablesPerSec.toFixed(1)} | ` +
      `${run.fromSpawnSeconds?.toFixed(2) ?? ''} | ${run.startupSeconds?.toFixed(2) ?? ''} | ${run.reconcileSeconds?.toFixed(2) ?? ''} | ` +
      `${run.statusPolls !== undefined ? `${run.statusPolls} (${run.statusPollMedianMs!.toFixed(1)} / ${run.statusPollMaxMs!.toFixed(0)})` : ''} | ` +
      `${run.requests.total ?? ''} (${req}) | ${run.cpuSeconds.toFixed(1)} / ${run.s3CpuSeconds.toFixed(1)} | ${run.loadavg1.toFixed(2)} |`);
  }
  lines.push('');
  return `${lines.join('\n')}\n`;
}

/**
 * Why the ratio stays where it is on this S3 server: it spends about the same CPU on every request,
 * one core at most, so run time follows the number of requests.
 */
const REQUEST_BOUND_NOTE = 'Reading the ratio: the S3 server (moto, one Python process) spends about the same CPU on every request and is the busiest ' +
  'process, so each side\'s time follows its request count. Per table the peer copies 7 objects (7 requests). Icerelay must read the 3 metadata ' +
  'files it rewrites (metadata JSON, manifest list, manifest: 3 GET), write the rewritten ones (3 PUT), copy the 4 data files (4 COPY), and list ' +
  'the data folder before copying (files already there are skipped: a resumed backfill does not copy again) and after (every copied size is ' +
  'verified): 12 requests. On such a server the ratio cannot exceed 7/12 = 0.58, scaled by the server\'s CPU per request of each side (table above); without the two lists it could reach 0.7, never 0.8.';

await main();
s3a.destroy();
s3b?.destroy();
