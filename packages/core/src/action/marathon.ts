/**
 * Turning deploy-marathon's inputs into what the domain code takes: the cluster list, the auth mode, the app
 * definition file, Kiln's labels, and where the rendered definition is written. Every error names its input.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { InputError } from '../errors.js';
import { FileError, readTextFile, writeFileNoFollow } from '../util/files.js';
import type { PlatformKind } from '../platform/types.js';
import { readPrivateKey, type MarathonAuth } from '../marathon/auth.js';
import type { MarathonCluster } from '../marathon/deploy.js';
import { loadAppDefinition, type LoadedDefinition, type RenderedApp } from '../marathon/definition.js';
import { stringifyJson } from '../util/json.js';

/** An app definition larger than this is not one (Marathon's own limit for a request body is 1 MiB). */
const APP_DEFINITION_LIMIT = 4 * 1024 * 1024;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/**
 * `https://marathon.example.com` or `AA=https://marathon-aa.example.com` per item. Names default to the host and
 * must be unique. Credentials in URLs are refused (they would leak into logs): use the credential inputs.
 */
export function parseMarathonClusters(
  items: readonly string[],
  inputName = 'marathon-url',
): MarathonCluster[] {
  if (items.length === 0) throw new InputError(inputName, 'is required; expected one or more http(s) URLs.');
  const clusters: MarathonCluster[] = [];
  for (const item of items) {
    const eq = item.indexOf('=');
    const named =
      eq > 0 && !/^[a-z][a-z0-9+.-]*:\/\//i.test(item.slice(0, eq + 3)) && !item.slice(0, eq).includes('/');
    const name = named ? item.slice(0, eq).trim() : undefined;
    const raw = named ? item.slice(eq + 1).trim() : item.trim();
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new InputError(
        inputName,
        `"${item}" is not a valid URL; expected an http(s) URL, optionally as NAME=URL.`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new InputError(inputName, `"${item}" uses ${url.protocol}; expected an http:// or https:// URL.`);
    if (url.username || url.password)
      throw new InputError(
        inputName,
        `an item contains credentials in its URL (value hidden); give them as marathon-user and marathon-password, or marathon-token.`,
      );
    if (url.search || url.hash)
      throw new InputError(inputName, `"${item}" has a query or fragment; expected Marathon's base URL.`);
    if (name !== undefined && !NAME_RE.test(name))
      throw new InputError(
        inputName,
        `"${name}" is not a usable cluster name; expected letters, digits, '.', '_' or '-' before the '=' (e.g. AA=https://…).`,
      );
    const cluster = { name: name ?? url.host, url: url.toString().replace(/\/+$/, '') };
    if (clusters.some((c) => c.name === cluster.name))
      throw new InputError(
        inputName,
        `the cluster name "${cluster.name}" appears twice; expected each Marathon once.`,
      );
    clusters.push(cluster);
  }
  return clusters;
}

export interface AuthInputs {
  user?: string;
  password?: string;
  token?: string;
  serviceAccountId?: string;
  serviceAccountKey?: string;
  loginUrl?: string;
}

/** Exactly one way to authenticate (or none). */
export function marathonAuthFromInputs(i: AuthInputs): MarathonAuth {
  const basic = i.user !== undefined || i.password !== undefined;
  const sa = i.serviceAccountId !== undefined || i.serviceAccountKey !== undefined;
  const modes: Array<[string, string]> = [];
  if (basic) modes.push(['marathon-user', 'marathon-user/marathon-password']);
  if (i.token !== undefined) modes.push(['marathon-token', 'marathon-token']);
  if (sa) modes.push(['service-account-id', 'service-account-id/service-account-key']);
  if (modes.length > 1) {
    const [first, second] = modes as [[string, string], [string, string]];
    throw new InputError(
      second[0],
      `cannot be combined with ${first[1]}; expected one way to authenticate (basic, token or service account).`,
    );
  }
  if (i.loginUrl !== undefined && !sa)
    throw new InputError(
      'login-url',
      'is only used with service-account-id and service-account-key; expected those too.',
    );
  if (basic) {
    if (!i.user)
      throw new InputError('marathon-user', 'is required with marathon-password; expected a user name.');
    if (!i.password)
      throw new InputError('marathon-password', 'is required with marathon-user; expected a password.');
    if (i.user.includes(':'))
      throw new InputError('marathon-user', `"${i.user}" contains ':'; HTTP basic user names cannot.`);
    return { kind: 'basic', user: i.user, password: i.password };
  }
  if (i.token !== undefined) return { kind: 'token', token: i.token };
  if (sa) {
    if (!i.serviceAccountId)
      throw new InputError(
        'service-account-id',
        'is required with service-account-key; expected the service account uid.',
      );
    if (!i.serviceAccountKey)
      throw new InputError(
        'service-account-key',
        'is required with service-account-id; expected its PEM private key.',
      );
    return {
      kind: 'service-account',
      uid: i.serviceAccountId,
      privateKey: readPrivateKey(i.serviceAccountKey),
      ...(i.loginUrl !== undefined ? { loginUrl: i.loginUrl } : {}),
    };
  }
  return { kind: 'none' };
}

/** Read and parse the app definition file. `shown` is how the path is shown (relative to the workspace). */
export function readAppDefinitionFile(
  path: string,
  workspace: string,
): LoadedDefinition & { source: string } {
  const rel = relative(workspace, path);
  const shown = rel && !rel.startsWith('..') ? rel : path;
  const source = `app-definition ${shown}`;
  let text: string;
  try {
    text = readTextFile(path, APP_DEFINITION_LIMIT);
  } catch (e) {
    if (!(e instanceof FileError)) throw e;
    throw new InputError('app-definition', `"${shown}" ${e.message}; expected a JSON file.`);
  }
  return { ...loadAppDefinition(text, source), source };
}

/**
 * Where the rendered definition goes when the user did not say: the runner's temp dir, the project dir, or — in a
 * terminal — the temp dir under a name with the user's id (a shared /tmp: another user's file at the same path
 * cannot be written, and must not be).
 */
export function defaultRenderedPath(
  kind: PlatformKind,
  env: NodeJS.ProcessEnv,
  workspace: string,
  appId: string,
): string {
  const slug = appId.replace(/^\//, '').replace(/\//g, '_') || 'app';
  if (kind === 'github') return join(env.RUNNER_TEMP ?? tmpdir(), `kiln-marathon-${slug}.json`);
  if (kind === 'gitlab') return join(workspace, `kiln-marathon-${slug}.json`);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return join(tmpdir(), `kiln-marathon-${slug}-${uid}.json`);
}

/** Write the rendered definition (2-space JSON, final newline); never through a link planted at the path. */
export function writeRenderedDefinition(path: string, rendered: RenderedApp): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileNoFollow(path, stringifyJson(rendered.definition) + '\n');
  } catch (e) {
    const why = e instanceof FileError ? e.message : `cannot be written: ${(e as Error).message}`;
    throw new InputError('rendered-file', `"${path}" ${why}.`);
  }
}
