/**
 * The release ledger in GitHub Deployments (REST API 2022-11-28; GitHub Enterprise Server through its API URL,
 * `GITHUB_API_URL` on its runners).
 *
 * Mapping
 * - A deploy, rollback or promote entry is one deployment: `POST /repos/{o}/{r}/deployments` on the entry's commit
 *   (else the `ref` option, else `GITHUB_SHA`) with `task: 'kiln:<event>'`, the entry's environment,
 *   `payload: {kiln: 1, entry}` (the whole entry: GitHub cannot change a payload, so it is the record),
 *   `auto_merge: false`, `required_contexts: []` and a description of at most 140 characters; then one status,
 *   `POST …/deployments/{id}/statuses`: `success` for a successful entry, `failure` for a failed or rolled-back
 *   one, `log_url` the run URL, and `auto_inactive` only for a successful deploy or rollback (GitHub then marks
 *   earlier successful deployments of the environment inactive, as it intends: it does so only for non-transient,
 *   non-production ones). `production_environment` and `transient_environment` keep GitHub's defaults (production
 *   is the environment named `production`). The `kiln:` task tells our deployments from the empty-payload ones every
 *   job with `environment:` creates (actions/runner#2120).
 * - A verify entry is a status on the deployment it is about: the newest kiln deployment of the environment whose
 *   entry id is the verify's `of`, else whose digest is the verify's digest. State `success` (passed), `failure`
 *   (failed) or `error` (inconclusive), `auto_inactive: false`, `log_url` the run URL, and a description that
 *   carries what the deployment does not: `kiln verify <id> <verdict> t=<time> [r=<result>] [of|of=<id>]
 *   [+<fields>][: <description>]` — the time in base-36 epoch milliseconds (`T=`: seconds, for a time written
 *   without them), the result when it is not the verdict's usual one (passed → success, else failure), `of` bare
 *   when it is the deployment's release, and `+` the letters of fields taken from the deployment's entry (c commit,
 *   a actor, g target, p previousDigest, o to, f forced). Image and digest come from the deployment, the run URL
 *   from `log_url`. A verify the status cannot carry whole — no matching deployment, another image or digest, a
 *   field that differs from the deployment's, a time with an offset, an `of` with spaces, more than 140 characters
 *   — becomes a deployment of its own (`task: 'kiln:verify'`, the entry in its payload) with the same status, so
 *   every entry reads back as it was appended (as `parseEntry` reads any backend's: unknown fields dropped).
 * - list: `GET …/deployments?environment=…&per_page=100`, following `Link: rel="next"` (same origin only; at most
 *   10 pages) until it has `limit` kiln deployments; keeps deployments whose task starts with `kiln:` and whose
 *   payload (an object, or a JSON string) holds a valid entry of that event (others are skipped, with one warning
 *   per deployment; entries are read with `parseEntry`, as every backend reads them); reads the statuses of the
 *   newest `limit` of them (4 at a time) for the verify entries; newest first by time, then id (`newestFirst`, as
 *   the other backends); an id seen twice (a create retried after a 5xx that had worked) is listed once. A verify of a deployment older than the pages read
 *   (or than the newest `limit` kiln deployments) is not seen.
 *
 * Requests: `Authorization: Bearer` (a sensitive header: never sent to another origin), `Accept:
 * application/vnd.github+json`, `X-GitHub-Api-Version: 2022-11-28`, Kiln's user agent, the call's deadline and
 * signal, an 8 MiB body limit; 5xx and 429 retried by the HTTP layer (POSTs too: a duplicate is listed once).
 * Rate limits (403/429 with `retry-after`, or `x-ratelimit-remaining: 0` and `x-ratelimit-reset`) are waited out
 * when the wait is at most a minute and ends before the deadline, else a LedgerError says when they reset.
 * 401/403/404 are `denied` and name the permission a workflow needs (`permissions: deployments: write`); 409 and
 * 422 are `conflict` (`not-found` for an unknown ref); 202 (GitHub merged the default branch instead of deploying,
 * which `auto_merge: false` rules out) is `conflict`. No message or log line contains the token.
 *
 * Why not `@actions/github` (Octokit), measured 2026-11-30 on Node 20.20.2, `@actions/github` 9.1.1: it bundles
 * (`esbuild --bundle --minify --platform=node`) to 542 KB minified, 160 KB gzipped, 415 KB of it undici 6; importing
 * the package takes 111 ms (median of 5; 109 ms in a second run), its bundle 71 ms, against 4 ms for `node:http` and
 * `node:https`. The repository dropped `@actions/core` for a 50 ms undici import, the lint layering forbids
 * `@actions/*` in domain code, and the five calls here need nothing Octokit adds over `http/http.ts` (which already
 * does deadlines, retries with jitter and Retry-After, proxies, body limits and sensitive headers).
 */
