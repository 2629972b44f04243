/**
 * Recognizes the requests that change catalog state, from the raw path (after the catalog prefix)
 * and the body, and names the entities they touch. Everything else is forwarded without a look.
 */
import type { EntityRef, MutationKind } from '../outbox/outbox.ts';
import { decodeNamespace, decodeSegment } from '../server/request.ts';
import { isJsonObject, parseJson, type JsonObject } from '../util/json.ts';

export interface Mutation {
  kind: MutationKind;
  entities: EntityRef[];
  /** The parsed body (lossless), when it was JSON. */
  body: JsonObject | undefined;
  /** The catalog prefix of the request path, raw ('' for none): reads that settle it use the same. */
  prefix: string;
}

interface Template {
  method: string;
  segments: string[];
  kind: MutationKind;
}

const TEMPLATES: Template[] = [
  ['POST', 'namespaces', 'create-namespace'],
  ['DELETE', 'namespaces/{namespace}', 'drop-namespace'],
  ['POST', 'namespaces/{namespace}/properties', 'update-namespace-properties'],
  ['POST', 'namespaces/{namespace}/tables', 'create-table'],
  ['POST', 'namespaces/{namespace}/register', 'register-table'],
  ['POST', 'namespaces/{namespace}/tables/{table}', 'commit-table'],
  ['DELETE', 'namespaces/{namespace}/tables/{table}', 'drop-table'],
  ['POST', 'namespaces/{namespace}/tables/{table}/unregister', 'unregister-table'],
  ['POST', 'tables/rename', 'rename-table'],
  ['POST', 'transactions/commit', 'commit-transaction'],
  ['POST', 'namespaces/{namespace}/views', 'create-view'],
  ['POST', 'namespaces/{namespace}/views/{view}', 'replace-view'],
  ['DELETE', 'namespaces/{namespace}/views/{view}', 'drop-view'],
  ['POST', 'views/rename', 'rename-view'],
  ['POST', 'namespaces/{namespace}/register-view', 'register-view'],
].map(([method, path, kind]) => ({ method: method!, segments: path!.split('/'), kind: kind as MutationKind }));

/** Decodes path parts as the catalog does; a malformed one stays raw (the upstream will reject it). */
function decodeLevel(raw: string): string {
  try {
    return decodeSegment(raw);
  } catch {
    return raw;
  }
}

function decodeNamespaceSegment(raw: string, separators: Iterable<string>): string[] {
  try {
    return decodeNamespace(raw, separators);
  } catch {
    return [raw];
  }
}

function identifierOf(value: unknown): EntityRef | undefined {
  if (!isJsonObject(value) || !Array.isArray(value.namespace) || typeof value.name !== 'string') return undefined;
  if (!value.namespace.every((l) => typeof l === 'string')) return undefined;
  return { namespace: value.namespace as string[], name: value.name };
}

function templateOf(method: string, routeSegments: string[]): Template | undefined {
  return TEMPLATES.find((t) => t.method === method && t.segments.length === routeSegments.length &&
    t.segments.every((s, i) => s.startsWith('{') || s === routeSegments[i]));
}

/**
 * Splits a raw request path into the catalog prefix and the route after it. The prefixes the
 * upstream announced in `/v1/config` are tried first (a prefix may contain `/`, or be a
 * URL-encoded ARN), then none; a mutation under a prefix the proxy has not seen yet (a restart
 * before any client asked for the config) is still found by where a mutation route starts.
 */
export function splitRoute(method: string, rawPath: string, prefixes: Iterable<string>): { prefix: string; segments: string[] } | undefined {
  if (!rawPath.startsWith('/v1/')) return undefined;
  const rest = rawPath.slice(4);
  const candidates = [...prefixes].filter((p) => p !== '').sort((a, b) => b.length - a.length);
  for (const prefix of candidates) {
    for (const spelling of [prefix, encodeURIComponent(prefix)]) {
      if (rest.startsWith(`${spelling}/`)) return { prefix: spelling, segments: rest.slice(spelling.length + 1).split('/') };
    }
  }
  const segments = rest.split('/');
  if (templateOf(method, segments)) return { prefix: '', segments };
  for (let start = 1; start < segments.length; start++) {
    if (templateOf(method, segments.slice(start))) return { prefix: segments.slice(0, start).join('/'), segments: segments.slice(start) };
  }
  return { prefix: '', segments };
}

