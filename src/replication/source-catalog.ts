/**
 * What the shipper reads from the source catalog besides files: a table's current metadata file
 * (for events that name none, such as multi-table transactions) and a namespace's properties.
 * Either the built-in catalog (read in the state database) or an external Iceberg REST catalog
 * (read over HTTP with the proxy's own upstream credentials).
 */
import type { BuiltinCatalog } from '../catalog/builtin-catalog.ts';
import type { Identifier } from '../catalog/identifiers.ts';
import { decodeBody } from '../proxy/content-encoding.ts';
import { readAll, type UpstreamClient } from '../proxy/upstream-client.ts';
import { isJsonObject, parseJson, type JsonObject } from '../util/json.ts';

export interface SourceCatalog {
  /** The table's current metadata file; undefined when the table does not exist (any more). */
  currentMetadataLocation(id: Identifier): Promise<string | undefined>;
  /** The namespace's properties; undefined when it does not exist. */
  namespaceProperties(namespace: string[]): Promise<Record<string, string> | undefined>;
}

export function builtinSource(catalog: BuiltinCatalog): SourceCatalog {
  return {
    async currentMetadataLocation(id) {
      return (await catalog.tableExists(id)) ? catalog.tableMetadataLocation(id) : undefined;
    },
    async namespaceProperties(namespace) {
      return (await catalog.namespaceExists(namespace)) ? catalog.loadNamespace(namespace) : undefined;
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
  let shape: Promise<{ base: string; separator: string }> | undefined;

  async function get(target: string): Promise<JsonObject | undefined> {
    const response = await upstream.send('GET', target, { accept: 'application/json' }, null);
    const bytes = decodeBody(await readAll(response.body), response.headers) ?? Buffer.alloc(0);
    if (response.status === 404) return undefined;
    const parsed = response.status === 200 ? parseJson(bytes.toString('utf8')) : undefined;
    if (isJsonObject(parsed)) return parsed;
    const hint = response.status === 401 || response.status === 403
      ? ': configure upstream.auth so that Icerelay can read the upstream catalog itself'
      : '';
    throw new SourceReadError(`GET ${target} on the upstream catalog answered ${response.status}${hint}`);
  }

  function routes() {
    shape ??= get('/v1/config').then((config) => {
      const block = (name: string) => (isJsonObject(config?.[name]) ? (config[name] as JsonObject) : {});
      const prefix = block('overrides').prefix ?? block('defaults').prefix;
      const separator = block('overrides')['namespace-separator'] ?? block('defaults')['namespace-separator'];
      return {
        base: typeof prefix === 'string' && prefix !== '' ? `/v1/${prefix}` : '/v1',
        separator: typeof separator === 'string' ? separator : '%1F',
      };
    }).catch((error: unknown) => {
      shape = undefined; // try again next time
      throw error;
    });
    return shape;
  }

  const ns = (levels: string[], separator: string) => levels.map(encodeURIComponent).join(separator);

  return {
    async currentMetadataLocation(id) {
      const { base, separator } = await routes();
      const loaded = await get(`${base}/namespaces/${ns(id.namespace, separator)}/tables/${encodeURIComponent(id.name)}?snapshots=refs`);
      if (!loaded) return undefined;
      const location = loaded['metadata-location'];
      if (typeof location !== 'string') throw new SourceReadError(`the upstream's load result for ${[...id.namespace, id.name].join('.')} has no metadata-location`);
      return location;
    },
    async namespaceProperties(namespace) {
      const { base, separator } = await routes();
      const loaded = await get(`${base}/namespaces/${ns(namespace, separator)}`);
      if (!loaded) return undefined;
      const properties = isJsonObject(loaded.properties) ? loaded.properties : {};
      return Object.fromEntries(Object.entries(properties).filter((e): e is [string, string] => typeof e[1] === 'string'));
    },
  };
}
