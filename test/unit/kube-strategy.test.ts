/**
 * deploy-k8s strategies as pure functions (packages/core/src/kube/strategy.ts): what each strategy × action ×
 * traffic-split-method applies, routes and deletes, in which order, and the objects themselves (the copies, the
 * side Services, the split HTTPRoutes, the ingress-nginx canary Ingress, the pins), plus the helpers the glue uses
 * against the live cluster (the stable pod-template-hash, whether a copy is ready to promote).
 */
import { describe, expect, test } from '@jest/globals';
import { InputError } from '../../packages/core/src/errors.js';
import type { Manifest } from '../../packages/core/src/kube/manifest-object.js';
import {
  canaryReplicas,
  copyNotReady,
  serviceKey,
  currentPodTemplateHash,
  NGINX_CANARY,
  NGINX_CANARY_WEIGHT,
  pinnedService,
  planStrategy,
  sideService,
  splitHttpRoute,
  strategyServices,
  TRACK_LABEL,
  withPin,
  type StrategyOptions,
} from '../../packages/core/src/kube/strategy.js';
import type { JsonObject } from '../../packages/core/src/util/json.js';

const REVISION = 'deployment.kubernetes.io/revision';
const HASH = 'pod-template-hash';

/** A loaded manifest as loadManifests gives it: document `document` of app.yaml, the document itself. */
function manifest(object: JsonObject, document = 1): Manifest {
  const metadata = object.metadata as JsonObject;
  return {
    object,
    file: 'app.yaml',
    document,
    pointer: '',
    apiVersion: object.apiVersion as string,
    kind: object.kind as string,
    name: metadata.name as string,
  };
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** A field by dotted path: get(m, 'spec.selector.matchLabels'). */
const get = (m: Manifest, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], m.object);

/** `Kind/name` of each object, in order. */
const names = (ms: readonly Manifest[]): string[] => ms.map((m) => `${m.kind}/${m.name}`);

const find = (ms: readonly Manifest[], kind: string, name: string): Manifest => {
  const m = ms.find((x) => x.kind === kind && x.name === name);
  if (!m) throw new Error(`no ${kind}/${name} in ${names(ms).join(', ')}`);
  return m;
};

/** The InputError a call throws (anything else fails the test). */
const inputErrorOf = (fn: () => unknown): InputError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected an InputError');
};

/** A Deployment selecting `labels`; its pod template carries them and `tier: backend`. */
function deployment(
  name: string,
  labels: Record<string, string>,
  o: { replicas?: number; namespace?: string; image?: string } = {},
  document = 2,
): Manifest {
  return manifest(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, ...(o.namespace ? { namespace: o.namespace } : {}), labels: { team: 'shop' } },
      spec: {
        ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
        selector: { matchLabels: { ...labels } },
        template: {
          metadata: { labels: { ...labels, tier: 'backend' } },
          spec: { containers: [{ name: 'app', image: o.image ?? `registry.example/${name}:1` }] },
        },
      },
    },
    document,
  );
}

function service(
  name: string,
  selector: Record<string, string> | undefined,
  o: { namespace?: string } = {},
  document = 3,
): Manifest {
  return manifest(
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, ...(o.namespace ? { namespace: o.namespace } : {}) },
      spec: {
        ...(selector ? { selector: { ...selector } } : {}),
        ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      },
    },
    document,
  );
}

const configMap = (): Manifest =>
  manifest({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { a: '1' } }, 1);

function httpRoute(name: string, backendRefs: JsonObject[], namespace?: string, document = 4): Manifest {
  return manifest(
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name, ...(namespace ? { namespace } : {}) },
      spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs }] },
    },
    document,
  );
}

const backend = (name: string): JsonObject => ({ service: { name, port: { number: 80 } } });

/** An Ingress: host a.example `/` → web and `/api` → api, host b.example `/` → api, default backend fallback. */
function siteIngress(): Manifest {
  return manifest(
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'site', annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' } },
      spec: {
        ingressClassName: 'nginx',
        defaultBackend: backend('fallback'),
        rules: [
          {
            host: 'a.example',
            http: {
              paths: [
                { path: '/', pathType: 'Prefix', backend: backend('web') },
                { path: '/api', pathType: 'Prefix', backend: backend('api') },
              ],
            },
          },
          {
            host: 'b.example',
            http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('api') }] },
          },
        ],
      },
    },
    4,
  );
}

const canary = (
  action: StrategyOptions['action'],
  traffic?: StrategyOptions['traffic'],
): StrategyOptions => ({
  strategy: 'canary',
  action,
  percentage: 20,
  ...(traffic ? { traffic } : {}),
});
const blueGreen = (action: StrategyOptions['action']): StrategyOptions => ({
  strategy: 'blue-green',
  action,
  percentage: 20,
});

// ---------------------------------------------------------------------------------------------------------------

