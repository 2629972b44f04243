/**
 * Matches a raw request path against the route table's spec templates. Matching works on the
 * still-encoded segments so `%2F` inside a name never splits a segment and `%1F` survives to the
 * namespace decoder.
 */
import { IcebergError } from '../errors/iceberg-error.ts';
import type { Method, Route } from './catalog-routes.ts';

interface CompiledRoute {
  route: Route;
  segments: string[];
}

export interface RouteMatch {
  route: Route;
  raw: Record<string, string>;
}

function templateSegments(path: string): string[] {
  // This server uses no prefix: `/v1/{prefix}/namespaces` is served at `/v1/namespaces`.
  return path.split('/').filter((s) => s !== '' && s !== '{prefix}');
}

export class RouteTable {
  private readonly compiled: CompiledRoute[];

  constructor(routes: Route[]) {
    this.compiled = routes.map((route) => ({ route, segments: templateSegments(route.path) }));
  }

  /** The matching route, or a 404/405 Iceberg error naming what was asked. */
  match(method: string, rawPath: string): RouteMatch {
    const segments = rawPath.split('/').filter((s, i, all) => s !== '' || (i > 0 && i < all.length - 1));
    const allowed: Method[] = [];
    for (const { route, segments: template } of this.compiled) {
      if (template.length !== segments.length) continue;
      const raw: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < template.length && ok; i++) {
        const t = template[i]!;
        const s = segments[i]!;
        if (t.startsWith('{')) {
          if (s === '') ok = false;
          else raw[t.slice(1, -1)] = s;
        } else if (t !== s) {
          ok = false;
        }
      }
      if (!ok) continue;
      if (route.method === method) return { route, raw };
      allowed.push(route.method);
    }
    if (allowed.length > 0) {
      throw new IcebergError(405, 'MethodNotAllowedException', `Method ${method} is not allowed on ${rawPath}; allowed: ${allowed.join(', ')}`, {
        headers: { allow: allowed.join(', ') },
      });
    }
    throw new IcebergError(404, 'NoSuchEndpointException', `No Iceberg REST route for ${method} ${rawPath}`);
  }
}
