/**
 * A Kubernetes API server simulator (v1.32) for testing deployers and for real `kubectl`: the HTTP surface
 * (`/version`, discovery, `/openapi/v3`, CRUD + watch on core/v1, apps/v1, batch/v1, apiextensions.k8s.io/v1 and the
 * custom resources CRDs define, the status / scale / log subresources, server-side tables for `kubectl get`) over the
 * simulated cluster of engine.ts, with a simulated clock so a rollout of minutes takes milliseconds.
 *
 * ```ts
 * const sim = await startKubeSim({ timeScale: 100 });
 * const kubeconfig = sim.writeKubeconfig(); // KUBECONFIG for kubectl, or read sim.url / sim.token
 * await sim.close();
 * ```
 *
 * Plain http on 127.0.0.1 by default; `tls: true` serves https with a generated CA (in the kubeconfig), `token`
 * requires a bearer token (401 for a wrong one, 403 for anonymous requests beyond /version and the health checks),
 * `readOnlyToken` may only read (403 otherwise), and `clientCertificates` also accepts a client certificate the CA
 * signed (the kubeconfig then carries one).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { stringify as toYaml } from 'yaml';
import type { DeleteOptions, ListOptions, WriteOptions } from './api.js';
import { PATCH_TYPES } from './api.js';
import {
  AGGREGATED_CONTENT_TYPE,
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiVersions,
  KUBE_VERSION,
  resourceListFor,
  versionInfo,
  wantsAggregated,
} from './discovery.js';
import { KubeEngine } from './engine.js';
import type { RecordedEvent } from './events.js';
import type { NodeOptions } from './kubelet.js';
import type { Json, JsonObject } from './meta.js';
import {
  ApiError,
  at,
  badRequest,
  clone,
  expired,
  forbidden,
  isObject,
  methodNotAllowed,
  nameOf,
  namespaceOf,
  qualifiedResource,
} from './meta.js';
import { documentTypes, groupVersionDocument, openApiIndex } from './openapi.js';
import { decodeProtobufObject } from './protobuf.js';
import type { ResourceType } from './resources.js';
import { groupVersion, typeKey } from './resources.js';
import type { PodScenario } from './scenarios.js';
import { dispatch } from './store.js';
import type { IncludeObject } from './tables.js';
import { toTable } from './tables.js';

export type { PodScenario, PodScenarioKind } from './scenarios.js';
export type { NodeOptions } from './kubelet.js';
export type { RecordedEvent } from './events.js';
export type { Json, JsonObject } from './meta.js';

export interface KubeSimOptions {
  /** Simulated seconds per real second (default 1). 0 = manual clock (`advance`). */
  timeScale?: number;
  /** Default 0 (ephemeral). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Serve https with a generated CA and server certificate (openssl). */
  tls?: boolean;
  /** With tls: accept client certificates signed by the CA (CN = user), and put one in the kubeconfig. */
  clientCertificates?: boolean;
  /** Require `Authorization: Bearer <token>` (user "sim-admin"). */
  token?: string;
  /** A token that may only get, list and watch (user "sim-viewer"). */
  readOnlyToken?: string;
  /** Nodes: a count (`sim-node-1`…, 4 CPUs, 16Gi each) or explicit nodes. Default 3. */
  nodes?: number | NodeOptions[];
  /** Pod behaviour per image (exact reference, without digest, or repository); else keywords, else healthy. */
  scenarios?: Record<string, PodScenario>;
  /** Seed of generated names (default 1). */
  seed?: number;
  /** Changes per resource type a watch can resume from (default 10000); older resource versions get 410 Expired. */
  historyLimit?: number;
  /** Real milliseconds between clock ticks (default 5). */
  tickMs?: number;
  /** Simulated start time (epoch ms); default: the real time at start. */
  startTime?: number;
  /** Simulated seconds between watch bookmarks when a client allows them (default 60). */
  bookmarkSeconds?: number;
  /**
   * Serve aggregated discovery (apidiscovery.k8s.io/v2) to clients that ask for it, as 1.32 API servers do (default
   * true); false answers only the legacy documents, as servers before 1.26 did.
   */
  aggregatedDiscovery?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Simulated time of arrival (epoch ms). */
  at: number;
  status?: number;
  user?: string;
}

export interface FailureInjection {
  status?: number;
  method?: string;
  pathPrefix?: string;
}

