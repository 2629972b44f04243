/**
 * The check after copying: every destination exists with the expected size. It catches what a copy
 * that "succeeded" can still get wrong (a server that truncated, a concurrent delete, a multipart
 * assembly of the wrong parts) before the shipper commits a replica that points at the files.
 */

import { SizeMismatchError } from './errors.ts';
import type { ResolvedLocation } from './locations.ts';
import { headObject } from './object-access.ts';
import { withRetry, type RetryPolicy } from './retry.ts';

/** Throws when the destination is missing or of another size. */
export async function verifyDestination(destination: ResolvedLocation, expectedSize: number, retry: RetryPolicy): Promise<void> {
  const { value: head } = await withRetry(() => headObject(destination), retry);
  if (!head) throw new Error(`Destination file is missing after copying: ${destination.location}`);
  if (head.size !== expectedSize) throw new SizeMismatchError(destination.location, expectedSize, head.size, 'destination');
}
