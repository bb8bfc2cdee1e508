/**
 * Starts a real OCI registry (CNCF distribution, Debian's `docker-registry` binary) on 127.0.0.1 for tests and
 * benchmarks: open, htpasswd (Basic) or token auth backed by {@link startTokenServer}.
 *
 * Each registry gets a temp dir holding its config, log, htpasswd file and (unless `storageDir` is given)
 * its filesystem storage; `stop()` kills the process and deletes the temp dir. Processes still alive when the
 * Node process exits are killed by an exit hook, so a crashed test does not leave registries behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startTokenServer, type TokenAcl, type TokenKeyHeader, type TokenServer } from './token-server.js';
import { exec, freePort, removeDir, sleep, which } from './util.js';

/** How the registry authenticates clients. */
export type RegistryAuth =
  | { kind: 'none' }
  /** htpasswd (bcrypt) Basic auth: every authenticated user may do everything; anonymous may do nothing. */
  | { kind: 'basic'; users: Record<string, string> }
  /**
   * Bearer tokens from a {@link TokenServer} started alongside. `acl` decides what a user (undefined =
   * anonymous) may do on a repository; default: authenticated users get every action asked for, anonymous
   * gets `pull` only (like a public repository on Docker Hub).
   */
  | {
      kind: 'token';
      users: Record<string, string>;
      acl?: TokenAcl;
      /** How the JWT header names the signing key (`kid` default; `x5c` also works with distribution 2.8). */
      keyHeader?: TokenKeyHeader;
      /** `expires_in` of tokens, seconds (default 300). */
      expiresIn?: number;
    };

/** Options of {@link startRegistry}. */
export interface RegistryOptions {
  /** Default `{ kind: 'none' }`. */
  auth?: RegistryAuth;
  /** Storage root to use (kept on stop, so a restarted registry sees the same content). Default: a temp dir. */
  storageDir?: string;
  /** `http.relativeurls`: answer relative `Location` headers. Default false (absolute, built from `Host`). */
  relativeUrls?: boolean;
  /** Registry log level. Default `info` (includes the access log). */
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  /** How long to wait for `GET /v2/` to answer. Default 15 s. */
  startTimeoutMs?: number;
}

/** A running registry. */
export interface RunningRegistry {
  /** `127.0.0.1:PORT`, as used in image references. */
  host: string;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The token server when `auth.kind` is `token`. */
  tokenServer?: TokenServer;
  /** The storage root directory. */
  storageDir: string;
  /** The config file the registry was started with. */
  configPath: string;
  /** Stops the registry (and its token server), deletes temp files. Safe to call twice. */
  stop(): Promise<void>;
  /** Everything the registry printed so far (stdout and stderr). */
  logs(): string;
}

/** The registry binary: `$KILN_REGISTRY_BIN` if set, else `docker-registry` on PATH (Debian's name). */
export function registryBinary(): string | undefined {
  const override = process.env.KILN_REGISTRY_BIN;
  return override ? which(override) : which('docker-registry');
}

/** True when the registry binary exists. */
export function registryAvailable(): boolean {
  return registryBinary() !== undefined;
}

/** Registry processes not yet stopped; killed on process exit as a last resort. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

/** YAML double-quoted scalar (JSON strings are valid YAML). */
const q = (s: string): string => JSON.stringify(s);

/** Builds the distribution config file. */
function configYaml(p: {
  port: number;
  storageDir: string;
  logLevel: string;
  relativeUrls: boolean;
  auth: string[];
}): string {
  return [
    'version: 0.1',
    'log:',
    `  level: ${p.logLevel}`,
    '  formatter: text',
    '  fields:',
    '    service: registry',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(p.storageDir)}`,
    '  delete:',
    '    enabled: true',
    '  cache:',
    '    blobdescriptor: inmemory',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${q(`127.0.0.1:${p.port}`)}`,
    `  secret: ${q(randomBytes(16).toString('hex'))}`,
    `  relativeurls: ${p.relativeUrls}`,
    '  headers:',
    '    X-Content-Type-Options: [nosniff]',
    ...p.auth,
    '',
  ].join('\n');
}

/** Resolves with the status of `GET url` (no body kept), or rejects on a connection error. */
function probe(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy(new Error('probe timed out')));
    req.once('error', reject);
    req.end();
  });
}

