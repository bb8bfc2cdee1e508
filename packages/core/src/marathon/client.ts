/**
 * A small Marathon `/v2` client on Kiln's HTTP layer (timeouts, retries with Retry-After, proxies): apps
 * (GET / PUT / versions / DELETE), deployments (list, DELETE with and without force), the `/v2/events` stream, and
 * the three ways to authenticate (see auth.ts). Answers are read with Kiln's JSON parser, so an app definition
 * read back keeps every number exactly.
 *
 * The contract followed is /work/shared/reference/marathon-api.md: `PUT /v2/apps/{id}` answers 200/201 with
 * `{deploymentId, version}` (409 + `deployments:[{id}]` when locked); `DELETE /v2/deployments/{id}` answers 200
 * with the revert deployment (Marathon's rollback) or, with `force=true`, 202 and nothing; `GET /v2/apps/{id}`
 * wraps the app in `{"app": …}`.
 */
import { CancelledError, ConfigurationError } from '../errors.js';
import { httpRequest, redactUrl, type HttpResponse } from '../http/http.js';
import type { Logger } from '../platform/types.js';
import { sleep } from '../util/sleep.js';
import { defaultLoginUrl, signServiceAccountToken, type MarathonAuth } from './auth.js';
import { definitionImage } from './definition.js';
import {
  isJsonObject,
  numberValue,
  parseJson,
  stringifyJson,
  type JsonObject,
  type JsonValue,
} from '../util/json.js';

export interface MarathonClientOptions {
  /** Marathon's base URL, e.g. `https://marathon.example.com` or `https://dcos.example.com/service/marathon`. */
  url: string;
  auth: MarathonAuth;
  log: Logger;
  /** Masks a secret from now on (platform.setSecret). Called for every credential and token obtained. */
  registerSecret: (value: string) => void;
  insecure?: boolean;
  /** Per request attempt (default 30 s). */
  requestTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Clock for the JWT `exp` (tests). */
  now?: () => number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** No retry starts after this time (ms since epoch). */
  deadline?: number;
}

/** Marathon answered with an error status. */
export class MarathonError extends Error {
  override readonly name = 'MarathonError';
  constructor(
    message: string,
    readonly status: number,
    readonly marathonMessage: string | undefined,
    readonly body: JsonValue | undefined,
  ) {
    super(message);
  }
}

export interface HealthCheckResult {
  alive: boolean;
  consecutiveFailures?: number;
  lastFailureCause?: string;
}

export interface MarathonTask {
  id: string;
  state: string;
  version: string;
  host?: string;
  startedAt?: string;
  healthCheckResults: HealthCheckResult[];
}

export interface TaskFailure {
  taskId: string;
  state: string;
  message: string;
  version: string;
  timestamp: string;
  host?: string;
}

/** What Kiln reads from `GET /v2/apps/{id}`. */
export interface MarathonApp {
  /** The app as Marathon returned it (definition plus computed fields). */
  raw: JsonObject;
  id: string;
  version: string;
  /** Tasks launched at or after this version run the current configuration. */
  lastConfigChangeAt: string;
  instances: number;
  image?: string;
  /** String labels (Kiln's release labels among them). */
  labels: Record<string, string>;
  healthChecks: number;
  readinessChecks: number;
  tasks: MarathonTask[];
  deployments: string[];
  lastTaskFailure?: TaskFailure;
}

export interface MarathonDeployment {
  id: string;
  version: string;
  affectedApps: string[];
  currentStep: number;
  totalSteps: number;
  /** `RestartApplication`, `ScaleApplication`, … of the current step. */
  actions: string[];
  /** Readiness results of the current step: `ready` per task. */
  readiness: Array<{ taskId: string; ready: boolean; name?: string }>;
}

export interface DeploymentRef {
  deploymentId: string;
  version: string;
}

export type PutResult =
  | ({ kind: 'deployed'; created: boolean } & DeploymentRef)
  | { kind: 'locked'; deploymentIds: string[] }
  /** 403: Marathon runs as many deployments as `--max_running_deployments` allows; nothing was changed. */
  | { kind: 'busy'; message: string };

