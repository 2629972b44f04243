// The API reference page's script: renders spec/openapi.yaml (and the Apache Iceberg document its
// Iceberg routes reference) as a list of operations. Plain browser JavaScript, served as is (no
// build step); the documents come parsed from docs/documents.json, keyed by file name, so a
// `$ref` such as `iceberg-rest-catalog-open-api.yaml#/paths/...` resolves without a YAML parser.
//
// Every text from the documents goes into the page through textContent or attribute values, never
// as markup: `el` (dom.js, the status page's, served beside this file) is the only way this file
// makes elements. An operation's details are built when it is first opened: the Iceberg schemas
// are large.

import { $, el } from './dom.js';

const MAIN_DOCUMENT = 'openapi.yaml';
const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'];


// --- references -----------------------------------------------------------------------------------

let documents = {};

/** The node a `$ref` names, and the file it is in (its own references are relative to that file). */
function resolve(ref, file) {
  const hash = ref.indexOf('#');
  const target = hash < 0 ? ref : ref.slice(0, hash);
  const fragment = hash < 0 ? '' : ref.slice(hash + 1);
  const targetFile = target === '' ? file : target.replace(/^\.\//, '');
  let node = documents[targetFile];
  if (node === undefined) throw new Error(`${ref}: no document ${targetFile}`);
  // A JSON pointer inside a URI fragment: percent-decoded first, then ~1 is / and ~0 is ~.
  const parts = fragment === '' ? [] : decodeURIComponent(fragment).split('/').slice(1);
  for (const part of parts) {
    node = node?.[part.replaceAll('~1', '/').replaceAll('~0', '~')];
    if (node === undefined) throw new Error(`${ref}: nothing at ${fragment} in ${targetFile}`);
  }
  return { node, file: targetFile, name: parts.at(-1) ?? targetFile };
}

/** Follows Reference Objects (path items, parameters, responses...) to what they name. */
function deref(node, file) {
  let current = { node, file };
  for (let hops = 0; current.node && typeof current.node.$ref === 'string'; hops++) {
    if (hops > 20) throw new Error(`reference loop at ${current.node.$ref}`);
    current = resolve(current.node.$ref, current.file);
  }
  return current;
}

// --- text -----------------------------------------------------------------------------------------

/** Description text (CommonMark in the documents): paragraphs, with `code` spans set apart. */
function text(value, className = 'text') {
  if (!value) return null;
  const paragraphs = String(value).trim().split(/\n\s*\n/);
  return el('div', { className }, paragraphs.map((paragraph) => {
    const pieces = paragraph.replaceAll('**', '').split('`');
    return el('p', {}, pieces.map((piece, i) => (i % 2 === 1 ? el('code', { text: piece }) : piece)));
  }));
}

const pretty = (value) => JSON.stringify(value, null, 2);

// --- schemas --------------------------------------------------------------------------------------

function typeLabel(schema) {
  const parts = [];
  if (schema.const !== undefined) parts.push(`const ${JSON.stringify(schema.const)}`);
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (schema.nullable === true) types.push('null');
  if (types.length) parts.push(types.join(' | '));
  if (schema.format) parts.push(`(${schema.format})`);
  if (Array.isArray(schema.enum)) parts.push(`one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`);
  const bounds = [
    schema.minimum !== undefined && `≥ ${schema.minimum}`, schema.maximum !== undefined && `≤ ${schema.maximum}`,
    schema.exclusiveMinimum !== undefined && `> ${schema.exclusiveMinimum}`, schema.exclusiveMaximum !== undefined && `< ${schema.exclusiveMaximum}`,
    schema.minLength !== undefined && `length ≥ ${schema.minLength}`, schema.maxLength !== undefined && `length ≤ ${schema.maxLength}`,
    schema.minItems !== undefined && `items ≥ ${schema.minItems}`, schema.maxItems !== undefined && `items ≤ ${schema.maxItems}`,
    schema.pattern !== undefined && `matching ${schema.pattern}`,
    schema.default !== undefined && `default ${JSON.stringify(schema.default)}`,
  ].filter(Boolean);
  parts.push(...bounds);
  return parts.join(' ');
}

/**
 * A schema as a tree: its type line, description, properties (required ones marked), items,
 * other properties and compositions. A named schema (`$ref`) is a collapsible entry, built when
 * opened; one already open further up is shown as a back reference instead of looping.
 */
function schemaView(schema, file, open = [], expanded = false) {
  if (schema === true || schema === undefined) return el('span', { className: 'type', text: 'any value' });
  if (schema === false) return el('span', { className: 'type', text: 'nothing' });
  if (typeof schema.$ref === 'string') {
    let target;
    try {
      target = resolve(schema.$ref, file);
    } catch (error) {
      return el('span', { className: 'unresolved', text: error.message });
    }
    const key = `${target.file}#${schema.$ref.split('#')[1] ?? ''}`;
    if (open.includes(key)) return el('span', { className: 'ref recursive', text: `${target.name} (as above)` });
    const details = el('details', { className: 'ref', open: expanded }, el('summary', {}, el('span', { className: 'ref-name', text: target.name })));
    const fill = () => {
      if (details.dataset.filled) return;
      details.dataset.filled = 'yes';
      details.append(schemaView(target.node, target.file, [...open, key]));
    };
    if (expanded) fill();
    else details.addEventListener('toggle', fill);
    return details;
  }
  const box = el('div', { className: 'schema' });
  const label = typeLabel(schema);
  if (label) box.append(el('span', { className: 'type', text: label }));
  if (schema.title) box.append(el('span', { className: 'title', text: ` ${schema.title}` }));
  // append() would write a missing description as the text "null".
  if (schema.description) box.append(text(schema.description, 'text schema-text'));
  const required = new Set(schema.required ?? []);
  if (schema.properties) {
    box.append(el('ul', { className: 'props' }, Object.entries(schema.properties).map(([name, child]) => el('li', {},
      el('code', { className: 'prop', text: name }),
      required.has(name) ? el('span', { className: 'required', text: 'required' }) : null,
      schemaView(child, file, open)))));
  }
  for (const name of required) {
    if (!schema.properties?.[name]) box.append(el('div', { className: 'note' }, 'required: ', el('code', { text: name })));
  }
  if (schema.additionalProperties === false) box.append(el('div', { className: 'note', text: 'no other properties' }));
  else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    box.append(el('div', { className: 'sub' }, el('span', { className: 'sub-label', text: 'other properties: ' }), schemaView(schema.additionalProperties, file, open)));
  }
  if (schema.items) box.append(el('div', { className: 'sub' }, el('span', { className: 'sub-label', text: 'items: ' }), schemaView(schema.items, file, open)));
  for (const [keyword, label] of [['allOf', 'all of'], ['oneOf', 'one of'], ['anyOf', 'any of']]) {
    if (!Array.isArray(schema[keyword])) continue;
    box.append(el('div', { className: 'sub' }, el('span', { className: 'sub-label', text: `${label}:` }),
      el('ol', { className: 'variants' }, schema[keyword].map((variant) => el('li', {}, schemaView(variant, file, open))))));
  }
  if (schema.discriminator?.propertyName) box.append(el('div', { className: 'note' }, 'told apart by ', el('code', { text: schema.discriminator.propertyName })));
  if (schema.example !== undefined) box.append(el('pre', { className: 'example', text: pretty(schema.example) }));
  return box;
}

