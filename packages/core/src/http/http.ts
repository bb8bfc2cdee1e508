/**
 * Kiln's HTTP layer (undici): a per-attempt timeout, retries with exponential backoff and full jitter on
 * network errors, 429 and 5xx, honouring `Retry-After` (seconds or HTTP date), proxies from the environment,
 * TLS verification off only when asked, and the `kiln/<version>` user agent. Everything that talks to a
 * server (registries, Marathon, Kubernetes, smoke tests) goes through {@link httpRequest}.
 */
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import type { Readable } from 'node:stream';
import { CancelledError } from '../errors.js';
import type { Logger } from '../platform/types.js';
import { abortReason, sleep } from '../util/sleep.js';
import { USER_AGENT } from '../version.js';
import { proxyFor } from './proxy.js';

export type HttpBody = string | Buffer | Uint8Array | Readable;

export interface RetryPolicy {
  /** Retries after the first attempt (default 3). */
  retries: number;
  /** First backoff ceiling in ms (default 500); doubles per attempt up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest `Retry-After` we accept before giving up (default 60 s). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  retries: 3,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
};

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string | undefined>;
  /** A stream body cannot be replayed: pass a function that makes a fresh one to allow retries. */
  body?: HttpBody | (() => HttpBody);
  /** Per attempt: until the response headers arrive, and the longest silence while reading the body. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Which statuses are retried (default 408, 429, 5xx except 501/505). */
  retryStatus?: (status: number) => boolean;
  /** Retry non-idempotent methods (POST, PATCH) too. Default: only when the server did not get the request. */
  retryUnsafe?: boolean;
  /** An absolute time (ms since epoch) after which no retry starts. */
  deadline?: number;
  signal?: AbortSignal;
  logger?: Logger;
  /** Skip TLS verification (only where the user listed the host as insecure). */
  insecure?: boolean;
  /** Follow redirects (default 0: the caller sees 3xx). */
  maxRedirects?: number;
  env?: NodeJS.ProcessEnv;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  url: string;
  attempts: number;
  /** Time to response headers of the final attempt. */
  durationMs: number;
  header(name: string): string | undefined;
  text(): Promise<string>;
  json<T = unknown>(): Promise<T>;
  buffer(): Promise<Buffer>;
  /** Discard the body (needed before the connection can be reused). */
  dump(): Promise<void>;
}

/** A transport-level failure after retries: connection refused, reset, timeout, TLS, DNS. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    message: string,
    readonly url: string,
    readonly code: string | undefined,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function defaultRetryStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);

/** Seconds or an HTTP date → milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Full jitter: a uniform random wait between 0 and the exponential ceiling. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(random() * ceiling);
}

const dispatchers = new Map<string, Dispatcher>();

function dispatcherFor(url: URL, insecure: boolean, env: NodeJS.ProcessEnv): Dispatcher {
  const proxy = proxyFor(url, env);
  const key = `${proxy ?? ''}|${insecure}`;
  let d = dispatchers.get(key);
  if (!d) {
    const tls = { rejectUnauthorized: !insecure };
    d = proxy ? new ProxyAgent({ uri: proxy, requestTls: tls, proxyTls: tls }) : new Agent({ connect: tls });
    dispatchers.set(key, d);
  }
  return d;
}

/** Close pooled connections (tests and short-lived processes). */
export async function closeHttpPools(): Promise<void> {
  const all = [...dispatchers.values()];
  dispatchers.clear();
  await Promise.all(all.map((d) => d.close().catch(() => undefined)));
}

