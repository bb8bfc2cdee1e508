/**
 * The git context of a build, read from the CI's variables into one shape for GitHub, GitLab and a terminal, so
 * that the same `tags` rules give the same tags on every platform.
 *
 * GitHub Actions: GITHUB_EVENT_NAME, GITHUB_REF (or GITHUB_REF_TYPE + GITHUB_REF_NAME), GITHUB_SHA,
 * GITHUB_SERVER_URL + GITHUB_REPOSITORY, GITHUB_HEAD_REF / GITHUB_BASE_REF, and the event payload
 * (GITHUB_EVENT_PATH, read up to 16 MiB): `repository.default_branch` / `name` / `description` / `license`,
 * `pull_request.head.sha` and `number`, the commit time from `head_commit` / `commits[]`, `base_ref`.
 * GitLab CI: CI_PIPELINE_SOURCE, CI_COMMIT_TAG, CI_COMMIT_BRANCH, CI_COMMIT_REF_NAME, CI_MERGE_REQUEST_IID (and its
 * SOURCE/TARGET_BRANCH_NAME, SOURCE_BRANCH_SHA), CI_EXTERNAL_PULL_REQUEST_IID, CI_COMMIT_SHA, CI_PROJECT_URL,
 * CI_PROJECT_NAME, CI_PROJECT_DESCRIPTION, CI_DEFAULT_BRANCH, CI_COMMIT_TIMESTAMP.
 * Elsewhere ('local'): nothing from the environment but SOURCE_DATE_EPOCH; the caller passes what it knows (the
 * action may run `git rev-parse HEAD`) as {@link GitContextOptions}.
 *
 * Pull requests and merge requests are one kind of ref, 'pr', numbered by `prNumber` (GitHub's PR number, GitLab's
 * MR IID). Their `sha` is the head commit of the PR (what `type=sha` and the revision label show, like
 * metadata-action with DOCKER_METADATA_PR_HEAD_SHA=true); `commitSha` is the commit the CI checked out (GitHub's
 * merge commit, GitLab's merged-results commit).
 *
 * `createdAt`, the image's creation time, is fixed so that a rebuild of the same commit gets the same label:
 * SOURCE_DATE_EPOCH when set (the reproducible-builds convention, which buildx also follows for the image's own
 * timestamps), else the commit time when the CI gives it (CI_COMMIT_TIMESTAMP, GitHub's push payload), else now.
 */
import { ConfigurationError } from '../errors.js';
import { readTextFile } from '../util/files.js';

export type GitPlatform = 'github' | 'gitlab' | 'local';
export type RefType = 'branch' | 'tag' | 'pr' | 'other';

export interface GitContext {
  platform: GitPlatform;
  /**
   * What started the run. GitHub: GITHUB_EVENT_NAME as is ('push', 'pull_request', 'schedule', 'workflow_dispatch',
   * 'release', …). GitLab: CI_PIPELINE_SOURCE, with 'merge_request_event' written 'merge_request',
   * 'external_pull_request_event' 'pull_request', and a push of a tag 'tag' ('push', 'schedule', 'web', …).
   * 'local' in a terminal.
   */
  event: string;
  /** The git ref: refs/heads/<b>, refs/tags/<t>, refs/pull/<n>/merge (GitHub), refs/merge-requests/<n>/head (GitLab). */
  ref: string;
  refType: RefType;
  /** The branch, when the ref is a branch. */
  branch?: string;
  /** The tag, when the ref is a tag. */
  tag?: string;
  /** The pull/merge request number, when the ref is one. */
  prNumber?: number;
  /** A PR's source and target branches; for a GitHub tag push, the payload's base_ref. */
  headBranch?: string;
  baseBranch?: string;
  /** The commit the image is built from (a PR's head commit); undefined when unknown (a terminal given none). */
  sha?: string;
  /** The commit the CI checked out, when it differs from `sha` (a PR's merge commit). */
  commitSha?: string;
  defaultBranch?: string;
  /** True when the ref is the default branch (as metadata-action's {{is_default_branch}}). */
  isDefaultBranch: boolean;
  /** The repository's web address ('' when unknown). */
  repoUrl: string;
  /** The repository's name (the image title; '' when unknown). */
  repoName: string;
  description?: string;
  /** SPDX expression. */
  licenses?: string;
  /** ISO 8601 (UTC), see the module comment. */
  createdAt: string;
  createdFrom: 'source-date-epoch' | 'commit' | 'now';
  /** The commit time, when the CI gives it (ISO 8601, UTC). */
  commitDate?: string;
  /** What could not be read (an unreadable event payload, a malformed timestamp): for the action to log. */
  warnings: string[];
}

