/**
 * `icerelay conformance <catalog-url>`: runs the conformance runners against any Iceberg REST
 * catalog (Icerelay's proxy, its built-in catalog, a replica endpoint, or someone else's), prints
 * a pass/fail table and writes the results as JUnit XML and JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RUNNER_NAMES, runPassed, type CheckResult, type ConformanceRun, type RunnerName, type RunnerReport } from '../conformance/check-result.ts';

export const CONFORMANCE_HELP = `icerelay conformance <catalog-url> [--read-only] [--runners LIST] [--output DIR]
                     [--warehouse W] [--s3-endpoint URL] [--verbose]

Checks an Iceberg REST catalog against the specification and real clients: Icerelay itself
(http://127.0.0.1:8181), its built-in catalog, a replica endpoint (.../replicas/<name>, with
--read-only), or any other catalog. Prints a table of checks passed, failed and skipped per runner
with the reason of each failure, and writes DIR/conformance.junit.xml and DIR/conformance.json.

Runners (--runners, comma-separated; default: all four, in this order):
  protocol    HTTP-level checks of the REST protocol, answers validated against the Iceberg REST
              OpenAPI schemas: config, namespaces and tables through their life, 404 and 409 error
              bodies, pagination, ETags. Needs nothing installed.
  pyiceberg   PyIceberg scenarios with exact row checks (needs python3; installs PyIceberg into
              .venv on first use).
  spark       Spark SQL scenarios (needs python3, a JDK 17+ and Maven; fetches the Iceberg jars on
              first use).
  rck         Apache Iceberg's REST Compatibility Kit (needs a JDK 17+, Maven and python3). Wants
              a fresh catalog; the client writes files itself, so the catalog must share this
              machine's disk or an object store the client can reach.
A runner whose tools are missing is reported as an error saying what to install.

Options:
  --read-only         the catalog is a read-only replica: reads must work and every write must
                      be refused with 403 ForbiddenException; pyiceberg and spark read the tables
                      there and try writes; rck is skipped (it needs to write)
  --runners LIST      e.g. protocol,pyiceberg
  --output DIR        where the reports and each runner's log go (default ./conformance-results)
  --warehouse W       the warehouse to ask the catalog for (sent to /v1/config)
  --s3-endpoint URL   the S3 endpoint PyIceberg and Spark read and write data files at
                      (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)
  --verbose           every line the runners print, on stderr (default: one line per check)

Examples:
  icerelay conformance http://127.0.0.1:8181
  icerelay conformance http://127.0.0.1:8181 --runners protocol,pyiceberg --output reports
  icerelay conformance http://127.0.0.1:8181/replicas/local --read-only

Exit codes: 0 every check passed (or was skipped); 1 a check failed, a runner could not run, or
no check passed; 2 wrong arguments (an unknown runner, a URL that is not http(s)).
`;

class ConformanceUsageError extends Error {}

interface ConformanceOptions {
  url: string;
  readOnly: boolean;
  runners: RunnerName[];
  outputDir: string;
  warehouse?: string;
  s3Endpoint?: string;
  verbose: boolean;
}

function parseOptions(args: string[]): ConformanceOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        'read-only': { type: 'boolean' },
        runners: { type: 'string' },
        output: { type: 'string' },
        warehouse: { type: 'string' },
        's3-endpoint': { type: 'string' },
        verbose: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new ConformanceUsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new ConformanceUsageError(positionals.length === 0 ? 'conformance needs the catalog URL, e.g. http://127.0.0.1:8181' : `one catalog URL expected, got ${positionals.join(' ')}`);
  const url = checkedUrl(positionals[0]!, 'the catalog URL');
  const runners = (values.runners ?? RUNNER_NAMES.join(',')).split(',').map((r) => r.trim()).filter((r) => r !== '');
  const unknown = runners.filter((r) => !(RUNNER_NAMES as readonly string[]).includes(r));
  if (unknown.length > 0 || runners.length === 0) throw new ConformanceUsageError(`--runners takes some of ${RUNNER_NAMES.join(', ')}${unknown.length ? `, not ${unknown.join(', ')}` : ''}`);
  return {
    url,
    readOnly: values['read-only'] ?? false,
    runners: [...new Set(runners as RunnerName[])],
    outputDir: resolve(values.output ?? 'conformance-results'),
    warehouse: values.warehouse,
    s3Endpoint: values['s3-endpoint'] === undefined ? undefined : checkedUrl(values['s3-endpoint'], '--s3-endpoint'),
    verbose: values.verbose ?? false,
  };
}

function checkedUrl(text: string, what: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConformanceUsageError(`${what} must be an http:// or https:// URL, not '${text}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConformanceUsageError(`${what} must be an http:// or https:// URL, not '${text}'`);
  return text.replace(/\/+$/, '');
}

/** Why the catalog cannot be checked at all (no HTTP answer), so that no runner waits on it. */
async function probe(url: string): Promise<string | undefined> {
  try {
    await (await fetch(`${url}/v1/config`, { signal: AbortSignal.timeout(15_000) })).arrayBuffer();
    return undefined;
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    return `no answer from ${url}/v1/config (${cause}): is the catalog running, and is this its URL?`;
  }
}

