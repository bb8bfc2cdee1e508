/**
 * An HTTP reverse proxy in front of a registry, for tests and benchmarks: adds latency, injects scripted
 * faults, and counts requests and bytes.
 *
 * The client talks only to the proxy:
 * - request bodies and response bodies are streamed chunk by chunk both ways (nothing is buffered whole);
 * - the `Host` header is passed through, so the registry already builds its absolute `Location` URLs for the
 *   proxy; any `Location` that still names an upstream origin is rewritten to the proxy;
 * - a `WWW-Authenticate: Bearer realm="…"` naming another origin (the token server) is rewritten to
 *   `<proxy>/__upstream/<n>/<path>`, and the proxy forwards that prefix to the token server, so token requests
 *   go through the proxy too (they get the latency, can be faulted, and are counted, as route `GET /token`).
 *   A realm on the registry's own origin is rewritten to the proxy's origin. Set `rewriteRealm: false` to
 *   leave realms alone (the client then reaches the token server directly).
 *
 * Faults, matched in the order they were added; the first rule that matches and has `times` left is used:
 * - `429` / `503`: answered by the proxy (the registry never sees the request) with a distribution-style JSON
 *   error body (`TOOMANYREQUESTS` / `UNAVAILABLE`); `429` carries `Retry-After` when `retryAfter` is given.
 *   Any request body is read and discarded.
 * - `reset`: the client's TCP connection is reset (RST) before any response byte; the registry never sees the
 *   request.
 * - `reset-mid-body`: the request is forwarded, and the exchange is broken after `afterBytes` body bytes.
 *   Which body: `direction: 'request'` counts request-body bytes: exactly that many reach the registry, then the
 *   upstream connection is aborted (the registry sees a client disconnect: a broken upload) and the client's
 *   connection is reset (RST; the client sees ECONNRESET/EPIPE while sending). `'response'` counts
 *   response-body bytes: the client gets the status, the headers and exactly that many body bytes, then the
 *   connection is closed (FIN, then destroyed; a Content-Length-framed body is truncated, which clients report
 *   as "unexpected EOF"/"aborted"/ECONNRESET). A FIN rather than an RST is used here on purpose: an RST makes
 *   the client's kernel drop bytes it has not read yet, headers included. Default (`'auto'`): the request body
 *   when the request has one (Content-Length > 0 or chunked), else the response body. If the body is shorter
 *   than `afterBytes`, the break happens when it ends: for a request body the registry processes the whole
 *   request and the client's connection is reset instead of receiving the answer (a lost response); for a
 *   response body the client gets the whole body and then the connection closes (for a Content-Length body it
 *   may not notice anything).
 *
 * Latency (`latencyMs`) delays every request, including faulted ones, before it is forwarded or answered.
 */
import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { sleep } from './util.js';

/** A fault to inject; see the module comment for exact behaviour. */
export type Fault =
  | { kind: '429'; retryAfter?: string }
  | { kind: '503' }
  | { kind: 'reset' }
  | { kind: 'reset-mid-body'; afterBytes: number; direction?: 'auto' | 'request' | 'response' };

/** What a fault rule's `match` sees. */
export interface FaultRequest {
  method: string;
  /** Path (no query) as the upstream sees it, i.e. without any `/__upstream/<n>` prefix. */
  path: string;
  /** Path and query as the upstream sees it. */
  url: string;
  /** Route pattern, e.g. `PATCH /v2/:name/blobs/uploads/:id` (see {@link routeOf}). */
  route: string;
  /** True for the registry, false for a rewritten realm (token server). */
  toRegistry: boolean;
  headers: IncomingHttpHeaders;
}

/** A scripted fault: served to the first `times` requests that `match`. `times` may be `Infinity`. */
export interface FaultRule {
  match: (req: FaultRequest) => boolean;
  times: number;
  fault: Fault;
}

/** Handle of an added rule. */
export interface FaultHandle {
  /** How many times the fault was served so far. */
  served(): number;
  /** How many times it will still be served. */
  remaining(): number;
}

/** One proxied request. */
export interface ProxyLogEntry {
  method: string;
  /** Path and query as the upstream sees it. */
  path: string;
  route: string;
  /** Status sent to the client; 0 when the connection was reset before a status was sent. */
  status: number;
  /** The fault kind served, if any. */
  fault?: Fault['kind'];
  /** When the request was received (ms since the epoch). */
  at: number;
  /** Time from receipt to the end of the response (or the reset), in ms, including injected latency. */
  ms: number;
}