// --- operations -----------------------------------------------------------------------------------

function collectOperations(doc) {
  const operations = [];
  for (const [path, entry] of Object.entries(doc.paths ?? {})) {
    const { node: item, file } = deref(entry, MAIN_DOCUMENT);
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      operations.push({
        method, path, operation, file,
        parameters: [...(item.parameters ?? []), ...(operation.parameters ?? [])],
        servers: entry.servers ?? item.servers ?? operation.servers ?? doc.servers ?? [],
        tag: operation.tags?.[0] ?? 'Other',
        id: operation.operationId ?? `${method}-${path}`,
      });
    }
  }
  return operations;
}

/** Where an erratum of the document (`x-icerelay-errata`) says Icerelay answers another schema than the one documented. */
function servedSchema(schema, file) {
  if (typeof schema?.$ref !== 'string') return { schema, file, erratum: null };
  const target = resolve(schema.$ref, file);
  for (const erratum of documents[MAIN_DOCUMENT]['x-icerelay-errata'] ?? []) {
    const documented = resolve(erratum.responseSchema.documented, MAIN_DOCUMENT);
    if (documented.node === target.node) return { schema: { $ref: erratum.responseSchema.served }, file: MAIN_DOCUMENT, erratum };
  }
  return { schema, file, erratum: null };
}

