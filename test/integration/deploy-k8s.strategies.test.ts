/**
 * deploy-k8s's strategies as users run them (the committed bundle through the GitHub runner contract) against the
 * Kubernetes simulator, checked the way a user checks a canary: where the traffic goes. `test/sim/kube/traffic.ts`
 * follows a Service to its Ready pods, an HTTPRoute through its weighted backends, an Ingress with its ingress-nginx
 * canary, and gives each image's share of the requests.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBundle } from '../harness/runner.js';
import { startKubeSim, type KubeSim } from '../sim/kube/server.js';
import { httpRouteShares, ingressShares, percent, serviceShares } from '../sim/kube/traffic.js';

const SLOW = 120_000;
const REPO = 'registry.example.com/shop/web';
const D = (n: number) => `sha256:${String(n).repeat(64)}`;
const IMG = (n: number) => `${REPO}@${D(n)}`;
const BAD = 9;

const APP = `apiVersion: apps/v1
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
          image: ${REPO}:1.0
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }]
`;

const ROUTE = `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
spec:
  parentRefs: [{ name: public }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: / } }]
      backendRefs: [{ name: web, port: 80 }]
`;

const INGRESS = `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  annotations: { nginx.ingress.kubernetes.io/rewrite-target: / }
spec:
  ingressClassName: nginx
  rules:
    - host: shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: { service: { name: web, port: { number: 80 } } }
`;

/** Gateway API's HTTPRoute as its CRD serves it (the schema cut to what this test sends). */
const HTTPROUTE_CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: httproutes.gateway.networking.k8s.io
spec:
  group: gateway.networking.k8s.io
  scope: Namespaced
  names: { plural: httproutes, singular: httproute, kind: HTTPRoute, listKind: HTTPRouteList }
  versions:
    - name: v1
      served: true
      storage: true
      subresources: { status: {} }
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: { type: object, x-kubernetes-preserve-unknown-fields: true }
            status: { type: object, x-kubernetes-preserve-unknown-fields: true }
