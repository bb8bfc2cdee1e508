/**
 * Server-side apply and `metadata.managedFields`, a simplified structured-merge-diff:
 *
 * - a field set is the set of paths an object sets (`f:spec`, `f:replicas`; list items of keyed lists as
 *   `k:{"name":"web"}`, set items as `v:"x"`); maps (labels, annotations, data, …) and list items are members
 *   themselves (`.`), other objects only through their fields; atomic lists and label selectors are leaves;
 * - an Update (create, PUT, non-apply PATCH, a controller's status write) makes its manager own the paths it
 *   changed and takes them from every other manager; fields that disappear are dropped from every set;
 * - an Apply merges the applied configuration into the live object (maps recursively, keyed lists by key, sets as
 *   unions, everything else replaced), conflicts (409) when a leaf it sets to a different value is owned by another
 *   manager (unless `force`, which takes the field), and removes fields it applied before but no longer applies
 *   when nobody else owns them.
 *
 * Managers are (manager, operation, subresource) entries stored in FieldsV1 form, as the API server returns them.
 */
import type { Json, JsonObject } from './meta.js';
import { ApiError, clone, deepEqual, isObject } from './meta.js';
import type { FieldPath, SchemaContext } from './schema.js';
import { itemKey, listRule, sameKey, schemaAt } from './schema.js';

const SEP = '\u0000';

/** System metadata never tracked in field sets. */
const UNTRACKED_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
  'generateName',
]);

/** Built-in fields whose value is a map (string keys chosen by users): members themselves (`.`). */
const MAP_FIELDS = new Set([
  'labels',
  'annotations',
  'data',
  'binaryData',
  'stringData',
  'nodeSelector',
  'limits',
  'requests',
  'capacity',
  'allocatable',
  'matchLabels',
]);

const SELECTOR_FIELDS = new Set(['selector', 'labelSelector', 'namespaceSelector']);

export type FieldSet = Set<string>;

export interface ManagedEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  subresource?: string;
  set: FieldSet;
}

/**
 * Structs and maps owned as one leaf. Label selectors are `+structType=atomic`; a Service's (and a
 * ReplicationController's) plain `selector` map and a pod's `nodeSelector` are `+mapType=atomic` in k8s.io/api: an
 * apply that gives another selector replaces the whole map, and conflicts with another manager's.
 */
function isAtomicStruct(ctx: SchemaContext, fieldPath: FieldPath, value: JsonObject): boolean {
  const field = fieldPath[fieldPath.length - 1] ?? '';
  if (ctx.builtin)
    return (
      (SELECTOR_FIELDS.has(field) && ('matchLabels' in value || 'matchExpressions' in value)) ||
      (field === 'selector' && fieldPath.length === 2 && fieldPath[0] === 'spec') ||
      field === 'nodeSelector'
    );
  const s = schemaAt(ctx.schema, fieldPath);
  return s?.['x-kubernetes-map-type'] === 'atomic';
}

function isMap(ctx: SchemaContext, fieldPath: FieldPath, value: JsonObject): boolean {
  const field = fieldPath[fieldPath.length - 1] ?? '';
  if (ctx.builtin) {
    if (MAP_FIELDS.has(field)) return true;
    // A Service's spec.selector is a plain map.
    return field === 'selector' && !('matchLabels' in value) && !('matchExpressions' in value);
  }
  if (fieldPath.length === 2 && fieldPath[0] === 'metadata') return MAP_FIELDS.has(field);
  const s = schemaAt(ctx.schema, fieldPath);
  return isObject(s?.['additionalProperties']) || s?.['additionalProperties'] === true;
}

export function keySegment(key: JsonObject): string {
  return `k:${JSON.stringify(key)}`;
}