export interface GitContextOptions {
  /** Which CI; by default KILN_PLATFORM (github | gitlab | terminal), else GITHUB_ACTIONS / GITLAB_CI. */
  platform?: GitPlatform;
  /** Overrides, e.g. from `git` in a terminal: a full ref ('refs/tags/v1.2.3') or a branch name. */
  ref?: string;
  sha?: string;
  /** ISO 8601 commit time (e.g. `git log -1 --format=%cI`). */
  commitDate?: string;
  /** Inputs: they win over what the platform says. */
  licenses?: string;
  title?: string;
  description?: string;
  /** GitHub's event payload, instead of reading GITHUB_EVENT_PATH. */
  eventPayload?: unknown;
  /** The time used when neither SOURCE_DATE_EPOCH nor the commit time is known (default: now). */
  now?: Date;
}

/** How much of GitHub's event payload is read (webhook payloads are capped at 25 MB; pushes are far smaller). */
export const EVENT_PAYLOAD_LIMIT = 16 * 1024 * 1024;

type Env = Readonly<Record<string, string | undefined>>;

/** The git context from the CI's variables (module comment). Throws a ConfigurationError for a bad SOURCE_DATE_EPOCH. */
export function gitContext(env: Env, options: GitContextOptions = {}): GitContext {
  const platform = options.platform ?? detectGitPlatform(env);
  const warnings: string[] = [];
  let partial =
    platform === 'github'
      ? fromGitHub(env, options, warnings)
      : platform === 'gitlab'
        ? fromGitLab(env, warnings)
        : fromLocal();
  if (options.ref !== undefined && options.ref !== '') {
    // A new ref replaces everything derived from the old one.
    const { branch: _b, tag: _t, prNumber: _p, headBranch: _h, baseBranch: _base, ...rest } = partial;
    partial = { ...rest, ...classifyRef(options.ref) };
  }
  if (options.sha !== undefined && options.sha !== '') partial.sha = options.sha;
  if (options.commitDate !== undefined && options.commitDate !== '') {
    const d = isoDate(options.commitDate);
    if (d === undefined) warnings.push(`the commit date '${options.commitDate}' is not a date; ignored`);
    else partial.commitDate = d;
  }
  if (options.title) partial.repoName = options.title;
  if (options.description) partial.description = options.description;
  if (options.licenses) partial.licenses = options.licenses;

  const created = creationTime(env, partial.commitDate, options.now);
  const isDefaultBranch =
    partial.refType === 'branch' &&
    ((partial.defaultBranch !== undefined && partial.branch === partial.defaultBranch) ||
      (partial.defaultBranch === undefined &&
        platform === 'github' &&
        ON_DEFAULT_BRANCH_EVENTS.has(partial.event)));
  return clean({ ...partial, platform, isDefaultBranch, ...created, warnings });
}

/** GitHub events that always run on the default branch (metadata-action's {{is_default_branch}} list). */
const ON_DEFAULT_BRANCH_EVENTS = new Set([
  'schedule',
  'create',
  'issues',
  'discussion',
  'discussion_comment',
]);

type Partial_ = Omit<GitContext, 'platform' | 'isDefaultBranch' | 'createdAt' | 'createdFrom' | 'warnings'>;

