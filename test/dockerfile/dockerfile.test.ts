/**
 * The Dockerfile: clean under hadolint (scripts/lint-dockerfile.sh, which must also catch a bad
 * one), and consistent with the project it packages: the command is what `npm start` runs, the
 * exposed port is the default port, the health check asks /healthz, the files it copies exist and
 * are in the build context, the runtime stage is another than the one with the compiler, and the
 * server does not run as root.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadServerConfig } from '../../src/config/server-config.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** The Dockerfile's instructions, continuation lines joined, comments left out. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && !pending)) continue;
    const joined = pending ? `${pending.text} ${line}` : line;
    const start = pending?.line ?? i + 1;
    if (joined.endsWith('\\')) {
      pending = { text: joined.slice(0, -1).trim(), line: start };
      continue;
    }
    pending = undefined;
    const match = /^(\S+)\s*(.*)$/s.exec(joined)!;
    out.push({ keyword: match[1]!.toUpperCase(), args: match[2]!, line: start });
  }
  return out;
}

/** Instructions per stage (each FROM starts one). */
function stages(instructions: Instruction[]): Instruction[][] {
  const out: Instruction[][] = [];
  for (const i of instructions) {
    if (i.keyword === 'FROM') out.push([]);
    out.at(-1)?.push(i);
  }
  return out;
}

const execForm = (args: string) => JSON.parse(args) as string[];

describe('Dockerfile', () => {
  const instructions = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  const all = stages(instructions);
  const final = all.at(-1)!;
  const one = (keyword: string, stage = final) => {
    const found = stage.filter((i) => i.keyword === keyword);
    expect(found, `${keyword} instructions in the final stage`).toHaveLength(1);
    return found[0]!;
  };

  describe('hadolint', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'icerelay-dockerfile-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('finds nothing in the Dockerfile', async () => {
      const { stdout, stderr } = await run('bash', [join(root, 'scripts/lint-dockerfile.sh')], { cwd: root });
      expect(stdout.trim(), stderr).toBe('');
    }, 300_000);

    it('finds the mistakes of a bad one, so a clean result means something', async () => {
      const bad = join(dir, 'Dockerfile');
      await writeFile(bad, 'FROM node\nRUN apt-get install g++\nCMD node src/main.ts\n');
      const failure = await run('bash', [join(root, 'scripts/lint-dockerfile.sh'), bad], { cwd: root })
        .then(() => undefined, (error: { code: number; stdout: string }) => error);
      expect(failure?.code).toBe(1);
      // An untagged base image, apt-get without -y, shell-form CMD.
      for (const rule of ['DL3006', 'DL3014', 'DL3025']) expect(failure?.stdout).toContain(rule);
    }, 300_000);
  });

  it('runs what `npm start` runs, as one node process', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
    const [runner, ...script] = pkg.scripts.start.split(/\s+/);
    expect(runner).toBe('tsx');
    // `tsx file` is `node --import tsx file` in a child process; the image runs the node itself.
    expect(execForm(one('CMD').args)).toEqual(['node', '--import', 'tsx', ...script]);
    for (const file of script) expect(existsSync(join(root, file)), file).toBe(true);
    expect(final.some((i) => i.keyword === 'ENTRYPOINT'), 'no ENTRYPOINT in front of the command').toBe(false);
  });

  it('exposes the default port, which its health check asks at /healthz', () => {
    const defaultPort = loadServerConfig({}).port;
    expect(one('EXPOSE').args.trim()).toBe(String(defaultPort));
    const check = one('HEALTHCHECK').args;
    const command = execForm(check.slice(check.indexOf('CMD') + 3).trim());
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    expect(command[2]).toContain('/healthz');
    expect(command[2]).toContain(`|| ${defaultPort}`);
    expect(readFileSync(join(root, 'src/server/health.ts'), 'utf8')).toContain("'/healthz'");
  });

  it('copies files that exist and that .dockerignore lets into the build context', () => {
    const allowed = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n')
      .filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    const sources = instructions
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect(existsSync(join(root, source)), `${source} exists`).toBe(true);
      expect(allowed, `${source} is in the build context`).toContain(source.replace(/\/$/, ''));
    }
    // `icerelay` is linked onto the PATH: the script must be executable.
    expect(() => accessSync(join(root, 'bin/icerelay.js'), constants.X_OK)).not.toThrow();
  });

  it('builds in one stage and runs from a slim one without a compiler, as a user other than root', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(one('FROM').args).toMatch(/^node:20[\w.-]*-slim$/);
    const finalRuns = final.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    expect(finalRuns).not.toMatch(/apt-get|g\+\+|\bmake\b|npm (ci|install)/);
    expect(final.some((i) => i.keyword === 'COPY' && i.args.startsWith('--from=build /app/node_modules'))).toBe(true);
    expect(all[0]!.some((i) => i.keyword === 'RUN' && /npm ci --omit=dev/.test(i.args)), 'production dependencies only').toBe(true);
    const user = one('USER').args.trim().split(':')[0]!;
    expect(['root', '0']).not.toContain(user);
  });

  it('keeps its state on the /data volume and reads a configuration file from /config', () => {
    const env = one('ENV').args;
    expect(env).toMatch(/ICERELAY_DATA_DIR=\/data\b/);
    expect(execForm(one('VOLUME').args)).toEqual(['/data']);
    expect(one('RUN').args).toMatch(/mkdir -p \/data \/config/);
  });
});
