/**
 * The `icerelay` command: `serve` runs the server; the other commands talk to a running one over
 * its admin API (`--url`, default ICERELAY_URL or http://127.0.0.1:8181), except `config check`,
 * which only reads the configuration file.
 *
 * Exit codes: 0 success; 1 the command ran but found a problem (a table failed, the server
 * answered an error or could not be reached); 2 wrong arguments or an invalid configuration.
 */
import { ConfigError, readConfigFile } from '../config/config-file.ts';
import { loadServerConfig } from '../config/server-config.ts';
import { resolveReplication } from '../replication/destinations.ts';
import { baseUrl, call, parseFlags, UsageError, type Flags } from './admin-client.ts';
import { promote, PROMOTE_HELP } from './promote.ts';
import { formatStatusTable, type StatusAnswer } from './status-table.ts';
import { conformance, CONFORMANCE_HELP } from './conformance.ts';

const HELP = `icerelay: an Apache Iceberg REST catalog proxy that replicates every commit to replica catalogs.

Usage: icerelay <command> [options]

Commands:
  serve                 run the proxy, the built-in catalog and replication (icerelay serve --help)
  status                tables x destinations: state, events and snapshots behind, lag, last error
  backfill              replicate tables that exist but were never shipped (and catch up writes made
                        around the proxy), showing progress until done
  pause, resume         hold or release replication of a destination, or of one table in it
  promote               failover: stop replicating into a replica (or one table of it) and make it
                        writable; refuses when it is behind unless --force
  config check          validate a configuration file and show what it configures
  conformance URL       check an Iceberg REST catalog (this one, a replica with --read-only, any
                        other): protocol checks, PyIceberg, Spark, Apache's REST Compatibility Kit;
                        a pass/fail table, JUnit XML and JSON

Common options:
  --url URL             the running Icerelay (default ICERELAY_URL or http://127.0.0.1:8181)
  -h, --help            help for the command

Examples:
  icerelay serve --config icerelay.yaml
  icerelay status --watch
  icerelay status --table sales.orders --json
  icerelay backfill --destination eu
  icerelay pause --destination eu --table sales.orders
  icerelay promote --destination eu --table sales.orders
  icerelay config check --config icerelay.yaml
  icerelay conformance http://127.0.0.1:8181/replicas/local --read-only

Exit codes: 0 success; 1 a problem found (failed tables, an error answer, server unreachable);
2 wrong arguments or an invalid configuration.
`;

const COMMAND_HELP: Record<string, string> = {
  status: `icerelay status [--url URL] [--table ns.t] [--json] [--watch] [--interval SECONDS]

Prints one row per table (and namespace) and destination: state (pending, completed, failed,
paused), events and snapshots behind, age of the oldest commit not yet replicated, copy progress
while shipping, and the last error. --json prints the admin API's answer as is; --watch redraws
every --interval seconds (default 2) until interrupted.
Exit code 1 when a table is failed.
`,
  backfill: `icerelay backfill [--url URL] [--destination NAME] [--table ns.t] [--no-wait]

Compares every source table with what was replicated and ships the ones behind: tables that existed
before replication began (with every snapshot the source still has) and writes made around the
proxy. Then shows progress (tables done of all, bytes being copied, rate, ETA) until every
selected table is completed, or returns at once with --no-wait. The server also does this at start
and every replication.reconcileInterval.
Exit code 1 when a table ends failed.
`,
  pause: `icerelay pause --destination NAME [--table ns.t] [--url URL]

Holds replication into a destination (every table it has queued) or of one table. Commits keep
being recorded; they ship after \`icerelay resume\`.
`,
  resume: `icerelay resume --destination NAME [--table ns.t] [--url URL]

Releases paused tables, and retries failed ones at once (their attempt count starts over).
`,
  promote: PROMOTE_HELP,
  config: `icerelay config check [--config FILE]

Validates the configuration file (--config or ICERELAY_CONFIG) with the environment it would start
with, and prints the destinations and rules it configures. Exit code 2 with the field named when
it is invalid.
`,
  conformance: CONFORMANCE_HELP,
};

async function fetchStatus(flags: Flags): Promise<StatusAnswer> {
  const table = flags.values.get('--table');
  const query = table ? `?table=${encodeURIComponent(table)}` : '';
  return (await call(`${baseUrl(flags)}/admin/v1/replication/status${query}`, 'GET')) as StatusAnswer;
}

const anyFailed = (answer: StatusAnswer) => answer.tables.some((t) => t.state === 'failed');

async function status(args: string[]): Promise<number> {
  const flags = parseFlags(args, ['--url', '--table', '--interval'], ['--json', '--watch']);
  const interval = Number(flags.values.get('--interval') ?? 2);
  if (!(interval > 0)) throw new UsageError('--interval must be a positive number of seconds');
  for (;;) {
    const answer = await fetchStatus(flags);
    const text = flags.switches.has('--json') ? `${JSON.stringify(answer, null, 2)}\n` : formatStatusTable(answer, Date.now());
    if (!flags.switches.has('--watch')) {
      process.stdout.write(text);
      return anyFailed(answer) ? 1 : 0;
    }
    process.stdout.write(`\x1b[H\x1b[2J${new Date().toISOString()}  (every ${interval}s, Ctrl-C to stop)\n${text}`);
    await new Promise((r) => setTimeout(r, interval * 1000));
  }
}