describe('planStrategy: rolling', () => {
  test('deploy applies every manifest as written, in order, and nothing else', () => {
    const ms = [configMap(), deployment('web', { app: 'web' }), service('web', { app: 'web' })];
    const written = clone(ms);
    const plan = planStrategy(ms, { strategy: 'rolling', action: 'deploy', percentage: 20 });
    expect(plan).toEqual({
      before: [],
      apply: written,
      after: [],
      remove: [],
      last: [],
      cleanup: [],
      copies: [],
      needsStable: false,
    });
  });

  test.each(['promote', 'reject'] as const)('%s is refused, naming the input action', (action) => {
    const e = inputErrorOf(() =>
      planStrategy([deployment('web', { app: 'web' })], { strategy: 'rolling', action, percentage: 20 }),
    );
    expect(e.input).toBe('action');
    expect(e.message).toMatch(/^Input 'action': /);
    expect(e.message).toContain(action);
  });

  test.each(['gateway', 'ingress'] as const)(
    'traffic-split-method %s is refused, naming the input traffic-split-method',
    (traffic) => {
      const e = inputErrorOf(() =>
        planStrategy([deployment('web', { app: 'web' })], {
          strategy: 'rolling',
          action: 'deploy',
          percentage: 20,
          traffic,
        }),
      );
      expect(e.input).toBe('traffic-split-method');
      expect(e.message).toContain(traffic);
    },
  );
});

describe('planStrategy: canary, traffic split by pods', () => {
  const manifests = () => [
    configMap(),
    deployment('web', { app: 'web' }, { replicas: 4 }),
    service('web', { app: 'web' }),
    deployment('worker', { app: 'worker' }, {}, 5),
  ];

  test('deploy applies the other objects and a `<name>-canary` copy per Deployment; the Services go after, as written', () => {
    const ms = manifests();
    const written = clone(ms);
    const plan = planStrategy(ms, canary('deploy'));

    expect(names(plan.apply)).toEqual([
      'ConfigMap/settings',
      'Deployment/web-canary',
      'Deployment/worker-canary',
    ]);
    const copy = find(plan.apply, 'Deployment', 'web-canary');
    expect(copy).toMatchObject({ file: 'app.yaml', document: 2, pointer: '', apiVersion: 'apps/v1' });
    expect(get(copy, 'metadata.name')).toBe('web-canary');
    // ceil(4 × 20 / 100) = 1
    expect(get(copy, 'spec.replicas')).toBe(1);
    expect(get(copy, 'metadata.labels')).toEqual({ team: 'shop', [TRACK_LABEL]: 'canary' });
    expect(get(copy, 'spec.selector.matchLabels')).toEqual({ app: 'web', [TRACK_LABEL]: 'canary' });
    expect(get(copy, 'spec.template.metadata.labels')).toEqual({
      app: 'web',
      tier: 'backend',
      [TRACK_LABEL]: 'canary',
    });
    expect(get(copy, 'spec.template.spec.containers')).toEqual([
      { name: 'app', image: 'registry.example/web:1' },
    ]);
    // No replicas written: sized from Kubernetes' default 1.
    expect(get(find(plan.apply, 'Deployment', 'worker-canary'), 'spec.replicas')).toBe(1);

    expect(plan.before).toEqual([]);
    expect(plan.after).toEqual([written[2]]);
    expect(plan.remove).toEqual([]);
    expect(plan.last).toEqual([]);
    expect(plan.needsStable).toBe(false);
    expect(plan.copies).toEqual([
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-canary', of: 'web' },
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'worker-canary', of: 'worker' },
    ]);
    // The manifests themselves are left as written.
    expect(ms).toEqual(written);
  });

  test('promote applies the stable Deployments as written and removes the copies', () => {
    const ms = manifests();
    const written = clone(ms);
    const plan = planStrategy(ms, canary('promote'));
    expect(plan.apply).toEqual([written[0], written[1], written[3]]);
    expect(plan.after).toEqual([written[2]]);
    expect(plan.before).toEqual([]);
    expect(plan.remove).toEqual([
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-canary', of: 'web' },
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'worker-canary', of: 'worker' },
    ]);
    expect(plan.last).toEqual([]);
  });

  test('reject only removes the copies', () => {
    const plan = planStrategy(manifests(), canary('reject'));
    expect(plan).toEqual({
      before: [],
      apply: [],
      after: [],
      remove: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-canary', of: 'web' },
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'worker-canary', of: 'worker' },
      ],
      last: [],
      cleanup: [],
      copies: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-canary', of: 'web' },
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'worker-canary', of: 'worker' },
      ],
      needsStable: false,
    });
  });

  test("the copies' references carry the Deployment's namespace", () => {
    const plan = planStrategy([deployment('web', { app: 'web' }, { namespace: 'prod' })], canary('reject'));
    expect(plan.remove).toEqual([
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-canary', namespace: 'prod', of: 'web' },
    ]);
  });

  test('the copy has ceil(replicas × percentage / 100) replicas, at least 1', () => {
    expect(canaryReplicas(4, 20)).toBe(1);
    expect(canaryReplicas(10, 21)).toBe(3);
    expect(canaryReplicas(10, 50)).toBe(5);
    expect(canaryReplicas(1, 1)).toBe(1);
    expect(canaryReplicas(0, 50)).toBe(1);
    const plan = planStrategy([deployment('web', { app: 'web' }, { replicas: 10 })], {
      ...canary('deploy'),
      percentage: 21,
    });
    expect(get(find(plan.apply, 'Deployment', 'web-canary'), 'spec.replicas')).toBe(3);
  });
});

