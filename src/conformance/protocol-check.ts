/**
 * The protocol checks' frame: a check is a named async step over shared state that throws
 * CheckFailed or CheckSkipped (protocol-assertions.ts) or returns when it passed. Checks run in
 * order, as a client would go (create, then load, then commit, ...); one whose prerequisite did not
 * pass is skipped, naming it, rather than failing for a reason reported elsewhere.
 */
import { oneLine, type CheckResult } from './check-result.ts';
import { NoAnswerError, type CatalogHttp } from './catalog-http.ts';
import { CheckFailed, CheckSkipped } from './protocol-assertions.ts';

export interface ProtocolContext {
  http: CatalogHttp;
  /** The `warehouse` to ask /v1/config for, if any. */
  warehouse: string | undefined;
  /**
   * The routes /v1/config advertised (`endpoints`, e.g. "POST /v1/{prefix}/namespaces"); undefined
   * when it listed none, in which case the spec's default set (namespaces and tables) applies.
   */
  endpoints?: Set<string>;
}

export interface ProtocolCheck<S extends ProtocolContext> {
  name: string;
  /** Checks this one builds on: when one of them did not pass, this one is skipped. */
  needs?: string[];
  run(state: S): Promise<void>;
}

/** Skips the check when the catalog advertises endpoints and not this one. */
export function requireEndpoint(context: ProtocolContext, method: string, route: string): void {
  const endpoint = `${method} /v1/{prefix}/${route}`;
  if (context.endpoints && !context.endpoints.has(endpoint)) {
    throw new CheckSkipped(`the catalog does not advertise ${endpoint} in /v1/config`);
  }
}

export async function runChecks<S extends ProtocolContext>(
  checks: readonly ProtocolCheck<S>[],
  state: S,
  onResult: (result: CheckResult) => void = () => {},
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const passed = new Set<string>();
  for (const check of checks) {
    const started = performance.now();
    const missing = (check.needs ?? []).filter((name) => !passed.has(name));
    let status: CheckResult['status'] = 'passed';
    let reason = '';
    if (missing.length > 0) {
      status = 'skipped';
      reason = `needs ${missing.join(', ')}, which did not pass`;
    } else {
      try {
        await check.run(state);
        passed.add(check.name);
      } catch (error) {
        if (error instanceof CheckSkipped) status = 'skipped';
        else status = 'failed';
        // Anything but our own assertions (a TypeError on an odd answer, say) is still the
        // catalog's answer failing the check: reported with what was thrown.
        const known = error instanceof CheckFailed || error instanceof CheckSkipped || error instanceof NoAnswerError;
        reason = oneLine(known ? (error as Error).message : `unexpected ${String(error)}`);
      }
    }
    const result = { name: check.name, status, reason, seconds: (performance.now() - started) / 1000 };
    results.push(result);
    onResult(result);
  }
  return results;
}