/** One attempt to start the registry on `port`; rejects with `addressInUse` set when the port was taken. */
async function launch(
  bin: string,
  configPath: string,
  logPath: string,
  url: string,
  timeoutMs: number,
): Promise<ChildProcess> {
  const logFd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(bin, ['serve', configPath], { stdio: ['ignore', logFd, logFd], env: { ...process.env } });
  } finally {
    closeSync(logFd);
  }
  track(child);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  child.once('exit', (code, signal) => (exited = { code, signal }));
  child.once('error', (err) => (spawnError = err));

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError) throw spawnError;
    if (exited) {
      const log = readFileSync(logPath, 'utf8');
      const err = new Error(
        `docker-registry exited (code ${String(exited.code)}, signal ${String(exited.signal)}) before serving:\n${log}`,
      ) as Error & { addressInUse?: boolean };
      err.addressInUse = /address already in use/i.test(log);
      throw err;
    }
    try {
      await probe(`${url}/v2/`);
      return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `docker-registry did not answer GET ${url}/v2/ within ${timeoutMs} ms:\n${readFileSync(logPath, 'utf8')}`,
      );
    }
    await sleep(25);
  }
}

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`. */
async function kill(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/**
 * Starts `docker-registry serve <config>` on a free 127.0.0.1 port and waits until `GET /v2/` answers
 * (200, or 401 with auth). With token auth, a token server is started first and stopped with the registry.
 */
export async function startRegistry(opts: RegistryOptions = {}): Promise<RunningRegistry> {
  const bin = registryBinary();
  if (!bin) {
    throw new Error(
      'docker-registry not found on PATH (Debian/Ubuntu: apt-get install docker-registry; or set KILN_REGISTRY_BIN)',
    );
  }
  const auth = opts.auth ?? { kind: 'none' };
  const dir = await mkdtemp(join(tmpdir(), 'kiln-registry-'));
  let tokenServer: TokenServer | undefined;
  let child: ChildProcess | undefined;
  try {
    const storageDir = opts.storageDir ?? join(dir, 'storage');
    await mkdir(storageDir, { recursive: true });

    const authYaml: string[] = [];
    if (auth.kind === 'basic') {
      const lines: string[] = [];
      for (const [user, password] of Object.entries(auth.users)) {
        // -B bcrypt (the only format distribution reads), -b password from argv, -n print instead of a file.
        const { stdout } = await exec('htpasswd', ['-Bbn', user, password]);
        lines.push(stdout.trim());
      }
      const htpasswdPath = join(dir, 'htpasswd');
      await writeFile(htpasswdPath, `${lines.join('\n')}\n`, { mode: 0o600 });
      authYaml.push('auth:', '  htpasswd:', '    realm: kiln-test-registry', `    path: ${q(htpasswdPath)}`);
    } else if (auth.kind === 'token') {
      tokenServer = await startTokenServer({
        users: auth.users,
        acl: auth.acl,
        keyHeader: auth.keyHeader,
        expiresIn: auth.expiresIn,
      });
      authYaml.push(
        'auth:',
        '  token:',
        `    realm: ${q(tokenServer.realm)}`,
        `    service: ${q(tokenServer.service)}`,
        `    issuer: ${q(tokenServer.issuer)}`,
        `    rootcertbundle: ${q(tokenServer.certPath)}`,
      );
    }

    const configPath = join(dir, 'config.yml');
    const logPath = join(dir, 'registry.log');
    let url = '';
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      await writeFile(
        configPath,
        configYaml({
          port,
          storageDir,
          logLevel: opts.logLevel ?? 'info',
          relativeUrls: opts.relativeUrls ?? false,
          auth: authYaml,
        }),
      );
      try {
        child = await launch(bin, configPath, logPath, url, opts.startTimeoutMs ?? 15_000);
        break;
      } catch (err) {
        if (attempt < 5 && (err as { addressInUse?: boolean }).addressInUse) continue;
        throw err;
      }
    }

    const running = child;
    const host = url.slice('http://'.length);
    let stopped: Promise<void> | undefined;
    let finalLog: string | undefined;
    const readLog = (): string => {
      if (finalLog !== undefined) return finalLog;
      try {
        return readFileSync(logPath, 'utf8');
      } catch {
        return '';
      }
    };
    return {
      host,
      url,
      tokenServer,
      storageDir,
      configPath,
      logs: readLog,
      stop: () =>
        (stopped ??= (async () => {
          await kill(running);
          finalLog = readLog();
          await tokenServer?.close();
          await removeDir(dir);
        })()),
    };
  } catch (err) {
    if (child) await kill(child);
    await tokenServer?.close();
    await removeDir(dir);
    throw err;
  }
}