describe('planStrategy: canary, traffic split by Gateway API weights', () => {
  const manifests = () => [
    configMap(),
    deployment('web', { app: 'web' }, { replicas: 4 }),
    service('web', { app: 'web' }),
    httpRoute('web', [{ name: 'web', port: 80 }]),
  ];

  test('deploy: `<svc>-stable` pinned first, the copy and `<svc>-canary` applied, then the HTTPRoute split', () => {
    const ms = manifests();
    const written = clone(ms);
    const plan = planStrategy(ms, canary('deploy', 'gateway'));

    expect(plan.before).toHaveLength(1);
    const stable = plan.before[0] as Manifest & { pinTo?: string };
    expect(stable.pinTo).toBe('web');
    expect(stable).toMatchObject({ apiVersion: 'v1', kind: 'Service', name: 'web-stable' });
    expect(get(stable, 'metadata.name')).toBe('web-stable');
    expect(get(stable, 'spec.selector')).toEqual({ app: 'web' });
    expect(get(stable, 'spec.type')).toBe('ClusterIP');
    expect(get(stable, 'metadata.labels')).toEqual({ [TRACK_LABEL]: 'stable' });

    expect(names(plan.apply)).toEqual([
      'ConfigMap/settings',
      'Service/web',
      'Deployment/web-canary',
      'Service/web-canary',
    ]);
    expect(find(plan.apply, 'Service', 'web')).toEqual(written[2]);
    expect(get(find(plan.apply, 'Deployment', 'web-canary'), 'spec.selector.matchLabels')).toEqual({
      app: 'web',
      [TRACK_LABEL]: 'canary',
    });
    const canarySvc = find(plan.apply, 'Service', 'web-canary');
    expect(get(canarySvc, 'spec.selector')).toEqual({ app: 'web', [TRACK_LABEL]: 'canary' });
    expect(get(canarySvc, 'spec.ports')).toEqual([{ name: 'http', port: 80, targetPort: 8080 }]);

    expect(names(plan.after)).toEqual(['HTTPRoute/web']);
    expect(get(plan.after[0] as Manifest, 'spec.rules')).toEqual([
      {
        backendRefs: [
          { name: 'web-stable', port: 80, weight: 80 },
          { name: 'web-canary', port: 80, weight: 20 },
        ],
      },
    ]);
    expect(plan.needsStable).toBe(true);
    expect(plan.remove).toEqual([]);
    expect(plan.copies).toEqual([
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-canary', of: 'web' },
    ]);
    expect(ms).toEqual(written);
  });

  test('promote: the route as written first, the stable Deployment applied, then the copy and the side Services removed', () => {
    const ms = manifests();
    const written = clone(ms);
    const plan = planStrategy(ms, canary('promote', 'gateway'));
    expect(plan.before).toEqual([written[3]]);
    expect(plan.apply).toEqual([written[0], written[2], written[1]]);
    expect(plan.after).toEqual([]);
    expect(plan.remove).toEqual([
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-canary', of: 'web' },
      { apiVersion: 'v1', kind: 'Service', name: 'web-canary' },
      { apiVersion: 'v1', kind: 'Service', name: 'web-stable' },
    ]);
    expect(plan.last).toEqual([]);
  });

  test('reject: the whole share to `-stable` first (if it exists), the canary removed, the route as written, then `-stable` removed', () => {
    const ms = manifests();
    const written = clone(ms);
    const plan = planStrategy(ms, canary('reject', 'gateway'));
    expect(plan.before).toHaveLength(1);
    expect(get(plan.before[0] as Manifest, 'spec.rules.0.backendRefs')).toEqual([
      { name: 'web-stable', port: 80, weight: 100 },
    ]);
    expect(plan.before[0]?.requires).toEqual([{ apiVersion: 'v1', kind: 'Service', name: 'web-stable' }]);
    expect(plan.apply).toEqual([]);
    expect(plan.after).toEqual([]);
    expect(plan.remove.map((r) => `${r.kind}/${r.name}`)).toEqual([
      'Deployment/web-canary',
      'Service/web-canary',
    ]);
    expect(plan.last).toEqual([written[3]]);
    expect(plan.cleanup.map((r) => `${r.kind}/${r.name}`)).toEqual(['Service/web-stable']);
  });

  test('an HTTPRoute with no backendRef to the Services is refused, naming traffic-split-method', () => {
    const ms = [
      deployment('web', { app: 'web' }),
      service('web', { app: 'web' }),
      httpRoute('other', [{ name: 'other', port: 80 }]),
      // Sends to a `web` in another namespace, not this one.
      httpRoute('cross', [{ name: 'web', namespace: 'staging', port: 80 }], undefined, 5),
      // An HTTPRoute of another API group than gateway.networking.k8s.io.
      { ...httpRoute('foreign', [{ name: 'web', port: 80 }], undefined, 6), apiVersion: 'example.com/v1' },
    ];
    const e = inputErrorOf(() => planStrategy(ms, canary('deploy', 'gateway')));
    expect(e.input).toBe('traffic-split-method');
    expect(e.message).toContain('HTTPRoute');
    expect(e.message).toContain('Service/web');
  });

  test('no Service selecting the pods: refused, saying so', () => {
    const ms = [deployment('web', { app: 'web' }), httpRoute('web', [{ name: 'web' }])];
    const e = inputErrorOf(() => planStrategy(ms, canary('deploy', 'gateway')));
    expect(e.input).toBe('traffic-split-method');
    expect(e.message).toContain('none selects their pods');
  });
});

