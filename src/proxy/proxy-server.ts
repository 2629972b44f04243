/**
 * Serves the proxy on a port: the upstream client, the commit interceptor and the settlement of
 * unknown outcomes, wired together. Used by main.ts and by tests that need a real proxy.
 */
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Logger } from '../util/logger.ts';
import { createProxyApp, type CatalogShape, type OutboxWriter } from './proxy-app.ts';
import { createSettler } from './settle-outcome.ts';
import { settleUnsettled, type UnsettledSource } from './settle-unsettled.ts';
import type { UpstreamAuth } from './upstream-auth.ts';
import { UpstreamClient } from './upstream-client.ts';

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
  /** Routes served by the proxy itself (the admin API), matched before forwarding. */
  admin?: Hono;
  /** The URL clients use; defaults to http://host:port. */
  publicUrl?: string;
}

export interface RunningProxy {
  url: string;
  /** Settles outbox entries left unknown (by a crash or an unanswered request) by reading the upstream. */
  settleUnsettled(): Promise<{ settled: number; open: number }>;
  close(): Promise<void>;
}

export async function startProxyServer(options: ProxyServerOptions): Promise<RunningProxy> {
  const upstream = new UpstreamClient({ url: options.upstreamUrl, timeoutMs: options.upstreamTimeoutMs, maxSockets: 128, auth: options.upstreamAuth });
  let publicUrl = options.publicUrl ?? '';
  // The prefixes and separators clients were told to use, learned as /v1/config answers pass.
  const shape: CatalogShape = { prefixes: new Set(), separators: new Set() };
  const settle = createSettler({ upstream, outbox: options.outbox });
  const app = createProxyApp({
    shape,
    upstream,
    outbox: options.outbox,
    get publicUrl() {
      return publicUrl;
    },
    maxBodyBytes: options.maxBodyBytes,
    logger: options.logger,
    settle: async (id, mutation, headers) => {
      await settle(id, mutation, headers);
    },
  });
  const root = new Hono();
  if (options.admin) root.route('/', options.admin);
  root.route('/', app);
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: root.fetch, hostname: options.host, port: options.port }, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${options.host}:${port}`;
  publicUrl ||= url;
  return {
    url,
    settleUnsettled: () => settleUnsettled(options.outbox, settle, options.logger, [...shape.prefixes], [...shape.separators]),
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      upstream.close();
    },
  };
}
