/**
 * The commit-intercepting proxy: every Iceberg REST request goes to the upstream catalog with its
 * raw path, query and body; responses come back unchanged (but `/v1/config` and load-result config
 * blocks, rewritten so clients stay on the proxy). Each mutation is recorded in the outbox before
 * it is forwarded, and its outcome after: committed, rejected, or unknown (settled by reading the
 * upstream, never guessed). The proxy never retries a mutation itself.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { IcebergError } from '../errors/iceberg-error.ts';
import { InvalidEntityError } from '../outbox/entity-key.ts';
import type { NewIntent, Outcome, OutcomeStatus } from '../outbox/outbox.ts';
import { isJsonObject, parseJson, toJson } from '../util/json.ts';
import type { Logger } from '../util/logger.ts';
import { decodableAcceptEncoding, decodeBody, encodeBody } from './content-encoding.ts';
import { emptyCatalogShape, learnCatalogShape, type CatalogShape } from './catalog-shape.ts';
import { loadResultNeedsRewrite, mayNeedRewrite, rewriteCatalogConfig, rewriteLoadResult, type RewriteContext } from './config-rewrite.ts';
import { addedSnapshotIds, classifyRequest, updatesPerEntity, type Mutation } from './mutation-routes.ts';
import { requestPrincipal } from './request-principal.ts';
import { readAll, UpstreamClient, UpstreamNoAnswerError, UpstreamUnreachableError, type UpstreamResponse } from './upstream-client.ts';

/** What the proxy needs of the outbox. */
export interface OutboxWriter {
  recordIntent(intent: NewIntent): Promise<number>;
  recordOutcome(id: number, outcome: Outcome): Promise<boolean>;
  /** The entry of an earlier request with the same Idempotency-Key (see OutboxStore). */
  findRetried?(idempotencyKey: string, request: NewIntent['request'], sinceMs: number): Promise<{ id: number; status: OutcomeStatus } | undefined>;
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

export type { CatalogShape } from './catalog-shape.ts';

/** A Node.js request listener: the proxy works on raw requests, so bytes pass without re-encoding. */
export type ProxyHandler = (request: IncomingMessage, response: ServerResponse) => void;

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'trailers',
  'transfer-encoding', 'upgrade', 'host',
]);

function forwardableHeaders(incoming: IncomingMessage): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && name !== 'content-length') out[name] = value;
  }
  return out;
}

/** The upstream's response headers for the client; `content-length` is kept unless the body changes. */
function responseHeaders(upstream: UpstreamResponse, bodyLength?: number): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  }
  if (bodyLength !== undefined) headers['content-length'] = bodyLength;
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

function sendError(response: ServerResponse, error: IcebergError, extraHeaders: OutgoingHttpHeaders = {}): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = JSON.stringify(error.toResponseBody());
  response.writeHead(error.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...error.headers, ...extraHeaders });
  response.end(body);
}

function sendBytes(response: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: Buffer | null): void {
  response.writeHead(status, headers);
  response.end(body ?? undefined);
}

