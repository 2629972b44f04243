/**
 * Schema operations the catalog needs: validation of client-sent schemas, fresh id assignment on
 * create (Java's TypeUtil.assignFreshIds order), name lookup, and structural comparison.
 */
import { invalidArgument } from '../errors/iceberg-error.ts';
import type { IcebergType, ListType, MapType, Schema, StructField, StructType } from './types.ts';

const PRIMITIVES = new Set([
  'boolean', 'int', 'long', 'float', 'double', 'date', 'time', 'timestamp', 'timestamptz',
  'string', 'uuid', 'binary', 'timestamp_ns', 'timestamptz_ns', 'unknown', 'variant',
]);
/** Types that only format v3 tables may use (Iceberg spec, "Primitive Types" and "Semi-structured"). */
const V3_TYPES = new Set(['timestamp_ns', 'timestamptz_ns', 'unknown', 'variant']);
const PARAMETERIZED = [/^decimal\(\s*\d+\s*,\s*\d+\s*\)$/, /^fixed\[\s*\d+\s*\]$/, /^(geometry|geography)(\(.*\))?$/];

function isStruct(t: IcebergType): t is StructType {
  return typeof t === 'object' && t.type === 'struct';
}
function isList(t: IcebergType): t is ListType {
  return typeof t === 'object' && t.type === 'list';
}
function isMap(t: IcebergType): t is MapType {
  return typeof t === 'object' && t.type === 'map';
}

function primitiveMinVersion(type: string): number {
  if (V3_TYPES.has(type) || type.startsWith('geometry') || type.startsWith('geography')) return 3;
  return 1;
}

/**
 * Checks that a schema sent by a client is well formed: known types, integer ids, unique ids.
 * Throws a 400 naming the offending field.
 */
export function validateSchema(schema: unknown, formatVersion: number): asserts schema is Schema {
  if (typeof schema !== 'object' || schema === null || (schema as StructType).type !== 'struct') {
    throw invalidArgument('Invalid schema: must be a struct type with fields');
  }
  const seen = new Set<number>();
  const checkId = (id: unknown, where: string) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw invalidArgument(`Invalid schema: ${where} has no valid id`);
    if (seen.has(id)) throw invalidArgument(`Invalid schema: duplicate field id ${id} (${where})`);
    seen.add(id);
  };
  const visit = (type: unknown, path: string): void => {
    if (typeof type === 'string') {
      if (!PRIMITIVES.has(type) && !PARAMETERIZED.some((re) => re.test(type))) {
        throw invalidArgument(`Invalid schema: unknown type '${type}' for ${path}`);
      }
      const min = primitiveMinVersion(type);
      if (formatVersion < min) {
        throw invalidArgument(`Invalid type for ${path}: ${type} is not supported until v${min}`);
      }
      return;
    }
    if (typeof type !== 'object' || type === null) throw invalidArgument(`Invalid schema: missing type for ${path}`);
    const t = type as IcebergType & { type: unknown };
    if (isStruct(t)) {
      if (!Array.isArray(t.fields)) throw invalidArgument(`Invalid schema: struct ${path || '<root>'} has no fields list`);
      for (const field of t.fields as unknown[]) {
        const f = field as Partial<StructField>;
        if (typeof f !== 'object' || f === null || typeof f.name !== 'string' || f.name === '') {
          throw invalidArgument(`Invalid schema: a field of ${path || '<root>'} has no name`);
        }
        const fieldPath = path ? `${path}.${f.name}` : f.name;
        checkId(f.id, fieldPath);
        if (typeof f.required !== 'boolean') throw invalidArgument(`Invalid schema: field ${fieldPath} has no 'required' flag`);
        visit(f.type, fieldPath);
      }
    } else if (isList(t)) {
      checkId(t['element-id'], `${path}.element`);
      visit(t.element, `${path}.element`);
    } else if (isMap(t)) {
      checkId(t['key-id'], `${path}.key`);
      checkId(t['value-id'], `${path}.value`);
      visit(t.key, `${path}.key`);
      visit(t.value, `${path}.value`);
    } else {
      throw invalidArgument(`Invalid schema: unknown type '${String(t.type)}' for ${path}`);
    }
  };
  visit({ type: 'struct', fields: (schema as StructType).fields }, '');
  const identifiers = (schema as Schema)['identifier-field-ids'];
  if (identifiers !== undefined && identifiers !== null) {
    if (!Array.isArray(identifiers) || identifiers.some((id) => !seen.has(id))) {
      throw invalidArgument('Invalid schema: identifier-field-ids must reference fields of the schema');
    }
  }
}

