/**
 * The text of metadata files this process wrote or read lately, by location, so that the next
 * read of the same file (a commit reading the current metadata, a replica registered right after
 * its file was written) costs no round trip to object storage.
 *
 * Sound because Iceberg metadata files are immutable: a location names one content for ever (each
 * new version gets a new file with a random UUID in its name). Kept per StoreResolver, since two
 * resolvers may map the same location to different servers (a source and a destination on two S3
 * endpoints with the same bucket name). Files deleted through the catalog are forgotten.
 */
import type { StoreResolver } from '../storage/store-resolver.ts';

/** Characters kept per resolver, least recently used dropped first. */
const BUDGET_CHARS = 32 * 1024 * 1024;
/** A file larger than this is not kept (it would push out everything else). */
const MAX_FILE_CHARS = 4 * 1024 * 1024;

interface TextCache {
  texts: Map<string, string>;
  chars: number;
}

const caches = new WeakMap<StoreResolver, TextCache>();

function cacheOf(stores: StoreResolver): TextCache {
  let cache = caches.get(stores);
  if (!cache) {
    cache = { texts: new Map(), chars: 0 };
    caches.set(stores, cache);
  }
  return cache;
}

export function cachedMetadataText(stores: StoreResolver, location: string): string | undefined {
  const cache = caches.get(stores);
  const text = cache?.texts.get(location);
  if (text !== undefined) {
    // Most recently used last.
    cache!.texts.delete(location);
    cache!.texts.set(location, text);
  }
  return text;
}

export function rememberMetadataText(stores: StoreResolver, location: string, text: string): void {
  if (text.length > MAX_FILE_CHARS) return;
  const cache = cacheOf(stores);
  forgetMetadataText(stores, location);
  cache.texts.set(location, text);
  cache.chars += text.length;
  for (const [oldest, old] of cache.texts) {
    if (cache.chars <= BUDGET_CHARS) break;
    cache.texts.delete(oldest);
    cache.chars -= old.length;
  }
}

export function forgetMetadataText(stores: StoreResolver, location: string): void {
  const cache = caches.get(stores);
  const text = cache?.texts.get(location);
  if (text === undefined) return;
  cache!.texts.delete(location);
  cache!.chars -= text.length;
}