describe('splitHttpRoute', () => {
  test('a Service is told apart by namespace: a route in another namespace to its own `web` is left alone', () => {
    const routeB = httpRoute('web', [{ name: 'web', port: 80 }], 'b');
    const split = splitHttpRoute(routeB, new Set([serviceKey('a', 'web')]), 20);
    expect(get(split, 'spec.rules')).toEqual([{ backendRefs: [{ name: 'web', port: 80 }] }]);
    const ms = [
      deployment('web', { app: 'web' }),
      service('web', { app: 'web' }),
      httpRoute('web', [{ name: 'web', port: 80 }], 'b'),
    ];
    for (const m of ms.slice(0, 2)) (m.object.metadata as JsonObject).namespace = 'a';
    const e = inputErrorOf(() => planStrategy(ms, canary('deploy', 'gateway')));
    expect(e.input).toBe('traffic-split-method');
  });

  test("a weight that whole-percent splitting would push past Gateway API's 1,000,000 is refused", () => {
    const route = httpRoute('web', [{ name: 'web', port: 80, weight: 20_000 }]);
    const e = inputErrorOf(() => splitHttpRoute(route, new Set([serviceKey(undefined, 'web')]), 20));
    expect(e.input).toBe('traffic-split-method');
    expect(e.message).toContain('weight of 20000');
  });

  test("each backendRef to a split Service becomes `-stable` w × (100 − p) and `-canary` w × p; the others' scale by 100", () => {
    const route = httpRoute('web', [
      { name: 'web', port: 80, weight: 3 },
      { name: 'other', port: 8080, weight: 1 },
    ]);
    const written = clone(route);
    const split = splitHttpRoute(route, new Set([serviceKey(undefined, 'web')]), 20);
    // web had 3 of 4 shares, other 1: still 75 % / 25 %, web's share split 80/20.
    expect(get(split, 'spec.rules')).toEqual([
      {
        backendRefs: [
          { name: 'web-stable', port: 80, weight: 240 },
          { name: 'web-canary', port: 80, weight: 60 },
          { name: 'other', port: 8080, weight: 100 },
        ],
      },
    ]);
    expect(split).toMatchObject({ kind: 'HTTPRoute', name: 'web', file: 'app.yaml', document: 4 });
    expect(get(split, 'spec.parentRefs')).toEqual([{ name: 'gw' }]);
    expect(route).toEqual(written);
  });

  test('refs of another kind, group or namespace are left alone; a ref without weight weighs 1', () => {
    const route = httpRoute(
      'web',
      [
        { name: 'web', group: 'multicluster.x-k8s.io', kind: 'ServiceImport' },
        { name: 'web', group: 'example.com', kind: 'Service' },
        { name: 'web', namespace: 'staging' },
        { name: 'web', group: '', kind: 'Service', namespace: 'prod', port: 80 },
      ],
      'prod',
    );
    const split = splitHttpRoute(route, new Set([serviceKey('prod', 'web')]), 20);
    expect(get(split, 'spec.rules')).toEqual([
      {
        backendRefs: [
          { name: 'web', group: 'multicluster.x-k8s.io', kind: 'ServiceImport', weight: 100 },
          { name: 'web', group: 'example.com', kind: 'Service', weight: 100 },
          { name: 'web', namespace: 'staging', weight: 100 },
          { name: 'web-stable', group: '', kind: 'Service', namespace: 'prod', port: 80, weight: 80 },
          { name: 'web-canary', group: '', kind: 'Service', namespace: 'prod', port: 80, weight: 20 },
        ],
      },
    ]);
  });
});