import { CancelledError, ConfigurationError } from '../errors.js';
import { HttpError, httpRequest, parseRetryAfter, type HttpResponse } from '../http/http.js';
import { silentLogger } from '../platform/logger.js';
import type { Logger } from '../platform/types.js';
import { sleep } from '../util/sleep.js';
import {
  LedgerError,
  parseEntry,
  type LedgerBackend,
  type LedgerCall,
  type LedgerEntry,
  type LedgerResult,
  type Verdict,
} from './entry.js';
import { newestFirst } from './history.js';

export interface GitHubLedgerOptions {
  /** The REST API root (default `GITHUB_API_URL`, else https://api.github.com; GHES: `https://host/api/v3`). */
  apiUrl?: string;
  /** `owner/repo`. */
  repository: string;
  token: string;
  /** The commit deployments are created on when an entry has none (default `GITHUB_SHA`). */
  ref?: string;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
}

const API_VERSION = '2022-11-28';
const TASK_PREFIX = 'kiln:';
const PAYLOAD_VERSION = 1;
const PER_PAGE = 100;
/** Pages of deployments read at most (1000 deployments), by list and by a verify looking for its deployment. */
const MAX_PAGES = 10;
const MAX_STATUS_PAGES = 3;
const STATUS_CONCURRENCY = 4;
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const DESCRIPTION_MAX = 140;
const RATE_LIMIT_RETRIES = 3;
/** The longest rate-limit wait sat out; beyond it the call fails saying when the limit resets. */
const MAX_RATE_LIMIT_WAIT_MS = 60_000;
const PERMISSION_HINT =
  'the token needs write access to deployments: in a workflow, give the job `permissions: deployments: write` (a classic personal token: the repo_deployment scope)';

const RESULTS: readonly LedgerResult[] = ['success', 'failure', 'rolled-back'];
const VERDICTS: readonly Verdict[] = ['passed', 'failed', 'inconclusive'];
/** Fields a verify status takes from its deployment's entry, with their letters in the `+` token. */
const INHERITED = [
  ['c', 'commit'],
  ['a', 'actor'],
  ['g', 'target'],
  ['p', 'previousDigest'],
  ['o', 'to'],
  ['f', 'forced'],
] as const satisfies ReadonlyArray<readonly [string, keyof LedgerEntry]>;

interface Answer {
  status: number;
  header(name: string): string | undefined;
  body: unknown;
  attempts: number;
}

/** A deployment of ours, read back. */
interface KilnDeployment {
  id: number;
  entry: LedgerEntry;
}

interface RawStatus {
  id?: unknown;
  state?: unknown;
  description?: unknown;
  log_url?: unknown;
  target_url?: unknown;
  created_at?: unknown;
}

export class GitHubLedger implements LedgerBackend {
  readonly kind = 'github';
  readonly location: string;
  private readonly base: URL;
  private readonly repoPath: string;
  private readonly token: string;
  private readonly ref: string | undefined;
  private readonly log: Logger;
  private readonly env: NodeJS.ProcessEnv;
  /** Deployments and statuses already warned about (not ours after all), so a second list does not repeat it. */
  private readonly warnedDeployments = new Set<number>();
  private readonly warnedStatuses = new Set<number>();

