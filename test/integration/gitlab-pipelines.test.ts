/**
 * The copyable GitLab pipelines in workflows-examples/gitlab/ run for real with gitlab-ci-local (shell executor,
 * one isolated checkout per job): each job installs the `kiln` CLI as the example says (`npm install -g
 * "${KILN_PACKAGE:-kiln-ci@…}"`, here with KILN_PACKAGE the kiln-ci tarball `npm pack` makes from this checkout,
 * into a fresh npm prefix per pipeline, offline), a real registry with basic auth (the job's CI_REGISTRY_*
 * variables), the Marathon simulator as each environment's Marathon, and a local HTTP service as QA. Assertions are what a user checks after a pipeline: did it pass, which jobs ran, what the registry and
 * Marathon hold now, which artifacts were kept, and that no secret shows up in the job log or the files left.
 */
import { packCli } from '../harness/pack-cli.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { killLiveGroups, runGroup } from '../harness/group-process.js';
import { expectNoLeak, rawHead } from '../harness/assertions.js';
import { startServer, type TestServer } from '../harness/http-fixture.js';
import { hostNode, repoRoot } from '../harness/runner.js';
import type { ChildResult } from '../harness/tsx.js';
import { startMarathonSim, type JsonObject, type MarathonSim } from '../sim/marathon/server.js';
import { writeOciLayout, type OciLayoutImage } from '../sim/registry/oci-layout.js';
import { registryAvailable, startRegistry, type RunningRegistry } from '../sim/registry/registry.js';
import { createSkopeo, skopeoAvailable, type Skopeo } from '../sim/registry/skopeo.js';
import { removeDir, which } from '../sim/registry/util.js';
import { parse as parseYaml } from 'yaml';

/** Not a dependency in package.json (its native re2 compiles for minutes): .ci/run installs it into .tools/. */
const GITLAB_CI_LOCAL_VERSION = '4.60.1';
const GITLAB_CI_LOCAL =
  process.env.GITLAB_CI_LOCAL ??
  join(repoRoot, '.tools', 'node_modules', 'gitlab-ci-local', 'src', 'index.js');
const EXAMPLES = join(repoRoot, 'workflows-examples');
/** A string as a literal in a RegExp. */
const quote = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** GitLab's CI_REGISTRY_USER is `gitlab-ci-token`; CI_REGISTRY_PASSWORD is the job token. */
const REGISTRY_USER = 'gitlab-ci-token';
const REGISTRY_PASSWORD = 'glcbt-64_Job-T0ken-kiln';
const QA_API_TOKEN = 'qa-Api-T0ken-5f3c9e';
/** What Marathon ran before this release (some earlier digest). */
const OLD_DIGEST = `sha256:${'11'.repeat(32)}`;

let work: string;
let home: string;
/** The kiln-ci package as `npm pack` makes it from this checkout (what the examples' KILN_PACKAGE may name). */
let kilnPackage: string;
let registry: RunningRegistry;
let skopeo: Skopeo;
let seq = 0;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  if (!registryAvailable() || !skopeoAvailable())
    throw new Error('these tests need docker-registry and skopeo (apt-get install docker-registry skopeo)');
  for (const tool of ['git', 'rsync', 'bash'])
    if (!which(tool)) throw new Error(`gitlab-ci-local needs ${tool} on PATH`);
  if (!existsSync(GITLAB_CI_LOCAL))
    throw new Error(
      `gitlab-ci-local is not at ${GITLAB_CI_LOCAL}: run .ci/run or ` +
        `npm install --prefix .tools gitlab-ci-local@${GITLAB_CI_LOCAL_VERSION} (or set GITLAB_CI_LOCAL)`,
    );
  try {
    execFileSync(hostNode(), [GITLAB_CI_LOCAL, '--version'], { stdio: 'pipe', timeout: 30_000 });
  } catch (e) {
    throw new Error(
      `gitlab-ci-local does not run (${String(e).split('\n')[0]}): its re2 needs make, g++ and python3 when ` +
        `it is installed; run .ci/run or npm install --prefix .tools gitlab-ci-local@${GITLAB_CI_LOCAL_VERSION}`,
    );
  }
  work = mkdtempSync(join(tmpdir(), 'kiln-gitlab-'));
  cleanups.push(() => removeDir(work));
  // gitlab-ci-local reads $HOME/.gitlab-ci-local/variables.yml: an empty HOME keeps the user's own out.
  home = join(work, 'home');
  mkdirSync(home);
  kilnPackage = packCliHere();
  const started = await Promise.all([
    startRegistry({
      logLevel: 'error',
      auth: { kind: 'basic', users: { [REGISTRY_USER]: REGISTRY_PASSWORD } },
    }),
    createSkopeo(),
  ]);
  [registry, skopeo] = started;
  cleanups.push(
    () => registry.stop(),
    () => skopeo.close(),
  );
}, 120_000);

