/**
 * What a smoke test leaves behind: a JSON report (machine-readable, the `report` output), a JUnit XML file for
 * GitLab's `artifacts:reports:junit` (one testcase per check, unique names, `<failure>` for a failed
 * assertion, `<error>` for no usable answer, `<skipped>` for a check that could not run). The summary and the
 * terminal table are action glue (action/smoke.ts).
 */
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

export function round(v: number | undefined): number | undefined {
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
