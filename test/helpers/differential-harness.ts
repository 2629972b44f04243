/**
 * Tools of the differential test (test/proxy/differential.test.ts): raw HTTP requests (node:http,
 * so a target goes out byte for byte), the normalization of what legitimately differs between two
 * independent catalog servers, and Apache Iceberg's Java REST fixture as a child process.
 *
 * Normalization is textual, on the raw body bytes, so everything it does not touch (key order,
 * whitespace, escapes, numbers) is still compared byte for byte. What it rewrites, and only that:
 *
 *   1. the server's state directory (warehouse root, SQLite file), wherever it appears -> `<root>`;
 *   2. UUIDs (table-uuid, view-uuid, metadata file names, the fixture's per-table folders) ->
 *      `<uuid:N>`, numbered per server by first appearance over the whole run, so that "the same
 *      UUID again" and "a different UUID" are still told apart;
 *   3. the values of `last-updated-ms` and `timestamp-ms` (wall-clock times of each server) -> `<ms>`,
 *      and of the `created-at` table property the Java fixture adds (an ISO instant) -> `<instant>`;
 *   4. ETag header values -> `<etag:N>`, numbered like UUIDs (the built-in catalog's ETag is a hash
 *      of the metadata file name, which holds a UUID);
 *   5. a body sent with `content-encoding: gzip` is compared decoded (the compressed bytes depend
 *      on the UUIDs inside), and then its content-length is not compared;
 *   6. Java error pages and stacks only (the fixture): the servlet's identity hash
 *      (`RESTCatalogServlet-6166e06f`, differs per JVM) -> `<hash>`; and, defensively, the Jetty
 *      thread-pool frames at the bottom of a stack (`org.eclipse.jetty.io.*`,
 *      `org.eclipse.jetty.util.thread.*`: which pooled thread picked the request up, which can
 *      differ between two JVMs under load; not seen to differ so far) -> removed.
 */
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface Answer {
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

/** Sends one request with the target exactly as written (fetch would normalize it). */
export function sendRaw(base: string, method: string, target: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolveAnswer, reject) => {
    const url = new URL(base);
    const req = httpRequest({
      hostname: url.hostname,
      port: url.port,
      method,
      path: target,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const out: Record<string, string> = {};
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const name = res.rawHeaders[i]!.toLowerCase();
          out[name] = out[name] === undefined ? res.rawHeaders[i + 1]! : `${out[name]}, ${res.rawHeaders[i + 1]!}`;
        }
        resolveAnswer({ status: res.statusCode ?? 0, headers: out, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.setTimeout(120_000, () => req.destroy(new Error(`${method} ${target}: no answer within 120 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** The body as the client reads it: gzip content-encoding undone. */
export function decodedBody(answer: Answer): Buffer {
  return answer.headers['content-encoding'] === 'gzip' && answer.body.length > 0 ? gunzipSync(answer.body) : answer.body;
}

/**
 * Headers that are about the connection or the framing, not the response: never compared.
 * `content-length` is compared only when both sides sent it (neither chunked).
 */
const UNCOMPARED_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** One server's normalizer; keeps its UUID and ETag numbering over the whole run. */
export class Normalizer {
  private readonly uuids = new Map<string, number>();
  private readonly etags = new Map<string, number>();

  /** `roots`: this server's state directories (as they appear in locations), longest first. */
  constructor(private readonly roots: string[]) {}

  body(answer: Answer): string {
    let text = decodedBody(answer).toString('utf8');
    for (const root of [...this.roots].sort((a, b) => b.length - a.length)) text = text.split(root).join('<root>');
    text = text.replace(UUID, (u) => `<uuid:${this.number(this.uuids, u.toLowerCase())}>`);
    text = text.replace(/("(?:last-updated-ms|timestamp-ms)"\s*:\s*)-?\d+/g, '$1<ms>');
    text = text.replace(/("created-at"\s*:\s*")\d{4}-\d\d-\d\dT[0-9:.]+Z"/g, '$1<instant>"');
    // Java only: the servlet holder's name carries an identity hash code (Jetty error pages).
    text = text.replace(/(org\.apache\.iceberg\.rest\.RESTCatalogServlet)-[0-9a-f]+/g, '$1-<hash>');
    // Java only: the bottom of a stack is whichever Jetty pool thread ran the request.
    text = text.replace(/,"\\tat org\.eclipse\.jetty\.(?:io|util\.thread)\.[^"]*"/g, '');
    text = text.replace(/\n\tat org\.eclipse\.jetty\.(?:io|util\.thread)\.[^\n]*/g, '');
    return text;
  }

  headers(headers: Record<string, string>, comparedLength: boolean): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (UNCOMPARED_HEADERS.has(name) && !(name === 'content-length' && comparedLength)) continue;
      out[name] = name === 'etag' ? value.split(',').map((e) => `<etag:${this.number(this.etags, e.trim())}>`).join(', ') : value;
    }
    return out;
  }

  private number(map: Map<string, number>, key: string): number {
    let n = map.get(key);
    if (n === undefined) {
      n = map.size + 1;
      map.set(key, n);
    }
    return n;
  }
}


const repoRoot = resolve(import.meta.dirname, '../..');

function bash(args: string[], env: Record<string, string>, timeoutMs: number): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile('bash', args, { cwd: repoRoot, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, output: `${stdout}${stderr}`.trim() });
      });
  });
}

export interface JavaFixture {
  url: string;
  port: number;
  /** The fixture's state directory (catalog.db, warehouse): the `<root>` to normalize. */
  stateDir: string;
  stop(): Promise<void>;
}

/**
 * Starts Apache Iceberg's REST fixture (conformance/fixture/start.sh) on `port` with its state in
 * `stateDir` (must not exist yet). Throws, with start.sh's own output, when Java, Maven or the
 * server jar are missing: the differential test must fail then, not skip.
 */
export async function startJavaFixture(port: number, stateDir: string): Promise<JavaFixture> {
  // Names the missing tool plainly (start.sh may fail on a broken java without a word).
  const tools = await bash(['-c', `
    java="$([ -n "\${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ] && echo "$JAVA_HOME/bin/java" || command -v java)" || { echo "no java on PATH or in JAVA_HOME"; exit 1; }
    "$java" -version >/dev/null 2>&1 || { echo "$java -version fails"; exit 1; }
    command -v mvn >/dev/null || { echo "no mvn on PATH"; exit 1; }`], {}, 60_000);
  if (tools.code !== 0) throw new Error(`Apache Iceberg's REST fixture needs Java 17 and Maven: ${tools.output}`);
  const started = await bash([resolve(repoRoot, 'conformance/fixture/start.sh'), String(port)], { FIXTURE_STATE_DIR: stateDir, FIXTURE_LOG_LEVEL: 'warn' }, 600_000);
  if (started.code !== 0) {
    throw new Error(`Apache Iceberg's REST fixture did not start on port ${port} (needs Java 17 and Maven; `
      + `conformance/fixture/start.sh exited ${started.code}):\n${started.output}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stateDir,
    stop: async () => {
      const stopped = await bash([resolve(repoRoot, 'conformance/fixture/stop.sh'), String(port)], { FIXTURE_STATE_DIR: stateDir }, 60_000);
      if (stopped.code !== 0) throw new Error(`conformance/fixture/stop.sh ${port} failed:\n${stopped.output}`);
    },
  };
}
