/**
 * The runners built on real engines, each a script under conformance/ run as a child process:
 * PyIceberg and Spark scenarios, Apache's REST Compatibility Kit (RCK). Against a read-only
 * catalog, PyIceberg and Spark run the replica scenarios instead (reads of the tables there, every
 * write refused) and the RCK, which can only check a catalog by writing to it, is skipped.
 *
 * Each script writes its per-check results as JSON (--results-json); the full output goes to a
 * log file, and the lines that tell a scenario's outcome are passed on as progress.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { oneLine, type CheckResult, type RunnerName } from './check-result.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface EngineRunOptions {
  url: string;
  readOnly: boolean;
  warehouse?: string;
  s3Endpoint?: string;
  /** Where logs, results files and RCK reports go. */
  outputDir: string;
  /** Every line of the runner's output to stderr too, not only the progress lines. */
  verbose: boolean;
  progress: (line: string) => void;
}

interface Tool {
  command: string;
  install: string;
}

const PYTHON: Tool = { command: 'python3', install: 'Python 3 with venv and pip (Debian: python3 python3-venv)' };
const JAVA: Tool = { command: 'java', install: 'a JDK 17 or newer (Debian: openjdk-17-jdk-headless)' };
const MAVEN: Tool = { command: 'mvn', install: 'Maven, which fetches the Iceberg jars (Debian: maven)' };
const BASH: Tool = { command: 'bash', install: 'bash' };

interface Invocation {
  script: string;
  args: string[];
  env?: Record<string, string>;
}

interface EngineRunner {
  tools: Tool[];
  /** The script to run, or why this runner does not apply. */
  invocation(options: EngineRunOptions): Invocation | { skip: string };
}

const storageArgs = (o: EngineRunOptions) => [
  ...(o.warehouse ? ['--warehouse', o.warehouse] : []),
  ...(o.s3Endpoint ? ['--s3-endpoint', o.s3Endpoint] : []),
];

export const ENGINE_RUNNERS: Record<Exclude<RunnerName, 'protocol'>, EngineRunner> = {
  pyiceberg: {
    tools: [BASH, PYTHON],
    invocation: (o) => o.readOnly
      ? { script: 'conformance/replica/run.sh', args: [o.url, ...storageArgs(o), '--only', 'pyiceberg_*', '--only', 'replica_unchanged'] }
      : { script: 'conformance/pyiceberg/run.sh', args: [o.url, ...storageArgs(o)] },
  },
  spark: {
    tools: [BASH, PYTHON, JAVA, MAVEN],
    invocation: (o) => o.readOnly
      ? { script: 'conformance/replica/run.sh', args: [o.url, ...storageArgs(o), '--only', 'spark_*'] }
      : { script: 'conformance/spark/run.sh', args: [o.url, ...storageArgs(o)] },
  },
  rck: {
    tools: [BASH, PYTHON, JAVA, MAVEN],
    invocation: (o) => o.readOnly
      ? { skip: 'the REST Compatibility Kit checks a catalog by creating and changing tables; it cannot run against a read-only one' }
      : {
        script: 'conformance/rck/run.sh',
        args: [o.url, ...(o.warehouse ? ['--warehouse', o.warehouse] : [])],
        env: { RCK_REPORTS_DIR: join(o.outputDir, 'rck-reports') },
      },
  },
};

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The tools this runner needs that are not installed, as one sentence saying what to install. */
export function missingToolchain(name: Exclude<RunnerName, 'protocol'>): string | undefined {
  const missing = ENGINE_RUNNERS[name].tools.filter((tool) => !onPath(tool.command));
  if (missing.length === 0) return undefined;
  return `needs ${missing.map((t) => t.command).join(', ')} on PATH: install ${missing.map((t) => t.install).join('; ')}`;
}

const runnerError = (name: string, reason: string): CheckResult => ({ name, status: 'error', reason: oneLine(reason, 600), seconds: 0 });

