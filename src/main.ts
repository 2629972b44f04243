/**
 * Composition root: the proxy on the configured port, in front of the built-in catalog (served on
 * an internal loopback port) or of an external Iceberg REST catalog; the outbox in the same state
 * database. Nothing imports this file.
 */
import { openDatabase, type StateDatabase } from './catalog/database.ts';
import { CONFIG_HELP, loadServerConfig, type ServerConfig } from './config.ts';
import { OutboxStore } from './outbox/outbox-store.ts';
import { startProxyServer } from './proxy/proxy-server.ts';
import { createAdminApp } from './server/admin-routes.ts';
import { startCatalogServer, type RunningServer } from './server/builtin-server.ts';
import { createLogger } from './util/logger.ts';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(`icerelay: an Apache Iceberg REST catalog proxy that records every commit for replication.

Usage: npm start [-- --catalog-only]

  --catalog-only   serve the built-in catalog itself, without the proxy and the outbox

Serves the Iceberg REST API on ICERELAY_HOST:ICERELAY_PORT, forwarding to the built-in catalog
(or ICERELAY_UPSTREAM_URL) and recording every commit in the outbox (GET /admin/v1/outbox).

${CONFIG_HELP}\n`);
  process.exit(0);
}

const logger = createLogger();
try {
  const config = loadServerConfig();
  const database = await openDatabase(config.database);
  if (process.argv.includes('--catalog-only')) {
    const catalog = await startCatalogServer(config, logger, database);
    logger.info({ url: catalog.url, warehouse: config.warehouse }, `Iceberg REST catalog (no proxy) listening on ${catalog.url}`);
  } else {
    await startProxyInFront(config, database);
  }
} catch (error) {
  logger.error({ err: error }, `failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

async function startProxyInFront(config: ServerConfig, database: StateDatabase) {
  const outbox = new OutboxStore(database);
  let builtin: RunningServer | undefined;
  let upstreamUrl = config.upstreamUrl;
  if (!upstreamUrl) {
    // The built-in catalog listens on loopback only, on a port of its own: clients go through the proxy.
    builtin = await startCatalogServer({ ...config, host: '127.0.0.1', port: 0 }, logger, database);
    upstreamUrl = builtin.url;
  }
  const proxy = await startProxyServer({
    host: config.host,
    port: config.port,
    upstreamUrl,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    maxBodyBytes: config.maxBodyBytes,
    outbox,
    logger,
    admin: createAdminApp(outbox),
  });
  const settled = await proxy.settleUnsettled();
  if (settled.settled + settled.open > 0) logger.info(settled, 'settled outbox entries left open by the previous run');
  logger.info(
    { url: proxy.url, upstream: config.upstreamUrl ?? 'built-in', warehouse: config.warehouse, database: config.database.kind },
    `Iceberg REST catalog listening on ${proxy.url}`,
  );
  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await proxy.close();
    await builtin?.close();
    await database.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
