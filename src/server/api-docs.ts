/**
 * The API reference, served by Icerelay itself:
 * - `GET /admin/docs`: a page (docs/ beside this file: plain HTML, CSS and JavaScript, no build
 *   step, nothing loaded from elsewhere) that renders spec/openapi.yaml as a list of operations
 *   with their parameters, request and response schemas and examples;
 * - `GET /admin/docs/documents.json`: what the page renders: spec/openapi.yaml and the documents
 *   it references, parsed, by file name;
 * - `GET /admin/openapi.yaml` (as written) and `/admin/openapi.json`; and the files it references,
 *   `/admin/iceberg-rest-catalog-open-api.yaml` and `/admin/outbox-event.schema.json`, so that its
 *   relative `$ref`s resolve for a tool that loads it from this server.
 *
 * Everything is read once at start-up: a missing or broken file fails the start, not a request.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { parse as parseYaml } from 'yaml';
import { SECURITY_HEADERS } from './status-page.ts';

const SPEC_DIR = join(import.meta.dirname, '../../spec');
const PAGE_DIR = join(import.meta.dirname, 'docs');

/** spec/openapi.yaml and every file its `$ref`s name. */
const SPEC_FILES = ['openapi.yaml', 'iceberg-rest-catalog-open-api.yaml', 'outbox-event.schema.json'] as const;

interface Asset {
  body: string;
  type: string;
}

const YAML_TYPE = 'application/yaml; charset=utf-8';
const JSON_TYPE = 'application/json';

function readSpec(): { texts: Map<string, string>; documents: Record<string, unknown> } {
  const texts = new Map(SPEC_FILES.map((name) => [name, readFileSync(join(SPEC_DIR, name), 'utf8')]));
  const documents: Record<string, unknown> = {};
  for (const [name, text] of texts) {
    try {
      // YAML is a superset of JSON: one parser for both kinds of file.
      documents[name] = parseYaml(text);
    } catch (error) {
      throw new Error(`spec/${name} cannot be parsed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  return { texts, documents };
}

function loadAssets(): { page: Asset; pageAssets: Map<string, Asset>; files: Map<string, Asset> } {
  const { texts, documents } = readSpec();
  const page = { body: readFileSync(join(PAGE_DIR, 'index.html'), 'utf8'), type: 'text/html; charset=utf-8' };
  const pageAssets = new Map<string, Asset>([
    ['docs.css', { body: readFileSync(join(PAGE_DIR, 'docs.css'), 'utf8'), type: 'text/css; charset=utf-8' }],
    ['docs.js', { body: readFileSync(join(PAGE_DIR, 'docs.js'), 'utf8'), type: 'text/javascript; charset=utf-8' }],
    // The status page's element builder, which docs.js imports.
    ['dom.js', { body: readFileSync(join(PAGE_DIR, '..', 'ui', 'dom.js'), 'utf8'), type: 'text/javascript; charset=utf-8' }],
    ['documents.json', { body: JSON.stringify(documents), type: JSON_TYPE }],
  ]);
  const files = new Map<string, Asset>([
    ['openapi.yaml', { body: texts.get('openapi.yaml')!, type: YAML_TYPE }],
    ['openapi.json', { body: JSON.stringify(documents['openapi.yaml'], null, 2), type: JSON_TYPE }],
    ['iceberg-rest-catalog-open-api.yaml', { body: texts.get('iceberg-rest-catalog-open-api.yaml')!, type: YAML_TYPE }],
    ['outbox-event.schema.json', { body: texts.get('outbox-event.schema.json')!, type: 'application/schema+json' }],
  ]);
  return { page, pageAssets, files };
}

const answer = (asset: Asset) => new Response(asset.body, { headers: { 'content-type': asset.type, ...SECURITY_HEADERS } });

export function registerApiDocs(app: Hono): void {
  const { page, pageAssets, files } = loadAssets();
  app.get('/admin/docs', () => answer(page));
  app.get('/admin/docs/:asset', (c) => {
    const asset = pageAssets.get(c.req.param('asset'));
    return asset ? answer(asset) : c.notFound();
  });
  for (const [name, asset] of files) app.get(`/admin/${name}`, () => answer(asset));
}
