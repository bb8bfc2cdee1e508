/**
 * A stateful, in-process fake of GitHub's REST deployments API (version 2022-11-28), faithful to the contract
 * GitHub documents and publishes (`@octokit/openapi`; test/sim/github-deployments.test.ts checks every answer's
 * shape against it): create, list, get deployments; create and list deployment statuses.
 *
 * - Create: `ref` required (422 "\"ref\" wasn't supplied."; with `refs` given, an unknown ref is 422 "No ref found
 *   for: …", else any non-empty ref is accepted and a 40-hex ref is its own sha); `task` default `deploy`;
 *   `environment` default `production`; `payload` an object or a string, returned as given (a JSON string stays a
 *   string, as GitHub does: go-github#1119), `{}` when absent; `transient_environment` default false,
 *   `production_environment` default true only for `production`; `auto_merge` (default true) answers 202 for a
 *   ref listed in `refsBehindDefault`; `required_contexts` (default: all) against `commitStatuses` gives 409.
 * - List: filters `sha, ref, task, environment`, newest first, `per_page` default 30 (at most 100), `page`, and an
 *   RFC 8288 `Link` (prev, next, last, first) on `/repositories/{id}/…` URLs as GitHub writes them (served too).
 * - Statuses: states error, failure, inactive, in_progress, queued, pending, success; description ≤ 140 (else 422
 *   Validation Failed); `log_url` and `target_url` set each other; `environment` (default: the previous status's,
 *   else the deployment's) also moves the deployment to it; `auto_inactive` (default true): a `success` status adds
 *   an `inactive` status to every prior non-transient, non-production deployment of the same environment whose
 *   latest state was `success` (GitHub's docs, "Inactive deployments"). Listed newest first, paginated the same way.
 * - Auth: `Authorization: Bearer|token <t>`; a wrong token is 401 "Bad credentials"; none is 401 "Requires
 *   authentication" for writes and 404 for reads (the repositories are private); `readOnlyToken` reads but gets
 *   403 "Resource not accessible by integration" on writes (a GITHUB_TOKEN without `deployments: write`); unknown
 *   repositories and deployments are 404. No User-Agent is 403, an unsupported X-GitHub-Api-Version is 400.
 * - Rate limit headers on every answer (`x-ratelimit-*`, resource core); `setRateLimit(0, reset)` makes requests
 *   403 "API rate limit exceeded" until `setRateLimit` again.
 * - Faults: `failNext(n, status, headers)` (5xx, a secondary-rate-limit 403/429 with `retry-after`, …) and
 *   `stallNext(n)` (accepted, never answered until close).
 * - `environmentJob()` creates what a job with `environment:` creates (actions/runner#2120): a `deploy` task with an
 *   empty payload and in_progress then success statuses.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StatusState = 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';
export const STATUS_STATES: readonly StatusState[] = [
  'error',
  'failure',
  'inactive',
  'in_progress',
  'queued',
  'pending',
  'success',
];

export interface GitHubDeploymentsSimOptions {
  /** The token that may read and write (default `ghs_kilnSimToken00000000000000000000`). */
  token?: string;
  /** A token that may read but not write (403 on POST). */
  readOnlyToken?: string;
  /** `owner/repo` (default `['kiln-dev/shop']`). */
  repositories?: string[];
  /** The API's path on the server: '' like api.github.com (default), `/api/v3` like GitHub Enterprise Server. */
  basePath?: string;
  /** Known refs → sha; when given, any other ref is 422 "No ref found". */
  refs?: Record<string, string>;
  /** Refs behind the default branch: `auto_merge` (default true) merges instead of deploying (202). */
  refsBehindDefault?: string[];
  /** Commit statuses per ref: context → state; `required_contexts` (default: all) must be `success`, else 409. */
  commitStatuses?: Record<string, Record<string, string>>;
  /** ms since the epoch (default Date.now). */
  clock?: () => number;
}

export interface SimUser {
  login: string;
  id: number;
  node_id: string;
  avatar_url: string;
  gravatar_id: string;
  url: string;
  html_url: string;
  followers_url: string;
  following_url: string;
  gists_url: string;
  starred_url: string;
  subscriptions_url: string;
  organizations_url: string;
  repos_url: string;
  events_url: string;
  received_events_url: string;
  type: string;
  site_admin: boolean;
  user_view_type: string;
}

