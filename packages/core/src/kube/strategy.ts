/**
 * deploy-k8s's strategies as pure functions over the loaded manifests: what each `strategy` × `action` ×
 * `traffic-split-method` applies, routes and deletes, in which order. The glue (action/kube*.ts) does the requests.
 *
 * The steps of every plan run in this order: `before` (traffic objects, applied at once), `apply` (applied, the
 * workloads waited for under the one deadline, everything rolled back on failure, `before` included), `after`
 * (traffic objects, once every workload is ready), `remove` (deleted in order), `last` (applied once they are gone).
 *
 * Services and pods: a Service selector is equality-only, and a copy's pods keep every label of the stable pods (so
 * dashboards and policies see them), so the Service that selects the stable pods selects the copy's too. To send
 * traffic to the stable pods only, Kiln adds the stable Deployment's current `pod-template-hash` to a selector (a
 * "pin"; the Deployment controller puts that label on every pod of a ReplicaSet), as Argo Rollouts does with its own
 * hash label. A pin is resolved by the glue against the live Deployment just before it is applied.
 *
 * - `canary`, `pod`: a copy `<name>-canary` (`kiln.dev/track: canary`, ceil(replicas × percentage / 100)
 *   replicas) beside each Deployment; the Services select both, so the traffic splits by replica ratio.
 * - `canary`, `gateway` / `ingress`: the same copy, plus per Service a `<svc>-stable` (pinned to the stable pods)
 *   and a `<svc>-canary` (the canary pods). Once the copy is ready, the Gateway API `HTTPRoute`s that send to the
 *   Service get two weighted backends instead (`-stable` 100−p, `-canary` p), or the `Ingress`es point at
 *   `-stable` and an ingress-nginx canary Ingress `<ing>-canary` (`canary-weight: p`) at `-canary`: exact shares.
 * - `blue-green`: a copy `<name>-green` as large as the stable and a preview Service `<svc>-green`; the Services
 *   are pinned to the stable pods first, so green takes no live traffic until `promote` switches the Services to it.
 *
 * promote / reject put the routes back as written before anything else, so traffic never points at a Service
 * whose pods are about to go.
 */
import { InputError } from '../errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../util/json.js';
import { listOf, type Manifest } from './manifest-object.js';

export type Strategy = 'rolling' | 'canary' | 'blue-green';
export type StrategyAction = 'deploy' | 'promote' | 'reject';
export type TrafficMethod = 'pod' | 'gateway' | 'ingress';

export const TRACK_LABEL = 'kiln.dev/track';
export const POD_TEMPLATE_HASH = 'pod-template-hash';
export const NGINX_CANARY = 'nginx.ingress.kubernetes.io/canary';
export const NGINX_CANARY_WEIGHT = 'nginx.ingress.kubernetes.io/canary-weight';

/** The copies' track and name suffix per strategy. */
export function trackOf(strategy: Strategy): 'canary' | 'green' | undefined {
  return strategy === 'canary' ? 'canary' : strategy === 'blue-green' ? 'green' : undefined;
}

/** Workload kinds a strategy cannot copy (only Deployments are copied; the others would be changed in place). */
const UNCOPIED = new Set(['StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicaSet']);

/** One object as a reference the client takes. */
export interface CopyRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  /** Deployment copies: the stable Deployment this copies. */
  of?: string;
}

/** An object a strategy applies; `pinTo` names the stable Deployment whose live pod-template-hash joins its selector. */
export interface Planned extends Manifest {
  pinTo?: string;
  /** Applied only when these exist (a reject's route to `<svc>-stable` when there is no canary to reject is skipped). */
  requires?: CopyRef[];
}

