/**
 * What a deployment changes: the rendered definition against the one that runs now, field by field (JSON
 * pointers). Kiln updates with Marathon's `partialUpdate` semantics (the default of `PUT /v2/apps/{id}`): the
 * top-level fields in the file replace the current ones, fields absent from the file keep their current value.
 * So only the file's top-level fields are compared; inside them every difference counts.
 */
import {
  isJsonObject,
  jsonEqual,
  pointerSegment,
  stringifyJson,
  type JsonObject,
  type JsonValue,
} from './json.js';
import { COMPUTED_APP_FIELDS, VOLATILE_LABELS } from './definition.js';

export interface DefinitionChange {
  /** JSON pointer, e.g. `/container/docker/image`. */
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: JsonValue;
  after?: JsonValue;
}

export interface DiffOptions {
  /** Label keys to leave out of the comparison (Kiln's per-run labels). Default {@link VOLATILE_LABELS}. */
  ignoreLabels?: readonly string[];
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

/**
 * Changes `rendered` makes to `current` (undefined: the app does not exist yet, every field is added). `id` and
 * Marathon's computed fields are not compared.
 */
export function diffDefinitions(
  current: JsonObject | undefined,
  rendered: JsonObject,
  opts: DiffOptions = {},
): DefinitionChange[] {
  const ignore = new Set(opts.ignoreLabels ?? VOLATILE_LABELS);
  const strip = (labels: JsonValue | undefined): JsonValue | undefined => {
    if (!isJsonObject(labels)) return labels;
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(labels)) if (!ignore.has(k)) out[k] = v;
    return out;
  };
  const out: DefinitionChange[] = [];
  for (const key of Object.keys(rendered)) {
    if (key === 'id' || COMPUTED_APP_FIELDS.includes(key)) continue;
    let before = current?.[key];
    let after = rendered[key];
    if (key === 'labels') {
      before = strip(before);
      after = strip(after);
      // Marathon stores absent labels as {}: an empty object and no labels mean the same.
      if (
        current !== undefined &&
        before === undefined &&
        isJsonObject(after) &&
        Object.keys(after).length === 0
      )
        continue;
    }
    if (current === undefined) out.push({ path: `/${pointerSegment(key)}`, kind: 'added', after });
    else walk(`/${pointerSegment(key)}`, before, after, out);
  }
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
