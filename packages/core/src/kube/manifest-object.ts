/**
 * One Kubernetes object read from a manifest file, with where it came from, and the helpers every manifest step
 * (templating, images, namespaces, annotations) uses to name it in a one-line message:
 * `k8s/app.yaml document 2: /spec/template/spec/containers/0/image …` (the document counted from 1 in the file,
 * the field as a JSON pointer inside that document — a `List` item's pointer starts with `/items/<n>`).
 */
import { isJsonObject, type JsonObject } from '../util/json.js';

export interface Manifest {
  /** The object as plain JSON data. Kiln's steps (images, namespaces, annotations) change it in place. */
  object: JsonObject;
  /** The file as messages show it: relative to the working directory when inside it, else absolute. */
  file: string;
  /** The YAML document in the file, counted from 1 (empty documents count too, so `---` can be counted). */
  document: number;
  /** Where the object is inside its document: '' for the document itself, '/items/3' for a `List` item. */
  pointer: string;
  apiVersion: string;
  kind: string;
  name: string;
}

/** `k8s/app.yaml document 2` — with a field (a pointer relative to the object): `… document 2: /items/1/spec`. */
export function manifestWhere(m: Pick<Manifest, 'file' | 'document' | 'pointer'>, field?: string): string {
  const at = field === undefined ? (m.pointer === '' ? '' : `: ${m.pointer}`) : `: ${m.pointer}${field}`;
  return `${m.file} document ${m.document}${at}`;
}

/** `Deployment/web`, as kubectl names an object (the namespace is shown where it matters, not here). */
export function objectName(m: Pick<Manifest, 'kind' | 'name'>): string {
  return `${m.kind}/${m.name}`;
}

/** The API group of an apiVersion: 'apps/v1' → 'apps', 'v1' → '' (the core group). */
export function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** A JSON pointer (RFC 6901) from path segments: ['metadata', 'annotations', 'a/b'] → '/metadata/annotations/a~1b'. */
export function jsonPointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

export function isPlainObject(v: unknown): v is JsonObject {
  return isJsonObject(v);
}

/** A value for a message: single-quoted, control characters made visible, at most 200 characters. */
export function q(value: string): string {
  // eslint-disable-next-line no-control-regex
  const visible = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) =>
    c.charCodeAt(0) < 0x80 ? JSON.stringify(c).slice(1, -1) : `\\u{${c.charCodeAt(0).toString(16)}}`,
  );
  return `'${visible.length > 200 ? `${visible.slice(0, 200)}…` : visible}'`;
}

/** What a value is, for "expected a string, found …" messages. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${q(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `the ${typeof v} ${String(v)}`;
  return typeof v;
}

/** `a, b and c` (the first `max`, then "and N more"). */
export function listOf(items: readonly string[], max = 8): string {
  const shown = items.slice(0, max);
  const rest = items.length - shown.length;
  if (rest > 0) return `${shown.join(', ')} and ${rest} more`;
  if (shown.length <= 1) return shown.join('');
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}
