/**
 * Kiln's HTTP layer, on Node's own `http`/`https` (no bundled HTTP client: nothing to load at start-up, and no
 * WebAssembly parser whose background compilation holds up the process's exit): keep-alive connection pools,
 * a per-attempt timeout, retries with exponential backoff and full jitter on network errors, 429 and 5xx,
 * honouring `Retry-After` (seconds or HTTP date), proxies from the environment (absolute-form requests for
 * http URLs, CONNECT tunnels for https), TLS verification off only when asked, redirects only when asked,
 * and the `kiln/<version>` user agent. Everything that talks to a server (registries, Marathon, Kubernetes,
 * smoke tests) goes through {@link httpRequest}.
 */
import { monotonicMs } from '../util/duration.js';
import { Agent as HttpAgent, request as httpSend, type IncomingMessage } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isIP } from 'node:net';
import { CancelledError } from '../errors.js';
import type { Logger } from '../platform/types.js';
import { formatSize } from '../util/bytes.js';
import { abortReason, sleep, timerDelay } from '../util/sleep.js';
import { USER_AGENT } from '../version.js';
import { proxyFor } from './proxy.js';
import { routes, type Route } from './pools.js';

/** The pools are kept in pools.ts (runMain closes them without loading this module). */
export { closeHttpPools } from './pools.js';

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

/** TLS material for https targets (a private cluster's CA, a client certificate), instead of Node's defaults. */
export interface HttpTlsOptions {
  /** Trusted CA certificates (PEM) instead of Node's bundled roots. */
  ca?: string | Buffer;
  /** A client certificate and its private key (PEM). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The name the server's certificate must match and that is sent as SNI, instead of the URL's host. */
  servername?: string;
}

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
  /**
   * An absolute time (ms since epoch) when the whole exchange ends: no retry starts after it, and an attempt
   * still waiting for headers or still reading its body then (a server that stalls, trickles or never stops)
   * fails with "…before the deadline".
   */
  deadline?: number;
  /** The most `text()`, `json()` and `buffer()` read (default 32 MiB); beyond it they fail naming the URL. */
  maxBodyBytes?: number;
  signal?: AbortSignal;
  logger?: Logger;
  /** Skip TLS verification (only where the user listed the host as insecure). */
  insecure?: boolean;
  /** CA, client certificate and server name for https targets (through a CONNECT tunnel too). */
  tls?: HttpTlsOptions;
  /** Follow redirects (default 0: the caller sees 3xx). */
  maxRedirects?: number;
  /**
   * Headers that carry a secret (filled from one): like `Authorization`, `Cookie` and credential-like names
   * (`X-Api-Key`, `*-Token`, …), never sent to another origin on a redirect.
   */
  sensitiveHeaders?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as a stream (read it, or call `dump()`, so the connection can be reused). */
  body: Readable;
  url: string;
  attempts: number;
  /** Time to response headers of the final attempt. */
  durationMs: number;
  header(name: string): string | undefined;
  text(): Promise<string>;
  json<T = unknown>(): Promise<T>;
  /** The body; with `truncateAt`, only its first bytes (the rest is not read; no error). */
  buffer(opts?: { truncateAt?: number }): Promise<Buffer>;
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

// ---------------------------------------------------------------------------------------------------------
// Connection pools

/** How long an idle kept-alive connection is kept (servers commonly close theirs after 5 s or more). */
const IDLE_MS = 4_000;
/** How long a proxy may take to open a CONNECT tunnel, unless the request says (its timeout). */
const TUNNEL_TIMEOUT_MS = 30_000;

function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username && !proxy.password) return undefined;
  const user = decodeURIComponent(proxy.username);
  const pass = decodeURIComponent(proxy.password);
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/**
 * A socket's own error listener. Node forwards a socket's errors to the request using it, but a socket whose
 * request was cancelled before it got the socket is destroyed with no listener: without this the
 * cancellation's error would be uncaught.
 */
function guard<T extends Duplex | null | undefined>(socket: T): T {
  socket?.on('error', () => undefined);
  return socket;
}

