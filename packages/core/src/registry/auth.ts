/**
 * Registry authentication: anonymous, Basic, and the Bearer token flow of distribution's
 * `docs/spec/auth/token.md`.
 *
 * The flow is reactive, then proactive. A registry's first request goes out anonymously; a 401 carries a
 * challenge (`WWW-Authenticate`) that says which scheme it wants. From then on, every request to that registry
 * is authorised before it is sent, so only the first request of a registry pays the 401 round trip:
 *
 * - Basic: `Authorization: Basic base64(user:password)`, only once the registry asked for it (credentials are
 *   never offered to a registry that did not ask).
 * - Bearer: `GET <realm>?service=<service>&scope=<s1>&scope=<s2>…` (Basic credentials to the realm when there
 *   are some; `account=<user>`), or, with an identity token, the OAuth2 `POST <realm>` refresh-token grant. The
 *   answer is `{token | access_token, expires_in (default 60 s), refresh_token?}`.
 *
 * One token covers every scope the registry was asked for so far in this client: the scopes declared up front
 * ({@link Authenticator.declareScopes}: a promote declares `repository:<dst>:pull,push` and
 * `repository:<src>:pull`), the scopes each request needs, and the scopes any challenge named. Push scopes are
 * listed first. When a request needs a scope no cached token covers, or a challenge (e.g.
 * `error="insufficient_scope"`) asks for more, the token is re-exchanged for the grown set; tokens are also
 * re-exchanged shortly before they expire. Tokens are cached per registry and scope set, and concurrent
 * requests needing the same token share one token request.
 *
 * Credentials are looked up lazily (only when a registry challenges), every token is handed to `onSecret`,
 * and credentials are never sent in clear text to a non-loopback realm over plain HTTP unless the realm's
 * host is listed as insecure.
 */
import { httpRequest, type RetryPolicy } from '../http/http.js';
import { isLoopbackRegistry } from '../image/reference.js';
import type { Logger } from '../platform/types.js';
import { pickChallenge, parseWwwAuthenticate, type AuthChallenge } from './challenge.js';
import type { CredentialSource, RegistryCredentials } from './credentials.js';
import { RegistryError, describeErrorBody, parseErrorBody } from './errors.js';
import { parseScope, parseScopeList, ScopeSet, type Scope } from './scopes.js';

/** Counts the HTTP requests made on behalf of one operation (retries included). */
export interface RequestStats {
  requests: number;
}

export interface AuthenticatorOptions {
  credentials: CredentialSource;
  logger: Logger;
  onSecret?: (value: string) => void;
  /** True when TLS verification may be skipped (and plain HTTP used with credentials) for this host. */
  isInsecureHost: (host: string) => boolean;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Clock, for tests. */
  now?: () => number;
}

interface CachedToken {
  token: string;
  scopes: ScopeSet;
  expiresAt: number;
  /** Usable until this time (a margin before `expiresAt`). */
  refreshAt: number;
}

interface RegistryAuthState {
  scheme: 'unknown' | 'basic' | 'bearer';
  realm?: string;
  service?: string;
  /** Everything asked for on this registry so far. */
  wanted: ScopeSet;
  tokens: CachedToken[];
  inflight: Map<string, Promise<CachedToken>>;
}

/** How one request was authorised; passed back to {@link Authenticator.onChallenge} after a 401. */
export interface Authorization {
  header?: string;
  scheme: 'none' | 'basic' | 'bearer';
  /** The token was obtained for this request (not taken from the cache). */
  fresh: boolean;
  token?: CachedToken;
}

/** What to do after a 401. */
export type ChallengeOutcome = { retry: true } | { retry: false; kind: 'auth' | 'denied'; message: string };

export interface AuthContext {
  signal?: AbortSignal;
  stats?: RequestStats;
}

const DEFAULT_TOKEN_LIFETIME_S = 60;

export class Authenticator {
  private readonly states = new Map<string, RegistryAuthState>();
  private readonly creds = new Map<string, Promise<RegistryCredentials | undefined>>();
  private readonly now: () => number;

  constructor(private readonly opts: AuthenticatorOptions) {
    this.now = opts.now ?? Date.now;
  }

  private state(registry: string): RegistryAuthState {
    let s = this.states.get(registry);
    if (!s) {
      s = { scheme: 'unknown', wanted: new ScopeSet(), tokens: [], inflight: new Map() };
      this.states.set(registry, s);
    }
    return s;
  }

  /** Credentials for a registry (looked up once). */
  credentials(registry: string): Promise<RegistryCredentials | undefined> {
    let p = this.creds.get(registry);
    if (!p) {
      p = this.opts.credentials(registry);
      this.creds.set(registry, p);
      p.catch(() => this.creds.delete(registry));
    }
    return p;
  }

  /** The user name for messages: 'alice', 'an identity token', 'anonymous'. */
  async who(registry: string): Promise<string> {
    const c = await this.credentials(registry).catch(() => undefined);
    if (c?.username) return `user ${c.username}`;
    if (c?.identityToken) return 'an identity token';
    if (c?.registryToken) return 'a registry token';
    return 'anonymous';
  }

