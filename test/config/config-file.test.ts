/**
 * The configuration file: validation errors name the field, `${VAR}` keeps secrets in the
 * environment, environment variables override the file, and a bad file stops start-up.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfigFile } from '../../src/config/config-file.ts';
import { loadServerConfig } from '../../src/config/server-config.ts';
import { resolveReplication } from '../../src/replication/destinations.ts';

const run = promisify(execFile);

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfigFile(yaml, env, 'icerelay.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the file to be refused');
}

describe('configuration file', () => {
  it('reads every section, with secrets from the environment', () => {
    const file = parseConfigFile(`
server: { host: 0.0.0.0, port: 9000, publicUrl: "https://icerelay.example.com", maxBodyBytes: 1048576 }
state: { database: "postgres://icerelay:\${PG_PASSWORD}@db/icerelay" }
catalog: { warehouse: "s3://bucket/wh", s3: { endpoint: "http://127.0.0.1:9000", region: eu-west-1, pathStyle: true }, vendCredentials: false }
upstream:
  url: https://catalog.example.com/api/catalog
  timeoutMs: 5000
  auth: { type: oauth2, clientId: icerelay, clientSecret: "\${CLIENT_SECRET}" }
`, { PG_PASSWORD: 'pw', CLIENT_SECRET: 'shh' }, 'icerelay.yaml');
    const config = loadServerConfig({}, file);
    expect(config).toMatchObject({
      host: '0.0.0.0', port: 9000, publicUrl: 'https://icerelay.example.com', maxBodyBytes: 1048576,
      database: { kind: 'postgres', url: 'postgres://icerelay:pw@db/icerelay' },
      warehouse: 's3://bucket/wh', s3: { endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1', forcePathStyle: true },
      upstream: {
        url: 'https://catalog.example.com/api/catalog', timeoutMs: 5000,
        auth: { type: 'oauth2', clientId: 'icerelay', clientSecret: 'shh', scope: 'catalog' },
      },
    });
  });

  it('lets environment variables override the file', () => {
    const file = parseConfigFile('server: { port: 9000 }\nupstream: { url: "http://a:1" }\n', {}, 'f');
    const config = loadServerConfig({ ICERELAY_PORT: '9100', ICERELAY_UPSTREAM_URL: 'http://b:2' }, file);
    expect([config.port, config.upstream?.url, config.upstream?.auth]).toEqual([9100, 'http://b:2', { type: 'passthrough' }]);
  });

  it('names each wrong field and what it expects', () => {
    const message = problems(`
server: { prot: 1, port: "eighty" }
upstream:
  url: ftp://catalog
  auth: { type: oauth2, clientId: icerelay }
`);
    expect(message).toContain('icerelay.yaml is not a valid Icerelay configuration');
    expect(message).toContain('server: Unrecognized key: "prot"');
    expect(message).toMatch(/server\.port: .*number/);
    expect(message).toContain('upstream.url: must be an http:// or https:// URL');
    expect(message).toContain('upstream.auth.clientSecret: required (string)');
  });

  it('explains the auth types and the SigV4 key pair', () => {
    expect(problems('upstream: { url: "http://a", auth: { type: kerberos } }')).toContain('upstream.auth.type: type must be one of passthrough, bearer, oauth2, sigv4');
    expect(problems('upstream: { url: "http://a", auth: { type: sigv4, region: us-east-1, service: s3tables, accessKeyId: AKID } }'))
      .toContain('give accessKeyId and secretAccessKey together');
  });

  it('refuses a missing environment variable, invalid YAML and duplicate keys', () => {
    expect(problems('upstream: { url: "http://a", auth: { type: bearer, token: "${NO_SUCH_VAR}" } }')).toContain('upstream.auth.token: environment variable NO_SUCH_VAR is not set');
    expect(problems('server: [unclosed')).toContain('not valid YAML');
    expect(problems('server: { port: 1 }\nserver: { port: 2 }\n')).toContain('not valid YAML');
  });
});

describe('replication section', () => {
  const base = loadServerConfig({ ICERELAY_DATA_DIR: '/srv/icerelay', ICERELAY_WAREHOUSE: 's3://source/wh' });

  it('resolves destinations with their defaults and the rules that name them', () => {
    const file = parseConfigFile(`
replication:
  destinations:
    eu:
      warehouse: s3://eu-bucket/wh
      s3: { endpoint: "http://127.0.0.1:9000", accessKeyId: AK, secretAccessKey: SK }
      retention: { keepLast: 10, maxAge: 7d }
      storageClass: STANDARD_IA
      sseKmsKeyId: alias/replica
      namespacePrefix: [us, east]
    archive:
      warehouse: /mnt/archive
      onSourceDrop: drop
  rules:
    - { tables: ["sales.*"], exclude: ["sales.tmp_*"], to: [eu] }
    - { tables: ["**"], to: [archive] }
`, {}, 'f');
    const { destinations } = resolveReplication(base, file);
    const [eu, archive] = destinations;
    expect(eu).toMatchObject({
      name: 'eu', warehouse: 's3://eu-bucket/wh', namespacePrefix: ['us', 'east'],
      s3: { endpoint: 'http://127.0.0.1:9000', forcePathStyle: true, credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' } },
      retention: { keepLast: 10, maxAgeMs: 7 * 86_400_000 },
      write: { storageClass: 'STANDARD_IA', sseKmsKeyId: 'alias/replica' },
      locations: [{ source: 's3://source/wh/', destination: 's3://eu-bucket/wh/' }],
      onSourceDrop: 'keep',
    });
    expect(eu!.map.map('s3a://source/wh/sales/orders/data/f.parquet')).toBe('s3://eu-bucket/wh/sales/orders/data/f.parquet');
    expect([eu!.selector.selectsTable(['sales'], 'orders'), eu!.selector.selectsTable(['sales'], 'tmp_1'), eu!.selector.selectsTable(['ops'], 'x')]).toEqual([true, false, false]);
    expect(archive).toMatchObject({ warehouse: 'file:///mnt/archive', onSourceDrop: 'drop' });
    expect(archive!.selector.selectsTable(['ops'], 'x')).toBe(true);
  });

  it('defaults to the replica "local" of every table, and to none in front of an external upstream', () => {
    expect(resolveReplication(base, {}).destinations.map((d) => [d.name, d.warehouse])).toEqual([['local', 'file:///srv/icerelay/replicas/local']]);
    const external = loadServerConfig({ ICERELAY_UPSTREAM_URL: 'http://catalog:8181' });
    expect(resolveReplication(external, {}).destinations).toEqual([]);
  });

  it('names the field of each mistake', () => {
    expect(problems('replication: { destinations: { eu: { warehouse: /x } }, rules: [{ tables: ["**"], to: [us] }] }'))
      .toContain("replication.rules.0.to.0: no destination named 'us' (destinations: eu)");
    expect(problems('replication: { destinations: { eu: { warehouse: /x, retention: { maxAge: soon } } } }'))
      .toContain("replication.destinations.eu.retention.maxAge: must be a duration such as 7d, 12h, 30m or P7D, not 'soon'");
    expect(problems('replication: { destinations: { "e u": { warehouse: /x } } }')).toContain('must be letters, digits, - and _');
    expect(problems('replication: { destinations: {} }')).toContain('replication.destinations: name at least one destination');
    const external = loadServerConfig({ ICERELAY_UPSTREAM_URL: 'http://catalog:8181' });
    expect(() => resolveReplication(external, parseConfigFile('replication: { destinations: { eu: { warehouse: /x } } }', {}, 'f')))
      .toThrow('replication.destinations.eu.locations: required when the source is an external upstream');
  });
});

describe('start-up with a configuration file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'icerelay-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('stops with exit code 2 and a message naming the field', async () => {
    const path = join(dir, 'icerelay.yaml');
    await writeFile(path, 'upstream:\n  url: "http://127.0.0.1:1"\n  auth: { type: bearer }\n');
    const failure = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', path], { env: { ...process.env, ICERELAY_DATA_DIR: dir } })
      .then(() => undefined, (error: { code: number; stderr: string }) => error);
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toContain(`${path} is not a valid Icerelay configuration`);
    expect(failure?.stderr).toContain('upstream.auth.token: required (string)');
  }, 30_000);
});
