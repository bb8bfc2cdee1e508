/**
 * The GitHub deployments fake (sim/github/deployments.ts) keeps GitHub's contract: every answer body of the five
 * operations Kiln uses validates against GitHub's published OpenAPI description (`@octokit/openapi`,
 * api.github.com), and the behaviour the docs describe holds — defaults, payloads returned as given, filters,
 * newest-first pagination with GitHub's Link header, status rules (140 characters, log_url/target_url, environment),
 * auto_inactive exactly as documented, and the auth and fault answers.
 */
import { afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { until } from '../harness/until.js';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import {
  startGitHubDeploymentsSim,
  type GitHubDeploymentsSim,
  type GitHubDeploymentsSimOptions,
} from './github/deployments.js';

const require = createRequire(import.meta.url);
const addFormats = require('ajv-formats') as (ajv: Ajv) => Ajv;

// ---------------------------------------------------------------------------------------------------------
// GitHub's OpenAPI description (only api.github.com's: the package's index loads all ten, 385 MB)

interface Operation {
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }>;
}
interface OpenApi {
  paths: Record<string, Record<string, Operation & { operationId?: string }>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, Operation['responses'][string]> };
}
let spec: OpenApi;
let ajv: Ajv;
const validators = new Map<string, ValidateFunction>();

beforeAll(() => {
  const dir = dirname(require.resolve('@octokit/openapi/package.json'));
  spec = JSON.parse(readFileSync(join(dir, 'generated', 'api.github.com.json'), 'utf8')) as OpenApi;
  // OpenAPI 3.0 schemas: `nullable` is Ajv's own keyword; `example`, `x-github`… are annotations (strict: false).
  ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  // GitHub's `format: uri` fields default to "" (target_url, log_url, environment_url: the schema says so itself,
  // and GitHub answers "" when none was given), which the uri format refuses: "" passes, anything else must parse.
  ajv.addFormat('uri', { type: 'string', validate: (s: string) => s === '' || URL.canParse(s) });
  ajv.addSchema({ components: { schemas: spec.components.schemas } }, 'github');
});

/** `#/components/…` → the `github` schema's, so Ajv resolves them. */
function rebase(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [
      k,
      k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `github${v}` : rebase(v),
    ]),
  );
}

function operation(id: string): Operation {
  for (const item of Object.values(spec.paths))
    for (const op of Object.values(item)) if (op.operationId === id) return op;
  throw new Error(`no operation ${id}`);
}

function validator(operationId: string, status: number): ValidateFunction {
  const key = `${operationId} ${status}`;
  let v = validators.get(key);
  if (!v) {
    let response = operation(operationId).responses[String(status)];
    if (response?.$ref) response = spec.components.responses[response.$ref.split('/').pop() as string];
    const schema = response?.content?.['application/json']?.schema;
    if (!schema) throw new Error(`${key}: no JSON schema in GitHub's description`);
    v = ajv.compile(rebase(schema) as object);
    validators.set(key, v);
  }
  return v;
}

