/**
 * A Marathon REST API simulator for testing deployers: the documented status codes, headers, bodies, state machines
 * and failure modes of Marathon's `/v2` API (see /work/shared/reference/marathon-api.md and README.md here), with a
 * simulated clock so a rollout of minutes takes milliseconds. The HTTP layer lives here; the behaviour lives in
 * engine.ts.
 *
 * ```ts
 * const sim = await startMarathonSim({ timeScale: 600, scenarios: { 'registry/app:2': { kind: 'never-healthy' } } });
 * await fetch(`${sim.url}/v2/apps/app`, { method: 'PUT', body: JSON.stringify(def) });
 * await sim.close();
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import type { AppStats, ChangeResult, SimApp, SimEvent } from './engine.js';
import { MarathonEngine, iso, userFields } from './engine.js';
import {
  normalizeApp,
  normalizeDeprecated,
  RESET_WHEN_ABSENT,
} from '../../../packages/core/src/marathon/normalize.js';
import type { Json, JsonObject } from './json.js';
import { clone } from './json.js';
import type { Scenario, ScenarioKind } from './scenarios.js';
import type { Detail } from './validate.js';
import {
  canonicalId,
  deprecatedMixErrors,
  idErrors,
  readErrors,
  validationErrors,
  versionCombinationErrors,
} from './validate.js';

export type { Scenario, ScenarioKind } from './scenarios.js';
export type { SimEvent, AppStats } from './engine.js';
export type { Json, JsonObject } from './json.js';

export interface MarathonSimOptions {
  /** Simulated seconds per real second (default 600: ten simulated minutes per real second). 0 = manual clock. */
  timeScale?: number;
  auth?: {
    basic?: { user: string; password: string };
    /** Accepted as `Authorization: token=<t>` (DC/OS). */
    token?: string;
    /** A DC/OS token that may read but not change anything: mutating requests get 403. */
    readOnlyToken?: string;
  };
  /** Seeds the shuffling of events delivered in the same batch (default 1). */
  seed?: number;
  /** Shuffle events of one batch before SSE delivery (default true: Marathon does not guarantee order). */
  shuffleEvents?: boolean;
  /** Scenario per image: exact reference, reference without digest, or repository without tag/digest. */
  scenarios?: Record<string, Scenario>;
  /** For images without a matching scenario (default `{ kind: 'healthy' }`). */
  defaultScenario?: Scenario;
  /** Default 0 (ephemeral). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Real milliseconds between clock ticks (default 5). */
  tickMs?: number;
  /** Simulated start time (epoch ms); default: the real time at start. */
  startTime?: number;
  /** `--max_running_deployments` (default 100): app changes beyond it get 403. */
  maxRunningDeployments?: number;
  /**
   * Also listen as a standby Marathon (`sim.standbyUrl`): it serves the same state (a standby proxies to the leader)
   * but answers `/v2/events` with a 302 to the leader, as LeaderProxyFilter does.
   */
  standby?: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Path without query string, e.g. `/v2/apps/app`. */
  path: string;
  /** Path with query string, e.g. `/v2/apps/app?force=true`. */
  url: string;
  /** Received by the standby (`standbyUrl`). */
  standby?: boolean;
  headers: Record<string, string | string[] | undefined>;
  body?: string;
  /** Simulated time of arrival (epoch ms). */
  at: number;
}

export interface SimTaskView {
  id: string;
  instanceId: string;
  version: string;
  state: string;
  image: string | undefined;
  scenario: ScenarioKind;
  stagedAt: number;
  startedAt: number | null;
  /** All health checks alive; `null` for apps without health checks. */
  alive: boolean | null;
  ready: boolean;
}

export interface SimAppView {
  id: string;
  /** The stored definition including `version` and `versionInfo`. */
  definition: JsonObject;
  /** Newest first. */
  versions: string[];
  tasks: SimTaskView[];
  lastTaskFailure: JsonObject | null;
  stats: AppStats;
  /** Ids of running deployments affecting the app. */
  deployments: string[];
}