class PoolAgent extends HttpAgent {
  override createConnection(...args: Parameters<HttpAgent['createConnection']>) {
    return guard(super.createConnection(...args));
  }
}

/**
 * The TLS side of the pools (https targets, https proxies, CONNECT tunnels), defined on first use: Node's https
 * and tls modules take about 10 ms to load, which a run that talks only to http URLs (a local registry, an
 * in-cluster Marathon, a plain health URL) does not pay.
 */
function defineTlsAgents() {
  const https = process.getBuiltinModule('node:https');
  const { connect: tlsConnect } = process.getBuiltinModule('node:tls');

  class TlsPoolAgent extends https.Agent {
    override createConnection(...args: Parameters<HttpsAgent['createConnection']>) {
      return guard(super.createConnection(...args));
    }
  }

  /** An https agent whose connections are CONNECT tunnels through `proxy` (itself http or https). */
  class TunnelAgent extends https.Agent {
    constructor(
      private readonly proxy: URL,
      insecure: boolean,
      tls: HttpTlsOptions | undefined,
    ) {
      super({ keepAlive: true, timeout: IDLE_MS, scheduling: 'lifo', rejectUnauthorized: !insecure, ...tls });
    }

    override createConnection(
      options: {
        host?: string;
        port?: number;
        servername?: string;
        rejectUnauthorized?: boolean;
        timeout?: number;
        ca?: string | Buffer;
        cert?: string | Buffer;
        key?: string | Buffer;
      },
      done: (err: Error | null, socket?: Duplex) => void,
    ): undefined {
      const { proxy } = this;
      const host = options.host ?? 'localhost';
      const authority = `${isIP(host) === 6 ? `[${host}]` : host}:${options.port ?? 443}`;
      const auth = proxyAuthorization(proxy);
      const send = proxy.protocol === 'https:' ? https.request : httpSend;
      const req = send({
        host: proxy.hostname.replace(/^\[|\]$/g, ''),
        port: proxy.port || (proxy.protocol === 'https:' ? 443 : 80),
        method: 'CONNECT',
        path: authority,
        agent: false,
        headers: {
          host: authority,
          'user-agent': USER_AGENT,
          ...(auth ? { 'proxy-authorization': auth } : {}),
        },
      });
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        done(err);
      };
      // No answer from the proxy: the request waiting for this connection must not wait for ever.
      const waitMs = options.timeout ?? TUNNEL_TIMEOUT_MS;
      req.setTimeout(waitMs, () =>
        req.destroy(
          Object.assign(new Error(`no tunnel from the proxy within ${waitMs}ms`), { code: CONNECT_TIMEOUT }),
        ),
      );
      req.once('connect', (res, socket) => {
        req.setTimeout(0);
        if (res.statusCode !== 200) {
          socket.destroy();
          return fail(
            Object.assign(
              new Error(`the proxy refused to open a tunnel to ${authority} (HTTP ${res.statusCode})`),
              {
                code: 'EPROXY',
              },
            ),
          );
        }
        const tls = tlsConnect({
          socket,
          // SNI names a host, never an address (RFC 6066).
          servername: options.servername ?? (isIP(host) ? undefined : host),
          rejectUnauthorized: options.rejectUnauthorized ?? true,
          ca: options.ca,
          cert: options.cert,
          key: options.key,
          ALPNProtocols: ['http/1.1'],
        });
        settled = true;
        done(null, guard(tls));
      });
      req.on('error', fail);
      req.end();
      return undefined;
    }
  }

  return { TlsPoolAgent, TunnelAgent, send: https.request };
}

let tlsSide: ReturnType<typeof defineTlsAgents> | undefined;
const tlsAgents = () => (tlsSide ??= defineTlsAgents());

/**
 * A pool per TLS identity: its material's digest keys the route (the material itself, a private key among it,
 * stays out of the key).
 */
