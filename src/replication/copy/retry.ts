/**
 * Retry with capped exponential backoff and full jitter, for S3 requests and streamed transfers.
 *
 * Retried: throttling (503 SlowDown, 429 and the SDK's throttling error names), every 5xx, S3's
 * 400 RequestTimeout, socket timeouts and connection errors (reset, refused, broken pipe, a body that
 * ended early). Everything else, notably 403 (credentials, KMS permissions) and 404, fails at once:
 * waiting does not fix it, and retrying would only delay the report.
 *
 * Full jitter (delay uniform in [0, d(n))) because many files of one table hit the same prefix and
 * throttle together; spreading their retries is the point.
 */

import { sleep } from '../../util/sleep.ts';
import { SizeMismatchError, SourceMissingError } from './errors.ts';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultCopyRetryPolicy: RetryPolicy = { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 20_000 };

const RETRYABLE_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
]);

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

export function httpStatusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

export function isRetryable(err: unknown): boolean {
  if (err instanceof SourceMissingError || err instanceof SizeMismatchError) return false;
  const status = httpStatusOf(err);
  if (status !== undefined) {
    if (status === 429 || status >= 500) return true;
    // S3 says 400 RequestTimeout when the client's upload stalled; a fresh attempt is the cure.
    return status === 400 && (err as Error).name === 'RequestTimeout';
  }
  // No HTTP status: the request never got an answer (network, timeout) or failed inside a stream.
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { name, code } = e as { name?: string; code?: string };
    if ((name && RETRYABLE_NAMES.has(name)) || (code && RETRYABLE_CODES.has(code))) return true;
    // Node's fetch / msw report a dropped connection as TypeError('fetch failed' / 'Network error').
    if (e instanceof TypeError && /network|fetch failed|socket/i.test(e.message)) return true;
  }
  return false;
}

/** The delay before attempt n+1 after the n-th failure: uniform in [0, min(max, base * 2^(n-1))). */
export function backoffDelayMs(failures: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const nominal = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(failures - 1, 30));
  return Math.floor(random() * nominal);
}

export interface RetryOutcome<T> {
  value: T;
  attempts: number;
}

/**
 * Runs `operation` until it succeeds, fails permanently, or `maxAttempts` is used up; the last error
 * is thrown as is. `onRetry` sees each retryable failure, e.g. to undo progress of a failed attempt.
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  onRetry?: (err: unknown, attempt: number) => void,
): Promise<RetryOutcome<T>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await operation(attempt), attempts: attempt };
    } catch (err) {
      if (attempt >= policy.maxAttempts || !isRetryable(err)) throw err;
      onRetry?.(err, attempt);
      await sleep(backoffDelayMs(attempt, policy));
    }
  }
}

export function resolveRetryPolicy(partial: Partial<RetryPolicy> | undefined): RetryPolicy {
  const policy = { ...defaultCopyRetryPolicy, ...partial };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new RangeError(`copy retry maxAttempts must be an integer >= 1, got ${policy.maxAttempts}`);
  }
  if (!(policy.baseDelayMs >= 0) || !(policy.maxDelayMs >= policy.baseDelayMs)) {
    throw new RangeError(`copy retry delays must satisfy 0 <= baseDelayMs <= maxDelayMs`);
  }
  return policy;
}