export interface MarathonEvent {
  eventType: string;
  data: JsonObject;
}

const str = (v: JsonValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** Marathon's 403 when `--max_running_deployments` is reached (TooManyRunningDeploymentsException). */
export const TOO_MANY_DEPLOYMENTS =
  /max(imum)? number( \(\d+\))? of (concurrent |running )?deployments|too many (running )?deployments/i;

/**
 * The readable part of a body that is not JSON: a proxy's or Jetty's HTML error page (`<title>Error 401
 * Unauthorized</title>…`) becomes its title (or its first heading), plain text its first line; never more than
 * 200 characters.
 */
export function textMessage(body: string): string | undefined {
  const html = /<title[^>]*>([^<]*)<\/title>/i.exec(body) ?? /<h[1-3][^>]*>([^<]*)<\/h[1-3]>/i.exec(body);
  const text = html
    ? html[1]
    : /<[a-z!]/i.test(body.trimStart().slice(0, 2))
      ? ''
      : body.trim().split('\n')[0];
  const clean = (text ?? '').replace(/\s+/g, ' ').trim();
  if (clean === '') return undefined;
  return clean.length > 200 ? `${clean.slice(0, 199)}…` : clean;
}

function parseTask(t: JsonValue): MarathonTask | undefined {
  if (!isJsonObject(t) || typeof t['id'] !== 'string') return undefined;
  const results = Array.isArray(t['healthCheckResults']) ? t['healthCheckResults'] : [];
  return {
    id: t['id'],
    state: str(t['state']) ?? 'UNKNOWN',
    version: str(t['version']) ?? '',
    host: str(t['host']),
    startedAt: str(t['startedAt']),
    healthCheckResults: results.filter(isJsonObject).map((r) => ({
      alive: r['alive'] === true,
      consecutiveFailures: numberValue(r['consecutiveFailures']),
      lastFailureCause: str(r['lastFailureCause']),
    })),
  };
}

/** Read the app object of `GET /v2/apps/{id}`. */
export function parseApp(raw: JsonObject): MarathonApp {
  const versionInfo = isJsonObject(raw['versionInfo']) ? raw['versionInfo'] : {};
  const version = str(raw['version']) ?? '';
  const ltf = raw['lastTaskFailure'];
  return {
    raw,
    id: str(raw['id']) ?? '',
    version,
    lastConfigChangeAt: str(versionInfo['lastConfigChangeAt']) ?? version,
    instances: numberValue(raw['instances']) ?? 1,
    image: definitionImage(raw),
    labels: Object.fromEntries(
      Object.entries(isJsonObject(raw['labels']) ? raw['labels'] : {}).filter(
        (e): e is [string, string] => typeof e[1] === 'string',
      ),
    ),
    healthChecks: Array.isArray(raw['healthChecks']) ? raw['healthChecks'].length : 0,
    readinessChecks: Array.isArray(raw['readinessChecks']) ? raw['readinessChecks'].length : 0,
    tasks: (Array.isArray(raw['tasks']) ? raw['tasks'] : []).map(parseTask).filter((t) => t !== undefined),
    deployments: (Array.isArray(raw['deployments']) ? raw['deployments'] : [])
      .map((d) => (isJsonObject(d) ? str(d['id']) : undefined))
      .filter((d) => d !== undefined),
    lastTaskFailure: isJsonObject(ltf)
      ? {
          taskId: str(ltf['taskId']) ?? '',
          state: str(ltf['state']) ?? '',
          message: str(ltf['message']) ?? '',
          version: str(ltf['version']) ?? '',
          timestamp: str(ltf['timestamp']) ?? '',
          host: str(ltf['host']),
        }
      : undefined,
  };
}

function parseDeployment(d: JsonValue): MarathonDeployment | undefined {
  if (!isJsonObject(d) || typeof d['id'] !== 'string') return undefined;
  const current = Array.isArray(d['currentActions']) ? d['currentActions'].filter(isJsonObject) : [];
  return {
    id: d['id'],
    version: str(d['version']) ?? '',
    affectedApps: (Array.isArray(d['affectedApps']) ? d['affectedApps'] : []).filter(
      (a): a is string => typeof a === 'string',
    ),
    currentStep: numberValue(d['currentStep']) ?? 0,
    totalSteps: numberValue(d['totalSteps']) ?? 0,
    actions: current.map((a) => str(a['action']) ?? '?'),
    readiness: current.flatMap((a) =>
      (Array.isArray(a['readinessCheckResults']) ? a['readinessCheckResults'] : [])
        .filter(isJsonObject)
        .map((r) => ({ taskId: str(r['taskId']) ?? '', ready: r['ready'] === true, name: str(r['name']) })),
    ),
  };
}

/** `/a/b` → `a/b` with each segment URL-encoded. */
function appPath(id: string): string {
  return id
    .split('/')
    .filter((s) => s !== '')
    .map(encodeURIComponent)
    .join('/');
}

export class MarathonClient {
  readonly url: string;
  /** The URL without credentials, for messages. */
  readonly displayUrl: string;
  private token: string | undefined;
  private loginInFlight: Promise<string> | undefined;

  constructor(private readonly o: MarathonClientOptions) {
    this.url = o.url.replace(/\/+$/, '');
    this.displayUrl = redactUrl(new URL(this.url)).replace(/\/+$/, '');
    if (o.auth.kind === 'basic') {
      o.registerSecret(o.auth.password);
      o.registerSecret(Buffer.from(`${o.auth.user}:${o.auth.password}`).toString('base64'));
    }
    if (o.auth.kind === 'token') o.registerSecret(o.auth.token);
  }

  private authHeader(): string | undefined {
    const a = this.o.auth;
    if (a.kind === 'basic') return `Basic ${Buffer.from(`${a.user}:${a.password}`).toString('base64')}`;
    if (a.kind === 'token') return `token=${a.token}`;
    if (a.kind === 'service-account' && this.token) return `token=${this.token}`;
    return undefined;
  }

  /** DC/OS service-account login: JWT → login endpoint → token (shared by concurrent callers). */
  async login(opts: CallOptions = {}): Promise<string> {
    const a = this.o.auth;
    if (a.kind !== 'service-account') throw new Error('Bug: login without a service account');
    this.loginInFlight ??= (async () => {
      const loginUrl = a.loginUrl ?? defaultLoginUrl(this.url);
      const jwt = signServiceAccountToken(a.uid, a.privateKey, (this.o.now ?? Date.now)() / 1000);
      this.o.registerSecret(jwt);
      const res = await httpRequest(loginUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ uid: a.uid, token: jwt }),
        retryUnsafe: true,
        timeoutMs: this.o.requestTimeoutMs ?? 30_000,
        insecure: this.o.insecure,
        signal: opts.signal,
        deadline: opts.deadline,
        logger: this.o.log,
        env: this.o.env,
      });
      const text = await res.text();
      let body: JsonValue | undefined;
      try {
        body = parseJson(text);
      } catch {
        body = undefined;
      }
      const token = isJsonObject(body) ? str(body['token']) : undefined;
      if (res.status !== 200 || !token) {
        const msg = isJsonObject(body) ? (str(body['description']) ?? str(body['message'])) : undefined;
        const hint =
          res.status === 401
            ? '; check service-account-id and service-account-key (the account must exist and hold the public key)'
            : '';
        throw new ConfigurationError(
          `DC/OS login at ${redactUrl(new URL(loginUrl))} for service account '${a.uid}' failed: HTTP ${res.status}${msg ? ` ${msg}` : ''}${hint}.`,
        );
      }
      this.o.registerSecret(token);
      this.token = token;
      this.o.log.debug(`Logged in to DC/OS as service account '${a.uid}'.`);
      return token;
    })().finally(() => {
      this.loginInFlight = undefined;
    });
    return this.loginInFlight;
  }

  /** One request; re-logs in once on 401 with a service account. Returns the raw response. */
  private async send(
    method: string,
    path: string,
    opts: CallOptions & {
      body?: string;
      accept?: string;
      timeoutMs?: number;
      retries?: number;
      maxRedirects?: number;
    },
  ): Promise<HttpResponse> {
    const a = this.o.auth;
    if (a.kind === 'service-account' && !this.token) await this.login(opts);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string | undefined> = {
        accept: opts.accept ?? 'application/json',
        authorization: this.authHeader(),
      };
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      const res = await httpRequest(`${this.url}${path}`, {
        method,
        headers,
        body: opts.body,
        timeoutMs: opts.timeoutMs ?? this.o.requestTimeoutMs ?? 30_000,
        insecure: this.o.insecure,
        signal: opts.signal,
        deadline: opts.deadline,
        logger: this.o.log,
        env: this.o.env,
        ...(opts.retries !== undefined ? { retry: { retries: opts.retries } } : {}),
        ...(opts.maxRedirects !== undefined ? { maxRedirects: opts.maxRedirects } : {}),
      });
      if (res.status === 401 && a.kind === 'service-account' && attempt === 0) {
        await res.dump();
        this.o.log.debug('Marathon answered 401: the DC/OS token expired or was revoked; logging in again.');
        this.token = undefined;
        await this.login(opts);
        continue;
      }
      return res;
    }
  }

  private async call(
    method: string,
    path: string,
    opts: CallOptions & { body?: string; ok?: number[] } = {},
  ): Promise<{ status: number; body: JsonValue | undefined; res: HttpResponse }> {
    const res = await this.send(method, path, opts);
    const text = await res.text();
    let body: JsonValue | undefined;
    if (text.trim() !== '') {
      try {
        body = parseJson(text);
      } catch {
        body = text;
      }
    }
    const ok = opts.ok ?? [200, 201];
    if (!ok.includes(res.status)) throw this.error(method, path, res.status, body);
    return { status: res.status, body, res };
  }

  private error(method: string, path: string, status: number, body: JsonValue | undefined): Error {
    const message = isJsonObject(body)
      ? str(body['message'])
      : typeof body === 'string'
        ? textMessage(body)
        : undefined;
    const details =
      isJsonObject(body) && Array.isArray(body['details'])
        ? body['details']
            .filter(isJsonObject)
            .map((d) => {
              const errors = Array.isArray(d['errors'])
                ? d['errors'].filter((e) => typeof e === 'string')
                : [];
              return `${str(d['path']) ?? '/'}: ${errors.join(', ')}`;
            })
            .join('; ')
        : '';
    const what = `${method} ${this.displayUrl}${path} answered HTTP ${status}${message ? ` ${message}` : ''}${details ? ` (${details})` : ''}`;
    if (status === 401) {
      const hint =
        this.o.auth.kind === 'none'
          ? 'Marathon requires credentials: give marathon-user and marathon-password, marathon-token, or a service account'
          : 'the credentials were rejected; check them';
      return new MarathonError(`${what}: ${hint}.`, status, message, body);
    }
    if (status === 403 && message !== undefined && TOO_MANY_DEPLOYMENTS.test(message))
      return new MarathonError(
        `${what}: Marathon already runs as many deployments as it allows (its --max_running_deployments); this is not about credentials.`,
        status,
        message,
        body,
      );
    if (status === 403)
      return new MarathonError(`${what}: the credentials may not do this.`, status, message, body);
    return new MarathonError(what, status, message, body);
  }

  /** `GET /v2/apps/{id}`; undefined when the app does not exist. */
  async getApp(id: string, opts: CallOptions = {}): Promise<MarathonApp | undefined> {
    const r = await this.call('GET', `/v2/apps/${appPath(id)}`, { ...opts, ok: [200, 404] });
    if (r.status === 404) return undefined;
    const app = isJsonObject(r.body) ? r.body['app'] : undefined;
    if (!isJsonObject(app))
      throw new Error(`GET ${this.displayUrl}/v2/apps${id}: the answer has no "app" object`);
    return parseApp(app);
  }

  /** `PUT /v2/apps/{id}` with a rendered definition (or `{"version": ts}`); a 409 lock is a result, not an error. */
  async putApp(
    id: string,
    definition: JsonObject,
    opts: CallOptions & { force?: boolean } = {},
  ): Promise<PutResult> {
    const query = opts.force ? '?force=true' : '';
    const r = await this.call('PUT', `/v2/apps/${appPath(id)}${query}`, {
      ...opts,
      body: stringifyJson(definition, 0),
      ok: [200, 201, 403, 409],
    });
    if (r.status === 403) {
      const message = isJsonObject(r.body) ? str(r.body['message']) : undefined;
      if (message !== undefined && TOO_MANY_DEPLOYMENTS.test(message)) return { kind: 'busy', message };
      throw this.error('PUT', `/v2/apps${id}`, 403, r.body);
    }
    if (r.status === 409) {
      const ids =
        isJsonObject(r.body) && Array.isArray(r.body['deployments'])
          ? r.body['deployments']
              .map((d) => (isJsonObject(d) ? str(d['id']) : undefined))
              .filter((d) => d !== undefined)
          : [];
      if (ids.length === 0) throw this.error('PUT', `/v2/apps${id}`, 409, r.body);
      return { kind: 'locked', deploymentIds: ids };
    }
    const ref = this.deploymentRef(r.body, r.res, `PUT /v2/apps${id}`);
    return { kind: 'deployed', created: r.status === 201, ...ref };
  }

  private deploymentRef(body: JsonValue | undefined, res: HttpResponse, what: string): DeploymentRef {
    const deploymentId =
      (isJsonObject(body) ? str(body['deploymentId']) : undefined) ?? res.header('marathon-deployment-id');
    const version = isJsonObject(body) ? str(body['version']) : undefined;
    if (!deploymentId || !version) throw new Error(`${what}: the answer has no deploymentId/version`);
    return { deploymentId, version };
  }

  /** `GET /v2/apps/{id}/versions`, newest first. */
  async getVersions(id: string, opts: CallOptions = {}): Promise<string[]> {
    const r = await this.call('GET', `/v2/apps/${appPath(id)}/versions`, opts);
    const list = isJsonObject(r.body) && Array.isArray(r.body['versions']) ? r.body['versions'] : [];
    return list
      .filter((v): v is string => typeof v === 'string')
      .sort((a, b) => Date.parse(b) - Date.parse(a));
  }

  /** `GET /v2/apps/{id}/versions/{version}`: the bare definition of that version. */
  async getVersion(id: string, version: string, opts: CallOptions = {}): Promise<JsonObject | undefined> {
    const r = await this.call('GET', `/v2/apps/${appPath(id)}/versions/${encodeURIComponent(version)}`, {
      ...opts,
      ok: [200, 404],
    });
    return r.status === 200 && isJsonObject(r.body) ? r.body : undefined;
  }

  /** `GET /v2/deployments`. */
  async deployments(opts: CallOptions = {}): Promise<MarathonDeployment[]> {
    const r = await this.call('GET', '/v2/deployments', opts);
    return (Array.isArray(r.body) ? r.body : []).map(parseDeployment).filter((d) => d !== undefined);
  }

  /**
   * `DELETE /v2/deployments/{id}`. Without force: Marathon cancels it and starts a deployment that reverts the
   * change (returned). With force: just stops it (`'stopped'`). `'not-found'` when it already ended.
   */
  async cancelDeployment(
    id: string,
    opts: CallOptions & { force?: boolean } = {},
  ): Promise<DeploymentRef | 'stopped' | 'not-found'> {
    const r = await this.call(
      'DELETE',
      `/v2/deployments/${encodeURIComponent(id)}${opts.force ? '?force=true' : ''}`,
      {
        ...opts,
        ok: [200, 202, 404],
      },
    );
    if (r.status === 404) return 'not-found';
    if (r.status === 202 || opts.force) return 'stopped';
    return this.deploymentRef(r.body, r.res, `DELETE /v2/deployments/${id}`);
  }

  /** `DELETE /v2/apps/{id}` (used only to undo an app this run created). */
  async deleteApp(id: string, opts: CallOptions = {}): Promise<DeploymentRef | 'not-found'> {
    const r = await this.call('DELETE', `/v2/apps/${appPath(id)}`, { ...opts, ok: [200, 202, 404] });
    if (r.status === 404) return 'not-found';
    return this.deploymentRef(r.body, r.res, `DELETE /v2/apps${id}`);
  }

  /**
   * Follow `/v2/events` (SSE) and call `onEvent` for each event until `signal` aborts. Reconnects after a
   * dropped stream; gives up (resolves) when the server does not offer the stream (404/405/401/403), since
   * polling stays the source of truth. `onAttached` is called each time the stream is (re)attached.
   */
  async followEvents(
    types: readonly string[],
    onEvent: (e: MarathonEvent) => void,
    signal: AbortSignal,
    onAttached?: () => void,
  ): Promise<void> {
    // Marathon filters `event_stream_attached` like any other type: ask for it, or the stream never says it is
    // attached.
    const wanted = types.length
      ? ['event_stream_attached', ...types.filter((t) => t !== 'event_stream_attached')]
      : [];
    const query = wanted.map((t) => `event_type=${encodeURIComponent(t)}`).join('&');
    const path = `/v2/events${query ? `?${query}` : ''}`;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const res = await this.openEvents(path, signal);
        if (res === undefined) return;
        failures = 0;
        await readEvents(res.body as AsyncIterable<Buffer>, onEvent, onAttached);
        if (signal.aborted) return;
        this.o.log.debug('Event stream ended; reconnecting.');
      } catch (e) {
        if (signal.aborted || e instanceof CancelledError) return;
        failures++;
        this.o.log.debug(
          `Event stream: ${(e as Error).message}; reconnecting (polling continues meanwhile).`,
        );
      }
      try {
        await sleep(Math.min(10_000, 250 * 2 ** Math.min(failures, 6)), signal);
      } catch {
        return;
      }
    }
  }

  /**
   * Open the event stream at `path`: the response, undefined when the server does not offer it (give up: polling
   * remains); throws on any other status (reconnect).
   */
  private async openEvents(path: string, signal: AbortSignal): Promise<HttpResponse | undefined> {
    const res = await this.send('GET', path, {
      accept: 'text/event-stream',
      signal,
      retries: 0,
      timeoutMs: 24 * 3600_000,
      // A standby Marathon redirects /v2/events to the leader (LeaderProxyFilter) instead of proxying it.
      // Credentials follow only to the same origin; a leader elsewhere answers 401 and polling remains.
      maxRedirects: 2,
    });
    if (res.url !== `${this.url}${path}`)
      this.o.log.debug(`Event stream: redirected to the leader at ${redactUrl(new URL(res.url))}.`);
    if (res.status !== 200) {
      await res.dump();
      this.o.log.debug(
        `Event stream unavailable (HTTP ${res.status}); following the deployment by polling only.`,
      );
      if ([401, 403, 404, 405, 406].includes(res.status)) return undefined;
      throw new Error(`HTTP ${res.status}`);
    }
    return res;
  }
}

/** Read server-sent events until the stream ends: `event_stream_attached` calls `onAttached`, JSON data `onEvent`. */
async function readEvents(
  body: AsyncIterable<Buffer>,
  onEvent: (e: MarathonEvent) => void,
  onAttached: (() => void) | undefined,
): Promise<void> {
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const { type, data } = parseFrame(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (type === 'event_stream_attached') {
        onAttached?.();
        continue;
      }
      let parsed: JsonValue;
      try {
        parsed = parseJson(data);
      } catch {
        continue;
      }
      if (isJsonObject(parsed)) onEvent({ eventType: str(parsed['eventType']) ?? type, data: parsed });
    }
  }
}

/** One SSE frame: its `event:` type (default `message`) and its `data:` lines joined. */
function parseFrame(frame: string): { type: string; data: string } {
  let type = 'message';
  const data: string[] = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith('event:')) type = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  return { type, data: data.join('\n') };
}