  constructor(options: GitHubLedgerOptions) {
    this.env = options.env ?? process.env;
    const api = options.apiUrl || this.env.GITHUB_API_URL || 'https://api.github.com';
    let base: URL;
    try {
      base = new URL(api.replace(/\/+$/, ''));
    } catch {
      throw new ConfigurationError(`The GitHub API URL '${api}' is not a URL`);
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:')
      throw new ConfigurationError(`The GitHub API URL '${api}' is not an http(s) URL`);
    base.username = '';
    base.password = '';
    base.search = '';
    base.hash = '';
    this.base = base;
    const match = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(options.repository.trim());
    if (!match) throw new ConfigurationError(`The repository '${options.repository}' is not owner/repo`);
    const [, owner, repo] = match as unknown as [string, string, string];
    if (!options.token) throw new ConfigurationError('The GitHub ledger needs a token (GITHUB_TOKEN)');
    this.token = options.token;
    this.repoPath = `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
    this.location = `${base.host.replace(/^api\./, '')}/${owner}/${repo}`;
    this.ref = options.ref || this.env.GITHUB_SHA || undefined;
    this.log = options.logger ?? silentLogger;
  }

  async append(entry: LedgerEntry, call: LedgerCall = {}): Promise<LedgerEntry> {
    if (!parseEntry(entry))
      throw new LedgerError(`${this.where()}: not a valid ledger entry: ${describeEntry(entry)}`, 'corrupt');
    if (entry.event === 'verify') {
      const target = await this.findVerified(entry, call);
      const description = target ? encodeVerify(entry, target.entry) : undefined;
      if (target && description !== undefined) {
        await this.createStatus(target.id, entry, verifyState(entry), description, false, call);
        return entry;
      }
    }
    const id = await this.createDeployment(entry, call);
    const state =
      entry.event === 'verify' ? verifyState(entry) : entry.result === 'success' ? 'success' : 'failure';
    const autoInactive =
      entry.result === 'success' && (entry.event === 'deploy' || entry.event === 'rollback');
    await this.createStatus(id, entry, state, oneLine(entry), autoInactive, call);
    return entry;
  }

  async list(environment: string, call: LedgerCall & { limit?: number } = {}): Promise<LedgerEntry[]> {
    const limit = call.limit ?? 100;
    if (limit <= 0) return [];
    const what = `listing the deployments of ${environment}`;
    const kiln: KilnDeployment[] = [];
    const garbage: number[] = [];
    for await (const page of this.deploymentPages(environment, what, call)) {
      for (const d of page) {
        const read = readDeployment(d);
        if (read === 'other') continue;
        if (read === 'garbage') {
          const id = (d as { id?: unknown }).id;
          if (typeof id === 'number' && !this.warnedDeployments.has(id)) {
            this.warnedDeployments.add(id);
            garbage.push(id);
          }
          continue;
        }
        kiln.push(read);
      }
      if (kiln.length >= limit) break;
    }
    if (garbage.length > 0) {
      const ids = garbage.slice(0, 5).map((id) => `#${id}`);
      if (garbage.length > 5) ids.push('…');
      this.log.warning(
        `${this.where()}: skipped ${garbage.length} deployment(s) of ${environment} with a kiln task whose payload is not a Kiln ledger entry (${ids.join(', ')})`,
      );
    }

    // Deployments past the newest `limit` hold older entries: they cannot make the cut, nor (mostly) their verifies.
    kiln.splice(limit);
    const verified = await mapLimit(
      kiln.filter((d) => d.entry.event !== 'verify'),
      STATUS_CONCURRENCY,
      (d) => this.verifiesOf(d, call),
    );
    const entries: LedgerEntry[] = [];
    const seen = new Set<string>();
    const keep = (e: LedgerEntry): void => {
      if (seen.has(e.id)) return;
      seen.add(e.id);
      entries.push(e);
    };
    for (const d of kiln) keep(d.entry);
    for (const list of verified) for (const e of list) keep(e);
    return newestFirst(entries).slice(0, limit);
  }

