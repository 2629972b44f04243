/**
 * At start-up (and from the reconciliation loop), settles every outbox entry left `intent` or
 * `unknown` by a crash or an unanswered request, by re-reading the upstream.
 */
import type { OutboxEntry, Outcome } from '../outbox/outbox.ts';
import type { Logger } from '../util/logger.ts';
import { classifyRequest, type Mutation } from './mutation-routes.ts';

export interface UnsettledSource {
  unsettled(): Promise<OutboxEntry[]>;
}

export type Settle = (entryId: number, mutation: Mutation, headers: Record<string, string>) => Promise<Outcome | undefined>;

/** Returns how many entries were settled and how many are still undecided. */
export async function settleUnsettled(
  outbox: UnsettledSource, settle: Settle, logger: Logger, prefixes: string[] = [], separators: string[] = [],
): Promise<{ settled: number; open: number }> {
  let settled = 0;
  let open = 0;
  for (const entry of await outbox.unsettled()) {
    const path = entry.request.path.split('?')[0]!;
    const classified = classifyRequest(entry.request.method, path, entry.request.body, prefixes, separators);
    // The entities recorded with the intent are the truth (decoded with what the proxy knew then).
    const mutation = classified && { ...classified, entities: entry.entities.length > 0 ? entry.entities : classified.entities };
    try {
      const outcome = mutation ? await settle(entry.id, mutation, {}) : undefined;
      if (outcome) settled++;
      else open++;
    } catch (error) {
      open++;
      logger.warn({ err: error, entryId: entry.id }, 'could not settle an outbox entry yet');
    }
  }
  return { settled, open };
}