describe('planStrategy: canary, traffic split by an ingress-nginx canary Ingress', () => {
  const manifests = () => [
    configMap(),
    deployment('web', { app: 'web' }, { replicas: 4 }),
    service('web', { app: 'web' }),
    siteIngress(),
  ];

  test('deploy: the Ingress sent to `<svc>-stable`, and `<ing>-canary` with only the paths to the split Service', () => {
    const ms = manifests();
    const written = clone(ms);
    const plan = planStrategy(ms, canary('deploy', 'ingress'));

    expect(names(plan.before)).toEqual(['Service/web-stable']);
    expect(names(plan.apply)).toEqual([
      'ConfigMap/settings',
      'Service/web',
      'Deployment/web-canary',
      'Service/web-canary',
    ]);
    expect(names(plan.after)).toEqual(['Ingress/site', 'Ingress/site-canary']);
    expect(plan.needsStable).toBe(true);

    const [main, can] = plan.after as [Manifest, Manifest];
    // The main Ingress: only the backends to the split Service retargeted.
    const expectedMain = clone(written[3] as Manifest);
    const mainRules = (
      expectedMain.object.spec as { rules: Array<{ http: { paths: Array<{ backend: JsonObject }> } }> }
    ).rules;
    mainRules[0]!.http.paths[0]!.backend = backend('web-stable');
    expect(main).toEqual(expectedMain);

    expect(can).toMatchObject({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'site-canary' });
    expect(get(can, 'metadata.name')).toBe('site-canary');
    expect(get(can, 'metadata.annotations')).toEqual({
      'cert-manager.io/cluster-issuer': 'letsencrypt',
      [NGINX_CANARY]: 'true',
      [NGINX_CANARY_WEIGHT]: '20',
    });
    expect(get(can, `metadata.annotations`)).toHaveProperty(['nginx.ingress.kubernetes.io/canary'], 'true');
    expect(get(can, `metadata.annotations`)).toHaveProperty(
      ['nginx.ingress.kubernetes.io/canary-weight'],
      '20',
    );
    expect(get(can, 'metadata.labels')).toEqual({ [TRACK_LABEL]: 'canary' });
    // Paths to other Services dropped, the rule left with none dropped, the default backend (not split) dropped.
    expect(get(can, 'spec')).toEqual({
      ingressClassName: 'nginx',
      rules: [
        {
          host: 'a.example',
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('web-canary') }] },
        },
      ],
    });
    expect(ms).toEqual(written);
  });

  test('a default backend to the split Service is kept in the canary Ingress, sent to `<svc>-canary`', () => {
    const ing = siteIngress();
    (ing.object.spec as JsonObject).defaultBackend = backend('web');
    const plan = planStrategy(
      [deployment('web', { app: 'web' }), service('web', { app: 'web' }), ing],
      canary('deploy', 'ingress'),
    );
    expect(get(find(plan.after, 'Ingress', 'site'), 'spec.defaultBackend')).toEqual(backend('web-stable'));
    expect(get(find(plan.after, 'Ingress', 'site-canary'), 'spec.defaultBackend')).toEqual(
      backend('web-canary'),
    );
  });

  test('promote: the Ingress as written first; the canary Ingress removed first, then the copy and side Services', () => {
    const ms = manifests();
    const written = clone(ms);
    const plan = planStrategy(ms, canary('promote', 'ingress'));
    expect(plan.before).toEqual([written[3]]);
    expect(plan.apply).toEqual([written[0], written[2], written[1]]);
    expect(plan.remove).toEqual([
      { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'site-canary' },
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-canary', of: 'web' },
      { apiVersion: 'v1', kind: 'Service', name: 'web-canary' },
      { apiVersion: 'v1', kind: 'Service', name: 'web-stable' },
    ]);
  });

  test('reject: the canary Ingress first (its share back to the stable Ingress), the copy, the Ingress as written, then `-stable`', () => {
    const ms = manifests();
    const written = clone(ms);
    const plan = planStrategy(ms, canary('reject', 'ingress'));
    expect(plan.before).toEqual([]);
    expect(plan.remove.map((r) => `${r.kind}/${r.name}`)).toEqual([
      'Ingress/site-canary',
      'Deployment/web-canary',
      'Service/web-canary',
    ]);
    expect(plan.last).toEqual([written[3]]);
    expect(plan.cleanup.map((r) => `${r.kind}/${r.name}`)).toEqual(['Service/web-stable']);
  });

  test('no networking.k8s.io/v1 Ingress to the Services is refused, naming traffic-split-method', () => {
    const ing = siteIngress();
    ing.object.apiVersion = 'extensions/v1beta1';
    ing.apiVersion = 'extensions/v1beta1';
    const e = inputErrorOf(() =>
      planStrategy(
        [deployment('web', { app: 'web' }), service('web', { app: 'web' }), ing],
        canary('deploy', 'ingress'),
      ),
    );
    expect(e.input).toBe('traffic-split-method');
    expect(e.message).toContain('Ingress');
  });
});

