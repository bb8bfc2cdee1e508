/**
 * The deploy actions' `verify` input as users run it (the committed bundles through the GitHub runner contract):
 * once the new version is healthy, a smoke-test checks file decides whether it stays. A failing verdict rolls the
 * deploy back like a failed rollout, and the ledger records the release as rolled back with the verdict.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLedger } from '../../packages/core/src/ledger/file.js';
import { runBundle } from '../harness/runner.js';
import { startKubeSim, type KubeSim } from '../sim/kube/server.js';
import { startMarathonSim, type MarathonSim } from '../sim/marathon/server.js';

const SLOW = 120_000;
const REPO = 'registry.example.com/shop/web';
const D = (n: number) => `sha256:${String(n).repeat(64)}`;

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
`;

const CHECKS = `checks:
  - name: health
    url: \${BASE_URL}/health
    retries: 0
    expect: { status: 200 }
`;

let kube: KubeSim;
let marathon: MarathonSim;
let dir: string;
let kubeconfig: string;
let service: Server;
let baseUrl: string;
/** What the service answers on /health: the deployed version's health, as the checks see it. */
let health = 200;

beforeAll(async () => {
  kube = await startKubeSim({ timeScale: 20 });
  marathon = await startMarathonSim({ timeScale: 1000 });
  dir = mkdtempSync(join(tmpdir(), 'kiln-deploy-verify-'));
  writeFileSync(join(dir, 'app.yaml'), MANIFESTS);
  writeFileSync(join(dir, 'checks.yml'), CHECKS);
  writeFileSync(
    join(dir, 'app.json'),
    JSON.stringify({
      id: '/shop/web',
      instances: 1,
      cpus: 0.1,
      mem: 64,
      container: { type: 'DOCKER', docker: { image: `${REPO}:1.0` } },
    }),
  );
  kubeconfig = kube.writeKubeconfig({ path: join(dir, 'kubeconfig.yaml') });
  service = createServer((req, res) => {
    res.writeHead(req.url === '/health' ? health : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: health === 200 ? 'UP' : 'DOWN' }));
  });
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(service.address() as AddressInfo).port}`;
}, SLOW);

afterAll(async () => {
  await kube?.close();
  await marathon?.close();
  await new Promise((r) => service?.close(r));
});

const ledgerFile = (name: string) => join(dir, `${name}.jsonl`);
const entries = (name: string, env: string) => new FileLedger(ledgerFile(name)).list(env);
const errors = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('::error::'));

describe('deploy-k8s verify', () => {
  const deploy = (n: number, ledger: string) =>
    runBundle('deploy-k8s', {
      workspace: dir,
      timeoutMs: SLOW,
      with: {
        kubeconfig,
        manifests: 'app.yaml',
        image: REPO,
        digest: D(n),
        verify: 'checks.yml',
        vars: `BASE_URL=${baseUrl}`,
        environment: 'qa',
        ledger: `file:${ledgerFile(ledger)}`,
      },
    });
  const image = () =>
    (
      kube.get('apps/v1', 'Deployment', 'default', 'web') as {
        spec: { template: { spec: { containers: { image: string }[] } } };
      }
    ).spec.template.spec.containers[0]?.image;

  test(
    'a passing verdict keeps the release and is recorded with it; a failing one rolls it back, recorded as such',
    async () => {
      health = 200;
      const ok = await deploy(1, 'k8s');
      expect(ok.exitCode).toBe(0);
      expect(ok.outputs.get('result')).toBe('deployed');
      expect(ok.outputs.get('verdict')).toBe('passed');
      expect(image()).toBe(`${REPO}@${D(1)}`);

      health = 500;
      const bad = await deploy(2, 'k8s');
      expect(bad.exitCode).toBe(1);
      expect(bad.outputs.get('result')).toBe('rolled-back');
      expect(bad.outputs.get('verdict')).toBe('failed');
      expect(errors(bad.stdout)).toEqual([
        expect.stringMatching(/^::error::deploy-k8s failed and was rolled back: verification failed — /),
      ]);
      expect(bad.summary.split('\n')[0]).toMatch(/^## ❌ rolled back: verification failed — /);
      expect(image()).toBe(`${REPO}@${D(1)}`);

      const [second, first] = await entries('k8s', 'qa');
      expect(first).toMatchObject({ event: 'deploy', digest: D(1), result: 'success', verdict: 'passed' });
      expect(second).toMatchObject({
        event: 'deploy',
        digest: D(2),
        result: 'rolled-back',
        verdict: 'failed',
        previousDigest: D(1),
      });
    },
    SLOW,
  );

  test('a checks file that does not exist is one line before anything is deployed', async () => {
    const r = await runBundle('deploy-k8s', {
      workspace: dir,
      timeoutMs: SLOW,
      with: { kubeconfig, manifests: 'app.yaml', image: REPO, digest: D(3), verify: 'nope.yml' },
    });
    expect(r.exitCode).toBe(2);
    expect(errors(r.stdout)).toEqual([
      expect.stringMatching(
        /^::error::Input 'verify': "nope.yml" does not exist \(looked for .*\); expected an existing path\.$/,
      ),
    ]);
    expect(image()).not.toBe(`${REPO}@${D(3)}`);
  });
});

describe('deploy-marathon verify', () => {
  const deploy = (n: number) =>
    runBundle('deploy-marathon', {
      workspace: dir,
      timeoutMs: SLOW,
      with: {
        'marathon-url': marathon.url,
        'app-definition': 'app.json',
        image: REPO,
        digest: D(n),
        verify: 'checks.yml',
        vars: `BASE_URL=${baseUrl}`,
        environment: 'staging',
        ledger: `file:${ledgerFile('marathon')}`,
      },
    });

  test(
    'a failing verdict after the new version is healthy rolls it back on Marathon; the ledger says so',
    async () => {
      health = 200;
      const ok = await deploy(1);
      expect(ok.exitCode).toBe(0);
      expect(ok.outputs.get('verdict')).toBe('passed');

      health = 500;
      const bad = await deploy(2);
      expect(bad.exitCode).toBe(1);
      expect(bad.outputs.get('result')).toBe('rolled-back');
      expect(bad.outputs.get('verdict')).toBe('failed');
      const app = (await (await fetch(`${marathon.url}/v2/apps/shop/web`)).json()) as {
        app: { container: { docker: { image: string } } };
      };
      expect(app.app.container.docker.image).toBe(`${REPO}@${D(1)}`);
      const [second, first] = await entries('marathon', 'staging');
      expect(first).toMatchObject({ digest: D(1), result: 'success', verdict: 'passed' });
      expect(second).toMatchObject({ digest: D(2), result: 'rolled-back', verdict: 'failed' });
    },
    SLOW,
  );
});
