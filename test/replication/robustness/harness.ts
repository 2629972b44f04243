/**
 * What the robustness tests share: a throw-away Postgres database per test, one Icerelay child
 * with a local replica and its state database opened beside it, an engine-like
 * client that appends snapshots through Icerelay (conflicts retried, unknown outcomes checked by
 * reading the table back), waiting for replication, a monitor that samples the replicas while a
 * workload runs, and the comparison of each replica with its source (metadata and files).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { openDatabase, type StateDatabase } from '../../../src/catalog/database.ts';
import { OutboxStore } from '../../../src/outbox/outbox-store.ts';
import { killAllChildren, startIcerelay, type IcerelayChild } from '../../helpers/child-process-icerelay.ts';
import { freePort } from '../../helpers/free-port.ts';
import { isJsonObject, parseJson, toJson } from '../../../src/util/json.ts';
import { sendRaw } from '../../helpers/raw-http.ts';
import { localPath, readManifestFiles, readManifestList, TABLE_SCHEMA, writeAppend, type AppendOptions, type WrittenAppend } from './iceberg-files.ts';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// --- Postgres -------------------------------------------------------------------------------------

export const postgresUrl = process.env.ICERELAY_TEST_POSTGRES_URL;
export const postgresSkip = postgresUrl
  ? undefined
  : 'ICERELAY_TEST_POSTGRES_URL is not set (start one with: bash scripts/postgres.sh start; eval "$(bash scripts/postgres.sh env)")';

/**
 * A database of its own on the test Postgres (the role may create databases): Icerelay's catalog
 * and outbox rows of one test never meet another's. `drop` removes it, connections and all.
 */