describe('sideService', () => {
  const loadBalancer = (): Manifest =>
    manifest({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'web',
        labels: { app: 'web' },
        annotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' },
      },
      spec: {
        type: 'LoadBalancer',
        clusterIP: '10.0.0.10',
        clusterIPs: ['10.0.0.10'],
        loadBalancerIP: '203.0.113.7',
        loadBalancerSourceRanges: ['10.0.0.0/8'],
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 30001,
        selector: { app: 'web' },
        ports: [{ name: 'http', port: 80, targetPort: 8080, nodePort: 30080 }],
        sessionAffinity: 'None',
      },
    });

  test('a ClusterIP copy: same ports (no nodePort) and selector, no addresses or annotations, the track label', () => {
    const svc = loadBalancer();
    const written = clone(svc);
    const side = sideService(svc, 'canary', 'canary');
    expect(side).toMatchObject({ name: 'web-canary', kind: 'Service', file: 'app.yaml', document: 1 });
    expect(side.object).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web-canary', labels: { app: 'web', [TRACK_LABEL]: 'canary' } },
      spec: {
        type: 'ClusterIP',
        selector: { app: 'web', [TRACK_LABEL]: 'canary' },
        ports: [{ name: 'http', port: 80, targetPort: 8080 }],
        sessionAffinity: 'None',
      },
    });
    expect(svc).toEqual(written);
  });

  test('without a track the selector is kept as written; the label still names the suffix', () => {
    const side = sideService(loadBalancer(), 'stable');
    expect(get(side, 'spec.selector')).toEqual({ app: 'web' });
    expect(get(side, 'metadata.labels')).toEqual({ app: 'web', [TRACK_LABEL]: 'stable' });
    expect(get(side, 'spec.type')).toBe('ClusterIP');
    expect(get(side, 'spec.clusterIP')).toBeUndefined();
    expect(get(side, 'spec.loadBalancerIP')).toBeUndefined();
    expect(get(side, 'metadata.annotations')).toBeUndefined();
  });
});

describe('strategyServices', () => {
  test('a Service whose selector matches the pod template of two Deployments is refused, naming strategy', () => {
    const ms = [
      deployment('web', { app: 'web', component: 'api' }),
      deployment('worker', { app: 'web', component: 'worker' }),
      service('web', { app: 'web' }),
    ];
    const deployments = ms.filter((m) => m.kind === 'Deployment');
    const e = inputErrorOf(() => strategyServices(ms, deployments));
    expect(e.input).toBe('strategy');
    expect(e.message).toContain('Service/web');
    expect(e.message).toContain('Deployment/web and Deployment/worker');
    // planStrategy refuses it the same way.
    expect(inputErrorOf(() => planStrategy(ms, blueGreen('deploy'))).input).toBe('strategy');
  });

  test('each Service paired with the one Deployment it selects; none matched, no selector or another namespace left out', () => {
    const web = deployment('web', { app: 'web' });
    const prod = deployment('api', { app: 'api' }, { namespace: 'prod' });
    const ms = [
      web,
      prod,
      // A subset of the template's labels (`app` and `tier`) selects it.
      service('web', { app: 'web', tier: 'backend' }),
      service('metrics', { app: 'prometheus' }),
      service('external', undefined),
      // The Deployment `api` is in prod, this Service in the default namespace.
      service('api', { app: 'api' }),
      service('api', { app: 'api' }, { namespace: 'prod' }, 6),
      // A label the pods lack.
      service('web-v2', { app: 'web', version: 'v2' }),
    ];
    const out = strategyServices(ms, [web, prod]);
    expect(out.map((r) => [r.service.name, r.service.document, r.deployment.name])).toEqual([
      ['web', 3, 'web'],
      ['api', 6, 'api'],
    ]);
    expect(out[0]?.service).toBe(ms[2]);
    expect(out[0]?.deployment).toBe(web);
  });
});

