/**
 * deploy-k8s as users run it — the committed bundle through the GitHub runner contract, and the `kiln` CLI as on
 * GitLab — against the Kubernetes simulator (test/sim/kube/, checked with the real kubectl in its own tests):
 * images substituted and pinned, server-side apply, one wait with the reason, a crash loop rolled back to the
 * previous ReplicaSet, bad inputs as one line.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, runBundle } from '../harness/runner.js';
import { runNode } from '../harness/tsx.js';
import { startKubeSim, type KubeSim } from '../sim/kube/server.js';

const SLOW = 120_000;
const REPO = 'registry.example.com/shop/web';
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const cli = join(repoRoot, 'dist', 'cli', 'index.js');

const MANIFESTS = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: ${REPO}:1.0
          args: ["--profile=\${ENV}"]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
`;

let sim: KubeSim;
let ws: string;
let kubeconfig: string;

beforeAll(async () => {
  sim = await startKubeSim({
    timeScale: 20,
    scenarios: { [`${REPO}@${D2}`]: { kind: 'crash-loop', crashAfterSeconds: 5, message: 'config missing' } },
  });
  ws = mkdtempSync(join(tmpdir(), 'kiln-deploy-k8s-'));
  writeFileSync(join(ws, 'app.yaml'), MANIFESTS);
  kubeconfig = sim.writeKubeconfig({ path: join(ws, 'kubeconfig.yaml') });
}, SLOW);

afterAll(async () => {
  await sim?.close();
});

const template = () =>
  (
    sim.get('apps/v1', 'Deployment', 'default', 'web') as {
      spec: { template: { spec: { containers: { image: string; args: string[] }[] } } };
    }
  ).spec.template.spec.containers[0];

describe('deploy-k8s through the GitHub runner', () => {
  test(
    'deployed: the image pinned by digest, vars filled, both objects applied, the Deployment ready',
    async () => {
      const r = await runBundle('deploy-k8s', {
        workspace: ws,
        timeoutMs: SLOW,
        with: {
          kubeconfig,
          manifests: 'app.yaml',
          images: `${REPO}@${D1}`,
          vars: 'ENV=qa',
          'release-id': '41',
        },
      });
      expect(r.stderr).toBe('');
      expect(r.exitCode).toBe(0);
      expect(r.outputs.get('result')).toBe('deployed');
      expect(r.outputs.get('images')).toBe(`${REPO}@${D1}`);
      expect(r.outputs.get('namespaces')).toBe('default');
      expect(r.outputs.get('revision')).toBe('1');
      expect(JSON.parse(r.outputs.get('resources') as string)).toEqual([
        expect.objectContaining({
          kind: 'Deployment',
          name: 'web',
          action: 'created',
          result: 'ready',
          revision: '1',
          ready: '2/2',
          images: [`${REPO}@${D1}`],
        }),
        expect.objectContaining({ kind: 'Service', name: 'web', action: 'created', result: 'applied' }),
      ]);
      expect(template()).toMatchObject({ image: `${REPO}@${D1}`, args: ['--profile=qa'] });
      expect(r.summary.split('\n')[0]).toMatch(/^## ✅ deployed 2 object\(s\) in \S+$/);
      expect(r.stdout).not.toContain('::error::');
    },
    SLOW,
  );

  test(
    'a crash loop fails at the failure threshold with the reason, and the Deployment goes back to what ran before',
    async () => {
      const r = await runBundle('deploy-k8s', {
        workspace: ws,
        timeoutMs: SLOW,
        with: { kubeconfig, manifests: 'app.yaml', images: `${REPO}@${D2}`, vars: 'ENV=qa', timeout: '5m' },
      });
      expect(r.exitCode).toBe(1);
      expect(r.outputs.get('result')).toBe('rolled-back');
      const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error::'));
      expect(errors).toEqual([
        expect.stringMatching(
          /^::error::deploy-k8s failed and was rolled back: Deployment\/web: pod web-\S+: .*exit 1: config missing/,
        ),
      ]);
      expect(r.summary.split('\n')[0]).toMatch(
        /^## ❌ rolled back: Deployment\/web — pod web-\S+: .*config missing/,
      );
      // Back on the first image, through the old ReplicaSet (a new revision, as rollout undo gives).
      expect(template()?.image).toBe(`${REPO}@${D1}`);
      const web = sim.get('apps/v1', 'Deployment', 'default', 'web') as {
        metadata: { annotations: Record<string, string> };
      };
      expect(web.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
      expect(web.metadata.annotations['kiln.dev/release-id']).toBe('41');
    },
    SLOW,
  );

  test('an images entry that matches nothing is one line, exit 2, before any request', async () => {
    const before = sim.requests.length;
    const r = await runBundle('deploy-k8s', {
      workspace: ws,
      with: { kubeconfig, manifests: 'app.yaml', images: `${REPO}-worker@${D1}`, vars: 'ENV=qa' },
    });
    expect(r.exitCode).toBe(2);
    const lines = r.stdout.split('\n').filter((l) => l.trim() && !l.startsWith('::debug::'));
    expect(lines).toEqual([
      expect.stringMatching(/^::error::.*registry\.example\.com\/shop\/web-worker.*matched no/i),
    ]);
    expect(sim.requests.length).toBe(before);
  });
});

describe('deploy-k8s through the kiln CLI on GitLab', () => {
  test(
    'dry run: the API server validates, nothing is stored; the dotenv says so',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kiln-deploy-k8s-gitlab-'));
      writeFileSync(join(dir, 'app.yaml'), MANIFESTS.replace(/name: web/g, 'name: shop'));
      const r = await runNode(
        [
          cli,
          'deploy-k8s',
          '--manifests',
          'app.yaml',
          '--images',
          `${REPO}@${D1}`,
          '--vars',
          'ENV=prod',
          '--dry-run',
        ],
        {
          cwd: dir,
          env: {
            PATH: process.env.PATH,
            HOME: dir,
            GITLAB_CI: 'true',
            CI_PROJECT_DIR: dir,
            KUBECONFIG: kubeconfig,
          },
        },
      );
      expect(r.exitCode).toBe(0);
      expect(readFileSync(join(dir, 'kiln.env'), 'utf8')).toMatch(/^RESULT=dry-run$/m);
      expect(sim.get('apps/v1', 'Deployment', 'default', 'shop')).toBeUndefined();
    },
    SLOW,
  );
});

describe('deploy-k8s strategies: canary and blue-green, promote and reject', () => {
  const D3 = `sha256:${'3'.repeat(64)}`;
  const D4 = `sha256:${'4'.repeat(64)}`;
  const APP = MANIFESTS.replace('replicas: 2', 'replicas: 4');
  let sim2: KubeSim;
  let dir: string;
  let config: string;

  beforeAll(async () => {
    sim2 = await startKubeSim({ timeScale: 20 });
    dir = mkdtempSync(join(tmpdir(), 'kiln-deploy-k8s-strategy-'));
    writeFileSync(join(dir, 'app.yaml'), APP);
    config = sim2.writeKubeconfig({ path: join(dir, 'kubeconfig.yaml') });
  }, SLOW);

  afterAll(async () => {
    await sim2?.close();
  });

  type Dep = {
    metadata: { labels?: Record<string, string> };
    spec: {
      replicas: number;
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> }; spec: { containers: { image: string }[] } };
    };
    status?: { readyReplicas?: number };
  };
  const dep = (name: string) => sim2.get('apps/v1', 'Deployment', 'default', name) as Dep | undefined;
  const image = (name: string) => dep(name)?.spec.template.spec.containers[0]?.image;
  const selector = () =>
    (sim2.get('v1', 'Service', 'default', 'web') as { spec: { selector: Record<string, string> } }).spec
      .selector;
  const run = (digest: string, extra: Record<string, string>) =>
    runBundle('deploy-k8s', {
      workspace: dir,
      timeoutMs: SLOW,
      with: {
        kubeconfig: config,
        manifests: 'app.yaml',
        images: `${REPO}@${digest}`,
        vars: 'ENV=qa',
        ...extra,
      },
    });
  const errors = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('::error::'));

  test(
    'canary: a refused promote without a canary, then deploy beside the stable, promote, and a rejected canary',
    async () => {
      expect((await run(D1, {})).outputs.get('result')).toBe('deployed');

      // Promote with no canary deployed: refused, one line, exit 2, nothing changed (Azure/k8s-deploy#305).
      const refused = await run(D2, { strategy: 'canary', action: 'promote' });
      expect(refused.exitCode).toBe(2);
      expect(refused.outputs.get('result')).toBe('refused');
      expect(errors(refused.stdout)).toEqual([
        expect.stringMatching(
          /^::error::promote refused: .*Deployment\/web-canary \(default\) does not exist .*Nothing was changed\.$/,
        ),
      ]);
      expect(image('web')).toBe(`${REPO}@${D1}`);

      // Canary deploy: web-canary (50% of 4 = 2 replicas) on the new image, web untouched, the Service selects both.
      const canary = await run(D2, { strategy: 'canary', percentage: '50' });
      expect(canary.exitCode).toBe(0);
      expect(canary.outputs.get('result')).toBe('canary-deployed');
      expect(canary.summary.split('\n')[0]).toMatch(
        /^## 🐤 canary deployed: Deployment\/web-canary \(2\/2\) ready/,
      );
      const c = dep('web-canary') as Dep;
      expect(c.spec.replicas).toBe(2);
      expect(c.status?.readyReplicas).toBe(2);
      expect(c.spec.template.metadata.labels).toEqual({ app: 'web', 'kiln.dev/track': 'canary' });
      expect(image('web-canary')).toBe(`${REPO}@${D2}`);
      expect(image('web')).toBe(`${REPO}@${D1}`);
      expect(selector()).toEqual({ app: 'web' });
      const served = sim2
        .pods('default')
        .filter(
          (p) => (p as { metadata: { labels?: Record<string, string> } }).metadata.labels?.app === 'web',
        )
        .map((p) => (p as { spec: { containers: { image: string }[] } }).spec.containers[0]?.image);
      expect(served.filter((i) => i === `${REPO}@${D2}`)).toHaveLength(2);
      expect(served.filter((i) => i === `${REPO}@${D1}`).length).toBeGreaterThanOrEqual(4);

      // Promoting another version than the canary's is refused too.
      const other = await run(D3, { strategy: 'canary', action: 'promote' });
      expect(other.exitCode).toBe(2);
      expect(errors(other.stdout)).toEqual([
        expect.stringMatching(
          /web-canary \(default\) runs \S+@sha256:2{64}, not \S+@sha256:3{64} \(deploy this version first\)/,
        ),
      ]);

      // Promote: web rolls to the new image, the canary is deleted.
      const promoted = await run(D2, { strategy: 'canary', action: 'promote' });
      expect(promoted.exitCode).toBe(0);
      expect(promoted.outputs.get('result')).toBe('promoted');
      expect(promoted.summary.split('\n')[0]).toMatch(/^## ✅ promoted in \S+; deleted web-canary$/);
      expect(image('web')).toBe(`${REPO}@${D2}`);
      expect(dep('web-canary')).toBeUndefined();

      // Reject: the canary goes, web stays on what it ran.
      expect((await run(D3, { strategy: 'canary' })).outputs.get('result')).toBe('canary-deployed');
      expect(image('web-canary')).toBe(`${REPO}@${D3}`);
      const rejected = await run(D3, { strategy: 'canary', action: 'reject' });
      expect(rejected.exitCode).toBe(0);
      expect(rejected.outputs.get('result')).toBe('rejected');
      expect(rejected.summary.split('\n')[0]).toMatch(/^## ↩️ rejected: web-canary deleted/);
      expect(dep('web-canary')).toBeUndefined();
      expect(image('web')).toBe(`${REPO}@${D2}`);
      expect(selector()).toEqual({ app: 'web' });
    },
    SLOW,
  );

  test(
    'blue-green: green takes the traffic once ready; reject puts it back on the stable; promote moves the new version to the stable names',
    async () => {
      const green = await run(D3, { strategy: 'blue-green' });
      expect(green.exitCode).toBe(0);
      expect(green.outputs.get('result')).toBe('green-deployed');
      expect(dep('web-green')?.status?.readyReplicas).toBe(4);
      expect(image('web-green')).toBe(`${REPO}@${D3}`);
      expect(image('web')).toBe(`${REPO}@${D2}`);
      expect(selector()).toEqual({ app: 'web', 'kiln.dev/track': 'green' });

      const rejected = await run(D3, { strategy: 'blue-green', action: 'reject' });
      expect(rejected.outputs.get('result')).toBe('rejected');
      expect(selector()).toEqual({ app: 'web' });
      expect(dep('web-green')).toBeUndefined();
      expect(image('web')).toBe(`${REPO}@${D2}`);

      expect((await run(D4, { strategy: 'blue-green', action: 'promote' })).exitCode).toBe(2);
      expect((await run(D4, { strategy: 'blue-green' })).outputs.get('result')).toBe('green-deployed');
      const promoted = await run(D4, { strategy: 'blue-green', action: 'promote' });
      expect(promoted.exitCode).toBe(0);
      expect(promoted.outputs.get('result')).toBe('promoted');
      expect(image('web')).toBe(`${REPO}@${D4}`);
      expect(selector()).toEqual({ app: 'web' });
      expect(dep('web-green')).toBeUndefined();
    },
    SLOW,
  );
});
