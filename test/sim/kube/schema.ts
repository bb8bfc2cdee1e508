/**
 * What the simulator knows about the shape of objects, in place of the API server's Go types and OpenAPI models:
 *
 * - for built-in kinds, which lists are merged by key (strategic merge patch's `patchMergeKey`, server-side apply's
 *   `listType: map` + `listMapKey`s), which are sets, and which are atomic (everything else);
 * - for custom resources, the CRD's structural schema: list types from `x-kubernetes-list-type`, and the checks the
 *   API server runs on a custom resource (types, required, enum, pruning of unknown fields, defaults).
 */
import type { Json, JsonObject } from './meta.js';
import { isObject, objs } from './meta.js';

export type ListRule =
  /** Merged by these keys; `smpKey` is the strategic-merge-patch key (one field). */
  | { kind: 'map'; keys: string[]; smpKey: string }
  /** Primitive set (union on merge). */
  | { kind: 'set' }
  | { kind: 'atomic' };

const ATOMIC: ListRule = { kind: 'atomic' };
const byName: ListRule = { kind: 'map', keys: ['name'], smpKey: 'name' };

const BUILTIN_RULES: Record<string, ListRule> = {
  containers: byName,
  initContainers: byName,
  ephemeralContainers: byName,
  env: byName,
  volumes: byName,
  imagePullSecrets: byName,
  resourceClaims: byName,
  schedulingGates: byName,
  volumeMounts: { kind: 'map', keys: ['mountPath'], smpKey: 'mountPath' },
  volumeDevices: { kind: 'map', keys: ['devicePath'], smpKey: 'devicePath' },
  hostAliases: { kind: 'map', keys: ['ip'], smpKey: 'ip' },
  conditions: { kind: 'map', keys: ['type'], smpKey: 'type' },
  ownerReferences: { kind: 'map', keys: ['uid'], smpKey: 'uid' },
  topologySpreadConstraints: {
    kind: 'map',
    keys: ['topologyKey', 'whenUnsatisfiable'],
    smpKey: 'topologyKey',
  },
  finalizers: { kind: 'set' },
};

/** Where a value sits: field names from the root (list items are transparent). */
export type FieldPath = readonly string[];

/** Schema context for one object: built-in rules, or a CRD version's structural schema. */
export interface SchemaContext {
  builtin: boolean;
  /** The CRD version's openAPIV3Schema (custom resources). */
  schema?: JsonObject;
}

export const BUILTIN_CONTEXT: SchemaContext = { builtin: true };

/** The rule for the list found at `path` (its last element is the list's field name). */
export function listRule(ctx: SchemaContext, path: FieldPath): ListRule {
  const field = path[path.length - 1] ?? '';
  if (path.length === 2 && path[0] === 'metadata') {
    return BUILTIN_RULES[field] ?? ATOMIC; // ownerReferences, finalizers, managedFields
  }
  if (!ctx.builtin) {
    const s = schemaAt(ctx.schema, path);
    const type = s?.['x-kubernetes-list-type'];
    if (type === 'map') {
      const keys = Array.isArray(s?.['x-kubernetes-list-map-keys'])
        ? s['x-kubernetes-list-map-keys'].map(String)
        : [];
      return { kind: 'map', keys, smpKey: keys[0] ?? '' };
    }
    if (type === 'set') return { kind: 'set' };
    return ATOMIC;
  }
  if (field === 'ports') {
    const parent = path[path.length - 2];
    if (parent === 'containers' || parent === 'initContainers' || parent === 'ephemeralContainers') {
      return { kind: 'map', keys: ['containerPort', 'protocol'], smpKey: 'containerPort' };
    }
    return { kind: 'map', keys: ['port', 'protocol'], smpKey: 'port' };
  }
  // Status lists of containers are atomic in server-side apply and have no merge key.
  if (field === 'containerStatuses' || field === 'initContainerStatuses') return ATOMIC;
  return BUILTIN_RULES[field] ?? ATOMIC;
}

/** Values that identify a list item under a map rule (`{"name":"web"}`); missing keys use the defaults. */
export function itemKey(rule: ListRule, item: Json): JsonObject | undefined {
  if (rule.kind !== 'map' || !isObject(item)) return undefined;
  const key: JsonObject = {};
  for (const k of rule.keys) {
    let v = item[k];
    if (v === undefined && k === 'protocol') v = 'TCP';
    if (v === undefined) continue;
    key[k] = v;
  }
  return Object.keys(key).length ? key : undefined;
}

export function sameKey(a: JsonObject | undefined, b: JsonObject | undefined): boolean {
  if (!a || !b) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

// ----- CRD structural schemas ---------------------------------------------------------------------------------

/** The sub-schema for a field path (list items are entered through `items`). */
export function schemaAt(schema: JsonObject | undefined, path: FieldPath): JsonObject | undefined {
  let s: JsonObject | undefined = schema;
  for (const field of path) {
    if (!s) return undefined;
    while (s && s['type'] === 'array' && isObject(s['items'])) s = s['items'];
    const props = s?.['properties'];
    if (isObject(props) && isObject(props[field])) {
      s = props[field];
    } else if (s && isObject(s['additionalProperties'])) {
      s = s['additionalProperties'];
    } else {
      return undefined;
    }
  }
  return s;
}

export interface SchemaIssues {
  /** Invalid values: 422. */
  errors: Array<{ type: string; field: string; message: string }>;
  /** Fields not declared in the schema (pruned; reported by fieldValidation Strict / Warn). */
  unknown: string[];
}

const METADATA_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
  'selfLink',
]);

