/**
 * The status page (`/ui`) in a real browser, against a real Icerelay child process (SQLite state,
 * two built-in replicas `local` and `dr`) in a situation with every state at once:
 * - `ui.orders`, and a table whose name is HTML, fully replicated (completed);
 * - `ui.clicks`, held at `dr` (paused) with two commits waiting there;
 * - `ui.broken`, whose newest commit's data file was deleted at the source: its copy fails at both
 *   destinations (failed), with the missing file in the error.
 * The page must show the three states distinctly, pause and resume queues through its buttons,
 * list a table's events in its history panel, and chart the lag. Screenshots go to
 * `.tmp/screenshots/status-page*.png`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { browserSkip, chromiumPath } from '../helpers/chromium.ts';
import { killAllChildren, startIcerelay, type IcerelayChild } from '../helpers/child-process-icerelay.ts';
import { freePort } from '../helpers/free-port.ts';
import { localPath } from '../replication/robustness/iceberg-files.ts';
import {
  append, call, createNamespace, createTable, outboxEvents, replicationStatus, sleep, tableKey, waitForReplication, type StatusRow, type TableId,
} from '../replication/robustness/harness.ts';

const orders: TableId = { namespace: 'ui', name: 'orders' };
const clicks: TableId = { namespace: 'ui', name: 'clicks' };
const broken: TableId = { namespace: 'ui', name: 'broken' };
// Table names may contain anything: this one is markup that would run script if the page used it as HTML.
const markup: TableId = { namespace: 'ui', name: '<img src=x onerror=window.__injected=1>' };
const destinations = ['local', 'dr'];
const screenshots = resolve(import.meta.dirname, '../../.tmp/screenshots');

const entity = (t: TableId) => ({ namespace: [t.namespace], name: t.name });
const rowSelector = (t: TableId, destination: string) => `tr[data-table=${JSON.stringify(tableKey(t))}][data-destination=${JSON.stringify(destination)}]`;

async function admin(base: string, action: 'pause' | 'resume', destination: string, t?: TableId): Promise<void> {
  const answer = await call(base, 'POST', `/admin/v1/replication/${action}`, { destination, ...(t ? { table: tableKey(t) } : {}) });
  if (answer.status !== 200) throw new Error(`${action} ${destination}: ${answer.status} ${answer.body}`);
}

/** Polls the status until `done` holds for it; fails with the last rows after `timeoutMs`. */
async function waitForStatus(base: string, done: (rows: StatusRow[]) => boolean, what: string, timeoutMs = 60_000): Promise<StatusRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await replicationStatus(base);
    if (done(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`${what}: not reached after ${timeoutMs} ms: ${JSON.stringify(rows)}`);
    await sleep(200);
  }
}

const find = (rows: StatusRow[], t: TableId, destination: string) => rows.find((r) => r.entity.name === t.name && r.destination === destination);

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

