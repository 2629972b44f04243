/**
 * docs/operations.md names every Prometheus metric Icerelay exports and every command of
 * `icerelay --help` other than `serve` (docs/deployment.md covers that one): a metric or command
 * added without its documentation fails here.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const operations = readFileSync(resolve(root, 'docs/operations.md'), 'utf8');

describe('docs/operations.md', () => {
  it('lists every metric of src/server/metrics.ts', () => {
    const source = readFileSync(resolve(root, 'src/server/metrics.ts'), 'utf8');
    const metrics = [...source.matchAll(/name: '(icerelay_[a-z_]+)'/g)].map((m) => m[1]!);
    expect(metrics.length).toBeGreaterThan(10);
    expect(metrics.filter((m) => !operations.includes(`\`${m}\``)), 'metrics missing from docs/operations.md').toEqual([]);
  });

  it('shows every command of icerelay --help', async () => {
    const { stdout } = await run(process.execPath, [resolve(root, 'bin/icerelay.js'), '--help'], { cwd: root });
    const commands = stdout.slice(stdout.indexOf('Commands:'), stdout.indexOf('Common options:'))
      .split('\n').slice(1)
      .map((line) => /^ {2}([a-z]+(?:, [a-z]+)*(?: [a-z]+)?)/.exec(line)?.[1])
      .filter((c): c is string => c !== undefined)
      .flatMap((c) => c.split(', '))
      .map((c) => c.replace(/ [A-Z]+$/, ''));
    expect(commands).toEqual(expect.arrayContaining(['status', 'backfill', 'pause', 'resume', 'serve']));
    const undocumented = commands.filter((c) => c !== 'serve' && !operations.includes(`icerelay ${c}`));
    expect(undocumented, 'commands missing from docs/operations.md').toEqual([]);
  }, 30_000);
});
