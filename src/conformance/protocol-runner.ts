/**
 * The `protocol` runner: HTTP-level checks of the Iceberg REST protocol against any catalog URL,
 * answers validated against the spec's schemas. It runs in-process (no toolchain needed) and
 * reports one result per check, like the engine runners.
 */
import type { CheckResult } from './check-result.ts';
import { CatalogHttp } from './catalog-http.ts';
import { runChecks } from './protocol-check.ts';
import { cleanUpReadOnly, READ_ONLY_CHECKS } from './protocol-read-only-checks.ts';
import { cleanUpWrites, newWriteState, WRITE_CHECKS } from './protocol-write-checks.ts';

export interface ProtocolOptions {
  url: string;
  readOnly: boolean;
  warehouse?: string;
  onResult?: (result: CheckResult) => void;
}

export async function runProtocolChecks(options: ProtocolOptions): Promise<CheckResult[]> {
  const context = { http: new CatalogHttp(options.url.replace(/\/+$/, '')), warehouse: options.warehouse };
  if (options.readOnly) {
    const results = await runChecks(READ_ONLY_CHECKS, context, options.onResult);
    // A write that was accepted may have created something: take it away again.
    if (results.some((r) => r.name.startsWith('forbidden-') && r.status === 'failed')) await cleanUpReadOnly(context);
    return results;
  }
  const state = newWriteState(context);
  try {
    return await runChecks(WRITE_CHECKS, state, options.onResult);
  } finally {
    await cleanUpWrites(state);
  }
}
