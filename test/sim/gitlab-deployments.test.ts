/**
 * The GitLab Deployments API fake's contract (test/sim/gitlab/deployments.ts), checked against what GitLab's
 * doc/api/deployments.md and its source say: creation, the state machine, list filters, order and pagination,
 * authentication and authorization answers, and the path-encoded project id.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import {
  commitFor,
  environmentSlug,
  startGitLabSim,
  type GitLabSim,
  type GitLabSimOptions,
  type JsonObject,
} from './gitlab/deployments.js';

const sims: GitLabSim[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

const MAIN = commitFor('group/project:main');
const OLD = commitFor('old');
const T0 = Date.parse('2026-03-01T10:00:00.000Z');

/** A sim with a manual clock: every call to `tick` moves it one second. */
async function sim(opts: GitLabSimOptions = {}): Promise<GitLabSim & { tick(): void; time(): number }> {
  let t = T0;
  const s = await startGitLabSim({
    projects: [{ id: 7, path: 'group/project', branches: { main: MAIN }, tags: { 'v1.0.0': OLD } }],
    tokens: {
      'glpat-dev': { kind: 'private', username: 'project_7_bot', role: 'developer' },
      'glpat-read': { kind: 'private', username: 'reader', scopes: ['read_api'] },
      'glpat-none': { kind: 'private', username: 'noscope', scopes: ['read_repository'] },
      'job-dev': { kind: 'job', username: 'alice', role: 'developer' },
      'job-reporter': { kind: 'job', username: 'rita', role: 'reporter' },
      'job-guest': { kind: 'job', username: 'gus', role: 'guest' },
      'glpat-maint': { kind: 'private', username: 'mary', role: 'maintainer' },
    },
    now: () => t,
    ...opts,
  });
  sims.push(s);
  return Object.assign(s, { tick: () => void (t += 1000), time: () => t });
}

interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
}

