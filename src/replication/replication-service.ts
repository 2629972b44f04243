/**
 * Replication for one process: per destination a read-only replica catalog (in the state
 * database, served at `/replicas/<name>`) and a shipper that brings it the source's commits.
 * The proxy wakes every shipper when a commit is recorded; otherwise they poll. A reconciliation
 * pass at start and then periodically records source tables the outbox does not know at their
 * current state (existing tables: the backfill; writes that bypassed the proxy). Which tables go
 * where is decided by the rules in force (replication-rules.ts): the configuration's and those added
 * at run time, read again before every shipper round and reconciliation pass once any instance
 * changed them.
 */
import type { Hono } from 'hono';
import type { BuiltinCatalog } from '../catalog/builtin-catalog.ts';
import type { StateDatabase } from '../catalog/database.ts';
import { s3ClientConfig, type ServerConfig } from '../config/server-config.ts';
import type { OutboxStore } from '../outbox/outbox-store.ts';
import { PromotionStore } from '../outbox/promotion-store.ts';
import { buildCatalog, replicaCatalogName } from '../server/builtin-server.ts';
import { createStoreResolver, type StoreResolver } from '../storage/store-resolver.ts';
import type { Metrics } from '../server/metrics.ts';
import type { Logger } from '../util/logger.ts';
import { createUpstreamAuth } from '../proxy/upstream-auth.ts';
import { UpstreamClient } from '../proxy/upstream-client.ts';
import { builtinReplica, restReplica, type ReplicaCatalog } from './commit/replica-catalog.ts';
import { copyFiles } from './copy/copier.ts';
import { S3ClientPool } from './copy/locations.ts';
import type { Destination, ReplicationSettings } from './destinations.ts';
import { Promoter } from './promote.ts';
import { promotedWrites } from './replica-writes.ts';
import { Shipper } from './shipper.ts';
import { reconcileTables, type ReconcileResult } from './reconciler.ts';
import { ReplicationRules } from './replication-rules.ts';
import { RulesStore } from './rules-store.ts';
import type { SourceCatalog } from './source-catalog.ts';

export interface ReplicationServiceOptions {
  config: ServerConfig;
  settings: ReplicationSettings;
  database: StateDatabase;
  outbox: OutboxStore;
  source: SourceCatalog;
  logger: Logger;
  workerId: string;
  /** Counts what the shippers ship. */
  metrics?: Metrics;
}

export interface ReplicationService {
  destinations: string[];
  /** `/replicas/<name>` handlers, by destination name (built-in replica catalogs only). */
  replicas: Map<string, Hono>;
  shippers: Map<string, Shipper>;
  /** The rules in force: the configuration's and those added at run time (kept in the state database). */
  rules: ReplicationRules;
  /** Failover: makes a destination (or a table of it) writable and stops replicating into it. */
  promoter: Promoter;
  /** Starts the shippers and the reconciliation loop (its first pass at once: backfill). */
  start(): void;
  /** A commit was recorded: ship now. */
  wake(): void;
  /** One reconciliation pass now (also run periodically after start). */
  reconcile(): Promise<ReconcileResult>;
  stop(): Promise<void>;
}

