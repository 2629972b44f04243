/**
 * Settles a mutation whose outcome is unknown (the upstream timed out, dropped the connection or
 * answered 5xx) by reading the upstream's current state, never by guessing:
 * - a table commit that added snapshots landed iff every added snapshot is in the table now;
 * - a commit without snapshots landed iff applying its updates to the current metadata changes
 *   nothing (its effect is there);
 * - creates, drops and renames landed iff the entities exist (or not) accordingly.
 * When the state cannot decide (the upstream is still down, a transaction half-visible), the entry
 * stays `unknown` for the reconciliation loop to retry.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { TableMetadataBuilder, parseTableUpdates } from '../iceberg/metadata-builder.ts';
import { canonical } from '../iceberg/schema.ts';
import { normalizeTableMetadata, tableMetadataToJsonObject } from '../iceberg/table-metadata.ts';
import type { TableMetadata } from '../iceberg/types.ts';
import type { EntityRef, Outcome } from '../outbox/outbox.ts';
import { isJsonObject, parseJson } from '../util/json.ts';
import { addedSnapshotIds, updatesPerEntity, type Mutation } from './mutation-routes.ts';
import type { OutboxWriter } from './proxy-handler.ts';
import { readAll, type UpstreamClient } from './upstream-client.ts';

type Verdict = { landed: true; metadataLocation: string | null } | { landed: false } | undefined;

export interface SettleOptions {
  upstream: UpstreamClient;
  outbox: OutboxWriter;
  /** The namespace separator the upstream announced (`%1F` unless it said otherwise). */
  separator?: () => string;
}

function entityPath(prefix: string, separator: string, e: EntityRef, kind: 'tables' | 'views'): string {
  const ns = e.namespace.map(encodeURIComponent).join(separator);
  const base = prefix ? `/v1/${prefix}` : '/v1';
  return e.name === undefined ? `${base}/namespaces/${ns}` : `${base}/namespaces/${ns}/${kind}/${encodeURIComponent(e.name)}`;
}

/** Mutations whose request body says what to do (the others are a method on a path). */
const KINDS_WITH_BODY = new Set<Mutation['kind']>([
  'commit-table', 'commit-transaction', 'create-table', 'register-table', 'rename-table', 'create-namespace',
  'update-namespace-properties', 'create-view', 'replace-view', 'rename-view', 'register-view',
]);

