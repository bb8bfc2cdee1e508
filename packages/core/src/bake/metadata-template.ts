/**
 * The small template language of the `tags` and `flavor` inputs, and semantic versions: what docker/metadata-action
 * does with Handlebars, moment and the `semver` package, written out so that every expression is checked when the
 * rule is read (an unknown `{{name}}` is an error naming the line, not an empty string at build time).
 *
 *     template   := (text | '{{' expression '}}')*
 *     expression := name (' ' argument)*        name := [a-z_]+
 *     argument   := 'quoted' | "quoted" | key '=' ('quoted' | "quoted" | bare)
 *
 * Dates (`{{date 'YYYYMMDD' tz='Asia/Tokyo'}}`, `{{commit_date '…'}}`) take moment's format tokens YYYY YY M MM
 * D DD H HH h hh m mm s ss SSS A a X x and `[literal text]`; any other letter is an error (moment would give it a
 * meaning we do not reproduce). The time zone is UTC unless `tz=` names an IANA zone.
 */

/** A piece of a parsed template: literal text, or an expression with its arguments. */
export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'expr'; name: string; args: string[]; hash: Record<string, string> };

export interface Template {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
}

/** What an expression evaluates against: plain values by name, and the two dates. */
export interface TemplateScope {
  values: Readonly<Record<string, string>>;
  now?: Date;
  commitDate?: Date;
}

/** Expressions that render a date: one format argument, optional `tz=`. */
const DATE_EXPRESSIONS = new Set(['date', 'commit_date']);

/** Parses `source`, allowing only the expression names in `allowed`; throws an Error saying what is wrong. */
export function parseTemplate(source: string, allowed: readonly string[]): Template {
  const parts: TemplatePart[] = [];
  let i = 0;
  let text = '';
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    const close = source.indexOf('}}', i);
    if (close >= 0 && (open < 0 || close < open)) {
      throw new Error(`'}}' at character ${close + 1} closes nothing`);
    }
    if (open < 0) {
      text += source.slice(i);
      break;
    }
    text += source.slice(i, open);
    const { end, body } = scanExpression(source, open + 2);
    if (text !== '') parts.push({ kind: 'text', text });
    text = '';
    parts.push(parseExpression(body, allowed));
    i = end;
  }
  if (text !== '') parts.push({ kind: 'text', text });
  return { source, parts };
}

/** The body of `{{ … }}` starting at `from` (after the braces) and the index after the closing `}}`. */
function scanExpression(source: string, from: number): { end: number; body: string } {
  let quote: string | undefined;
  for (let j = from; j < source.length; j++) {
    const c = source[j];
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '{' && source[j + 1] === '{') {
      throw new Error(`'{{' at character ${from - 1} is not closed before the next '{{'`);
    } else if (c === '}' && source[j + 1] === '}') {
      return { end: j + 2, body: source.slice(from, j) };
    }
  }
  throw new Error(
    quote !== undefined
      ? `a quote in '{{' at character ${from - 1} is not closed`
      : `'{{' at character ${from - 1} is not closed with '}}'`,
  );
}

function parseExpression(body: string, allowed: readonly string[]): TemplatePart {
  const tokens = tokenize(body);
  const [first, ...rest] = tokens;
  if (first === undefined || first.key !== undefined || first.quoted) {
    throw new Error(`'{{${body}}}' has no expression name; expected one of ${listNames(allowed)}`);
  }
  const name = first.value;
  if (!allowed.includes(name)) {
    throw new Error(`unknown expression '{{${name}}}' here; expected one of ${listNames(allowed)}`);
  }
  const args: string[] = [];
  const hash: Record<string, string> = {};
  for (const t of rest) {
    if (t.key !== undefined) {
      if (Object.prototype.hasOwnProperty.call(hash, t.key))
        throw new Error(`'${t.key}=' is given twice in {{${name}}}`);
      hash[t.key] = t.value;
    } else if (!t.quoted) {
      throw new Error(`'${t.value}' in {{${name}}} must be quoted ('…')`);
    } else {
      args.push(t.value);
    }
  }
  if (DATE_EXPRESSIONS.has(name)) {
    if (args.length !== 1) throw new Error(`{{${name}}} takes one format, e.g. {{${name} 'YYYYMMDD'}}`);
    for (const key of Object.keys(hash)) {
      if (key !== 'tz') throw new Error(`unknown attribute '${key}=' in {{${name}}}; only tz= is known`);
    }
    checkDateFormat(args[0] ?? '');
    if (hash.tz !== undefined) checkTimeZone(hash.tz);
  } else if (args.length > 0 || Object.keys(hash).length > 0) {
    throw new Error(`{{${name}}} takes no arguments`);
  }
  return { kind: 'expr', name, args, hash };
}