function headerValue(headers: HttpResponse['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Network error codes worth another attempt. */
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code ?? e?.cause?.code;
}

/** Did the request reach the server? Connect-phase failures are safe to retry for any method. */
function neverSent(code: string | undefined): boolean {
  return (
    code === 'ECONNREFUSED' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'EAI_AGAIN' ||
    code === 'ENOTFOUND'
  );
}

function describeNetworkError(err: unknown, url: string, timeoutMs: number): string {
  const code = errorCode(err);
  const host = new URL(url).host;
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused by ${host}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host ${new URL(url).hostname}`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return `connection to ${host} was reset`;
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `timed out connecting to ${host}`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return `no answer from ${host} within ${timeoutMs}ms`;
    default: {
      const msg = err instanceof Error ? err.message : String(err);
      return (code && code.startsWith('ERR_TLS')) || /certificate|TLS|SSL/i.test(msg)
        ? `TLS error talking to ${host}: ${msg}`
        : `${msg}${code ? ` (${code})` : ''} talking to ${host}`;
    }
  }
}

/**
 * One HTTP exchange with retries. Returns the final response (whatever its status, once retries are spent);
 * throws {@link HttpError} only for transport failures, and {@link CancelledError} when `signal` aborts.
 */
export async function httpRequest(url: string | URL, opts: HttpRequestOptions = {}): Promise<HttpResponse> {
  const target = new URL(url);
  const method = (opts.method ?? 'GET').toUpperCase();
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...opts.retry };
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const retryStatus = opts.retryStatus ?? defaultRetryStatus;
  const safe = IDEMPOTENT.has(method) || opts.retryUnsafe === true;
  const env = opts.env ?? process.env;
  const replayable = typeof opts.body === 'function' || !isStream(opts.body);
  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;

  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    const body = typeof opts.body === 'function' ? opts.body() : opts.body;
    const started = performance.now();
    let retryReason: string;
    let waitMs: number;
    try {
      const res = await request(target, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body: body as Dispatcher.DispatchOptions['body'],
        dispatcher: dispatcherFor(target, opts.insecure ?? false, env),
        signal: opts.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        maxRedirections: opts.maxRedirects ?? 0,
      } as Parameters<typeof request>[1]);
      const durationMs = performance.now() - started;
      const response = wrap(res, target.toString(), attempt + 1, durationMs);
      const canRetry = attempt < policy.retries && replayable && retryStatus(res.statusCode);
      if (!canRetry || !(safe || res.statusCode === 429 || res.statusCode === 503)) return response;
      const retryAfter = parseRetryAfter(response.header('retry-after'));
      if (retryAfter !== undefined && retryAfter > policy.maxRetryAfterMs) return response;
      waitMs = retryAfter ?? backoffDelay(attempt, policy);
      retryReason = `HTTP ${res.statusCode}${retryAfter !== undefined ? ` (Retry-After ${Math.round(retryAfter / 1000)}s)` : ''}`;
      if (opts.deadline !== undefined && Date.now() + waitMs >= opts.deadline) return response;
      await response.dump();
    } catch (err) {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      if (err instanceof CancelledError) throw err;
      const code = errorCode(err);
      const message = describeNetworkError(err, target.toString(), timeoutMs);
      const retryable = code !== undefined && RETRYABLE_CODES.has(code) && (safe || neverSent(code));
      waitMs = backoffDelay(attempt, policy);
      if (
        !retryable ||
        !replayable ||
        attempt >= policy.retries ||
        (opts.deadline !== undefined && Date.now() + waitMs >= opts.deadline)
      )
        throw new HttpError(
          `${method} ${redactUrl(target)}: ${message}`,
          target.toString(),
          code,
          attempt + 1,
          {
            cause: err,
          },
        );
      retryReason = message;
    }
    opts.logger?.debug(
      `${method} ${redactUrl(target)}: ${retryReason}; retry ${attempt + 1}/${policy.retries} in ${waitMs}ms`,
    );
    await sleep(waitMs, opts.signal);
  }
}

function isStream(body: unknown): body is Readable {
  return typeof body === 'object' && body !== null && typeof (body as Readable).pipe === 'function';
}

/** A URL for logs: user-info removed. */
export function redactUrl(u: URL): string {
  if (!u.username && !u.password) return u.toString();
  const c = new URL(u);
  c.username = '';
  c.password = '';
  return c.toString();
}

function wrap(res: Dispatcher.ResponseData, url: string, attempts: number, durationMs: number): HttpResponse {
  const headers = res.headers as HttpResponse['headers'];
  return {
    status: res.statusCode,
    headers,
    body: res.body,
    url,
    attempts,
    durationMs,
    header: (name) => headerValue(headers, name),
    text: () => res.body.text(),
    json: <T>() => res.body.json() as Promise<T>,
    buffer: async () => Buffer.from(await res.body.arrayBuffer()),
    dump: async () => {
      await res.body.dump().catch(() => undefined);
    },
  };
}
