/**
 * Replication lag over time, per destination: a ring buffer of samples taken every few seconds
 * from the replication status, for the status page's charts (`GET /admin/v1/replication/lag-history`).
 *
 * Sampling runs only while someone watches: it starts on the first request for the page or the
 * history and stops after `idleMs` without one, so an Icerelay nobody looks at makes no extra
 * queries. The samples taken so far are kept (the chart shows the gap).
 */
import type { EntityStatus } from '../replication/status.ts';

export interface DestinationLag {
  destination: string;
  /** Age of the oldest commit not yet applied at the destination, over all its tables; 0 when none is behind. */
  lagMs: number;
  /** Events recorded but not yet applied, over all tables. */
  eventsBehind: number;
  /** Tables (and namespaces) whose queue has failed. */
  failed: number;
}

export interface LagSample {
  atMs: number;
  destinations: DestinationLag[];
}

export interface LagHistoryOptions {
  /** The status rows now (every table and destination). */
  read: () => Promise<EntityStatus[]>;
  destinations: string[];
  intervalMs?: number;
  /** Samples kept; the oldest goes when a new one comes. */
  capacity?: number;
  idleMs?: number;
  now?: () => number;
}

/** One sample from the status rows: per destination, the oldest pending commit's age and the backlog. */
export function lagSample(rows: EntityStatus[], destinations: string[], nowMs: number): LagSample {
  return {
    atMs: nowMs,
    destinations: destinations.map((destination) => {
      const mine = rows.filter((r) => r.destination === destination);
      const oldest = Math.min(...mine.map((r) => r.oldestPendingAtMs ?? Infinity));
      return {
        destination,
        lagMs: Number.isFinite(oldest) ? Math.max(0, nowMs - oldest) : 0,
        eventsBehind: mine.reduce((sum, r) => sum + r.eventsBehind, 0),
        failed: mine.filter((r) => r.state === 'failed').length,
      };
    }),
  };
}

export class LagHistory {
  readonly intervalMs: number;
  readonly capacity: number;
  readonly #options: LagHistoryOptions;
  readonly #idleMs: number;
  readonly #now: () => number;
  #samples: LagSample[] = [];
  #timer: NodeJS.Timeout | undefined;
  #lastWatchedMs = 0;
  #sampling: Promise<void> | undefined;

  constructor(options: LagHistoryOptions) {
    this.#options = options;
    this.intervalMs = options.intervalMs ?? 5_000;
    this.capacity = options.capacity ?? 720; // an hour at 5 s
    this.#idleMs = options.idleMs ?? 10 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** Someone looks: sample now if sampling was stopped, and keep sampling for another `idleMs`. */
  watch(): void {
    this.#lastWatchedMs = this.#now();
    if (this.#timer) return;
    // Not holding the process open: sampling is only for viewers of a server that runs anyway.
    this.#timer = setInterval(() => void this.#tick(), this.intervalMs).unref();
    void this.sample();
  }

  /** Samples taken after `sinceMs` (all of them without it), oldest first. */
  samples(sinceMs = -Infinity): LagSample[] {
    return this.#samples.filter((s) => s.atMs > sinceMs);
  }

  /**
   * Takes one sample now (one at a time: a slow status read is not stacked up; a call while one
   * is being taken waits for that one).
   */
  sample(): Promise<void> {
    this.#sampling ??= this.#takeSample().finally(() => {
      this.#sampling = undefined;
    });
    return this.#sampling;
  }

  async #takeSample(): Promise<void> {
    try {
      const rows = await this.#options.read();
      this.#samples.push(lagSample(rows, this.#options.destinations, this.#now()));
      if (this.#samples.length > this.capacity) this.#samples.splice(0, this.#samples.length - this.capacity);
    } catch {
      // A failed read is a missing point: the page shows the status error itself.
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #tick(): Promise<void> {
    if (this.#now() - this.#lastWatchedMs > this.#idleMs) {
      this.stop();
      return;
    }
    await this.sample();
  }
}