  // -------------------------------------------------------------------------------------------------------
  // Writing

  private async createDeployment(entry: LedgerEntry, call: LedgerCall): Promise<number> {
    const what = `recording ${entry.event} ${entry.id} in ${entry.environment}`;
    const ref = entry.commit || this.ref;
    if (!ref)
      throw new LedgerError(
        `${this.where()}: ${what}: a GitHub deployment needs a commit, and the entry has none, no ref was given and GITHUB_SHA is not set`,
        'not-found',
      );
    const answer = await this.send('POST', this.url('/deployments'), what, call, {
      ref,
      task: `${TASK_PREFIX}${entry.event}`,
      auto_merge: false,
      required_contexts: [],
      environment: entry.environment,
      description: oneLine(entry),
      payload: { kiln: PAYLOAD_VERSION, entry },
    });
    if (answer.status === 202)
      throw new LedgerError(
        `${this.where()}: ${what}: GitHub merged the default branch into ${ref} instead of creating a deployment (HTTP 202: ${githubMessage(answer.body, this.token) || 'auto-merge'}), although Kiln asked for no auto-merge; deploy a commit that is up to date`,
        'conflict',
      );
    if (answer.status !== 201) throw this.failure(answer, what);
    const id = (answer.body as { id?: unknown } | null)?.id;
    if (typeof id !== 'number')
      throw new LedgerError(`${this.where()}: ${what}: GitHub's answer has no deployment id`, 'corrupt');
    return id;
  }

  private async createStatus(
    deployment: number,
    entry: LedgerEntry,
    state: string,
    description: string,
    autoInactive: boolean,
    call: LedgerCall,
  ): Promise<void> {
    const what = `recording the status of ${entry.event} ${entry.id} (deployment #${deployment})`;
    const answer = await this.send('POST', this.url(`/deployments/${deployment}/statuses`), what, call, {
      state,
      description,
      ...(isWebUrl(entry.runUrl) ? { log_url: entry.runUrl } : {}),
      auto_inactive: autoInactive,
    });
    if (answer.status !== 201) throw this.failure(answer, what);
  }

  /** The deployment a verify entry is about: by its `of`, else by its digest (newest first). */
  private async findVerified(entry: LedgerEntry, call: LedgerCall): Promise<KilnDeployment | undefined> {
    let byDigest: KilnDeployment | undefined;
    for await (const page of this.deploymentPages(
      entry.environment,
      `finding the release ${entry.of ?? entry.digest} verifies`,
      call,
    )) {
      for (const d of page) {
        const read = readDeployment(d);
        if (read === 'other' || read === 'garbage' || read.entry.event === 'verify') continue;
        if (entry.of !== undefined && read.entry.id === entry.of) return read;
        if (!byDigest && read.entry.digest === entry.digest) {
          byDigest = read;
          if (entry.of === undefined) return byDigest;
        }
      }
    }
    return byDigest;
  }

  // -------------------------------------------------------------------------------------------------------
  // Reading

  private async *deploymentPages(
    environment: string,
    what: string,
    call: LedgerCall,
  ): AsyncGenerator<unknown[], void, undefined> {
    let url: string | undefined = this.url(
      `/deployments?environment=${encodeURIComponent(environment)}&per_page=${PER_PAGE}`,
    );
    for (let page = 0; url !== undefined && page < MAX_PAGES; page++) {
      const answer = await this.send('GET', url, what, call);
      if (answer.status !== 200) throw this.failure(answer, what);
      if (!Array.isArray(answer.body))
        throw new LedgerError(`${this.where()}: ${what}: GitHub's answer is not a list`, 'corrupt');
      yield answer.body as unknown[];
      url = this.nextPage(answer);
    }
  }

