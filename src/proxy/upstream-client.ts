/**
 * The connection to the upstream (source) catalog: node:http(s) with a keep-alive pool, so the
 * request target goes out byte for byte (fetch would parse and normalize it: `%2E%2E` segments,
 * for one, would be resolved away).
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { UpstreamAuthError, type UpstreamAuth } from './upstream-auth.ts';

export interface UpstreamOptions {
  /** Base URL of the upstream catalog, e.g. `http://127.0.0.1:8182` or `https://host/catalog`. */
  url: string;
  /** Time to wait for the response headers. */
  timeoutMs: number;
  /** Keep-alive connections kept per upstream host. */
  maxSockets: number;
  /** How to authenticate to the upstream; default: the client's own Authorization header passes through. */
  auth?: UpstreamAuth;
  /** Told of every request once its answer's headers came (or it failed, `status: 'error'`), for metrics. */
  onAnswer?: (exchange: { method: string; target: string; status: number | 'error'; seconds: number }) => void;
}

export interface UpstreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Readable;
}

/** The request never reached the upstream (connection refused, DNS): safe to report, nothing applied. */
export class UpstreamUnreachableError extends Error {
  override readonly name = 'UpstreamUnreachableError';
}

/** The request may have reached the upstream, but no complete answer came back. */
export class UpstreamNoAnswerError extends Error {
  override readonly name = 'UpstreamNoAnswerError';
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export class UpstreamClient {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(readonly options: UpstreamOptions) {
    this.base = new URL(options.url);
    this.transport = this.base.protocol === 'https:' ? https : http;
    const AgentClass = this.base.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new AgentClass({ keepAlive: true, maxSockets: options.maxSockets });
  }

  /** The base path of the upstream (without trailing slash), prepended to every request target. */
  get basePath(): string {
    return this.base.pathname.replace(/\/+$/, '');
  }

  get origin(): string {
    return this.base.origin;
  }

  /**
   * Sends one request. `target` is the raw path and query as the client sent it (relative to the
   * catalog root); the body is sent as given.
   */
  async send(method: string, target: string, headers: http.OutgoingHttpHeaders, body: Buffer | null): Promise<UpstreamResponse> {
    const started = performance.now();
    const answered = (status: number | 'error') => this.options.onAnswer?.({ method, target, status, seconds: (performance.now() - started) / 1000 });
    try {
      const response = await this.exchange(method, target, headers, body);
      answered(response.status);
      return response;
    } catch (error) {
      answered('error');
      throw error;
    }
  }

  /** One request, sent again once when the proxy's own credential was refused (see send). */
  private async exchange(method: string, target: string, headers: http.OutgoingHttpHeaders, body: Buffer | null): Promise<UpstreamResponse> {
    const path = `${this.basePath}${target}`;
    const response = await this.sendRaw(method, path, await this.authenticated(method, path, headers, body), body);
    if (response.status !== 401 || !this.options.auth?.rejected()) return response;
    // The proxy's own token went stale (revoked early): a read is sent once more with a new
    // one; a mutation never is — the client decides.
    if (method !== 'GET' && method !== 'HEAD') return response;
    response.body.resume();
    return this.sendRaw(method, path, await this.authenticated(method, path, headers, body), body);
  }

  private async authenticated(method: string, path: string, headers: http.OutgoingHttpHeaders, body: Buffer | null): Promise<http.OutgoingHttpHeaders> {
    const outgoing: http.OutgoingHttpHeaders = { ...headers, host: this.base.host, ...(body ? { 'content-length': body.length } : {}) };
    if (!this.options.auth) return outgoing;
    try {
      return await this.options.auth.headersFor({ method, url: this.base, path, headers: outgoing, body });
    } catch (error) {
      if (!(error instanceof UpstreamAuthError)) throw error;
      throw new UpstreamUnreachableError(`could not authenticate to the upstream catalog: ${error.message}`, { cause: error });
    }
  }

  private sendRaw(method: string, path: string, headers: http.OutgoingHttpHeaders, body: Buffer | null): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      let sent = false;
      const request = this.transport.request(
        { protocol: this.base.protocol, hostname: this.base.hostname, port: this.base.port, method, path, headers, agent: this.agent },
        (response) => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: response }),
      );
      request.setTimeout(this.options.timeoutMs, () => {
        request.destroy(new UpstreamNoAnswerError(`no answer from the upstream catalog within ${this.options.timeoutMs} ms`));
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (!sent && error.code && UNREACHABLE_CODES.has(error.code)) {
          reject(new UpstreamUnreachableError(`upstream catalog ${this.base.origin} is unreachable: ${error.code}`, { cause: error }));
        } else if (error instanceof UpstreamNoAnswerError) {
          reject(error);
        } else {
          reject(new UpstreamNoAnswerError(`connection to the upstream catalog failed: ${error.message}`, { cause: error }));
        }
      });
      request.on('finish', () => {
        sent = true;
      });
      request.end(body ?? undefined);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Reads a whole response body (for the few responses the proxy inspects). */
export async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
