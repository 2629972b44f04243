/**
 * The configuration file (`icerelay.yaml`): its schema, `${VAR}` substitution for secrets, and
 * validation errors that name the field. Every field is optional; what is missing falls back to
 * the environment variables and defaults of server-config.ts. docs/configuration.md documents each
 * field (test/docs/ checks that none is left out).
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { parseIsoDuration } from '../util/iso-duration.ts';
import { LOG_LEVELS } from '../util/logger.ts';

const nonEmpty = z.string().min(1, 'must not be empty');
const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

const upstreamAuth = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('passthrough') }),
  z.strictObject({ type: z.literal('bearer'), token: nonEmpty }),
  z.strictObject({
    type: z.literal('oauth2'),
    /** Token endpoint; defaults to `<upstream url>/v1/oauth/tokens`. */
    tokenUrl: httpUrl.optional(),
    clientId: nonEmpty,
    clientSecret: nonEmpty,
    scope: nonEmpty.default('catalog'),
    audience: nonEmpty.optional(),
    resource: nonEmpty.optional(),
  }),
  z.strictObject({
    type: z.literal('sigv4'),
    region: nonEmpty,
    /** `s3tables` for S3 Tables, `glue` for the Glue Iceberg endpoint, `execute-api` for API Gateway. */
    service: nonEmpty,
    accessKeyId: nonEmpty.optional(),
    secretAccessKey: nonEmpty.optional(),
    sessionToken: nonEmpty.optional(),
  }).refine((a) => (a.accessKeyId === undefined) === (a.secretAccessKey === undefined), {
    message: 'give accessKeyId and secretAccessKey together, or neither (then the AWS default credential chain is used)',
  }),
], { error: (issue) => (issue.code === 'invalid_union' ? 'type must be one of passthrough, bearer, oauth2, sigv4' : undefined) });

const s3Settings = z.strictObject({
  endpoint: httpUrl.optional(),
  region: nonEmpty.optional(),
  pathStyle: z.boolean().optional(),
  accessKeyId: nonEmpty.optional(),
  secretAccessKey: nonEmpty.optional(),
  sessionToken: nonEmpty.optional(),
});

/** `7d`, `12h`, `30m`, `45s`, or an ISO-8601 duration (`P7D`, `PT12H`). */
const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `must be a duration such as 7d, 12h, 30m or P7D, not '${text}'` });
    return z.NEVER;
  }
  return ms;
});

/** A table pattern: `ns.table`, `*` within one level, `**` across levels (`sales.*`, `**`). */
const tablePattern = z.string().regex(/^[^\s]+$/, 'must be a pattern such as sales.orders, sales.* or **');

const destinationName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'must be letters, digits, - and _ (it names the endpoint /replicas/<name>)');

/** Where a destination's replica tables are committed. */
const replicaCatalog = z.discriminatedUnion('type', [
  /** A read-only catalog in the state database, served by Icerelay at /replicas/<name> (default). */
  z.strictObject({ type: z.literal('builtin') }),
  /** An external Iceberg REST catalog: readers use it directly. */
  z.strictObject({
    type: z.literal('rest'),
    url: httpUrl,
    /** Sent as `warehouse` to its /v1/config (catalogs that serve several warehouses need it). */
    warehouse: nonEmpty.optional(),
    auth: upstreamAuth.default({ type: 'passthrough' }),
    timeoutMs: positiveInt.optional(),
  }),
], { error: (issue) => (issue.code === 'invalid_union' ? 'type must be builtin or rest' : undefined) });

const replicationDestination = z.strictObject({
  /** The replica catalog; default: built-in, served at /replicas/<name>. */
  catalog: replicaCatalog.default({ type: 'builtin' }),
  /** Root of the replica tables' locations: a folder, file:///path or s3://bucket/prefix. */
  warehouse: nonEmpty,
  /** S3 settings for the destination's buckets (default: the catalog's S3 settings). */
  s3: s3Settings.optional(),
  /** Location prefix pairs, longest source prefix first wins; default: the source warehouse to `warehouse`. */
  locations: z.array(z.strictObject({ source: nonEmpty, destination: nonEmpty })).min(1).optional(),
  /** Namespace levels put in front of every replicated namespace (fan-in of several sources). */
  namespacePrefix: z.union([nonEmpty.transform((s) => [s]), z.array(nonEmpty).min(1)]).optional(),
  retention: z.strictObject({ keepLast: positiveInt.optional(), maxAge: duration.optional() }).optional(),
  /** S3 storage class of copied objects, e.g. STANDARD_IA. */
  storageClass: nonEmpty.optional(),
  /** SSE-KMS key (id, ARN or alias) for copied objects. */
  sseKmsKeyId: nonEmpty.optional(),
  /** Credentials handed to readers of the replica endpoint in load results (read-only ones). */
  readCredentials: z.strictObject({ accessKeyId: nonEmpty, secretAccessKey: nonEmpty, sessionToken: nonEmpty.optional() }).optional(),
  /** What a source table drop does to its replica: `keep` it (default) or `drop` it too (files stay). */
  onSourceDrop: z.enum(['keep', 'drop']).optional(),
});

