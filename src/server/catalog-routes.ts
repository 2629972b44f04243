/**
 * The Iceberg REST routes of a catalog, as one table: the same table answers requests and produces
 * the `endpoints` list of /v1/config, so what is advertised is exactly what is served.
 * Paths are the spec's templates; this server uses no `{prefix}`.
 */
import { createHash } from 'node:crypto';
import { badRequest, forbidden } from '../errors/iceberg-error.ts';
import type { BuiltinCatalog, LoadedTable, LoadedView } from '../catalog/builtin-catalog.ts';
import { parseIdentifier, validateNamespace, validateTableName, type Identifier } from '../catalog/identifiers.ts';
import { parseTableUpdates } from '../iceberg/metadata-builder.ts';
import { parseCreateTableRequest } from '../iceberg/new-table.ts';
import { parseTableRequirements } from '../iceberg/requirements.ts';
import { tableMetadataToJsonObject, withReferencedSnapshotsOnly } from '../iceberg/table-metadata.ts';
import { parseCreateViewRequest, parseViewUpdates } from '../iceberg/view-metadata.ts';
import { isJsonObject, toJson, type JsonObject } from '../util/json.ts';
import {
  booleanQuery, decodeNamespace, decodeNamespaceQuery, decodePageToken, decodeSegment, encodePageToken,
  pageSizeQuery, readJsonObject, requiredString, stringRecord,
} from './request.ts';

export type Method = 'GET' | 'POST' | 'DELETE' | 'HEAD';

export interface RouteContext {
  request: Request;
  query: URLSearchParams;
  /** Raw (still encoded) values of the template's `{...}` segments. */
  raw: Record<string, string>;
}

export interface Route {
  method: Method;
  /** The spec's path template, e.g. `/v1/{prefix}/namespaces/{namespace}`. */
  path: string;
  /** Changes catalog state: eligible for Idempotency-Key replay. */
  mutating: boolean;
  handle(ctx: RouteContext): Promise<Response>;
}

export interface CatalogRouteOptions {
  catalog: BuiltinCatalog;
  /** Largest accepted request body. */
  maxBodyBytes: number;
  /** Per-table client configuration (storage endpoint, region, credentials) for load results. */
  tableConfig(location: string): Record<string, string>;
  /** Top-level `/v1/config` extras (e.g. idempotency-key-lifetime). */
  configExtras?: Record<string, unknown>;
  /**
   * A replica: every route that changes state answers 403 and is not advertised. The message
   * says why (e.g. which source catalog takes the writes). `except`: the writes it takes after all
   * (a promoted replica), asked at each request.
   */
  readOnly?: { reason: string; except?: WriteExceptions };
}

/**
 * Writes a read-only catalog takes after all, asked at each request (so that a change made by
 * another process sharing the state database applies at once): every write, only writes to
 * some tables (commits, drops and unregistering of those tables, and transactions over only
 * them), or none.
 */
export interface WriteExceptions {
  scope(): Promise<'all' | 'tables' | 'none'>;
  tableWritable(id: Identifier): Promise<boolean>;
}

