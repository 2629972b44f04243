/**
 * The logger as the server uses it (pino), writing to a real stream: JSON lines with level names,
 * errors with type, message and stack, and no secret in any line, at any depth of the fields,
 * nor in the message or an error's text.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLogger, type LogLevel } from '../../src/util/logger.ts';

function capture(level: LogLevel = 'debug') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { logger: createLogger({ level, destination }), lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const SECRETS = ['tok-3a9f', 'refresh-77c1', 'cs-5e2b', 'pw-0d4c', 'AKSECRET-91e2', 'session-6b7a', 'cred-1f00', 'hdr-bearer-42aa', 'sig-c0ffee', 'userpass-19'];

describe('logger', () => {
  it('writes to stderr by default, nothing to stdout', async () => {
    const script = "import { createLogger } from './src/util/logger.ts'; createLogger().info({ n: 1 }, 'to stderr');";
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: resolve(import.meta.dirname, '../..') });
    expect(stdout).toBe('');
    expect(JSON.parse(stderr)).toMatchObject({ level: 'info', n: 1, msg: 'to stderr' });
  });

  it('writes one JSON object per line with the level by name, the message and the fields', () => {
    const { logger, parsed } = capture('info');
    logger.debug?.({ x: 1 }, 'not at info');
    logger.info({ table: 'ns.t', snapshotId: 9007199254740993n }, 'shipped');
    logger.warn({}, '100% done');
    logger.error({}, 'failed');
    const entries = parsed();
    expect(entries.map((e) => [e.level, e.msg])).toEqual([['info', 'shipped'], ['warn', '100% done'], ['error', 'failed']]);
    expect(entries[0]).toMatchObject({ table: 'ns.t', snapshotId: '9007199254740993' });
    expect(typeof entries[0]!.time).toBe('string');
    expect(Number.isNaN(Date.parse(entries[0]!.time as string))).toBe(false);
  });

  it('keeps type, message, stack and cause of an error under err', () => {
    const { logger, parsed } = capture();
    class UpstreamDown extends Error {
      override readonly name = 'UpstreamDown';
    }
    logger.error({ err: new UpstreamDown('no answer', { cause: new Error('ECONNREFUSED') }) }, 'read failed');
    const err = parsed()[0]!.err as { type: string; message: string; stack: string };
    expect(err.type).toBe('UpstreamDown');
    expect(err.message).toContain('no answer');
    expect(err.stack).toContain('UpstreamDown: no answer');
    expect(err.stack).toContain('ECONNREFUSED');
  });

  it('logs no secret, whatever field, depth or text holds it', () => {
    const { logger, lines } = capture();
    logger.info({
      authorization: `Bearer ${SECRETS[0]}`,
      token: SECRETS[0],
      access_token: SECRETS[0],
      refresh_token: SECRETS[1],
      client_secret: SECRETS[2],
      config: { upstream: { auth: { type: 'oauth2', clientId: 'icerelay', clientSecret: SECRETS[2] } }, database: { password: SECRETS[3] } },
      s3: [{ accessKeyId: 'AKIDPUBLIC', secretAccessKey: SECRETS[4], sessionToken: SECRETS[5] }],
      credential: SECRETS[6],
      secret: SECRETS[6],
      headers: { Authorization: `Bearer ${SECRETS[7]}`, 'X-Amz-Security-Token': SECRETS[5], cookie: SECRETS[0] },
      request: { headers: { authorization: `Bearer ${SECRETS[7]}` } },
      url: `https://icerelay:${SECRETS[9]}@catalog.example.com/v1/config`,
      location: new URL(`https://bucket.s3.amazonaws.com/f.parquet?X-Amz-Credential=${SECRETS[6]}&X-Amz-Signature=${SECRETS[8]}`),
    }, `token endpoint said no to Bearer ${SECRETS[7]}`);
    const failure = Object.assign(new Error(`GET postgres://icerelay:${SECRETS[9]}@db/state?access_token=${SECRETS[0]} failed`), { headers: { authorization: `Basic ${SECRETS[3]}` } });
    logger.error({ err: failure, cause: new Error(`Authorization: Bearer ${SECRETS[7]}`) }, 'failed');
    const output = lines.join('\n');
    for (const secret of SECRETS) expect(output, secret).not.toContain(secret);
    // What is not a secret stays readable.
    expect(output).toContain('AKIDPUBLIC');
    expect(output).toContain('catalog.example.com/v1/config');
    expect(output).toContain('"clientId":"icerelay"');
  });
});
