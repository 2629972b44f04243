/**
 * Small valid REST request bodies and a checker for the Iceberg error body, shared by HTTP tests.
 */
import { expect } from 'vitest';

export const sampleSchema = () => ({
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', type: 'long', required: true },
    { id: 2, name: 'data', type: 'string', required: false },
  ],
});

/** A CreateTableRequest: partitioned by `id` bucket, sorted by `id`. */
export const createTableRequest = (name: string) => ({
  name,
  schema: sampleSchema(),
  'partition-spec': { 'spec-id': 0, fields: [{ 'source-id': 1, 'field-id': 1000, name: 'id_bucket', transform: 'bucket[4]' }] },
  'write-order': { 'order-id': 1, fields: [{ 'source-id': 1, transform: 'identity', direction: 'asc', 'null-order': 'nulls-first' }] },
  properties: { owner: 'tests' },
});

/** A CreateViewRequest selecting from `table` in `namespace`. */
export const createViewRequest = (name: string, namespace: string[] = ['ns'], sql = 'SELECT id, data FROM t') => ({
  name,
  schema: sampleSchema(),
  'view-version': {
    'version-id': 1,
    'timestamp-ms': 1_700_000_000_000,
    'schema-id': 0,
    summary: { 'engine-name': 'tests' },
    representations: [{ type: 'sql', sql, dialect: 'spark' }],
    'default-namespace': namespace,
  },
  properties: { comment: 'a view' },
});

/** A snapshot for an `add-snapshot` update (format v2: no row lineage fields needed). */
export const snapshotUpdate = (id: number | bigint, parent: number | bigint | null, sequence: number) => ({
  action: 'add-snapshot',
  snapshot: {
    'snapshot-id': id,
    'parent-snapshot-id': parent,
    'sequence-number': sequence,
    'timestamp-ms': 1_700_000_000_000 + sequence,
    'manifest-list': `file:///nowhere/snap-${String(id)}.avro`,
    summary: { operation: 'append' },
    'schema-id': 0,
  },
});

export interface IcebergErrorBody {
  error: { message: string; type: string; code: number; stack?: string[] };
}

/** True when `value` is the spec's IcebergErrorResponse (`additionalProperties: false` on the wrapper). */
export function isIcebergErrorBody(value: unknown): value is IcebergErrorBody {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  if (Object.keys(value).length !== 1 || !('error' in value)) return false;
  const error = (value as { error: unknown }).error;
  if (typeof error !== 'object' || error === null) return false;
  const { message, type, code } = error as Record<string, unknown>;
  return typeof message === 'string' && typeof type === 'string' && type !== '' &&
    typeof code === 'number' && Number.isInteger(code) && code >= 400 && code <= 600;
}

/**
 * Asserts that `res` is an Iceberg error with this status (and type, when given): JSON content type,
 * `{error: {message, type, code}}` body, `code` equal to the status. Returns the error model.
 */
export async function expectIcebergError(res: Response, status: number, type?: string): Promise<IcebergErrorBody['error']> {
  const text = await res.text();
  expect(res.status, `status (body: ${text})`).toBe(status);
  expect(res.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  const body = JSON.parse(text) as unknown;
  expect(isIcebergErrorBody(body), `Iceberg error body: ${text}`).toBe(true);
  const error = (body as IcebergErrorBody).error;
  expect(error.code).toBe(status);
  if (type !== undefined) expect(error.type).toBe(type);
  return error;
}
