/**
 * Exec credential plugins (`client.authentication.k8s.io/v1` and `v1beta1`): how EKS (`aws eks get-token`), GKE
 * (`gke-gcloud-auth-plugin`) and AKS (`kubelogin`) users authenticate. The protocol, as client-go's
 * plugin/pkg/client/auth/exec implements it:
 *
 * - the plugin is run with the kubeconfig's `command` and `args` (an argument array, never a shell), Kiln's
 *   environment plus the kubeconfig's `env`, and `KUBERNETES_EXEC_INFO`: an `ExecCredential` whose `spec` says
 *   whether it may interact (never here: Kiln gives it no terminal) and, with `provideClusterInfo`, the cluster
 *   (server, CA data, tls-server-name, proxy-url, the `client.authentication.k8s.io/exec` extension);
 * - it prints an `ExecCredential` of the same apiVersion whose `status` holds a `token`, or a
 *   `clientCertificateData` + `clientKeyData` pair, and optionally an `expirationTimestamp`;
 * - the credential is kept until it expires; a 401 runs the plugin again (once per credential);
 * - a plugin that fails is one line: its exit, the end of what it printed on stderr, and the kubeconfig's
 *   `installHint`.
 */
import { isAbsolute, resolve } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { exec, ExecError } from '../exec/exec.js';
import type { Logger } from '../platform/types.js';
import { isJsonObject } from '../util/json.js';

export const EXEC_API_V1 = 'client.authentication.k8s.io/v1';
export const EXEC_API_V1BETA1 = 'client.authentication.k8s.io/v1beta1';

export type InteractiveMode = 'Never' | 'IfAvailable' | 'Always';

/** A kubeconfig user's `exec` section. */
export interface ExecConfig {
  command: string;
  args: string[];
  env: Array<{ name: string; value: string }>;
  apiVersion: typeof EXEC_API_V1 | typeof EXEC_API_V1BETA1;
  installHint?: string;
  provideClusterInfo: boolean;
  interactiveMode: InteractiveMode;
}

/** What a plugin is told about the cluster with `provideClusterInfo` (ExecCredential `spec.cluster`). */
export interface ExecClusterInfo {
  server: string;
  tlsServerName?: string;
  insecureSkipTlsVerify?: boolean;
  /** PEM; sent base64-encoded as `certificate-authority-data`. */
  caData?: string;
  proxyUrl?: string;
  /** The cluster's `client.authentication.k8s.io/exec` extension (`config`). */
  config?: unknown;
}

/** A credential a plugin gave. */
export interface ExecCredential {
  token?: string;
  /** PEM. */
  clientCertificateData?: string;
  clientKeyData?: string;
  /** When it expires (ms since epoch); never when absent. */
  expiresAt?: number;
}

export interface ExecCredentialOptions {
  /** Who the plugin is for, for messages: `user "ci" in kubeconfig /home/ci/.kube/config`. */
  where: string;
  cluster: ExecClusterInfo;
  log: Logger;
  /** Masks a secret from now on (platform.setSecret): every token a plugin gives. */
  onSecret: (value: string) => void;
  /** The environment the plugin starts from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** How long one run may take (default 60 s): a plugin waiting for a browser login never returns. */
  timeoutMs?: number;
  now?: () => number;
}

/**
 * Read a kubeconfig user's `exec` section (client-go's validation and defaults: interactiveMode is required for
 * v1 and defaults to IfAvailable for v1beta1; a command with a `/` is relative to the kubeconfig's directory).
 */
