/**
 * Validates catalog answers against the schemas of Apache Iceberg's REST catalog OpenAPI document
 * (spec/iceberg-rest-catalog-open-api.yaml, kept unchanged). OpenAPI 3.1 schemas are JSON Schema
 * 2020-12, so ajv's 2020 dialect reads them as they are; OpenAPI's own annotations (`example`,
 * `discriminator`) are left to non-strict mode, which ignores them.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { parse } from 'yaml';

const SPEC_URL = new URL('../../spec/iceberg-rest-catalog-open-api.yaml', import.meta.url);
const SPEC_ID = 'iceberg-rest-catalog';

let ajv: Ajv2020 | undefined;
const compiled = new Map<string, ValidateFunction>();

function loadSpec(): Ajv2020 {
  if (ajv) return ajv;
  const document = parse(readFileSync(SPEC_URL, 'utf8')) as { components?: { schemas?: Record<string, unknown> } };
  if (!document.components?.schemas) throw new Error(`${SPEC_URL.pathname} has no components.schemas`);
  // Formats (uri, date-time, ...) are not checked: the spec uses them as hints, servers vary.
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: SPEC_ID, components: document.components });
  return ajv;
}

/**
 * The violations of `body` against the spec's `components.schemas.<schemaName>`, each as
 * "<JSON pointer> <problem>" (empty when the body conforms).
 */
export function schemaViolations(schemaName: string, body: unknown): string[] {
  let validate = compiled.get(schemaName);
  if (!validate) {
    validate = loadSpec().getSchema(`${SPEC_ID}#/components/schemas/${schemaName}`);
    if (!validate) throw new Error(`the Iceberg REST spec has no schema named ${schemaName}`);
    compiled.set(schemaName, validate);
  }
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`);
}
