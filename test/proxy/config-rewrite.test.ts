/**
 * Rewriting of what an upstream catalog tells clients, so that they keep calling the proxy.
 */
import { describe, expect, it } from 'vitest';
import { loadResultNeedsRewrite, mayNeedRewrite, rewriteCatalogConfig, rewriteLoadResult } from '../../src/proxy/config-rewrite.ts';
import type { JsonObject } from '../../src/util/json.ts';

const ctx = { upstreamUrl: 'https://catalog.internal/api/catalog', proxyUrl: 'http://icerelay:8181' };

describe('catalog config', () => {
  it('points uri and upstream callback URLs at the proxy and keeps everything else', () => {
    const config: JsonObject = {
      defaults: { 'header.X-Team': 'data', uri: 'https://elsewhere.example/catalog' },
      overrides: {
        prefix: 'wh1',
        'oauth2-server-uri': 'https://catalog.internal/api/catalog/v1/oauth/tokens',
        's3.signer.uri': 'https://signer.example',
      },
      endpoints: ['GET /v1/{prefix}/namespaces', 'POST /v1/{prefix}/transactions/commit'],
    };
    expect(rewriteCatalogConfig(config, ctx)).toEqual({
      defaults: { 'header.X-Team': 'data', uri: 'http://icerelay:8181' },
      overrides: {
        prefix: 'wh1',
        'oauth2-server-uri': 'http://icerelay:8181/v1/oauth/tokens',
        's3.signer.uri': 'https://signer.example', // not the upstream: left alone
      },
      endpoints: ['GET /v1/{prefix}/namespaces', 'POST /v1/{prefix}/transactions/commit'],
    });
  });

  it('adds missing defaults and overrides and keeps only forwarded endpoints', () => {
    const config: JsonObject = { endpoints: ['GET /v1/{prefix}/namespaces', 'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/plan'] };
    const rewritten = rewriteCatalogConfig(config, { ...ctx, forwardedEndpoints: new Set(['GET /v1/{prefix}/namespaces']) });
    expect(rewritten).toEqual({ endpoints: ['GET /v1/{prefix}/namespaces'], defaults: {}, overrides: {} });
  });
});

describe('auth the proxy terminates', () => {
  const terminating = { ...ctx, terminatesAuth: true };

  it('removes signing and token settings meant for the upstream from the config', () => {
    const config: JsonObject = {
      defaults: { 'rest.sigv4-enabled': 'true', 'rest.signing-name': 's3tables', 'rest.signing-region': 'us-east-1', 'io-impl': 'x' },
      overrides: { 'rest.auth.type': 'sigv4', token: 'upstream-token', prefix: 'p' },
    };
    expect(rewriteCatalogConfig(structuredClone(config), terminating)).toEqual({ defaults: { 'io-impl': 'x' }, overrides: { prefix: 'p' } });
    // Passing client credentials through: the client needs them all.
    expect(rewriteCatalogConfig(structuredClone(config), ctx)).toEqual(config);
  });

  it('removes table-scoped tokens from load results', () => {
    const result: JsonObject = {
      'metadata-location': 'x', metadata: {},
      config: { token: 't', 'urn:ietf:params:oauth:token-type:id_token': 'i', 's3.endpoint': 'http://s3' },
    };
    const body = Buffer.from(JSON.stringify(result));
    expect(mayNeedRewrite(body)).toBe(false);
    expect(mayNeedRewrite(body, terminating)).toBe(true);
    expect(loadResultNeedsRewrite(result, ctx)).toBe(false);
    expect(loadResultNeedsRewrite(result, terminating)).toBe(true);
    expect(rewriteLoadResult(result, terminating).config).toEqual({ 's3.endpoint': 'http://s3' });
  });
});

describe('load results', () => {
  it('rewrites only callback URLs under the upstream', () => {
    const result: JsonObject = {
      'metadata-location': 's3://b/t/metadata/00001.metadata.json',
      metadata: {},
      config: {
        'client.refresh-credentials-endpoint': 'https://catalog.internal/api/catalog/v1/ns/tables/t/credentials',
        's3.endpoint': 'https://catalog.internal/api/catalog/not-a-callback',
      },
    };
    const body = Buffer.from(JSON.stringify(result));
    expect(mayNeedRewrite(body)).toBe(true);
    expect(loadResultNeedsRewrite(result, ctx)).toBe(true);
    expect(rewriteLoadResult(result, ctx).config).toEqual({
      'client.refresh-credentials-endpoint': 'http://icerelay:8181/v1/ns/tables/t/credentials',
      's3.endpoint': 'https://catalog.internal/api/catalog/not-a-callback',
    });
  });

  it('leaves plain load results alone without parsing them', () => {
    const body = Buffer.from(JSON.stringify({ 'metadata-location': 'x', metadata: {}, config: { 's3.endpoint': 'http://s3' } }));
    expect(mayNeedRewrite(body)).toBe(false);
  });
});
