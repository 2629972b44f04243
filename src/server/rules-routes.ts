/**
 * Replication rules at run time, under `/admin/v1/replication/rules`:
 * - `GET` lists every rule: the configuration file's (`source: "config"`, ids `config-1`...,
 *   read-only here) and those added through this API (`source: "api"`, each with its `version`),
 *   with the rule set's `version`, also sent as the `ETag` header;
 * - `POST {tables, exclude, to}` adds a rule (the shape of a configuration file rule) and starts a
 *   backfill: 201 with the rule, its `ETag` and `Location`;
 * - `GET /{id}` one rule, with its `ETag`;
 * - `PUT /{id}` replaces a rule's fields, `DELETE /{id}` removes it: both need `If-Match` carrying
 *   the rule's ETag (`"<version>"`), so two operators cannot overwrite each other: the second,
 *   holding a version that is no longer current, gets 409 `CommitFailedException` and changes
 *   nothing. Without `If-Match`: 428. A change also starts a backfill.
 *
 * Destinations stay in the configuration file; a rule naming another one is a 400.
 */
import type { Context, Hono } from 'hono';
import { badRequest, commitFailed, forbidden, IcebergError, notFound } from '../errors/iceberg-error.ts';
import { configFileSchema } from '../config/config-file.ts';
import type { ReconcileResult } from '../replication/reconciler.ts';
import type { ListedRule, ReplicationRules } from '../replication/replication-rules.ts';
import type { RuleFields, StoredRule } from '../replication/rules-store.ts';
import type { Logger } from '../util/logger.ts';

export interface RulesRoutesOptions {
  rules: ReplicationRules;
  /** A reconciliation pass: started after a rule was created or changed (the backfill). */
  reconcile?: () => Promise<ReconcileResult>;
  logger?: Logger;
}

const BASE = '/admin/v1/replication/rules';

/** A rule of the configuration file's schema, so both kinds of rule are checked alike. */
const ruleSchema = configFileSchema.shape.replication.unwrap().shape.rules.unwrap().element;

const etagOf = (version: number) => `"${version}"`;

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

export function registerRulesRoutes(app: Hono, options: RulesRoutesOptions): void {
  const { rules, logger } = options;

  /** Starts a reconciliation pass without waiting for it: a large catalog takes a while. */
  function startBackfill(ruleId: string): 'started' | 'not-configured' {
    if (!options.reconcile) return 'not-configured';
    options.reconcile().then(
      (result) => logger?.info({ rule: ruleId, ...result }, 'backfill after a replication rule change done'),
      (error: unknown) => logger?.warn({ err: error, rule: ruleId }, 'backfill after a replication rule change failed; the periodic reconciliation will retry'),
    );
    return 'started';
  }

  app.get(BASE, answering(async () => {
    await rules.refresh();
    return json({ version: rules.version, rules: rules.list() }, 200, { etag: etagOf(rules.version) });
  }));

  app.get(`${BASE}/:id`, answering(async (c) => {
    await rules.refresh();
    const id = ruleIdOf(c);
    const rule = rules.list().find((r) => r.id === id);
    if (!rule) throw noSuchRule(id);
    return json(rule, 200, rule.source === 'api' ? { etag: etagOf(rule.version) } : {});
  }));

  app.post(BASE, answering(async (c) => {
    const fields = parseRule(await readJson(c.req.raw), rules.destinations);
    const rule = await store(rules).create(fields);
    await rules.reload();
    logger?.info({ rule: rule.id, tables: rule.tables, exclude: rule.exclude, to: rule.to }, 'replication rule created');
    return json({ rule: listed(rule), backfill: startBackfill(rule.id) }, 201, { etag: etagOf(rule.version), location: `${BASE}/${encodeURIComponent(rule.id)}` });
  }));

  app.put(`${BASE}/:id`, answering(async (c) => {
    const id = ruleIdOf(c);
    refuseConfigRule(rules, id);
    const expected = expectedVersion(c.req.header('if-match'));
    const fields = parseRule(await readJson(c.req.raw), rules.destinations);
    const result = await store(rules).update(id, expected, fields);
    if (result.status === 'missing') throw noSuchRule(id);
    if (result.status === 'stale') throw staleVersion(id, expected, result.current);
    await rules.reload();
    logger?.info({ rule: id, version: result.rule.version, tables: result.rule.tables, exclude: result.rule.exclude, to: result.rule.to }, 'replication rule changed');
    return json({ rule: listed(result.rule), backfill: startBackfill(id) }, 200, { etag: etagOf(result.rule.version) });
  }));

  app.delete(`${BASE}/:id`, answering(async (c) => {
    const id = ruleIdOf(c);
    refuseConfigRule(rules, id);
    const expected = expectedVersion(c.req.header('if-match'));
    const result = await store(rules).delete(id, expected);
    if (result.status === 'missing') throw noSuchRule(id);
    if (result.status === 'stale') throw staleVersion(id, expected, result.current);
    await rules.reload();
    logger?.info({ rule: id }, 'replication rule deleted');
    return new Response(null, { status: 204 });
  }));
}