/** The mutation a request (raw path with its query) performs, or undefined. */
export function classifyRequest(method: string, rawPath: string, bodyText: string | null, prefixes: Iterable<string>, separators: Iterable<string>): Mutation | undefined {
  const route = splitRoute(method, rawPath, prefixes);
  const mutation = route && classifyMutation(method, route.segments, bodyText, separators);
  return mutation && { ...mutation, prefix: route.prefix };
}

/**
 * The mutation a request performs, or undefined for reads (and for a staged create, which changes
 * nothing until its completing commit). `routePath` is the raw path after `/v1/` and the prefix.
 */
export function classifyMutation(method: string, routeSegments: string[], bodyText: string | null, separators: Iterable<string>): Omit<Mutation, 'prefix'> | undefined {
  const template = templateOf(method, routeSegments);
  if (!template) return undefined;
  let body: JsonObject | undefined;
  if (bodyText) {
    try {
      const parsed = parseJson(bodyText);
      if (isJsonObject(parsed)) body = parsed;
    } catch {
      // Malformed: the upstream will reject it; the intent is still recorded.
    }
  }
  const raw = (name: string) => routeSegments[template.segments.indexOf(`{${name}}`)]!;
  const namespace = template.segments.includes('{namespace}') ? decodeNamespaceSegment(raw('namespace'), separators) : undefined;
  const entities: EntityRef[] = [];
  switch (template.kind) {
    case 'create-namespace':
      if (body && Array.isArray(body.namespace)) entities.push({ namespace: body.namespace.map(String) });
      break;
    case 'drop-namespace':
    case 'update-namespace-properties':
      entities.push({ namespace: namespace! });
      break;
    case 'create-table':
    case 'create-view':
    case 'register-table':
    case 'register-view':
      if (template.kind === 'create-table' && body?.['stage-create'] === true) return undefined;
      if (typeof body?.name === 'string') entities.push({ namespace: namespace!, name: body.name });
      break;
    case 'commit-table':
    case 'drop-table':
    case 'unregister-table':
      entities.push({ namespace: namespace!, name: decodeLevel(raw('table')) });
      break;
    case 'replace-view':
    case 'drop-view':
      entities.push({ namespace: namespace!, name: decodeLevel(raw('view')) });
      break;
    case 'rename-table':
    case 'rename-view':
      for (const key of ['source', 'destination']) {
        const id = identifierOf(body?.[key]);
        if (id) entities.push(id);
      }
      break;
    case 'commit-transaction':
      for (const change of Array.isArray(body?.['table-changes']) ? body['table-changes'] : []) {
        const id = isJsonObject(change) ? identifierOf(change.identifier) : undefined;
        if (id) entities.push(id);
      }
      break;
  }
  return { kind: template.kind, entities, body };
}

/** Snapshot ids added by a table commit's updates, as decimal strings. */
export function addedSnapshotIds(updates: unknown): string[] {
  if (!Array.isArray(updates)) return [];
  const ids: string[] = [];
  for (const u of updates) {
    if (isJsonObject(u) && u.action === 'add-snapshot' && isJsonObject(u.snapshot)) {
      const id = u.snapshot['snapshot-id'];
      if (typeof id === 'number' || typeof id === 'bigint') ids.push(id.toString());
    }
  }
  return ids;
}

/** The updates of each entity a commit touches (one for a table commit, one per change in a transaction). */
export function updatesPerEntity(mutation: Mutation): unknown[] {
  if (mutation.kind === 'commit-table') return [mutation.body?.updates];
  if (mutation.kind === 'commit-transaction') {
    const changes = mutation.body?.['table-changes'];
    return Array.isArray(changes) ? changes.map((c) => (isJsonObject(c) ? c.updates : undefined)) : [];
  }
  return mutation.entities.map(() => undefined);
}