const progress = (line: string) => process.stderr.write(`conformance: ${line}\n`);

async function runRunner(runner: RunnerName, options: ConformanceOptions): Promise<RunnerReport> {
  const started = performance.now();
  let checks: CheckResult[];
  let log: string | undefined;
  // Loaded when a run starts, not with every icerelay command (the schema validator is large).
  const { runProtocolChecks } = await import('../conformance/protocol-runner.ts');
  const { runEngine } = await import('../conformance/engine-runners.ts');
  if (runner === 'protocol') {
    progress(`protocol: checking ${options.url}${options.readOnly ? ' (read-only)' : ''}`);
    checks = await runProtocolChecks({
      url: options.url,
      readOnly: options.readOnly,
      warehouse: options.warehouse,
      onResult: (c) => progress(`protocol: ${c.name} ${c.status.toUpperCase()}${c.reason ? ` ${c.reason.slice(0, 160)}` : ''}`),
    });
  } else {
    ({ checks, log } = await runEngine(runner, { ...options, progress }));
  }
  return { runner, checks, seconds: (performance.now() - started) / 1000, ...(log ? { log: relative(options.outputDir, log) } : {}) };
}

export async function conformance(args: string[]): Promise<number> {
  let options: ConformanceOptions;
  try {
    options = parseOptions(args);
  } catch (error) {
    if (!(error instanceof ConformanceUsageError)) throw error;
    process.stderr.write(`icerelay: ${error.message} (see icerelay conformance --help)\n`);
    return 2;
  }
  const unreachable = await probe(options.url);
  if (unreachable) {
    process.stderr.write(`icerelay: ${unreachable}\n`);
    return 1;
  }
  mkdirSync(options.outputDir, { recursive: true });
  const startedAt = new Date();
  const started = performance.now();
  const reports: RunnerReport[] = [];
  for (const runner of options.runners) reports.push(await runRunner(runner, options));
  const run: ConformanceRun = { catalogUrl: options.url, readOnly: options.readOnly, startedAt, seconds: (performance.now() - started) / 1000, reports };
  const { toJsonReport, toJunitXml } = await import('../conformance/junit-report.ts');
  const { formatResultTable } = await import('../conformance/result-table.ts');
  const junit = join(options.outputDir, 'conformance.junit.xml');
  const json = join(options.outputDir, 'conformance.json');
  writeFileSync(junit, toJunitXml(run));
  writeFileSync(json, toJsonReport(run));
  process.stdout.write(formatResultTable(run));
  process.stdout.write(`reports: ${relative(process.cwd(), junit) || junit}, ${relative(process.cwd(), json) || json}\n`);
  return runPassed(reports) ? 0 : 1;
}