export function createSettler(options: SettleOptions) {
  const { upstream } = options;
  const separator = options.separator ?? (() => '%1F');

  /** GETs an entity: its JSON body, 'missing' on 404, or undefined when the upstream cannot tell. */
  async function load(path: string, headers: OutgoingHttpHeaders): Promise<Record<string, unknown> | 'missing' | undefined> {
    // The mutation's own headers carry the caller's credentials; body, idempotency and encoding
    // headers do not apply to this read (its answer must be plain JSON).
    const readHeaders = Object.fromEntries(Object.entries(headers).filter(([name, value]) =>
      value !== undefined && !['content-type', 'content-length', 'idempotency-key', 'accept-encoding'].includes(name.toLowerCase())));
    const response = await upstream.send('GET', path, readHeaders, null);
    const bytes = await readAll(response.body);
    if (response.status === 404) return 'missing';
    if (response.status !== 200) return undefined;
    const parsed = parseJson(bytes.toString('utf8'));
    return isJsonObject(parsed) ? parsed : undefined;
  }

  async function tableCommitVerdict(prefix: string, entity: EntityRef, updates: unknown, headers: OutgoingHttpHeaders): Promise<Verdict> {
    const loaded = await load(entityPath(prefix, separator(), entity, 'tables'), headers);
    if (loaded === undefined) return undefined;
    if (loaded === 'missing') return { landed: false };
    const metadata = normalizeTableMetadata(loaded.metadata as Record<string, unknown>);
    const location = typeof loaded['metadata-location'] === 'string' ? loaded['metadata-location'] : null;
    const added = addedSnapshotIds(updates);
    if (added.length > 0) {
      const present = new Set(metadata.snapshots.map((s) => BigInt(s['snapshot-id']).toString()));
      return added.every((id) => present.has(id)) ? { landed: true, metadataLocation: location } : { landed: false };
    }
    try {
      // Landed iff applying the updates again leaves the table as it is (timestamps and logs aside).
      const after = new TableMetadataBuilder(metadata, location ?? undefined).applyAll(parseTableUpdates(updates)).build();
      const essence = (m: TableMetadata) => {
        const { 'last-updated-ms': _t, 'metadata-log': _m, 'snapshot-log': _s, ...rest } = tableMetadataToJsonObject(m);
        return canonical(rest);
      };
      return essence(after) === essence(metadata) ? { landed: true, metadataLocation: location } : { landed: false };
    } catch {
      return undefined; // the updates no longer apply to today's state: cannot tell
    }
  }

  async function existenceVerdict(prefix: string, entity: EntityRef, kind: 'tables' | 'views', shouldExist: boolean, headers: OutgoingHttpHeaders): Promise<Verdict> {
    const loaded = await load(entityPath(prefix, separator(), entity, kind), headers);
    if (loaded === undefined) return undefined;
    const exists = loaded !== 'missing';
    if (exists !== shouldExist) return { landed: false };
    return { landed: true, metadataLocation: exists && typeof loaded['metadata-location'] === 'string' ? loaded['metadata-location'] : null };
  }

  async function verdicts(mutation: Mutation, headers: OutgoingHttpHeaders): Promise<Verdict[]> {
    const [first, second] = mutation.entities;
    // A body that is not a JSON object cannot have been applied by any Iceberg catalog.
    if (mutation.body === undefined && KINDS_WITH_BODY.has(mutation.kind)) return mutation.entities.map(() => ({ landed: false }));
    const exists = (entity: EntityRef, kind: 'tables' | 'views', shouldExist: boolean) => existenceVerdict(mutation.prefix, entity, kind, shouldExist, headers);
    switch (mutation.kind) {
      case 'commit-table':
      case 'commit-transaction': {
        const updates = updatesPerEntity(mutation);
        return Promise.all(mutation.entities.map((e, i) => tableCommitVerdict(mutation.prefix, e, updates[i], headers)));
      }
      case 'create-table':
      case 'register-table':
        return first ? [await exists(first, 'tables', true)] : [undefined];
      case 'create-view':
      case 'register-view':
        return first ? [await exists(first, 'views', true)] : [undefined];
      case 'drop-table':
      case 'unregister-table':
        return first ? [await exists(first, 'tables', false)] : [undefined];
      case 'drop-view':
        return first ? [await exists(first, 'views', false)] : [undefined];
      case 'rename-table':
      case 'rename-view': {
        const kind = mutation.kind === 'rename-table' ? 'tables' : 'views';
        if (!first || !second) return [undefined];
        const source = await exists(first, kind, false);
        const target = await exists(second, kind, true);
        return [source, target];
      }
      case 'create-namespace':
        return first ? [await exists(first, 'tables', true)] : [undefined];
      case 'drop-namespace':
        return first ? [await exists(first, 'tables', false)] : [undefined];
      default:
        return [undefined]; // namespace properties, view replacement: left to reconciliation
    }
  }

  /** Reads the upstream and records `committed` or `rejected`; leaves the entry unknown when undecidable. */
  return async function settle(entryId: number, mutation: Mutation, headers: OutgoingHttpHeaders): Promise<Outcome | undefined> {
    const results = await verdicts(mutation, headers);
    if (results.length === 0 || results.some((r) => r === undefined)) return undefined;
    const landed = results.every((r) => r!.landed);
    const none = results.every((r) => !r!.landed);
    if (!landed && !none) return undefined;
    const outcome: Outcome = landed
      ? {
          status: 'committed',
          httpStatus: 200,
          metadataLocations: results.map((r) => (r && r.landed ? r.metadataLocation : null)),
          addedSnapshotIds: updatesPerEntity(mutation).map(addedSnapshotIds),
        }
      : { status: 'rejected', httpStatus: 0, error: 'settled: the upstream state shows the mutation did not apply' };
    await options.outbox.recordOutcome(entryId, outcome);
    return outcome;
  };
}
