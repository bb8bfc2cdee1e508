/**
 * The release ledger's glue: the inputs every action that records or reads releases declares (`environment`,
 * `ledger`, `ledger-token`), where `ledger` points (checked at the edge, before anything runs), opening the backend
 * (loaded only when used), and making an entry from what an action knows (the CI's commit, run and actor).
 */
export { ledgerInputs } from './ledger-inputs.js';
import { InputError } from '../errors.js';
import { parseImageReference } from '../image/reference.js';
import type { LedgerBackend, LedgerEntry, LedgerEvent } from '../ledger/entry.js';
import { generateReleaseId, RELEASE_ID, uniqueReleaseId } from '../ledger/id.js';
import type { Logger, Platform } from '../platform/types.js';
import type { RegistryClient } from '../registry/client.js';
import type { RepositoryRef } from '../registry/types.js';

export interface LedgerSettings {
  environment?: string;
  ledger?: string;
  'ledger-token'?: string;
}

export type LedgerLocation =
  | { kind: 'none' }
  | { kind: 'registry'; repository?: RepositoryRef }
  | { kind: 'file'; path: string }
  | { kind: 'github' }
  | { kind: 'gitlab' };

/**
 * `ledger` as given, checked with what it needs from the environment (a token, the CI's variables): an InputError
 * naming the input, before anything runs. Without `environment`: none.
 */
export function parseLedgerLocation(settings: LedgerSettings, env: NodeJS.ProcessEnv = {}): LedgerLocation {
  const location = parseLocation(settings);
  if (location.kind === 'github') {
    if (!settings['ledger-token'] && !env.GITHUB_TOKEN)
      throw new InputError('ledger-token', 'is needed for ledger: github (pass `${{ github.token }}`).');
    if (!env.GITHUB_REPOSITORY)
      throw new InputError('ledger', 'github needs GITHUB_REPOSITORY (it runs on GitHub Actions).');
  }
  if (location.kind === 'gitlab') {
    if (!settings['ledger-token'] && !env.CI_JOB_TOKEN)
      throw new InputError(
        'ledger-token',
        'is needed for ledger: gitlab (a project access token, or run in a GitLab job).',
      );
    if (!env.CI_API_V4_URL || !env.CI_PROJECT_ID || !env.CI_COMMIT_SHA || !env.CI_COMMIT_REF_NAME)
      throw new InputError(
        'ledger',
        'gitlab needs CI_API_V4_URL, CI_PROJECT_ID, CI_COMMIT_SHA and CI_COMMIT_REF_NAME (it runs in a GitLab job).',
      );
  }
  return location;
}

function parseLocation(settings: LedgerSettings): LedgerLocation {
  const value = settings.ledger?.trim();
  if (!settings.environment) {
    if (value && value !== 'none')
      throw new InputError(
        'environment',
        `is needed to record releases in the ledger ${value} (name the environment).`,
      );
    return { kind: 'none' };
  }
  if (!value || value === 'registry') return { kind: 'registry' };
  if (value === 'none' || value === 'github' || value === 'gitlab') return { kind: value };
  if (value.startsWith('file:')) {
    const path = value.slice('file:'.length);
    if (!path) throw new InputError('ledger', `'${value}': give the file, e.g. file:releases.jsonl.`);
    return { kind: 'file', path };
  }
  if (value.startsWith('oci://')) {
    const rest = value.slice('oci://'.length).replace(/\/+$/, '');
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1 || /[@:]\S*$/.test(rest.slice(slash)))
      throw new InputError('ledger', `'${value}': expected oci://registry/repository (no tag or digest).`);
    return {
      kind: 'registry',
      repository: { registry: rest.slice(0, slash), repository: rest.slice(slash + 1) },
    };
  }
  throw new InputError(
    'ledger',
    `'${value}': expected registry, oci://registry/repository, file:<path>, github, gitlab or none.`,
  );
}

