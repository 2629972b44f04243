/**
 * Start-up settings of the built-in catalog server, from environment variables (a config file
 * comes with the proxy). Every setting has a default that works on a fresh machine.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DatabaseConfig } from './catalog/database.ts';
import type { S3StoreOptions } from './storage/s3-store.ts';

export interface ServerConfig {
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
  /** An external Iceberg REST catalog to proxy; undefined = the built-in catalog. */
  upstreamUrl: string | undefined;
  upstreamTimeoutMs: number;
}

export const CONFIG_HELP = `Environment variables (all optional):
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
                             time to wait for the upstream's answer    (30000)`;

function bool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new Error(`Invalid boolean '${value}': use true or false`);
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, not '${value}'`);
  return n;
}

/** A folder or URI as a warehouse location: folders become `file:///abs/path`. */
export function warehouseLocation(value: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(value)) return value.replace(/\/+$/, '');
  return pathToFileURL(resolve(value)).href.replace(/\/+$/, '');
}

export function loadServerConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const dataDir = resolve(env.ICERELAY_DATA_DIR || 'data');
  const dbUrl = env.ICERELAY_DATABASE_URL;
  const database: DatabaseConfig = dbUrl && /^postgres(ql)?:\/\//.test(dbUrl)
    ? { kind: 'postgres', url: dbUrl }
    : { kind: 'sqlite', path: dbUrl || resolve(dataDir, 'icerelay.db') };
  const endpoint = env.ICERELAY_S3_ENDPOINT || undefined;
  const s3: S3StoreOptions = {
    endpoint,
    region: env.ICERELAY_S3_REGION || env.AWS_REGION || 'us-east-1',
    forcePathStyle: bool(env.ICERELAY_S3_PATH_STYLE, endpoint !== undefined),
  };
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    s3.credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined };
  }
  const port = positiveInt('ICERELAY_PORT', env.ICERELAY_PORT, 8181);
  if (port > 65535) throw new Error(`ICERELAY_PORT must be at most 65535, not ${port}`);
  return {
    host: env.ICERELAY_HOST || '127.0.0.1',
    port,
    database,
    warehouse: warehouseLocation(env.ICERELAY_WAREHOUSE || resolve(dataDir, 'warehouse')),
    s3,
    vendCredentials: bool(env.ICERELAY_VEND_CREDENTIALS, false),
    maxBodyBytes: positiveInt('ICERELAY_MAX_BODY_BYTES', env.ICERELAY_MAX_BODY_BYTES, 64 * 1024 * 1024),
    idempotencyLifetimeMs: 30 * 60 * 1000,
    upstreamUrl: env.ICERELAY_UPSTREAM_URL || undefined,
    upstreamTimeoutMs: positiveInt('ICERELAY_UPSTREAM_TIMEOUT_MS', env.ICERELAY_UPSTREAM_TIMEOUT_MS, 30_000),
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
