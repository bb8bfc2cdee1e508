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