/** What is wrong with `body` as `operationId`'s `status` answer: [] when it conforms. */
function problems(operationId: string, status: number, body: unknown): string[] {
  const v = validator(operationId, status);
  return v(body) ? [] : (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

const basicError = (body: unknown): string[] => {
  const v = ajv.compile({ $ref: 'github#/components/schemas/basic-error' });
  return v(body) ? [] : (v.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
};

// ---------------------------------------------------------------------------------------------------------
// The fake

const REPO = 'kiln-dev/shop';
const SHA = 'a'.repeat(40);
let sim: GitHubDeploymentsSim | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(o: GitHubDeploymentsSimOptions = {}): Promise<GitHubDeploymentsSim> {
  sim = await startGitHubDeploymentsSim(o);
  return sim;
}

interface Reply {
  status: number;
  headers: Headers;
  body: unknown;
}

async function api(
  s: GitHubDeploymentsSim,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = s.token,
): Promise<Reply> {
  const res = await fetch(path.startsWith('http') ? path : `${s.url}${path}`, {
    method,
    headers: {
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
}

const deploymentsPath = `/repos/${REPO}/deployments`;

async function create(
  s: GitHubDeploymentsSim,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const r = await api(s, 'POST', deploymentsPath, body);
  expect(r.status).toBe(201);
  return r.body as Record<string, unknown>;
}

async function status(
  s: GitHubDeploymentsSim,
  id: unknown,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const r = await api(s, 'POST', `${deploymentsPath}/${String(id)}/statuses`, body);
  expect([r.status, r.body]).toEqual([201, expect.anything()]);
  return r.body as Record<string, unknown>;
}

const states = (s: GitHubDeploymentsSim, id: unknown) => s.statuses(id as number).map((x) => x.state);

describe('answers validate against GitHub’s OpenAPI description', () => {
  test('create, get and list deployments; create and list statuses; the error bodies', async () => {
    const s = await start();
    const created = await api(s, 'POST', deploymentsPath, {
      ref: SHA,
      task: 'kiln:deploy',
      environment: 'staging',
      payload: { kiln: 1, entry: { id: 'r1' } },
      auto_merge: false,
      required_contexts: [],
      description: 'deploy r1',
    });
    expect(created.status).toBe(201);
    expect(problems('repos/create-deployment', 201, created.body)).toEqual([]);
    const id = (created.body as { id: number }).id;
    const minimal = await api(s, 'POST', deploymentsPath, { ref: 'main', payload: '{"a":1}' });
    expect(problems('repos/create-deployment', 201, minimal.body)).toEqual([]);

    const got = await api(s, 'GET', `${deploymentsPath}/${id}`);
    expect([got.status, problems('repos/get-deployment', 200, got.body)]).toEqual([200, []]);
    const listed = await api(s, 'GET', `${deploymentsPath}?environment=staging`);
    expect([listed.status, problems('repos/list-deployments', 200, listed.body)]).toEqual([200, []]);

    const st = await api(s, 'POST', `${deploymentsPath}/${id}/statuses`, {
      state: 'success',
      log_url: 'https://github.com/kiln-dev/shop/actions/runs/1',
      description: 'done',
    });
    expect([st.status, problems('repos/create-deployment-status', 201, st.body)]).toEqual([201, []]);
    const bare = await api(s, 'POST', `${deploymentsPath}/${id}/statuses`, { state: 'in_progress' });
    expect(problems('repos/create-deployment-status', 201, bare.body)).toEqual([]);
    const statuses = await api(s, 'GET', `${deploymentsPath}/${id}/statuses`);
    expect([statuses.status, problems('repos/list-deployment-statuses', 200, statuses.body)]).toEqual([
      200,
      [],
    ]);

    const missingRef = await api(s, 'POST', deploymentsPath, { task: 'deploy' });
    expect([missingRef.status, problems('repos/create-deployment', 422, missingRef.body)]).toEqual([422, []]);
    const long = await api(s, 'POST', `${deploymentsPath}/${id}/statuses`, {
      state: 'success',
      description: 'x'.repeat(141),
    });
    expect([long.status, problems('repos/create-deployment-status', 422, long.body)]).toEqual([422, []]);
    const unknown = await api(s, 'GET', `${deploymentsPath}/999`);
    expect([unknown.status, problems('repos/get-deployment', 404, unknown.body)]).toEqual([404, []]);
    const unknownStatuses = await api(s, 'GET', `${deploymentsPath}/999/statuses`);
    expect([
      unknownStatuses.status,
      problems('repos/list-deployment-statuses', 404, unknownStatuses.body),
    ]).toEqual([404, []]);
    const bad = await api(s, 'GET', deploymentsPath, undefined, 'ghs_wrong');
    expect([bad.status, basicError(bad.body)]).toEqual([401, []]);
  });

  test('the check is not vacuous: a missing required field or a wrong type fails it', async () => {
    const s = await start();
    const d = await create(s, { ref: SHA });
    expect(problems('repos/create-deployment', 201, d)).toEqual([]);
    const { node_id: _, ...noNodeId } = d;
    expect(problems('repos/create-deployment', 201, noNodeId)).toEqual([
      "/ must have required property 'node_id'",
    ]);
    expect(problems('repos/get-deployment', 200, { ...d, id: String(d.id) })).toContain(
      '/id must be integer',
    );
    expect(problems('repos/get-deployment', 200, { ...d, payload: 3 }).length).toBeGreaterThan(0);
    const st = await status(s, d.id, { state: 'success' });
    expect(problems('repos/create-deployment-status', 201, { ...st, state: 'done' })).toContain(
      '/state must be equal to one of the allowed values',
    );
    expect(problems('repos/create-deployment-status', 201, { ...st, created_at: 'yesterday' })).toContain(
      '/created_at must match format "date-time"',
    );
  });
});

describe('creating deployments', () => {
  test('defaults: task deploy, environment production (a production environment), not transient, payload {}', async () => {
    const s = await start();
    const d = await create(s, { ref: 'main' });
    expect(d).toMatchObject({
      ref: 'main',
      task: 'deploy',
      environment: 'production',
      original_environment: 'production',
      production_environment: true,
      transient_environment: false,
      payload: {},
      description: '',
      performed_via_github_app: { slug: 'github-actions' },
      creator: { login: 'github-actions[bot]', type: 'Bot' },
    });
    expect(d.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(d.url).toBe(`${s.url}/repos/${REPO}/deployments/${String(d.id)}`);
    expect(d.statuses_url).toBe(`${String(d.url)}/statuses`);
    expect(Buffer.from(d.node_id as string, 'base64').toString()).toBe(`010:Deployment${String(d.id)}`);
    const staging = await create(s, { ref: SHA, environment: 'staging' });
    expect([staging.sha, staging.production_environment]).toEqual([SHA, false]);
    const flagged = await create(s, {
      ref: SHA,
      environment: 'live',
      production_environment: true,
      transient_environment: true,
    });
    expect([flagged.production_environment, flagged.transient_environment]).toEqual([true, true]);
  });

  test('the payload comes back as given: an object as an object, a JSON string as that string', async () => {
    const s = await start();
    const object = await create(s, { ref: SHA, payload: { kiln: 1, nested: { list: [1, 'two', null] } } });
    expect(object.payload).toEqual({ kiln: 1, nested: { list: [1, 'two', null] } });
    const text = await create(s, { ref: SHA, payload: '{ "deploy": "migrate" }' });
    expect(text.payload).toBe('{ "deploy": "migrate" }');
    const got = await api(s, 'GET', `${deploymentsPath}/${String(text.id)}`);
    expect((got.body as { payload: unknown }).payload).toBe('{ "deploy": "migrate" }');
    for (const payload of [[1], 3, true]) {
      const r = await api(s, 'POST', deploymentsPath, { ref: SHA, payload });
      expect([r.status, (r.body as { message: string }).message]).toEqual([
        422,
        `Invalid request.\n\nFor 'properties/payload', ${JSON.stringify(payload)} is not an object or string.`,
      ]);
    }
  });

  test('422 without a ref, for an unknown ref (when refs are modelled), for wrong types; 400 for bad JSON', async () => {
    const s = await start({ refs: { main: SHA } });
    const none = await api(s, 'POST', deploymentsPath, { environment: 'staging' });
    expect([none.status, none.body]).toEqual([
      422,
      {
        message: 'Invalid request.\n\n"ref" wasn\'t supplied.',
        documentation_url: 'https://docs.github.com/rest/deployments/deployments#create-a-deployment',
        status: '422',
      },
    ]);
    const unknown = await api(s, 'POST', deploymentsPath, { ref: 'nope' });
    expect([unknown.status, (unknown.body as { message: string }).message]).toEqual([
      422,
      'No ref found for: nope',
    ]);
    expect((await create(s, { ref: 'main' })).sha).toBe(SHA);
    expect((await create(s, { ref: SHA })).sha).toBe(SHA);
    const task = await api(s, 'POST', deploymentsPath, { ref: 'main', task: 7 });
    expect(task.status).toBe(422);
    const res = await fetch(`${s.url}${deploymentsPath}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
      body: '{"ref":',
    });
    expect([res.status, ((await res.json()) as { message: string }).message]).toEqual([
      400,
      'Problems parsing JSON',
    ]);
  });

  test('202 when GitHub auto-merges the default branch (auto_merge default true); 409 on failing status checks', async () => {
    const s = await start({
      refsBehindDefault: ['topic'],
      commitStatuses: { topic: { 'ci/test': 'failure', 'ci/lint': 'success' } },
    });
    const merged = await api(s, 'POST', deploymentsPath, { ref: 'topic' });
    expect([merged.status, merged.body]).toEqual([
      202,
      { message: 'Auto-merged main into topic on deployment.' },
    ]);
    expect(s.deployments()).toEqual([]);
    const conflict = await api(s, 'POST', deploymentsPath, { ref: 'topic', auto_merge: false });
    expect([conflict.status, (conflict.body as { message: string }).message]).toEqual([
      409,
      'Conflict: Commit status checks failed for topic.',
    ]);
    const some = await api(s, 'POST', deploymentsPath, {
      ref: 'topic',
      auto_merge: false,
      required_contexts: ['ci/lint'],
    });
    expect(some.status).toBe(201);
    const bypass = await api(s, 'POST', deploymentsPath, {
      ref: 'topic',
      auto_merge: false,
      required_contexts: [],
    });
    expect(bypass.status).toBe(201);
  });
});

describe('listing deployments', () => {
  test('newest first; filters sha, ref, task, environment', async () => {
    const s = await start();
    const a = await create(s, { ref: 'main', environment: 'staging', task: 'kiln:deploy' });
    const b = await create(s, { ref: SHA, environment: 'staging', task: 'deploy' });
    const c = await create(s, { ref: 'main', environment: 'production', task: 'kiln:deploy' });
    const ids = async (query: string) =>
      ((await api(s, 'GET', `${deploymentsPath}${query}`)).body as Array<{ id: number }>).map((d) => d.id);
    expect(await ids('')).toEqual([c.id, b.id, a.id]);
    expect(await ids('?environment=staging')).toEqual([b.id, a.id]);
    expect(await ids('?task=kiln%3Adeploy')).toEqual([c.id, a.id]);
    expect(await ids('?ref=main&environment=production')).toEqual([c.id]);
    expect(await ids(`?sha=${SHA}`)).toEqual([b.id]);
    expect(await ids('?environment=nowhere')).toEqual([]);
    expect(await ids('?environment=none')).toEqual([c.id, b.id, a.id]);
  });

  test('per_page 30 by default and at most 100; GitHub’s Link header on /repositories/{id}; following it', async () => {
    const s = await start();
    for (let i = 0; i < 250; i++) s.createDeployment(REPO, { ref: SHA, environment: 'qa', task: `t${i}` });
    const first = await api(s, 'GET', `${deploymentsPath}?environment=qa`);
    expect((first.body as unknown[]).length).toBe(30);
    const big = await api(s, 'GET', `${deploymentsPath}?environment=qa&per_page=500`);
    expect((big.body as unknown[]).length).toBe(100);

    const page1 = await api(s, 'GET', `${deploymentsPath}?environment=qa&per_page=100`);
    const repoId = /\/repositories\/(\d+)\//.exec(page1.headers.get('link') ?? '')?.[1];
    const at = (page: number) =>
      `<${s.url}/repositories/${String(repoId)}/deployments?environment=qa&per_page=100&page=${page}>`;
    expect(page1.headers.get('link')).toBe(`${at(2)}; rel="next", ${at(3)}; rel="last"`);
    const page2 = await api(
      s,
      'GET',
      `${s.url}/repositories/${String(repoId)}/deployments?environment=qa&per_page=100&page=2`,
    );
    expect(page2.headers.get('link')).toBe(
      `${at(1)}; rel="prev", ${at(3)}; rel="next", ${at(3)}; rel="last", ${at(1)}; rel="first"`,
    );
    const page3 = await api(s, 'GET', `${deploymentsPath}?environment=qa&per_page=100&page=3`);
    expect(page3.headers.get('link')).toBe(`${at(2)}; rel="prev", ${at(1)}; rel="first"`);
    expect((page3.body as unknown[]).length).toBe(50);
    const beyond = await api(s, 'GET', `${deploymentsPath}?environment=qa&per_page=100&page=9`);
    expect(beyond.body).toEqual([]);

    // Following rel="next" from the first page visits every deployment once, newest first.
    const seen: number[] = [];
    let url: string | undefined = `${s.url}${deploymentsPath}?environment=qa&per_page=100`;
    while (url) {
      const r = await api(s, 'GET', url);
      seen.push(...(r.body as Array<{ id: number }>).map((d) => d.id));
      url = /<([^>]+)>; rel="next"/.exec(r.headers.get('link') ?? '')?.[1];
    }
    expect(seen).toEqual(s.deployments().map((d) => d.id));
    expect(seen.length).toBe(250);
    expect([...seen].sort((x, y) => y - x)).toEqual(seen);
    // One page only: no Link header at all.
    const one = await api(s, 'GET', `${deploymentsPath}?environment=qa&task=t1`);
    expect(one.headers.get('link')).toBeNull();
  });

  test('statuses: newest first, paginated; unknown deployment 404', async () => {
    const s = await start();
    const d = await create(s, { ref: SHA, environment: 'qa' });
    for (let i = 0; i < 35; i++) await status(s, d.id, { state: 'in_progress', description: `step ${i}` });
    const r = await api(s, 'GET', `${deploymentsPath}/${String(d.id)}/statuses`);
    const page = r.body as Array<{ description: string; id: number }>;
    expect(page.map((x) => x.description).slice(0, 2)).toEqual(['step 34', 'step 33']);
    expect(page.length).toBe(30);
    expect(r.headers.get('link')).toMatch(/rel="next".*page=2>; rel="last"$/);
    const rest = await api(s, 'GET', `${deploymentsPath}/${String(d.id)}/statuses?page=2`);
    expect((rest.body as unknown[]).length).toBe(5);
  });
});

describe('deployment statuses', () => {
  test('every documented state; others 422; description up to 140; log_url and target_url; environment', async () => {
    const s = await start();
    const d = await create(s, { ref: SHA, environment: 'qa' });
    for (const state of ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'])
      await status(s, d.id, { state, auto_inactive: false });
    const bogus = await api(s, 'POST', `${deploymentsPath}/${String(d.id)}/statuses`, { state: 'done' });
    expect([bogus.status, (bogus.body as { message: string }).message]).toEqual([
      422,
      `Invalid request.\n\nFor 'properties/state', "done" is not one of ["error", "failure", "inactive", "in_progress", "queued", "pending", "success"].`,
    ]);
    const none = await api(s, 'POST', `${deploymentsPath}/${String(d.id)}/statuses`, {});
    expect(none.status).toBe(422);
    await status(s, d.id, { state: 'success', description: 'x'.repeat(140) });
    const long = await api(s, 'POST', `${deploymentsPath}/${String(d.id)}/statuses`, {
      state: 'success',
      description: 'x'.repeat(141),
    });
    expect([long.status, long.body]).toEqual([
      422,
      {
        message: 'Validation Failed',
        errors: [
          {
            resource: 'DeploymentStatus',
            code: 'custom',
            field: 'description',
            message: 'description is too long (maximum is 140 characters)',
          },
        ],
        documentation_url: 'https://docs.github.com/rest/deployments/statuses#create-a-deployment-status',
        status: '422',
      },
    ]);
    const logged = await status(s, d.id, { state: 'success', log_url: 'https://ci/run/1' });
    expect([logged.log_url, logged.target_url, logged.environment_url]).toEqual([
      'https://ci/run/1',
      'https://ci/run/1',
      '',
    ]);
    const targeted = await status(s, d.id, { state: 'success', target_url: 'https://ci/run/2' });
    expect([targeted.log_url, targeted.target_url]).toEqual(['https://ci/run/2', 'https://ci/run/2']);
    expect(targeted.environment).toBe('qa');
    const moved = await status(s, d.id, { state: 'success', environment: 'qa-2' });
    expect(moved.environment).toBe('qa-2');
    const after = (await api(s, 'GET', `${deploymentsPath}/${String(d.id)}`)).body as Record<string, unknown>;
    expect([after.environment, after.original_environment]).toEqual(['qa-2', 'qa']);
    expect((await status(s, d.id, { state: 'success' })).environment).toBe('qa-2');
  });

  test('auto_inactive: a success marks prior successful non-transient non-production deployments of the environment inactive', async () => {
    const s = await start();
    const ok1 = await create(s, { ref: SHA, environment: 'staging' });
    await status(s, ok1.id, { state: 'success' });
    const failed = await create(s, { ref: SHA, environment: 'staging' });
    await status(s, failed.id, { state: 'failure' });
    const transient = await create(s, { ref: SHA, environment: 'staging', transient_environment: true });
    await status(s, transient.id, { state: 'success' });
    const prod = await create(s, { ref: SHA, environment: 'staging', production_environment: true });
    await status(s, prod.id, { state: 'success' });
    const other = await create(s, { ref: SHA, environment: 'qa' });
    await status(s, other.id, { state: 'success' });
    const ok2 = await create(s, { ref: SHA, environment: 'staging' });
    await status(s, ok2.id, { state: 'success' });
    // ok1 was inactivated by the success statuses created after it (transient's, prod's: auto_inactive default).
    expect(states(s, ok1.id)).toEqual(['inactive', 'success']);
    expect(states(s, failed.id)).toEqual(['failure']);
    expect(states(s, transient.id)).toEqual(['success']);
    expect(states(s, prod.id)).toEqual(['success']);
    expect(states(s, other.id)).toEqual(['success']);
    expect(states(s, ok2.id)).toEqual(['success']);

    // A later deployment is not "prior"; auto_inactive: false and non-success states change nothing.
    const ok3 = await create(s, { ref: SHA, environment: 'staging' });
    await status(s, ok2.id, { state: 'success' });
    expect(states(s, ok3.id)).toEqual([]);
    await status(s, ok3.id, { state: 'success', auto_inactive: false });
    expect(states(s, ok2.id)).toEqual(['success', 'success']);
    await status(s, ok3.id, { state: 'failure' });
    expect(states(s, ok2.id)).toEqual(['success', 'success']);
    await status(s, ok3.id, { state: 'success' });
    expect(states(s, ok2.id)).toEqual(['inactive', 'success', 'success']);
    const inactive = s.statuses(ok2.id as number)[0];
    expect(inactive).toMatchObject({ state: 'inactive', description: '', environment: 'staging' });
    expect(problems('repos/create-deployment-status', 201, inactive)).toEqual([]);
  });

  test('an environment job’s deployment: task deploy, empty payload, in_progress then success', async () => {
    const s = await start();
    const d = s.environmentJob(REPO, { environment: 'production', ref: SHA });
    expect(d).toMatchObject({
      task: 'deploy',
      payload: {},
      environment: 'production',
      production_environment: true,
    });
    expect(states(s, d.id)).toEqual(['success', 'in_progress']);
    expect(problems('repos/get-deployment', 200, d)).toEqual([]);
  });
});

describe('auth, faults and rate limits', () => {
  test('401 Bad credentials for a wrong token; without one 401 on writes and 404 on reads (a private repo)', async () => {
    const s = await start();
    const wrong = await api(s, 'GET', deploymentsPath, undefined, 'ghp_wrong');
    expect([wrong.status, wrong.body]).toEqual([
      401,
      { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' },
    ]);
    const wrongPost = await api(s, 'POST', deploymentsPath, { ref: SHA }, 'ghp_wrong');
    expect(wrongPost.status).toBe(401);
    const anonymousPost = await api(s, 'POST', deploymentsPath, { ref: SHA }, null);
    expect([anonymousPost.status, (anonymousPost.body as { message: string }).message]).toEqual([
      401,
      'Requires authentication',
    ]);
    const anonymousGet = await api(s, 'GET', deploymentsPath, undefined, null);
    expect([anonymousGet.status, (anonymousGet.body as { message: string }).message]).toEqual([
      404,
      'Not Found',
    ]);
    const tokenScheme = await fetch(`${s.url}${deploymentsPath}`, {
      headers: { authorization: `token ${s.token}` },
    });
    expect(tokenScheme.status).toBe(200);
  });

  test('a read-only token reads and gets 403 on writes; unknown repositories and deployments are 404', async () => {
    const s = await start({ readOnlyToken: 'ghs_readonly' });
    expect((await api(s, 'GET', deploymentsPath, undefined, 'ghs_readonly')).status).toBe(200);
    const denied = await api(s, 'POST', deploymentsPath, { ref: SHA }, 'ghs_readonly');
    expect([denied.status, denied.body]).toEqual([
      403,
      {
        message: 'Resource not accessible by integration',
        documentation_url: 'https://docs.github.com/rest/deployments/deployments#create-a-deployment',
        status: '403',
      },
    ]);
    const repo = await api(s, 'GET', '/repos/kiln-dev/nope/deployments');
    expect([repo.status, (repo.body as { message: string }).message]).toEqual([404, 'Not Found']);
    expect((await api(s, 'POST', `${deploymentsPath}/12/statuses`, { state: 'success' })).status).toBe(404);
  });

  test('failNext: a 5xx, a secondary rate limit with retry-after; then normal service', async () => {
    const s = await start();
    s.failNext(1, 502);
    s.failNext(1, 403, { 'Retry-After': '30' });
    const e502 = await api(s, 'GET', deploymentsPath);
    expect(e502.status).toBe(502);
    const limited = await api(s, 'GET', deploymentsPath);
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([403, '30']);
    expect((limited.body as { message: string }).message).toMatch(/secondary rate limit/);
    expect(basicError(limited.body)).toEqual([]);
    expect((await api(s, 'GET', deploymentsPath)).status).toBe(200);
    s.failNext(1, 500, {}, { method: 'POST' });
    expect((await api(s, 'GET', deploymentsPath)).status).toBe(200);
    expect((await api(s, 'POST', deploymentsPath, { ref: SHA })).status).toBe(500);
    expect(s.deployments()).toEqual([]);
  });

  test('the primary rate limit: x-ratelimit-* on every answer; 403 when exhausted', async () => {
    const s = await start();
    const r = await api(s, 'GET', deploymentsPath);
    expect(r.headers.get('x-ratelimit-limit')).toBe('5000');
    expect(r.headers.get('x-ratelimit-remaining')).toBe('4999');
    s.setRateLimit(0, 1_900_000_000);
    const out = await api(s, 'GET', deploymentsPath);
    expect([
      out.status,
      out.headers.get('x-ratelimit-remaining'),
      out.headers.get('x-ratelimit-reset'),
    ]).toEqual([403, '0', '1900000000']);
    expect((out.body as { message: string }).message).toMatch(/^API rate limit exceeded/);
  });

  test('stallNext: the request is read and never answered', async () => {
    const s = await start();
    s.stallNext(1);
    const abort = new AbortController();
    const pending = fetch(`${s.url}${deploymentsPath}`, {
      headers: { authorization: `Bearer ${s.token}` },
      signal: abort.signal,
    });
    await until(() => s.requests.length > 0, 'the fake received the request');
    abort.abort();
    await expect(pending).rejects.toThrow();
    expect((await api(s, 'GET', deploymentsPath)).status).toBe(200);
  });

  test('no User-Agent is 403; an unsupported API version is 400', async () => {
    const s = await start();
    const url = new URL(`${s.url}${deploymentsPath}`);
    const raw = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          headers: { authorization: `Bearer ${s.token}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(raw).toBe(403);
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${s.token}`, 'x-github-api-version': '2099-01-01' },
    });
    expect(res.status).toBe(400);
  });

  test('GitHub Enterprise Server: the API under /api/v3, links and URLs with it', async () => {
    const s = await start({ basePath: '/api/v3' });
    expect(s.url).toMatch(/\/api\/v3$/);
    const d = await create(s, { ref: SHA });
    expect(d.url).toBe(`${s.url}/repos/${REPO}/deployments/${String(d.id)}`);
    expect(s.requests.at(-1)?.path).toBe(`/repos/${REPO}/deployments`);
  });
});
