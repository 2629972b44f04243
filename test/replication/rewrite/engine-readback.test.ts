/**
 * A real engine reads a rewritten table: PyIceberg writes a table, this test copies it to another
 * folder through the rewrite modules (manifests first, then manifest lists, then metadata), deletes
 * the source, registers the copy in a fresh PyIceberg SqlCatalog and scans it for the same rows.
 * Needs the repo venv (scripts/python-env.sh; the test suite's script creates it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseTableMetadata, serializeTableMetadata } from '../../../src/iceberg/table-metadata.ts';
import { LocationMap } from '../../../src/replication/rewrite/location-map.ts';
import { readManifestListEntries, rewriteManifest, rewriteManifestList, type RewrittenManifest } from '../../../src/replication/rewrite/rewrite-avro.ts';
import { rewriteTableMetadata, snapshotMetadataFiles } from '../../../src/replication/rewrite/rewrite-metadata.ts';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const python = join(repo, '.venv', 'bin', 'python');
const script = join(repo, 'test', 'fixtures', 'replication', 'engine_check.py');

function run(...args: string[]): { rows: unknown[]; metadata_location?: string; location?: string } {
  return JSON.parse(execFileSync(python, [script, ...args], { encoding: 'utf8' })) as never;
}

const path = (location: string) => fileURLToPath(location.replace(/^file:(?!\/\/)/, 'file://'));
const read = (location: string) => readFileSync(path(location));
function write(location: string, bytes: Uint8Array | string) {
  mkdirSync(dirname(path(location)), { recursive: true });
  writeFileSync(path(location), bytes);
}

describe('engine read-back of a rewritten table', () => {
  it('PyIceberg scans the replica with the same rows after the source is gone', () => {
    if (!existsSync(python)) throw new Error(`No Python venv at .venv: run "bash scripts/python-env.sh" (scripts/test.sh does) first`);
    const tmp = mkdtempSync(join(tmpdir(), 'icerelay-rewrite-'));
    try {
      const created = run('create', join(tmp, 'src'));
      const source = parseTableMetadata(read(created.metadata_location!).toString('utf8'));
      const destination = pathToFileURL(join(tmp, 'dst', 'replica')).href; // file:///...
      const map = new LocationMap([{ source: source.location, destination }]);

      const manifests = new Map<string, RewrittenManifest>();
      const files = snapshotMetadataFiles(source, source.snapshots.map((s) => s['snapshot-id']));
      for (const list of files.filter((f) => f.kind === 'manifest-list')) {
        for (const entry of readManifestListEntries(read(list.location), list.location)) {
          if (manifests.has(entry.path)) continue;
          const m = rewriteManifest(read(entry.path), entry.path, map);
          manifests.set(entry.path, m);
          write(m.destinationLocation, m.bytes);
          for (const f of m.files) write(f.destinationLocation, read(f.sourceLocation));
        }
        const lengths = new Map([...manifests].map(([k, v]) => [k, v.length]));
        const rewritten = rewriteManifestList(read(list.location), list.location, map, lengths);
        write(rewritten.destinationLocation, rewritten.bytes);
      }
      const metadataLocation = `${destination}/metadata/00000-replica.metadata.json`;
      write(metadataLocation, serializeTableMetadata(rewriteTableMetadata(source, map)));
      rmSync(join(tmp, 'src'), { recursive: true });

      const scanned = run('scan', join(tmp, 'check'), metadataLocation);
      expect(scanned.location).toBe(destination);
      expect(scanned.rows).toStrictEqual(created.rows);
      expect(created.rows.length).toBeGreaterThan(0);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 120_000);
});