  /** The verify entries recorded as statuses of one of our deployments. */
  private async verifiesOf(d: KilnDeployment, call: LedgerCall): Promise<LedgerEntry[]> {
    const what = `reading the statuses of deployment #${d.id} (${d.entry.id})`;
    const out: LedgerEntry[] = [];
    let url: string | undefined = this.url(`/deployments/${d.id}/statuses?per_page=${PER_PAGE}`);
    for (let page = 0; url !== undefined && page < MAX_STATUS_PAGES; page++) {
      const answer = await this.send('GET', url, what, call);
      if (answer.status !== 200) throw this.failure(answer, what);
      if (!Array.isArray(answer.body))
        throw new LedgerError(`${this.where()}: ${what}: GitHub's answer is not a list`, 'corrupt');
      for (const s of answer.body as RawStatus[]) {
        if (typeof s?.description !== 'string' || !s.description.startsWith(VERIFY_PREFIX)) continue;
        const e = decodeVerify(s, d.entry);
        if (e) out.push(e);
        else if (typeof s.id === 'number' && !this.warnedStatuses.has(s.id)) {
          this.warnedStatuses.add(s.id);
          this.log.warning(
            `${this.where()}: skipped status #${s.id} of deployment #${d.id}: it reads "kiln verify" but is not a verify entry Kiln wrote`,
          );
        }
      }
      url = this.nextPage(answer);
    }
    return out;
  }

  /** `Link: <…>; rel="next"`, when it stays on the API's origin (the token goes with it). */
  private nextPage(answer: Answer): string | undefined {
    const next = parseLink(answer.header('link')).next;
    if (next === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(next, this.base);
    } catch {
      return undefined;
    }
    if (url.origin !== this.base.origin) {
      this.log.warning(
        `${this.where()}: GitHub's next page is on another host (${url.host}); not following it with the token`,
      );
      return undefined;
    }
    return url.toString();
  }

  // -------------------------------------------------------------------------------------------------------
  // HTTP

  private url(path: string): string {
    return `${this.base.toString().replace(/\/+$/, '')}${this.repoPath}${path}`;
  }

  private where(): string {
    return `GitHub ledger ${this.location}`;
  }

