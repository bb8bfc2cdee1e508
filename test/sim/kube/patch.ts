/**
 * The three non-apply patch types of PATCH requests:
 *
 * - `application/merge-patch+json`: RFC 7386 (objects merged, `null` deletes, lists replaced);
 * - `application/strategic-merge-patch+json`: Kubernetes' strategic merge patch for built-in kinds — lists with a
 *   merge key are merged item by item, `$patch: delete|replace|merge`, `$setElementOrder/<list>`,
 *   `$deleteFromPrimitiveList/<list>`, `$retainKeys` (what `kubectl apply`, `set image`, `rollout restart` send);
 * - `application/json-patch+json`: RFC 6902 (what `kubectl rollout undo` sends).
 */
import type { Json, JsonObject } from './meta.js';
import { ApiError, badRequest, clone, deepEqual, isObject } from './meta.js';
import type { FieldPath, SchemaContext } from './schema.js';
import { itemKey, listRule, sameKey } from './schema.js';

export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

// ----- strategic merge patch ----------------------------------------------------------------------------------

const DIRECTIVE = '$patch';
const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';
const RETAIN_KEYS = '$retainKeys';

export function strategicMergePatch(original: JsonObject, patch: JsonObject, ctx: SchemaContext): JsonObject {
  const result = smpObject(original, patch, [], ctx);
  return isObject(result) ? result : {};
}

function smpObject(
  original: Json | undefined,
  patch: JsonObject,
  path: FieldPath,
  ctx: SchemaContext,
): Json | undefined {
  const directive = patch[DIRECTIVE];
  if (directive === 'delete') return undefined;
  if (directive === 'replace') {
    const copy = clone(patch);
    delete copy[DIRECTIVE];
    return stripDirectives(copy);
  }
  if (directive !== undefined && directive !== 'merge') {
    throw badRequest(`Unknown patch type: ${JSON.stringify(directive)}`);
  }
  const result: JsonObject = isObject(original) ? clone(original) : {};
  const orders: Array<[string, Json[]]> = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS) continue;
    if (key.startsWith(SET_ORDER)) {
      if (Array.isArray(value)) orders.push([key.slice(SET_ORDER.length), value]);
      continue;
    }
    if (key.startsWith(DELETE_PRIMITIVE)) {
      const field = key.slice(DELETE_PRIMITIVE.length);
      const current = result[field];
      if (Array.isArray(current) && Array.isArray(value)) {
        result[field] = current.filter((v) => !value.some((d) => deepEqual(d, v)));
      }
      continue;
    }
    const childPath = [...path, key];
    if (value === null) {
      delete result[key];
    } else if (isObject(value)) {
      const merged = smpObject(result[key], value, childPath, ctx);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else if (Array.isArray(value)) {
      result[key] = smpList(result[key], value, childPath, ctx);
    } else {
      result[key] = value;
    }
  }
  for (const [field, order] of orders) {
    const list = result[field];
    if (Array.isArray(list)) result[field] = reorder(list, order, [...path, field], ctx);
  }
  const retain = patch[RETAIN_KEYS];
  if (Array.isArray(retain)) {
    const keep = new Set(retain.map(String));
    for (const key of Object.keys(result)) if (!keep.has(key)) delete result[key];
  }
  return result;
}

function stripDirectives(value: Json): Json {
  if (Array.isArray(value))
    return value
      .filter((v) => !(isObject(v) && Object.keys(v).length === 1 && DIRECTIVE in v))
      .map(stripDirectives);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === DIRECTIVE || k === RETAIN_KEYS || k.startsWith(SET_ORDER) || k.startsWith(DELETE_PRIMITIVE))
      continue;
    out[k] = stripDirectives(v);
  }
  return out;
}

function smpList(original: Json | undefined, patch: Json[], path: FieldPath, ctx: SchemaContext): Json[] {
  const rule = listRule(ctx, path);
  if (patch.some((p) => isObject(p) && p[DIRECTIVE] === 'replace' && Object.keys(p).length === 1)) {
    return patch.filter((p) => !(isObject(p) && p[DIRECTIVE] === 'replace')).map(stripDirectives);
  }
  const current = Array.isArray(original) ? clone(original) : [];
  if (rule.kind === 'set') {
    const out = [...current];
    for (const v of patch) if (!out.some((c) => deepEqual(c, v))) out.push(v);
    return out;
  }
  if (rule.kind !== 'map') return patch.map(stripDirectives);
  const key = rule.smpKey;
  const out = [...current];
  for (const item of patch) {
    if (!isObject(item)) continue;
    const id = item[key];
    const index = out.findIndex((c) => isObject(c) && deepEqual(c[key], id));
    if (item[DIRECTIVE] === 'delete') {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) {
      const merged = smpObject(out[index], item, path, ctx);
      if (merged === undefined) out.splice(index, 1);
      else out[index] = merged;
    } else {
      const created = smpObject(undefined, item, path, ctx);
      if (created !== undefined) out.push(created);
    }
  }
  return out;
}

