/**
 * The HTTP side of the protocol checks: requests to an Iceberg REST catalog's routes under
 * `/v1/{prefix}` (the prefix it names in /v1/config), answers kept whole (status, headers, text and
 * JSON) so that a check can tell a wrong status from a wrong body.
 *
 * Bodies are parsed with plain JSON.parse: the checks validate shapes and compare names, uuids and
 * properties, never snapshot ids, so 64-bit precision does not matter here.
 */

export interface HttpAnswer {
  method: string;
  path: string;
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is empty or not JSON. */
  body: unknown;
}

/** Thrown when the catalog gives no HTTP answer at all (refused, reset, timed out). */
export class NoAnswerError extends Error {}

const TIMEOUT_MS = 30_000;

/** A namespace as a path segment: levels joined by the unit separator, as the spec's default. */
export function namespaceSegment(levels: readonly string[]): string {
  return levels.map(encodeURIComponent).join('%1F');
}

export class CatalogHttp {
  /** `/v1/{prefix}/` once /v1/config named a prefix; `/v1/` until then. */
  private root = '/v1/';

  constructor(readonly baseUrl: string) {}

  usePrefix(prefix: string | undefined): void {
    this.root = prefix ? `/v1/${encodeURIComponent(prefix)}/` : '/v1/';
  }

  /** GET /v1/config, with the warehouse the client asks for (if any). */
  config(warehouse: string | undefined): Promise<HttpAnswer> {
    return this.send('GET', `/v1/config${warehouse ? `?warehouse=${encodeURIComponent(warehouse)}` : ''}`);
  }

  /** A request to a route under /v1/{prefix}/, e.g. `namespaces/ns/tables`. */
  route(method: string, route: string, options: { body?: unknown; query?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<HttpAnswer> {
    const query = options.query ? `?${new URLSearchParams(options.query).toString()}` : '';
    return this.send(method, `${this.root}${route}${query}`, options.body, options.headers);
  }

  private async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      throw new NoAnswerError(`${method} ${path}: no answer from ${this.baseUrl} (${cause})`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { method, path, status: response.status, headers: response.headers, text, body: parsed };
  }
}
