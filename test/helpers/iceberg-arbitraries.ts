/**
 * fast-check generators for Iceberg REST request bodies, following the shapes of the spec's
 * components.schemas (CreateTableRequest, CommitTableRequest with every TableUpdate action and
 * TableRequirement type, CreateViewRequest, CommitViewRequest, RenameTableRequest,
 * CreateNamespaceRequest, UpdateNamespacePropertiesRequest, RegisterTableRequest,
 * RegisterViewRequest, CommitTransactionRequest, ReportMetricsRequest), plus `mutated()` which
 * removes fields or swaps their values for values of the wrong type.
 *
 * Values are biased towards what a seeded catalog holds (small ids, `-1` = "last added", the names
 * in `names`) so that generated requests get past validation into the catalog's deeper code.
 */
import fc from 'fast-check';

type Json = unknown;

export interface ArbitraryOptions {
  /** Names that exist in the seeded catalog (namespaces, tables, views). */
  names: string[];
  /** Namespaces that exist in the seeded catalog. */
  namespaces: string[][];
  /** Locations that may be used as table/view/metadata locations. */
  locations: string[];
}

/** Drops keys whose value is undefined, so optional fields are really absent. */
const compact = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

export function icebergArbitraries(options: ArbitraryOptions) {
  const int = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(-1, 0, 1, 2, 3, 999, 1000, 1001) },
    { weight: 1, arbitrary: fc.integer() },
  );
  const long = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(1, 2, 3, 0, -1) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 40 }) },
    { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) },
  );
  const shortString = fc.string({ maxLength: 12 });
  const name = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...options.names, 'x', 'new_name', 'a b', 'a+b', 'é') },
    { weight: 2, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/) },
    { weight: 1, arbitrary: fc.string({ maxLength: 10, unit: 'grapheme' }) },
  );
  const namespace = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...options.namespaces) },
    { weight: 1, arbitrary: fc.array(name, { maxLength: 3 }) },
  );
  const location = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...options.locations) },
    { weight: 1, arbitrary: shortString },
  );
  const propertyKey = fc.oneof(
    fc.constantFrom(
      'owner', 'comment', 'location', 'format-version', 'write.metadata.compression-codec',
      'write.metadata.previous-versions-max', 'version.history.num-entries', 'replace.drop-dialect.allowed',
      'write.metadata.path', 'uuid', 'current-snapshot-id',
    ),
    shortString,
  );
  const propertyValue = fc.oneof(fc.constantFrom('1', '2', '3', '0', '-1', 'gzip', 'none', 'true', 'false', ''), shortString, location);
  const properties = fc.dictionary(propertyKey, propertyValue, { maxKeys: 4 });

  // --- schemas (Schema, StructType, ListType, MapType, PrimitiveType) -----------------------
  const primitive = fc.constantFrom(
    'boolean', 'int', 'long', 'float', 'double', 'date', 'time', 'timestamp', 'timestamptz', 'string', 'uuid',
    'binary', 'decimal(10,2)', 'fixed[16]', 'timestamp_ns', 'timestamptz_ns', 'unknown', 'variant', 'geometry',
    'geography(OGC:CRS84)', 'no-such-type',
  );
  const { type } = fc.letrec<{ type: Json; struct: Json; field: Json; list: Json; map: Json }>((tie) => ({
    type: fc.oneof({ depthSize: 'small', withCrossShrink: true }, primitive, tie('struct'), tie('list'), tie('map')),
    struct: fc.record({ type: fc.constant('struct'), fields: fc.array(tie('field'), { maxLength: 3 }) }),
    field: fc.record(
      { id: int, name: fc.constantFrom('id', 'data', 'a', 'b', 'element', 'key', 'value'), required: fc.boolean(), type: tie('type'), doc: shortString },
      { requiredKeys: ['id', 'name', 'required', 'type'] },
    ),
    list: fc.record({ type: fc.constant('list'), 'element-id': int, element: tie('type'), 'element-required': fc.boolean() }),
    map: fc.record({
      type: fc.constant('map'), 'key-id': int, key: tie('type'), 'value-id': int, value: tie('type'), 'value-required': fc.boolean(),
    }),
  }));
  const sampleSchema = {
    type: 'struct',
    'schema-id': 0,
    fields: [
      { id: 1, name: 'id', type: 'long', required: true },
      { id: 2, name: 'data', type: 'string', required: false },
    ],
  };
  const randomSchema = fc.record(
    {
      type: fc.constant('struct'),
      'schema-id': int,
      fields: fc.array(fc.record({ id: int, name, required: fc.boolean(), type }), { maxLength: 4 }),
      'identifier-field-ids': fc.array(int, { maxLength: 2 }),
    },
    { requiredKeys: ['type', 'fields'] },
  );
  // Random schemas mostly repeat ids; renumbering makes a share of them valid.
  const schema = fc.oneof(
    { weight: 2, arbitrary: fc.constant(sampleSchema) },
    { weight: 2, arbitrary: randomSchema.map(renumberFieldIds) },
    { weight: 1, arbitrary: randomSchema },
  );

  // --- partition specs, sort orders --------------------------------------------------------
  const transform = fc.constantFrom('identity', 'bucket[4]', 'truncate[3]', 'year', 'month', 'day', 'hour', 'void', 'bogus[');
  const partitionField = fc.record(
    { 'source-id': int, 'source-ids': fc.array(int, { maxLength: 2 }), 'field-id': int, name: fc.constantFrom('p', 'q', 'id_bucket'), transform },
    { requiredKeys: ['source-id', 'name', 'transform'] },
  );
  const partitionSpec = fc.record({ 'spec-id': int, fields: fc.array(partitionField, { maxLength: 3 }) }, { requiredKeys: ['fields'] });
  const sortField = fc.record(
    {
      'source-id': int, 'source-ids': fc.array(int, { maxLength: 2 }), transform,
      direction: fc.constantFrom('asc', 'desc', 'up'), 'null-order': fc.constantFrom('nulls-first', 'nulls-last', 'nulls-middle'),
    },
    { requiredKeys: ['source-id', 'transform', 'direction', 'null-order'] },
  );
  const sortOrder = fc.record({ 'order-id': int, fields: fc.array(sortField, { maxLength: 3 }) });

  // --- snapshots, refs, statistics, keys ---------------------------------------------------
  const snapshot = fc.record(
    {
      'snapshot-id': long,
      'parent-snapshot-id': fc.option(long, { nil: null }),
      'sequence-number': long,
      'timestamp-ms': long,
      'manifest-list': location,
      summary: fc.record({ operation: fc.constantFrom('append', 'replace', 'overwrite', 'delete', 'bogus') }),
      'schema-id': int,
      'first-row-id': long,
      'added-rows': long,
    },
    { requiredKeys: ['snapshot-id', 'timestamp-ms', 'manifest-list', 'summary'] },
  );
  const snapshotRef = {
    type: fc.constantFrom('branch', 'tag', 'trunk'),
    'snapshot-id': long,
    'max-ref-age-ms': long,
    'max-snapshot-age-ms': long,
    'min-snapshots-to-keep': int,
  };
  const refName = fc.constantFrom('main', 'dev', 'tag1', '');
  const statisticsFile = fc.record({
    'snapshot-id': long, 'statistics-path': location, 'file-size-in-bytes': long, 'file-footer-size-in-bytes': long,
    'blob-metadata': fc.constant([]),
  });
  const partitionStatisticsFile = fc.record({ 'snapshot-id': long, 'statistics-path': location, 'file-size-in-bytes': long });
  const encryptedKey = fc.record(
    { 'key-id': shortString, 'encrypted-key-metadata': fc.base64String({ maxLength: 16 }), 'encrypted-by-id': shortString, properties },
    { requiredKeys: ['key-id', 'encrypted-key-metadata'] },
  );

  // --- views (ViewVersion, ViewRepresentation) ---------------------------------------------
  const representation = fc.record({
    type: fc.constantFrom('sql', 'sql', 'other'),
    sql: fc.constantFrom('SELECT 1', 'SELECT * FROM t', ''),
    dialect: fc.constantFrom('spark', 'trino', 'Spark'),
  });
  const viewVersion = fc.record(
    {
      'version-id': int,
      'timestamp-ms': long,
      'schema-id': int,
      summary: fc.dictionary(shortString, shortString, { maxKeys: 2 }),
      representations: fc.array(representation, { minLength: 1, maxLength: 3 }),
      'default-namespace': namespace,
      'default-catalog': fc.option(shortString, { nil: null }),
    },
    { requiredKeys: ['version-id', 'timestamp-ms', 'schema-id', 'summary', 'representations', 'default-namespace'] },
  );

  // --- updates and requirements (TableUpdate, ViewUpdate, TableRequirement, ViewRequirement) --
  const update = (action: string, fields: Record<string, fc.Arbitrary<unknown>>) =>
    fc.record({ action: fc.constant(action), ...fields });
  const sharedUpdates = {
    'assign-uuid': update('assign-uuid', { uuid: fc.oneof(fc.uuid(), shortString) }),
    'upgrade-format-version': update('upgrade-format-version', { 'format-version': fc.constantFrom(1, 2, 3, 4) }),
    'add-schema': fc.record({ action: fc.constant('add-schema'), schema, 'last-column-id': int }, { requiredKeys: ['action', 'schema'] }),
    'set-location': update('set-location', { location }),
    'set-properties': update('set-properties', { updates: properties }),
    'remove-properties': update('remove-properties', { removals: fc.array(propertyKey, { maxLength: 3 }) }),
  };
  const tableUpdates: Record<string, fc.Arbitrary<unknown>> = {
    ...sharedUpdates,
    'set-current-schema': update('set-current-schema', { 'schema-id': int }),
    'add-spec': update('add-spec', { spec: partitionSpec }),
    'set-default-spec': update('set-default-spec', { 'spec-id': int }),
    'add-sort-order': update('add-sort-order', { 'sort-order': sortOrder }),
    'set-default-sort-order': update('set-default-sort-order', { 'sort-order-id': int }),
    'add-snapshot': update('add-snapshot', { snapshot }),
    'set-snapshot-ref': fc.record({ action: fc.constant('set-snapshot-ref'), 'ref-name': refName, ...snapshotRef }, {
      requiredKeys: ['action', 'ref-name', 'type', 'snapshot-id'],
    }),
    'remove-snapshots': update('remove-snapshots', { 'snapshot-ids': fc.array(long, { maxLength: 3 }) }),
    'remove-snapshot-ref': update('remove-snapshot-ref', { 'ref-name': refName }),
    'set-statistics': fc.record({ action: fc.constant('set-statistics'), statistics: statisticsFile, 'snapshot-id': long }, {
      requiredKeys: ['action', 'statistics'],
    }),
    'remove-statistics': update('remove-statistics', { 'snapshot-id': long }),
    'set-partition-statistics': update('set-partition-statistics', { 'partition-statistics': partitionStatisticsFile }),
    'remove-partition-statistics': update('remove-partition-statistics', { 'snapshot-id': long }),
    'remove-partition-specs': update('remove-partition-specs', { 'spec-ids': fc.array(int, { maxLength: 3 }) }),
    'remove-schemas': update('remove-schemas', { 'schema-ids': fc.array(int, { maxLength: 3 }) }),
    'add-encryption-key': update('add-encryption-key', { 'encryption-key': encryptedKey }),
    'remove-encryption-key': update('remove-encryption-key', { 'key-id': shortString }),
  };
  const viewUpdates: Record<string, fc.Arbitrary<unknown>> = {
    ...sharedUpdates,
    'add-view-version': update('add-view-version', { 'view-version': viewVersion }),
    'set-current-view-version': update('set-current-view-version', { 'view-version-id': int }),
  };
  const tableRequirements: Record<string, fc.Arbitrary<unknown>> = {
    'assert-create': fc.constant({ type: 'assert-create' }),
    'assert-table-uuid': fc.record({ type: fc.constant('assert-table-uuid'), uuid: fc.uuid() }),
    'assert-ref-snapshot-id': fc.record({ type: fc.constant('assert-ref-snapshot-id'), ref: refName, 'snapshot-id': fc.option(long, { nil: null }) }),
    'assert-last-assigned-field-id': fc.record({ type: fc.constant('assert-last-assigned-field-id'), 'last-assigned-field-id': int }),
    'assert-current-schema-id': fc.record({ type: fc.constant('assert-current-schema-id'), 'current-schema-id': int }),
    'assert-last-assigned-partition-id': fc.record({ type: fc.constant('assert-last-assigned-partition-id'), 'last-assigned-partition-id': int }),
    'assert-default-spec-id': fc.record({ type: fc.constant('assert-default-spec-id'), 'default-spec-id': int }),
    'assert-default-sort-order-id': fc.record({ type: fc.constant('assert-default-sort-order-id'), 'default-sort-order-id': int }),
  };
  const tableUpdate = fc.oneof(...Object.values(tableUpdates));
  const viewUpdate = fc.oneof(...Object.values(viewUpdates));
  const tableRequirement = fc.oneof(...Object.values(tableRequirements));
  const viewRequirement = fc.record({ type: fc.constant('assert-view-uuid'), uuid: fc.uuid() });

  // --- request bodies ----------------------------------------------------------------------
  const identifier = fc.record({ namespace, name });
  /** Mostly the first seeded table, so commits reach an existing table. */
  const seededIdentifier = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ namespace: options.namespaces[0], name: options.names[0] }) },
    { weight: 1, arbitrary: identifier },
  );
  // Random requirements rarely hold: half of the commits carry none, so their updates get applied.
  const tableChange = fc.record({
    requirements: fc.oneof(fc.constant([]), fc.array(tableRequirement, { maxLength: 2 })),
    updates: fc.array(tableUpdate, { maxLength: 3 }),
  });
  const bodies = {
    CreateNamespaceRequest: fc.record({ namespace, properties }, { requiredKeys: ['namespace'] }),
    UpdateNamespacePropertiesRequest: fc.record({ removals: fc.array(propertyKey, { maxLength: 3 }), updates: properties }, { requiredKeys: [] }),
    CreateTableRequest: fc.record(
      {
        name, location, schema, 'partition-spec': partitionSpec, 'write-order': sortOrder, 'stage-create': fc.boolean(), properties,
      },
      { requiredKeys: ['name', 'schema'] },
    ),
    RegisterTableRequest: fc.record({ name, 'metadata-location': location, overwrite: fc.boolean() }, { requiredKeys: ['name', 'metadata-location'] }),
    RegisterViewRequest: fc.record({ name, 'metadata-location': location }),
    // The identifier is optional here and must match the path: usually left out.
    CommitTableRequest: fc.tuple(tableChange, fc.oneof({ weight: 7, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: identifier }))
      .map(([change, id]) => compact({ identifier: id, ...change })),
    CommitTransactionRequest: fc.record({
      'table-changes': fc.uniqueArray(fc.tuple(seededIdentifier, tableChange).map(([id, change]) => ({ identifier: id, ...change })), {
        minLength: 1, maxLength: 2, selector: (c) => JSON.stringify(c.identifier),
      }),
    }),
    RenameTableRequest: fc.record({ source: identifier, destination: identifier }),
    CreateViewRequest: fc.record(
      { name, location, schema, 'view-version': viewVersion, properties },
      { requiredKeys: ['name', 'schema', 'view-version', 'properties'] },
    ),
    CommitViewRequest: fc.record(
      {
        identifier,
        requirements: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(viewRequirement, { maxLength: 1 }) }),
        updates: fc.array(viewUpdate, { maxLength: 3 }),
      },
      { requiredKeys: ['updates'] },
    ),
    ReportMetricsRequest: fc.oneof(
      fc.record({
        'report-type': fc.constant('scan-report'), 'table-name': name, 'snapshot-id': long, filter: fc.constant({ type: 'true' }),
        'schema-id': int, 'projected-field-ids': fc.array(int, { maxLength: 2 }), 'projected-field-names': fc.array(name, { maxLength: 2 }),
        metrics: fc.constant({}),
      }),
      fc.record({
        'report-type': fc.constant('commit-report'), 'table-name': name, 'snapshot-id': long, 'sequence-number': long,
        operation: fc.constantFrom('append', 'overwrite'), metrics: fc.constant({}),
      }),
    ),
  };

  return { bodies, tableUpdates, viewUpdates, tableRequirements, schema, int, long, name, namespace };
}

