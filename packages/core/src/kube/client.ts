/**
 * A small Kubernetes API client on Kiln's HTTP layer (keep-alive pools, retries with jitter and Retry-After for
 * safe requests only, one deadline, body limits, proxies):
 *
 * - the connection as the kubeconfig says: the cluster's CA, `tls-server-name`, a client certificate, its
 *   `proxy-url` (else HTTPS_PROXY/HTTP_PROXY), TLS verification off only with `insecure-skip-tls-verify`;
 * - credentials (a bearer token re-read from its file, basic, or an exec plugin's token or certificate) only over
 *   https, as client-go does; the `Authorization` header is sensitive; a 401 with an exec plugin runs it again and
 *   repeats the request once;
 * - discovery: `/api`, `/apis` and a group-version's resource list (cached per client; a kind that is missing is
 *   looked up once more, so a CRD created a moment ago is found);
 * - get, list (selectors, pages with continue tokens), server-side apply (`PATCH` `application/apply-patch+yaml`,
 *   field manager `kiln`, force and dry run as asked), merge/JSON/strategic patch, delete, and watch as an async
 *   iterator that resumes from the last resourceVersion and re-lists after `410 Gone`;
 * - errors are {@link KubeError}s with the server's Status message; the server's `Warning` headers are logged.
 */
import { CancelledError } from '../errors.js';
import {
  backoffDelay,
  DEFAULT_RETRY,
  HttpError,
  httpRequest,
  type HttpRequestOptions,
  type HttpResponse,
} from '../http/http.js';
import type { Logger } from '../platform/types.js';
import { readTextFile } from '../util/files.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../util/json.js';
import { abortReason, sleep } from '../util/sleep.js';
import { kindForStatus, KubeError, readStatus, type KubeErrorKind } from './errors.js';
import { ExecCredentialError, ExecCredentialProvider, type ExecCredential } from './exec-credential.js';
import type { KubeConfig } from './kubeconfig.js';

export interface KubeClientOptions {
  config: KubeConfig;
  log: Logger;
  /** Masks a secret from now on (platform.setSecret): tokens, passwords, what exec plugins give. */
  onSecret: (value: string) => void;
  /** Per request attempt: until the headers arrive, and the longest silence in a body (default 30 s). */
  requestTimeoutMs?: number;
  /** The largest answer read (default the http layer's 32 MiB). */
  maxBodyBytes?: number;
  /** How long an exec credential plugin may run (default 60 s). */
  execTimeoutMs?: number;
  /** Proxies (HTTPS_PROXY …) and the exec plugin's environment (default process.env). */
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** The operation's deadline (ms since epoch): no retry starts after it, and an answer still coming is cut. */
  deadline?: number;
}

/** A kind of object: `{apiVersion: 'apps/v1', kind: 'Deployment'}`, in a namespace (default the client's). */
export interface KindRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
}

export interface ObjectRef extends KindRef {
  name: string;
}

/** One resource type, from discovery. */
export interface KubeResource {
  /** `''` for the core group. */
  group: string;
  version: string;
  apiVersion: string;
  kind: string;
  /** The plural name used in paths (`deployments`). */
  name: string;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
}

/** An API group and the versions the server serves (`/api` is the group `''`). */
export interface KubeApiGroup {
  name: string;
  versions: string[];
  preferredVersion?: string;
}

export interface KubeVersion {
  major: string;
  minor: string;
  gitVersion: string;
  platform?: string;
}

export interface ListOptions extends CallOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Items per page (default 500, as kubectl); every page is read. */
  limit?: number;
  /** List in every namespace (namespaced kinds). */
  allNamespaces?: boolean;
}

export interface KubeList {
  items: JsonObject[];
  /** The list's resourceVersion: watch from here to see every change after it. */
  resourceVersion: string;
}

export interface ApplyOptions extends CallOptions {
  /** Default `kiln`. */
  fieldManager?: string;
  /** Take over fields other managers own (`force=true`) instead of failing with a conflict. */
  force?: boolean;
  /** Server-side dry run (`dryRun=All`): validated and defaulted by the server, nothing stored. */
  dryRun?: boolean;
  /** `Strict`, `Warn` or `Ignore` unknown and duplicate fields (the server's default when absent). */
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  /** For an object without metadata.namespace (default the client's namespace). */
  namespace?: string;
}

export type PatchType = 'merge' | 'json' | 'strategic';

