/**
 * API machinery shared by the Kubernetes simulator: `Status` errors as the API server writes them, field errors
 * (k8s.io/apimachinery/pkg/util/validation/field), name validation, times, hashes and random name suffixes.
 */
import type { Json, JsonObject } from '../marathon/json.js';
import { isObject } from '../marathon/json.js';

export type { Json, JsonObject } from '../marathon/json.js';
export { clone, deepEqual, isObject } from '../marathon/json.js';

/** What an error needs to know about the resource it is about. */
export interface ResourceRef {
  group: string;
  plural: string;
  kind: string;
}

/** A failed request: renders as a `Status` object with the same HTTP code. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: JsonObject,
  ) {
    super(message);
  }
  status(): JsonObject {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** `deployments.apps`, `pods`. */
export function qualifiedResource(r: Pick<ResourceRef, 'group' | 'plural'>): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

/** `Deployment.apps`, `Pod`. */
export function qualifiedKind(r: Pick<ResourceRef, 'group' | 'kind'>): string {
  return r.group ? `${r.kind}.${r.group}` : r.kind;
}

export function notFound(r: ResourceRef, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(r)} "${name}" not found`, {
    name,
    group: r.group,
    kind: r.plural,
  });
}

export function alreadyExists(r: ResourceRef, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(r)} "${name}" already exists`, {
    name,
    group: r.group,
    kind: r.plural,
  });
}

export function conflict(r: ResourceRef, name: string, why: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(r)} "${name}": ${why}`,
    {
      name,
      group: r.group,
      kind: r.plural,
    },
  );
}

export const MODIFIED =
  'the object has been modified; please apply your changes to the latest version and try again';

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function forbidden(r: ResourceRef, name: string, why: string): ApiError {
  const what = name ? `${qualifiedResource(r)} "${name}"` : qualifiedResource(r);
  return new ApiError(403, 'Forbidden', `${what} is forbidden: ${why}`, {
    ...(name ? { name } : {}),
    group: r.group,
    kind: r.plural,
  });
}

export function methodNotAllowed(): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
    {},
  );
}

export function unsupportedMediaType(contentType: string, accepted: string[]): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    contentType ? {} : {},
  );
}

export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

// ----- field errors -------------------------------------------------------------------------------------------

export interface FieldError {
  /** `FieldValueRequired`, `FieldValueInvalid`, … (the `causes[].reason` of a 422). */
  type: string;
  field: string;
  /** The text after `<field>: `, e.g. `Required value` or `Invalid value: "x": must be …`. */
  message: string;
}

/** Go's `%#v`-ish rendering of a value in an "Invalid value" message. */
export function goValue(value: Json | undefined): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[]interface {}{${value.map((v) => goValue(v)).join(', ')}}`;
  const entries = Object.entries(value);
  if (entries.every(([, v]) => typeof v === 'string')) {
    return `map[string]string{${entries
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value);
}

