/**
 * A real HTTP hop between the proxy and the upstream catalog that can misbehave on purpose:
 * forward a request and then drop the connection instead of answering (the commit applied, the
 * answer lost), or drop it without forwarding (the commit never applied), or answer 502 itself.
 */
import http from 'node:http';

export type Fault = 'pass' | 'apply-then-drop' | 'drop-before-forward' | 'answer-502';

export interface FaultServer {
  url: string;
  /** Decides per request; the default passes everything through. */
  setFault(choose: (method: string, path: string) => Fault): void;
  close(): Promise<void>;
}

export async function startFaultServer(upstreamUrl: string): Promise<FaultServer> {
  const upstream = new URL(upstreamUrl);
  let choose: (method: string, path: string) => Fault = () => 'pass';
  const server = http.createServer((req, res) => {
    const fault = choose(req.method ?? 'GET', req.url ?? '/');
    if (fault === 'drop-before-forward') {
      req.resume();
      req.socket.destroy();
      return;
    }
    if (fault === 'answer-502') {
      req.resume();
      res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
      return;
    }
    const forward = http.request(
      { hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        if (fault === 'apply-then-drop') {
          answer.resume();
          answer.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => req.socket.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    setFault: (fn) => {
      choose = fn;
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
