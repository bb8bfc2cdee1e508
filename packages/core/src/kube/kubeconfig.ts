/**
 * Where Kiln finds a Kubernetes cluster and its credentials, with client-go's rules (tools/clientcmd, rest):
 *
 * - the sources, first that applies: inline kubeconfig content (a secret input) > an explicit file (used alone;
 *   it must exist) > `KUBECONFIG` (a `:`-separated list; missing files skipped; merged, the first file to define a
 *   cluster, user or context name wins it whole, and the first `current-context` wins) > `~/.kube/config` > the
 *   in-cluster service account (`KUBERNETES_SERVICE_HOST`/`_PORT` and its token, CA and namespace files) when no
 *   kubeconfig was found, or when asked for;
 * - the context: the one given, else `current-context`; the namespace: the one given, else the context's, else
 *   `default`;
 * - relative paths in a file (certificate-authority, client-certificate, client-key, tokenFile, an exec command
 *   with a `/`) are resolved against that file's directory; inline content's against the working directory;
 * - files are read only if they are regular files within a size limit; YAML aliases are capped.
 *
 * Certificates and keys are read here, once; a token file is re-read by the client (in-cluster tokens rotate).
 * Every error is a {@link ConfigurationError} of one line naming the kubeconfig and the field.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { isIP } from 'node:net';
import { parseDocument } from 'yaml';
import { ConfigurationError } from '../errors.js';
import { yamlData, yamlProblem } from '../util/yaml.js';
import { FileError, readTextFile } from '../util/files.js';
import { parseExecConfig, type ExecConfig } from './exec-credential.js';
import { isJsonObject } from '../util/json.js';

/** The most Kiln reads of a kubeconfig (embedded certificates make them tens of KiB; 4 MiB is far beyond). */
export const KUBECONFIG_LIMIT = 4 * 1024 * 1024;
/** The most Kiln reads of a certificate, key or token file. */
const MATERIAL_LIMIT = 1024 * 1024;
/** Where a pod's service account is mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The cluster extension whose value an exec plugin receives with provideClusterInfo (client-go's name). */
const EXEC_EXTENSION = 'client.authentication.k8s.io/exec';

export interface KubeCluster {
  name: string;
  /** The API server's URL, without a trailing slash (it may carry a path prefix, e.g. behind Rancher). */
  server: string;
  /** Trusted CA certificates (PEM), from certificate-authority-data or the certificate-authority file. */
  caData?: string;
  /** Only when the kubeconfig says `insecure-skip-tls-verify: true`. */
  insecureSkipTlsVerify: boolean;
  /** The name the server's certificate is checked against (and sent as SNI) instead of the server's host. */
  tlsServerName?: string;
  /** An http(s) proxy for this cluster only, instead of HTTPS_PROXY/HTTP_PROXY. */
  proxyUrl?: string;
  /** The cluster's `client.authentication.k8s.io/exec` extension, given to an exec plugin with the cluster. */
  execExtension?: unknown;
}

export interface KubeUser {
  name: string;
  /** A client certificate and its key (PEM). */
  clientCertificate?: { cert: string; key: string };
  /** A bearer token (`token`, else read from `tokenFile`). */
  token?: string;
  /** The file the token was read from: re-read by the client, as client-go does (in-cluster tokens rotate). */
  tokenFile?: string;
  basic?: { username: string; password: string };
  /** An exec credential plugin (EKS, GKE, AKS): used when no token, basic or client certificate is given. */
  exec?: ExecConfig;
}

/** A kubeconfig resolved to one context: the cluster to talk to, who to be, the namespace. */
export interface KubeConfig {
  /** Where it came from, for messages: `kubeconfig /home/ci/.kube/config`, `the inline kubeconfig`, … */
  source: string;
  /** The context's name (undefined in-cluster). */
  context?: string;
  namespace: string;
  cluster: KubeCluster;
  user: KubeUser;
}

