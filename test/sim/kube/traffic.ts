/**
 * Where the simulated cluster's traffic goes, as a user checks it: the share of requests each image would answer
 * through a Service (its endpoints: the Ready pods its selector matches that are not terminating, each an equal
 * share, as kube-proxy spreads them), through a Gateway API HTTPRoute (each backendRef's weight over the rule's
 * total, then that Service's endpoints), or through an ingress-nginx Ingress and its canary Ingress
 * (`nginx.ingress.kubernetes.io/canary-weight` of 100 to the canary's backend, the rest to the main one).
 */
import type { JsonObject } from './meta.js';
import { isObject, objs, str } from './meta.js';

export interface TrafficView {
  get(apiVersion: string, kind: string, namespace: string, name: string): JsonObject | undefined;
  pods(namespace?: string): JsonObject[];
  list(apiVersion: string, kind: string, namespace?: string): JsonObject[];
}

/** image → share of the requests (0–1); empty when nothing answers. */
export type Shares = Map<string, number>;

function ready(pod: JsonObject): boolean {
  const meta = isObject(pod['metadata']) ? pod['metadata'] : {};
  if (meta['deletionTimestamp']) return false;
  const status = isObject(pod['status']) ? pod['status'] : {};
  return objs(status['conditions']).some((c) => c['type'] === 'Ready' && c['status'] === 'True');
}

function imageOf(pod: JsonObject): string {
  const spec = isObject(pod['spec']) ? pod['spec'] : {};
  return str(objs(spec['containers'])[0]?.['image']) ?? '';
}

function add(into: Shares, from: Shares, factor: number): void {
  for (const [image, share] of from) into.set(image, (into.get(image) ?? 0) + share * factor);
}

/** The Ready pods a Service's selector matches, as shares per image. */
export function serviceShares(view: TrafficView, namespace: string, name: string): Shares {
  const svc = view.get('v1', 'Service', namespace, name);
  const spec = svc && isObject(svc['spec']) ? svc['spec'] : {};
  const selector = isObject(spec['selector']) ? Object.entries(spec['selector']) : [];
  const out: Shares = new Map();
  if (!svc || selector.length === 0) return out;
  const endpoints = view.pods(namespace).filter((p) => {
    const labels =
      isObject(p['metadata']) && isObject(p['metadata']['labels']) ? p['metadata']['labels'] : {};
    return ready(p) && selector.every(([k, v]) => labels[k] === v);
  });
  for (const p of endpoints) out.set(imageOf(p), (out.get(imageOf(p)) ?? 0) + 1 / endpoints.length);
  return out;
}

/** An HTTPRoute's first rule: each Service backendRef's weight over the total, then its endpoints. */
export function httpRouteShares(
  view: TrafficView,
  namespace: string,
  name: string,
  apiVersion = 'gateway.networking.k8s.io/v1',
): Shares {
  const route = view.get(apiVersion, 'HTTPRoute', namespace, name);
  const spec = route && isObject(route['spec']) ? route['spec'] : {};
  const rule = objs(spec['rules'])[0] ?? {};
  const refs = objs(rule['backendRefs']).filter((r) => (r['kind'] ?? 'Service') === 'Service');
  const weight = (r: JsonObject) => (typeof r['weight'] === 'number' ? r['weight'] : 1);
  const total = refs.reduce((n, r) => n + weight(r), 0);
  const out: Shares = new Map();
  if (total === 0) return out;
  for (const r of refs)
    add(out, serviceShares(view, str(r['namespace']) ?? namespace, str(r['name']) ?? ''), weight(r) / total);
  return out;
}

function ingressBackend(ing: JsonObject | undefined): string | undefined {
  const spec = ing && isObject(ing['spec']) ? ing['spec'] : {};
  const rule = objs(spec['rules'])[0];
  const http = rule && isObject(rule['http']) ? rule['http'] : {};
  const path = objs(http['paths'])[0];
  const backend = path && isObject(path['backend']) ? path['backend'] : spec['defaultBackend'];
  return isObject(backend) && isObject(backend['service']) ? str(backend['service']['name']) : undefined;
}

/**
 * An Ingress's first path as ingress-nginx serves it: the canary Ingresses for the same host (annotated
 * `canary: "true"`) take their `canary-weight` of 100, the main Ingress the rest.
 */
export function ingressShares(view: TrafficView, namespace: string, name: string): Shares {
  const main = view.get('networking.k8s.io/v1', 'Ingress', namespace, name);
  const out: Shares = new Map();
  if (!main) return out;
  const canaries = view.list('networking.k8s.io/v1', 'Ingress', namespace).filter((i) => {
    const a =
      isObject(i['metadata']) && isObject(i['metadata']['annotations']) ? i['metadata']['annotations'] : {};
    return a['nginx.ingress.kubernetes.io/canary'] === 'true';
  });
  let canaryShare = 0;
  for (const c of canaries) {
    const a = (c['metadata'] as JsonObject)['annotations'] as JsonObject;
    const w = Number(a['nginx.ingress.kubernetes.io/canary-weight'] ?? 0) / 100;
    const svc = ingressBackend(c);
    if (svc) add(out, serviceShares(view, namespace, svc), w);
    canaryShare += w;
  }
  const svc = ingressBackend(main);
  if (svc) add(out, serviceShares(view, namespace, svc), 1 - canaryShare);
  return out;
}

/** Shares rounded to whole percent, for assertions: `{ 'repo@sha256:1…': 80, 'repo@sha256:2…': 20 }`. */
export function percent(shares: Shares): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [image, share] of shares) if (share > 0) out[image] = Math.round(share * 100);
  return out;
}