/** A release id given by the user, checked; or undefined (one is generated when the entry is made). */
export function checkReleaseId(id: string | undefined, input = 'release-id'): string | undefined {
  if (id === undefined || id === '') return undefined;
  if (!RELEASE_ID.test(id))
    throw new InputError(
      input,
      `'${id}': expected letters, digits, '.', '_' or '-' (at most 100, starting with a letter or digit).`,
    );
  return id;
}

export interface OpenLedgerOptions {
  platform: Platform;
  log: Logger;
  signal: AbortSignal;
  /** The released image's repository (`registry/repo`): the registry ledger's default home. */
  imageRepository?: string;
  /** When every ledger request has ended. */
  deadline: number;
  /**
   * The action's registry client, for the registry ledger: its credentials and insecure registries (promote's
   * inputs), and one token handshake for a run that also reads images. Default: one from the environment.
   */
  client?: RegistryClient;
}

/** `registry/team/app` as the registry and the repository in it. */
export function repositoryRef(repository: string): RepositoryRef {
  const slash = repository.indexOf('/');
  return { registry: repository.slice(0, slash), repository: repository.slice(slash + 1) };
}

/** A registry client for a ledger or an image check, from the environment's credentials (docker config, CI). */
export async function ledgerRegistryClient(
  o: Omit<OpenLedgerOptions, 'client' | 'imageRepository'>,
): Promise<RegistryClient> {
  const { RegistryClient } = await import('../registry/client.js');
  return new RegistryClient({
    logger: o.log,
    signal: o.signal,
    deadline: o.deadline,
    env: o.platform.env,
    onSecret: (v) => o.platform.setSecret(v),
  });
}

/** The backend `location` names, loaded on use; undefined for `none`. */
export async function openLedger(
  location: LedgerLocation,
  settings: LedgerSettings,
  o: OpenLedgerOptions,
): Promise<LedgerBackend | undefined> {
  const env = o.platform.env;
  switch (location.kind) {
    case 'none':
      return undefined;
    case 'file': {
      const { FileLedger } = await import('../ledger/file.js');
      return new FileLedger(location.path, { cwd: o.platform.workspace });
    }
    case 'registry':
      return registryLedger(location.repository, o);
    case 'github': {
      const token = settings['ledger-token'] ?? env.GITHUB_TOKEN;
      const repository = env.GITHUB_REPOSITORY;
      if (!token)
        throw new InputError('ledger-token', 'is needed for ledger: github (pass `${{ github.token }}`).');
      if (!repository)
        throw new InputError('ledger', 'github needs GITHUB_REPOSITORY (it runs on GitHub Actions).');
      o.platform.setSecret(token);
      const { GitHubLedger } = await import('../ledger/github.js');
      return new GitHubLedger({
        apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
        repository,
        token,
        ...(env.GITHUB_SHA ? { ref: env.GITHUB_SHA } : {}),
        logger: o.log,
        env,
      });
    }
    case 'gitlab': {
      const token = settings['ledger-token'] ?? env.CI_JOB_TOKEN;
      if (!token)
        throw new InputError(
          'ledger-token',
          'is needed for ledger: gitlab (a project access token, or run in a GitLab job).',
        );
      if (!env.CI_API_V4_URL || !env.CI_PROJECT_ID)
        throw new InputError(
          'ledger',
          'gitlab needs CI_API_V4_URL and CI_PROJECT_ID (it runs in a GitLab job).',
        );
      o.platform.setSecret(token);
      const inner = await registryLedger(undefined, o);
      const { GitLabLedger } = await import('../ledger/gitlab.js');
      return new GitLabLedger({
        apiUrl: env.CI_API_V4_URL,
        projectId: env.CI_PROJECT_ID,
        token,
        tokenKind: settings['ledger-token'] ? 'private' : 'job',
        ref: env.CI_COMMIT_TAG ?? env.CI_COMMIT_REF_NAME ?? '',
        sha: env.CI_COMMIT_SHA ?? '',
        tag: !!env.CI_COMMIT_TAG,
        inner,
        logger: o.log,
        env,
      });
    }
  }
}

