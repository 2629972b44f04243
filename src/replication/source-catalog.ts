/**
 * What the shipper reads from the source catalog besides files: a table's current metadata file
 * (for events that name none, such as multi-table transactions) and a namespace's properties.
 * Either the built-in catalog (read in the state database) or an external Iceberg REST catalog
 * (read over HTTP with the proxy's own upstream credentials).
 */
import type { BuiltinCatalog } from '../catalog/builtin-catalog.ts';
import type { Identifier } from '../catalog/identifiers.ts';
import type { UpstreamClient } from '../proxy/upstream-client.ts';
import { isJsonObject, type JsonObject } from '../util/json.ts';
import { catalogRoutes, loadOnce, sendJson } from './rest-catalog.ts';

export interface SourceCatalog {
  /** The table's current metadata file; undefined when the table does not exist (any more). */
  currentMetadataLocation(id: Identifier): Promise<string | undefined>;
  /** The view's current metadata file; undefined when the view does not exist (any more). */
  currentViewMetadataLocation(id: Identifier): Promise<string | undefined>;
  /** The namespace's properties; undefined when it does not exist. */
  namespaceProperties(namespace: string[]): Promise<Record<string, string> | undefined>;
  /** Every table, namespace by namespace (nested ones too). */
  listTables(): AsyncIterable<Identifier>;
}

/** Walks namespaces depth first, listing each one's tables; `children` and `tables` read one namespace. */
async function* walk(
  children: (parent: string[]) => Promise<string[][]>,
  tables: (namespace: string[]) => Promise<Identifier[]>,
  parent: string[] = [],
): AsyncGenerator<Identifier> {
  for (const namespace of await children(parent)) {
    yield* await tables(namespace);
    yield* walk(children, tables, namespace);
  }
}

export function builtinSource(catalog: BuiltinCatalog): SourceCatalog {
  return {
    async currentMetadataLocation(id) {
      return (await catalog.tableExists(id)) ? catalog.tableMetadataLocation(id) : undefined;
    },
    async currentViewMetadataLocation(id) {
      return (await catalog.viewExists(id)) ? (await catalog.loadView(id)).metadataLocation : undefined;
    },
    async namespaceProperties(namespace) {
      return (await catalog.namespaceExists(namespace)) ? catalog.loadNamespace(namespace) : undefined;
    },
    listTables() {
      const all = async <T>(read: (after: string | undefined) => Promise<{ items: T[]; next: string | undefined }>) => {
        const out: T[] = [];
        let after: string | undefined;
        do {
          const page = await read(after);
          out.push(...page.items);
          after = page.next;
        } while (after !== undefined);
        return out;
      };
      // A namespace dropped during the walk has no tables left to list.
      const orNone = <T>(p: Promise<T[]>) => p.catch((error: unknown) => {
        if ((error as { type?: string }).type === 'NoSuchNamespaceException') return [] as T[];
        throw error;
      });
      return walk(
        (parent) => orNone(all((after) => catalog.listNamespaces(parent, { after, limit: 1000 }))),
        (namespace) => orNone(all((after) => catalog.listEntities(namespace, 'table', { after, limit: 1000 }))),
      );
    },
  };
}

/** The upstream answered something other than the entity or a 404. */
export class SourceReadError extends Error {
  override readonly name = 'SourceReadError';
}

/**
 * An external Iceberg REST catalog as the source. Its route prefix and namespace separator come
 * from its `/v1/config` (read once). With `passthrough` upstream auth the proxy has no credentials
 * of its own, so a secured upstream answers 401/403: the error says to configure `upstream.auth`.
 */
export function restSource(upstream: UpstreamClient): SourceCatalog {
  async function get(target: string): Promise<JsonObject | undefined> {
    const answer = await sendJson(upstream, 'GET', target);
    if (answer.status === 404) return undefined;
    if (answer.status === 200 && answer.json) return answer.json;
    const hint = answer.status === 401 || answer.status === 403
      ? ': configure upstream.auth so that Icerelay can read the upstream catalog itself'
      : '';
    throw new SourceReadError(`GET ${target} on the upstream catalog answered ${answer.status}${hint}`);
  }

  const routes = loadOnce(async () => catalogRoutes(await get('/v1/config')));

  /** Every page of a list route; a namespace gone meanwhile lists nothing. */
  async function pages<T>(target: string, field: string): Promise<T[]> {
    const out: T[] = [];
    let token: string | undefined;
    do {
      const separator = target.includes('?') ? '&' : '?';
      const page = await get(token === undefined ? target : `${target}${separator}pageToken=${encodeURIComponent(token)}`);
      if (!page) return out;
      out.push(...((Array.isArray(page[field]) ? page[field] : []) as T[]));
      const next = page['next-page-token'];
      token = typeof next === 'string' && next !== '' ? next : undefined;
    } while (token !== undefined);
    return out;
  }

  async function metadataLocation(path: string, what: string): Promise<string | undefined> {
    const loaded = await get(path);
    if (!loaded) return undefined;
    const location = loaded['metadata-location'];
    if (typeof location !== 'string') throw new SourceReadError(`the upstream's load result for ${what} has no metadata-location`);
    return location;
  }

  return {
    async currentMetadataLocation(id) {
      return metadataLocation(`${(await routes()).table(id)}?snapshots=refs`, [...id.namespace, id.name].join('.'));
    },
    async currentViewMetadataLocation(id) {
      return metadataLocation((await routes()).view(id), `view ${[...id.namespace, id.name].join('.')}`);
    },
    async namespaceProperties(namespace) {
      const loaded = await get((await routes()).namespace(namespace));
      if (!loaded) return undefined;
      const properties = isJsonObject(loaded.properties) ? loaded.properties : {};
      return Object.fromEntries(Object.entries(properties).filter((e): e is [string, string] => typeof e[1] === 'string'));
    },
    listTables() {
      return walk(
        async (parent) => {
          const r = await routes();
          const query = parent.length > 0 ? `?parent=${r.encodedNamespace(parent)}` : '';
          return pages<string[]>(`${r.base}/namespaces${query}`, 'namespaces');
        },
        async (namespace) => pages<Identifier>(`${(await routes()).namespace(namespace)}/tables`, 'identifiers'),
      );
    },
  };
}