/** Calls `visit` for every field id of a type: struct fields, list elements, map keys and values. */
function forEachId(type: IcebergType, visit: (id: number) => void): void {
  if (isStruct(type)) {
    for (const f of type.fields) {
      visit(f.id);
      forEachId(f.type, visit);
    }
  } else if (isList(type)) {
    visit(type['element-id']);
    forEachId(type.element, visit);
  } else if (isMap(type)) {
    visit(type['key-id']);
    visit(type['value-id']);
    forEachId(type.key, visit);
    forEachId(type.value, visit);
  }
}

export function highestFieldId(schema: StructType): number {
  let max = 0;
  forEachId(schema, (id) => {
    if (id > max) max = id;
  });
  return max;
}

/**
 * Full dotted names of every field by id, as Java's Schema.findColumnName gives them
 * (`a.b`, list elements `a.element`, map parts `a.key` / `a.value`).
 */
export function indexNamesById(schema: StructType): Map<number, string> {
  const names = new Map<number, string>();
  const visit = (type: IcebergType, prefix: string) => {
    const join = (name: string) => (prefix ? `${prefix}.${name}` : name);
    if (isStruct(type)) {
      for (const f of type.fields) {
        names.set(f.id, join(f.name));
        visit(f.type, join(f.name));
      }
    } else if (isList(type)) {
      names.set(type['element-id'], join('element'));
      visit(type.element, join('element'));
    } else if (isMap(type)) {
      names.set(type['key-id'], join('key'));
      names.set(type['value-id'], join('value'));
      visit(type.key, join('key'));
      visit(type.value, join('value'));
    }
  };
  visit(schema, '');
  return names;
}

export function fieldIds(schema: StructType): Set<number> {
  const ids = new Set<number>();
  forEachId(schema, (id) => ids.add(id));
  return ids;
}

/**
 * Reassigns every field id in the order Java uses (all fields of a struct first, then their
 * children), so that ids match what a Java catalog would assign for the same create request.
 */
export function assignFreshIds(schema: Schema, schemaId: number, nextId: () => number): Schema {
  const remap = new Map<number, number>();
  const freshType = (type: IcebergType): IcebergType => {
    if (isStruct(type)) {
      const ids = type.fields.map((f) => {
        const id = nextId();
        remap.set(f.id, id);
        return id;
      });
      return { ...type, fields: type.fields.map((f, i) => ({ ...f, id: ids[i]!, type: freshType(f.type) })) };
    }
    if (isList(type)) {
      const elementId = nextId();
      remap.set(type['element-id'], elementId);
      return { ...type, 'element-id': elementId, element: freshType(type.element) };
    }
    if (isMap(type)) {
      const keyId = nextId();
      const valueId = nextId();
      remap.set(type['key-id'], keyId);
      remap.set(type['value-id'], valueId);
      return { ...type, 'key-id': keyId, 'value-id': valueId, key: freshType(type.key), value: freshType(type.value) };
    }
    return type;
  };
  const struct = freshType({ type: 'struct', fields: schema.fields }) as StructType;
  const fresh: Schema = { type: 'struct', 'schema-id': schemaId, fields: struct.fields };
  const identifiers = schema['identifier-field-ids'];
  if (identifiers && identifiers.length > 0) fresh['identifier-field-ids'] = identifiers.map((id) => remap.get(id) ?? id);
  return fresh;
}

/** Finds a field id by its full dotted name (as produced by indexNamesById). */
export function findFieldIdByName(schema: StructType, name: string): number | undefined {
  for (const [id, n] of indexNamesById(schema)) if (n === name) return id;
  return undefined;
}

/** Java's Schema.sameSchema: same struct (ids, names, types, requiredness, docs) and identifier fields. */
export function sameSchema(a: Schema, b: Schema): boolean {
  const strip = (s: Schema) => ({ fields: s.fields, ids: [...(s['identifier-field-ids'] ?? [])].sort((x, y) => x - y) });
  return canonical(strip(a)) === canonical(strip(b));
}

/** A canonical string of a JSON-like value with sorted object keys, for structural equality. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'bigint') return value.toString();
  if (value && typeof value === 'object' && value.constructor === Object) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  if (value && typeof value === 'object') return JSON.stringify(String(value));
  return JSON.stringify(value) ?? 'undefined';
}