function tlsKey(tls: HttpTlsOptions | undefined): string {
  if (!tls || (!tls.ca && !tls.cert && !tls.key && !tls.servername)) return '';
  const hash = process.getBuiltinModule('node:crypto').createHash('sha256');
  for (const part of [tls.ca, tls.cert, tls.key, tls.servername])
    hash.update(`${part?.length ?? -1}:`).update(part ?? '');
  return hash.digest('base64url');
}

function routeFor(
  target: URL,
  insecure: boolean,
  env: NodeJS.ProcessEnv,
  tls: HttpTlsOptions | undefined,
): Route {
  const proxyUri = proxyFor(target, env);
  const tlsId = target.protocol === 'https:' ? tlsKey(tls) : '';
  const key = `${target.protocol}|${proxyUri ?? ''}|${insecure}|${tlsId}`;
  const targetTls = tlsId ? tls : undefined;
  let route = routes.get(key);
  if (!route) {
    const common = { keepAlive: true, timeout: IDLE_MS, scheduling: 'lifo' as const };
    if (!proxyUri) {
      route = {
        agent:
          target.protocol === 'https:'
            ? new (tlsAgents().TlsPoolAgent)({ ...common, rejectUnauthorized: !insecure, ...targetTls })
            : new PoolAgent(common),
      };
    } else {
      const proxy = new URL(proxyUri.includes('://') ? proxyUri : `http://${proxyUri}`);
      route =
        target.protocol === 'https:'
          ? { agent: new (tlsAgents().TunnelAgent)(proxy, insecure, targetTls) }
          : {
              agent:
                proxy.protocol === 'https:'
                  ? new (tlsAgents().TlsPoolAgent)({ ...common, rejectUnauthorized: !insecure })
                  : new PoolAgent(common),
              proxy,
            };
    }
    routes.set(key, route);
  }
  return route;
}

function headerValue(headers: HttpResponse['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}

// ---------------------------------------------------------------------------------------------------------
// Errors

/** Our own codes: no connection within the timeout; connected but silent for the timeout. */
const CONNECT_TIMEOUT = 'KILN_CONNECT_TIMEOUT';
const TIMEOUT = 'KILN_TIMEOUT';
/** The connection closed before a whole response arrived. */
const PREMATURE_CLOSE = 'KILN_PREMATURE_CLOSE';
/** A kept-alive connection that the server had closed before our request: it never reached the server. */
const STALE_CONNECTION = 'KILN_STALE_CONNECTION';

/** Network error codes worth another attempt. */
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  CONNECT_TIMEOUT,
  TIMEOUT,
  PREMATURE_CLOSE,
  STALE_CONNECTION,
]);

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.code ?? e?.cause?.code;
}