export interface PatchOptions extends CallOptions {
  type: PatchType;
  dryRun?: boolean;
  fieldManager?: string;
}

export interface DeleteOptions extends CallOptions {
  /** Default `Background`, as kubectl. */
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  gracePeriodSeconds?: number;
  dryRun?: boolean;
}

export interface WatchOptions extends CallOptions {
  /** Start after this version (a list's); without it the server first sends the current objects as ADDED. */
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** How long one watch request lasts before it is resumed (default 300 s). */
  timeoutSeconds?: number;
}

export type KubeWatchEvent =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: JsonObject }
  /** The watch fell too far behind (410 Gone): everything there is now; events resume after `resourceVersion`. */
  | { type: 'RELISTED'; items: JsonObject[]; resourceVersion: string };

const CONTENT_TYPES: Record<PatchType | 'apply', string> = {
  apply: 'application/apply-patch+yaml',
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

/** How long a token read from a file is used before the file is read again (client-go: one minute). */
const TOKEN_FILE_TTL_MS = 60_000;
/** The longest line of a watch stream (one object). */
const MAX_WATCH_LINE = 16 * 1024 * 1024;
/** Watch reconnections that fail in a row before the watch gives up. */
const MAX_WATCH_FAILURES = 8;

/** TLS material for a connection (the http layer's `tls` option). */
interface Tls {
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
}

interface Auth {
  authorization?: string;
  tls: Tls;
  /** The exec credential used, to refresh it on a 401. */
  exec?: ExecCredential;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** `apps/v1` → `{group: 'apps', version: 'v1'}`; `v1` → the core group. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

function groupVersionPath(apiVersion: string): string {
  const { group, version } = splitApiVersion(apiVersion);
  return group === ''
    ? `/api/${encodeURIComponent(version)}`
    : `/apis/${encodeURIComponent(group)}/${encodeURIComponent(version)}`;
}

/** The readable start of a body that is not a Status (a proxy's HTML page, plain text). */
function plainMessage(text: string): string | undefined {
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1];
  const line = title ?? (/^\s*</.test(text) ? '' : text.trim().split('\n')[0]);
  const clean = (line ?? '').replace(/\s+/g, ' ').trim();
  return clean === '' ? undefined : clean.length > 200 ? `${clean.slice(0, 199)}…` : clean;
}

export class KubeClient {
  /** The API server's URL. */
  readonly server: string;
  /** The namespace objects without one go to. */
  readonly namespace: string;
  private readonly https: boolean;
  private readonly execPlugin: ExecCredentialProvider | undefined;
  private readonly baseTls: Tls;
  private readonly staticTls: Tls;
  private readonly execTls = new WeakMap<ExecCredential, Tls>();
  private token: { value: string; readAt: number } | undefined;
  private readonly groupVersions = new Map<string, Promise<KubeResource[] | undefined>>();
  private groups: Promise<KubeApiGroup[]> | undefined;
  private readonly warned = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly o: KubeClientOptions) {
    const { cluster, user } = o.config;
    this.server = cluster.server;
    this.namespace = o.config.namespace;
    this.now = o.now ?? Date.now;
    this.https = cluster.server.startsWith('https:');
    this.baseTls = {
      ...(cluster.caData !== undefined ? { ca: cluster.caData } : {}),
      ...(cluster.tlsServerName !== undefined ? { servername: cluster.tlsServerName } : {}),
    };
    this.staticTls = user.clientCertificate
      ? { ...this.baseTls, cert: user.clientCertificate.cert, key: user.clientCertificate.key }
      : this.baseTls;
    if (user.token) {
      o.onSecret(user.token);
      this.token = { value: user.token, readAt: this.now() };
    }
    if (user.basic) {
      o.onSecret(user.basic.password);
      o.onSecret(Buffer.from(`${user.basic.username}:${user.basic.password}`).toString('base64'));
    }
    // client-go: an exec plugin is used only when the user has no token, basic or client certificate.
    const hasStatic =
      user.token !== undefined || user.basic !== undefined || user.clientCertificate !== undefined;
    this.execPlugin =
      user.exec && !hasStatic
        ? new ExecCredentialProvider(user.exec, {
            where: `user "${user.name}" in ${o.config.source}`,
            cluster: {
              server: cluster.server,
              ...(cluster.tlsServerName !== undefined ? { tlsServerName: cluster.tlsServerName } : {}),
              insecureSkipTlsVerify: cluster.insecureSkipTlsVerify,
              ...(cluster.caData !== undefined ? { caData: cluster.caData } : {}),
              ...(cluster.proxyUrl !== undefined ? { proxyUrl: cluster.proxyUrl } : {}),
              ...(cluster.execExtension !== undefined ? { config: cluster.execExtension } : {}),
            },
            log: o.log,
            onSecret: o.onSecret,
            ...(o.env !== undefined ? { env: o.env } : {}),
            ...(o.execTimeoutMs !== undefined ? { timeoutMs: o.execTimeoutMs } : {}),
            ...(o.now !== undefined ? { now: o.now } : {}),
          })
        : undefined;
    if (!this.https && (hasStatic || user.exec))
      o.log.warning(
        `${o.config.source}: the server ${cluster.server} is plain http, so the credentials of user "${user.name}" are not sent (as kubectl does); use https`,
      );
  }

  // -------------------------------------------------------------------------------------------------------
  // Transport

  /** The environment the http layer picks a proxy from: the cluster's proxy-url wins over HTTPS_PROXY. */
  private proxyEnv(): NodeJS.ProcessEnv {
    const env = this.o.env ?? process.env;
    const proxy = this.o.config.cluster.proxyUrl;
    return proxy === undefined ? env : { ...env, HTTPS_PROXY: proxy, HTTP_PROXY: proxy, NO_PROXY: '' };
  }

  /** The bearer token, re-read from its file once a minute (a service account's token rotates). */
  private bearer(): string | undefined {
    const file = this.o.config.user.tokenFile;
    if (this.token && file && this.now() - this.token.readAt > TOKEN_FILE_TTL_MS) {
      try {
        const value = readTextFile(file, 1024 * 1024).trim();
        if (value !== this.token.value) this.o.onSecret(value);
        this.token = { value, readAt: this.now() };
      } catch (e) {
        this.o.log.debug(
          `Could not read the token file ${file} again (${(e as Error).message}); using the last token.`,
        );
      }
    }
    return this.token?.value;
  }

  private async auth(signal: AbortSignal | undefined, operation: string): Promise<Auth> {
    if (!this.https) return { tls: {} };
    const { user } = this.o.config;
    const token = this.bearer();
    if (token !== undefined) return { authorization: `Bearer ${token}`, tls: this.staticTls };
    if (user.basic)
      return {
        authorization: `Basic ${Buffer.from(`${user.basic.username}:${user.basic.password}`).toString('base64')}`,
        tls: this.staticTls,
      };
    if (!this.execPlugin) return { tls: this.staticTls };
    let cred: ExecCredential;
    try {
      cred = await this.execPlugin.get(signal);
    } catch (e) {
      throw this.wrapExecError(e, operation);
    }
    return this.execAuth(cred);
  }

  private execAuth(cred: ExecCredential): Auth {
    let tls = this.execTls.get(cred);
    if (!tls) {
      tls =
        cred.clientCertificateData && cred.clientKeyData
          ? { ...this.baseTls, cert: cred.clientCertificateData, key: cred.clientKeyData }
          : this.baseTls;
      this.execTls.set(cred, tls);
    }
    return { ...(cred.token ? { authorization: `Bearer ${cred.token}` } : {}), tls, exec: cred };
  }

  private wrapExecError(e: unknown, operation: string): unknown {
    return e instanceof ExecCredentialError
      ? new KubeError(`${operation}: ${e.message}`, {
          kind: 'auth',
          operation,
          server: this.server,
          cause: e,
        })
      : e;
  }

  private url(path: string, query: Record<string, string | number | boolean | undefined> = {}): string {
    const q = Object.entries(query)
      .filter((e): e is [string, string | number | boolean] => e[1] !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    return `${this.server}${path}${q ? `?${q}` : ''}`;
  }

  /**
   * One request (with the http layer's retries). A 401 with an exec credential runs the plugin again and repeats
   * the request once. Returns whatever status came back; throws a KubeError for a transport failure.
   */
  private async send(
    method: string,
    path: string,
    operation: string,
    o: CallOptions & {
      query?: Record<string, string | number | boolean | undefined>;
      body?: string;
      contentType?: string;
      timeoutMs?: number;
    },
  ): Promise<HttpResponse> {
    const url = this.url(path, o.query);
    let auth = await this.auth(o.signal, operation);
    for (let attempt = 0; ; attempt++) {
      const options: HttpRequestOptions & { tls: Tls } = {
        method,
        headers: {
          accept: 'application/json',
          authorization: auth.authorization,
          // Node sends a DELETE's body neither chunked nor sized unless told its length.
          ...(o.body !== undefined
            ? {
                'content-type': o.contentType ?? 'application/json',
                'content-length': String(Buffer.byteLength(o.body)),
              }
            : {}),
        },
        ...(o.body !== undefined ? { body: o.body } : {}),
        timeoutMs: o.timeoutMs ?? this.o.requestTimeoutMs ?? 30_000,
        insecure: this.o.config.cluster.insecureSkipTlsVerify,
        tls: auth.tls,
        sensitiveHeaders: ['authorization'],
        logger: this.o.log,
        env: this.proxyEnv(),
        ...(this.o.maxBodyBytes !== undefined ? { maxBodyBytes: this.o.maxBodyBytes } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
        ...(o.deadline !== undefined ? { deadline: o.deadline } : {}),
      };
      let res: HttpResponse;
      try {
        res = await httpRequest(url, options);
      } catch (e) {
        throw this.transportError(e, operation, o);
      }
      this.logWarnings(res);
      if (res.status === 401 && auth.exec && attempt === 0 && this.execPlugin) {
        await res.dump();
        this.o.log.debug(
          `${operation}: the server refused the exec plugin's credential (401); running the plugin again.`,
        );
        try {
          auth = this.execAuth(await this.execPlugin.refresh(auth.exec, o.signal));
        } catch (e) {
          throw this.wrapExecError(e, operation);
        }
        continue;
      }
      return res;
    }
  }

  /** The server's `Warning` headers (`299 - "unknown field \"spec.foo\""`), each logged once. */
  private logWarnings(res: HttpResponse): void {
    const header = res.header('warning');
    if (!header) return;
    for (const m of header.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)) {
      const text = (m[1] ?? '').replace(/\\(.)/g, '$1');
      if (this.warned.has(text)) continue;
      this.warned.add(text);
      this.o.log.warning(`Kubernetes: ${text}`);
    }
  }

  private transportError(e: unknown, operation: string, o: CallOptions): unknown {
    if (e instanceof CancelledError || o.signal?.aborted) return e;
    if (!(e instanceof HttpError)) return e;
    const code = e.code ?? '';
    const kind: KubeErrorKind =
      code === 'KILN_DEADLINE' || (o.deadline !== undefined && this.now() >= o.deadline)
        ? 'timeout'
        : /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/i.test(code) || /TLS error/.test(e.message)
          ? 'tls'
          : 'unavailable';
    return new KubeError(`${operation}: ${e.message}`, { kind, operation, server: this.server, cause: e });
  }

  /** The KubeError for an error answer. */
  private statusError(operation: string, status: number, text: string): KubeError {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const s = readStatus(body);
    const message = s.message ?? plainMessage(text);
    const kind = kindForStatus(status, s.reason);
    const user = this.o.config.user;
    const hint =
      kind === 'auth'
        ? user.name === '' || !this.https
          ? ': the server wants credentials and none were sent'
          : `: the server refused the credentials of user "${user.name}" from ${this.o.config.source}`
        : '';
    return new KubeError(
      `${operation}: HTTP ${status}${s.reason ? ` ${s.reason}` : ''}${message ? `: ${message}` : ''}${hint}`,
      {
        kind,
        operation,
        server: this.server,
        status,
        ...(s.reason !== undefined ? { reason: s.reason } : {}),
        ...(s.message !== undefined ? { statusMessage: s.message } : {}),
        causes: s.causes,
      },
    );
  }

  /** A request whose answer is JSON; statuses in `ok` are answers, any other an error. */
  private async call(
    method: string,
    path: string,
    operation: string,
    o: CallOptions & {
      query?: Record<string, string | number | boolean | undefined>;
      body?: string;
      contentType?: string;
      /** Statuses besides 2xx that are answers (404 for "not there"). */
      accept?: number[];
    } = {},
  ): Promise<{ status: number; body: JsonValue | undefined }> {
    const res = await this.send(method, path, operation, o);
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw this.transportError(e, operation, o);
    }
    if ((res.status < 200 || res.status > 299) && !o.accept?.includes(res.status))
      throw this.statusError(operation, res.status, text);
    if (res.status === 404 || text.trim() === '') return { status: res.status, body: undefined };
    try {
      return { status: res.status, body: JSON.parse(text) as JsonValue };
    } catch {
      throw new KubeError(
        `${operation}: the server answered HTTP ${res.status} with a body that is not JSON`,
        {
          kind: 'unavailable',
          operation,
          server: this.server,
          status: res.status,
        },
      );
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Discovery

  /** `GET /version`. */
  async version(o: CallOptions = {}): Promise<KubeVersion> {
    const { body } = await this.call('GET', '/version', 'GET /version', o);
    const b = isJsonObject(body) ? body : {};
    return {
      major: str(b['major']) ?? '',
      minor: str(b['minor']) ?? '',
      gitVersion: str(b['gitVersion']) ?? '',
      ...(str(b['platform']) !== undefined ? { platform: str(b['platform']) } : {}),
    };
  }

  /** The API groups and versions the server serves (`/api` and `/apis`), cached. */
  apiGroups(o: CallOptions = {}): Promise<KubeApiGroup[]> {
    this.groups ??= (async () => {
      const [core, named] = await Promise.all([
        this.call('GET', '/api', 'discovery /api', o),
        this.call('GET', '/apis', 'discovery /apis', o),
      ]);
      const coreVersions =
        isJsonObject(core.body) && Array.isArray(core.body['versions']) ? core.body['versions'] : [];
      const groups: KubeApiGroup[] = [
        { name: '', versions: coreVersions.filter((v) => typeof v === 'string') },
      ];
      const list =
        isJsonObject(named.body) && Array.isArray(named.body['groups']) ? named.body['groups'] : [];
      for (const g of list.filter(isJsonObject)) {
        const versions = (Array.isArray(g['versions']) ? g['versions'] : [])
          .filter(isJsonObject)
          .map((v) => str(v['version']))
          .filter((v): v is string => v !== undefined);
        const preferred = isJsonObject(g['preferredVersion'])
          ? str(g['preferredVersion']['version'])
          : undefined;
        groups.push({
          name: str(g['name']) ?? '',
          versions,
          ...(preferred ? { preferredVersion: preferred } : {}),
        });
      }
      return groups;
    })();
    this.groups.catch(() => (this.groups = undefined));
    return this.groups;
  }

  /** A group-version's resources (subresources left out), cached; undefined when the server does not serve it. */
  resources(apiVersion: string, o: CallOptions = {}): Promise<KubeResource[] | undefined> {
    let p = this.groupVersions.get(apiVersion);
    if (!p) {
      p = (async () => {
        const path = groupVersionPath(apiVersion);
        const { status, body } = await this.call('GET', path, `discovery ${apiVersion}`, {
          ...o,
          accept: [404],
        });
        if (status === 404) return undefined;
        const { group, version } = splitApiVersion(apiVersion);
        const list = isJsonObject(body) && Array.isArray(body['resources']) ? body['resources'] : [];
        return list
          .filter(isJsonObject)
          .filter(
            (r) => typeof r['name'] === 'string' && !r['name'].includes('/') && typeof r['kind'] === 'string',
          )
          .map((r) => ({
            group,
            version,
            apiVersion,
            kind: r['kind'] as string,
            name: r['name'] as string,
            namespaced: r['namespaced'] === true,
            verbs: (Array.isArray(r['verbs']) ? r['verbs'] : []).filter(
              (v): v is string => typeof v === 'string',
            ),
            shortNames: (Array.isArray(r['shortNames']) ? r['shortNames'] : []).filter(
              (v): v is string => typeof v === 'string',
            ),
          }));
      })();
      this.groupVersions.set(apiVersion, p);
      p.catch(() => this.groupVersions.delete(apiVersion));
    }
    return p;
  }

  /**
   * The resource for a kind (`apps/v1`, `Deployment` → `deployments`, namespaced). A miss is looked up once more
   * (a CRD created since the first look); then it is a `not-found` KubeError saying what the server serves.
   */
  async resourceFor(apiVersion: string, kind: string, o: CallOptions = {}): Promise<KubeResource> {
    const find = async () => (await this.resources(apiVersion, o))?.find((r) => r.kind === kind);
    let found = await find();
    if (!found) {
      this.groupVersions.delete(apiVersion);
      this.groups = undefined;
      found = await find();
    }
    if (found) return found;
    const operation = `find the resource for ${kind} ${apiVersion}`;
    const { group, version } = splitApiVersion(apiVersion);
    const served = (await this.apiGroups(o)).find((g) => g.name === group);
    const why = !served
      ? `the server has no API group "${group}"${group.includes('.') ? ' (is its CustomResourceDefinition installed?)' : ''}`
      : !served.versions.includes(version)
        ? `the server serves ${group || 'the core group'} as ${served.versions.map((v) => (group ? `${group}/${v}` : v)).join(', ')}, not ${apiVersion}`
        : `${apiVersion} has no kind ${kind}`;
    throw new KubeError(`${operation}: ${why}`, { kind: 'not-found', operation, server: this.server });
  }

  /** The path of a kind's collection (`/apis/apps/v1/namespaces/prod/deployments`). */
  collectionPath(resource: KubeResource, namespace: string | undefined): string {
    const base = groupVersionPath(resource.apiVersion);
    return resource.namespaced && namespace !== undefined
      ? `${base}/namespaces/${encodeURIComponent(namespace)}/${resource.name}`
      : `${base}/${resource.name}`;
  }

  private async locate(
    ref: KindRef & { name?: string },
    o: CallOptions & { allNamespaces?: boolean },
  ): Promise<{ path: string; what: string }> {
    const resource = await this.resourceFor(ref.apiVersion, ref.kind, o);
    const ns = resource.namespaced && !o.allNamespaces ? (ref.namespace ?? this.namespace) : undefined;
    const collection = this.collectionPath(resource, ns);
    const named = ref.name !== undefined ? `${ns !== undefined ? `${ns}/` : ''}${ref.name}` : undefined;
    return {
      path: ref.name !== undefined ? `${collection}/${encodeURIComponent(ref.name)}` : collection,
      what:
        named !== undefined ? `${ref.kind} ${named}` : `${ref.kind}${ns !== undefined ? ` in ${ns}` : ''}`,
    };
  }

  // -------------------------------------------------------------------------------------------------------
  // Objects

  /** `GET` one object; undefined when it does not exist. */
  async get(ref: ObjectRef, o: CallOptions = {}): Promise<JsonObject | undefined> {
    const { path, what } = await this.locate(ref, o);
    const { status, body } = await this.call('GET', path, `get ${what}`, { ...o, accept: [404] });
    return status === 404 || !isJsonObject(body) ? undefined : body;
  }

  /** Every object of a kind (every page), with the list's resourceVersion. Items get apiVersion and kind. */
  async list(ref: KindRef, o: ListOptions = {}): Promise<KubeList> {
    const { path, what } = await this.locate(ref, o);
    const list = await this.listPath(path, o, `list ${what}`);
    for (const item of list.items) {
      item['apiVersion'] ??= ref.apiVersion;
      item['kind'] ??= ref.kind;
    }
    return list;
  }

  /**
   * Read a collection page by page (`limit` + `continue`). A continue token that expired (410) restarts the list
   * once without pages, as client-go's pager does.
   */
  private async listPath(path: string, o: ListOptions, operation: string): Promise<KubeList> {
    const items: JsonObject[] = [];
    let resourceVersion = '';
    let cont: string | undefined;
    let limit: number | undefined = o.limit ?? 500;
    for (;;) {
      let body: JsonValue | undefined;
      try {
        ({ body } = await this.call('GET', path, operation, {
          ...o,
          query: {
            labelSelector: o.labelSelector || undefined,
            fieldSelector: o.fieldSelector || undefined,
            limit,
            continue: cont,
          },
        }));
      } catch (e) {
        if (e instanceof KubeError && e.kind === 'gone' && cont !== undefined && limit !== undefined) {
          this.o.log.debug(`${operation}: the continue token expired; listing again in one piece.`);
          items.length = 0;
          cont = undefined;
          limit = undefined;
          continue;
        }
        throw e;
      }
      const b = isJsonObject(body) ? body : {};
      items.push(...(Array.isArray(b['items']) ? b['items'] : []).filter(isJsonObject));
      const meta = isJsonObject(b['metadata']) ? b['metadata'] : {};
      resourceVersion = str(meta['resourceVersion']) ?? resourceVersion;
      cont = str(meta['continue']) || undefined;
      if (cont === undefined) return { items, resourceVersion };
    }
  }

  /**
   * Server-side apply: `PATCH …?fieldManager=kiln&force=false` with `application/apply-patch+yaml` (the body is
   * JSON, which is YAML). Creates the object or updates the fields this manager owns; a field another manager
   * owns is a `conflict` KubeError naming the managers unless `force`. Returns the object as stored (or as it
   * would be, with `dryRun`).
   */
  async apply(object: JsonObject, o: ApplyOptions = {}): Promise<JsonObject> {
    const apiVersion = str(object['apiVersion']);
    const kind = str(object['kind']);
    const meta = isJsonObject(object['metadata']) ? object['metadata'] : {};
    const name = str(meta['name']);
    if (!apiVersion || !kind || !name)
      throw new KubeError(
        `apply: the object has no ${!apiVersion ? 'apiVersion' : !kind ? 'kind' : 'metadata.name'}`,
        { kind: 'invalid', operation: 'apply', server: this.server },
      );
    const namespace = str(meta['namespace']) ?? o.namespace;
    const { path, what } = await this.locate(
      { apiVersion, kind, name, ...(namespace ? { namespace } : {}) },
      o,
    );
    const operation = `apply ${what}${o.dryRun ? ' (dry run)' : ''}`;
    const { body } = await this.call('PATCH', path, operation, {
      ...o,
      query: {
        fieldManager: o.fieldManager ?? 'kiln',
        force: o.force === true,
        dryRun: o.dryRun ? 'All' : undefined,
        fieldValidation: o.fieldValidation,
      },
      body: JSON.stringify(object),
      contentType: CONTENT_TYPES.apply,
    });
    if (!isJsonObject(body))
      throw new KubeError(`${operation}: the server answered without the object`, {
        kind: 'unavailable',
        operation,
        server: this.server,
      });
    return body;
  }

  /** A merge, JSON or strategic-merge patch. Returns the patched object. */
  async patch(ref: ObjectRef, patch: JsonValue, o: PatchOptions): Promise<JsonObject> {
    const { path, what } = await this.locate(ref, o);
    const operation = `patch ${what}${o.dryRun ? ' (dry run)' : ''}`;
    const { body } = await this.call('PATCH', path, operation, {
      ...o,
      query: { fieldManager: o.fieldManager, dryRun: o.dryRun ? 'All' : undefined },
      body: JSON.stringify(patch),
      contentType: CONTENT_TYPES[o.type],
    });
    if (!isJsonObject(body))
      throw new KubeError(`${operation}: the server answered without the object`, {
        kind: 'unavailable',
        operation,
        server: this.server,
      });
    return body;
  }

  /** Delete an object; the server's answer (the object, or a Status), undefined when it was not there. */
  async delete(ref: ObjectRef, o: DeleteOptions = {}): Promise<JsonObject | undefined> {
    const { path, what } = await this.locate(ref, o);
    const { status, body } = await this.call(
      'DELETE',
      path,
      `delete ${what}${o.dryRun ? ' (dry run)' : ''}`,
      {
        ...o,
        accept: [404],
        query: { dryRun: o.dryRun ? 'All' : undefined },
        body: JSON.stringify({
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          propagationPolicy: o.propagationPolicy ?? 'Background',
          ...(o.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: o.gracePeriodSeconds } : {}),
        }),
      },
    );
    return status === 404 ? undefined : isJsonObject(body) ? body : {};
  }

  // -------------------------------------------------------------------------------------------------------
  // Watch

  private tooLarge(operation: string): KubeError {
    return new KubeError(`${operation}: a watch event is larger than ${MAX_WATCH_LINE / 1024 / 1024} MiB`, {
      kind: 'unavailable',
      operation,
      server: this.server,
    });
  }

  /**
   * Watch a collection (a kind, or a collection path): ADDED/MODIFIED/DELETED events as they come. When a watch
   * request ends (the server's timeout, a dropped connection) it is resumed from the last resourceVersion seen
   * (BOOKMARK events move it too and are not passed on). When that version is too old (`410 Gone`), the
   * collection is listed again and a `RELISTED` event carries what is there now. Ends by the caller's `break`; an
   * abort throws the cancellation, the deadline a `timeout` KubeError.
   */
  async *watch(
    target: string | KindRef,
    o: WatchOptions = {},
  ): AsyncGenerator<KubeWatchEvent, void, undefined> {
    const { path, what } =
      typeof target === 'string' ? { path: target, what: target } : await this.locate(target, o);
    const operation = `watch ${what}`;
    const timeoutSeconds = o.timeoutSeconds ?? 300;
    let resourceVersion = o.resourceVersion;
    let failures = 0;
    const relist = async (): Promise<KubeWatchEvent> => {
      this.o.log.debug(
        `${operation}: resourceVersion ${resourceVersion ?? ''} is too old (410 Gone); listing again.`,
      );
      const list = await this.listPath(path, o, `list ${what}`);
      resourceVersion = list.resourceVersion;
      return { type: 'RELISTED', items: list.items, resourceVersion: list.resourceVersion };
    };
    const pause = async (why: string): Promise<void> => {
      if (++failures > MAX_WATCH_FAILURES)
        throw new KubeError(`${operation}: ${why}; gave up after ${MAX_WATCH_FAILURES} attempts in a row`, {
          kind: 'unavailable',
          operation,
          server: this.server,
        });
      const backoff = backoffDelay(failures - 1, DEFAULT_RETRY);
      const wait =
        o.deadline === undefined ? backoff : Math.min(backoff, Math.max(0, o.deadline - this.now()));
      this.o.log.debug(`${operation}: ${why}; resuming in ${wait}ms.`);
      await sleep(wait, o.signal);
    };
    for (;;) {
      if (o.signal?.aborted) throw abortReason(o.signal);
      if (o.deadline !== undefined && this.now() >= o.deadline)
        throw new KubeError(`${operation}: the deadline passed`, {
          kind: 'timeout',
          operation,
          server: this.server,
        });
      let res: HttpResponse;
      const opened = this.now();
      try {
        res = await this.send('GET', path, operation, {
          ...o,
          query: {
            watch: 'true',
            allowWatchBookmarks: 'true',
            resourceVersion,
            labelSelector: o.labelSelector || undefined,
            fieldSelector: o.fieldSelector || undefined,
            timeoutSeconds,
          },
          // A quiet watch is not a dead one: the server ends it after timeoutSeconds.
          timeoutMs: (timeoutSeconds + 30) * 1000,
        });
      } catch (e) {
        if (e instanceof KubeError && e.kind === 'unavailable') {
          await pause(e.message);
          continue;
        }
        throw e;
      }
      if (res.status === 410) {
        await res.dump();
        yield await relist();
        continue;
      }
      if (res.status !== 200) throw this.statusError(operation, res.status, await res.text().catch(() => ''));
      let gone = false;
      let lines = 0;
      try {
        for await (const line of readLines(res.body, () => this.tooLarge(operation))) {
          lines++;
          const event = parseEvent(line);
          if (!event) continue;
          if (event.type === 'ERROR') {
            const s = readStatus(event.object);
            const code = typeof event.object['code'] === 'number' ? event.object['code'] : 500;
            if (code === 410 || s.reason === 'Expired' || s.reason === 'Gone') {
              gone = true;
              break;
            }
            throw this.statusError(operation, code, JSON.stringify(event.object));
          }
          const meta = isJsonObject(event.object['metadata']) ? event.object['metadata'] : {};
          resourceVersion = str(meta['resourceVersion']) || resourceVersion;
          failures = 0;
          if (event.type === 'BOOKMARK') continue;
          if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED')
            yield { type: event.type, object: event.object };
        }
      } catch (e) {
        if (o.signal?.aborted) throw abortReason(o.signal);
        if (o.deadline !== undefined && this.now() >= o.deadline)
          throw new KubeError(`${operation}: the deadline passed`, {
            kind: 'timeout',
            operation,
            server: this.server,
            cause: e,
          });
        if (e instanceof KubeError) throw e;
        await pause(`the stream broke (${(e as Error).message})`);
        continue;
      } finally {
        if (!res.body.readableEnded) res.body.destroy();
      }
      if (gone) {
        yield await relist();
        continue;
      }
      // The server ended the watch (its timeout): resume from the last version. A stream that ended at once with
      // nothing in it (a proxy cutting it) waits before the next attempt, so it never spins.
      if (lines === 0 && this.now() - opened < 1000) await pause('the watch ended at once with no events');
    }
  }
}

interface RawEvent {
  type: string;
  object: JsonObject;
}

function parseEvent(line: string): RawEvent | undefined {
  if (line.trim() === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new Error('a watch event that is not JSON');
  }
  if (!isJsonObject(v) || typeof v['type'] !== 'string' || !isJsonObject(v['object'])) return undefined;
  return { type: v['type'], object: v['object'] };
}

/** The lines of a stream (one JSON event each), none longer than {@link MAX_WATCH_LINE}. */
async function* readLines(body: AsyncIterable<Buffer>, tooLarge: () => Error): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n')) >= 0) {
      yield buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
    }
    if (buffer.length > MAX_WATCH_LINE) throw tooLarge();
  }
  buffer += decoder.decode();
  if (buffer.trim() !== '') yield buffer;
}
