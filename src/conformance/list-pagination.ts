/**
 * Pagination of the list routes (namespaces, tables): followed from an empty pageToken, as
 * Iceberg's Java client starts, with a page size small enough for several pages, the pages
 * together must list exactly what one unpaged answer lists, each item once, and end with a null
 * or absent next-page-token.
 */
import { CheckSkipped, expectAnswer, expectThat, fail } from './protocol-assertions.ts';
import type { ProtocolContext } from './protocol-check.ts';

const MAX_PAGES = 100;

/** Every page of a list route followed from an empty pageToken, as Iceberg's Java client does. */
async function allPages(context: ProtocolContext, route: string, key: string, query: Record<string, string>, schema: string, pageSize: number): Promise<{ items: unknown[]; pages: number }> {
  const items: unknown[] = [];
  let token = '';
  for (let pages = 1; pages <= MAX_PAGES; pages++) {
    const page = expectAnswer<Record<string, unknown>>(await context.http.route('GET', route, { query: { ...query, pageSize: String(pageSize), pageToken: token } }), 200, schema);
    items.push(...(page[key] as unknown[]));
    const next = page['next-page-token'];
    if (next === undefined || next === null) return { items, pages };
    expectThat(typeof next === 'string' && next !== token, `GET ${route}: next-page-token ${JSON.stringify(next)} does not move on`);
    token = next as string;
  }
  fail(`GET ${route}: still more pages after ${MAX_PAGES} of pageSize=${pageSize}`);
}

/**
 * Compares a paged listing with the unpaged one. A server that does not paginate ignores
 * pageSize and answers everything at once, which the spec allows: skipped, not failed.
 */
export async function checkPagination(context: ProtocolContext, route: string, key: string, query: Record<string, string>, schema: string, expected: number): Promise<void> {
  const whole = expectAnswer<Record<string, unknown[]>>(await context.http.route('GET', route, { query }), 200, schema);
  const all = (whole[key] ?? []).map((item) => JSON.stringify(item)).sort();
  expectThat(all.length >= expected, `GET ${route}: ${all.length} ${key} listed, at least ${expected} created`);
  expectThat(whole['next-page-token' as keyof typeof whole] == null, `GET ${route} without pageToken must list everything (next-page-token null or absent)`);
  // About 20 pages, whatever the catalog holds.
  const pageSize = Math.max(1, Math.ceil(all.length / (MAX_PAGES / 5)));
  const paged = await allPages(context, route, key, query, schema, pageSize);
  if (paged.pages === 1 && paged.items.length > pageSize) throw new CheckSkipped(`the catalog does not paginate ${key} (pageSize=${pageSize} answered ${paged.items.length})`);
  const seen = paged.items.map((item) => JSON.stringify(item)).sort();
  expectThat(new Set(seen).size === seen.length, `GET ${route} with pageToken: some ${key} came twice across pages`);
  expectThat(JSON.stringify(seen) === JSON.stringify(all), `GET ${route}: the ${paged.pages} pages list ${seen.length} ${key}, the unpaged answer ${all.length}`);
}

