/**
 * The run as JUnit XML (testsuites > testsuite per runner > testcase per check, with failure,
 * error and skipped elements), the format CI systems display, and as JSON for scripts.
 */
import { countStatuses, runPassed, type ConformanceRun } from './check-result.ts';

// XML 1.0 allows no control characters but tab, newline and carriage return, even escaped.
const escapeXml = (text: string) =>
  text
    .replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '?')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

const attributes = (values: Record<string, string | number>) =>
  Object.entries(values).map(([k, v]) => `${k}="${escapeXml(String(v))}"`).join(' ');

const seconds = (s: number) => s.toFixed(3);

export function toJunitXml(run: ConformanceRun): string {
  const all = countStatuses(run.reports.flatMap((r) => r.checks));
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites ${attributes({ name: 'icerelay conformance', tests: run.reports.reduce((n, r) => n + r.checks.length, 0), failures: all.failed, errors: all.errors, skipped: all.skipped, time: seconds(run.seconds) })}>`,
  ];
  for (const report of run.reports) {
    const counts = countStatuses(report.checks);
    lines.push(`  <testsuite ${attributes({ name: report.runner, tests: report.checks.length, failures: counts.failed, errors: counts.errors, skipped: counts.skipped, time: seconds(report.seconds), timestamp: run.startedAt.toISOString().replace(/\.\d+Z$/, '') })}>`);
    lines.push('    <properties>');
    lines.push(`      <property ${attributes({ name: 'catalog-url', value: run.catalogUrl })}/>`);
    lines.push(`      <property ${attributes({ name: 'read-only', value: String(run.readOnly) })}/>`);
    if (report.log) lines.push(`      <property ${attributes({ name: 'log', value: report.log })}/>`);
    lines.push('    </properties>');
    for (const check of report.checks) {
      const testcase = attributes({ classname: report.runner, name: check.name, time: seconds(check.seconds) });
      if (check.status === 'passed') {
        lines.push(`    <testcase ${testcase}/>`);
        continue;
      }
      const element = check.status === 'failed' ? 'failure' : check.status === 'error' ? 'error' : 'skipped';
      const inner = element === 'skipped'
        ? `<skipped ${attributes({ message: check.reason })}/>`
        : `<${element} ${attributes({ message: check.reason, type: element })}>${escapeXml(check.reason)}</${element}>`;
      lines.push(`    <testcase ${testcase}>${inner}</testcase>`);
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}

export function toJsonReport(run: ConformanceRun): string {
  const report = {
    catalogUrl: run.catalogUrl,
    readOnly: run.readOnly,
    startedAt: run.startedAt.toISOString(),
    seconds: Number(run.seconds.toFixed(3)),
    passed: runPassed(run.reports),
    totals: countStatuses(run.reports.flatMap((r) => r.checks)),
    runners: run.reports.map((r) => ({
      runner: r.runner,
      seconds: Number(r.seconds.toFixed(3)),
      ...(r.log ? { log: r.log } : {}),
      totals: countStatuses(r.checks),
      checks: r.checks.map((c) => ({ ...c, seconds: Number(c.seconds.toFixed(3)) })),
    })),
  };
  return `${JSON.stringify(report, null, 2)}\n`;
}