// A scenario's outcome in the Python runners' output: "--- pyiceberg/append: PASS".
const SCENARIO_LINE = /^--- [\w-]+\/(\S+): (PASS|FAIL|SKIP)\b ?(.*)$/;
// A runner's closing line: "rck: 80 passed, 0 failed, 3 skipped".
const SUMMARY_LINE = /^[\w-]+: \d+ passed, \d+ failed, \d+ skipped/;

export async function runEngine(name: Exclude<RunnerName, 'protocol'>, options: EngineRunOptions): Promise<{ checks: CheckResult[]; log?: string }> {
  const missing = missingToolchain(name);
  if (missing) return { checks: [runnerError(name, `${name} ${missing}`)] };
  const invocation = ENGINE_RUNNERS[name].invocation(options);
  if ('skip' in invocation) return { checks: [{ name, status: 'skipped', reason: invocation.skip, seconds: 0 }] };
  if (!existsSync(join(REPO_ROOT, invocation.script))) {
    return { checks: [runnerError(name, `${invocation.script} is not here: the engine runners come with Icerelay's source tree (run icerelay conformance from a checkout)`)] };
  }
  const log = join(options.outputDir, `${name}.log`);
  const resultsFile = join(options.outputDir, `${name}.results.json`);
  rmSync(resultsFile, { force: true }); // an earlier run's results must not stand in for this one's
  options.progress(`${name}: running ${invocation.script} (output in ${relative(process.cwd(), log) || log})`);
  const code = await runLogged(['bash', join(REPO_ROOT, invocation.script), ...invocation.args, '--results-json', resultsFile], invocation.env ?? {}, log, (line) => {
    const scenario = SCENARIO_LINE.exec(line);
    if (options.verbose) process.stderr.write(`  ${line}\n`);
    else if (scenario) options.progress(`${name}: ${scenario[1]} ${scenario[2]}${scenario[3] ? ` ${oneLine(scenario[3], 120)}` : ''}`);
    else if (SUMMARY_LINE.test(line)) options.progress(line);
  });
  return { checks: readResults(name, resultsFile, code, log), log };
}

function readResults(name: string, resultsFile: string, code: number, log: string): CheckResult[] {
  const tail = () => {
    const lines = readFileSync(log, 'utf8').split('\n').filter((l) => l.trim() !== '' && !/^\s+at /.test(l));
    return lines.slice(-8).join(' | ');
  };
  let checks: CheckResult[] = [];
  if (existsSync(resultsFile)) {
    try {
      const parsed = JSON.parse(readFileSync(resultsFile, 'utf8')) as { checks: CheckResult[] };
      checks = parsed.checks.map((c) => ({ name: c.name, status: c.status, reason: oneLine(c.reason ?? ''), seconds: c.seconds ?? 0 }));
    } catch (error) {
      return [runnerError(name, `its results file ${resultsFile} is unreadable (${(error as Error).message})`)];
    }
  }
  if (checks.length === 0) return [runnerError(name, `ran no check (exit status ${code}); last lines of ${log}: ${tail()}`)];
  // A runner that fails without naming a failed check (a build error after some tests ran) is
  // still a failure; one that only says nothing passed is left to the overall verdict.
  const anyPassed = checks.some((c) => c.status === 'passed');
  const anyFailed = checks.some((c) => c.status === 'failed');
  if (code !== 0 && anyPassed && !anyFailed) checks.push(runnerError(name, `exited with status ${code}; last lines of ${log}: ${tail()}`));
  return checks;
}

/** Runs a command with its stdout and stderr into `log`, handing each line to `onLine`. */
function runLogged(command: string[], env: Record<string, string>, log: string, onLine: (line: string) => void): Promise<number> {
  return new Promise((done) => {
    const out = createWriteStream(log);
    const child = spawn(command[0]!, command.slice(1), { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream.on('data', (chunk: Buffer) => {
        out.write(chunk);
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop()!;
        lines.forEach(onLine);
      });
      stream.on('end', () => {
        if (pending) onLine(pending);
      });
    }
    child.on('error', (error) => {
      out.write(`could not start ${command[0]}: ${error.message}\n`);
    });
    child.on('close', (code, signal) => {
      out.end(() => done(code ?? (signal ? 128 : 1)));
    });
  });
}