  /**
   * Scopes every token for `registry` should carry from now on (a promote declares source and destination up
   * front, so one token serves the whole copy).
   */
  declareScopes(registry: string, scopes: Iterable<Scope | string>): void {
    this.state(registry).wanted.addAll(scopes);
  }

  /** The scheme the registry asked for so far ('unknown' before its first challenge). */
  scheme(registry: string): RegistryAuthState['scheme'] {
    return this.state(registry).scheme;
  }

  /** The `Authorization` header for a request needing `needed` on `registry`. */
  async authorize(registry: string, needed: Scope[], ctx: AuthContext = {}): Promise<Authorization> {
    const state = this.state(registry);
    if (state.scheme === 'unknown') return { scheme: 'none', fresh: false };
    const creds = await this.credentials(registry);
    if (state.scheme === 'basic') {
      if (!creds?.password) return { scheme: 'none', fresh: false };
      const basic = Buffer.from(`${creds.username ?? ''}:${creds.password}`).toString('base64');
      return { header: `Basic ${basic}`, scheme: 'basic', fresh: false };
    }
    if (creds?.registryToken)
      return { header: `Bearer ${creds.registryToken}`, scheme: 'bearer', fresh: false };
    state.wanted.addAll(needed);
    const now = this.now();
    state.tokens = state.tokens.filter((t) => t.refreshAt > now);
    const cached = state.tokens.find((t) => t.scopes.covers(needed));
    if (cached) return { header: `Bearer ${cached.token}`, scheme: 'bearer', fresh: false, token: cached };
    const token = await this.fetchToken(registry, state, state.wanted.clone(), ctx);
    return { header: `Bearer ${token.token}`, scheme: 'bearer', fresh: true, token };
  }

  /**
   * Learns from a 401: the scheme, the realm, and the scopes the registry wants. Says whether the request
   * should be sent again (with a new authorisation) or has definitely failed.
   */
  async onChallenge(
    registry: string,
    header: string | undefined,
    needed: Scope[],
    used: Authorization,
  ): Promise<ChallengeOutcome> {
    const state = this.state(registry);
    const challenge = pickChallenge(parseWwwAuthenticate(header));
    const creds = await this.credentials(registry);
    const who = await this.who(registry);
    if (!challenge) {
      return used.scheme === 'none'
        ? {
            retry: false,
            kind: 'auth',
            message: `authentication required for ${registry} (no challenge offered)`,
          }
        : { retry: false, kind: 'auth', message: `authentication failed for ${registry} (${who})` };
    }
    if (challenge.scheme === 'basic') {
      if (used.scheme === 'basic') {
        return { retry: false, kind: 'auth', message: `authentication failed for ${registry} (${who})` };
      }
      state.scheme = 'basic';
      if (!creds?.password) return { retry: false, kind: 'auth', message: noCredentials(registry) };
      return { retry: true };
    }
    // Bearer
    this.learnBearer(state, challenge);
    const grew = state.wanted.addAll([...needed, ...parseScopeList(challenge.params.scope)]);
    if (used.token) state.tokens = state.tokens.filter((t) => t !== used.token);
    if (used.scheme === 'bearer' && creds?.registryToken) {
      return {
        retry: false,
        kind: 'auth',
        message: `authentication failed for ${registry} (${who}: token refused)`,
      };
    }
    if (used.scheme === 'bearer' && used.fresh && !grew) {
      const error = challenge.params.error;
      if (error === 'insufficient_scope' || error === undefined) {
        const wantedScope =
          challenge.params.scope ?? needed.map((s) => `${s.type}:${s.name}:${s.actions}`).join(' ');
        return creds
          ? {
              retry: false,
              kind: 'denied',
              message: `denied: ${who} may not ${describeScopes(wantedScope)} on ${registry}`,
            }
          : {
              retry: false,
              kind: 'auth',
              message: `${noCredentials(registry)} (anonymous access is not enough)`,
            };
      }
      return {
        retry: false,
        kind: 'auth',
        message: `authentication failed for ${registry} (${who}: ${error})`,
      };
    }
    return { retry: true };
  }

  private learnBearer(state: RegistryAuthState, challenge: AuthChallenge): void {
    const realm = challenge.params.realm;
    const service = challenge.params.service;
    if (state.realm !== realm || state.service !== service) state.tokens = [];
    state.scheme = 'bearer';
    state.realm = realm;
    state.service = service;
  }

  private fetchToken(
    registry: string,
    state: RegistryAuthState,
    scopes: ScopeSet,
    ctx: AuthContext,
  ): Promise<CachedToken> {
    const key = `${state.realm}|${state.service}|${scopes.key()}`;
    let p = state.inflight.get(key);
    if (!p) {
      p = this.requestToken(registry, state, scopes, ctx).finally(() => state.inflight.delete(key));
      state.inflight.set(key, p);
    }
    return p;
  }