function detectGitPlatform(env: Env): GitPlatform {
  const forced = env.KILN_PLATFORM?.trim().toLowerCase();
  if (forced === 'github' || forced === 'gitlab') return forced;
  if (forced === 'terminal') return 'local';
  if (truthy(env.GITHUB_ACTIONS)) return 'github';
  if (truthy(env.GITLAB_CI)) return 'gitlab';
  return 'local';
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** The kind of a ref and its branch, tag or PR number. A name without 'refs/' is a branch. */
export function classifyRef(
  ref: string,
): Pick<GitContext, 'ref' | 'refType' | 'branch' | 'tag' | 'prNumber'> {
  let m: RegExpExecArray | null;
  if (ref.startsWith('refs/heads/'))
    return { ref, refType: 'branch', branch: ref.slice('refs/heads/'.length) };
  if (ref.startsWith('refs/tags/')) return { ref, refType: 'tag', tag: ref.slice('refs/tags/'.length) };
  if ((m = /^refs\/(?:pull|merge-requests)\/(\d+)\/[\w-]+$/.exec(ref))) {
    return { ref, refType: 'pr', prNumber: Number(m[1]) };
  }
  if (ref.startsWith('refs/') || ref === '') return { ref, refType: 'other' };
  return { ref: `refs/heads/${ref}`, refType: 'branch', branch: ref };
}

// ---------------------------------------------------------------------------------------------------------------
// GitHub

function fromGitHub(env: Env, options: GitContextOptions, warnings: string[]): Partial_ {
  const payload = asObject(options.eventPayload ?? readPayload(env.GITHUB_EVENT_PATH, warnings));
  const repo = asObject(payload.repository);
  const pr = asObject(payload.pull_request);
  const event = nonEmpty(env.GITHUB_EVENT_NAME) ?? 'push';
  const commitSha = nonEmpty(env.GITHUB_SHA);

  let ref = nonEmpty(env.GITHUB_REF) ?? '';
  if (ref === '' && env.GITHUB_REF_NAME) {
    ref =
      env.GITHUB_REF_TYPE === 'tag'
        ? `refs/tags/${env.GITHUB_REF_NAME}`
        : `refs/heads/${env.GITHUB_REF_NAME}`;
  }
  // pull_request_target runs on the base branch's ref; the PR is in the payload (as metadata-action does).
  const prNumber = asNumber(payload.number) ?? asNumber(pr.number);
  if (event.startsWith('pull_request_target') && prNumber !== undefined) ref = `refs/pull/${prNumber}/merge`;
  const kind = classifyRef(ref);

  let sha = commitSha;
  let headBranch: string | undefined;
  let baseBranch: string | undefined;
  if (kind.refType === 'pr') {
    sha = asString(asObject(pr.head).sha) ?? commitSha;
    headBranch = nonEmpty(env.GITHUB_HEAD_REF) ?? asString(asObject(pr.head).ref);
    baseBranch = nonEmpty(env.GITHUB_BASE_REF) ?? asString(asObject(pr.base).ref);
  } else if (kind.refType === 'tag') {
    baseBranch = asString(payload.base_ref)?.replace(/^refs\/heads\//, '');
  }

  const server = (nonEmpty(env.GITHUB_SERVER_URL) ?? 'https://github.com').replace(/\/+$/, '');
  const repository = nonEmpty(env.GITHUB_REPOSITORY);
  const spdx = asString(asObject(repo.license).spdx_id);
  return {
    event,
    ...kind,
    headBranch,
    baseBranch,
    sha,
    commitSha: commitSha !== sha ? commitSha : undefined,
    defaultBranch: asString(repo.default_branch),
    repoUrl: repository ? `${server}/${repository}` : (asString(repo.html_url) ?? ''),
    repoName: asString(repo.name) ?? repository?.split('/').pop() ?? '',
    description: asString(repo.description),
    licenses: spdx && spdx !== 'NOASSERTION' ? spdx : undefined,
    commitDate: gitHubCommitDate(payload, sha, warnings),
  };
}

function readPayload(path: string | undefined, warnings: string[]): unknown {
  if (!path) return {};
  let text: string;
  try {
    text = readTextFile(path, EVENT_PAYLOAD_LIMIT);
  } catch (e) {
    warnings.push(`GITHUB_EVENT_PATH ${path} ${(e as Error).message}; the event payload is ignored`);
    return {};
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    warnings.push(
      `GITHUB_EVENT_PATH ${path} is not JSON (${(e as Error).message}); the event payload is ignored`,
    );
    return {};
  }
}

/** The time of the commit `sha` from a push payload (`head_commit`, `commits[]`), as metadata-action reads it. */
function gitHubCommitDate(payload: Record<string, unknown>, sha: string | undefined, warnings: string[]) {
  if (sha === undefined) return undefined;
  const commits = Array.isArray(payload.commits) ? payload.commits.map(asObject) : [];
  const candidates = [asObject(payload.head_commit), ...commits];
  const found = candidates.find((c) => asString(c.id) === sha);
  const ts = found ? asString(found.timestamp) : undefined;
  if (ts === undefined) return undefined;
  const d = isoDate(ts);
  if (d === undefined)
    warnings.push(`the commit timestamp '${ts}' in the event payload is not a date; ignored`);
  return d;
}

// ---------------------------------------------------------------------------------------------------------------
// GitLab

function fromGitLab(env: Env, warnings: string[]): Partial_ {
  const source = nonEmpty(env.CI_PIPELINE_SOURCE) ?? 'push';
  const tag = nonEmpty(env.CI_COMMIT_TAG);
  const mr = nonEmpty(env.CI_MERGE_REQUEST_IID);
  const externalPr = nonEmpty(env.CI_EXTERNAL_PULL_REQUEST_IID);
  const branch = nonEmpty(env.CI_COMMIT_BRANCH);
  const commitSha = nonEmpty(env.CI_COMMIT_SHA);

  let kind: ReturnType<typeof classifyRef>;
  let sha = commitSha;
  let headBranch: string | undefined;
  let baseBranch: string | undefined;
  if (tag !== undefined) {
    kind = classifyRef(`refs/tags/${tag}`);
  } else if (mr !== undefined && /^\d+$/.test(mr)) {
    kind = classifyRef(`refs/merge-requests/${mr}/head`);
    // Set only in merged-results pipelines, where CI_COMMIT_SHA is the merge result.
    sha = nonEmpty(env.CI_MERGE_REQUEST_SOURCE_BRANCH_SHA) ?? commitSha;
    headBranch = nonEmpty(env.CI_MERGE_REQUEST_SOURCE_BRANCH_NAME) ?? nonEmpty(env.CI_COMMIT_REF_NAME);
    baseBranch = nonEmpty(env.CI_MERGE_REQUEST_TARGET_BRANCH_NAME);
  } else if (externalPr !== undefined && /^\d+$/.test(externalPr)) {
    kind = { ref: `refs/pull/${externalPr}/merge`, refType: 'pr', prNumber: Number(externalPr) };
    sha = nonEmpty(env.CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA) ?? commitSha;
    headBranch = nonEmpty(env.CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME);
    baseBranch = nonEmpty(env.CI_EXTERNAL_PULL_REQUEST_TARGET_BRANCH_NAME);
  } else if (branch !== undefined) {
    kind = classifyRef(`refs/heads/${branch}`);
  } else {
    const name = nonEmpty(env.CI_COMMIT_REF_NAME);
    kind = name ? classifyRef(`refs/heads/${name}`) : { ref: '', refType: 'other' };
  }

  const event =
    source === 'merge_request_event'
      ? 'merge_request'
      : source === 'external_pull_request_event'
        ? 'pull_request'
        : source === 'push' && tag !== undefined
          ? 'tag'
          : source;

  let commitDate: string | undefined;
  const ts = nonEmpty(env.CI_COMMIT_TIMESTAMP);
  if (ts !== undefined) {
    commitDate = isoDate(ts);
    if (commitDate === undefined) warnings.push(`CI_COMMIT_TIMESTAMP '${ts}' is not a date; ignored`);
  }
  return {
    event,
    ...kind,
    headBranch,
    baseBranch,
    sha,
    commitSha: commitSha !== sha ? commitSha : undefined,
    defaultBranch: nonEmpty(env.CI_DEFAULT_BRANCH),
    repoUrl: nonEmpty(env.CI_PROJECT_URL) ?? '',
    repoName: nonEmpty(env.CI_PROJECT_NAME) ?? '',
    description: nonEmpty(env.CI_PROJECT_DESCRIPTION),
    commitDate,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Terminal, time

function fromLocal(): Partial_ {
  return { event: 'local', ref: '', refType: 'other', repoUrl: '', repoName: '' };
}

function creationTime(
  env: Env,
  commitDate: string | undefined,
  now: Date | undefined,
): Pick<GitContext, 'createdAt' | 'createdFrom'> {
  const epoch = nonEmpty(env.SOURCE_DATE_EPOCH);
  if (epoch !== undefined) {
    const seconds = /^\d{1,12}$/.test(epoch) ? Number(epoch) : NaN;
    const d = new Date(seconds * 1000);
    if (Number.isNaN(d.getTime())) {
      throw new ConfigurationError(
        `SOURCE_DATE_EPOCH '${epoch.slice(0, 40)}' is not a time: expected whole seconds since 1970-01-01 UTC, e.g. 1700000000`,
      );
    }
    return { createdAt: d.toISOString(), createdFrom: 'source-date-epoch' };
  }
  if (commitDate !== undefined) return { createdAt: commitDate, createdFrom: 'commit' };
  return { createdAt: (now ?? new Date()).toISOString(), createdFrom: 'now' };
}

/** An ISO 8601 / RFC 3339 time as ISO 8601 UTC, or undefined. */
function isoDate(s: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(s.trim()))
    return undefined;
  const d = new Date(s.trim());
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

// ---------------------------------------------------------------------------------------------------------------
// Untyped JSON

function asObject(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function asString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function asNumber(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined;
}

/** Drops keys whose value is undefined, so contexts compare and serialise cleanly. */
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
