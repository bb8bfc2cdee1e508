/**
 * The copyable GitHub workflows in workflows-examples/github/ run for real: each file is loaded by GitHub's own
 * parser (`@actions/workflow-parser`) and validated by GitHub's language service (`@actions/languageservice`: every
 * `with:` key against the action's inputs, reusable-workflow inputs and secrets, step outputs, and the `vars` and
 * `secrets` names the file documents in its header), then run through test/harness/workflow.ts — jobs in `needs`
 * order, expressions evaluated by `@actions/expressions`, Kiln's steps as the committed bundles under the runner
 * contract — against a real registry (basic auth: the HARBOR_ROBOT/HARBOR_TOKEN settings), Marathon and Kubernetes
 * simulators per environment and datacenter (QA, AA, BB), and a local HTTP service as the app's URLs. Assertions are
 * what a user checks after a run: which jobs passed, what Marathon and Kubernetes run now, the registry's tags, the
 * release ledger's entries, that outputs chained from step to step, and that no secret reached a log or a file.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { closeHttpPools } from '../../packages/core/src/http/http.js';
import type { LedgerEntry } from '../../packages/core/src/ledger/entry.js';
import { RegistryLedger } from '../../packages/core/src/ledger/registry.js';
import { MemoryLogger } from '../../packages/core/src/platform/logger.js';
import { RegistryClient } from '../../packages/core/src/registry/index.js';
import { expectNoLeak, rawHead } from '../harness/assertions.js';
import { startServer, type TestServer } from '../harness/http-fixture.js';
import { listFiles, repoRoot, runBundle } from '../harness/runner.js';
import {
  examplesDir,
  kilnActionsUsed,
  loadWorkflow,
  runWorkflow,
  validateActionFile,
  validateWorkflow,
  type Diagnostic,
  type EnvironmentSettings,
  type WorkflowRun,
  type WorkflowRunOptions,
} from '../harness/workflow.js';
import { startKubeSim, type KubeSim } from '../sim/kube/server.js';
import { startMarathonSim, type JsonObject, type MarathonSim } from '../sim/marathon/server.js';
import { writeOciLayout } from '../sim/registry/oci-layout.js';
import { registryAvailable, startRegistry, type RunningRegistry } from '../sim/registry/registry.js';
import { removeDir } from '../sim/registry/util.js';

const SLOW = 120_000;
const ROBOT = 'robot-team';
const HARBOR_TOKEN = 'hrb-T0ken-9f2c41ab';
const MARATHON_USER = 'deployer';
const MARATHON_PASSWORD = 'mrt-Pa55-77e1d0';
const BASE = 'platform/java-runtime:21';
const DATACENTERS = ['AA', 'BB'] as const;
const ENVS = ['qa', ...DATACENTERS] as const;
type Env = (typeof ENVS)[number];

/** caller.yml without comments and blank lines: what the closing note of issue #14 reports. */
const CALLER_LINES = 20;
const file = (name: string) => join(examplesDir, name);
const examples = readdirSync(examplesDir).filter((f) => /\.ya?ml$/.test(f));
const REUSABLE = { './.github/workflows/reusable-pipeline.yml': file('reusable-pipeline.yml') };

/**
 * The settings names a file documents: upper-case words in its header comments (`HARBOR_TOKEN`, `APP_URL_AA`…); the
 * validator then flags any `vars.X` or `secrets.X` that the header does not mention.
 */
function documentedNames(name: string): string[] {
  const header = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith('#'))
      .join('\n');
  let text = header(readFileSync(file(name), 'utf8'));
  if (name === 'caller.yml') text += header(readFileSync(file('reusable-pipeline.yml'), 'utf8'));
  return [...new Set(text.match(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b[A-Z]{2,}\b/g) ?? [])];
}

/**
 * The language service evaluates `matrix.datacenter` as the whole list (`MARATHON_URL_Array`) and a `<DC>` name as
 * empty, so a name built with format() from the matrix cannot be checked by it: the runs below check those (an
 * unset variable is an empty URL, and the step fails).
 */
const dynamicName = (d: Diagnostic, text: string) =>
  /^Context access might be invalid: \w+_(Array)?$/.test(d.message) &&
  (text.split('\n')[d.line - 1] ?? '').includes('[format(');

async function diagnostics(name: string, text?: string): Promise<string[]> {
  const content = text ?? readFileSync(file(name), 'utf8');
  const names = documentedNames(name);
  const found = await validateWorkflow(file(name), {
    text: content,
    workflows: REUSABLE,
    vars: names,
    secrets: names,
  });
  return found.filter((d) => !dynamicName(d, content)).map((d) => `${d.line}: ${d.severity}: ${d.message}`);
}

