/**
 * Who a mutation is recorded as: a JWT's subject (or client id), a basic-auth user, the proxy's
 * own identity when it authenticates itself; never a token or password, and nothing for opaque
 * credentials.
 */
import { describe, expect, it } from 'vitest';
import { jwtPrincipal, requestPrincipal } from '../../src/proxy/request-principal.ts';
import { createUpstreamAuth } from '../../src/proxy/upstream-auth.ts';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** An unsigned JWT (`alg: none`) with these claims: the upstream would verify it, the proxy only reads it. */
const jwt = (claims: Record<string, unknown>, signature = 'c2lnbmF0dXJl') => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.${signature}`;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('requestPrincipal', () => {
  it('names the subject of a bearer JWT, else its client_id, else azp', () => {
    expect(requestPrincipal(`Bearer ${jwt({ sub: 'alice@example.com', client_id: 'spark' })}`, undefined)).toBe('alice@example.com');
    expect(requestPrincipal(`bearer ${jwt({ client_id: 'spark-etl', azp: 'other' })}`, undefined)).toBe('spark-etl');
    expect(requestPrincipal(`Bearer ${jwt({ azp: 'trino' }, '')}`, undefined)).toBe('trino');
    expect(requestPrincipal(`Bearer ${jwt({ scope: 'catalog' })}`, undefined)).toBeUndefined();
  });

  it('names the user of basic auth, never its password', () => {
    expect(requestPrincipal(basic('bob', 's3cret:with:colons'), undefined)).toBe('bob');
    expect(requestPrincipal(`Basic ${Buffer.from('no-colon-here').toString('base64')}`, undefined)).toBeUndefined();
  });

  it('names no one for an opaque token, another scheme, garbage or no header', () => {
    for (const header of ['Bearer opaque-token-123', 'Bearer a.b.c', 'Bearer e30.!!!.x', 'Negotiate abc', 'Bearer', '', undefined]) {
      expect([header, requestPrincipal(header, undefined)]).toEqual([header, undefined]);
    }
  });

  it('keeps control characters out and cuts very long names', () => {
    expect(jwtPrincipal(jwt({ sub: 'eve\u001b[31m\nadmin' }))).toBe('eve[31madmin');
    expect(jwtPrincipal(jwt({ sub: 'x'.repeat(1000) }))?.length).toBe(256);
  });

  it("when the proxy authenticates itself, records the proxy's identity and ignores the client's unverified header", () => {
    const oauth2 = createUpstreamAuth({ type: 'oauth2', clientId: 'icerelay-proxy', clientSecret: 'secret-1', scope: 'catalog' }, 'http://upstream.invalid');
    expect(requestPrincipal(`Bearer ${jwt({ sub: 'mallory' })}`, oauth2)).toBe('icerelay-proxy');
    const staticJwt = createUpstreamAuth({ type: 'bearer', token: jwt({ sub: 'svc-icerelay' }) }, 'http://upstream.invalid');
    expect(requestPrincipal(basic('mallory', 'pw'), staticJwt)).toBe('svc-icerelay');
    const opaque = createUpstreamAuth({ type: 'bearer', token: 'opaque-static-token' }, 'http://upstream.invalid');
    expect(requestPrincipal(basic('mallory', 'pw'), opaque)).toBeUndefined();
    const passthrough = createUpstreamAuth({ type: 'passthrough' }, 'http://upstream.invalid');
    expect(requestPrincipal(basic('carol', 'pw'), passthrough)).toBe('carol');
  });
});
