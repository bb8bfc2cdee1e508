import { describe, expect, test } from '@jest/globals';
import { jsonPathValue } from '../../packages/core/src/smoke/engine.js';
import { checkPredicate, type Predicate } from '../../packages/core/src/smoke/predicate.js';
import {
  evaluateThresholds,
  parseThreshold,
  percentile,
  type Threshold,
} from '../../packages/core/src/smoke/thresholds.js';
import { interpolate, UndefinedVariableError } from '../../packages/core/src/smoke/vars.js';
import { parseDuration } from '../../packages/core/src/util/duration.js';

describe('predicates: each passing and failing', () => {
  const cases: Array<[string, unknown, Predicate, Predicate]> = [
    ['equals', 'UP', { equals: 'UP' }, { equals: 'DOWN' }],
    ['equals deep', { a: [1, 2] }, { equals: { a: [1, 2] } }, { equals: { a: [2, 1] } }],
    ['equals number vs numeric text', '42', { equals: 42 }, { equals: 43 }],
    ['notEquals', 'UP', { notEquals: 'DOWN' }, { notEquals: 'UP' }],
    ['contains text', 'hello world', { contains: 'world' }, { contains: 'mars' }],
    ['contains in a list', ['a', 'b'], { contains: 'b' }, { contains: 'c' }],
    [
      'startsWith',
      'application/json; charset=utf-8',
      { startsWith: 'application/json' },
      { startsWith: 'text/' },
    ],
    ['endsWith', 'v1.2.3', { endsWith: '.3' }, { endsWith: '.4' }],
    ['matches', 'sha256:abc', { matches: '^sha256:[a-f0-9]+$' }, { matches: '^sha512:' }],
    ['exists', 'x', { exists: true }, { exists: false }],
    ['does not exist', undefined, { exists: false }, { exists: true }],
    ['isEmpty', [], { isEmpty: true }, { isEmpty: false }],
    ['count', [1, 2, 3], { count: 3 }, { count: 2 }],
    ['gt', 10, { gt: 9 }, { gt: 10 }],
    ['gte', 10, { gte: 10 }, { gte: 11 }],
    ['lt', 10, { lt: 11 }, { lt: 10 }],
    ['lte', '10', { lte: 10 }, { lte: 9 }],
    ['not', 'UP', { not: { equals: 'DOWN' } }, { not: { equals: 'UP' } }],
    ['combined', 5, { gt: 1, lt: 10 }, { gt: 1, lt: 5 }],
  ];
  test.each(cases)('%s', (_n, actual, holds, fails) => {
    expect(checkPredicate(actual, holds)).toBeUndefined();
    expect(checkPredicate(actual, fails)).toEqual(expect.any(String));
  });
  test('failure messages say what was expected and what came', () => {
    expect(checkPredicate('DOWN', { equals: 'UP' })).toBe('expected "UP", got "DOWN"');
    expect(checkPredicate(undefined, { exists: true })).toBe('expected it to exist, found nothing');
    expect(checkPredicate('x', { gt: 1 })).toBe('expected a number > 1, got "x"');
  });
  test('durations as comparison bounds', () => {
    const bound = (v: number | string) => (typeof v === 'number' ? v : parseDuration(v));
    expect(checkPredicate(120, { lt: '500ms' }, bound)).toBeUndefined();
    expect(checkPredicate(1200, { lt: '1s' }, bound)).toBe('expected < 1s, got 1200');
  });
});

describe('JSONPath', () => {
  const doc = { status: 'UP', items: [{ id: 1 }, { id: 2 }], meta: { version: '1.2.3' } };
  test.each([
    ['$.status', 'UP'],
    ['$.meta.version', '1.2.3'],
    ['$.items[0].id', 1],
    ['$.items[*].id', [1, 2]],
    ['$.items', [{ id: 1 }, { id: 2 }]],
    ['$.missing', undefined],
    ['$..id', [1, 2]],
  ])('%s', (path, value) => expect(jsonPathValue(doc, path)).toEqual(value));
});

describe('thresholds', () => {
  const t = (m: 'http_req_duration' | 'http_req_failed' | 'checks', e: string) =>
    parseThreshold(m, e) as Threshold;
  test('parse and evaluate k6 expressions', () => {
    const durations = Array.from({ length: 100 }, (_, i) => i + 1);
    const samples = { durations, failed: [...Array(99).fill(false), true], checks: Array(100).fill(true) };
    const r = evaluateThresholds(
      [
        t('http_req_duration', 'p(95)<96'),
        t('http_req_duration', 'p(95)<95'),
        t('http_req_duration', 'max<=100'),
        t('http_req_duration', 'avg < 50'),
        t('http_req_failed', 'rate<0.02'),
        t('http_req_failed', 'rate<0.01'),
        t('checks', 'rate==1'),
      ],
      samples,
    );
    expect(r.map((x) => [x.expression, x.actual, x.passed])).toEqual([
      ['p(95)<96', 95, true],
      ['p(95)<95', 95, false],
      ['max<=100', 100, true],
      ['avg < 50', 50.5, false],
      ['rate<0.02', 0.01, true],
      ['rate<0.01', 0.01, false],
      ['rate==1', 1, true],
    ]);
  });
  test('no data never passes', () => {
    expect(
      evaluateThresholds([t('http_req_duration', 'p(95)<500')], { durations: [], failed: [], checks: [] })[0]
        ?.passed,
    ).toBe(false);
  });
  test('nearest-rank percentile', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([5], 99)).toBe(5);
    expect(percentile([], 50)).toBeUndefined();
  });
  test.each(['p95<500', 'p(0)<1', 'max<', 'rate<<1', 'foo<1'])('%s is refused', (e) =>
    expect(typeof parseThreshold('http_req_duration', e)).toBe('string'),
  );
});

describe('variables', () => {
  const vars = (n: string) => ({ A: 'alpha', EMPTY: '' })[n];
  test('substitution, defaults, escapes', () => {
    expect(interpolate('x-${A}-${B:-dflt}-$${A}', vars, 'w')).toBe('x-alpha-dflt-${A}');
    expect(interpolate('${EMPTY}', vars, 'w')).toBe('');
  });
  test('an undefined variable names itself and where it is used', () => {
    expect(() => interpolate('${NOPE}', vars, 'checks[2].url')).toThrow(UndefinedVariableError);
    expect(() => interpolate('${NOPE}', vars, 'checks[2].url')).toThrow(
      'checks[2].url: ${NOPE} is not defined',
    );
  });
});