export async function freshPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!postgresUrl) throw new Error(postgresSkip);
  const name = `icerelay_robust_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return { url: url.href, drop: () => admin(`drop database if exists ${name} with (force)`) };
}

// --- HTTP -----------------------------------------------------------------------------------------

export interface LocalReplicaIcerelay {
  dir: string;
  icerelay: IcerelayChild;
  /** What it was started with: to start it again after a kill. */
  args: string[];
  env: Record<string, string>;
  /** The child's own SQLite state database, as an operator's tool would open it (WAL). */
  state: StateDatabase;
  outbox: OutboxStore;
  /** Stops the child, closes the database, removes the folder. */
  close(): Promise<void>;
}

/**
 * One Icerelay child (SQLite state, a fresh data folder) replicating to a local replica `local`,
 * polling every 200 ms; `replication` adds lines under `replication:` (e.g. `  retry: {...}`).
 */
export async function startLocalReplicaIcerelay(prefix: string, replication: string[] = []): Promise<LocalReplicaIcerelay> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const config = join(dir, 'icerelay.yaml');
  writeFileSync(config, [
    'replication:',
    '  destinations:',
    `    local: { warehouse: "${join(dir, 'data', 'replicas', 'local')}" }`,
    '  pollMs: 200',
    ...replication,
    '',
  ].join('\n'));
  const args = ['--config', config];
  const env = { ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(dir, 'data') };
  const icerelay = await startIcerelay({ args, env });
  const state = await openDatabase({ kind: 'sqlite', path: join(dir, 'data', 'icerelay.db') });
  return {
    dir,
    icerelay,
    args,
    env,
    state,
    outbox: new OutboxStore(state),
    async close() {
      await killAllChildren();
      await state.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Answer {
  status: number;
  body: string;
}

/** One request; a network error (refused, reset: the server was killed) is status 0. */
export async function call(base: string, method: string, target: string, body?: unknown): Promise<Answer> {
  try {
    const payload = body === undefined ? undefined : toJson(body);
    const answer = await sendRaw(base, method, target, payload, { connection: 'close' });
    return { status: answer.status, body: answer.body };
  } catch (error) {
    return { status: 0, body: (error as Error).message };
  }
}

export interface TableId {
  namespace: string;
  name: string;
}

export const tableKey = (t: TableId) => `${t.namespace}.${t.name}`;
const tablePath = (t: TableId) => `/v1/namespaces/${encodeURIComponent(t.namespace)}/tables/${encodeURIComponent(t.name)}`;

export interface Snapshot {
  'snapshot-id': bigint | number;
  'parent-snapshot-id'?: bigint | number | null;
  'sequence-number'?: bigint | number;
  'manifest-list': string;
}

export interface Metadata {
  location: string;
  'table-uuid': string;
  'current-snapshot-id'?: bigint | number | null;
  'last-sequence-number'?: bigint | number;
  snapshots?: Snapshot[];
  refs?: Record<string, { 'snapshot-id': bigint | number; type: string }>;
  'snapshot-log'?: { 'snapshot-id': bigint | number }[];
}

export interface Loaded {
  metadataLocation: string;
  metadata: Metadata;
}

export async function loadTable(base: string, t: TableId): Promise<Loaded | { status: number; body: string }> {
  const answer = await call(base, 'GET', tablePath(t));
  if (answer.status !== 200) return answer;
  const parsed = parseJson(answer.body);
  if (!isJsonObject(parsed)) throw new Error(`load of ${tableKey(t)} answered no object: ${answer.body.slice(0, 200)}`);
  return { metadataLocation: parsed['metadata-location'] as string, metadata: parsed.metadata as unknown as Metadata };
}

/** Loads a table that must be there (200), or fails the test with the answer. */
export async function mustLoad(base: string, t: TableId): Promise<Loaded> {
  const loaded = await loadTable(base, t);
  if (!('metadata' in loaded)) throw new Error(`GET ${base}${tablePath(t)}: ${loaded.status} ${loaded.body.slice(0, 300)}`);
  return loaded;
}

export const idText = (v: bigint | number | null | undefined) => (v === null || v === undefined ? 'null' : BigInt(v).toString());

/** The id the main branch points to, undefined for a table without snapshots. */
export function currentId(m: Metadata): string | undefined {
  const id = m.refs?.main?.['snapshot-id'] ?? m['current-snapshot-id'];
  return id === undefined || id === null || BigInt(id) === -1n ? undefined : idText(id);
}

export async function createNamespace(base: string, namespace: string): Promise<void> {
  const answer = await call(base, 'POST', '/v1/namespaces', { namespace: [namespace], properties: {} });
  if (answer.status !== 200) throw new Error(`create namespace ${namespace}: ${answer.status} ${answer.body}`);
}

export async function createTable(base: string, t: TableId): Promise<void> {
  const answer = await call(base, 'POST', `/v1/namespaces/${encodeURIComponent(t.namespace)}/tables`, {
    name: t.name, schema: TABLE_SCHEMA, properties: { 'format-version': '2' },
  });
  if (answer.status !== 200) throw new Error(`create table ${tableKey(t)}: ${answer.status} ${answer.body}`);
}

// --- the engine-like writer -----------------------------------------------------------------------

export interface AppendResult {
  /** `ns.table` */
  table: string;
  snapshotId: string;
  /** 409s retried (another writer committed first). */
  conflicts: number;
  /** Attempts whose answer never came (server killed): settled by reading the table back. */
  unknown: number;
  written: WrittenAppend;
}

export interface AppendRequest {
  /** The Icerelay to send each attempt to (asked again per attempt: it may change). */
  base: () => string;
  table: TableId;
  files?: AppendOptions;
  /** Give up after this long (the test then fails with the last answer). */
  deadlineMs?: number;
  /** Called as each commit request leaves, with the Icerelay it goes to. */
  onCommitSent?: (base: string) => void;
}

/**
 * One append as an engine does it: read the table, write the files on top of the current
 * snapshot, commit with `assert-ref-snapshot-id`. A 409 is retried on the new state. An attempt
 * without an answer (connection refused or reset, a 5xx) is settled like Iceberg's Java client
 * does: once the catalog answers again, the table is read; if the snapshot is there the commit
 * landed, else it is retried.
 */
export async function append(request: AppendRequest): Promise<AppendResult> {
  const deadline = Date.now() + (request.deadlineMs ?? 180_000);
  let conflicts = 0;
  let unknown = 0;
  let last = '';
  while (Date.now() < deadline) {
    const loaded = await loadTable(request.base(), request.table);
    if (!('metadata' in loaded)) {
      last = `load: ${loaded.status} ${loaded.body.slice(0, 200)}`;
      await sleep(100 + Math.random() * 200);
      continue;
    }
    const { metadata } = loaded;
    const parentId = currentId(metadata);
    const parentSnapshot = metadata.snapshots?.find((s) => idText(s['snapshot-id']) === parentId);
    const parent = parentSnapshot ? { snapshotId: BigInt(parentSnapshot['snapshot-id']), manifestList: parentSnapshot['manifest-list'] } : undefined;
    const sequence = BigInt(metadata['last-sequence-number'] ?? 0) + 1n;
    const written = await writeAppend(metadata.location, parent, sequence, request.files);
    const body = {
      requirements: [
        { type: 'assert-table-uuid', uuid: metadata['table-uuid'] },
        { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': parent ? parent.snapshotId : null },
      ],
      updates: [
        { action: 'add-snapshot', snapshot: written.snapshot },
        { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': written.snapshotId },
      ],
    };
    const target = request.base();
    const sending = call(target, 'POST', tablePath(request.table), body);
    request.onCommitSent?.(target);
    const answer = await sending;
    if (answer.status === 200) return { table: tableKey(request.table), snapshotId: written.snapshotId.toString(), conflicts, unknown, written };
    if (answer.status === 409) {
      conflicts++;
      await sleep(Math.random() * 20 * Math.min(conflicts, 10));
      continue;
    }
    if (answer.status !== 0 && answer.status < 500) {
      throw new Error(`commit to ${tableKey(request.table)} refused: ${answer.status} ${answer.body}`);
    }
    // No answer: find out whether it landed, from whichever Icerelay answers now.
    unknown++;
    last = `commit: ${answer.status} ${answer.body.slice(0, 200)}`;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`commit to ${tableKey(request.table)}: outcome never readable (${last})`);
      const after = await loadTable(request.base(), request.table);
      if ('metadata' in after) {
        if (after.metadata.snapshots?.some((s) => idText(s['snapshot-id']) === written.snapshotId.toString())) {
          return { table: tableKey(request.table), snapshotId: written.snapshotId.toString(), conflicts, unknown, written };
        }
        break;
      }
      await sleep(100 + Math.random() * 200);
    }
  }
  throw new Error(`commit to ${tableKey(request.table)} did not succeed before the deadline (last: ${last})`);
}

/** Runs `jobs` with at most `concurrency` at once; rejects with the first error once all settled. */
export async function runPool<T>(jobs: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  const errors: unknown[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
    while (next < jobs.length) {
      const i = next++;
      try {
        results[i] = await jobs[i]!();
      } catch (error) {
        errors.push(error);
      }
    }
  }));
  if (errors.length > 0) throw errors[0];
  return results;
}

// --- replication status and outbox ----------------------------------------------------------------

export interface StatusRow {
  destination: string;
  entity: { namespace: string[]; name?: string };
  state: string;
  position: number;
  latestSequence: number;
  eventsBehind: number;
  attempts: number;
  lastError: string | null;
}

export interface OutboxEvent {
  entryId: number;
  sequence: number;
  entity: { namespace: string[]; name?: string };
  kind: string;
  status: string;
  metadataLocation: string | null;
  addedSnapshotIds: string[];
}

export const entityName = (e: { namespace: string[]; name?: string }) => [...e.namespace, e.name ?? ''].join('.');

export async function replicationStatus(base: string, table?: string): Promise<StatusRow[]> {
  const answer = await call(base, 'GET', `/admin/v1/replication/status${table ? `?table=${encodeURIComponent(table)}` : ''}`);
  if (answer.status !== 200) throw new Error(`replication status: ${answer.status} ${answer.body}`);
  return (JSON.parse(answer.body) as { tables: StatusRow[] }).tables;
}

export async function outboxEvents(base: string, table?: string): Promise<OutboxEvent[]> {
  const answer = await call(base, 'GET', `/admin/v1/outbox?limit=10000${table ? `&table=${encodeURIComponent(table)}` : ''}`);
  if (answer.status !== 200) throw new Error(`outbox: ${answer.status} ${answer.body}`);
  return (JSON.parse(answer.body) as { events: OutboxEvent[] }).events;
}

/**
 * Waits until every queue of every destination is `completed` (all events applied) and no outbox
 * event is unsettled. Fails at once on a `failed` queue; on timeout, with what is left and why.
 */
export async function waitForReplication(base: () => string, timeoutMs: number): Promise<StatusRow[]> {
  const deadline = Date.now() + timeoutMs;
  let rows: StatusRow[] = [];
  let events: OutboxEvent[] = [];
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      rows = await replicationStatus(base());
      events = await outboxEvents(base());
      const failed = rows.find((r) => r.state === 'failed');
      if (failed) throw new Error(`replication of ${entityName(failed.entity)} to ${failed.destination} failed: ${failed.lastError}`);
      const unsettled = events.filter((e) => e.status === 'intent' || e.status === 'unknown');
      if (rows.length > 0 && rows.every((r) => r.state === 'completed') && unsettled.length === 0) return rows;
    } catch (error) {
      if ((error as Error).message.includes('failed:')) throw error;
      lastError = (error as Error).message;
    }
    await sleep(250);
  }
  const behind = rows.filter((r) => r.state !== 'completed');
  const unsettled = events.filter((e) => e.status === 'intent' || e.status === 'unknown');
  throw new Error(
    `replication not done after ${timeoutMs} ms: ${behind.length} queue(s) behind, ${unsettled.length} outbox event(s) unsettled\n` +
      `behind: ${JSON.stringify(behind.slice(0, 10))}\nunsettled: ${JSON.stringify(unsettled.slice(0, 10))}\n${lastError}`,
  );
}

// --- comparing a replica with its source ----------------------------------------------------------

export interface SnapshotLine {
  id: string;
  parent: string;
  sequence: string;
}

export const snapshotLines = (m: Metadata): SnapshotLine[] =>
  (m.snapshots ?? []).map((s) => ({ id: idText(s['snapshot-id']), parent: idText(s['parent-snapshot-id']), sequence: idText(s['sequence-number']) }));

export const replicaBase = (base: string, destination = 'local') => `${base}/replicas/${destination}`;

/**
 * Asserts that the replica of `t` equals its source: same UUID, the same snapshots (ids in order,
 * parents, sequence numbers; none twice), the same current snapshot, refs and snapshot log; every
 * snapshot's manifest list present at the replica; and every data file of the current snapshot
 * at the replica with the source file's bytes. Returns both states.
 */
export async function expectReplicaEqualsSource(base: string, t: TableId, destination = 'local'): Promise<{ source: Loaded; replica: Loaded }> {
  const source = await mustLoad(base, t);
  const replica = await mustLoad(replicaBase(base, destination), t);
  const label = `${tableKey(t)} at ${destination}`;
  const s = source.metadata;
  const r = replica.metadata;
  expect(r['table-uuid'], `${label}: table uuid`).toBe(s['table-uuid']);
  const lines = snapshotLines(r);
  expect(lines, `${label}: snapshots (ids in order, parents, sequence numbers)`).toEqual(snapshotLines(s));
  expect(new Set(lines.map((l) => l.id)).size, `${label}: no snapshot twice`).toBe(lines.length);
  // A linear history: each snapshot's parent is the one before it, sequence numbers 1, 2, 3...
  lines.forEach((line, i) => {
    expect(line.parent, `${label}: parent of snapshot ${i}`).toBe(i === 0 ? 'null' : lines[i - 1]!.id);
    expect(line.sequence, `${label}: sequence number of snapshot ${i}`).toBe(String(i + 1));
  });
  expect(currentId(r), `${label}: current snapshot`).toBe(currentId(s));
  expect(idText(r['current-snapshot-id']), `${label}: current-snapshot-id`).toBe(idText(s['current-snapshot-id']));
  expect(Object.fromEntries(Object.entries(r.refs ?? {}).map(([k, v]) => [k, idText(v['snapshot-id'])])), `${label}: refs`)
    .toEqual(Object.fromEntries(Object.entries(s.refs ?? {}).map(([k, v]) => [k, idText(v['snapshot-id'])])));
  expect((r['snapshot-log'] ?? []).map((e) => idText(e['snapshot-id'])), `${label}: snapshot log`)
    .toEqual((s['snapshot-log'] ?? []).map((e) => idText(e['snapshot-id'])));
  expect(r.location.startsWith(s.location), `${label}: the replica has its own location`).toBe(false);

  // Files: every manifest list there; the current snapshot's data files byte for byte.
  const mapPath = (p: string) => {
    expect(p.startsWith(`${r.location}/`), `${label}: ${p} lies under the replica's location`).toBe(true);
    return `${s.location}${p.slice(r.location.length)}`;
  };
  for (const snapshot of r.snapshots ?? []) {
    expect(mapPath(snapshot['manifest-list'])).toBe((s.snapshots ?? []).find((x) => idText(x['snapshot-id']) === idText(snapshot['snapshot-id']))!['manifest-list']);
    await readFile(localPath(snapshot['manifest-list']));
  }
  const current = (r.snapshots ?? []).find((x) => idText(x['snapshot-id']) === currentId(r));
  if (current) {
    const manifests = await readManifestList(current['manifest-list']);
    const sourceCurrent = (s.snapshots ?? []).find((x) => idText(x['snapshot-id']) === currentId(s))!;
    expect(manifests.length, `${label}: manifests of the current snapshot`).toBe((await readManifestList(sourceCurrent['manifest-list'])).length);
    for (const manifest of manifests) {
      for (const file of await readManifestFiles(manifest.manifest_path as string)) {
        const [copy, original] = await Promise.all([readFile(localPath(file.path)), readFile(localPath(mapPath(file.path)))]);
        expect(copy.equals(original), `${label}: ${file.path} has the bytes of its source`).toBe(true);
        expect(BigInt(copy.length)).toBe(file.size);
      }
    }
  }
  return { source, replica };
}

