/**
 * The release ledger on GitLab: a composite. The Kiln entry — the digest and every other field — is stored by an
 * inner {@link LedgerBackend} (the registry ledger in production), and each deploy, rollback and promote is mirrored
 * as a GitLab deployment so the environment's page, its deployment history and GitLab's UI show it.
 *
 * Why the digest cannot live in GitLab:
 * - A GitLab deployment holds an environment, ref, sha, tag flag, status and user, and nothing else: there is no
 *   payload field (GitHub's deployments have one; GitLab's Deployments API has none), so nothing says which image
 *   digest a deployment put there.
 * - The usual workaround — a dotenv artifact (`artifacts:reports:dotenv`) of the deploy job, reached through the
 *   deployment's `deployable` — does not last: job artifacts expire (`expire_in`, or the instance default), a
 *   deployment created through the API has no deployable at all, and GitLab's own "Rollback environment" /
 *   "Re-deploy" re-runs the old deploy job, which fails when that job's artifacts have expired, when it was retried
 *   (the old job is superseded) or when its pipeline was archived.
 * So the truth must outlive artifacts: it is in the inner ledger (OCI artifacts refer to the released image and
 * live as long as it does), and GitLab only mirrors it. {@link GitLabLedger.list} reads the inner ledger only.
 *
 * The mirror (`POST /projects/:id/deployments`, doc/api/deployments.md):
 * - `environment`, `sha`, `ref`, `tag` and `status` are all required. `status` may be `running`, `success`,
 *   `failed` or `canceled` (`created`, `blocked` and `skipped` are refused with 400). An entry is written after the
 *   fact, so one request with its final status: `success` for success, `failed` for failure and rolled-back. The
 *   environment is created when missing.
 * - `sha` must be a commit of the project and `ref` a branch, tag or commit of it (GitLab answers 400 otherwise).
 *   A rollback shows the commit of the release it put back (the `to` entry's, read from the inner ledger): that is
 *   what runs afterwards, and what GitLab's environment page should name.
 * - verify entries are not mirrored: a deployment has no verdict, and a second deployment per verification would
 *   read as another deploy.
 * - A retried POST is safe: GitLab returns the environment's last successful deployment instead of creating one when
 *   ref, tag, sha and status are all equal; at worst a retried `failed` deployment shows twice. Retries follow the
 *   HTTP layer (5xx, 429, network errors; Retry-After), until the call's deadline.
 * - The mirror never fails the release (the inner ledger has the entry): a refusal or an unreachable GitLab leaves
 *   one warning per kind of failure naming the cause, e.g. for 403 the permissions the token lacks. Only a
 *   cancellation is passed on.
 *
 * Permissions (doc/ci/jobs/ci_job_token.md, fine_grained_permissions.md): `CI_JOB_TOKEN` may create deployments from
 * GitLab 16.2 with the access of the user who runs the pipeline — the Developer role or higher, and for a protected
 * environment a place under "Allowed to deploy". A job token used on another project also needs the project's job
 * token allowlist to grant the fine-grained permissions "Deployments: Read and write" and "Environments: Read and
 * write" (`ADMIN_DEPLOYMENTS`, `ADMIN_ENVIRONMENTS`). The alternative is a project access token with the `api` scope
 * and the Developer role, in a masked CI/CD variable (sent as `PRIVATE-TOKEN`).
 */
import { CancelledError, ConfigurationError, errorMessage } from '../errors.js';
import { httpRequest, type HttpResponse, type RetryPolicy } from '../http/http.js';
import { silentLogger } from '../platform/logger.js';
import type { Logger } from '../platform/types.js';
import { abortReason } from '../util/sleep.js';
import type { LedgerBackend, LedgerCall, LedgerEntry, LedgerResult } from './entry.js';

export interface GitLabLedgerOptions {
  /** GitLab's REST API root (`CI_API_V4_URL`), e.g. `https://gitlab.example.com/api/v4`. */
  apiUrl: string;
  /** The project: its id (`CI_PROJECT_ID`) or its path (`group/project`); encoded here. */
  projectId: string | number;
  token: string;
  /** `job`: `CI_JOB_TOKEN`, sent as `JOB-TOKEN`; `private`: a project, group or personal access token (`PRIVATE-TOKEN`). */
  tokenKind: 'job' | 'private';
  /** The ref the deployments name (`CI_COMMIT_REF_NAME`). */
  ref: string;
  /** The commit for entries that name none (`CI_COMMIT_SHA`). */
  sha: string;
  /** `ref` is a tag (`CI_COMMIT_TAG` set); default false. */
  tag?: boolean;
  /** Where the entries live (the truth). */
  inner: LedgerBackend;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** Per request attempt (default 30 s). */
  requestTimeoutMs?: number;
  /** Backoff between attempts (tests shorten it). */
  retry?: Partial<RetryPolicy>;
}

/** GitLab's deployment status for an entry's result. */
export const GITLAB_DEPLOYMENT_STATUS: Readonly<Record<LedgerResult, 'success' | 'failed'>> = {
  success: 'success',
  failure: 'failed',
  'rolled-back': 'failed',
};

