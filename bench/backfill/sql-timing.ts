/**
 * Where an Icerelay process spends its SQLite time: loaded with `node --import` (see
 * backfill-bench.ts --sql-timing), it wraps better-sqlite3's prepared statements and, when the
 * process exits, writes per SQL text the number of runs and the milliseconds spent to the JSON
 * file named by ICERELAY_BENCH_SQL_TIMING. An analysis aid only; it changes nothing else.
 */
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';

type Method = 'run' | 'get' | 'all' | 'iterate';
const out = process.env.ICERELAY_BENCH_SQL_TIMING;
const stats = new Map<string, { runs: number; ms: number }>();
const prepare = Database.prototype.prepare;
Database.prototype.prepare = function (this: Database.Database, source: string) {
  const statement = prepare.call(this, source) as unknown as Record<Method, (...args: unknown[]) => unknown>;
  const key = source.replace(/\s+/g, ' ').slice(0, 400);
  for (const method of ['run', 'get', 'all', 'iterate'] as const) {
    const original = statement[method];
    statement[method] = function (this: unknown, ...args: unknown[]) {
      const started = process.hrtime.bigint();
      try {
        return original.apply(this, args);
      } finally {
        const s = stats.get(key) ?? { runs: 0, ms: 0 };
        s.runs++;
        s.ms += Number(process.hrtime.bigint() - started) / 1e6;
        stats.set(key, s);
      }
    };
  }
  return statement as unknown as Database.Statement;
} as typeof Database.prototype.prepare;
process.on('exit', () => {
  if (!out) return;
  const rows = [...stats].map(([sql, s]) => ({ sql, ...s })).sort((a, b) => b.ms - a.ms);
  writeFileSync(out, JSON.stringify(rows, null, 2));
});
