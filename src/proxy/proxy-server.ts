/**
 * Serves the proxy on a port: the upstream client, the commit interceptor and the settlement of
 * unknown outcomes, wired together. Used by main.ts and by tests that need a real proxy.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Hono } from 'hono';
import type { Outcome } from '../outbox/outbox.ts';
import type { Metrics } from '../server/metrics.ts';
import { listen, requestListener } from '../server/http-server.ts';
import { isJsonObject, parseJson } from '../util/json.ts';
import type { Logger } from '../util/logger.ts';
import { emptyCatalogShape, learnCatalogShape, namespaceSeparator, type CatalogShape } from './catalog-shape.ts';
import { decodeBody } from './content-encoding.ts';
import { createProxyHandler, type OutboxWriter } from './proxy-handler.ts';
import { withRequestLog } from './request-log.ts';
import { routeKind } from './route-kind.ts';
import { createSettler } from './settle-outcome.ts';
import { settleUnsettled, type UnsettledSource } from './settle-unsettled.ts';
import type { UpstreamAuth } from './upstream-auth.ts';
import { readAll, UpstreamClient } from './upstream-client.ts';

export interface ProxyServerOptions {
  host: string;
  port: number;
  upstreamUrl: string;
  upstreamTimeoutMs: number;
  /** How the proxy authenticates to the upstream; default: clients' Authorization passes through. */
  upstreamAuth?: UpstreamAuth;
  maxBodyBytes: number;
  outbox: OutboxWriter & UnsettledSource;
  logger: Logger;
  /** The proxy's own API, served for every path under `/admin/` (and `/metrics`) instead of forwarding. */
  admin?: Hono;
  /** Read-only replica catalogs by destination name, served under `/replicas/{destination}`. */
  replicas?: Map<string, Hono>;
  /** Called after a mutation's outcome is recorded (wakes the shipper). */
  onOutcome?: (entryId: number, outcome: Outcome) => void;
  /** The URL clients use; defaults to http://host:port. */
  publicUrl?: string;
  /** Where request and upstream latencies are observed. */
  metrics?: Pick<Metrics, 'requestCompleted' | 'upstreamAnswered'>;
}

export interface RunningProxy {
  url: string;
  /** Settles outbox entries left unknown (by a crash or an unanswered request) by reading the upstream. */
  settleUnsettled(): Promise<{ settled: number; open: number }>;
  close(): Promise<void>;
}

export async function startProxyServer(options: ProxyServerOptions): Promise<RunningProxy> {
  const { metrics } = options;
  const upstream = new UpstreamClient({
    url: options.upstreamUrl, timeoutMs: options.upstreamTimeoutMs, maxSockets: 128, auth: options.upstreamAuth,
    onAnswer: metrics && (({ method, target, status, seconds }) => metrics.upstreamAnswered({ method, route: routeKind(method, target.split('?', 1)[0]!), status }, seconds)),
  });
  let publicUrl = options.publicUrl ?? '';
  // The prefixes and separators clients were told to use, learned as /v1/config answers pass.
  const shape: CatalogShape = emptyCatalogShape();
  const settle = createSettler({ upstream, outbox: options.outbox, separator: () => namespaceSeparator(shape) });
  const forward = createProxyHandler({
    shape,
    upstream,
    outbox: options.outbox,
    get publicUrl() {
      return publicUrl;
    },
    maxBodyBytes: options.maxBodyBytes,
    logger: options.logger,
    onOutcome: options.onOutcome,
    settle: async (id, mutation, headers) => {
      await settle(id, mutation, headers);
    },
  });
  const admin = options.admin ? requestListener(options.admin.fetch) : undefined;
  const replicas = new Map([...options.replicas ?? []].map(([name, app]) => [name, requestListener(app.fetch)]));
  const server = await listen(withRequestLog((request, response) => {
    if (admin && isOwnRoute(request.url ?? '')) void admin(request, response);
    else if (request.url?.startsWith('/replicas/')) serveReplica(replicas, request, response);
    else forward(request, response);
  }, { logger: options.logger, metrics }), options.host, options.port);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${options.host}:${port}`;
  publicUrl ||= url;
  return {
    url,
    settleUnsettled: async () => {
      if (shape.separators.size === 0 && shape.prefixes.size === 0) await learnShapeFromUpstream(upstream, shape, options.logger);
      return settleUnsettled(options.outbox, settle, options.logger, [...shape.prefixes], [...shape.separators]);
    },
    close: async () => {
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      upstream.close();
    },
  };
}

/**
 * Before settling at start-up no client has asked for `/v1/config` yet: the proxy asks itself,
 * so that settlement reads use the separator (and knows the prefixes) the upstream announces.
 */
async function learnShapeFromUpstream(upstream: UpstreamClient, shape: CatalogShape, logger: Logger): Promise<void> {
  try {
    const answer = await upstream.send('GET', '/v1/config', {}, null);
    const bytes = decodeBody(await readAll(answer.body), answer.headers);
    const config = answer.status === 200 && bytes ? parseJson(bytes.toString('utf8')) : undefined;
    if (isJsonObject(config)) learnCatalogShape(shape, config);
  } catch (error) {
    logger.warn({ err: error }, 'could not read the upstream catalog\'s /v1/config before settling; assuming its defaults');
  }
}

/** `/replicas/{destination}/v1/...` goes to that replica's catalog app as `/v1/...`. */
function serveReplica(replicas: Map<string, RequestListener>, request: IncomingMessage, response: ServerResponse): void {
  const rest = request.url!.slice('/replicas/'.length);
  const end = rest.search(/[/?]/);
  const name = safeDecode(end < 0 ? rest : rest.slice(0, end));
  const replica = replicas.get(name);
  if (!replica) {
    const known = [...replicas.keys()].join(', ') || 'none';
    const body = JSON.stringify({ error: { message: `No replica named '${name}' (replicas: ${known})`, type: 'NoSuchCatalogException', code: 404 } });
    response.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    return;
  }
  request.url = end < 0 ? '/' : rest.slice(end).replace(/^\?/, '/?');
  void replica(request, response);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Paths the proxy answers itself (its admin API, metrics, health, status page) instead of
 * forwarding: none of them is an Iceberg REST route, whose paths all start with `/v1/`.
 */
const OWN_PATHS = ['/metrics', '/healthz', '/readyz', '/ui'];
function isOwnRoute(url: string): boolean {
  const path = url.split('?', 1)[0]!;
  return path.startsWith('/admin/') || OWN_PATHS.some((p) => path === p || path.startsWith(`${p}/`));
}
