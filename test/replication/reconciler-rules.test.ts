/**
 * Reconciliation and rules that change (against the real built-in catalog and outbox on SQLite):
 * a table the outbox knows at its current state is observed again when a destination that selects
 * it now passed its events without bringing it over, and nothing is queued for it there; not while
 * its queue still has events, not for a destination already at that state, and not over and over
 * when a destination keeps passing the observation (only once more after the rules change again).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { loadServerConfig } from '../../src/config/server-config.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { reconcileTables } from '../../src/replication/reconciler.ts';
import { builtinSource } from '../../src/replication/source-catalog.ts';
import { startCatalogServer, type RunningServer } from '../../src/server/builtin-server.ts';
import { createLogger } from '../../src/util/logger.ts';
import { sendRaw as send } from '../helpers/raw-http.ts';

const logger = createLogger({ level: 'silent' });
const schema = { type: 'struct', fields: [{ id: 1, name: 'id', type: 'long', required: false }] };
const orders = { namespace: ['sales'], name: 'orders' };

let dir: string;
let database: StateDatabase;
let outbox: OutboxStore;
let source: RunningServer;
let current: string;

/** A destination's shipper going through every queued event without bringing the table over (no rule selected it). */
async function passOver(destination: string): Promise<void> {
  for (const work of await outbox.claim({ destinations: [destination], workerId: 'test', limit: 10, lockMs: 60_000, nowMs: Date.now() })) {
    expect(await outbox.complete(destination, work.entity, work.throughSequence, Date.now(), undefined, 'test')).toBe(true);
  }
}

function reconcile(destinations: string[], rulesChangedAtMs = 0) {
  return reconcileTables({
    outbox, source: builtinSource(source.catalog), logger, rulesChangedAtMs,
    selects: () => destinations.length > 0,
    destinationsSelecting: () => destinations,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icerelay-reconcile-rules-'));
  database = await openDatabase({ kind: 'sqlite', path: join(dir, 'state.db') });
  outbox = new OutboxStore(database);
  source = await startCatalogServer({ ...loadServerConfig({ ICERELAY_DATA_DIR: dir }), port: 0 }, logger, database);
  expect((await send(source.url, 'POST', '/v1/namespaces', { namespace: ['sales'] })).status).toBe(200);
  expect((await send(source.url, 'POST', '/v1/namespaces/sales/tables', { name: 'orders', schema })).status).toBe(200);
  current = (await source.catalog.tableMetadataLocation(orders))!;
  // The table is known to the outbox at its current state: its creation went through the proxy.
  const id = await outbox.recordIntent({ kind: 'create-table', entities: [orders], request: { method: 'POST', path: '/v1/namespaces/sales/tables', body: null } });
  await outbox.recordOutcome(id, { status: 'committed', httpStatus: 200, metadataLocations: [current] });
});

afterAll(async () => {
  await source.close();
  await database.close();
  await rm(dir, { recursive: true, force: true });
});

describe('reconciliation when the rules change', () => {
  it('observes a table a destination passed over once a rule selects it there, and not while its queue has events', async () => {
    // Without destinations to ask about, the known state is enough.
    expect(await reconcileTables({ outbox, source: builtinSource(source.catalog), logger, selects: () => true })).toMatchObject({ observed: 0 });
    // `eu` has not claimed the table yet: its first claim will go through every event.
    expect(await reconcile(['eu'])).toMatchObject({ tables: 1, observed: 0 });
    await passOver('eu');
    expect(await reconcile(['eu'])).toMatchObject({ tables: 1, observed: 1 });
    const [observed] = await outbox.listEvents({ entity: orders, limit: 1, newest: true });
    expect(observed).toMatchObject({ kind: 'observe-table', metadataLocation: current, sequence: 2 });
    // Queued now: nothing more until `eu` went through it.
    expect(await reconcile(['eu'])).toMatchObject({ observed: 0 });
  });

  it('leaves a destination already at the current state alone', async () => {
    await passOver('eu');
    const work = await outbox.claim({ destinations: ['archive'], workerId: 'test', limit: 10, lockMs: 60_000, nowMs: Date.now() });
    for (const w of work) await outbox.complete('archive', w.entity, w.throughSequence, Date.now(), { metadataLocation: current, snapshotId: null }, 'test');
    expect((await outbox.position('archive', orders))?.shipped?.metadataLocation).toBe(current);
    const before = await outbox.entitySequence(orders);
    // `eu` passed the observation too: one more is made (the first may have met an instance with older rules)...
    expect(await reconcile(['archive', 'eu'])).toMatchObject({ observed: 1 });
    await passOver('eu');
    await passOver('archive');
    // ...but not a third: a destination passing two in a row is ahead of that state.
    expect(await reconcile(['archive', 'eu'])).toMatchObject({ observed: 0 });
    expect(await reconcile(['archive'])).toMatchObject({ observed: 0 });
    expect(await outbox.entitySequence(orders)).toBe(before + 1);
  });

  it('observes once more after the rules changed again', async () => {
    expect(await reconcile(['eu'], Date.now() + 1)).toMatchObject({ observed: 1 });
  });
});
