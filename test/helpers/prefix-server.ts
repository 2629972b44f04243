/**
 * A real HTTP hop that makes a catalog without a prefix look like one with a prefix, as hosted
 * catalogs do (Polaris `catalogs/<name>`, S3 Tables' URL-encoded bucket ARN): its `/v1/config`
 * adds `overrides.prefix`, and `/v1/<prefix>/...` is forwarded as `/v1/...`. Anything else under
 * `/v1/` that lacks the prefix gets 404, so a client (or proxy) that drops the prefix is caught.
 */
import http from 'node:http';

export interface PrefixServer {
  url: string;
  close(): Promise<void>;
}

/**
 * With `separator` (say `%2E`), the hop also announces that namespace separator and translates it
 * to the catalog's `%1F`; a `%1F` in a namespace is then refused with 404, as a catalog with
 * another separator would not split on it.
 */
export async function startPrefixServer(upstreamUrl: string, prefix: string, separator?: string): Promise<PrefixServer> {
  const upstream = new URL(upstreamUrl);
  const server = http.createServer((req, res) => {
    const target = req.url ?? '/';
    const isConfig = target === '/v1/config' || target.startsWith('/v1/config?');
    let path: string;
    if (isConfig) path = target;
    else if (target.startsWith(`/v1/${prefix}/`)) path = `/v1/${target.slice(`/v1/${prefix}/`.length)}`;
    else path = '';
    const namespace = /^\/v1\/namespaces\/([^/?]+)/.exec(path)?.[1];
    if (separator && namespace !== undefined) {
      path = namespace.toUpperCase().includes('%1F') ? '' : path.replace(namespace, namespace.split(new RegExp(separator, 'i')).join('%1F'));
    }
    if (path === '') {
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: `no prefix in ${target}, or a namespace not split by ${separator ?? '%1F'}`, type: 'NoSuchResourceException', code: 404 } }));
      return;
    }
    const forward = http.request({ hostname: upstream.hostname, port: upstream.port, method: req.method, path, headers: req.headers }, (answer) => {
      if (!isConfig) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const config = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { overrides?: Record<string, string> };
        config.overrides = { ...config.overrides, prefix, ...(separator ? { 'namespace-separator': separator } : {}) };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(config));
      });
    });
    forward.on('error', () => req.socket.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
