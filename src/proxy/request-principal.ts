/**
 * Who made a mutation, for the audit log (the outbox entry's `principal`): a name, never a
 * credential. The token or password itself is neither kept nor logged.
 *
 * - The client's own credentials, when they go through to the upstream (passthrough): a bearer
 *   token that is a JWT names its subject (`sub`, else `client_id`, else `azp`); HTTP basic auth
 *   names its user. The JWT is decoded without checking its signature: the upstream catalog
 *   verifies the token and refuses the request when it is not valid, and such a request is recorded
 *   as rejected. An opaque token names no one.
 * - When the proxy authenticates itself (bearer, oauth2, sigv4), every request reaches the upstream
 *   as the proxy; the client's header is dropped unverified, so it cannot be trusted to say who
 *   acted. The principal is then the proxy's own identity where it has one (its OAuth2 client id,
 *   the subject of its static JWT).
 */
import type { UpstreamAuth } from './upstream-auth.ts';

/** Longer principals are cut: a name, not a payload, belongs in the audit log. */
const MAX_LENGTH = 256;

export function requestPrincipal(authorization: string | string[] | number | undefined, upstreamAuth: Pick<UpstreamAuth, 'terminatesClientAuth' | 'principal'> | undefined): string | undefined {
  if (upstreamAuth?.terminatesClientAuth) return upstreamAuth.principal;
  const header = Array.isArray(authorization) ? authorization[0] : authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(header);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  if (scheme === 'bearer') return jwtPrincipal(match[2]!);
  if (scheme === 'basic') return basicUser(match[2]!);
  return undefined;
}

/** The subject a JWT names (`sub`, else `client_id`, else `azp`); undefined when it is no JWT. */
export function jwtPrincipal(token: string): string | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (claims === null || typeof claims !== 'object') return undefined;
  for (const claim of ['sub', 'client_id', 'azp']) {
    const value = (claims as Record<string, unknown>)[claim];
    if (typeof value === 'string' && value.trim() !== '') return cleaned(value);
  }
  return undefined;
}

function basicUser(credentials: string): string | undefined {
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  // Without a colon it is not basic auth as RFC 7617 has it; naming it could name a secret.
  if (colon <= 0) return undefined;
  return cleaned(decoded.slice(0, colon));
}

/** Without control characters (it is shown in listings and terminals), and not too long. */
function cleaned(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, MAX_LENGTH);
}
