/**
 * The proxy authenticating to an upstream that demands it (a real HTTP hop in front of the
 * built-in catalog, test/helpers/auth-guard-server.ts): static bearer, OAuth2 client credentials
 * with a cached token, AWS SigV4 checked by an independent implementation; the client's own
 * credentials passed through by default, `/v1/oauth/tokens` included. No secret reaches a log.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type StateDatabase } from '../../src/catalog/database.ts';
import { loadServerConfig } from '../../src/config/server-config.ts';
import { OutboxStore } from '../../src/outbox/outbox-store.ts';
import { startProxyServer, type RunningProxy } from '../../src/proxy/proxy-server.ts';
import { createUpstreamAuth } from '../../src/proxy/upstream-auth.ts';
import type { UpstreamAuthConfig } from '../../src/config/config-file.ts';
import { startCatalogServer, type RunningServer } from '../../src/server/builtin-server.ts';
import type { Logger } from '../../src/util/logger.ts';
import { sleep } from '../../src/util/sleep.ts';
import { startAuthGuardServer, type AuthGuardServer, type Guard } from '../helpers/auth-guard-server.ts';
import { sendRaw as send, type RawAnswer as Answer } from '../helpers/raw-http.ts';

const schema = { type: 'struct', fields: [{ id: 1, name: 'id', type: 'long', required: false }] };
const BEARER = 'static-bearer-7f3a9c';
const CLIENT_SECRET = 'client-secret-2b8e41';
const AWS_SECRET = 'aws-secret-key-91d0c5e7';


/** Every log line any proxy here writes, to check that no secret ends up in one. */
const logLines: string[] = [];
const logger: Logger = {
  info: (fields, message) => logLines.push(JSON.stringify({ ...fields, message }, replacer)),
  warn: (fields, message) => logLines.push(JSON.stringify({ ...fields, message }, replacer)),
  error: (fields, message) => logLines.push(JSON.stringify({ ...fields, message }, replacer)),
};
function replacer(_key: string, value: unknown) {
  if (value instanceof Error) return { message: value.message, stack: value.stack, cause: value.cause instanceof Error ? value.cause.message : value.cause };
  return typeof value === 'bigint' ? value.toString() : value;
}

let dir: string;
let database: StateDatabase;
let outbox: OutboxStore;
let catalog: RunningServer;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'icerelay-auth-'));
  database = await openDatabase({ kind: 'sqlite', path: join(dir, 'state.db') });
  outbox = new OutboxStore(database);
  catalog = await startCatalogServer({ ...loadServerConfig({ ICERELAY_DATA_DIR: dir }), port: 0 }, logger, database);
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await catalog.close();
  await database.close();
  await rm(dir, { recursive: true, force: true });
});

async function guarded(guard: Guard, auth: UpstreamAuthConfig): Promise<{ guard: AuthGuardServer; proxy: RunningProxy }> {
  const guardServer = await startAuthGuardServer(catalog.url, guard);
  const proxy = await startProxyServer({
    host: '127.0.0.1', port: 0, upstreamUrl: guardServer.url, upstreamTimeoutMs: 5000, maxBodyBytes: 1024 * 1024, outbox, logger,
    upstreamAuth: createUpstreamAuth(auth, guardServer.url),
  });
  closers.push(() => guardServer.close(), () => proxy.close());
  return { guard: guardServer, proxy };
}

/** A small workload: namespace, table, commit, reads — with PyIceberg's unauthenticated header. */
async function workload(proxy: string, namespace: string): Promise<Answer[]> {
  const client = { authorization: 'Bearer None' };
  const answers: Answer[] = [];
  answers.push(await send(proxy, 'GET', '/v1/config', undefined, client));
  answers.push(await send(proxy, 'POST', '/v1/namespaces', JSON.stringify({ namespace: [namespace] }), client));
  answers.push(await send(proxy, 'POST', `/v1/namespaces/${namespace}/tables`, JSON.stringify({ name: 't', schema }), client));
  answers.push(await send(proxy, 'POST', `/v1/namespaces/${namespace}/tables/t`, JSON.stringify({ requirements: [], updates: [{ action: 'set-properties', updates: { k: 'v' } }] }), client));
  answers.push(await send(proxy, 'GET', `/v1/namespaces/${namespace}/tables/t?snapshots=refs`, undefined, client));
  answers.push(await send(proxy, 'HEAD', `/v1/namespaces/${namespace}/tables/t`, undefined, client));
  return answers;
}

