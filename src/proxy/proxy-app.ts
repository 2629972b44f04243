/**
 * The commit-intercepting proxy: every Iceberg REST request goes to the upstream catalog with its
 * raw path, query and body; responses come back unchanged (but `/v1/config` and load-result config
 * blocks, rewritten so clients stay on the proxy). Each mutation is recorded in the outbox before
 * it is forwarded, and its outcome after: committed, rejected, or unknown (settled by reading the
 * upstream, never guessed). The proxy never retries a mutation itself.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { IcebergError } from '../errors/iceberg-error.ts';
import { InvalidEntityError } from '../outbox/entity-key.ts';
import type { NewIntent, Outcome } from '../outbox/outbox.ts';
import { isJsonObject, parseJson, toJson, type JsonObject } from '../util/json.ts';
import type { Logger } from '../util/logger.ts';
import { loadResultNeedsRewrite, mayNeedRewrite, rewriteCatalogConfig, rewriteLoadResult, type RewriteContext } from './config-rewrite.ts';
import { addedSnapshotIds, classifyRequest, updatesPerEntity, type Mutation } from './mutation-routes.ts';
import { readAll, UpstreamClient, UpstreamNoAnswerError, UpstreamUnreachableError, type UpstreamResponse } from './upstream-client.ts';

/** What the proxy needs of the outbox. */
export interface OutboxWriter {
  recordIntent(intent: NewIntent): Promise<number>;
  recordOutcome(id: number, outcome: Outcome): Promise<boolean>;
}

export interface ProxyOptions {
  upstream: UpstreamClient;
  outbox: OutboxWriter;
  /** Base URL clients use to reach the proxy (put into `/v1/config` as `uri`). */
  publicUrl: string;
  maxBodyBytes: number;
  logger: Logger;
  /** Called after an outcome is recorded (to wake the shipper). */
  onOutcome?: (entryId: number, outcome: Outcome) => void;
  /** What the upstream's /v1/config told clients (prefix, namespace separator); filled as configs pass. */
  shape?: CatalogShape;
  /** Settles an unknown outcome by reading the upstream; runs after the client has its answer. */
  settle?: (entryId: number, mutation: Mutation, headers: OutgoingHttpHeaders) => Promise<void>;
}

export interface CatalogShape {
  prefixes: Set<string>;
  separators: Set<string>;
}

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'trailers',
  'transfer-encoding', 'upgrade', 'host', 'content-length',
]);

function icebergError(status: number, type: string, message: string, headers: Record<string, string> = {}): Response {
  return new IcebergError(status, type, message, { headers }).toResponse();
}

function forwardableHeaders(incoming: IncomingMessage): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

function responseHeaders(upstream: UpstreamResponse, keepLength: boolean): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value === undefined || (HOP_BY_HOP.has(name) && !(keepLength && name === 'content-length'))) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

/** Statuses and methods whose responses have no body by definition. */
function hasNoBody(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304;
}

