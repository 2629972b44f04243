/**
 * The SQL of promotions (failover), next to the outbox whose claims they hold back: a promoted
 * destination, or a promoted table of one, is never claimed again (outbox-store.ts leaves it out
 * of `claim`), and its replica takes writes (replication/replica-writes.ts). The rows live in the
 * state database, so every Icerelay process sharing it sees a promotion at once and after restarts.
 */
import type { Kysely } from 'kysely';
import { entityKey, parseEntityKey } from './entity-key.ts';
import type { EntityRef } from './outbox.ts';
import type { OutboxTables, PromotionRow } from './outbox-tables.ts';

type Db = Kysely<OutboxTables>;

/** The entity key of a destination-wide promotion: no real entity key is empty. */
const WHOLE_DESTINATION = '';

/** What a destination had not applied of one entity when replication into it stopped. */
export interface LostChanges {
  entity: EntityRef;
  /** Source commits recorded but not applied (rejected ones left out; unsettled ones counted). */
  commitsBehind: number;
  /** Snapshots those commits added. */
  snapshotsBehind: number;
  /** When the oldest of them was recorded. */
  oldestPendingAtMs: number | null;
}

export interface Promotion {
  destination: string;
  /** The promoted table; null when the whole destination was promoted. */
  entity: EntityRef | null;
  promotedAtMs: number;
  /** It was behind and promoted anyway. */
  forced: boolean;
  lost: LostChanges[];
}

export class PromotionStore {
  constructor(private readonly db: Db) {}

  /** Records a promotion; false when that destination (or table) is promoted already. */
  async insert(promotion: Promotion): Promise<boolean> {
    const result = await this.db.insertInto('replication_promotions')
      .values(toRow(promotion))
      .onConflict((oc) => oc.columns(['destination', 'entity_key']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  /** Replaces what a promotion records as lost (measured again once shipping into it stopped). */
  async recordLoss(destination: string, entity: EntityRef | null, lost: LostChanges[]): Promise<void> {
    await this.db.updateTable('replication_promotions').set({ lost: JSON.stringify(lost), forced: lost.length > 0 ? 1 : 0 })
      .where('destination', '=', destination).where('entity_key', '=', keyOf(entity)).execute();
  }

  /** Takes a promotion back (one refused after all: the replica went on being behind). */
  async remove(destination: string, entity: EntityRef | null): Promise<void> {
    await this.db.deleteFrom('replication_promotions')
      .where('destination', '=', destination).where('entity_key', '=', keyOf(entity)).execute();
  }

  /** Every promotion, oldest first (of one destination when given). */
  async list(destination?: string): Promise<Promotion[]> {
    const rows = await this.db.selectFrom('replication_promotions').selectAll()
      .$if(destination !== undefined, (q) => q.where('destination', '=', destination!))
      .orderBy('promoted_at_ms').orderBy('destination').orderBy('entity_key').execute();
    return rows.map(fromRow);
  }

  /**
   * The promotion that makes `entity` of `destination` writable: the destination's own, else the
   * entity's (a table's; a namespace is covered by its destination's only). Undefined when none.
   */
  async covering(destination: string, entity: EntityRef | null): Promise<Promotion | undefined> {
    const keys = entity === null ? [WHOLE_DESTINATION] : [WHOLE_DESTINATION, entityKey(entity)];
    const rows = await this.db.selectFrom('replication_promotions').selectAll()
      .where('destination', '=', destination).where('entity_key', 'in', keys)
      .orderBy('entity_key').execute();
    return rows.length === 0 ? undefined : fromRow(rows[0]!);
  }

  /**
   * Releases the claims workers hold on the promoted queues. A worker fences each replica commit
   * by renewing its claim first (shipper.ts), so one that is shipping into the replica now stops
   * before its next commit instead of finishing its batch.
   */
  async releaseClaims(destination: string, entity: EntityRef | null): Promise<number> {
    const result = await this.db.updateTable('outbox_positions').set({ locked_by: null, locked_until_ms: null })
      .where('destination', '=', destination)
      .$if(entity !== null, (q) => q.where('entity_key', '=', entityKey(entity!)))
      .where('locked_by', 'is not', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}

const keyOf = (entity: EntityRef | null) => (entity === null ? WHOLE_DESTINATION : entityKey(entity));

function toRow(p: Promotion): PromotionRow {
  return { destination: p.destination, entity_key: keyOf(p.entity), promoted_at_ms: p.promotedAtMs, forced: p.forced ? 1 : 0, lost: JSON.stringify(p.lost) };
}

function fromRow(row: PromotionRow): Promotion {
  return {
    destination: row.destination,
    entity: row.entity_key === WHOLE_DESTINATION ? null : parseEntityKey(row.entity_key),
    promotedAtMs: Number(row.promoted_at_ms),
    forced: Number(row.forced) === 1,
    lost: JSON.parse(row.lost) as LostChanges[],
  };
}

/** Whether a promotion covers `entityKey` (the destination's, or the entity's own). */
export function covers(promotion: Promotion, key: string): boolean {
  return promotion.entity === null || entityKey(promotion.entity) === key;
}
