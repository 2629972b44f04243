/**
 * How the proxy authenticates to the upstream catalog: pass the client's own `Authorization`
 * through (the default), or authenticate itself — a static bearer token, OAuth2 client
 * credentials (token cached until shortly before it expires), or AWS SigV4 (S3 Tables, Glue),
 * signed by the AWS SDK's signer. Secrets and tokens are never put in errors or logs.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { UpstreamAuthConfig } from '../config/config-file.ts';
import { jwtPrincipal } from './request-principal.ts';

/** One request on its way to the upstream, as it will go on the wire. */
export interface OutgoingRequest {
  method: string;
  url: URL;
  /** The raw path and query, exactly as sent. */
  path: string;
  headers: OutgoingHttpHeaders;
  body: Buffer | null;
}

export interface UpstreamAuth {
  /** What the logs may say about this mode (never a secret). */
  readonly description: string;
  /** True when the proxy authenticates itself instead of passing the client's credentials on. */
  readonly terminatesClientAuth: boolean;
  /** Who the upstream sees when the proxy authenticates itself, where that is known (for the audit log; never a secret). */
  readonly principal?: string;
  /** The headers to send: the client's, with the proxy's own authentication in place of theirs. */
  headersFor(request: OutgoingRequest): Promise<OutgoingHttpHeaders>;
  /**
   * The upstream answered 401. Returns true when a cached credential was dropped, so that the
   * same request sent again would carry a new one.
   */
  rejected(): boolean;
}

/** The proxy could not authenticate; nothing was sent to the upstream catalog. */
export class UpstreamAuthError extends Error {
  override readonly name = 'UpstreamAuthError';
}

function withoutClientAuth(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name !== 'authorization') out[name] = value;
  }
  return out;
}

const passthrough: UpstreamAuth = {
  description: 'passthrough',
  terminatesClientAuth: false,
  headersFor: async (request) => request.headers,
  rejected: () => false,
};

function bearer(token: string): UpstreamAuth {
  return {
    description: 'bearer',
    terminatesClientAuth: true,
    principal: jwtPrincipal(token),
    headersFor: async (request) => ({ ...withoutClientAuth(request.headers), authorization: `Bearer ${token}` }),
    rejected: () => false,
  };
}

interface CachedToken {
  value: string;
  /** When to fetch a new one (ms since epoch); Infinity when the server gave no lifetime. */
  refreshAtMs: number;
}

type OAuth2Config = Extract<UpstreamAuthConfig, { type: 'oauth2' }>;

/** OAuth2 client credentials (RFC 6749 section 4.4), as Iceberg's clients send them. */
export function oauth2ClientCredentials(config: OAuth2Config, upstreamUrl: string, now: () => number = Date.now): UpstreamAuth {
  const tokenUrl = config.tokenUrl ?? `${upstreamUrl.replace(/\/+$/, '')}/v1/oauth/tokens`;
  let cached: CachedToken | undefined;
  // One fetch at a time: concurrent requests wait for the same token.
  let pending: Promise<CachedToken> | undefined;

  async function fetchToken(): Promise<CachedToken> {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: config.clientId, client_secret: config.clientSecret, scope: config.scope });
    if (config.audience) form.set('audience', config.audience);
    if (config.resource) form.set('resource', config.resource);
    const startedMs = now();
    let response: Response;
    try {
      response = await fetch(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new UpstreamAuthError(`could not reach the OAuth2 token endpoint ${tokenUrl}: ${(error as Error).message}`);
    }
    const text = await response.text();
    let body: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // reported below
    }
    if (!response.ok || typeof body.access_token !== 'string') {
      // Only the server's error code and description: the body of a success would hold the token.
      const reason = typeof body.error === 'string' ? `${body.error}${typeof body.error_description === 'string' ? `: ${body.error_description}` : ''}` : 'no access_token in the answer';
      throw new UpstreamAuthError(`the OAuth2 token endpoint ${tokenUrl} answered ${response.status}: ${reason}`);
    }
    const lifetimeMs = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : undefined;
    // Refresh ahead of expiry, by a tenth of the lifetime (at most a minute), so no request
    // goes out with a token about to end.
    const refreshAtMs = lifetimeMs === undefined ? Infinity : startedMs + lifetimeMs - Math.min(60_000, lifetimeMs * 0.1);
    return { value: body.access_token, refreshAtMs };
  }

  async function token(): Promise<string> {
    if (cached && now() < cached.refreshAtMs) return cached.value;
    pending ??= fetchToken().finally(() => {
      pending = undefined;
    });
    cached = await pending;
    return cached.value;
  }

  return {
    terminatesClientAuth: true,
    principal: config.clientId,
    description: `oauth2 client credentials (client ${config.clientId}, token endpoint ${tokenUrl})`,
    headersFor: async (request) => ({ ...withoutClientAuth(request.headers), authorization: `Bearer ${await token()}` }),
    rejected: () => {
      const had = cached !== undefined;
      cached = undefined;
      return had;
    },
  };
}

type SigV4Config = Extract<UpstreamAuthConfig, { type: 'sigv4' }>;

/** Splits a raw query string into decoded names and values, as the signer wants them. */
function queryOf(path: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  const at = path.indexOf('?');
  if (at < 0) return query;
  for (const pair of path.slice(at + 1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s.replace(/\+/g, ' '));
      } catch {
        return s;
      }
    };
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1));
    const prior = query[name];
    query[name] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value];
  }
  return query;
}

/** AWS Signature Version 4 with the AWS SDK's signer; credentials from the config or the default chain. */
export function sigv4(config: SigV4Config): UpstreamAuth {
  const credentials = config.accessKeyId && config.secretAccessKey
    ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey, sessionToken: config.sessionToken }
    : defaultProvider();
  // uriEscapePath (the default) encodes the already-encoded path once more, as SigV4 asks of
  // every service but S3.
  const signer = new SignatureV4({ service: config.service, region: config.region, credentials, sha256: Hash.bind(null, 'sha256') });
  return {
    terminatesClientAuth: true,
    description: `sigv4 (service ${config.service}, region ${config.region})`,
    headersFor: async (request) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(withoutClientAuth(request.headers))) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
      }
      headers.host = request.url.host;
      const at = request.path.indexOf('?');
      let signed;
      try {
        signed = await signer.sign({
          method: request.method,
          protocol: request.url.protocol,
          hostname: request.url.hostname,
          port: request.url.port ? Number(request.url.port) : undefined,
          path: at < 0 ? request.path : request.path.slice(0, at),
          query: queryOf(request.path),
          headers,
          body: request.body ?? '',
        });
      } catch (error) {
        throw new UpstreamAuthError(`could not sign the request with SigV4: ${(error as Error).message}`);
      }
      return signed.headers;
    },
    rejected: () => false,
  };
}

export function createUpstreamAuth(config: UpstreamAuthConfig, upstreamUrl: string): UpstreamAuth {
  switch (config.type) {
    case 'passthrough':
      return passthrough;
    case 'bearer':
      return bearer(config.token);
    case 'oauth2':
      return oauth2ClientCredentials(config, upstreamUrl);
    case 'sigv4':
      return sigv4(config);
  }
}
