/**
 * What every conformance runner reports, whatever it is built on (the protocol checks in this
 * folder, PyIceberg and Spark scenarios, Apache's REST Compatibility Kit): one result per check.
 */

/** Runners `icerelay conformance` knows, in the order they run by default. */
export const RUNNER_NAMES = ['protocol', 'pyiceberg', 'spark', 'rck'] as const;
export type RunnerName = (typeof RUNNER_NAMES)[number];

/**
 * `error` is a runner that could not check anything (a missing toolchain, a crash): it counts as a
 * failure, never as a skip, so a missing Java cannot make a run look green.
 */
export type CheckStatus = 'passed' | 'failed' | 'skipped' | 'error';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** Why it failed or was skipped, in one line; empty when it passed. */
  reason: string;
  seconds: number;
}

export interface RunnerReport {
  runner: RunnerName;
  checks: CheckResult[];
  seconds: number;
  /** Where the runner's full output went, when it ran as a child process. */
  log?: string;
}

export interface StatusCounts {
  passed: number;
  failed: number;
  skipped: number;
  errors: number;
}

export function countStatuses(checks: readonly CheckResult[]): StatusCounts {
  const counts: StatusCounts = { passed: 0, failed: 0, skipped: 0, errors: 0 };
  for (const check of checks) {
    if (check.status === 'error') counts.errors++;
    else counts[check.status]++;
  }
  return counts;
}

/** A run passes when nothing failed or errored and at least one check really passed. */
export function runPassed(reports: readonly RunnerReport[]): boolean {
  const total = countStatuses(reports.flatMap((r) => r.checks));
  return total.failed === 0 && total.errors === 0 && total.passed > 0;
}

/** A reason on one line, short enough for a table cell or an XML attribute. */
export function oneLine(text: string, limit = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= limit ? flat : `${flat.slice(0, limit - 3)}...`;
}

/** One `icerelay conformance` run: what was checked, how, and every runner's results. */
export interface ConformanceRun {
  catalogUrl: string;
  readOnly: boolean;
  startedAt: Date;
  seconds: number;
  reports: RunnerReport[];
}