/** `answers`: response bodies (errata apply); `expanded`: the top schema opened (errors' stay closed: they are all alike). */
function mediaView(content, file, answers = false, expanded = true) {
  return Object.entries(content ?? {}).map(([type, media]) => {
    const served = answers ? servedSchema(media.schema, file) : { schema: media.schema, file, erratum: null };
    const examples = Object.entries(media.examples ?? {}).map(([name, example]) => {
      const resolved = deref(example, file).node;
      return el('div', { className: 'example-block' }, el('div', { className: 'sub-label', text: `example ${name}` }),
        el('pre', { className: 'example', text: pretty(resolved.value ?? resolved.externalValue) }));
    });
    return el('div', { className: 'media' },
      el('div', { className: 'media-type' }, el('code', { text: type })),
      served.erratum ? el('div', { className: 'erratum', text: `Icerelay answers ${served.schema.$ref.split('/').pop()} here, not the ${media.schema.$ref.split('/').pop()} Iceberg's document names (see the errata under "About this API").` }) : null,
      served.schema ? schemaView(served.schema, served.file, [], expanded) : null,
      media.example !== undefined ? el('div', { className: 'example-block' }, el('div', { className: 'sub-label', text: 'example' }), el('pre', { className: 'example', text: pretty(media.example) })) : null,
      examples);
  });
}

function parametersView(parameters, file) {
  if (parameters.length === 0) return null;
  const rows = parameters.map((p) => deref(p, file)).map(({ node: p, file: at }) => el('tr', {},
    el('td', {}, el('code', { text: p.name })),
    el('td', { text: p.in }),
    el('td', { text: p.required ? 'yes' : 'no' }),
    el('td', {}, p.schema ? schemaView(p.schema, at) : null, text(p.description), p.example !== undefined ? el('div', { className: 'note' }, 'example: ', el('code', { text: String(p.example) })) : null)));
  return el('section', { className: 'part' }, el('h4', { text: 'Parameters' }),
    el('table', { className: 'params' }, el('thead', {}, el('tr', {}, ['Name', 'In', 'Required', 'Schema'].map((h) => el('th', { text: h })))), el('tbody', {}, rows)));
}

function requestView(requestBody, file) {
  if (!requestBody) return null;
  const { node: body, file: at } = deref(requestBody, file);
  return el('section', { className: 'part' }, el('h4', { text: `Request body${body.required ? ' (required)' : ''}` }), text(body.description), mediaView(body.content, at));
}

function responsesView(responses, file) {
  return el('section', { className: 'part' }, el('h4', { text: 'Responses' }), Object.entries(responses ?? {}).map(([status, entry]) => {
    const { node: response, file: at } = deref(entry, file);
    const headers = Object.entries(response.headers ?? {}).map(([name, header]) => {
      const { node: h, file: hf } = deref(header, at);
      return el('div', { className: 'note' }, 'header ', el('code', { text: name }), h.required ? ' (always)' : '', ': ', h.schema ? schemaView(h.schema, hf) : null);
    });
    return el('div', { className: `response status-${String(status)[0]}` },
      el('div', { className: 'response-head' }, el('span', { className: 'status', text: status }), text(response.description, 'text inline')),
      headers, mediaView(response.content, at, true, String(status).startsWith('2')));
  }));
}