/** Counters since the start or the last `resetStats()`. */
export interface ProxyStats {
  /** Requests received (faulted ones included). */
  requests: number;
  /** Requests by route pattern, e.g. `{ 'HEAD /v2/:name/blobs/:digest': 3 }`. */
  byRoute: Record<string, number>;
  /** Request-body bytes forwarded on blob uploads (POST/PATCH/PUT on `/v2/<name>/blobs/uploads/…`). */
  uploadedBytes: number;
  /** Response-body bytes forwarded for blob downloads (`GET /v2/<name>/blobs/<digest>`). */
  downloadedBytes: number;
  /** All request-body bytes forwarded (manifests and token requests included). */
  requestBodyBytes: number;
  /** All response-body bytes forwarded (proxy-made fault bodies excluded). */
  responseBodyBytes: number;
  /** Faults served. */
  faultsServed: number;
  log: ProxyLogEntry[];
}

/** A running proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  addFault(rule: FaultRule): FaultHandle;
  clearFaults(): void;
  /** Changes the per-request latency. */
  setLatency(ms: number): void;
  stats(): ProxyStats;
  resetStats(): void;
  close(): Promise<void>;
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Delay added to every request before it is forwarded or answered. Default 0. */
  latencyMs?: number;
  /** Rewrite Bearer realms so token requests go through the proxy. Default true. */
  rewriteRealm?: boolean;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Maps a method and path to a route pattern with `:name`, `:digest`, `:ref`, `:id` placeholders. */
export function routeOf(method: string, path: string): string {
  const patterns: Array<[RegExp, string]> = [
    [/^\/v2\/?$/, '/v2/'],
    [/^\/v2\/_catalog$/, '/v2/_catalog'],
    [/^\/v2\/.+\/blobs\/uploads\/?$/, '/v2/:name/blobs/uploads/'],
    [/^\/v2\/.+\/blobs\/uploads\/[^/]+$/, '/v2/:name/blobs/uploads/:id'],
    [/^\/v2\/.+\/blobs\/[^/]+$/, '/v2/:name/blobs/:digest'],
    [/^\/v2\/.+\/manifests\/[^/]+$/, '/v2/:name/manifests/:ref'],
    [/^\/v2\/.+\/tags\/list$/, '/v2/:name/tags/list'],
    [/^\/v2\/.+\/referrers\/[^/]+$/, '/v2/:name/referrers/:digest'],
  ];
  for (const [re, pattern] of patterns) if (re.test(path)) return `${method} ${pattern}`;
  return `${method} ${path}`;
}

/** Resets a socket with a TCP RST (falls back to a plain destroy). */
function resetSocket(socket: Socket | null): void {
  if (!socket || socket.destroyed) return;
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

/**
 * Closes a socket cleanly after what was written so far has been flushed (FIN, then destroy), so the peer
 * receives every byte written before the close. (An RST would make the peer's kernel drop data it has not read
 * yet, response headers included, which would turn a truncated body into a plain reset.)
 */
function truncateSocket(socket: Socket | null): void {
  if (!socket || socket.destroyed) return;
  socket.once('finish', () => socket.destroy());
  socket.once('error', () => socket.destroy());
  socket.end();
  setTimeout(() => socket.destroy(), 1000).unref();
}

/** True when the request carries a body. */
function hasBody(req: IncomingMessage): boolean {
  const length = Number(req.headers['content-length'] ?? '0');
  return length > 0 || req.headers['transfer-encoding'] !== undefined;
}

/** Copies raw header pairs into an object (repeated names become arrays), dropping hop-by-hop headers. */
function copyHeaders(raw: string[], map: (name: string, value: string) => string = (_n, v) => v) {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) continue;
    const value = map(lower, raw[i + 1]!);
    const prev = out[lower];
    if (prev === undefined) out[lower] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[lower] = [prev, value];
  }
  return out;
}