export interface LoadKubeConfigOptions {
  /** Kubeconfig content (e.g. from a secret input); wins over every file. */
  inline?: string;
  /** An explicit kubeconfig file: used alone, and it must exist. */
  path?: string;
  /** The context to use instead of `current-context`. */
  context?: string;
  /** The namespace to use instead of the context's. */
  namespace?: string;
  /** Use the in-cluster service account, whatever kubeconfig exists. */
  inCluster?: boolean;
  /** `KUBECONFIG`, `HOME`, `KUBERNETES_SERVICE_HOST`/`_PORT` are read from here (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where the service account is mounted (tests). */
  serviceAccountDir?: string;
  /** Relative paths in inline content are resolved against this (default the working directory). */
  cwd?: string;
}

// ---------------------------------------------------------------------------------------------------------
// Reading one document

/** One cluster, user or context entry, with the file it came from (relative paths, messages). */
interface Entry {
  name: string;
  value: Record<string, unknown>;
  doc: Doc;
}

interface Doc {
  /** `kubeconfig /path` or `the inline kubeconfig`: the start of every message about it. */
  label: string;
  /** The directory relative paths are resolved against. */
  base: string;
}

interface ParsedConfig {
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Entry>;
  currentContext?: string;
}

const fail = (doc: Doc, what: string): ConfigurationError => new ConfigurationError(`${doc.label}: ${what}`);

function parseYaml(text: string, doc: Doc): unknown {
  // YAML 1.1, as client-go reads kubeconfigs (go-yaml v2): `insecure-skip-tls-verify: yes` is true.
  const parsed = parseDocument(text, { prettyErrors: true, uniqueKeys: true, version: '1.1' });
  const first = parsed.errors[0];
  if (first) {
    const p = yamlProblem(first);
    throw fail(doc, `invalid YAML${p.line ? ` at line ${p.line}, column ${p.col}` : ''}: ${p.what}`);
  }
  try {
    return yamlData(parsed);
  } catch (e) {
    throw fail(doc, `invalid YAML: ${(e as Error).message}`);
  }
}

/** `clusters`, `users` or `contexts`: a list of `{name, <inner>: {...}}`; a name defined twice is an error. */
function readNamed(
  data: Record<string, unknown>,
  list: 'clusters' | 'users' | 'contexts',
  inner: 'cluster' | 'user' | 'context',
  doc: Doc,
): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const raw = data[list];
  if (raw === undefined || raw === null) return out;
  if (!Array.isArray(raw)) throw fail(doc, `${list} must be a list`);
  raw.forEach((item, i) => {
    if (!isJsonObject(item) || typeof item['name'] !== 'string' || item['name'] === '')
      throw fail(doc, `${list}[${i}] has no name`);
    const name = item['name'];
    if (out.has(name)) throw fail(doc, `${list}: "${name}" is defined twice`);
    const value = item[inner] ?? {};
    if (!isJsonObject(value)) throw fail(doc, `${list}[${name}].${inner} must be a mapping`);
    out.set(name, { name, value, doc });
  });
  return out;
}

function parseConfig(text: string, doc: Doc): ParsedConfig {
  const data = parseYaml(text, doc);
  if (data === null || data === undefined)
    return { clusters: new Map(), users: new Map(), contexts: new Map() };
  if (!isJsonObject(data))
    throw fail(doc, 'expected a mapping (apiVersion: v1, kind: Config, clusters, users, contexts)');
  if (data['kind'] !== undefined && data['kind'] !== 'Config')
    throw fail(doc, `kind is ${JSON.stringify(data['kind'])}; a kubeconfig has kind: Config`);
  if (data['apiVersion'] !== undefined && data['apiVersion'] !== 'v1')
    throw fail(doc, `apiVersion is ${JSON.stringify(data['apiVersion'])}; a kubeconfig has apiVersion: v1`);
  const current = data['current-context'];
  if (current !== undefined && current !== null && typeof current !== 'string')
    throw fail(doc, 'current-context must be a string');
  return {
    clusters: readNamed(data, 'clusters', 'cluster', doc),
    users: readNamed(data, 'users', 'user', doc),
    contexts: readNamed(data, 'contexts', 'context', doc),
    ...(current ? { currentContext: current } : {}),
  };
}