export interface DeploymentJson {
  url: string;
  id: number;
  node_id: string;
  sha: string;
  ref: string;
  task: string;
  payload: Record<string, unknown> | string;
  original_environment: string;
  environment: string;
  description: string | null;
  creator: SimUser;
  created_at: string;
  updated_at: string;
  statuses_url: string;
  repository_url: string;
  transient_environment: boolean;
  production_environment: boolean;
  performed_via_github_app: Record<string, unknown> | null;
}

export interface DeploymentStatusJson {
  url: string;
  id: number;
  node_id: string;
  state: StatusState;
  creator: SimUser;
  description: string;
  environment: string;
  target_url: string;
  created_at: string;
  updated_at: string;
  deployment_url: string;
  repository_url: string;
  environment_url: string;
  log_url: string;
  performed_via_github_app: Record<string, unknown> | null;
}

export interface RecordedRequest {
  method: string;
  /** Without the query string (and without basePath). */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
  status: number;
}

interface Fault {
  status: number;
  headers: Record<string, string>;
  body: string;
  method?: string;
  path?: RegExp;
}

export interface GitHubDeploymentsSim {
  /** The API root to give clients (`http://127.0.0.1:<port>` + basePath). */
  url: string;
  token: string;
  requests: RecordedRequest[];
  /** A repository's deployments, newest first (copies). */
  deployments(repo?: string): DeploymentJson[];
  /** A deployment's statuses, newest first (copies). */
  statuses(deploymentId: number): DeploymentStatusJson[];
  /** Creates a deployment as the API would, without HTTP (seeding); throws on what the API refuses. */
  createDeployment(repo: string, body: Record<string, unknown>): DeploymentJson;
  createStatus(repo: string, deploymentId: number, body: Record<string, unknown>): DeploymentStatusJson;
  /** What a job with `environment:` leaves: a `deploy` deployment with `payload: {}`, then its statuses. */
  environmentJob(
    repo: string,
    o: { environment: string; ref: string; state?: StatusState; environmentUrl?: string },
  ): DeploymentJson;
  /** The next `n` requests (matching `method`/`path` when given) answer `status` with `headers` and a body. */
  failNext(
    n: number,
    status: number,
    headers?: Record<string, string>,
    o?: { body?: unknown; method?: string; path?: RegExp },
  ): void;
  /** The next `n` requests are read and never answered (until close). */
  stallNext(n: number): void;
  /** The primary rate limit: remaining requests and reset time (epoch seconds); 0 remaining → 403. */
  setRateLimit(remaining: number, resetEpochSeconds?: number): void;
  close(): Promise<void>;
}

const API_VERSIONS = new Set(['2022-11-28']);
const DOCS = 'https://docs.github.com/rest/deployments';
const DOC = {
  create: `${DOCS}/deployments#create-a-deployment`,
  list: `${DOCS}/deployments#list-deployments`,
  get: `${DOCS}/deployments#get-a-deployment`,
  createStatus: `${DOCS}/statuses#create-a-deployment-status`,
  listStatuses: `${DOCS}/statuses#list-deployment-statuses`,
};

