/**
 * How a protocol check says what went wrong: each assertion throws CheckFailed with a reason a
 * reader can act on (the request, what was expected, what came back); CheckSkipped says why a
 * check does not apply to this catalog.
 */
import { oneLine } from './check-result.ts';
import type { HttpAnswer } from './catalog-http.ts';
import { schemaViolations } from './openapi-schemas.ts';

export class CheckFailed extends Error {}
export class CheckSkipped extends Error {}

export function fail(reason: string): never {
  throw new CheckFailed(reason);
}

export function expectThat(condition: boolean, reason: string): asserts condition {
  if (!condition) fail(reason);
}

const request = (answer: HttpAnswer) => `${answer.method} ${answer.path}`;

/** The answer's Iceberg error message, or the start of its body, to explain an unexpected status. */
function answerGist(answer: HttpAnswer): string {
  const message = (answer.body as { error?: { type?: string; message?: string } } | undefined)?.error;
  if (message?.type || message?.message) return `${message.type ?? ''}: ${message.message ?? ''}`;
  return answer.text === '' ? '(empty body)' : oneLine(answer.text, 160);
}

export function expectStatus(answer: HttpAnswer, expected: number | readonly number[]): void {
  const allowed = typeof expected === 'number' ? [expected] : expected;
  if (!allowed.includes(answer.status)) {
    fail(`${request(answer)}: expected HTTP ${allowed.join(' or ')}, got ${answer.status} ${answerGist(answer)}`);
  }
}

/** The status, then the body against the spec's schema; returns the body for further checks. */
export function expectAnswer<T>(answer: HttpAnswer, status: number, schemaName: string): T {
  expectStatus(answer, status);
  if (answer.body === undefined) fail(`${request(answer)}: expected a JSON ${schemaName}, got ${answerGist(answer)}`);
  const violations = schemaViolations(schemaName, answer.body);
  if (violations.length > 0) {
    fail(`${request(answer)}: the answer is not a valid ${schemaName}: ${violations.slice(0, 3).join('; ')}${violations.length > 3 ? ` (and ${violations.length - 3} more)` : ''}`);
  }
  return answer.body as T;
}

/**
 * An Iceberg error answer: the status, a body that is an IcebergErrorResponse whose `code` is that
 * status, and (when given) one of the error types the spec names for the case.
 */
export function expectIcebergError(answer: HttpAnswer, status: number, types: readonly string[] = []): void {
  const body = expectAnswer<{ error: { type: string; code: number } }>(answer, status, 'IcebergErrorResponse');
  expectThat(body.error.code === status, `${request(answer)}: the error body's code is ${body.error.code}, the HTTP status ${status}`);
  if (types.length > 0) {
    expectThat(types.includes(body.error.type), `${request(answer)}: expected error type ${types.join(' or ')}, got ${body.error.type}`);
  }
}