  /** One request, rate limits waited out; transport failures as LedgerError. */
  private async send(
    method: 'GET' | 'POST',
    url: string,
    what: string,
    call: LedgerCall,
    body?: unknown,
  ): Promise<Answer> {
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse;
      let text: string;
      try {
        res = await httpRequest(url, {
          method,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/vnd.github+json',
            'x-github-api-version': API_VERSION,
            ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
          },
          sensitiveHeaders: ['authorization'],
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          // A create retried after a 5xx that had worked is a duplicate: list shows an id once.
          retryUnsafe: true,
          deadline: call.deadline,
          signal: call.signal,
          maxBodyBytes: MAX_BODY_BYTES,
          logger: this.log,
          env: this.env,
        });
        text = await res.text();
      } catch (e) {
        throw this.transportError(e, what, call);
      }
      const answer: Answer = {
        status: res.status,
        header: (name) => res.header(name),
        body: parseJson(text),
        attempts: res.attempts,
      };
      const limited = rateLimit(answer);
      if (limited === undefined) return answer;
      const waitMs = limited.waitMs + Math.floor(Math.random() * 250);
      const fits =
        attempt < RATE_LIMIT_RETRIES &&
        limited.waitMs <= MAX_RATE_LIMIT_WAIT_MS &&
        (call.deadline === undefined || Date.now() + waitMs < call.deadline);
      const reset = limited.resetAt ? `; it resets at ${new Date(limited.resetAt).toISOString()}` : '';
      if (!fits)
        throw new LedgerError(
          `${this.where()}: ${what}: GitHub's ${limited.kind} rate limit answered HTTP ${answer.status} (${githubMessage(answer.body, this.token) || 'rate limited'})${reset}; waiting ${Math.ceil(limited.waitMs / 1000)}s ${limited.waitMs > MAX_RATE_LIMIT_WAIT_MS ? 'is too long' : 'does not fit the deadline'}`,
          'unreachable',
        );
      this.log.debug(
        `${method} ${url}: GitHub's ${limited.kind} rate limit (HTTP ${answer.status}); retry ${attempt + 1}/${RATE_LIMIT_RETRIES} in ${waitMs}ms`,
      );
      try {
        await sleep(waitMs, call.signal);
      } catch (e) {
        throw this.transportError(e, what, call);
      }
    }
  }

  private transportError(e: unknown, what: string, call: LedgerCall): unknown {
    if (e instanceof CancelledError || call.signal?.aborted) return e;
    if (e instanceof HttpError)
      return new LedgerError(
        redact(`${this.where()}: ${what}: ${e.message}`, this.token),
        e.code === 'KILN_BODY_TOO_LARGE' ? 'corrupt' : 'unreachable',
        { cause: e },
      );
    return e;
  }

  /** An answer that is not what the call wanted, as one line. */
  private failure(answer: Answer, what: string): LedgerError {
    const message = githubMessage(answer.body, this.token);
    const said = `HTTP ${answer.status}${message ? `: ${message}` : ''}`;
    const prefix = `${this.where()}: ${what}`;
    switch (answer.status) {
      case 401:
        return new LedgerError(
          `${prefix}: GitHub did not accept the token (${said}); ${PERMISSION_HINT}`,
          'denied',
        );
      case 403:
        return new LedgerError(`${prefix}: GitHub refused (${said}); ${PERMISSION_HINT}`, 'denied');
      case 404:
        return new LedgerError(
          `${prefix}: GitHub answered ${said}: the repository does not exist or the token cannot see it; ${PERMISSION_HINT}`,
          'denied',
        );
      case 409:
        return new LedgerError(`${prefix}: GitHub refused the deployment (${said})`, 'conflict');
      case 422:
        return new LedgerError(
          `${prefix}: GitHub refused the request (${said})`,
          /no ref found/i.test(message) ? 'not-found' : 'conflict',
        );
      default:
        return new LedgerError(
          `${prefix}: GitHub answered ${said}${answer.attempts > 1 ? ` after ${answer.attempts} attempts` : ''}`,
          answer.status >= 500 ? 'unreachable' : 'conflict',
        );
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Entries in payloads

/** Our deployment with its entry; 'other' for someone else's (another task); 'garbage' for a kiln task without a valid entry. */
function readDeployment(d: unknown): KilnDeployment | 'other' | 'garbage' {
  if (typeof d !== 'object' || d === null) return 'garbage';
  const { id, task, payload } = d as { id?: unknown; task?: unknown; payload?: unknown };
  if (typeof task !== 'string' || !task.startsWith(TASK_PREFIX)) return 'other';
  if (typeof id !== 'number') return 'garbage';
  let body = payload;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return 'garbage';
    }
  }
  if (typeof body !== 'object' || body === null) return 'garbage';
  const { kiln, entry: stored } = body as { kiln?: unknown; entry?: unknown };
  const entry = kiln === PAYLOAD_VERSION ? parseEntry(stored) : undefined;
  if (!entry || `${TASK_PREFIX}${entry.event}` !== task) return 'garbage';
  return { id, entry };
}

function describeEntry(v: unknown): string {
  if (typeof v !== 'object' || v === null) return typeof v;
  const { id, event } = v as { id?: unknown; event?: unknown };
  return `${typeof event === 'string' ? event : '?'} ${typeof id === 'string' ? id : '(no id)'}`;
}

/**
 * A deployment's (and its status's) description: the entry's, else what and where; at most 140 characters, and
 * never read as a verify status.
 */
