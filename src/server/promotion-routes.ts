/**
 * Failover through the admin API (the use case is replication/promote.ts):
 * - `POST /admin/v1/replication/promote` `{"destination": "eu", "table": "ns.t", "force": false}`
 *   (table optional: the whole destination): stops replication into the replica and makes it
 *   writable. 200 with the promotion (what was lost, where writers go now); 409
 *   `ReplicaBehindException` naming what would be lost when the replica is behind and `force` is
 *   not set (nothing changed); 400 for a destination or table that is not there.
 * - `GET /admin/v1/replication/promotions`: every promotion, oldest first.
 */
import type { Hono } from 'hono';
import { badRequest, IcebergError } from '../errors/iceberg-error.ts';
import { describeLoss, displayEntity, type Promoter, type PromotionView } from '../replication/promote.ts';
import { toJson } from '../util/json.ts';
import { readJsonObject } from './request.ts';
import { parseTableParam } from './table-param.ts';

const BODY_LIMIT = 64 * 1024;
const FIELDS = ['destination', 'table', 'force'];

const json = (body: unknown) => new Response(toJson(body as never), { headers: { 'content-type': 'application/json' } });

export function registerPromotionRoutes(app: Hono, promoter: Promoter): void {
  app.post('/admin/v1/replication/promote', async (c) => {
    try {
      const body = await readJsonObject(c.req.raw, BODY_LIMIT);
      const unknown = Object.keys(body).filter((k) => !FIELDS.includes(k));
      if (unknown.length > 0) throw badRequest(`unknown field(s) ${unknown.join(', ')}: the body is {"destination": "<name>", "table": "ns.t", "force": false} (table and force optional)`);
      const { destination, table, force = false } = body;
      if (typeof destination !== 'string') throw badRequest(`destination must be one of ${promoter.destinationNames.join(', ') || '(none configured)'}, not ${toJson(destination ?? null)}`);
      const entity = table === undefined || table === null ? undefined : typeof table === 'string' ? parseTableParam(table) : undefined;
      if (table !== undefined && table !== null && !entity) throw badRequest(`table must be namespace.table, not ${toJson(table)}`);
      if (typeof force !== 'boolean') throw badRequest(`force must be true or false, not ${toJson(force)}`);

      const result = await promoter.promote({ destination, table: entity, force });
      if (result.outcome === 'refused') {
        const what = entity ? `Table ${displayEntity(entity)} of destination ${destination}` : `Destination ${destination}`;
        throw new IcebergError(409, 'ReplicaBehindException',
          `${what} is behind the source; promoting it would lose ${describeLoss(result.lost)}. Nothing was changed. ` +
          `To promote anyway and lose them, repeat with force (icerelay promote --force); to lose nothing, resume replication ` +
          `(icerelay resume --destination ${destination}) and promote once icerelay status shows ${entity ? 'it' : 'them'} completed.`);
      }
      const { promotion, alreadyPromoted } = result;
      return json({ ...promotion, table: promotion.entity && displayEntity(promotion.entity), alreadyPromoted, message: describePromotion(promotion, alreadyPromoted) });
    } catch (error) {
      if (error instanceof IcebergError) return error.toResponse();
      throw error;
    }
  });

  app.get('/admin/v1/replication/promotions', async () => {
    const promotions = await promoter.list();
    return json({ promotions: promotions.map((p) => ({ ...p, table: p.entity && displayEntity(p.entity) })) });
  });
}

/** What happened and what the operator does next, in a sentence or three. */
export function describePromotion(p: PromotionView, alreadyPromoted: boolean): string {
  const what = p.entity ? `table ${displayEntity(p.entity)} of destination ${p.destination}` : `destination ${p.destination}`;
  const when = new Date(p.promotedAtMs).toISOString();
  const head = alreadyPromoted ? `The ${what} was already promoted (at ${when}).` : `Promoted the ${what}: replication into it has stopped.`;
  const next = p.catalogType === 'rest'
    ? ` Its replica catalog is external: point writers at ${p.writeTo} directly.`
    : p.entity
      ? ` Writes to ${p.replicaTable} go through the catalog routes of ${p.writeTo} now (other tables there stay read-only).`
      : ` Every write route of ${p.writeTo} takes writes now: point writers at it.`;
  const lost = p.lost.length > 0 ? ` Lost (not replicated before the promotion): ${describeLoss(p.lost)}.` : ' Nothing was lost: it had applied every source commit.';
  return head + next + lost;
}
