/**
 * The log level (`log.level`, ICERELAY_LOG_LEVEL) and the replication retry settings
 * (`replication.retry`): validated with the field named, the environment over the file, and the
 * defaults unchanged when nothing is said.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfigFile } from '../../src/config/config-file.ts';
import { loadServerConfig } from '../../src/config/server-config.ts';
import { defaultRetryPolicy } from '../../src/outbox/retry-policy.ts';
import { resolveReplication } from '../../src/replication/destinations.ts';
import { freePort } from '../helpers/free-port.ts';

function problems(yaml: string): string {
  try {
    parseConfigFile(yaml, {}, 'icerelay.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the file to be refused');
}

const withDestination = (extra: string) => `replication:\n  destinations: { eu: { warehouse: /x } }\n${extra}`;

describe('log level', () => {
  it('is info by default, else the file, else the environment over the file', () => {
    expect(loadServerConfig({}, {}).logLevel).toBe('info');
    const file = parseConfigFile('log: { level: warn }\n', {}, 'f');
    expect(loadServerConfig({}, file).logLevel).toBe('warn');
    expect(loadServerConfig({ ICERELAY_LOG_LEVEL: 'debug' }, file).logLevel).toBe('debug');
  });

  it('refuses an unknown level, naming the field or variable and the choices', () => {
    expect(problems('log: { level: verbose }\n')).toContain('log.level: must be one of debug, info, warn, error, silent');
    expect(problems('log: { lvl: info }\n')).toContain('log: Unrecognized key: "lvl"');
    expect(() => loadServerConfig({ ICERELAY_LOG_LEVEL: 'loud' }, {})).toThrow("ICERELAY_LOG_LEVEL must be one of debug, info, warn, error, silent, not 'loud'");
  });
});

describe('log level of a running server', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'icerelay-log-level-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts Icerelay at `level`, asks it one request once it answers, stops it; its log lines. */
  async function linesOfOneRequest(level: string, viaFile: boolean): Promise<{ level: string; msg: string }[]> {
    const port = await freePort();
    const config = join(dir, `log-${level}.yaml`);
    await writeFile(config, `log: { level: ${level} }\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...(viaFile ? ['--config', config] : [])], {
      env: { ...process.env, ICERELAY_DATA_DIR: join(dir, level), ICERELAY_PORT: String(port), ...(viaFile ? {} : { ICERELAY_LOG_LEVEL: level }) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const answer = await fetch(`http://127.0.0.1:${port}/v1/config`).catch(() => undefined);
        if (answer?.ok) break;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`Icerelay did not start:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    return stderr.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: string; msg: string });
  }

  it('writes the start-up and request lines at info, none of them at warn (from the environment or the file)', async () => {
    const atInfo = await linesOfOneRequest('info', false);
    expect(atInfo.map((l) => l.msg)).toEqual(expect.arrayContaining([expect.stringContaining('listening on'), 'request']));
    for (const viaFile of [false, true]) {
      const atWarn = await linesOfOneRequest('warn', viaFile);
      expect(atWarn.filter((l) => l.level === 'info' || l.level === 'debug'), `at warn (${viaFile ? 'file' : 'environment'})`).toEqual([]);
    }
  }, 120_000);
});

describe('replication.retry', () => {
  const base = loadServerConfig({ ICERELAY_DATA_DIR: '/srv/icerelay' });

  it('keeps the defaults (20 attempts, 1 s doubling to 10 min) when not set', () => {
    expect(defaultRetryPolicy).toEqual({ maxAttempts: 20, baseDelayMs: 1_000, maxDelayMs: 600_000 });
    expect(resolveReplication(base, {}).retry).toEqual(defaultRetryPolicy);
    expect(resolveReplication(base, parseConfigFile(withDestination(''), {}, 'f')).retry).toEqual(defaultRetryPolicy);
  });

  it('reads max attempts and the delays, each on its own over the defaults', () => {
    const file = parseConfigFile(withDestination('  retry: { maxAttempts: 2, baseDelay: 5s, maxDelay: PT1M }\n'), {}, 'f');
    expect(resolveReplication(base, file).retry).toEqual({ maxAttempts: 2, baseDelayMs: 5_000, maxDelayMs: 60_000 });
    const onlyAttempts = parseConfigFile(withDestination('  retry: { maxAttempts: 50 }\n'), {}, 'f');
    expect(resolveReplication(base, onlyAttempts).retry).toEqual({ ...defaultRetryPolicy, maxAttempts: 50 });
  });

  it('names the field of each mistake', () => {
    expect(problems(withDestination('  retry: { maxAttempts: 0 }\n'))).toMatch(/replication\.retry\.maxAttempts: .*>0/);
    expect(problems(withDestination('  retry: { maxAttempts: 2.5 }\n'))).toMatch(/replication\.retry\.maxAttempts: .*expected int/);
    expect(problems(withDestination('  retry: { baseDelay: soon }\n'))).toContain("replication.retry.baseDelay: must be a duration such as 7d, 12h, 30m or P7D, not 'soon'");
    expect(problems(withDestination('  retry: { baseDelay: 0s }\n'))).toContain('replication.retry.baseDelay: must be at least 1 ms');
    expect(problems(withDestination('  retry: { attempts: 3 }\n'))).toContain('replication.retry: Unrecognized key: "attempts"');
    const backwards = parseConfigFile(withDestination('  retry: { baseDelay: 1m, maxDelay: 30s }\n'), {}, 'f');
    expect(() => resolveReplication(base, backwards)).toThrow('replication.retry.maxDelay (30000 ms) must not be shorter than baseDelay (60000 ms)');
    const belowDefault = parseConfigFile(withDestination('  retry: { maxDelay: PT0.5S }\n'), {}, 'f');
    expect(() => resolveReplication(base, belowDefault)).toThrow('must not be shorter than baseDelay (1000 ms, the default)');
  });
});
