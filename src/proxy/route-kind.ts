/**
 * What a request is, as a metric label or a log field: one of a few fixed kinds, never the raw
 * path (which names tables: one time series per table would be unbounded).
 */
export const ROUTE_KINDS = [
  'config', 'oauth-tokens', 'namespace', 'list-tables', 'create-table', 'load-table', 'commit-table',
  'drop-table', 'commit-transaction', 'view', 'admin', 'metrics', 'health', 'ui', 'replica', 'other',
] as const;

export type RouteKind = (typeof ROUTE_KINDS)[number];

/**
 * The kind of `method` on `path` (without the query). Iceberg routes are told by their end, so
 * any catalog prefix (`/v1/{prefix}/namespaces/...`) is passed over.
 */
export function routeKind(method: string, path: string): RouteKind {
  if (path.startsWith('/replicas/')) return 'replica';
  if (path.startsWith('/admin/')) return 'admin';
  if (path === '/metrics') return 'metrics';
  if (path === '/healthz' || path === '/readyz') return 'health';
  if (path === '/ui' || path.startsWith('/ui/')) return 'ui';
  if (!path.startsWith('/v1/')) return 'other';
  if (path === '/v1/config') return 'config';
  if (path === '/v1/oauth/tokens') return 'oauth-tokens';
  const read = method === 'GET' || method === 'HEAD';
  if (/\/namespaces\/[^/]+\/tables\/[^/]+$/.test(path)) {
    if (read) return 'load-table';
    return method === 'DELETE' ? 'drop-table' : method === 'POST' ? 'commit-table' : 'other';
  }
  if (/\/namespaces\/[^/]+\/tables$/.test(path)) return read ? 'list-tables' : method === 'POST' ? 'create-table' : 'other';
  if (/\/transactions\/commit$/.test(path)) return 'commit-transaction';
  if (/\/namespaces\/[^/]+\/views(?:\/[^/]+)?$/.test(path) || /\/views\/rename$/.test(path)) return 'view';
  if (/\/namespaces(?:\/[^/]+(?:\/properties)?)?$/.test(path)) return 'namespace';
  return 'other';
}
