/**
 * The ObjectStore contract, run against every implementation: FileStore on a temp directory and
 * S3Store on a real S3-compatible server (moto, started by `bash scripts/s3-server.sh start`).
 *
 * The S3 run needs ICERELAY_TEST_S3_ENDPOINT (`eval "$(bash scripts/s3-server.sh env)"`). Without it
 * the S3 run is skipped with the reason printed; with it set and the server down, the run fails.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { FileStore, TEMP_FILE_PREFIX } from '../../src/storage/file-store.ts';
import {
  ObjectExistsError,
  ObjectNotFoundError,
  UnsupportedLocationError,
  type ObjectInfo,
  type ObjectStore,
} from '../../src/storage/object-store.ts';
import { createStoreResolver } from '../../src/storage/store-resolver.ts';

/** A store ready for one run of the suite. */
interface ContractTarget {
  store: ObjectStore;
  /** A fresh, empty folder-like prefix ending in `/`, so tests never see each other's objects. */
  newRoot(): string;
  /** Other spellings of the same location that the store must treat as identical. */
  otherSpellings(location: string): string[];
  dispose(): Promise<void>;
}

interface Implementation {
  name: string;
  /** Why this implementation cannot be tested here; undefined when it can. */
  skipReason: string | undefined;
  open(): Promise<ContractTarget>;
}

const fileImplementation: Implementation = {
  name: 'FileStore',
  skipReason: undefined,
  async open() {
    const dir = await mkdtemp(join(tmpdir(), 'icerelay-file-store-'));
    return {
      store: new FileStore(),
      newRoot: () => `${dir}/${randomUUID()}/`,
      otherSpellings: (path) => [`file:${path}`, `file://${path}`, `file://localhost${path}`],
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  },
};

const s3Endpoint = process.env.ICERELAY_TEST_S3_ENDPOINT;
const s3Bucket = 'icerelay-contract-test';

const s3Implementation: Implementation = {
  name: 'S3Store',
  skipReason: s3Endpoint
    ? undefined
    : 'ICERELAY_TEST_S3_ENDPOINT is not set; run `bash scripts/s3-server.sh start` and ' +
      '`eval "$(bash scripts/s3-server.sh env)"` to test against a real S3-compatible server',
  async open() {
    const endpoint = s3Endpoint as string;
    const settings = {
      endpoint,
      region: process.env.AWS_REGION ?? 'us-east-1',
      forcePathStyle: true,
      credentials: {
        accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'icerelay-test',
        secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'icerelay-test',
      },
    };
    await createBucketIfMissing(settings, s3Bucket);
    // Through the resolver, so its S3 wiring is exercised too. A page size of 3 makes list() page.
    const resolver = createStoreResolver({ s3: { ...settings, listPageSize: 3 } });
    return {
      store: resolver.storeFor(`s3://${s3Bucket}/`),
      newRoot: () => `s3://${s3Bucket}/${randomUUID()}/`,
      otherSpellings: (location) => [location.replace(/^s3:/, 's3a:'), location.replace(/^s3:/, 's3n:')],
      dispose: async () => resolver.destroy(),
    };
  },
};

async function createBucketIfMissing(
  settings: ConstructorParameters<typeof S3Client>[0] & object,
  bucket: string,
): Promise<void> {
  const client = new S3Client({ ...settings, maxAttempts: 2 });
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return;
    throw new Error(
      `S3 test server at ${settings.endpoint} (ICERELAY_TEST_S3_ENDPOINT) failed to create bucket ` +
        `${bucket}: ${String(err)}. Is it running? Start it with: bash scripts/s3-server.sh start`,
      { cause: err },
    );
  } finally {
    client.destroy();
  }
}

const implementations = [fileImplementation, s3Implementation];