export interface KubeconfigOptions {
  /** Which credentials: the admin token (default when `token` is set), the read-only token, the client certificate, or none. */
  user?: 'token' | 'read-only' | 'certificate' | 'none';
  namespace?: string;
  /** Where to write (default: a new file in the simulator's temp directory). */
  path?: string;
}

export interface KubeSim {
  url: string;
  /** The CA certificate (PEM) with `tls`. */
  ca: string | undefined;
  token: string | undefined;
  close(): Promise<void>;
  /** A kubeconfig (YAML) for this simulator. */
  kubeconfig(opts?: KubeconfigOptions): string;
  /** Writes a kubeconfig file and returns its path. */
  writeKubeconfig(opts?: KubeconfigOptions): string;
  /** Simulated time, epoch ms. */
  now(): number;
  /** Jumps the simulated clock forward (runs everything due on the way). */
  advance(simulatedSeconds: number): void;
  /** Changes the time scale from now on; 0 freezes the clock (only `advance` moves it), e.g. to read a state at leisure. */
  setTimeScale(simulatedSecondsPerSecond: number): void;
  /** An object as stored (a copy), by apiVersion and kind. */
  get(apiVersion: string, kind: string, namespace: string, name: string): JsonObject | undefined;
  list(apiVersion: string, kind: string, namespace?: string): JsonObject[];
  /** Pods in a namespace (all when empty). */
  pods(namespace?: string): JsonObject[];
  setScenario(image: string, scenario: PodScenario): void;
  /** Drops the watch history: watches from an older resourceVersion get 410 Expired (an etcd compaction). */
  compact(): void;
  /** The current global resourceVersion. */
  resourceVersion(): number;
  /** Events the components recorded, in order, including repeats. */
  events: RecordedEvent[];
  requests: RecordedRequest[];
  /** The next `count` matching requests fail with `status` (default 503) before auth or routing. */
  failNext(count: number, opts?: FailureInjection): void;
  /** Resolves with the first truthy value of `predicate` (polled every few ms); rejects after `timeoutMs` (10000). */
  waitFor<T>(
    predicate: () => T | false | null | undefined,
    opts?: { timeoutMs?: number; message?: string },
  ): Promise<T>;
  /** Errors a control loop threw (simulator bugs); tests assert it stays empty. */
  loopErrors: Error[];
  engine: KubeEngine;
}

interface Identity {
  user: string;
  readOnly: boolean;
  anonymous: boolean;
}

const PUBLIC_PATHS = new Set(['/version', '/healthz', '/livez', '/readyz']);

function notFoundPath(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}

function firstParam(q: URLSearchParams, name: string): string | undefined {
  const v = q.get(name);
  return v === null ? undefined : v;
}

function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

function accepts(req: IncomingMessage): { table: boolean; partial: boolean } {
  const accept = String(req.headers['accept'] ?? '');
  // The first acceptable type wins; kubectl lists Table first and JSON as the fallback.
  const first = accept.split(',')[0] ?? '';
  return { table: /as=Table/.test(first), partial: /as=PartialObjectMetadata/.test(first) };
}

