/**
 * `icerelay status` as a table: one row per table (or namespace) and destination, failed and
 * lagging rows first, so what needs attention is at the top.
 */
import type { DestinationSummary, EntityStatus } from '../replication/status.ts';

/** What GET /admin/v1/replication/status answers (JSON). */
export interface StatusAnswer {
  destinations: string[];
  summary: DestinationSummary[];
  tables: EntityStatus[];
}

const ORDER: Record<string, number> = { failed: 0, paused: 1, pending: 2, completed: 3, promoted: 4 };

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatStatusTable(answer: StatusAnswer, nowMs: number): string {
  if (answer.destinations.length === 0) return 'no replication destinations are configured\n';
  const rows = [...answer.tables].sort((a, b) =>
    (ORDER[a.state] ?? 9) - (ORDER[b.state] ?? 9) || b.eventsBehind - a.eventsBehind ||
    a.destination.localeCompare(b.destination) || name(a).localeCompare(name(b)));
  const header = ['TABLE', 'DESTINATION', 'STATE', 'BEHIND', 'SNAPSHOTS', 'LAG', 'PROGRESS', 'LAST ERROR'];
  const cells = rows.map((r) => [
    name(r),
    r.destination,
    r.state,
    String(r.eventsBehind),
    String(r.snapshotsBehind),
    r.oldestPendingAtMs === null ? '-' : age(nowMs - r.oldestPendingAtMs),
    r.shipping?.copy ? `${r.shipping.copy.filesDone}/${r.shipping.copy.filesTotal} files` : r.shipping ? 'planning' : '-',
    r.lastError ? oneLine(r.lastError, 80) : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!))).join('  ');
  const summary = answer.summary.map((s) =>
    `${s.destination}: ${s.completed} completed, ${s.pending} pending, ${s.failed} failed, ${s.paused} paused` +
    `${s.promoted ? `, ${s.promoted} promoted (writable, no longer replicated)` : ''}${s.shipping ? `, ${s.shipping} shipping now` : ''}`);
  return `${[line(header), ...cells.map(line)].join('\n')}\n\n${summary.join('\n')}\n`;
}

function name(r: EntityStatus): string {
  const ns = r.entity.namespace.join('.');
  return r.entity.name === undefined ? `${ns} (namespace)` : `${ns}.${r.entity.name}`;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