/** What GitLab's deployment answer carries that Kiln logs. */
interface CreatedDeployment {
  id?: number;
  iid?: number;
  status?: string;
}

/** GitLab refused or failed: the status and its message, for one warning. */
class MirrorRefused extends Error {
  constructor(
    readonly status: number,
    readonly detail: string | undefined,
  ) {
    // GitLab's messages start with the status (`403 Forbidden`, `404 Project Not Found`).
    super(
      !detail
        ? `HTTP ${status}`
        : detail.startsWith(`${status} `)
          ? `HTTP ${detail}`
          : `HTTP ${status}: ${detail}`,
    );
  }
}

/** The most of a refusal's body that is read (an error page can be large). */
const ERROR_BODY_BYTES = 64 * 1024;
/** The most of a deployment answer that is read (one deployment is about 1 KB). */
const ANSWER_BYTES = 1024 * 1024;

export class GitLabLedger implements LedgerBackend {
  readonly kind = 'gitlab';
  readonly location: string;
  private readonly endpoint: string;
  private readonly header: 'JOB-TOKEN' | 'PRIVATE-TOKEN';
  private readonly log: Logger;
  /** Kinds of failure already warned about: later ones of the same kind go to the debug log. */
  private readonly warned = new Set<string>();

  constructor(private readonly o: GitLabLedgerOptions) {
    let api: URL;
    try {
      api = new URL(o.apiUrl);
    } catch {
      throw new ConfigurationError(
        `The GitLab API URL '${o.apiUrl}' is not a URL (expected CI_API_V4_URL, e.g. https://gitlab.example.com/api/v4).`,
      );
    }
    if (api.protocol !== 'https:' && api.protocol !== 'http:')
      throw new ConfigurationError(`The GitLab API URL must be http(s), not ${api.protocol}`);
    if (!o.token) throw new ConfigurationError('No GitLab token to record deployments with.');
    let project = String(o.projectId)
      .trim()
      .replace(/^\/+|\/+$/g, '');
    // A project path never contains '%': one that does was encoded already.
    if (project.includes('%')) {
      try {
        project = decodeURIComponent(project);
      } catch {
        throw new ConfigurationError(
          `The GitLab project '${String(o.projectId)}' is not a valid encoded path.`,
        );
      }
    }
    if (!project)
      throw new ConfigurationError('No GitLab project (CI_PROJECT_ID or a path) to record deployments in.');
    const root = `${api.origin}${api.pathname.replace(/\/+$/, '')}`;
    this.endpoint = `${root}/projects/${encodeURIComponent(project)}/deployments`;
    const site = `${api.host}${api.pathname.replace(/\/+$/, '').replace(/\/api\/v4$/, '')}`;
    this.location = `${site}/${project} + ${o.inner.location}`;
    this.header = o.tokenKind === 'job' ? 'JOB-TOKEN' : 'PRIVATE-TOKEN';
    this.log = o.logger ?? silentLogger;
  }

  /** Appends to the inner ledger (the truth), then mirrors deploys, rollbacks and promotes as GitLab deployments. */
  async append(entry: LedgerEntry, call: LedgerCall = {}): Promise<LedgerEntry> {
    const stored = await this.o.inner.append(entry, call);
    if (stored.event === 'verify') {
      this.log.debug(
        `Release ${stored.id}: verify entries are not mirrored to GitLab (a deployment has no verdict).`,
      );
      return stored;
    }
    try {
      await this.mirror(stored, call);
    } catch (e) {
      if (call.signal?.aborted) throw abortReason(call.signal);
      if (e instanceof CancelledError) throw e;
      this.warnOnce(stored, e);
    }
    return stored;
  }

  /** The environment's entries, from the inner ledger: GitLab's deployments hold no digests. */
  list(environment: string, call?: LedgerCall & { limit?: number }): Promise<LedgerEntry[]> {
    return this.o.inner.list(environment, call);
  }

