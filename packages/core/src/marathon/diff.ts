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

/** Objects and arrays longer than this are cut in a diff line; a string (an image, a URL) is shown whole. */
const STRUCTURE_MAX = 160;
/** Beyond this even a string is cut (a 1 MiB `cmd` is not read in a log). */
const STRING_MAX = 2048;

function short(v: JsonValue | undefined): string {
  const text = v === undefined ? '' : stringifyJson(v, 0);
  const max = typeof v === 'string' ? STRING_MAX : STRUCTURE_MAX;
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Past this a structure is cut even on its own lines. */
const STRUCTURE_LINES_MAX = 1000;

/**
 * A value on its own diff line: a structure with a space after each `,` and `:` (outside strings), so a terminal
 * can wrap it between members and an image inside it is never cut; cut only past {@link STRUCTURE_LINES_MAX}.
 */
function spaced(v: JsonValue | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return short(v);
  const render = (x: JsonValue): string =>
    Array.isArray(x)
      ? `[${x.map(render).join(', ')}]`
      : isJsonObject(x)
        ? `{${Object.entries(x)
            .map(([k, val]) => `${stringifyJson(k, 0)}: ${render(val)}`)
            .join(', ')}}`
        : stringifyJson(x, 0);
  const text = render(v);
  return text.length > STRUCTURE_LINES_MAX ? `${text.slice(0, STRUCTURE_LINES_MAX - 1)}…` : text;
}

export interface DiffFormat {
  /**
   * A change whose one-line form is longer than this is shown on several lines: the path, then the value before
   * (`-   …`) and after (`+   …`) each on its own line, so a long `repo@sha256:…` is never cut or run together with
   * another. Default: always one line.
   */
  width?: number;
}

/**
 * One entry per change: `~ /path: before → after`, `+ /path: value`, `- /path: value`; with `width`, a longer
 * change is `~ /path:` followed by `-   before` and `+   after` lines (one entry, lines joined by `\n`).
 */
export function formatDiff(changes: readonly DefinitionChange[], format: DiffFormat = {}): string[] {
  const width = format.width ?? Infinity;
  return changes.map((c) => {
    const line =
      c.kind === 'added'
        ? `+ ${c.path}: ${short(c.after)}`
        : c.kind === 'removed'
          ? `- ${c.path}: ${short(c.before)}`
          : `~ ${c.path}: ${short(c.before)} → ${short(c.after)}`;
    if (line.length <= width) return line;
    const sign = c.kind === 'added' ? '+' : c.kind === 'removed' ? '-' : '~';
    return [
      `${sign} ${c.path}:`,
      ...(c.kind !== 'added' ? [`-   ${spaced(c.before)}`] : []),
      ...(c.kind !== 'removed' ? [`+   ${spaced(c.after)}`] : []),
    ].join('\n');
  });
}
