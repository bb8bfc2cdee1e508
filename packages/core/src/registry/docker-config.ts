/**
 * Docker's credential configuration: `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), read the
 * way the docker CLI reads it.
 *
 * - `credHelpers: { "<registry>": "<name>" }` sends one registry to `docker-credential-<name>`;
 * - `credsStore: "<name>"` sends every registry to that helper;
 * - `auths: { "<key>": { auth | username+password | identitytoken | registrytoken } }` holds them inline
 *   (`auth` is base64 of `user:password`). An empty entry (`{}`) is what docker writes when a store holds the
 *   secret.
 *
 * Keys are normalised before matching: the scheme and any path are dropped, the host is lower-cased, and Docker
 * Hub's names (`https://index.docker.io/v1/`, `index.docker.io`, `registry-1.docker.io`, `docker.io`) are one.
 * A helper is run with an argument array (never a shell): `docker-credential-<name> get`, the server URL on
 * stdin, `{"ServerURL","Username","Secret"}` on stdout; the user name `<token>` means the secret is an identity
 * token (an OAuth2 refresh token), as docker defines it.
 */
import { FileError, readTextFile } from '../util/files.js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { exec, ExecError } from '../exec/exec.js';
import type { Logger } from '../platform/types.js';
import type { RegistryCredentials } from './credentials.js';

const DOCKER_HUB_KEYS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
/** The server URL docker uses for Docker Hub in config keys and helper queries. */
export const DOCKER_HUB_SERVER_URL = 'https://index.docker.io/v1/';

export interface DockerAuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** The parts of config.json Kiln reads. */
export interface DockerConfig {
  /** The file it came from. */
  path: string;
  auths: Record<string, DockerAuthEntry>;
  credHelpers: Record<string, string>;
  credsStore?: string;
}

/**
 * A config key or registry name as a comparable host: scheme and path dropped, lower-cased, Docker Hub folded
 * to `docker.io`. `https://index.docker.io/v1/` → `docker.io`; `HTTP://Reg.Example:5000/x` → `reg.example:5000`.
 */
export function normaliseRegistryKey(key: string): string {
  let k = key.trim().replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
  const slash = k.indexOf('/');
  if (slash >= 0) k = k.slice(0, slash);
  k = k.toLowerCase();
  return DOCKER_HUB_KEYS.has(k) ? 'docker.io' : k;
}