/** Did the request reach the server? Connect-phase failures are safe to retry for any method. */
function neverSent(code: string | undefined): boolean {
  return (
    code === 'ECONNREFUSED' ||
    code === CONNECT_TIMEOUT ||
    code === STALE_CONNECTION ||
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
    case 'EPIPE':
    case PREMATURE_CLOSE:
    case STALE_CONNECTION:
      return `connection to ${host} was reset`;
    case CONNECT_TIMEOUT:
      return `timed out connecting to ${host}`;
    case TIMEOUT:
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

// ---------------------------------------------------------------------------------------------------------
// One attempt

/**
 * Sends one request and resolves with the response once its headers arrive. The timeout is the longest
 * silence on the connection: connecting, waiting for the headers, and later while the body is read.
 */
function sendOnce(
  target: URL,
  method: string,
  headers: Record<string, string>,
  body: HttpBody | undefined,
  route: Route,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<IncomingMessage> {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const viaProxy = route.proxy;
    const send = (viaProxy ?? target).protocol === 'https:' ? tlsAgents().send : httpSend;
    const outHeaders: Record<string, string> = { ...headers, host: target.host };
    // A whole body has a length: sent as Content-Length, or Node would send a DELETE's (or GET's) body with
    // neither a length nor chunking, and the server could not read it.
    if (
      (typeof body === 'string' || body instanceof Uint8Array) &&
      outHeaders['content-length'] === undefined
    )
      outHeaders['content-length'] = String(
        typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
      );
    let path = `${target.pathname}${target.search}`;
    let host = target.hostname;
    let port = target.port || (target.protocol === 'https:' ? '443' : '80');
    if (viaProxy) {
      path = target.toString();
      host = viaProxy.hostname;
      port = viaProxy.port || (viaProxy.protocol === 'https:' ? '443' : '80');
      const auth = proxyAuthorization(viaProxy);
      if (auth) outHeaders['proxy-authorization'] = auth;
    }
    const req = send({
      host: host.replace(/^\[|\]$/g, ''),
      port,
      method,
      path,
      headers: outHeaders,
      agent: route.agent,
      signal,
      // The socket's inactivity timeout ('timeout' below); it also reaches the agent: a proxy's CONNECT gets it.
      timeout: timeoutMs,
    });
    let answered = false;
    let connected = false;
    /** Why the request body failed (e.g. a digest check on the way): the error callers care about. */
    let bodyError: Error | undefined;
    req.once('socket', (socket) => {
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    req.on('timeout', () => {
      const code = connected ? TIMEOUT : CONNECT_TIMEOUT;
      req.destroy(Object.assign(new Error(`no activity for ${timeoutMs}ms`), { code }));
    });
    req.on('error', (err: Error & { code?: string }) => {
      if (answered) return;
      if (bodyError) return reject(bodyError);
      // A kept-alive connection the server had closed: the request never reached it.
      if (req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        return reject(Object.assign(new Error(err.message, { cause: err }), { code: STALE_CONNECTION }));
      }
      reject(err);
    });
    req.once('response', (res) => {
      answered = true;
      // An error on a body nobody reads yet (e.g. cancelled while waiting for its turn) must not be uncaught;
      // a reader still gets it (a destroyed stream rejects its iterator and fails a pipeline).
      res.on('error', () => undefined);
      // From here on a failure surfaces as an error on the body stream.
      req.on('error', (err) => {
        if (!res.destroyed) res.destroy(err);
      });
      res.once('aborted', () => {
        if (!res.destroyed)
          res.destroy(
            Object.assign(new Error('the connection closed mid-response'), { code: PREMATURE_CLOSE }),
          );
      });
      resolve(res);
    });
    if (body === undefined) req.end();
    else if (typeof body === 'string' || body instanceof Uint8Array) req.end(body);
    else
      pipeline(body, req).catch((err: unknown) => {
        bodyError ??= err instanceof Error ? err : new Error(String(err));
        req.destroy(bodyError);
      });
  });
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

  // The deadline ends the exchange wherever it is, the body read included (a trickling or endless body).
  const deadline = opts.deadline === undefined ? undefined : new DeadlineGuard(opts.deadline, opts.signal);
  const pastDeadline = (): HttpError =>
    new HttpError(
      `${method} ${redactUrl(target)}: no complete answer from ${target.host} before the deadline`,
      target.toString(),
      DEADLINE,
      1,
    );
  const attemptOpts = deadline ? { ...opts, signal: deadline.signal } : opts;
  // With a deadline and no explicit count, retries go on until the deadline (a rate-limited registry answers
  // 429 for as long as it likes); otherwise `retries` bounds them.
  const untilDeadline = opts.deadline !== undefined && opts.retry?.retries === undefined;
  const withinBudget = (attempt: number): boolean => untilDeadline || attempt < policy.retries;

  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    if (deadline?.passed) throw pastDeadline();
    const body = typeof opts.body === 'function' ? opts.body() : opts.body;
    const started = monotonicMs();
    let retryReason: string;
    let waitMs: number;
    try {
      const res = await follow(target, method, headers, body, attemptOpts, timeoutMs, env);
      const durationMs = monotonicMs() - started;
      const response = wrap(res.res, res.method, res.url, attempt + 1, durationMs, {
        limit: opts.maxBodyBytes ?? DEFAULT_MAX_BODY,
        pastDeadline: () => (deadline?.passed ? pastDeadline() : undefined),
      });
      const final = (): HttpResponse => {
        deadline?.watch(res.res);
        return response;
      };
      const status = response.status;
      const canRetry = withinBudget(attempt) && replayable && retryStatus(status);
      if (!canRetry || !(safe || status === 429 || status === 503)) return final();
      const retryAfter = parseRetryAfter(response.header('retry-after'));
      if (retryAfter !== undefined && retryAfter > policy.maxRetryAfterMs) return final();
      // Jitter after Retry-After too: clients told the same time would otherwise all come back together.
      waitMs =
        retryAfter !== undefined
          ? retryAfter + Math.floor(Math.random() * Math.max(250, retryAfter / 2))
          : backoffDelay(attempt, policy);
      retryReason = `HTTP ${status}${retryAfter !== undefined ? ` (Retry-After ${Math.round(retryAfter / 1000)}s)` : ''}`;
      if (opts.deadline !== undefined && Date.now() + waitMs >= opts.deadline) return final();
      await response.dump();
    } catch (err) {
      if (opts.signal?.aborted) throw abortReason(opts.signal);
      if (deadline?.passed) throw pastDeadline();
      if (err instanceof CancelledError) throw err;
      const code = errorCode(err);
      const message = describeNetworkError(err, target.toString(), timeoutMs);
      const retryable = code !== undefined && RETRYABLE_CODES.has(code) && (safe || neverSent(code));
      // A stale kept-alive connection is not the server's fault: try again at once.
      waitMs = code === STALE_CONNECTION ? 0 : backoffDelay(attempt, policy);
      if (
        !retryable ||
        !replayable ||
        !withinBudget(attempt) ||
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
      `${method} ${redactUrl(target)}: ${retryReason}; retry ${attempt + 1}${untilDeadline ? ' (until the deadline)' : `/${policy.retries}`} in ${waitMs}ms`,
    );
    try {
      await sleep(waitMs, attemptOpts.signal);
    } catch (e) {
      if (deadline?.passed && !opts.signal?.aborted) throw pastDeadline();
      throw e;
    }
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

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Header names that carry credentials by convention: dropped on a redirect to another origin. */
export const CREDENTIAL_HEADER =
  /^(authorization|proxy-authorization|cookie)$|token|secret|password|passwd|api[-_]?key|credential|session|auth/i;

/** Sends a request, following up to `opts.maxRedirects` redirects (credentials are not sent to another origin). */
async function follow(
  target: URL,
  method: string,
  headers: Record<string, string>,
  body: HttpBody | undefined,
  opts: HttpRequestOptions,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
): Promise<{ res: IncomingMessage; url: string; method: string }> {
  let url = target;
  let m = method;
  let b = body;
  let h = headers;
  for (let hops = 0; ; hops++) {
    // A client certificate is a credential: it goes to the origin asked for, not to where a redirect points.
    const route = routeFor(
      url,
      opts.insecure ?? false,
      env,
      url.origin === target.origin ? opts.tls : undefined,
    );
    const res = await sendOnce(url, m, h, b, route, timeoutMs, opts.signal);
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode ?? 0) || !location || hops >= (opts.maxRedirects ?? 0)) {
      return { res, url: url.toString(), method: m };
    }
    res.resume();
    const next = new URL(location, url);
    if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && m === 'POST')) {
      m = m === 'HEAD' ? 'HEAD' : 'GET';
      b = undefined;
      h = Object.fromEntries(
        Object.entries(h).filter(([k]) => k !== 'content-type' && k !== 'content-length'),
      );
    } else if (b !== undefined && typeof b !== 'string' && !(b instanceof Uint8Array)) {
      // A streamed body is gone: hand the redirect to the caller.
      return { res, url: url.toString(), method: m };
    }
    if (next.origin !== url.origin) {
      const sensitive = new Set((opts.sensitiveHeaders ?? []).map((k) => k.toLowerCase()));
      h = Object.fromEntries(
        Object.entries(h).filter(([k]) => !sensitive.has(k) && !CREDENTIAL_HEADER.test(k)),
      );
    }
    url = next;
  }
}

/** Our code for an exchange cut by its deadline. */
const DEADLINE = 'KILN_DEADLINE';
/** What `text()`, `json()` and `buffer()` read at most unless told otherwise. */
export const DEFAULT_MAX_BODY = 32 * 1024 * 1024;

/**
 * Ends an exchange at its deadline: an AbortSignal for the request (with the caller's), and, once the response
 * is there, destroys its body if it is still being read then. The timer never keeps the process alive.
 */
class DeadlineGuard {
  private readonly abort = new AbortController();
  readonly signal: AbortSignal;
  private readonly timer: NodeJS.Timeout;
  constructor(
    private readonly at: number,
    outer: AbortSignal | undefined,
  ) {
    this.signal = outer ? AbortSignal.any([outer, this.abort.signal]) : this.abort.signal;
    this.timer = setTimeout(() => this.abort.abort(new Error('deadline')), timerDelay(at - Date.now()));
    this.timer.unref();
  }
  get passed(): boolean {
    return this.abort.signal.aborted || Date.now() >= this.at;
  }
  /** Cut the body at the deadline; stop watching once it is read or closed. */
  watch(res: IncomingMessage): void {
    const cut = (): void => {
      if (!res.destroyed) res.destroy(Object.assign(new Error('deadline'), { code: DEADLINE }));
    };
    this.abort.signal.addEventListener('abort', cut, { once: true });
    res.once('close', () => {
      this.abort.signal.removeEventListener('abort', cut);
      clearTimeout(this.timer);
    });
  }
}

/**
 * The body, up to `limit` bytes: past it an error naming the URL, or, with `truncate`, just the first `limit`
 * bytes (the rest is not read). A body cut at the deadline fails with the deadline's error.
 */
async function readAll(
  body: Readable,
  url: string,
  o: { limit: number; pastDeadline: () => HttpError | undefined },
  truncate = false,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const b = chunk as Buffer;
      if (size + b.length > o.limit) {
        body.destroy();
        if (truncate) {
          chunks.push(b.subarray(0, o.limit - size));
          break;
        }
        throw new HttpError(
          `${redactUrl(new URL(url))}: the answer is larger than ${formatSize(o.limit)}; stopped reading`,
          url,
          'KILN_BODY_TOO_LARGE',
          1,
        );
      }
      size += b.length;
      chunks.push(b);
    }
  } catch (e) {
    throw o.pastDeadline() ?? e;
  }
  return Buffer.concat(chunks);
}

