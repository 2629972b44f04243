/**
 * The only responses the proxy changes: `/v1/config`, and the `config` block of load results, so
 * clients keep talking to the proxy. Everything else about them passes through.
 */
import { isJsonObject, type JsonObject } from '../util/json.ts';

/** Keys whose value is a URL clients call back; pointed at the proxy when they point at the upstream. */
const CALLBACK_URL_KEYS = [
  'uri', 'oauth2-server-uri', 'signer.uri', 's3.signer.uri', 'signer.endpoint', 's3.signer.endpoint',
  'client.refresh-credentials-endpoint', 'adls.refresh-credentials-endpoint', 'gcs.oauth2.refresh-credentials-endpoint',
];

export interface RewriteContext {
  /** Base URL of the upstream catalog as configured (`http://host:port/path`). */
  upstreamUrl: string;
  /** Base URL clients reach the proxy at. */
  proxyUrl: string;
  /** Routes the proxy forwards, as `METHOD /v1/{prefix}/...` strings; undefined = all. */
  forwardedEndpoints?: Set<string>;
}

/** An absolute URL under the upstream becomes the same path under the proxy; relative ones stay. */
function rewriteUrl(value: string, ctx: RewriteContext): string {
  const upstream = ctx.upstreamUrl.replace(/\/+$/, '');
  if (value === upstream || value.startsWith(`${upstream}/`)) return `${ctx.proxyUrl.replace(/\/+$/, '')}${value.slice(upstream.length)}`;
  return value;
}

function rewriteMap(map: unknown, ctx: RewriteContext): void {
  if (!isJsonObject(map)) return;
  for (const key of CALLBACK_URL_KEYS) {
    const value = map[key];
    if (typeof value !== 'string') continue;
    // `uri` always names the catalog: clients must keep using the proxy, wherever it pointed.
    map[key] = key === 'uri' ? ctx.proxyUrl : rewriteUrl(value, ctx);
  }
}

/** Rewrites a `/v1/config` body in place and returns it. */
export function rewriteCatalogConfig(config: JsonObject, ctx: RewriteContext): JsonObject {
  if (!isJsonObject(config.defaults)) config.defaults = {};
  if (!isJsonObject(config.overrides)) config.overrides = {};
  rewriteMap(config.defaults, ctx);
  rewriteMap(config.overrides, ctx);
  if (Array.isArray(config.endpoints) && ctx.forwardedEndpoints) {
    config.endpoints = config.endpoints.filter((e) => typeof e === 'string' && ctx.forwardedEndpoints!.has(e));
  }
  return config;
}

const CALLBACK_KEY_BYTES = CALLBACK_URL_KEYS.map((k) => Buffer.from(`"${k}"`));

/** A cheap byte scan: false means no callback URL key occurs anywhere in the body. */
export function mayNeedRewrite(body: Buffer): boolean {
  return CALLBACK_KEY_BYTES.some((key) => body.includes(key));
}

/** True when a load result's config would send clients around the proxy, so it must be rewritten. */
export function loadResultNeedsRewrite(result: JsonObject, ctx: RewriteContext): boolean {
  const config = result.config;
  if (!isJsonObject(config)) return false;
  return CALLBACK_URL_KEYS.some((key) => typeof config[key] === 'string' && rewriteUrl(config[key] as string, ctx) !== config[key]);
}

export function rewriteLoadResult(result: JsonObject, ctx: RewriteContext): JsonObject {
  const config = result.config;
  if (isJsonObject(config)) {
    for (const key of CALLBACK_URL_KEYS) {
      if (typeof config[key] === 'string') config[key] = rewriteUrl(config[key] as string, ctx);
    }
  }
  return result;
}
