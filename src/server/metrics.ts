/**
 * Prometheus metrics (`GET /metrics`, text exposition format) for one process:
 * - replication state per table and destination, computed from the outbox at scrape time (so
 *   every instance sharing a state database reports the same, whole picture);
 * - what this process shipped: commits, snapshots, files and bytes, failures by cause, and the
 *   lag from a commit being recorded to its replica commit, as a histogram;
 * - how long requests take: each request the proxy answers, and each it sends to the upstream
 *   catalog, by method, route kind (route-kind.ts: a fixed set, never the path) and status.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { OutboxStore } from '../outbox/outbox-store.ts';
import type { ShipReport } from '../replication/shipper.ts';
import { replicationStatus, type ReplicationState } from '../replication/status.ts';

const STATES: ReplicationState[] = ['pending', 'completed', 'failed', 'paused', 'promoted'];

/** One HTTP exchange, labelled; `status` is `error` when no answer came. */
export interface TimedRequest {
  method: string;
  route: string;
  status: number | 'error';
}

export interface Metrics {
  registry: Registry;
  shipped(report: ShipReport, nowMs?: number): void;
  failed(failure: { destination: string; error: unknown }): void;
  /** A request the proxy answered (or whose client went away), from arrival to the answer's end. */
  requestCompleted(request: TimedRequest, seconds: number): void;
  /** A request the proxy sent to the upstream catalog, up to the upstream's response headers. */
  upstreamAnswered(request: TimedRequest, seconds: number): void;
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
/** Any other method a client sends is one label value, so clients cannot add series at will. */
const methodLabel = (method: string) => (KNOWN_METHODS.has(method) ? method : 'OTHER');

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** `ns.table`, or `ns` for a namespace's own events. */
const tableLabel = (entity: { namespace: string[]; name?: string }) => [...entity.namespace, ...(entity.name === undefined ? [] : [entity.name])].join('.');

/** The failure's cause for the `cause` label: the error's class name (a small, fixed set). */
function causeOf(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

export function createMetrics(outbox: OutboxStore, destinations: string[]): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'icerelay_process_' });

  const eventsBehind = new Gauge({ name: 'icerelay_replication_events_behind', help: 'Outbox events recorded but not yet applied at the destination', labelNames: ['destination', 'table'], registers: [registry], collect: () => refresh() });
  const snapshotsBehind = new Gauge({ name: 'icerelay_replication_snapshots_behind', help: 'Snapshots the source added that the destination does not have yet', labelNames: ['destination', 'table'], registers: [registry], collect: () => refresh() });
  const lagSeconds = new Gauge({ name: 'icerelay_replication_lag_seconds', help: 'Age of the oldest commit not yet replicated (0 when up to date)', labelNames: ['destination', 'table'], registers: [registry], collect: () => refresh() });
  const tables = new Gauge({ name: 'icerelay_replication_tables', help: 'Tables (and namespaces) per destination and replication state', labelNames: ['destination', 'state'], registers: [registry], collect: () => refresh() });
  const outboxDepth = new Gauge({ name: 'icerelay_outbox_depth', help: 'Outbox events not yet applied, summed over destinations', registers: [registry], collect: () => refresh() });

  // Computed when scraped: one read of the outbox for all gauges (prom-client collects them at
  // once, each awaiting the same pass), whoever shipped.
  let pendingScrape: Promise<void> | undefined;
  const refresh = (): Promise<void> => (pendingScrape ??= (async () => {
    const now = Date.now();
    const rows = await replicationStatus(outbox, destinations);
    for (const g of [eventsBehind, snapshotsBehind, lagSeconds, tables]) g.reset();
    const counts = new Map<string, number>();
    let depth = 0;
    for (const row of rows) {
      const labels = { destination: row.destination, table: tableLabel(row.entity) };
      eventsBehind.set(labels, row.eventsBehind);
      snapshotsBehind.set(labels, row.snapshotsBehind);
      lagSeconds.set(labels, row.oldestPendingAtMs === null ? 0 : Math.max(0, now - row.oldestPendingAtMs) / 1000);
      counts.set(`${row.destination}\u0000${row.state}`, (counts.get(`${row.destination}\u0000${row.state}`) ?? 0) + 1);
      depth += row.eventsBehind;
    }
    for (const destination of destinations) {
      for (const state of STATES) tables.set({ destination, state }, counts.get(`${destination}\u0000${state}`) ?? 0);
    }
    outboxDepth.set(depth);
  })().finally(() => {
    pendingScrape = undefined;
  }));

  const commits = new Counter({ name: 'icerelay_replication_commits_shipped_total', help: 'Outbox events applied at a destination by this process', labelNames: ['destination'], registers: [registry] });
  const snapshots = new Counter({ name: 'icerelay_replication_snapshots_shipped_total', help: 'Snapshots added to replicas by this process', labelNames: ['destination'], registers: [registry] });
  const files = new Counter({ name: 'icerelay_replication_files_copied_total', help: 'Data, delete and statistics files copied by this process', labelNames: ['destination'], registers: [registry] });
  const bytes = new Counter({ name: 'icerelay_replication_bytes_copied_total', help: 'Bytes of files copied by this process', labelNames: ['destination'], registers: [registry] });
  const failures = new Counter({ name: 'icerelay_replication_failures_total', help: 'Failed attempts to ship a table, by cause (error class)', labelNames: ['destination', 'cause'], registers: [registry] });
  const lag = new Histogram({
    name: 'icerelay_replication_lag_histogram_seconds',
    help: 'From a commit being recorded in the outbox to its replica commit',
    labelNames: ['destination'],
    buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300, 1800],
    registers: [registry],
  });

  const requestDuration = new Histogram({
    name: 'icerelay_http_request_duration_seconds',
    help: 'Requests answered by Icerelay, from arrival to the end of the answer, by method, route kind and status',
    labelNames: ['method', 'route', 'status'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const upstreamDuration = new Histogram({
    name: 'icerelay_upstream_request_duration_seconds',
    help: 'Requests the proxy sent to the upstream catalog, until its response headers, by method, route kind and status',
    labelNames: ['method', 'route', 'status'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const labelsOf = (request: TimedRequest) => ({ method: methodLabel(request.method), route: request.route, status: String(request.status) });

  return {
    registry,
    requestCompleted(request, seconds) {
      requestDuration.observe(labelsOf(request), seconds);
    },
    upstreamAnswered(request, seconds) {
      upstreamDuration.observe(labelsOf(request), seconds);
    },
    shipped(report, nowMs = Date.now()) {
      const { destination } = report;
      commits.inc({ destination }, report.events.length);
      for (const s of report.synced) {
        snapshots.inc({ destination }, s.newSnapshots);
        files.inc({ destination }, s.filesCopied);
        bytes.inc({ destination }, s.bytesCopied);
      }
      for (const event of report.events) lag.observe({ destination }, Math.max(0, nowMs - event.createdAtMs) / 1000);
    },
    failed({ destination, error }) {
      failures.inc({ destination, cause: causeOf(error) });
    },
  };
}
