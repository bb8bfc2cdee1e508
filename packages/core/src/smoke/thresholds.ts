/**
 * k6-style thresholds: `<aggregation> <op> <value>` over a metric, e.g. `p(95)<500`, `max<2000`, `rate<0.01`,
 * `avg<=300`, `count>=100`, `rate==1`. Metrics: `http_req_duration` (ms, every HTTP request of the checks and the
 * sample), `http_req_failed` (rate of requests with a transport error or an unexpected status) and `checks`
 * (rate of attempts whose assertions all held).
 */
export type Metric = 'http_req_duration' | 'http_req_failed' | 'checks';

export interface Threshold {
  metric: Metric;
  expression: string;
  aggregation: string;
  op: '<' | '<=' | '>' | '>=' | '==' | '!=';
  value: number;
}

export interface ThresholdResult extends Threshold {
  actual: number | undefined;
  passed: boolean;
}

const EXPR =
  /^\s*(avg|min|max|med|count|rate|p\((\d+(?:\.\d+)?)\))\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/;

const ALLOWED: Record<Metric, RegExp> = {
  http_req_duration: /^(avg|min|max|med|count|p\(.*\))$/,
  http_req_failed: /^(rate|count)$/,
  checks: /^(rate|count)$/,
};

/** Parse; returns an error message when the expression is not valid for the metric. */
export function parseThreshold(metric: Metric, expression: string): Threshold | string {
  const m = EXPR.exec(expression);
  if (!m) return `'${expression}' is not a threshold; expected e.g. p(95)<500, max<2000 or rate<0.01`;
  const aggregation = (m[1] as string).replace(/\s+/g, '');
  if (m[2] !== undefined && (Number(m[2]) <= 0 || Number(m[2]) > 100))
    return `'${expression}': the percentile must be in (0, 100]`;
  if (!ALLOWED[metric].test(aggregation))
    return `'${expression}': ${aggregation} does not apply to ${metric} (use ${metric === 'http_req_duration' ? 'avg, min, max, med, count or p(N)' : 'rate or count'})`;
  return {
    metric,
    expression: expression.trim(),
    aggregation,
    op: m[3] as Threshold['op'],
    value: Number(m[4]),
  };
}

/** Nearest-rank percentile of a sorted array (what k6 reports, to within its interpolation). */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export interface MetricSamples {
  durations: number[];
  failed: boolean[];
  checks: boolean[];
}

function aggregate(t: Threshold, s: MetricSamples): number | undefined {
  if (t.metric === 'http_req_duration') {
    const d = [...s.durations].sort((a, b) => a - b);
    if (t.aggregation === 'count') return d.length;
    if (d.length === 0) return undefined;
    if (t.aggregation === 'avg') return d.reduce((a, b) => a + b, 0) / d.length;
    if (t.aggregation === 'min') return d[0];
    if (t.aggregation === 'max') return d[d.length - 1];
    if (t.aggregation === 'med') return percentile(d, 50);
    return percentile(d, Number(/p\((.*)\)/.exec(t.aggregation)?.[1]));
  }
  const flags = t.metric === 'http_req_failed' ? s.failed : s.checks;
  const hits = flags.filter(Boolean).length;
  if (t.aggregation === 'count') return hits;
  return flags.length === 0 ? undefined : hits / flags.length;
}

export function evaluateThresholds(
  thresholds: readonly Threshold[],
  samples: MetricSamples,
): ThresholdResult[] {
  return thresholds.map((t) => {
    const actual = aggregate(t, samples);
    let passed = false;
    if (actual !== undefined) {
      switch (t.op) {
        case '<':
          passed = actual < t.value;
          break;
        case '<=':
          passed = actual <= t.value;
          break;
        case '>':
          passed = actual > t.value;
          break;
        case '>=':
          passed = actual >= t.value;
          break;
        case '==':
          passed = actual === t.value;
          break;
        case '!=':
          passed = actual !== t.value;
          break;
      }
    }
    return { ...t, actual, passed };
  });
}