export interface StrategyPlan {
  /** Traffic objects applied first (pins, the blue-green switch, routes back as written). */
  before: Planned[];
  /** Applied, then waited for (workloads), rolled back on failure. */
  apply: Manifest[];
  /** Applied once every workload of `apply` is ready (the traffic split). */
  after: Planned[];
  /** Deleted, in this order, after `after`. */
  remove: CopyRef[];
  /** Applied once `remove` is done (blue-green reject: the Services unpinned; a canary reject: the routes). */
  last: Planned[];
  /** Deleted after `last` (a canary reject's `<svc>-stable`, which the routes sent to until then). */
  cleanup: CopyRef[];
  /** The Deployment copies: checked before promote. */
  copies: CopyRef[];
  /** A pin that finds no stable Deployment refuses the deploy (its traffic share would have no pods). */
  needsStable: boolean;
}

export interface StrategyOptions {
  strategy: Strategy;
  action: StrategyAction;
  percentage: number;
  traffic?: TrafficMethod;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function obj(parent: JsonObject, key: string): JsonObject {
  const v = parent[key];
  if (isJsonObject(v)) return v;
  const o: JsonObject = {};
  parent[key] = o;
  return o;
}

function namespaceOf(m: Manifest): string | undefined {
  const ns = (m.object.metadata as JsonObject | undefined)?.namespace;
  return typeof ns === 'string' ? ns : undefined;
}

/** `web` → `web-canary`; a name that would pass 253 characters is refused by the server. */
export function copyName(name: string, track: string): string {
  return `${name}-${track}`;
}

/** The stable replicas a copy is sized from: the manifest's `spec.replicas` (Kubernetes' default 1). */
export function stableReplicas(m: Manifest): number {
  const r = (m.object.spec as JsonObject | undefined)?.replicas;
  return typeof r === 'number' ? r : 1;
}

/** ceil(stable × percentage / 100), at least 1. */
export function canaryReplicas(stable: number, percentage: number): number {
  return Math.max(1, Math.ceil((stable * percentage) / 100));
}

function refOf(m: Manifest, name = m.name): CopyRef {
  const namespace = namespaceOf(m);
  return { apiVersion: m.apiVersion, kind: m.kind, name, ...(namespace ? { namespace } : {}) };
}

/**
 * A copy of a Deployment on a track: named `<name>-<track>`, the track label on its metadata, selector and pod
 * template; canary copies sized by `percentage`, green copies as many as the stable.
 */
export function trackCopy(m: Manifest, track: 'canary' | 'green', percentage: number): Manifest {
  const o = clone(m.object);
  const meta = obj(o, 'metadata');
  const name = copyName(m.name, track);
  meta.name = name;
  obj(meta, 'labels')[TRACK_LABEL] = track;
  const spec = obj(o, 'spec');
  if (track === 'canary') spec.replicas = canaryReplicas(stableReplicas(m), percentage);
  obj(obj(spec, 'selector'), 'matchLabels')[TRACK_LABEL] = track;
  obj(obj(obj(spec, 'template'), 'metadata'), 'labels')[TRACK_LABEL] = track;
  return { ...m, object: o, name };
}

/** A Service whose selector also asks for the track (all its traffic to that track's pods). */
export function routedService(m: Manifest, track: string): Planned {
  const o = clone(m.object);
  obj(obj(o, 'spec'), 'selector')[TRACK_LABEL] = track;
  return { ...m, object: o };
}

/** A Service pinned to the stable pods of `deployment` (the hash is filled in from the live Deployment). */
export function pinnedService(m: Manifest, deployment: string): Planned {
  return { ...m, object: clone(m.object), pinTo: deployment };
}

/** The pin resolved: the selector with the stable ReplicaSet's pod-template-hash. */
export function withPin(m: Planned, hash: string): Manifest {
  const o = clone(m.object);
  obj(obj(o, 'spec'), 'selector')[POD_TEMPLATE_HASH] = hash;
  const { pinTo: _pinTo, ...rest } = m;
  return { ...rest, object: o };
}

/** What of a Service a side copy keeps: type ClusterIP, no node ports, addresses or cloud annotations. */
const DROPPED_SERVICE_FIELDS = [
  'clusterIP',
  'clusterIPs',
  'externalIPs',
  'externalName',
  'externalTrafficPolicy',
  'healthCheckNodePort',
  'loadBalancerClass',
  'loadBalancerIP',
  'loadBalancerSourceRanges',
  'allocateLoadBalancerNodePorts',
];

/**
 * A side Service `<svc>-<suffix>` (the ClusterIP copy a route, an Ingress or a person's test sends to): the same
 * ports and selector, `track` added to the selector when given, labelled with `kiln.dev/track: <suffix>`.
 */
export function sideService(m: Manifest, suffix: string, track?: string): Planned {
  const o = clone(m.object);
  const meta = obj(o, 'metadata');
  const name = copyName(m.name, suffix);
  meta.name = name;
  delete meta.annotations;
  obj(meta, 'labels')[TRACK_LABEL] = suffix;
  const spec = obj(o, 'spec');
  for (const f of DROPPED_SERVICE_FIELDS) delete spec[f];
  spec.type = 'ClusterIP';
  if (Array.isArray(spec.ports))
    spec.ports = spec.ports.map((p) => {
      if (!isJsonObject(p)) return p;
      const { nodePort: _nodePort, ...rest } = p;
      return rest;
    });
  if (track) obj(spec, 'selector')[TRACK_LABEL] = track;
  return { ...m, object: o, name };
}

function labelsOf(o: JsonObject | undefined, ...path: string[]): Record<string, unknown> {
  let v: unknown = o;
  for (const p of path) v = isJsonObject(v) ? v[p] : undefined;
  return isJsonObject(v) ? v : {};
}

/**
 * The Services a strategy routes, each with the one Deployment whose pods it selects (its selector is a subset of
 * the pod template's labels, same namespace). A Service that selects the pods of none is left as written; one that
 * selects the pods of several cannot be pinned to one stable ReplicaSet.
 */
export function strategyServices(
  manifests: readonly Manifest[],
  deployments: readonly Manifest[],
): Array<{ service: Manifest; deployment: Manifest }> {
  const out: Array<{ service: Manifest; deployment: Manifest }> = [];
  for (const s of manifests) {
    if (s.kind !== 'Service' || s.apiVersion !== 'v1') continue;
    const selector = Object.entries(labelsOf(s.object, 'spec', 'selector'));
    if (selector.length === 0) continue;
    const selects = deployments.filter((d) => {
      if (namespaceOf(d) !== namespaceOf(s)) return false;
      const labels = labelsOf(d.object, 'spec', 'template', 'metadata', 'labels');
      return selector.every(([k, v]) => labels[k] === v);
    });
    if (selects.length > 1)
      throw new InputError(
        'strategy',
        `Service/${s.name} selects the pods of ${listOf(selects.map((d) => `Deployment/${d.name}`))}; its traffic can be switched or split for one Deployment only (give each its own Service).`,
      );
    if (selects[0]) out.push({ service: s, deployment: selects[0] });
  }
  return out;
}

/** A Service as routes name it: `<namespace>/<name>` (no namespace: the default one the glue resolves). */
export function serviceKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

interface BackendRef extends JsonObject {
  name: string;
}

/** A backendRef to a Service in the route's own namespace that is one of `services` (keys). */
function isSplitRef(
  ref: unknown,
  routeNs: string | undefined,
  services: ReadonlySet<string>,
): ref is BackendRef {
  if (!isJsonObject(ref) || typeof ref.name !== 'string') return false;
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Service';
  return (
    group === '' &&
    kind === 'Service' &&
    (ref.namespace ?? routeNs) === routeNs &&
    services.has(serviceKey(routeNs, ref.name))
  );
}

/** Gateway API HTTPRoutes (any version of gateway.networking.k8s.io) with a backendRef to one of `services`. */
function httpRoutesTo(manifests: readonly Manifest[], services: ReadonlySet<string>): Manifest[] {
  return manifests.filter(
    (m) =>
      m.kind === 'HTTPRoute' &&
      m.apiVersion.startsWith('gateway.networking.k8s.io/') &&
      routeRules(m.object).some((rule) =>
        backendRefs(rule).some((ref) => isSplitRef(ref, namespaceOf(m), services)),
      ),
  );
}

function routeRules(o: JsonObject): JsonObject[] {
  const rules = labelsOf(o, 'spec').rules;
  return Array.isArray(rules) ? rules.filter(isJsonObject) : [];
}

function backendRefs(rule: JsonObject): JsonValue[] {
  return Array.isArray(rule.backendRefs) ? rule.backendRefs : [];
}

/** Gateway API's largest backendRef weight. */
export const MAX_ROUTE_WEIGHT = 1_000_000;

/**
 * An HTTPRoute with each backendRef to a split Service (keys of `services`) replaced by two: `<svc>-stable` with
 * weight w × (100 − p) and `<svc>-canary` with w × p (w: the ref's own weight, default 1), so the shares stay
 * exact whatever the route's other backends weigh; the other backends' weights are scaled by 100 to match. With
 * `percentage` 0 the canary ref is left out (all of the Service's share to the stable pods: a reject's first step).
 */
export function splitHttpRoute(route: Manifest, services: ReadonlySet<string>, percentage: number): Planned {
  const o = clone(route.object);
  const ns = namespaceOf(route);
  for (const rule of routeRules(o)) {
    const refs = backendRefs(rule);
    if (!refs.some((ref) => isSplitRef(ref, ns, services))) continue;
    rule.backendRefs = refs.flatMap((ref) => {
      if (!isJsonObject(ref)) return [ref];
      const w = typeof ref.weight === 'number' ? ref.weight : 1;
      if (w * 100 > MAX_ROUTE_WEIGHT)
        throw new InputError(
          'traffic-split-method',
          `HTTPRoute/${route.name} has a backendRef weight of ${w}; Kiln splits weights in whole percent, and ${w} × 100 passes Gateway API's limit of ${MAX_ROUTE_WEIGHT} (use weights up to ${MAX_ROUTE_WEIGHT / 100}).`,
        );
      if (!isSplitRef(ref, ns, services)) return [{ ...ref, weight: w * 100 }];
      const stable = { ...ref, name: copyName(ref.name, 'stable'), weight: w * (100 - percentage) };
      return percentage > 0
        ? [stable, { ...ref, name: copyName(ref.name, 'canary'), weight: w * percentage }]
        : [stable];
    });
  }
  return { ...route, object: o };
}

/** networking.k8s.io/v1 Ingresses with a backend Service among `services`. */
function ingressesTo(manifests: readonly Manifest[], services: ReadonlySet<string>): Manifest[] {
  return manifests.filter(
    (m) =>
      m.kind === 'Ingress' &&
      m.apiVersion === 'networking.k8s.io/v1' &&
      ingressBackends(m.object).some((b) => services.has(serviceKey(namespaceOf(m), b.name as string))),
  );
}

/** Every `backend.service` of an Ingress (the default backend and each path's). */
function ingressBackends(o: JsonObject): JsonObject[] {
  const spec = labelsOf(o, 'spec');
  const out: JsonObject[] = [];
  const add = (backend: unknown) => {
    if (isJsonObject(backend) && isJsonObject(backend.service) && typeof backend.service.name === 'string')
      out.push(backend.service);
  };
  add(spec.defaultBackend);
  for (const rule of Array.isArray(spec.rules) ? spec.rules : [])
    for (const path of isJsonObject(rule) && isJsonObject(rule.http) && Array.isArray(rule.http.paths)
      ? rule.http.paths
      : [])
      if (isJsonObject(path)) add(path.backend);
  return out;
}

/** The Ingress with its backends to split Services sent to `<svc>-<suffix>`. */
function retargetIngress(m: Manifest, services: ReadonlySet<string>, suffix: string): JsonObject {
  const o = clone(m.object);
  for (const b of ingressBackends(o))
    if (services.has(serviceKey(namespaceOf(m), b.name as string)))
      b.name = copyName(b.name as string, suffix);
  return o;
}

/** The Ingress as written, but sending to `<svc>-stable` (the canary's share goes through its own Ingress). */
export function stableIngress(m: Manifest, services: ReadonlySet<string>): Planned {
  return { ...m, object: retargetIngress(m, services, 'stable') };
}

/**
 * ingress-nginx's canary Ingress `<ing>-canary`: the same hosts and paths (those that send to a split Service),
 * backends `<svc>-canary`, annotated `canary: "true"` and `canary-weight: "<p>"`.
 */
export function canaryIngress(m: Manifest, services: ReadonlySet<string>, percentage: number): Planned {
  // Which backends were split is decided on the original: a Service named `x-canary` of its own stays out.
  const split = new Set(
    ingressBackends(m.object)
      .filter((b) => services.has(serviceKey(namespaceOf(m), b.name as string)))
      .map((b) => copyName(b.name as string, 'canary')),
  );
  const o = retargetIngress(m, services, 'canary');
  const meta = obj(o, 'metadata');
  const name = copyName(m.name, 'canary');
  meta.name = name;
  meta.annotations = {
    ...labelsOf(o, 'metadata', 'annotations'),
    [NGINX_CANARY]: 'true',
    [NGINX_CANARY_WEIGHT]: String(percentage),
  };
  obj(meta, 'labels')[TRACK_LABEL] = 'canary';
  const spec = obj(o, 'spec');
  const toCanary = (backend: unknown) =>
    isJsonObject(backend) &&
    isJsonObject(backend.service) &&
    typeof backend.service.name === 'string' &&
    split.has(backend.service.name);
  if (spec.defaultBackend !== undefined && !toCanary(spec.defaultBackend)) delete spec.defaultBackend;
  if (Array.isArray(spec.rules))
    spec.rules = spec.rules.filter((rule) => {
      if (!isJsonObject(rule) || !isJsonObject(rule.http) || !Array.isArray(rule.http.paths)) return false;
      rule.http.paths = rule.http.paths.filter((p) => isJsonObject(p) && toCanary(p.backend));
      return rule.http.paths.length > 0;
    });
  return { ...m, object: o, name };
}

function refuseUncopied(manifests: readonly Manifest[], strategy: Strategy): Manifest[] {
  const uncopied = manifests.filter((m) => UNCOPIED.has(m.kind));
  if (uncopied.length)
    throw new InputError(
      'strategy',
      `${strategy} copies Deployments only; the manifests also hold ${uncopied
        .map((m) => `${m.kind}/${m.name}`)
        .join(', ')} (deploy those in another step with strategy rolling).`,
    );
  const deployments = manifests.filter((m) => m.kind === 'Deployment');
  if (deployments.length === 0)
    throw new InputError('strategy', `${strategy} needs at least one Deployment in the manifests.`);
  return deployments;
}

const EMPTY: Omit<StrategyPlan, 'apply'> = {
  before: [],
  after: [],
  remove: [],
  last: [],
  cleanup: [],
  copies: [],
  needsStable: false,
};

/** What `strategy` × `action` × traffic method applies, routes and deletes; refuses what it cannot do. */
export function planStrategy(manifests: readonly Manifest[], o: StrategyOptions): StrategyPlan {
  const { strategy, action } = o;
  const traffic = o.traffic ?? 'pod';
  const track = trackOf(strategy);
  if (!track) {
    if (action !== 'deploy')
      throw new InputError('action', `${action} needs strategy canary or blue-green (strategy is rolling).`);
    if (traffic !== 'pod')
      throw new InputError(
        'traffic-split-method',
        `${traffic} splits a canary's traffic; strategy is rolling.`,
      );
    return { ...EMPTY, apply: [...manifests] };
  }
  if (strategy === 'blue-green' && traffic !== 'pod')
    throw new InputError(
      'traffic-split-method',
      `${traffic} splits a canary's traffic; blue-green switches the Services' selectors, which works behind any Gateway or Ingress (leave it pod).`,
    );
  const deployments = refuseUncopied(manifests, strategy);
  const copies = deployments.map((m) => ({ ...refOf(m, copyName(m.name, track)), of: m.name }));
  const copiesOf = () => deployments.map((m) => trackCopy(m, track, o.percentage));
  if (strategy === 'blue-green') return planBlueGreen(manifests, deployments, copies, copiesOf, action);
  if (traffic === 'pod') {
    const services = manifests.filter((m) => m.kind === 'Service' && m.apiVersion === 'v1');
    const others = manifests.filter((m) => m.kind !== 'Deployment' && !services.includes(m));
    if (action === 'deploy') return { ...EMPTY, apply: [...others, ...copiesOf()], after: services, copies };
    if (action === 'promote')
      return { ...EMPTY, apply: [...others, ...deployments], after: services, remove: copies, copies };
    return { ...EMPTY, apply: [], remove: copies, copies };
  }
  return planWeightedCanary(manifests, deployments, copies, copiesOf, { ...o, traffic });
}

function planBlueGreen(
  manifests: readonly Manifest[],
  deployments: readonly Manifest[],
  copies: CopyRef[],
  copiesOf: () => Manifest[],
  action: StrategyAction,
): StrategyPlan {
  const routed = strategyServices(manifests, deployments);
  const services = routed.map((r) => r.service);
  const previews = services.map((s) => sideService(s, 'green', 'green'));
  const others = manifests.filter((m) => m.kind !== 'Deployment' && !services.includes(m));
  const remove = [...copies, ...previews.map((p) => refOf(p))];
  if (action === 'deploy')
    return {
      ...EMPTY,
      before: routed.map((r) => pinnedService(r.service, r.deployment.name)),
      apply: [...others, ...copiesOf(), ...previews],
      copies,
    };
  if (action === 'promote')
    return {
      ...EMPTY,
      before: services.map((s) => routedService(s, 'green')),
      apply: [...others, ...deployments],
      after: services,
      remove,
      copies,
    };
  return { ...EMPTY, apply: [], remove, last: services, copies };
}

function planWeightedCanary(
  manifests: readonly Manifest[],
  deployments: readonly Manifest[],
  copies: CopyRef[],
  copiesOf: () => Manifest[],
  o: StrategyOptions & { traffic: 'gateway' | 'ingress' },
): StrategyPlan {
  const routed = strategyServices(manifests, deployments);
  const names = new Set(routed.map((r) => serviceKey(namespaceOf(r.service), r.service.name)));
  const routes = o.traffic === 'gateway' ? httpRoutesTo(manifests, names) : ingressesTo(manifests, names);
  if (routes.length === 0)
    throw new InputError(
      'traffic-split-method',
      `${o.traffic} needs ${o.traffic === 'gateway' ? 'a Gateway API HTTPRoute' : 'a networking.k8s.io/v1 Ingress'} in the manifests that sends to a Service of the Deployments (${listOf(
        routed.length ? routed.map((r) => `Service/${r.service.name}`) : ['none selects their pods'],
      )}).`,
    );
  const services = routed.map((r) => r.service);
  const stables = routed.map((r) => ({ ...sideService(r.service, 'stable'), pinTo: r.deployment.name }));
  const canaries = services.map((s) => sideService(s, 'canary', 'canary'));
  const canaryIngresses =
    o.traffic === 'ingress' ? routes.map((r) => canaryIngress(r, names, o.percentage)) : [];
  const others = manifests.filter(
    (m) => m.kind !== 'Deployment' && !services.includes(m) && !routes.includes(m),
  );
  const toCanary = [...canaryIngresses.map((i) => refOf(i)), ...copies, ...canaries.map((s) => refOf(s))];
  const sides = stables.map((s) => refOf(s));
  if (o.action === 'deploy')
    return {
      ...EMPTY,
      before: stables,
      apply: [...others, ...services, ...copiesOf(), ...canaries],
      after:
        o.traffic === 'gateway'
          ? routes.map((r) => splitHttpRoute(r, names, o.percentage))
          : [...routes.map((r) => stableIngress(r, names)), ...canaryIngresses],
      copies,
      needsStable: true,
    };
  // Promote: the routes as written first (the Service selects the stable pods, about to roll, and the canary's).
  if (o.action === 'promote')
    return {
      ...EMPTY,
      before: routes,
      apply: [...others, ...services, ...deployments],
      remove: [...toCanary, ...sides],
      copies,
    };
  // Reject: the canary's share to the stable pods first (weight 0; the canary Ingress goes first), then the
  // canary is deleted, then the routes as written, then the stable side Services.
  return {
    ...EMPTY,
    before:
      o.traffic === 'gateway' ? routes.map((r) => ({ ...splitHttpRoute(r, names, 0), requires: sides })) : [],
    apply: [],
    remove: toCanary,
    last: routes,
    cleanup: sides,
    copies,
  };
}

/** The images of a Deployment's pod template (containers and init containers), sorted. */
export function templateImages(o: JsonObject | undefined): string[] {
  const spec = o && isJsonObject(o.spec) ? o.spec : {};
  const tpl = isJsonObject(spec.template) && isJsonObject(spec.template.spec) ? spec.template.spec : {};
  const images: string[] = [];
  for (const key of ['initContainers', 'containers']) {
    const list = tpl[key];
    if (Array.isArray(list))
      for (const c of list) if (isJsonObject(c) && typeof c.image === 'string') images.push(c.image);
  }
  return images.sort();
}

/**
 * Why a copy is not ready to promote (the deploy step did not succeed, or deployed something else), or undefined:
 * it exists, its controller observed its spec, every replica is updated and ready, and its images are the ones
 * being promoted.
 */
export function copyNotReady(
  live: JsonObject | undefined,
  expectedImages: readonly string[],
): string | undefined {
  if (!live) return 'does not exist (run action deploy first)';
  const meta = isJsonObject(live.metadata) ? live.metadata : {};
  const spec = isJsonObject(live.spec) ? live.spec : {};
  const st = isJsonObject(live.status) ? live.status : {};
  const want = typeof spec.replicas === 'number' ? spec.replicas : 1;
  if (Number(st.observedGeneration ?? 0) < Number(meta.generation ?? 0))
    return 'its latest spec was not rolled out yet';
  const ready = Number(st.readyReplicas ?? 0);
  const updated = Number(st.updatedReplicas ?? 0);
  const available = Number(st.availableReplicas ?? 0);
  const total = Number(st.replicas ?? 0);
  if (ready < want || updated < want) return `not ready (${ready}/${want} ready, ${updated}/${want} updated)`;
  // kubectl rollout status's rules: no old pod left, and the updated ones available (ready counts old pods too).
  if (total > updated) return `not rolled out (${total - updated} old pod(s) still there)`;
  if (available < updated) return `not available (${available}/${updated} updated pods available)`;
  const images = templateImages(live);
  const expected = [...expectedImages].sort();
  if (images.join(' ') !== expected.join(' '))
    return `runs ${images.join(', ') || 'no image'}, not ${expected.join(', ')} (deploy this version first)`;
  return undefined;
}

/**
 * The pod-template-hash of a Deployment's current ReplicaSet (the one its revision annotation names, owned by it),
 * from the live Deployment and its ReplicaSets; undefined when it has none yet.
 */
export function currentPodTemplateHash(
  deployment: JsonObject | undefined,
  replicaSets: readonly JsonObject[],
): string | undefined {
  const meta = labelsOf(deployment, 'metadata');
  if (!deployment || typeof meta.uid !== 'string' || !meta.uid) return undefined;
  const revision = labelsOf(deployment, 'metadata', 'annotations')[REVISION];
  const owned = replicaSets.filter((rs) => {
    const refs = labelsOf(rs, 'metadata').ownerReferences;
    return Array.isArray(refs) && refs.some((r) => isJsonObject(r) && r.uid === meta.uid && r.controller);
  });
  const current =
    (revision === undefined
      ? undefined
      : owned.find((rs) => labelsOf(rs, 'metadata', 'annotations')[REVISION] === revision)) ??
    [...owned].sort(
      (a, b) =>
        Number(labelsOf(b, 'metadata', 'annotations')[REVISION] ?? 0) -
        Number(labelsOf(a, 'metadata', 'annotations')[REVISION] ?? 0),
    )[0];
  const hash = current ? labelsOf(current, 'metadata', 'labels')[POD_TEMPLATE_HASH] : undefined;
  return typeof hash === 'string' ? hash : undefined;
}

const REVISION = 'deployment.kubernetes.io/revision';
