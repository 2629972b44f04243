/**
 * 64-bit longs survive reading whichever way the file's schema spells the type: `"long"` (Iceberg
 * Java, PyIceberg) or `{"type": "long"}` (DuckDB's manifests and manifest lists). avsc builds the
 * object form without its registry, so without the hook a snapshot id past 2^53 throws
 * "potential precision loss".
 */
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { readAvroFile, typeWithBigintLongs } from '../../src/iceberg/avro-file.ts';
import { readAvroContainer } from '../../src/replication/rewrite/avro-container.ts';
import { container } from '../helpers/iceberg-avro-files.ts';

const BIG = 2n ** 60n; // beyond 2^53: a double cannot hold every long of that size

/**
 * A container with one record whose header carries `schema` as written. The data is encoded with
 * a bigint-capable type (avsc's own long cannot take 2^60): both spellings of long encode the
 * same bytes.
 */
const containerWith = (schema: avro.Schema, record: Record<string, unknown>) => container(typeWithBigintLongs(schema), schema, {}, [record]);

const field = (name: string, type: unknown) => ({ name, type, 'field-id': 503 });

describe.each([
  ['a name', 'long'],
  ['an object', { type: 'long' }],
])('a long written as %s', (_, long) => {
  const schema = {
    type: 'record',
    name: 'manifest_file',
    fields: [field('added_snapshot_id', ['null', long]), field('manifest_length', long)],
  } as avro.Schema;

  it('reads back as the exact bigint', async () => {
    const bytes = containerWith(schema, { added_snapshot_id: BIG, manifest_length: 1234n });
    expect(bytes.toString('latin1')).toContain(JSON.stringify(long));
    const file = await readAvroFile(bytes, 'snap.avro');
    expect(file.records).toEqual([{ added_snapshot_id: BIG, manifest_length: 1234n }]);
    const container = readAvroContainer(bytes, 'snap.avro');
    expect(container.blocks.flat()).toEqual([{ added_snapshot_id: BIG, manifest_length: 1234n }]);
  });
});
