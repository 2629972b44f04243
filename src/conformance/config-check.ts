/**
 * GET /v1/config, the first thing every client asks: a CatalogConfig with `defaults` and
 * `overrides`, and, when it lists `endpoints`, well-formed ones. Later checks use the prefix and
 * the endpoints it names.
 */
import { expectAnswer, expectThat } from './protocol-assertions.ts';
import type { ProtocolCheck, ProtocolContext } from './protocol-check.ts';

interface CatalogConfig {
  defaults: Record<string, string>;
  overrides: Record<string, string>;
  endpoints?: string[];
}

const ENDPOINT = /^(GET|HEAD|POST|PUT|DELETE|PATCH) \/v1\/\S*$/;

export const configCheck: ProtocolCheck<ProtocolContext> = {
  name: 'config',
  async run(context) {
    const config = expectAnswer<CatalogConfig>(await context.http.config(context.warehouse), 200, 'CatalogConfig');
    for (const [part, values] of [['defaults', config.defaults], ['overrides', config.overrides]] as const) {
      const notText = Object.entries(values).filter(([, v]) => typeof v !== 'string').map(([k]) => k);
      expectThat(notText.length === 0, `GET /v1/config: ${part} must map to strings, not for ${notText.join(', ')}`);
    }
    if (config.endpoints) {
      const malformed = config.endpoints.filter((e) => !ENDPOINT.test(e));
      expectThat(malformed.length === 0, `GET /v1/config: endpoints must read "<METHOD> /v1/...": ${malformed.slice(0, 3).join(', ')}`);
      context.endpoints = new Set(config.endpoints);
    }
    // A client uses the override when there is one, else the default (the spec's merge order).
    context.http.usePrefix(config.overrides.prefix ?? config.defaults.prefix);
  },
};