function oneLine(entry: LedgerEntry): string {
  const text = entry.description ?? `${entry.event} ${entry.image}@${entry.digest}`;
  return cut(text.startsWith(VERIFY_PREFIX) ? `(${text})` : text, DESCRIPTION_MAX);
}

function cut(s: string, max: number): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

// ---------------------------------------------------------------------------------------------------------
// Verify entries in status descriptions

const VERIFY_PREFIX = 'kiln verify ';

function verifyState(entry: LedgerEntry): 'success' | 'failure' | 'error' {
  return entry.verdict === 'passed' ? 'success' : entry.verdict === 'failed' ? 'failure' : 'error';
}

function usualResult(verdict: Verdict): LedgerResult {
  return verdict === 'passed' ? 'success' : 'failure';
}

/** A token without spaces that does not end the machine part early (`: ` starts the description). */
const isToken = (s: string): boolean => /^\S+$/.test(s) && !s.endsWith(':') && !s.includes('=');

function packTime(time: string): string | undefined {
  const ms = Date.parse(time);
  if (Number.isNaN(ms) || ms < 0) return undefined;
  const iso = new Date(ms).toISOString();
  if (iso === time) return `t=${ms.toString(36)}`;
  if (ms % 1000 === 0 && iso.replace(/\.000Z$/, 'Z') === time) return `T=${(ms / 1000).toString(36)}`;
  return undefined;
}