describe('every example is a valid workflow for GitHub’s parser and language service', () => {
  test('the examples are the ones this file runs', () => {
    expect(examples.sort()).toEqual([
      'caller.yml',
      'canary.yml',
      'deploy-only.yml',
      'pipeline-k8s.yml',
      'pipeline-marathon.yml',
      'reusable-pipeline.yml',
      'rollback.yml',
      'smoke-test.yml',
    ]);
  });

  test.each(examples)('%s: parsed, converted and validated without a diagnostic', async (name) => {
    await loadWorkflow(file(name));
    expect(await diagnostics(name)).toEqual([]);
    for (const action of kilnActionsUsed(readFileSync(file(name), 'utf8')))
      expect(readdirSync(join(repoRoot, 'actions'))).toContain(action);
  });

  const broken: Array<[string, string, string, string, RegExp]> = [
    [
      'a misspelt input of a Kiln action',
      'deploy-only.yml',
      'require-verified: qa',
      'require-verifed: qa',
      /Invalid action input 'require-verifed'/,
    ],
    [
      'a misspelt input of a third-party action',
      'pipeline-marathon.yml',
      'password: ${{ secrets.HARBOR_TOKEN }}',
      'passwd: ${{ secrets.HARBOR_TOKEN }}',
      /Invalid action input 'passwd'/,
    ],
    [
      'an expression cut short',
      'pipeline-k8s.yml',
      'digest: ${{ needs.build.outputs.digest }}',
      'digest: ${{ needs.build.outputs.digest == }}',
      /Unexpected end of expression/,
    ],
    [
      'an output the job does not have',
      'pipeline-marathon.yml',
      'release-id: ${{ needs.build.outputs.version }}',
      'release-id: ${{ needs.build.outputs.versoin }}',
      /Context access might be invalid: versoin/,
    ],
    [
      'a secret the header does not document',
      'canary.yml',
      'secrets.KUBECONFIG_AA',
      'secrets.KUBE_CONFIG_AA',
      /Context access might be invalid: KUBE_CONFIG_AA/,
    ],
    [
      'an input the reusable workflow does not declare',
      'caller.yml',
      'repository: team/app',
      'repo: team/app',
      /Invalid input, repo is not defined in the referenced workflow/,
    ],
  ];
  test.each(broken)('a broken copy fails: %s', async (_what, name, from, to, message) => {
    const text = readFileSync(file(name), 'utf8');
    expect(text).toContain(from);
    const bad = text.replace(from, to);
    let found: string[];
    try {
      await loadWorkflow(file(name), bad);
      found = await diagnostics(name, bad);
    } catch (e) {
      found = [(e as Error).message];
    }
    expect(found).toContainEqual(expect.stringMatching(message));
  });

  /**
   * The runner loads an action.yml with the same template reader: an expression where none is allowed — even
   * `${{ github.token }}` written as prose in an input's description — fails the job before it starts ("Unrecognized
   * named-value: 'github' … Failed to load action.yml"). Every action.yml must be clean.
   */
  test.each(
    readdirSync(join(repoRoot, 'actions')).filter((d) =>
      existsSync(join(repoRoot, 'actions', d, 'action.yml')),
    ),
  )('actions/%s/action.yml as written (node24): what GitHub’s language service says', async (action) => {
    const found = await validateActionFile(join(repoRoot, 'actions', action, 'action.yml'));
    expect(found.map((d) => `${d.line}: ${d.message}`)).toEqual([]);
  });

  test('caller.yml: the lines a team writes for the whole pipeline (YAML, comments and blank lines aside)', () => {
    const lines = readFileSync(file('caller.yml'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
    expect(lines.length).toBeLessThan(40);
    expect(lines.length).toBe(CALLER_LINES);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The equipment

let work: string;
let registry: RunningRegistry;
let app: TestServer;
const marathon = {} as Record<Env, MarathonSim>;
const kube = {} as Record<Env, KubeSim>;
const kubeconfigs = {} as Record<Env, string>;
/** What the app's URL answers at /<env>/health_check: 200 unless a test says otherwise. */
const health: Record<string, number> = {};
const cleanups: Array<() => Promise<unknown>> = [];
let client: RegistryClient;
let seq = 0;

beforeAll(async () => {
  if (!registryAvailable())
    throw new Error('these tests need docker-registry (apt-get install docker-registry)');
  work = mkdtempSync(join(tmpdir(), 'kiln-github-'));
  cleanups.push(() => removeDir(work));
  const sims = await Promise.all([
    startRegistry({ logLevel: 'error', auth: { kind: 'basic', users: { [ROBOT]: HARBOR_TOKEN } } }),
    startServer(),
    ...ENVS.map(() =>
      startMarathonSim({
        timeScale: 1000,
        auth: { basic: { user: MARATHON_USER, password: MARATHON_PASSWORD } },
      }),
    ),
    ...ENVS.map((env) => startKubeSim({ timeScale: 200, tls: true, token: `kube-T0ken-${env}-5d1e` })),
  ]);
  registry = sims[0] as RunningRegistry;
  app = sims[1] as TestServer;
  cleanups.push(
    () => registry.stop(),
    () => app.close(),
  );
  ENVS.forEach((env, i) => {
    marathon[env] = sims[2 + i] as MarathonSim;
    kube[env] = sims[2 + ENVS.length + i] as KubeSim;
    kubeconfigs[env] = kube[env].kubeconfig();
    cleanups.push(
      () => marathon[env].close(),
      () => kube[env].close(),
    );
  });
  for (const env of ENVS)
    app.route(`/${env.toLowerCase()}/health_check`, (_req, res: ServerResponse) => {
      const code = health[env] ?? 200;
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: code === 200 ? 'UP' : 'DOWN' }));
    });
  // The base image the bakes append to, in the registry as the platform team keeps it.
  const base = await writeOciLayout(join(work, 'base'), { seed: 'java-runtime', randomBytes: 2048 });
  const pushed = await runBundle('push-registry', {
    with: {
      source: base.dir,
      destinations: `${registry.host}/${BASE}`,
      username: ROBOT,
      password: HARBOR_TOKEN,
    },
  });
  expect(pushed.exitCode).toBe(0);
  client = new RegistryClient({
    logger: new MemoryLogger(),
    env: { PATH: process.env.PATH, HOME: work },
    dockerConfigDir: join(work, 'no-docker-config'),
    explicitCredentials: { [registry.host]: { username: ROBOT, password: HARBOR_TOKEN } },
  });
}, SLOW);

afterAll(async () => {
  await closeHttpPools();
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

const basicAuth = () => `Basic ${Buffer.from(`${ROBOT}:${HARBOR_TOKEN}`).toString('base64')}`;
const appUrl = (env: Env) => `${app.url}/${env.toLowerCase()}`;

/** A Marathon app definition as the users write them (their scenario), for an environment. */
function appDefinition(profile: string, datacenter = ''): JsonObject {
  const users = JSON.parse(
    readFileSync(join(repoRoot, 'test', 'fixtures', 'marathon', 'scenario-qa-deploy.json'), 'utf8'),
  ) as JsonObject;
  return {
    ...users,
    id: '/app-name',
    args: [`--spring.profiles.active=${profile}`, ...(datacenter ? [`--datacenter=${datacenter}`] : [])],
  };
}

/** Kubernetes manifests as a team keeps them in k8s/: the image's repository with a tag, `${ENV}` filled in. */
const manifests = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 4
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: ${image}:latest
          env: [{ name: SPRING_PROFILES_ACTIVE, value: '\${ENV}' }]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
`;

/** A directory with these files (what a checkout copies). */
function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(work, 'repo-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text, { mode: name.endsWith('.sh') ? 0o755 : 0o644 });
  }
  return dir;
}

/** The app's repository: its build (the app and the commit it was built from into dist/) and deploy files. */
const BUILD = '#!/bin/sh\nset -e\nmkdir -p dist\necho "app built from $GITHUB_SHA" > dist/app.jar\n';

/** A new commit id each time: a new build, a new digest. */
const nextSha = () => createHash('sha1').update(`commit ${++seq}`).digest('hex');

/** An example with its placeholders replaced as a user edits them (each must be there). */
function adapt(name: string, replace: Record<string, string>): string {
  let text = readFileSync(file(name), 'utf8');
  for (const [from, to] of Object.entries(replace)) {
    if (!text.includes(from)) throw new Error(`${name} no longer says ${from}`);
    text = text.split(from).join(to);
  }
  return text;
}

const environments = (
  extra: Record<string, EnvironmentSettings> = {},
): Record<string, EnvironmentSettings> => ({
  qa: {
    vars: { MARATHON_URL: marathon.qa.url, APP_URL: appUrl('qa') },
    secrets: { KUBECONFIG: kubeconfigs.qa },
  },
  production: {
    reviewers: ['release-managers'],
    vars: Object.fromEntries(
      DATACENTERS.flatMap((dc) => [
        [`MARATHON_URL_${dc}`, marathon[dc].url],
        [`APP_URL_${dc}`, appUrl(dc)],
      ]),
    ),
    secrets: Object.fromEntries(DATACENTERS.map((dc) => [`KUBECONFIG_${dc}`, kubeconfigs[dc]])),
  },
  ...extra,
});

const settings = {
  vars: { HARBOR_ROBOT: ROBOT, MARATHON_USER },
  secrets: { HARBOR_TOKEN, MARATHON_PASSWORD },
};

function run(opts: Partial<WorkflowRunOptions> & Pick<WorkflowRunOptions, 'file' | 'event' | 'checkouts'>) {
  return runWorkflow({
    repository: 'example-org/app',
    settings,
    environments: environments(),
    work: mkdtempSync(join(work, 'run-')),
    ...opts,
  });
}

/** Job results by id, for one readable comparison. */
const results = (r: WorkflowRun) => Object.fromEntries(r.jobs.map((j) => [j.id, j.result]));

/** Why a run failed (each failed step's error and log), or '' when it passed. */
const failures = (r: WorkflowRun) =>
  r.jobs
    .flatMap((j) => [
      ...(j.error ? [`${j.id}: ${j.error}`] : []),
      ...j.steps
        .filter((s) => s.outcome === 'failure')
        .map((s) => `${j.id} › ${s.name}: ${s.error ?? ''}\n${s.log}`),
    ])
    .join('\n');

/** The warnings the steps printed (`::warning::` lines), by job and step. */
const warnings = (r: WorkflowRun) =>
  r.jobs.flatMap((j) => [
    ...j.warnings.map((w) => `${j.id}: ${w}`),
    ...j.steps.flatMap((s) =>
      s.log
        .split('\n')
        .filter((l) => l.startsWith('::warning'))
        .map((l) => `${j.id} › ${s.id}: ${l}`),
    ),
  ]);

/**
 * A clean run: no warning, and no secret anywhere — every Kiln step's raw output, outputs, summary and temp files,
 * every step's log, the jobs' outputs, and the files left in each job's workspace.
 */
function expectClean(r: WorkflowRun, ...secrets: string[]): void {
  expect(warnings(r)).toEqual([]);
  for (const secret of secrets) {
    for (const j of r.jobs)
      for (const [path, content] of j.workspace ? listFiles(j.workspace) : [])
        expect({ path, leaked: content.includes(secret) }).toEqual({ path, leaked: false });
    for (const j of r.jobs)
      for (const s of j.steps) {
        if (s.run) expectNoLeak(s.run, [s.run.dir], secret, ROBOT);
        expect(s.log).not.toContain(secret);
        expect(JSON.stringify(s.outputs)).not.toContain(secret);
      }
    for (const j of r.jobs) expect(JSON.stringify(j.outputs)).not.toContain(secret);
  }
}

/** What a Marathon runs now: its image and release label (read through its API, with the user's credentials). */
async function marathonApp(
  sim: MarathonSim,
): Promise<{ image: unknown; release: unknown; healthy: unknown; args: unknown }> {
  const res = await fetch(`${sim.url}/v2/apps/app-name`, {
    headers: {
      authorization: `Basic ${Buffer.from(`${MARATHON_USER}:${MARATHON_PASSWORD}`).toString('base64')}`,
    },
    signal: AbortSignal.timeout(5000),
  });
  const { app: a } = (await res.json()) as { app: JsonObject };
  return {
    image: ((a['container'] as JsonObject)['docker'] as JsonObject)['image'],
    release: (a['labels'] as JsonObject)['KILN_RELEASE_ID'],
    healthy: a['tasksHealthy'],
    args: a['args'],
  };
}

/** Requests that could change a Marathon (anything but GET). */
const changes = (sim: MarathonSim) => sim.requests.filter((q) => q.method !== 'GET').length;

/** An environment's ledger entries, newest first, as (event, id, digest, result, verdict). */
async function ledger(repository: string, environment: string) {
  const entries = await new RegistryLedger(client, { registry: registry.host, repository }).list(environment);
  return entries.map((e: LedgerEntry) => ({
    event: e.event,
    id: e.id,
    digest: e.digest,
    result: e.result,
    ...(e.verdict ? { verdict: e.verdict } : {}),
  }));
}

type Dep = { spec: { template: { spec: { containers: { image: string; env?: { value: string }[] }[] } } } };
const deployment = (env: Env, name = 'web') =>
  kube[env].get('apps/v1', 'Deployment', 'default', name) as Dep | undefined;
const kubeImage = (env: Env, name = 'web') => deployment(env, name)?.spec.template.spec.containers[0]?.image;

// ---------------------------------------------------------------------------------------------------------------

describe('pipeline-marathon.yml, deploy-only.yml and rollback.yml: one app’s releases on Marathon', () => {
  const repository = 'team/app';
  const image = () => `${registry.host}/${repository}`;
  let appRepo: string;
  let deployFiles: string;
  const digests: string[] = [];
  const versions: string[] = [];
  const text = () => adapt('pipeline-marathon.yml', { 'harbor.example.com': registry.host });

  beforeAll(() => {
    appRepo = repo({
      'build.sh': BUILD,
      'deploy/qa-deploy.json': JSON.stringify(appDefinition('qa'), null, 2),
      'deploy/production-deploy.json': JSON.stringify(appDefinition('production', '${DATACENTER}'), null, 2),
    });
    deployFiles = repo({
      'production-deploy.json': JSON.stringify(appDefinition('production', '${DATACENTER}'), null, 2),
      'yz-deploy.json': JSON.stringify(appDefinition('yz', '${DATACENTER}'), null, 2),
    });
  });

  test(
    'a push to main: bake, push, QA deployed and tested, approved, production AA then BB deployed and verified, all recorded',
    async () => {
      const sha = nextSha();
      const r = await run({
        file: file('pipeline-marathon.yml'),
        text: text(),
        event: { name: 'push', sha },
        checkouts: { 'example-org/app': appRepo },
      });
      expect({ result: r.result, failures: failures(r) }).toEqual({ result: 'success', failures: '' });
      expect(results(r)).toEqual({
        build: 'success',
        qa: 'success',
        'production (AA)': 'success',
        'production (BB)': 'success',
      });
      // The gate: both production legs waited for the review of `production`, and ran one after the other.
      expect(r.jobs.map((j) => [j.id, j.environment, j.review, j.concurrency])).toEqual([
        ['build', undefined, undefined, undefined],
        ['qa', 'qa', undefined, 'deploy-qa'],
        ['production (AA)', 'production', 'approved', 'deploy-production-AA'],
        ['production (BB)', 'production', 'approved', 'deploy-production-BB'],
      ]);
      expect(r.job('production (AA)').name).toBe('production AA');

      // Outputs chained with no shell glue: bake → push → job outputs → every deploy.
      const bake = r.step('build', 'bake');
      const push = r.step('build', 'push');
      const version = `sha-${sha.slice(0, 7)}`;
      expect(bake.outputs).toMatchObject({ builder: 'layer-append', version });
      expect(push.with).toMatchObject({
        source: bake.outputs['oci-layout'],
        destinations: image(),
        tags: version,
      });
      const digest = push.outputs['digest'] as string;
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(r.job('build').outputs).toEqual({ digest, version });
      for (const job of ['qa', 'production (AA)', 'production (BB)'])
        expect(r.step(job, 'deploy').with).toMatchObject({ image: image(), digest, 'release-id': version });
      expect(r.step('production (BB)', 'deploy').with).toMatchObject({
        'marathon-url': marathon.BB.url,
        vars: 'DATACENTER=BB',
        environment: 'production-BB',
      });

      // The registry: the version tag holds the digest, built on the base image.
      expect(await rawHead(registry.url, repository, version, basicAuth())).toBe(digest);
      expect(JSON.parse(bake.outputs['metadata'] as string)).toMatchObject({
        base: { ref: `${registry.host}/${BASE}` },
        layers: [{ source: 'directory dist → /app' }],
        git: { event: 'push', sha, branch: 'main', isDefaultBranch: true },
      });

      // Each Marathon runs the image pinned by digest, labelled with the release; the datacenter filled in.
      for (const env of ENVS) {
        expect(await marathonApp(marathon[env])).toEqual({
          image: `${image()}@${digest}`,
          release: version,
          healthy: 2,
          args:
            env === 'qa'
              ? ['--spring.profiles.active=qa']
              : ['--spring.profiles.active=production', `--datacenter=${env}`],
        });
      }

      // Recorded: in each environment's ledger, the deploy and its smoke test's passed verdict.
      for (const env of ['qa', 'production-AA', 'production-BB'])
        expect((await ledger(repository, env)).slice(0, 2)).toEqual([
          expect.objectContaining({ event: 'verify', digest, result: 'success', verdict: 'passed' }),
          { event: 'deploy', id: version, digest, result: 'success' },
        ]);
      expectClean(r, HARBOR_TOKEN, MARATHON_PASSWORD);
      digests.push(digest);
      versions.push(version);
    },
    SLOW,
  );

  test(
    'the next push, production rejected by the reviewer: QA runs and passes the new digest, production stays as it was',
    async () => {
      const before = { AA: changes(marathon.AA), BB: changes(marathon.BB) };
      const r = await run({
        file: file('pipeline-marathon.yml'),
        text: text(),
        event: { name: 'push', sha: nextSha() },
        checkouts: { 'example-org/app': appRepo },
        approve: (env) => env !== 'production',
      });
      expect(results(r)).toEqual({
        build: 'success',
        qa: 'success',
        'production (AA)': 'failure',
        'production (BB)': 'cancelled', // fail-fast: not started
      });
      expect(r.job('production (AA)')).toMatchObject({ review: 'rejected', steps: [] });
      const digest = r.job('build').outputs['digest'] as string;
      expect(digest).not.toBe(digests[0]);
      expect((await marathonApp(marathon.qa)).image).toBe(`${image()}@${digest}`);
      for (const dc of DATACENTERS) {
        expect((await marathonApp(marathon[dc])).image).toBe(`${image()}@${digests[0]}`);
        expect(changes(marathon[dc])).toBe(before[dc]);
      }
      digests.push(digest);
      versions.push(r.job('build').outputs['version'] as string);
    },
    SLOW,
  );

  test(
    'deploy-only.yml: the last digest that passed QA (no digest pasted) gets the release tag and goes to production AA',
    async () => {
      const r = await run({
        file: file('deploy-only.yml'),
        text: adapt('deploy-only.yml', { 'harbor.example.com': registry.host }),
        event: {
          name: 'workflow_dispatch',
          sha: nextSha(),
          inputs: { 'release-version': '1.4.2', datacenter: 'AA', environment: 'production' },
        },
        checkouts: { 'example-org/deploy-files': deployFiles },
      });
      expect({ result: r.result, failures: failures(r) }).toEqual({ result: 'success', failures: '' });
      expect(r.job('deploy')).toMatchObject({
        review: 'approved',
        environment: 'production',
        concurrency: 'deploy-production-AA',
      });
      // The second push's digest: it passed QA last, though production never ran it.
      expect(r.step('deploy', 'promote').outputs).toMatchObject({ digest: digests[1], result: 'pushed' });
      expect(await rawHead(registry.url, repository, '1.4.2', basicAuth())).toBe(digests[1]);
      expect(await marathonApp(marathon.AA)).toEqual({
        image: `${image()}@${digests[1]}`,
        release: '1.4.2',
        healthy: 2,
        args: ['--spring.profiles.active=production', '--datacenter=AA'],
      });
      expect((await marathonApp(marathon.BB)).image).toBe(`${image()}@${digests[0]}`);
      expect((await ledger(repository, 'production-AA')).slice(0, 2)).toEqual([
        expect.objectContaining({ event: 'verify', digest: digests[1], verdict: 'passed' }),
        { event: 'deploy', id: '1.4.2', digest: digests[1], result: 'success' },
      ]);
      expectClean(r, HARBOR_TOKEN, MARATHON_PASSWORD);
    },
    SLOW,
  );

  test(
    'a broken copy of deploy-only.yml (a misspelt input) also fails when run: nothing is tagged or deployed',
    async () => {
      const before = changes(marathon.AA);
      const r = await run({
        file: file('deploy-only.yml'),
        text: adapt('deploy-only.yml', {
          'harbor.example.com': registry.host,
          'require-verified:': 'require-verifed:',
        }),
        event: {
          name: 'workflow_dispatch',
          sha: nextSha(),
          inputs: { 'release-version': '1.4.3', datacenter: 'AA', environment: 'production' },
        },
        checkouts: { 'example-org/deploy-files': deployFiles },
      });
      expect(r.result).toBe('failure');
      expect(r.job('deploy').steps.map((s) => s.outcome)).toEqual([
        'success',
        'success',
        'failure',
        'skipped',
        'skipped',
      ]);
      // The runner's warning, then promote's one error line.
      expect(
        r
          .step('deploy', 'promote')
          .log.split('\n')
          .filter((l) => /^::(warning|error)::/.test(l)),
      ).toEqual([
        "::warning::Unexpected input(s) 'require-verifed'",
        expect.stringMatching(/^::error::.*require-verified/),
      ]);
      expect(await rawHead(registry.url, repository, '1.4.3', basicAuth())).toBeUndefined();
      expect(changes(marathon.AA)).toBe(before);
    },
    SLOW,
  );

  test(
    'rollback.yml: list shows both releases of production AA; to: previous puts the pipeline’s release back',
    async () => {
      const dispatch = (inputs: Record<string, string>) =>
        run({
          file: file('rollback.yml'),
          text: adapt('rollback.yml', { 'harbor.example.com': registry.host }),
          event: {
            name: 'workflow_dispatch',
            sha: nextSha(),
            inputs: { datacenter: 'AA', environment: 'production', ...inputs },
          },
          checkouts: { 'example-org/deploy-files': deployFiles },
        });
      const before = changes(marathon.AA);
      const listed = await dispatch({ list: 'true' });
      expect({ result: listed.result, failures: failures(listed) }).toEqual({
        result: 'success',
        failures: '',
      });
      expect(listed.step('rollback', 'Say what happened').outcome).toBe('skipped'); // `if: … && !inputs.list`
      const releases = JSON.parse(
        listed.step('rollback', 'rollback').outputs['releases'] ?? '[]',
      ) as LedgerEntry[];
      expect(releases.map((e) => e.id)).toEqual(expect.arrayContaining(['1.4.2', versions[0]]));
      expect(changes(marathon.AA)).toBe(before);

      const r = await dispatch({});
      expect({ result: r.result, failures: failures(r) }).toEqual({ result: 'success', failures: '' });
      expect(r.step('rollback', 'rollback').outputs).toMatchObject({
        result: 'rolled-back',
        'from-release': '1.4.2',
        'to-release': versions[0],
        'to-digest': digests[0],
      });
      expect(r.step('rollback', 'Say what happened').log).toBe(
        `result=rolled-back from=1.4.2 to=${versions[0]} (${digests[0]})\n`,
      );
      expect((await marathonApp(marathon.AA)).image).toBe(`${image()}@${digests[0]}`);
      expect((await ledger(repository, 'production-AA'))[0]).toMatchObject({
        event: 'rollback',
        digest: digests[0],
      });
      expectClean(r, HARBOR_TOKEN, MARATHON_PASSWORD);
    },
    SLOW,
  );

  test(
    'a push whose QA deploy fails (the new version crash-loops): QA rolled back, production skipped',
    async () => {
      // Every version of the image crash-loops on QA's Marathon from now on (the rollback too: QA ends failed).
      marathon.qa.setScenario(image(), { kind: 'crash-loop' } as never);
      const before = { AA: marathon.AA.requests.length, BB: marathon.BB.requests.length };
      try {
        const r = await run({
          file: file('pipeline-marathon.yml'),
          text: text(),
          event: { name: 'push', sha: nextSha() },
          checkouts: { 'example-org/app': appRepo },
        });
        expect(results(r)).toEqual({ build: 'success', qa: 'failure', production: 'skipped' });
        // checkout, login, the deploy that failed; the smoke test never ran.
        expect(r.job('qa').steps.map((s) => s.outcome)).toEqual(['success', 'success', 'failure', 'skipped']);
        for (const dc of DATACENTERS) expect(marathon[dc].requests.length).toBe(before[dc]);
        expectClean(r, HARBOR_TOKEN, MARATHON_PASSWORD);
      } finally {
        marathon.qa.setScenario(image(), { kind: 'healthy' } as never);
      }
    },
    SLOW,
  );
});

describe('pipeline-k8s.yml and canary.yml: one app’s releases on Kubernetes', () => {
  const repository = 'team/web';
  const image = () => `${registry.host}/${repository}`;
  let appRepo: string;
  const digests: string[] = [];
  const placeholders = () => ({
    'harbor.example.com/team/app': image(),
    'harbor.example.com': registry.host,
  });

  beforeAll(() => {
    appRepo = repo({ 'build.sh': BUILD, 'k8s/app.yaml': manifests(image()) });
  });

  const pipeline = (approve?: (env: string) => boolean) =>
    run({
      file: file('pipeline-k8s.yml'),
      text: adapt('pipeline-k8s.yml', placeholders()),
      event: { name: 'push', sha: nextSha() },
      checkouts: { 'example-org/app': appRepo },
      ...(approve ? { approve } : {}),
    });

  test(
    'a push to main: QA, then production AA and BB run the digest, `${ENV}` filled in, every deploy and verdict recorded',
    async () => {
      const r = await pipeline();
      expect({ result: r.result, failures: failures(r) }).toEqual({ result: 'success', failures: '' });
      expect(results(r)).toEqual({
        build: 'success',
        qa: 'success',
        'production (AA)': 'success',
        'production (BB)': 'success',
      });
      const digest = r.job('build').outputs['digest'] as string;
      const version = r.job('build').outputs['version'] as string;
      for (const [env, profile] of [
        ['qa', 'qa'],
        ['AA', 'production'],
        ['BB', 'production'],
      ] as const) {
        expect(kubeImage(env)).toBe(`${image()}@${digest}`);
        expect(deployment(env)?.spec.template.spec.containers[0]?.env?.[0]?.value).toBe(profile);
      }
      expect(r.step('production (AA)', 'deploy').outputs).toMatchObject({
        result: 'deployed',
        'release-id': version,
      });
      for (const env of ['qa', 'production-AA', 'production-BB'])
        expect((await ledger(repository, env)).slice(0, 2)).toEqual([
          expect.objectContaining({ event: 'verify', digest, verdict: 'passed' }),
          { event: 'deploy', id: version, digest, result: 'success' },
        ]);
      // The kubeconfigs (secrets, with the clusters' tokens) are in no log and no file.
      expectClean(r, HARBOR_TOKEN, ...ENVS.map((e) => kube[e].token as string));
      digests.push(digest);
    },
    SLOW,
  );

  test(
    'the next push, production not approved: its digest passes QA and waits; production keeps the first',
    async () => {
      const r = await pipeline((env) => env !== 'production');
      expect(results(r)).toMatchObject({ qa: 'success', 'production (AA)': 'failure' });
      const digest = r.job('build').outputs['digest'] as string;
      expect(kubeImage('qa')).toBe(`${image()}@${digest}`);
      expect(kubeImage('AA')).toBe(`${image()}@${digests[0]}`);
      digests.push(digest);
    },
    SLOW,
  );

  const canary = (inputs: Record<string, string>) =>
    run({
      file: file('canary.yml'),
      text: adapt('canary.yml', placeholders()),
      event: { name: 'workflow_dispatch', sha: nextSha(), inputs },
      checkouts: { 'example-org/app': appRepo },
    });

  test(
    'canary.yml: a digest that never passed QA is refused before the cluster is touched',
    async () => {
      const layout = await writeOciLayout(join(work, 'unverified'), { seed: 'unverified', randomBytes: 512 });
      const pushed = await runBundle('push-registry', {
        with: {
          source: layout.dir,
          destinations: `${image()}:unverified`,
          username: ROBOT,
          password: HARBOR_TOKEN,
        },
      });
      expect(pushed.exitCode).toBe(0);
      const unverified = pushed.outputs.get('digest') as string;
      const seen = kube.AA.requests.filter((q) => q.method !== 'GET').length;
      const r = await canary({ action: 'deploy', digest: unverified });
      expect(r.result).toBe('failure');
      expect(r.job('canary').steps.map((s) => s.outcome)).toEqual([
        'success',
        'success',
        'failure',
        'skipped',
      ]);
      expect(r.job('canary').steps[2]?.log).toMatch(new RegExp(`::error::.*${unverified.slice(7, 19)}.*qa`));
      expect(kube.AA.requests.filter((q) => q.method !== 'GET').length).toBe(seen);
      expect(deployment('AA', 'web-canary')).toBeUndefined();
    },
    SLOW,
  );

  test(
    'canary.yml: deploy the digest that passed QA beside the stable version, then promote it (recorded); deploy another and reject it',
    async () => {
      const deployed = await canary({ action: 'deploy', digest: digests[1] as string, percentage: '25' });
      expect({ result: deployed.result, failures: failures(deployed) }).toEqual({
        result: 'success',
        failures: '',
      });
      expect(deployed.step('canary', 'canary').outputs).toMatchObject({ result: 'canary-deployed' });
      expect(kubeImage('AA', 'web-canary')).toBe(`${image()}@${digests[1]}`);
      expect(kubeImage('AA')).toBe(`${image()}@${digests[0]}`);
      expect(await rawHead(registry.url, repository, 'canary', basicAuth())).toBe(digests[1]);

      const promoted = await canary({ action: 'promote', digest: digests[1] as string });
      expect({ result: promoted.result, failures: failures(promoted) }).toEqual({
        result: 'success',
        failures: '',
      });
      // The gate is only for `deploy`: a promote or reject acts on what the canary runs.
      expect(promoted.job('canary').steps.map((s) => s.outcome)).toEqual([
        'success',
        'success',
        'skipped',
        'success',
      ]);
      expect(promoted.step('canary', 'canary').outputs).toMatchObject({ result: 'promoted' });
      expect(kubeImage('AA')).toBe(`${image()}@${digests[1]}`);
      expect(deployment('AA', 'web-canary')).toBeUndefined();
      expect((await ledger(repository, 'production-AA'))[0]).toMatchObject({
        event: 'deploy',
        digest: digests[1],
        result: 'success',
      });

      expect((await canary({ action: 'deploy', digest: digests[0] as string })).result).toBe('success');
      expect(kubeImage('AA', 'web-canary')).toBe(`${image()}@${digests[0]}`);
      const rejected = await canary({ action: 'reject', digest: digests[0] as string });
      expect(rejected.step('canary', 'canary').outputs).toMatchObject({ result: 'rejected' });
      expect(deployment('AA', 'web-canary')).toBeUndefined();
      expect(kubeImage('AA')).toBe(`${image()}@${digests[1]}`);
      expectClean(rejected, HARBOR_TOKEN, kube.AA.token as string);
    },
    SLOW,
  );
});

describe('caller.yml calling reusable-pipeline.yml: the whole pipeline in the few lines a team writes', () => {
  const repository = 'team/svc';
  const image = () => `${registry.host}/${repository}`;

  test(
    'Marathon: build, QA, production AA and BB as the called workflow’s jobs; its outputs reach the caller',
    async () => {
      const definition = {
        ...appDefinition('${ENV}', '${DATACENTER}'),
        id: '/svc',
      };
      const appRepo = repo({ 'build.sh': BUILD, 'deploy/app.json': JSON.stringify(definition, null, 2) });
      const r = await run({
        file: file('caller.yml'),
        text: adapt('caller.yml', { 'harbor.example.com': registry.host, 'team/app': repository }),
        event: { name: 'push', sha: nextSha() },
        checkouts: { 'example-org/app': appRepo },
        workflows: REUSABLE,
      });
      expect({ result: r.result, failures: failures(r) }).toEqual({ result: 'success', failures: '' });
      expect(results(r)).toEqual({
        'pipeline/build': 'success',
        'pipeline/qa': 'success',
        'pipeline/production (AA)': 'success',
        'pipeline/production (BB)': 'success',
      });
      expect(r.job('pipeline/production (BB)')).toMatchObject({
        name: 'pipeline / production BB',
        environment: 'production',
        review: 'approved',
        concurrency: 'deploy-production-BB',
      });
      const { digest, version } = r.job('pipeline/build').outputs;
      expect(r.called['pipeline']).toEqual({ result: 'success', outputs: { digest, version } });
      // Marathon steps ran, Kubernetes ones were skipped (no manifests given).
      expect(r.job('pipeline/qa').steps.map((s) => [s.id, s.outcome])).toEqual([
        ['__actions_checkout', 'success'],
        ['__docker_login-action', 'success'],
        ['marathon', 'success'],
        ['k8s', 'skipped'],
        [expect.any(String), 'success'],
      ]);
      for (const [env, profile, dc] of [
        ['qa', 'qa', 'qa'],
        ['AA', 'production', 'AA'],
        ['BB', 'production', 'BB'],
      ] as const) {
        const a = marathon[env].app('/svc');
        expect(a).toBeDefined();
        const res = await fetch(`${marathon[env].url}/v2/apps/svc`, {
          headers: {
            authorization: `Basic ${Buffer.from(`${MARATHON_USER}:${MARATHON_PASSWORD}`).toString('base64')}`,
          },
        });
        const { app: got } = (await res.json()) as { app: JsonObject };
        expect({
          image: ((got['container'] as JsonObject)['docker'] as JsonObject)['image'],
          args: got['args'],
        }).toEqual({
          image: `${image()}@${digest}`,
          args: [`--spring.profiles.active=${profile}`, `--datacenter=${dc}`],
        });
      }
      for (const env of ['qa', 'production-AA', 'production-BB'])
        expect((await ledger(repository, env)).map((e) => [e.event, e.digest])).toEqual([
          ['verify', digest],
          ['deploy', digest],
        ]);
      expectClean(r, HARBOR_TOKEN, MARATHON_PASSWORD);
    },
    SLOW,
  );

  test(
    'Kubernetes: the same reusable workflow with `manifests` instead: the Kubernetes steps run, the Marathon ones not',
    async () => {
      const api = `${registry.host}/team/api`;
      const k8s = manifests(api)
        .replace(/\bweb\b/g, 'api')
        .replace(
          "env: [{ name: SPRING_PROFILES_ACTIVE, value: '${ENV}' }]",
          "env: [{ name: SPRING_PROFILES_ACTIVE, value: '${ENV}' }, { name: DC, value: '${DATACENTER}' }]",
        );
      // A team on Kubernetes: caller.yml with `manifests` for `app-definition`, and no Marathon password.
      const text = adapt('caller.yml', {
        'harbor.example.com': registry.host,
        'team/app': 'team/api',
        'app-definition: deploy/app.json': 'manifests: k8s/',
        '      marathon-password: ${{ secrets.MARATHON_PASSWORD }}\n': '',
      });
      const r = await run({
        file: file('caller.yml'),
        text,
        event: { name: 'push', sha: nextSha() },
        checkouts: { 'example-org/app': repo({ 'build.sh': BUILD, 'k8s/app.yaml': k8s }) },
        workflows: REUSABLE,
      });
      expect({ result: r.result, failures: failures(r) }).toEqual({ result: 'success', failures: '' });
      expect(r.job('pipeline/production (AA)').steps.map((s) => [s.id, s.outcome])).toEqual([
        ['__actions_checkout', 'success'],
        ['__docker_login-action', 'success'],
        ['marathon', 'skipped'],
        ['k8s', 'success'],
        [expect.any(String), 'success'],
      ]);
      const digest = r.called['pipeline']?.outputs['digest'];
      for (const [env, profile, dc] of [
        ['qa', 'qa', 'qa'],
        ['AA', 'production', 'AA'],
        ['BB', 'production', 'BB'],
      ] as const) {
        const container = deployment(env, 'api')?.spec.template.spec.containers[0];
        expect([container?.image, container?.env?.map((e) => e.value)]).toEqual([
          `${api}@${digest}`,
          [profile, dc],
        ]);
      }
      expectClean(r, HARBOR_TOKEN, ...ENVS.map((e) => kube[e].token as string));
    },
    SLOW,
  );

  test('a caller that leaves out a required input is refused before any job runs', async () => {
    await expect(
      run({
        file: file('caller.yml'),
        text: adapt('caller.yml', { '      base-image: harbor.example.com/platform/java-runtime:21\n': '' }),
        event: { name: 'push', sha: nextSha() },
        checkouts: {},
        workflows: REUSABLE,
      }),
    ).rejects.toThrow(
      "pipeline: input 'base-image' is required by ./.github/workflows/reusable-pipeline.yml",
    );
  });
});

describe('smoke-test.yml: the QA smoke test with a checks file', () => {
  const QA_API_TOKEN = 'qa-Api-T0ken-3c9e5f';
  test(
    'passes against QA, keeps the reports as an artifact, says the verdict; the token is in no log',
    async () => {
      const json = (res: ServerResponse, status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const qa = await startServer({
        '/api/version': (req, res) =>
          req.headers.authorization === `Bearer ${QA_API_TOKEN}`
            ? json(res, 200, { version: '1.4.2' })
            : json(res, 401, {}),
        '/health_check': (req, res) =>
          req.headers.authorization === `Bearer ${QA_API_TOKEN}`
            ? json(res, 200, { status: 'UP' })
            : json(res, 401, {}),
      });
      cleanups.push(() => qa.close());
      const checkout = repo({
        'workflows-examples/smoke/qa.yml': readFileSync(
          join(repoRoot, 'workflows-examples', 'smoke', 'qa.yml'),
          'utf8',
        ),
      });
      const r = await run({
        file: file('smoke-test.yml'),
        event: { name: 'workflow_dispatch', sha: nextSha(), inputs: { version: '1.4.2' } },
        checkouts: { 'example-org/app': checkout },
        environments: { qa: { vars: { QA_BASE_URL: qa.url }, secrets: { QA_API_TOKEN } } },
      });
      expect({ result: r.result, failures: failures(r) }).toEqual({ result: 'success', failures: '' });
      expect(r.step('smoke', 'smoke').outputs).toMatchObject({ verdict: 'pass', failed: '0' });
      expect(r.step('smoke', 'Say what happened').log).toBe('verdict=pass passed=2 failed=0\n');
      const artifacts = join(dirname(r.job('smoke').workspace as string), '..', 'artifacts', 'smoke-reports');
      expect(readdirSync(artifacts).sort()).toEqual(['smoke-test.json', 'smoke-test.junit.xml']);
      expect(qa.requests.every((q) => q.headers.authorization === `Bearer ${QA_API_TOKEN}`)).toBe(true);
      expectClean(r, QA_API_TOKEN);
    },
    SLOW,
  );
});
