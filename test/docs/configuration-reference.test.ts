/**
 * docs/configuration.md documents every field of the configuration file's schema, and nothing
 * that is not one: a field added to src/config/config-file.ts without its line in the reference,
 * or a line left behind after a field went away, fails here. Each field has a table row whose
 * first cell is its full path in backticks, with a type and a default column.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configFileSchema, parseDuration } from '../../src/config/config-file.ts';
import { loadServerConfig } from '../../src/config/server-config.ts';
import { resolveReplication } from '../../src/replication/destinations.ts';
import { schemaFieldPaths } from './config-schema-fields.ts';

const doc = readFileSync(resolve(import.meta.dirname, '../../docs/configuration.md'), 'utf8');

/** `path` -> the row's cells, for each table row whose first cell is a backticked field path. */
function documentedRows(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of doc.split('\n')) {
    const match = /^\| `([a-zA-Z][\w.<>[\]]*)` \|(.*)\|$/.exec(line);
    if (!match || match[1]!.startsWith('ICERELAY_') || match[1]!.startsWith('AWS_')) continue;
    rows.set(match[1]!, match[2]!.split('|').map((cell) => cell.trim()));
  }
  return rows;
}

describe('docs/configuration.md', () => {
  const fields = schemaFieldPaths(configFileSchema);
  const rows = documentedRows();

  it('finds the fields of a schema, nested, in maps, lists and unions', () => {
    const sample = z.strictObject({
      a: z.strictObject({ b: z.number().optional() }).optional(),
      m: z.record(z.string(), z.strictObject({ c: z.string().transform((s) => s.length) })),
      l: z.array(z.strictObject({ d: z.boolean() })).default([]),
      u: z.discriminatedUnion('type', [z.strictObject({ type: z.literal('x'), e: z.string() }), z.strictObject({ type: z.literal('y'), f: z.string() })]),
    });
    expect(schemaFieldPaths(sample)).toEqual(['a', 'a.b', 'm', 'm.<name>.c', 'l', 'l[].d', 'u', 'u.type', 'u.e', 'u.f']);
    expect(fields).toEqual(expect.arrayContaining(['server.port', 'replication.destinations.<name>.retention.maxAge', 'replication.rules[].to', 'upstream.auth.clientSecret', 'replication.retry.maxAttempts', 'log.level']));
  });

  it('has a row for every field of the schema, with its type and default', () => {
    const missing = fields.filter((f) => !rows.has(f));
    expect(missing, 'fields without a row in docs/configuration.md').toEqual([]);
    for (const field of fields) {
      const [type] = rows.get(field)!;
      expect(type, `${field}: its type`).not.toBe('');
    }
  });

  it('documents no field the schema does not have', () => {
    expect([...rows.keys()].filter((path) => !fields.includes(path)), 'rows for fields the schema does not have').toEqual([]);
  });

  it('states the defaults the code applies', () => {
    /** The first backticked value of a row's default cell. */
    const documented = (field: string) => /`([^`]+)`/.exec(rows.get(field)![1]!)?.[1];
    const asDuration = (field: string) => parseDuration(documented(field) ?? '');
    const server = loadServerConfig({});
    const replication = resolveReplication(server, {});
    expect(Number(documented('server.port'))).toBe(server.port);
    expect(documented('server.host')).toBe(server.host);
    expect(Number(documented('server.maxBodyBytes'))).toBe(server.maxBodyBytes);
    expect(documented('log.level')).toBe(server.logLevel);
    expect(Number(documented('upstream.timeoutMs'))).toBe(server.upstreamTimeoutMs);
    expect(documented('catalog.vendCredentials')).toBe(String(server.vendCredentials));
    expect(Number(documented('replication.concurrency'))).toBe(replication.concurrency);
    expect(Number(documented('replication.pollMs'))).toBe(replication.pollMs);
    expect(asDuration('replication.claimTimeout')).toBe(replication.claimTimeoutMs);
    expect(asDuration('replication.reconcileInterval')).toBe(replication.reconcileIntervalMs);
    expect(Number(documented('replication.retry.maxAttempts'))).toBe(replication.retry.maxAttempts);
    expect(asDuration('replication.retry.baseDelay')).toBe(replication.retry.baseDelayMs);
    expect(asDuration('replication.retry.maxDelay')).toBe(replication.retry.maxDelayMs);
  });
});
