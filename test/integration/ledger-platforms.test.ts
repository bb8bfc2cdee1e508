/**
 * The GitHub and GitLab ledgers as users run them: the committed bundles under the GitHub runner contract with
 * `ledger: github` against the local fake of GitHub's deployments API, and the `kiln` CLI in a GitLab job with
 * `ledger: gitlab` against the fake of GitLab's Deployments API (the digests in the real registry). A deploy, its
 * verdict and a rollback go through the actions; what a user then sees in GitHub's or GitLab's deployments and in
 * the ledger is checked.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeHttpPools } from '../../packages/core/src/http/http.js';
import { RegistryLedger } from '../../packages/core/src/ledger/registry.js';
import { MemoryLogger } from '../../packages/core/src/platform/logger.js';
import { RegistryClient } from '../../packages/core/src/registry/index.js';
import { expectNoLeak } from '../harness/assertions.js';
import { repoRoot, runBundle } from '../harness/runner.js';
import { runNode } from '../harness/tsx.js';
import { startGitHubDeploymentsSim, type GitHubDeploymentsSim } from '../sim/github/deployments.js';
import { commitFor, startGitLabSim, type GitLabSim } from '../sim/gitlab/deployments.js';
import { startKubeSim, type KubeSim } from '../sim/kube/server.js';
import { registryAvailable, startRegistry, type RunningRegistry } from '../sim/registry/registry.js';
import { pushTestImages } from '../sim/registry/seed.js';
import { removeDir } from '../sim/registry/util.js';

const SLOW = 120_000;
const cli = join(repoRoot, 'dist', 'cli', 'index.js');
const JOB_TOKEN = 'glcbt-64_kilnLedgerJ0bT0ken';

let registry: RunningRegistry;
let kube: KubeSim;
let github: GitHubDeploymentsSim;
let gitlab: GitLabSim;
let dir: string;
let kubeconfig: string;
let service: Server;
let baseUrl: string;
let client: RegistryClient;
let REPO: string;
const digests: string[] = [];

beforeAll(async () => {
  if (!registryAvailable()) throw new Error('needs docker-registry (apt-get install docker-registry)');
  dir = mkdtempSync(join(tmpdir(), 'kiln-ledger-platforms-'));
  registry = await startRegistry();
  REPO = `${registry.host}/shop/web`;
  client = new RegistryClient({ logger: new MemoryLogger(), env: { HOME: dir }, dockerConfigDir: dir });
  digests.push(
    ...(await pushTestImages(client, REPO, { '1': 'platforms-1', '2': 'platforms-2' }, { workDir: dir })),
  );
  kube = await startKubeSim({ timeScale: 20 });
  kubeconfig = kube.writeKubeconfig({ path: join(dir, 'kubeconfig.yaml') });
  github = await startGitHubDeploymentsSim({ repositories: ['kiln-dev/shop'] });
  gitlab = await startGitLabSim({
    projects: [
      {
        id: 7,
        path: 'shop/web',
        branches: { main: commitFor('main') },
        commits: [commitFor('c1'), commitFor('c2')],
      },
    ],
    tokens: { [JOB_TOKEN]: { kind: 'job', project: 7, role: 'developer' } },
  });
  writeFileSync(
    join(dir, 'app.yaml'),
    `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: "${REPO}:1" }] }
`,
  );
  service = createServer((_req, res) => res.writeHead(200).end('{"status":"UP"}'));
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
}, SLOW);

afterAll(async () => {
  await kube?.close();
  await github?.close();
  await gitlab?.close();
  await registry?.stop();
  await new Promise((r) => service?.close(r));
  closeHttpPools();
  if (dir) await removeDir(dir);
});

const image = () =>
  (
    kube.get('apps/v1', 'Deployment', 'default', 'web') as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    }
  ).spec.template.spec.containers[0]?.image;
const errors = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('::error::'));

describe('ledger: github (GitHub Deployments) through the actions', () => {
  const ghEnv = () => ({
    GITHUB_API_URL: github.url,
    GITHUB_REPOSITORY: 'kiln-dev/shop',
    GITHUB_TOKEN: github.token,
  });
  const ledger = { environment: 'production', ledger: 'github' };

  test(
    'a deploy and its verdict become a deployment with a status; rollback reads them back and adds its own',
    async () => {
      const [v1, v2] = digests as [string, string];
      for (const d of [v1, v2]) {
        const deploy = await runBundle('deploy-k8s', {
          workspace: dir,
          timeoutMs: SLOW,
          env: ghEnv(),
          with: { kubeconfig, manifests: 'app.yaml', image: REPO, digest: d, ...ledger },
        });
        expect(deploy.exitCode).toBe(0);
        const smoke = await runBundle('smoke-test', {
          workspace: dir,
          timeoutMs: SLOW,
          env: ghEnv(),
          with: { url: `${baseUrl}/health`, image: `${REPO}@${d}`, ...ledger },
        });
        expect(smoke.exitCode).toBe(0);
        expect(smoke.outputs.get('verdict')).toBe('pass');
      }
      // What a user sees in GitHub: two kiln:deploy deployments, each with a success status and a verify status.
      const deployments = github.deployments('kiln-dev/shop');
      expect(deployments.map((d) => [d.task, d.environment])).toEqual([
        ['kiln:deploy', 'production'],
        ['kiln:deploy', 'production'],
      ]);
      const newest = deployments[0]!;
      expect((newest.payload as { entry: { digest: string } }).entry.digest).toBe(v2);
      expect(github.statuses(newest.id).map((s) => s.state)).toEqual(['success', 'success']);

      const rollback = await runBundle('rollback', {
        workspace: dir,
        timeoutMs: SLOW,
        env: ghEnv(),
        with: { kubeconfig, manifests: 'app.yaml', image: REPO, ...ledger },
      });
      expect(errors(rollback.stdout)).toEqual([]);
      expect(rollback.exitCode).toBe(0);
      expect(rollback.outputs.get('to-digest')).toBe(v1);
      expect(image()).toBe(`${REPO}@${v1}`);
      const after = github.deployments('kiln-dev/shop');
      expect(after[0]?.task).toBe('kiln:rollback');
      expect((after[0]?.payload as { entry: { of: string; to: string } }).entry).toMatchObject({
        of: rollback.outputs.get('from-release'),
        to: rollback.outputs.get('to-release'),
      });

      const list = await runBundle('rollback', {
        workspace: dir,
        timeoutMs: SLOW,
        env: ghEnv(),
        with: { list: 'true', image: REPO, ...ledger },
      });
      expect(list.exitCode).toBe(0);
      expect(JSON.parse(list.outputs.get('releases') ?? '[]').map((e: { event: string }) => e.event)).toEqual(
        ['rollback', 'deploy', 'deploy'],
      );
    },
    SLOW,
  );

  test('a token without deployments: write is one line naming the permission; the deploy itself went through', async () => {
    const r = await runBundle('deploy-k8s', {
      workspace: dir,
      timeoutMs: SLOW,
      env: { ...ghEnv(), GITHUB_TOKEN: 'ghs_wrong' },
      with: { kubeconfig, manifests: 'app.yaml', image: REPO, digest: digests[1]!, ...ledger },
    });
    expect(r.exitCode).toBe(1);
    expect(r.outputs.get('result')).toBe('deployed');
    expect(errors(r.stdout)).toEqual([
      expect.stringMatching(
        /^::error::ledger: the deploy ran \(success\) but was not recorded in production: .*deployments: write/,
      ),
    ]);
    expectNoLeak(r, [dir], 'ghs_wrong');
  });
});

describe('ledger: gitlab (GitLab deployments, digests in the registry) through the kiln CLI', () => {
  test(
    'the release shows on the environment in GitLab, the registry ledger has the digest, rollback reads it',
    async () => {
      const [v1, v2] = digests as [string, string];
      const env = {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        GITLAB_CI: 'true',
        CI: 'true',
        CI_API_V4_URL: gitlab.apiUrl,
        CI_PROJECT_ID: '7',
        CI_JOB_TOKEN: JOB_TOKEN,
        CI_COMMIT_SHA: commitFor('main'),
        CI_COMMIT_REF_NAME: 'main',
        CI_PROJECT_DIR: dir,
        KILN_DOTENV: join(dir, 'gitlab.env'),
        KUBECONFIG: kubeconfig,
      };
      const kiln = (...args: string[]) => runNode([cli, ...args], { env, cwd: dir });
      // Each release is built from its own commit (GitLab answers a deployment equal to the environment's last one —
      // same ref, sha and status — with that one instead of a new row).
      for (const [i, d] of [v1, v2].entries()) {
        env.CI_COMMIT_SHA = commitFor(`c${i + 1}`);
        const r = await kiln(
          'deploy-k8s',
          '--manifests',
          'app.yaml',
          '--image',
          REPO,
          '--digest',
          d,
          '--environment',
          'staging',
          '--ledger',
          'gitlab',
        );
        expect(r.exitCode).toBe(0);
        const s = await kiln(
          'smoke-test',
          '--url',
          `${baseUrl}/health`,
          '--image',
          `${REPO}@${d}`,
          '--environment',
          'staging',
          '--ledger',
          'gitlab',
        );
        expect(s.exitCode).toBe(0);
      }
      expect(
        gitlab.deployments(7).map((d) => [d['status'], (d['environment'] as { name: string }).name]),
      ).toEqual([
        ['success', 'staging'],
        ['success', 'staging'],
      ]);
      const registryLedger = new RegistryLedger(client, { registry: registry.host, repository: 'shop/web' });
      const entries = await registryLedger.list('staging');
      expect(entries.map((e) => [e.event, e.digest])).toEqual([
        ['verify', v2],
        ['deploy', v2],
        ['verify', v1],
        ['deploy', v1],
      ]);

      const back = await kiln(
        'rollback',
        '--environment',
        'staging',
        '--ledger',
        'gitlab',
        '--image',
        REPO,
        '--manifests',
        'app.yaml',
      );
      expect(back.exitCode).toBe(0);
      expect(image()).toBe(`${REPO}@${v1}`);
      const dotenv = readFileSync(join(dir, 'gitlab.env'), 'utf8');
      expect(dotenv).toContain(`TO_DIGEST=${v1}`);
      expect(gitlab.deployments(7)).toHaveLength(3);
      expect(back.stdout + back.stderr).not.toContain(JOB_TOKEN);
    },
    SLOW,
  );
});