/** client-go's merge: the first document to define a name keeps it whole; the first current-context wins. */
function merge(configs: ParsedConfig[]): ParsedConfig {
  const out: ParsedConfig = { clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const c of configs) {
    for (const key of ['clusters', 'users', 'contexts'] as const)
      for (const [name, entry] of c[key]) if (!out[key].has(name)) out[key].set(name, entry);
    out.currentContext ??= c.currentContext;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Fields

class Fields {
  constructor(
    private readonly e: Entry,
    private readonly kind: 'clusters' | 'users' | 'contexts',
  ) {}

  where(field: string): string {
    return `${this.kind}[${this.e.name}].${field}`;
  }

  error(field: string, what: string): ConfigurationError {
    return fail(this.e.doc, `${this.where(field)} ${what}`);
  }

  str(field: string): string | undefined {
    const v = this.e.value[field];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw this.error(field, 'must be a string');
    return v;
  }

  bool(field: string): boolean {
    const v = this.e.value[field];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw this.error(field, 'must be true or false');
    return v;
  }

  /** A `*-data` field: base64 of PEM text. */
  data(field: string): string | undefined {
    const v = this.str(field);
    if (v === undefined) return undefined;
    const compact = v.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1)
      throw this.error(field, 'is not valid base64');
    return Buffer.from(compact, 'base64').toString('utf8');
  }

  /** A path field, resolved against the kubeconfig's directory. */
  path(field: string): string | undefined {
    const v = this.str(field);
    return v === undefined ? undefined : isAbsolute(v) ? v : resolve(this.e.doc.base, v);
  }

  /** The text of the file a path field names (size-limited, a regular file). */
  file(field: string): string | undefined {
    const p = this.path(field);
    if (p === undefined) return undefined;
    try {
      return readTextFile(p, MATERIAL_LIMIT);
    } catch (e) {
      if (e instanceof FileError) throw this.error(field, `${p} ${e.message}`);
      throw e;
    }
  }

  get raw(): Record<string, unknown> {
    return this.e.value;
  }
}

function readCluster(e: Entry): KubeCluster {
  const f = new Fields(e, 'clusters');
  const server = f.str('server');
  if (server === undefined) throw f.error('server', 'is missing');
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw f.error('server', `is not a URL: ${server}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw f.error('server', `must be an https:// (or http://) URL, not ${url.protocol}`);
  if (url.username || url.password)
    throw f.error('server', 'contains credentials; put them in the user (token, client certificate or exec)');
  const proxyUrl = f.str('proxy-url');
  if (proxyUrl !== undefined) {
    let proxy: URL;
    try {
      proxy = new URL(proxyUrl);
    } catch {
      throw f.error('proxy-url', `is not a URL: ${proxyUrl}`);
    }
    if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:')
      throw f.error(
        'proxy-url',
        `uses ${proxy.protocol.replace(/:$/, '')}; Kiln supports http:// and https:// proxies (not socks5)`,
      );
  }
  // client-go: the data wins over the file when both are given.
  const caData = f.data('certificate-authority-data') ?? f.file('certificate-authority');
  const tlsServerName = f.str('tls-server-name');
  const extensions = f.raw['extensions'];
  const exec = Array.isArray(extensions)
    ? extensions.find((x): x is Record<string, unknown> => isJsonObject(x) && x['name'] === EXEC_EXTENSION)
    : undefined;
  return {
    name: e.name,
    server: `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
    ...(caData !== undefined ? { caData } : {}),
    insecureSkipTlsVerify: f.bool('insecure-skip-tls-verify'),
    ...(tlsServerName !== undefined ? { tlsServerName } : {}),
    ...(proxyUrl !== undefined ? { proxyUrl } : {}),
    ...(exec && exec['extension'] !== undefined ? { execExtension: exec['extension'] } : {}),
  };
}

function readUser(e: Entry): KubeUser {
  const f = new Fields(e, 'users');
  if (f.raw['auth-provider'] !== undefined && f.raw['exec'] === undefined) {
    const name = isJsonObject(f.raw['auth-provider']) ? f.raw['auth-provider']['name'] : undefined;
    throw f.error(
      'auth-provider',
      `(${typeof name === 'string' ? name : 'unnamed'}) is not supported (client-go removed the gcp and azure ones); use an exec plugin such as gke-gcloud-auth-plugin, kubelogin or aws eks get-token`,
    );
  }
  const user: KubeUser = { name: e.name };
  const cert = f.data('client-certificate-data') ?? f.file('client-certificate');
  const key = f.data('client-key-data') ?? f.file('client-key');
  if (cert !== undefined && key === undefined)
    throw f.error('client-key', 'is missing: a client certificate needs client-key or client-key-data');
  if (key !== undefined && cert === undefined)
    throw f.error(
      'client-certificate',
      'is missing: a client key needs client-certificate or client-certificate-data',
    );
  if (cert !== undefined && key !== undefined) user.clientCertificate = { cert, key };
  const token = f.str('token');
  const tokenFile = f.path('tokenFile');
  if (token !== undefined) user.token = token;
  else if (tokenFile !== undefined) {
    user.token = (f.file('tokenFile') ?? '').trim();
    user.tokenFile = tokenFile;
  }
  const username = f.str('username');
  const password = f.str('password');
  if (username !== undefined || password !== undefined) {
    if (user.token !== undefined)
      throw f.error('username', 'and a token are both given; a user authenticates one way');
    user.basic = { username: username ?? '', password: password ?? '' };
  }
  if (f.raw['exec'] !== undefined && f.raw['exec'] !== null)
    user.exec = parseExecConfig(f.raw['exec'], {
      where: f.where('exec'),
      base: e.doc.base,
      fail: (what) => fail(e.doc, what),
    });
  return user;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function checkNamespace(ns: string, what: () => ConfigurationError): string {
  if (ns.length > 63 || !DNS_LABEL.test(ns)) throw what();
  return ns;
}

/** Pick the context, its cluster and user, and the namespace. */
function resolveContext(config: ParsedConfig, o: LoadKubeConfigOptions, label: string): KubeConfig {
  const names = [...config.contexts.keys()];
  const listed = names.length ? `; it has ${names.map((n) => `"${n}"`).join(', ')}` : '; it has no contexts';
  const name = o.context ?? config.currentContext;
  if (name === undefined)
    throw new ConfigurationError(`${label}: no current-context is set and no context was given${listed}`);
  const ctx = config.contexts.get(name);
  if (!ctx) throw new ConfigurationError(`${label}: context "${name}" is not there${listed}`);
  const f = new Fields(ctx, 'contexts');
  const clusterName = f.str('cluster');
  const userName = f.str('user');
  if (clusterName === undefined) throw f.error('cluster', 'is missing');
  const clusterEntry = config.clusters.get(clusterName);
  if (!clusterEntry) throw f.error('cluster', `names "${clusterName}", which no clusters entry defines`);
  // A context may have no user (an open cluster); a named user must exist (client-go's validation).
  let user: KubeUser = { name: '' };
  if (userName !== undefined) {
    const userEntry = config.users.get(userName);
    if (!userEntry) throw f.error('user', `names "${userName}", which no users entry defines`);
    user = readUser(userEntry);
  }
  const fromContext = f.str('namespace');
  const namespace =
    o.namespace !== undefined
      ? checkNamespace(
          o.namespace,
          () => new ConfigurationError(`namespace "${o.namespace}" is not a valid namespace name`),
        )
      : fromContext !== undefined
        ? checkNamespace(fromContext, () =>
            f.error('namespace', `"${fromContext}" is not a valid namespace name`),
          )
        : 'default';
  return {
    source: ctx.doc.label,
    context: name,
    namespace,
    cluster: readCluster(clusterEntry),
    user,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Loading

function readKubeconfigFile(path: string, label: string): string {
  try {
    return readTextFile(path, KUBECONFIG_LIMIT);
  } catch (e) {
    if (e instanceof FileError) throw new ConfigurationError(`${label} ${e.message}`);
    throw e;
  }
}

function loadFile(path: string): ParsedConfig {
  const abs = resolve(path);
  const doc: Doc = { label: `kubeconfig ${abs}`, base: dirname(abs) };
  return parseConfig(readKubeconfigFile(abs, doc.label), doc);
}

/** The in-cluster service account is there: its variables are set and its token exists. */
export function inClusterPossible(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): boolean {
  return (
    !!env['KUBERNETES_SERVICE_HOST'] && !!env['KUBERNETES_SERVICE_PORT'] && existsSync(join(dir, 'token'))
  );
}

/**
 * The in-cluster configuration (rest.InClusterConfig): `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`,
 * the service account's token (re-read by the client as it rotates), its CA, and its namespace unless one is
 * given.
 */
export function inClusterConfig(
  o: { env?: NodeJS.ProcessEnv; serviceAccountDir?: string; namespace?: string } = {},
): KubeConfig {
  const env = o.env ?? process.env;
  const dir = o.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const label = 'the in-cluster service account';
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port)
    throw new ConfigurationError(
      `${label}: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running in a pod?)`,
    );
  if (!/^\d{1,5}$/.test(port))
    throw new ConfigurationError(`${label}: KUBERNETES_SERVICE_PORT is not a port: ${port}`);
  const read = (file: string, required: boolean): string | undefined => {
    const p = join(dir, file);
    if (!required && !existsSync(p)) return undefined;
    try {
      return readTextFile(p, MATERIAL_LIMIT);
    } catch (e) {
      if (e instanceof FileError) throw new ConfigurationError(`${label}: ${p} ${e.message}`);
      throw e;
    }
  };
  const tokenFile = join(dir, 'token');
  const token = (read('token', true) ?? '').trim();
  const caData = read('ca.crt', false);
  const fromFile = read('namespace', false)?.trim();
  const ns = o.namespace ?? (fromFile || 'default');
  checkNamespace(
    ns,
    () => new ConfigurationError(`${label}: namespace "${ns}" is not a valid namespace name`),
  );
  return {
    source: label,
    namespace: ns,
    cluster: {
      name: 'in-cluster',
      server: `https://${isIP(host) === 6 ? `[${host}]` : host}:${port}`,
      ...(caData !== undefined ? { caData } : {}),
      insecureSkipTlsVerify: false,
    },
    user: { name: 'in-cluster', token, tokenFile },
  };
}