async function readRequestBody(incoming: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const declared = Number(incoming.headers['content-length'] ?? '0');
  if (declared > limit) return 'too-large';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming) {
    size += (chunk as Buffer).length;
    if (size > limit) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function createProxyApp(options: ProxyOptions): Hono {
  const { upstream, outbox, logger } = options;
  const shape = options.shape ?? { prefixes: new Set<string>(), separators: new Set<string>() };
  const { prefixes, separators } = shape;
  const rewrite: RewriteContext = {
    upstreamUrl: upstream.options.url,
    terminatesAuth: upstream.options.auth?.terminatesClientAuth ?? false,
    // Read late: a server on port 0 learns its URL only once it listens.
    get proxyUrl() {
      return options.publicUrl;
    },
  };
  const app = new Hono();

  app.all('*', async (c) => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (!incoming) return icebergError(500, 'InternalServerError', 'the proxy must run on the Node.js server adapter');
    const method = incoming.method ?? 'GET';
    const target = incoming.url ?? '/';
    const rawPath = target.split('?')[0]!;
    const body = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : await readRequestBody(incoming, options.maxBodyBytes);
    if (body === 'too-large') {
      return icebergError(413, 'RequestEntityTooLargeException', `Request body is larger than the limit of ${options.maxBodyBytes} bytes`);
    }
    const headers = forwardableHeaders(incoming);
    const mutation = classifyRequest(method, rawPath, body.length ? body.toString('utf8') : null, prefixes, separators);

    if (!mutation) return forwardRead(method, target, rawPath, headers, body);
    return forwardMutation(method, target, headers, body, mutation);
  });

  async function forwardRead(method: string, target: string, rawPath: string, headers: OutgoingHttpHeaders, body: Buffer): Promise<Response> {
    let response: UpstreamResponse;
    try {
      response = await upstream.send(method, target, headers, body.length ? body : null);
    } catch (error) {
      logger.warn({ err: error, method, path: rawPath }, 'upstream catalog did not answer a read');
      return icebergError(503, 'ServiceUnavailableException', `The upstream catalog did not answer: ${(error as Error).message}`, { 'retry-after': '1' });
    }
    const isConfig = method === 'GET' && rawPath === '/v1/config';
    const isLoadTable = method === 'GET' && /\/namespaces\/[^/]+\/(tables|views)\/[^/]+$/.test(rawPath);
    if ((isConfig || isLoadTable) && response.status === 200) return inspectJson(response, isConfig);
    return passThrough(method, response);
  }

  function passThrough(method: string, response: UpstreamResponse): Response {
    if (hasNoBody(method, response.status)) {
      response.body.resume();
      return new Response(null, { status: response.status, headers: responseHeaders(response, false) });
    }
    return new Response(Readable.toWeb(response.body) as ReadableStream, { status: response.status, headers: responseHeaders(response, true) });
  }

  /** Config and load results are read whole: the only bodies the proxy may change. */
  async function inspectJson(response: UpstreamResponse, isConfig: boolean): Promise<Response> {
    const bytes = await readAll(response.body);
    // Most load results carry no callback URL at all: pass them on without parsing.
    if (!isConfig && !mayNeedRewrite(bytes, rewrite)) return new Response(bytes, { status: response.status, headers: responseHeaders(response, true) });
    let parsed: unknown;
    try {
      parsed = parseJson(bytes.toString('utf8'));
    } catch {
      return new Response(bytes, { status: response.status, headers: responseHeaders(response, true) });
    }
    if (!isJsonObject(parsed)) return new Response(bytes, { status: response.status, headers: responseHeaders(response, true) });
    if (isConfig) {
      learnCatalogShape(parsed);
      const headers = responseHeaders(response, false);
      return new Response(toJson(rewriteCatalogConfig(parsed, rewrite)), { status: 200, headers });
    }
    if (!loadResultNeedsRewrite(parsed, rewrite)) return new Response(bytes, { status: response.status, headers: responseHeaders(response, true) });
    return new Response(toJson(rewriteLoadResult(parsed, rewrite)), { status: response.status, headers: responseHeaders(response, false) });
  }

  /** Remembers the prefix and namespace separator the upstream told clients to use. */
  function learnCatalogShape(config: JsonObject): void {
    for (const block of [config.defaults, config.overrides]) {
      if (!isJsonObject(block)) continue;
      if (typeof block.prefix === 'string') prefixes.add(block.prefix);
      if (typeof block['namespace-separator'] === 'string') separators.add(block['namespace-separator']);
    }
  }

  async function forwardMutation(method: string, target: string, headers: OutgoingHttpHeaders, body: Buffer, mutation: Mutation): Promise<Response> {
    // Durable before the request leaves: a crash from here on leaves an intent to settle.
    const request = { method, path: target, body: body.length ? body.toString('utf8') : null };
    let entryId: number;
    try {
      entryId = await outbox.recordIntent({ kind: mutation.kind, entities: mutation.entities, request });
    } catch (error) {
      if (!(error instanceof InvalidEntityError)) throw error;
      // A name the outbox cannot key (control characters): the upstream will judge it; the
      // intent is still recorded, without entities.
      entryId = await outbox.recordIntent({ kind: mutation.kind, entities: [], request });
    }
    let response: UpstreamResponse;
    try {
      response = await upstream.send(method, target, headers, body.length ? body : null);
    } catch (error) {
      const neverSent = error instanceof UpstreamUnreachableError;
      const outcome: Outcome = neverSent
        ? { status: 'rejected', httpStatus: 503, error: (error as Error).message }
        : { status: 'unknown', reason: (error as Error).message };
      await record(entryId, outcome);
      if (!neverSent && options.settle) void settleLater(entryId, mutation, headers);
      logger.warn({ err: error, entryId, kind: mutation.kind }, 'mutation outcome unknown: upstream did not answer');
      // 500 with CommitStateUnknownException: clients keep their files and do not resend on their own.
      const reason = error instanceof UpstreamNoAnswerError || neverSent ? (error as Error).message : 'connection lost';
      return icebergError(500, 'CommitStateUnknownException', `The upstream catalog did not answer; the commit state is unknown: ${reason}`);
    }
    if (response.status >= 500) {
      // Pass the upstream's own answer through; its outcome is settled by reading the upstream.
      await record(entryId, { status: 'unknown', reason: `upstream answered ${response.status}` });
      if (options.settle) void settleLater(entryId, mutation, headers);
      return passThrough(method, response);
    }
    if (response.status >= 400) {
      const bytes = await readAll(response.body);
      await record(entryId, { status: 'rejected', httpStatus: response.status, error: errorMessageOf(bytes) });
      return new Response(bytes, { status: response.status, headers: responseHeaders(response, true) });
    }
    const bytes = hasNoBody(method, response.status) ? Buffer.alloc(0) : await readAll(response.body);
    await record(entryId, committedOutcome(mutation, response.status, bytes));
    return new Response(hasNoBody(method, response.status) ? null : bytes, { status: response.status, headers: responseHeaders(response, !hasNoBody(method, response.status)) });
  }

  async function record(entryId: number, outcome: Outcome): Promise<void> {
    await outbox.recordOutcome(entryId, outcome);
    options.onOutcome?.(entryId, outcome);
  }

  async function settleLater(entryId: number, mutation: Mutation, headers: OutgoingHttpHeaders): Promise<void> {
    try {
      await options.settle!(entryId, mutation, headers);
    } catch (error) {
      logger.warn({ err: error, entryId }, 'could not settle an unknown outcome yet; reconciliation will retry');
    }
  }

  return app;
}

function errorMessageOf(bytes: Buffer): string {
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { error?: { type?: string; message?: string } };
    if (parsed.error?.message) return `${parsed.error.type ?? 'Error'}: ${parsed.error.message}`;
  } catch {
    // not JSON
  }
  return bytes.toString('utf8').slice(0, 500);
}

/** The committed outcome, with what the response and request tell about the new state. */
export function committedOutcome(mutation: Mutation, httpStatus: number, responseBody: Buffer): Outcome {
  let metadataLocation: string | null = null;
  if (responseBody.length > 0) {
    try {
      const parsed = parseJson(responseBody.toString('utf8'));
      if (isJsonObject(parsed) && typeof parsed['metadata-location'] === 'string') metadataLocation = parsed['metadata-location'];
    } catch {
      // A 2xx without a JSON body (drop, rename, transaction): the shipper reads the state itself.
    }
  }
  const single = mutation.entities.length === 1;
  return {
    status: 'committed',
    httpStatus,
    metadataLocations: mutation.entities.map(() => (single ? metadataLocation : null)),
    addedSnapshotIds: updatesPerEntity(mutation).map(addedSnapshotIds),
  };
}

