/**
 * The real Iceberg tables in test/fixtures/replication (written by its generate.sh): current
 * metadata plus every manifest list, manifest and delete file, served by location.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
  /** Bytes of a kept file of the table (metadata folder, delete files), by its full location. */
  read(location: string): Buffer;
  /** Whether the fixture keeps this file (data files are not kept). */
  has(location: string): boolean;
  /** Locations of every Avro file of the table (manifest lists and manifests). */
  avroFiles(): string[];
}

export function fixtureTable(name: string): FixtureTable {
  const entry = index[name];
  if (!entry) throw new Error(`No replication fixture table ${name}`);
  const dir = `${root}${name}/`;
  const metadataText = readFileSync(`${dir}metadata.json`, 'utf8');
  const metadataFolder = `${entry.location}/metadata/`;
  const fixturePath = (location: string) => {
    const canonical = canonicalLocation(location);
    const tableRoot = canonicalLocation(`${entry.location}/`);
    return canonical.startsWith(tableRoot) ? `${dir}${canonical.slice(tableRoot.length)}` : undefined;
  };
  return {
    name,
    location: entry.location,
    metadata: parseTableMetadata(metadataText),
    metadataText,
    read(location) {
      const path = fixturePath(location);
      if (!path || !existsSync(path)) throw new Error(`Fixture ${name} has no file ${location}`);
      return readFileSync(path);
    },
    has(location) {
      const path = fixturePath(location);
      return path !== undefined && existsSync(path);
    },
    avroFiles() {
      return readdirSync(`${dir}metadata`).filter((f) => f.endsWith('.avro')).sort().map((f) => metadataFolder + f);
    },
  };
}

/** The pyarrow-written position-delete files of test/fixtures/replication/position_deletes (see generate.py). */
export const POSITION_DELETE_FIXTURES = {
  folder: `${root}position_deletes/`,
  /** Where their file_path values point. */
  location: 's3://source-bucket/wh/db/t',
  names: () => readdirSync(`${root}position_deletes`).filter((f) => f.endsWith('.parquet')).sort(),
};

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
