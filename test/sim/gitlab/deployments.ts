/**
 * A stateful fake of GitLab's Deployments API (doc/api/deployments.md; behaviour from lib/api/deployments.rb,
 * app/finders/deployments_finder.rb, app/models/deployment.rb, app/services/deployments/create_service.rb and the
 * API helpers), on node:http at 127.0.0.1 with an ephemeral port.
 *
 * - `POST /api/v4/projects/:id/deployments` (`environment`, `sha`, `ref`, `tag`, `status` all required; `status`
 *   one of running/success/failed/canceled) creates the environment when missing and answers 201 with the
 *   deployment (`deployable: null`). `ref` must be a branch, tag or commit of the project (400
 *   `{"message":{"ref":["The branch or tag does not exist"]}}`), `sha` a commit (400 `{"message":{"sha":["The commit
 *   does not exist"]}}`). As GitLab's CreateService does, a request equal to the environment's last successful
 *   deployment (same ref, tag, sha and status) returns that deployment instead of creating one.
 * - `PUT …/deployments/:deployment_id` moves the status through Deployment's state machine (400 `cannot transition
 *   via "succeed"` for success → success; 403 for deployments made by CI jobs). `DELETE` as GitLab (204; 400 for a
 *   running or the environment's current deployment).
 * - `GET …/deployments` with `environment`, `status`, `order_by` (`id`, `iid`, `created_at`, `updated_at`,
 *   `finished_at`: the current finder's list — `ref`, still in the doc, is refused with 400), `sort` (`asc`
 *   default), `updated_after/before` (need `order_by=updated_at`), `finished_after/before` (need
 *   `order_by=finished_at` and `status=success`), `page`/`per_page` (20 by default, at most 100, 0 refused) and the
 *   offset-pagination headers (`x-total`, `x-total-pages`, `x-page`, `x-per-page`, `x-next-page`, `x-prev-page`,
 *   `link`). `GET …/deployments/:deployment_id`.
 * - Errors in GitLab's two shapes: Grape's parameter errors `{"error":"sha is missing, status does not have a valid
 *   value"}` and the API's `{"message":"401 Unauthorized"}`, `{"message":"403 Forbidden"}`,
 *   `{"message":"404 Project Not Found"}`, `{"message":"404 Not found"}`, `{"message":{"field":["…"]}}`.
 * - Auth: `PRIVATE-TOKEN` (or `Authorization: Bearer`, or `private_token=`) for access tokens, `JOB-TOKEN` (or
 *   `job_token=`) for CI job tokens; unknown → 401. A token's user has a role: reading needs Reporter, writing
 *   Developer, a protected environment its own minimum. Access tokens need the `api` scope to write (`read_api`
 *   reads; otherwise 403 `insufficient_scope`). A job token acts in its own project; on another project that
 *   project's job token allowlist must name the job's project (else 403 "Authentication by CI/CD job token not
 *   allowed from …"), and an allowlist entry with fine-grained permissions must grant the route's
 *   (`read_deployments`, `admin_deployments`, `admin_environments`; else 403 "Insufficient permissions …").
 * - The project id is a number or the URL-encoded path (`group%2Fproject`); a raw slash matches no route.
 * - `failNext(n, status)` fails the next n requests (before auth); `{ stall: true }` never answers them,
 *   `{ afterEffect: true }` does the work and then answers with the failure (the answer is lost, as behind a
 *   failing proxy).
 *
 * Not modelled: pagination beyond offset pagination (keyset), approvals, merge requests of a deployment, moved
 * projects, rate limits, `finished_at` in the answer (GitLab does not expose it either).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Role = 'guest' | 'reporter' | 'developer' | 'maintainer' | 'owner';
const RANK: Record<Role, number> = { guest: 10, reporter: 20, developer: 30, maintainer: 40, owner: 50 };

export type DeploymentStatus =
  'created' | 'running' | 'success' | 'failed' | 'canceled' | 'skipped' | 'blocked';
const STATUSES: DeploymentStatus[] = [
  'created',
  'running',
  'success',
  'failed',
  'canceled',
  'skipped',
  'blocked',
];
const FINISHED: DeploymentStatus[] = ['success', 'failed', 'canceled'];
/** What the API lets a client set (create and update). */
const API_STATUSES = ['running', 'success', 'failed', 'canceled'];
/** DeploymentsFinder::ALLOWED_SORT_VALUES (current; `ref` was dropped, the doc still lists it). */
const ORDER_BY = ['id', 'iid', 'created_at', 'updated_at', 'finished_at'];

export interface SimProjectSpec {
  /** Default: 1, 2, … in the order given. */
  id?: number;
  /** The full path, `group/project`. */
  path: string;
  /** Branch name → commit. Default `{ main: <a commit> }`. */
  branches?: Record<string, string>;
  tags?: Record<string, string>;
  /** More commits of the repository (beyond branch and tag heads). */
  commits?: string[];
  /** Environment name → the lowest role allowed to deploy to it (protected environments). */
  protectedEnvironments?: Record<string, Role>;
  /** Other projects whose CI job tokens may use this one; `policies` when the entry has fine-grained permissions. */
  jobTokenAllowlist?: Array<{ project: number | string; policies?: string[] }>;
  /** Set on environments created here (`external_url`); default null. */
  externalUrls?: Record<string, string>;
}

