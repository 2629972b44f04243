/**
 * Talking to an external Iceberg REST catalog as the shipper does (reading a source, committing
 * to a replica): JSON requests over the upstream client, and the route shape its `/v1/config`
 * announces (prefix and namespace separator).
 */
import type { Identifier } from '../catalog/identifiers.ts';
import { decodeBody } from '../proxy/content-encoding.ts';
import { readAll, type UpstreamClient } from '../proxy/upstream-client.ts';
import { isJsonObject, parseJson, toJson, type JsonObject } from '../util/json.ts';

export interface RestAnswer {
  status: number;
  /** The body when it is a JSON object. */
  json: JsonObject | undefined;
  text: string;
}

/** Sends one request with an optional JSON body; the answer decoded (gzip and the like undone). */
export async function sendJson(client: UpstreamClient, method: string, target: string, body?: unknown): Promise<RestAnswer> {
  const payload = body === undefined ? null : Buffer.from(toJson(body as never));
  const headers = { accept: 'application/json', ...(payload ? { 'content-type': 'application/json' } : {}) };
  const response = await client.send(method, target, headers, payload);
  const text = (decodeBody(await readAll(response.body), response.headers) ?? Buffer.alloc(0)).toString('utf8');
  const parsed = text === '' ? undefined : parseJson(text);
  return { status: response.status, json: isJsonObject(parsed) ? parsed : undefined, text };
}

/** Paths of a catalog's routes, with its prefix and namespace separator. */
export interface CatalogRoutes {
  /** `/v1` or `/v1/<prefix>`. */
  base: string;
  /** The levels as one path segment (or `parent` query value): encoded, joined by the separator. */
  encodedNamespace(levels: string[]): string;
  namespace(levels: string[]): string;
  table(id: Identifier): string;
  view(id: Identifier): string;
}

/** The routes a `/v1/config` answer announces (`overrides` win over `defaults`, as for clients). */
export function catalogRoutes(config: JsonObject | undefined): CatalogRoutes {
  const block = (name: string) => (isJsonObject(config?.[name]) ? (config[name] as JsonObject) : {});
  const prefix = block('overrides').prefix ?? block('defaults').prefix;
  const announced = block('overrides')['namespace-separator'] ?? block('defaults')['namespace-separator'];
  const separator = typeof announced === 'string' ? announced : '%1F';
  const base = typeof prefix === 'string' && prefix !== '' ? `/v1/${prefix}` : '/v1';
  const encodedNamespace = (levels: string[]) => levels.map(encodeURIComponent).join(separator);
  const namespace = (levels: string[]) => `${base}/namespaces/${encodedNamespace(levels)}`;
  return {
    base,
    encodedNamespace,
    namespace,
    table: (id) => `${namespace(id.namespace)}/tables/${encodeURIComponent(id.name)}`,
    view: (id) => `${namespace(id.namespace)}/views/${encodeURIComponent(id.name)}`,
  };
}

/** Loads once and keeps the result; a failed load is tried again on the next call. */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