async function pauseOrResume(action: 'pause' | 'resume', args: string[]): Promise<number> {
  const flags = parseFlags(args, ['--url', '--destination', '--table'], []);
  const destination = flags.values.get('--destination');
  if (!destination) throw new UsageError(`${action} needs --destination NAME`);
  const table = flags.values.get('--table');
  const answer = (await call(`${baseUrl(flags)}/admin/v1/replication/${action}`, 'POST', { destination, table })) as Record<string, number>;
  const count = answer[action === 'pause' ? 'paused' : 'resumed'] ?? 0;
  process.stdout.write(`${action === 'pause' ? 'paused' : 'resumed'} ${count} queue(s) of destination ${destination}${table ? ` (table ${table})` : ''}\n`);
  return 0;
}

async function backfill(args: string[]): Promise<number> {
  const flags = parseFlags(args, ['--url', '--destination', '--table'], ['--no-wait']);
  const found = (await call(`${baseUrl(flags)}/admin/v1/replication/backfill`, 'POST', {})) as { tables: number; observed: number; skipped: number };
  process.stdout.write(`checked ${found.tables} source table(s): ${found.observed} to replicate, ${found.skipped} left for the next pass\n`);
  if (flags.switches.has('--no-wait')) return 0;
  const destination = flags.values.get('--destination');
  const started = Date.now();
  let firstBytes: { at: number; done: number } | undefined;
  for (;;) {
    const answer = await fetchStatus(flags);
    const rows = answer.tables.filter((t) => t.entity.name !== undefined && (!destination || t.destination === destination));
    if (destination && !answer.destinations.includes(destination)) throw new UsageError(`no destination named '${destination}' (destinations: ${answer.destinations.join(', ')})`);
    const done = rows.filter((t) => t.state === 'completed').length;
    const failed = rows.filter((t) => t.state === 'failed').length;
    const copying = rows.flatMap((t) => (t.shipping?.copy ? [t.shipping.copy] : []));
    const bytesDone = copying.reduce((n, c) => n + c.bytesDone, 0);
    const bytesTotal = copying.reduce((n, c) => n + c.bytesTotal, 0);
    const elapsed = (Date.now() - started) / 1000;
    const rate = done / Math.max(elapsed, 0.001);
    firstBytes ??= { at: Date.now(), done: bytesDone };
    const eta = rate > 0 ? `${Math.ceil((rows.length - done - failed) / rate)}s` : '?';
    const bar = progressBar(rows.length === 0 ? 1 : (done + failed) / rows.length);
    const line = `${bar} tables ${done}/${rows.length}${failed ? ` (${failed} failed)` : ''}` +
      `  copying ${copying.length} (${formatBytes(bytesDone)} of ${formatBytes(bytesTotal)})  ${rate.toFixed(1)} tables/s  ETA ${eta}`;
    process.stdout.write(process.stdout.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
    if (done + failed === rows.length) {
      if (process.stdout.isTTY) process.stdout.write('\n');
      if (failed > 0) process.stdout.write(`${failed} table(s) failed: see \`icerelay status\` for their errors\n`);
      return failed > 0 ? 1 : 0;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function progressBar(fraction: number, width = 24): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(fraction * 100).toString().padStart(3)}%`;
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function configCheck(args: string[]): number {
  if (args[0] !== 'check') throw new UsageError(`unknown config command '${args[0] ?? ''}': use 'icerelay config check'`);
  const flags = parseFlags(args.slice(1), ['--config'], []);
  const path = flags.values.get('--config') ?? process.env.ICERELAY_CONFIG;
  if (!path) throw new UsageError('config check needs --config FILE (or ICERELAY_CONFIG)');
  const file = readConfigFile(path, process.env);
  const config = loadServerConfig(process.env, file);
  const replication = resolveReplication(config, file);
  const lines = [
    `${path}: valid`,
    `  listens on ${config.host}:${config.port}; state in ${config.database.kind}; source: ${config.upstream ? config.upstream.url : `built-in catalog, warehouse ${config.warehouse}`}`,
    ...replication.destinations.map((d) =>
      `  destination ${d.name}: ${d.catalog.type === 'rest' ? `REST catalog ${d.catalog.url}` : `built-in, served at /replicas/${d.name}`}, files under ${d.warehouse}` +
      `${d.namespacePrefix.length ? `, names under ${d.namespacePrefix.join('.')}.` : ''}${d.retention ? ', with retention' : ''}`),
  ];
  if (replication.destinations.length === 0) lines.push('  no replication destinations');
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

export async function runCli(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    process.exit(command === undefined ? 2 : 0);
  }
  // Loaded only for serve: the server's modules take seconds to load, the other commands need none.
  if (command === 'serve') return (await import('./serve.ts')).serve(rest);
  try {
    if (rest.includes('--help') || rest.includes('-h')) {
      const help = COMMAND_HELP[command];
      if (!help) throw new UsageError(`unknown command '${command}'`);
      process.stdout.write(help);
      process.exit(0);
    }
    let code: number;
    switch (command) {
      case 'status': code = await status(rest); break;
      case 'pause':
      case 'resume': code = await pauseOrResume(command, rest); break;
      case 'backfill': code = await backfill(rest); break;
      case 'promote': code = await promote(rest); break;
      case 'config': code = configCheck(rest); break;
      case 'conformance': code = await conformance(rest); break;
      default: throw new UsageError(`unknown command '${command}'`);
    }
    process.exit(code);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`icerelay: ${error.message}${error instanceof UsageError ? ' (see icerelay --help)' : ''}\n`);
      process.exit(2);
    }
    process.stderr.write(`icerelay: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

await runCli(process.argv.slice(2));