/** Errors thrown as IcebergError become their Iceberg error answer; anything else is a 500. */
function answering(handler: (c: Context) => Promise<Response>): (c: Context) => Promise<Response> {
  return async (c) => {
    try {
      return await handler(c);
    } catch (error) {
      if (error instanceof IcebergError) return error.toResponse();
      throw error;
    }
  };
}

function ruleIdOf(c: Context): string {
  return c.req.param('id') ?? '';
}

function store(rules: ReplicationRules) {
  if (!rules.store) throw new IcebergError(409, 'NotConfiguredException', 'Rules cannot be changed at run time in this Icerelay (no state database for them)');
  return rules.store;
}

function listed(rule: StoredRule): ListedRule {
  return { source: 'api', ...rule };
}

function noSuchRule(id: string): IcebergError {
  return notFound(`No replication rule with id '${id}' (GET ${BASE} lists them)`);
}

function refuseConfigRule(rules: ReplicationRules, id: string): void {
  if (rules.list().some((r) => r.id === id && r.source === 'config')) {
    throw forbidden(`Rule ${id} comes from the configuration file: change it there (and restart), or add a rule here (POST ${BASE})`);
  }
}

function staleVersion(id: string, expected: number, current: StoredRule): IcebergError {
  return commitFailed(
    `Rule ${id} is at version ${current.version}, not ${expected}: someone changed it since you read it. ` +
      `Read it again (GET ${BASE}/${id}), then retry with If-Match: ${etagOf(current.version)}`,
  );
}

/** The rule version an `If-Match` header names: `"3"` (the ETag), also `W/"3"` or a bare `3`. */
function expectedVersion(header: string | undefined): number {
  if (header === undefined || header.trim() === '') {
    throw new IcebergError(428, 'PreconditionRequiredException', `If-Match is required: send the rule's ETag (e.g. If-Match: "1", from GET ${BASE}/<id>), so that a change made meanwhile is not overwritten`);
  }
  const match = /^\s*(?:W\/)?"?([1-9][0-9]{0,14})"?\s*$/.exec(header);
  if (!match) throw badRequest(`If-Match must be the rule's ETag, a version in quotes such as "3", not ${JSON.stringify(header)}`);
  return Number(match[1]);
}

async function readJson(request: Request): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    throw badRequest('The body must be a JSON object such as {"tables": ["sales.*"], "exclude": ["sales.tmp_*"], "to": ["eu"]}');
  }
}

/** The body's rule, checked like a configuration file rule; every problem names its field. */
function parseRule(body: unknown, destinations: readonly string[]): RuleFields {
  const parsed = ruleSchema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(body)'}: ${issue.message}`);
    throw badRequest(`Invalid replication rule: ${problems.join('; ')}`);
  }
  const rule = parsed.data;
  if (destinations.length === 0) throw badRequest('Invalid replication rule: to: no replication destinations are configured (they are set in the configuration file)');
  for (const [i, name] of (rule.to ?? []).entries()) {
    if (!destinations.includes(name)) {
      throw badRequest(`Invalid replication rule: to.${i}: no destination named '${name}' (destinations: ${destinations.join(', ')}; they are set in the configuration file)`);
    }
  }
  return rule.to === undefined ? { tables: rule.tables, exclude: rule.exclude } : { tables: rule.tables, exclude: rule.exclude, to: rule.to };
}
