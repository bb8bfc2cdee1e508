/**
 * smoke-test's action glue: the job summary (verdict, checks, latency percentiles, thresholds) and the compact
 * coloured table for terminals, the reports and outputs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { terminalWidth } from '../platform/base.js';
import { colors } from '../platform/logger.js';
import { neutralise } from '../platform/neutralise.js';
import type { Logger, Platform } from '../platform/types.js';
import { KILN_VERSION } from '../version.js';
import { displayWidth, shortenMiddle, wrapText, type Summary } from '../platform/summary.js';
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

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Checks that did not pass (failed or without an answer), in the order they were declared. */
function notPassed(r: SmokeResult): CheckResult[] {
  return r.checks.filter((c) => c.verdict === 'fail' || c.verdict === 'error' || c.verdict === 'cancelled');
}

/** At most `max` characters, cut at the end. */
function cut(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * What happened and why, in one line (the summary's first line, the log's verdict line without its icon):
 * `✅ smoke test passed: 6 checks in 3.20s`, `❌ smoke test failed: health: expected status 200, got 503`.
 */
export function smokeHeadline(
  r: SmokeResult,
  o: { maxFailures?: number } = {},
): { icon: string; text: string } {
  const total = r.checks.length;
  if (r.verdict === 'pass') {
    const which = r.passed === total ? plural(total, 'check') : `${r.passed} of ${plural(total, 'check')}`;
    const within = r.failed ? ` (${r.failed} failed within the limit)` : '';
    return { icon: '✅', text: `smoke test passed: ${which} in ${formatDuration(r.durationMs)}${within}` };
  }
  const label = r.cancelled
    ? 'smoke test cancelled'
    : r.verdict === 'fail'
      ? 'smoke test failed'
      : 'smoke test error';
  const icon = r.verdict === 'fail' ? '❌' : '⚠️';
  const bad = notPassed(r).filter((c) => c.verdict !== 'cancelled');
  const crossed = r.thresholds.filter((t) => !t.passed);
  let why: string;
  if (r.cancelled || (r.wait && !r.wait.passed) || (bad.length === 0 && crossed.length === 0)) why = r.reason;
  else {
    const max = o.maxFailures ?? 1;
    const parts = bad.slice(0, max).map((c) => `${shorten(c.name, 60)}: ${cut(c.reason ?? c.verdict, 160)}`);
    const more = bad.length - Math.min(bad.length, max);
    if (parts.length < max && crossed.length)
      parts.push(
        `threshold crossed: ${crossed.map((t) => `${t.metric} ${t.expression} (actual ${t.actual === undefined ? 'no data' : round(t.actual)})`).join(', ')}`,
      );
    why = parts.join('; ') + (more > 0 ? ` (and ${more} more)` : '');
  }
  return { icon, text: `${label}: ${why}` };
}

/** Longest word of a check name, and of a reason, shown whole in the checks table (it has to fit 900 px). */
const NAME_WORD_MAX = 40;
const REASON_WORD_MAX = 24;

/**
 * `text` with every word longer than `max` shortened in the middle; `changed` when one was. A shortened URL loses
 * its scheme, so that GitHub does not make a link of what is no longer the address (the full one is below).
 */
function fitWords(text: string, max: number): { text: string; changed: boolean } {
  let changed = false;
  const out = text.replace(/\S+/g, (w) => {
    const s = shorten(w, max);
    if (s !== w) changed = true;
    return s;
  });
  return { text: out, changed };
}

/** At most `max` characters, the middle cut out; a URL cut so loses its scheme (no link to a wrong address). */
function shorten(text: string, max: number): string {
  return [...text].length <= max ? text : shortenMiddle(text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, ''), max);
}

/** The body excerpt or command output as a block of lines no wider than `width` (a body excerpt is one line). */
function outputLines(output: string, width: number): string[] {
  return output.split('\n').flatMap((l) => (displayWidth(l) <= width ? [l] : wrapText(l, width)));
}

