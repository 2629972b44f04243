/**
 * Every field of the configuration file's schema (src/config/config-file.ts) as a path, the way
 * docs/configuration.md names them: `server.port`, `replication.destinations.<name>.warehouse`,
 * `replication.rules[].tables`, `upstream.auth.clientId` (a field of any member of a union).
 */
import type { z } from 'zod';

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  valueType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
}

const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The field paths under `schema`, each with the kind of value it takes at its leaf. */
export function schemaFieldPaths(schema: z.ZodType, prefix = ''): string[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'object':
      return Object.entries(def.shape ?? {}).flatMap(([key, field]) => {
        const path = prefix ? `${prefix}.${key}` : key;
        return [path, ...schemaFieldPaths(field, path)];
      });
    case 'optional':
    case 'default':
    case 'nullable':
    case 'readonly':
    case 'nonoptional':
      return schemaFieldPaths(def.innerType!, prefix);
    case 'pipe':
      return schemaFieldPaths(def.in!, prefix);
    case 'record':
      return schemaFieldPaths(def.valueType!, `${prefix}.<name>`);
    case 'array':
      return schemaFieldPaths(def.element!, `${prefix}[]`);
    case 'union':
      return [...new Set(def.options!.flatMap((option) => schemaFieldPaths(option, prefix)))];
    default:
      return [];
  }
}
