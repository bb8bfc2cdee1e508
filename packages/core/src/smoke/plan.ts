/**
 * A smoke-test plan: what to check, how, and what makes the verdict. It comes from a checks file (YAML or
 * JSON, schema-validated with errors that give the file, the line, the path and what is expected) or from
 * the one-line form of the action's inputs (`url` + `expect-status`).
 */
import { Ajv, type ErrorObject } from 'ajv';
import { FileError, readTextFile } from '../util/files.js';
import { LineCounter, parseDocument, isMap, isNode, isScalar, type Document } from 'yaml';
import { ConfigurationError } from '../errors.js';
import { yamlAt, yamlData, yamlProblem } from '../util/yaml.js';
import { MAX_DURATION_MS, parseDuration } from '../util/duration.js';
import { PREDICATE_KEYS, toPredicate, type Predicate } from './predicate.js';
import { checksFileSchema } from './schema.js';
import { parseStatusExpectation, type StatusExpectation } from './status.js';
import { parseThreshold, type Metric, type Threshold } from './thresholds.js';
import { referencedVariables, stringsIn } from './vars.js';
import { headerProblem } from './plans.js';

export interface RequestSpec {
  method: string;
  url: string;
  headers: Record<string, string>;
  query: Record<string, string>;
  json?: unknown;
  body?: string;
  auth?: { basic?: { username: string; password: string }; bearer?: string };
  timeoutMs: number;
  followRedirects: boolean;
  insecure: boolean;
}

export interface ExpectSpec {
  status?: StatusExpectation;
  headers: Array<{ name: string; predicate: Predicate }>;
  body?: Predicate;
  jsonpath: Array<{ path: string; predicate: Predicate }>;
  duration?: Predicate;
  certificateDays?: Predicate;
  exitCode?: number;
  stdout?: Predicate;
}

export type CaptureSpec = ({ jsonpath: string } | { header: string } | { regex: string }) & {
  /** Mask the captured value (a token). A value from a response is masked only when the checks file says so. */
  secret?: boolean;
};

export interface CheckSpec {
  name: string;
  /** Where it was written, for messages: `checks[2]`. */
  where: string;
  kind: 'http' | 'command';
  request?: RequestSpec;
  command?: string[];
  /** A command check's own timeout (HTTP checks have theirs in `request`); none: bounded by the deadline. */
  commandTimeoutMs?: number;
  env: Record<string, string>;
  cwd?: string;
  expect: ExpectSpec;
  captures: Record<string, CaptureSpec>;
  retries: number;
  retryIntervalMs: number;
  /** Keep retrying until the overall deadline (the one-line form). */
  retryUntilDeadline: boolean;
  /** Capture names this check uses (it runs after the checks that capture them). */
  uses: string[];
}

export interface WaitSpec {
  request: RequestSpec;
  expect: ExpectSpec;
  initialDelayMs: number;
  intervalMs: number;
  deadlineMs: number;
  successThreshold: number;
}

export interface SmokePlan {
  source: string;
  baseUrl?: string;
  wait?: WaitSpec;
  checks: CheckSpec[];
  sample?: { iterations: number; concurrency: number; checks: string[] };
  thresholds: Threshold[];
  failureLimit: number;
  consecutiveErrorLimit: number;
}

/** Settings the action's inputs give every plan. */
export interface PlanDefaults {
  timeoutMs: number;
  expectStatus: StatusExpectation;
  headers?: Record<string, string>;
  followRedirects?: boolean;
  insecure?: boolean;
  retryIntervalMs: number;
  /** Variables known before the run (vars, secret-vars, environment): used to report undefined ones early. */
  isDefined: (name: string) => boolean;
}

type Raw = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------------
// Errors with positions

