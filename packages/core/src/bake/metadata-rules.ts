/**
 * The `tags` and `flavor` inputs: docker/metadata-action's `type=…` rules, parsed and checked when they are read.
 *
 * One rule per line; blank lines and lines starting with `#` are skipped. A rule is comma-separated `key=value`
 * fields (CSV: a field, or a value after `key=`, may be double-quoted to hold commas, `""` being a quote); a field
 * without `=` is the `value`, and a rule without `type=` is `type=raw` (so a bare line `foo` is the tag `foo`).
 *
 *     type=schedule[,pattern=nightly]                       on a scheduled run; pattern may use {{date '…'}}
 *     type=semver,pattern=<p>[,value=<v>][,match=<re>]      a semver git tag (or value); p uses {{raw}} {{version}}
 *                                                           {{major}} {{minor}} {{patch}}; a prerelease gets only
 *                                                           {{version}} (or {{raw}} when p is exactly {{raw}})
 *     type=match,pattern=<re>[,group=<n>][,value=<v>]       a regex on the git tag (or value); re may be /re/flags
 *     type=edge[,branch=<name>]                             'edge' on that branch (default: the default branch)
 *     type=ref,event=branch|tag|pr                          the branch name, the tag name, pr-<number>
 *     type=raw,value=<v>                                    a fixed tag (value may use the global expressions)
 *     type=sha[,format=short|long]                          sha-<7 hex> or the full sha
 *
 * Every rule also takes `enable=true|false|{{is_default_branch}}|{{is_not_default_branch}}`, `priority=<int>`,
 * `prefix=` and `suffix=` (these two replace the flavor's). Global expressions, in prefix, suffix and value:
 * {{branch}} {{tag}} {{sha}} {{base_ref}} {{is_default_branch}} {{is_not_default_branch}} {{date '…'}}
 * {{commit_date '…'}} (metadata-template.ts).
 *
 * Default priorities (metadata-action's): schedule 1000, semver 900, match 800, edge 700, ref 600, raw 200, sha 100.
 *
 * `flavor`: `latest=auto|true|false`, `prefix=<p>[,onlatest=true|false]`, `suffix=<s>[,onlatest=true|false]`.
 */
import { InputError } from '../errors.js';
import { parseTemplate, type Template } from './metadata-template.js';

export type RuleType = 'schedule' | 'semver' | 'match' | 'edge' | 'ref' | 'raw' | 'sha';
export type RefEvent = 'branch' | 'tag' | 'pr';

export const DEFAULT_PRIORITIES: Readonly<Record<RuleType, number>> = {
  schedule: 1000,
  semver: 900,
  match: 800,
  edge: 700,
  ref: 600,
  raw: 200,
  sha: 100,
};

/**
 * The rules used when `tags` is empty: metadata-action's defaults (schedule, branch, tag, pr) plus `type=sha`, so
 * that every build also has a tag naming its commit.
 */
export const DEFAULT_TAG_RULES: readonly string[] = [
  'type=schedule',
  'type=ref,event=branch',
  'type=ref,event=tag',
  'type=ref,event=pr',
  'type=sha',
];

/** One parsed rule. `line` and `text` say where it came from (1-based line in the input; the line as written). */
interface RuleBase {
  line: number;
  text: string;
  priority: number;
  /** `true`/`false`, or the expression deciding it. */
  enable: boolean | 'is_default_branch' | 'is_not_default_branch';
  /** When given on the rule: replaces the flavor's prefix/suffix. */
  prefix?: Template;
  suffix?: Template;
}

export type TagRule = RuleBase &
  (
    | { type: 'schedule'; pattern: Template }
    | { type: 'semver'; pattern: Template; value?: Template; match?: RegExp }
    | { type: 'match'; pattern: RegExp; group: number; value?: Template }
    | { type: 'edge'; branch?: string }
    | { type: 'ref'; event: RefEvent }
    | { type: 'raw'; value: Template }
    | { type: 'sha'; format: 'short' | 'long' }
  );

export interface Flavor {
  latest: 'auto' | 'true' | 'false';
  prefix?: Template;
  /** Whether the flavor prefix is also put on `latest`. */
  prefixLatest: boolean;
  suffix?: Template;
  suffixLatest: boolean;
}