/** The directory of config.json: `dir`, else `$DOCKER_CONFIG`, else `~/.docker`. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env, dir?: string): string {
  if (dir) return dir;
  if (env.DOCKER_CONFIG) return env.DOCKER_CONFIG;
  return join(env.HOME || homedir(), '.docker');
}

/** Reads config.json from `dir`; undefined when it does not exist. A malformed file is a ConfigurationError. */
export async function readDockerConfig(dir: string): Promise<DockerConfig | undefined> {
  const path = join(dir, 'config.json');
  let text: string;
  try {
    text = readTextFile(path, 1024 * 1024);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | FileError).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new ConfigurationError(`the docker config ${path} ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // The parser's message could quote part of the file (secrets): say only where it is broken.
    throw new ConfigurationError(`the docker config ${path} is not valid JSON`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigurationError(`the docker config ${path} is not a JSON object`);
  }
  const obj = raw as Record<string, unknown>;
  const auths: Record<string, DockerAuthEntry> = {};
  if (typeof obj.auths === 'object' && obj.auths !== null) {
    for (const [key, value] of Object.entries(obj.auths as Record<string, unknown>)) {
      if (typeof value !== 'object' || value === null) continue;
      const v = value as Record<string, unknown>;
      const entry: DockerAuthEntry = {};
      for (const field of ['auth', 'username', 'password', 'identitytoken', 'registrytoken'] as const) {
        if (typeof v[field] === 'string' && v[field] !== '') entry[field] = v[field] as string;
      }
      auths[key] = entry;
    }
  }
  const credHelpers: Record<string, string> = {};
  if (typeof obj.credHelpers === 'object' && obj.credHelpers !== null) {
    for (const [key, value] of Object.entries(obj.credHelpers as Record<string, unknown>)) {
      if (typeof value === 'string' && value !== '') credHelpers[key] = value;
    }
  }
  const credsStore = typeof obj.credsStore === 'string' && obj.credsStore !== '' ? obj.credsStore : undefined;
  return { path, auths, credHelpers, ...(credsStore ? { credsStore } : {}) };
}

/** The entry of `map` for `registry`: an exact key first, then any key that normalises to the same host. */
function findEntry<T>(map: Record<string, T>, registry: string): [string, T] | undefined {
  const wanted = normaliseRegistryKey(registry);
  if (Object.hasOwn(map, registry)) return [registry, map[registry]!];
  for (const [key, value] of Object.entries(map))
    if (normaliseRegistryKey(key) === wanted) return [key, value];
  return undefined;
}

/** Credentials from an `auths` entry, or undefined when it holds none (e.g. `{}` next to a credsStore). */
export function credentialsFromAuthEntry(
  entry: DockerAuthEntry,
  where: string,
): Omit<RegistryCredentials, 'source'> | undefined {
  let username = entry.username;
  let password = entry.password;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) {
      throw new ConfigurationError(`${where}: 'auth' is not base64 of 'user:password'`);
    }
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  const creds: Omit<RegistryCredentials, 'source'> = {};
  if (username) creds.username = username;
  if (password) creds.password = password;
  if (entry.identitytoken) creds.identityToken = entry.identitytoken;
  if (entry.registrytoken) creds.registryToken = entry.registrytoken;
  return creds.password || creds.identityToken || creds.registryToken ? creds : undefined;
}

/** What a helper is asked for: Docker Hub's historical server URL, else the registry host. */
export function helperServerUrl(registry: string): string {
  return normaliseRegistryKey(registry) === 'docker.io' ? DOCKER_HUB_SERVER_URL : registry;
}

export interface HelperOptions {
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  logger?: Logger;
  timeoutMs?: number;
}

/**
 * Runs `docker-credential-<helper> get` for `registry`. Undefined when the helper has nothing for it
 * ("credentials not found"); a missing helper program or another failure is a ConfigurationError.
 */
export async function runCredentialHelper(
  helper: string,
  registry: string,
  opts: HelperOptions = {},
): Promise<RegistryCredentials | undefined> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(helper)) {
    throw new ConfigurationError(`invalid credential helper name '${helper}' in the docker config`);
  }
  const program = `docker-credential-${helper}`;
  const serverUrl = helperServerUrl(registry);
  let result;
  try {
    result = await exec(program, ['get'], {
      input: serverUrl,
      env: opts.env,
      signal: opts.signal,
      timeoutMs: opts.timeoutMs ?? 30_000,
      allowFailure: true,
      maxCapture: 1024 * 1024,
    });
  } catch (err) {
    if (err instanceof ExecError) {
      throw new ConfigurationError(`credential helper ${program} failed for ${registry}: ${err.message}`);
    }
    if (err instanceof ConfigurationError) {
      throw new ConfigurationError(
        `the docker config names credential helper '${helper}' for ${registry}, but '${program}' is not on PATH`,
      );
    }
    throw err;
  }
  if (result.exitCode !== 0) {
    const said = `${result.stdout}\n${result.stderr}`;
    if (/credentials not found/i.test(said)) return undefined;
    const tail = result.stderr.trim().split('\n').slice(-2).join(' ').slice(0, 300);
    throw new ConfigurationError(
      `credential helper ${program} failed for ${registry} (exit ${result.exitCode ?? result.signal})${tail ? `: ${tail}` : ''}`,
    );
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(result.stdout) as typeof parsed;
  } catch {
    throw new ConfigurationError(`credential helper ${program} printed something that is not JSON`);
  }
  const username = typeof parsed.Username === 'string' ? parsed.Username : '';
  const secret = typeof parsed.Secret === 'string' ? parsed.Secret : '';
  if (!secret) return undefined;
  opts.logger?.debug(`credentials for ${registry} from ${program}`);
  if (username === '<token>') return { identityToken: secret, source: program };
  return { ...(username ? { username } : {}), password: secret, source: program };
}

/**
 * Credentials for `registry` from a docker config, in docker's order: `credHelpers[registry]`, then
 * `credsStore`, then the inline `auths` entry. Undefined when none of them has any.
 */
export async function dockerConfigCredentials(
  config: DockerConfig,
  registry: string,
  opts: HelperOptions = {},
): Promise<RegistryCredentials | undefined> {
  const helper = findEntry(config.credHelpers, registry);
  if (helper) {
    const found = await runCredentialHelper(helper[1], registry, opts);
    if (found) return found;
  } else if (config.credsStore) {
    const found = await runCredentialHelper(config.credsStore, registry, opts);
    if (found) return found;
  }
  const entry = findEntry(config.auths, registry);
  if (!entry) return undefined;
  const creds = credentialsFromAuthEntry(entry[1], `${config.path} (auths["${entry[0]}"])`);
  return creds ? { ...creds, source: config.path } : undefined;
}
