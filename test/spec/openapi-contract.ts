/**
 * spec/openapi.yaml as a test oracle: finds the documented operation of a request and checks an
 * answer against it (status documented, content type documented, body valid against that
 * status's schema, required headers present), and a request body against the operation's.
 *
 * The document references Apache Iceberg's (iceberg-rest-catalog-open-api.yaml) and the outbox
 * event schema beside it; all three are loaded, and `$ref`s are followed across them as an
 * OpenAPI tool would: Reference Objects (path items, responses, parameters) here, schemas by ajv,
 * which gets each document registered under a URI of its own file name.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

export const SPEC_DIR = resolve(import.meta.dirname, '../../spec');
export const MAIN_DOCUMENT = 'openapi.yaml';
export const SPEC_FILES = [MAIN_DOCUMENT, 'iceberg-rest-catalog-open-api.yaml', 'outbox-event.schema.json'];
/** A base for the documents' ids: never fetched, only so that relative `$ref`s resolve between them. */
const BASE_URI = 'https://spec.icerelay.invalid/';

// ajv-formats is CommonJS with a default export; under NodeNext the callable sits on `.default`.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- OpenAPI documents are walked by key, untyped
type Node = any;

/** A node of one of the documents, and where it is. */
export interface Located {
  file: string;
  /** JSON pointer (unescaped segments) within `file`. */
  path: string[];
  node: Node;
}

export interface Operation {
  method: string;
  /** The path template as written in spec/openapi.yaml. */
  template: string;
  /** The path item as written there: inline (Icerelay's own routes) or a `$ref` to Iceberg's. */
  entry: Node;
  /** The path item (followed, when it is a reference). */
  pathItem: Located;
  operation: Located;
  /** Server URLs it is served under (the path item's own `servers`, else the document's). */
  servers: string[];
}

export interface Exchange {
  method: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'];
const escapeSegment = (segment: string) => segment.replaceAll('~', '~0').replaceAll('/', '~1');
const unescapeSegment = (segment: string) => segment.replaceAll('~1', '/').replaceAll('~0', '~');

export const isJsonMedia = (type: string) => type === 'application/json' || /^application\/[^/]+\+json$/.test(type);
const mediaTypeOf = (header: string | string[] | undefined) => String(header ?? '').split(';', 1)[0]!.trim().toLowerCase();

export function loadDocuments(): Map<string, Node> {
  return new Map(SPEC_FILES.map((file) => [file, parseYaml(readFileSync(join(SPEC_DIR, file), 'utf8'))]));
}

/** Walks a document: every `$ref` string with where it sits. */
export function* references(node: Node, path: string[] = []): Generator<{ ref: string; path: string[] }> {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) yield* references(item, [...path, String(i)]);
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') yield { ref: value, path };
      else yield* references(value, [...path, key]);
    }
  }
}

