/**
 * The audit log end to end: a real Icerelay (a child process, on SQLite and on a throw-away
 * Postgres database) in front of its built-in catalog takes commits with a bearer JWT (unsigned,
 * crafted here: the built-in catalog checks no token), with basic auth and with no credentials;
 * `GET /admin/v1/audit` names who made each, what (kind, snapshots with their operation), the
 * outcome (a 409 commit is `rejected`) and when, filtered by table and time. Neither the token
 * nor the password appears in the server's output or in any admin answer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/outbox/audit-record.ts';
import { isJsonObject, parseJson, toJson } from '../../src/util/json.ts';
import { killAllChildren, startIcerelay, type IcerelayChild } from '../helpers/child-process-icerelay.ts';
import { freePort } from '../helpers/free-port.ts';
import { sendRaw } from '../helpers/raw-http.ts';
import { freshPostgresDatabase, postgresSkip, sleep } from '../replication/robustness/harness.ts';
import { TABLE_SCHEMA, writeAppend } from '../replication/robustness/iceberg-files.ts';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** Unsigned (`alg: none`): the proxy reads the subject without verifying; the upstream would verify. */
const JWT = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'alice@example.com', scope: 'catalog', jti: 'jti-5d0c7e' })}.c2lnbmF0dXJlLTcxYzQ`;
const PASSWORD = 'pw-secret-93be0f';
const BASIC = Buffer.from(`bob:${PASSWORD}`).toString('base64');
const asAlice = { authorization: `Bearer ${JWT}` };
const asBob = { authorization: `Basic ${BASIC}` };

interface Parent {
  snapshotId: bigint;
  manifestList: string;
}

/** One append as an engine makes it (files written, then a commit asserting the parent), with these headers. */
async function commitAppend(base: string, table: string, headers: Record<string, string>, stale?: Parent | null): Promise<{ status: number; snapshotId: string; parent: Parent | null }> {
  const loaded = await sendRaw(base, 'GET', `/v1/namespaces/audit/tables/${table}`, undefined, headers);
  expect(loaded.status).toBe(200);
  const parsed = parseJson(loaded.body);
  if (!isJsonObject(parsed) || !isJsonObject(parsed.metadata)) throw new Error(`load answered ${loaded.body.slice(0, 200)}`);
  const metadata = parsed.metadata as unknown as { location: string; 'current-snapshot-id'?: bigint | number | null; 'last-sequence-number'?: bigint | number; snapshots?: { 'snapshot-id': bigint | number; 'manifest-list': string }[] };
  const current = metadata['current-snapshot-id'];
  const found = metadata.snapshots?.find((s) => current !== undefined && current !== null && BigInt(s['snapshot-id']) === BigInt(current));
  const parent = stale !== undefined ? stale : found ? { snapshotId: BigInt(found['snapshot-id']), manifestList: found['manifest-list'] } : null;
  const written = await writeAppend(metadata.location, parent ?? undefined, BigInt(metadata['last-sequence-number'] ?? 0) + 1n);
  const body = {
    requirements: [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': parent ? parent.snapshotId : null }],
    updates: [
      { action: 'add-snapshot', snapshot: written.snapshot },
      { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': written.snapshotId },
    ],
  };
  const answer = await sendRaw(base, 'POST', `/v1/namespaces/audit/tables/${table}`, toJson(body), headers);
  return { status: answer.status, snapshotId: written.snapshotId.toString(), parent: found ? { snapshotId: BigInt(found['snapshot-id']), manifestList: found['manifest-list'] } : null };
}

const databases = [
  { name: 'sqlite', skip: undefined },
  { name: 'postgres', skip: postgresSkip },
];

describe.each(databases)('the audit log on $name', ({ name, skip }) => {
  let dir: string;
  let postgres: Awaited<ReturnType<typeof freshPostgresDatabase>> | undefined;
  let relay: IcerelayChild;
  const answers: string[] = [];

  async function audit(query: string): Promise<{ status: number; entries: AuditRecord[]; error?: { type: string; message: string } }> {
    const answer = await sendRaw(relay.url, 'GET', `/admin/v1/audit${query}`);
    answers.push(answer.body);
    const body = JSON.parse(answer.body) as { entries: AuditRecord[]; error?: { type: string; message: string } };
    return { status: answer.status, entries: body.entries, error: body.error };
  }

  const snapshots: Record<string, string> = {};
  let middleMs = 0;

  beforeAll(async () => {
    if (skip) return;
    dir = mkdtempSync(join(tmpdir(), `icerelay-audit-${name}-`));
    postgres = name === 'postgres' ? await freshPostgresDatabase() : undefined;
    relay = await startIcerelay({
      env: {
        ICERELAY_PORT: String(await freePort()),
        ICERELAY_DATA_DIR: dir,
        ...(postgres ? { ICERELAY_DATABASE_URL: postgres.url } : {}),
      },
    });
    const create = async (path: string, body: unknown, headers: Record<string, string>) => {
      const answer = await sendRaw(relay.url, 'POST', path, body, headers);
      expect([path, answer.status]).toEqual([path, 200]);
    };
    await create('/v1/namespaces', { namespace: ['audit'] }, asAlice);
    await create('/v1/namespaces/audit/tables', { name: 't1', schema: TABLE_SCHEMA }, asAlice);
    await create('/v1/namespaces/audit/tables', { name: 't2', schema: TABLE_SCHEMA }, {});
    const first = await commitAppend(relay.url, 't1', asAlice);
    expect(first.status).toBe(200);
    snapshots.alice = first.snapshotId;
    await sleep(20);
    middleMs = Date.now();
    await sleep(20);
    const second = await commitAppend(relay.url, 't1', {});
    expect(second.status).toBe(200);
    snapshots.anonymous = second.snapshotId;
    const third = await commitAppend(relay.url, 't1', asBob);
    expect(third.status).toBe(200);
    snapshots.bob = third.snapshotId;
    // A writer that read the table before bob's commit: its requirement fails.
    const stale = await commitAppend(relay.url, 't1', asAlice, third.parent);
    expect(stale.status).toBe(409);
    snapshots.rejected = stale.snapshotId;
    const other = await commitAppend(relay.url, 't2', asAlice);
    expect(other.status).toBe(200);
    snapshots.t2 = other.snapshotId;
  }, 120_000);

  afterAll(async () => {
    await killAllChildren();
    await postgres?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it.skipIf(skip)("lists a table's mutations newest first: who, what, which snapshots, outcome, when", async () => {
    const { status, entries } = await audit('?table=audit.t1');
    expect(status).toBe(200);
    expect(entries.map((e) => [e.kind, e.outcome, e.principal, e.snapshots])).toEqual([
      ['commit-table', 'rejected', 'alice@example.com', [{ snapshotId: snapshots.rejected, operation: 'append' }]],
      ['commit-table', 'committed', 'bob', [{ snapshotId: snapshots.bob, operation: 'append' }]],
      ['commit-table', 'committed', null, [{ snapshotId: snapshots.anonymous, operation: 'append' }]],
      ['commit-table', 'committed', 'alice@example.com', [{ snapshotId: snapshots.alice, operation: 'append' }]],
      ['create-table', 'committed', 'alice@example.com', []],
    ]);
    for (const e of entries) expect(e).toMatchObject({ target: 'table', identifier: { namespace: ['audit'], name: 't1' } });
    const [rejected, committed] = entries;
    expect(rejected).toMatchObject({ httpStatus: 409, metadataLocation: null });
    expect(rejected!.error).toMatch(/CommitFailedException/);
    expect(committed).toMatchObject({ httpStatus: 200, error: null });
    expect(committed!.metadataLocation).toMatch(/\.metadata\.json$/);
    expect(new Date(committed!.time).getTime()).toBe(committed!.timeMs);
    expect(entries.every((e, i) => i === 0 || e.timeMs <= entries[i - 1]!.timeMs)).toBe(true);
  });

  it.skipIf(skip)('filters by time (epoch ms or ISO 8601; since inclusive, until exclusive) and limits', async () => {
    const after = await audit(`?table=audit.t1&since=${middleMs}`);
    expect(after.entries.map((e) => e.principal)).toEqual(['alice@example.com', 'bob', null]);
    expect((await audit(`?table=audit.t1&since=${encodeURIComponent(new Date(middleMs).toISOString())}`)).entries).toEqual(after.entries);
    const before = await audit(`?table=audit.t1&until=${middleMs}`);
    expect(before.entries.map((e) => e.kind)).toEqual(['commit-table', 'create-table']);
    expect((await audit(`?table=audit.t1&since=${middleMs}&until=${after.entries[1]!.timeMs}`)).entries.map((e) => e.principal)).toEqual([null]);
    // Every table, the newest three.
    const newest = await audit('?limit=3');
    expect(newest.entries.map((e) => [e.identifier?.name, e.outcome])).toEqual([['t2', 'committed'], ['t1', 'rejected'], ['t1', 'committed']]);
    expect(newest.entries[0]!.snapshots).toEqual([{ snapshotId: snapshots.t2, operation: 'append' }]);
    const all = await audit('');
    expect(all.entries.at(-1)).toMatchObject({ kind: 'create-namespace', target: 'namespace', identifier: { namespace: ['audit'] }, principal: 'alice@example.com', outcome: 'committed' });
    expect(all.entries.filter((e) => e.identifier?.name === 't2').map((e) => [e.kind, e.principal])).toEqual([['commit-table', 'alice@example.com'], ['create-table', null]]);
  });

  it.skipIf(skip)('answers 400 naming the parameter for bad input', async () => {
    const cases: [string, string][] = [
      ['?since=yesterday', 'since'],
      ['?until=2026-13-45T99:00:00Z', 'until'],
      ['?limit=0', 'limit'],
      ['?limit=10001', 'limit'],
      ['?limit=ten', 'limit'],
      ['?table=t1', 'table'],
      ['?since=2000&until=1000', 'since'],
      ['?principal=bob', 'principal'],
    ];
    for (const [query, param] of cases) {
      const answer = await audit(query);
      expect([query, answer.status, answer.error?.type]).toEqual([query, 400, 'BadRequestException']);
      expect(answer.error?.message).toContain(param);
    }
  });

  it.skipIf(skip)('never shows or logs the token or the password', async () => {
    answers.push((await sendRaw(relay.url, 'GET', '/admin/v1/outbox?limit=100')).body);
    const output = relay.output();
    expect(output).toContain('"route":"commit-table"');
    for (const secret of [JWT, JWT.split('.')[1]!, JWT.split('.')[2]!, BASIC, PASSWORD]) {
      expect(output.includes(secret)).toBe(false);
      expect(answers.some((a) => a.includes(secret))).toBe(false);
    }
  });
});