export interface FailureInjection {
  status?: number;
  message?: string;
  method?: string;
  pathPrefix?: string;
  /**
   * Handle the request normally (its effect happens) but cut the connection instead of answering: the answer is
   * lost, as when a proxy or the network fails after Marathon acted.
   */
  loseAnswer?: boolean;
}

export interface MarathonSim {
  url: string;
  /** With `standby: true`: a standby Marathon of the same cluster (redirects `/v2/events` to `url`). */
  standbyUrl: string | undefined;
  close(): Promise<void>;
  apps(): SimAppView[];
  app(id: string): SimAppView | undefined;
  /** Same objects as `GET /v2/deployments`. */
  deployments(): JsonObject[];
  requests: RecordedRequest[];
  /** Starts someone else's deployment on `id` holding its lock for `simulatedSeconds`; returns its id. */
  lockApp(id: string, simulatedSeconds: number): string;
  setScenario(image: string, scenario: Scenario): void;
  /** Simulated time, epoch ms. */
  now(): number;
  /** Jumps the simulated clock forward (runs everything due on the way). */
  advance(simulatedSeconds: number): void;
  /** Emits `'event'` with each SimEvent in logical order as it happens. */
  events: EventEmitter;
  /** Every event so far, in logical order. */
  eventLog: SimEvent[];
  /** Resolves with the first truthy value of `predicate` (polled every few ms); rejects after `timeoutMs` (5000). */
  waitFor<T>(
    predicate: () => T | false | null | undefined,
    opts?: { timeoutMs?: number; message?: string },
  ): Promise<T>;
  /** Resolves with the first logged event of `type` matching `predicate` (including past ones). */
  waitForEvent(type: string, predicate?: (e: SimEvent) => boolean, timeoutMs?: number): Promise<SimEvent>;
  /** The next `count` matching requests fail with `status` (default 503) before auth or routing. */
  failNext(count: number, opts?: FailureInjection): void;
}

interface SseClient {
  res: ServerResponse;
  types: Set<string> | null;
}

/**
 * Marathon with `--http_credentials`: Jetty's BasicAuthenticator answers 401 with `WWW-Authenticate: basic
 * realm="null"` (the login service has no name) and Jetty 9.4's HTML error page — empty for PUT/DELETE and for a
 * client that accepts only JSON.
 */
class JettyUnauthorized extends Error {
  constructor(
    readonly path: string,
    readonly method: string,
    readonly accept: string,
  ) {
    super('Unauthorized');
  }
  send(res: ServerResponse): void {
    const html =
      this.method !== 'PUT' &&
      this.method !== 'DELETE' &&
      (this.accept === '' || /html|\*\/\*/.test(this.accept));
    const body = html
      ? `<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n<title>Error 401 Unauthorized</title>\n</head>\n<body><h2>HTTP ERROR 401</h2>\n<p>Problem accessing ${this.path}. Reason:\n<pre>    Unauthorized</pre></p>\n</body>\n</html>\n`
      : '';
    res.writeHead(401, {
      'WWW-Authenticate': 'basic realm="null"',
      'Cache-Control': 'must-revalidate,no-cache,no-store',
      'Content-Type': 'text/html;charset=iso-8859-1',
      'Content-Length': String(Buffer.byteLength(body)),
    });
    res.end(body);
  }
}

/** Marathon's 403 at `--max_running_deployments` (Exception.scala, typo "oneusing" included). */
export function tooManyDeploymentsMessage(max: number): string {
  return `Max number (${max}) of running deployments is achieved. Wait for existing deployments to complete or cancel oneusing force=true parameter. You can increase max deployment number by using --max_running_deployments parameter but be advised that this can have negative effects on the performance.`;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: JsonObject,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body['message']));
  }
}

const DEPLOYMENT_HEADER = 'Marathon-Deployment-Id';
const LOCKED_MESSAGE =
  "App is locked by one or more deployments. Override with the option '?force=true'. " +
  "View details at '/v2/deployments/<DEPLOYMENT_ID>'.";