function unpackTime(token: string): string | undefined {
  const m = /^([tT])=([0-9a-z]+)$/.exec(token);
  if (!m) return undefined;
  const n = parseInt(m[2] as string, 36);
  if (m[1] === 't') return new Date(n).toISOString();
  return new Date(n * 1000).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * The description that carries a verify entry on the status of `deployed`'s deployment, or undefined when the
 * status cannot carry it whole (it then becomes a deployment of its own).
 */
export function encodeVerify(v: LedgerEntry, deployed: LedgerEntry): string | undefined {
  if (v.event !== 'verify' || v.verdict === undefined) return undefined;
  if (v.image !== deployed.image || v.digest !== deployed.digest || v.environment !== deployed.environment)
    return undefined;
  if (!isToken(v.id) || (v.of !== undefined && v.of !== deployed.id && !isToken(v.of))) return undefined;
  if (v.runUrl !== undefined && !isWebUrl(v.runUrl)) return undefined;
  if (v.description !== undefined && (v.description === '' || v.description !== v.description.trim()))
    return undefined;
  if (v.description !== undefined && /[\r\n]/.test(v.description)) return undefined;
  const time = packTime(v.time);
  if (!time) return undefined;
  let letters = '';
  for (const [letter, field] of INHERITED) {
    if (v[field] === undefined) continue;
    if (!sameJson(v[field], deployed[field])) return undefined;
    letters += letter;
  }
  const tokens = [`${VERIFY_PREFIX}${v.id}`, v.verdict, time];
  if (v.result !== usualResult(v.verdict)) tokens.push(`r=${v.result}`);
  if (v.of !== undefined) tokens.push(v.of === deployed.id ? 'of' : `of=${v.of}`);
  if (letters) tokens.push(`+${letters}`);
  const text = tokens.join(' ') + (v.description !== undefined ? `: ${v.description}` : '');
  return text.length <= DESCRIPTION_MAX ? text : undefined;
}

/** The verify entry a status of `deployed`'s deployment carries, or undefined when it is not one of ours. */
export function decodeVerify(s: RawStatus, deployed: LedgerEntry): LedgerEntry | undefined {
  if (typeof s.description !== 'string' || !s.description.startsWith(VERIFY_PREFIX)) return undefined;
  const text = s.description.slice(VERIFY_PREFIX.length);
  const split = text.indexOf(': ');
  const head = split === -1 ? text : text.slice(0, split);
  const description = split === -1 ? undefined : text.slice(split + 2);
  const [id, verdict, ...tokens] = head.split(' ');
  if (!id || !VERDICTS.includes(verdict as Verdict)) return undefined;
  let time: string | undefined;
  let result = usualResult(verdict as Verdict);
  let of: string | undefined;
  const inherited: Partial<LedgerEntry> = {};
  for (const token of tokens) {
    if (/^[tT]=/.test(token)) time = unpackTime(token);
    else if (token.startsWith('r=')) {
      const r = token.slice(2) as LedgerResult;
      if (!RESULTS.includes(r)) return undefined;
      result = r;
    } else if (token === 'of') of = deployed.id;
    else if (token.startsWith('of=')) of = token.slice(3);
    else if (token.startsWith('+')) {
      for (const letter of token.slice(1)) {
        const field = INHERITED.find(([l]) => l === letter)?.[1];
        if (!field) return undefined;
        Object.assign(inherited, { [field]: deployed[field] });
      }
    } else return undefined;
  }
  if (time === undefined) return undefined;
  const logUrl = typeof s.log_url === 'string' && s.log_url ? s.log_url : undefined;
  return parseEntry({
    id,
    event: 'verify',
    environment: deployed.environment,
    time,
    image: deployed.image,
    digest: deployed.digest,
    ...inherited,
    ...(logUrl !== undefined ? { runUrl: logUrl } : {}),
    result,
    verdict: verdict as Verdict,
    ...(of !== undefined ? { of } : {}),
    ...(description !== undefined ? { description } : {}),
  });
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function isWebUrl(s: string | undefined): s is string {
  if (!s) return false;
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Helpers

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** GitHub's `message` (and validation errors), on one line, without the token. */
function githubMessage(body: unknown, token: string): string {
  let text = '';
  if (typeof body === 'object' && body !== null) {
    const { message, errors } = body as { message?: unknown; errors?: unknown };
    if (typeof message === 'string') text = message;
    if (Array.isArray(errors)) {
      const details = errors
        .map((e: unknown) =>
          typeof e === 'string'
            ? e
            : typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string'
              ? (e as { message: string }).message
              : '',
        )
        .filter(Boolean);
      if (details.length > 0) text += `: ${details.join('; ')}`;
    }
  } else if (typeof body === 'string') text = body;
  return cut(redact(text, token).replace(/\p{Cc}/gu, ' '), 200);
}

function redact(text: string, token: string): string {
  return token ? text.split(token).join('***') : text;
}

/** RFC 8288 `Link` → rel → URL. */
export function parseLink(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*((?:;\s*[^;]+)*)$/.exec(part);
    if (!m) continue;
    const rel = /;\s*rel="?([^";]+)"?/i.exec(m[2] ?? '');
    if (!rel) continue;
    for (const r of (rel[1] as string).trim().split(/\s+/)) out[r.toLowerCase()] ??= m[1] as string;
  }
  return out;
}

/**
 * Waits a 403/429 asks for: `retry-after` (a secondary rate limit), else the reset of an exhausted primary
 * limit, else a minute (GitHub's advice for a secondary limit without either).
 */
function rateLimit(
  answer: Answer,
): { waitMs: number; resetAt?: number; kind: 'primary' | 'secondary' } | undefined {
  if (answer.status !== 403 && answer.status !== 429) return undefined;
  const retryAfter = parseRetryAfter(answer.header('retry-after'));
  if (retryAfter !== undefined) return { waitMs: retryAfter, kind: 'secondary' };
  const remaining = answer.header('x-ratelimit-remaining');
  const reset = Number(answer.header('x-ratelimit-reset'));
  if (remaining === '0' && Number.isFinite(reset) && reset > 0)
    return { waitMs: Math.max(0, reset * 1000 - Date.now()), resetAt: reset * 1000, kind: 'primary' };
  const message =
    typeof answer.body === 'object' && answer.body !== null
      ? (answer.body as { message?: unknown }).message
      : undefined;
  if (answer.status === 429 || (typeof message === 'string' && /rate limit/i.test(message)))
    return { waitMs: 60_000, kind: 'secondary' };
  return undefined;
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