/**
 * Validates a custom resource against its structural schema: prunes fields the schema does not declare (unless
 * `x-kubernetes-preserve-unknown-fields`), fills `default`s, and checks types, `required` and `enum`.
 */
export function checkCustomResource(o: JsonObject, schema: JsonObject): SchemaIssues {
  const issues: SchemaIssues = { errors: [], unknown: [] };
  const m = o['metadata'];
  if (isObject(m)) {
    for (const k of Object.keys(m)) {
      if (!METADATA_FIELDS.has(k)) {
        issues.unknown.push(`metadata.${k}`);
        delete m[k];
      }
    }
  }
  const props = isObject(schema['properties']) ? schema['properties'] : {};
  for (const key of Object.keys(o)) {
    if (key === 'apiVersion' || key === 'kind' || key === 'metadata') continue;
    const sub = props[key];
    if (!isObject(sub)) {
      if (schema['x-kubernetes-preserve-unknown-fields'] !== true) {
        issues.unknown.push(key);
        delete o[key];
      }
      continue;
    }
    const v = o[key];
    if (v !== undefined) o[key] = walk(v, sub, key, issues);
  }
  applyDefaultsAndRequired(o, schema, '', issues, true);
  return issues;
}

function typeName(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function walk(value: Json, schema: JsonObject, path: string, issues: SchemaIssues): Json {
  const type = schema['type'];
  const nullable = schema['nullable'] === true;
  if (value === null) {
    if (!nullable && type !== undefined) {
      issues.errors.push({
        type: 'FieldValueTypeInvalid',
        field: path,
        message: `Invalid value: "null": ${path} in body must be of type ${String(type)}: "null"`,
      });
    }
    return value;
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) {
      issues.errors.push({
        type: 'FieldValueTypeInvalid',
        field: path,
        message: `Invalid value: ${JSON.stringify(value)}: ${path} in body must be of type integer-or-string`,
      });
    }
    return value;
  }
  const actual = typeName(value);
  const ok =
    type === undefined ||
    type === actual ||
    (type === 'number' && actual === 'integer') ||
    (type === 'object' && actual === 'object');
  if (!ok) {
    issues.errors.push({
      type: 'FieldValueTypeInvalid',
      field: path,
      message: `Invalid value: "${actual}": ${path} in body must be of type ${String(type)}: "${actual}"`,
    });
    return value;
  }
  const en = schema['enum'];
  if (Array.isArray(en) && !en.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    issues.errors.push({
      type: 'FieldValueNotSupported',
      field: path,
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${en.map((e) => JSON.stringify(e)).join(', ')}`,
    });
  }
  if (typeof value === 'number') {
    if (typeof schema['minimum'] === 'number' && value < schema['minimum']) {
      issues.errors.push({
        type: 'FieldValueInvalid',
        field: path,
        message: `Invalid value: ${value}: ${path} in body should be greater than or equal to ${schema['minimum']}`,
      });
    }
    if (typeof schema['maximum'] === 'number' && value > schema['maximum']) {
      issues.errors.push({
        type: 'FieldValueInvalid',
        field: path,
        message: `Invalid value: ${value}: ${path} in body should be less than or equal to ${schema['maximum']}`,
      });
    }
  }
  if (
    typeof value === 'string' &&
    typeof schema['pattern'] === 'string' &&
    !new RegExp(schema['pattern']).test(value)
  ) {
    issues.errors.push({
      type: 'FieldValueInvalid',
      field: path,
      message: `Invalid value: ${JSON.stringify(value)}: ${path} in body should match '${schema['pattern']}'`,
    });
  }
  if (Array.isArray(value)) {
    const items = schema['items'];
    if (isObject(items)) return value.map((v, i) => walk(v, items, `${path}[${i}]`, issues));
    return value;
  }
  if (isObject(value)) {
    const props = isObject(schema['properties']) ? schema['properties'] : undefined;
    const additional = schema['additionalProperties'];
    const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
    for (const key of Object.keys(value)) {
      const sub = props?.[key];
      const child = value[key];
      if (isObject(sub)) {
        if (child !== undefined) value[key] = walk(child, sub, `${path}.${key}`, issues);
      } else if (isObject(additional)) {
        if (child !== undefined) value[key] = walk(child, additional, `${path}.${key}`, issues);
      } else if (!preserve && additional !== true && (props !== undefined || schema['type'] === 'object')) {
        issues.unknown.push(`${path}.${key}`);
        delete value[key];
      }
    }
    applyDefaultsAndRequired(value, schema, path, issues, false);
  }
  return value;
}

function applyDefaultsAndRequired(
  o: JsonObject,
  schema: JsonObject,
  path: string,
  issues: SchemaIssues,
  root: boolean,
): void {
  const props = isObject(schema['properties']) ? schema['properties'] : {};
  for (const [key, sub] of Object.entries(props)) {
    if (!isObject(sub)) continue;
    if (o[key] === undefined && sub['default'] !== undefined) o[key] = structuredClone(sub['default']);
  }
  const required = Array.isArray(schema['required']) ? schema['required'].map(String) : [];
  for (const key of required) {
    if (o[key] === undefined) {
      const field = root ? key : `${path}.${key}`;
      issues.errors.push({ type: 'FieldValueRequired', field, message: 'Required value' });
    }
  }
}

/** The printer columns of a CRD version (name, type, jsonPath, priority). */
export function printerColumns(version: JsonObject | undefined): JsonObject[] {
  return objs(version?.['additionalPrinterColumns']);
}
