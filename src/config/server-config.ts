/**
 * Start-up settings: the configuration file (optional) overlaid by environment variables, with a
 * default for every setting that works on a fresh machine.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DatabaseConfig } from '../catalog/database.ts';
import type { S3StoreOptions } from '../storage/s3-store.ts';
import { isLogLevel, LOG_LEVELS, type LogLevel } from '../util/logger.ts';
import { ConfigError, type ConfigFile, type UpstreamAuthConfig } from './config-file.ts';

/** An external Iceberg REST catalog the proxy fronts, and how the proxy authenticates to it. */
export interface UpstreamConfig {
  url: string;
  timeoutMs: number;
  auth: UpstreamAuthConfig;
}

export interface ServerConfig {
  /** Folder of the default SQLite database, warehouse and local replicas. */
  dataDir: string;
  host: string;
  port: number;
  database: DatabaseConfig;
  /** Root of default table locations: `file:///...` or `s3://bucket/prefix`. */
  warehouse: string;
  s3: S3StoreOptions;
  /** Hand the S3 credentials to clients in load results (only for private test set-ups). */
  vendCredentials: boolean;
  maxBodyBytes: number;
  idempotencyLifetimeMs: number;
  /** The URL clients reach the proxy at, when not http://host:port. */
  publicUrl: string | undefined;
  /** An external Iceberg REST catalog to proxy; undefined = the built-in catalog. */
  upstream: UpstreamConfig | undefined;
  /** Time to wait for the upstream's answer (the built-in catalog's too). */
  upstreamTimeoutMs: number;
  /** The least severe log level written. */
  logLevel: LogLevel;
}

export const CONFIG_HELP = `Configuration file (optional): --config FILE or ICERELAY_CONFIG=FILE, YAML, every field in
docs/configuration.md.
\${NAME} in a value is replaced by the environment variable NAME. Environment variables override the file.

Environment variables (all optional):
  ICERELAY_CONFIG            path of the configuration file            (none)
  ICERELAY_HOST              address to listen on                      (127.0.0.1)
  ICERELAY_PORT              port to listen on                         (8181)
  ICERELAY_DATA_DIR          folder for the SQLite database and the
                             default warehouse                         (./data)
  ICERELAY_DATABASE_URL      postgres://user:pass@host/db for Postgres,
                             or a SQLite file path                     (<data>/icerelay.db)
  ICERELAY_WAREHOUSE         root of table locations: a folder,
                             file:///path or s3://bucket/prefix       (<data>/warehouse)
  ICERELAY_S3_ENDPOINT       S3-compatible endpoint URL                (AWS)
  ICERELAY_S3_REGION         S3 region                                 (AWS_REGION or us-east-1)
  ICERELAY_S3_PATH_STYLE     true for path-style S3 URLs               (true when an endpoint is set)
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
                             S3 credentials                            (AWS default chain)
  ICERELAY_VEND_CREDENTIALS  true to give clients the S3 credentials   (false)
  ICERELAY_MAX_BODY_BYTES    largest accepted request body             (67108864)
  ICERELAY_UPSTREAM_URL      an external Iceberg REST catalog to put
                             the proxy in front of                     (the built-in catalog)
  ICERELAY_UPSTREAM_TIMEOUT_MS
                             time to wait for the upstream's answer    (30000)
  ICERELAY_LOG_LEVEL         least severe level logged: debug, info,
                             warn, error or silent                     (info)`;

function bool(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new ConfigError(`${name} must be true or false, not '${value}'`);
}

function logLevel(name: string, value: string | undefined, fallback: LogLevel): LogLevel {
  if (value === undefined || value === '') return fallback;
  if (!isLogLevel(value)) throw new ConfigError(`${name} must be one of ${LOG_LEVELS.join(', ')}, not '${value}'`);
  return value;
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${name} must be a positive integer, not '${value}'`);
  return n;
}

/** A folder or URI as a warehouse location: folders become `file:///abs/path`. */
export function warehouseLocation(value: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(value)) return value.replace(/\/+$/, '');
  return pathToFileURL(resolve(value)).href.replace(/\/+$/, '');
}

/**
 * The settings for this start: environment variables where set, else the configuration file's
 * fields, else the defaults.
 */
