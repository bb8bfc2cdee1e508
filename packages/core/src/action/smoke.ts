/**
 * smoke-test's action glue: the job summary (verdict, checks, latency percentiles, thresholds) and the compact
 * coloured table for terminals, the reports and outputs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { colors } from '../platform/logger.js';
import type { Logger, Platform } from '../platform/types.js';
import { KILN_VERSION } from '../version.js';
import type { Summary } from '../platform/summary.js';
import { formatDuration } from '../util/duration.js';
import type { CheckResult, SmokeResult } from '../smoke/engine.js';
import { jsonReport, junitReport, round } from '../smoke/report.js';

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

/** What publishing a smoke result needs from the action's context. */
export interface SmokeOutputContext {
  platform: Platform;
  log: Logger;
  summary: Summary;
  setOutput(name: string, value: string | number | boolean): void;
}

/**
 * The reports (JSON, JUnit: written first, they are what a person opens when the verdict is not pass), the
 * outputs, the summary (or the terminal table) and the one verdict line.
 */
export function publishSmokeResult(
  { platform, log, summary, setOutput }: SmokeOutputContext,
  result: SmokeResult,
  o: { source: string; reportDir: string },
): void {
  // Reports first: they are what a person opens when the verdict is not pass.
  const reportPath = join(o.reportDir, 'smoke-test.json');
  const junitPath = join(o.reportDir, 'smoke-test.junit.xml');
  mkdirSync(dirname(reportPath), { recursive: true });
  writeFileSync(
    reportPath,
    platform.redactor.redact(jsonReport(result, { source: o.source, kilnVersion: KILN_VERSION })),
  );
  writeFileSync(junitPath, platform.redactor.redact(junitReport(result)));

  setOutput('verdict', result.verdict);
  setOutput('passed', result.passed);
  setOutput('failed', result.failed);
  setOutput('errors', result.errors);
  setOutput('skipped', result.skipped);
  setOutput(
    'attempts',
    result.requests + result.checks.filter((c) => c.kind === 'command').reduce((n, c) => n + c.attempts, 0),
  );
  setOutput('duration-ms', Math.round(result.durationMs));
  // Paths inside the workspace are given relative to it (what GitLab artifacts and later steps expect).
  const shown = (p: string) =>
    relative(platform.workspace, p).startsWith('..') ? p : relative(platform.workspace, p);
  setOutput('report', shown(reportPath));
  setOutput('junit', shown(junitPath));
  setOutput(
    'results',
    JSON.stringify(
      result.checks.map((c) => ({
        name: c.name,
        verdict: c.verdict,
        status: c.status ?? c.exitCode ?? null,
        latencyMs: c.latencyMs === undefined ? null : Math.round(c.latencyMs),
        attempts: c.attempts,
        reason: c.reason ?? null,
      })),
    ),
  );

  if (platform.kind === 'terminal') {
    const env = platform.env;
    const color = !env.NO_COLOR && (!!env.FORCE_COLOR || (process.stderr.isTTY ?? false));
    log.info('\n' + terminalTable(result, color));
    if (env.KILN_SUMMARY_FILE) fillSummary(summary, result, o.source);
  } else fillSummary(summary, result, o.source);

  const notPassed = result.checks.filter((c) => c.verdict === 'fail' || c.verdict === 'error');
  const detail = notPassed.length
    ? ` — ${notPassed
        .slice(0, 5)
        .map((c) => `${c.name}: ${c.reason ?? c.verdict}`)
        .join('; ')}${notPassed.length > 5 ? `; and ${notPassed.length - 5} more` : ''}`
    : '';
  const line = `Smoke test ${result.verdict}: ${result.reason} (${formatDuration(result.durationMs)})${detail}`;
  if (result.verdict === 'pass') log.info(line);
  else log.error(line);
}