for (const { name, skipReason } of implementations) {
  if (skipReason) console.warn(`[object-store contract] ${name} skipped: ${skipReason}`);
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytesOf = (value: string) => new TextEncoder().encode(value);

async function collect(objects: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const all: ObjectInfo[] = [];
  for await (const object of objects) all.push(object);
  return all.sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
}

async function listedLocations(store: ObjectStore, prefix: string): Promise<string[]> {
  return (await collect(store.list(prefix))).map((object) => object.location);
}

describe.each(implementations)('ObjectStore contract: $name', (implementation) => {
  // Skipped (not passed) when the implementation has no server here; the reason is in the title and
  // printed above, so a green run cannot be mistaken for an S3 run.
  const title = implementation.skipReason ? `skipped: ${implementation.skipReason}` : 'live';
  describe.skipIf(implementation.skipReason !== undefined)(title, () => {
    let target: ContractTarget;
    let store: ObjectStore;
    let root: string;

    beforeAll(async () => {
      target = await implementation.open();
      store = target.store;
    });
    afterAll(async () => {
      await target?.dispose();
    });
    beforeEach(() => {
      root = target.newRoot();
    });

    describe('read and write', () => {
      it('round-trips binary data byte for byte', async () => {
        const data = new Uint8Array([...Array.from({ length: 256 }, (_, i) => i), ...randomBytes(4096)]);
        await store.write(`${root}data.bin`, data);
        expect(await store.read(`${root}data.bin`)).toEqual(data);
      });

      it('round-trips a string as UTF-8', async () => {
        const value = '{"name":"héllo ✓ 表"}';
        await store.write(`${root}metadata.json`, value, { contentType: 'application/json' });
        expect(text(await store.read(`${root}metadata.json`))).toBe(value);
        expect((await store.stat(`${root}metadata.json`))?.size).toBe(bytesOf(value).length);
      });

      it('round-trips an empty object', async () => {
        await store.write(`${root}empty`, '');
        expect((await store.read(`${root}empty`)).length).toBe(0);
        expect(await store.stat(`${root}empty`)).toEqual({ location: `${root}empty`, size: 0 });
      });

      it('writes under folders that do not exist yet', async () => {
        await store.write(`${root}a/b/c/d.txt`, 'deep');
        expect(text(await store.read(`${root}a/b/c/d.txt`))).toBe('deep');
      });

      it('replaces an existing object on a plain write', async () => {
        await store.write(`${root}v.txt`, 'first, longer content');
        await store.write(`${root}v.txt`, 'second');
        expect(text(await store.read(`${root}v.txt`))).toBe('second');
        expect((await store.stat(`${root}v.txt`))?.size).toBe(6);
      });

      it('throws ObjectNotFoundError with the location when reading a missing object', async () => {
        const location = `${root}missing.json`;
        const error = await store.read(location).catch((err: unknown) => err);
        expect(error).toBeInstanceOf(ObjectNotFoundError);
        expect((error as ObjectNotFoundError).location).toBe(location);
      });

      it('treats a folder-like prefix as no object', async () => {
        await store.write(`${root}folder/inside.txt`, 'x');
        await expect(store.read(`${root}folder`)).rejects.toBeInstanceOf(ObjectNotFoundError);
        expect(await store.stat(`${root}folder`)).toBeUndefined();
      });
    });

    describe('ifAbsent', () => {
      it('writes when the object does not exist', async () => {
        await store.write(`${root}v1.metadata.json`, 'one', { ifAbsent: true });
        expect(text(await store.read(`${root}v1.metadata.json`))).toBe('one');
      });

      it('refuses with ObjectExistsError and keeps the existing content', async () => {
        const location = `${root}v1.metadata.json`;
        await store.write(location, 'original');
        const error = await store.write(location, 'intruder', { ifAbsent: true }).catch((err: unknown) => err);
        expect(error).toBeInstanceOf(ObjectExistsError);
        expect((error as ObjectExistsError).location).toBe(location);
        expect(text(await store.read(location))).toBe('original');
      });

      it('lets exactly one of many concurrent writers win', async () => {
        const location = `${root}race.json`;
        const writers = Array.from({ length: 8 }, (_, i) => `writer-${i}`);
        const outcomes = await Promise.allSettled(
          writers.map((writer) => store.write(location, writer, { ifAbsent: true })),
        );
        const winners = writers.filter((_, i) => outcomes[i]?.status === 'fulfilled');
        expect(winners).toHaveLength(1);
        for (const outcome of outcomes) {
          if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(ObjectExistsError);
        }
        expect(text(await store.read(location))).toBe(winners[0]);
      });
    });

    describe('stat', () => {
      it('gives the size in bytes and the location as passed', async () => {
        await store.write(`${root}sized.bin`, new Uint8Array(1234));
        expect(await store.stat(`${root}sized.bin`)).toEqual({ location: `${root}sized.bin`, size: 1234 });
      });

      it('gives undefined for a missing object', async () => {
        expect(await store.stat(`${root}nothing-here`)).toBeUndefined();
      });
    });

    describe('delete', () => {
      it('removes an object', async () => {
        await store.write(`${root}doomed.txt`, 'bye');
        await store.delete(`${root}doomed.txt`);
        expect(await store.stat(`${root}doomed.txt`)).toBeUndefined();
        await expect(store.read(`${root}doomed.txt`)).rejects.toBeInstanceOf(ObjectNotFoundError);
      });

      it('is idempotent, also for objects that never existed', async () => {
        await store.write(`${root}twice.txt`, 'x');
        await store.delete(`${root}twice.txt`);
        await store.delete(`${root}twice.txt`);
        await store.delete(`${root}never/was.txt`);
      });
    });

    describe('list', () => {
      beforeEach(async () => {
        await Promise.all([
          store.write(`${root}a.json`, '1'),
          store.write(`${root}dir/b.json`, '22'),
          store.write(`${root}dir/sub/c.json`, '333'),
          store.write(`${root}dirx/d.json`, '4444'),
          store.write(`${root}other.txt`, '55555'),
        ]);
      });

      it('lists every object below a folder prefix, nested ones included, with sizes', async () => {
        expect(await collect(store.list(root))).toEqual([
          { location: `${root}a.json`, size: 1 },
          { location: `${root}dir/b.json`, size: 2 },
          { location: `${root}dir/sub/c.json`, size: 3 },
          { location: `${root}dirx/d.json`, size: 4 },
          { location: `${root}other.txt`, size: 5 },
        ]);
      });

      it('keeps to the folder when the prefix ends in /', async () => {
        expect(await listedLocations(store, `${root}dir/`)).toEqual([`${root}dir/b.json`, `${root}dir/sub/c.json`]);
      });

      it('matches on the location string when the prefix does not end in /', async () => {
        expect(await listedLocations(store, `${root}dir`)).toEqual([
          `${root}dir/b.json`,
          `${root}dir/sub/c.json`,
          `${root}dirx/d.json`,
        ]);
        expect(await listedLocations(store, `${root}dir/sub/c`)).toEqual([`${root}dir/sub/c.json`]);
        expect(await listedLocations(store, `${root}a.json`)).toEqual([`${root}a.json`]);
      });

      it('lists nothing for a prefix with no objects', async () => {
        expect(await listedLocations(store, `${root}nope/`)).toEqual([]);
        expect(await listedLocations(store, target.newRoot())).toEqual([]);
      });

      it('gives locations that read() accepts', async () => {
        for (const location of await listedLocations(store, root)) {
          await expect(store.read(location)).resolves.toBeInstanceOf(Uint8Array);
        }
      });

      it('returns every object when the listing spans several pages', async () => {
        const names = Array.from({ length: 11 }, (_, i) => `${root}paged/${String(i).padStart(2, '0')}.avro`);
        await Promise.all(names.map((location) => store.write(location, location)));
        expect(await listedLocations(store, `${root}paged/`)).toEqual(names);
      });

      it('never shows half-written objects', async () => {
        const big = randomBytes(2 * 1024 * 1024);
        const names = Array.from({ length: 6 }, (_, i) => `${root}busy/${i}.parquet`);
        const writes = Promise.all(names.map((location) => store.write(location, big)));
        let done = false;
        void writes.finally(() => (done = true));
        while (!done) {
          for (const object of await collect(store.list(`${root}busy/`))) {
            expect(names).toContain(object.location);
            expect(object.size).toBe(big.length);
          }
        }
        await writes;
        expect(await listedLocations(store, `${root}busy/`)).toEqual(names);
      });
    });

    describe('unusual names', () => {
      const names = ['with space/and more spaces.json', 'ünïcødé/表-😀.json', 'plus+percent%20hash#amp&eq=.txt'];

      it.each(names)('round-trips, stats and lists %s', async (name) => {
        const location = `${root}${name}`;
        await store.write(location, name);
        expect(text(await store.read(location))).toBe(name);
        expect(await store.stat(location)).toEqual({ location, size: bytesOf(name).length });
        expect(await listedLocations(store, root)).toEqual([location]);
      });
    });

    describe('location spellings', () => {
      it('reads, stats and overwrites one object under each spelling', async () => {
        const location = `${root}spelled/v1.metadata.json`;
        await store.write(location, 'canonical');
        for (const spelling of target.otherSpellings(location)) {
          expect(text(await store.read(spelling))).toBe('canonical');
          expect(await store.stat(spelling)).toEqual({ location: spelling, size: 9 });
          await expect(store.write(spelling, 'again', { ifAbsent: true })).rejects.toBeInstanceOf(ObjectExistsError);
        }
        const [other] = target.otherSpellings(location);
        await store.write(other as string, 'via other');
        expect(text(await store.read(location))).toBe('via other');
      });

      it('lists in the spelling of the prefix', async () => {
        await store.write(`${root}spelled/x.json`, 'x');
        for (const spelledRoot of target.otherSpellings(root)) {
          expect(await listedLocations(store, spelledRoot)).toEqual([`${spelledRoot}spelled/x.json`]);
        }
      });
    });
  });
});

describe('FileStore specifics', () => {
  const store = new FileStore();
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'icerelay-file-store-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hides temp files a crashed write left behind', async () => {
    await mkdir(`${dir}/crash`);
    await writeFile(`${dir}/crash/${TEMP_FILE_PREFIX}0000`, 'partial');
    await store.write(`${dir}/crash/done.json`, 'ok');
    expect(await listedLocations(store, `${dir}/crash/`)).toEqual([`${dir}/crash/done.json`]);
  });

  it('leaves no temp files after writes, failed ifAbsent ones included', async () => {
    await store.write(`${dir}/clean/a`, '1');
    await store.write(`${dir}/clean/a`, '2');
    await store.write(`${dir}/clean/a`, '3', { ifAbsent: true }).catch(() => undefined);
    expect(await readdir(`${dir}/clean`)).toEqual(['a']);
  });

  it.each(['relative/path', 'file:relative', 'file://otherhost/x', '//double/slash', 'http://x/y'])(
    'refuses the location %s',
    async (location) => {
      await expect(store.read(location)).rejects.toThrow(UnsupportedLocationError);
    },
  );
});

describe('createStoreResolver', () => {
  const resolver = createStoreResolver({ s3Buckets: { replica: { region: 'eu-west-1' } } });
  afterAll(() => resolver.destroy());

  it('serves file locations and absolute paths with one FileStore', () => {
    const store = resolver.storeFor('/tmp/x');
    expect(store).toBeInstanceOf(FileStore);
    for (const location of ['file:/tmp/x', 'file:///tmp/x', 'file://localhost/tmp/x']) {
      expect(resolver.storeFor(location)).toBe(store);
    }
  });

  it('serves s3, s3a and s3n with one client per bucket configuration', () => {
    const source = resolver.storeFor('s3://source/t/metadata/v1.metadata.json');
    expect(resolver.storeFor('s3a://other/x')).toBe(source);
    expect(resolver.storeFor('s3n://source/y')).toBe(source);
    expect(resolver.storeFor('s3://replica/x')).not.toBe(source);
  });

  it('names the location when no store understands it', () => {
    expect(() => resolver.storeFor('gs://bucket/key')).toThrow(/gs:\/\/bucket\/key/);
    expect(() => resolver.storeFor('relative/key')).toThrow(/relative\/key/);
  });
});
