/**
 * The real Iceberg tables in test/fixtures/replication (written by its generate.sh): current
 * metadata plus every manifest list and manifest, served by location.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseTableMetadata } from '../../../src/iceberg/table-metadata.ts';
import type { TableMetadata } from '../../../src/iceberg/types.ts';
import { canonicalLocation } from '../../../src/replication/rewrite/location-map.ts';

const root = fileURLToPath(new URL('../../fixtures/replication/', import.meta.url));
const index = JSON.parse(readFileSync(`${root}index.json`, 'utf8')) as Record<string, { location: string }>;

export const FIXTURE_TABLES = Object.keys(index);

export interface FixtureTable {
  name: string;
  location: string;
  metadata: TableMetadata;
  metadataText: string;
  /** Bytes of a file under the table's metadata folder, by its full location. */
  read(location: string): Buffer;
  /** Locations of every Avro file of the table (manifest lists and manifests). */
  avroFiles(): string[];
}

export function fixtureTable(name: string): FixtureTable {
  const entry = index[name];
  if (!entry) throw new Error(`No replication fixture table ${name}`);
  const dir = `${root}${name}/`;
  const metadataText = readFileSync(`${dir}metadata.json`, 'utf8');
  const metadataFolder = `${entry.location}/metadata/`;
  return {
    name,
    location: entry.location,
    metadata: parseTableMetadata(metadataText),
    metadataText,
    read(location) {
      const canonical = canonicalLocation(location);
      const folder = canonicalLocation(metadataFolder);
      if (!canonical.startsWith(folder)) throw new Error(`Fixture ${name} has no file ${location}`);
      return readFileSync(`${dir}metadata/${canonical.slice(folder.length)}`);
    },
    avroFiles() {
      return readdirSync(`${dir}metadata`).filter((f) => f.endsWith('.avro')).sort().map((f) => metadataFolder + f);
    },
  };
}

/** Is this Avro file a manifest list (vs a manifest)? Iceberg names lists snap-<id>-<attempt>-<uuid>.avro. */
export function isManifestList(location: string): boolean {
  return /\/snap-[^/]+\.avro$/.test(location);
}

/**
 * A decoded Avro value as plain objects: every read builds its own record classes, so values from
 * two reads differ only in prototypes. bigint, Buffer and null stay as they are.
 */
export function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}
