/**
 * An HTTP hop between a proxy child process and its upstream catalog that can hold a request, so
 * the proxy can be killed while the request's outcome is still open:
 *
 * - `pass`: forwards the request and the answer;
 * - `forward-then-hold`: forwards the request, reads the upstream's whole answer (the mutation
 *   applied), and then never answers: the proxy waits;
 * - `hold`: never forwards and never answers (the mutation never reaches the upstream).
 *
 * Unlike fault-server.ts (which drops the connection, so the proxy learns at once that the
 * outcome is unknown), nothing here tells the proxy anything until it is killed.
 */
import http from 'node:http';

export type HopMode = 'pass' | 'forward-then-hold' | 'hold';

export interface HeldRequest {
  method: string;
  /** The request target as received. */
  path: string;
  body: string;
  /** True when it went to the upstream (`forward-then-hold`). */
  forwarded: boolean;
  /** The upstream's answer, when forwarded. */
  upstream?: { status: number; body: string };
}

export interface Hop {
  url: string;
  /** Decides per request, once its body is in; the default passes everything. */
  setRule(rule: (method: string, path: string, body: string) => HopMode): void;
  /**
   * Resolves with the first held request matching `match` once it is held for good: received
   * whole, and for `forward-then-hold` also answered by the upstream. Each held request is
   * returned once.
   */
  waitForHeld(match: (r: HeldRequest) => boolean, timeoutMs?: number): Promise<HeldRequest>;
  /** Closes every held connection (after the proxy is gone). */
  releaseAll(): void;
  close(): Promise<void>;
}

export async function startHop(upstreamUrl: string): Promise<Hop> {
  const upstream = new URL(upstreamUrl);
  let rule: (method: string, path: string, body: string) => HopMode = () => 'pass';
  const held: HeldRequest[] = [];
  const heldResponses = new Set<http.ServerResponse>();
  const waiters: { match: (r: HeldRequest) => boolean; resolve: (r: HeldRequest) => void }[] = [];

  const settleHeld = (request: HeldRequest) => {
    const waiter = waiters.find((w) => w.match(request));
    if (!waiter) {
      held.push(request);
      return;
    }
    waiters.splice(waiters.indexOf(waiter), 1);
    waiter.resolve(request);
  };

  const readBody = (req: http.IncomingMessage) => new Promise<Buffer>((done, fail) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => done(Buffer.concat(chunks)));
    req.on('error', fail);
  });

  const server = http.createServer(async (req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const body = await readBody(req);
    const mode = rule(method, path, body.toString('utf8'));
    if (mode === 'hold') {
      heldResponses.add(res);
      settleHeld({ method, path, body: body.toString('utf8'), forwarded: false });
      return;
    }
    const forward = http.request({ hostname: upstream.hostname, port: upstream.port, method, path, headers: req.headers }, (answer) => {
      if (mode === 'pass') {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      void readBody(answer).then((answerBody) => {
        heldResponses.add(res);
        settleHeld({ method, path, body: body.toString('utf8'), forwarded: true, upstream: { status: answer.statusCode ?? 0, body: answerBody.toString('utf8') } });
      });
    });
    forward.on('error', () => req.socket.destroy());
    forward.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    url: `http://127.0.0.1:${port}`,
    setRule: (fn) => {
      rule = fn;
    },
    waitForHeld: (match, timeoutMs = 30_000) => {
      const already = held.findIndex(match);
      if (already >= 0) return Promise.resolve(held.splice(already, 1)[0]!);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (r: HeldRequest) => { clearTimeout(timer); resolve(r); } };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`the hop held no matching request within ${timeoutMs} ms (held: ${held.map((h) => `${h.method} ${h.path}`).join(', ') || 'none'})`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    releaseAll: () => {
      for (const res of heldResponses) res.socket?.destroy();
      heldResponses.clear();
    },
    close: () => new Promise((resolve) => {
      for (const res of heldResponses) res.socket?.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
