/**
 * `icerelay serve` (and `npm start`): the composition root. The proxy on the configured port, in
 * front of the built-in catalog (served on an internal loopback port) or of an external Iceberg
 * REST catalog; the outbox in the same state database; replication to the configured destinations.
 */
import { openDatabase, type StateDatabase } from '../catalog/database.ts';
import { ConfigError, readConfigFile, type ConfigFile } from '../config/config-file.ts';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { CONFIG_HELP, loadServerConfig, type ServerConfig } from '../config/server-config.ts';
import { OutboxStore } from '../outbox/outbox-store.ts';
import { startProxyServer } from '../proxy/proxy-server.ts';
import { createUpstreamAuth } from '../proxy/upstream-auth.ts';
import { UpstreamClient } from '../proxy/upstream-client.ts';
import { resolveReplication } from '../replication/destinations.ts';
import { createReplicationService } from '../replication/replication-service.ts';
import { builtinSource, restSource, type SourceCatalog } from '../replication/source-catalog.ts';
import { createAdminApp } from '../server/admin-routes.ts';
import { databaseCheck, upstreamConfigCheck } from '../server/health.ts';
import { createMetrics } from '../server/metrics.ts';
import { startCatalogServer, type RunningServer } from '../server/builtin-server.ts';
import { createLogger } from '../util/logger.ts';

export const SERVE_HELP = `icerelay serve: the Iceberg REST catalog proxy that records and replicates every commit.

Usage: icerelay serve [--config FILE] [--catalog-only]      (npm start [-- options])

  --config FILE    read settings from this YAML file (also ICERELAY_CONFIG)
  --catalog-only   serve the built-in catalog itself, without the proxy and the outbox

Serves the Iceberg REST API on ICERELAY_HOST:ICERELAY_PORT, forwarding to the built-in catalog
(or ICERELAY_UPSTREAM_URL), recording every commit in the outbox (GET /admin/v1/outbox) and
replicating to the configured destinations (read-only replicas at /replicas/<name>).

Examples:
  icerelay serve                                   built-in catalog, replica "local", ./data
  ICERELAY_PORT=9000 icerelay serve --config icerelay.yaml

Exit codes: 0 stopped by SIGINT/SIGTERM, 1 failed to start, 2 invalid settings or arguments.

${CONFIG_HELP}\n`;

class UsageError extends Error {}

const HEARTBEAT_MS = 5_000;

/** Whether a process of this host is running (EPERM: it runs, as another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Options {
  help: boolean;
  catalogOnly: boolean;
  configPath: string | undefined;
}

function parseArgs(args: string[]): Options {
  const options: Options = { help: false, catalogOnly: false, configPath: process.env.ICERELAY_CONFIG || undefined };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') options.help = true;
    else if (arg === '--catalog-only') options.catalogOnly = true;
    else if (arg === '--config') {
      options.configPath = args[++i];
      if (!options.configPath) throw new UsageError('--config needs a file path');
    } else if (arg.startsWith('--config=')) options.configPath = arg.slice('--config='.length);
    else throw new UsageError(`unknown argument '${arg}' (see --help)`);
  }
  return options;
}

/** A URL fit for logs: without user name and password. */
function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}

// Replaced by one at the configured level once the settings are read.
let logger = createLogger();

