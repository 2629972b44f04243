/**
 * Commit requirements (the spec's TableRequirement / ViewRequirement): preconditions checked against
 * the current metadata before any update is applied. A failed requirement is a 409 the client
 * resolves by refreshing and retrying; an unknown requirement type is a 400.
 * Messages follow Iceberg Java's UpdateRequirement so clients and the RCK see the same text.
 */
import { badRequest, commitFailed } from '../errors/iceberg-error.ts';
import { isInt64, sameInt64 } from '../util/int64.ts';
import { currentSnapshotId, MAIN_BRANCH } from './table-metadata.ts';
import type { TableMetadata, TableRequirement, ViewMetadata } from './types.ts';

const TABLE_REQUIREMENTS = new Set([
  'assert-create', 'assert-table-uuid', 'assert-ref-snapshot-id', 'assert-last-assigned-field-id',
  'assert-current-schema-id', 'assert-last-assigned-partition-id', 'assert-default-spec-id',
  'assert-default-sort-order-id',
]);

/** Validates the shape of a requirements list (400 on anything malformed). */
export function parseTableRequirements(value: unknown): TableRequirement[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest('Invalid commit: requirements must be a list');
  return value.map((r, i) => {
    if (typeof r !== 'object' || r === null || typeof (r as TableRequirement).type !== 'string') {
      throw badRequest(`Invalid commit: requirement ${i} has no type`);
    }
    const req = r as TableRequirement;
    if (!TABLE_REQUIREMENTS.has(req.type)) throw badRequest(`Invalid commit: unknown requirement type: ${req.type}`);
    const need = (field: string, check: (v: unknown) => boolean, what: string) => {
      if (!check(req[field])) throw badRequest(`Invalid requirement ${req.type}: ${field} must be ${what}`);
    };
    const isInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v);
    switch (req.type) {
      case 'assert-table-uuid':
        need('uuid', (v) => typeof v === 'string', 'a string');
        break;
      case 'assert-ref-snapshot-id':
        need('ref', (v) => typeof v === 'string', 'a string');
        need('snapshot-id', (v) => v === null || v === undefined || isInt64(v), 'a long or null');
        break;
      case 'assert-last-assigned-field-id':
        need('last-assigned-field-id', isInt, 'an integer');
        break;
      case 'assert-current-schema-id':
        need('current-schema-id', isInt, 'an integer');
        break;
      case 'assert-last-assigned-partition-id':
        need('last-assigned-partition-id', isInt, 'an integer');
        break;
      case 'assert-default-spec-id':
        need('default-spec-id', isInt, 'an integer');
        break;
      case 'assert-default-sort-order-id':
        need('default-sort-order-id', isInt, 'an integer');
        break;
    }
    return req;
  });
}

/**
 * Checks every requirement against `base` (undefined when the table does not exist).
 * Throws 409 CommitFailedException on the first one that does not hold.
 */
export function checkTableRequirements(requirements: TableRequirement[], base: TableMetadata | undefined): void {
  for (const req of requirements) {
    if (req.type === 'assert-create') {
      if (base) throw commitFailed('Requirement failed: table already exists');
      continue;
    }
    if (!base) continue; // the caller reports a missing table with the right 404
    switch (req.type) {
      case 'assert-table-uuid':
        // v1 tables written before UUIDs existed have none: no UUID can match.
        if (String(req.uuid).toLowerCase() !== (base['table-uuid'] ?? '').toLowerCase()) {
          throw commitFailed(`Requirement failed: UUID does not match: expected ${base['table-uuid']} != ${String(req.uuid)}`);
        }
        break;
      case 'assert-ref-snapshot-id': {
        const refName = String(req.ref);
        const ref = base.refs[refName];
        const expected = req['snapshot-id'];
        if (ref) {
          const kind = refName === MAIN_BRANCH ? 'branch' : ref.type;
          if (expected === null || expected === undefined) {
            throw commitFailed(`Requirement failed: ${kind} ${refName} was created concurrently`);
          }
          if (!sameInt64(ref['snapshot-id'], expected as never)) {
            throw commitFailed(`Requirement failed: ${kind} ${refName} has changed: expected id ${String(expected)} != ${String(ref['snapshot-id'])}`);
          }
        } else if (expected !== null && expected !== undefined) {
          // A table written before refs existed has main only as current-snapshot-id.
          const current = refName === MAIN_BRANCH ? currentSnapshotId(base) : undefined;
          if (current === undefined || !sameInt64(current, expected as never)) {
            throw commitFailed(`Requirement failed: branch or tag ${refName} is missing, expected ${String(expected)}`);
          }
        }
        break;
      }
      case 'assert-last-assigned-field-id':
        if (base['last-column-id'] !== req['last-assigned-field-id']) {
          throw commitFailed(`Requirement failed: last assigned field id changed: expected id ${String(req['last-assigned-field-id'])} != ${base['last-column-id']}`);
        }
        break;
      case 'assert-current-schema-id':
        if (base['current-schema-id'] !== req['current-schema-id']) {
          throw commitFailed(`Requirement failed: current schema changed: expected id ${String(req['current-schema-id'])} != ${base['current-schema-id']}`);
        }
        break;
      case 'assert-last-assigned-partition-id':
        if (base['last-partition-id'] !== req['last-assigned-partition-id']) {
          throw commitFailed(`Requirement failed: last assigned partition id changed: expected id ${String(req['last-assigned-partition-id'])} != ${base['last-partition-id']}`);
        }
        break;
      case 'assert-default-spec-id':
        if (base['default-spec-id'] !== req['default-spec-id']) {
          throw commitFailed(`Requirement failed: default partition spec changed: expected id ${String(req['default-spec-id'])} != ${base['default-spec-id']}`);
        }
        break;
      case 'assert-default-sort-order-id':
        if (base['default-sort-order-id'] !== req['default-sort-order-id']) {
          throw commitFailed(`Requirement failed: default sort order changed: expected id ${String(req['default-sort-order-id'])} != ${base['default-sort-order-id']}`);
        }
        break;
    }
  }
}

/** View commits carry at most `assert-view-uuid`. */
export function checkViewRequirements(value: unknown, base: ViewMetadata): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) throw badRequest('Invalid commit: requirements must be a list');
  for (const r of value as TableRequirement[]) {
    if (typeof r !== 'object' || r === null || r.type !== 'assert-view-uuid') {
      throw badRequest(`Invalid view commit: unknown requirement type: ${String((r as TableRequirement | null)?.type)}`);
    }
    if (typeof r.uuid !== 'string') throw badRequest('Invalid requirement assert-view-uuid: uuid must be a string');
    if (r.uuid.toLowerCase() !== base['view-uuid'].toLowerCase()) {
      throw commitFailed(`Requirement failed: view UUID does not match: expected ${base['view-uuid']} != ${r.uuid}`);
    }
  }
}