/** How a failed (destination, table) queue is retried before it is marked failed (outbox/retry-policy.ts). */
const replicationRetry = z.strictObject({
  /** Consecutive failures after which the table's state becomes `failed` (until `icerelay resume`). */
  maxAttempts: positiveInt.optional(),
  /** Nominal wait after the first failure; doubled after each further one, with jitter. */
  baseDelay: duration.refine((ms) => ms >= 1, 'must be at least 1 ms').optional(),
  /** The longest wait between two attempts. */
  maxDelay: duration.refine((ms) => ms >= 1, 'must be at least 1 ms').optional(),
});

const replicationRule = z.strictObject({
  tables: z.array(tablePattern).min(1).default(['**']),
  exclude: z.array(tablePattern).default([]),
  /** Destination names; default: every destination. */
  to: z.array(destinationName).min(1).optional(),
});

export const configFileSchema = z.strictObject({
  log: z.strictObject({
    /** The least severe level written (ICERELAY_LOG_LEVEL overrides it). */
    level: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).optional(),
  }).optional(),
  server: z.strictObject({
    host: nonEmpty.optional(),
    port: port.optional(),
    /** The URL clients reach Icerelay at, when it differs from http://host:port (a load balancer). */
    publicUrl: httpUrl.optional(),
    maxBodyBytes: positiveInt.optional(),
  }).optional(),
  state: z.strictObject({
    /** A SQLite file path, or a postgres:// URL (several instances share one Postgres). */
    database: nonEmpty.optional(),
  }).optional(),
  /** The built-in source catalog (used when no upstream is configured). */
  catalog: z.strictObject({
    warehouse: nonEmpty.optional(),
    s3: s3Settings.optional(),
    vendCredentials: z.boolean().optional(),
  }).optional(),
  /** An external Iceberg REST catalog to put the proxy in front of, instead of the built-in one. */
  upstream: z.strictObject({
    url: httpUrl,
    timeoutMs: positiveInt.optional(),
    auth: upstreamAuth.default({ type: 'passthrough' }),
    /** S3 settings to read the upstream's table files with (for replication). */
    s3: s3Settings.optional(),
  }).optional(),
  /** Where tables are replicated to. Absent: every table into the built-in replica `local`. */
  replication: z.strictObject({
    destinations: z.record(z.string(), replicationDestination).refine((d) => Object.keys(d).length > 0, 'name at least one destination'),
    /** Which tables go where; default: every table to every destination. */
    rules: z.array(replicationRule).min(1).optional(),
    /** Shipper settings: tables shipped at once per destination, and the poll interval. */
    concurrency: positiveInt.optional(),
    pollMs: positiveInt.optional(),
    /** How long a shipper's claim on a table holds; another instance takes over a crashed one's work after it. */
    claimTimeout: duration.optional(),
    /** How often every source table is compared with the outbox (catches writes that bypassed the proxy; backfills new tables). */
    reconcileInterval: duration.optional(),
    retry: replicationRetry.optional(),
  }).superRefine((r, ctx) => {
    for (const name of Object.keys(r.destinations)) {
      const problem = destinationName.safeParse(name).error?.issues[0]?.message;
      if (problem) ctx.addIssue({ code: 'custom', path: ['destinations', name], message: `destination name '${name}' ${problem}` });
    }
    for (const [i, rule] of (r.rules ?? []).entries()) {
      for (const [j, name] of (rule.to ?? []).entries()) {
        if (!Object.hasOwn(r.destinations, name)) {
          ctx.addIssue({ code: 'custom', path: ['rules', i, 'to', j], message: `no destination named '${name}' (destinations: ${Object.keys(r.destinations).join(', ')})` });
        }
      }
    }
  }).optional(),
});

export type ConfigFile = z.infer<typeof configFileSchema>;
export type S3Settings = z.infer<typeof s3Settings>;
export type ReplicationSection = NonNullable<ConfigFile['replication']>;
export type DestinationSection = z.infer<typeof replicationDestination>;
export type RetrySection = z.infer<typeof replicationRetry>;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of `7d` / `12h` / `30m` / `45s` or an ISO-8601 duration; undefined if neither. */
export function parseDuration(text: string): number | undefined {
  const short = /^(\d+)([smhd])$/.exec(text);
  if (short) return Number(short[1]) * UNIT_MS[short[2]!]!;
  return parseIsoDuration(text);
}
export type UpstreamAuthConfig = z.infer<typeof upstreamAuth>;

/** A configuration problem, with the file and field it is about. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Replaces `${NAME}` in string values with the environment variable NAME (secrets stay out of the file). */
function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: string[], source: string): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const found = env[name];
      if (found === undefined) throw new ConfigError(`${source}: ${path.join('.')}: environment variable ${name} is not set`);
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, String(i)], source));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, [...path, k], source)]));
  }
  return value;
}

/** Parses and validates a configuration file's text; `source` names the file in messages. */
export function parseConfigFile(text: string, env: NodeJS.ProcessEnv, source: string): ConfigFile {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) throw new ConfigError(`${source}: not valid YAML: ${document.errors[0]!.message}`);
  const raw: unknown = document.toJS() ?? {};
  const substituted = substituteEnv(raw, env, [], source);
  const result = configFileSchema.safeParse(substituted);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    const missing = issue.code === 'invalid_type' && / received undefined$/.test(issue.message);
    return `  ${field}: ${missing ? `required (${issue.expected})` : issue.message}`;
  });
  throw new ConfigError(`${source} is not a valid Icerelay configuration:\n${problems.join('\n')}`);
}

/** Reads the configuration file at `path`. */
export function readConfigFile(path: string, env: NodeJS.ProcessEnv): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the configuration file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseConfigFile(text, env, path);
}