export interface SimTokenSpec {
  /** `private`: personal, project or group access token (PRIVATE-TOKEN / Bearer); `job`: CI_JOB_TOKEN (JOB-TOKEN). */
  kind: 'private' | 'job';
  /** The token's user (a job token's: who runs the pipeline). Default `root`-like names from the token's key. */
  username?: string;
  name?: string;
  /** The user's role in every project it is a member of (default developer). */
  role?: Role;
  /** Projects (ids or paths) the user is a member of; default all. */
  projects?: Array<number | string>;
  /** Access tokens: default `['api']`. */
  scopes?: string[];
  /** Job tokens: the project whose job holds the token (id or path); default the first project. */
  project?: number | string;
}

export interface GitLabSimOptions {
  /** Default one project: `{ id: 1, path: 'group/project' }`. */
  projects?: SimProjectSpec[];
  /** Token value → what it is. */
  tokens?: Record<string, SimTokenSpec>;
  /** The clock (ms since the epoch) for created_at/updated_at/finished_at; default Date.now. */
  now?: () => number;
}

export interface SimRequest {
  method: string;
  /** Path without the query, as sent (still encoded). */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface FailOptions {
  /** Only requests with this method. */
  method?: string;
  /** Hold the request open, never answering (until `close`). */
  stall?: boolean;
  /** Handle the request (its effect happens), then answer with the failure instead. */
  afterEffect?: boolean;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface GitLabSim {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `<url>/api/v4`, as CI_API_V4_URL. */
  apiUrl: string;
  requests: SimRequest[];
  /** The project's deployments as the API shows them, by id ascending (default: the first project). */
  deployments(project?: number | string): JsonObject[];
  /** The project's environments (default: the first project). */
  environments(project?: number | string): JsonObject[];
  /** A deployment made by a CI job (`environment:` in .gitlab-ci.yml): it has a deployable; the API cannot update it. */
  addJobDeployment(d: {
    project?: number | string;
    environment: string;
    status: DeploymentStatus;
    sha?: string;
    ref?: string;
    jobName?: string;
    username?: string;
  }): JsonObject;
  /** The next `count` requests (matching `opts.method`) fail with `status` (default 500). */
  failNext(count: number, status?: number, opts?: FailOptions): void;
  close(): Promise<void>;
}

/** A commit id for a name: stable across runs. */
export function commitFor(name: string): string {
  return createHash('sha1').update(name).digest('hex');
}

interface Project {
  id: number;
  path: string;
  branches: Map<string, string>;
  tags: Map<string, string>;
  commits: Set<string>;
  protectedEnvironments: Map<string, Role>;
  allowlist: Array<{ project: number | string; policies?: string[] }>;
  externalUrls: Map<string, string>;
  nextIid: number;
}

interface User {
  id: number;
  username: string;
  name: string;
}

interface Environment {
  id: number;
  projectId: number;
  name: string;
  slug: string;
  externalUrl: string | null;
  createdAt: number;
  updatedAt: number;
}

interface Deployment {
  id: number;
  iid: number;
  projectId: number;
  environmentId: number;
  ref: string;
  sha: string;
  tag: boolean;
  status: DeploymentStatus;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  user: User;
  deployable: JsonObject | null;
}

interface Caller {
  token: string;
  spec: SimTokenSpec;
  user: User;
}

/** An answer: status, JSON body (undefined: none), extra headers. */
interface Answer {
  status: number;
  body?: Json;
  headers?: Record<string, string>;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: Json,
  ) {
    super(JSON.stringify(body));
  }
}

const message = (status: number, text: string): ApiError => new ApiError(status, { message: text });
const unauthorized = (): ApiError => message(401, '401 Unauthorized');
const forbidden = (reason?: string): ApiError =>
  message(403, reason ? `403 Forbidden - ${reason}` : '403 Forbidden');
const badRequest = (reason: string): ApiError => message(400, `400 Bad request - ${reason}`);
/** Grape's parameter errors, joined as GitLab shows them. */
const paramErrors = (errors: string[]): ApiError => new ApiError(400, { error: errors.join(', ') });
const validation = (errors: Record<string, string[]>): ApiError => new ApiError(400, { message: errors });

const iso = (ms: number): string => new Date(ms).toISOString();

/** Ruby's Array#to_sentence. */
function toSentence(words: string[]): string {
  if (words.length <= 1) return words.join('');
  if (words.length === 2) return `${words[0]} and ${words[1]}`;
  return `${words.slice(0, -1).join(', ')}, and ${words[words.length - 1]}`;
}

/** Gitlab::Regex.environment_name_regex and its message. */
const ENVIRONMENT_NAME = /^[a-zA-Z0-9_\\/${}. -]+$/;
const ENVIRONMENT_NAME_MESSAGE =
  "can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', and spaces, but it cannot start or end with '/'";

/** Gitlab::Slug::Environment. */
export function environmentSlug(name: string): string {
  let slug = name.toLowerCase().replace(/[^a-z0-9]/g, '-');
  if (!/^[a-z]/.test(slug)) slug = `env-${slug}`;
  slug = slug.replace(/-+/g, '-');
  if (slug.length > 24 || slug !== name) {
    const suffix = BigInt(`0x${createHash('sha256').update(name).digest('hex')}`)
      .toString(36)
      .slice(-6);
    slug = slug.slice(0, 17);
    if (!slug.endsWith('-')) slug += '-';
    return slug + suffix;
  }
  return slug.replace(/-$/, '');
}

// ----- parameter coercion, as Grape (dry-types Params) does it: an empty string is no value for other types -----

type Raw = Json | undefined;

function coerceString(v: Raw): string | undefined | null {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null; // invalid
}

function coerceInteger(v: Raw): number | undefined | null {
  if (v === undefined || v === '') return undefined;
  if (typeof v === 'number') return Number.isInteger(v) ? v : null;
  if (typeof v === 'string' && /^[+-]?\d+$/.test(v.trim())) return Number(v.trim());
  return null;
}

function coerceBoolean(v: Raw): boolean | undefined | null {
  if (v === undefined || v === '') return undefined;
  if (typeof v === 'boolean') return v;
  const s = String(v).trim().toLowerCase();
  if (['true', '1', 'on', 't', 'y', 'yes'].includes(s)) return true;
  if (['false', '0', 'off', 'f', 'n', 'no'].includes(s)) return false;
  return null;
}

/** Ruby's DateTime.parse is lenient; a date-time without a zone is UTC. */
function coerceDateTime(v: Raw): number | undefined | null {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || !/\d/.test(v)) return null;
  const s = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(v.trim()) ? `${v.trim()}Z` : v.trim();
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

/** Declared parameters, checked in order; each collects at most one error, as Grape does. */
class Params {
  readonly errors: string[] = [];
  constructor(private readonly raw: Record<string, Json>) {}