/** A route that writes one table named in its path (commit, drop, unregister). */
const isTableWrite = (route: Route) => route.mutating && /\/tables\/\{table\}(\/unregister)?$/.test(route.path);
const isTransaction = (route: Route) => route.path === '/v1/{prefix}/transactions/commit';

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(toJson(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

const noContent = () => new Response(null, { status: 204 });

/** Unique per metadata file and per representation (`snapshots=refs` differs from `all`). */
export function tableETag(metadataLocation: string, snapshots: string): string {
  return `"${createHash('sha256').update(`${metadataLocation}\u0000${snapshots}`).digest('hex').slice(0, 40)}"`;
}

function etagMatches(header: string | null, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((candidate) => {
    const value = candidate.trim().replace(/^W\//, '');
    return value === '*' || value === etag;
  });
}

export function buildCatalogRoutes(options: CatalogRouteOptions): Route[] {
  const { catalog, maxBodyBytes } = options;
  const body = (ctx: RouteContext) => readJsonObject(ctx.request, maxBodyBytes);
  const namespaceOf = (ctx: RouteContext) => validateNamespace(decodeNamespace(ctx.raw.namespace!));
  const tableOf = (ctx: RouteContext): Identifier => ({ namespace: namespaceOf(ctx), name: validateTableName(decodeSegment(ctx.raw.table!)) });
  const viewOf = (ctx: RouteContext): Identifier => ({ namespace: namespaceOf(ctx), name: validateTableName(decodeSegment(ctx.raw.view!), 'view name') });
  const page = (ctx: RouteContext) => ({ after: decodePageToken(ctx.query.get('pageToken')), limit: pageSizeQuery(ctx.query.get('pageSize')) });

  const loadTableResult = (t: LoadedTable, snapshots = 'all'): JsonObject => {
    const metadata = snapshots === 'refs' ? withReferencedSnapshotsOnly(t.metadata) : t.metadata;
    return {
      'metadata-location': t.metadataLocation,
      metadata: tableMetadataToJsonObject(metadata) as JsonObject,
      config: options.tableConfig(t.metadata.location),
    };
  };
  const tableResponse = (t: LoadedTable, snapshots = 'all') =>
    json(200, loadTableResult(t, snapshots), t.metadataLocation ? { etag: tableETag(t.metadataLocation, snapshots) } : {});
  const viewResponse = (v: LoadedView) =>
    json(200, { 'metadata-location': v.metadataLocation, metadata: v.metadata as unknown as JsonObject, config: options.tableConfig(v.metadata.location) });
  const snapshotsMode = (ctx: RouteContext) => {
    const mode = ctx.query.get('snapshots') ?? 'all';
    if (mode !== 'all' && mode !== 'refs') throw badRequest(`Invalid query parameter snapshots: expected all or refs, got '${mode}'`);
    return mode;
  };

  const routes: Route[] = [
    {
      method: 'GET', path: '/v1/config', mutating: false,
      handle: async () => json(200, {
        defaults: {},
        overrides: {},
        endpoints: (await advertised()).map((r) => `${r.method} ${r.path}`),
        ...options.configExtras,
      }),
    },
    {
      method: 'GET', path: '/v1/{prefix}/namespaces', mutating: false,
      handle: async (ctx) => {
        const parentValue = ctx.query.get('parent');
        const parent = parentValue ? validateNamespace(decodeNamespaceQuery(parentValue)) : [];
        const result = await catalog.listNamespaces(parent, page(ctx));
        return json(200, { namespaces: result.items, 'next-page-token': encodePageToken(result.next) });
      },
    },
    {
      method: 'POST', path: '/v1/{prefix}/namespaces', mutating: true,
      handle: async (ctx) => {
        const b = await body(ctx);
        const levels = validateNamespace(b.namespace);
        const properties = await catalog.createNamespace(levels, stringRecord(b.properties, 'properties'));
        return json(200, { namespace: levels, properties });
      },
    },
    {
      method: 'GET', path: '/v1/{prefix}/namespaces/{namespace}', mutating: false,
      handle: async (ctx) => {
        const levels = namespaceOf(ctx);
        return json(200, { namespace: levels, properties: await catalog.loadNamespace(levels) });
      },
    },
    {
      method: 'HEAD', path: '/v1/{prefix}/namespaces/{namespace}', mutating: false,
      handle: async (ctx) => new Response(null, { status: (await catalog.namespaceExists(namespaceOf(ctx))) ? 204 : 404 }),
    },
    {
      method: 'DELETE', path: '/v1/{prefix}/namespaces/{namespace}', mutating: true,
      handle: async (ctx) => {
        await catalog.dropNamespace(namespaceOf(ctx));
        return noContent();
      },
    },
    {
      method: 'POST', path: '/v1/{prefix}/namespaces/{namespace}/properties', mutating: true,
      handle: async (ctx) => {
        const levels = namespaceOf(ctx);
        const b = await body(ctx);
        const removals = b.removals ?? [];
        if (!Array.isArray(removals) || removals.some((r) => typeof r !== 'string')) throw badRequest('Invalid request: removals must be a list of strings');
        const result = await catalog.updateNamespaceProperties(levels, removals as string[], stringRecord(b.updates, 'updates'));
        return json(200, result);
      },
    },
    {
      method: 'GET', path: '/v1/{prefix}/namespaces/{namespace}/tables', mutating: false,
      handle: async (ctx) => {
        const result = await catalog.listEntities(namespaceOf(ctx), 'table', page(ctx));
        return json(200, { identifiers: result.items, 'next-page-token': encodePageToken(result.next) });
      },
    },
    {
      method: 'POST', path: '/v1/{prefix}/namespaces/{namespace}/tables', mutating: true,
      handle: async (ctx) => {
        const levels = namespaceOf(ctx);
        const request = parseCreateTableRequest(await body(ctx));
        validateTableName(request.name);
        return tableResponse(await catalog.createTable(levels, request));
      },
    },
    {
      method: 'POST', path: '/v1/{prefix}/namespaces/{namespace}/register', mutating: true,
      handle: async (ctx) => {
        const levels = namespaceOf(ctx);
        const b = await body(ctx);
        const name = validateTableName(requiredString(b, 'name'));
        const overwrite = b.overwrite ?? false;
        if (typeof overwrite !== 'boolean') throw badRequest('Invalid request: overwrite must be a boolean');
        return tableResponse(await catalog.registerTable(levels, name, requiredString(b, 'metadata-location'), overwrite));
      },
    },
    {
      method: 'GET', path: '/v1/{prefix}/namespaces/{namespace}/tables/{table}', mutating: false,
      handle: async (ctx) => {
        const id = tableOf(ctx);
        const mode = snapshotsMode(ctx);
        const ifNoneMatch = ctx.request.headers.get('if-none-match');
        if (ifNoneMatch) {
          // Answer 304 from the pointer alone, without reading the metadata file.
          const etag = tableETag(await catalog.tableMetadataLocation(id), mode);
          if (etagMatches(ifNoneMatch, etag)) return new Response(null, { status: 304, headers: { etag } });
        }
        return tableResponse(await catalog.loadTable(id), mode);
      },
    },
    {
      method: 'HEAD', path: '/v1/{prefix}/namespaces/{namespace}/tables/{table}', mutating: false,
      handle: async (ctx) => new Response(null, { status: (await catalog.tableExists(tableOf(ctx))) ? 204 : 404 }),
    },
    {
      method: 'POST', path: '/v1/{prefix}/namespaces/{namespace}/tables/{table}', mutating: true,
      handle: async (ctx) => {
        const identifier = tableOf(ctx);
        const b = await body(ctx);
        if (b.identifier !== undefined && b.identifier !== null) {
          const sent = parseIdentifier(b.identifier, 'identifier');
          if (sent.name !== identifier.name || sent.namespace.join('\u001f') !== identifier.namespace.join('\u001f')) {
            throw badRequest('Invalid commit: identifier in the body does not match the path');
          }
        }
        const result = await catalog.commitTable({
          identifier, requirements: parseTableRequirements(b.requirements), updates: parseTableUpdates(b.updates),
        });
        return json(200, { 'metadata-location': result.metadataLocation, metadata: tableMetadataToJsonObject(result.metadata) as JsonObject }, {
          etag: tableETag(result.metadataLocation, 'all'),
        });
      },
    },
    {
      method: 'DELETE', path: '/v1/{prefix}/namespaces/{namespace}/tables/{table}', mutating: true,
      handle: async (ctx) => {
        await catalog.dropTable(tableOf(ctx), booleanQuery(ctx.query.get('purgeRequested'), 'purgeRequested', false));
        return noContent();
      },
    },
    {
      method: 'POST', path: '/v1/{prefix}/namespaces/{namespace}/tables/{table}/unregister', mutating: true,
      handle: async (ctx) => {
        const result = await catalog.unregisterTable(tableOf(ctx));
        return json(200, { 'metadata-location': result.metadataLocation, metadata: tableMetadataToJsonObject(result.metadata) as JsonObject });
      },
    },
    {
      method: 'GET', path: '/v1/{prefix}/namespaces/{namespace}/tables/{table}/credentials', mutating: false,
      handle: async (ctx) => {
        const { metadata } = await catalog.loadTable(tableOf(ctx));
        const config = options.tableConfig(metadata.location);
        return json(200, { 'storage-credentials': Object.keys(config).length ? [{ prefix: metadata.location, config }] : [] });
      },
    },
    {
      method: 'POST', path: '/v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics', mutating: false,
      handle: async (ctx) => {
        const id = tableOf(ctx);
        await body(ctx);
        if (!(await catalog.tableExists(id))) await catalog.loadTable(id); // raises the 404
        return noContent();
      },
    },
    {
      method: 'POST', path: '/v1/{prefix}/tables/rename', mutating: true,
      handle: async (ctx) => {
        const b = await body(ctx);
        await catalog.renameTable(parseIdentifier(b.source, 'source'), parseIdentifier(b.destination, 'destination'));
        return noContent();
      },
    },
    {
      method: 'POST', path: '/v1/{prefix}/transactions/commit', mutating: true,
      handle: async (ctx) => {
        const b = await body(ctx);
        const changes = b['table-changes'];
        if (!Array.isArray(changes) || changes.length === 0) throw badRequest('Invalid transaction: table-changes must be a non-empty list');
        await catalog.commitTables(changes.map((c, i) => {
          if (!isJsonObject(c)) throw badRequest(`Invalid transaction: table-changes[${i}] must be an object`);
          return {
            identifier: parseIdentifier(c.identifier, `table-changes[${i}].identifier`),
            requirements: parseTableRequirements(c.requirements),
            updates: parseTableUpdates(c.updates),
          };
        }));
        return noContent();
      },
    },
    {
      method: 'GET', path: '/v1/{prefix}/namespaces/{namespace}/views', mutating: false,
      handle: async (ctx) => {
        const result = await catalog.listEntities(namespaceOf(ctx), 'view', page(ctx));
        return json(200, { identifiers: result.items, 'next-page-token': encodePageToken(result.next) });
      },
    },
    {
      method: 'POST', path: '/v1/{prefix}/namespaces/{namespace}/views', mutating: true,
      handle: async (ctx) => {
        const levels = namespaceOf(ctx);
        const request = parseCreateViewRequest(await body(ctx));
        validateTableName(request.name, 'view name');
        return viewResponse(await catalog.createView(levels, request));
      },
    },
    {
      method: 'GET', path: '/v1/{prefix}/namespaces/{namespace}/views/{view}', mutating: false,
      handle: async (ctx) => viewResponse(await catalog.loadView(viewOf(ctx))),
    },
    {
      method: 'HEAD', path: '/v1/{prefix}/namespaces/{namespace}/views/{view}', mutating: false,
      handle: async (ctx) => new Response(null, { status: (await catalog.viewExists(viewOf(ctx))) ? 204 : 404 }),
    },
    {
      method: 'POST', path: '/v1/{prefix}/namespaces/{namespace}/views/{view}', mutating: true,
      handle: async (ctx) => {
        const id = viewOf(ctx);
        const b = await body(ctx);
        return viewResponse(await catalog.replaceView(id, b.requirements, parseViewUpdates(b.updates)));
      },
    },
    {
      method: 'DELETE', path: '/v1/{prefix}/namespaces/{namespace}/views/{view}', mutating: true,
      handle: async (ctx) => {
        await catalog.dropView(viewOf(ctx));
        return noContent();
      },
    },
    {
      method: 'POST', path: '/v1/{prefix}/views/rename', mutating: true,
      handle: async (ctx) => {
        const b = await body(ctx);
        await catalog.renameView(parseIdentifier(b.source, 'source'), parseIdentifier(b.destination, 'destination'));
        return noContent();
      },
    },
    {
      method: 'POST', path: '/v1/{prefix}/namespaces/{namespace}/register-view', mutating: true,
      handle: async (ctx) => {
        const levels = namespaceOf(ctx);
        const b = await body(ctx);
        const name = validateTableName(requiredString(b, 'name'), 'view name');
        return viewResponse(await catalog.registerView(levels, name, requiredString(b, 'metadata-location')));
      },
    },
  ];
  /** The routes /v1/config lists: on a read-only catalog, the reads and the writes it takes now. */
  async function advertised(): Promise<Route[]> {
    const served = routes.filter((r) => r.path !== '/v1/config');
    if (!options.readOnly) return served;
    const scope = (await options.readOnly.except?.scope()) ?? 'none';
    return served.filter((r) => !r.mutating || scope === 'all' || (scope === 'tables' && (isTableWrite(r) || isTransaction(r))));
  }

  /** Whether a read-only catalog takes this write after all (see WriteExceptions). */
  async function writeAllowed(route: Route, ctx: RouteContext, except: WriteExceptions): Promise<boolean> {
    const scope = await except.scope();
    if (scope !== 'tables') return scope === 'all';
    if (isTableWrite(route)) return except.tableWritable(tableOf(ctx));
    if (!isTransaction(route)) return false;
    let identifiers: Identifier[];
    try {
      const changes = (await readJsonObject(ctx.request.clone(), maxBodyBytes))['table-changes'];
      identifiers = (Array.isArray(changes) ? changes : []).map((c, i) => parseIdentifier(isJsonObject(c) ? c.identifier : undefined, `table-changes[${i}].identifier`));
    } catch {
      return true; // a malformed transaction: the route itself answers 400 before writing anything
    }
    for (const id of identifiers) if (!(await except.tableWritable(id))) return false;
    return true;
  }

  if (!options.readOnly) return routes;
  const { reason, except } = options.readOnly;
  return routes.map((route) => (route.mutating ? {
    ...route,
    handle: async (ctx: RouteContext) => {
      if (except && (await writeAllowed(route, ctx, except))) return route.handle(ctx);
      throw forbidden(reason);
    },
  } : route));
}