/** Bodies larger than this are not drained to keep the connection: the connection is closed instead. */
const DRAIN_LIMIT = 256 * 1024;

function wrap(
  res: IncomingMessage,
  method: string,
  url: string,
  attempts: number,
  durationMs: number,
  read: { limit: number; pastDeadline: () => HttpError | undefined } = {
    limit: DEFAULT_MAX_BODY,
    pastDeadline: () => undefined,
  },
): HttpResponse {
  const headers = res.headers as HttpResponse['headers'];
  // No body to read (HEAD, 204, 304, Content-Length: 0): let the connection go back to the pool now.
  const status = res.statusCode ?? 0;
  if (method === 'HEAD' || status === 204 || status === 304 || headers['content-length'] === '0')
    res.resume();
  return {
    status: res.statusCode ?? 0,
    headers,
    body: res,
    url,
    attempts,
    durationMs,
    header: (name) => headerValue(headers, name),
    text: async () => (await readAll(res, url, read)).toString('utf8'),
    json: async <T>() => JSON.parse((await readAll(res, url, read)).toString('utf8')) as T,
    buffer: (o) =>
      o?.truncateAt === undefined
        ? readAll(res, url, read)
        : readAll(res, url, { ...read, limit: o.truncateAt }, true),
    dump: async () => {
      if (res.complete || res.destroyed) return;
      const length = Number(res.headers['content-length'] ?? NaN);
      if (!(length <= DRAIN_LIMIT)) {
        res.destroy();
        return;
      }
      await new Promise<void>((resolve) => {
        res.once('end', resolve);
        res.once('close', resolve);
        res.once('error', () => resolve());
        res.resume();
      });
    },
  };
}