  private async requestToken(
    registry: string,
    state: RegistryAuthState,
    scopes: ScopeSet,
    ctx: AuthContext,
  ): Promise<CachedToken> {
    const operation = `token request for ${scopes.toStrings().join(' ') || 'no scope'}`;
    if (!state.realm) {
      throw new RegistryError(`${registry} asked for a Bearer token without naming a realm`, {
        kind: 'protocol',
        registry,
        operation,
      });
    }
    let realm: URL;
    try {
      realm = new URL(state.realm);
      if (realm.protocol !== 'https:' && realm.protocol !== 'http:') throw new Error('not http(s)');
    } catch {
      throw new RegistryError(`${registry} named an unusable token realm '${state.realm}'`, {
        kind: 'protocol',
        registry,
        operation,
      });
    }
    const creds = await this.credentials(registry);
    const who = await this.who(registry);
    const insecure = this.opts.isInsecureHost(realm.host);
    if (creds && realm.protocol === 'http:' && !insecure && !isLoopbackRegistry(realm.host)) {
      throw new RegistryError(
        `refusing to send credentials for ${registry} to ${realm.origin} over plain HTTP (list ${realm.host} in insecure registries to allow it)`,
        { kind: 'auth', registry, operation },
      );
    }
    const scopeStrings = scopes.toStrings();
    const headers: Record<string, string> = { accept: 'application/json' };
    let method = 'GET';
    let body: string | undefined;
    const url = new URL(realm);
    if (creds?.identityToken) {
      // OAuth2 refresh-token grant (what docker does with an identity token).
      method = 'POST';
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken });
      if (state.service) form.set('service', state.service);
      if (scopeStrings.length > 0) form.set('scope', scopeStrings.join(' '));
      form.set('client_id', 'kiln');
      body = form.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      if (state.service) url.searchParams.set('service', state.service);
      for (const s of scopeStrings) url.searchParams.append('scope', s);
      if (creds?.username) url.searchParams.set('account', creds.username);
      if (creds?.password) {
        headers.authorization = `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password}`).toString('base64')}`;
      }
    }
    this.opts.logger.debug(
      `${registry}: requesting a token for ${scopeStrings.join(' ') || '(no scope)'} (${who})`,
    );
    const res = await httpRequest(url, {
      method,
      headers,
      body,
      retryUnsafe: true,
      timeoutMs: this.opts.timeoutMs,
      retry: this.opts.retry,
      signal: ctx.signal,
      logger: this.opts.logger,
      insecure,
      env: this.opts.env,
    }).catch((err: unknown) => {
      if (ctx.stats) ctx.stats.requests += (err as { attempts?: number }).attempts ?? 1;
      throw new RegistryError(
        `token request to ${realm.host} for ${registry} failed: ${(err as Error).message}`,
        {
          kind: 'transport',
          registry,
          operation,
          retryable: true,
          cause: err,
        },
      );
    });
    if (ctx.stats) ctx.stats.requests += res.attempts;
    if (res.status === 401 || res.status === 403) {
      await res.dump();
      throw new RegistryError(
        creds
          ? `authentication failed for ${registry} (${who}): the token server ${realm.host} refused the credentials`
          : `authentication failed for ${registry}: the token server ${realm.host} refused anonymous access`,
        { kind: 'auth', registry, operation, status: res.status },
      );
    }
    const text = await res.text();
    if (res.status < 200 || res.status >= 300) {
      const codes = parseErrorBody(text);
      throw new RegistryError(
        `token request to ${realm.host} for ${registry} failed: HTTP ${res.status}${text ? ` ${describeErrorBody(codes, text)}` : ''}`,
        {
          kind: 'http',
          registry,
          operation,
          status: res.status,
          codes,
          retryable: res.status >= 500 || res.status === 429,
        },
      );
    }
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown; refresh_token?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      parsed = {};
    }
    const token =
      typeof parsed.token === 'string' && parsed.token
        ? parsed.token
        : typeof parsed.access_token === 'string'
          ? parsed.access_token
          : '';
    if (!token) {
      throw new RegistryError(`the token server ${realm.host} answered without a token`, {
        kind: 'protocol',
        registry,
        operation,
      });
    }
    this.opts.onSecret?.(token);
    if (typeof parsed.refresh_token === 'string' && parsed.refresh_token)
      this.opts.onSecret?.(parsed.refresh_token);
    const lifetimeS =
      typeof parsed.expires_in === 'number' && parsed.expires_in > 0
        ? parsed.expires_in
        : DEFAULT_TOKEN_LIFETIME_S;
    const now = this.now();
    const lifetimeMs = lifetimeS * 1000;
    const cached: CachedToken = {
      token,
      scopes,
      expiresAt: now + lifetimeMs,
      refreshAt: now + lifetimeMs - Math.min(10_000, lifetimeMs / 10),
    };
    state.tokens.push(cached);
    return cached;
  }
}

function noCredentials(registry: string): string {
  return `authentication required for ${registry}: no credentials found (give them explicitly, run 'docker login ${registry}', or use the CI registry variables)`;
}

/** 'repository:a:pull,push repository:b:pull' → 'pull,push a, pull b'. */
function describeScopes(value: string): string {
  return value
    .split(/\s+/)
    .map((s) => parseScope(s))
    .filter((s): s is Scope => s !== undefined)
    .map((s) => `${s.actions.join(',')} ${s.name}`)
    .join(', ');
}
