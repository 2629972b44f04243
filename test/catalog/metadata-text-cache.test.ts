import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuiltinCatalog } from '../../src/catalog/builtin-catalog.ts';
import { CatalogStore } from '../../src/catalog/catalog-store.ts';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { readTableMetadata, writeTableMetadata } from '../../src/catalog/metadata-files.ts';
import { cachedMetadataText, rememberMetadataText } from '../../src/catalog/metadata-text-cache.ts';
import { IcebergError } from '../../src/errors/iceberg-error.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { createStoreResolver, type StoreResolver } from '../../src/storage/store-resolver.ts';

/** A real resolver (local files) that counts the reads reaching storage. */
function countingResolver(): StoreResolver & { reads: string[] } {
  const inner = createStoreResolver();
  const reads: string[] = [];
  return {
    reads,
    storeFor(location) {
      const store = inner.storeFor(location);
      return new Proxy(store, {
        get(target, property, receiver) {
          if (property === 'read') return (at: string, ...rest: unknown[]) => (reads.push(at), (target.read as (...a: unknown[]) => unknown).call(target, at, ...rest));
          return Reflect.get(target, property, receiver) as unknown;
        },
      }) as ObjectStore;
    },
    destroy: () => inner.destroy(),
  };
}

const schema = { type: 'struct' as const, 'schema-id': 0, fields: [{ id: 1, name: 'id', type: 'long', required: true }] };

describe('metadata text cache', () => {
  let dir: string;
  let state: StateDatabase;
  let stores: ReturnType<typeof countingResolver>;
  let catalog: BuiltinCatalog;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'icerelay-metadata-cache-'));
    state = await openDatabase({ kind: 'sqlite', path: join(dir, 'catalog.db') });
    stores = countingResolver();
    catalog = new BuiltinCatalog({ store: new CatalogStore(state, `test-${randomUUID()}`), warehouse: pathToFileURL(join(dir, 'warehouse')).href, stores });
    await catalog.createNamespace(['ns'], {});
  });

  afterAll(async () => {
    await state?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('commits on top of, and registers, a metadata file this process wrote or read without reading it again', async () => {
    const id = { namespace: ['ns'], name: 't1' };
    const created = await catalog.createTable(['ns'], { name: 't1', schema });
    stores.reads.length = 0;
    const committed = await catalog.commitTable({ identifier: id, requirements: [], updates: [{ action: 'set-properties', updates: { k: 'v' } }] });
    expect(committed.metadata.properties.k).toBe('v');
    expect(stores.reads).toEqual([]);

    // Written elsewhere (a file the cache has not seen): read once, then from memory.
    const other = createStoreResolver();
    const location = await writeTableMetadata(other, { ...created.metadata, 'table-uuid': randomUUID() }, created.metadataLocation!);
    await catalog.registerTable(['ns'], 't2', location, false);
    await catalog.commitTable({ identifier: { namespace: ['ns'], name: 't2' }, requirements: [], updates: [{ action: 'set-properties', updates: { k: 'v' } }] });
    expect(stores.reads).toEqual([location]);
  });

  it('loads a table from storage every time: a metadata file deleted behind its back is reported', async () => {
    const created = await catalog.createTable(['ns'], { name: 't4', schema });
    stores.reads.length = 0;
    await catalog.loadTable({ namespace: ['ns'], name: 't4' });
    expect(stores.reads).toEqual([created.metadataLocation]);
    await rm(new URL(created.metadataLocation!));
    const error = await catalog.loadTable({ namespace: ['ns'], name: 't4' }).catch((e: unknown) => e);
    expect((error as IcebergError).status).toBe(404);
  });

  it('keeps the files of two resolvers apart: the same location may be on two servers', async () => {
    const first = createStoreResolver();
    const second = createStoreResolver();
    const location = `s3://same-bucket/t/metadata/00000-${randomUUID()}.metadata.json`;
    rememberMetadataText(first, location, '{"one":1}');
    expect(cachedMetadataText(first, location)).toBe('{"one":1}');
    expect(cachedMetadataText(second, location)).toBeUndefined();
  });

  it('forgets the files a purge deletes: registering one of them again fails as a missing file', async () => {
    const created = await catalog.createTable(['ns'], { name: 't3', schema });
    await catalog.dropTable({ namespace: ['ns'], name: 't3' }, true);
    const error = await catalog.registerTable(["ns"], "t3", created.metadataLocation!, false).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IcebergError);
    expect((error as IcebergError).status).toBe(404);
  });

  it('serves what storage holds for a file it never saw, and reports a bad one as such', async () => {
    const location = pathToFileURL(join(dir, `00000-${randomUUID()}.metadata.json`)).href;
    await writeFile(new URL(location), 'not json');
    await expect(readTableMetadata(stores, location, { cached: true })).rejects.toThrow(/Invalid metadata file/);
  });

  it('drops the least recently used texts beyond its budget', () => {
    const resolver = createStoreResolver();
    const big = 'x'.repeat(4 * 1024 * 1024);
    for (let i = 0; i < 9; i++) rememberMetadataText(resolver, `file:/m/${i}.metadata.json`, big);
    expect(cachedMetadataText(resolver, 'file:/m/0.metadata.json')).toBeUndefined();
    expect(cachedMetadataText(resolver, 'file:/m/8.metadata.json')).toBe(big);
    rememberMetadataText(resolver, 'file:/m/huge.metadata.json', big + 'x');
    expect(cachedMetadataText(resolver, 'file:/m/huge.metadata.json')).toBeUndefined();
  });
});
