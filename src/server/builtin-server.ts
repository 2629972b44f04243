/**
 * Assembles a running built-in catalog from its config: database, object stores, catalog, HTTP app.
 * Used by main.ts and by tests that need a real server on a port.
 */
import { BuiltinCatalog } from '../catalog/builtin-catalog.ts';
import { CatalogStore } from '../catalog/catalog-store.ts';
import { openDatabase, type StateDatabase } from '../catalog/database.ts';
import { s3ClientConfig, type ServerConfig } from '../config/server-config.ts';
import { createStoreResolver, type StoreResolver } from '../storage/store-resolver.ts';
import type { Logger } from '../util/logger.ts';
import { listen, requestListener } from './http-server.ts';
import { createCatalogApp } from './catalog-app.ts';
import type { CatalogRouteOptions } from './catalog-routes.ts';

export const SOURCE_CATALOG = 'source';

export interface RunningServer {
  url: string;
  catalog: BuiltinCatalog;
  close(): Promise<void>;
}

/** Which catalog of the state database an app serves: the source (default) or a read-only (or promoted) replica. */
export interface CatalogRole {
  /** The `catalog` column value its rows carry. */
  name: string;
  readOnly?: CatalogRouteOptions['readOnly'];
  /** What load results tell clients about a table's storage; default: from the server config. */
  tableConfig?: (location: string) => Record<string, string>;
  /**
   * The object stores it reads and writes through; default: its own, from the server config. A
   * replica shares the shipper's, so that a metadata file the shipper wrote is registered
   * without being read back (see metadata-text-cache.ts). The owner destroys shared stores.
   */
  stores?: StoreResolver;
}

/** The catalog name of a destination's replica in the state database. */
export const replicaCatalogName = (destination: string) => `replica:${destination}`;

/**
 * Builds the catalog app. Pass `database` to share one already open (one SQLite handle per
 * process); it is then left open by close().
 */
export async function buildCatalog(config: ServerConfig, logger: Logger, shared?: StateDatabase, role: CatalogRole = { name: SOURCE_CATALOG }) {
  const database = shared ?? (await openDatabase(config.database));
  const stores = role.stores ?? createStoreResolver({ s3: config.s3 });
  const catalog = new BuiltinCatalog({ store: new CatalogStore(database, role.name), warehouse: config.warehouse, stores });
  const app = createCatalogApp({
    catalog,
    maxBodyBytes: config.maxBodyBytes,
    tableConfig: role.tableConfig ?? ((location) => s3ClientConfig(config, location)),
    idempotencyLifetimeMs: config.idempotencyLifetimeMs,
    logger,
    readOnly: role.readOnly,
  });
  const close = async () => {
    if (!role.stores) stores.destroy();
    if (!shared) await database.close();
  };
  return { app, catalog, database, close };
}

export async function startCatalogServer(config: ServerConfig, logger: Logger, shared?: StateDatabase): Promise<RunningServer> {
  const built = await buildCatalog(config, logger, shared);
  const server = await listen(requestListener(built.app.fetch), config.host, config.port);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return {
    url: `http://${config.host}:${port}`,
    catalog: built.catalog,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await built.close();
    },
  };
}