  private value(name: string): Raw {
    return Object.prototype.hasOwnProperty.call(this.raw, name) ? this.raw[name] : undefined;
  }

  string(name: string, o: { required?: boolean; values?: string[] } = {}): string | undefined {
    const v = coerceString(this.value(name));
    if (v === undefined) {
      if (o.required) this.errors.push(`${name} is missing`);
      return undefined;
    }
    if (v === null) {
      this.errors.push(`${name} is invalid`);
      return undefined;
    }
    if (o.values && !o.values.includes(v)) {
      this.errors.push(`${name} does not have a valid value`);
      return undefined;
    }
    return v;
  }

  integer(name: string, o: { required?: boolean; except?: number[] } = {}): number | undefined {
    const v = coerceInteger(this.value(name));
    if (v === undefined) {
      if (o.required) this.errors.push(`${name} is missing`);
      return undefined;
    }
    if (v === null) {
      this.errors.push(`${name} is invalid`);
      return undefined;
    }
    if (o.except?.includes(v)) {
      this.errors.push(`${name} has a value not allowed`);
      return undefined;
    }
    return v;
  }

  boolean(name: string, o: { required?: boolean } = {}): boolean | undefined {
    const v = coerceBoolean(this.value(name));
    if (v === undefined) {
      if (o.required) this.errors.push(`${name} is missing`);
      return undefined;
    }
    if (v === null) {
      this.errors.push(`${name} is invalid`);
      return undefined;
    }
    return v;
  }

  dateTime(name: string): number | undefined {
    const v = coerceDateTime(this.value(name));
    if (v === null) {
      this.errors.push(`${name} is invalid`);
      return undefined;
    }
    return v;
  }