interface Token {
  key?: string;
  value: string;
  quoted: boolean;
}

function tokenize(body: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const readQuoted = (): string => {
    const q = body[i];
    const end = body.indexOf(q ?? '', i + 1);
    if (end < 0) throw new Error(`a quote in '{{${body}}}' is not closed`);
    const v = body.slice(i + 1, end);
    i = end + 1;
    return v;
  };
  while (i < body.length) {
    const c = body[i];
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      tokens.push({ value: readQuoted(), quoted: true });
      continue;
    }
    const m = /^[A-Za-z_][\w-]*/.exec(body.slice(i));
    if (!m) throw new Error(`unexpected '${c}' in '{{${body}}}'`);
    i += m[0].length;
    if (body[i] === '=') {
      i++;
      const q = body[i];
      if (q === "'" || q === '"') {
        tokens.push({ key: m[0], value: readQuoted(), quoted: true });
      } else {
        const bare = /^[^\s'"]*/.exec(body.slice(i))?.[0] ?? '';
        i += bare.length;
        tokens.push({ key: m[0], value: bare, quoted: false });
      }
    } else {
      tokens.push({ value: m[0], quoted: false });
    }
  }
  return tokens;
}

function listNames(names: readonly string[]): string {
  return names.length === 0 ? 'none (no {{…}} here)' : names.map((n) => `{{${n}}}`).join(', ');
}

/** True when the template is one expression and nothing else, e.g. exactly `{{raw}}`. */
export function isSingleExpression(t: Template, name: string): boolean {
  const [only, ...rest] = t.parts;
  return rest.length === 0 && only?.kind === 'expr' && only.name === name;
}

/** True when the template has no expression at all. */
export function isLiteral(t: Template): boolean {
  return t.parts.every((p) => p.kind === 'text');
}

/** Renders a parsed template. Names were checked when it was parsed; a value missing here renders as ''. */
export function renderTemplate(t: Template, scope: TemplateScope): string {
  let out = '';
  for (const p of t.parts) {
    if (p.kind === 'text') {
      out += p.text;
    } else if (DATE_EXPRESSIONS.has(p.name)) {
      const date = (p.name === 'commit_date' ? scope.commitDate : undefined) ?? scope.now ?? new Date();
      out += formatDate(date, p.args[0] ?? '', p.hash.tz);
    } else {
      out += scope.values[p.name] ?? '';
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Dates

const DATE_TOKEN_RE = /\[[^\]]*\]|YYYY|YY|MM|M|DD|D|HH|H|hh|h|mm|m|ss|s|SSS|X|x|[A-Za-z]/g;
const KNOWN_DATE_TOKENS = new Set([
  'YYYY',
  'YY',
  'MM',
  'M',
  'DD',
  'D',
  'HH',
  'H',
  'hh',
  'h',
  'mm',
  'm',
  'ss',
  's',
  'SSS',
  'A',
  'a',
  'X',
  'x',
]);

function checkDateFormat(format: string): void {
  for (const m of format.matchAll(DATE_TOKEN_RE)) {
    const tok = m[0];
    if (!tok.startsWith('[') && !KNOWN_DATE_TOKENS.has(tok)) {
      throw new Error(
        `'${tok}' in date format '${format}' is not supported; use YYYY YY M MM D DD H HH h hh m mm s ss SSS A a X x, and [text] for letters`,
      );
    }
  }
}

function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new Error(`unknown time zone tz='${tz}'; expected an IANA name such as 'Europe/Paris' or 'UTC'`);
  }
}