export function parseExecConfig(
  raw: unknown,
  at: { where: string; base: string; fail: (what: string) => ConfigurationError },
): ExecConfig {
  const err = (field: string, what: string) => at.fail(`${at.where}${field ? `.${field}` : ''} ${what}`);
  if (!isJsonObject(raw)) throw err('', 'must be a mapping');
  const str = (field: string): string | undefined => {
    const v = raw[field];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw err(field, 'must be a string');
    return v;
  };
  const command = str('command');
  if (command === undefined) throw err('command', 'is missing');
  const apiVersion = str('apiVersion');
  if (apiVersion === undefined) throw err('apiVersion', `is missing (use ${EXEC_API_V1})`);
  if (apiVersion !== EXEC_API_V1 && apiVersion !== EXEC_API_V1BETA1)
    throw err(
      'apiVersion',
      `is ${apiVersion}; Kiln speaks ${EXEC_API_V1} and ${EXEC_API_V1BETA1} (v1alpha1 is gone from client-go too)`,
    );
  const args = raw['args'] ?? [];
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string'))
    throw err('args', 'must be a list of strings');
  const envList = raw['env'] ?? [];
  if (!Array.isArray(envList)) throw err('env', 'must be a list of {name, value}');
  const env = envList.map((e, i) => {
    if (!isJsonObject(e) || typeof e['name'] !== 'string' || e['name'] === '')
      throw err(`env[${i}]`, 'has no name');
    if (e['value'] !== undefined && e['value'] !== null && typeof e['value'] !== 'string')
      throw err(`env[${i}].value`, 'must be a string');
    return { name: e['name'], value: typeof e['value'] === 'string' ? e['value'] : '' };
  });
  const mode = str('interactiveMode') ?? (apiVersion === EXEC_API_V1BETA1 ? 'IfAvailable' : undefined);
  if (mode === undefined)
    throw err('interactiveMode', `is missing (${EXEC_API_V1} requires Never or IfAvailable)`);
  if (mode !== 'Never' && mode !== 'IfAvailable' && mode !== 'Always')
    throw err('interactiveMode', `is ${mode}; expected Never, IfAvailable or Always`);
  const pci = raw['provideClusterInfo'];
  if (pci !== undefined && pci !== null && typeof pci !== 'boolean')
    throw err('provideClusterInfo', 'must be true or false');
  const installHint = str('installHint');
  return {
    // client-go: a command with a path separator is a path relative to the kubeconfig, else it is looked up on PATH.
    command: command.includes('/') && !isAbsolute(command) ? resolve(at.base, command) : command,
    args: args as string[],
    env,
    apiVersion,
    ...(installHint !== undefined ? { installHint } : {}),
    provideClusterInfo: pci === true,
    interactiveMode: mode,
  };
}

/** The JSON a plugin finds in KUBERNETES_EXEC_INFO. */
export function execInfo(config: ExecConfig, cluster: ExecClusterInfo): string {
  const c = cluster;
  const spec: Record<string, unknown> = { interactive: false };
  if (config.provideClusterInfo)
    spec['cluster'] = {
      server: c.server,
      ...(c.tlsServerName ? { 'tls-server-name': c.tlsServerName } : {}),
      ...(c.insecureSkipTlsVerify ? { 'insecure-skip-tls-verify': true } : {}),
      ...(c.caData ? { 'certificate-authority-data': Buffer.from(c.caData).toString('base64') } : {}),
      ...(c.proxyUrl ? { 'proxy-url': c.proxyUrl } : {}),
      ...(c.config !== undefined ? { config: c.config } : {}),
    };
  return JSON.stringify({ kind: 'ExecCredential', apiVersion: config.apiVersion, spec });
}

/** Whitespace folded, the last `max` characters (a plugin's stderr ends with what went wrong). */
function tail(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `…${flat.slice(-max)}` : flat;
}

/** Thrown when a plugin cannot give a credential; one line. */
export class ExecCredentialError extends Error {
  override readonly name = 'ExecCredentialError';
}

/** Runs a user's exec plugin and keeps its credential until it expires. One run at a time. */
export class ExecCredentialProvider {
  private cached: ExecCredential | undefined;
  private running: Promise<ExecCredential> | undefined;
  private readonly now: () => number;

  constructor(
    readonly config: ExecConfig,
    private readonly o: ExecCredentialOptions,
  ) {
    this.now = o.now ?? Date.now;
  }

  /** The credential: the kept one until it expires, else a fresh one from the plugin. */
  get(signal?: AbortSignal): Promise<ExecCredential> {
    const c = this.cached;
    if (c && (c.expiresAt === undefined || this.now() < c.expiresAt)) return Promise.resolve(c);
    return this.run(signal);
  }

