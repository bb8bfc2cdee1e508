/**
 * One authorised request to a registry: where to send it (scheme, API host), how to authorise it, how to
 * follow redirects, and how to turn a failure into a {@link RegistryError} naming the registry, repository
 * and operation. Every request goes through core's {@link httpRequest} (timeouts, retries on 429/5xx and
 * resets honouring Retry-After, proxies).
 *
 * Scheme (decided per registry, remembered for the client's lifetime):
 * - https with TLS verification, by default;
 * - a registry listed in `insecureRegistries` (`host:port`, or `host` for any port): https without TLS
 *   verification, and plain http when the TLS handshake fails (what docker does for insecure registries);
 * - a loopback registry (`localhost`, 127.0.0.0/8, `[::1]`, any port) not listed: plain http directly, since
 *   traffic that never leaves the machine gains nothing from TLS and test and CI-service registries there are
 *   nearly always plain. If it turns out to speak TLS (a Go server answers a plain request with
 *   `400 Client sent an HTTP request to an HTTPS server`), Kiln switches to verified https; a loopback registry
 *   with a self-signed certificate must be listed as insecure.
 *
 * `docker.io` is reached at its API host `registry-1.docker.io` ({@link registryApiHost}).
 *
 * Redirects (blob downloads are often redirected to object storage) are followed by hand for GET and HEAD:
 * the `Authorization` header is only ever sent to the registry's own origin, and so are upload `Location`s on
 * another origin (they are pre-signed).
 */
import { CancelledError, ConfigurationError } from '../errors.js';
import {
  HttpError,
  httpRequest,
  parseRetryAfter,
  type HttpBody,
  type HttpResponse,
  type RetryPolicy,
} from '../http/http.js';
import { isLoopbackRegistry, registryApiHost } from '../image/reference.js';
import type { Logger } from '../platform/types.js';
import type { Authenticator, Authorization, RequestStats } from './auth.js';
import { normaliseRegistryKey } from './docker-config.js';
import {
  DigestMismatchError,
  RegistryError,
  describeErrorBody,
  findCause,
  parseErrorBody,
} from './errors.js';
import type { Scope } from './scopes.js';

/** Per-call context: cancellation and request accounting. */
export interface CallContext {
  signal?: AbortSignal;
  /** Incremented by every HTTP request made (retries and token requests included). */
  stats?: RequestStats;
}

export interface RegistryRequest {
  registry: string;
  repository?: string;
  method: string;
  /** `/v2/…` (relative to the registry) or an absolute URL (an upload `Location`). */
  path: string;
  /** What the request needs, for Bearer tokens. */
  scopes: Scope[];
  /** For messages: 'GET manifest app:1'. */
  operation: string;
  headers?: Record<string, string | undefined>;
  body?: HttpBody | (() => HttpBody);
  /** Retry a POST/PATCH on 5xx and resets too (safe when the request has no effect until completed). */
  retryUnsafe?: boolean;
  /** Follow 3xx answers to GET/HEAD (auth only to the registry's origin). */
  followRedirects?: boolean;
  timeoutMs?: number;
}

export interface TransportOptions {
  logger: Logger;
  auth: Authenticator;
  insecureRegistries?: readonly string[];
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Aborts everything this client does. */
  signal?: AbortSignal;
  /**
   * The operation's deadline (ms since the epoch): a request is retried (429, 5xx, resets, jittered, honouring
   * Retry-After) until then rather than a fixed number of times, and never runs past it.
   */
  deadline?: number;
}

interface Endpoint {
  scheme: 'https' | 'http';
  insecure: boolean;
  /** Another scheme to try once when this one does not work (see the module comment). */
  fallback?: 'https' | 'http';
  host: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const GO_TLS_ONLY = 'Client sent an HTTP request to an HTTPS server';
const MAX_AUTH_ROUNDS = 3;
const MAX_REDIRECTS = 5;

function isStreamBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && typeof (body as { pipe?: unknown }).pipe === 'function';
}

function isTlsFailure(err: unknown): boolean {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code ?? '';
  const message = `${e.message ?? ''} ${e.cause?.message ?? ''}`;
  return (
    code === 'EPROTO' ||
    code.startsWith('ERR_SSL') ||
    code.startsWith('ERR_TLS') ||
    /wrong version number|SSL routines|TLS/i.test(message)
  );
}

