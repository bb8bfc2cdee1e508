/**
 * What a smoke test leaves behind: a JSON report (machine-readable, the `report` output), a JUnit XML file for
 * GitLab's `artifacts:reports:junit` (one testcase per check, unique names, `<failure>` for a failed
 * assertion, `<error>` for no usable answer, `<skipped>` for a check that could not run), the job summary
 * table with latency percentiles and thresholds, and a compact coloured table for terminals.
 */
import { colors } from '../platform/logger.js';
import type { Summary } from '../platform/summary.js';
import { formatDuration } from '../util/duration.js';
import type { CheckResult, SmokeResult } from './engine.js';

export function jsonReport(r: SmokeResult, meta: { source: string; kilnVersion: string }): string {
  return (
    JSON.stringify(
      {
        tool: 'kiln smoke-test',
        version: meta.kilnVersion,
        source: meta.source,
        verdict: r.verdict,
        reason: r.reason,
        startedAt: r.startedAt,
        durationMs: Math.round(r.durationMs),
        counts: {
          checks: r.checks.length,
          passed: r.passed,
          failed: r.failed,
          errors: r.errors,
          skipped: r.skipped,
        },
        requests: { total: r.requests, failed: r.failedRequests },
        latencyMs: Object.fromEntries(
          Object.entries(r.latency).map(([k, v]) => [k, k === 'count' ? v : round(v)]),
        ),
        wait: r.wait,
        thresholds: r.thresholds.map((t) => ({
          metric: t.metric,
          expression: t.expression,
          actual: t.actual === undefined ? null : round(t.actual),
          passed: t.passed,
        })),
        checks: r.checks.map((c) => ({
          ...c,
          latencyMs: c.latencyMs === undefined ? undefined : round(c.latencyMs),
          durationMs: round(c.durationMs),
        })),
      },
      null,
      2,
    ) + '\n'
  );
}

function round(v: number | undefined): number | undefined {
  return v === undefined ? undefined : Math.round(v * 10) / 10;
}