afterAll(async () => {
  killLiveGroups();
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** PATH without node_modules directories (npm puts node@24 first there inside scripts): this machine's Node. */
const plainPath = (): string[] =>
  (process.env.PATH ?? '').split(delimiter).filter((p) => p && !p.includes('node_modules'));

/** The packed kiln-ci (test/harness/pack-cli.ts), with this test's npm cache. */
function packCliHere(): string {
  return packCli(work, {
    PATH: [dirname(hostNode()), ...plainPath()].join(delimiter),
    HOME: home,
    npm_config_cache: join(work, 'npm-cache'),
    npm_config_update_notifier: 'false',
  }).tarball;
}

/** A GitLab project checkout: the files committed on `main`, `origin` a GitLab URL (gitlab-ci-local reads it). */
function project(files: Record<string, string>, untracked: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(work, 'project-'));
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: dir,
      stdio: 'pipe',
      timeout: 10_000,
      env: { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1' },
    });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Dev Ops'); // GITLAB_USER_NAME / _EMAIL in gitlab-ci-local
  git('config', 'user.email', 'devops@example.com');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  git('add', '-A');
  git('commit', '-q', '-m', 'pipeline');
  git('remote', 'add', 'origin', 'https://gitlab.example.com/team/app.git');
  git('update-ref', 'refs/remotes/origin/main', 'HEAD');
  git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
  for (const [name, text] of Object.entries(untracked)) writeFileSync(join(dir, name), text);
  return dir;
}

interface PipelineRun extends ChildResult {
  /** stdout and stderr, ANSI escapes removed. */
  log: string;
  timedOut: boolean;
}

/**
 * Runs `gitlab-ci-local` in `dir` under this machine's Node (its re2 addon is built for it), shell executor with
 * one isolated checkout per job (as a runner gives each job). The runner's environment is a fresh global npm
 * prefix (its bin/ first on PATH, as in a node image) with npm kept offline, and KILN_PACKAGE (a CI/CD variable)
 * names the packed kiln-ci, so each job's `before_script` installs this checkout's `kiln` the way a user's job
 * installs the published one. `vars` become `--variable` (pipeline variables: in GitLab they win over the YAML's
 * `variables:`, as here). Killed, with everything it started, after `timeoutMs`.
 */
function gitlabCiLocal(
  dir: string,
  vars: Record<string, string>,
  extra: string[] = [],
  timeoutMs = 60_000,
): Promise<PipelineRun> {
  const prefix = mkdtempSync(join(work, 'npm-prefix-'));
  const args = [
    GITLAB_CI_LOCAL,
    '--cwd',
    '.', // an absolute --cwd is refused ("Please use relative path for the --cwd option")
    '--home',
    home,
    '--shell-isolation',
    '--no-artifacts-to-source', // artifacts stay where GitLab keeps them, not copied back into the checkout
    '--shell-executor-no-image',
    '--no-color',
    '--max-job-name-padding',
    '0',
    ...Object.entries({ KILN_PACKAGE: kilnPackage, ...vars }).flatMap(([k, v]) => [
      '--variable',
      `${k}=${v}`,
    ]),
    ...extra,
  ];
  const path = [join(prefix, 'bin'), ...plainPath()].join(delimiter);
  return runGroup(hostNode(), args, {
    cwd: dir,
    env: {
      PATH: path,
      HOME: home,
      LANG: 'C.UTF-8',
      NO_COLOR: '1',
      TMPDIR: work,
      npm_config_prefix: prefix,
      npm_config_cache: join(work, 'npm-cache'),
      npm_config_offline: 'true', // the tarball needs nothing from a registry
      npm_config_update_notifier: 'false',
    },
    timeoutMs,
  });
}

/** Lines the job printed (`<job> > …`). */
const jobLines = (r: PipelineRun, job: string): string[] =>
  r.log
    .split('\n')
    .filter((l) => l.startsWith(`${job} > `))
    .map((l) => l.slice(job.length + 3));