/** The field set of an object; `scope` limits it to `status` (status subresource) or everything but status. */
export function fieldSetOf(o: JsonObject, ctx: SchemaContext, scope: 'main' | 'status' | 'all'): FieldSet {
  const set: FieldSet = new Set();
  const add = (segments: string[]): void => {
    set.add(segments.join(SEP));
  };
  const walkValue = (v: Json, segments: string[], fieldPath: string[]): void => {
    if (isObject(v)) {
      if (Object.keys(v).length === 0 || isAtomicStruct(ctx, fieldPath, v)) {
        add(segments);
        return;
      }
      if (isMap(ctx, fieldPath, v)) add(segments);
      walkObject(v, segments, fieldPath);
    } else if (Array.isArray(v)) {
      const rule = listRule(ctx, fieldPath);
      if (rule.kind === 'map' && v.length > 0 && v.every((item) => itemKey(rule, item) !== undefined)) {
        for (const item of v) {
          const key = itemKey(rule, item) as JsonObject;
          const seg = [...segments, keySegment(key)];
          add(seg);
          if (isObject(item)) walkObject(item, seg, fieldPath);
        }
      } else if (rule.kind === 'set' && v.length > 0) {
        for (const item of v) add([...segments, `v:${JSON.stringify(item)}`]);
      } else {
        add(segments);
      }
    } else {
      add(segments);
    }
  };
  const walkObject = (o2: JsonObject, segments: string[], fieldPath: string[]): void => {
    for (const [k, v] of Object.entries(o2)) {
      if (v === undefined) continue;
      walkValue(v, [...segments, `f:${k}`], [...fieldPath, k]);
    }
  };
  for (const [k, v] of Object.entries(o)) {
    if (k === 'apiVersion' || k === 'kind' || v === undefined) continue;
    if (scope === 'main' && k === 'status') continue;
    if (scope === 'status' && k !== 'status') continue;
    if (k === 'metadata' && isObject(v)) {
      for (const [mk, mv] of Object.entries(v)) {
        if (UNTRACKED_METADATA.has(mk) || mv === undefined || mv === null) continue;
        walkValue(mv, ['f:metadata', `f:${mk}`], ['metadata', mk]);
      }
      continue;
    }
    walkValue(v, [`f:${k}`], [k]);
  }
  return set;
}

/** The value at a field-set path, or undefined. */
export function valueAt(o: Json | undefined, path: string, ctx: SchemaContext): Json | undefined {
  let cur: Json | undefined = o;
  const fieldPath: string[] = [];
  for (const seg of path.split(SEP)) {
    if (cur === undefined) return undefined;
    if (seg.startsWith('f:')) {
      if (!isObject(cur)) return undefined;
      const name = seg.slice(2);
      fieldPath.push(name);
      cur = cur[name];
    } else if (seg.startsWith('k:')) {
      if (!Array.isArray(cur)) return undefined;
      const key = JSON.parse(seg.slice(2)) as JsonObject;
      const rule = listRule(ctx, fieldPath);
      cur = cur.find((item) => sameKey(itemKey(rule, item), key));
    } else if (seg.startsWith('v:')) {
      if (!Array.isArray(cur)) return undefined;
      const want = JSON.parse(seg.slice(2)) as Json;
      cur = cur.find((item) => deepEqual(item, want));
    } else {
      return undefined;
    }
  }
  return cur;
}

/** Removes the value at a path (a field, a keyed list item, a set item). */
function removeAt(o: JsonObject, path: string, ctx: SchemaContext): void {
  const segs = path.split(SEP);
  let cur: Json | undefined = o;
  const fieldPath: string[] = [];
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] ?? '';
    const last = i === segs.length - 1;
    if (seg.startsWith('f:')) {
      if (!isObject(cur)) return;
      const name = seg.slice(2);
      fieldPath.push(name);
      if (last) {
        delete cur[name];
        return;
      }
      cur = cur[name];
    } else if (Array.isArray(cur)) {
      const list: Json[] = cur;
      let index = -1;
      if (seg.startsWith('k:')) {
        const key = JSON.parse(seg.slice(2)) as JsonObject;
        const rule = listRule(ctx, fieldPath);
        index = list.findIndex((item) => sameKey(itemKey(rule, item), key));
      } else if (seg.startsWith('v:')) {
        const want = JSON.parse(seg.slice(2)) as Json;
        index = list.findIndex((item) => deepEqual(item, want));
      }
      if (index < 0) return;
      if (last) {
        list.splice(index, 1);
        return;
      }
      cur = list[index];
    } else {
      return;
    }
  }
}

