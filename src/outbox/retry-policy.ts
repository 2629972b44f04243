/**
 * When a failed (destination, entity) queue runs again. Capped exponential backoff with "equal
 * jitter": after the n-th consecutive failure (n = attempts, 1-based)
 *
 *   d(n)  = min(maxDelayMs, baseDelayMs * 2^(n-1))
 *   delay = d(n)/2 + r * d(n)/2,   r uniform in [0, 1)
 *
 * so a retry waits at least half the nominal delay (no hot loop) and retries of many queues that
 * failed together (a destination went down) spread out. After `maxAttempts` consecutive failures
 * the queue's state becomes `failed` and it waits for an operator's resume.
 *
 * Defaults: 1 s, 2 s, 4 s ... capped at 10 min; failed after 20 attempts (about 1 h 50 min of
 * nominal delays: 1+2+...+512 s, then 10 x 10 min).
 */
export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
}

export const defaultRetryPolicy: RetryPolicy = { baseDelayMs: 1_000, maxDelayMs: 600_000, maxAttempts: 20 };

/** Checks a policy at start-up, so a bad setting fails loudly instead of looping. */
export function validateRetryPolicy(policy: RetryPolicy): RetryPolicy {
  const { baseDelayMs, maxDelayMs, maxAttempts } = policy;
  if (!Number.isInteger(baseDelayMs) || baseDelayMs < 1) throw new RangeError(`retry baseDelayMs must be an integer >= 1, got ${baseDelayMs}`);
  if (!Number.isInteger(maxDelayMs) || maxDelayMs < baseDelayMs) throw new RangeError(`retry maxDelayMs must be an integer >= baseDelayMs, got ${maxDelayMs}`);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new RangeError(`retry maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  return policy;
}

/** The nominal delay d(n) after the n-th consecutive failure (n >= 1), before jitter. */
export function nominalDelayMs(attempts: number, policy: RetryPolicy): number {
  const exponent = Math.min(Math.max(attempts, 1) - 1, 52);
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
}

/** The delay after the n-th consecutive failure, with `r` in [0, 1) as the jitter draw. */
export function retryDelayMs(attempts: number, policy: RetryPolicy, r: number): number {
  const d = nominalDelayMs(attempts, policy);
  return Math.floor(d / 2 + r * (d / 2));
}

/**
 * The failure counts whose delay differ: 1..k where d(k) is the first to reach the cap; every
 * later failure waits like the k-th. Lets the store compute the delay in SQL from the row's own
 * attempts (one statement, no read-then-write).
 */
export function distinctDelaySteps(policy: RetryPolicy): number {
  let n = 1;
  while (nominalDelayMs(n, policy) < policy.maxDelayMs && n < 64) n++;
  return n;
}