/** Runs the server with these arguments (without the command name); exits the process on errors. */
export async function serve(args: string[]): Promise<void> {
  try {
    const options = parseArgs(args);
    if (options.help) {
      process.stdout.write(SERVE_HELP);
      process.exit(0);
    }
    const file: ConfigFile = options.configPath ? readConfigFile(options.configPath, process.env) : {};
    const config = loadServerConfig(process.env, file);
    logger = createLogger({ level: config.logLevel });
    const database = await openDatabase(config.database);
    if (options.catalogOnly) {
      const catalog = await startCatalogServer(config, logger, database);
      logger.info({ url: catalog.url, warehouse: config.warehouse }, `Iceberg REST catalog (no proxy) listening on ${catalog.url}`);
    } else {
      await startProxyInFront(config, file, database);
    }
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UsageError) {
      // A mistake in the settings: said plainly, for the person starting the server.
      process.stderr.write(`icerelay: ${error.message}\n`);
      process.exit(2);
    }
    logger.error({ err: error }, `failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}

async function startProxyInFront(config: ServerConfig, file: ConfigFile, database: StateDatabase) {
  const settings = resolveReplication(config, file);
  // Several processes may share a Postgres state database: each names itself and heartbeats, so
  // none settles another live one's in-flight intent.
  const outbox = new OutboxStore(database, {
    retry: settings.retry,
    instance: {
      id: randomUUID(), host: hostname(), pid: process.pid,
      deadAfterMs: 4 * HEARTBEAT_MS,
      stuckAfterMs: 2 * config.upstreamTimeoutMs + 30_000,
      processAlive,
    },
  });
  await outbox.heartbeat();
  let builtin: RunningServer | undefined;
  let upstreamUrl = config.upstream?.url;
  let sourceClient: UpstreamClient | undefined;
  let source: SourceCatalog;
  if (!upstreamUrl) {
    // The built-in catalog listens on loopback only, on a port of its own: clients go through the proxy.
    builtin = await startCatalogServer({ ...config, host: '127.0.0.1', port: 0 }, logger, database);
    upstreamUrl = builtin.url;
    source = builtinSource(builtin.catalog);
  } else {
    // The shipper's own connection to the upstream, with the proxy's upstream credentials.
    sourceClient = new UpstreamClient({ url: upstreamUrl, timeoutMs: config.upstreamTimeoutMs, maxSockets: 16, auth: createUpstreamAuth(config.upstream!.auth, upstreamUrl) });
    source = restSource(sourceClient);
  }
  const metrics = createMetrics(outbox, settings.destinations.map((d) => d.name));
  // Readiness asks the upstream as the shipper does: with the proxy's own credentials, if any.
  const healthUpstream = sourceClient ?? new UpstreamClient({ url: upstreamUrl, timeoutMs: config.upstreamTimeoutMs, maxSockets: 2 });
  const replication = await createReplicationService({
    config, settings, database, outbox, source, logger, metrics, workerId: `${hostname()}:${process.pid}`,
  });
  const proxy = await startProxyServer({
    host: config.host,
    port: config.port,
    upstreamUrl,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    upstreamAuth: config.upstream ? createUpstreamAuth(config.upstream.auth, config.upstream.url) : undefined,
    publicUrl: config.publicUrl,
    maxBodyBytes: config.maxBodyBytes,
    outbox,
    logger,
    metrics,
    admin: createAdminApp(outbox, {
      destinations: replication.destinations,
      metrics,
      inFlight: (d) => replication.shippers.get(d)?.inFlight,
      wake: () => replication.wake(),
      reconcile: replication.destinations.length > 0 ? () => replication.reconcile() : undefined,
      rules: replication.rules,
      promoter: replication.promoter,
      logger,
      health: { checkUpstream: upstreamConfigCheck(healthUpstream), checkDatabase: databaseCheck(database.db) },
    }),
    replicas: replication.replicas,
    onOutcome: (_entryId, outcome) => {
      if (outcome.status === 'committed') replication.wake();
    },
  });
  replication.start();
  const settled = await proxy.settleUnsettled();
  if (settled.settled + settled.open > 0) logger.info(settled, 'settled outbox entries left open by the previous run');
  // Heartbeat, and settle what crashed processes (or unanswered requests) left open, which holds
  // those tables' replication back until settled.
  const maintenance = setInterval(() => {
    void (async () => {
      await outbox.heartbeat();
      const result = await proxy.settleUnsettled();
      if (result.settled > 0) {
        logger.info(result, 'settled outbox entries left open');
        replication.wake();
      }
    })().catch((error: unknown) => logger.warn({ err: error }, 'heartbeat or settlement failed; retrying'));
  }, HEARTBEAT_MS);
  logger.info(
    {
      url: proxy.url,
      upstream: config.upstream ? withoutCredentials(config.upstream.url) : 'built-in',
      upstreamAuth: config.upstream?.auth.type ?? 'none',
      warehouse: config.warehouse, database: config.database.kind,
    },
    `Iceberg REST catalog listening on ${proxy.url}` +
      (replication.destinations.length > 0
        ? `; read-only replicas at ${replication.destinations.map((d) => `${proxy.url}/replicas/${d}`).join(', ')}`
        : '; no replication configured'),
  );
  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    clearInterval(maintenance);
    await proxy.close();
    await replication.stop();
    sourceClient?.close();
    healthUpstream.close();
    await builtin?.close();
    await database.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