/** The field names along a path (list item segments left out). */
function fieldNames(path: string): string[] {
  return path
    .split(SEP)
    .filter((seg) => seg.startsWith('f:'))
    .map((seg) => seg.slice(2));
}

/** Paths whose value is compared for conflicts: the leaves (not members that only stand for a map or an item). */
function isLeaf(path: string, set: FieldSet): boolean {
  const prefix = path + SEP;
  for (const p of set) if (p.startsWith(prefix)) return false;
  return true;
}

// ----- FieldsV1 -----------------------------------------------------------------------------------------------

export function toFieldsV1(set: FieldSet): JsonObject {
  interface Node {
    member: boolean;
    children: Map<string, Node>;
  }
  const root: Node = { member: false, children: new Map() };
  for (const path of [...set].sort()) {
    let node = root;
    for (const seg of path.split(SEP)) {
      let child = node.children.get(seg);
      if (!child) {
        child = { member: false, children: new Map() };
        node.children.set(seg, child);
      }
      node = child;
    }
    node.member = true;
  }
  const render = (node: Node): JsonObject => {
    const out: JsonObject = {};
    if (node.member && node.children.size > 0) out['.'] = {};
    for (const [k, child] of node.children) out[k] = render(child);
    return out;
  };
  return render(root);
}

export function fromFieldsV1(tree: Json | undefined): FieldSet {
  const set: FieldSet = new Set();
  const walk = (node: JsonObject, prefix: string[]): void => {
    for (const [k, v] of Object.entries(node)) {
      if (k === '.' || !isObject(v)) continue;
      const path = [...prefix, k];
      const keys = Object.keys(v);
      if (keys.length === 0 || keys.includes('.')) set.add(path.join(SEP));
      walk(v, path);
    }
  };
  if (isObject(tree)) walk(tree, []);
  return set;
}

export function readManaged(o: JsonObject | undefined): ManagedEntry[] {
  const m = o?.['metadata'];
  const list = isObject(m) && Array.isArray(m['managedFields']) ? m['managedFields'] : [];
  const out: ManagedEntry[] = [];
  for (const e of list) {
    if (!isObject(e) || typeof e['manager'] !== 'string') continue;
    out.push({
      manager: e['manager'],
      operation: e['operation'] === 'Apply' ? 'Apply' : 'Update',
      apiVersion: String(e['apiVersion'] ?? ''),
      time: String(e['time'] ?? ''),
      ...(typeof e['subresource'] === 'string' && e['subresource'] ? { subresource: e['subresource'] } : {}),
      set: fromFieldsV1(e['fieldsV1']),
    });
  }
  return out;
}

export function writeManaged(o: JsonObject, entries: ManagedEntry[]): void {
  const m = isObject(o['metadata']) ? o['metadata'] : (o['metadata'] = {});
  const list = entries
    .filter((e) => e.set.size > 0)
    .map((e) => ({
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      time: e.time,
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(e.set),
      ...(e.subresource ? { subresource: e.subresource } : {}),
    }));
  if (list.length) m['managedFields'] = list;
  else delete m['managedFields'];
}

function sameManager(
  a: ManagedEntry,
  manager: string,
  operation: string,
  subresource: string | undefined,
): boolean {
  return a.manager === manager && a.operation === operation && (a.subresource ?? '') === (subresource ?? '');
}

