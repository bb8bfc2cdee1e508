/**
 * Runs a {@link SmokePlan}: the wait phase, then the checks (concurrently, bounded, each after the checks whose
 * captures it uses), then the sample, all under one overall deadline; then the thresholds and the verdict.
 *
 * Outcomes, as in Argo analysis and hurl: an attempt *passes*, *fails* (the service answered, an assertion did
 * not hold) or *errors* (no usable answer: connection refused, reset, timeout, TLS, DNS, a command that could
 * not run). A check is retried on failures and errors alike (not only on transport errors, unlike curl);
 * its verdict is its last attempt's. The suite fails when failed checks exceed `failureLimit`, the wait phase
 * never passed, or a threshold is crossed; otherwise it is an error when any check errored; else it passes.
 */
import { monotonicMs } from '../util/duration.js';
import { CancelledError } from '../errors.js';
import { exec, ExecError } from '../exec/exec.js';
import { httpRequest, HttpError } from '../http/http.js';
import type { Logger } from '../platform/types.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { sleep, timerDelay } from '../util/sleep.js';
import { fetchCertificate } from './certificate.js';
import type { CheckSpec, ExpectSpec, RequestSpec, SmokePlan } from './plan.js';
import { checkPredicate, type Predicate } from './predicate.js';
import { evaluateThresholds, percentile, type MetricSamples, type ThresholdResult } from './thresholds.js';
import { interpolate, interpolateDeep, type VarLookup } from './vars.js';

export type Outcome = 'pass' | 'fail' | 'error';
export type CheckVerdict = Outcome | 'skipped' | 'cancelled';
export type SuiteVerdict = 'pass' | 'fail' | 'error';

export interface AttemptResult {
  outcome: Outcome;
  status?: number;
  exitCode?: number | null;
  /** Time to the end of the response body (or of the command). */
  durationMs: number;
  /** Why it did not pass: failed assertions, or the error. */
  reasons: string[];
  captures: Record<string, string>;
  /** Command output tail, or a body excerpt on failure. */
  output?: string;
  url?: string;
  method?: string;
}

export interface CheckResult {
  name: string;
  kind: 'http' | 'command';
  verdict: CheckVerdict;
  attempts: number;
  status?: number;
  exitCode?: number | null;
  latencyMs?: number;
  reason?: string;
  output?: string;
  method?: string;
  url?: string;
  startedAt?: string;
  durationMs: number;
}

export interface WaitResult {
  passed: boolean;
  attempts: number;
  durationMs: number;
  reason?: string;
}

export interface LatencyStats {
  count: number;
  avg?: number;
  min?: number;
  p50?: number;
  p90?: number;
  p95?: number;
  p99?: number;
  max?: number;
}

export interface SmokeResult {
  verdict: SuiteVerdict;
  /** One line a person reads first. */
  reason: string;
  checks: CheckResult[];
  wait?: WaitResult;
  thresholds: ThresholdResult[];
  latency: LatencyStats;
  requests: number;
  failedRequests: number;
  passed: number;
  failed: number;
  errors: number;
  skipped: number;
  durationMs: number;
  startedAt: string;
  cancelled: boolean;
  deadlineReached: boolean;
}

