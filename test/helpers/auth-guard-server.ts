/**
 * A real HTTP hop in front of a catalog that demands authentication, as hosted catalogs do:
 * a static bearer token, OAuth2 client credentials (it serves `/v1/oauth/tokens` itself and
 * accepts only the tokens it issued, until they expire), or AWS SigV4 (verified with the `aws4`
 * package, an implementation independent of the AWS SDK signer the proxy uses). Requests that
 * pass are forwarded; the others get 401 or 403 with an Iceberg error body.
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import aws4 from 'aws4';

export type Guard =
  | { kind: 'bearer'; token: string }
  | { kind: 'oauth2'; clientId: string; clientSecret: string; lifetimeSeconds: number }
  | { kind: 'sigv4'; accessKeyId: string; secretAccessKey: string; region: string; service: string };

export interface SeenRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  verdict: 'forwarded' | 'refused' | 'token-issued' | 'token-refused';
  reason?: string;
}

export interface AuthGuardServer {
  url: string;
  seen: SeenRequest[];
  /** Forgets every issued token (as if the server rotated its keys). */
  revokeTokens(): void;
  close(): Promise<void>;
}

function refuse(res: http.ServerResponse, status: number, message: string) {
  const type = status === 401 ? 'NotAuthorizedException' : 'ForbiddenException';
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message, type, code: status } }));
}

/** Recomputes the SigV4 signature of a received request; undefined when it matches. */
function sigv4Problem(guard: Extract<Guard, { kind: 'sigv4' }>, req: http.IncomingMessage, body: string): string | undefined {
  const authorization = req.headers.authorization ?? '';
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!match) return `not a SigV4 Authorization header: '${authorization.slice(0, 40)}'`;
  const [, keyId, , region, service, signedHeaders, signature] = match;
  if (keyId !== guard.accessKeyId) return `unknown access key ${keyId}`;
  if (region !== guard.region || service !== guard.service) return `signed for ${region}/${service}`;
  const headers: Record<string, string> = {};
  for (const name of signedHeaders!.split(';')) {
    const value = req.headers[name];
    if (value === undefined) return `signed header ${name} is missing`;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const expected = aws4.sign(
    { host: req.headers.host, method: req.method, path: req.url, headers, body, service: guard.service, region: guard.region, signQuery: false },
    { accessKeyId: guard.accessKeyId, secretAccessKey: guard.secretAccessKey },
  );
  const expectedSignature = /Signature=([0-9a-f]{64})/.exec(String(expected.headers?.Authorization ?? ''))?.[1];
  if (expectedSignature !== signature) return 'signature does not match';
  const hash = req.headers['x-amz-content-sha256'];
  if (hash !== undefined && hash !== createHash('sha256').update(body).digest('hex')) return 'payload hash does not match';
  return undefined;
}

export async function startAuthGuardServer(upstreamUrl: string, guard: Guard): Promise<AuthGuardServer> {
  const upstream = new URL(upstreamUrl);
  const seen: SeenRequest[] = [];
  const tokens = new Map<string, number>(); // token -> expiry (ms)

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const record: SeenRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: body.toString('utf8'), verdict: 'forwarded' };
      seen.push(record);

      if (guard.kind === 'oauth2' && record.path === '/v1/oauth/tokens' && record.method === 'POST') {
        const form = new URLSearchParams(record.body);
        if (form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== guard.clientId || form.get('client_secret') !== guard.clientSecret) {
          record.verdict = 'token-refused';
          res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_client', error_description: 'unknown client or wrong secret' }));
          return;
        }
        const token = `tok-${randomUUID()}`;
        tokens.set(token, Date.now() + guard.lifetimeSeconds * 1000);
        record.verdict = 'token-issued';
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
          access_token: token, token_type: 'bearer', expires_in: guard.lifetimeSeconds, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        }));
        return;
      }

      let problem: string | undefined;
      const authorization = req.headers.authorization ?? '';
      if (guard.kind === 'bearer' && authorization !== `Bearer ${guard.token}`) problem = 'wrong or missing bearer token';
      if (guard.kind === 'oauth2') {
        const expiry = tokens.get(authorization.replace(/^Bearer /, ''));
        if (expiry === undefined || expiry < Date.now()) problem = 'token unknown or expired';
      }
      if (guard.kind === 'sigv4') problem = sigv4Problem(guard, req, record.body);
      if (problem) {
        record.verdict = 'refused';
        record.reason = problem;
        refuse(res, guard.kind === 'sigv4' ? 403 : 401, problem);
        return;
      }
      const headers = { ...req.headers };
      delete headers.authorization;
      const forward = http.request(
        { hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => req.socket.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    seen,
    revokeTokens: () => tokens.clear(),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
