/**
 * The replication destinations of this start, resolved from the configuration file's
 * `replication` section (or the default: every table of the built-in catalog into the built-in
 * replica `local`, its files under `<data>/replicas/local`).
 *
 * A destination is a replica catalog (a read-only catalog in the state database, served at
 * `/replicas/<name>`), the storage its files go to, how source locations and names map onto it,
 * its own retention, and which tables it takes.
 */
import { resolve } from 'node:path';
import { ConfigError, type ConfigFile, type DestinationSection, type RetrySection, type S3Settings } from '../config/config-file.ts';
import { warehouseLocation, type ServerConfig } from '../config/server-config.ts';
import { defaultRetryPolicy, validateRetryPolicy, type RetryPolicy } from '../outbox/retry-policy.ts';
import type { S3StoreOptions } from '../storage/s3-store.ts';
import type { DestinationWriteSettings } from './copy/types.ts';
import type { RetentionPolicy } from './plan/merge-metadata.ts';
import { LocationMap, type PrefixPair } from './rewrite/location-map.ts';
import { EVERYTHING, TableSelector, type SelectionRule } from './table-selector.ts';

export const DEFAULT_DESTINATION = 'local';

/** A rule of the configuration file: which tables (and which not) go to which destinations. */
export interface ConfiguredRule extends SelectionRule {
  /** Destination names; absent: every destination. */
  to?: readonly string[];
}

export interface Destination {
  name: string;
  /** The replica catalog: built-in (served at /replicas/<name>) or an external Iceberg REST catalog. */
  catalog: DestinationSection['catalog'];
  /** Root of the replica tables' locations. */
  warehouse: string;
  /** S3 settings for the destination's buckets. */
  s3: S3StoreOptions;
  locations: PrefixPair[];
  map: LocationMap;
  /** Levels put in front of every replicated namespace; empty = the source's names. */
  namespacePrefix: string[];
  retention: RetentionPolicy | undefined;
  write: DestinationWriteSettings;
  /** Handed to readers of the replica endpoint in load results. */
  readCredentials: S3StoreOptions['credentials'];
  /** A source table drop: the replica is kept (default) or dropped as well (its files stay). */
  onSourceDrop: 'keep' | 'drop';
  selector: TableSelector;
}

export interface ReplicationSettings {
  destinations: Destination[];
  /**
   * The configuration file's rules as written (`to` absent: every destination), or the default
   * rule that takes every table everywhere. Rules added at run time come on top (replication-rules.ts).
   */
  rules: ConfiguredRule[];
  /** S3 settings to read source files with. */
  sourceS3: S3StoreOptions;
  /** Tables shipped at once per destination. */
  concurrency: number;
  /** Poll interval of an idle shipper (a commit through the proxy wakes it at once). */
  pollMs: number;
  /** How long a claim on a table holds before another instance may take the table over. */
  claimTimeoutMs: number;
  /** How often source tables are compared with the outbox (reconciliation and backfill). */
  reconcileIntervalMs: number;
  /** Backoff of a failed table's queue, and after how many failures it is marked failed. */
  retry: RetryPolicy;
}

/** S3 settings of a config section, on top of `base` (endpoint implies path-style unless said). */
export function s3Options(section: S3Settings | undefined, base: S3StoreOptions): S3StoreOptions {
  if (!section) return base;
  const endpoint = section.endpoint ?? base.endpoint;
  const out: S3StoreOptions = {
    endpoint,
    region: section.region ?? base.region,
    forcePathStyle: section.pathStyle ?? (section.endpoint !== undefined ? true : base.forcePathStyle),
    credentials: base.credentials,
  };
  if (section.accessKeyId && section.secretAccessKey) {
    out.credentials = { accessKeyId: section.accessKeyId, secretAccessKey: section.secretAccessKey, sessionToken: section.sessionToken };
  }
  return out;
}

export function resolveReplication(config: ServerConfig, file: ConfigFile): ReplicationSettings {
  const section = file.replication;
  const external = config.upstream !== undefined;
  const sourceS3 = external ? s3Options(file.upstream?.s3, config.s3) : config.s3;
  const common = {
    sourceS3, concurrency: section?.concurrency ?? 4, pollMs: section?.pollMs ?? 2000, claimTimeoutMs: section?.claimTimeout ?? 120_000,
    reconcileIntervalMs: section?.reconcileInterval ?? 30_000, retry: retryPolicy(section?.retry),
  };
  if (!section) {
    // The default: only when the source is the built-in catalog (its warehouse is known); an
    // external upstream's tables are replicated once a `replication` section says where to.
    if (external) return { ...common, destinations: [], rules: [] };
    const warehouse = warehouseLocation(resolve(config.dataDir, 'replicas', DEFAULT_DESTINATION));
    return {
      ...common,
      rules: [...EVERYTHING],
      destinations: [
        destination(DEFAULT_DESTINATION, { warehouse }, config, EVERYTHING),
      ],
    };
  }
  const destinations = Object.entries(section.destinations).map(([name, d]) => {
    const rules: SelectionRule[] = section.rules?.filter((r) => r.to === undefined || r.to.includes(name)) ?? [...EVERYTHING];
    if (external && !d.locations) {
      throw new ConfigError(
        `replication.destinations.${name}.locations: required when the source is an external upstream ` +
          `(list the source prefixes of its tables, e.g. { source: "s3://source-bucket/warehouse", destination: "${d.warehouse}" })`,
      );
    }
    return destination(name, d, config, rules);
  });
  return { ...common, destinations, rules: section.rules ?? [...EVERYTHING] };
}

/** The file's `replication.retry` over the defaults; a combination that cannot work names the field. */
function retryPolicy(section: RetrySection | undefined): RetryPolicy {
  const policy: RetryPolicy = {
    maxAttempts: section?.maxAttempts ?? defaultRetryPolicy.maxAttempts,
    baseDelayMs: section?.baseDelay ?? defaultRetryPolicy.baseDelayMs,
    maxDelayMs: section?.maxDelay ?? defaultRetryPolicy.maxDelayMs,
  };
  if (policy.maxDelayMs < policy.baseDelayMs) {
    throw new ConfigError(`replication.retry.maxDelay (${policy.maxDelayMs} ms) must not be shorter than baseDelay (${policy.baseDelayMs} ms${section?.baseDelay === undefined ? ', the default' : ''})`);
  }
  return validateRetryPolicy(policy);
}

function destination(name: string, d: Pick<DestinationSection, 'warehouse'> & Partial<DestinationSection>, config: ServerConfig, rules: readonly SelectionRule[]): Destination {
  const warehouse = warehouseLocation(d.warehouse);
  const locations = d.locations ?? [{ source: `${config.warehouse}/`, destination: `${warehouse}/` }];
  let map: LocationMap;
  try {
    map = new LocationMap(locations);
  } catch (error) {
    throw new ConfigError(`replication.destinations.${name}.locations: ${(error as Error).message}`);
  }
  const retention = d.retention && (d.retention.keepLast !== undefined || d.retention.maxAge !== undefined)
    ? { keepLast: d.retention.keepLast, maxAgeMs: d.retention.maxAge }
    : undefined;
  return {
    name,
    catalog: d.catalog ?? { type: 'builtin' },
    warehouse,
    s3: s3Options(d.s3, config.s3),
    locations,
    map,
    namespacePrefix: d.namespacePrefix ?? [],
    retention,
    write: { storageClass: d.storageClass, sseKmsKeyId: d.sseKmsKeyId },
    readCredentials: d.readCredentials,
    onSourceDrop: d.onSourceDrop ?? 'keep',
    selector: new TableSelector(rules),
  };
}