export async function startMarathonSim(opts: MarathonSimOptions = {}): Promise<MarathonSim> {
  const timeScale = opts.timeScale ?? 600;
  const engine = new MarathonEngine({
    startMs: opts.startTime ?? Date.now(),
    seed: opts.seed ?? 1,
    shuffle: opts.shuffleEvents ?? true,
    scenarios: new Map(Object.entries(opts.scenarios ?? {})),
    defaultScenario: opts.defaultScenario ?? { kind: 'healthy' },
  });
  const simStart = engine.now;
  const realStart = performance.now();
  let offsetMs = 0;
  const simTarget = (): number => simStart + offsetMs + (performance.now() - realStart) * timeScale;

  const requests: RecordedRequest[] = [];
  const sseClients = new Set<SseClient>();
  const injections: Array<FailureInjection & { remaining: number }> = [];
  /** Responses whose answer is lost (loseAnswer): the socket is destroyed instead. */
  const lost = new WeakSet<ServerResponse>();
  let baseUrl = '';

  engine.onFlush = (batch) => {
    for (const client of sseClients) {
      for (const e of batch) {
        if (client.types && !client.types.has(e.eventType)) continue;
        client.res.write(`event: ${e.eventType}\r\ndata: ${JSON.stringify(e)}\r\n\r\n`);
      }
    }
  };

  const tick = (): void => {
    engine.advanceTo(simTarget());
    engine.flush();
  };
  const timer = setInterval(tick, opts.tickMs ?? 5);
  timer.unref();

  const listener =
    (standby: boolean) =>
    (req: IncomingMessage, res: ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        try {
          tick();
          handle(req, res, body, standby);
        } catch (err) {
          if (err instanceof JettyUnauthorized) err.send(res);
          else if (err instanceof HttpError) sendJson(res, err.status, err.body, err.headers);
          else sendJson(res, 500, { message: err instanceof Error ? err.message : String(err) });
        } finally {
          engine.settle();
          engine.flush();
        }
      });
    };
  const server = createServer(listener(false));
  const standbyServer = opts.standby ? createServer(listener(true)) : undefined;

  function handle(req: IncomingMessage, res: ServerResponse, body: string, standby: boolean): void {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    requests.push({
      method,
      path,
      ...(standby ? { standby: true } : {}),
      url: url.pathname + url.search,
      headers: { ...req.headers },
      ...(body !== '' ? { body } : {}),
      at: engine.now,
    });

    const injection = injections.find(
      (i) =>
        i.remaining > 0 &&
        (i.method === undefined || i.method.toUpperCase() === method) &&
        (i.pathPrefix === undefined || path.startsWith(i.pathPrefix)),
    );
    if (injection?.loseAnswer) {
      injection.remaining -= 1;
      lost.add(res);
    } else if (injection) {
      injection.remaining -= 1;
      const status = injection.status ?? 503;
      sendJson(res, status, { message: injection.message ?? 'Service Unavailable' });
      return;
    }

    // With --http_credentials every path needs them, /ping included (the constraint is on /*).
    if (path !== '/ping' || opts.auth?.basic) authorize(req, method, path);
    if (path === '/ping') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('pong\n');
      return;
    }

    const q = url.searchParams;
    const flag = (name: string, dflt: boolean): boolean => {
      const v = q.get(name);
      return v === null ? dflt : v === 'true' || v === '';
    };

    if (path === '/v2/info' && method === 'GET') {
      sendJson(res, 200, infoJson());
      return;
    }
    if (path === '/v2/leader' && method === 'GET') {
      sendJson(res, 200, { leader: baseUrl.replace(/^http:\/\//, '') });
      return;
    }
    if (path === '/v2/events' && standby) {
      // LeaderProxyFilter: the event stream is not proxied; the client is sent to the leader.
      res.writeHead(302, { Location: `${baseUrl}/v2/events${url.search}`, 'Content-Length': '0' }).end();
      return;
    }
    if (path === '/v2/events') {
      requireMethod(method, ['GET']);
      openEventStream(req, res, q.getAll('event_type'));
      return;
    }
    if (path === '/v2/deployments') {
      requireMethod(method, ['GET']);
      sendJson(
        res,
        200,
        [...engine.deployments.values()].map((d) => engine.deploymentJson(d)),
      );
      return;
    }
    if (path.startsWith('/v2/deployments/')) {
      requireMethod(method, ['DELETE']);
      const id = decodeURIComponent(path.slice('/v2/deployments/'.length));
      const result = engine.cancelDeployment(id, flag('force', false));
      if (result.kind === 'not-found')
        throw new HttpError(404, { message: `DeploymentPlan ${id} does not exist` });
      if (result.kind === 'cancelled') {
        res.writeHead(202).end();
        return;
      }
      sendDeployment(res, result, false, '');
      return;
    }
    if (path === '/v2/apps') {
      requireMethod(method, ['GET', 'POST']);
      if (method === 'GET') listApps(res, q);
      else {
        checkDeploymentCapacity();
        createApp(req, res, body, flag('force', false));
      }
      return;
    }
    if (path.startsWith('/v2/apps/')) {
      const rest = decodeURIComponent(path.slice('/v2/apps'.length));
      const versionMatch = /^(.+)\/versions\/([^/]+)$/.exec(rest);
      if (versionMatch) {
        requireMethod(method, ['GET']);
        const appId = canonicalId(versionMatch[1] ?? '');
        const version = versionMatch[2] ?? '';
        const app = requireApp(appId);
        const def = app.versions.get(version);
        if (!def)
          throw new HttpError(404, { message: `App '${appId}' does not exist in version ${version}` });
        sendJson(res, 200, clone(def));
        return;
      }
      if (rest.endsWith('/versions')) {
        requireMethod(method, ['GET']);
        const app = requireApp(canonicalId(rest.slice(0, -'/versions'.length)));
        sendJson(res, 200, { versions: [...app.versions.keys()].reverse() });
        return;
      }
      if (rest.endsWith('/tasks') && method === 'GET') {
        const app = requireApp(canonicalId(rest.slice(0, -'/tasks'.length)));
        sendJson(res, 200, { tasks: [...app.tasks.values()].map((t) => engine.taskJson(t)) });
        return;
      }
      const appId = canonicalId(rest);
      requireMethod(method, ['GET', 'PUT', 'DELETE']);
      if (method !== 'GET') checkDeploymentCapacity();
      if (method === 'GET') {
        const app = requireApp(appId);
        sendJson(res, 200, { app: engine.appJson(app, { tasks: true, lastTaskFailure: true }) });
      } else if (method === 'PUT') {
        putApp(req, res, appId, body, flag('force', false), flag('partialUpdate', true));
      } else {
        const result = engine.deleteApp(appId, flag('force', true));
        if (result.kind === 'not-found')
          throw new HttpError(404, { message: `App '${appId}' does not exist` });
        sendDeployment(res, result, false, appId);
      }
      return;
    }
    throw new HttpError(404, { message: `URI not found: ${path}` });
  }

  function authorize(req: IncomingMessage, method: string, path: string): void {
    const auth = opts.auth;
    if (!auth || (!auth.basic && auth.token === undefined && auth.readOnlyToken === undefined)) return;
    const header = req.headers.authorization ?? '';
    if (auth.basic && header.startsWith('Basic ')) {
      const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
      if (decoded === `${auth.basic.user}:${auth.basic.password}`) return;
    }
    if (auth.token !== undefined && header === `token=${auth.token}`) return;
    if (auth.readOnlyToken !== undefined && header === `token=${auth.readOnlyToken}`) {
      if (method === 'GET' || method === 'HEAD') return;
      throw new HttpError(403, { message: 'Not Authorized to perform this action!' });
    }
    if (auth.basic) throw new JettyUnauthorized(path, method, req.headers.accept ?? '');
    throw new HttpError(401, { message: 'Invalid username or password.' });
  }

  /** Checked before any app change, even a forced or an unchanged one (DeploymentManagerActor). */
  function checkDeploymentCapacity(): void {
    const max = opts.maxRunningDeployments ?? 100;
    if (engine.deployments.size >= max) throw new HttpError(403, { message: tooManyDeploymentsMessage(max) });
  }

  function requireMethod(method: string, allowed: string[]): void {
    if (!allowed.includes(method)) throw new HttpError(405, { message: 'HTTP 405 Method Not Allowed' });
  }

  function requireApp(appId: string): SimApp {
    const app = engine.apps.get(appId);
    if (!app) throw new HttpError(404, { message: `App '${appId}' does not exist` });
    return app;
  }

  function parseBody(body: string): Json {
    try {
      return JSON.parse(body) as Json;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new HttpError(400, { message: 'Invalid JSON', details: [{ path: '/', errors: [message] }] });
    }
  }

  function invalid(details: Detail[], status: 400 | 422): never {
    const message = status === 400 ? 'Invalid JSON' : 'Object is not valid';
    throw new HttpError(status, {
      message,
      details: details.map((d) => ({ path: d.path, errors: d.errors })),
    });
  }

  /**
   * partialUpdate=true: the body's top-level fields replace the current ones. Marathon reads `null` as "not given",
   * so a `null` never overwrites a current value (but is stored, unchanged, where there was none).
   */
  function mergeTopLevel(current: JsonObject, body: JsonObject): JsonObject {
    const out: JsonObject = { ...current };
    for (const [k, v] of Object.entries(body)) if (v !== null || out[k] === undefined) out[k] = v;
    return out;
  }

  /** What Marathon stores and returns: the normalized app (AppNormalization + the RAML writers' defaults). */
  function stored(app: JsonObject): JsonObject {
    const out = normalizeApp(app) as JsonObject;
    out['role'] ??= '*'; // --mesos_role's default for a top-level app
    return out;
  }

  function readApp(body: string): JsonObject {
    const parsed = parseBody(body);
    const typeErrors = readErrors(parsed);
    if (typeErrors.length) invalid(typeErrors, 400);
    const mixed = deprecatedMixErrors(parsed as JsonObject);
    if (mixed.length) invalid(mixed, 422);
    return parsed as JsonObject;
  }

  function listApps(res: ServerResponse, q: URLSearchParams): void {
    const embed = q.getAll('embed');
    const idFilter = q.get('id');
    const tasks = embed.includes('apps.tasks') || embed.includes('apps.failures');
    const lastTaskFailure = embed.includes('apps.lastTaskFailure') || embed.includes('apps.failures');
    const apps = [...engine.apps.values()]
      .filter((a) => idFilter === null || a.id.toLowerCase().includes(idFilter.toLowerCase()))
      .map((a) => engine.appJson(a, { tasks, lastTaskFailure }));
    sendJson(res, 200, { apps });
  }

  function createApp(req: IncomingMessage, res: ServerResponse, body: string, force: boolean): void {
    const raw = readApp(body);
    if (typeof raw['id'] !== 'string') invalid([{ path: '/id', errors: ['error.path.missing'] }], 400);
    const appId = canonicalId(raw['id']);
    const next = stored({ ...(normalizeDeprecated(userFields(raw)) as JsonObject), id: appId });
    const problems = validationErrors(next);
    if (problems.length) invalid(problems, 422);
    if (engine.apps.has(appId))
      throw new HttpError(409, { message: `An app with id [${appId}] already exists.` });
    const result = engine.applyAppChange(appId, next, force);
    if (result.kind === 'locked') throw lockedError(result.deploymentIds);
    if (result.kind !== 'deployed') throw new HttpError(500, { message: 'unexpected result' });
    apiPost(req, appId);
    const app = engine.apps.get(appId);
    const appBody: JsonObject = {
      ...clone(app?.def ?? next),
      tasksStaged: 0,
      tasksRunning: 0,
      tasksHealthy: 0,
      tasksUnhealthy: 0,
      deployments: [{ id: result.deploymentId }],
      tasks: [],
    };
    sendJson(res, 201, appBody, {
      Location: `${baseUrl}/v2/apps${appId}`,
      [DEPLOYMENT_HEADER]: result.deploymentId,
    });
  }

  function putApp(
    req: IncomingMessage,
    res: ServerResponse,
    appId: string,
    body: string,
    force: boolean,
    partial: boolean,
  ): void {
    const raw = readApp(body);
    const urlIdProblems = idErrors(appId);
    if (urlIdProblems.length) invalid(urlIdProblems, 422);
    const existing = engine.apps.get(appId);
    let result: ChangeResult;
    if (partial && typeof raw['version'] === 'string') {
      const combination = versionCombinationErrors(raw);
      if (combination.length) invalid(combination, 422);
      result = engine.rollbackApp(appId, raw['version'], force);
      if (result.kind === 'not-found') throw new HttpError(404, { message: `App '${appId}' does not exist` });
    } else {
      const update = normalizeDeprecated(userFields(raw)) as JsonObject;
      let next: JsonObject;
      if (partial && existing) {
        next = mergeTopLevel(userFields(existing.def), update);
        // AppConversion.appUpdateRamlReader takes these two from the update only: absent means reset.
        for (const k of RESET_WHEN_ABSENT) if (update[k] === undefined || update[k] === null) delete next[k];
        next = stored({ ...next, id: appId });
      } else {
        // A PUT that creates or replaces goes through appToUpdate, which has no executorResources.
        next = stored({ ...update, id: appId });
        delete next['executorResources'];
      }
      const problems = validationErrors(next);
      if (problems.length) invalid(problems, 422);
      result = engine.applyAppChange(appId, next, force);
    }
    if (result.kind === 'locked') throw lockedError(result.deploymentIds);
    if (result.kind !== 'deployed') throw new HttpError(500, { message: 'unexpected result' });
    apiPost(req, appId);
    sendDeployment(res, result, result.created, appId);
  }

  function apiPost(req: IncomingMessage, appId: string): void {
    const app = engine.apps.get(appId);
    if (!app) return;
    engine.emit('api_post_event', {
      clientIp: req.socket.remoteAddress ?? '',
      uri: req.url ?? '',
      appDefinition: clone(app.def),
    });
  }

  function lockedError(ids: string[]): HttpError {
    return new HttpError(409, { message: LOCKED_MESSAGE, deployments: ids.map((id) => ({ id })) });
  }

  function sendDeployment(res: ServerResponse, result: ChangeResult, created: boolean, appId: string): void {
    if (result.kind !== 'deployed') throw new HttpError(500, { message: 'unexpected result' });
    const headers: Record<string, string> = { [DEPLOYMENT_HEADER]: result.deploymentId };
    if (created) headers['Location'] = `${baseUrl}/v2/apps${appId}`;
    sendJson(
      res,
      created ? 201 : 200,
      { deploymentId: result.deploymentId, version: result.version },
      headers,
    );
  }

  function openEventStream(req: IncomingMessage, res: ServerResponse, types: string[]): void {
    const accept = req.headers.accept ?? '';
    // Jetty's EventSourceServlet matches the header exactly; anything else falls through to a 405.
    if (accept !== 'text/event-stream') {
      throw new HttpError(405, { message: 'HTTP 405 Method Not Allowed' });
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream;charset=UTF-8',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Connection: 'keep-alive',
    });
    const attached = {
      remoteAddress: req.socket.remoteAddress ?? '',
      eventType: 'event_stream_attached',
      timestamp: iso(engine.now),
    };
    res.flushHeaders();
    const client: SseClient = { res, types: types.length ? new Set(types) : null };
    // The event_type filter applies to event_stream_attached too: a client that filters must ask for it.
    if (!client.types || client.types.has('event_stream_attached'))
      res.write(`event: event_stream_attached\r\ndata: ${JSON.stringify(attached)}\r\n\r\n`);
    sseClients.add(client);
    res.on('close', () => sseClients.delete(client));
  }

  function infoJson(): JsonObject {
    return {
      name: 'marathon',
      version: '1.10.17-sim',
      buildref: 'simulator',
      elected: true,
      leader: baseUrl.replace(/^http:\/\//, ''),
      frameworkId: 'sim-framework-0000',
      http_config: { http_port: Number(new URL(baseUrl).port) },
      event_subscriber: null,
      marathon_config: { mesos_master_url: 'zk://sim.invalid:2181/mesos', task_launch_timeout: 300000 },
      zookeeper_config: { zk: 'zk://sim.invalid:2181/marathon' },
    };
  }

  function sendJson(
    res: ServerResponse,
    status: number,
    body: Json,
    headers: Record<string, string> = {},
  ): void {
    if (lost.has(res)) {
      res.socket?.destroy();
      return;
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(text);
  }

  const listen = (srv: Server, port: number): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, opts.host ?? '127.0.0.1', () =>
        resolve(`http://${opts.host ?? '127.0.0.1'}:${(srv.address() as AddressInfo).port}`),
      );
    });
  baseUrl = await listen(server, opts.port ?? 0);
  const standbyUrl = standbyServer ? await listen(standbyServer, 0) : undefined;

  const view = (id: string): SimAppView | undefined => {
    tick();
    const app = engine.apps.get(id.startsWith('/') ? id : canonicalId(id));
    if (!app) return undefined;
    return {
      id: app.id,
      definition: clone(app.def),
      versions: [...app.versions.keys()].reverse(),
      tasks: [...app.tasks.values()].map((t) => ({
        id: t.id,
        instanceId: t.instanceId,
        version: t.version,
        state: t.state,
        image: t.image,
        scenario: t.scenario.kind,
        stagedAt: t.stagedAt,
        startedAt: t.startedAt,
        alive: t.health.length === 0 ? null : t.allAlive,
        ready: t.ready,
      })),
      lastTaskFailure: app.lastTaskFailure ? clone(app.lastTaskFailure) : null,
      stats: { ...app.stats },
      deployments: engine.locksOf(app.id).map((d) => d.id),
    };
  };

  const sim: MarathonSim = {
    url: baseUrl,
    standbyUrl,
    requests,
    events: engine.emitter,
    eventLog: engine.eventLog,
    async close() {
      clearInterval(timer);
      engine.stop();
      for (const c of sseClients) c.res.end();
      sseClients.clear();
      await Promise.all(
        [server, standbyServer].map(
          (srv) =>
            srv &&
            new Promise<void>((resolve) => {
              srv.close(() => resolve());
              srv.closeAllConnections();
            }),
        ),
      );
    },
    apps: () => [...engine.apps.keys()].map((id) => view(id) as SimAppView),
    app: view,
    deployments: () => {
      tick();
      return [...engine.deployments.values()].map((d) => engine.deploymentJson(d));
    },
    lockApp(id, simulatedSeconds) {
      tick();
      const depId = engine.lockApp(canonicalId(id), simulatedSeconds);
      engine.settle();
      engine.flush();
      return depId;
    },
    setScenario: (image, scenario) => engine.setScenario(image, scenario),
    now: () => engine.now,
    advance(simulatedSeconds) {
      offsetMs += simulatedSeconds * 1000;
      tick();
    },
    async waitFor(predicate, waitOpts) {
      const timeoutMs = waitOpts?.timeoutMs ?? 5000;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        tick();
        const value = predicate();
        if (value) return value;
        if (Date.now() > deadline) {
          throw new Error(
            `waitFor timed out after ${timeoutMs} ms${waitOpts?.message ? `: ${waitOpts.message}` : ''}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
    },
    waitForEvent(type, predicate, timeoutMs) {
      return sim.waitFor(
        () => engine.eventLog.find((e) => e.eventType === type && (!predicate || predicate(e))),
        {
          timeoutMs,
          message: `event ${type}`,
        },
      );
    },
    failNext(count, injection = {}) {
      injections.push({ ...injection, remaining: count });
    },
  };
  return sim;
}
