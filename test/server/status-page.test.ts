/**
 * The status page's server side: its files with their types and security headers, relative
 * addressing (`/ui/` sends to `/ui`), and the lag history (samples per destination, a bounded
 * buffer, sampling only while watched). The page itself runs in a browser: test/ui/.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import type { EntityStatus } from '../../src/replication/status.ts';
import { LagHistory, lagSample, type LagSample } from '../../src/server/lag-history.ts';
import { registerStatusPage } from '../../src/server/status-page.ts';

const row = (destination: string, name: string, fields: Partial<EntityStatus>): EntityStatus => ({
  destination, entity: { namespace: ['ns'], name }, state: 'completed', position: 1, latestSequence: 1, eventsBehind: 0, snapshotsBehind: 0,
  oldestPendingAtMs: null, lastReplicated: null, attempts: 0, lastError: null, completedAtMs: null, shipping: null, bytesPending: 0, ...fields,
});

describe('lagSample', () => {
  it('takes the oldest pending commit per destination, and sums what is behind', () => {
    const rows = [
      row('a', 't1', { state: 'pending', eventsBehind: 2, oldestPendingAtMs: 9_000 }),
      row('a', 't2', { state: 'failed', eventsBehind: 1, oldestPendingAtMs: 4_000 }),
      row('a', 't3', {}),
      row('b', 't1', {}),
    ];
    expect(lagSample(rows, ['a', 'b', 'c'], 10_000)).toEqual({
      atMs: 10_000,
      destinations: [
        { destination: 'a', lagMs: 6_000, eventsBehind: 3, failed: 1 },
        { destination: 'b', lagMs: 0, eventsBehind: 0, failed: 0 },
        { destination: 'c', lagMs: 0, eventsBehind: 0, failed: 0 },
      ],
    });
  });
});

describe('LagHistory', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps the newest `capacity` samples, and answers those after a time', async () => {
    let now = 0;
    const history = new LagHistory({ destinations: ['a'], read: async () => [], capacity: 3, now: () => now });
    for (now = 1; now <= 5; now++) await history.sample();
    expect(history.samples().map((s) => s.atMs)).toEqual([3, 4, 5]);
    expect(history.samples(4).map((s) => s.atMs)).toEqual([5]);
  });

  it('samples while watched and stops once nobody asked for `idleMs`', async () => {
    vi.useFakeTimers();
    let reads = 0;
    const history = new LagHistory({ destinations: ['a'], read: async () => (reads++, []), intervalMs: 1_000, idleMs: 5_000, now: () => Date.now() });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(reads).toBe(0); // nobody watched yet
    history.watch();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(reads).toBe(4); // at once, then each second
    await vi.advanceTimersByTimeAsync(20_000);
    expect(reads).toBe(6); // up to idleMs after the last watch
    history.watch();
    await vi.advanceTimersByTimeAsync(0);
    expect(reads).toBe(7);
    history.stop();
  });

  it('skips a sample whose read fails', async () => {
    const history = new LagHistory({ destinations: ['a'], read: async () => { throw new Error('database gone'); } });
    await history.sample();
    expect(history.samples()).toEqual([]);
  });
});

describe('the status page routes', () => {
  let dir: string;
  let database: StateDatabase;
  let app: Hono;
  let history: LagHistory;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'icerelay-status-page-'));
    database = await openDatabase({ kind: 'sqlite', path: join(dir, 'state.db') });
    app = new Hono();
    history = registerStatusPage(app, new OutboxStore(database), { destinations: ['local'] });
  });

  afterAll(async () => {
    history.stop();
    await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the page and its files, with a policy that lets no inline or foreign script run', async () => {
    const page = await app.request('/ui');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    // Relative addresses only: the page may live under a reverse proxy's path prefix.
    expect(html).toContain('src="ui/status.js"');
    expect(html).toContain('href="ui/status.css"');
    expect((await app.request('/ui/status.js')).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await app.request('/ui/dom.js')).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await app.request('/ui/status.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await app.request('/ui/secrets.txt')).status).toBe(404);
    const slash = await app.request('/ui/');
    expect([slash.status, slash.headers.get('location')]).toEqual([308, '../ui']);
  });

  it('answers the lag samples after a time, and refuses a time that is not a number', async () => {
    await app.request('/ui'); // starts sampling
    await history.sample();
    const all = (await (await app.request('/admin/v1/replication/lag-history')).json()) as { intervalMs: number; destinations: string[]; samples: LagSample[] };
    expect(all.destinations).toEqual(['local']);
    expect(all.samples.length).toBeGreaterThan(0);
    expect(all.samples.at(-1)!.destinations).toEqual([{ destination: 'local', lagMs: 0, eventsBehind: 0, failed: 0 }]);
    const newer = (await (await app.request(`/admin/v1/replication/lag-history?since=${all.samples.at(-1)!.atMs}`)).json()) as { samples: LagSample[] };
    expect(newer.samples).toEqual([]);
    expect((await app.request('/admin/v1/replication/lag-history?since=yesterday')).status).toBe(400);
  });
});