/** XML text: escaped, and without the control characters XML 1.0 forbids. */
export function xmlEscape(s: string): string {
  return (
    s
      // eslint-disable-next-line no-control-regex -- removing what XML 1.0 cannot carry
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

const seconds = (ms: number | undefined) => ((ms ?? 0) / 1000).toFixed(3);

function testcase(c: CheckResult, suite: string): string {
  const attrs = `classname="${xmlEscape(suite)}" name="${xmlEscape(c.name)}" time="${seconds(c.durationMs)}"`;
  const detail = [
    c.method && c.url ? `${c.method} ${c.url}` : undefined,
    c.status !== undefined ? `status: ${c.status}` : undefined,
    c.exitCode !== undefined ? `exit code: ${c.exitCode}` : undefined,
    `attempts: ${c.attempts}`,
    c.reason ? `reason: ${c.reason}` : undefined,
    c.output ? `output:\n${c.output}` : undefined,
  ]
    .filter(Boolean)
    .join('\n');
  const message = xmlEscape(c.reason ?? c.verdict);
  switch (c.verdict) {
    case 'pass':
      return `    <testcase ${attrs}/>`;
    case 'fail':
      return `    <testcase ${attrs}>\n      <failure message="${message}" type="AssertionFailed">${xmlEscape(detail)}</failure>\n    </testcase>`;
    case 'skipped':
      return `    <testcase ${attrs}>\n      <skipped message="${message}"/>\n    </testcase>`;
    default:
      return `    <testcase ${attrs}>\n      <error message="${message}" type="${c.verdict === 'cancelled' ? 'Cancelled' : 'NoAnswer'}">${xmlEscape(detail)}</error>\n    </testcase>`;
  }
}

export function junitReport(r: SmokeResult, suiteName = 'smoke-test'): string {
  const tests = r.checks.length + r.thresholds.length;
  const thresholdFailures = r.thresholds.filter((t) => !t.passed).length;
  const failures = r.failed + thresholdFailures;
  const cases = r.checks.map((c) => testcase(c, suiteName));
  for (const t of r.thresholds) {
    const name = `threshold ${t.metric} ${t.expression}`;
    const actual = t.actual === undefined ? 'no data' : String(round(t.actual));
    cases.push(
      t.passed
        ? `    <testcase classname="${xmlEscape(suiteName)}.thresholds" name="${xmlEscape(name)}" time="0.000"/>`
        : `    <testcase classname="${xmlEscape(suiteName)}.thresholds" name="${xmlEscape(name)}" time="0.000">\n      <failure message="${xmlEscape(`${t.metric} ${t.expression}: actual ${actual}`)}" type="ThresholdCrossed"/>\n    </testcase>`,
    );
  }
  const head = `tests="${tests}" failures="${failures}" errors="${r.errors}" skipped="${r.skipped}" time="${seconds(r.durationMs)}"`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="kiln smoke-test" ${head}>`,
    `  <testsuite name="${xmlEscape(suiteName)}" ${head} timestamp="${r.startedAt}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

const ICON: Record<string, string> = {
  pass: '✅ pass',
  fail: '❌ fail',
  error: '⚠️ error',
  skipped: '⏭️ skipped',
  cancelled: '⛔ cancelled',
};

function latencyCell(ms: number | undefined): string {
  return ms === undefined ? '' : formatDuration(ms);
}

function codeOf(c: CheckResult): string {
  return c.status !== undefined
    ? String(c.status)
    : c.exitCode !== undefined && c.exitCode !== null
      ? `exit ${c.exitCode}`
      : '';
}

export function fillSummary(s: Summary, r: SmokeResult, source: string): void {
  s.heading(`Smoke test: ${ICON[r.verdict]}`);
  s.paragraph(
    `${r.reason}. ${r.passed} passed, ${r.failed} failed, ${r.errors} error(s), ${r.skipped} skipped — ` +
      `${r.requests} request(s) in ${formatDuration(r.durationMs)} (${source}).`,
  );
  if (r.wait)
    s.paragraph(
      r.wait.passed
        ? `Wait: ready after ${formatDuration(r.wait.durationMs)} (${r.wait.attempts} attempt(s)).`
        : `Wait: ${r.wait.reason}.`,
    );
  s.table(
    ['Check', 'Verdict', 'Status', 'Latency', 'Attempts', 'Reason'],
    r.checks.map((c) => [
      c.name,
      ICON[c.verdict],
      codeOf(c),
      latencyCell(c.latencyMs),
      c.attempts,
      c.reason ?? '',
    ]),
  );
  if (r.latency.count > 0)
    s.table(
      ['Requests', 'avg', 'p50', 'p90', 'p95', 'p99', 'max'],
      [
        [
          r.latency.count,
          ...[r.latency.avg, r.latency.p50, r.latency.p90, r.latency.p95, r.latency.p99, r.latency.max].map(
            latencyCell,
          ),
        ],
      ],
    );
  if (r.thresholds.length)
    s.table(
      ['Threshold', 'Actual', 'Result'],
      r.thresholds.map((t) => [
        `${t.metric}: ${t.expression}`,
        t.actual === undefined ? 'no data' : String(round(t.actual)),
        t.passed ? '✅ pass' : '❌ crossed',
      ]),
    );
  const failing = r.checks.filter((c) => c.output && c.verdict !== 'pass');
  for (const c of failing) s.details(`Output of ${c.name}`, (d) => d.code(c.output as string));
}

/** The terminal view: one line per check, verdict coloured, then the totals. */
export function terminalTable(r: SmokeResult, color: boolean): string {
  const paint = (c: keyof typeof colors, t: string) => (color ? `${colors[c]}${t}${colors.reset}` : t);
  const tone: Record<string, keyof typeof colors> = {
    pass: 'cyan',
    fail: 'red',
    error: 'yellow',
    skipped: 'dim',
    cancelled: 'yellow',
  };
  const nameW = Math.min(48, Math.max(5, ...r.checks.map((c) => c.name.length)));
  const lines = r.checks.map((c) => {
    const name = c.name.length > nameW ? `${c.name.slice(0, nameW - 1)}…` : c.name.padEnd(nameW);
    const verdict = paint(tone[c.verdict] ?? 'dim', c.verdict.toUpperCase().padEnd(9));
    const extra = [codeOf(c), latencyCell(c.latencyMs), c.attempts > 1 ? `${c.attempts} attempts` : '']
      .filter(Boolean)
      .join(', ');
    return `  ${verdict} ${name}  ${paint('dim', extra)}${c.reason && c.verdict !== 'pass' ? `  ${c.reason}` : ''}`;
  });
  const pct =
    r.latency.count > 0
      ? `  latency p50 ${latencyCell(r.latency.p50)}, p95 ${latencyCell(r.latency.p95)}, max ${latencyCell(r.latency.max)} over ${r.latency.count} request(s)`
      : '';
  const th = r.thresholds.map(
    (t) =>
      `  ${t.passed ? paint('cyan', 'PASS     ') : paint('red', 'CROSSED  ')} ${t.metric} ${t.expression} (actual ${t.actual === undefined ? 'no data' : round(t.actual)})`,
  );
  const head = paint(tone[r.verdict] ?? 'dim', `${paint('bold', 'smoke-test')} ${r.verdict.toUpperCase()}`);
  return [
    `${head}: ${r.reason} (${formatDuration(r.durationMs)})`,
    ...lines,
    ...(pct ? [pct] : []),
    ...th,
  ].join('\n');
}