describe('upstream authentication', () => {
  it('static bearer: the proxy sends its own token instead of the client’s', async () => {
    const { guard, proxy } = await guarded({ kind: 'bearer', token: BEARER }, { type: 'bearer', token: BEARER });
    const answers = await workload(proxy.url, 'bearer_ns');
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 204]);
    expect(guard.seen.every((r) => r.verdict === 'forwarded' && r.headers.authorization === `Bearer ${BEARER}`)).toBe(true);
    const events = await outbox.listEvents({ entity: { namespace: ['bearer_ns'], name: 't' }, limit: 10 });
    expect(events.map((e) => e.status)).toEqual(['committed', 'committed']);
  });

  it('OAuth2 client credentials: one token for many requests, renewed before it expires and after a 401', async () => {
    const { guard, proxy } = await guarded(
      { kind: 'oauth2', clientId: 'icerelay', clientSecret: CLIENT_SECRET, lifetimeSeconds: 2 },
      { type: 'oauth2', clientId: 'icerelay', clientSecret: CLIENT_SECRET, scope: 'catalog' },
    );
    const issued = () => guard.seen.filter((r) => r.verdict === 'token-issued').length;
    expect((await workload(proxy.url, 'oauth_ns')).map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 204]);
    // Concurrent requests share the one cached token.
    const many = await Promise.all(Array.from({ length: 20 }, () => send(proxy.url, 'GET', '/v1/namespaces/oauth_ns/tables/t')));
    expect(many.every((a) => a.status === 200)).toBe(true);
    expect(issued()).toBe(1);
    const tokenRequest = guard.seen.find((r) => r.verdict === 'token-issued')!;
    expect(Object.fromEntries(new URLSearchParams(tokenRequest.body))).toMatchObject({ grant_type: 'client_credentials', client_id: 'icerelay', scope: 'catalog' });
    // Past 90% of the 2 s lifetime a new token is fetched before use.
    await sleep(1900);
    expect((await send(proxy.url, 'GET', '/v1/namespaces/oauth_ns')).status).toBe(200);
    expect(issued()).toBe(2);
    // Revoked early: the read that meets the 401 is sent again with a fresh token.
    guard.revokeTokens();
    expect((await send(proxy.url, 'GET', '/v1/namespaces/oauth_ns')).status).toBe(200);
    expect(issued()).toBe(3);
    expect(guard.seen.filter((r) => r.verdict === 'refused')).toHaveLength(1);
    // A commit meeting a 401 is not sent again: the client gets the 401 and decides.
    guard.revokeTokens();
    const commit = await send(proxy.url, 'POST', '/v1/namespaces/oauth_ns/tables/t', JSON.stringify({ requirements: [], updates: [{ action: 'set-properties', updates: { k: 'w' } }] }));
    expect(commit.status).toBe(401);
    const events = await outbox.listEvents({ entity: { namespace: ['oauth_ns'], name: 't' }, limit: 10 });
    expect(events.map((e) => e.status)).toEqual(['committed', 'committed', 'rejected']);
    expect((await send(proxy.url, 'GET', '/v1/namespaces/oauth_ns')).status).toBe(200);
  });

  it('OAuth2 with a wrong secret: reads get 503 and commits the unknown-state answer, naming the token endpoint', async () => {
    const { guard, proxy } = await guarded(
      { kind: 'oauth2', clientId: 'icerelay', clientSecret: CLIENT_SECRET, lifetimeSeconds: 60 },
      { type: 'oauth2', clientId: 'icerelay', clientSecret: 'not-the-secret-4c1d', scope: 'catalog' },
    );
    const read = await send(proxy.url, 'GET', '/v1/namespaces');
    expect(read.status).toBe(503);
    expect(JSON.parse(read.body).error).toMatchObject({ type: 'ServiceUnavailableException' });
    expect(read.body).toContain(`${guard.url}/v1/oauth/tokens answered 401: invalid_client`);
    const commit = await send(proxy.url, 'POST', '/v1/namespaces', JSON.stringify({ namespace: ['never'] }));
    expect(commit.status).toBe(500);
    expect(JSON.parse(commit.body).error.type).toBe('CommitStateUnknownException');
    expect(guard.seen.every((r) => r.verdict === 'token-refused')).toBe(true);
    for (const answer of [read, commit]) expect(answer.body).not.toContain('not-the-secret-4c1d');
  });

  it('SigV4: every request signed as it goes on the wire, odd encodings and bodies included', async () => {
    const guard: Guard = { kind: 'sigv4', accessKeyId: 'AKIDICERELAYTEST', secretAccessKey: AWS_SECRET, region: 'eu-west-1', service: 's3tables' };
    const { guard: server, proxy } = await guarded(guard, { type: 'sigv4', region: 'eu-west-1', service: 's3tables', accessKeyId: 'AKIDICERELAYTEST', secretAccessKey: AWS_SECRET });
    expect((await workload(proxy.url, 'sig_ns')).map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 204]);
    const client = { authorization: 'Bearer None' };
    const odd = [
      await send(proxy.url, 'POST', '/v1/namespaces', JSON.stringify({ namespace: ['sig ns', 'ünï'] }), client),
      await send(proxy.url, 'POST', '/v1/namespaces/sig+ns%1F%C3%BCn%C3%AF/tables', JSON.stringify({ name: 'a b', schema }), client),
      await send(proxy.url, 'GET', '/v1/namespaces/sig%20ns%1F%C3%BCn%C3%AF/tables/a+b?snapshots=all', undefined, client),
      await send(proxy.url, 'GET', '/v1/namespaces?parent=sig%20ns&pageToken=&pageSize=5', undefined, client),
      await send(proxy.url, 'GET', '/v1/namespaces/sig_ns/tables/t', undefined, { ...client, 'if-none-match': '"x"', 'x-client-version': '1.10.0' }),
    ];
    expect(odd.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(server.seen.filter((r) => r.verdict !== 'forwarded').map((r) => `${r.method} ${r.path}: ${r.reason}`)).toEqual([]);
    expect(server.seen.every((r) => String(r.headers.authorization).startsWith('AWS4-HMAC-SHA256 '))).toBe(true);
  });

  it('SigV4 with the wrong key is refused by the upstream (the check above can fail)', async () => {
    const guard: Guard = { kind: 'sigv4', accessKeyId: 'AKIDICERELAYTEST', secretAccessKey: AWS_SECRET, region: 'eu-west-1', service: 's3tables' };
    const { proxy } = await guarded(guard, { type: 'sigv4', region: 'eu-west-1', service: 's3tables', accessKeyId: 'AKIDICERELAYTEST', secretAccessKey: 'wrong-secret-0000' });
    const answer = await send(proxy.url, 'GET', '/v1/namespaces');
    expect(answer.status).toBe(403);
    expect(answer.body).toContain('signature does not match');
  });

  it('passthrough (the default): the client’s own token request and token reach the upstream', async () => {
    const { guard, proxy } = await guarded({ kind: 'oauth2', clientId: 'reader', clientSecret: CLIENT_SECRET, lifetimeSeconds: 60 }, { type: 'passthrough' });
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'reader', client_secret: CLIENT_SECRET, scope: 'catalog' }).toString();
    const token = await send(proxy.url, 'POST', '/v1/oauth/tokens', form, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(token.status).toBe(200);
    const accessToken = (JSON.parse(token.body) as { access_token: string }).access_token;
    expect(guard.seen[0]!.body).toBe(form);
    expect((await send(proxy.url, 'GET', '/v1/namespaces', undefined, { authorization: `Bearer ${accessToken}` })).status).toBe(200);
    expect((await send(proxy.url, 'GET', '/v1/namespaces', undefined, { authorization: 'Bearer forged' })).status).toBe(401);
    expect(guard.seen.map((r) => r.verdict)).toEqual(['token-issued', 'forwarded', 'refused']);
  });

  it('no token, secret or signature appears in any log line', () => {
    expect(logLines.length).toBeGreaterThan(0);
    const joined = logLines.join('\n');
    for (const secret of [BEARER, CLIENT_SECRET, AWS_SECRET, 'not-the-secret-4c1d', 'wrong-secret-0000', 'tok-', 'Signature=']) {
      expect(joined).not.toContain(secret);
    }
  });
});
