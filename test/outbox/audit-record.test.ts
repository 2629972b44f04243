/**
 * The audit record of one outbox row: snapshots and their operations read from the request (a
 * table commit, or this table's change within a multi-table transaction), 63-bit ids kept exact,
 * added ids for committed rows and attempted ones otherwise, the target told by the kind, and
 * credentials scrubbed from error texts.
 */
import { describe, expect, it } from 'vitest';
import type { AuditRow } from '../../src/outbox/audit-query.ts';
import { toAuditRecord } from '../../src/outbox/audit-record.ts';

const BIG = '9007199254740993'; // 2^53 + 1: a JSON number reader would round it
const snapshot = (id: string, operation?: string) =>
  `{"action":"add-snapshot","snapshot":{"snapshot-id":${id},"timestamp-ms":1,"manifest-list":"m"${operation ? `,"summary":{"operation":"${operation}"}` : ''}}}`;

const row = (over: Partial<AuditRow>): AuditRow => ({
  entryId: 7, kind: 'commit-table', status: 'committed', principal: 'alice', requestBody: null, httpStatus: 200, error: null,
  createdAtMs: Date.UTC(2026, 4, 4, 9, 12, 31, 207), settledAtMs: null, entity: { namespace: ['sales'], name: 'orders' },
  metadataLocation: 'file:///w/sales/orders/metadata/3.metadata.json', addedSnapshotIds: [], ...over,
});

describe('toAuditRecord', () => {
  it('reads the snapshots a table commit adds and their operations, without losing 63-bit ids', () => {
    const body = `{"requirements":[],"updates":[${snapshot(BIG, 'append')},${snapshot('12', 'overwrite')},${snapshot('13')}]}`;
    const record = toAuditRecord(row({ requestBody: body, addedSnapshotIds: [BIG, '12', '13'] }));
    expect(record).toMatchObject({ entryId: 7, time: '2026-05-04T09:12:31.207Z', principal: 'alice', kind: 'commit-table', target: 'table', outcome: 'committed' });
    expect(record.snapshots).toEqual([{ snapshotId: BIG, operation: 'append' }, { snapshotId: '12', operation: 'overwrite' }, { snapshotId: '13', operation: null }]);
  });

  it("finds this table's change in a transaction by its identifier", () => {
    const body = `{"table-changes":[
      {"identifier":{"namespace":["sales"],"name":"items"},"requirements":[],"updates":[${snapshot('21', 'delete')}]},
      {"identifier":{"namespace":["sales"],"name":"orders"},"requirements":[],"updates":[${snapshot('22', 'append')}]}]}`;
    expect(toAuditRecord(row({ kind: 'commit-transaction', requestBody: body, addedSnapshotIds: ['22'] })).snapshots).toEqual([{ snapshotId: '22', operation: 'append' }]);
    const items = toAuditRecord(row({ kind: 'commit-transaction', requestBody: body, entity: { namespace: ['sales'], name: 'items' }, status: 'rejected', httpStatus: 409 }));
    expect(items.snapshots).toEqual([{ snapshotId: '21', operation: 'delete' }]);
  });

  it('shows attempted snapshots of a rejected commit, nothing for other kinds, and scrubs credentials from errors', () => {
    const body = `{"updates":[${snapshot('31', 'append')}]}`;
    const rejected = toAuditRecord(row({ status: 'rejected', httpStatus: 409, requestBody: body, metadataLocation: null, error: 'CommitFailedException: token Bearer abc.def.ghi was refused' }));
    expect(rejected).toMatchObject({ outcome: 'rejected', snapshots: [{ snapshotId: '31', operation: 'append' }] });
    expect(rejected.error).not.toContain('abc.def.ghi');
    expect(toAuditRecord(row({ requestBody: '{"updates": [', addedSnapshotIds: ['41'] })).snapshots).toEqual([{ snapshotId: '41', operation: null }]);
    expect(toAuditRecord(row({ kind: 'create-view', requestBody: body })).snapshots).toEqual([]);
    expect(toAuditRecord(row({ kind: 'create-view' })).target).toBe('view');
    expect(toAuditRecord(row({ kind: 'update-namespace-properties', entity: { namespace: ['sales'] } }))).toMatchObject({ target: 'namespace', identifier: { namespace: ['sales'] } });
    expect(toAuditRecord(row({ kind: 'observe-table', principal: null })).target).toBe('table');
    expect(toAuditRecord(row({ entity: null })).identifier).toBeNull();
  });
});
