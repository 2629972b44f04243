/**
 * Replication rules added at run time (the admin API), kept in the state database so that they
 * survive restarts and every instance sharing the database follows them.
 *
 * Concurrency is optimistic: each rule has a version, raised by every change, and a change or
 * delete names the version its writer read; when another writer got there first the statement
 * matches no row and nothing changes (`stale`). The rule set as a whole has a version too, raised
 * in the same transaction as any rule change: one cheap read tells an instance whether its copy
 * of the rules is current.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { StateDatabase } from '../catalog/database.ts';
import { outboxDialect, type OutboxDialect } from '../outbox/outbox-dialect.ts';

/** What a rule says: the same shape as a rule of the configuration file. */
export interface RuleFields {
  tables: string[];
  exclude: string[];
  /** Destination names; undefined: every destination. */
  to?: string[];
}

export interface StoredRule extends RuleFields {
  id: string;
  version: number;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface RuleSetVersion {
  version: number;
  /** When a rule was last created, changed or deleted (0: never). */
  changedAtMs: number;
}

interface ReplicationRuleRow {
  id: string;
  /** JSON arrays of patterns. */
  tables: string;
  exclude: string;
  /** JSON array of destination names; null: every destination. */
  destinations: string | null;
  version: number;
  created_at_ms: number;
  updated_at_ms: number;
}

interface RuleSetStateRow {
  id: number;
  version: number;
  changed_at_ms: number;
}

interface RulesTables {
  replication_rules: ReplicationRuleRow;
  replication_rules_state: RuleSetStateRow;
}

export type RuleWriteResult = { status: 'ok'; rule: StoredRule } | { status: 'stale'; current: StoredRule } | { status: 'missing' };
export type RuleDeleteResult = { status: 'ok' } | { status: 'stale'; current: StoredRule } | { status: 'missing' };

export class RulesStore {
  readonly #db: Kysely<RulesTables>;
  readonly #dialect: OutboxDialect;

  constructor(state: StateDatabase) {
    // The catalog's `Database` type does not list these tables (the outbox migrations create them).
    this.#db = state.db as unknown as Kysely<RulesTables>;
    this.#dialect = outboxDialect(state.adapter);
  }

  /** The rule set's version: read before every selection, so it must stay one primary-key lookup. */
  async version(): Promise<RuleSetVersion> {
    const row = await this.#db.selectFrom('replication_rules_state').select(['version', 'changed_at_ms']).where('id', '=', 1).executeTakeFirstOrThrow();
    return { version: Number(row.version), changedAtMs: Number(row.changed_at_ms) };
  }

  /**
   * Every rule, oldest first, and the rule set's version. The version is read first: a change
   * landing in between then shows as newer rules under the older version (read again at the next
   * check, harmless), never as older rules under the newer version (which would hide the change).
   */
  async list(): Promise<RuleSetVersion & { rules: StoredRule[] }> {
    const version = await this.version();
    const rows = await this.#db.selectFrom('replication_rules').selectAll().orderBy('created_at_ms').orderBy('id').execute();
    return { ...version, rules: rows.map(toRule) };
  }

  async get(id: string): Promise<StoredRule | undefined> {
    const row = await this.#db.selectFrom('replication_rules').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toRule(row);
  }

  async create(fields: RuleFields, nowMs: number = Date.now()): Promise<StoredRule> {
    const row: ReplicationRuleRow = { id: randomUUID(), ...columnsOf(fields), version: 1, created_at_ms: nowMs, updated_at_ms: nowMs };
    await this.#dialect.writeTransaction(this.#db, async (trx) => {
      await trx.insertInto('replication_rules').values(row).execute();
      await bumpRuleSet(trx, nowMs);
    });
    return toRule(row);
  }

  /** Replaces a rule's fields if it is still at `expectedVersion` (compare-and-swap on the version). */
  async update(id: string, expectedVersion: number, fields: RuleFields, nowMs: number = Date.now()): Promise<RuleWriteResult> {
    return this.#dialect.writeTransaction(this.#db, async (trx) => {
      const row = await trx.updateTable('replication_rules')
        .set((eb) => ({ ...columnsOf(fields), version: eb('version', '+', 1), updated_at_ms: nowMs }))
        .where('id', '=', id).where('version', '=', expectedVersion)
        .returningAll().executeTakeFirst();
      if (!row) return this.#whyNot(trx, id);
      await bumpRuleSet(trx, nowMs);
      return { status: 'ok', rule: toRule(row) };
    });
  }

  /** Deletes a rule if it is still at `expectedVersion`. */
  async delete(id: string, expectedVersion: number, nowMs: number = Date.now()): Promise<RuleDeleteResult> {
    return this.#dialect.writeTransaction(this.#db, async (trx) => {
      const result = await trx.deleteFrom('replication_rules').where('id', '=', id).where('version', '=', expectedVersion).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return this.#whyNot(trx, id);
      await bumpRuleSet(trx, nowMs);
      return { status: 'ok' };
    });
  }

  /** A compare-and-swap matched nothing: the rule is gone, or at another version. */
  async #whyNot(trx: Kysely<RulesTables>, id: string): Promise<{ status: 'stale'; current: StoredRule } | { status: 'missing' }> {
    const current = await trx.selectFrom('replication_rules').selectAll().where('id', '=', id).executeTakeFirst();
    return current ? { status: 'stale', current: toRule(current) } : { status: 'missing' };
  }
}

async function bumpRuleSet(trx: Kysely<RulesTables>, nowMs: number): Promise<void> {
  await sql`update replication_rules_state set version = version + 1, changed_at_ms = ${nowMs} where id = 1`.execute(trx);
}

function columnsOf(fields: RuleFields): Pick<ReplicationRuleRow, 'tables' | 'exclude' | 'destinations'> {
  return {
    tables: JSON.stringify(fields.tables),
    exclude: JSON.stringify(fields.exclude),
    destinations: fields.to === undefined ? null : JSON.stringify(fields.to),
  };
}

function toRule(row: ReplicationRuleRow): StoredRule {
  const rule: StoredRule = {
    id: row.id,
    tables: JSON.parse(row.tables) as string[],
    exclude: JSON.parse(row.exclude) as string[],
    version: Number(row.version),
    createdAtMs: Number(row.created_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
  };
  if (row.destinations !== null) rule.to = JSON.parse(row.destinations) as string[];
  return rule;
}
