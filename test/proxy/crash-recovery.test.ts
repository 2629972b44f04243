/**
 * kill -9 between intent and outcome, with real processes: the built-in catalog and Icerelay run
 * as child processes (`node --import tsx src/main.ts`), with a hop in this process between them
 * that holds a mutation — after forwarding it (it applied upstream, the answer never came back)
 * or without forwarding it (it never applied). While the mutation is held, the outbox has its
 * intent and no outcome; then the proxy is SIGKILLed and started again on the same data dir. At
 * start-up it settles what the crash left open by reading the upstream, before it logs that it
 * listens: an applied mutation becomes `committed` (with the upstream's metadata location), one
 * that never arrived becomes `rejected`.
 */
import BetterSqlite3 from 'better-sqlite3';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxEventPayload } from '../../src/outbox/event-payload.ts';
import { killAllChildren, startIcerelay, type IcerelayChild } from '../helpers/child-process-icerelay.ts';
import { freePort } from '../helpers/free-port.ts';
import { startHop, type HeldRequest, type Hop, type HopMode } from '../helpers/child-process-hop.ts';
import { sendRaw, type Answer } from '../helpers/differential-harness.ts';

const schema = { type: 'struct', fields: [{ id: 1, name: 'id', type: 'long', required: false }] };

let dir: string;
let proxyDir: string;
let catalog: IcerelayChild;
let hop: Hop;
let proxy: IcerelayChild;

async function startProxy(): Promise<IcerelayChild> {
  return startIcerelay({
    env: {
      ICERELAY_PORT: String(await freePort()),
      ICERELAY_DATA_DIR: proxyDir,
      ICERELAY_UPSTREAM_URL: hop.url,
      // Far longer than any hold: the proxy must still be waiting when it is killed.
      ICERELAY_UPSTREAM_TIMEOUT_MS: '600000',
    },
  });
}

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'icerelay-crash-')));
  proxyDir = join(dir, 'proxy');
  catalog = await startIcerelay({ args: ['--catalog-only'], env: { ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(dir, 'catalog') } });
  hop = await startHop(catalog.url);
  proxy = await startProxy();
  expect((await sendRaw(proxy.url, 'GET', '/v1/config')).status).toBe(200);
  expect((await sendRaw(proxy.url, 'POST', '/v1/namespaces', JSON.stringify({ namespace: ['crash'] }))).status).toBe(200);
}, 180_000);

