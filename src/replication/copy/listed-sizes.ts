/**
 * Sizes of many objects at once, for the copier's two checks: which destinations already exist
 * (skip them) and whether every copied destination arrived whole (verify).
 *
 * A table's files share a few folders, so objects of one S3 folder are looked up with one
 * ListObjectsV2 instead of a HeadObject each: a commit of four data files costs one request per
 * check, not four. The listing starts just before the first wanted key and stops after the last,
 * at most a few pages; keys it does not reach (a folder holding many other files between them)
 * are asked for one by one. Local files are a stat each.
 */

import { ListObjectsV2Command } from '@aws-sdk/client-s3';

import { mapWithConcurrency } from './concurrency.ts';
import type { ResolvedLocation } from './locations.ts';
import { headObject } from './object-access.ts';
import { withRetry, type RetryPolicy } from './retry.ts';

type S3Location = Extract<ResolvedLocation, { kind: 's3' }>;

/** Size of each target, or undefined when it does not exist; in the order given. */
export async function sizesOf(
  targets: ResolvedLocation[],
  retry: RetryPolicy,
  concurrency: number,
  /** Keys per ListObjectsV2 page: S3's most (1000); smaller only to test paging. */
  pageSize = 1000,
): Promise<(number | undefined)[]> {
  const sizes = new Array<number | undefined>(targets.length);
  const pending: number[] = [];
  const folders = new Map<string, { target: S3Location; index: number }[]>();
  targets.forEach((target, index) => {
    if (target.kind !== 's3') {
      pending.push(index);
      return;
    }
    const folder = JSON.stringify([target.endpointId, target.bucket, target.key.slice(0, target.key.lastIndexOf('/') + 1)]);
    let group = folders.get(folder);
    if (!group) folders.set(folder, (group = []));
    group.push({ target, index });
  });
  const groups = [...folders.values()];
  await mapWithConcurrency(groups, concurrency, async (group) => {
    if (group.length === 1) {
      pending.push(group[0]!.index);
      return;
    }
    const listed = await listFolder(group.map((g) => g.target), retry, pageSize).catch(() => undefined);
    for (const { target, index } of group) {
      // Not reached by the listing (or the listing failed): asked on its own below.
      if (!listed?.reached(target.key)) pending.push(index);
      else sizes[index] = listed.sizes.get(target.key);
    }
  });
  await mapWithConcurrency(pending, concurrency, async (index) => {
    sizes[index] = (await withRetry(() => headObject(targets[index]!), retry)).value?.size;
  });
  return sizes;
}

/**
 * Lists one folder from just before the first wanted key up to the last, at most
 * ceil(wanted / pageSize) + 1 pages.
 */
async function listFolder(wanted: S3Location[], retry: RetryPolicy, pageSize: number): Promise<{ sizes: Map<string, number>; reached: (key: string) => boolean }> {
  const { client, bucket } = wanted[0]!;
  const keys = wanted.map((w) => w.key).sort();
  const first = keys[0]!;
  const last = keys.at(-1)!;
  const prefix = first.slice(0, first.lastIndexOf('/') + 1);
  const sizes = new Map<string, number>();
  // Every key below which the listing is complete; a proper prefix of `first` sorts before it.
  let listedUpTo = '';
  let token: string | undefined;
  const maxPages = Math.ceil(keys.length / pageSize) + 1;
  for (let page = 0; page < maxPages; page++) {
    const { value: answer } = await withRetry(
      () =>
        client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            MaxKeys: pageSize,
            // Only the folder's own objects: its subfolders come back as one prefix each.
            Delimiter: '/',
            ...(token ? { ContinuationToken: token } : { StartAfter: first.slice(0, -1) }),
          }),
        ),
      retry,
    );
    for (const object of answer.Contents ?? []) {
      if (object.Key !== undefined) sizes.set(object.Key, object.Size ?? 0);
    }
    const lastListed = answer.Contents?.at(-1)?.Key;
    if (!answer.IsTruncated || !answer.NextContinuationToken) {
      listedUpTo = '\u{10FFFF}'; // the whole rest of the folder was listed
      break;
    }
    if (lastListed !== undefined) listedUpTo = lastListed;
    if (listedUpTo >= last) break;
    token = answer.NextContinuationToken;
  }
  return { sizes, reached: (key) => key <= listedUpTo };
}
