/**
 * The API reference page (`/admin/docs`) in a real browser: the admin app served on a loopback
 * port, the page opened in headless Chromium. It must list every operation of spec/openapi.yaml
 * (Icerelay's own and the Iceberg ones it references), show an operation's parameters, schemas
 * and examples when opened, follow references into Iceberg's document, apply the document's
 * errata, filter, and load nothing from elsewhere nor break its content security policy.
 * Screenshots go to `.tmp/screenshots/api-docs*.png`.
 */
import type { Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { createAdminApp } from '../../src/server/admin-routes.ts';
import { listen, requestListener } from '../../src/server/http-server.ts';
import { browserSkip, chromiumPath } from '../helpers/chromium.ts';
import { OpenApiContract } from '../spec/openapi-contract.ts';

const screenshots = resolve(import.meta.dirname, '../../.tmp/screenshots');
const contract = new OpenApiContract();

// Found before anything starts: without Chromium this file fails with what to install (one
// failing test), instead of skipping quietly; ICERELAY_SKIP_BROWSER=1 skips on purpose.
let executablePath = '';
let noChromium: Error | undefined;
try {
  if (!browserSkip) executablePath = chromiumPath();
} catch (error) {
  noChromium = error as Error;
}
if (noChromium) {
  const reason = noChromium;
  it('finds Chromium', () => {
    throw reason;
  });
}

describe.skipIf(browserSkip !== undefined || noChromium !== undefined)(`the API reference in Chromium${browserSkip ? ` (skipped: ${browserSkip})` : ''}`, { timeout: 60_000 }, () => {
  let dir: string;
  let database: StateDatabase;
  let server: Server;
  let origin: string;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  const operation = (method: string, path: string) => page.locator(`details.op[data-method="${method}"][data-path="${path}"]`);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'icerelay-api-docs-'));
    database = await openDatabase({ kind: 'sqlite', path: join(dir, 'state.db') });
    server = await listen(requestListener(createAdminApp(new OutboxStore(database)).fetch), '127.0.0.1', 0);
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    browser = await chromium.launch({ executablePath });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('console', (message) => {
      // A failed load is reported with its URL below (the console line has none).
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(`console: ${message.text()}`);
    });
    page.on('response', (response) => {
      // The browser asks for /favicon.ico on its own; the page names no icon.
      if (response.status() >= 400 && new URL(response.url()).pathname !== '/favicon.ico') problems.push(`${response.status()}: ${response.url()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('request', (request) => {
      if (!request.url().startsWith(origin)) problems.push(`request elsewhere: ${request.url()}`);
    });
    mkdirSync(screenshots, { recursive: true });
    await page.goto(`${origin}/admin/docs`);
    await page.locator('body[data-ready="yes"]').waitFor({ timeout: 20_000 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((done) => server?.close(done));
    await database?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists every operation of the document, grouped by tag', async () => {
    const listed = await page.locator('details.op').evaluateAll((nodes) => nodes.map((n) => `${n.getAttribute('data-method')} ${n.getAttribute('data-path')}`));
    expect(listed.sort()).toEqual(contract.operations().map((op) => `${op.method} ${op.template}`).sort());
    expect(await page.locator('#doc-title').textContent()).toContain('Icerelay');
    expect(await page.locator('.group[data-tag="Replication"] h3').textContent()).toBe('Replication');
    await page.screenshot({ path: join(screenshots, 'api-docs.png') });
    expect(problems).toEqual([]);
  });

  it('shows an admin operation\'s parameters, response schema and example when opened', async () => {
    const outbox = operation('GET', '/admin/v1/outbox');
    await outbox.locator('summary').click();
    // The details are built by the toggle handler, after the click returns: wait for them.
    await expect.poll(() => outbox.locator('table.params tbody tr td:first-child').allTextContents()).toEqual(['table', 'limit']);
    await expect.poll(() => outbox.locator('.response .status').allTextContents()).toEqual(['200', '400']);
    // The response schema is opened one level: its properties are listed, and the referenced event schema can be opened.
    expect(await outbox.locator('.response').first().locator('code.prop').first().textContent()).toBe('events');
    expect(await outbox.locator('pre.example').first().textContent()).toContain('"kind": "commit-table"');
    await outbox.locator('.response').first().locator('details.ref:not([open]) > summary').first().click();
    await expect.poll(() => outbox.locator('code.prop', { hasText: 'addedSnapshotIds' }).count()).toBe(1);
    await outbox.screenshot({ path: join(screenshots, 'api-docs-outbox.png') });
    // Nothing missing is written out as the word: a "null" stands only in a type.
    const strayNulls = await outbox.evaluate((root) => {
      const SHOW_TEXT = 4; // NodeFilter.SHOW_TEXT
      const walker = root.ownerDocument.createTreeWalker(root, SHOW_TEXT);
      let count = 0;
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (node.nodeValue === 'null' && !node.parentElement?.closest('.type, pre')) count++;
      }
      return count as number;
    });
    expect(strayNulls).toBe(0);
    expect(problems).toEqual([]);
  });

  it('follows an Iceberg operation into Apache Iceberg\'s document', async () => {
    const commit = operation('POST', '/v1/{prefix}/namespaces/{namespace}/tables/{table}');
    await commit.locator('summary').click();
    expect(await commit.locator('.origin').textContent()).toContain('iceberg-rest-catalog-open-api.yaml');
    expect(await commit.locator('.served').count()).toBe(1);
    const request = commit.locator('section.part', { hasText: 'Request body' });
    expect(await request.locator('.ref-name').first().textContent()).toBe('CommitTableRequest');
    expect(await request.locator('code.prop', { hasText: 'requirements' }).count()).toBeGreaterThan(0);
    expect(await commit.locator('.response .status').allTextContents()).toEqual(expect.arrayContaining(['200', '409', '500', '5XX']));
    await commit.screenshot({ path: join(screenshots, 'api-docs-commit-table.png') });
    // Icerelay's own operations are served at the root only.
    await operation('GET', '/healthz').locator('summary').click();
    expect(await operation('GET', '/healthz').locator('.served').count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('shows where Icerelay answers otherwise than Iceberg\'s document says', async () => {
    const createView = operation('POST', '/v1/{prefix}/namespaces/{namespace}/views');
    await createView.locator('summary').click();
    const conflict = createView.locator('.response', { has: page.locator('.status', { hasText: /^409$/ }) });
    expect(await conflict.locator('.erratum').textContent()).toContain('IcebergErrorResponse');
    expect(await conflict.locator('.ref-name').first().textContent()).toBe('IcebergErrorResponse');
    expect(problems).toEqual([]);
  });

  it('filters operations by what is typed', async () => {
    await page.locator('#filter').fill('rename');
    const shown = await page.locator('details.op:visible').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-path')));
    expect(shown.sort()).toEqual(['/v1/{prefix}/tables/rename', '/v1/{prefix}/views/rename']);
    expect(await page.locator('.toc-op:visible').count()).toBe(2);
    await page.screenshot({ path: join(screenshots, 'api-docs-filtered.png') });
    await page.locator('#filter').fill('');
    expect(await page.locator('details.op:visible').count()).toBe(contract.operations().length);
  });

  it('opens the operation a link names', async () => {
    await page.goto(`${origin}/admin/docs#getReplicationStatus`);
    await page.locator('body[data-ready="yes"]').waitFor();
    expect(await page.locator('#getReplicationStatus').getAttribute('open')).not.toBeNull();
    expect(await page.locator('#getReplicationStatus code.prop', { hasText: 'summary' }).count()).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });
});