function entryFor(
  entries: ManagedEntry[],
  manager: string,
  operation: 'Apply' | 'Update',
  subresource: string | undefined,
  apiVersion: string,
  time: string,
): ManagedEntry {
  let e = entries.find((x) => sameManager(x, manager, operation, subresource));
  if (!e) {
    e = { manager, operation, apiVersion, time, ...(subresource ? { subresource } : {}), set: new Set() };
    entries.push(e);
  }
  return e;
}

export interface WriteContext {
  manager: string;
  apiVersion: string;
  time: string;
  subresource?: string;
  ctx: SchemaContext;
  scope: 'main' | 'status' | 'all';
}

/** Records an Update: the manager owns what it changed, others lose it, vanished fields are dropped. */
export function recordUpdate(
  old: JsonObject | undefined,
  neu: JsonObject,
  w: WriteContext,
  baseline: JsonObject | undefined = old,
): void {
  const entries = readManaged(baseline);
  const oldSet = old ? fieldSetOf(old, w.ctx, 'all') : new Set<string>();
  const newSet = fieldSetOf(neu, w.ctx, 'all');
  const scoped = fieldSetOf(neu, w.ctx, w.scope);
  const changed: string[] = [];
  for (const p of scoped) {
    if (!oldSet.has(p)) changed.push(p);
    else if (isLeaf(p, newSet) && !deepEqual(valueAt(old, p, w.ctx), valueAt(neu, p, w.ctx))) changed.push(p);
  }
  for (const e of entries) {
    for (const p of [...e.set]) if (!newSet.has(p)) e.set.delete(p);
  }
  if (changed.length) {
    for (const e of entries) for (const p of changed) e.set.delete(p);
    const mine = entryFor(entries, w.manager, 'Update', w.subresource, w.apiVersion, w.time);
    for (const p of changed) mine.set.add(p);
    mine.time = w.time;
    mine.apiVersion = w.apiVersion;
  }
  writeManaged(neu, entries);
}

