/**
 * Predicates, as in hurl: `equals`, `notEquals`, `contains`, `startsWith`, `endsWith`, `matches`, `exists`,
 * `isEmpty`, `count`, `gt`, `gte`, `lt`, `lte`, each negatable with `not: { … }`. One predicate object may hold
 * several (all must hold). The same evaluator serves headers, bodies, JSONPath results, durations, command
 * output and certificate expiry.
 */
export interface Predicate {
  equals?: unknown;
  notEquals?: unknown;
  contains?: string | number | boolean;
  startsWith?: string;
  endsWith?: string;
  matches?: string;
  exists?: boolean;
  isEmpty?: boolean;
  count?: number;
  gt?: number | string;
  gte?: number | string;
  lt?: number | string;
  lte?: number | string;
  not?: Predicate;
}

export const PREDICATE_KEYS = [
  'equals',
  'notEquals',
  'contains',
  'startsWith',
  'endsWith',
  'matches',
  'exists',
  'isEmpty',
  'count',
  'gt',
  'gte',
  'lt',
  'lte',
  'not',
] as const;

/** Undefined means "absent" (no header, no JSONPath match). */
export type Actual = unknown;

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  // A number written in YAML may meet a numeric string in a header: compare as text.
  if ((typeof a === 'number' && typeof b === 'string') || (typeof a === 'string' && typeof b === 'number'))
    return String(a) === String(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  return undefined;
}

function asText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The number a comparison bound stands for: numbers, numeric strings, or durations such as `500ms`. */
export type BoundParser = (v: number | string) => number | undefined;

const plainNumber: BoundParser = (v) => asNumber(v);

/**
 * Evaluate a predicate; returns undefined when it holds, else why not (for reports), e.g.
 * `expected "UP", got "DOWN"`.
 */
export function checkPredicate(
  actual: Actual,
  p: Predicate,
  bound: BoundParser = plainNumber,
): string | undefined {
  const text = asText(actual);
  if (p.exists !== undefined) {
    const exists = actual !== undefined;
    if (exists !== p.exists)
      return p.exists ? 'expected it to exist, found nothing' : `expected nothing, got ${show(actual)}`;
  }
  if (p.equals !== undefined && !deepEqual(actual, p.equals))
    return `expected ${show(p.equals)}, got ${show(actual)}`;
  if (p.notEquals !== undefined && deepEqual(actual, p.notEquals))
    return `expected anything but ${show(p.notEquals)}`;
  if (p.contains !== undefined) {
    const needle = p.contains;
    const ok = Array.isArray(actual)
      ? actual.some((x) => deepEqual(x, needle))
      : text !== undefined && text.includes(String(needle));
    if (!ok) return `expected ${show(actual)} to contain ${show(needle)}`;
  }
  if (p.startsWith !== undefined && !(text ?? '').startsWith(p.startsWith))
    return `expected ${show(actual)} to start with ${show(p.startsWith)}`;
  if (p.endsWith !== undefined && !(text ?? '').endsWith(p.endsWith))
    return `expected ${show(actual)} to end with ${show(p.endsWith)}`;
  if (p.matches !== undefined && (text === undefined || !new RegExp(p.matches).test(text)))
    return `expected ${show(actual)} to match /${p.matches}/`;
  if (p.isEmpty !== undefined) {
    const empty =
      actual === undefined ||
      actual === null ||
      (typeof actual === 'string' && actual === '') ||
      (Array.isArray(actual) && actual.length === 0) ||
      (typeof actual === 'object' && actual !== null && Object.keys(actual).length === 0);
    if (empty !== p.isEmpty)
      return p.isEmpty ? `expected empty, got ${show(actual)}` : 'expected a non-empty value';
  }
  if (p.count !== undefined) {
    const n = Array.isArray(actual) ? actual.length : actual === undefined ? 0 : 1;
    if (n !== p.count) return `expected ${p.count} item(s), got ${n}`;
  }
  for (const [op, sym] of [
    ['gt', '>'],
    ['gte', '>='],
    ['lt', '<'],
    ['lte', '<='],
  ] as const) {
    const raw = p[op];
    if (raw === undefined) continue;
    const limit = bound(raw);
    const n = asNumber(actual);
    if (limit === undefined) return `cannot compare with ${show(raw)}`;
    if (n === undefined) return `expected a number ${sym} ${raw}, got ${show(actual)}`;
    const ok = op === 'gt' ? n > limit : op === 'gte' ? n >= limit : op === 'lt' ? n < limit : n <= limit;
    if (!ok) return `expected ${sym} ${raw}, got ${show(actual)}`;
  }
  if (p.not !== undefined) {
    const inner = checkPredicate(actual, p.not, bound);
    if (inner === undefined) return `expected not ${describePredicate(p.not)}, got ${show(actual)}`;
  }
  return undefined;
}

export function describePredicate(p: Predicate): string {
  return Object.entries(p)
    .map(([k, v]) => (k === 'not' ? `not (${describePredicate(v as Predicate)})` : `${k} ${show(v)}`))
    .join(' and ');
}

/** A scalar written where a predicate is expected means `equals`. */
export function toPredicate(v: unknown): Predicate {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Predicate;
  return { equals: v };
}