/** The expressions allowed in prefix, suffix, value and schedule patterns. */
export const GLOBAL_EXPRESSIONS: readonly string[] = [
  'branch',
  'tag',
  'sha',
  'base_ref',
  'is_default_branch',
  'is_not_default_branch',
  'date',
  'commit_date',
];
const SEMVER_EXPRESSIONS: readonly string[] = ['raw', 'version', 'major', 'minor', 'patch'];

const COMMON_KEYS = ['type', 'enable', 'priority', 'prefix', 'suffix'];
const TYPE_KEYS: Record<RuleType, readonly string[]> = {
  schedule: ['pattern'],
  semver: ['pattern', 'value', 'match'],
  match: ['pattern', 'group', 'value'],
  edge: ['branch'],
  ref: ['event'],
  raw: ['value'],
  sha: ['format'],
};
const EXAMPLES: Record<RuleType, string> = {
  schedule: "type=schedule,pattern={{date 'YYYYMMDD'}}",
  semver: 'type=semver,pattern={{version}}',
  match: 'type=match,pattern=v(\\d+\\.\\d+),group=1',
  edge: 'type=edge,branch=main',
  ref: 'type=ref,event=branch',
  raw: 'type=raw,value=stable',
  sha: 'type=sha,format=long',
};
const TYPES = Object.keys(DEFAULT_PRIORITIES) as RuleType[];

/** The meaningful lines of a list input (not blank, not `#` comments), with their 1-based line numbers. */
function inputLines(input: string | readonly string[]): { line: number; text: string }[] {
  const lines = typeof input === 'string' ? input.split(/\r?\n/) : input.flatMap((s) => s.split(/\r?\n/));
  return lines
    .map((raw, i) => ({ line: i + 1, text: raw.trim() }))
    .filter((l) => l.text !== '' && !l.text.startsWith('#'));
}

interface Field {
  key?: string;
  value: string;
}

/**
 * Splits one line into `key=value` fields the way csv-parse does (a field may be double-quoted to hold commas, `""`
 * being a quote), also allowing `key="quoted value"`. Keys are lower-cased; unquoted keys and values are trimmed.
 * A field without `=` is a bare value; empty fields are dropped.
 */