/** Gives every field id of a schema a fresh unique value (1, 2, ...) so it passes validation. */
export function renumberFieldIds<T>(schema: T): T {
  let next = 0;
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (typeof node !== 'object' || node === null) return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = visit(v);
    for (const key of ['id', 'element-id', 'key-id', 'value-id']) if (key in out) out[key] = ++next;
    return out;
  };
  const fresh = visit(schema) as Record<string, unknown>;
  delete fresh['identifier-field-ids'];
  return fresh as T;
}

/** Values of the wrong type (or the right type with hostile content) to put in place of a field. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, -0, 1e308, '', 'x', [], {}, [null], [{}], { a: 1 }, '__proto__', 2n ** 64n),
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.jsonValue({ maxDepth: 2 }),
);

type Mutation = [pathIndex: number, kind: number, value: unknown];

/**
 * A body from `valid`, half of the time with 1 to `max` mutations: a field (at any depth) removed,
 * replaced by a value of another type, or a hostile key added next to it. Shrinks towards the
 * unmutated body.
 */
export function mutated(valid: fc.Arbitrary<unknown>, max = 3): fc.Arbitrary<unknown> {
  const mutations = fc.oneof(
    fc.constant([] as Mutation[]),
    fc.array(fc.tuple(fc.nat(), fc.nat(2), wrongValue), { minLength: 1, maxLength: max }),
  );
  return fc.tuple(valid, mutations).map(([body, list]) => {
    let result = structuredClone(body);
    for (const mutation of list) result = applyMutation(result, mutation);
    return result;
  });
}

function applyMutation(root: unknown, [pathIndex, kind, value]: Mutation): unknown {
  const paths: (string | number)[][] = [[]];
  const collect = (node: unknown, path: (string | number)[]) => {
    if (Array.isArray(node)) node.forEach((child, i) => { paths.push([...path, i]); collect(child, [...path, i]); });
    else if (typeof node === 'object' && node !== null) {
      for (const [k, child] of Object.entries(node)) { paths.push([...path, k]); collect(child, [...path, k]); }
    }
  };
  collect(root, []);
  const path = paths[pathIndex % paths.length]!;
  if (path.length === 0) return kind === 0 ? value : root;
  const parent = path.slice(0, -1).reduce<any>((node, key) => node[key], root); // eslint-disable-line @typescript-eslint/no-explicit-any
  const key = path[path.length - 1]!;
  if (kind === 0) parent[key] = value;
  else if (kind === 1) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (!Array.isArray(parent)) {
    Object.defineProperty(parent, typeof value === 'string' && value !== '' ? value : 'unexpected', {
      value, enumerable: true, configurable: true, writable: true,
    });
  }
  return root;
}
