/**
 * A checker for the small subset of JSON Schema 2020-12 that spec/outbox-event.schema.json uses.
 * Any other keyword makes it throw, so the schema cannot grow past what is really checked. (A full
 * validator, ajv 8 with `ajv/dist/2020`, is not a dependency yet.)
 */
type Schema = Record<string, unknown>;

const known = new Set([
  '$schema', '$id', '$defs', '$ref', 'title', 'description', 'type', 'const', 'enum', 'required',
  'properties', 'additionalProperties', 'items', 'pattern', 'minimum', 'minItems', 'minLength',
]);

/** Returns the violations of `value` against `schema` (empty when valid), as "path: problem". */
export function validate(value: unknown, schema: Schema, root: Schema = schema, path = '$'): string[] {
  for (const keyword of Object.keys(schema)) {
    if (!known.has(keyword)) throw new Error(`json-schema-subset: unsupported keyword ${keyword} at ${path}`);
  }
  if (typeof schema.$ref === 'string') {
    const match = /^#\/\$defs\/(.+)$/.exec(schema.$ref);
    const target = match ? (root.$defs as Record<string, Schema> | undefined)?.[match[1]!] : undefined;
    if (!target) throw new Error(`json-schema-subset: unresolvable $ref ${schema.$ref}`);
    return validate(value, target, root, path);
  }
  const errors: string[] = [];
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => hasType(value, t))) return [`${path}: expected ${types.join(' or ')}, got ${JSON.stringify(value)}`];
  }
  if ('const' in schema && value !== schema.const) errors.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} is not one of the enum`);
  if (typeof value === 'string') {
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) errors.push(`${path}: does not match ${schema.pattern}`);
    if (typeof schema.minLength === 'number' && [...value].length < schema.minLength) errors.push(`${path}: shorter than ${schema.minLength}`);
  }
  if (typeof value === 'number' && typeof schema.minimum === 'number' && value < schema.minimum) errors.push(`${path}: below ${schema.minimum}`);
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) errors.push(`${path}: fewer than ${schema.minItems} items`);
    if (schema.items) value.forEach((item, i) => errors.push(...validate(item, schema.items as Schema, root, `${path}[${i}]`)));
  }
  if (isObject(value)) {
    for (const key of (schema.required as string[] | undefined) ?? []) {
      if (!(key in value)) errors.push(`${path}: missing ${key}`);
    }
    const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
    for (const [key, item] of Object.entries(value)) {
      if (properties[key]) errors.push(...validate(item, properties[key], root, `${path}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: unexpected property ${key}`);
    }
  }
  return errors;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'null': return value === null;
    case 'boolean': return typeof value === 'boolean';
    case 'string': return typeof value === 'string';
    case 'integer': return typeof value === 'number' && Number.isInteger(value);
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'array': return Array.isArray(value);
    case 'object': return isObject(value);
    default: throw new Error(`json-schema-subset: unknown type ${type}`);
  }
}