export function createProxyHandler(options: ProxyOptions): ProxyHandler {
  const { upstream, outbox, logger } = options;
  const shape = options.shape ?? emptyCatalogShape();
  const { prefixes, separators } = shape;
  const rewrite: RewriteContext = {
    upstreamUrl: upstream.options.url,
    terminatesAuth: upstream.options.auth?.terminatesClientAuth ?? false,
    // Read late: a server on port 0 learns its URL only once it listens.
    get proxyUrl() {
      return options.publicUrl;
    },
  };

  return (request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error({ err: error, method: request.method, path: request.url?.split('?')[0] }, 'proxy failed to handle a request');
      sendError(response, new IcebergError(500, 'InternalServerError', `Icerelay could not handle the request: ${(error as Error).message}`));
    });
  };

  async function handle(incoming: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = incoming.method ?? 'GET';
    const target = incoming.url ?? '/';
    const rawPath = target.split('?')[0]!;
    const body = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : await readRequestBody(incoming, options.maxBodyBytes);
    if (body === 'too-large') {
      // The rest of the body is not read: the connection cannot carry another request.
      sendError(response, new IcebergError(413, 'RequestEntityTooLargeException', `Request body is larger than the limit of ${options.maxBodyBytes} bytes`), { connection: 'close' });
      return;
    }
    const headers = forwardableHeaders(incoming);
    const mutation = method === 'POST' || method === 'DELETE'
      ? classifyRequest(method, rawPath, body.length ? body.toString('utf8') : null, prefixes, separators)
      : undefined;
    if (!mutation) await forwardRead(response, method, target, rawPath, headers, body);
    else await forwardMutation(response, method, target, headers, body, mutation);
  }

  async function forwardRead(response: ServerResponse, method: string, target: string, rawPath: string, headers: OutgoingHttpHeaders, body: Buffer): Promise<void> {
    const isConfig = method === 'GET' && rawPath === '/v1/config';
    const isLoad = method === 'GET' && /\/namespaces\/[^/]+\/(tables|views)\/[^/]+$/.test(rawPath);
    let answer: UpstreamResponse;
    try {
      answer = await upstream.send(method, target, isConfig || isLoad ? decodableAcceptEncoding(headers) : headers, body.length ? body : null);
    } catch (error) {
      logger.warn({ err: error, method, path: rawPath }, 'upstream catalog did not answer a read');
      sendError(response, new IcebergError(503, 'ServiceUnavailableException', `The upstream catalog did not answer: ${(error as Error).message}`, { headers: { 'retry-after': '1' } }));
      return;
    }
    if ((isConfig || isLoad) && answer.status === 200) await inspectJson(response, answer, isConfig);
    else passThrough(response, method, answer);
  }

  /** Streams the upstream's answer to the client as it comes. */
  function passThrough(response: ServerResponse, method: string, answer: UpstreamResponse): void {
    response.writeHead(answer.status, responseHeaders(answer));
    if (hasNoBody(method, answer.status)) {
      answer.body.resume();
      response.end();
      return;
    }
    answer.body.on('error', () => response.destroy());
    // A client that goes away stops the transfer from the upstream too.
    response.on('close', () => {
      if (!response.writableFinished) answer.body.destroy();
    });
    answer.body.pipe(response);
  }

  /** Config and load results are read whole: the only bodies the proxy may change. */
  async function inspectJson(response: ServerResponse, answer: UpstreamResponse, isConfig: boolean): Promise<void> {
    const bytes = await readAll(answer.body);
    const unchanged = () => sendBytes(response, answer.status, responseHeaders(answer, bytes.length), bytes);
    const decoded = decodeBody(bytes, answer.headers);
    if (decoded === undefined) {
      logger.warn({ contentEncoding: answer.headers['content-encoding'] }, 'upstream answer could not be decoded; passed on without rewriting');
      return unchanged();
    }
    // Most load results carry no callback URL at all: pass them on without parsing.
    if (!isConfig && !mayNeedRewrite(decoded, rewrite)) return unchanged();
    let parsed: unknown;
    try {
      parsed = parseJson(decoded.toString('utf8'));
    } catch {
      return unchanged();
    }
    if (!isJsonObject(parsed)) return unchanged();
    if (isConfig) {
      learnCatalogShape(shape, parsed);
      return sendRewritten(response, answer, toJson(rewriteCatalogConfig(parsed, rewrite)));
    }
    if (!loadResultNeedsRewrite(parsed, rewrite)) return unchanged();
    sendRewritten(response, answer, toJson(rewriteLoadResult(parsed, rewrite)));
  }

  /** A body the proxy changed goes out encoded as the upstream's was (else uncompressed). */
  function sendRewritten(response: ServerResponse, answer: UpstreamResponse, json: string): void {
    const encoded = encodeBody(Buffer.from(json), answer.headers['content-encoding']);
    const body = encoded ?? Buffer.from(json);
    const headers = responseHeaders(answer, body.length);
    if (encoded === undefined) delete headers['content-encoding'];
    sendBytes(response, answer.status, headers, body);
  }

  async function forwardMutation(response: ServerResponse, method: string, target: string, headers: OutgoingHttpHeaders, body: Buffer, mutation: Mutation): Promise<void> {
    // Durable before the request leaves: a crash from here on leaves an intent to settle.
    const request = { method, path: target, body: body.length ? body.toString('utf8') : null };
    let entryId: number;
    try {
      entryId = await retriedEntry(headers, request) ?? await recordIntent(mutation, request, idempotencyKeyOf(headers), requestPrincipal(headers.authorization, upstream.options.auth));
    } catch (error) {
      // Nothing was forwarded: the client may safely try again.
      logger.error({ err: error, kind: mutation.kind }, 'could not record a mutation in the outbox; not forwarded');
      sendError(response, new IcebergError(503, 'ServiceUnavailableException', 'Icerelay could not record the commit in its outbox; nothing was sent to the catalog. Try again.', { headers: { 'retry-after': '1' } }));
      return;
    }
    let answer: UpstreamResponse;
    try {
      answer = await upstream.send(method, target, decodableAcceptEncoding(headers), body.length ? body : null);
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
      sendError(response, new IcebergError(500, 'CommitStateUnknownException', `The upstream catalog did not answer; the commit state is unknown: ${reason}`));
      return;
    }
    if (answer.status >= 500) {
      // Pass the upstream's own answer through; its outcome is settled by reading the upstream.
      await record(entryId, { status: 'unknown', reason: `upstream answered ${answer.status}` });
      if (options.settle) void settleLater(entryId, mutation, headers);
      passThrough(response, method, answer);
      return;
    }
    let bytes: Buffer | null = null;
    if (hasNoBody(method, answer.status)) answer.body.resume();
    else {
      try {
        bytes = await readAll(answer.body);
      } catch (error) {
        // The answer broke off: whether the mutation applied is unknown.
        await record(entryId, { status: 'unknown', reason: `the upstream's answer broke off: ${(error as Error).message}` });
        if (options.settle) void settleLater(entryId, mutation, headers);
        sendError(response, new IcebergError(500, 'CommitStateUnknownException', 'The upstream catalog\'s answer broke off; the commit state is unknown'));
        return;
      }
    }
    // Read as JSON after undoing any compression; an answer that cannot be decoded tells nothing more.
    const readable = bytes === null ? Buffer.alloc(0) : decodeBody(bytes, answer.headers) ?? Buffer.alloc(0);
    const outcome: Outcome = answer.status >= 400
      ? { status: 'rejected', httpStatus: answer.status, error: errorMessageOf(readable) }
      : committedOutcome(mutation, answer.status, readable);
    // The answer goes out first, the outcome is recorded right after: a crash in between leaves
    // the intent, settled from the upstream at the next start. On SQLite the write completes
    // before this process handles another request, so what a client saw is what it reads next.
    sendBytes(response, answer.status, responseHeaders(answer, bytes?.length), bytes);
    await record(entryId, outcome);
  }

  async function recordIntent(mutation: Mutation, request: NewIntent['request'], idempotencyKey: string | undefined, principal: string | undefined): Promise<number> {
    try {
      return await outbox.recordIntent({ kind: mutation.kind, entities: mutation.entities, request, idempotencyKey, principal });
    } catch (error) {
      if (!(error instanceof InvalidEntityError)) throw error;
      // A name the outbox cannot key (control characters): the upstream will judge it; the
      // intent is still recorded, without entities.
      return outbox.recordIntent({ kind: mutation.kind, entities: [], request, idempotencyKey, principal });
    }
  }

  /**
   * A retry with the Idempotency-Key of a mutation already recorded is that same mutation, when
   * the upstream honours keys: the upstream answers it once, so it gets one event, not two. An
   * entry the upstream rejected (or never got) is not reused: the retry may well apply.
   */
  async function retriedEntry(headers: OutgoingHttpHeaders, request: NewIntent['request']): Promise<number | undefined> {
    const key = idempotencyKeyOf(headers);
    const lifetime = shape.idempotencyLifetimeMs;
    if (key === undefined || lifetime === undefined || !outbox.findRetried) return undefined;
    const earlier = await outbox.findRetried(key, request, Date.now() - lifetime);
    return earlier && earlier.status !== 'rejected' ? earlier.id : undefined;
  }

  /** Records an outcome; if the outbox fails now, the entry stays open and is settled later. */
  async function record(entryId: number, outcome: Outcome): Promise<void> {
    try {
      await outbox.recordOutcome(entryId, outcome);
    } catch (error) {
      logger.error({ err: error, entryId, outcome: outcome.status }, 'could not record a mutation outcome; it will be settled from the upstream state');
      return;
    }
    options.onOutcome?.(entryId, outcome);
  }

  async function settleLater(entryId: number, mutation: Mutation, headers: OutgoingHttpHeaders): Promise<void> {
    try {
      await options.settle!(entryId, mutation, headers);
    } catch (error) {
      logger.warn({ err: error, entryId }, 'could not settle an unknown outcome yet; reconciliation will retry');
    }
  }
}

function idempotencyKeyOf(headers: OutgoingHttpHeaders): string | undefined {
  const key = headers['idempotency-key'];
  return typeof key === 'string' && key !== '' ? key : undefined;
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
      // Only a string is read from the answer: the native parser will do (and is much faster).
      const parsed: unknown = JSON.parse(responseBody.toString('utf8'));
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