const formatErrors = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`);

export class OpenApiContract {
  readonly documents = loadDocuments();
  readonly main: Node = this.documents.get(MAIN_DOCUMENT);
  readonly #ajv: Ajv2020;
  readonly #compiled = new Map<string, ValidateFunction>();

  constructor() {
    // Strict: an unknown keyword in a schema (a typo) is an error, not a silent no-op. The
    // OpenAPI keywords that sit beside schemas, and the annotations OpenAPI adds, are declared.
    this.#ajv = new Ajv2020({ strict: true, strictTypes: false, strictTuples: false, strictRequired: false, allErrors: true, allowUnionTypes: true });
    addFormats(this.#ajv);
    this.#ajv.addVocabulary([
      'openapi', 'info', 'servers', 'paths', 'components', 'tags', 'security', 'jsonSchemaDialect', 'webhooks',
      'example', 'discriminator', 'xml', 'externalDocs', 'x-icerelay-errata',
    ]);
    for (const [file, document] of this.documents) this.#ajv.addSchema(document, BASE_URI + file, undefined, false);
  }

  /** The node at `path` in `file`. */
  at(file: string, path: string[]): Located {
    let node = this.documents.get(file);
    if (node === undefined) throw new Error(`no document ${file}`);
    for (const segment of path) {
      node = node?.[segment];
      if (node === undefined) throw new Error(`nothing at /${path.map(escapeSegment).join('/')} in ${file}`);
    }
    return { file, path, node };
  }

  /** What a `$ref` written in `file` names. */
  resolveRef(ref: string, file: string): Located {
    const hash = ref.indexOf('#');
    const target = hash < 0 ? ref : ref.slice(0, hash);
    const fragment = hash < 0 ? '' : ref.slice(hash + 1);
    // A JSON pointer in a URI fragment: percent-decoded, then ~1 and ~0 unescaped.
    const path = fragment === '' ? [] : decodeURIComponent(fragment).split('/').slice(1).map(unescapeSegment);
    return this.at(target === '' ? file : target.replace(/^\.\//, ''), path);
  }

  /** Follows Reference Objects until a node that is not one. */
  deref(located: Located): Located {
    let current = located;
    for (let hops = 0; typeof current.node?.$ref === 'string'; hops++) {
      if (hops > 20) throw new Error(`reference loop at ${current.node.$ref}`);
      current = this.resolveRef(current.node.$ref, current.file);
    }
    return current;
  }

  child(located: Located, ...segments: string[]): Located {
    return this.deref(this.at(located.file, [...located.path, ...segments]));
  }

  /** Every operation of the document, with the path item followed when it is a reference. */
  operations(): Operation[] {
    const out: Operation[] = [];
    const rootServers = (this.main.servers ?? []).map((s: { url: string }) => s.url);
    for (const [template, entry] of Object.entries<Node>(this.main.paths ?? {})) {
      const item = this.deref({ file: MAIN_DOCUMENT, path: ['paths', template], node: entry });
      const servers = (entry.servers ?? item.node.servers)?.map((s: { url: string }) => s.url) ?? rootServers;
      for (const method of METHODS) {
        if (item.node[method]) out.push({ method: method.toUpperCase(), template, entry, pathItem: item, operation: this.child(item, method), servers });
      }
    }
    return out;
  }

  /** An operation's parameters: the path item's and its own (followed when they are references). */
  parameters(op: Operation): Node[] {
    const at = (owner: Located) => (owner.node.parameters ?? []).map((_: unknown, i: number) => this.child(owner, 'parameters', String(i)).node);
    return [...at(op.pathItem), ...at(op.operation)];
  }

  /** Operations written in spec/openapi.yaml itself (Icerelay's own routes), not referenced from Iceberg's. */
  ownOperations(): Operation[] {
    return this.operations().filter((op) => op.operation.file === MAIN_DOCUMENT);
  }

  /**
   * The documented operation for a request, or undefined. `server` is the base the request went
   * to: the root, or a replica (`/replicas/{destination}`), whose operations are those the
   * document serves under its replica server. A `{prefix}` segment is absent, as the built-in
   * catalog uses none.
   */
  findOperation(method: string, path: string, server: 'root' | 'replica'): Operation | undefined {
    const candidates = this.operations().filter((op) => op.method === method && op.servers.some((url) => url.includes('{destination}') === (server === 'replica')));
    const literal = candidates.find((op) => op.template === path);
    if (literal) return literal;
    return candidates.find((op) => {
      const pattern = op.template.replace('/{prefix}/', '/').split(/(\{[^}]+\})/).map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('');
      return new RegExp(`^${pattern}$`).test(path);
    });
  }

  /** Violations of `value` against the schema at `located` (empty when valid). */
  validate(located: Located, value: unknown): string[] {
    const key = `${BASE_URI}${located.file}#/${located.path.map((s) => encodeURIComponent(escapeSegment(s))).join('/')}`;
    let check = this.#compiled.get(key);
    if (!check) {
      check = this.#ajv.compile({ $ref: key });
      this.#compiled.set(key, check);
    }
    return check(value) ? [] : formatErrors(check.errors);
  }

  /** Violations of an answer against the operation's documented responses (empty when it conforms). */
  checkResponse(op: Operation, answer: Exchange): string[] {
    const responses = this.child(op.operation, 'responses');
    const status = String(answer.status);
    const key = [status, `${status[0]}XX`, 'default'].find((k) => responses.node[k] !== undefined);
    if (!key) return [`status ${status} is not documented (documented: ${Object.keys(responses.node).join(', ')})`];
    const response = this.child(responses, key);
    const problems: string[] = [];
    for (const name of Object.keys(response.node.headers ?? {})) {
      const value = answer.headers[name.toLowerCase()];
      const declared = this.child(response, 'headers', name);
      if (value === undefined) {
        if (declared.node.required) problems.push(`header ${name} is missing`);
        continue;
      }
      if (declared.node.schema) problems.push(...this.validate(this.at(declared.file, [...declared.path, 'schema']), String(value)).map((p) => `header ${name}: ${p}`));
    }
    const content = response.node.content as Record<string, Node> | undefined;
    if (!content) {
      if (answer.body !== '') problems.push(`status ${status} documents no body, got ${answer.body.length} bytes`);
      return problems;
    }
    // A HEAD answer never has a body, whatever the GET would send.
    if (answer.method === 'HEAD') return problems;
    const type = mediaTypeOf(answer.headers['content-type']);
    if (!(type in content)) return [...problems, `content type '${type}' is not documented for status ${status} (documented: ${Object.keys(content).join(', ')})`];
    if (!content[type].schema) return problems;
    let body: unknown = answer.body;
    if (isJsonMedia(type)) {
      try {
        body = JSON.parse(answer.body);
      } catch {
        return [...problems, `body is not JSON: ${answer.body.slice(0, 200)}`];
      }
    }
    const schema = this.servedSchema(this.at(response.file, [...response.path, 'content', type, 'schema']));
    return [...problems, ...this.validate(schema, body).map((p) => `body: ${p}`)];
  }

  /**
   * The schema an answer is checked against: the documented one, unless an erratum of the document
   * (`x-icerelay-errata`) says that Icerelay, like Iceberg's clients, answers another there.
   */
  servedSchema(schema: Located): Located {
    if (typeof schema.node?.$ref !== 'string') return schema;
    const target = this.resolveRef(schema.node.$ref, schema.file);
    for (const erratum of this.main['x-icerelay-errata'] ?? []) {
      const documented = this.resolveRef(erratum.responseSchema.documented, MAIN_DOCUMENT);
      if (documented.file === target.file && documented.path.join('/') === target.path.join('/')) {
        return this.resolveRef(erratum.responseSchema.served, MAIN_DOCUMENT);
      }
    }
    return schema;
  }

  /** Violations of a JSON request body against the operation's request schema. */
  checkRequestBody(op: Operation, body: unknown): string[] {
    if (op.operation.node.requestBody === undefined) return ['the operation documents no request body'];
    const requestBody = this.child(op.operation, 'requestBody');
    if (!requestBody.node.content?.['application/json']?.schema) return ['no application/json request schema'];
    return this.validate(this.at(requestBody.file, [...requestBody.path, 'content', 'application/json', 'schema']), body);
  }
}