export function fillSummary(s: Summary, r: SmokeResult, source: string): void {
  const head = smokeHeadline(r);
  s.heading(`${head.icon} ${head.text}`);
  s.paragraph(
    `${r.passed} passed, ${r.failed} failed, ${r.errors} error(s), ${r.skipped} skipped — ` +
      `${r.requests} request(s) in ${formatDuration(r.durationMs)} (${source}).` +
      (head.text.includes(r.reason) || /^\d+ check\(s\) (passed|failed)$/.test(r.reason)
        ? ''
        : ` ${r.reason}.`) +
      (r.wait
        ? r.wait.passed
          ? ` Wait: ready after ${formatDuration(r.wait.durationMs)} (${r.wait.attempts} attempt(s)).`
          : ` Wait: ${r.wait.reason}.`
        : ''),
  );
  const longNames: string[] = [];
  const fullReasons = new Map<CheckResult, string>();
  const reasons = r.checks.some((c) => c.reason);
  s.table(
    ['Check', 'Verdict', 'Status', 'Latency', ...(reasons ? ['Reason'] : [])],
    r.checks.map((c) => {
      const name = fitWords(c.name, NAME_WORD_MAX);
      if (name.changed) longNames.push(c.name);
      const reason = fitWords(c.reason ?? '', REASON_WORD_MAX);
      if (reason.changed) fullReasons.set(c, c.reason as string);
      return [
        name.text,
        `${ICON[c.verdict]}${c.attempts > 1 ? ` (${c.attempts} attempts)` : ''}`,
        codeOf(c),
        latencyCell(c.latencyMs),
        ...(reasons ? [reason.text] : []),
      ];
    }),
  );
  if (r.latency.count > 0)
    s.table(
      ['Latency', 'p50', 'p95', 'p99', 'max'],
      [
        [
          `${plural(r.latency.count, 'request')}, avg ${latencyCell(r.latency.avg)}`,
          ...[r.latency.p50, r.latency.p95, r.latency.p99, r.latency.max].map(latencyCell),
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
  for (const c of r.checks) {
    if (c.verdict === 'pass' || (!c.output && !fullReasons.has(c))) continue;
    s.details(`${c.output ? 'Output of' : 'Reason of'} ${shorten(c.name, 80)}`, (d) => {
      const reason = fullReasons.get(c);
      if (reason) d.paragraph(reason);
      if (c.output) d.code(c.output, undefined, { wrap: 100 });
    });
  }
  if (longNames.length) s.details('Check names in full', (d) => d.list(longNames));
}

/** Output lines of a failed check shown in the terminal; the rest is in the summary and the reports. */
const TERMINAL_OUTPUT_LINES = 6;

/**
 * The terminal view, within `width` columns: one line per check (verdict coloured, a long name wrapped, never
 * cut), the reason and the response excerpt or command output of what did not pass, then the totals. Every
 * string from outside is neutralised here: the lines carry Kiln's colours and are written as they are.
 */
export function terminalTable(r: SmokeResult, color: boolean, width = terminalWidth()): string {
  const paint = (c: keyof typeof colors, t: string) => (color ? `${colors[c]}${t}${colors.reset}` : t);
  const tone: Record<string, keyof typeof colors> = {
    pass: 'cyan',
    fail: 'red',
    error: 'yellow',
    skipped: 'dim',
    cancelled: 'yellow',
  };
  const safe = (t: string): string => neutralise(t).replace(/\n/g, ' ');
  const indent = 12; // '  ' + verdict (9) + ' '
  const pad = ' '.repeat(indent);
  const room = Math.max(10, width - indent);
  const extraOf = (c: CheckResult): string =>
    [codeOf(c), latencyCell(c.latencyMs), c.attempts > 1 ? `${c.attempts} attempts` : '']
      .filter(Boolean)
      .join(', ');
  // Names get what the widest status/latency/attempts text leaves; a longer name wraps (it is never cut).
  const longest = Math.max(5, ...r.checks.map((c) => displayWidth(safe(c.name))));
  const extraW = Math.max(0, ...r.checks.map((c) => displayWidth(extraOf(c))));
  const nameW = Math.min(longest, Math.max(16, room - extraW - 2));
  const lines: string[] = [];
  const head = paint(tone[r.verdict] ?? 'dim', `${paint('bold', 'smoke-test')} ${r.verdict.toUpperCase()}`);
  const headWidth = `smoke-test ${r.verdict}: `.length;
  const [first, ...rest] = wrapText(`${safe(r.reason)} (${formatDuration(r.durationMs)})`, width - headWidth);
  lines.push(`${head}: ${first}`, ...rest.map((l) => `  ${l}`));
  for (const c of r.checks) {
    const verdict = paint(tone[c.verdict] ?? 'dim', c.verdict.toUpperCase().padEnd(9));
    const name = wrapText(safe(c.name), nameW);
    const extra = extraOf(c);
    const fits = extra !== '' && nameW + 2 + displayWidth(extra) <= room;
    name.forEach((n, i) => {
      const tail = i === 0 && fits ? `  ${paint('dim', extra)}` : '';
      lines.push(
        `${i === 0 ? `  ${verdict} ` : pad}${(tail ? n + ' '.repeat(Math.max(0, nameW - displayWidth(n))) : n) + tail}`.trimEnd(),
      );
    });
    if (extra && !fits) lines.push(...wrapText(extra, room).map((l) => pad + paint('dim', l)));
    if (c.verdict === 'pass') continue;
    if (c.reason) lines.push(...wrapText(safe(c.reason), room).map((l) => pad + l));
    if (c.output) {
      // A response body from its start, a command's output by its end (where the error usually is).
      const out = outputLines(neutralise(c.output), room - 2);
      const left = Math.max(0, out.length - TERMINAL_OUTPUT_LINES);
      const note = pad + paint('dim', `│ … (${left} more line(s) in the reports)`);
      const shown = c.kind === 'command' ? out.slice(left) : out.slice(0, TERMINAL_OUTPUT_LINES);
      if (left && c.kind === 'command') lines.push(note);
      lines.push(...shown.map((l) => pad + paint('dim', `│ ${l}`)));
      if (left && c.kind !== 'command') lines.push(note);
    }
  }
  if (r.latency.count > 0)
    lines.push(
      ...wrapText(
        `latency p50 ${latencyCell(r.latency.p50)}, p95 ${latencyCell(r.latency.p95)}, max ${latencyCell(r.latency.max)} over ${r.latency.count} request(s)`,
        width - 2,
      ).map((l) => `  ${l}`),
    );
  for (const t of r.thresholds) {
    const mark = t.passed ? paint('cyan', 'PASS     ') : paint('red', 'CROSSED  ');
    const text = `${t.metric} ${t.expression} (actual ${t.actual === undefined ? 'no data' : round(t.actual)})`;
    const [one, ...more] = wrapText(text, room);
    lines.push(`  ${mark} ${one}`, ...more.map((l) => pad + l));
  }
  return lines.join('\n');
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

  const terminal = platform.kind === 'terminal';
  if (terminal) {
    const env = platform.env;
    const color = !env.NO_COLOR && (!!env.FORCE_COLOR || (process.stderr.isTTY ?? false));
    // Written as it is (its foreign strings are neutralised by terminalTable): the logger would defuse the colours.
    process.stderr.write('\n' + terminalTable(result, color, terminalWidth(env, process.stderr)) + '\n');
    if (env.KILN_SUMMARY_FILE) fillSummary(summary, result, o.source);
  } else fillSummary(summary, result, o.source);

  // The one verdict line: on GitHub a failure is this one annotation (the checks' own lines are plain log lines).
  const head = smokeHeadline(result, { maxFailures: 3 });
  const line = head.text + (result.verdict === 'pass' ? '' : ` (${formatDuration(result.durationMs)})`);
  if (result.verdict !== 'pass') log.error(line);
  else if (!terminal) log.info(line); // the terminal's table already says it
}