/** Kubeconfig content given inline (a secret input), resolved like a file. */
export function kubeConfigFromText(text: string, o: LoadKubeConfigOptions = {}): KubeConfig {
  const label = 'the inline kubeconfig';
  if (Buffer.byteLength(text) > KUBECONFIG_LIMIT)
    throw new ConfigurationError(
      `${label} is larger than the ${KUBECONFIG_LIMIT / 1024 / 1024} MiB Kiln reads`,
    );
  const config = parseConfig(text, { label, base: o.cwd ?? process.cwd() });
  return resolveContext(config, o, label);
}

/** Find and resolve the kubeconfig with client-go's loading rules (see the module comment). */
export function loadKubeConfig(o: LoadKubeConfigOptions = {}): KubeConfig {
  const env = o.env ?? process.env;
  if (o.inline !== undefined && o.path !== undefined)
    throw new ConfigurationError(
      'both kubeconfig content and a kubeconfig file were given; give one of them',
    );
  if (o.inCluster) return inClusterConfig({ ...o, env });
  if (o.inline !== undefined) return kubeConfigFromText(o.inline, o);
  if (o.path !== undefined) {
    const config = loadFile(o.path);
    return resolveContext(config, o, `kubeconfig ${resolve(o.path)}`);
  }
  const list = env['KUBECONFIG'];
  const home = env['HOME'] || homedir();
  const candidates = list
    ? [...new Set(list.split(delimiter).filter((p) => p !== ''))]
    : [join(home, '.kube', 'config')];
  const present = candidates.filter((p) => existsSync(p));
  const configs = present.map(loadFile);
  const merged = merge(configs);
  const empty = merged.contexts.size === 0 && merged.clusters.size === 0 && merged.users.size === 0;
  if (empty && inClusterPossible(env, o.serviceAccountDir)) return inClusterConfig({ ...o, env });
  const label =
    present.length === 0
      ? list
        ? `KUBECONFIG (${candidates.join(delimiter)}: none of these files exists)`
        : `no kubeconfig (${candidates[0]} does not exist, KUBECONFIG is not set, and this is not a pod)`
      : present.length === 1
        ? `kubeconfig ${resolve(present[0] as string)}`
        : `KUBECONFIG (${present.join(delimiter)})`;
  if (present.length === 0) throw new ConfigurationError(`${label}; give a kubeconfig`);
  return resolveContext(merged, o, label);
}