  /**
   * The server refused `used` (401): run the plugin again, unless another request already replaced it. The caller
   * retries its request once with what this returns.
   */
  refresh(used: ExecCredential, signal?: AbortSignal): Promise<ExecCredential> {
    if (this.cached !== used) return this.get(signal);
    this.cached = undefined;
    return this.run(signal);
  }

  private run(signal: AbortSignal | undefined): Promise<ExecCredential> {
    this.running ??= this.execute(signal).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private describe(): string {
    return `the exec credential plugin '${this.config.command}' of ${this.o.where}`;
  }

  private failure(what: string): ExecCredentialError {
    const hint = this.config.installHint ? tail(this.config.installHint, 500) : '';
    return new ExecCredentialError(`${this.describe()} ${what}${hint ? `. ${hint}` : ''}`);
  }

  private async execute(signal: AbortSignal | undefined): Promise<ExecCredential> {
    const { config } = this;
    if (config.interactiveMode === 'Always')
      throw this.failure(
        'needs a terminal (interactiveMode: Always), which Kiln never gives a plugin; configure it to log in without one',
      );
    const env: NodeJS.ProcessEnv = { ...(this.o.env ?? process.env) };
    for (const e of config.env) env[e.name] = e.value;
    env['KUBERNETES_EXEC_INFO'] = execInfo(config, this.o.cluster);
    const timeoutMs = this.o.timeoutMs ?? 60_000;
    this.o.log.debug(`Running ${this.describe()} for a credential.`);
    let stdout: string;
    try {
      const r = await exec(config.command, config.args, { env, timeoutMs, signal, allowFailure: true });
      if (r.exitCode !== 0) {
        const why = tail(r.stderr) || tail(r.stdout);
        throw this.failure(`exited with ${r.exitCode ?? r.signal}${why ? `: ${why}` : ''}`);
      }
      stdout = r.stdout;
    } catch (e) {
      if (e instanceof ExecCredentialError) throw e;
      if (e instanceof ExecError && e.result.timedOut)
        throw this.failure(`did not finish within ${Math.round(timeoutMs / 1000)}s and was stopped`);
      // exec() says a missing program is a ConfigurationError; say it with the plugin's install hint.
      if (e instanceof ConfigurationError)
        throw this.failure(isAbsolute(config.command) ? 'does not exist' : 'was not found on PATH');
      throw e;
    }
    const credential = this.parse(stdout);
    if (credential.token) this.o.onSecret(credential.token);
    this.cached = credential;
    return credential;
  }

  /** Read the ExecCredential a plugin printed. */
  private parse(stdout: string): ExecCredential {
    let body: unknown;
    try {
      body = JSON.parse(stdout);
    } catch {
      throw this.failure(`printed no ExecCredential JSON${stdout.trim() ? '' : ' (its output was empty)'}`);
    }
    if (!isJsonObject(body) || body['kind'] !== 'ExecCredential')
      throw this.failure('printed JSON that is not an ExecCredential');
    if (body['apiVersion'] !== this.config.apiVersion)
      throw this.failure(
        `answered with apiVersion ${String(body['apiVersion'])}, but the kubeconfig asks for ${this.config.apiVersion}`,
      );
    const status = body['status'];
    if (!isJsonObject(status)) throw this.failure('returned no status');
    const s = (k: string): string | undefined =>
      typeof status[k] === 'string' && status[k] !== '' ? status[k] : undefined;
    const token = s('token');
    const cert = s('clientCertificateData');
    const key = s('clientKeyData');
    if (!token && !cert && !key)
      throw this.failure('returned neither a token nor a client certificate and key');
    if (!cert !== !key) throw this.failure('returned only one of clientCertificateData and clientKeyData');
    const exp = s('expirationTimestamp');
    let expiresAt: number | undefined;
    if (exp !== undefined) {
      expiresAt = Date.parse(exp);
      if (Number.isNaN(expiresAt))
        throw this.failure(`returned an expirationTimestamp that is not a time: ${exp}`);
    }
    return {
      ...(token ? { token } : {}),
      ...(cert && key ? { clientCertificateData: cert, clientKeyData: key } : {}),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    };
  }
}