/** `date` in `tz` (default UTC) with moment's tokens (see the module comment). */
export function formatDate(date: Date, format: string, tz = 'UTC'): string {
  const fields: Record<string, string> = {};
  for (const p of new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(date)) {
    fields[p.type] = p.value;
  }
  const num = (k: string): number => Number(fields[k] ?? '0');
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const hour = num('hour') % 24;
  const h12 = hour % 12 === 0 ? 12 : hour % 12;
  return format.replace(DATE_TOKEN_RE, (tok) => {
    switch (tok) {
      case 'YYYY':
        return pad(num('year'), 4);
      case 'YY':
        return pad(num('year') % 100);
      case 'MM':
        return pad(num('month'));
      case 'M':
        return String(num('month'));
      case 'DD':
        return pad(num('day'));
      case 'D':
        return String(num('day'));
      case 'HH':
        return pad(hour);
      case 'H':
        return String(hour);
      case 'hh':
        return pad(h12);
      case 'h':
        return String(h12);
      case 'mm':
        return pad(num('minute'));
      case 'm':
        return String(num('minute'));
      case 'ss':
        return pad(num('second'));
      case 's':
        return String(num('second'));
      case 'SSS':
        return pad(date.getUTCMilliseconds(), 3);
      case 'A':
        return hour < 12 ? 'AM' : 'PM';
      case 'a':
        return hour < 12 ? 'am' : 'pm';
      case 'X':
        return String(Math.floor(date.getTime() / 1000));
      case 'x':
        return String(date.getTime());
      default:
        return tok.startsWith('[') ? tok.slice(1, -1) : tok;
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Semantic versions (semver.org 2.0.0, with the optional leading 'v' the `semver` package's `valid` accepts)

export interface SemVer {
  /** As given (trimmed), e.g. 'v1.2.3-rc.1+build.5'. */
  raw: string;
  major: number;
  minor: number;
  patch: number;
  prerelease: string[];
  build: string[];
  /** major.minor.patch[-prerelease], without 'v' and build metadata, e.g. '1.2.3-rc.1'. */
  version: string;
}

const NUM = '0|[1-9]\\d*';
const PRE_ID = `(?:${NUM}|\\d*[a-zA-Z-][a-zA-Z0-9-]*)`;
const BUILD_ID = '[0-9A-Za-z-]+';
const SEMVER_RE = new RegExp(
  `^v?(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+(${BUILD_ID}(?:\\.${BUILD_ID})*))?$`,
);

/** The version in `s` when it is a valid semantic version (optionally 'v'-prefixed), else undefined. */
export function parseSemVer(s: string): SemVer | undefined {
  const raw = s.trim();
  if (raw.length > 256) return undefined;
  const m = SEMVER_RE.exec(raw);
  if (!m) return undefined;
  const [major, minor, patch] = [m[1], m[2], m[3]].map(Number) as [number, number, number];
  if (![major, minor, patch].every(Number.isSafeInteger)) return undefined;
  const prerelease = m[4] ? m[4].split('.') : [];
  const build = m[5] ? m[5].split('.') : [];
  const version = `${major}.${minor}.${patch}${prerelease.length ? `-${prerelease.join('.')}` : ''}`;
  return { raw, major, minor, patch, prerelease, build, version };
}

/** True for a release version: valid semver without a prerelease part ('v1.2.3', '1.2.3+build'). */
export function isReleaseVersion(s: string): boolean {
  const v = parseSemVer(s);
  return v !== undefined && v.prerelease.length === 0;
}