// --- watching the replicas while a workload runs --------------------------------------------------

export interface Observation {
  table: string;
  atMs: number;
  ids: string[];
  current: string | undefined;
  lastSequence: bigint;
}

/**
 * Samples each table's replica in turn until stopped. After the workload, `violations(final)`
 * checks every sample against the source's final snapshot list: a replica must only ever have
 * shown a prefix of it (nothing skipped, reordered or doubled), with its current snapshot the
 * prefix's last (never behind its own newest snapshot), and never gone back in time.
 */
export function watchReplicas(base: () => string, tables: TableId[], destination = 'local') {
  const observations: Observation[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const t of tables) {
        if (stopped) break;
        const loaded = await loadTable(replicaBase(base(), destination), t).catch(() => undefined);
        if (loaded && 'metadata' in loaded) {
          observations.push({
            table: tableKey(t), atMs: Date.now(), ids: snapshotLines(loaded.metadata).map((l) => l.id),
            current: currentId(loaded.metadata), lastSequence: BigInt(loaded.metadata['last-sequence-number'] ?? 0),
          });
        }
        await sleep(20);
      }
    }
  })();
  return {
    observations,
    async stop() {
      stopped = true;
      await loop;
    },
    /** Descriptions of every sample that breaks the rules (empty when all is well). */
    violations(finalIds: Map<string, string[]>): string[] {
      const out: string[] = [];
      const lastSeen = new Map<string, Observation>();
      for (const o of observations) {
        const final = finalIds.get(o.table) ?? [];
        const isPrefix = o.ids.length <= final.length && o.ids.every((id, i) => id === final[i]);
        if (!isPrefix) out.push(`${o.table} at ${o.atMs}: replica snapshots [${o.ids.join(', ')}] are not a prefix of the source's`);
        if (o.ids.length > 0 && o.current !== o.ids.at(-1)) {
          out.push(`${o.table} at ${o.atMs}: replica's current snapshot ${o.current} is not its newest ${o.ids.at(-1)} (position ${o.ids.indexOf(o.current ?? '') + 1} of ${o.ids.length})`);
        }
        const before = lastSeen.get(o.table);
        if (before) {
          const wasAt = before.ids.indexOf(before.current ?? '');
          const nowAt = o.ids.indexOf(o.current ?? '');
          if (nowAt < wasAt) out.push(`${o.table} at ${o.atMs}: replica's current snapshot went back from #${wasAt + 1} to #${nowAt + 1}`);
          if (o.ids.length < before.ids.length) out.push(`${o.table} at ${o.atMs}: replica lost snapshots (${before.ids.length} -> ${o.ids.length})`);
        }
        lastSeen.set(o.table, o);
      }
      return out;
    },
  };
}