/** Thrown inside handlers: answered as GitHub's error body. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly doc: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const iso = (ms: number): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
const nodeId = (text: string): string => Buffer.from(text).toString('base64');

function botUser(api: string): SimUser {
  const login = 'github-actions[bot]';
  const url = `${api}/users/${encodeURIComponent(login)}`;
  return {
    login,
    id: 41898282,
    node_id: 'MDM6Qm90NDE4OTgyODI=',
    avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
    gravatar_id: '',
    url,
    html_url: 'https://github.com/apps/github-actions',
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type: 'Bot',
    site_admin: false,
    user_view_type: 'public',
  };
}

function actionsApp(api: string): Record<string, unknown> {
  const url = `${api}/users/github`;
  return {
    id: 15368,
    client_id: 'Iv1.05c79e9ad1f6bdfa',
    slug: 'github-actions',
    node_id: 'MDM6QXBwMTUzNjg=',
    owner: {
      login: 'github',
      id: 9919,
      node_id: 'MDEyOk9yZ2FuaXphdGlvbjk5MTk=',
      avatar_url: 'https://avatars.githubusercontent.com/u/9919?v=4',
      gravatar_id: '',
      url,
      html_url: 'https://github.com/github',
      followers_url: `${url}/followers`,
      following_url: `${url}/following{/other_user}`,
      gists_url: `${url}/gists{/gist_id}`,
      starred_url: `${url}/starred{/owner}{/repo}`,
      subscriptions_url: `${url}/subscriptions`,
      organizations_url: `${url}/orgs`,
      repos_url: `${url}/repos`,
      events_url: `${url}/events{/privacy}`,
      received_events_url: `${url}/received_events`,
      type: 'Organization',
      site_admin: false,
      user_view_type: 'public',
    },
    name: 'GitHub Actions',
    description: 'Automate your workflow from idea to production',
    external_url: 'https://help.github.com/en/actions',
    html_url: 'https://github.com/apps/github-actions',
    created_at: '2018-07-30T09:30:17Z',
    updated_at: '2024-04-10T20:33:16Z',
    permissions: {
      actions: 'write',
      checks: 'write',
      contents: 'write',
      deployments: 'write',
      metadata: 'read',
      statuses: 'write',
    },
    events: ['check_run', 'check_suite', 'deployment', 'deployment_status', 'push', 'workflow_run'],
  };
}

interface Repo {
  id: number;
  fullName: string;
}

interface StoredDeployment {
  repo: Repo;
  json: DeploymentJson;
  statuses: DeploymentStatusJson[];
}

export async function startGitHubDeploymentsSim(
  options: GitHubDeploymentsSimOptions = {},
): Promise<GitHubDeploymentsSim> {
  const token = options.token ?? 'ghs_kilnSimToken00000000000000000000';
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  const clock = options.clock ?? Date.now;
  const repos = new Map<string, Repo>();
  (options.repositories ?? ['kiln-dev/shop']).forEach((name, i) =>
    repos.set(name.toLowerCase(), { id: 700_000_001 + i, fullName: name }),
  );
  const byRepoId = (id: number) => [...repos.values()].find((r) => r.id === id);
  const deployments: StoredDeployment[] = [];
  let nextDeploymentId = 1_000_000_001;
  let nextStatusId = 2_000_000_001;
  const faults: Fault[] = [];
  let stalls = 0;
  const stalled: ServerResponse[] = [];
  const requests: RecordedRequest[] = [];
  const rate = { limit: 5000, remaining: 5000, reset: Math.floor(clock() / 1000) + 3600 };
  let api = ''; // set once listening

  const repoUrl = (r: Repo) => `${api}/repos/${r.fullName}`;
  const find = (repo: Repo, id: number): StoredDeployment => {
    const d = deployments.find((x) => x.repo === repo && x.json.id === id);
    if (!d) throw new ApiError(404, 'Not Found', DOC.get);
    return d;
  };

  // ---------------------------------------------------------------------------------------------------------
  // The API's behaviour

  function createDeployment(repo: Repo, body: Record<string, unknown>): DeploymentJson | { merged: string } {
    const invalid = (message: string) => new ApiError(422, `Invalid request.\n\n${message}`, DOC.create);
    const typeIs = (field: string, type: 'string' | 'boolean') => {
      const v = body[field];
      if (v !== undefined && typeof v !== type)
        throw invalid(`For 'properties/${field}', ${JSON.stringify(v)} is not a ${type}.`);
    };
    if (body.ref === undefined) throw invalid('"ref" wasn\'t supplied.');
    for (const f of ['ref', 'task', 'environment']) typeIs(f, 'string');
    for (const f of ['auto_merge', 'transient_environment', 'production_environment']) typeIs(f, 'boolean');
    if (body.description !== undefined && body.description !== null) typeIs('description', 'string');
    const payload = body.payload;
    if (
      payload !== undefined &&
      typeof payload !== 'string' &&
      (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    )
      throw invalid(`For 'properties/payload', ${JSON.stringify(payload)} is not an object or string.`);
    const rc = body.required_contexts;
    if (rc !== undefined && (!Array.isArray(rc) || rc.some((c) => typeof c !== 'string')))
      throw invalid(`For 'properties/required_contexts', ${JSON.stringify(rc)} is not an array of strings.`);
    const ref = body.ref as string;
    let sha: string | undefined;
    if (options.refs) sha = options.refs[ref] ?? Object.values(options.refs).find((s) => s === ref);
    else if (ref !== '')
      sha = /^[0-9a-f]{40}$/.test(ref) ? ref : createHash('sha1').update(ref).digest('hex');
    if (!sha) throw new ApiError(422, `No ref found for: ${ref}`, DOC.create);
    const autoMerge = body.auto_merge !== false;
    if (autoMerge && options.refsBehindDefault?.includes(ref))
      return { merged: `Auto-merged main into ${ref} on deployment.` };
    const contexts = options.commitStatuses?.[ref] ?? {};
    const required = (rc as string[] | undefined) ?? Object.keys(contexts);
    const failing = required.filter((c) => contexts[c] !== 'success');
    if (failing.length > 0)
      throw new ApiError(409, `Conflict: Commit status checks failed for ${ref}.`, DOC.create, {
        errors: [
          {
            contexts: failing.map((c) => ({ context: c, state: contexts[c] ?? 'missing' })),
            resource: 'Deployment',
            field: 'required_contexts',
            code: 'invalid',
          },
        ],
      });
    const environment = (body.environment as string | undefined) ?? 'production';
    const id = nextDeploymentId++;
    const now = iso(clock());
    const url = `${repoUrl(repo)}/deployments/${id}`;
    const json: DeploymentJson = {
      url,
      id,
      node_id: nodeId(`010:Deployment${id}`),
      sha,
      ref,
      task: (body.task as string | undefined) ?? 'deploy',
      payload:
        payload === undefined
          ? {}
          : typeof payload === 'string'
            ? payload
            : (structuredClone(payload) as Record<string, unknown>),
      original_environment: environment,
      environment,
      description: body.description === undefined ? '' : (body.description as string | null),
      creator: botUser(api),
      created_at: now,
      updated_at: now,
      statuses_url: `${url}/statuses`,
      repository_url: repoUrl(repo),
      transient_environment: (body.transient_environment as boolean | undefined) ?? false,
      production_environment:
        (body.production_environment as boolean | undefined) ?? environment === 'production',
      performed_via_github_app: actionsApp(api),
    };
    deployments.push({ repo, json, statuses: [] });
    return structuredClone(json);
  }

  function createStatus(repo: Repo, id: number, body: Record<string, unknown>): DeploymentStatusJson {
    const d = find(repo, id);
    const invalid = (message: string) =>
      new ApiError(422, `Invalid request.\n\n${message}`, DOC.createStatus);
    if (body.state === undefined) throw invalid('"state" wasn\'t supplied.');
    if (!STATUS_STATES.includes(body.state as StatusState))
      throw invalid(
        `For 'properties/state', ${JSON.stringify(body.state)} is not one of [${STATUS_STATES.map((s) => JSON.stringify(s)).join(', ')}].`,
      );
    for (const f of ['target_url', 'log_url', 'description', 'environment', 'environment_url'])
      if (body[f] !== undefined && typeof body[f] !== 'string')
        throw invalid(`For 'properties/${f}', ${JSON.stringify(body[f])} is not a string.`);
    if (body.auto_inactive !== undefined && typeof body.auto_inactive !== 'boolean')
      throw invalid(
        `For 'properties/auto_inactive', ${JSON.stringify(body.auto_inactive)} is not a boolean.`,
      );
    const description = (body.description as string | undefined) ?? '';
    if (description.length > 140)
      throw new ApiError(422, 'Validation Failed', DOC.createStatus, {
        errors: [
          {
            resource: 'DeploymentStatus',
            code: 'custom',
            field: 'description',
            message: 'description is too long (maximum is 140 characters)',
          },
        ],
      });
    const state = body.state as StatusState;
    const environment =
      (body.environment as string | undefined) ?? d.statuses[0]?.environment ?? d.json.environment;
    const logUrl = (body.log_url as string | undefined) ?? (body.target_url as string | undefined) ?? '';
    const status = addStatus(d, {
      state,
      description,
      environment,
      log_url: logUrl,
      environment_url: (body.environment_url as string | undefined) ?? '',
    });
    d.json.environment = environment;
    if (state === 'success' && body.auto_inactive !== false) {
      for (const p of deployments) {
        if (p.repo !== repo || p.json.id >= d.json.id || p.json.environment !== environment) continue;
        if (p.json.transient_environment || p.json.production_environment) continue;
        if (p.statuses[0]?.state !== 'success') continue;
        addStatus(p, { state: 'inactive', description: '', environment, log_url: '', environment_url: '' });
      }
    }
    return status;
  }

  function addStatus(
    d: StoredDeployment,
    s: Pick<DeploymentStatusJson, 'state' | 'description' | 'environment' | 'log_url' | 'environment_url'>,
  ): DeploymentStatusJson {
    const id = nextStatusId++;
    const now = iso(clock());
    const json: DeploymentStatusJson = {
      url: `${d.json.url}/statuses/${id}`,
      id,
      node_id: nodeId(`016:DeploymentStatus${id}`),
      state: s.state,
      creator: botUser(api),
      description: s.description,
      environment: s.environment,
      target_url: s.log_url,
      created_at: now,
      updated_at: now,
      deployment_url: d.json.url,
      repository_url: d.json.repository_url,
      environment_url: s.environment_url,
      log_url: s.log_url,
      performed_via_github_app: actionsApp(api),
    };
    d.statuses.unshift(json);
    d.json.updated_at = now;
    return structuredClone(json);
  }

  function listDeployments(repo: Repo, q: URLSearchParams): StoredDeployment[] {
    const filter = (name: string) => {
      const v = q.get(name);
      return v === null || v === 'none' ? undefined : v;
    };
    const [sha, ref, task, environment] = ['sha', 'ref', 'task', 'environment'].map(filter);
    return deployments
      .filter(
        (d) =>
          d.repo === repo &&
          (sha === undefined || d.json.sha === sha) &&
          (ref === undefined || d.json.ref === ref) &&
          (task === undefined || d.json.task === task) &&
          (environment === undefined || d.json.environment === environment),
      )
      .sort((a, b) => b.json.id - a.json.id);
  }

  /** One page and GitHub's Link header (on /repositories/{id}/… URLs, the query kept, `page` last). */
  function paginate<T>(
    items: T[],
    q: URLSearchParams,
    repo: Repo,
    rest: string,
  ): { page: T[]; link?: string } {
    const n = Number(q.get('per_page') ?? '30');
    const perPage = Number.isInteger(n) && n >= 1 ? Math.min(n, 100) : 30;
    const p = Number(q.get('page') ?? '1');
    const page = Number.isInteger(p) && p >= 1 ? p : 1;
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const href = (to: number) => {
      const params = new URLSearchParams(q);
      params.delete('page');
      params.set('page', String(to));
      return `<${api}/repositories/${repo.id}${rest}?${params.toString()}>`;
    };
    const links: string[] = [];
    if (page > 1) links.push(`${href(Math.min(page - 1, last))}; rel="prev"`);
    if (page < last) links.push(`${href(page + 1)}; rel="next"`, `${href(last)}; rel="last"`);
    if (page > 1) links.push(`${href(1)}; rel="first"`);
    return { page: slice, ...(links.length > 0 ? { link: links.join(', ') } : {}) };
  }

  // ---------------------------------------------------------------------------------------------------------
  // HTTP

  function rateHeaders(): Record<string, string> {
    return {
      'x-ratelimit-limit': String(rate.limit),
      'x-ratelimit-remaining': String(Math.max(0, rate.remaining)),
      'x-ratelimit-reset': String(rate.reset),
      'x-ratelimit-used': String(rate.limit - Math.max(0, rate.remaining)),
      'x-ratelimit-resource': 'core',
    };
  }

  function send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
    raw = false,
  ): void {
    const text = raw ? String(body) : body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': raw ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
      'x-github-api-version-selected': '2022-11-28',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': `SIM:${requests.length}`,
      ...rateHeaders(),
      ...headers,
      'content-length': String(Buffer.byteLength(text)),
    });
    res.end(text);
  }

  function defaultFaultBody(status: number, headers: Record<string, string>): unknown {
    if ((status === 403 || status === 429) && headers['retry-after'] !== undefined)
      return {
        message:
          'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID SIM.',
        documentation_url:
          'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
        status: String(status),
      };
    if (status >= 500) return { message: 'Server Error', status: String(status) };
    return {
      message: `HTTP ${status}`,
      documentation_url: 'https://docs.github.com/rest',
      status: String(status),
    };
  }

  type Route =
    | { op: 'list' | 'create'; repo: Repo }
    | { op: 'get'; repo: Repo; id: number }
    | { op: 'listStatuses' | 'createStatus'; repo: Repo; id: number };

  function route(method: string, path: string): Route | 'unknown-repo' | undefined {
    const m =
      /^\/repos\/([^/]+)\/([^/]+)(\/deployments(?:\/(\d+)(\/statuses)?)?)$/.exec(path) ??
      /^\/repositories\/(\d+)()(\/deployments(?:\/(\d+)(\/statuses)?)?)$/.exec(path);
    if (!m) return undefined;
    const repo = path.startsWith('/repositories/')
      ? byRepoId(Number(m[1]))
      : repos.get(
          `${decodeURIComponent(m[1] as string)}/${decodeURIComponent(m[2] as string)}`.toLowerCase(),
        );
    const id = m[4] === undefined ? undefined : Number(m[4]);
    const statuses = m[5] !== undefined;
    let r: Route | undefined;
    if (repo === undefined) return 'unknown-repo';
    if (id === undefined)
      r = method === 'GET' ? { op: 'list', repo } : method === 'POST' ? { op: 'create', repo } : undefined;
    else if (!statuses) r = method === 'GET' ? { op: 'get', repo, id } : undefined;
    else
      r =
        method === 'GET'
          ? { op: 'listStatuses', repo, id }
          : method === 'POST'
            ? { op: 'createStatus', repo, id }
            : undefined;
    return r;
  }

  function handle(req: IncomingMessage, res: ServerResponse, body: string, record: RecordedRequest): void {
    const method = record.method;
    const fail = (e: ApiError) => {
      record.status = e.status;
      send(
        res,
        e.status,
        { message: e.message, ...e.extra, documentation_url: e.doc, status: String(e.status) },
        e.headers,
      );
    };
    const ok = (status: number, json: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      send(res, status, json, headers);
    };

    const fault = faults.findIndex(
      (f) =>
        (f.method === undefined || f.method === method) && (f.path === undefined || f.path.test(record.path)),
    );
    if (fault !== -1) {
      const f = faults.splice(fault, 1)[0] as Fault;
      record.status = f.status;
      send(res, f.status, f.body, f.headers, true);
      return;
    }
    if (!req.headers['user-agent']) {
      record.status = 403;
      send(
        res,
        403,
        'Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n',
        {},
        true,
      );
      return;
    }
    const version = req.headers['x-github-api-version'];
    if (typeof version === 'string' && !API_VERSIONS.has(version))
      return fail(
        new ApiError(
          400,
          `Unsupported 'X-GitHub-Api-Version': ${version}`,
          'https://docs.github.com/rest/overview/api-versions',
        ),
      );

    const auth = req.headers.authorization;
    const given = auth ? /^(?:bearer|token)\s+(\S+)$/i.exec(auth)?.[1] : undefined;
    if (auth !== undefined && given !== token && given !== options.readOnlyToken)
      return fail(new ApiError(401, 'Bad credentials', 'https://docs.github.com/rest'));
    if (given !== undefined) {
      if (rate.remaining <= 0)
        return fail(
          new ApiError(
            403,
            'API rate limit exceeded for installation ID 1. If you reach out to GitHub Support for help, please include the request ID SIM and timestamp.',
            'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
          ),
        );
      rate.remaining--;
    }

    const r = route(method, record.path);
    if (r === undefined || r === 'unknown-repo' || (given === undefined && method === 'GET'))
      return fail(new ApiError(404, 'Not Found', method === 'POST' ? DOC.create : DOC.list));
    if (given === undefined)
      return fail(new ApiError(401, 'Requires authentication', 'https://docs.github.com/rest'));
    if (method === 'POST' && given !== token)
      return fail(
        new ApiError(
          403,
          'Resource not accessible by integration',
          r.op === 'create' ? DOC.create : DOC.createStatus,
        ),
      );

    let json: Record<string, unknown> = {};
    if (method === 'POST') {
      try {
        const parsed: unknown = body ? JSON.parse(body) : {};
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          throw new Error('not an object');
        json = parsed as Record<string, unknown>;
      } catch {
        return fail(
          new ApiError(400, 'Problems parsing JSON', r.op === 'create' ? DOC.create : DOC.createStatus),
        );
      }
    }

    try {
      switch (r.op) {
        case 'list': {
          const { page, link } = paginate(
            listDeployments(r.repo, record.query),
            record.query,
            r.repo,
            '/deployments',
          );
          return ok(
            200,
            page.map((d) => d.json),
            link ? { link } : {},
          );
        }
        case 'create': {
          const created = createDeployment(r.repo, json);
          if ('merged' in created) return ok(202, { message: created.merged });
          return ok(201, created, { location: created.url });
        }
        case 'get':
          return ok(200, find(r.repo, r.id).json);
        case 'listStatuses': {
          const d = find(r.repo, r.id);
          const { page, link } = paginate(d.statuses, record.query, r.repo, `/deployments/${r.id}/statuses`);
          return ok(200, page, link ? { link } : {});
        }
        case 'createStatus': {
          const status = createStatus(r.repo, r.id, json);
          return ok(201, status, { location: status.url });
        }
      }
    } catch (e) {
      if (e instanceof ApiError) return fail(e);
      throw e;
    }
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const full = new URL(req.url ?? '/', 'http://sim');
      let path = full.pathname;
      if (basePath && path.startsWith(basePath)) path = path.slice(basePath.length) || '/';
      const record: RecordedRequest = {
        method: req.method ?? 'GET',
        path,
        query: full.searchParams,
        headers: req.headers,
        body,
        status: 0,
      };
      requests.push(record);
      if (stalls > 0) {
        stalls--;
        stalled.push(res);
        return;
      }
      try {
        handle(req, res, body, record);
      } catch (e) {
        record.status = 500;
        send(res, 500, { message: `sim: ${e instanceof Error ? e.message : String(e)}` });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  api = `http://127.0.0.1:${port}${basePath}`;

  const repoOf = (name: string): Repo => {
    const r = repos.get(name.toLowerCase());
    if (!r) throw new Error(`sim: no repository ${name}`);
    return r;
  };
  const defaultRepo = () => [...repos.values()][0] as Repo;

  return {
    url: api,
    token,
    requests,
    deployments: (repo) => {
      const r = repo ? repoOf(repo) : defaultRepo();
      return listDeployments(r, new URLSearchParams()).map((d) => structuredClone(d.json));
    },
    statuses: (id) => structuredClone(deployments.find((d) => d.json.id === id)?.statuses ?? []),
    createDeployment: (repo, body) => {
      const d = createDeployment(repoOf(repo), body);
      if ('merged' in d) throw new Error(`sim: ${d.merged}`);
      return d;
    },
    createStatus: (repo, id, body) => createStatus(repoOf(repo), id, body),
    environmentJob: (repo, o) => {
      const r = repoOf(repo);
      const d = createDeployment(r, {
        ref: o.ref,
        environment: o.environment,
        payload: {},
        required_contexts: [],
      });
      if ('merged' in d) throw new Error(`sim: ${d.merged}`);
      const job = `https://github.com/${r.fullName}/actions/runs/1/job/1`;
      createStatus(r, d.id, { state: 'in_progress', log_url: job, environment_url: o.environmentUrl ?? '' });
      createStatus(r, d.id, {
        state: o.state ?? 'success',
        log_url: job,
        environment_url: o.environmentUrl ?? '',
      });
      return structuredClone(find(r, d.id).json);
    },
    failNext: (n, status, headers = {}, o = {}) => {
      const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
      const body = o.body ?? defaultFaultBody(status, lower);
      for (let i = 0; i < n; i++)
        faults.push({
          status,
          headers: { 'content-type': 'application/json; charset=utf-8', ...lower },
          body: typeof body === 'string' ? body : JSON.stringify(body),
          method: o.method,
          path: o.path,
        });
    },
    stallNext: (n) => {
      stalls += n;
    },
    setRateLimit: (remaining, reset) => {
      rate.remaining = remaining;
      if (reset !== undefined) rate.reset = reset;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of stalled.splice(0)) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