function operationView(op) {
  const details = el('details', { className: 'op', id: op.id, 'data-method': op.method.toUpperCase(), 'data-path': op.path },
    el('summary', {},
      el('span', { className: `method m-${op.method}`, text: op.method.toUpperCase() }),
      el('code', { className: 'path', text: op.path }),
      el('span', { className: 'summary', text: op.operation.summary ?? '' })));
  const fill = () => {
    if (details.dataset.filled) return;
    details.dataset.filled = 'yes';
    const replicaServer = op.servers.some((s) => s.url.includes('{destination}'));
    details.append(el('div', { className: 'op-body' },
      el('div', { className: 'meta' }, el('code', { text: op.operation.operationId ?? '' }),
        replicaServer ? el('span', { className: 'served', text: 'also served read-only by each replica at /replicas/{destination}' }) : null,
        op.file !== MAIN_DOCUMENT ? el('span', { className: 'origin', text: `from ${op.file}` }) : null),
      text(op.operation.description),
      parametersView(op.parameters, op.file),
      requestView(op.operation.requestBody, op.file),
      responsesView(op.operation.responses, op.file)));
  };
  details.addEventListener('toggle', fill);
  return details;
}

// --- the page -------------------------------------------------------------------------------------

function groupsOf(doc, operations) {
  const order = (doc.tags ?? []).map((t) => t.name);
  for (const op of operations) if (!order.includes(op.tag)) order.push(op.tag);
  return order.map((tag) => ({ tag, operations: operations.filter((op) => op.tag === tag) })).filter((g) => g.operations.length > 0);
}

function renderIntro(doc) {
  const intro = $('intro');
  intro.replaceChildren(
    el('h2', { id: 'doc-title' }, doc.info?.title ?? 'API', el('span', { className: 'version', text: ` ${doc.info?.version ?? ''}` })),
    text(doc.info?.summary, 'text lead'),
    el('details', { className: 'about' }, el('summary', { text: 'About this API' }), text(doc.info?.description),
      (doc['x-icerelay-errata'] ?? []).length > 0 ? el('h4', { text: 'Errata of Apache Iceberg\'s document' }) : null,
      (doc['x-icerelay-errata'] ?? []).map((erratum) => text(erratum.description))),
    el('div', { className: 'servers' }, el('h4', { text: 'Servers' }), (doc.servers ?? []).map((s) => el('div', { className: 'server' }, el('code', { text: s.url }), text(s.description, 'text inline')))),
  );
}

function render(doc) {
  renderIntro(doc);
  const operations = collectOperations(doc);
  const groups = groupsOf(doc, operations);
  const tagDescriptions = new Map((doc.tags ?? []).map((t) => [t.name, t.description]));
  $('operations').replaceChildren(...groups.map((g) => el('section', { className: 'group', 'data-tag': g.tag },
    el('h3', { text: g.tag }), text(tagDescriptions.get(g.tag), 'text group-text'), g.operations.map(operationView))));
  $('toc-groups').replaceChildren(...groups.map((g) => el('div', { className: 'toc-group', 'data-tag': g.tag },
    el('div', { className: 'toc-tag', text: g.tag }),
    g.operations.map((op) => el('a', { href: `#${op.id}`, className: 'toc-op', 'data-id': op.id },
      el('span', { className: `method m-${op.method}`, text: op.method.toUpperCase() }), el('span', { className: 'toc-path', text: op.path }))))));
  const search = (op) => `${op.method} ${op.path} ${op.operation.summary ?? ''} ${op.id}`.toLowerCase();
  $('filter').addEventListener('input', () => {
    const words = $('filter').value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const op of operations) {
      const shown = words.every((w) => search(op).includes(w));
      $(op.id).hidden = !shown;
      document.querySelector(`.toc-op[data-id="${CSS.escape(op.id)}"]`).hidden = !shown;
    }
    for (const group of document.querySelectorAll('.group, .toc-group')) {
      group.hidden = ![...group.querySelectorAll('.op, .toc-op')].some((n) => !n.hidden);
    }
  });
  const openFromHash = () => {
    const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target instanceof HTMLDetailsElement) {
      target.open = true;
      target.scrollIntoView({ block: 'start' });
    }
  };
  window.addEventListener('hashchange', openFromHash);
  openFromHash();
  document.body.dataset.ready = 'yes';
}

async function start() {
  try {
    const answer = await fetch('docs/documents.json');
    if (!answer.ok) throw new Error(`docs/documents.json answered ${answer.status}`);
    documents = await answer.json();
    render(documents[MAIN_DOCUMENT]);
  } catch (error) {
    const banner = $('banner');
    banner.textContent = `The API documents could not be shown: ${error.message}`;
    banner.hidden = false;
  }
}

void start();
