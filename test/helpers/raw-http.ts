/**
 * One raw HTTP request: the target goes out exactly as written, under the base URL's path
 * (`fetch` would normalize it: `%2E%2E` resolved, `+` and `%20` made alike).
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as UTF-8 text. */
  body: string;
  /** The body as it came (compressed, say). */
  bytes: Buffer;
}

/** A string or bytes body goes as is, anything else as JSON; `content-type` is JSON unless given. */
export function sendRaw(base: string, method: string, target: string, body?: unknown, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const path = `${new URL(base).pathname.replace(/\/$/, '')}${target}`;
  const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(base, { method, path, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes.toString('utf8'), bytes });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}