export function loadServerConfig(env: NodeJS.ProcessEnv = process.env, file: ConfigFile = {}): ServerConfig {
  const dataDir = resolve(env.ICERELAY_DATA_DIR || 'data');
  const dbUrl = env.ICERELAY_DATABASE_URL || file.state?.database;
  const database: DatabaseConfig = dbUrl && /^postgres(ql)?:\/\//.test(dbUrl)
    ? { kind: 'postgres', url: dbUrl }
    : { kind: 'sqlite', path: dbUrl || resolve(dataDir, 'icerelay.db') };
  const fileS3 = file.catalog?.s3 ?? {};
  const endpoint = env.ICERELAY_S3_ENDPOINT || fileS3.endpoint;
  const s3: S3StoreOptions = {
    endpoint,
    region: env.ICERELAY_S3_REGION || fileS3.region || env.AWS_REGION || 'us-east-1',
    forcePathStyle: bool('ICERELAY_S3_PATH_STYLE', env.ICERELAY_S3_PATH_STYLE, fileS3.pathStyle ?? endpoint !== undefined),
  };
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    s3.credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined };
  } else if (fileS3.accessKeyId && fileS3.secretAccessKey) {
    s3.credentials = { accessKeyId: fileS3.accessKeyId, secretAccessKey: fileS3.secretAccessKey, sessionToken: fileS3.sessionToken };
  }
  const port = env.ICERELAY_PORT ? positiveInt('ICERELAY_PORT', env.ICERELAY_PORT, 8181) : file.server?.port ?? 8181;
  if (port > 65535) throw new ConfigError(`ICERELAY_PORT must be at most 65535, not ${port}`);
  const upstreamTimeoutMs = positiveInt('ICERELAY_UPSTREAM_TIMEOUT_MS', env.ICERELAY_UPSTREAM_TIMEOUT_MS, file.upstream?.timeoutMs ?? 30_000);
  const upstreamUrl = env.ICERELAY_UPSTREAM_URL || file.upstream?.url;
  if (env.ICERELAY_UPSTREAM_URL && !/^https?:\/\/[^/]/.test(env.ICERELAY_UPSTREAM_URL)) {
    throw new ConfigError(`ICERELAY_UPSTREAM_URL must be an http:// or https:// URL, not '${env.ICERELAY_UPSTREAM_URL}'`);
  }
  return {
    dataDir,
    host: env.ICERELAY_HOST || file.server?.host || '127.0.0.1',
    port,
    database,
    warehouse: warehouseLocation(env.ICERELAY_WAREHOUSE || file.catalog?.warehouse || resolve(dataDir, 'warehouse')),
    s3,
    vendCredentials: bool('ICERELAY_VEND_CREDENTIALS', env.ICERELAY_VEND_CREDENTIALS, file.catalog?.vendCredentials ?? false),
    maxBodyBytes: positiveInt('ICERELAY_MAX_BODY_BYTES', env.ICERELAY_MAX_BODY_BYTES, file.server?.maxBodyBytes ?? 64 * 1024 * 1024),
    idempotencyLifetimeMs: 30 * 60 * 1000,
    publicUrl: file.server?.publicUrl,
    upstream: upstreamUrl ? { url: upstreamUrl, timeoutMs: upstreamTimeoutMs, auth: file.upstream?.auth ?? { type: 'passthrough' } } : undefined,
    upstreamTimeoutMs,
    logLevel: logLevel('ICERELAY_LOG_LEVEL', env.ICERELAY_LOG_LEVEL, file.log?.level ?? 'info'),
  };
}

/** What clients need to reach S3 tables directly: endpoint, region, path style, maybe credentials. */
export function s3ClientConfig(config: Pick<ServerConfig, 's3' | 'vendCredentials'>, location: string): Record<string, string> {
  if (!/^s3[an]?:\/\//i.test(location)) return {};
  const out: Record<string, string> = {};
  if (config.s3.endpoint) out['s3.endpoint'] = config.s3.endpoint;
  if (config.s3.region) out['client.region'] = config.s3.region;
  if (config.s3.forcePathStyle) out['s3.path-style-access'] = 'true';
  if (config.vendCredentials && config.s3.credentials) {
    out['s3.access-key-id'] = config.s3.credentials.accessKeyId;
    out['s3.secret-access-key'] = config.s3.credentials.secretAccessKey;
    if (config.s3.credentials.sessionToken) out['s3.session-token'] = config.s3.credentials.sessionToken;
  }
  return out;
}