export async function createReplicationService(options: ReplicationServiceOptions): Promise<ReplicationService> {
  const { config, settings, logger } = options;
  const sourceStores = createStoreResolver({ s3: settings.sourceS3 });
  const replicas = new Map<string, Hono>();
  const shippers = new Map<string, Shipper>();
  const closers: (() => Promise<void> | void)[] = [() => sourceStores.destroy()];
  const promotions = new PromotionStore(options.outbox.db);
  const rules = new ReplicationRules({
    destinations: settings.destinations.map((d) => d.name),
    configRules: settings.rules,
    store: new RulesStore(options.database),
    logger,
  });
  await rules.reload();
  // The configuration's rules may have changed with this start: like a rule change, it lets
  // reconciliation observe tables a destination stepped over before (see reconciler.ts).
  const startedAtMs = Date.now();

  for (const destination of settings.destinations) {
    // What Icerelay writes itself (manifests, lists, metadata, rewritten delete files) gets the same
    // storage class and encryption as the files it copies.
    const replicaStores: StoreResolver = createStoreResolver({
      s3: { ...destination.s3, storageClass: destination.write.storageClass, sseKmsKeyId: destination.write.sseKmsKeyId },
    });
    closers.push(() => replicaStores.destroy());
    // The copier's S3 clients live as long as the service: connections are reused across tables.
    const copyClients = new S3ClientPool({ requestTimeoutMs: 120_000 });
    closers.push(() => copyClients.destroy());
    let replica: ReplicaCatalog;
    let views: BuiltinCatalog | undefined;
    if (destination.catalog.type === 'rest') {
      // Readers use the external catalog directly; Icerelay only commits to it.
      const { url, auth, warehouse, timeoutMs } = destination.catalog;
      const client = new UpstreamClient({ url, timeoutMs: timeoutMs ?? 30_000, maxSockets: 8, auth: createUpstreamAuth(auth, url) });
      closers.push(() => client.close());
      replica = restReplica(client, { warehouse });
    } else {
      const built = await buildCatalog(
        { ...config, warehouse: destination.warehouse, s3: destination.s3 },
        logger,
        options.database,
        {
          name: replicaCatalogName(destination.name),
          readOnly: {
            reason: `This is the read-only replica "${destination.name}" of Icerelay: write through the source catalog instead`,
            // Once promoted (failover), the replica, or its promoted tables, take writes.
            except: promotedWrites(promotions, destination.name, destination.namespacePrefix),
          },
          tableConfig: (location) => replicaTableConfig(destination, location),
          stores: replicaStores,
        },
      );
      closers.push(() => built.close());
      replicas.set(destination.name, built.app);
      replica = builtinReplica(built.catalog, replicaStores);
      views = built.catalog;
    }
    shippers.set(destination.name, new Shipper({
      outbox: options.outbox,
      destination: destination.name,
      source: options.source,
      sync: {
        sourceStores,
        replicaStores,
        copyFiles: (items, onProgress) => copyFiles(items, {
          clients: copyClients,
          source: { s3: settings.sourceS3 },
          destination: { s3: destination.s3 },
          destinationWrite: destination.write,
          onProgress,
        }),
        map: destination.map,
        replica,
        retention: destination.retention,
      },
      logger,
      workerId: options.workerId,
      views,
      selector: rules.selectorFor(destination.name),
      beforeRound: () => rules.refresh(),
      namespacePrefix: destination.namespacePrefix,
      onSourceDrop: destination.onSourceDrop,
      onShipped: options.metrics && ((report) => options.metrics!.shipped(report)),
      onFailed: options.metrics && ((failure) => options.metrics!.failed(failure)),
      concurrency: settings.concurrency,
      idleMs: settings.pollMs,
      lockMs: settings.claimTimeoutMs,
    }));
  }

  const wake = () => shippers.forEach((s) => s.wake());
  const reconcile = async () => {
    await rules.refresh();
    const result = await reconcileTables({
      outbox: options.outbox,
      source: options.source,
      selects: (id) => rules.destinationsSelecting(id).length > 0,
      destinationsSelecting: (id) => rules.destinationsSelecting(id),
      rulesChangedAtMs: Math.max(rules.changedAtMs, startedAtMs),
      logger,
    });
    if (result.observed > 0) {
      logger.info({ ...result }, 'reconciliation found source tables ahead of the outbox (new tables or writes that bypassed the proxy); shipping them');
      wake();
    }
    return result;
  };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  const loop = () => {
    running = reconcile()
      .catch((error: unknown) => logger.warn({ err: error }, 'reconciliation pass failed; the next one will retry'))
      .finally(() => {
        running = undefined;
        if (timer !== undefined) timer = setTimeout(loop, settings.reconcileIntervalMs);
      });
  };

  return {
    destinations: settings.destinations.map((d) => d.name),
    replicas,
    shippers,
    rules,
    promoter: new Promoter({
      outbox: options.outbox,
      destinations: settings.destinations.map((d) => ({
        name: d.name,
        catalog: d.catalog.type === 'rest' ? { type: 'rest', url: d.catalog.url } : { type: 'builtin' },
        namespacePrefix: d.namespacePrefix,
        selector: rules.selectorFor(d.name),
      })),
      inFlight: (d) => shippers.get(d)?.inFlight,
    }),
    start() {
      shippers.forEach((s) => s.start());
      if (settings.destinations.length === 0) return;
      timer = setTimeout(loop, 0);
    },
    wake,
    reconcile,
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await running;
      await Promise.all([...shippers.values()].map((s) => s.stop()));
      for (const close of closers.reverse()) await close();
    },
  };
}

/** Load results of a replica: the destination's S3 endpoint and region, and its read credentials if any. */
function replicaTableConfig(destination: Destination, location: string): Record<string, string> {
  const credentials = destination.readCredentials;
  return s3ClientConfig({ s3: { ...destination.s3, credentials }, vendCredentials: credentials !== undefined }, location);
}
