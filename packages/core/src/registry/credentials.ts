/**
 * Where registry credentials come from, in this order (the first source that has any for the registry wins):
 *
 * 1. explicit inputs (`explicit`, keyed by registry; e.g. an action's `username`/`password` inputs);
 * 2. the docker config (`dockerConfigDir`, `$DOCKER_CONFIG` or `~/.docker`): `credHelpers`, `credsStore`,
 *    `auths` (see docker-config.ts);
 * 3. the CI system's own: on GitLab the job's registry (`CI_REGISTRY` with `CI_REGISTRY_USER` /
 *    `CI_REGISTRY_PASSWORD`, or `CI_JOB_TOKEN` as user `gitlab-ci-token`) and the dependency proxy; on GitHub
 *    `GITHUB_TOKEN` for ghcr.io (user `GITHUB_ACTOR`).
 *
 * Every secret found is handed to `onSecret` before it is used (the platform masks it in all output), and
 * only user names and sources ever appear in logs and messages. Lookups are lazy and memoised per registry
 * by {@link CredentialStore}: a registry that never asks for credentials never runs a helper.
 */
import type { Logger } from '../platform/types.js';
import {
  dockerConfigCredentials,
  dockerConfigDir,
  normaliseRegistryKey,
  readDockerConfig,
} from './docker-config.js';

/** Credentials for one registry. */
export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker's `identitytoken`, or a helper answering user `<token>`). */
  identityToken?: string;
  /** A bearer token to send to the registry as is (docker's `registrytoken`). */
  registryToken?: string;
  /** Where they came from, for messages: 'explicit', a config path, a helper program, an env variable. */
  source: string;
}

/** Explicit credentials, keyed by registry (`ghcr.io`, `localhost:5000`, `https://index.docker.io/v1/`). */
export type ExplicitCredentials = Record<string, Omit<RegistryCredentials, 'source'> & { source?: string }>;

export interface ResolveCredentialsOptions {
  explicit?: ExplicitCredentials;
  /** Environment for `DOCKER_CONFIG`, `HOME`, CI variables and helper processes. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Directory holding config.json; default `$DOCKER_CONFIG` or `~/.docker`. */
  dockerConfigDir?: string;
  /** Skip the docker config entirely. */
  ignoreDockerConfig?: boolean;
  /** Called with every secret found, before it is used. */
  onSecret?: (value: string) => void;
  logger?: Logger;
  signal?: AbortSignal;
}

/** A function that finds credentials for a registry (`ghcr.io`, `docker.io`, `127.0.0.1:5000`). */
export type CredentialSource = (registry: string) => Promise<RegistryCredentials | undefined>;

function reportSecrets(creds: RegistryCredentials, onSecret?: (value: string) => void): void {
  if (!onSecret) return;
  for (const secret of [creds.password, creds.identityToken, creds.registryToken])
    if (secret) onSecret(secret);
  if (creds.username && creds.password) {
    onSecret(Buffer.from(`${creds.username}:${creds.password}`).toString('base64'));
  }
}

function fromExplicit(
  explicit: ExplicitCredentials | undefined,
  registry: string,
): RegistryCredentials | undefined {
  if (!explicit) return undefined;
  const wanted = normaliseRegistryKey(registry);
  for (const [key, value] of Object.entries(explicit)) {
    if (normaliseRegistryKey(key) !== wanted) continue;
    if (!value.password && !value.identityToken && !value.registryToken) continue;
    return { ...value, source: value.source ?? 'explicit' };
  }
  return undefined;
}

/** The CI system's credentials for `registry`, when it is the CI system's registry. */
export function ciCredentials(registry: string, env: NodeJS.ProcessEnv): RegistryCredentials | undefined {
  const wanted = normaliseRegistryKey(registry);
  if (env.CI_REGISTRY && normaliseRegistryKey(env.CI_REGISTRY) === wanted) {
    if (env.CI_REGISTRY_USER && env.CI_REGISTRY_PASSWORD) {
      return {
        username: env.CI_REGISTRY_USER,
        password: env.CI_REGISTRY_PASSWORD,
        source: 'CI_REGISTRY_PASSWORD',
      };
    }
    if (env.CI_JOB_TOKEN)
      return { username: 'gitlab-ci-token', password: env.CI_JOB_TOKEN, source: 'CI_JOB_TOKEN' };
  }
  if (
    env.CI_DEPENDENCY_PROXY_SERVER &&
    normaliseRegistryKey(env.CI_DEPENDENCY_PROXY_SERVER) === wanted &&
    env.CI_DEPENDENCY_PROXY_USER &&
    env.CI_DEPENDENCY_PROXY_PASSWORD
  ) {
    return {
      username: env.CI_DEPENDENCY_PROXY_USER,
      password: env.CI_DEPENDENCY_PROXY_PASSWORD,
      source: 'CI_DEPENDENCY_PROXY_PASSWORD',
    };
  }
  if (wanted === 'ghcr.io' && env.GITHUB_TOKEN) {
    return {
      username: env.GITHUB_ACTOR || 'x-access-token',
      password: env.GITHUB_TOKEN,
      source: 'GITHUB_TOKEN',
    };
  }
  return undefined;
}

/**
 * Credentials for `registry` from the first source that has some (see the module comment), or undefined for
 * anonymous access. Every secret found goes to `onSecret`.
 */
export async function resolveCredentials(
  registry: string,
  opts: ResolveCredentialsOptions = {},
): Promise<RegistryCredentials | undefined> {
  const env = opts.env ?? process.env;
  let found = fromExplicit(opts.explicit, registry);
  if (!found && !opts.ignoreDockerConfig) {
    const config = await readDockerConfig(dockerConfigDir(env, opts.dockerConfigDir));
    if (config) {
      found = await dockerConfigCredentials(config, registry, {
        env,
        signal: opts.signal,
        logger: opts.logger,
      });
    }
  }
  found ??= ciCredentials(registry, env);
  if (found) {
    reportSecrets(found, opts.onSecret);
    const who = found.username
      ? `user ${found.username}`
      : found.identityToken
        ? 'an identity token'
        : 'a token';
    opts.logger?.debug(`registry ${registry}: ${who} from ${found.source}`);
  } else {
    opts.logger?.debug(`registry ${registry}: no credentials found; anonymous`);
  }
  return found;
}

/** Resolves credentials lazily, once per registry (also when asked concurrently). */
export class CredentialStore {
  private readonly cache = new Map<string, Promise<RegistryCredentials | undefined>>();

  constructor(private readonly opts: ResolveCredentialsOptions = {}) {}

  /** Credentials for `registry` (memoised). */
  get: CredentialSource = (registry) => {
    const key = normaliseRegistryKey(registry);
    let p = this.cache.get(key);
    if (!p) {
      p = resolveCredentials(registry, this.opts);
      this.cache.set(key, p);
      // A failed lookup (e.g. a helper that timed out) may be retried by a later call.
      p.catch(() => this.cache.delete(key));
    }
    return p;
  };

  /** Forget what was found (e.g. after a login). */
  clear(): void {
    this.cache.clear();
  }
}