export interface SmokeRunOptions {
  concurrency: number;
  /** Overall deadline in ms from the start. */
  deadlineMs: number;
  /** Variables: vars and secret-vars inputs, then the environment. Captures are looked up first. */
  vars: VarLookup;
  /** Every value substituted into a header or credentials (so the platform can mask it). */
  onSensitiveValue?: (value: string) => void;
  log: Logger;
  signal?: AbortSignal;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

const BODY_LIMIT = 10 * 1024 * 1024;

function excerpt(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Join a path onto baseUrl the way people mean it: `https://x/api` + `/health` → `https://x/api/health`. */
export function resolveUrl(url: string, baseUrl: string | undefined): string {
  if (/^https?:\/\//i.test(url) || !baseUrl) return url;
  return `${baseUrl.replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}`;
}

const SENSITIVE_HEADER = /authorization|cookie|token|secret|password|api[-_]?key|credential/i;

interface Ctx {
  plan: SmokePlan;
  opts: SmokeRunOptions;
  captures: Map<string, string>;
  /** Names of captures the checks file marked `secret: true`. */
  secretCaptures: Set<string>;
  signal: AbortSignal;
  samples: MetricSamples;
  certCache: Map<string, Promise<number>>;
}

function lookup(ctx: Ctx): VarLookup {
  return (name) => ctx.captures.get(name) ?? ctx.opts.vars(name);
}

function renderRequest(spec: RequestSpec, ctx: Ctx, where: string) {
  const vars = lookup(ctx);
  const sensitive = ctx.opts.onSensitiveValue;
  const url = new URL(
    resolveUrl(interpolate(resolveUrl(spec.url, ctx.plan.baseUrl), vars, `${where}.url`), undefined),
  );
  for (const [k, v] of Object.entries(spec.query))
    url.searchParams.append(k, interpolate(v, vars, `${where}.query.${k}`));
  const headers: Record<string, string> = {};
  const secretHeaders: string[] = [];
  for (const [k, v] of Object.entries(spec.headers)) {
    // Every value put into a header is masked (vars and secret-vars come from the user), and the whole value of a
    // credential-like header — except what a server sent: a capture is masked only when marked `secret: true`, so
    // a server cannot choose what the log hides.
    let fromServer = false;
    const value = interpolate(v, vars, `${where}.headers.${k}`, (n, val) => {
      if (ctx.captures.has(n) && !ctx.secretCaptures.has(n)) fromServer = true;
      else sensitive?.(val);
    });
    if (SENSITIVE_HEADER.test(k) && !fromServer)
      sensitive?.(value.replace(/^(Bearer|Basic|token=?)\s*/i, ''));
    if (SENSITIVE_HEADER.test(k) || value !== v) secretHeaders.push(k.toLowerCase());
    headers[k.toLowerCase()] = value;
  }
  if (spec.auth?.basic) {
    const user = interpolate(spec.auth.basic.username, vars, `${where}.auth.basic.username`);
    const pass = interpolate(spec.auth.basic.password, vars, `${where}.auth.basic.password`);
    sensitive?.(pass);
    const encoded = Buffer.from(`${user}:${pass}`).toString('base64');
    sensitive?.(encoded);
    headers.authorization = `Basic ${encoded}`;
  }
  if (spec.auth?.bearer) {
    const token = interpolate(spec.auth.bearer, vars, `${where}.auth.bearer`);
    sensitive?.(token);
    headers.authorization = `Bearer ${token}`;
  }
  let body: string | undefined;
  if (spec.json !== undefined) {
    body = JSON.stringify(interpolateDeep(spec.json, vars, `${where}.json`));
    headers['content-type'] ??= 'application/json';
  } else if (spec.body !== undefined) body = interpolate(spec.body, vars, `${where}.body`);
  return { url, headers, body, secretHeaders };
}

function durationBound(v: number | string): number | undefined {
  return typeof v === 'number' ? v : (parseDuration(v) ?? undefined);
}

/** Expected values may use variables too (`$.version: ${VERSION}`, `$.id: ${orderId}`). */
function renderExpect(expect: ExpectSpec, ctx: Ctx, where: string): ExpectSpec {
  const vars = lookup(ctx);
  const deep = <T>(v: T, w: string): T => interpolateDeep(v, vars, `${where}.expect.${w}`);
  return {
    ...expect,
    headers: expect.headers.map((h) => ({ name: h.name, predicate: deep(h.predicate, `headers.${h.name}`) })),
    body: expect.body && deep(expect.body, 'body'),
    jsonpath: expect.jsonpath.map((j) => ({ path: j.path, predicate: deep(j.predicate, 'jsonpath') })),
    stdout: expect.stdout && deep(expect.stdout, 'stdout'),
  };
}

async function assertHttp(
  expect: ExpectSpec,
  res: {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    text: string;
    durationMs: number;
  },
  url: URL,
  insecure: boolean,
  ctx: Ctx,
): Promise<string[]> {
  const reasons: string[] = [];
  if (expect.status && !expect.status.matches(res.status))
    reasons.push(`status ${res.status}, expected ${expect.status.text}`);
  for (const h of expect.headers) {
    const raw = res.headers[h.name];
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    const why = checkPredicate(value, h.predicate);
    if (why) reasons.push(`header ${h.name}: ${why}`);
  }
  if (expect.body) {
    const why = checkPredicate(res.text, expect.body);
    if (why) reasons.push(`body: ${why}`);
  }
  if (expect.jsonpath.length) reasons.push(...assertJsonPaths(expect.jsonpath, res.text));
  if (expect.duration) {
    const why = checkPredicate(Math.round(res.durationMs), expect.duration, durationBound);
    if (why) reasons.push(`duration: ${why.replace(/got (\d+)$/, 'took $1ms')}`);
  }
  if (expect.certificateDays)
    reasons.push(...(await assertCertificate(expect.certificateDays, url, insecure, ctx)));
  return reasons;
}

/** Why the body's JSONPath values do not hold (one reason per path; every path fails when it is not JSON). */
function assertJsonPaths(jsonpath: ExpectSpec['jsonpath'], text: string): string[] {
  const reasons: string[] = [];
  let json: unknown;
  let parsed = true;
  try {
    json = JSON.parse(text);
  } catch {
    parsed = false;
  }
  for (const j of jsonpath) {
    if (!parsed) {
      reasons.push(`${j.path}: the body is not JSON (${excerpt(text, 80)})`);
      continue;
    }
    const why = checkPredicate(jsonPath!(json, j.path), j.predicate);
    if (why) reasons.push(`${j.path}: ${why}`);
  }
  return reasons;
}

/** Why the certificate's days remaining do not hold; fetched once per host (and insecure setting) per run. */
async function assertCertificate(
  predicate: Predicate,
  url: URL,
  insecure: boolean,
  ctx: Ctx,
): Promise<string[]> {
  if (url.protocol !== 'https:') return ['certificate: the URL is not https'];
  const key = `${url.host}|${insecure}`;
  let days = ctx.certCache.get(key);
  if (!days) {
    days = fetchCertificate(url, { insecure, timeoutMs: 10_000, signal: ctx.signal }).then(
      (c) => c.daysRemaining,
    );
    ctx.certCache.set(key, days);
  }
  try {
    const why = checkPredicate(await days, predicate);
    return why ? [`certificate days remaining: ${why}`] : [];
  } catch (e) {
    return [`certificate: ${(e as Error).message}`];
  }
}

/** Selecting by JSONPath is in jsonpath.ts: jsonpath-plus is loaded by the first check that needs it. */
export { jsonPathValue } from './jsonpath.js';

let jsonPath: typeof import('./jsonpath.js').jsonPathValue | undefined;

/** Loads jsonpath-plus when a check selects by JSONPath (an assertion or a capture), once per process. */
async function loadJsonPath(expect: ExpectSpec, captures: CheckSpec['captures']): Promise<void> {
  if (jsonPath || (!expect.jsonpath.length && !Object.values(captures).some((c) => 'jsonpath' in c))) return;
  jsonPath = (await import('./jsonpath.js')).jsonPathValue;
}

function captureValue(
  spec: CheckSpec['captures'][string],
  res: { headers: Record<string, string | string[] | undefined>; text: string },
): string | undefined {
  if ('header' in spec) {
    const v = res.headers[spec.header.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  }
  if ('regex' in spec) {
    const m = new RegExp(spec.regex).exec(res.text);
    return m ? (m[1] ?? m[0]) : undefined;
  }
  try {
    const v = jsonPath!(JSON.parse(res.text), spec.jsonpath);
    return v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v);
  } catch {
    return undefined;
  }
}

async function httpAttempt(
  spec: RequestSpec,
  expect: ExpectSpec,
  check: Pick<CheckSpec, 'captures' | 'where'>,
  ctx: Ctx,
  record: boolean,
): Promise<AttemptResult> {
  const { url, headers, body, secretHeaders } = renderRequest(spec, ctx, check.where);
  const started = monotonicMs();
  const base = { url: url.toString(), method: spec.method, captures: {} as Record<string, string> };
  try {
    const res = await httpRequest(url, {
      method: spec.method,
      headers,
      body,
      timeoutMs: spec.timeoutMs,
      retry: { retries: 0 },
      maxRedirects: spec.followRedirects ? 10 : 0,
      sensitiveHeaders: secretHeaders,
      insecure: spec.insecure,
      signal: ctx.signal,
      // The check's timeout bounds the whole exchange: a body that trickles in never goes silent.
      deadline: Date.now() + spec.timeoutMs,
      env: ctx.opts.env,
    });
    const text = (await res.buffer({ truncateAt: BODY_LIMIT })).toString('utf8');
    const durationMs = monotonicMs() - started;
    await loadJsonPath(expect, check.captures);
    const reasons = await assertHttp(
      renderExpect(expect, ctx, check.where),
      { status: res.status, headers: res.headers, text, durationMs },
      url,
      spec.insecure,
      ctx,
    );
    takeCaptures(check.captures, { headers: res.headers, text }, base.captures, reasons);
    if (record) {
      const failed = expect.status ? !expect.status.matches(res.status) : res.status >= 400;
      recordSample(ctx, durationMs, failed, reasons.length === 0);
    }
    return {
      ...base,
      outcome: reasons.length ? 'fail' : 'pass',
      status: res.status,
      durationMs,
      reasons,
      output: reasons.length ? excerpt(text) : undefined,
    };
  } catch (e) {
    if (e instanceof CancelledError || ctx.signal.aborted) throw e;
    const durationMs = monotonicMs() - started;
    if (record) recordSample(ctx, durationMs, true, false);
    return { ...base, outcome: 'error', durationMs, reasons: [httpErrorMessage(e, url, spec.timeoutMs)] };
  }
}

/** Counts one request of the run into the samples the thresholds and latency stats are computed from. */
function recordSample(ctx: Ctx, durationMs: number, failed: boolean, passed: boolean): void {
  ctx.samples.durations.push(durationMs);
  ctx.samples.failed.push(failed);
  ctx.samples.checks.push(passed);
}

/** Why a request got no usable answer, in a few words (the method and URL are said elsewhere). */
function httpErrorMessage(e: unknown, url: URL, timeoutMs: number): string {
  return (e as { code?: string }).code === 'KILN_DEADLINE' // cut by the check's timeout, headers or body
    ? `no answer from ${url.host} within ${timeoutMs}ms`
    : e instanceof HttpError
      ? e.message.replace(/^[A-Z]+ \S+: /, '')
      : (e as Error).message;
}

/** Puts each capture's value into `into`; a capture that matched nothing is a reason the attempt fails. */
function takeCaptures(
  specs: CheckSpec['captures'],
  res: { headers: Record<string, string | string[] | undefined>; text: string },
  into: Record<string, string>,
  reasons: string[],
): void {
  for (const [name, cap] of Object.entries(specs)) {
    const v = captureValue(cap, res);
    if (v === undefined) reasons.push(`capture ${name}: nothing matched`);
    else into[name] = v;
  }
}

/** The last 20 lines of a command's output. */
function outputTail(r: { stdout: string; stderr: string }): string {
  return (r.stdout + r.stderr).trim().split('\n').slice(-20).join('\n');
}

async function commandAttempt(check: CheckSpec, ctx: Ctx): Promise<AttemptResult> {
  const vars = lookup(ctx);
  const argv = (check.command as string[]).map((a, i) =>
    interpolate(a, vars, `${check.where}.command[${i}]`),
  );
  const env: NodeJS.ProcessEnv = { ...(ctx.opts.env ?? process.env) };
  for (const [k, v] of Object.entries(check.env)) env[k] = interpolate(v, vars, `${check.where}.env.${k}`);
  const started = monotonicMs();
  const timeoutMs = check.commandTimeoutMs;
  try {
    const r = await exec(argv[0] as string, argv.slice(1), {
      cwd: check.cwd ?? ctx.opts.cwd,
      env,
      timeoutMs,
      signal: ctx.signal,
      allowFailure: true,
    });
    const output = outputTail(r);
    const reasons: string[] = [];
    if (r.exitCode !== check.expect.exitCode)
      reasons.push(`exit code ${r.exitCode ?? r.signal}, expected ${check.expect.exitCode}`);
    const stdoutPredicate = renderExpect(check.expect, ctx, check.where).stdout;
    if (stdoutPredicate) {
      const why = checkPredicate(r.stdout, stdoutPredicate);
      if (why) reasons.push(`stdout: ${why}`);
    }
    const captures: Record<string, string> = {};
    takeCaptures(check.captures, { headers: {}, text: r.stdout }, captures, reasons);
    return {
      outcome: reasons.length ? 'fail' : 'pass',
      exitCode: r.exitCode,
      durationMs: monotonicMs() - started,
      reasons,
      captures,
      output,
    };
  } catch (e) {
    if (e instanceof CancelledError || ctx.signal.aborted) throw e;
    const durationMs = monotonicMs() - started;
    const message =
      e instanceof ExecError && e.result.timedOut
        ? `timed out after ${formatDuration(timeoutMs ?? 0)}`
        : (e as Error).message;
    const output = e instanceof ExecError ? outputTail(e.result) : undefined;
    return { outcome: 'error', durationMs, reasons: [message], captures: {}, output };
  }
}

function attempt(check: CheckSpec, ctx: Ctx): Promise<AttemptResult> {
  return check.kind === 'command'
    ? commandAttempt(check, ctx)
    : httpAttempt(check.request as RequestSpec, check.expect, check, ctx, true);
}

async function runCheck(check: CheckSpec, ctx: Ctx, deadline: number): Promise<CheckResult> {
  const log = ctx.opts.log;
  const startedAt = new Date().toISOString();
  const t0 = monotonicMs();
  let attempts = 0;
  let consecutiveErrors = 0;
  let last: AttemptResult | undefined;
  for (;;) {
    attempts++;
    last = await attempt(check, ctx);
    if (last.outcome === 'pass') break;
    consecutiveErrors = last.outcome === 'error' ? consecutiveErrors + 1 : 0;
    // No attempt starts after the deadline; the one-line form retries until it, the others `retries` times.
    const more = Date.now() < deadline && (check.retryUntilDeadline || attempts <= check.retries);
    if (!more || consecutiveErrors > ctx.plan.consecutiveErrorLimit) break;
    log.info(
      `  ${check.name}: ${last.reasons.join('; ')} — retrying in ${formatDuration(check.retryIntervalMs)} (attempt ${attempts})`,
    );
    const wait = Math.min(check.retryIntervalMs, Math.max(0, deadline - Date.now()));
    await sleep(wait, ctx.signal);
  }
  for (const [k, v] of Object.entries(last.captures)) {
    if (ctx.secretCaptures.has(k)) ctx.opts.onSensitiveValue?.(v);
    ctx.captures.set(k, v);
  }
  const result: CheckResult = {
    name: check.name,
    kind: check.kind,
    verdict: last.outcome,
    attempts,
    status: last.status,
    exitCode: last.exitCode,
    latencyMs: last.durationMs,
    reason: last.reasons.length ? last.reasons.join('; ') : undefined,
    output: last.outcome === 'pass' ? undefined : last.output,
    method: last.method,
    url: last.url,
    startedAt,
    durationMs: monotonicMs() - t0,
  };
  const mark = result.verdict === 'pass' ? '✓' : '✗';
  log.info(
    `${mark} ${check.name}: ${result.verdict}${result.status !== undefined ? ` (${result.status}` : result.exitCode !== undefined ? ` (exit ${result.exitCode}` : ' ('}${result.latencyMs !== undefined ? `${result.status !== undefined || result.exitCode !== undefined ? ', ' : ''}${formatDuration(result.latencyMs)}` : ''}${attempts > 1 ? `, ${attempts} attempts` : ''})${result.reason ? ` — ${result.reason}` : ''}`,
  );
  return result;
}

async function runWait(plan: SmokePlan, ctx: Ctx, deadline: number): Promise<WaitResult> {
  const w = plan.wait!;
  const log = ctx.opts.log;
  const t0 = Date.now();
  const until = Math.min(deadline, t0 + w.initialDelayMs + w.deadlineMs);
  log.info(
    `Waiting for ${w.request.url} (${w.successThreshold} pass(es) in a row; deadline ${formatDuration(w.deadlineMs)})`,
  );
  if (w.initialDelayMs) await sleep(Math.min(w.initialDelayMs, Math.max(0, until - Date.now())), ctx.signal);
  let attempts = 0;
  let streak = 0;
  let last: AttemptResult | undefined;
  for (;;) {
    attempts++;
    last = await httpAttempt(w.request, w.expect, { captures: {}, where: 'wait' }, ctx, false);
    streak = last.outcome === 'pass' ? streak + 1 : 0;
    if (streak >= w.successThreshold) {
      log.info(`✓ ready after ${formatDuration(Date.now() - t0)} (${attempts} attempts)`);
      return { passed: true, attempts, durationMs: Date.now() - t0 };
    }
    if (last.outcome !== 'pass') log.info(`  not ready: ${last.reasons.join('; ')} (attempt ${attempts})`);
    if (Date.now() >= until) break;
    await sleep(Math.min(w.intervalMs, Math.max(0, until - Date.now())), ctx.signal);
  }
  const reason = `not ready after ${formatDuration(Date.now() - t0)}: ${last.reasons.join('; ')}`;
  log.info(`✗ ${reason}`);
  return { passed: false, attempts, durationMs: Date.now() - t0, reason };
}

async function runSample(plan: SmokePlan, ctx: Ctx): Promise<void> {
  const s = plan.sample!;
  const checks = plan.checks.filter((c) => s.checks.includes(c.name));
  ctx.opts.log.info(
    `Sampling: ${s.iterations} iteration(s) of ${checks.length} check(s), ${s.concurrency} at a time`,
  );
  const jobs: CheckSpec[] = [];
  for (let i = 0; i < s.iterations; i++) jobs.push(...checks);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length && !ctx.signal.aborted) {
      const c = jobs[next++] as CheckSpec;
      await httpAttempt(c.request as RequestSpec, c.expect, { captures: {}, where: c.where }, ctx, true);
    }
  };
  await Promise.all(Array.from({ length: Math.min(s.concurrency, jobs.length) }, worker));
}

function latencyStats(durations: readonly number[]): LatencyStats {
  const d = [...durations].sort((a, b) => a - b);
  if (d.length === 0) return { count: 0 };
  return {
    count: d.length,
    avg: d.reduce((a, b) => a + b, 0) / d.length,
    min: d[0],
    p50: percentile(d, 50),
    p90: percentile(d, 90),
    p95: percentile(d, 95),
    p99: percentile(d, 99),
    max: d[d.length - 1],
  };
}

/** Run the plan. Never throws for a check's outcome; cancellation ends it early with what finished. */
export async function runPlan(plan: SmokePlan, opts: SmokeRunOptions): Promise<SmokeResult> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const deadline = started + opts.deadlineMs;
  const guard = deadlineSignal(plan, opts);
  const ctx = newContext(plan, opts, guard.signal);
  const results = new Map<string, CheckResult>();
  let phases: Phases;
  try {
    phases = await runPhases(plan, ctx, deadline, results);
  } finally {
    guard.clear();
  }
  const { wait, stopped } = phases;
  const checks = plan.checks.map(
    (c) => results.get(c.name) ?? unfinishedResult(c, stopped, wait, opts.deadlineMs),
  );
  const thresholds = evaluateThresholds(plan.thresholds, ctx.samples);
  const counts = countVerdicts(checks);
  return {
    ...suiteVerdict(plan, checks.length, counts, thresholds, wait, stopped),
    checks,
    wait,
    thresholds,
    latency: latencyStats(ctx.samples.durations),
    requests: ctx.samples.durations.length,
    failedRequests: ctx.samples.failed.filter(Boolean).length,
    ...counts,
    durationMs: Date.now() - started,
    startedAt,
    cancelled: stopped === 'cancelled',
    deadlineReached: stopped === 'deadline',
  };
}

/**
 * The overall deadline as a signal, joined with the caller's: it aborts what is still in flight once the longest
 * request timeout has passed beyond the deadline. `clear` stops its timer.
 */
function deadlineSignal(plan: SmokePlan, opts: SmokeRunOptions): { signal: AbortSignal; clear: () => void } {
  // The deadline bounds when attempts start; one in flight at the deadline may finish within its own timeout.
  const grace = Math.max(
    0,
    ...plan.checks.map((c) => c.request?.timeoutMs ?? 0),
    plan.wait?.request.timeoutMs ?? 0,
  );
  const deadlineController = new AbortController();
  const deadlineTimer = setTimeout(
    () => deadlineController.abort(new Error('deadline')),
    timerDelay(opts.deadlineMs + grace),
  );
  deadlineTimer.unref();
  const signal = opts.signal
    ? AbortSignal.any([opts.signal, deadlineController.signal])
    : deadlineController.signal;
  return { signal, clear: () => clearTimeout(deadlineTimer) };
}

/** A fresh run's state: no captures yet, the names of the secret ones, empty samples and certificate cache. */
function newContext(plan: SmokePlan, opts: SmokeRunOptions, signal: AbortSignal): Ctx {
  return {
    plan,
    opts,
    captures: new Map(),
    secretCaptures: new Set(
      plan.checks.flatMap((c) =>
        Object.entries(c.captures)
          .filter(([, cap]) => cap.secret === true)
          .map(([n]) => n),
      ),
    ),
    signal,
    samples: { durations: [], failed: [], checks: [] },
    certCache: new Map(),
  };
}

type Stop = 'cancelled' | 'deadline';

interface Phases {
  wait?: WaitResult;
  /** Why the run ended early, when it did. */
  stopped?: Stop;
}

/**
 * The wait phase, then (when it passed or there is none) the checks and the sample. A cancellation or the
 * deadline ends it early, with the results so far in `results`; any other error is thrown.
 */
async function runPhases(
  plan: SmokePlan,
  ctx: Ctx,
  deadline: number,
  results: Map<string, CheckResult>,
): Promise<Phases> {
  let wait: WaitResult | undefined;
  try {
    if (plan.wait) wait = await runWait(plan, ctx, deadline);
    if (!wait || wait.passed) {
      await runChecks(plan, ctx, deadline, results);
      if (plan.sample && !ctx.signal.aborted) await runSample(plan, ctx);
    }
    return { wait };
  } catch (e) {
    if (!(e instanceof CancelledError) && !ctx.signal.aborted) throw e;
    return { wait, stopped: ctx.opts.signal?.aborted ? 'cancelled' : 'deadline' };
  }
}

/**
 * Runs the checks, at most `concurrency` at a time: a check starts when a slot is free and every check whose
 * captures it uses has finished; it is skipped when they did not capture them. Results land in `results`.
 */
async function runChecks(
  plan: SmokePlan,
  ctx: Ctx,
  deadline: number,
  results: Map<string, CheckResult>,
): Promise<void> {
  const pending = [...plan.checks];
  const running = new Map<string, Promise<void>>();
  const producers = new Map<string, CheckSpec>();
  for (const c of plan.checks)
    for (const name of Object.keys(c.captures)) if (!producers.has(name)) producers.set(name, c);
  while (pending.length || running.size) {
    for (let i = 0; i < pending.length && running.size < ctx.opts.concurrency;) {
      const c = pending[i] as CheckSpec;
      const deps = c.uses.map((u) => producers.get(u)!).filter((p) => p !== c);
      const unfinished = deps.filter((d) => !results.has(d.name));
      if (unfinished.length) {
        i++;
        continue;
      }
      pending.splice(i, 1);
      const missing = c.uses.filter((u) => !ctx.captures.has(u));
      if (missing.length) {
        results.set(c.name, skippedResult(c, deps, missing, results));
        continue;
      }
      running.set(
        c.name,
        runCheck(c, ctx, deadline).then((r) => {
          results.set(c.name, r);
          running.delete(c.name);
        }),
      );
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
}

/** A check not run: the checks it depends on finished without capturing what it uses. */
function skippedResult(
  c: CheckSpec,
  deps: CheckSpec[],
  missing: string[],
  results: Map<string, CheckResult>,
): CheckResult {
  const by = deps.filter((d) => results.get(d.name)?.verdict !== 'pass').map((d) => d.name);
  return {
    name: c.name,
    kind: c.kind,
    verdict: 'skipped',
    attempts: 0,
    durationMs: 0,
    reason: `needs \${${missing.join('}, ${')}} from '${by.length ? by.join("', '") : deps.map((d) => d.name).join("', '")}', which did not capture it`,
  };
}

/** A check that never finished: cancelled, not run (the service never became ready), or cut by the deadline. */
function unfinishedResult(
  c: CheckSpec,
  stopped: Stop | undefined,
  wait: WaitResult | undefined,
  deadlineMs: number,
): CheckResult {
  return {
    name: c.name,
    kind: c.kind,
    verdict: stopped === 'cancelled' ? 'cancelled' : wait && !wait.passed ? 'skipped' : 'error',
    attempts: 0,
    durationMs: 0,
    reason:
      stopped === 'cancelled'
        ? 'cancelled before it finished'
        : wait && !wait.passed
          ? 'not run: the service never became ready'
          : `not finished within the deadline (${formatDuration(deadlineMs)})`,
  };
}

interface VerdictCounts {
  passed: number;
  failed: number;
  /** Errors and cancelled checks. */
  errors: number;
  skipped: number;
}

function countVerdicts(checks: readonly CheckResult[]): VerdictCounts {
  const count = (v: CheckVerdict) => checks.filter((c) => c.verdict === v).length;
  return {
    passed: count('pass'),
    failed: count('fail'),
    errors: count('error') + count('cancelled'),
    skipped: count('skipped'),
  };
}

/**
 * The suite's verdict and the one line that explains it, the first that applies: cancelled (error); never
 * ready; failures over the limit or a crossed threshold (fail); a check errored (error); else pass.
 */
function suiteVerdict(
  plan: SmokePlan,
  total: number,
  { passed, failed, errors }: VerdictCounts,
  thresholds: readonly ThresholdResult[],
  wait: WaitResult | undefined,
  stopped: Stop | undefined,
): { verdict: SuiteVerdict; reason: string } {
  const failedThresholds = thresholds.filter((t) => !t.passed);
  if (stopped === 'cancelled')
    return { verdict: 'error', reason: `cancelled after ${passed + failed} of ${total} check(s) finished` };
  if (wait && !wait.passed) {
    const unreachable = /refused|reset|resolve|timed out|no answer|TLS/.test(wait.reason ?? '');
    return {
      verdict: unreachable ? 'error' : 'fail',
      reason: `the service never became ready: ${wait.reason}`,
    };
  }
  if (failed > plan.failureLimit || failedThresholds.length) {
    const parts = [];
    if (failed > plan.failureLimit)
      parts.push(`${failed} check(s) failed${plan.failureLimit ? ` (limit ${plan.failureLimit})` : ''}`);
    if (failedThresholds.length)
      parts.push(
        `threshold(s) crossed: ${failedThresholds.map((t) => `${t.metric} ${t.expression}`).join(', ')}`,
      );
    return { verdict: 'fail', reason: parts.join('; ') };
  }
  if (errors > 0)
    return {
      verdict: 'error',
      reason: `${errors} check(s) could not get an answer${stopped === 'deadline' ? ` before the deadline` : ''}`,
    };
  return {
    verdict: 'pass',
    reason: `${passed} check(s) passed${failed ? `, ${failed} failed within the limit of ${plan.failureLimit}` : ''}`,
  };
}

export type { Predicate };