describe('planStrategy: blue-green', () => {
  const manifests = () => [
    configMap(),
    deployment('web', { app: 'web' }, { replicas: 4 }),
    service('web', { app: 'web' }),
    service('metrics', { app: 'prometheus' }, {}, 5),
  ];
  const removed = [
    { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-green', of: 'web' },
    { apiVersion: 'v1', kind: 'Service', name: 'web-green' },
  ];

  test('deploy: the Services pinned to the stable pods first; a full-size green copy and a preview Service applied', () => {
    const ms = manifests();
    const written = clone(ms);
    const plan = planStrategy(ms, blueGreen('deploy'));

    expect(plan.before).toEqual([{ ...written[2], pinTo: 'web' }]);
    expect(names(plan.apply)).toEqual([
      'ConfigMap/settings',
      'Service/metrics',
      'Deployment/web-green',
      'Service/web-green',
    ]);
    expect(find(plan.apply, 'Service', 'metrics')).toEqual(written[3]);
    const green = find(plan.apply, 'Deployment', 'web-green');
    expect(get(green, 'spec.replicas')).toBe(4);
    expect(get(green, 'metadata.labels')).toEqual({ team: 'shop', [TRACK_LABEL]: 'green' });
    expect(get(green, 'spec.selector.matchLabels')).toEqual({ app: 'web', [TRACK_LABEL]: 'green' });
    expect(get(green, 'spec.template.metadata.labels')).toEqual({
      app: 'web',
      tier: 'backend',
      [TRACK_LABEL]: 'green',
    });
    const preview = find(plan.apply, 'Service', 'web-green');
    expect(get(preview, 'spec.selector')).toEqual({ app: 'web', [TRACK_LABEL]: 'green' });
    expect(get(preview, 'spec.type')).toBe('ClusterIP');
    expect(get(preview, 'metadata.labels')).toEqual({ [TRACK_LABEL]: 'green' });

    expect(plan.after).toEqual([]);
    expect(plan.remove).toEqual([]);
    expect(plan.last).toEqual([]);
    expect(plan.needsStable).toBe(false);
    expect(plan.copies).toEqual([removed[0]]);
    expect(ms).toEqual(written);
  });

  test('promote: the Services switched to green first, the stable updated, the Services back as written, green removed', () => {
    const ms = manifests();
    const written = clone(ms);
    const plan = planStrategy(ms, blueGreen('promote'));

    expect(names(plan.before)).toEqual(['Service/web']);
    expect(get(plan.before[0] as Manifest, 'spec.selector')).toEqual({ app: 'web', [TRACK_LABEL]: 'green' });
    expect(get(plan.before[0] as Manifest, 'spec.ports')).toEqual(get(written[2] as Manifest, 'spec.ports'));
    expect(plan.before[0]).not.toHaveProperty('pinTo');
    expect(plan.apply).toEqual([written[0], written[3], written[1]]);
    expect(plan.after).toEqual([written[2]]);
    expect(plan.remove).toEqual(removed);
    expect(plan.last).toEqual([]);
    expect(ms).toEqual(written);
  });

  test('reject: green removed, then the Services applied as written (unpinned)', () => {
    const ms = manifests();
    const written = clone(ms);
    const plan = planStrategy(ms, blueGreen('reject'));
    expect(plan.before).toEqual([]);
    expect(plan.apply).toEqual([]);
    expect(plan.after).toEqual([]);
    expect(plan.remove).toEqual(removed);
    expect(plan.last).toEqual([written[2]]);
  });

  test("the removals carry the objects' namespace", () => {
    const plan = planStrategy(
      [
        deployment('web', { app: 'web' }, { namespace: 'prod' }),
        service('web', { app: 'web' }, { namespace: 'prod' }),
      ],
      blueGreen('reject'),
    );
    expect(plan.remove).toEqual([
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web-green', namespace: 'prod', of: 'web' },
      { apiVersion: 'v1', kind: 'Service', name: 'web-green', namespace: 'prod' },
    ]);
  });

  test.each(['gateway', 'ingress'] as const)('traffic-split-method %s is refused', (traffic) => {
    const e = inputErrorOf(() => planStrategy(manifests(), { ...blueGreen('deploy'), traffic }));
    expect(e.input).toBe('traffic-split-method');
    expect(e.message).toContain(traffic);
  });
});

describe('withPin', () => {
  test("adds the stable ReplicaSet's pod-template-hash to the selector and drops pinTo, leaving the input alone", () => {
    const planned = pinnedService(service('web', { app: 'web' }), 'web');
    const before = clone(planned);
    const pinned = withPin(planned, '5d8f9c7b6');
    expect(get(pinned, 'spec.selector')).toEqual({ app: 'web', [HASH]: '5d8f9c7b6' });
    expect(pinned).not.toHaveProperty('pinTo');
    expect(pinned).toMatchObject({ kind: 'Service', name: 'web', file: 'app.yaml', document: 3 });
    expect(get(pinned, 'spec.ports')).toEqual([{ name: 'http', port: 80, targetPort: 8080 }]);
    expect(planned).toEqual(before);
    expect(planned.pinTo).toBe('web');
  });
});

describe('currentPodTemplateHash', () => {
  const live = (revision?: string): JsonObject => ({
    metadata: {
      name: 'web',
      uid: 'uid-web',
      ...(revision ? { annotations: { [REVISION]: revision } } : {}),
    },
  });
  const replicaSet = (hash: string, revision: string, owner = 'uid-web', controller = true): JsonObject => ({
    metadata: {
      name: `web-${hash}`,
      labels: { app: 'web', [HASH]: hash },
      annotations: { [REVISION]: revision },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: owner, controller }],
    },
  });

  test("the ReplicaSet owned by the Deployment whose revision is the Deployment's", () => {
    expect(
      currentPodTemplateHash(live('3'), [
        replicaSet('foreign', '3', 'uid-other'),
        replicaSet('notcontroller', '3', 'uid-web', false),
        replicaSet('old', '2'),
        replicaSet('current', '3'),
        replicaSet('older', '1'),
      ]),
    ).toBe('current');
  });

  test('no owned ReplicaSet has the revision: the highest revision (as a number)', () => {
    expect(
      currentPodTemplateHash(live('12'), [
        replicaSet('r2', '2'),
        replicaSet('r10', '10'),
        replicaSet('r9', '9'),
        replicaSet('foreign', '99', 'uid-other'),
      ]),
    ).toBe('r10');
  });

  test('undefined without a Deployment or without a ReplicaSet it owns', () => {
    expect(currentPodTemplateHash(undefined, [replicaSet('current', '3')])).toBeUndefined();
    expect(currentPodTemplateHash(live('3'), [])).toBeUndefined();
    expect(currentPodTemplateHash(live('3'), [replicaSet('foreign', '3', 'uid-other')])).toBeUndefined();
  });
});

