/**
 * `replication.retry` of the configuration file reaches the running shipper: with
 * `maxAttempts: 2`, a table whose source lost a file is `failed` after exactly two attempts (the
 * default would go on for 20), stays failed without a third attempt, and ships once the file is
 * back and an operator resumes it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { killAllChildren, startIcerelay, type IcerelayChild } from '../helpers/child-process-icerelay.ts';
import { freePort } from '../helpers/free-port.ts';
import { localPath } from './robustness/iceberg-files.ts';
import {
  append, call, createNamespace, createTable, expectReplicaEqualsSource, replicationStatus, sleep, waitForReplication,
  type StatusRow, type TableId,
} from './robustness/harness.ts';

const table: TableId = { namespace: 'retry', name: 'lost_file' };
const entity = { namespace: [table.namespace], name: table.name };

describe('replication.retry.maxAttempts', () => {
  let dir: string;
  let icerelay: IcerelayChild;
  let state: StateDatabase;
  let outbox: OutboxStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'icerelay-retry-settings-'));
    const config = join(dir, 'icerelay.yaml');
    writeFileSync(config, [
      'replication:',
      '  destinations:',
      `    local: { warehouse: "${join(dir, 'data', 'replicas', 'local')}" }`,
      '  pollMs: 200',
      '  retry: { maxAttempts: 2, baseDelay: 1s, maxDelay: 2s }',
      '',
    ].join('\n'));
    icerelay = await startIcerelay({ args: ['--config', config], env: { ICERELAY_PORT: String(await freePort()), ICERELAY_DATA_DIR: join(dir, 'data') } });
    // The same SQLite file, to hold the table's queue while its file is taken away.
    state = await openDatabase({ kind: 'sqlite', path: join(dir, 'data', 'icerelay.db') });
    outbox = new OutboxStore(state);
  }, 120_000);

  afterAll(async () => {
    await killAllChildren();
    await state?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('marks the table failed after two attempts, and it stays failed until resumed', async () => {
    const base = icerelay.url;
    await createNamespace(base, table.namespace);
    await createTable(base, table);
    await append({ base: () => base, table });
    await waitForReplication(() => base, 60_000);

    expect(await outbox.pause('local', entity)).toBe(1);
    const broken = await append({ base: () => base, table });
    const missing = broken.written.dataFile;
    const kept = await readFile(localPath(missing));
    await unlink(localPath(missing));
    expect(await outbox.resume('local', entity)).toBe(1);

    const rowOf = async (): Promise<StatusRow> => (await replicationStatus(base)).find((r) => r.entity.name === table.name)!;
    const deadline = Date.now() + 60_000;
    let row = await rowOf();
    while (row.state !== 'failed') {
      if (Date.now() > deadline) throw new Error(`not failed after 60 s: ${JSON.stringify(row)}`);
      await sleep(200);
      row = await rowOf();
    }
    expect(row.attempts).toBe(2);
    expect(row.lastError).toContain(localPath(missing));

    // Longer than the longest backoff (2 s): a third attempt would have come by now.
    await sleep(4_000);
    row = await rowOf();
    expect([row.state, row.attempts]).toEqual(['failed', 2]);

    // The file is back; `icerelay resume` (the admin API) retries at once and the table ships.
    await writeFile(localPath(missing), kept);
    const resumed = await call(base, 'POST', '/admin/v1/replication/resume', { destination: 'local', table: `${table.namespace}.${table.name}` });
    expect(resumed.status).toBe(200);
    await waitForReplication(() => base, 60_000);
    await expectReplicaEqualsSource(base, table);
  }, 180_000);
});