/** Renders a path for conflict messages: `.spec.template.spec.containers[name="web"].image`. */
export function renderPath(path: string): string {
  let out = '';
  for (const seg of path.split(SEP)) {
    if (seg.startsWith('f:')) out += `.${seg.slice(2)}`;
    else if (seg.startsWith('k:')) {
      const key = JSON.parse(seg.slice(2)) as JsonObject;
      out += `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    } else if (seg.startsWith('v:')) out += `[=${seg.slice(2)}]`;
  }
  return out;
}

/** Merges an applied configuration into a live value (server-side apply's merge). */
export function mergeApplied(
  live: Json | undefined,
  applied: Json,
  ctx: SchemaContext,
  fieldPath: string[],
): Json {
  if (isObject(applied)) {
    if (!isObject(live) || (fieldPath.length > 0 && isAtomicStruct(ctx, fieldPath, applied)))
      return clone(applied);
    const out: JsonObject = clone(live);
    for (const [k, v] of Object.entries(applied)) {
      if (v === null) {
        delete out[k];
        continue;
      }
      out[k] = mergeApplied(out[k], v, ctx, [...fieldPath, k]);
    }
    return out;
  }
  if (Array.isArray(applied)) {
    const rule = listRule(ctx, fieldPath);
    if (!Array.isArray(live)) return clone(applied);
    if (rule.kind === 'set') {
      const out = clone(live);
      for (const v of applied) if (!out.some((x) => deepEqual(x, v))) out.push(clone(v));
      return out;
    }
    if (rule.kind === 'map') {
      const out = clone(live);
      for (const item of applied) {
        const key = itemKey(rule, item);
        const index = key ? out.findIndex((x) => sameKey(itemKey(rule, x), key)) : -1;
        if (index >= 0) out[index] = mergeApplied(out[index], item, ctx, fieldPath);
        else out.push(clone(item));
      }
      return out;
    }
    return clone(applied);
  }
  return applied;
}

export interface ApplyResult {
  object: JsonObject;
}

/**
 * Server-side apply of `applied` onto `live` (undefined: the object is created). Throws a 409 with the conflicts
 * (FieldManagerConflict causes) unless `force`. The result carries the new managedFields.
 */
export function serverSideApply(
  live: JsonObject | undefined,
  applied: JsonObject,
  w: WriteContext & { force: boolean },
  describe: { kind: string; group: string; plural: string; name: string },
): ApplyResult {
  const entries = readManaged(live);
  const appliedSet = fieldSetOf(applied, w.ctx, w.scope);
  const conflicts: Array<{ entry: ManagedEntry; path: string }> = [];
  for (const p of appliedSet) {
    if (!isLeaf(p, appliedSet)) continue;
    const appliedValue = valueAt(applied, p, w.ctx);
    // Only values conflict: an (empty) map or struct applied is membership, not a value.
    if (isObject(appliedValue) && !isAtomicStruct(w.ctx, fieldNames(p), appliedValue)) continue;
    const liveValue = live ? valueAt(live, p, w.ctx) : undefined;
    if (liveValue === undefined || deepEqual(liveValue, appliedValue)) continue;
    for (const e of entries) {
      if (sameManager(e, w.manager, 'Apply', w.subresource)) continue;
      if (e.set.has(p)) conflicts.push({ entry: e, path: p });
    }
  }
  if (conflicts.length && !w.force) throw conflictError(conflicts, describe);
  for (const c of conflicts) c.entry.set.delete(c.path);

  const stripped = clone(applied);
  const m = stripped['metadata'];
  if (isObject(m))
    for (const k of Object.keys(m))
      if (UNTRACKED_METADATA.has(k) && k !== 'name' && k !== 'namespace') delete m[k];
  if (w.scope === 'main') delete stripped['status'];
  let merged = mergeApplied(live ?? {}, stripped, w.ctx, []) as JsonObject;

  const mine = entryFor(entries, w.manager, 'Apply', w.subresource, w.apiVersion, w.time);
  const previous = mine.set;
  const others = entries.filter((e) => e !== mine);
  const ownedByOthers = (p: string): boolean =>
    others.some((e) => {
      if (e.set.has(p)) return true;
      const prefix = p + SEP;
      for (const q of e.set) if (q.startsWith(prefix)) return true;
      return false;
    });
  const removed = [...previous].filter((p) => !appliedSet.has(p)).sort((a, b) => b.length - a.length);
  if (removed.length) {
    merged = clone(merged);
    for (const p of removed) if (!ownedByOthers(p)) removeAt(merged, p, w.ctx);
  }
  mine.set = appliedSet;
  mine.time = w.time;
  mine.apiVersion = w.apiVersion;
  writeManaged(merged, entries);
  return { object: merged };
}

function conflictError(
  conflicts: Array<{ entry: ManagedEntry; path: string }>,
  d: { kind: string; group: string; plural: string; name: string },
): ApiError {
  const who = (e: ManagedEntry): string =>
    `conflict with ${JSON.stringify(e.manager)}${e.subresource ? ` with subresource ${JSON.stringify(e.subresource)}` : ''} using ${e.apiVersion}`;
  const causes = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: who(c.entry),
    field: renderPath(c.path),
  }));
  let message: string;
  if (conflicts.length === 1) {
    const c = conflicts[0] as { entry: ManagedEntry; path: string };
    message = `Apply failed with 1 conflict: ${who(c.entry)}: ${renderPath(c.path)}`;
  } else {
    const byWho = new Map<string, string[]>();
    for (const c of conflicts) {
      const k = who(c.entry).replace(/^conflict/, 'conflicts');
      byWho.set(k, [...(byWho.get(k) ?? []), renderPath(c.path)]);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${[...byWho]
      .map(([k, paths]) => `${k}:\n${paths.map((p) => `- ${p}`).join('\n')}`)
      .join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, {
    name: d.name,
    group: d.group,
    kind: d.plural,
    causes,
  });
}