class PlanErrors {
  constructor(
    private readonly file: string,
    private readonly doc?: Document,
    private readonly lines?: LineCounter,
  ) {}
  at(path: Array<string | number>, message: string, atKey = false): ConfigurationError {
    const where = path.length
      ? path
          .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
          .join('')
          .slice(path[0] === undefined || typeof path[0] === 'number' ? 0 : 1)
      : '(top level)';
    let pos = '';
    if (this.doc && this.lines && atKey && path.length) {
      const parent = this.doc.getIn(path.slice(0, -1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((i) => isScalar(i.key) && i.key.value === path[path.length - 1]);
        if (pair && isNode(pair.key) && pair.key.range) {
          const lp = this.lines.linePos(pair.key.range[0]);
          pos = `:${lp.line}:${lp.col}`;
        }
      }
    }
    if (!pos && this.doc && this.lines) {
      for (let n = path.length; n >= 0; n--) {
        const node = this.doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) {
          const lp = this.lines.linePos(node.range[0]);
          pos = `:${lp.line}:${lp.col}`;
          break;
        }
      }
    }
    return new ConfigurationError(`${this.file}${pos}: ${where}: ${message}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Schema errors → one clear message

// Compiled on first use: start-up (and the one-line form) never pays for it.
let validator: ReturnType<Ajv['compile']> | undefined;
function validateSchema(data: unknown): { ok: boolean; errors: ErrorObject[] } {
  validator ??= new Ajv({ allErrors: true, strict: false }).compile(checksFileSchema);
  const ok = validator(data) as boolean;
  return { ok, errors: validator.errors ?? [] };
}

const KNOWN_KEYS: Record<string, string[]> = {
  '': Object.keys(checksFileSchema.properties),
  defaults: Object.keys(checksFileSchema.properties.defaults.properties),
  wait: Object.keys(checksFileSchema.properties.wait.properties),
  check: Object.keys(checksFileSchema.properties.checks.items.properties),
  expect: Object.keys(checksFileSchema.properties.checks.items.properties.expect.properties),
  predicate: [...PREDICATE_KEYS],
};

function closest(word: string, options: string[]): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)] as number[]);
    for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++)
        (d[i] as number[])[j] = Math.min(
          (d[i - 1] as number[])[j]! + 1,
          (d[i] as number[])[j - 1]! + 1,
          (d[i - 1] as number[])[j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
        );
    return (d[a.length] as number[])[b.length] as number;
  };
  const best = options.map((o) => ({ o, d: dist(word, o) })).sort((a, b) => a.d - b.d)[0];
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.o : undefined;
}

function keysFor(path: Array<string | number>): string[] {
  const names = path.filter((p): p is string => typeof p === 'string');
  const last = names[names.length - 1];
  if (names.length === 0) return KNOWN_KEYS['']!;
  if (last === 'defaults' || last === 'wait') return KNOWN_KEYS[last]!;
  if (last === 'checks') return KNOWN_KEYS.check!;
  if (last === 'expect') return KNOWN_KEYS.expect!;
  if (last === 'not' || last === 'duration' || last === 'body') return KNOWN_KEYS.predicate!;
  return [];
}

function pointerToPath(pointer: string): Array<string | number> {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describeSchemaError(e: ErrorObject): { path: Array<string | number>; message: string } {
  const path = pointerToPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  const last = path[path.length - 1];
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const known = keysFor(path);
      const guess = closest(key, known);
      return {
        path: [...path, key],
        message: `unknown key '${key}'${guess ? `; did you mean '${guess}'?` : ''}${known.length ? ` Expected one of: ${known.join(', ')}.` : ''}`,
      };
    }
    case 'required':
      return { path, message: `'${String(p.missingProperty)}' is required here` };
    case 'type':
      return { path, message: `expected ${String(p.type).replace(/,/g, ' or ')}` };
    case 'minItems':
      return { path, message: `expected at least ${String(p.limit)} item(s)` };
    case 'minimum':
    case 'maximum':
      return { path, message: `must be ${e.keyword === 'minimum' ? '≥' : '≤'} ${String(p.limit)}` };
    case 'minLength':
      return { path, message: 'must not be empty' };
    case 'pattern':
      if (last === 'baseUrl') return { path, message: 'expected an http:// or https:// URL' };
      if (last === 'method') return { path, message: 'expected an HTTP method such as GET or POST' };
      return { path, message: 'expected a duration such as 500ms, 10s or 5m' };
    case 'oneOf':
      return path.includes('captures')
        ? {
            path,
            message:
              "a capture takes exactly one of 'jsonpath', 'header' or 'regex' (and may say secret: true)",
          }
        : {
            path,
            message: "a check needs exactly one of 'url' (an HTTP check) or 'command' (a command check)",
          };
    case 'minProperties':
    case 'maxProperties':
      return last === undefined || typeof last === 'number' || path.includes('captures')
        ? { path, message: "a capture takes exactly one of 'jsonpath', 'header' or 'regex'" }
        : { path, message: `expected one of: ${PREDICATE_KEYS.join(', ')}` };
    case 'propertyNames':
      return { path, message: 'capture names are letters, digits and _ (they are used as ${name})' };
    case 'anyOf': {
      if (['timeout', 'interval', 'deadline', 'initialDelay', 'retryInterval'].includes(String(last)))
        return { path, message: 'expected a duration such as 500ms, 10s or 5m' };
      if (last === 'status')
        return { path, message: 'expected a status code, a range or class (200-299, 2xx) or a list of them' };
      if (last === 'jsonpath')
        return {
          path,
          message: 'expected a map of JSONPath → value/predicate, or a list of { path, <predicate> }',
        };
      return { path, message: `expected a value or a predicate (${PREDICATE_KEYS.join(', ')})` };
    }
    default:
      return { path, message: e.message ?? 'is not valid' };
  }
}

/**
 * Ajv lists every error (allErrors): an unknown key is the most useful (usually a typo); otherwise the deepest
 * anyOf/oneOf, which knows what was really expected (a duration, a status, url or command); else the first.
 */
function pickError(errors: ErrorObject[]): ErrorObject {
  const unknown = errors.find((e) => e.keyword === 'additionalProperties');
  if (unknown) return unknown;
  const alternatives = errors
    .filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
    .sort((a, b) => b.instancePath.length - a.instancePath.length);
  const inner = errors.filter((e) => !['anyOf', 'oneOf', 'not'].includes(e.keyword));
  const deepestAlt = alternatives[0];
  const firstInner = inner[0];
  // A plain error deeper than every alternative (e.g. a wrong type inside a valid branch) is the real one.
  if (firstInner && (!deepestAlt || firstInner.instancePath.length > deepestAlt.instancePath.length))
    return firstInner;
  return deepestAlt ?? (errors[0] as ErrorObject);
}

// ---------------------------------------------------------------------------------------------------------
// Normalisation

/** A duration from the checks file, clamped to what a timer can hold (longer ones would fire at once). */
function duration(v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  const ms = typeof v === 'number' ? Math.round(v * 1000) : (parseDuration(String(v)) ?? fallback);
  return Math.min(ms, MAX_DURATION_MS);
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries((v as Raw | undefined) ?? {})) out[k] = String(val);
  return out;
}

function statusOf(v: unknown, err: (m: string) => ConfigurationError): StatusExpectation {
  const text = Array.isArray(v) ? v.join(',') : String(v);
  const parsed = parseStatusExpectation(text);
  if (typeof parsed === 'string') throw err(parsed);
  return parsed;
}

function checkRegex(source: string, err: (m: string) => ConfigurationError): void {
  try {
    new RegExp(source);
  } catch (e) {
    throw err(
      `invalid regular expression /${source}/: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`,
    );
  }
}

function predicateRegexes(p: Predicate, err: (m: string) => ConfigurationError): void {
  if (p.matches !== undefined) checkRegex(p.matches, err);
  if (p.not) predicateRegexes(p.not, err);
}

/** Errors under one section: `at(['status'])('…')` is an error at `<section>.expect.status`. */
type ErrorsAt = (sub: Array<string | number>) => (m: string) => ConfigurationError;

/** Refuses the other kind's assertions: HTTP ones on a command check, command ones on an HTTP check. */
function refuseOtherKindKeys(r: Raw, kind: 'http' | 'command', at: ErrorsAt): void {
  if (kind === 'command') {
    for (const key of ['status', 'headers', 'body', 'jsonpath', 'duration', 'certificate'])
      if (r[key] !== undefined)
        throw at([key])(`'${key}' applies to HTTP checks; a command check takes exitCode and stdout`);
  } else {
    for (const key of ['exitCode', 'stdout'])
      if (r[key] !== undefined) throw at([key])(`'${key}' applies to command checks only`);
  }
}

/** JSONPath assertions (a map of path → predicate, or a list of { path, … }), each one Kiln evaluates. */
function normaliseJsonPaths(v: unknown, at: ErrorsAt): ExpectSpec['jsonpath'] {
  const jsonpath = Array.isArray(v)
    ? (v as Raw[]).map((j) => {
        const { path: p, ...pred } = j;
        return { path: String(p), predicate: pred as Predicate };
      })
    : Object.entries((v as Raw | undefined) ?? {}).map(([p, val]) => ({
        path: p,
        predicate: toPredicate(val),
      }));
  jsonpath.forEach((j, i) => {
    const problem = jsonPathProblem(j.path);
    if (problem) throw at(['jsonpath', i])(`JSONPath '${j.path}' ${problem}`);
    if (Object.keys(j.predicate).length === 0)
      throw at(['jsonpath', i])(`give a predicate for ${j.path}, e.g. equals or exists`);
    predicateRegexes(j.predicate, at(['jsonpath', i]));
  });
  return jsonpath;
}

/** Refuses a duration bound (gt, gte, lt, lte) written as text that is not a duration. */
function checkDurationBounds(dur: Predicate | undefined, at: ErrorsAt): void {
  if (!dur) return;
  for (const k of ['gt', 'gte', 'lt', 'lte'] as const)
    if (
      dur[k] !== undefined &&
      (typeof dur[k] === 'string' ? parseDuration(dur[k] as string) === undefined : false)
    )
      throw at(['duration', k])(`'${String(dur[k])}' is not a duration; expected e.g. 500ms`);
}

function normaliseExpect(
  raw: Raw | undefined,
  path: Array<string | number>,
  errs: PlanErrors,
  defaults: PlanDefaults,
  kind: 'http' | 'command',
): ExpectSpec {
  const r = raw ?? {};
  const at: ErrorsAt = (sub) => (m) => errs.at([...path, 'expect', ...sub], m);
  refuseOtherKindKeys(r, kind, at);
  const headers = Object.entries((r.headers as Raw | undefined) ?? {}).map(([name, v]) => ({
    name: name.toLowerCase(),
    predicate: toPredicate(v),
  }));
  headers.forEach((h) => predicateRegexes(h.predicate, at(['headers', h.name])));
  const jsonpath = normaliseJsonPaths(r.jsonpath, at);
  const body = r.body === undefined ? undefined : toPredicate(r.body);
  if (body) predicateRegexes(body, at(['body']));
  const stdout = r.stdout === undefined ? undefined : toPredicate(r.stdout);
  const dur = r.duration as Predicate | undefined;
  checkDurationBounds(dur, at);
  const cert = (r.certificate as Raw | undefined)?.daysRemaining;
  return {
    status:
      kind === 'http'
        ? r.status !== undefined
          ? statusOf(r.status, at(['status']))
          : defaults.expectStatus
        : undefined,
    headers,
    body,
    jsonpath,
    duration: dur,
    certificateDays:
      cert === undefined ? undefined : typeof cert === 'number' ? { gte: cert } : toPredicate(cert),
    exitCode: kind === 'command' ? ((r.exitCode as number | undefined) ?? 0) : undefined,
    stdout,
  };
}

/** The request settings every HTTP request of a plan starts from. */
interface RequestBase {
  headers: Record<string, string>;
  timeoutMs: number;
  followRedirects: boolean;
  insecure: boolean;
}

function normaliseRequest(raw: Raw, base: RequestBase): RequestSpec {
  const method = String(
    raw.method ?? (raw.json !== undefined || raw.body !== undefined ? 'POST' : 'GET'),
  ).toUpperCase();
  return {
    method,
    url: String(raw.url),
    headers: { ...base.headers, ...stringMap(raw.headers) },
    query: stringMap(raw.query),
    json: raw.json,
    body: raw.body as string | undefined,
    auth: raw.auth as RequestSpec['auth'],
    timeoutMs: duration(raw.timeout, base.timeoutMs),
    followRedirects: (raw.followRedirects as boolean | undefined) ?? base.followRedirects,
    insecure: (raw.insecure as boolean | undefined) ?? base.insecure,
  };
}

/** Parse and validate a checks file's text. */
export function parsePlan(text: string, file: string, defaults: PlanDefaults): SmokePlan {
  if (file.endsWith('.json')) checkJsonSyntax(text, file);
  const { doc, lines, data } = parseYaml(text, file);
  const errs = new PlanErrors(file, doc, lines);
  const raw = validatePlanData(data, file, errs);
  const fileDefaults = normaliseDefaults(raw, errs, defaults);
  const sections = new PlanNormaliser(errs, defaults, fileDefaults);
  const wait = raw.wait ? sections.wait(raw.wait as Raw) : undefined;
  const checks = (raw.checks as Raw[]).map((c, i) => sections.check(c, i));
  const sample = raw.sample ? normaliseSample(raw.sample as Raw, checks, errs) : undefined;
  const thresholds = normaliseThresholds(raw.thresholds, errs);
  const v = (raw.verdict as Raw | undefined) ?? {};
  return {
    source: file,
    baseUrl: fileDefaults.baseUrl,
    wait,
    checks,
    sample,
    thresholds,
    failureLimit: (v.failureLimit as number | undefined) ?? 0,
    consecutiveErrorLimit: (v.consecutiveErrorLimit as number | undefined) ?? 4,
  };
}

/** A `.json` file must be JSON, not merely YAML: a syntax error says the line and column where it broke. */
function checkJsonSyntax(text: string, file: string): void {
  try {
    JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const at = /position (\d+)/.exec(msg);
    let pos = '';
    if (at) {
      const before = text.slice(0, Number(at[1]));
      pos = `:${before.split('\n').length}:${before.length - before.lastIndexOf('\n')}`;
    } else {
      // Node 20's message has no position: JSON is YAML, so the YAML parser can say where it broke.
      const lp = parseDocument(text, { prettyErrors: true }).errors[0]?.linePos?.[0];
      if (lp) pos = `:${lp.line}:${lp.col}`;
    }
    throw new ConfigurationError(
      `${file}${pos}: invalid JSON: ${msg.replace(/ in JSON at position \d+.*$/, '').replace(/^Unexpected token '?(.)'?,.*$/, 'unexpected $1')}`,
    );
  }
}

/** The file as YAML (JSON is YAML): the document, its positions and its data, or an error saying where. */
function parseYaml(text: string, file: string): { doc: Document; lines: LineCounter; data: unknown } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const error = doc.errors[0];
  if (error) {
    const p = yamlProblem(error);
    throw new ConfigurationError(`${file}${yamlAt(p)}: invalid YAML: ${p.what}`);
  }
  let data: unknown;
  try {
    data = yamlData(doc);
  } catch (e) {
    throw new ConfigurationError(`${file}: invalid YAML: ${(e as Error).message}`);
  }
  return { doc, lines, data };
}

/** The data is a mapping the schema accepts; else the one clearest schema error, at its position. */
function validatePlanData(data: unknown, file: string, errs: PlanErrors): Raw {
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new PlanErrors(file).at(
      [],
      'expected a mapping with a `checks:` list (see the checks-file reference in the README)',
    );
  const validation = validateSchema(data);
  if (!validation.ok) {
    const picked = pickError(validation.errors);
    const { path, message } = describeSchemaError(picked);
    throw errs.at(path, message, picked.keyword === 'additionalProperties');
  }
  return data as unknown as Raw;
}

/** `user:password@` in a URL would travel into logs and reports. */
const URL_CREDENTIALS = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i;
const URL_CREDENTIALS_REFUSED =
  'the URL contains credentials (hidden here); write them as auth: {basic: {username, password}} with ${SECRET} variables, which are masked';

/** The file's `defaults` over the action's inputs. */
interface FileDefaults {
  request: RequestBase;
  baseUrl: string | undefined;
  retries: number;
  retryIntervalMs: number;
}

/** The `defaults` section over the action's inputs; a baseUrl with credentials in it is refused. */
function normaliseDefaults(raw: Raw, errs: PlanErrors, defaults: PlanDefaults): FileDefaults {
  const d = (raw.defaults as Raw | undefined) ?? {};
  const request: RequestBase = {
    headers: { ...(defaults.headers ?? {}), ...stringMap(d.headers) },
    timeoutMs: duration(d.timeout, defaults.timeoutMs),
    followRedirects: (d.followRedirects as boolean | undefined) ?? defaults.followRedirects ?? false,
    insecure: (d.insecure as boolean | undefined) ?? defaults.insecure ?? false,
  };
  const baseUrl = d.baseUrl as string | undefined;
  if (baseUrl !== undefined && URL_CREDENTIALS.test(baseUrl))
    throw errs.at(['defaults', 'baseUrl'], URL_CREDENTIALS_REFUSED);
  return {
    request,
    baseUrl,
    retries: (d.retries as number | undefined) ?? 0,
    retryIntervalMs: duration(d.retryInterval, defaults.retryIntervalMs),
  };
}

/**
 * The wait phase and the checks, in file order: each request's URL and headers checked, each variable defined
 * or captured by an earlier check, each check named uniquely.
 */
class PlanNormaliser {
  /** Names captured so far: a check may use captures of the checks written before it. */
  private readonly captured = new Set<string>();
  /** How many checks so far have each name. */
  private readonly names = new Map<string, number>();

  constructor(
    private readonly errs: PlanErrors,
    private readonly defaults: PlanDefaults,
    private readonly file: FileDefaults,
  ) {}

  /** The wait phase: an HTTP request retried until it passes `successThreshold` times in a row. */
  wait(w: Raw): WaitSpec {
    this.requireBase(String(w.url), ['wait', 'url']);
    this.checkVars(w, ['wait']);
    return {
      request: this.request(w, ['wait', 'headers']),
      expect: normaliseExpect(w.expect as Raw | undefined, ['wait'], this.errs, this.defaults, 'http'),
      initialDelayMs: duration(w.initialDelay, 0),
      intervalMs: duration(w.interval, 2000),
      deadlineMs: duration(w.deadline, 300_000),
      successThreshold: (w.successThreshold as number | undefined) ?? 1,
    };
  }

  /** One check, `checks[i]`: request or command, captures, expectations, retries, the captures it uses. */
  check(c: Raw, i: number): CheckSpec {
    const path = ['checks', i];
    const kind = c.command ? 'command' : 'http';
    const uses = this.checkVars({ ...c, captures: undefined, name: undefined }, path);
    let request: RequestSpec | undefined;
    if (kind === 'http') {
      this.requireBase(String(c.url), [...path, 'url']);
      request = this.request(c, [...path, 'headers']);
    }
    const captures = (c.captures as Record<string, CaptureSpec> | undefined) ?? {};
    this.checkCaptures(captures, kind, path);
    const baseName =
      (c.name as string | undefined) ??
      (kind === 'http' ? `${request!.method} ${request!.url}` : (c.command as string[]).join(' '));
    const spec: CheckSpec = {
      name: this.uniqueName(baseName),
      where: `checks[${i}]`,
      kind,
      request,
      command: c.command as string[] | undefined,
      commandTimeoutMs: kind === 'command' && c.timeout !== undefined ? duration(c.timeout, 0) : undefined,
      env: stringMap(c.env),
      cwd: c.cwd as string | undefined,
      expect: normaliseExpect(c.expect as Raw | undefined, path, this.errs, this.defaults, kind),
      captures,
      retries: (c.retries as number | undefined) ?? this.file.retries,
      retryIntervalMs: duration(c.retryInterval, this.file.retryIntervalMs),
      retryUntilDeadline: false,
      uses,
    };
    for (const name of Object.keys(captures)) this.captured.add(name);
    return spec;
  }

  /** Unique names: GitLab collapses JUnit test cases that share a name. */
  private uniqueName(baseName: string): string {
    const seen = this.names.get(baseName) ?? 0;
    this.names.set(baseName, seen + 1);
    return seen ? `${baseName} (${seen + 1})` : baseName;
  }

  /** Captures a check can take: only regex over a command's output; valid regexes and JSONPaths. */
  private checkCaptures(
    captures: Record<string, CaptureSpec>,
    kind: 'http' | 'command',
    path: Array<string | number>,
  ): void {
    for (const [name, cap] of Object.entries(captures)) {
      if (kind === 'command' && !('regex' in cap))
        throw this.errs.at(
          [...path, 'captures', name],
          "a command check can capture only with 'regex' (over its output)",
        );
      if ('regex' in cap) checkRegex(cap.regex, (m) => this.errs.at([...path, 'captures', name], m));
      const problem = 'jsonpath' in cap ? jsonPathProblem(cap.jsonpath) : undefined;
      if (problem && 'jsonpath' in cap)
        throw this.errs.at([...path, 'captures', name], `JSONPath '${cap.jsonpath}' ${problem}`);
    }
  }

  /** The request over the defaults; every header must be one HTTP can carry (else: error where written). */
  private request(raw: Raw, at: Array<string | number>): RequestSpec {
    const request = normaliseRequest(raw, this.file.request);
    for (const [name, value] of Object.entries(request.headers)) {
      const problem = headerProblem(name, value);
      if (problem)
        throw this.errs.at(name in this.file.request.headers ? ['defaults', 'headers'] : at, problem);
    }
    return request;
  }

  /** A URL that can be checked: no credentials in it, http(s) only, relative only with a baseUrl. */
  private requireBase(url: string, path: Array<string | number>): void {
    // user:password@ would travel into logs and reports: refuse it, without repeating it.
    if (URL_CREDENTIALS.test(url)) throw this.errs.at(path, URL_CREDENTIALS_REFUSED);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^https?:\/\//i.test(url))
      throw this.errs.at(path, `'${url}': only http:// and https:// URLs can be checked`);
    if (!/^(https?:\/\/|\$\{)/.test(url) && !this.file.baseUrl)
      throw this.errs.at(
        path,
        `'${url}' is a relative URL; set defaults.baseUrl or write a full http(s):// URL`,
      );
  }

  /** The capture names `value` uses; refuses a variable not known, not captured before, without default. */
  private checkVars(value: unknown, path: Array<string | number>): string[] {
    const uses: string[] = [];
    for (const s of stringsIn(value))
      for (const v of referencedVariables(s)) {
        if (this.captured.has(v.name)) uses.push(v.name);
        else if (!v.hasDefault && !this.defaults.isDefined(v.name))
          throw this.errs.at(
            path,
            `\${${v.name}} is not defined (give it in vars, the environment, or capture it in an earlier check)`,
          );
      }
    return [...new Set(uses)];
  }
}

/** The sample: iterations of HTTP checks named in the plan (by default all of them). */
function normaliseSample(s: Raw, checks: CheckSpec[], errs: PlanErrors): SmokePlan['sample'] {
  const httpNames = checks.filter((c) => c.kind === 'http').map((c) => c.name);
  const wanted = (s.checks as string[] | undefined) ?? httpNames;
  wanted.forEach((n, i) => {
    if (!httpNames.includes(n))
      throw errs.at(
        ['sample', 'checks', i],
        `no HTTP check named '${n}'; expected one of: ${httpNames.join(', ')}`,
      );
  });
  if (wanted.length === 0) throw errs.at(['sample'], 'there is no HTTP check to sample');
  return {
    iterations: s.iterations as number,
    concurrency: (s.concurrency as number | undefined) ?? 4,
    checks: wanted,
  };
}

/** The thresholds, metric by metric, each expression parsed. */
function normaliseThresholds(v: unknown, errs: PlanErrors): Threshold[] {
  const thresholds: Threshold[] = [];
  for (const [metric, exprs] of Object.entries((v as Record<string, string[]> | undefined) ?? {}))
    exprs.forEach((e, i) => {
      const t = parseThreshold(metric as Metric, e);
      if (typeof t === 'string') throw errs.at(['thresholds', metric, i], t);
      thresholds.push(t);
    });
  return thresholds;
}

/**
 * Why a JSONPath is not one Kiln can evaluate, or undefined: it must start with `$`, brackets and quotes must
 * close, and filters or scripts (`[?(…)]`, `(…)`) are not evaluated (no code from a checks file runs).
 */
export function jsonPathProblem(path: string): string | undefined {
  if (!path.startsWith('$')) return 'must start with $ (e.g. $.status)';
  let depth = 0;
  let quote: string | undefined;
  for (const ch of path.slice(1)) {
    if (quote) {
      if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '"') {
      if (depth === 0) return "has a quote outside brackets (write $['a name'])";
      quote = ch;
    } else if (ch === '[') {
      if (depth > 0) return "has a '[' inside brackets";
      depth++;
    } else if (ch === ']') {
      if (depth === 0) return "has a ']' without its '['";
      depth--;
    } else if (ch === '(' || ch === ')')
      return 'uses a filter or script ((…), [?(…)]), which Kiln does not evaluate';
  }
  if (quote) return 'has a quote that is not closed';
  if (depth > 0) return "has a '[' that is not closed";
  if (path.length > 1 && path.endsWith('.')) return 'ends with a dot';
  return undefined;
}

/** A checks file larger than this is not one (and YAML that large takes seconds to parse). */
export const CHECKS_FILE_LIMIT = 1024 * 1024;

export function loadPlan(path: string, defaults: PlanDefaults, displayName = path): SmokePlan {
  let text: string;
  try {
    text = readTextFile(path, CHECKS_FILE_LIMIT);
  } catch (e) {
    if (!(e instanceof FileError)) throw e;
    throw new ConfigurationError(`${displayName}: the checks file ${e.message}`);
  }
  return parsePlan(text, displayName, defaults);
}
