/**
 * The first form of smoke-test: poll one or more URLs until every one answers with an expected status, or the
 * overall deadline passes. Each round requests every URL that has not passed yet, concurrently; each request
 * has its own timeout. Attempts start until the deadline; the last one starts at it at the latest and may take
 * up to one request timeout more.
 */
import { CancelledError } from '../errors.js';
import { httpRequest, HttpError } from '../http/http.js';
import type { Logger } from '../platform/types.js';
import { formatDuration } from '../util/duration.js';
import { sleep } from '../util/sleep.js';
import type { StatusExpectation } from './status.js';

export interface UrlWaitOptions {
  urls: readonly string[];
  expect: StatusExpectation;
  /** Per request. */
  timeoutMs: number;
  /** Overall, from the start. */
  deadlineMs: number;
  /** Between rounds. */
  intervalMs: number;
  headers?: Record<string, string>;
  followRedirects?: boolean;
  insecure?: boolean;
  signal?: AbortSignal;
  log: Logger;
  /** Injected for tests; defaults to the wall clock. */
  now?: () => number;
}

export interface UrlResult {
  url: string;
  passed: boolean;
  attempts: number;
  /** Status of the last answer, if any. */
  status?: number;
  /** Latency of the last attempt. */
  latencyMs?: number;
  /** Why the last attempt did not pass. */
  reason?: string;
  /** Milliseconds from the start until it passed. */
  passedAfterMs?: number;
}

export interface UrlWaitResult {
  passed: boolean;
  results: UrlResult[];
  attempts: number;
  durationMs: number;
  /** The deadline passed before every URL answered as expected. */
  timedOut: boolean;
}

const SNIPPET = 200;

function snippet(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > SNIPPET ? `${flat.slice(0, SNIPPET)}…` : flat;
}

async function probe(r: UrlResult, o: UrlWaitOptions, timeoutMs: number, started: number, now: () => number) {
  r.attempts++;
  const t0 = now();
  try {
    const res = await httpRequest(r.url, {
      headers: o.headers,
      timeoutMs,
      retry: { retries: 0 },
      maxRedirects: o.followRedirects ? 10 : 0,
      insecure: o.insecure,
      signal: o.signal,
    });
    r.latencyMs = now() - t0;
    r.status = res.status;
    if (o.expect.matches(res.status)) {
      await res.dump();
      r.passed = true;
      r.reason = undefined;
      r.passedAfterMs = now() - started;
      o.log.info(
        `✓ ${r.url} answered ${res.status} in ${formatDuration(r.latencyMs)} (attempt ${r.attempts})`,
      );
    } else {
      const body = snippet(await res.text().catch(() => ''));
      r.reason = `HTTP ${res.status}, expected ${o.expect.text}`;
      o.log.info(`✗ ${r.url}: ${r.reason}${body ? ` — ${body}` : ''} (attempt ${r.attempts})`);
    }
  } catch (e) {
    if (e instanceof CancelledError || o.signal?.aborted) throw e;
    r.latencyMs = now() - t0;
    r.status = undefined;
    r.reason = e instanceof HttpError ? e.message.replace(/^GET \S+: /, '') : String(e);
    o.log.info(`✗ ${r.url}: ${r.reason} (attempt ${r.attempts})`);
  }
}

export async function waitForUrls(o: UrlWaitOptions): Promise<UrlWaitResult> {
  const now = o.now ?? Date.now;
  const started = now();
  const deadline = started + o.deadlineMs;
  const results: UrlResult[] = o.urls.map((url) => ({ url, passed: false, attempts: 0 }));
  let timedOut = false;
  for (;;) {
    await Promise.all(results.filter((r) => !r.passed).map((r) => probe(r, o, o.timeoutMs, started, now)));
    if (results.every((r) => r.passed)) break;
    const remaining = deadline - now();
    if (remaining <= 0) {
      timedOut = true;
      break;
    }
    // Never sleep past the deadline: the last attempt starts at it at the latest.
    const wait = Math.min(o.intervalMs, remaining);
    o.log.info(
      `${results.filter((r) => !r.passed).length} of ${results.length} not ready; next try in ${formatDuration(wait)} (deadline in ${formatDuration(remaining)})`,
    );
    await sleep(wait, o.signal);
  }
  const passed = results.every((r) => r.passed);
  return {
    passed,
    results,
    attempts: results.reduce((n, r) => n + r.attempts, 0),
    durationMs: now() - started,
    timedOut: timedOut && !passed,
  };
}