function splitFields(text: string): Field[] {
  const fields: Field[] = [];
  let i = 0;
  for (;;) {
    let head = '';
    let quoted: string | undefined;
    while (i < text.length && text[i] !== ',') {
      const c = text[i] as string;
      if (c === '"' && quoted === undefined && (head.trim() === '' || /^[^="]*=\s*$/.test(head))) {
        let value = '';
        let j = i + 1;
        for (;;) {
          if (j >= text.length) throw new Error('a double quote is not closed');
          if (text[j] === '"') {
            if (text[j + 1] !== '"') break;
            value += '"';
            j += 2;
            continue;
          }
          value += text[j];
          j++;
        }
        i = j + 1;
        while (text[i] === ' ' || text[i] === '\t') i++;
        if (i < text.length && text[i] !== ',') {
          throw new Error(`unexpected text after a closing double quote: '${text.slice(i)}'`);
        }
        quoted = value;
        break;
      }
      head += c;
      i++;
    }
    const field = toField(head, quoted);
    if (field) fields.push(field);
    if (i >= text.length) return fields;
    i++; // the comma
  }
}

function toField(head: string, quoted: string | undefined): Field | undefined {
  if (quoted !== undefined) {
    const key = head.trim();
    // A whole quoted field ("pattern=a,b") is read as an unquoted one once unquoted, as csv-parse gives it.
    if (key === '') return quoted.trim() === '' ? undefined : toField(quoted, undefined);
    return { key: key.slice(0, -1).trim().toLowerCase(), value: quoted };
  }
  if (head.trim() === '') return undefined;
  const eq = head.indexOf('=');
  if (eq < 0) return { value: head.trim() };
  const key = head.slice(0, eq).trim().toLowerCase();
  if (key === '') throw new Error(`'${head.trim()}' has no attribute name before '='`);
  return { key, value: head.slice(eq + 1).trim() };
}

/**
 * Parses the `tags` input: one rule per line (module comment). Empty input gives {@link DEFAULT_TAG_RULES}.
 * A malformed rule throws an {@link InputError} naming the input, the line and what is expected.
 */
export function parseTagRules(input: string | readonly string[], inputName = 'tags'): TagRule[] {
  let lines = inputLines(input);
  if (lines.length === 0) lines = DEFAULT_TAG_RULES.map((text, i) => ({ line: i + 1, text }));
  return lines.map(({ line, text }) => {
    try {
      return parseRule(text, line);
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(inputName, `line ${line} '${shorten(text)}': ${(e as Error).message}`);
    }
  });
}

function shorten(s: string): string {
  // eslint-disable-next-line no-control-regex
  const visible = s.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
  return visible.length > 120 ? `${visible.slice(0, 120)}…` : visible;
}

function parseRule(text: string, line: number): TagRule {
  const attrs = new Map<string, string>();
  for (const { key, value } of splitFields(text)) {
    const k = key ?? 'value';
    if (!/^[a-z][a-z_-]*$/.test(k)) throw new Error(`'${k}' is not an attribute name`);
    if (attrs.has(k)) throw new Error(`${k}= is given twice`);
    attrs.set(k, value);
  }
  const typeValue = attrs.get('type') ?? 'raw';
  if (!TYPES.includes(typeValue as RuleType)) {
    throw new Error(
      typeValue === 'pep440'
        ? 'type=pep440 is not supported by Kiln; use type=semver or type=match'
        : `unknown type '${typeValue}'; expected one of ${TYPES.map((t) => `type=${t}`).join(', ')}`,
    );
  }
  const type = typeValue as RuleType;
  const allowed = [...COMMON_KEYS, ...TYPE_KEYS[type]];
  for (const k of attrs.keys()) {
    if (!allowed.includes(k)) {
      throw new Error(
        `unknown attribute '${k}=' for type=${type}; expected ${allowed.filter((a) => a !== 'type').join('=, ')}= (e.g. ${EXAMPLES[type]})`,
      );
    }
  }
  const get = (k: string): string | undefined => attrs.get(k);
  const template = (k: string, names: readonly string[]): Template | undefined => {
    const v = get(k);
    if (v === undefined) return undefined;
    try {
      return parseTemplate(v, names);
    } catch (e) {
      throw new Error(`${k}=: ${(e as Error).message}`);
    }
  };
  const required = (k: string): string => {
    const v = get(k);
    if (v === undefined || v === '') throw new Error(`type=${type} needs ${k}= (e.g. ${EXAMPLES[type]})`);
    return v;
  };

  const base: RuleBase = {
    line,
    text,
    priority: parsePriority(get('priority'), type),
    enable: parseEnable(get('enable')),
    prefix: template('prefix', GLOBAL_EXPRESSIONS),
    suffix: template('suffix', GLOBAL_EXPRESSIONS),
  };
  switch (type) {
    case 'schedule':
      return {
        ...base,
        type,
        pattern: template('pattern', GLOBAL_EXPRESSIONS) ?? parseTemplate('nightly', []),
      };
    case 'semver': {
      required('pattern');
      const match = get('match');
      return {
        ...base,
        type,
        pattern: template('pattern', SEMVER_EXPRESSIONS) as Template,
        value: nonEmpty(template('value', GLOBAL_EXPRESSIONS)),
        match: match ? parseRegExp(match, 'match', 1) : undefined,
      };
    }
    case 'match': {
      const group = get('group') ?? '0';
      if (!/^\d{1,3}$/.test(group))
        throw new Error(`group=${group} is not a group number (0 is the whole match)`);
      return {
        ...base,
        type,
        pattern: parseRegExp(required('pattern'), 'pattern', Number(group)),
        group: Number(group),
        value: nonEmpty(template('value', GLOBAL_EXPRESSIONS)),
      };
    }
    case 'edge': {
      const branch = get('branch');
      return { ...base, type, branch: branch === '' ? undefined : branch };
    }
    case 'ref': {
      const event = required('event');
      if (event !== 'branch' && event !== 'tag' && event !== 'pr') {
        throw new Error(`event=${event} is not known; expected event=branch, event=tag or event=pr`);
      }
      return {
        ...base,
        type,
        event,
        prefix: base.prefix ?? (event === 'pr' ? parseTemplate('pr-', []) : undefined),
      };
    }
    case 'raw': {
      const value = template('value', GLOBAL_EXPRESSIONS);
      if (value === undefined || value.source === '') {
        throw new Error(`type=raw needs value= (e.g. ${EXAMPLES.raw}, or just the tag on its own line)`);
      }
      return { ...base, type, value };
    }
    case 'sha': {
      const format = get('format') ?? 'short';
      if (format !== 'short' && format !== 'long') {
        throw new Error(`format=${format} is not known; expected format=short or format=long`);
      }
      return { ...base, type, format, prefix: base.prefix ?? parseTemplate('sha-', []) };
    }
  }
}

function nonEmpty(t: Template | undefined): Template | undefined {
  return t === undefined || t.source === '' ? undefined : t;
}

function parsePriority(v: string | undefined, type: RuleType): number {
  if (v === undefined || v === '') return DEFAULT_PRIORITIES[type];
  if (!/^-?\d{1,9}$/.test(v)) throw new Error(`priority=${v} is not a whole number (e.g. priority=650)`);
  return Number(v);
}

function parseEnable(v: string | undefined): RuleBase['enable'] {
  switch (v?.replace(/\s+/g, '')) {
    case undefined:
    case 'true':
      return true;
    case 'false':
      return false;
    case '{{is_default_branch}}':
      return 'is_default_branch';
    case '{{is_not_default_branch}}':
      return 'is_not_default_branch';
    default:
      throw new Error(
        `enable=${v} is not known; expected enable=true, enable=false, enable={{is_default_branch}} or enable={{is_not_default_branch}}`,
      );
  }
}

/** A regular expression written as `re` or `/re/flags`, which must have at least `group` capture groups. */
function parseRegExp(source: string, key: string, group: number): RegExp {
  const slashed = /^\/(.+)\/([a-z]*)$/.exec(source);
  let re: RegExp;
  try {
    re = slashed ? new RegExp(slashed[1] as string, slashed[2]) : new RegExp(source);
  } catch (e) {
    throw new Error(`${key}=${source} is not a valid regular expression (${(e as Error).message})`);
  }
  if (re.global || re.sticky) throw new Error(`${key}=${source}: the g and y flags are not allowed`);
  const groups = (new RegExp(`${re.source}|`, re.flags).exec('')?.length ?? 1) - 1;
  if (group > groups) {
    throw new Error(
      key === 'match'
        ? `match=${source} needs a capture group: the version is its first group, e.g. match=v(\\d+\\.\\d+\\.\\d+)$`
        : `group=${group} but pattern=${source} has ${groups} capture group${groups === 1 ? '' : 's'}`,
    );
  }
  return re;
}

/**
 * Parses the `flavor` input (lines of comma-separated fields): `latest=auto|true|false`, `prefix=…`, `suffix=…`,
 * each of the last two optionally followed on its line by `onlatest=true|false`.
 */
export function parseFlavor(input: string | readonly string[], inputName = 'flavor'): Flavor {
  const flavor: Flavor = { latest: 'auto', prefixLatest: false, suffixLatest: false };
  for (const { line, text } of inputLines(input)) {
    try {
      let onLatestFor: 'prefix' | 'suffix' | undefined;
      for (const { key, value } of splitFields(text)) {
        switch (key) {
          case 'latest':
            if (value !== 'auto' && value !== 'true' && value !== 'false') {
              throw new Error(
                `latest=${value} is not known; expected latest=auto, latest=true or latest=false`,
              );
            }
            flavor.latest = value;
            break;
          case 'prefix':
          case 'suffix':
            try {
              flavor[key] = parseTemplate(value, GLOBAL_EXPRESSIONS);
            } catch (e) {
              throw new Error(`${key}=: ${(e as Error).message}`);
            }
            onLatestFor = key;
            break;
          case 'onlatest':
            if (value !== 'true' && value !== 'false') {
              throw new Error(`onlatest=${value} is not known; expected onlatest=true or onlatest=false`);
            }
            if (onLatestFor === undefined)
              throw new Error('onlatest= must follow prefix= or suffix= on its line');
            flavor[onLatestFor === 'prefix' ? 'prefixLatest' : 'suffixLatest'] = value === 'true';
            break;
          default:
            throw new Error(
              `'${key === undefined ? value : `${key}=`}' is not known; expected latest=auto|true|false, prefix=…[,onlatest=true], suffix=…[,onlatest=true]`,
            );
        }
      }
    } catch (e) {
      throw new InputError(inputName, `line ${line} '${shorten(text)}': ${(e as Error).message}`);
    }
  }
  return flavor;
}
