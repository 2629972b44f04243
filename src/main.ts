/**
 * Composition root: reads the configuration and serves the built-in Iceberg REST catalog.
 * Nothing imports this file.
 */
import { CONFIG_HELP, loadServerConfig } from './config.ts';
import { startCatalogServer } from './server/builtin-server.ts';
import { createLogger } from './util/logger.ts';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(`icerelay: an Apache Iceberg REST catalog.\n\nUsage: npm start\n\n${CONFIG_HELP}\n`);
  process.exit(0);
}

const logger = createLogger();
try {
  const config = loadServerConfig();
  const server = await startCatalogServer(config, logger);
  logger.info({ url: server.url, warehouse: config.warehouse, database: config.database.kind }, `Iceberg REST catalog listening on ${server.url}`);
  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
} catch (error) {
  logger.error({ err: error }, `failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
