/** The run as text for a terminal: runner x passed/failed/skipped/errors, then what went wrong. */
import { countStatuses, runPassed, type CheckResult, type ConformanceRun } from './check-result.ts';

export function formatResultTable(run: ConformanceRun): string {
  const header = ['runner', 'passed', 'failed', 'skipped', 'errors', 'time'];
  const rows = run.reports.map((r) => {
    const c = countStatuses(r.checks);
    return [r.runner, c.passed, c.failed, c.skipped, c.errors, `${r.seconds.toFixed(1)}s`].map(String);
  });
  const total = countStatuses(run.reports.flatMap((r) => r.checks));
  rows.push(['total', total.passed, total.failed, total.skipped, total.errors, `${run.seconds.toFixed(1)}s`].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  const out = [`${run.readOnly ? 'read-only ' : ''}catalog ${run.catalogUrl}`, '', line(header), ...rows.map(line)];

  const listed = (status: CheckResult['status'], title: string) => {
    const picked = run.reports.flatMap((r) => r.checks.filter((c) => c.status === status).map((c) => `  ${c.name === r.runner ? r.runner : `${r.runner} ${c.name}`}: ${c.reason}`));
    if (picked.length > 0) out.push('', `${title} (${picked.length}):`, ...picked);
  };
  listed('error', 'runner errors');
  listed('failed', 'failed');
  listed('skipped', 'skipped');
  out.push('', runPassed(run.reports) ? 'conformance: passed' : total.passed === 0 && total.failed + total.errors === 0
    ? 'conformance: FAILED (no check passed)'
    : `conformance: FAILED (${total.failed} failed, ${total.errors} runner errors)`);
  return `${out.join('\n')}\n`;
}
