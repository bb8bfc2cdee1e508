import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { formatDuration, MAX_DURATION_MS, parseDuration } from '../util/duration.js';
import { describeType, type InputDecl, type InputValues } from './spec.js';

/** How a raw value (always a string, as on every platform) is looked up. `undefined` or '' means "not given". */
export type RawInputSource = (name: string) => string | undefined;

export interface ParseOptions {
  /** Paths are resolved against this (the workspace). */
  cwd?: string;
  /** An input was given under its former name (`deprecatedName`). */
  onDeprecatedName?: (former: string, current: string) => void;
}

/** Show a value in an error message: quoted, shortened, never for secrets. */
function show(decl: InputDecl, value: string): string {
  if (decl.secret) return '(value hidden: secret input)';
  const v = value.length > 120 ? `${value.slice(0, 117)}...` : value;
  return JSON.stringify(v);
}

/** Split a list: newlines always, commas unless disabled; blank items and surrounding spaces dropped. */
export function splitList(raw: string, commas = true): string[] {
  return raw
    .split(commas ? /[\n,]/ : /\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function parseUrl(name: string, decl: InputDecl, raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new InputError(name, `${show(decl, raw)} is not a valid URL; expected an http:// or https:// URL.`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new InputError(name, `${show(decl, raw)} uses ${u.protocol}; expected an http:// or https:// URL.`);
  // user:password@ in a URL travels into logs, outputs and reports: refuse it (without showing it).
  if (u.username || u.password)
    throw new InputError(
      name,
      `a URL contains credentials (value hidden); expected it without user:password@ — give them in the action's credential inputs (e.g. basic-auth), which are masked.`,
    );
  return raw;
}

/** Parse one declared input from its raw string. Throws {@link InputError} naming the input. */
export function parseInputValue(
  name: string,
  decl: InputDecl,
  raw: string,
  opts: ParseOptions = {},
): unknown {
  const value = decl.type === 'list' || decl.type === 'map' ? raw : raw.trim();
  const expected = () => `expected ${describeType(decl)}.`;
  switch (decl.type) {
    case 'string':
      if (decl.pattern && !decl.pattern.test(value))
        throw new InputError(name, `${show(decl, value)} is not valid; ${expected()}`);
      return value;
    case 'boolean':
      // Strict, like the YAML 1.2 core schema the runner uses: anything else is a mistake worth reporting.
      if (['true', 'True', 'TRUE'].includes(value)) return true;
      if (['false', 'False', 'FALSE'].includes(value)) return false;
      throw new InputError(name, `${show(decl, value)} is not a boolean; expected true or false.`);
    case 'integer': {
      if (!/^[+-]?\d+$/.test(value))
        throw new InputError(name, `${show(decl, value)} is not an integer; ${expected()}`);
      const n = Number(value);
      if ((decl.min !== undefined && n < decl.min) || (decl.max !== undefined && n > decl.max))
        throw new InputError(name, `${show(decl, value)} is out of range; ${expected()}`);
      return n;
    }
    case 'duration': {
      const ms = parseDuration(value);
      if (ms === undefined)
        throw new InputError(
          name,
          `${show(decl, value)} is not a duration; expected e.g. 500ms, 30s, 5m or 1h30m.`,
        );
      if (decl.min !== undefined && ms < decl.min)
        throw new InputError(name, `${show(decl, value)} is too short; expected at least ${decl.min}ms.`);
      if (decl.max !== undefined && ms > decl.max)
        throw new InputError(name, `${show(decl, value)} is too long; expected at most ${decl.max}ms.`);
      if (ms > MAX_DURATION_MS)
        throw new InputError(
          name,
          `${show(decl, value)} is too long; expected at most ${formatDuration(MAX_DURATION_MS)} (about 24.8 days): longer waits overflow Node's timers.`,
        );
      return ms;
    }
    case 'list': {
      let items = splitList(value, decl.commas !== false);
      if (decl.items === 'url') {
        // url-health-check-action's form, `url: https://a|https://b`, is accepted as two URLs.
        items = items.flatMap((item) =>
          /^https?:\/\/[^|]+(\|https?:\/\/[^|]+)+$/i.test(item)
            ? item.split('|').map((u) => u.trim())
            : [item],
        );
        for (const item of items) parseUrl(name, decl, item);
      }
      return items;
    }
    case 'enum':
      if (!decl.values.includes(value))
        throw new InputError(
          name,
          `${show(decl, value)} is not allowed; expected one of: ${decl.values.join(', ')}.`,
        );
      return value;
    case 'map': {
      const map: Record<string, string> = {};
      for (const line of splitList(value, false)) {
        const eq = line.indexOf('=');
        const key = eq > 0 ? line.slice(0, eq).trim() : '';
        if (key === '')
          throw new InputError(
            name,
            `${show(decl, line)} is not a key=value pair; expected one key=value per line.`,
          );
        map[key] = line.slice(eq + 1).trim();
      }
      return map;
    }
    case 'path': {
      const full = isAbsolute(value) ? value : resolve(opts.cwd ?? process.cwd(), value);
      if (decl.mustExist !== false && !existsSync(full))
        throw new InputError(
          name,
          `${show(decl, value)} does not exist (looked for ${full}); expected an existing path.`,
        );
      return full;
    }
    case 'url':
      return parseUrl(name, decl, value);
  }
}

/**
 * Read and validate every declared input. Defaults apply when a value is missing or empty (the runner passes
 * unset inputs as ''); a missing required input is an error naming it.
 */
export function parseInputs<I extends Record<string, InputDecl>>(
  inputs: I,
  source: RawInputSource,
  opts: ParseOptions = {},
): InputValues<I> {
  const out: Record<string, unknown> = {};
  for (const [name, decl] of Object.entries(inputs)) {
    let given = source(name);
    if ((given === undefined || given.trim() === '') && decl.deprecatedName !== undefined) {
      given = source(decl.deprecatedName);
      if (given !== undefined && given.trim() !== '') opts.onDeprecatedName?.(decl.deprecatedName, name);
    }
    const raw = given !== undefined && given.trim() !== '' ? given : decl.default;
    if (raw === undefined || raw.trim() === '') {
      if (decl.required) throw new InputError(name, `is required; expected ${describeType(decl)}.`);
      out[name] = decl.type === 'list' ? [] : decl.type === 'map' ? {} : undefined;
      continue;
    }
    out[name] = parseInputValue(name, decl, raw, opts);
  }
  return out as InputValues<I>;
}
