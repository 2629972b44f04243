/**
 * A file missing at the source fails that table alone, with an error naming the file, while the
 * other tables go on. One Icerelay (SQLite state, replica `local`); the test holds two tables'
 * queues (the outbox's pause, through the shared state database), commits to them, deletes one
 * file of the new snapshot at the source — a data file for one table, a manifest for the other —
 * and lets the queues go. Commits to the other tables keep flowing and are shipped; the two
 * tables stay at their last good snapshot at the replica with the missing file in their last
 * error, retried with backoff. Once the file is back, they catch up.
 */
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxStore } from '../../../src/outbox/outbox-store.ts';
import { type IcerelayChild } from '../../helpers/child-process-icerelay.ts';
import { localPath } from './iceberg-files.ts';
import {
  append, startLocalReplicaIcerelay, createNamespace, createTable, currentId, expectReplicaEqualsSource, mustLoad, replicaBase, replicationStatus, sleep,
  snapshotLines, tableKey, waitForReplication, type LocalReplicaIcerelay, type StatusRow, type TableId,
} from './harness.ts';

const good: TableId[] = Array.from({ length: 4 }, (_, i) => ({ namespace: 'files', name: `good${i}` }));
const lostData: TableId = { namespace: 'files', name: 'lost_data' };
const lostManifest: TableId = { namespace: 'files', name: 'lost_manifest' };
const entity = (t: TableId) => ({ namespace: [t.namespace], name: t.name });

describe('a file missing at the source', () => {
  let running: LocalReplicaIcerelay | undefined;
  let icerelay: IcerelayChild;
  let outbox: OutboxStore;

  beforeAll(async () => {
    running = await startLocalReplicaIcerelay('icerelay-robust-missing-');
    ({ icerelay, outbox } = running);
  }, 120_000);

  afterAll(async () => {
    await running?.close();
  }, 60_000);

  it('fails only that table, naming the file; the others complete; it catches up once the file is back', async () => {
    const base = icerelay.url;
    await createNamespace(base, 'files');
    for (const t of [...good, lostData, lostManifest]) {
      await createTable(base, t);
      for (let i = 0; i < 2; i++) await append({ base: () => base, table: t });
    }
    await waitForReplication(() => base, 60_000);

    // Hold the two tables' queues, commit, and take a file of the new snapshot away.
    for (const t of [lostData, lostManifest]) expect(await outbox.pause('local', entity(t))).toBe(1);
    const sequenceBefore = new Map([lostData, lostManifest].map((t) => [tableKey(t), 0]));
    for (const t of [lostData, lostManifest]) sequenceBefore.set(tableKey(t), await outbox.entitySequence(entity(t)));
    const dataCommit = await append({ base: () => base, table: lostData });
    const manifestCommit = await append({ base: () => base, table: lostManifest });
    // One more commit on each after the broken one: it must wait behind it (order is kept).
    await append({ base: () => base, table: lostData });
    await append({ base: () => base, table: lostManifest });
    const missingData = dataCommit.written.dataFile;
    const missingManifest = manifestCommit.written.manifest;
    const keptData = await readFile(localPath(missingData));
    const keptManifest = await readFile(localPath(missingManifest));
    await unlink(localPath(missingData));
    await unlink(localPath(missingManifest));
    for (const t of [lostData, lostManifest]) expect(await outbox.resume('local', entity(t))).toBe(1);

    // The other tables go on committing and shipping meanwhile.
    for (let round = 0; round < 3; round++) for (const t of good) await append({ base: () => base, table: t });

    // Wait for the good tables to complete and the two others to have failed at least twice.
    const deadline = Date.now() + 90_000;
    let rows: StatusRow[] = [];
    const row = (t: TableId) => rows.find((r) => r.entity.name === t.name)!;
    for (;;) {
      rows = await replicationStatus(base);
      const goodDone = good.every((t) => row(t)?.state === 'completed');
      const lostRetried = [lostData, lostManifest].every((t) => (row(t)?.attempts ?? 0) >= 2);
      if (goodDone && lostRetried) break;
      if (Date.now() > deadline) throw new Error(`not settled as expected after 90 s: ${JSON.stringify(rows)}`);
      await sleep(250);
    }
    console.info(`missing data file: ${row(lostData).lastError}\nmissing manifest: ${row(lostManifest).lastError}`);

    for (const [t, missing] of [[lostData, missingData], [lostManifest, missingManifest]] as const) {
      const r = row(t);
      expect(['pending', 'failed'], `${tableKey(t)}: state`).toContain(r.state);
      expect(r.lastError, `${tableKey(t)}: the last error names the missing file`).toContain(localPath(missing));
      // Stopped at the broken event: the position is the one before it, both commits still behind.
      expect(r.position, `${tableKey(t)}: position`).toBe(sequenceBefore.get(tableKey(t)));
      expect(r.eventsBehind, `${tableKey(t)}: events behind`).toBe(2);
      // The replica still serves the last good state: the first two snapshots, the second current.
      const source = snapshotLines((await mustLoad(base, t)).metadata);
      const replica = await mustLoad(replicaBase(base), t);
      expect(snapshotLines(replica.metadata), `${tableKey(t)}: replica snapshots`).toEqual(source.slice(0, 2));
      expect(currentId(replica.metadata)).toBe(source[1]!.id);
    }
    for (const t of good) await expectReplicaEqualsSource(base, t);
    expect(rows.filter((r) => good.some((t) => t.name === r.entity.name)).every((r) => r.lastError === null && r.attempts === 0)).toBe(true);

    // The file is back (restored from a backup, say): the next retry ships both tables.
    await writeFile(localPath(missingData), keptData);
    await writeFile(localPath(missingManifest), keptManifest);
    await waitForReplication(() => base, 60_000);
    for (const t of [...good, lostData, lostManifest]) await expectReplicaEqualsSource(base, t);
    const after = await replicationStatus(base);
    expect(after.filter((r) => r.lastError !== null)).toEqual([]);
  }, 300_000);
});