afterAll(async () => {
  // Whatever happened: no child survives the suite.
  await killAllChildren();
  await hop?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

const json = (a: Answer) => JSON.parse(a.body.toString('utf8'));
const tablePath = (name: string) => `/v1/namespaces/crash/tables/${name}`;

async function createTable(name: string): Promise<void> {
  const answer = await sendRaw(proxy.url, 'POST', '/v1/namespaces/crash/tables', JSON.stringify({ name, schema }));
  expect(answer.status, answer.body.toString('utf8')).toBe(200);
}

/** The table's outbox events, from the running proxy's admin API (intents included). */
async function events(table: string): Promise<OutboxEventPayload[]> {
  const answer = await sendRaw(proxy.url, 'GET', `/admin/v1/outbox?table=crash.${table}&limit=1000`);
  expect(answer.status, answer.body.toString('utf8')).toBe(200);
  return json(answer).events as OutboxEventPayload[];
}

async function eventOf(table: string, entryId: number): Promise<OutboxEventPayload> {
  const event = (await events(table)).find((e) => e.entryId === entryId);
  if (!event) throw new Error(`no outbox event of entry ${entryId} for crash.${table}`);
  return event;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The entry's status as the killed proxy left it in its SQLite file (read-only: the proxy is down). */
function entryStatusOnDisk(entryId: number): string | undefined {
  const db = new BetterSqlite3(join(proxyDir, 'icerelay.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('select status from outbox_entries where id = ?').get(entryId) as { status: string } | undefined)?.status;
  } finally {
    db.close();
  }
}

/** The table as the catalog has it, read directly (not through the hop or the proxy). */
function loadFromCatalog(table: string): Promise<Answer> {
  return sendRaw(catalog.url, 'GET', tablePath(table));
}

interface Mutation {
  method: 'POST' | 'DELETE';
  target: string;
  /** JSON text, sent as is (63-bit ids stay exact). */
  body?: string;
  /** The table whose outbox event to follow. */
  table: string;
  kind: 'create-table' | 'commit-table' | 'drop-table';
  mode: Exclude<HopMode, 'pass'>;
}

interface Crashed {
  entryId: number;
  held: HeldRequest;
}

const sameRequest = (m: Mutation, method: string, path: string, body: string) => m.method === method && m.target === path && (m.body ?? '') === body;

/**
 * Sends the mutations through the proxy, each held by the hop as its mode says, waits until
 * the proxy's outbox shows each one's intent, SIGKILLs the proxy, checks that the intents are
 * still open on disk, and starts the proxy again on the same data dir (which settles them).
 */
async function crashWhileHeld(mutations: Mutation[]): Promise<Crashed[]> {
  hop.setRule((method, path, body) => mutations.find((m) => sameRequest(m, method, path, body))?.mode ?? 'pass');
  const answers = mutations.map((m) => sendRaw(proxy.url, m.method, m.target, m.body).then((a) => a, (e: Error) => e));
  const crashed: Crashed[] = [];
  for (const m of mutations) {
    const held = await hop.waitForHeld((r) => sameRequest(m, r.method, r.path, r.body));
    expect(held.forwarded).toBe(m.mode === 'forward-then-hold');
    if (held.upstream) expect(held.upstream.status, `the upstream applied it: ${held.upstream.body}`).toBeLessThan(300);
    // Recorded before forwarding, so it is there already; the admin API lists intents too.
    const intent = await waitFor(`the intent of ${m.method} ${m.target}`, async () => (await events(m.table)).find((e) => e.status === 'intent'));
    expect(intent.kind).toBe(m.kind);
    crashed.push({ entryId: intent.entryId, held });
  }

  const killed = proxy;
  await killed.kill('SIGKILL');
  expect(await killed.exited).toEqual({ code: null, signal: 'SIGKILL' });
  for (const answer of await Promise.all(answers)) expect(answer, 'the client never got an answer').toBeInstanceOf(Error);
  hop.setRule(() => 'pass');
  hop.releaseAll();
  for (const c of crashed) expect(entryStatusOnDisk(c.entryId), 'the crash left the intent open').toBe('intent');

  proxy = await startProxy();
  // It settled exactly what this crash left open (earlier crashes' entries were settled already).
  const line = proxy.output().split('\n').find((l) => l.includes('settled outbox entries left open by the previous run'));
  expect(line, proxy.output()).toBeDefined();
  const { settled, open } = JSON.parse(line!) as { settled: number; open: number };
  expect({ settled, open }).toEqual({ settled: mutations.length, open: 0 });
  return crashed;
}

const upstreamAnswer = (c: Crashed) => JSON.parse(c.held.upstream!.body);

describe('kill -9 of the proxy between intent and outcome', { timeout: 120_000 }, () => {
  it('a commit that applied upstream settles committed, with the metadata location the catalog has', async () => {
    await createTable('applied');
    const uuid = json(await loadFromCatalog('applied')).metadata['table-uuid'];
    const [c] = await crashWhileHeld([{
      method: 'POST', target: tablePath('applied'), table: 'applied', kind: 'commit-table', mode: 'forward-then-hold',
      body: JSON.stringify({ requirements: [{ type: 'assert-table-uuid', uuid }], updates: [{ action: 'set-properties', updates: { landed: 'yes' } }] }),
    }]);
    const direct = json(await loadFromCatalog('applied'));
    expect(direct.metadata.properties.landed).toBe('yes');
    expect(direct['metadata-location']).toBe(upstreamAnswer(c!)['metadata-location']);
    const event = await eventOf('applied', c!.entryId);
    expect([event.status, event.kind, event.sequence, event.metadataLocation]).toEqual(['committed', 'commit-table', 2, direct['metadata-location']]);
  });

  it('a commit that added a snapshot and applied upstream settles committed, with its 63-bit snapshot id', async () => {
    await createTable('snap');
    const id = '9223372036854775806';
    const [c] = await crashWhileHeld([{
      method: 'POST', target: tablePath('snap'), table: 'snap', kind: 'commit-table', mode: 'forward-then-hold',
      body: `{"requirements":[],"updates":[{"action":"add-snapshot","snapshot":{"snapshot-id":${id},"sequence-number":1,"timestamp-ms":${Date.now()},`
        + `"manifest-list":"file:///nowhere.avro","summary":{"operation":"append"}}},{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":${id}}]}`,
    }]);
    const direct = await loadFromCatalog('snap');
    expect(direct.body.toString('utf8')).toContain(`"current-snapshot-id":${id}`);
    const event = await eventOf('snap', c!.entryId);
    expect([event.status, event.addedSnapshotIds, event.metadataLocation]).toEqual(['committed', [id], json(direct)['metadata-location']]);
  });

  it('a commit that never reached the upstream settles rejected, with no committed event', async () => {
    await createTable('never');
    const before = json(await loadFromCatalog('never'))['metadata-location'];
    const [c] = await crashWhileHeld([{
      method: 'POST', target: tablePath('never'), table: 'never', kind: 'commit-table', mode: 'hold',
      body: JSON.stringify({ requirements: [], updates: [{ action: 'set-properties', updates: { landed: 'never' } }] }),
    }]);
    const direct = json(await loadFromCatalog('never'));
    expect([direct['metadata-location'], direct.metadata.properties.landed]).toEqual([before, undefined]);
    const event = await eventOf('never', c!.entryId);
    expect([event.status, event.metadataLocation]).toEqual(['rejected', null]);
    expect((await events('never')).filter((e) => e.status === 'committed').map((e) => e.kind)).toEqual(['create-table']);
  });

  it('a create-table that applied upstream settles committed; one that never arrived settles rejected', async () => {
    const [created, uncreated] = await crashWhileHeld([
      { method: 'POST', target: '/v1/namespaces/crash/tables', table: 'created', kind: 'create-table', mode: 'forward-then-hold', body: JSON.stringify({ name: 'created', schema }) },
      { method: 'POST', target: '/v1/namespaces/crash/tables', table: 'uncreated', kind: 'create-table', mode: 'hold', body: JSON.stringify({ name: 'uncreated', schema }) },
    ]);
    const direct = await loadFromCatalog('created');
    expect(direct.status).toBe(200);
    expect(json(direct)['metadata-location']).toBe(upstreamAnswer(created!)['metadata-location']);
    const createdEvent = await eventOf('created', created!.entryId);
    expect([createdEvent.status, createdEvent.kind, createdEvent.sequence, createdEvent.metadataLocation])
      .toEqual(['committed', 'create-table', 1, json(direct)['metadata-location']]);
    expect((await loadFromCatalog('uncreated')).status).toBe(404);
    const uncreatedEvent = await eventOf('uncreated', uncreated!.entryId);
    expect([uncreatedEvent.status, uncreatedEvent.kind, uncreatedEvent.metadataLocation]).toEqual(['rejected', 'create-table', null]);
  });

  it('a drop that applied upstream settles committed; one that never arrived settles rejected', async () => {
    await createTable('dropped');
    await createTable('kept');
    const [dropped, kept] = await crashWhileHeld([
      { method: 'DELETE', target: tablePath('dropped'), table: 'dropped', kind: 'drop-table', mode: 'forward-then-hold' },
      { method: 'DELETE', target: tablePath('kept'), table: 'kept', kind: 'drop-table', mode: 'hold' },
    ]);
    expect(dropped!.held.upstream!.status).toBe(204);
    expect((await loadFromCatalog('dropped')).status).toBe(404);
    expect((await loadFromCatalog('kept')).status).toBe(200);
    const droppedEvent = await eventOf('dropped', dropped!.entryId);
    expect([droppedEvent.status, droppedEvent.kind, droppedEvent.sequence, droppedEvent.metadataLocation]).toEqual(['committed', 'drop-table', 2, null]);
    const keptEvent = await eventOf('kept', kept!.entryId);
    expect([keptEvent.status, keptEvent.kind, keptEvent.sequence]).toEqual(['rejected', 'drop-table', 2]);
  });

  it('after the restarts the proxy records new commits after the settled ones, without gaps', async () => {
    const uuid = json(await loadFromCatalog('applied')).metadata['table-uuid'];
    const answer = await sendRaw(proxy.url, 'POST', tablePath('applied'), JSON.stringify({
      requirements: [{ type: 'assert-table-uuid', uuid }], updates: [{ action: 'set-properties', updates: { after: 'restart' } }],
    }));
    expect(answer.status).toBe(200);
    const all = await events('applied');
    expect(all.map((e) => [e.sequence, e.status])).toEqual([[1, 'committed'], [2, 'committed'], [3, 'committed']]);
    expect(all.at(-1)!.metadataLocation).toBe(json(answer)['metadata-location']);
  });
});