`;

let sim: KubeSim;
let dir: string;
let config: string;

beforeAll(async () => {
  sim = await startKubeSim({
    timeScale: 20,
    scenarios: { [IMG(BAD)]: { kind: 'crash-loop', crashAfterSeconds: 5, message: 'config missing' } },
  });
  dir = mkdtempSync(join(tmpdir(), 'kiln-deploy-k8s-strategy-'));
  writeFileSync(join(dir, 'app.yaml'), APP);
  writeFileSync(join(dir, 'gateway.yaml'), APP + ROUTE);
  writeFileSync(join(dir, 'ingress.yaml'), APP + INGRESS);
  writeFileSync(join(dir, 'crd.yaml'), HTTPROUTE_CRD);
  config = sim.writeKubeconfig({ path: join(dir, 'kubeconfig.yaml') });
}, SLOW);

afterAll(async () => {
  await sim?.close();
});

type Dep = {
  spec: {
    replicas: number;
    template: { metadata: { labels: Record<string, string> }; spec: { containers: { image: string }[] } };
  };
  status?: { readyReplicas?: number };
};
const NS = 'default';
const dep = (name: string) => sim.get('apps/v1', 'Deployment', NS, name) as Dep | undefined;
const image = (name: string) => dep(name)?.spec.template.spec.containers[0]?.image;
const svc = (name: string) =>
  sim.get('v1', 'Service', NS, name) as
    | { spec: { type: string; selector: Record<string, string>; ports: Record<string, unknown>[] } }
    | undefined;
const viaService = (name = 'web') => percent(serviceShares(sim, NS, name));
const viaRoute = () => percent(httpRouteShares(sim, NS, 'web'));
const viaIngress = () => percent(ingressShares(sim, NS, 'web'));
const run = (n: number, extra: Record<string, string>, manifests = 'app.yaml') =>
  runBundle('deploy-k8s', {
    workspace: dir,
    timeoutMs: SLOW,
    with: { kubeconfig: config, manifests, images: IMG(n), ...extra },
  });
const errors = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('::error::'));
const reset = async (n: number, manifests = 'app.yaml') => {
  const r = await run(n, {}, manifests);
  expect(r.outputs.get('result')).toMatch(/^(deployed|unchanged)$/);
};

describe('canary by pod count (traffic-split-method: pod)', () => {
  test(
    'a refused promote without a canary; deploy beside the stable (traffic by pod count); promote; reject',
    async () => {
      await reset(1);

      // Promote with no canary deployed: refused, one line, exit 2, nothing changed (Azure/k8s-deploy#305).
      const refused = await run(2, { strategy: 'canary', action: 'promote' });
      expect(refused.exitCode).toBe(2);
      expect(refused.outputs.get('result')).toBe('refused');
      expect(errors(refused.stdout)).toEqual([
        expect.stringMatching(
          /^::error::promote refused: the canary deploy did not succeed — Deployment\/web-canary \(default\) does not exist .*Nothing was changed\.$/,
        ),
      ]);
      expect(viaService()).toEqual({ [IMG(1)]: 100 });

      // 50 % of 4 replicas: 2 canary pods beside 4 stable ones, the Service sends a third of the requests to them.
      const canary = await run(2, { strategy: 'canary', percentage: '50' });
      expect(canary.exitCode).toBe(0);
      expect(canary.outputs.get('result')).toBe('canary-deployed');
      expect(canary.summary.split('\n')[0]).toMatch(
        /^## 🐤 canary deployed: Deployment\/web-canary \(2\/2\) ready/,
      );
      expect(dep('web-canary')?.spec.template.metadata.labels).toEqual({
        app: 'web',
        'kiln.dev/track': 'canary',
      });
      expect(viaService()).toEqual({ [IMG(1)]: 67, [IMG(2)]: 33 });

      // Promoting another version than the canary's is refused too.
      const other = await run(3, { strategy: 'canary', action: 'promote' });
      expect(other.exitCode).toBe(2);
      expect(errors(other.stdout)).toEqual([
        expect.stringMatching(
          /web-canary \(default\) runs \S+@sha256:2{64}, not \S+@sha256:3{64} \(deploy this version first\)/,
        ),
      ]);

      const promoted = await run(2, { strategy: 'canary', action: 'promote' });
      expect(promoted.exitCode).toBe(0);
      expect(promoted.outputs.get('result')).toBe('promoted');
      expect(promoted.summary.split('\n')[0]).toMatch(/^## ✅ promoted in \S+; deleted web-canary$/);
      expect(dep('web-canary')).toBeUndefined();
      expect(viaService()).toEqual({ [IMG(2)]: 100 });

      expect((await run(3, { strategy: 'canary' })).outputs.get('result')).toBe('canary-deployed');
      const rejected = await run(3, { strategy: 'canary', action: 'reject' });
      expect(rejected.exitCode).toBe(0);
      expect(rejected.outputs.get('result')).toBe('rejected');
      expect(rejected.summary.split('\n')[0]).toBe(
        '## ↩️ rejected: deleted web-canary; traffic on the stable version',
      );
      expect(dep('web-canary')).toBeUndefined();
      expect(viaService()).toEqual({ [IMG(2)]: 100 });
    },
    SLOW,
  );
});

describe('canary by weights (traffic-split-method: gateway, ingress)', () => {
  beforeAll(async () => {
    const crd = await runBundle('deploy-k8s', {
      workspace: dir,
      timeoutMs: SLOW,
      with: { kubeconfig: config, manifests: 'crd.yaml' },
    });
    expect(crd.exitCode).toBe(0);
  }, SLOW);

  test(
    'gateway: the HTTPRoute sends exactly the percentage to the canary; promote puts the route back as written',
    async () => {
      await reset(1, 'gateway.yaml');
      expect(viaRoute()).toEqual({ [IMG(1)]: 100 });

      const canary = await run(
        2,
        { strategy: 'canary', 'traffic-split-method': 'gateway', percentage: '10' },
        'gateway.yaml',
      );
      expect(canary.exitCode).toBe(0);
      expect(canary.outputs.get('result')).toBe('canary-deployed');
      // One canary pod beside four stable ones, yet 10 % of the requests: the weights decide, not the pod count.
      expect(dep('web-canary')?.spec.replicas).toBe(1);
      expect(viaRoute()).toEqual({ [IMG(1)]: 90, [IMG(2)]: 10 });
      expect(viaService('web-stable')).toEqual({ [IMG(1)]: 100 });
      expect(viaService('web-canary')).toEqual({ [IMG(2)]: 100 });
      // The side Services are plain ClusterIP copies (a NodePort copy would collide on the node port).
      expect(svc('web-stable')?.spec.type).toBe('ClusterIP');
      expect(svc('web-stable')?.spec.ports.every((p) => !('nodePort' in p))).toBe(true);
      expect(svc('web')?.spec.selector).toEqual({ app: 'web' });

      const promoted = await run(
        2,
        { strategy: 'canary', action: 'promote', 'traffic-split-method': 'gateway' },
        'gateway.yaml',
      );
      expect(promoted.exitCode).toBe(0);
      expect(promoted.outputs.get('result')).toBe('promoted');
      expect(viaRoute()).toEqual({ [IMG(2)]: 100 });
      const route = sim.get('gateway.networking.k8s.io/v1', 'HTTPRoute', NS, 'web') as {
        spec: { rules: { backendRefs: unknown[] }[] };
      };
      expect(route.spec.rules[0]?.backendRefs).toEqual([{ name: 'web', port: 80 }]);
      for (const name of ['web-stable', 'web-canary']) expect(svc(name)).toBeUndefined();
      expect(dep('web-canary')).toBeUndefined();
    },
    SLOW,
  );

  test(
    'gateway: reject sends the whole share to the stable pods before the canary goes, and leaves the route as written',
    async () => {
      await reset(2, 'gateway.yaml');
      const gw = { strategy: 'canary', 'traffic-split-method': 'gateway' };
      expect((await run(3, gw, 'gateway.yaml')).outputs.get('result')).toBe('canary-deployed');
      expect(viaRoute()).toEqual({ [IMG(2)]: 80, [IMG(3)]: 20 });
      const rejected = await run(3, { ...gw, action: 'reject' }, 'gateway.yaml');
      expect(rejected.exitCode).toBe(0);
      expect(rejected.outputs.get('result')).toBe('rejected');
      // The first thing reject changed was the route, to web-stable alone.
      const first = rejected.stdout.split('\n').find((l) => /: (configured|deleted)$/.test(l));
      expect(first).toBe('HTTPRoute/web (default): configured');
      expect(viaRoute()).toEqual({ [IMG(2)]: 100 });
      const route = sim.get('gateway.networking.k8s.io/v1', 'HTTPRoute', NS, 'web') as {
        spec: { rules: { backendRefs: unknown[] }[] };
      };
      expect(route.spec.rules[0]?.backendRefs).toEqual([{ name: 'web', port: 80 }]);
      for (const name of ['web-stable', 'web-canary']) expect(svc(name)).toBeUndefined();
      // Rejecting again, with nothing to reject: the route is not pointed at a missing web-stable.
      const again = await run(3, { ...gw, action: 'reject' }, 'gateway.yaml');
      expect(again.exitCode).toBe(0);
      expect(again.stdout).toContain('HTTPRoute/web: left as it is (Service/web-stable not there)');
      expect(viaRoute()).toEqual({ [IMG(2)]: 100 });
    },
    SLOW,
  );

  test(
    'gateway: a canary that crash-loops is rolled back — copy and side Services deleted, the route never moved',
    async () => {
      await reset(2, 'gateway.yaml');
      const r = await run(BAD, { strategy: 'canary', 'traffic-split-method': 'gateway' }, 'gateway.yaml');
      expect(r.exitCode).toBe(1);
      expect(r.outputs.get('result')).toBe('rolled-back');
      expect(errors(r.stdout)).toEqual([
        expect.stringMatching(
          /^::error::deploy-k8s failed and was rolled back: Deployment\/web-canary: .*config missing/,
        ),
      ]);
      expect(dep('web-canary')).toBeUndefined();
      for (const name of ['web-stable', 'web-canary']) expect(svc(name)).toBeUndefined();
      expect(viaRoute()).toEqual({ [IMG(2)]: 100 });
    },
    SLOW,
  );

  test(
    'gateway: a canary with no stable Deployment to send the rest to is refused before anything changes',
    async () => {
      const r = await run(
        2,
        { strategy: 'canary', 'traffic-split-method': 'gateway', namespace: 'empty' },
        'gateway.yaml',
      );
      expect(r.exitCode).toBe(2);
      expect(errors(r.stdout)).toEqual([
        '::error::the canary needs the stable Deployment/web (empty) running, to send the rest of the traffic to (deploy it once with strategy rolling). Nothing was changed.',
      ]);
      expect(sim.get('apps/v1', 'Deployment', 'empty', 'web-canary')).toBeUndefined();
    },
    SLOW,
  );

  test(
    'ingress: an ingress-nginx canary Ingress takes the percentage; reject deletes it and the copies',
    async () => {
      await reset(1, 'ingress.yaml');
      const canary = await run(
        2,
        { strategy: 'canary', 'traffic-split-method': 'ingress', percentage: '20' },
        'ingress.yaml',
      );
      expect(canary.exitCode).toBe(0);
      expect(viaIngress()).toEqual({ [IMG(1)]: 80, [IMG(2)]: 20 });
      const ci = sim.get('networking.k8s.io/v1', 'Ingress', NS, 'web-canary') as {
        metadata: { annotations: Record<string, string> };
        spec: { rules: { host: string }[] };
      };
      expect(ci.metadata.annotations).toMatchObject({
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': '20',
      });
      expect(ci.spec.rules[0]?.host).toBe('shop.example.com');

      const rejected = await run(
        2,
        { strategy: 'canary', action: 'reject', 'traffic-split-method': 'ingress' },
        'ingress.yaml',
      );
      expect(rejected.exitCode).toBe(0);
      expect(rejected.summary.split('\n')[0]).toBe(
        '## ↩️ rejected: deleted Ingress/web-canary, web-canary, Service/web-canary, Service/web-stable; traffic on the stable version',
      );
      expect(sim.get('networking.k8s.io/v1', 'Ingress', NS, 'web-canary')).toBeUndefined();
      expect(viaIngress()).toEqual({ [IMG(1)]: 100 });
    },
    SLOW,
  );

  test('bad combinations are one line before any request', async () => {
    const noRoute = await run(2, { strategy: 'canary', 'traffic-split-method': 'gateway' });
    expect(noRoute.exitCode).toBe(2);
    expect(errors(noRoute.stdout)).toEqual([
      "::error::Input 'traffic-split-method': gateway needs a Gateway API HTTPRoute in the manifests that sends to a Service of the Deployments (Service/web).",
    ]);
    const blueGreen = await run(2, { strategy: 'blue-green', 'traffic-split-method': 'ingress' });
    expect(blueGreen.exitCode).toBe(2);
    expect(errors(blueGreen.stdout)[0]).toMatch(
      /^::error::Input 'traffic-split-method': ingress splits a canary's traffic/,
    );
  });
});

describe('blue-green (the Services switch on promote)', () => {
  test(
    'green gets a preview Service and no live traffic; reject leaves the stable; promote switches, then moves the new version to the stable names',
    async () => {
      await reset(2);
      const green = await run(3, { strategy: 'blue-green' });
      expect(green.exitCode).toBe(0);
      expect(green.outputs.get('result')).toBe('green-deployed');
      expect(green.summary.split('\n')[0]).toMatch(
        /^## 🟢 green deployed: Deployment\/web-green \(4\/4\) ready in \S+, preview Service\/web-green; promote or reject next$/,
      );
      // The live Service still answers from the stable pods only; the preview reaches green.
      expect(viaService()).toEqual({ [IMG(2)]: 100 });
      expect(viaService('web-green')).toEqual({ [IMG(3)]: 100 });

      const rejected = await run(3, { strategy: 'blue-green', action: 'reject' });
      expect(rejected.outputs.get('result')).toBe('rejected');
      expect(dep('web-green')).toBeUndefined();
      expect(svc('web-green')).toBeUndefined();
      expect(svc('web')?.spec.selector).toEqual({ app: 'web' });
      expect(viaService()).toEqual({ [IMG(2)]: 100 });

      expect((await run(4, { strategy: 'blue-green', action: 'promote' })).exitCode).toBe(2);
      expect((await run(4, { strategy: 'blue-green' })).outputs.get('result')).toBe('green-deployed');
      expect(viaService()).toEqual({ [IMG(2)]: 100 });
      const promoted = await run(4, { strategy: 'blue-green', action: 'promote' });
      expect(promoted.exitCode).toBe(0);
      expect(promoted.outputs.get('result')).toBe('promoted');
      // The switch happened before the stable Deployment rolled: green answered while web was replaced.
      const log = promoted.stdout;
      expect(log.indexOf('Service/web (default): configured')).toBeLessThan(
        log.indexOf('Deployment/web (default): configured'),
      );
      expect(image('web')).toBe(IMG(4));
      expect(svc('web')?.spec.selector).toEqual({ app: 'web' });
      expect(dep('web-green')).toBeUndefined();
      expect(viaService()).toEqual({ [IMG(4)]: 100 });
    },
    SLOW,
  );
});
