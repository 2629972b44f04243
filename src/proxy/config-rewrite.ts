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
  /**
   * The proxy authenticates to the upstream itself: auth settings meant for the upstream
   * (signing, table-scoped tokens) are removed, since clients authenticate to the proxy.
   */
  terminatesAuth?: boolean;
}

/** Settings that tell clients how to authenticate to the upstream; see `terminatesAuth`. */
const UPSTREAM_AUTH_KEYS = ['rest.auth.type', 'rest.sigv4-enabled', 'rest.signing-name', 'rest.signing-region', 'token'];
const TOKEN_TYPE_KEY_PREFIX = 'urn:ietf:params:oauth:token-type:';

function isUpstreamAuthKey(key: string): boolean {
  return UPSTREAM_AUTH_KEYS.includes(key) || key.startsWith(TOKEN_TYPE_KEY_PREFIX);
}

function removeUpstreamAuth(map: JsonObject): void {
  for (const key of Object.keys(map)) {
    if (isUpstreamAuthKey(key)) delete map[key];
  }
}

/** An absolute URL under the upstream becomes the same path under the proxy; relative ones stay. */
function rewriteUrl(value: string, ctx: RewriteContext): string {
  const upstream = ctx.upstreamUrl.replace(/\/+$/, '');
  if (value === upstream || value.startsWith(`${upstream}/`)) return `${ctx.proxyUrl.replace(/\/+$/, '')}${value.slice(upstream.length)}`;
  return value;
}

function rewriteMap(map: unknown, ctx: RewriteContext): void {
  if (!isJsonObject(map)) return;
  if (ctx.terminatesAuth) removeUpstreamAuth(map);
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
const AUTH_KEY_BYTES = [...UPSTREAM_AUTH_KEYS.map((k) => Buffer.from(`"${k}"`)), Buffer.from(`"${TOKEN_TYPE_KEY_PREFIX}`)];

/** A cheap byte scan: false means no key the proxy rewrites occurs anywhere in the body. */
export function mayNeedRewrite(body: Buffer, ctx?: Pick<RewriteContext, 'terminatesAuth'>): boolean {
  return CALLBACK_KEY_BYTES.some((key) => body.includes(key)) || (ctx?.terminatesAuth === true && AUTH_KEY_BYTES.some((key) => body.includes(key)));
}

/** True when a load result's config would send clients around the proxy, so it must be rewritten. */
export function loadResultNeedsRewrite(result: JsonObject, ctx: RewriteContext): boolean {
  const config = result.config;
  if (!isJsonObject(config)) return false;
  if (ctx.terminatesAuth && Object.keys(config).some(isUpstreamAuthKey)) return true;
  return CALLBACK_URL_KEYS.some((key) => typeof config[key] === 'string' && rewriteUrl(config[key] as string, ctx) !== config[key]);
}

export function rewriteLoadResult(result: JsonObject, ctx: RewriteContext): JsonObject {
  const config = result.config;
  if (isJsonObject(config)) {
    if (ctx.terminatesAuth) removeUpstreamAuth(config);
    for (const key of CALLBACK_URL_KEYS) {
      if (typeof config[key] === 'string') config[key] = rewriteUrl(config[key] as string, ctx);
    }
  }
  return result;
}