describe('copyNotReady', () => {
  const copy = (
    o: {
      generation?: number;
      observed?: number;
      replicas?: number;
      ready?: number;
      updated?: number;
      total?: number;
      available?: number;
      images?: string[];
      init?: string[];
    } = {},
  ): JsonObject => ({
    metadata: { name: 'web-canary', generation: o.generation ?? 2 },
    spec: {
      replicas: o.replicas ?? 2,
      template: {
        spec: {
          ...(o.init ? { initContainers: o.init.map((image, i) => ({ name: `init${i}`, image })) } : {}),
          containers: (o.images ?? ['registry.example/web:2']).map((image, i) => ({ name: `c${i}`, image })),
        },
      },
    },
    status: {
      observedGeneration: o.observed ?? 2,
      replicas: o.total ?? o.updated ?? 2,
      readyReplicas: o.ready ?? 2,
      updatedReplicas: o.updated ?? 2,
      availableReplicas: o.available ?? o.updated ?? 2,
    },
  });
  const expected = ['registry.example/web:2'];

  test("old pods still there, or updated pods not available: not ready (readyReplicas counts the old ReplicaSet's pods)", () => {
    // maxSurge 100 %: two new pods crash while the two old ones stay ready.
    expect(copyNotReady(copy({ total: 4, updated: 2, ready: 2, available: 0 }), expected)).toBe(
      'not rolled out (2 old pod(s) still there)',
    );
    expect(copyNotReady(copy({ available: 1 }), expected)).toBe('not available (1/2 updated pods available)');
  });

  test('missing: run deploy first', () => {
    expect(copyNotReady(undefined, expected)).toBe('does not exist (run action deploy first)');
  });

  test('its latest generation not observed yet', () => {
    expect(copyNotReady(copy({ generation: 3, observed: 2 }), expected)).toBe(
      'its latest spec was not rolled out yet',
    );
  });

  test('not every replica ready, or not every replica updated', () => {
    expect(copyNotReady(copy({ ready: 1 }), expected)).toBe('not ready (1/2 ready, 2/2 updated)');
    expect(copyNotReady(copy({ updated: 1 }), expected)).toBe('not ready (2/2 ready, 1/2 updated)');
  });

  test('running other images than the ones promoted', () => {
    expect(copyNotReady(copy({ images: ['registry.example/web:1'] }), expected)).toBe(
      'runs registry.example/web:1, not registry.example/web:2 (deploy this version first)',
    );
    expect(copyNotReady(copy({ init: ['registry.example/migrate:1'] }), expected)).toMatch(/^runs /);
  });

  test('ready: observed, every replica ready and updated, the same images in any order', () => {
    expect(copyNotReady(copy(), expected)).toBeUndefined();
    expect(
      copyNotReady(copy({ images: ['b:1', 'a:1'], init: ['c:1'] }), ['c:1', 'a:1', 'b:1']),
    ).toBeUndefined();
  });
});

describe('planStrategy: what a strategy cannot copy', () => {
  const statefulSet = (): Manifest =>
    manifest({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: { selector: { matchLabels: { app: 'db' } } },
    });

  test.each<[string, StrategyOptions]>([
    ['canary', canary('deploy')],
    ['blue-green', blueGreen('deploy')],
  ])('a StatefulSet in a %s is refused, naming strategy and the StatefulSet', (_name, options) => {
    const e = inputErrorOf(() =>
      planStrategy(
        [deployment('web', { app: 'web' }), service('web', { app: 'web' }), statefulSet()],
        options,
      ),
    );
    expect(e.input).toBe('strategy');
    expect(e.message).toContain('StatefulSet/db');
  });

  test('a canary with no Deployment is refused, naming strategy', () => {
    const e = inputErrorOf(() =>
      planStrategy([configMap(), service('web', { app: 'web' })], canary('deploy')),
    );
    expect(e.input).toBe('strategy');
    expect(e.message).toContain('Deployment');
  });
});
