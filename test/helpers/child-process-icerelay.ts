/**
 * Icerelay as a real child process (`node --import tsx src/main.ts ...`), for tests that kill it
 * with SIGKILL. Each child leads its own process group, so a kill takes whatever it started with
 * it; every child ever started is killed when the test process exits, whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '../..');

export interface IcerelayChild {
  pid: number;
  /** The URL it logged when it was ready. */
  url: string;
  /** Everything it wrote so far (stdout and stderr, JSON log lines). */
  output(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` to the child's whole process group; resolves once it exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

// A test run that dies (a timeout, an uncaught error) must not leave Icerelays behind.
process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

/** Kills every child still running (for afterAll, whatever state the tests left). */
export async function killAllChildren(): Promise<void> {
  const all = [...running];
  for (const child of all) killGroup(child, 'SIGKILL');
  await Promise.all(all.map((child) => new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once('exit', () => done());
  })));
}


export interface StartOptions {
  /** Extra arguments of src/main.ts, e.g. `['--catalog-only']`. */
  args?: string[];
  /** ICERELAY_* settings; any ICERELAY_* variable of the test's own environment is left out. */
  env: Record<string, string>;
  /** How long to wait for the "listening" log line. */
  timeoutMs?: number;
}

/**
 * Starts `src/main.ts` and waits until it logs that it listens (the proxy logs it after settling
 * what the previous run left open). Rejects with its output if it exits or stays silent.
 */
export async function startIcerelay(options: StartOptions): Promise<IcerelayChild> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('ICERELAY_')) env[name] = value;
  Object.assign(env, options.env);
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...(options.args ?? [])], {
    cwd: repoRoot, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      done({ code, signal });
    });
  });
  const timeoutMs = options.timeoutMs ?? 60_000;
  const url = await new Promise<string>((ready, fail) => {
    const deadline = Date.now() + timeoutMs;
    const timer = setInterval(() => {
      const line = output.split('\n').slice(0, -1).find((l) => l.includes('listening on')); // whole lines only
      if (line) {
        clearInterval(timer);
        ready((JSON.parse(line) as { url: string }).url);
      } else if (child.exitCode !== null || child.signalCode !== null) {
        clearInterval(timer);
        fail(new Error(`icerelay ${options.args?.join(' ') ?? ''} exited (${child.exitCode ?? child.signalCode}) before listening:\n${output}`));
      } else if (Date.now() > deadline) {
        clearInterval(timer);
        killGroup(child, 'SIGKILL');
        fail(new Error(`icerelay ${options.args?.join(' ') ?? ''} did not listen within ${timeoutMs} ms:\n${output}`));
      }
    }, 50);
  });
  return {
    pid: child.pid!,
    url,
    output: () => output,
    exited,
    kill: async (signal = 'SIGKILL') => {
      killGroup(child, signal);
      await exited;
    },
  };
}
