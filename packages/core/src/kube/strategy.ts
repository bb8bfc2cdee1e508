/**
 * deploy-k8s's strategies as pure functions over the loaded manifests: what each `strategy` × `action` applies,
 * routes and deletes. The glue (action/kube.ts) does the requests.
 *
 * - `canary`: each Deployment gets a copy `<name>-canary` beside it, labelled `kiln.dev/track: canary` (metadata,
 *   selector and pod template), with ceil(replicas × percentage / 100) replicas. Its pods keep every label of the
 *   stable pods, so a Service that selects the stable pods selects the canary's too: traffic splits by replica
 *   ratio. The stable Deployments are not touched. Promote applies the manifests to the stable names (the normal
 *   rolling deploy), then deletes the copies; reject deletes the copies.
 * - `blue-green`: each Deployment gets a copy `<name>-green` (`kiln.dev/track: green`); once every copy is ready,
 *   the manifests' Services are applied with `kiln.dev/track: green` added to their selector, so they send all the
 *   traffic to green. Promote applies the manifests to the stable names, waits, applies the Services as written
 *   (traffic back to the stable names, now on the new version), then deletes the copies; reject removes the track
 *   from the Services' selectors (traffic back to the stable version, which never changed) and deletes the copies.
 *   Why green takes the traffic at deploy rather than at promote: a Service selector is equality-only and a
 *   Deployment's selector is immutable, so a Service cannot select "the stable pods but not green" unless every
 *   stable pod carries a label green lacks — and pods from an earlier rolling deploy carry none.
 */
import { InputError } from '../errors.js';
import { isJsonObject, type JsonObject } from '../util/json.js';
import type { Manifest } from './manifest-object.js';

export type Strategy = 'rolling' | 'canary' | 'blue-green';
export type StrategyAction = 'deploy' | 'promote' | 'reject';

export const TRACK_LABEL = 'kiln.dev/track';

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
  /** The stable Deployment this copies. */
  of: string;
}

export interface StrategyPlan {
  /** Applied first, then waited for (workloads), rolled back on failure. */
  apply: Manifest[];
  /** Applied once every workload of `apply` is ready (Services: the traffic switch). */
  route: Manifest[];
  /** The canary/green copies: checked before promote, deleted after promote and on reject. */
  copies: CopyRef[];
  /** Reject, blue-green: Services whose selector loses the track label (traffic back to the stable pods). */
  unroute: Manifest[];
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
export function routedService(m: Manifest, track: string): Manifest {
  const o = clone(m.object);
  const spec = obj(o, 'spec');
  obj(spec, 'selector')[TRACK_LABEL] = track;
  return { ...m, object: o };
}

/** What `strategy` × `action` applies, routes and deletes; refuses kinds the strategy cannot copy. */
export function planStrategy(
  manifests: readonly Manifest[],
  o: { strategy: Strategy; action: StrategyAction; percentage: number },
): StrategyPlan {
  const { strategy, action } = o;
  const track = trackOf(strategy);
  if (!track) {
    if (action !== 'deploy')
      throw new InputError('action', `${action} needs strategy canary or blue-green (strategy is rolling).`);
    return { apply: [...manifests], route: [], copies: [], unroute: [] };
  }
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
  const services = manifests.filter((m) => m.kind === 'Service' && m.apiVersion === 'v1');
  const others = manifests.filter((m) => m.kind !== 'Deployment' && !services.includes(m));
  const copies = deployments.map((m) => ({
    apiVersion: m.apiVersion,
    kind: m.kind,
    name: copyName(m.name, track),
    ...(namespaceOf(m) ? { namespace: namespaceOf(m) } : {}),
    of: m.name,
  }));
  if (action === 'deploy')
    return {
      apply: [...others, ...deployments.map((m) => trackCopy(m, track, o.percentage))],
      route: track === 'green' ? services.map((s) => routedService(s, track)) : services,
      copies,
      unroute: [],
    };
  if (action === 'promote')
    return { apply: [...others, ...deployments], route: services, copies, unroute: [] };
  return { apply: [], route: [], copies, unroute: track === 'green' ? services : [] };
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
  if (ready < want || updated < want) return `not ready (${ready}/${want} ready, ${updated}/${want} updated)`;
  const images = templateImages(live);
  const expected = [...expectedImages].sort();
  if (images.join(' ') !== expected.join(' '))
    return `runs ${images.join(', ') || 'no image'}, not ${expected.join(', ')} (deploy this version first)`;
  return undefined;
}
