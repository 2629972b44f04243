/**
 * `replication.retry` of the configuration file reaches the running shipper: with
 * `maxAttempts: 2`, a table whose source lost a file is `failed` after exactly two attempts (the
 * default would go on for 20), stays failed without a third attempt, and ships once the file is
 * back and an operator resumes it.
 */
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { type IcerelayChild } from '../helpers/child-process-icerelay.ts';
import { localPath } from './robustness/iceberg-files.ts';
import {
  append, startLocalReplicaIcerelay, call, createNamespace, createTable, expectReplicaEqualsSource, replicationStatus, sleep, waitForReplication,
  type LocalReplicaIcerelay, type StatusRow, type TableId,
} from './robustness/harness.ts';

const table: TableId = { namespace: 'retry', name: 'lost_file' };
const entity = { namespace: [table.namespace], name: table.name };

describe('replication.retry.maxAttempts', () => {
  let running: LocalReplicaIcerelay | undefined;
  let icerelay: IcerelayChild;
  let outbox: OutboxStore;

  beforeAll(async () => {
    running = await startLocalReplicaIcerelay('icerelay-retry-settings-', ['  retry: { maxAttempts: 2, baseDelay: 1s, maxDelay: 2s }']);
    ({ icerelay, outbox } = running);
  }, 120_000);

  afterAll(async () => {
    await running?.close();
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