/** `$setElementOrder`: items named in the order first, in that order; the others keep their relative order after. */
function reorder(list: Json[], order: Json[], path: FieldPath, ctx: SchemaContext): Json[] {
  const rule = listRule(ctx, path);
  const keyOf = (v: Json): Json => (rule.kind === 'map' && isObject(v) ? (v[rule.smpKey] ?? null) : v);
  const wanted = order.map(keyOf);
  const placed: Json[] = [];
  for (const w of wanted) {
    const found = list.find((v) => deepEqual(keyOf(v), w));
    if (found !== undefined && !placed.includes(found)) placed.push(found);
  }
  return [...placed, ...list.filter((v) => !placed.includes(v))];
}

// ----- JSON patch ---------------------------------------------------------------------------------------------

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/'))
    throw unprocessable(
      `the server rejected our request due to an error in our request: invalid JSON pointer ${JSON.stringify(pointer)}`,
    );
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function unprocessable(message: string): ApiError {
  return new ApiError(422, 'Invalid', message);
}

function parentOf(doc: Json, parts: string[], op: string, path: string): { parent: Json; last: string } {
  let cur: Json = doc;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(part)] as Json;
    else if (isObject(cur)) cur = cur[part] as Json;
    else cur = undefined as unknown as Json;
    if (cur === undefined) {
      throw new ApiError(
        500,
        'InternalError',
        `${op} operation does not apply: doc is missing path: "${path}": missing value`,
      );
    }
  }
  return { parent: cur, last: parts[parts.length - 1] ?? '' };
}

function getAt(doc: Json, pointer: string): Json | undefined {
  let cur: Json | undefined = doc;
  for (const part of parsePointer(pointer)) {
    if (Array.isArray(cur)) cur = cur[Number(part)];
    else if (isObject(cur)) cur = cur[part];
    else return undefined;
  }
  return cur;
}

export function jsonPatch(document: JsonObject, ops: Json): JsonObject {
  if (!Array.isArray(ops))
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc: Json = clone(document);
  for (const raw of ops) {
    if (!isObject(raw)) throw badRequest('invalid JSON patch operation');
    const op = String(raw['op'] ?? '');
    const path = String(raw['path'] ?? '');
    const parts = parsePointer(path);
    const value = raw['value'];
    switch (op) {
      case 'add':
      case 'replace': {
        if (value === undefined) throw badRequest(`missing value for ${op} operation`);
        if (parts.length === 0) {
          doc = clone(value);
          break;
        }
        const { parent, last } = parentOf(doc, parts, op, path);
        if (Array.isArray(parent)) {
          const idx = last === '-' ? parent.length : Number(last);
          if (
            !Number.isInteger(idx) ||
            idx < 0 ||
            idx > parent.length ||
            (op === 'replace' && idx >= parent.length)
          ) {
            throw new ApiError(
              500,
              'InternalError',
              `${op} operation does not apply: doc is missing path: "${path}": missing value`,
            );
          }
          if (op === 'add') parent.splice(idx, 0, clone(value));
          else parent[idx] = clone(value);
        } else if (isObject(parent)) {
          if (op === 'replace' && !(last in parent)) {
            throw new ApiError(
              500,
              'InternalError',
              `replace operation does not apply: doc is missing key: ${path}: missing value`,
            );
          }
          parent[last] = clone(value);
        } else {
          throw new ApiError(
            500,
            'InternalError',
            `${op} operation does not apply: doc is missing path: "${path}": missing value`,
          );
        }
        break;
      }
      case 'remove': {
        const { parent, last } = parentOf(doc, parts, op, path);
        if (Array.isArray(parent)) {
          const idx = Number(last);
          if (!Number.isInteger(idx) || idx < 0 || idx >= parent.length) {
            throw new ApiError(
              500,
              'InternalError',
              `remove operation does not apply: doc is missing path: "${path}": missing value`,
            );
          }
          parent.splice(idx, 1);
        } else if (isObject(parent) && last in parent) {
          delete parent[last];
        } else {
          throw new ApiError(
            500,
            'InternalError',
            `remove operation does not apply: doc is missing path: "${path}": missing value`,
          );
        }
        break;
      }
      case 'test': {
        if (!deepEqual(getAt(doc, path), value))
          throw unprocessable(
            `the server rejected our request due to an error in our request: testing value ${path} failed`,
          );
        break;
      }
      case 'move':
      case 'copy': {
        const from = String(raw['from'] ?? '');
        const moved = getAt(doc, from);
        if (moved === undefined)
          throw new ApiError(
            500,
            'InternalError',
            `${op} operation does not apply: doc is missing from path: ${from}`,
          );
        if (op === 'move') doc = jsonPatch(doc as JsonObject, [{ op: 'remove', path: from }]);
        doc = jsonPatch(doc as JsonObject, [{ op: 'add', path, value: clone(moved) }]);
        break;
      }
      default:
        throw badRequest(`Unexpected kind: ${op}`);
    }
  }
  if (!isObject(doc)) throw badRequest('the patch turned the object into something that is not an object');
  return doc;
}

/** Whether a value matches a list item's key (exported for server-side apply). */
export function matchesItem(ctxRule: ReturnType<typeof listRule>, a: Json, b: Json): boolean {
  return sameKey(itemKey(ctxRule, a), itemKey(ctxRule, b));
}