  check(): void {
    if (this.errors.length > 0) throw paramErrors(this.errors);
  }
}

// ----- the server -----

export async function startGitLabSim(options: GitLabSimOptions = {}): Promise<GitLabSim> {
  const now = options.now ?? Date.now;
  const projects: Project[] = (options.projects ?? [{ path: 'group/project' }]).map((p, i) => {
    const branches = new Map(Object.entries(p.branches ?? { main: commitFor(`${p.path}:main`) }));
    const tags = new Map(Object.entries(p.tags ?? {}));
    return {
      id: p.id ?? i + 1,
      path: p.path,
      branches,
      tags,
      commits: new Set([...(p.commits ?? []), ...branches.values(), ...tags.values()]),
      protectedEnvironments: new Map(Object.entries(p.protectedEnvironments ?? {})),
      allowlist: p.jobTokenAllowlist ?? [],
      externalUrls: new Map(Object.entries(p.externalUrls ?? {})),
      nextIid: 1,
    };
  });
  const tokens = new Map(Object.entries(options.tokens ?? {}));
  const users = new Map<string, User>();
  const environments: Environment[] = [];
  const deployments: Deployment[] = [];
  const requests: SimRequest[] = [];
  const failures: Array<{ status: number } & FailOptions> = [];
  const stalled = new Set<ServerResponse>();
  let nextDeploymentId = 1;
  let nextEnvironmentId = 1;
  let nextJobId = 1000;
  let baseUrl = '';

  const userFor = (username: string, name?: string): User => {
    let u = users.get(username);
    if (!u) {
      u = { id: users.size + 1, username, name: name ?? username };
      users.set(username, u);
    }
    return u;
  };

  const findProject = (ref: number | string): Project | undefined => {
    const s = String(ref);
    if (/^\d+$/.test(s)) return projects.find((p) => p.id === Number(s));
    return projects.find((p) => p.path.toLowerCase() === s.toLowerCase());
  };
  const projectOrFirst = (ref: number | string | undefined): Project => {
    const p = ref === undefined ? projects[0] : findProject(ref);
    if (!p) throw new Error(`gitlab sim: no project ${String(ref)}`);
    return p;
  };
  const lastSegment = (p: Project): string => p.path.split('/').pop() ?? p.path;

  const userJson = (u: User): JsonObject => ({
    id: u.id,
    username: u.username,
    name: u.name,
    state: 'active',
    locked: false,
    avatar_url: `https://www.gravatar.com/avatar/${createHash('md5').update(u.username).digest('hex')}?s=80&d=identicon`,
    web_url: `${baseUrl}/${u.username}`,
  });

  const environmentJson = (e: Environment): JsonObject => ({
    id: e.id,
    name: e.name,
    slug: e.slug,
    external_url: e.externalUrl,
    created_at: iso(e.createdAt),
    updated_at: iso(e.updatedAt),
  });

  const deploymentJson = (d: Deployment): JsonObject => {
    const env = environments.find((e) => e.id === d.environmentId) as Environment;
    return {
      id: d.id,
      iid: d.iid,
      ref: d.ref,
      sha: d.sha,
      created_at: iso(d.createdAt),
      updated_at: iso(d.updatedAt),
      user: userJson(d.user),
      environment: environmentJson(env),
      deployable: d.deployable,
      status: d.status,
    };
  };

  /** Project#commit(ref): a branch, a tag, or a commit (full or an unambiguous prefix of 7+ hex digits). */
  const resolve = (p: Project, ref: string): string | undefined => {
    const branch = p.branches.get(ref) ?? p.tags.get(ref);
    if (branch) return branch;
    if (/^[0-9a-f]{40}$/i.test(ref)) return p.commits.has(ref.toLowerCase()) ? ref.toLowerCase() : undefined;
    if (/^[0-9a-f]{7,39}$/i.test(ref)) {
      const hits = [...p.commits].filter((c) => c.startsWith(ref.toLowerCase()));
      return hits.length === 1 ? hits[0] : undefined;
    }
    return undefined;
  };

  /** Environment#last_deployment: the newest successful one (by finished_at). */
  const lastDeployment = (env: Environment): Deployment | undefined =>
    deployments
      .filter((d) => d.environmentId === env.id && d.status === 'success')
      .sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0) || b.id - a.id)[0];

  /** Deployment's state machine; returns false for a transition it does not have. */
  const transition = (d: Deployment, to: DeploymentStatus): { ok: true } | { ok: false; event: string } => {
    const event: Record<DeploymentStatus, string> = {
      running: 'run',
      success: 'succeed',
      failed: 'drop',
      canceled: 'cancel',
      skipped: 'skip',
      blocked: 'block',
      created: 'create',
    };
    const allowed =
      to === 'running'
        ? d.status === 'created' || d.status === 'blocked'
        : to === 'blocked'
          ? d.status === 'created'
          : to === 'created'
            ? d.status === 'skipped'
            : d.status !== to;
    if (!allowed) return { ok: false, event: event[to] };
    const t = now();
    d.status = to;
    d.updatedAt = t;
    if (FINISHED.includes(to)) d.finishedAt = t;
    return { ok: true };
  };

  // ----- auth -----

  const authenticate = (req: IncomingMessage, query: URLSearchParams): Caller => {
    const h = req.headers;
    const bearer = /^Bearer\s+(.+)$/i.exec(String(h.authorization ?? ''))?.[1];
    const privateToken = (h['private-token'] as string | undefined) ?? query.get('private_token') ?? bearer;
    const jobToken = (h['job-token'] as string | undefined) ?? query.get('job_token') ?? undefined;
    const given = privateToken ?? jobToken;
    const kind = privateToken !== undefined ? 'private' : 'job';
    if (given === undefined || given === '') throw unauthorized();
    const spec = tokens.get(given);
    if (!spec || spec.kind !== kind) throw unauthorized();
    return { token: given, spec, user: userFor(spec.username ?? `user_${given.slice(0, 4)}`, spec.name) };
  };

  /** Access tokens: `api` for everything, `read_api` for reads (Gitlab::Auth scopes). */
  const checkScopes = (caller: Caller, write: boolean): void => {
    if (caller.spec.kind !== 'private') return;
    const scopes = caller.spec.scopes ?? ['api'];
    if (scopes.includes('api') || (!write && scopes.includes('read_api'))) return;
    throw new ApiError(403, {
      error: 'insufficient_scope',
      error_description: 'The request requires higher privileges than provided by the access token.',
      scope: write ? 'api' : 'api read_api',
    });
  };

  const roleIn = (caller: Caller, p: Project): Role | undefined => {
    const member =
      caller.spec.projects === undefined || caller.spec.projects.some((ref) => findProject(ref)?.id === p.id);
    return member ? (caller.spec.role ?? 'developer') : undefined;
  };

  /** find_project! with the job token's scope and its fine-grained permissions (route policies). */
  const userProject = (caller: Caller, idSegment: string, policies: string[]): { p: Project; role: Role } => {
    let id: string;
    try {
      id = decodeURIComponent(idSegment);
    } catch {
      throw message(404, '404 Project Not Found');
    }
    const p = findProject(id);
    const role = p ? roleIn(caller, p) : undefined;
    if (!p || !role) throw message(404, '404 Project Not Found');
    if (caller.spec.kind === 'job') {
      const source = projectOrFirst(caller.spec.project);
      if (source.id !== p.id) {
        const entry = p.allowlist.find((a) => findProject(a.project)?.id === source.id);
        if (!entry)
          throw forbidden(
            `Authentication by CI/CD job token not allowed from ${lastSegment(source)} to ${lastSegment(p)}.`,
          );
        if (entry.policies && !policies.every((pol) => entry.policies?.includes(pol)))
          throw forbidden(
            `Insufficient permissions to access this resource in project ${lastSegment(p)}. ` +
              (policies.length === 1
                ? `The following token permission is required: ${policies[0]}.`
                : `The following token permissions are required: ${toSentence(policies)}.`),
          );
      }
    }
    return { p, role };
  };

  const authorize = (role: Role, least: Role): void => {
    if (RANK[role] < RANK[least]) throw forbidden();
  };

  const mayDeployTo = (p: Project, role: Role, environment: string): void => {
    const least = p.protectedEnvironments.get(environment);
    if (least && RANK[role] < RANK[least]) throw forbidden();
  };

  // ----- routes -----

  const list = (caller: Caller, idSegment: string, raw: Record<string, Json>, path: string): Answer => {
    checkScopes(caller, false);
    const ps = new Params(raw);
    const page = ps.integer('page') ?? 1;
    const perPage = ps.integer('per_page', { except: [0] }) ?? 20;
    const orderBy = ps.string('order_by', { values: ORDER_BY }) ?? 'id';
    const sort = ps.string('sort', { values: ['asc', 'desc'] }) ?? 'asc';
    const updatedAfter = ps.dateTime('updated_after');
    const updatedBefore = ps.dateTime('updated_before');
    const finishedAfter = ps.dateTime('finished_after');
    const finishedBefore = ps.dateTime('finished_before');
    const environment = ps.string('environment');
    const status = ps.string('status', { values: STATUSES }) as DeploymentStatus | undefined;
    ps.check();
    const { p, role } = userProject(caller, idSegment, ['read_deployments']);
    authorize(role, 'reporter');

    // DeploymentsFinder#validate!
    const byUpdated = updatedAfter !== undefined || updatedBefore !== undefined;
    const byFinished = finishedAfter !== undefined || finishedBefore !== undefined;
    const finishedStatus = status !== undefined && FINISHED.includes(status);
    if (byUpdated && byFinished)
      throw badRequest('Both `updated_at` filter and `finished_at` filter can not be specified');
    if (byUpdated && orderBy !== 'updated_at')
      throw badRequest('`updated_at` filter requires `updated_at` sort');
    if (byFinished && orderBy !== 'finished_at')
      throw badRequest('`finished_at` filter requires `finished_at` sort.');
    if (orderBy === 'finished_at' && !(byFinished || finishedStatus))
      throw badRequest(
        '`finished_at` sort requires `finished_at` filter or a filter with at least one of the finished statuses.',
      );
    if (byFinished && status !== 'success')
      throw badRequest('`finished_at` filter must be combined with `success` status filter.');
    // (`finished statuses and upcoming statuses must be separately queried` needs several statuses: the REST API
    // takes one.)

    const env =
      environment !== undefined && environment !== ''
        ? environments.find((e) => e.projectId === p.id && e.name === environment)
        : undefined;
    let items = deployments.filter((d) => d.projectId === p.id);
    if (updatedBefore !== undefined) items = items.filter((d) => d.updatedAt <= updatedBefore);
    if (updatedAfter !== undefined) items = items.filter((d) => d.updatedAt >= updatedAfter);
    if (finishedBefore !== undefined)
      items = items.filter((d) => d.finishedAt !== null && d.finishedAt < finishedBefore);
    if (finishedAfter !== undefined)
      items = items.filter((d) => d.finishedAt !== null && d.finishedAt >= finishedAfter);
    if (environment !== undefined && environment !== '')
      items = env ? items.filter((d) => d.environmentId === env.id) : [];
    if (status !== undefined) items = items.filter((d) => d.status === status);

    // DeploymentsFinder#optimize_sort_params!: created_at and iid sort as id; updated_at breaks ties by id in the
    // same direction; finished_at (PostgreSQL: NULLs last ascending, first descending) by id here, for a stable
    // order.
    const dir = sort === 'desc' ? -1 : 1;
    const key = byUpdated ? 'updated_at' : orderBy === 'created_at' || orderBy === 'iid' ? 'id' : orderBy;
    const nullsHigh = (v: number | null): number => (v === null ? Number.POSITIVE_INFINITY : v);
    items.sort((a, b) => {
      let c = 0;
      if (key === 'updated_at') c = a.updatedAt - b.updatedAt;
      else if (key === 'finished_at') {
        const x = nullsHigh(a.finishedAt);
        const y = nullsHigh(b.finishedAt);
        c = x === y ? 0 : x < y ? -1 : 1;
      }
      return dir * (c || a.id - b.id);
    });

    // Kaminari: page < 1 is page 1; per_page < 0 is the default; at most 100.
    const limit = perPage < 0 ? 20 : Math.min(perPage, 100);
    const current = Math.max(page, 1);
    const total = items.length;
    const totalPages = Math.max(Math.ceil(total / limit), 1);
    const slice = items.slice((current - 1) * limit, current * limit);
    const outOfRange = current > Math.ceil(total / limit);
    const next = !outOfRange && current < Math.ceil(total / limit) ? current + 1 : undefined;
    const prev = !outOfRange && current > 1 ? current - 1 : undefined;
    const href = (n: number): string => {
      const q = Object.fromEntries(
        Object.entries(raw).map(([k, v]) => [k, typeof v === 'string' ? v : String(v)]),
      );
      q['page'] = String(n);
      q['per_page'] = String(limit);
      const sorted = Object.keys(q)
        .sort()
        .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(q[k] as string)}`)
        .join('&');
      return `${baseUrl}${path}?${sorted}`;
    };
    const links = [
      ...(prev !== undefined ? [`<${href(prev)}>; rel="prev"`] : []),
      ...(next !== undefined ? [`<${href(next)}>; rel="next"`] : []),
      `<${href(1)}>; rel="first"`,
      ...(total <= 10_000 ? [`<${href(totalPages)}>; rel="last"`] : []),
    ];
    const headers: Record<string, string> = {
      'x-per-page': String(limit),
      'x-page': String(current),
      'x-next-page': next === undefined ? '' : String(next),
      'x-prev-page': prev === undefined ? '' : String(prev),
      link: links.join(', '),
    };
    // Above 10,000 records GitLab does not count them.
    if (total <= 10_000) {
      headers['x-total'] = String(total);
      headers['x-total-pages'] = String(totalPages);
    }
    return { status: 200, body: slice.map(deploymentJson), headers };
  };

  const deploymentId = (raw: Record<string, Json>, idSegment: string): number => {
    const ps = new Params({ ...raw, deployment_id: idSegment });
    const id = ps.integer('deployment_id', { required: true });
    ps.check();
    return id as number;
  };

  const findDeployment = (p: Project, id: number): Deployment => {
    const d = deployments.find((x) => x.projectId === p.id && x.id === id);
    if (!d) throw message(404, '404 Not found');
    return d;
  };

  const getOne = (
    caller: Caller,
    idSegment: string,
    depSegment: string,
    raw: Record<string, Json>,
  ): Answer => {
    checkScopes(caller, false);
    const id = deploymentId(raw, depSegment);
    const { p, role } = userProject(caller, idSegment, ['read_deployments']);
    authorize(role, 'reporter');
    return { status: 200, body: deploymentJson(findDeployment(p, id)) };
  };

  const create = (caller: Caller, idSegment: string, raw: Record<string, Json>): Answer => {
    checkScopes(caller, true);
    const ps = new Params(raw);
    const environment = ps.string('environment', { required: true });
    const sha = ps.string('sha', { required: true });
    const ref = ps.string('ref', { required: true });
    const tag = ps.boolean('tag', { required: true });
    const status = ps.string('status', { required: true, values: API_STATUSES }) as DeploymentStatus;
    ps.check();
    const { p, role } = userProject(caller, idSegment, ['admin_deployments', 'admin_environments']);
    // create_deployment and create_environment
    authorize(role, 'developer');
    if (!resolve(p, ref as string)) throw validation({ ref: ['The branch or tag does not exist'] });

    // Environment.find_or_create_by_name
    const name = environment as string;
    let env = environments.find((e) => e.projectId === p.id && e.name === name);
    if (!env) {
      const errors: string[] = [];
      if (name.trim() === '') errors.push("can't be blank");
      if (name.length > 255) errors.push('is too long (maximum is 255 characters)');
      if (name !== '' && (!ENVIRONMENT_NAME.test(name) || name.startsWith('/') || name.endsWith('/')))
        errors.push(ENVIRONMENT_NAME_MESSAGE);
      if (errors.length > 0) throw validation({ name: errors });
      const t = now();
      env = {
        id: nextEnvironmentId++,
        projectId: p.id,
        name,
        slug: environmentSlug(name),
        externalUrl: p.externalUrls.get(name) ?? null,
        createdAt: t,
        updatedAt: t,
      };
      environments.push(env);
    }
    // create_deployment on the environment: protected environments.
    mayDeployTo(p, role, name);

    // Deployments::CreateService: the last successful deployment when the request equals it.
    const last = lastDeployment(env);
    if (last && last.ref === ref && last.tag === tag && last.sha === sha && last.status === status)
      return { status: 201, body: deploymentJson(last) };

    const errors: Record<string, string[]> = {};
    if ((sha as string).trim() === '') errors['sha'] = ["can't be blank"];
    else if (!/^[0-9a-f]{40}$/i.test(sha as string) || !p.commits.has((sha as string).toLowerCase()))
      errors['sha'] = ['The commit does not exist'];
    if (Object.keys(errors).length > 0) throw validation(errors);
    const t = now();
    const d: Deployment = {
      id: nextDeploymentId++,
      iid: p.nextIid++,
      projectId: p.id,
      environmentId: env.id,
      ref: ref as string,
      sha: sha as string,
      tag: tag as boolean,
      status: 'created',
      createdAt: t,
      updatedAt: t,
      finishedAt: null,
      user: caller.user,
      deployable: null,
    };
    transition(d, status);
    deployments.push(d);
    return { status: 201, body: deploymentJson(d) };
  };

  const update = (
    caller: Caller,
    idSegment: string,
    depSegment: string,
    raw: Record<string, Json>,
  ): Answer => {
    checkScopes(caller, true);
    const ps = new Params({ ...raw, deployment_id: depSegment });
    const id = ps.integer('deployment_id', { required: true }) as number;
    const status = ps.string('status', { required: true, values: API_STATUSES }) as DeploymentStatus;
    ps.check();
    const { p, role } = userProject(caller, idSegment, ['admin_deployments']);
    const d = findDeployment(p, id);
    authorize(role, 'developer');
    const env = environments.find((e) => e.id === d.environmentId) as Environment;
    mayDeployTo(p, role, env.name);
    if (d.deployable) throw forbidden('Deployments created using GitLab CI can not be updated using the API');
    const r = transition(d, status);
    if (!r.ok) throw validation({ status: [`cannot transition via "${r.event}"`] });
    return { status: 200, body: deploymentJson(d) };
  };

  const destroy = (
    caller: Caller,
    idSegment: string,
    depSegment: string,
    raw: Record<string, Json>,
  ): Answer => {
    checkScopes(caller, true);
    const id = deploymentId(raw, depSegment);
    const { p, role } = userProject(caller, idSegment, ['admin_deployments']);
    const d = findDeployment(p, id);
    authorize(role, 'maintainer');
    if (!FINISHED.includes(d.status)) throw message(400, 'Cannot destroy running deployment');
    const env = environments.find((e) => e.id === d.environmentId) as Environment;
    if (lastDeployment(env)?.id === d.id) throw message(400, 'Deployment currently deployed to environment');
    deployments.splice(deployments.indexOf(d), 1);
    return { status: 204 };
  };

  const route = (req: IncomingMessage, path: string, query: URLSearchParams, body: string): Answer => {
    const m = /^\/api\/v4\/projects\/([^/]+)\/deployments(?:\/([^/]+))?\/?$/.exec(path);
    if (!m) return { status: 404, body: { error: '404 Not Found' } };
    const method = req.method ?? 'GET';
    const allowed = m[2] === undefined ? ['GET', 'POST'] : ['GET', 'PUT', 'DELETE'];
    if (!allowed.includes(method)) return { status: 405, body: { error: '405 Not Allowed' } };
    // before { authenticate! }
    const caller = authenticate(req, query);
    const raw: Record<string, Json> = {};
    for (const [k, v] of query) if (k !== 'private_token' && k !== 'job_token') raw[k] = v;
    if (body.trim() !== '') {
      const type = String(req.headers['content-type'] ?? '').toLowerCase();
      if (type.includes('json')) {
        let parsed: Json;
        try {
          parsed = JSON.parse(body) as Json;
        } catch {
          return { status: 400, body: { error: 'message body does not match declared format' } };
        }
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
          Object.assign(raw, parsed);
      } else if (type.includes('x-www-form-urlencoded')) {
        for (const [k, v] of new URLSearchParams(body)) raw[k] = v;
      }
    }
    const idSegment = m[1] as string;
    if (m[2] === undefined)
      return method === 'GET' ? list(caller, idSegment, raw, path) : create(caller, idSegment, raw);
    if (method === 'GET') return getOne(caller, idSegment, m[2], raw);
    if (method === 'PUT') return update(caller, idSegment, m[2], raw);
    return destroy(caller, idSegment, m[2], raw);
  };

  const send = (res: ServerResponse, a: Answer): void => {
    const text = a.body === undefined ? '' : JSON.stringify(a.body);
    res.writeHead(a.status, {
      ...(a.body !== undefined ? { 'content-type': 'application/json' } : {}),
      'content-length': String(Buffer.byteLength(text)),
      'cache-control': 'max-age=0, private, must-revalidate',
      ...(a.headers ?? {}),
    });
    res.end(text);
  };

  const reason = (status: number): string =>
    ({
      500: 'Internal Server Error',
      502: 'Bad Gateway',
      503: 'Service Unavailable',
      504: 'Gateway Timeout',
    })[status] ?? 'Error';

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://sim');
      const path = (req.url ?? '/').split('?')[0] as string;
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({
        method: req.method ?? 'GET',
        path,
        query: url.searchParams,
        headers: req.headers,
        body,
      });
      const i = failures.findIndex((f) => f.method === undefined || f.method === req.method);
      const failure = i >= 0 ? failures.splice(i, 1)[0] : undefined;
      if (failure?.stall) {
        stalled.add(res);
        res.on('close', () => stalled.delete(res));
        return;
      }
      const failed: Answer | undefined = failure && {
        status: failure.status,
        body: { message: `${failure.status} ${reason(failure.status)}` },
      };
      if (failed && !failure?.afterEffect) return send(res, failed);
      let answer: Answer;
      try {
        answer = route(req, path, url.searchParams, body);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        answer = { status: e.status, body: e.body };
      }
      send(res, failed ?? answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;

  return {
    url: baseUrl,
    apiUrl: `${baseUrl}/api/v4`,
    requests,
    deployments: (project) =>
      deployments
        .filter((d) => d.projectId === projectOrFirst(project).id)
        .sort((a, b) => a.id - b.id)
        .map(deploymentJson),
    environments: (project) =>
      environments.filter((e) => e.projectId === projectOrFirst(project).id).map(environmentJson),
    addJobDeployment: (o) => {
      const p = projectOrFirst(o.project);
      const t = now();
      let env = environments.find((e) => e.projectId === p.id && e.name === o.environment);
      if (!env) {
        env = {
          id: nextEnvironmentId++,
          projectId: p.id,
          name: o.environment,
          slug: environmentSlug(o.environment),
          externalUrl: p.externalUrls.get(o.environment) ?? null,
          createdAt: t,
          updatedAt: t,
        };
        environments.push(env);
      }
      const ref = o.ref ?? [...p.branches.keys()][0] ?? 'main';
      const sha = o.sha ?? resolve(p, ref) ?? commitFor(ref);
      p.commits.add(sha);
      const user = userFor(o.username ?? 'root', o.username ? undefined : 'Administrator');
      const jobId = nextJobId++;
      const d: Deployment = {
        id: nextDeploymentId++,
        iid: p.nextIid++,
        projectId: p.id,
        environmentId: env.id,
        ref,
        sha,
        tag: p.tags.has(ref),
        status: 'created',
        createdAt: t,
        updatedAt: t,
        finishedAt: null,
        user,
        deployable: {
          id: jobId,
          status: o.status === 'blocked' ? 'manual' : o.status,
          stage: 'deploy',
          name: o.jobName ?? 'deploy',
          ref,
          tag: p.tags.has(ref),
          coverage: null,
          allow_failure: false,
          created_at: iso(t),
          started_at: iso(t),
          finished_at: FINISHED.includes(o.status) ? iso(t) : null,
          user: userJson(user),
          commit: { id: sha, short_id: sha.slice(0, 8), title: `Commit ${sha.slice(0, 8)}` },
          pipeline: {
            id: jobId + 5000,
            project_id: p.id,
            sha,
            ref,
            status: o.status,
            web_url: `${baseUrl}/${p.path}/-/pipelines/${jobId + 5000}`,
          },
          web_url: `${baseUrl}/${p.path}/-/jobs/${jobId}`,
          project: { ci_job_token_scope_enabled: false },
          artifacts: [],
          runner: null,
        },
      };
      if (o.status !== 'created') transition(d, o.status);
      deployments.push(d);
      return deploymentJson(d);
    },
    failNext: (count, status = 500, opts = {}) => {
      for (let i = 0; i < count; i++) failures.push({ status, ...opts });
    },
    close: () =>
      new Promise<void>((r) => {
        for (const res of stalled) res.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