/** A violation where the replica's current snapshot was behind its own newest one, or went back. */
export function isRewind(violation: string): boolean {
  return violation.includes('is not its newest') || violation.includes('went back');
}

/** The source's snapshot ids per table, in order. */
export async function sourceSnapshotIds(base: string, tables: TableId[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const t of tables) out.set(tableKey(t), snapshotLines((await mustLoad(base, t)).metadata).map((l) => l.id));
  return out;
}

/**
 * The outbox's account of the workload, checked against the source: every event settled, and
 * every snapshot of the table added by exactly one committed event (none lost, none twice).
 */
export async function expectOutboxAccountsFor(base: string, t: TableId, snapshotIds: string[]): Promise<OutboxEvent[]> {
  const events = await outboxEvents(base, tableKey(t));
  const unsettled = events.filter((e) => e.status !== 'committed' && e.status !== 'rejected');
  expect(unsettled, `${tableKey(t)}: unsettled outbox events`).toEqual([]);
  expect(events.map((e) => e.sequence), `${tableKey(t)}: event sequences without gaps`).toEqual(events.map((_, i) => i + 1));
  const added = events.filter((e) => e.status === 'committed').flatMap((e) => e.addedSnapshotIds);
  expect([...added].sort(), `${tableKey(t)}: snapshots added by committed events`).toEqual([...snapshotIds].sort());
  return events;
}