async function registryLedger(
  repository: RepositoryRef | undefined,
  o: OpenLedgerOptions,
): Promise<LedgerBackend> {
  if (!repository && !o.imageRepository)
    throw new InputError(
      'ledger',
      'registry needs the image (its repository holds the ledger); or give oci://registry/repository.',
    );
  const repo = repository ?? repositoryRef(o.imageRepository as string);
  const { RegistryLedger } = await import('../ledger/registry.js');
  return new RegistryLedger(o.client ?? (await ledgerRegistryClient(o)), repo);
}

/** An entry from what the action knows and the CI's context; the id is given, or generated, and unique. */
export async function makeEntry(
  backend: LedgerBackend,
  platform: Platform,
  fields: Omit<LedgerEntry, 'id' | 'time' | 'commit' | 'runUrl' | 'actor'> & {
    id?: string;
    idUnique?: boolean;
  },
  call: { signal: AbortSignal; deadline: number },
): Promise<LedgerEntry> {
  const ci = platform.ci();
  const { id, idUnique, ...rest } = fields;
  // A given id (a build number) may repeat in a rerun: it gets a suffix. Generated ids are unique by themselves.
  const taken =
    id && !idUnique
      ? new Set((await backend.list(fields.environment, { ...call, limit: 100 })).map((e) => e.id))
      : new Set<string>();
  return {
    id: uniqueReleaseId(id ?? generateReleaseId(), taken),
    time: new Date().toISOString(),
    ...rest,
    ...(ci.sha ? { commit: ci.sha } : {}),
    ...(ci.runUrl ? { runUrl: ci.runUrl } : {}),
    ...(ci.actor ? { actor: ci.actor } : {}),
  };
}

/** The repository of an image reference (`registry/repo`, normalized as pulls do) and its digest. */
export function splitPinned(ref: string): { repository: string; digest?: string } {
  const r = parseImageReference(ref);
  return { repository: `${r.registry}/${r.repository}`, ...(r.digest ? { digest: r.digest } : {}) };
}

export type { LedgerEvent };

export interface RecordOptions {
  backend: LedgerBackend;
  platform: Platform;
  log: Logger;
  call: { signal: AbortSignal; deadline: number };
}

/**
 * Appends an entry and says so (`release <id> recorded in <environment> (<where>)`); returns it. A ledger that
 * cannot be written throws (a LedgerError): the caller decides what that means for its exit code.
 */
export async function recordRelease(
  o: RecordOptions,
  fields: Parameters<typeof makeEntry>[2],
): Promise<LedgerEntry> {
  const entry = await makeEntry(o.backend, o.platform, fields, o.call);
  await o.backend.append(entry, o.call);
  o.log.info(
    `ledger: ${entry.event} ${entry.id} recorded in ${entry.environment} (${o.backend.location}): ${entry.image}@${entry.digest} ${entry.result}${entry.verdict ? `, verification ${entry.verdict}` : ''}.`,
  );
  return entry;
}

/** What a deploy action passes to record its outcome. */
export interface OutcomeRecord {
  settings: LedgerSettings & { 'release-id'?: string };
  location: LedgerLocation;
  platform: Platform;
  log: Logger;
  signal: AbortSignal;
  event: LedgerEvent;
  result: LedgerEntry['result'];
  /** The released image, pinned (`registry/repo@sha256:…`). */
  image: string | undefined;
  /** What ran before (a pinned reference or a bare digest). */
  previous?: string;
  target?: LedgerEntry['target'];
  of?: string;
  to?: string;
  forced?: boolean;
  verdict?: LedgerEntry['verdict'];
  description?: string;
  /** `settings['release-id']` was generated by this run (unique: no need to look for it in the ledger). */
  releaseIdGenerated?: boolean;
  setOutput(name: string, value: string): void;
}

/** How long recording may take after the deploy itself has ended. */
export const LEDGER_TIMEOUT_MS = 60_000;

/**
 * Records a deploy action's outcome when an environment is given: true when it was recorded (or nothing was asked),
 * false when the ledger could not be written (one error line said so: the release ran, but a rollback cannot find
 * it). Sets the `release-id` output.
 */
