/**
 * What a deployment changes: what Marathon stores now against what it will store after Kiln's PUT, field by
 * field (JSON pointers of the normalized app). Kiln updates with Marathon's `partialUpdate` semantics (the default
 * of `PUT /v2/apps/{id}`): the top-level fields in the file replace the current ones, fields absent from the file
 * keep their current value.
 */
import {
  isJsonObject,
  jsonEqual,
  pointerSegment,
  stringifyJson,
  type JsonObject,
  type JsonValue,
} from '../util/json.js';
import { isKilnLabel } from '../deploy/labels.js';
import { COMPUTED_APP_FIELDS } from './definition.js';
import { expectedApp, normalizeApp, withKeptFields } from './normalize.js';

export interface DefinitionChange {
  /** JSON pointer, e.g. `/container/docker/image`. */
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: JsonValue;
  after?: JsonValue;
}

function walk(
  path: string,
  before: JsonValue | undefined,
  after: JsonValue | undefined,
  out: DefinitionChange[],
) {
  if (jsonEqual(before, after)) return;
  if (before === undefined) {
    out.push({ path, kind: 'added', after });
    return;
  }
  if (after === undefined) {
    out.push({ path, kind: 'removed', before });
    return;
  }
  if (isJsonObject(before) && isJsonObject(after)) {
    const keys = [...Object.keys(before), ...Object.keys(after).filter((k) => !(k in before))];
    for (const k of keys) walk(`${path}/${pointerSegment(k)}`, before[k], after[k], out);
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    before.forEach((b, i) => walk(`${path}/${i}`, b, after[i], out));
    return;
  }
  out.push({ path, kind: 'changed', before, after });
}

function withoutKilnLabels(app: JsonObject): JsonObject {
  const labels = app['labels'];
  if (!isJsonObject(labels)) return app;
  const kept: JsonObject = {};
  for (const [k, v] of Object.entries(labels)) if (!isKilnLabel(k)) kept[k] = v;
  return { ...app, labels: kept };
}

/**
 * Changes `rendered` makes to `current` (undefined: the app does not exist yet, every field of the file is added),
 * compared like with like: what Marathon stores now against what it will store after Kiln's partial-update PUT
 * (normalize.ts). `id`, Marathon's computed fields and Kiln's own labels are not compared.
 */
export function diffDefinitions(current: JsonObject | undefined, rendered: JsonObject): DefinitionChange[] {
  const out: DefinitionChange[] = [];
  if (current === undefined) {
    for (const key of Object.keys(rendered))
      if (key !== 'id' && !COMPUTED_APP_FIELDS.includes(key))
        out.push({ path: `/${pointerSegment(key)}`, kind: 'added', after: rendered[key] as JsonValue });
    return out;
  }
  const before = withoutKilnLabels(normalizeApp(current));
  const after = withoutKilnLabels(expectedApp(current, withKeptFields(rendered, current)));
  const keys = [...Object.keys(before), ...Object.keys(after).filter((k) => !(k in before))];
  for (const key of keys) if (key !== 'id') walk(`/${pointerSegment(key)}`, before[key], after[key], out);
  return out;
}

function short(v: JsonValue | undefined, max = 160): string {
  const text = v === undefined ? '' : stringifyJson(v, 0);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** One line per change: `~ /path: before → after`, `+ /path: value`, `- /path: value`. */
export function formatDiff(changes: readonly DefinitionChange[]): string[] {
  return changes.map((c) =>
    c.kind === 'added'
      ? `+ ${c.path}: ${short(c.after)}`
      : c.kind === 'removed'
        ? `- ${c.path}: ${short(c.before)}`
        : `~ ${c.path}: ${short(c.before)} → ${short(c.after)}`,
  );
}
