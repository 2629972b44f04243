/**
 * Real metadata files written by Iceberg Java (through Apache's REST fixture) and by PyIceberg
 * (test/fixtures/metadata, see the generators there): parsing keeps every field and every 64-bit id,
 * writing gives back the same document, and a commit on top changes only what it should.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TableMetadataBuilder } from '../../src/iceberg/metadata-builder.ts';
import { canonical } from '../../src/iceberg/schema.ts';
import { parseTableMetadata, tableMetadataToJsonObject } from '../../src/iceberg/table-metadata.ts';
import { parseJson } from '../../src/util/json.ts';

const folder = join(import.meta.dirname, '../fixtures/metadata');
const files = readdirSync(folder).filter((f) => f.endsWith('.metadata.json')).sort();

/**
 * What writers legitimately spell differently: -1 vs null for "no current snapshot", and v1's
 * legacy `schema` / `partition-spec` copies (readers ignore them when `schemas` / `partition-specs`
 * exist; Java copies the current schema there, PyIceberg the first).
 */
function comparable(value: unknown): unknown {
  const doc = { ...(value as Record<string, unknown>) };
  if (doc['current-snapshot-id'] === -1) doc['current-snapshot-id'] = null;
  if (doc.schemas) delete doc.schema;
  if (doc['partition-specs']) delete doc['partition-spec'];
  return doc;
}

describe('real metadata files', () => {
  it('includes files from both writers', () => {
    expect(files.some((f) => f.startsWith('java-'))).toBe(true);
    expect(files.some((f) => f.startsWith('pyiceberg-'))).toBe(true);
  });

  describe.each(files)('%s', (file) => {
    const text = readFileSync(join(folder, file), 'utf8');

    it('round-trips without losing a field or a digit', () => {
      const original = parseJson(text);
      const written = tableMetadataToJsonObject(parseTableMetadata(text));
      expect(canonical(comparable(written))).toBe(canonical(comparable(original)));
      for (const id of text.match(/"snapshot-id"\s*:\s*\d+/g) ?? []) {
        expect(JSON.stringify(written, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)).replace(/"(\d{16,})"/g, '$1'))
          .toContain(id.replace(/\s/g, ''));
      }
    });

    it('keeps everything but the changed property and the logs through a commit', () => {
      const base = parseTableMetadata(text);
      const next = new TableMetadataBuilder(base, 'file:///previous.metadata.json')
        .apply({ action: 'set-properties', updates: { 'icerelay.test': 'yes' } })
        .build(Number(base['last-updated-ms']) + 1000);
      const strip = (m: Record<string, unknown>) => {
        const { properties, 'metadata-log': _log, 'last-updated-ms': _updated, ...rest } = m;
        const { 'icerelay.test': _added, ...kept } = properties as Record<string, string>;
        return { ...rest, properties: kept };
      };
      expect(canonical(strip(tableMetadataToJsonObject(next)))).toBe(canonical(strip(tableMetadataToJsonObject(base))));
      expect(next['metadata-log'].at(-1)).toEqual({ 'timestamp-ms': base['last-updated-ms'], 'metadata-file': 'file:///previous.metadata.json' });
    });
  });
});