/** URLs in a message without their query (upload URLs carry long `_state` tokens). */
export function shortenUrls(message: string): string {
  return message.replace(/(https?:\/\/[^\s?#]+)[?#]\S*?(?=:?(?:\s|$))/g, '$1');
}

/** A response whose body was already read into `text`. */
function withText(res: HttpResponse, text: string): HttpResponse {
  return {
    ...res,
    text: async () => text,
    json: async <T>() => JSON.parse(text) as T,
    buffer: async () => Buffer.from(text),
    dump: async () => undefined,
  };
}

export class RegistryTransport {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly insecure: Set<string>;

  constructor(private readonly opts: TransportOptions) {
    this.insecure = new Set((opts.insecureRegistries ?? []).map(normaliseRegistryKey));
  }

  /** The operation's deadline, if any (ms since the epoch). */
  get deadline(): number | undefined {
    return this.opts.deadline;
  }

  get logger(): Logger {
    return this.opts.logger;
  }

  get auth(): Authenticator {
    return this.opts.auth;
  }

  /** True when `host` (`host[:port]`) is listed as insecure, by exact name or host without port. */
  isInsecureHost(host: string): boolean {
    const h = normaliseRegistryKey(host);
    if (this.insecure.has(h)) return true;
    const bare = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d+$/, '');
    return this.insecure.has(bare);
  }

  private endpoint(registry: string): Endpoint {
    let ep = this.endpoints.get(registry);
    if (!ep) {
      const host = registryApiHost(registry);
      if (this.isInsecureHost(registry) || this.isInsecureHost(host)) {
        ep = { scheme: 'https', insecure: true, fallback: 'http', host };
      } else if (isLoopbackRegistry(registry)) {
        ep = { scheme: 'http', insecure: false, fallback: 'https', host };
      } else {
        ep = { scheme: 'https', insecure: false, host };
      }
      this.endpoints.set(registry, ep);
    }
    return ep;
  }

  /** `https://registry-1.docker.io` etc.: where `/v2/…` paths of `registry` go. */
  baseUrl(registry: string): string {
    const ep = this.endpoint(registry);
    return `${ep.scheme}://${ep.host}`;
  }

  private signal(ctx: CallContext): AbortSignal | undefined {
    const signals = [this.opts.signal, ctx.signal].filter((s): s is AbortSignal => s !== undefined);
    if (signals.length <= 1) return signals[0];
    return AbortSignal.any(signals);
  }

  /**
   * Sends one request, authorising it (and answering one or more challenges), following redirects when asked.
   * Returns the final response whatever its status (use {@link RegistryTransport.failure} for errors); throws a
   * {@link RegistryError} for transport failures and authentication failures, {@link CancelledError} on abort.
   */
  async send(req: RegistryRequest, ctx: CallContext = {}): Promise<HttpResponse> {
    const ep = this.endpoint(req.registry);
    const signal = this.signal(ctx);
    const authCtx = { signal, stats: ctx.stats };
    const replayable = !isStreamBody(req.body);
    let url = new URL(req.path, this.baseUrl(req.registry));
    let authRounds = 0;
    let redirects = 0;
    let switched = false;
    for (;;) {
      const origin = `${ep.scheme}://${ep.host}`;
      const sameOrigin = url.origin === new URL(origin).origin;
      const authorization: Authorization = sameOrigin
        ? await this.opts.auth.authorize(req.registry, req.scopes, authCtx)
        : { scheme: 'none', fresh: false };
      let res: HttpResponse;
      const started = Date.now();
      try {
        res = await httpRequest(url, {
          method: req.method,
          headers: { ...req.headers, authorization: authorization.header },
          body: req.body,
          timeoutMs: req.timeoutMs ?? this.opts.timeoutMs,
          retry: this.opts.retry,
          retryUnsafe: req.retryUnsafe,
          signal,
          deadline: this.opts.deadline,
          logger: this.opts.logger,
          insecure: sameOrigin ? ep.insecure : this.isInsecureHost(url.host),
          env: this.opts.env,
        });
      } catch (err) {
        if (ctx.stats) ctx.stats.requests += err instanceof HttpError ? err.attempts : 1;
        if (err instanceof CancelledError || signal?.aborted) throw err;
        if (sameOrigin && ep.fallback === 'http' && !switched && isTlsFailure(err)) {
          this.opts.logger.debug(
            `${req.registry}: TLS handshake failed; using plain http (listed as insecure)`,
          );
          ep.scheme = 'http';
          ep.fallback = undefined;
          switched = true;
          url = this.rebase(url, ep);
          continue;
        }
        throw this.transportError(err, req);
      }
      if (ctx.stats) ctx.stats.requests += res.attempts;
      // An answer on the chosen scheme settles it (a TLS-only server answers plain http with 400 only).
      if (sameOrigin && ep.fallback !== undefined && !(ep.fallback === 'https' && res.status === 400)) {
        ep.fallback = undefined;
      }
      this.opts.logger.debug(
        `${req.method} ${url.host}${url.pathname} → ${res.status}${res.attempts > 1 ? ` after ${res.attempts} attempts` : ''} (${Date.now() - started}ms)`,
      );

      if (res.status === 400 && sameOrigin && ep.scheme === 'http' && ep.fallback === 'https' && !switched) {
        const text = await res.text().catch(() => '');
        if (text.includes(GO_TLS_ONLY)) {
          this.opts.logger.debug(`${req.registry}: the registry speaks TLS; using https`);
          ep.scheme = 'https';
          ep.fallback = undefined;
          switched = true;
          url = this.rebase(url, ep);
          continue;
        }
        return withText(res, text);
      }

      if (res.status === 401 && sameOrigin) {
        const challenge = res.header('www-authenticate');
        await res.dump();
        const outcome =
          authRounds < MAX_AUTH_ROUNDS
            ? await this.opts.auth.onChallenge(req.registry, challenge, req.scopes, authorization)
            : ({
                retry: false,
                kind: 'auth',
                message: `authentication failed for ${req.registry} (${await this.opts.auth.who(req.registry)})`,
              } as const);
        if (!outcome.retry) {
          throw new RegistryError(`${outcome.message} [${req.operation}]`, {
            kind: outcome.kind,
            registry: req.registry,
            repository: req.repository,
            operation: req.operation,
            status: 401,
          });
        }
        if (!replayable) {
          // The stream was consumed: the caller restarts the whole operation, now with credentials.
          throw new RegistryError(`${req.registry} asked to authenticate again during ${req.operation}`, {
            kind: 'auth',
            registry: req.registry,
            repository: req.repository,
            operation: req.operation,
            status: 401,
            retryable: true,
          });
        }
        authRounds++;
        continue;
      }

      if (req.followRedirects && REDIRECTS.has(res.status)) {
        const location = res.header('location');
        await res.dump();
        if (!location || ++redirects > MAX_REDIRECTS) {
          throw new RegistryError(
            `${req.operation} on ${req.registry}: ${location ? 'too many redirects' : `HTTP ${res.status} without a Location`}`,
            {
              kind: 'protocol',
              registry: req.registry,
              repository: req.repository,
              operation: req.operation,
            },
          );
        }
        url = new URL(location, url);
        continue;
      }
      return res;
    }
  }

  private rebase(url: URL, ep: Endpoint): URL {
    const next = new URL(url);
    next.protocol = `${ep.scheme}:`;
    return next;
  }

  /** A RegistryError for a failed exchange (network), with the digest-mismatch cause surfaced. */
  transportError(err: unknown, req: Pick<RegistryRequest, 'registry' | 'repository' | 'operation'>): Error {
    if (err instanceof RegistryError || err instanceof CancelledError) return err;
    // A source that refused its own content (e.g. a local image whose blob does not match) is the user's to fix.
    const config = findCause(err, ConfigurationError);
    if (config) return config;
    const mismatch = findCause(err, DigestMismatchError);
    if (mismatch) {
      const where = req.repository ? `${req.registry}/${req.repository}` : req.registry;
      return new RegistryError(`${req.operation} to ${where}: ${mismatch.message}`, {
        kind: 'digest-mismatch',
        registry: req.registry,
        repository: req.repository,
        operation: req.operation,
        cause: mismatch,
      });
    }
    const where = req.repository ? `${req.registry}/${req.repository}` : req.registry;
    let message = shortenUrls(err instanceof Error ? err.message : String(err));
    if (isTlsFailure(err) && !this.isInsecureHost(req.registry)) {
      message += ` (if ${req.registry} uses a self-signed certificate, list it in insecure registries)`;
    }
    return new RegistryError(`${req.operation} on ${where} failed: ${message}`, {
      kind: 'transport',
      registry: req.registry,
      repository: req.repository,
      operation: req.operation,
      retryable: true,
      cause: err,
    });
  }

  /**
   * A RegistryError for an unexpected status (reads the body for the registry's error codes). `notFound`
   * names the thing for a 404 ('127.0.0.1:5000/app:1 not found').
   */
  async failure(
    res: HttpResponse,
    req: Pick<RegistryRequest, 'registry' | 'repository' | 'operation'>,
    notFound?: string,
  ): Promise<RegistryError> {
    const text = res.status === 0 ? '' : await res.text().catch(() => '');
    const codes = parseErrorBody(text);
    const detail = describeErrorBody(codes, text);
    const where = req.repository ? `${req.registry}/${req.repository}` : req.registry;
    const base = {
      registry: req.registry,
      repository: req.repository,
      operation: req.operation,
      status: res.status,
      codes,
    };
    if (res.status === 404 && notFound) {
      return new RegistryError(`${notFound} not found${detail ? ` (${detail})` : ''}`, {
        ...base,
        kind: 'not-found',
      });
    }
    if (res.status === 401) {
      const who = await this.opts.auth.who(req.registry);
      return new RegistryError(`authentication failed for ${req.registry} (${who}) [${req.operation}]`, {
        ...base,
        kind: 'auth',
      });
    }
    if (res.status === 403) {
      const who = await this.opts.auth.who(req.registry);
      return new RegistryError(
        `denied: ${req.operation} on ${where} (${who})${detail ? `: ${detail}` : ''}`,
        {
          ...base,
          kind: 'denied',
        },
      );
    }
    const retryAfterMs = parseRetryAfter(res.header('retry-after'));
    return new RegistryError(
      `${req.operation} on ${where} failed: HTTP ${res.status}${detail ? ` ${detail}` : ''}`,
      {
        ...base,
        kind: res.status === 404 ? 'not-found' : 'http',
        retryable: res.status === 429 || res.status >= 500 || res.status === 408,
        retryAfterMs,
      },
    );
  }
}