/** Starts a proxy on 127.0.0.1 (ephemeral port) forwarding to `target` (e.g. a registry's `url`). */
export async function startFaultProxy(target: string, opts: FaultProxyOptions = {}): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  if (targetUrl.protocol !== 'http:') throw new Error(`fault proxy forwards to http:// only, got ${target}`);
  let latencyMs = opts.latencyMs ?? 0;
  const rewriteRealm = opts.rewriteRealm ?? true;
  const agent = new Agent({ keepAlive: true });

  /** Upstream origins; index 0 is the target, others were learned from Bearer realms. */
  const upstreams: string[] = [targetUrl.origin];
  let proxyOrigin = '';

  type Rule = FaultRule & { served: number };
  let rules: Rule[] = [];

  const fresh = (): ProxyStats => ({
    requests: 0,
    byRoute: {},
    uploadedBytes: 0,
    downloadedBytes: 0,
    requestBodyBytes: 0,
    responseBodyBytes: 0,
    faultsServed: 0,
    log: [],
  });
  let stats = fresh();

  /** Public URL (on the proxy) of an upstream URL, or undefined when it is not on a known upstream. */
  const toProxy = (value: string, learn: boolean): string | undefined => {
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      return undefined; // relative: already on the proxy
    }
    if (u.origin === proxyOrigin) return undefined;
    let index = upstreams.indexOf(u.origin);
    if (index < 0) {
      if (!learn || u.protocol !== 'http:') return undefined;
      index = upstreams.push(u.origin) - 1;
    }
    const prefix = index === 0 ? '' : `/__upstream/${index}`;
    return `${proxyOrigin}${prefix}${u.pathname}${u.search}`;
  };

  const rewriteHeader = (name: string, value: string): string => {
    if (name === 'location') return toProxy(value, false) ?? value;
    if (name === 'www-authenticate' && rewriteRealm) {
      return value.replace(/(realm=")([^"]*)(")/i, (whole, a: string, realm: string, b: string) => {
        const mapped = toProxy(realm, true);
        return mapped ? `${a}${mapped}${b}` : whole;
      });
    }
    return value;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = Date.now();
    const method = req.method ?? 'GET';
    let upstream = upstreams[0]!;
    let url = req.url ?? '/';
    const m = /^\/__upstream\/(\d+)(\/.*)?$/.exec(url);
    if (m) {
      const u = upstreams[Number(m[1])];
      if (!u || m[1] === '0') {
        res.writeHead(404).end();
        return;
      }
      upstream = u;
      url = m[2] ?? '/';
    }
    const toRegistry = upstream === upstreams[0];
    const path = url.split('?')[0] ?? url;
    const route = routeOf(method, path);
    stats.requests++;
    stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1;
    const entry: ProxyLogEntry = { method, path: url, route, status: 0, at: started, ms: 0 };
    const statsAtStart = stats;
    const finish = (status: number) => {
      entry.status = status;
      entry.ms = Date.now() - started;
      statsAtStart.log.push(entry);
    };
    const isUpload =
      toRegistry && /\/blobs\/uploads\//.test(`${path}/`) && method !== 'GET' && method !== 'HEAD';
    const isBlobDownload = toRegistry && method === 'GET' && route === 'GET /v2/:name/blobs/:digest';

    const info: FaultRequest = { method, path, url, route, toRegistry, headers: req.headers };
    const rule = rules.find((r) => r.served < r.times && r.match(info));
    if (rule) {
      rule.served++;
      statsAtStart.faultsServed++;
      entry.fault = rule.fault.kind;
    }
    const fault = rule?.fault;

    if (latencyMs > 0) await sleep(latencyMs);
    if (res.destroyed) {
      finish(0); // the client gave up while we waited
      return;
    }

    if (fault?.kind === 'reset') {
      resetSocket(req.socket);
      finish(0);
      return;
    }
    if (fault?.kind === '429' || fault?.kind === '503') {
      req.resume(); // discard any body
      const status = fault.kind === '429' ? 429 : 503;
      const code = status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE';
      const body = JSON.stringify({ errors: [{ code, message: `injected ${status} by fault proxy` }] });
      const headers: Record<string, string | number> = {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
      };
      if (fault.kind === '429' && fault.retryAfter !== undefined) headers['Retry-After'] = fault.retryAfter;
      res.writeHead(status, headers);
      res.end(body);
      finish(status);
      return;
    }

    let cutRequestAt: number | undefined;
    let cutResponseAt: number | undefined;
    if (fault?.kind === 'reset-mid-body') {
      const direction = fault.direction ?? 'auto';
      const onRequest = direction === 'request' || (direction === 'auto' && hasBody(req));
      if (onRequest) cutRequestAt = fault.afterBytes;
      else cutResponseAt = fault.afterBytes;
    }

    const target = new URL(upstream);
    const upstreamReq = httpRequest({
      protocol: 'http:',
      hostname: target.hostname,
      port: target.port,
      method,
      path: url,
      headers: copyHeaders(req.rawHeaders),
      agent,
    });

    let done = false;
    /** Ends the exchange abnormally: drops the upstream request and resets (or truncates) the client's. */
    const abortAll = (status: number, how: 'reset' | 'truncate' = 'reset') => {
      if (done) return;
      done = true;
      upstreamReq.destroy();
      if (how === 'truncate') truncateSocket(req.socket);
      else resetSocket(req.socket);
      finish(status);
    };

    // The client went away (or was reset by us): drop the upstream request too.
    res.once('close', () => {
      if (!res.writableFinished && !done) {
        done = true;
        upstreamReq.destroy();
        finish(res.headersSent ? res.statusCode : 0);
      }
    });

    upstreamReq.once('error', (err) => {
      if (done) return;
      if (!res.headersSent) {
        const body = JSON.stringify({
          errors: [{ code: 'UNAVAILABLE', message: `fault proxy: ${err.message}` }],
        });
        res.writeHead(502, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        done = true;
        finish(502);
      } else {
        abortAll(res.statusCode);
      }
    });

    // Request body: client → upstream, counted, optionally cut.
    let sent = 0;
    let requestCut = false;
    req.on('data', (chunk: Buffer) => {
      if (requestCut || done) return;
      let piece = chunk;
      if (cutRequestAt !== undefined && sent + chunk.length >= cutRequestAt) {
        piece = chunk.subarray(0, cutRequestAt - sent);
        requestCut = true;
      }
      sent += piece.length;
      statsAtStart.requestBodyBytes += piece.length;
      if (isUpload) statsAtStart.uploadedBytes += piece.length;
      if (requestCut) {
        req.pause();
        upstreamReq.write(piece, () => abortAll(0));
        return;
      }
      if (!upstreamReq.write(piece)) {
        req.pause();
        upstreamReq.once('drain', () => req.resume());
      }
    });
    req.once('end', () => {
      if (!requestCut && !done) upstreamReq.end();
    });
    req.once('error', () => {
      if (!done) {
        done = true;
        upstreamReq.destroy();
        finish(0);
      }
    });

    upstreamReq.once('response', (ures) => {
      if (done) {
        ures.resume();
        return;
      }
      // Body shorter than the cut point: the upstream got everything; the client never gets the answer.
      if (cutRequestAt !== undefined) {
        ures.resume();
        abortAll(0);
        return;
      }
      const status = ures.statusCode ?? 502;
      res.writeHead(status, ures.statusMessage, copyHeaders(ures.rawHeaders, rewriteHeader));
      let received = 0;
      ures.on('data', (chunk: Buffer) => {
        if (done) return;
        let piece = chunk;
        let cut = false;
        if (cutResponseAt !== undefined && received + chunk.length >= cutResponseAt) {
          piece = chunk.subarray(0, cutResponseAt - received);
          cut = true;
        }
        received += piece.length;
        statsAtStart.responseBodyBytes += piece.length;
        if (isBlobDownload) statsAtStart.downloadedBytes += piece.length;
        if (cut) {
          ures.destroy();
          res.write(piece, () => abortAll(status, 'truncate'));
          return;
        }
        if (!res.write(piece)) {
          ures.pause();
          res.once('drain', () => ures.resume());
        }
      });
      ures.once('end', () => {
        if (done) return;
        if (cutResponseAt !== undefined) {
          // Body ended before the cut point: close the connection instead of ending the message cleanly.
          res.write('', () => abortAll(status, 'truncate'));
          return;
        }
        res.end(() => {
          if (!done) {
            done = true;
            finish(status);
          }
        });
      });
      ures.once('error', () => abortAll(status));
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => resetSocket(req.socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('fault proxy has no address');
  const host = `127.0.0.1:${address.port}`;
  proxyOrigin = `http://${host}`;

  let closing: Promise<void> | undefined;
  return {
    url: proxyOrigin,
    host,
    addFault: (rule) => {
      const r: Rule = { ...rule, served: 0 };
      rules.push(r);
      return { served: () => r.served, remaining: () => Math.max(0, r.times - r.served) };
    },
    clearFaults: () => {
      rules = [];
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    stats: () => ({
      ...stats,
      byRoute: { ...stats.byRoute },
      log: stats.log.map((e) => ({ ...e })),
    }),
    resetStats: () => {
      stats = fresh();
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      })),
  };
}