/** Generates a CA, a server certificate for 127.0.0.1/localhost and a client certificate (openssl). */
function makeCertificates(dir: string): {
  ca: string;
  caKey: string;
  cert: string;
  key: string;
  clientCert: string;
  clientKey: string;
} {
  const run = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore' });
  };
  const p = (f: string): string => join(dir, f);
  run(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=kube-sim-ca',
  );
  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  run(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    p('server.key'),
    '-out',
    p('server.csr'),
    '-subj',
    '/CN=kube-apiserver',
  );
  run(
    'x509',
    '-req',
    '-in',
    p('server.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('server.crt'),
    '-days',
    '2',
    '-extfile',
    p('server.ext'),
  );
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  run(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    p('client.key'),
    '-out',
    p('client.csr'),
    '-subj',
    '/O=system:masters/CN=sim-admin',
  );
  run(
    'x509',
    '-req',
    '-in',
    p('client.csr'),
    '-CA',
    p('ca.crt'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('client.crt'),
    '-days',
    '2',
    '-extfile',
    p('client.ext'),
  );
  const r = (f: string): string => readFileSync(p(f), 'utf8');
  return {
    ca: r('ca.crt'),
    caKey: r('ca.key'),
    cert: r('server.crt'),
    key: r('server.key'),
    clientCert: r('client.crt'),
    clientKey: r('client.key'),
  };
}

export async function startKubeSim(opts: KubeSimOptions = {}): Promise<KubeSim> {
  const timeScale = opts.timeScale ?? 1;
  const nodeCount = opts.nodes ?? 3;
  const nodes: NodeOptions[] =
    typeof nodeCount === 'number'
      ? Array.from({ length: nodeCount }, (_, i) => ({ name: `sim-node-${i + 1}` }))
      : nodeCount;
  const scenarios = new Map(Object.entries(opts.scenarios ?? {}));
  const engine = new KubeEngine({
    startMs: opts.startTime ?? Date.now(),
    seed: opts.seed ?? 1,
    nodes,
    scenarios,
    historyLimit: opts.historyLimit ?? 10_000,
  });
  const { api, registry, store } = engine;
  // Simulated time = anchor + real time since the anchor × scale; advance() and setTimeScale() move the anchor.
  let scale = timeScale;
  let anchorSim = engine.clock.now;
  let anchorReal = performance.now();
  const simTarget = (): number => anchorSim + (scale > 0 ? (performance.now() - anchorReal) * scale : 0);
  const tick = (): void => {
    engine.advanceTo(Math.max(engine.clock.now, simTarget()));
  };
  const aggregated = opts.aggregatedDiscovery ?? true;
  const bookmarkMs = (): number =>
    Math.max(50, scale > 0 ? ((opts.bookmarkSeconds ?? 60) * 1000) / scale : 60_000);

  const dir = mkdtempSync(join(process.env['KILN_TEST_TMPDIR'] ?? tmpdir(), 'kube-sim-'));
  const certs = opts.tls ? makeCertificates(dir) : undefined;
  const requests: RecordedRequest[] = [];
  const injections: Array<FailureInjection & { remaining: number }> = [];
  const sockets = new Set<Socket>();
  const closers = new Set<() => void>();
  let baseUrl = '';
  let kubeconfigCount = 0;

  const identify = (req: IncomingMessage): Identity | 'unauthorized' => {
    const header = String(req.headers['authorization'] ?? '');
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (m) {
      const token = (m[1] ?? '').trim();
      if (opts.token !== undefined && token === opts.token)
        return { user: 'sim-admin', readOnly: false, anonymous: false };
      if (opts.readOnlyToken !== undefined && token === opts.readOnlyToken)
        return { user: 'sim-viewer', readOnly: true, anonymous: false };
      if (opts.token === undefined && opts.readOnlyToken === undefined && !opts.clientCertificates)
        return { user: 'sim-admin', readOnly: false, anonymous: false };
      return 'unauthorized';
    }
    if (opts.clientCertificates && certs) {
      const socket = req.socket as TLSSocket;
      if (socket.authorized) {
        const peer = socket.getPeerCertificate();
        const cn = peer?.subject?.CN;
        if (cn)
          return { user: Array.isArray(cn) ? String(cn[0]) : String(cn), readOnly: false, anonymous: false };
      }
    }
    if (opts.token === undefined && opts.readOnlyToken === undefined && !opts.clientCertificates) {
      return { user: 'sim-admin', readOnly: false, anonymous: false };
    }
    return { user: 'system:anonymous', readOnly: true, anonymous: true };
  };

  const send = (
    res: ServerResponse,
    status: number,
    body: Json,
    headers: Record<string, string> = {},
  ): void => {
    const text = `${JSON.stringify(body)}\n`;
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Content-Length': String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  };

  const sendError = (res: ServerResponse, e: unknown): void => {
    if (e instanceof ApiError) {
      send(res, e.code, e.status());
      return;
    }
    const message = e instanceof Error ? e.message : String(e);
    send(res, 500, new ApiError(500, 'InternalError', `Internal error occurred: ${message}`).status());
  };

  const server = certs
    ? createHttpsServer({
        key: certs.key,
        cert: certs.cert,
        ca: [certs.ca],
        requestCert: Boolean(opts.clientCertificates),
        rejectUnauthorized: false,
      })
    : createHttpServer();
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      try {
        handle(req, res, raw);
      } catch (e) {
        if (!res.headersSent) sendError(res, e);
        else res.destroy();
      }
    });
  });

  const handle = (req: IncomingMessage, res: ServerResponse, raw: Buffer): void => {
    tick();
    const body = /protobuf/.test(String(req.headers['content-type'] ?? ''))
      ? raw.toString('base64')
      : raw.toString('utf8');
    const url = new URL(req.url ?? '/', 'http://sim');
    const method = (req.method ?? 'GET').toUpperCase();
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      url: url.pathname + url.search,
      headers: { ...req.headers },
      body,
      at: engine.clock.now,
    };
    requests.push(record);
    if (requests.length > 20_000) requests.splice(0, requests.length - 20_000);
    res.on('finish', () => {
      record.status = res.statusCode;
    });
    const injection = injections.find(
      (i) =>
        i.remaining > 0 &&
        (!i.method || i.method === method) &&
        (!i.pathPrefix || url.pathname.startsWith(i.pathPrefix)),
    );
    if (injection) {
      injection.remaining -= 1;
      const status = injection.status ?? 503;
      send(
        res,
        status,
        new ApiError(
          status,
          status === 429 ? 'TooManyRequests' : 'ServiceUnavailable',
          'injected failure',
        ).status(),
        status === 429 ? { 'Retry-After': '1' } : {},
      );
      return;
    }
    const who = identify(req);
    if (who === 'unauthorized') {
      send(res, 401, new ApiError(401, 'Unauthorized', 'Unauthorized').status());
      return;
    }
    record.user = who.user;
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (PUBLIC_PATHS.has(path)) {
      if (path === '/version') send(res, 200, versionInfo());
      else {
        res.writeHead(200, {
          'Content-Type': 'text/plain; charset=utf-8',
          'X-Content-Type-Options': 'nosniff',
        });
        res.end('ok');
      }
      return;
    }
    if (who.anonymous) {
      send(
        res,
        403,
        new ApiError(
          403,
          'Forbidden',
          `forbidden: User "system:anonymous" cannot ${method.toLowerCase()} path "${path}"`,
          {},
        ).status(),
      );
      return;
    }
    if (
      (path === '/api' || path === '/apis') &&
      method === 'GET' &&
      aggregated &&
      wantsAggregated(String(req.headers['accept'] ?? ''))
    ) {
      return send(res, 200, aggregatedDiscovery(registry, path === '/api'), {
        'Content-Type': AGGREGATED_CONTENT_TYPE,
      });
    }
    if (path === '/api' && method === 'GET')
      return send(res, 200, apiVersions(`${url.hostname}:${(server.address() as AddressInfo).port}`));
    if (path === '/apis' && method === 'GET') return send(res, 200, apiGroupList(registry));
    if (path === '/openapi/v3' && method === 'GET')
      return send(res, 200, openApiIndex(registry, KUBE_VERSION.gitVersion));
    if (path.startsWith('/openapi/v3/') && method === 'GET') {
      const types = documentTypes(registry, path);
      if (!types) throw notFoundPath();
      return send(res, 200, groupVersionDocument(types, KUBE_VERSION.gitVersion));
    }
    const segs = path
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === 'api' && segs.length >= 2) {
      group = '';
      version = segs[1] as string;
      rest = segs.slice(2);
    } else if (segs[0] === 'apis' && segs.length >= 2) {
      group = segs[1] as string;
      if (segs.length === 2) {
        const g = apiGroup(registry, group);
        if (!g || method !== 'GET') throw notFoundPath();
        return send(res, 200, g);
      }
      version = segs[2] as string;
      rest = segs.slice(3);
    } else {
      throw notFoundPath();
    }
    if (rest.length === 0) {
      const list = resourceListFor(registry, group, version);
      if (!list || method !== 'GET') throw notFoundPath();
      return send(res, 200, list);
    }
    let namespace = '';
    let plural: string;
    let name: string | undefined;
    let sub: string | undefined;
    const findType = (p: string): ResourceType | undefined => registry.find(group, version, p);
    if (rest[0] === 'namespaces' && rest.length >= 3 && findType(rest[2] as string)?.namespaced) {
      namespace = rest[1] as string;
      plural = rest[2] as string;
      name = rest[3];
      sub = rest[4];
      if (rest.length > 5) throw notFoundPath();
    } else {
      plural = rest[0] as string;
      name = rest[1];
      sub = rest[2];
      if (rest.length > 3) throw notFoundPath();
    }
    const t = findType(plural);
    if (!t) throw notFoundPath();
    if (sub !== undefined && !t.subresources.includes(sub) && !(t.kind === 'Namespace' && sub === 'finalize'))
      throw notFoundPath();
    handleResource(req, res, who, method, t, namespace, name, sub, url.searchParams, body, raw);
  };

  const verbOf = (method: string, name: string | undefined, watch: boolean): string => {
    if (method === 'GET') return name ? 'get' : watch ? 'watch' : 'list';
    if (method === 'POST') return 'create';
    if (method === 'PUT') return 'update';
    if (method === 'PATCH') return 'patch';
    if (method === 'DELETE') return name ? 'delete' : 'deletecollection';
    return method.toLowerCase();
  };

  const handleResource = (
    req: IncomingMessage,
    res: ServerResponse,
    who: Identity,
    method: string,
    t: ResourceType,
    namespace: string,
    name: string | undefined,
    sub: string | undefined,
    q: URLSearchParams,
    body: string,
    raw: Buffer,
  ): void => {
    const watch = boolParam(q, 'watch');
    const verb = verbOf(method, name, watch);
    if (who.readOnly && !['get', 'list', 'watch'].includes(verb)) {
      const where =
        t.namespaced && namespace
          ? ` in the namespace "${namespace}"`
          : t.namespaced
            ? ''
            : ' at the cluster scope';
      throw forbidden(
        t,
        name ?? '',
        `User "${who.user}" cannot ${verb} resource "${t.plural}${sub ? `/${sub}` : ''}" in API group "${t.group}"${where}`,
      );
    }
    const dryRunValues = q.getAll('dryRun');
    for (const v of dryRunValues) if (v !== 'All') throw badRequest(`Invalid dry run value: ${v}`);
    const ua = String(req.headers['user-agent'] ?? '');
    const manager = firstParam(q, 'fieldManager') ?? (ua.split('/')[0]?.slice(0, 128) || 'unknown');
    const warnings: string[] = [];
    const w: WriteOptions & { subresource?: string } = {
      manager,
      dryRun: dryRunValues.includes('All'),
      ...(firstParam(q, 'fieldValidation')
        ? { fieldValidation: firstParam(q, 'fieldValidation') as string }
        : {}),
      force: boolParam(q, 'force'),
      warnings,
      ...(sub ? { subresource: sub } : {}),
    };
    const warningHeader = (): Record<string, string> =>
      warnings.length ? { Warning: warnings.map((x) => `299 - ${JSON.stringify(x)}`).join(', ') } : {};
    const listOpts: ListOptions = {
      ...(firstParam(q, 'labelSelector') ? { labelSelector: firstParam(q, 'labelSelector') as string } : {}),
      ...(firstParam(q, 'fieldSelector') ? { fieldSelector: firstParam(q, 'fieldSelector') as string } : {}),
      ...(firstParam(q, 'limit') ? { limit: Number(firstParam(q, 'limit')) } : {}),
      ...(firstParam(q, 'continue') ? { continue: firstParam(q, 'continue') as string } : {}),
    };
    const { table, partial } = accepts(req);
    const include = (firstParam(q, 'includeObject') ?? 'Metadata') as IncludeObject;
    const contentType = String(req.headers['content-type'] ?? 'application/json');
    const parseBody = (): Json => {
      if (/protobuf/.test(contentType)) return decodeProtobufObject(raw);
      if (body.trim() === '') throw badRequest('the body of the request was empty');
      try {
        return JSON.parse(body) as Json;
      } catch (e) {
        throw badRequest(
          `the object provided is unrecognized: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    };
    const single = (o: JsonObject, status = 200, headers: Record<string, string> = {}): void => {
      if (table && o['kind'] !== 'Status') {
        send(
          res,
          status,
          toTable(t, [o], engine.clock.now, {
            include,
            resourceVersion: String(at(o, 'metadata.resourceVersion') ?? ''),
          }),
          {
            'Content-Type': 'application/json;as=Table;v=v1;g=meta.k8s.io',
            ...headers,
          },
        );
        return;
      }
      if (partial && o['kind'] !== 'Status') {
        send(
          res,
          status,
          {
            kind: 'PartialObjectMetadata',
            apiVersion: 'meta.k8s.io/v1',
            metadata: (o['metadata'] as Json) ?? {},
          },
          headers,
        );
        return;
      }
      send(res, status, o, headers);
    };
    const after = (): void => {
      setImmediate(tick);
    };

    if (sub === 'log') {
      if (method !== 'GET' || !name) throw methodNotAllowed();
      serveLogs(res, t, namespace, name, q);
      return;
    }
    if (sub === 'eviction') {
      // policy/v1 Eviction: a graceful delete (no PodDisruptionBudgets in the simulator), answered with a Status.
      if (method !== 'POST' || !name) throw methodNotAllowed();
      const eviction = parseBody();
      const options =
        isObject(eviction) && isObject(eviction['deleteOptions'])
          ? (eviction['deleteOptions'] as unknown as DeleteOptions)
          : {};
      api.delete(t, namespace, name, options, w);
      after();
      return send(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    }
    switch (method) {
      case 'GET': {
        if (name) {
          const o = api.get(t, namespace, name);
          if (sub === 'scale') return send(res, 200, api.scaleOf(t, o));
          return single(o);
        }
        if (watch) return serveWatch(res, t, namespace, q, listOpts, table, include);
        const list = api.list(t, namespace, listOpts);
        if (table) {
          return send(
            res,
            200,
            toTable(t, list.items, engine.clock.now, {
              include,
              resourceVersion: list.resourceVersion,
              ...(list.continue ? { continue: list.continue } : {}),
              ...(list.remainingItemCount !== undefined
                ? { remainingItemCount: list.remainingItemCount }
                : {}),
            }),
            { 'Content-Type': 'application/json;as=Table;v=v1;g=meta.k8s.io' },
          );
        }
        const metadata: JsonObject = { resourceVersion: list.resourceVersion };
        if (list.continue) metadata['continue'] = list.continue;
        if (list.remainingItemCount !== undefined) metadata['remainingItemCount'] = list.remainingItemCount;
        if (partial) {
          return send(res, 200, {
            kind: 'PartialObjectMetadataList',
            apiVersion: 'meta.k8s.io/v1',
            metadata,
            items: list.items.map((o) => ({
              kind: 'PartialObjectMetadata',
              apiVersion: 'meta.k8s.io/v1',
              metadata: o['metadata'] ?? {},
            })),
          });
        }
        // Built-in lists carry items without apiVersion/kind; custom resources' carry them.
        const items = t.crd
          ? list.items
          : list.items.map((o) => {
              const c = clone(o);
              delete c['apiVersion'];
              delete c['kind'];
              return c;
            });
        return send(res, 200, { kind: `${t.kind}List`, apiVersion: groupVersion(t), metadata, items });
      }
      case 'POST': {
        if (name) throw methodNotAllowed();
        const created = api.create(t, namespace, parseBody(), w);
        after();
        return single(created, 201, warningHeader());
      }
      case 'PUT': {
        if (!name) throw methodNotAllowed();
        if (sub === 'scale') {
          api.update(t, namespace, name, parseBody(), w);
          after();
          return send(res, 200, api.scaleOf(t, api.get(t, namespace, name)));
        }
        const updated = api.update(t, namespace, name, parseBody(), w);
        after();
        return single(updated, 200, warningHeader());
      }
      case 'PATCH': {
        if (!name) throw methodNotAllowed();
        const existed = api.find(t, namespace, name) !== undefined;
        const patched = api.patch(t, namespace, name, contentType, body, w);
        after();
        if (sub === 'scale')
          return send(res, 200, api.scaleOf(t, w.dryRun ? patched : api.get(t, namespace, name)));
        return single(
          patched,
          existed || contentType.split(';')[0] !== PATCH_TYPES.apply ? 200 : 201,
          warningHeader(),
        );
      }
      case 'DELETE': {
        let options: DeleteOptions = {};
        if (body.trim() !== '') {
          const parsed = parseBody();
          if (isObject(parsed)) options = parsed as unknown as DeleteOptions;
        }
        const policy = firstParam(q, 'propagationPolicy');
        if (policy) options.propagationPolicy = policy;
        const grace = firstParam(q, 'gracePeriodSeconds');
        if (grace !== undefined) options.gracePeriodSeconds = Number(grace);
        if (firstParam(q, 'orphanDependents') !== undefined)
          options.orphanDependents = boolParam(q, 'orphanDependents');
        if (!name) {
          const result = api.deleteCollection(t, namespace, listOpts, options, w);
          after();
          return send(res, 200, result);
        }
        const result = api.delete(t, namespace, name, options, w);
        after();
        const pending =
          result['kind'] !== 'Status' &&
          at(result, 'metadata.deletionTimestamp') !== undefined &&
          api.find(t, namespace, name) !== undefined;
        return single(result, pending ? 202 : 200);
      }
      default:
        throw methodNotAllowed();
    }
  };

  const serveLogs = (
    res: ServerResponse,
    t: ResourceType,
    namespace: string,
    name: string,
    q: URLSearchParams,
  ): void => {
    const pod = api.get(t, namespace, name);
    const containers = (
      Array.isArray(at(pod, 'spec.containers')) ? (at(pod, 'spec.containers') as JsonObject[]) : []
    ).map((c) => String(c['name']));
    let container = firstParam(q, 'container');
    if (!container) {
      if (containers.length !== 1) {
        throw badRequest(
          `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`,
        );
      }
      container = containers[0] as string;
    }
    if (!containers.includes(container))
      throw badRequest(`container ${container} is not valid for pod ${name}`);
    const previous = boolParam(q, 'previous');
    const lines = engine.kubelet.containerLogs(namespace, name, container, previous);
    if (!lines || (previous && lines.length === 0)) {
      if (previous)
        throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
      const statuses = Array.isArray(at(pod, 'status.containerStatuses'))
        ? (at(pod, 'status.containerStatuses') as JsonObject[])
        : [];
      const waiting = statuses.find((s) => s['name'] === container);
      const reason = String(at(waiting, 'state.waiting.reason') ?? 'ContainerCreating');
      const why =
        reason === 'ImagePullBackOff' || reason === 'ErrImagePull'
          ? 'trying and failing to pull image'
          : reason;
      throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${why}`);
    }
    let out = lines;
    const tail = firstParam(q, 'tailLines');
    if (tail !== undefined) out = out.slice(-Number(tail));
    const text = out.map((l) => `${l}\n`).join('');
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(Buffer.byteLength(text)) });
    res.end(text);
  };

  const serveWatch = (
    res: ServerResponse,
    t: ResourceType,
    namespace: string,
    q: URLSearchParams,
    listOpts: ListOptions,
    table: boolean,
    include: IncludeObject,
  ): void => {
    const match = api.matcher(t, listOpts);
    const rvParam = firstParam(q, 'resourceVersion') ?? '';
    const sendInitial = boolParam(q, 'sendInitialEvents');
    const bookmarks = boolParam(q, 'allowWatchBookmarks');
    const timeoutSeconds = Number(firstParam(q, 'timeoutSeconds') ?? 1800);
    if (rvParam !== '' && !/^\d+$/.test(rvParam))
      throw badRequest(`resourceVersion: Invalid value: "${rvParam}": must be a number`);
    res.writeHead(200, {
      'Content-Type': table ? 'application/json;as=Table;v=v1;g=meta.k8s.io' : 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    let open = true;
    let first = true;
    const write = (type: string, object: JsonObject): void => {
      if (!open) return;
      let payload: JsonObject = object;
      if (table && type !== 'ERROR' && type !== 'BOOKMARK') {
        payload = toTable(t, [object], engine.clock.now, {
          include,
          resourceVersion: String(at(object, 'metadata.resourceVersion') ?? ''),
          noHeaders: !first,
        });
        first = false;
      }
      res.write(`${JSON.stringify({ type, object: payload })}\n`);
    };
    const bookmark = (annotations?: JsonObject): void => {
      write('BOOKMARK', {
        kind: t.kind,
        apiVersion: groupVersion(t),
        metadata: {
          resourceVersion: String(store.currentRv()),
          ...(annotations ? { annotations } : {}),
          creationTimestamp: null,
        },
      });
    };
    const end = (): void => {
      if (!open) return;
      open = false;
      for (const c of cleanups) c();
      res.end();
    };
    const cleanups: Array<() => void> = [];
    closers.add(end);
    cleanups.push(() => closers.delete(end));
    // (IncomingMessage's 'close' only says the request body was read: the connection is the response's.)
    res.on('close', end);
    const errorEvent = (e: ApiError): void => {
      write('ERROR', e.status());
      end();
    };
    const key = typeKey(t);
    const ns = t.namespaced ? namespace : '';
    const initial = (): void => {
      for (const o of store.list(key, ns)) if (match(o)) write('ADDED', api.present(t, o));
    };
    if (rvParam === '' || rvParam === '0' || sendInitial) {
      initial();
      if (sendInitial && bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
    } else {
      const rv = Number(rvParam);
      if (rv > store.currentRv()) {
        // The watch cache waits for a resourceVersion it has not seen, then gives up (504 Timeout).
        const timer = setTimeout(
          () => {
            errorEvent(
              new ApiError(
                504,
                'Timeout',
                `Timeout: Too large resource version: ${rv}, current: ${store.currentRv()}`,
                {
                  causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
                  retryAfterSeconds: 1,
                },
              ),
            );
          },
          Math.min(3000, timeoutSeconds * 1000),
        );
        cleanups.push(() => clearTimeout(timer));
        return;
      }
      const changes = store.changesSince(key, rv);
      if (changes === 'expired') {
        errorEvent(expired(`too old resource version: ${rv} (${store.oldestRv(key)})`));
        return;
      }
      const replay = {
        typeKey: key,
        namespace: ns,
        matches: match,
        deliver: (type: string, object: JsonObject) => write(type, api.present(t, object)),
      };
      for (const c of changes) if (!ns || c.namespace === ns) dispatch(replay, c);
    }
    const remove = store.addWatcher({
      typeKey: key,
      namespace: ns,
      matches: match,
      deliver: (type, object) => write(type, api.present(t, object)),
    });
    cleanups.push(remove);
    const timeout = setTimeout(() => {
      if (bookmarks) bookmark();
      end();
    }, timeoutSeconds * 1000);
    cleanups.push(() => clearTimeout(timeout));
    if (bookmarks) {
      const interval = setInterval(() => bookmark(), bookmarkMs());
      cleanups.push(() => clearInterval(interval));
    }
  };

  const ticker = setInterval(tick, opts.tickMs ?? 5);
  ticker.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `${certs ? 'https' : 'http'}://${host}:${address.port}`;

  const kubeconfig = (k: KubeconfigOptions = {}): string => {
    const kind =
      k.user ?? (opts.token !== undefined ? 'token' : opts.clientCertificates ? 'certificate' : 'none');
    const user: JsonObject = {};
    if (kind === 'token' && opts.token !== undefined) user['token'] = opts.token;
    if (kind === 'read-only' && opts.readOnlyToken !== undefined) user['token'] = opts.readOnlyToken;
    if (kind === 'certificate' && certs) {
      user['client-certificate-data'] = Buffer.from(certs.clientCert).toString('base64');
      user['client-key-data'] = Buffer.from(certs.clientKey).toString('base64');
    }
    const cluster: JsonObject = { server: baseUrl };
    if (certs) cluster['certificate-authority-data'] = Buffer.from(certs.ca).toString('base64');
    return toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'kube-sim', cluster }],
      users: [{ name: 'kube-sim-user', user }],
      contexts: [
        {
          name: 'kube-sim',
          context: { cluster: 'kube-sim', user: 'kube-sim-user', namespace: k.namespace ?? 'default' },
        },
      ],
      'current-context': 'kube-sim',
      preferences: {},
    });
  };

  const typeFor = (apiVersion: string, kind: string): ResourceType => {
    const t = registry.byKind(apiVersion, kind);
    if (!t) throw new Error(`the simulator serves no ${apiVersion} ${kind}`);
    return t;
  };

  return {
    url: baseUrl,
    ca: certs?.ca,
    token: opts.token,
    engine,
    events: engine.events.log,
    requests,
    loopErrors: engine.loopErrors,
    close: async () => {
      clearInterval(ticker);
      for (const c of [...closers]) c();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      rmSync(dir, { recursive: true, force: true });
    },
    kubeconfig,
    writeKubeconfig: (k: KubeconfigOptions = {}) => {
      kubeconfigCount += 1;
      const path = k.path ?? join(dir, `kubeconfig-${kubeconfigCount}.yaml`);
      writeFileSync(path, kubeconfig(k), { mode: 0o600 });
      return path;
    },
    now: () => engine.clock.now,
    advance: (seconds: number) => {
      anchorSim += seconds * 1000;
      engine.advanceTo(Math.max(engine.clock.now, simTarget()));
    },
    setTimeScale: (n: number) => {
      anchorSim = Math.max(engine.clock.now, simTarget());
      anchorReal = performance.now();
      scale = n;
    },
    get: (apiVersion, kind, namespace, name) => api.find(typeFor(apiVersion, kind), namespace, name),
    list: (apiVersion, kind, namespace = '') => api.all(typeFor(apiVersion, kind), namespace),
    pods: (namespace = '') => api.all(engine.ctx.types.pod, namespace),
    setScenario: (image, scenario) => {
      scenarios.set(image, scenario);
    },
    compact: () => store.compact(),
    resourceVersion: () => store.currentRv(),
    failNext: (count, f = {}) => {
      injections.push({ ...f, remaining: count });
    },
    waitFor: async <T>(
      predicate: () => T | false | null | undefined,
      w: { timeoutMs?: number; message?: string } = {},
    ): Promise<T> => {
      const deadline = Date.now() + (w.timeoutMs ?? 10_000);
      for (;;) {
        tick();
        const v = predicate();
        if (v) return v;
        if (Date.now() > deadline)
          throw new Error(w.message ?? 'waitFor: condition not met before the deadline');
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

export { nameOf, namespaceOf, qualifiedResource };