export const fieldErr = {
  required: (field: string, detail = ''): FieldError => ({
    type: 'FieldValueRequired',
    field,
    message: detail ? `Required value: ${detail}` : 'Required value',
  }),
  invalid: (field: string, value: Json | undefined, detail: string): FieldError => ({
    type: 'FieldValueInvalid',
    field,
    message: `Invalid value: ${goValue(value)}${detail ? `: ${detail}` : ''}`,
  }),
  notSupported: (field: string, value: Json | undefined, supported: string[]): FieldError => ({
    type: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${goValue(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  }),
  forbidden: (field: string, detail: string): FieldError => ({
    type: 'FieldValueForbidden',
    field,
    message: `Forbidden: ${detail}`,
  }),
  duplicate: (field: string, value: Json | undefined): FieldError => ({
    type: 'FieldValueDuplicate',
    field,
    message: `Duplicate value: ${goValue(value)}`,
  }),
};

/** The 422 the API server answers for invalid objects (`StatusError` from `errors.NewInvalid`). */
export function invalid(
  r: Pick<ResourceRef, 'group' | 'kind'>,
  name: string,
  errors: FieldError[],
): ApiError {
  const texts = errors.map((e) => `${e.field}: ${e.message}`);
  const summary = texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${qualifiedKind(r)} "${name}" is invalid: ${summary}`, {
    name,
    group: r.group,
    kind: r.kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.message, field: e.field })),
  });
}

// ----- names --------------------------------------------------------------------------------------------------

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function dns1123LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!DNS1123_LABEL.test(value)) {
    errs.push(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    );
  }
  return errs;
}

export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(value)) {
    errs.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  }
  return errs;
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Label keys and values (k8s.io/apimachinery/pkg/util/validation). */
export function labelErrors(labels: Json | undefined, field: string): FieldError[] {
  if (!isObject(labels)) return [];
  const errs: FieldError[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const slash = key.indexOf('/');
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    const prefix = slash >= 0 ? key.slice(0, slash) : '';
    if (
      name.length === 0 ||
      name.length > 63 ||
      !QUALIFIED_NAME.test(name) ||
      (prefix && !DNS1123_SUBDOMAIN.test(prefix))
    ) {
      errs.push(
        fieldErr.invalid(
          field,
          key,
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ),
      );
    }
    if (typeof value !== 'string') {
      errs.push(fieldErr.invalid(`${field}`, value, 'label values must be strings'));
    } else if (value.length > 63 || (value !== '' && !QUALIFIED_NAME.test(value))) {
      errs.push(
        fieldErr.invalid(
          field,
          value,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
      );
    }
  }
  return errs;
}

// ----- time, hashes, names ------------------------------------------------------------------------------------

/** metav1.Time: RFC 3339 with second precision. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** metav1.MicroTime. */
export function rfc3339Micro(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function parseTime(value: Json | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : undefined;
}

/** rand.SafeEncodeString's alphabet: no vowels, no 0/1/3 (k8s.io/apimachinery/pkg/util/rand). */
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';

export function safeEncode(s: string): string {
  let out = '';
  for (const ch of s) out += ALPHANUMS[ch.charCodeAt(0) % ALPHANUMS.length];
  return out;
}

/** FNV-1a, 32 bits. */
export function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** JSON with sorted object keys: a stable text to hash. */
export function canonicalJson(value: Json | undefined): string {
  if (value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * controller.ComputeHash's shape: fnv32a over the template (plus the collision count), the decimal of the sum
 * safe-encoded (`7c9f5d8b6`). The bytes hashed differ from Go's spew dump, so the value differs from a real cluster's.
 */
export function computeHash(template: Json | undefined, collisionCount?: number): string {
  const text = canonicalJson(template) + (collisionCount ? `#${collisionCount}` : '');
  return safeEncode(String(fnv32a(text)));
}

/** A generateName suffix (5 characters from the safe alphabet), from a seeded random source. */
export function randomSuffix(random: () => number, length = 5): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHANUMS[Math.floor(random() * ALPHANUMS.length)];
  return s;
}

// ----- small object helpers -----------------------------------------------------------------------------------

export function obj(value: Json | undefined): JsonObject | undefined {
  return isObject(value) ? value : undefined;
}

/** The object at `key` of `parent`, created when absent. */
export function ensureObj(parent: JsonObject, key: string): JsonObject {
  const v = parent[key];
  if (isObject(v)) return v;
  const created: JsonObject = {};
  parent[key] = created;
  return created;
}

export function meta(o: JsonObject): JsonObject {
  return ensureObj(o, 'metadata');
}

export function nameOf(o: JsonObject): string {
  const m = o['metadata'];
  return isObject(m) && typeof m['name'] === 'string' ? m['name'] : '';
}

export function namespaceOf(o: JsonObject): string {
  const m = o['metadata'];
  return isObject(m) && typeof m['namespace'] === 'string' ? m['namespace'] : '';
}

export function uidOf(o: JsonObject): string {
  const m = o['metadata'];
  return isObject(m) && typeof m['uid'] === 'string' ? m['uid'] : '';
}

export function labelsOf(o: JsonObject | undefined): Record<string, string> {
  const m = o?.['metadata'];
  const l = isObject(m) ? m['labels'] : undefined;
  const out: Record<string, string> = {};
  if (isObject(l)) for (const [k, v] of Object.entries(l)) if (typeof v === 'string') out[k] = v;
  return out;
}

export function annotationsOf(o: JsonObject | undefined): Record<string, string> {
  const m = o?.['metadata'];
  const l = isObject(m) ? m['annotations'] : undefined;
  const out: Record<string, string> = {};
  if (isObject(l)) for (const [k, v] of Object.entries(l)) if (typeof v === 'string') out[k] = v;
  return out;
}

export function int(value: Json | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

export function str(value: Json | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function arr(value: Json | undefined): Json[] {
  return Array.isArray(value) ? value : [];
}

export function objs(value: Json | undefined): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** The value at a dotted path (`spec.replicas`), or undefined. */
export function at(o: Json | undefined, path: string): Json | undefined {
  let cur: Json | undefined = o;
  for (const part of path.split('.')) {
    if (part === '') continue;
    if (!isObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/** The controller ownerReference's uid, if any. */
export function controllerUid(o: JsonObject): string | undefined {
  for (const ref of objs(at(o, 'metadata.ownerReferences'))) {
    if (ref['controller'] === true && typeof ref['uid'] === 'string') return ref['uid'];
  }
  return undefined;
}

export function ownerRef(owner: JsonObject, apiVersion: string, kind: string): JsonObject {
  return {
    apiVersion,
    kind,
    name: nameOf(owner),
    uid: uidOf(owner),
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Parses a Kubernetes quantity (`500m`, `1Gi`, `2`, `1e3`) into a number of base units. */
export function parseQuantity(value: Json | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (!Number.isFinite(n)) return undefined;
  const factor: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
    Pi: 1024 ** 5,
    Ei: 1024 ** 6,
  };
  return n * (m[2] ? (factor[m[2]] ?? 1) : 1);
}

/** intstr: an int, or a percentage of `total` rounded up or down (intstr.GetScaledValueFromIntOrPercent). */
export function scaledValue(
  value: Json | undefined,
  total: number,
  roundUp: boolean,
  fallback: number,
): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const m = /^(\d+)%$/.exec(value);
    if (m) {
      const v = (Number(m[1]) * total) / 100;
      return roundUp ? Math.ceil(v) : Math.floor(v);
    }
    const n = Number(value);
    if (Number.isInteger(n)) return n;
  }
  return fallback;
}

/** kubectl's / the printers' short durations: `5s`, `3m2s`, `10m`, `2d3h`… (duration.HumanDuration). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 0) return '<invalid>';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}
