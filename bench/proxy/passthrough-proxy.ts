/**
 * The floor for any proxy hop on this machine: a pass-through HTTP proxy in a few lines of Node.js
 * (keep-alive pool, raw path, body buffered, answer piped), with no outbox and no inspection.
 * bench/proxy/run.sh measures Icerelay's proxy next to it, so the cost of the hop itself and the
 * cost of what Icerelay adds to it can be told apart.
 *
 * Usage: node --import tsx bench/proxy/passthrough-proxy.ts <port> <upstream-url>
 */
import http from 'node:http';

const [port, upstreamUrl] = process.argv.slice(2);
const upstream = new URL(upstreamUrl!);
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host']);

http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !hopByHop.has(name)));
    const forward = http.request({ hostname: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers, agent }, (answer) => {
      const back = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !hopByHop.has(name)));
      response.writeHead(answer.statusCode ?? 502, back);
      answer.pipe(response);
    });
    forward.on('error', () => response.destroy());
    forward.end(chunks.length ? Buffer.concat(chunks) : undefined);
  });
}).listen(Number(port), '127.0.0.1');