  private async mirror(entry: LedgerEntry, call: LedgerCall): Promise<void> {
    const sha = await this.commitOf(entry, call);
    const status = GITLAB_DEPLOYMENT_STATUS[entry.result];
    const body = JSON.stringify({
      environment: entry.environment,
      sha,
      ref: this.o.ref,
      tag: this.o.tag ?? false,
      status,
    });
    const res = await httpRequest(this.endpoint, {
      method: 'POST',
      headers: {
        [this.header]: this.o.token,
        'content-type': 'application/json',
        accept: 'application/json',
      },
      sensitiveHeaders: [this.header],
      body,
      retryUnsafe: true,
      timeoutMs: this.o.requestTimeoutMs ?? 30_000,
      ...(this.o.retry ? { retry: this.o.retry } : {}),
      deadline: call.deadline,
      signal: call.signal,
      maxBodyBytes: ANSWER_BYTES,
      logger: this.o.logger,
      env: this.o.env,
    });
    if (res.status !== 201 && res.status !== 200)
      throw new MirrorRefused(res.status, await this.refusal(res));
    const created = this.parse(await res.text());
    this.log.debug(
      `GitLab deployment${created.id !== undefined ? ` ${created.id}` : ''}${created.iid !== undefined ? ` (#${created.iid})` : ''} of ${entry.environment}: ${created.status ?? status}, ${sha.slice(0, 12)} on ${this.o.ref} (release ${entry.id}).`,
    );
  }

  /**
   * The commit the deployment names: for a rollback, the commit of the release it put back (that is what runs
   * now); otherwise the entry's, else the pipeline's.
   */
  private async commitOf(entry: LedgerEntry, call: LedgerCall): Promise<string> {
    if (entry.event === 'rollback' && entry.to) {
      try {
        const target = (await this.o.inner.list(entry.environment, { ...call, limit: 100 })).find(
          (e) => e.id === entry.to,
        );
        if (target?.commit) return target.commit;
      } catch (e) {
        if (call.signal?.aborted) throw abortReason(call.signal);
        this.log.debug(`Release ${entry.to} not read from ${this.o.inner.location}: ${errorMessage(e)}`);
      }
    }
    return entry.commit || this.o.sha;
  }

  private parse(text: string): CreatedDeployment {
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v !== 'object' || v === null) return {};
      const d = v as Record<string, unknown>;
      return {
        id: typeof d['id'] === 'number' ? d['id'] : undefined,
        iid: typeof d['iid'] === 'number' ? d['iid'] : undefined,
        status: typeof d['status'] === 'string' ? d['status'] : undefined,
      };
    } catch {
      return {};
    }
  }

  /** GitLab's message: `{"message": "…"}`, `{"message": {"field": ["…"]}}` or `{"error": "…"}`; else the text. */
  private async refusal(res: HttpResponse): Promise<string | undefined> {
    let text: string;
    try {
      text = (await res.buffer({ truncateAt: ERROR_BODY_BYTES })).toString('utf8');
    } catch {
      return undefined;
    }
    let message: string | undefined;
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v === 'object' && v !== null) {
        const b = v as Record<string, unknown>;
        const m = b['message'] ?? b['error'];
        if (typeof m === 'string') message = m;
        else if (typeof m === 'object' && m !== null)
          message = Object.entries(m as Record<string, unknown>)
            .map(([k, msgs]) => `${k}: ${Array.isArray(msgs) ? msgs.map(String).join(', ') : String(msgs)}`)
            .join('; ');
        if (typeof b['error_description'] === 'string')
          message = `${message ?? ''} (${b['error_description']})`;
      }
    } catch {
      // Not JSON: an error page from a proxy; its first line.
      message = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1] ?? text.split('\n')[0];
    }
    const clean = message?.replace(/\s+/g, ' ').trim();
    if (!clean) return undefined;
    return clean.length > 300 ? `${clean.slice(0, 299)}…` : clean;
  }

  private warnOnce(entry: LedgerEntry, e: unknown): void {
    const status = e instanceof MirrorRefused ? e.status : undefined;
    const key = status === undefined ? 'transport' : String(status);
    const what = `The ${entry.event} of ${entry.environment} (release ${entry.id}) is recorded in ${this.o.inner.location}, but GitLab did not record it as a deployment`;
    const reason = this.scrub(e instanceof MirrorRefused ? e.message : errorMessage(e));
    const message = `${what} (${reason})${this.advice(status, entry.environment)}`;
    if (this.warned.has(key)) {
      this.log.debug(message);
      return;
    }
    this.warned.add(key);
    this.log.warning(message);
  }

  private advice(status: number | undefined, environment: string): string {
    const alternative =
      'or give Kiln a project access token with the `api` scope and the Developer role in a masked CI/CD variable (sent as PRIVATE-TOKEN)';
    switch (status) {
      case 401:
        return this.o.tokenKind === 'job'
          ? `: GitLab did not accept CI_JOB_TOKEN — it is valid only while its job runs, and the Deployments API accepts it from GitLab 16.2; ${alternative}.`
          : ': GitLab did not accept the access token — it may have expired or been revoked, or lack the `api` scope.';
      case 403:
        return this.o.tokenKind === 'job'
          ? `: the job token may not create deployments in this project. It acts as the user who runs the pipeline, who needs the Developer role or higher and, if ${environment} is a protected environment, a place under "Allowed to deploy"; used on another project, that project's CI/CD job token allowlist must grant the fine-grained permissions "Deployments: Read and write" and "Environments: Read and write"; ${alternative}.`
          : `: the access token may not create deployments here — it needs the \`api\` scope (\`read_api\` only reads), the Developer role or higher and, if ${environment} is a protected environment, a place under "Allowed to deploy".`;
      case 404:
        return `: check the project (${String(this.o.projectId)}) and that the token's user is a member of it.`;
      case 400:
        return ': GitLab refused the request (the commit and ref must exist in the project, the environment name be valid).';
      default:
        return '.';
    }
  }

  /**
   * A server's message never carries the token (a proxy could echo a header). Tokens shorter than 3 characters
   * are not searched for, as the platform's redactor does not (they would mangle every message).
   */
  private scrub(text: string): string {
    return this.o.token.length >= 3 ? text.split(this.o.token).join('***') : text;
  }
}