export async function recordOutcome(o: OutcomeRecord): Promise<boolean> {
  if (o.location.kind === 'none' || !o.settings.environment) return true;
  const pinned = o.image ? splitPinned(o.image) : undefined;
  if (!pinned?.digest) {
    o.log.warning(
      `ledger: not recorded — ${o.image ? `${o.image} has no digest` : 'no image was deployed'}; a release is an image pinned by digest.`,
    );
    return true;
  }
  const call = { signal: o.signal, deadline: Date.now() + LEDGER_TIMEOUT_MS };
  try {
    const backend = await openLedger(o.location, o.settings, {
      platform: o.platform,
      log: o.log,
      signal: o.signal,
      imageRepository: pinned.repository,
      deadline: call.deadline,
    });
    if (!backend) return true;
    const previous = o.previous?.includes('@') ? splitPinned(o.previous).digest : o.previous;
    const entry = await recordRelease(
      { backend, platform: o.platform, log: o.log, call },
      {
        ...(o.settings['release-id'] ? { id: o.settings['release-id'], idUnique: o.releaseIdGenerated } : {}),
        event: o.event,
        environment: o.settings.environment,
        image: pinned.repository,
        digest: pinned.digest,
        ...(previous && previous !== pinned.digest ? { previousDigest: previous } : {}),
        ...(o.target ? { target: o.target } : {}),
        result: o.result,
        ...(o.verdict ? { verdict: o.verdict } : {}),
        ...(o.of ? { of: o.of } : {}),
        ...(o.to ? { to: o.to } : {}),
        ...(o.forced ? { forced: true } : {}),
        ...(o.description ? { description: o.description } : {}),
      },
    );
    // A verdict is not a release: its entry id stays out of `release-id` (a shared dotenv would lose the release's).
    if (o.event !== 'verify') o.setOutput('release-id', entry.id);
    return true;
  } catch (e) {
    if (e instanceof InputError) throw e;
    o.log.error(
      `ledger: the ${o.event} ran (${o.result}) but was not recorded in ${o.settings.environment}: ${(e as Error).message}`,
    );
    return false;
  }
}

/**
 * smoke-test's image under test, pinned: `image` with its digest, or `image` + `digest`; undefined without a
 * ledger. With a ledger, an image without a digest is an input error (a verdict is recorded for a digest).
 */
export function testedImage(
  image: string | undefined,
  digest: string | undefined,
  location: LedgerLocation,
): string | undefined {
  if (location.kind === 'none') return undefined;
  if (!image)
    throw new InputError('image', 'is needed to record the verdict: the image tested, pinned by digest.');
  const r = parseImageReference(image, { inputName: 'image' });
  const d = r.digest ?? digest;
  if (!d)
    throw new InputError(
      'digest',
      `is needed to record the verdict: ${image} has no digest; give image@sha256:… or digest.`,
    );
  if (!/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(d))
    throw new InputError('digest', `'${d}': expected algorithm:hex, e.g. sha256:…`);
  return `${r.registry}/${r.repository}@${d}`;
}

/**
 * The id of the release this run records: the given `release-id`, or — when it records at all — one generated
 * now, so the labels and annotations Kiln puts on what it deploys name the same release as its ledger entry.
 */
export function releaseIdFor(given: string | undefined, location: LedgerLocation): string | undefined {
  return given || (location.kind === 'none' ? undefined : generateReleaseId());
}

/**
 * What a deploy's result is in the ledger: a release that went live (`deployed`, a canary's `promoted`), failed or
 * was rolled back. Nothing for what is not a release (a canary or green copy, a dry run, a cancel) nor for a rerun
 * that changed nothing — except a rollback, which ends on its target either way (another one may have got there).
 */
export function ledgerResultOf(result: string, event: LedgerEvent): LedgerEntry['result'] | undefined {
  if (result === 'deployed' || result === 'promoted') return 'success';
  if (result === 'unchanged') return event === 'rollback' ? 'success' : undefined;
  if (result === 'rolled-back') return 'rolled-back';
  if (result === 'failed') return 'failure';
  return undefined;
}
