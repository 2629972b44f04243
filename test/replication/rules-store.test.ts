/**
 * Replication rules kept in the state database, on SQLite and on a real Postgres (a throw-away
 * database per run, so the rule set starts empty): create, change and delete with an optimistic
 * version, two writers holding the same version (one wins, the other changes nothing), rules that
 * survive a reopen, and a second connection (another process) following a change at its next check.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseConfig, type StateDatabase } from '../../src/catalog/database.ts';
import { ReplicationRules } from '../../src/replication/replication-rules.ts';
import { RulesStore } from '../../src/replication/rules-store.ts';
import { createLogger } from '../../src/util/logger.ts';
import { freshPostgresDatabase, postgresSkip } from './robustness/harness.ts';

const logger = createLogger({ level: 'silent' });

if (postgresSkip) console.warn(`rules store on postgres: skipped: ${postgresSkip}`);

const databases: { name: string; skip: string | undefined; open: (dir: string) => Promise<{ config: DatabaseConfig; drop(): Promise<void> }> }[] = [
  { name: 'sqlite', skip: undefined, open: async (dir) => ({ config: { kind: 'sqlite', path: join(dir, 'state.db') }, drop: async () => {} }) },
  {
    name: 'postgres',
    skip: postgresSkip,
    open: async () => {
      const db = await freshPostgresDatabase();
      return { config: { kind: 'postgres', url: db.url }, drop: db.drop };
    },
  },
];

describe.each(databases)('replication rules on $name', ({ name, skip, open }) => {
  let dir: string;
  let config: DatabaseConfig;
  let drop: () => Promise<void>;
  let first: StateDatabase;
  let second: StateDatabase;
  let store: RulesStore;

  beforeAll(async () => {
    if (skip) return;
    dir = await mkdtemp(join(tmpdir(), 'icerelay-rules-'));
    ({ config, drop } = await open(dir));
    first = await openDatabase(config);
    second = await openDatabase(config);
    store = new RulesStore(first);
  });
  afterAll(async () => {
    if (skip) return;
    await first.close();
    await second.close();
    await drop();
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(skip)('creates, changes and deletes rules, each change raising the rule and the rule set versions', async () => {
    expect(await store.version()).toEqual({ version: 0, changedAtMs: 0 });
    const created = await store.create({ tables: ['sales.*'], exclude: ['sales.tmp_*'], to: ['eu'] }, 1000);
    expect(created).toMatchObject({ tables: ['sales.*'], exclude: ['sales.tmp_*'], to: ['eu'], version: 1, createdAtMs: 1000, updatedAtMs: 1000 });
    const everywhere = await store.create({ tables: ['**'], exclude: [] }, 1001);
    expect(everywhere.to).toBeUndefined();
    expect(await store.version()).toEqual({ version: 2, changedAtMs: 1001 });

    const changed = await store.update(created.id, 1, { tables: ['sales.**'], exclude: [] }, 2000);
    expect(changed).toMatchObject({ status: 'ok', rule: { id: created.id, tables: ['sales.**'], exclude: [], version: 2, createdAtMs: 1000, updatedAtMs: 2000 } });
    expect(changed.status === 'ok' && changed.rule.to).toBeUndefined();
    expect((await store.list()).rules.map((r) => [r.id, r.version])).toEqual([[created.id, 2], [everywhere.id, 1]]);

    expect(await store.delete(everywhere.id, 1, 3000)).toEqual({ status: 'ok' });
    expect(await store.get(everywhere.id)).toBeUndefined();
    expect(await store.delete(everywhere.id, 1)).toEqual({ status: 'missing' });
    expect(await store.update('no-such-rule', 1, { tables: ['**'], exclude: [] })).toEqual({ status: 'missing' });
    expect(await store.version()).toEqual({ version: 4, changedAtMs: 3000 });
  });

  it.skipIf(skip)('refuses a change or delete holding an old version, and changes nothing', async () => {
    const rule = await store.create({ tables: ['hr.*'], exclude: [] });
    expect((await store.update(rule.id, 1, { tables: ['hr.payroll'], exclude: [] })).status).toBe('ok');
    const before = await store.version();
    const stale = await store.update(rule.id, 1, { tables: ['**'], exclude: [] });
    expect(stale).toMatchObject({ status: 'stale', current: { id: rule.id, version: 2, tables: ['hr.payroll'] } });
    expect(await store.delete(rule.id, 1)).toMatchObject({ status: 'stale', current: { version: 2 } });
    expect(await store.get(rule.id)).toMatchObject({ version: 2, tables: ['hr.payroll'] });
    expect(await store.version()).toEqual(before);
  });

  it.skipIf(skip)('lets exactly one of two writers holding the same version win', async () => {
    const rule = await store.create({ tables: ['ops.*'], exclude: [] });
    // Postgres: over two connections, as two processes would. SQLite: over one, interleaved; two
    // writing connections in one thread would wait on each other's lock with the thread blocked.
    const other = new RulesStore(name === 'postgres' ? second : first);
    for (let round = 1; round <= 10; round++) {
      const [a, b] = await Promise.all([
        store.update(rule.id, round, { tables: [`ops.a${round}`], exclude: [] }),
        other.update(rule.id, round, { tables: [`ops.b${round}`], exclude: [] }),
      ]);
      expect([a.status, b.status].sort()).toEqual(['ok', 'stale']);
      const winner = a.status === 'ok' ? a.rule : b.status === 'ok' ? b.rule : undefined;
      expect(await store.get(rule.id)).toEqual(winner);
      expect(winner?.version).toBe(round + 1);
    }
  });

  it.skipIf(skip)('keeps the rules across a reopen of the database', async () => {
    const before = await store.list();
    await first.close();
    first = await openDatabase(config);
    store = new RulesStore(first);
    expect(await store.list()).toEqual(before);
    expect(before.rules.length).toBeGreaterThan(0);
  });

  it.skipIf(skip)("selects by the configuration's rules and the run-time ones; another process follows a change at its next check", async () => {
    // Start from no run-time rule.
    for (const rule of (await store.list()).rules) expect((await store.delete(rule.id, rule.version)).status).toBe('ok');
    const configRules = [{ tables: ['**'], exclude: ['sales.*'] }, { tables: ['audit.**'], exclude: [], to: ['archive'] }];
    const here = new ReplicationRules({ destinations: ['eu', 'archive'], configRules, store, logger });
    const there = new ReplicationRules({ destinations: ['eu', 'archive'], configRules, store: new RulesStore(second), logger });
    await Promise.all([here.reload(), there.reload()]);
    const eu = there.selectorFor('eu');
    const orders = { namespace: ['sales'], name: 'orders' };
    expect(eu.selectsTable(orders.namespace, orders.name)).toBe(false);
    expect(there.destinationsSelecting({ namespace: ['audit', 'x'], name: 'log' })).toEqual(['eu', 'archive']);
    expect(there.list().map((r) => [r.id, r.source])).toEqual([['config-1', 'config'], ['config-2', 'config']]);

    const added = await store.create({ tables: ['sales.orders'], exclude: [], to: ['eu'] });
    await here.reload();
    expect(here.selectorFor('eu').selectsTable(orders.namespace, orders.name)).toBe(true);
    // The other process still has the rules it read, until it checks the version again.
    expect(eu.selectsTable(orders.namespace, orders.name)).toBe(false);
    await there.refresh();
    expect(eu.selectsTable(orders.namespace, orders.name)).toBe(true);
    expect(there.destinationsSelecting(orders)).toEqual(['eu']);
    expect(there.selectorFor('eu').selectsNamespace(['sales'])).toBe(true);
    expect(there.list().at(-1)).toMatchObject({ id: added.id, source: 'api', tables: ['sales.orders'], to: ['eu'], version: 1 });
    expect(there.version).toBe((await store.version()).version);

    // A delete is followed the same way.
    expect((await store.delete(added.id, 1)).status).toBe('ok');
    await there.refresh();
    expect(eu.selectsTable(orders.namespace, orders.name)).toBe(false);
  });
});