async function api(
  s: GitLabSim,
  method: string,
  path: string,
  o: { token?: string; job?: boolean; json?: unknown; form?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (o.token !== undefined) headers[o.job ? 'JOB-TOKEN' : 'PRIVATE-TOKEN'] = o.token;
  let body: string | undefined;
  if (o.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.json);
  } else if (o.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(o.form).toString();
  }
  const res = await fetch(`${s.apiUrl}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
}

const deploy = (s: GitLabSim, fields: Record<string, unknown>, token = 'glpat-dev', job = false) =>
  api(s, 'POST', '/projects/7/deployments', {
    token,
    job,
    json: { environment: 'production', sha: MAIN, ref: 'main', tag: false, status: 'success', ...fields },
  });

const ids = (r: Reply): number[] => (r.body as JsonObject[]).map((d) => d['id'] as number);

describe('creating a deployment', () => {
  test('201 with the deployment: environment created, no deployable, the token’s user', async () => {
    const s = await sim();
    const r = await deploy(s, {});
    expect(r.status).toBe(201);
    expect(r.headers.get('content-type')).toBe('application/json');
    const d = r.body as JsonObject;
    expect(Object.keys(d)).toEqual([
      'id',
      'iid',
      'ref',
      'sha',
      'created_at',
      'updated_at',
      'user',
      'environment',
      'deployable',
      'status',
    ]);
    expect(d).toMatchObject({
      id: 1,
      iid: 1,
      ref: 'main',
      sha: MAIN,
      created_at: '2026-03-01T10:00:00.000Z',
      status: 'success',
      deployable: null,
      user: { username: 'project_7_bot', state: 'active' },
      environment: { id: 1, name: 'production', slug: 'production', external_url: null },
    });
    expect(s.environments()).toHaveLength(1);
    // iid counts per project, the environment is reused.
    s.tick();
    const second = await deploy(s, { environment: 'staging', status: 'running' });
    expect(second.body).toMatchObject({
      id: 2,
      iid: 2,
      status: 'running',
      environment: { id: 2, name: 'staging' },
    });
    expect(s.deployments().map((x) => x['environment'])).toHaveLength(2);
  });

  test('a form-encoded body (as curl --data sends it) and a ref that is a tag or a commit', async () => {
    const s = await sim();
    const r = await api(s, 'POST', '/projects/7/deployments', {
      token: 'glpat-dev',
      form: { environment: 'review/feature-1', sha: OLD, ref: 'v1.0.0', tag: 'true', status: 'failed' },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ ref: 'v1.0.0', sha: OLD, status: 'failed' });
    expect((r.body as JsonObject)['environment']).toMatchObject({
      name: 'review/feature-1',
      slug: environmentSlug('review/feature-1'),
    });
    expect(environmentSlug('review/feature-1')).toMatch(/^review-feature-1-[a-z0-9]{6}$/);
    expect((await deploy(s, { ref: MAIN.slice(0, 8) })).status).toBe(201);
  });

  test('parameter errors are Grape’s: one line naming each parameter', async () => {
    const s = await sim();
    const missing = await api(s, 'POST', '/projects/7/deployments', { token: 'glpat-dev', json: {} });
    expect(missing).toMatchObject({
      status: 400,
      body: {
        error: 'environment is missing, sha is missing, ref is missing, tag is missing, status is missing',
      },
    });
    for (const status of ['created', 'blocked', 'skipped', 'done'])
      expect((await deploy(s, { status })).body).toEqual({ error: 'status does not have a valid value' });
    expect((await deploy(s, { tag: 'maybe' })).body).toEqual({ error: 'tag is invalid' });
    expect((await deploy(s, { environment: { name: 'x' } })).body).toEqual({
      error: 'environment is invalid',
    });
    const broken = await fetch(`${s.apiUrl}/projects/7/deployments`, {
      method: 'POST',
      headers: { 'PRIVATE-TOKEN': 'glpat-dev', 'content-type': 'application/json' },
      body: '{"environment":',
    });
    expect(broken.status).toBe(400);
    expect(s.deployments()).toHaveLength(0);
  });

  test('validation errors are the model’s: ref and sha must exist, the environment name be valid', async () => {
    const s = await sim();
    expect(await deploy(s, { ref: 'no-such-branch' })).toMatchObject({
      status: 400,
      body: { message: { ref: ['The branch or tag does not exist'] } },
    });
    expect(await deploy(s, { sha: commitFor('elsewhere') })).toMatchObject({
      status: 400,
      body: { message: { sha: ['The commit does not exist'] } },
    });
    expect(await deploy(s, { environment: 'prod:eu' })).toMatchObject({
      status: 400,
      body: {
        message: {
          name: [
            "can contain only letters, digits, '-', '_', '/', '$', '{', '}', '.', and spaces, but it cannot start or end with '/'",
          ],
        },
      },
    });
    expect(s.deployments()).toHaveLength(0);
  });

  test('equal to the environment’s last successful deployment: that one is returned, no new one', async () => {
    const s = await sim();
    const first = (await deploy(s, {})).body as JsonObject;
    s.tick();
    const again = await deploy(s, {});
    expect(again.status).toBe(201);
    expect((again.body as JsonObject)['id']).toBe(first['id']);
    // Another status, tag or sha is a new deployment; so is a failed one repeated.
    s.tick();
    expect((await deploy(s, { status: 'failed' })).body).toMatchObject({ id: 2 });
    expect((await deploy(s, { status: 'failed' })).body).toMatchObject({ id: 3 });
    expect((await deploy(s, { ref: 'v1.0.0', sha: OLD, tag: true })).body).toMatchObject({ id: 4 });
  });
});

describe('updating and deleting', () => {
  test('the status moves through the state machine; updated_at follows', async () => {
    const s = await sim();
    const d = (await deploy(s, { status: 'running' })).body as JsonObject;
    s.tick();
    const done = await api(s, 'PUT', `/projects/7/deployments/${d['id'] as number}`, {
      token: 'glpat-dev',
      json: { status: 'success' },
    });
    expect(done).toMatchObject({
      status: 200,
      body: { status: 'success', updated_at: '2026-03-01T10:00:01.000Z' },
    });
    expect(
      await api(s, 'PUT', '/projects/7/deployments/1', { token: 'glpat-dev', json: { status: 'success' } }),
    ).toMatchObject({ status: 400, body: { message: { status: ['cannot transition via "succeed"'] } } });
    expect(
      await api(s, 'PUT', '/projects/7/deployments/1', { token: 'glpat-dev', json: { status: 'running' } }),
    ).toMatchObject({ status: 400, body: { message: { status: ['cannot transition via "run"'] } } });
    expect(
      await api(s, 'PUT', '/projects/7/deployments/1', { token: 'glpat-dev', json: { status: 'created' } }),
    ).toMatchObject({ status: 400, body: { error: 'status does not have a valid value' } });
    expect(
      await api(s, 'PUT', '/projects/7/deployments/99', { token: 'glpat-dev', json: { status: 'failed' } }),
    ).toMatchObject({ status: 404, body: { message: '404 Not found' } });
  });

  test('a deployment made by a CI job cannot be updated through the API', async () => {
    const s = await sim();
    const job = s.addJobDeployment({ environment: 'production', status: 'success' });
    expect(job['deployable']).toMatchObject({ name: 'deploy', status: 'success' });
    expect(
      await api(s, 'PUT', `/projects/7/deployments/${job['id'] as number}`, {
        token: 'glpat-dev',
        json: { status: 'failed' },
      }),
    ).toMatchObject({
      status: 403,
      body: {
        message: '403 Forbidden - Deployments created using GitLab CI can not be updated using the API',
      },
    });
  });

  test('DELETE: maintainers, not the current nor a running deployment', async () => {
    const s = await sim();
    await deploy(s, { status: 'running' });
    s.tick();
    await deploy(s, { ref: 'v1.0.0', sha: OLD, tag: true });
    s.tick();
    await deploy(s, {});
    expect((await api(s, 'DELETE', '/projects/7/deployments/2', { token: 'glpat-dev' })).status).toBe(403);
    expect(await api(s, 'DELETE', '/projects/7/deployments/1', { token: 'glpat-maint' })).toMatchObject({
      status: 400,
      body: { message: 'Cannot destroy running deployment' },
    });
    expect(await api(s, 'DELETE', '/projects/7/deployments/3', { token: 'glpat-maint' })).toMatchObject({
      status: 400,
      body: { message: 'Deployment currently deployed to environment' },
    });
    expect((await api(s, 'DELETE', '/projects/7/deployments/2', { token: 'glpat-maint' })).status).toBe(204);
    expect(s.deployments().map((d) => d['id'])).toEqual([1, 3]);
  });
});

describe('listing', () => {
  /** production: 1 success, 3 failed, 5 success; staging: 2 success, 4 running. One second apart. */
  async function seeded() {
    const s = await sim();
    const plan: Array<[string, string]> = [
      ['production', 'success'],
      ['staging', 'success'],
      ['production', 'failed'],
      ['staging', 'running'],
      ['production', 'success'],
    ];
    for (const [i, [environment, status]] of plan.entries()) {
      // Alternate the sha so successes are not merged into the previous one.
      const r = await deploy(
        s,
        i % 4 === 0 && i > 0 ? { environment, status, ref: 'v1.0.0', sha: OLD } : { environment, status },
      );
      expect(r.status).toBe(201);
      s.tick();
    }
    return s;
  }

  test('ascending by id by default; environment and status filters', async () => {
    const s = await seeded();
    const all = await api(s, 'GET', '/projects/7/deployments', { token: 'glpat-dev' });
    expect(all.status).toBe(200);
    expect(ids(all)).toEqual([1, 2, 3, 4, 5]);
    expect(
      ids(await api(s, 'GET', '/projects/7/deployments?environment=production', { token: 'glpat-dev' })),
    ).toEqual([1, 3, 5]);
    expect(
      ids(
        await api(s, 'GET', '/projects/7/deployments?environment=production&status=success', {
          token: 'glpat-dev',
        }),
      ),
    ).toEqual([1, 5]);
    expect(
      ids(await api(s, 'GET', '/projects/7/deployments?environment=nowhere', { token: 'glpat-dev' })),
    ).toEqual([]);
    expect(await api(s, 'GET', '/projects/7/deployments?status=done', { token: 'glpat-dev' })).toMatchObject({
      status: 400,
      body: { error: 'status does not have a valid value' },
    });
  });

  test('order_by and sort: created_at and iid sort as id; updated_at; finished_at needs a finished status', async () => {
    const s = await seeded();
    // Deployment 1 is updated last.
    await api(s, 'PUT', '/projects/7/deployments/4', { token: 'glpat-dev', json: { status: 'success' } });
    s.tick();
    const get = (q: string) => api(s, 'GET', `/projects/7/deployments?${q}`, { token: 'glpat-dev' });
    expect(ids(await get('sort=desc'))).toEqual([5, 4, 3, 2, 1]);
    expect(ids(await get('order_by=created_at&sort=desc'))).toEqual([5, 4, 3, 2, 1]);
    expect(ids(await get('order_by=iid'))).toEqual([1, 2, 3, 4, 5]);
    expect(ids(await get('order_by=updated_at&sort=desc'))).toEqual([4, 5, 3, 2, 1]);
    expect(ids(await get('order_by=finished_at&sort=desc&status=success'))).toEqual([4, 5, 2, 1]);
    expect(await get('order_by=finished_at')).toMatchObject({
      status: 400,
      body: {
        message:
          '400 Bad request - `finished_at` sort requires `finished_at` filter or a filter with at least one of the finished statuses.',
      },
    });
    // `ref` is in the doc's list but no longer in DeploymentsFinder::ALLOWED_SORT_VALUES.
    expect(await get('order_by=ref')).toMatchObject({
      status: 400,
      body: { error: 'order_by does not have a valid value' },
    });
    expect(await get('sort=up')).toMatchObject({
      status: 400,
      body: { error: 'sort does not have a valid value' },
    });
  });

  test('updated_after/before need order_by=updated_at; finished_after/before need finished_at and success', async () => {
    const s = await seeded();
    const get = (q: string) => api(s, 'GET', `/projects/7/deployments?${q}`, { token: 'glpat-dev' });
    // Created at T0 + 0…4 s; both bounds are inclusive.
    expect(
      ids(
        await get(
          'order_by=updated_at&updated_after=2026-03-01T10:00:01Z&updated_before=2026-03-01T10:00:03Z',
        ),
      ),
    ).toEqual([2, 3, 4]);
    expect(ids(await get('order_by=updated_at&sort=desc&updated_after=2026-03-01T10:00:03'))).toEqual([5, 4]);
    expect(await get('updated_after=2026-03-01T10:00:01Z')).toMatchObject({
      status: 400,
      body: { message: '400 Bad request - `updated_at` filter requires `updated_at` sort' },
    });
    expect(await get('order_by=updated_at&updated_after=yesterday')).toMatchObject({
      status: 400,
      body: { error: 'updated_after is invalid' },
    });
    // finished_before is exclusive, finished_after inclusive.
    expect(
      ids(
        await get(
          'order_by=finished_at&status=success&finished_after=2026-03-01T10:00:01Z&finished_before=2026-03-01T10:00:04Z',
        ),
      ),
    ).toEqual([2]);
    expect(await get('order_by=finished_at&status=failed&finished_after=2026-03-01T10:00:01Z')).toMatchObject(
      {
        status: 400,
        body: {
          message: '400 Bad request - `finished_at` filter must be combined with `success` status filter.',
        },
      },
    );
    expect(
      await get('order_by=updated_at&updated_after=2026-03-01T10:00:01Z&finished_after=2026-03-01T10:00:01Z'),
    ).toMatchObject({
      status: 400,
      body: {
        message: '400 Bad request - Both `updated_at` filter and `finished_at` filter can not be specified',
      },
    });
  });

  test('pagination: 20 by default, at most 100, GitLab’s headers and Link', async () => {
    const s = await sim();
    for (let i = 0; i < 5; i++) {
      await deploy(s, { environment: `env-${i}` });
      s.tick();
    }
    const page2 = await api(s, 'GET', '/projects/7/deployments?per_page=2&page=2&sort=desc', {
      token: 'glpat-dev',
    });
    expect(ids(page2)).toEqual([3, 2]);
    const h = (name: string) => page2.headers.get(name);
    expect([
      h('x-total'),
      h('x-total-pages'),
      h('x-page'),
      h('x-per-page'),
      h('x-next-page'),
      h('x-prev-page'),
    ]).toEqual(['5', '3', '2', '2', '3', '1']);
    const base = `${s.apiUrl}/projects/7/deployments`;
    expect(h('link')).toBe(
      [
        `<${base}?page=1&per_page=2&sort=desc>; rel="prev"`,
        `<${base}?page=3&per_page=2&sort=desc>; rel="next"`,
        `<${base}?page=1&per_page=2&sort=desc>; rel="first"`,
        `<${base}?page=3&per_page=2&sort=desc>; rel="last"`,
      ].join(', '),
    );
    const first = await api(s, 'GET', '/projects/7/deployments', { token: 'glpat-dev' });
    expect([
      first.headers.get('x-per-page'),
      first.headers.get('x-next-page'),
      first.headers.get('x-prev-page'),
    ]).toEqual(['20', '', '']);
    const beyond = await api(s, 'GET', '/projects/7/deployments?per_page=2&page=9', { token: 'glpat-dev' });
    expect(beyond.body).toEqual([]);
    expect([
      beyond.headers.get('x-page'),
      beyond.headers.get('x-next-page'),
      beyond.headers.get('x-prev-page'),
    ]).toEqual(['9', '', '']);
    expect(
      (await api(s, 'GET', '/projects/7/deployments?per_page=500', { token: 'glpat-dev' })).headers.get(
        'x-per-page',
      ),
    ).toBe('100');
    expect(await api(s, 'GET', '/projects/7/deployments?per_page=0', { token: 'glpat-dev' })).toMatchObject({
      status: 400,
      body: { error: 'per_page has a value not allowed' },
    });
    expect(await api(s, 'GET', '/projects/7/deployments?page=two', { token: 'glpat-dev' })).toMatchObject({
      status: 400,
      body: { error: 'page is invalid' },
    });
  });

  test('one deployment by id', async () => {
    const s = await sim();
    await deploy(s, {});
    expect(await api(s, 'GET', '/projects/7/deployments/1', { token: 'glpat-dev' })).toMatchObject({
      status: 200,
      body: { id: 1, environment: { name: 'production' } },
    });
    expect(await api(s, 'GET', '/projects/7/deployments/2', { token: 'glpat-dev' })).toMatchObject({
      status: 404,
      body: { message: '404 Not found' },
    });
    expect(await api(s, 'GET', '/projects/7/deployments/one', { token: 'glpat-dev' })).toMatchObject({
      status: 400,
      body: { error: 'deployment_id is invalid' },
    });
  });
});

describe('authentication and authorization', () => {
  test('no token or an unknown one: 401, before anything else', async () => {
    const s = await sim();
    for (const token of [undefined, 'nope'])
      expect(await api(s, 'POST', '/projects/7/deployments', { token, json: {} })).toMatchObject({
        status: 401,
        body: { message: '401 Unauthorized' },
      });
    // An access token is not a job token, nor the other way round.
    expect((await api(s, 'GET', '/projects/7/deployments', { token: 'glpat-dev', job: true })).status).toBe(
      401,
    );
    expect((await api(s, 'GET', '/projects/7/deployments', { token: 'job-dev' })).status).toBe(401);
    // Bearer and the query parameters work too.
    const bearer = await fetch(`${s.apiUrl}/projects/7/deployments`, {
      headers: { authorization: 'Bearer glpat-dev' },
    });
    expect(bearer.status).toBe(200);
    expect((await fetch(`${s.apiUrl}/projects/7/deployments?job_token=job-dev`)).status).toBe(200);
  });

  test('roles: reporters read, developers deploy, protected environments need their role', async () => {
    const s = await sim({
      projects: [
        {
          id: 7,
          path: 'group/project',
          branches: { main: MAIN },
          protectedEnvironments: { production: 'maintainer' },
        },
      ],
    });
    expect((await deploy(s, { environment: 'staging' }, 'job-dev', true)).status).toBe(201);
    expect(await deploy(s, { environment: 'staging' }, 'job-reporter', true)).toMatchObject({
      status: 403,
      body: { message: '403 Forbidden' },
    });
    expect(
      (await api(s, 'GET', '/projects/7/deployments', { token: 'job-reporter', job: true })).status,
    ).toBe(200);
    expect(await api(s, 'GET', '/projects/7/deployments', { token: 'job-guest', job: true })).toMatchObject({
      status: 403,
      body: { message: '403 Forbidden' },
    });
    expect(await deploy(s, { environment: 'production' }, 'job-dev', true)).toMatchObject({
      status: 403,
      body: { message: '403 Forbidden' },
    });
    expect((await deploy(s, { environment: 'production' }, 'glpat-maint')).status).toBe(201);
    // The deployment is the job's user's.
    expect(s.deployments()[0]).toMatchObject({ user: { username: 'alice' } });
  });

  test('access token scopes: read_api reads, api writes', async () => {
    const s = await sim();
    expect((await api(s, 'GET', '/projects/7/deployments', { token: 'glpat-read' })).status).toBe(200);
    expect(await deploy(s, {}, 'glpat-read')).toMatchObject({
      status: 403,
      body: { error: 'insufficient_scope', scope: 'api' },
    });
    expect((await api(s, 'GET', '/projects/7/deployments', { token: 'glpat-none' })).status).toBe(403);
  });

  test('a job token on another project: the allowlist, then its fine-grained permissions', async () => {
    const s = await sim({
      projects: [
        {
          id: 7,
          path: 'group/project',
          branches: { main: MAIN },
          jobTokenAllowlist: [{ project: 'group/deployer', policies: ['read_deployments'] }],
        },
        { id: 8, path: 'group/deployer' },
        { id: 9, path: 'group/other', branches: { main: MAIN } },
      ],
      tokens: {
        'job-deployer': { kind: 'job', username: 'alice', project: 'group/deployer' },
        'job-other': { kind: 'job', username: 'alice', project: 9 },
      },
    });
    expect(await deploy(s, {}, 'job-other', true)).toMatchObject({
      status: 403,
      body: {
        message: '403 Forbidden - Authentication by CI/CD job token not allowed from other to project.',
      },
    });
    expect(
      (await api(s, 'GET', '/projects/7/deployments', { token: 'job-deployer', job: true })).status,
    ).toBe(200);
    expect(await deploy(s, {}, 'job-deployer', true)).toMatchObject({
      status: 403,
      body: {
        message:
          '403 Forbidden - Insufficient permissions to access this resource in project project. The following token permissions are required: admin_deployments and admin_environments.',
      },
    });
    // Its own project is not restricted by another project's allowlist.
    expect(
      (
        await api(s, 'POST', '/projects/9/deployments', {
          token: 'job-other',
          job: true,
          json: { environment: 'e', sha: MAIN, ref: 'main', tag: false, status: 'success' },
        })
      ).status,
    ).toBe(201);
  });

  test('the project: by id or URL-encoded path; unknown → 404 Project Not Found; a raw slash matches no route', async () => {
    const s = await sim();
    expect(
      (await api(s, 'GET', '/projects/group%2Fproject/deployments', { token: 'glpat-dev' })).status,
    ).toBe(200);
    expect(
      (await api(s, 'GET', '/projects/GROUP%2FProject/deployments', { token: 'glpat-dev' })).status,
    ).toBe(200);
    const created = await api(s, 'POST', '/projects/group%2Fproject/deployments', {
      token: 'glpat-dev',
      json: { environment: 'production', sha: MAIN, ref: 'main', tag: false, status: 'success' },
    });
    expect(created.status).toBe(201);
    expect(s.deployments(7)).toHaveLength(1);
    for (const id of ['8', 'group%2Fnope'])
      expect(await api(s, 'GET', `/projects/${id}/deployments`, { token: 'glpat-dev' })).toMatchObject({
        status: 404,
        body: { message: '404 Project Not Found' },
      });
    expect(await api(s, 'GET', '/projects/group/project/deployments', { token: 'glpat-dev' })).toMatchObject({
      status: 404,
      body: { error: '404 Not Found' },
    });
    // A user who is not a member does not see the project.
    const t = await sim({
      projects: [
        { id: 7, path: 'group/project' },
        { id: 8, path: 'group/secret' },
      ],
      tokens: { 'glpat-x': { kind: 'private', username: 'x', projects: [7] } },
    });
    expect((await api(t, 'GET', '/projects/8/deployments', { token: 'glpat-x' })).status).toBe(404);
  });
});

describe('failure injection', () => {
  test('failNext: the next n requests fail before anything happens', async () => {
    const s = await sim();
    s.failNext(2, 502);
    expect(await deploy(s, {})).toMatchObject({ status: 502, body: { message: '502 Bad Gateway' } });
    expect((await deploy(s, {})).status).toBe(502);
    expect(s.deployments()).toHaveLength(0);
    expect((await deploy(s, {})).status).toBe(201);
  });

  test('afterEffect: the work is done, the answer lost; stall: no answer at all', async () => {
    const s = await sim();
    s.failNext(1, 500, { afterEffect: true });
    expect((await deploy(s, {})).status).toBe(500);
    expect(s.deployments()).toHaveLength(1);
    s.failNext(1, 500, { stall: true, method: 'GET' });
    const ac = new AbortController();
    const pending = fetch(`${s.apiUrl}/projects/7/deployments`, {
      headers: { 'PRIVATE-TOKEN': 'glpat-dev' },
      signal: ac.signal,
    });
    // A POST is not matched by the GET-only stall.
    expect((await deploy(s, { environment: 'staging' })).status).toBe(201);
    // Poll until the stalled request has arrived, then give up on it.
    for (let i = 0; i < 500 && !s.requests.some((r) => r.method === 'GET'); i++)
      await new Promise((r) => setTimeout(r, 2));
    expect(s.requests.some((r) => r.method === 'GET')).toBe(true);
    ac.abort();
    await expect(pending).rejects.toThrow();
  });
});