describe.skipIf(browserSkip !== undefined || noChromium !== undefined)(`the status page in Chromium${browserSkip ? ` (skipped: ${browserSkip})` : ''}`, () => {
  let dir: string;
  let icerelay: IcerelayChild;
  let state: StateDatabase;
  let browser: Browser;
  let page: Page;
  let missingFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'icerelay-ui-'));
    const config = join(dir, 'icerelay.yaml');
    writeFileSync(config, [
      'replication:',
      '  destinations:',
      ...destinations.map((d) => `    ${d}: { warehouse: "${join(dir, 'data', 'replicas', d)}" }`),
      '  pollMs: 200',
      '',
    ].join('\n'));
    icerelay = await startIcerelay({ args: ['--config', config], env: { ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(dir, 'data') } });
    state = await openDatabase({ kind: 'sqlite', path: join(dir, 'data', 'icerelay.db') });
    const base = icerelay.url;

    await createNamespace(base, 'ui');
    for (const t of [orders, clicks, broken, markup]) {
      await createTable(base, t);
      for (let i = 0; i < 2; i++) await append({ base: () => base, table: t });
    }
    await waitForReplication(() => base, 60_000);

    // Lagging: `dr` holds ui.clicks while two more commits come in.
    await admin(base, 'pause', 'dr', clicks);
    for (let i = 0; i < 2; i++) await append({ base: () => base, table: clicks });

    // Failing: a commit whose data file is gone at the source by the time it is shipped.
    for (const d of destinations) await admin(base, 'pause', d, broken);
    const lost = await append({ base: () => base, table: broken });
    missingFile = localPath(lost.written.dataFile);
    await unlink(missingFile);
    for (const d of destinations) await admin(base, 'resume', d, broken);
    await waitForStatus(base, (rows) => destinations.every((d) => (find(rows, broken, d)?.attempts ?? 0) >= 1), 'ui.broken failed once at each destination');
    // Icerelay gives a queue up (`failed`) after 20 failed attempts, hours of backoff apart; a
    // store that gives up after one records one more failure of the same error, as the 20th would.
    const impatient = new OutboxStore(state, { retry: { maxAttempts: 1 } });
    const rows = await replicationStatus(base);
    for (const d of destinations) await impatient.fail(d, entity(broken), find(rows, broken, d)!.lastError!);
    await waitForStatus(base, (now) =>
      destinations.every((d) => find(now, broken, d)?.state === 'failed' && find(now, orders, d)?.state === 'completed') &&
      find(now, clicks, 'local')?.state === 'completed' && find(now, clicks, 'dr')?.eventsBehind === 2,
    'the three states');

    browser = await chromium.launch({ executablePath });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    mkdirSync(screenshots, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await killAllChildren();
    await state?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const row = (t: TableId, destination: string): Locator => page.locator(rowSelector(t, destination));
  const badge = (t: TableId, destination: string): Locator => row(t, destination).locator('.badge');
  const waitForState = (t: TableId, destination: string, stateName: string) =>
    page.waitForSelector(`${rowSelector(t, destination)}[data-state="${stateName}"]`, { timeout: 60_000 });

  it('shows completed, paused (lagging) and failed queues distinctly, with the failed one\'s error', async () => {
    await page.goto(`${icerelay.url}/ui`);
    await waitForState(orders, 'local', 'completed');

    for (const d of destinations) {
      expect(await badge(orders, d).textContent()).toContain('completed');
      expect(await badge(orders, d).getAttribute('class')).toContain('state-completed');
      expect(await badge(broken, d).textContent()).toContain('failed');
      expect(await badge(broken, d).getAttribute('class')).toContain('state-failed');
      expect(await row(broken, d).getAttribute('class')).toContain('row-failed');
      expect(await row(broken, d).locator('.error-text').textContent()).toContain(missingFile);
      expect(await row(broken, d).locator('button[data-action="resume"]').textContent()).toBe('Retry');
    }
    expect(await badge(clicks, 'local').getAttribute('class')).toContain('state-completed');
    expect(await badge(clicks, 'dr').textContent()).toContain('paused');
    expect(await badge(clicks, 'dr').getAttribute('class')).toContain('state-paused');
    // Lagging: two commits behind at dr, and a lag (the oldest's age) shown.
    const cells = row(clicks, 'dr').locator('td');
    expect(await cells.nth(4).textContent()).toBe('2');
    expect(await cells.nth(5).textContent()).toBe('2');
    expect(await cells.nth(3).textContent()).toMatch(/^(\d+ m )?\d+ s$/);
    // Four distinct looks: the colors of the badges differ from state to state.
    const colors = await Promise.all([badge(orders, 'local'), badge(clicks, 'dr'), badge(broken, 'local')].map((b) => b.evaluate((e) => e.ownerDocument.defaultView.getComputedStyle(e).backgroundColor as string)));
    expect(new Set(colors).size).toBe(3);

    // The markup name is shown as text: no element made of it, no script run.
    expect(await row(markup, 'local').locator('button.entity').textContent()).toBe(tableKey(markup));
    expect(await page.locator('tbody img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __injected?: number }).__injected)).toBeUndefined();

    // Destination cards: counts, and a lag chart once the server has two samples (5 s apart).
    expect(await page.locator('.card[data-destination="dr"] .count.state-paused b').textContent()).toBe('1');
    expect(await page.locator('.card[data-destination="local"] .count.state-failed b').textContent()).toBe('1');
    await page.waitForSelector('.card[data-destination="dr"] svg.chart polyline', { timeout: 20_000 });
    await page.waitForSelector('.card[data-destination="local"] svg.chart polyline', { timeout: 20_000 });
    await page.screenshot({ path: join(screenshots, 'status-page.png'), fullPage: true });
  }, 60_000);

  it('lists a table\'s replication history when its name is clicked', async () => {
    await row(broken, 'local').locator('button.entity').click();
    await page.waitForSelector('#history:not([hidden]) table.events tbody tr');
    const events = await outboxEvents(icerelay.url, tableKey(broken));
    expect(events.length).toBe(4); // created, two commits shipped, the one that fails
    const lines = page.locator('#history table.events tbody tr');
    expect(await lines.count()).toBe(events.length);
    // Newest first: the failing commit, waiting at both destinations; the first one applied.
    const newest = events.at(-1)!;
    const top = lines.first();
    expect(await top.getAttribute('data-sequence')).toBe(String(newest.sequence));
    expect(await top.textContent()).toContain('commit-table');
    expect(await top.textContent()).toContain('committed');
    expect(await top.textContent()).toContain(newest.addedSnapshotIds[0]!);
    expect(await top.textContent()).toContain(newest.metadataLocation!);
    expect(await top.locator('.applied.no').count()).toBe(2);
    expect(await lines.last().textContent()).toContain('create-table');
    expect(await lines.last().locator('.applied.yes').count()).toBe(2);
    expect(await page.locator('#history-title').textContent()).toBe(`History of ${tableKey(broken)}`);
    await page.screenshot({ path: join(screenshots, 'status-page-history.png') });
    await page.locator('#history-close').click();
    expect(await page.locator('#history').isHidden()).toBe(true);
  }, 60_000);

  it('pauses and resumes a table and a whole destination through its buttons', async () => {
    const base = icerelay.url;
    // One table at one destination.
    await row(orders, 'local').locator('button[data-action="pause"]').click();
    await waitForState(orders, 'local', 'paused');
    expect(find(await replicationStatus(base), orders, 'local')?.state).toBe('paused');
    expect(await badge(orders, 'dr').getAttribute('class')).toContain('state-completed');
    await row(orders, 'local').locator('button[data-action="resume"]').click();
    await waitForState(orders, 'local', 'completed');

    // The lagging table catches up once resumed.
    await row(clicks, 'dr').locator('button[data-action="resume"]').click();
    await waitForState(clicks, 'dr', 'completed');
    expect(await row(clicks, 'dr').locator('td').nth(4).textContent()).toBe('0');

    // A whole destination.
    await page.locator('.card[data-destination="dr"] button[data-action="pause-destination"]').click();
    for (const t of [orders, clicks, broken, markup]) await waitForState(t, 'dr', 'paused');
    expect((await replicationStatus(base)).filter((r) => r.destination === 'dr' && r.entity.name !== undefined).every((r) => r.state === 'paused')).toBe(true);
    expect(await badge(orders, 'local').getAttribute('class')).toContain('state-completed');
    await page.screenshot({ path: join(screenshots, 'status-page-paused.png'), fullPage: true });
    await page.locator('.card[data-destination="dr"] button[data-action="resume-destination"]').click();
    for (const t of [orders, clicks, markup]) await waitForState(t, 'dr', 'completed');
    // Resuming retries the failed table too: it runs (and fails) again instead of waiting.
    await page.waitForSelector(`${rowSelector(broken, 'dr')}:not([data-state="paused"])`);
    expect(await badge(broken, 'local').getAttribute('class')).toContain('state-failed');
  }, 120_000);
});