/** Parses a dotenv artifact as GitLab reads it. */
function dotenvOf(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/**
 * An example pipeline as the shell executor runs it: without its `image: node:24-slim` line(s). No Docker here, and
 * gitlab-ci-local gives a job that names an image CI_PROJECT_DIR=/builds/… even when forced onto the shell
 * executor; this machine's Node (≥ 20.18, with npm) stands in for the image. Everything else runs as written.
 */
function shellExample(file: string, images: number): string {
  const text = readFileSync(join(EXAMPLES, 'gitlab', file), 'utf8');
  const lines = text.split('\n');
  const kept = lines.filter((l) => !/^\s*image: node:24-slim\s*$/.test(l));
  if (lines.length - kept.length !== images)
    throw new Error(
      `${file}: expected ${images} 'image: node:24-slim' line(s), found ${lines.length - kept.length}`,
    );
  return kept.join('\n');
}

const artifact = (dir: string, job: string, ...path: string[]): string =>
  join(dir, '.gitlab-ci-local', 'artifacts', job, ...path);

const dotenvReport = (dir: string, job: string, file: string): string =>
  artifact(dir, job, '.gitlab-ci-reports', 'dotenv', file);

describe('deploy-only.gitlab-ci.yml: promote the tested digest, deploy it to a datacenter’s Marathon', () => {
  const example = shellExample('deploy-only.gitlab-ci.yml', 1);
  const basicAuth = `Basic ${Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString('base64')}`;
  const repo = 'team/app';
  const image = () => `${registry.host}/${repo}`;

  /** The users' app definition (scenario.md) for an environment; lower-case id: Marathon refuses `/appName`. */
  const users = JSON.parse(
    readFileSync(join(repoRoot, 'test', 'fixtures', 'marathon', 'scenario-qa-deploy.json'), 'utf8'),
  ) as JsonObject;
  const appDefinition = (env: string): JsonObject => ({
    ...users,
    id: '/app-name',
    args: [`--spring.profiles.active=${env}`],
    labels: { ...(users['labels'] as JsonObject), HAPROXY_0_VHOST: `${env}.app.example.com` },
  });

  let yz: MarathonSim;
  let prod: MarathonSim;
  /** The app behind each environment's APP_URL (what the smoke job checks): counts /health_check calls. */
  let app: TestServer;
  const smokeCalls: Record<string, number> = { yz: 0, prod: 0 };

  beforeAll(async () => {
    [yz, prod, app] = await Promise.all([
      startMarathonSim({ timeScale: 1000 }),
      startMarathonSim({ timeScale: 1000 }),
      startServer(),
    ]);
    for (const env of ['yz', 'prod'])
      app.route(`/${env}/health_check`, (_req, res) => {
        smokeCalls[env]!++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"UP"}');
      });
    cleanups.push(
      () => yz.close(),
      () => prod.close(),
      () => app.close(),
    );
  });

  /** The app runs `image@OLD_DIGEST` on `sim` (deployed straight through the API); resolves when it is done. */
  async function running(sim: MarathonSim, env: string): Promise<void> {
    const def = appDefinition(env);
    const container = def['container'] as JsonObject;
    const body = {
      ...def,
      container: {
        ...container,
        docker: { ...(container['docker'] as JsonObject), image: `${image()}@${OLD_DIGEST}` },
      },
    };
    const res = await fetch(`${sim.url}/v2/apps/app-name?force=true`, {
      method: 'PUT',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBeLessThan(300);
    const { deploymentId } = (await res.json()) as { deploymentId: string };
    await sim.waitFor(() => !sim.deployments().some((d) => d['id'] === deploymentId), { timeoutMs: 5000 });
  }

  /** What Marathon runs now, read through its API as a user would. */
  async function marathonImage(
    sim: MarathonSim,
  ): Promise<{ image: unknown; labels: JsonObject; healthy: number }> {
    const res = await fetch(`${sim.url}/v2/apps/app-name`, { signal: AbortSignal.timeout(5000) });
    const { app } = (await res.json()) as { app: JsonObject };
    return {
      image: ((app['container'] as JsonObject)['docker'] as JsonObject)['image'],
      labels: app['labels'] as JsonObject,
      healthy: app['tasksHealthy'] as number,
    };
  }

  const puts = (sim: MarathonSim): number => sim.requests.filter((r) => r.method !== 'GET').length;

  /** A fresh image pushed as `<CI_REGISTRY_IMAGE>:test` (the QA-tested image) with skopeo. */
  async function seedTestImage(): Promise<OciLayoutImage> {
    const img = await writeOciLayout(join(work, `layout-${++seq}`), {
      seed: `gitlab-${seq}`,
      randomBytes: 4096,
    });
    const pushed = await skopeo.copyTo(img.ref, `docker://${image()}:test`, {
      creds: `${REGISTRY_USER}:${REGISTRY_PASSWORD}`,
      extra: ['--preserve-digests'],
      timeoutMs: 20_000,
    });
    expect(pushed).toMatchObject({ code: 0 });
    expect(await rawHead(registry.url, repo, 'test', basicAuth)).toBe(img.manifest.digest);
    return img;
  }

  /** The example as .gitlab-ci.yml, the deploy repository's files, MARATHON_URL and APP_URL scoped per environment. */
  function deployProject(): string {
    return project(
      {
        '.gitlab-ci.yml': example,
        'deploy/yz-deploy.json': JSON.stringify(appDefinition('yz'), null, 2),
        'deploy/prod-deploy.json': JSON.stringify(appDefinition('prod'), null, 2),
      },
      {
        // CI/CD variables scoped to environments, as in Settings › CI/CD › Variables (gitlab-ci-local's format).
        '.gitlab-ci-local-variables.yml': [
          'MARATHON_URL:',
          '  type: variable',
          '  values:',
          `    yz-AA: ${yz.url}`,
          `    prod-AA: ${prod.url}`,
          'APP_URL:',
          '  type: variable',
          '  values:',
          `    yz-AA: ${app.url}/yz`,
          `    prod-AA: ${app.url}/prod`,
          '',
        ].join('\n'),
      },
    );
  }

  /** "Run pipeline" with the deploy-only job's variables. */
  const runVars = (release: string, testedDigest: string, targetEnv: string): Record<string, string> => ({
    GITLAB_CI: 'true', // gitlab-ci-local says "false"; every GitLab job has "true"
    CI_PIPELINE_SOURCE: 'web',
    CI_REGISTRY: registry.host,
    CI_REGISTRY_IMAGE: image(),
    CI_REGISTRY_USER: REGISTRY_USER,
    CI_REGISTRY_PASSWORD: REGISTRY_PASSWORD,
    RELEASE_VERSION: release,
    TESTED_DIGEST: testedDigest,
    TARGET_ENV: targetEnv,
    DATACENTER: 'AA',
  });

  test('yz: the tested digest gets the release tag, the deploy job gets DIGEST, Marathon runs image@digest, the smoke test passes', async () => {
    smokeCalls['yz'] = 0;
    const img = await seedTestImage();
    await running(yz, 'yz');
    const prodBefore = puts(prod);
    const dir = deployProject();
    const r = await gitlabCiLocal(dir, runVars('1.4.2', img.manifest.digest, 'yz'));
    expect({ exitCode: r.exitCode, timedOut: r.timedOut, log: r.exitCode === 0 ? '' : r.log }).toEqual({
      exitCode: 0,
      timedOut: false,
      log: '',
    });
    expect(r.log).toMatch(/^ PASS +promote$/m);
    expect(r.log).toMatch(/^ PASS +deploy$/m);
    // Each job installed kiln-ci (the packed tarball, offline) in before_script, as the example says; here the
    // jobs share the runner's npm prefix, so the second one finds it there already ("changed").
    expect(jobLines(r, 'promote')).toContainEqual(expect.stringMatching(/^added 1 package\b/));
    expect(jobLines(r, 'deploy')).toContainEqual(expect.stringMatching(/^(added|changed) 1 package\b/));

    // promote: the release tag holds the tested digest; its dotenv report carries DIGEST to the deploy job.
    expect(await rawHead(registry.url, repo, '1.4.2', basicAuth)).toBe(img.manifest.digest);
    const promoted = dotenvOf(dotenvReport(dir, 'promote', 'kiln.env'));
    expect(promoted).toMatchObject({
      DIGEST: img.manifest.digest,
      PROMOTED: `${image()}:1.4.2`,
      IMAGE: `${image()}@${img.manifest.digest}`,
      RESULT: 'pushed',
    });
    expect(jobLines(r, 'promote').join('\n')).toContain('✅ promoted sha256:');

    // deploy: Marathon (yz-AA's MARATHON_URL) runs the promoted image pinned by digest, labelled with the release.
    const now = await marathonImage(yz);
    expect(now).toEqual({
      image: `${image()}@${img.manifest.digest}`,
      labels: expect.objectContaining({ KILN_RELEASE_ID: '1.4.2', HAPROXY_GROUP: 'external' }),
      healthy: 2,
    });
    const deployed = dotenvOf(dotenvReport(dir, 'deploy', 'deploy.env'));
    expect(deployed).toMatchObject({
      RESULT: 'deployed',
      IMAGE: `${image()}@${img.manifest.digest}`,
      PREVIOUS_IMAGE: `${image()}@${OLD_DIGEST}`,
    });
    expect(puts(prod)).toBe(prodBefore); // prod's Marathon untouched

    // smoke-test, the deploy job's second step: yz-AA's APP_URL was checked; its verdict joins the dotenv.
    expect(smokeCalls['yz']).toBeGreaterThan(0);
    expect(deployed).toMatchObject({ VERDICT: 'pass' });
    // Both steps recorded what they did in yz-AA's ledger (OCI artifacts beside the image, written with the job's
    // CI_REGISTRY_* credentials): the release 1.4.2, then the verdict on its digest (an entry of its own, whose id
    // stays out of the dotenv: RELEASE_ID is the release's).
    const recorded = jobLines(r, 'deploy').filter((l) => l.startsWith('ledger: '));
    expect(recorded).toEqual([
      `ledger: deploy 1.4.2 recorded in yz-AA (oci://${image()}): ${image()}@${img.manifest.digest} success.`,
      expect.stringMatching(
        new RegExp(
          `^ledger: verify \\S+ recorded in yz-AA \\(oci://${quote(image())}\\): ${quote(`${image()}@${img.manifest.digest}`)} success, verification passed\\.$`,
        ),
      ),
    ]);
    expect(deployed['RELEASE_ID']).toBe('1.4.2');

    // The job token is in no log line and no file the pipeline left (job logs, reports, rendered definition).
    expectNoLeak(r, [dir], REGISTRY_PASSWORD, REGISTRY_USER);
  }, 150_000);

  test('prod: the deploy job is manual: it waits without --manual deploy, and deploys with it', async () => {
    const img = await seedTestImage();
    await running(prod, 'prod');
    const before = puts(prod);
    const dir = deployProject();
    const vars = runVars('1.5.0', img.manifest.digest, 'prod');

    // The rules make the prod deploy a manual job ("Are you sure to deploy to production?").
    const listed = await gitlabCiLocal(dir, vars, ['--list']);
    expect(listed.exitCode).toBe(0);
    expect(listed.log).toMatch(/^promote +promote +on_success +false/m);
    expect(listed.log).toMatch(/^deploy +deploy +manual +false +\[promote\]/m);

    smokeCalls['prod'] = 0;
    const waiting = await gitlabCiLocal(dir, vars);
    expect({ exitCode: waiting.exitCode, timedOut: waiting.timedOut }).toEqual({
      exitCode: 0,
      timedOut: false,
    });
    expect(waiting.log).toMatch(/^ PASS +promote$/m);
    expect(waiting.log).not.toMatch(/^deploy > /m);
    expect(smokeCalls['prod']).toBe(0);
    expect(await rawHead(registry.url, repo, '1.5.0', basicAuth)).toBe(img.manifest.digest);
    expect(puts(prod)).toBe(before);
    expect((await marathonImage(prod)).image).toBe(`${image()}@${OLD_DIGEST}`);

    const played = await gitlabCiLocal(dir, vars, ['--manual', 'deploy']);
    expect({
      exitCode: played.exitCode,
      timedOut: played.timedOut,
      log: played.exitCode === 0 ? '' : played.log,
    }).toEqual({
      exitCode: 0,
      timedOut: false,
      log: '',
    });
    expect(played.log).toMatch(/^ PASS +deploy$/m);
    expect(smokeCalls['prod']).toBeGreaterThan(0);
    // Promoting the same digest again leaves the tag as it is.
    expect(dotenvOf(dotenvReport(dir, 'promote', 'kiln.env'))).toMatchObject({ RESULT: 'unchanged' });
    expect(await marathonImage(prod)).toEqual({
      image: `${image()}@${img.manifest.digest}`,
      labels: expect.objectContaining({ KILN_RELEASE_ID: '1.5.0' }),
      healthy: 2,
    });
    expectNoLeak(waiting, [], REGISTRY_PASSWORD, REGISTRY_USER);
    expectNoLeak(played, [dir], REGISTRY_PASSWORD, REGISTRY_USER);
  }, 240_000);

  test('no RELEASE_VERSION: the pipeline is refused, nothing is promoted or deployed', async () => {
    const img = await seedTestImage();
    await running(yz, 'yz');
    const before = puts(yz);
    const dir = deployProject();
    const { RELEASE_VERSION: _omitted, ...vars } = runVars('', img.manifest.digest, 'yz');
    const r = await gitlabCiLocal(dir, vars);
    // promote's rule wants a release version; deploy needs promote, so (as GitLab) no pipeline runs at all.
    expect({ exitCode: r.exitCode, timedOut: r.timedOut }).toEqual({ exitCode: 1, timedOut: false });
    expect(r.log).toContain('promote is when:never, but its needed by deploy');
    expect(r.log).not.toMatch(/^(promote|deploy) > /m);
    expect(puts(yz)).toBe(before);
  }, 150_000);

  test('a TESTED_DIGEST that is not what `test` holds now fails at promote: no tag, no deploy', async () => {
    const tested = await seedTestImage();
    const moved = await seedTestImage(); // `test` moved after QA tested the first image
    await running(yz, 'yz');
    const before = puts(yz);
    const dir = deployProject();
    const r = await gitlabCiLocal(dir, runVars('1.4.3', tested.manifest.digest, 'yz'));
    expect({ exitCode: r.exitCode, timedOut: r.timedOut }).toEqual({ exitCode: 1, timedOut: false });
    expect(r.log).toMatch(/^ FAIL +promote$/m);
    expect(r.log).not.toMatch(/^deploy > /m);
    const said = jobLines(r, 'promote').join('\n');
    expect(said).toContain(tested.manifest.digest);
    expect(said).toContain(moved.manifest.digest);
    expect(await rawHead(registry.url, repo, '1.4.3', basicAuth)).toBeUndefined();
    expect(puts(yz)).toBe(before);
    expectNoLeak(r, [dir], REGISTRY_PASSWORD, REGISTRY_USER);
  }, 150_000);

  describe('with rollback.gitlab-ci.yml included: the manual rollback reads what the deploy job recorded', () => {
    const ENV = 'yz-BB'; // an environment (and a Marathon) of its own: no other test's releases in its ledger
    let bb: MarathonSim;
    let dir: string;
    const digests: string[] = [];
    const rollbackExample = shellExample('rollback.gitlab-ci.yml', 1);

    beforeAll(async () => {
      bb = await startMarathonSim({ timeScale: 1000 });
      cleanups.push(() => bb.close());
      app.route('/yz-bb/health_check', (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"UP"}');
      });
      // One project, as a user has it: both examples included in .gitlab-ci.yml, the deploy repository's files, and
      // yz-BB's MARATHON_URL and APP_URL.
      dir = project(
        {
          '.gitlab-ci.yml': [
            'include:',
            '  - local: ci/deploy-only.gitlab-ci.yml',
            '  - local: ci/rollback.gitlab-ci.yml',
            '',
          ].join('\n'),
          'ci/deploy-only.gitlab-ci.yml': example,
          'ci/rollback.gitlab-ci.yml': rollbackExample,
          'deploy/yz-deploy.json': JSON.stringify(appDefinition('yz'), null, 2),
        },
        {
          '.gitlab-ci-local-variables.yml': [
            'MARATHON_URL:',
            '  type: variable',
            '  values:',
            `    ${ENV}: ${bb.url}`,
            'APP_URL:',
            '  type: variable',
            '  values:',
            `    ${ENV}: ${app.url}/yz-bb`,
            '',
          ].join('\n'),
        },
      );
      await running(bb, 'yz');
    });

    /** "Run pipeline" for a rollback: the environment, no RELEASE_VERSION or TESTED_DIGEST, and TO or LIST. */
    const rollbackVars = (extra: Record<string, string>): Record<string, string> => {
      const { RELEASE_VERSION: _r, TESTED_DIGEST: _t, ...vars } = runVars('', '', 'yz');
      return { ...vars, DATACENTER: 'BB', ...extra };
    };

    test('the rollback job is serialized with the deploy job and reads the ledger the deploy job writes', () => {
      type Job = { resource_group?: string; environment?: { name?: string }; script?: string[] };
      const deployJob = (parseYaml(example) as Record<string, Job>)['deploy']!;
      const jobs = parseYaml(rollbackExample) as Record<string, Job>;
      expect(jobs['rollback']!.resource_group).toBe(deployJob.resource_group);
      expect(jobs['rollback']!.environment?.name).toBe(deployJob.environment?.name);
      expect(jobs['releases']!.environment?.name).toBe(deployJob.environment?.name);
      // The same ledger: every kiln command that records or reads names the environment and the image alike.
      const ledgerArgs = (script: string[] = []) =>
        script
          .filter((l) => /^kiln (deploy-marathon|smoke-test|rollback)\b/.test(l))
          .map((l) => [/--environment "([^"]+)"/.exec(l)?.[1], /--image "\$CI_REGISTRY_IMAGE[@"]/.test(l)]);
      const expected = [deployJob.environment?.name, true];
      expect([
        ...ledgerArgs(deployJob.script),
        ...ledgerArgs(jobs['rollback']!.script),
        ...ledgerArgs(jobs['releases']!.script),
      ]).toEqual([expected, expected, expected, expected]);
    });

    const passed = (r: PipelineRun) => ({
      exitCode: r.exitCode,
      timedOut: r.timedOut,
      log: r.exitCode === 0 ? '' : r.log,
    });

    test('two deploys of yz-BB (2.0.0, then 2.1.0), each smoke-tested: both releases and verdicts recorded', async () => {
      for (const release of ['2.0.0', '2.1.0']) {
        const img = await seedTestImage();
        digests.push(img.manifest.digest);
        const r = await gitlabCiLocal(dir, {
          ...runVars(release, img.manifest.digest, 'yz'),
          DATACENTER: 'BB',
        });
        expect(passed(r)).toEqual({ exitCode: 0, timedOut: false, log: '' });
        expect(r.log).toMatch(/^ PASS +deploy$/m);
        expect(r.log).not.toMatch(/^(releases|rollback) > /m); // a deploy pipeline runs neither rollback job
        const deployed = dotenvOf(dotenvReport(dir, 'deploy', 'deploy.env'));
        expect(deployed).toMatchObject({ RESULT: 'deployed', VERDICT: 'pass' });
        const pinned = `${image()}@${img.manifest.digest}`;
        expect(jobLines(r, 'deploy').filter((l) => l.startsWith('ledger: '))).toEqual([
          `ledger: deploy ${release} recorded in ${ENV} (oci://${image()}): ${pinned} success.`,
          expect.stringMatching(
            new RegExp(
              `^ledger: verify \\S+ recorded in ${ENV} \\(oci://${quote(image())}\\): ${quote(pinned)} success, verification passed\\.$`,
            ),
          ),
        ]);
        expect(deployed['RELEASE_ID']).toBe(release);
        expect((await marathonImage(bb)).image).toBe(pinned);
        expectNoLeak(r, [dir], REGISTRY_PASSWORD, REGISTRY_USER);
      }
      expect(digests[0]).not.toBe(digests[1]);
    }, 240_000);

    test('TO=previous (the job’s default): Marathon runs 2.0.0’s digest again, “rolled back”, TO_DIGEST in the dotenv', async () => {
      // The pipeline holds the manual rollback job alone (no promote, deploy or releases job)…
      const listed = await gitlabCiLocal(dir, rollbackVars({}), ['--list']);
      expect(listed.exitCode).toBe(0);
      expect(listed.log).toMatch(/^rollback +deploy +manual +false/m);
      expect(listed.log).not.toMatch(/^(promote|deploy|releases) /m);
      // …which waits to be run (a person decides): without --manual nothing changes.
      const before = puts(bb);
      const waiting = await gitlabCiLocal(dir, rollbackVars({}));
      expect({ exitCode: waiting.exitCode, timedOut: waiting.timedOut }).toEqual({
        exitCode: 0,
        timedOut: false,
      });
      expect(waiting.log).not.toMatch(/^(rollback|releases|promote|deploy) > /m);
      expect(puts(bb)).toBe(before);

      const r = await gitlabCiLocal(dir, rollbackVars({}), ['--manual', 'rollback']);
      expect(passed(r)).toEqual({ exitCode: 0, timedOut: false, log: '' });
      expect(r.log).toMatch(/^ PASS +rollback$/m);
      expect(r.log).not.toMatch(/^(releases|promote|deploy) > /m);
      const said = jobLines(r, 'rollback');
      expect(said).toContainEqual(
        expect.stringMatching(`^↩️ ${ENV} rolled back from 2\\.1\\.0 to 2\\.0\\.0 in `),
      );
      // 2.0.0's digest runs again (the app definition as written otherwise), and Marathon says it is healthy.
      // (No KILN_RELEASE_ID label now: the rollback's release id is generated when it is recorded, after the deploy.)
      expect(await marathonImage(bb)).toEqual({
        image: `${image()}@${digests[0]}`,
        labels: expect.objectContaining({ HAPROXY_GROUP: 'external' }),
        healthy: 2,
      });
      const rolledBack = dotenvOf(dotenvReport(dir, 'rollback', 'kiln.env'));
      expect(rolledBack).toMatchObject({
        RESULT: 'rolled-back',
        TO_RELEASE: '2.0.0',
        TO_DIGEST: digests[0],
        FROM_RELEASE: '2.1.0',
        FROM_DIGEST: digests[1],
      });
      // Recorded in the ledger as a rollback (what the next `previous` reads): the dotenv's RELEASE_ID.
      expect(said.filter((l) => l.startsWith('ledger: ') && l.includes('recorded'))).toEqual([
        `ledger: rollback ${rolledBack['RELEASE_ID']} recorded in ${ENV} (oci://${image()}): ${image()}@${digests[0]} success.`,
      ]);
      expectNoLeak(r, [dir], REGISTRY_PASSWORD, REGISTRY_USER);
    }, 150_000);

    test('LIST=true: the releases job runs at once and prints both releases; nothing changes', async () => {
      const before = puts(bb);
      const r = await gitlabCiLocal(dir, rollbackVars({ LIST: 'true' }));
      expect(passed(r)).toEqual({ exitCode: 0, timedOut: false, log: '' });
      expect(r.log).toMatch(/^ PASS +releases$/m);
      expect(r.log).not.toMatch(/^(rollback|promote|deploy) > /m);
      // The table in the log (wrapped to the terminal) and in kiln-summary.md, the job's artifact (one row each).
      const said = jobLines(r, 'releases');
      expect(said).toContainEqual(expect.stringMatching(/^2\.0\.0 .* deploy: success +passed /));
      expect(said).toContainEqual(expect.stringMatching(/^2\.1\.0 .* deploy: success +passed /));
      const summary = readFileSync(artifact(dir, 'releases', 'kiln-summary.md'), 'utf8').split('\n');
      for (const [release, digest] of [
        ['2.0.0', digests[0]!],
        ['2.1.0', digests[1]!],
      ] as const)
        expect(summary).toContainEqual(
          expect.stringMatching(
            new RegExp(
              `^\\| ${release.replace(/\./g, '\\.')}( \\(running\\))? \\| .* \\| deploy: success \\| passed \\| ${digest.slice(0, 19)}…`,
            ),
          ),
        );
      expect(puts(bb)).toBe(before);
      expectNoLeak(r, [dir], REGISTRY_PASSWORD, REGISTRY_USER);
    }, 150_000);

    test('TO=<a release id not in the ledger>: the job fails with one line, Marathon is unchanged', async () => {
      const app = await marathonImage(bb);
      const seen = bb.requests.length;
      const r = await gitlabCiLocal(dir, rollbackVars({ TO: '9.9.9' }), ['--manual', 'rollback']);
      expect({ exitCode: r.exitCode, timedOut: r.timedOut }).toEqual({ exitCode: 1, timedOut: false });
      expect(r.log).toMatch(/^ FAIL +rollback$/m);
      expect(r.log).toMatch(/^rollback finished in .* FAIL 2\s*$/m); // 2: refused before anything changed
      // One line says why, naming the recent releases to choose from.
      expect(jobLines(r, 'rollback').filter((l) => /^(error|warning)\b/i.test(l))).toEqual([
        expect.stringMatching(
          new RegExp(
            `^error: rollback refused: release 9\\.9\\.9 is not in ${ENV}'s history \\(recent: [^)]*2\\.1\\.0, 2\\.0\\.0\\)\\. Nothing was changed\\.$`,
          ),
        ),
      ]);
      expect(bb.requests.length).toBe(seen); // Marathon was not even asked
      expect(await marathonImage(bb)).toEqual(app);
      expect(dotenvOf(dotenvReport(dir, 'rollback', 'kiln.env'))).toMatchObject({ RESULT: 'refused' });
      expectNoLeak(r, [dir], REGISTRY_PASSWORD, REGISTRY_USER);
    }, 150_000);
  });
});

describe('smoke-test.gitlab-ci.yml: the smoke-qa job against QA', () => {
  const VERSION = '1.4.2';
  let qa: TestServer;
  let healthy = true;

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const authorized = (req: IncomingMessage) => req.headers.authorization === `Bearer ${QA_API_TOKEN}`;

  beforeAll(async () => {
    qa = await startServer({
      '/api/version': (req, res) =>
        authorized(req) ? json(res, 200, { version: VERSION }) : json(res, 401, { message: 'no token' }),
      '/health_check': (req, res) =>
        !authorized(req)
          ? json(res, 401, { message: 'no token' })
          : healthy
            ? json(res, 200, { status: 'UP' })
            : json(res, 503, { status: 'DOWN' }),
    });
    cleanups.push(() => qa.close());
  });

  /** A project that includes the example job (and the checks file at the path it names). */
  function smokeProject(extraYaml = ''): string {
    return project({
      '.gitlab-ci.yml': `stages: [verify]\ninclude:\n  - local: ci/smoke-test.gitlab-ci.yml\n${extraYaml}`,
      'ci/smoke-test.gitlab-ci.yml': shellExample('smoke-test.gitlab-ci.yml', 1),
      'workflows-examples/smoke/qa.yml': readFileSync(join(EXAMPLES, 'smoke', 'qa.yml'), 'utf8'),
    });
  }

  test('QA answers: the job passes, the JUnit report is kept, the token is nowhere in the log', async () => {
    healthy = true;
    const seen = qa.requests.length;
    const dir = smokeProject();
    // BASE_URL as a CI/CD variable: it wins over the job's `variables: BASE_URL` (GitLab's precedence, and here).
    const r = await gitlabCiLocal(dir, {
      GITLAB_CI: 'true',
      BASE_URL: qa.url,
      VERSION,
      QA_API_TOKEN,
    });
    expect({ exitCode: r.exitCode, timedOut: r.timedOut, log: r.exitCode === 0 ? '' : r.log }).toEqual({
      exitCode: 0,
      timedOut: false,
      log: '',
    });
    expect(r.log).toMatch(/^ PASS +smoke-qa$/m);
    expect(jobLines(r, 'smoke-qa')).toContainEqual(expect.stringMatching(/^added 1 package\b/));
    const hits = qa.requests.slice(seen);
    expect(hits.length).toBeGreaterThan(60); // wait (2) + checks (2) + sample (30 × 2)
    expect(hits.every((h) => h.headers.authorization === `Bearer ${QA_API_TOKEN}`)).toBe(true);

    const junit = artifact(dir, 'smoke-qa', 'kiln-reports', 'smoke-test.junit.xml');
    expect(existsSync(junit)).toBe(true);
    execFileSync(
      'xmllint',
      ['--noout', '--schema', join(repoRoot, 'test/fixtures/junit-gitlab.xsd'), junit],
      {
        stdio: 'pipe',
        timeout: 10_000,
      },
    );
    expect(readFileSync(junit, 'utf8')).toContain('name="health"');
    expect(dotenvOf(dotenvReport(dir, 'smoke-qa', 'kiln.env'))).toMatchObject({
      VERDICT: 'pass',
      FAILED: '0',
    });
    expectNoLeak(r, [dir], QA_API_TOKEN);
  }, 150_000);

  test('VERSION not given: the job stops at once and says what to set (no 5-minute wait for version "")', async () => {
    healthy = true;
    const seen = qa.requests.length;
    const dir = smokeProject();
    const r = await gitlabCiLocal(dir, { GITLAB_CI: 'true', BASE_URL: qa.url, QA_API_TOKEN });
    expect({ exitCode: r.exitCode, timedOut: r.timedOut }).toEqual({ exitCode: 1, timedOut: false });
    expect(r.log).toMatch(/^ FAIL +smoke-qa$/m);
    expect(jobLines(r, 'smoke-qa').join('\n')).toContain(
      'VERSION: run the pipeline with VERSION, the version QA should answer with',
    );
    expect(qa.requests.length).toBe(seen);
    expectNoLeak(r, [dir], QA_API_TOKEN);
  }, 150_000);

  test('QA unhealthy: the job fails, and the JUnit report is still kept (artifacts when: always)', async () => {
    healthy = false;
    const seen = qa.requests.length;
    // BASE_URL set where a user customises an included job: the same job name in .gitlab-ci.yml, merged.
    const dir = smokeProject(`smoke-qa:\n  variables:\n    BASE_URL: ${qa.url}\n`);
    const r = await gitlabCiLocal(dir, { GITLAB_CI: 'true', VERSION, QA_API_TOKEN });
    expect({ exitCode: r.exitCode, timedOut: r.timedOut }).toEqual({ exitCode: 1, timedOut: false });
    expect(r.log).toMatch(/^ FAIL +smoke-qa$/m);
    expect(qa.requests.length).toBeGreaterThan(seen + 60); // this QA, not the example's qa.example.com
    const junit = artifact(dir, 'smoke-qa', 'kiln-reports', 'smoke-test.junit.xml');
    expect(readFileSync(junit, 'utf8')).toMatch(/<testcase[^>]*name="health"[^>]*>\s*<failure/);
    expect(dotenvOf(dotenvReport(dir, 'smoke-qa', 'kiln.env'))).toMatchObject({ VERDICT: 'fail' });
    expectNoLeak(r, [dir], QA_API_TOKEN);
  }, 150_000);
});
