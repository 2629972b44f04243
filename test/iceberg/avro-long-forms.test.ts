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

const BIG = 2n ** 60n; // beyond 2^53: a double cannot hold every long of that size

/** The header of an Avro object container file, as the specification lays it out. */
const HEADER = avro.Type.forSchema({
  type: 'record',
  name: 'Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
});

/**
 * A container with one record whose header carries `schema` as written. The data is encoded with
 * a bigint-capable type (avsc's own long cannot take 2^60), then the header's schema text is put
 * back as given: both spellings of long encode the same bytes.
 */
async function containerWith(schema: avro.Schema, record: Record<string, unknown>): Promise<Buffer> {
  const encoder = new avro.streams.BlockEncoder(typeWithBigintLongs(schema));
  const chunks: Buffer[] = [];
  encoder.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    encoder.on('end', () => resolve());
    encoder.on('error', reject);
  });
  encoder.end(record);
  await done;
  const encoded = Buffer.concat(chunks);
  const { value, offset } = HEADER.decode(encoded, 0) as { value: { meta: Record<string, Buffer> }; offset: number };
  value.meta['avro.schema'] = Buffer.from(JSON.stringify(schema));
  return Buffer.concat([HEADER.toBuffer(value), encoded.subarray(offset)]);
}

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
    const bytes = await containerWith(schema, { added_snapshot_id: BIG, manifest_length: 1234n });
    expect(bytes.toString('latin1')).toContain(JSON.stringify(long));
    const file = await readAvroFile(bytes, 'snap.avro');
    expect(file.records).toEqual([{ added_snapshot_id: BIG, manifest_length: 1234n }]);
    const container = readAvroContainer(bytes, 'snap.avro');
    expect(container.blocks.flat()).toEqual([{ added_snapshot_id: BIG, manifest_length: 1234n }]);
  });
});
