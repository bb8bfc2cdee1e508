/** What the simulated control plane's components share. */
import type { KubeApi } from './api.js';
import type { Clock } from './clock.js';
import type { EventRecorder } from './events.js';
import type { JsonObject } from './meta.js';
import { at, isObject, objs, parseTime } from './meta.js';
import type { Registry, ResourceType } from './resources.js';
import type { PodScenario } from './scenarios.js';

export interface Types {
  namespace: ResourceType;
  node: ResourceType;
  pod: ResourceType;
  event: ResourceType;
  configMap: ResourceType;
  secret: ResourceType;
  service: ResourceType;
  serviceAccount: ResourceType;
  deployment: ResourceType;
  replicaSet: ResourceType;
  statefulSet: ResourceType;
  daemonSet: ResourceType;
  controllerRevision: ResourceType;
  job: ResourceType;
  cronJob: ResourceType;
  crd: ResourceType;
}

export function builtinTypes(registry: Registry): Types {
  const b = (group: string, plural: string): ResourceType => registry.builtin(group, plural);
  return {
    namespace: b('', 'namespaces'),
    node: b('', 'nodes'),
    pod: b('', 'pods'),
    event: b('', 'events'),
    configMap: b('', 'configmaps'),
    secret: b('', 'secrets'),
    service: b('', 'services'),
    serviceAccount: b('', 'serviceaccounts'),
    deployment: b('apps', 'deployments'),
    replicaSet: b('apps', 'replicasets'),
    statefulSet: b('apps', 'statefulsets'),
    daemonSet: b('apps', 'daemonsets'),
    controllerRevision: b('apps', 'controllerrevisions'),
    job: b('batch', 'jobs'),
    cronJob: b('batch', 'cronjobs'),
    crd: b('apiextensions.k8s.io', 'customresourcedefinitions'),
  };
}

export interface SimContext {
  api: KubeApi;
  clock: Clock;
  registry: Registry;
  events: EventRecorder;
  random: () => number;
  types: Types;
  scenarios: Map<string, PodScenario>;
  /** Makes the controllers run again at simulated time `at` (a requeue after a deadline). */
  wake(at: number): void;
}

// ----- pod predicates shared by controllers -------------------------------------------------------------------

export function podPhase(pod: JsonObject): string {
  return String(at(pod, 'status.phase') ?? 'Pending');
}

export function isTerminating(o: JsonObject): boolean {
  return at(o, 'metadata.deletionTimestamp') !== undefined;
}

/** controller.IsPodActive: not Succeeded/Failed and not being deleted. */
export function isPodActive(pod: JsonObject): boolean {
  const phase = podPhase(pod);
  return phase !== 'Succeeded' && phase !== 'Failed' && !isTerminating(pod);
}

export function readyCondition(pod: JsonObject): JsonObject | undefined {
  return objs(at(pod, 'status.conditions')).find((c) => c['type'] === 'Ready');
}

export function isPodReady(pod: JsonObject): boolean {
  return readyCondition(pod)?.['status'] === 'True';
}

/** podutil.IsPodAvailable: ready for at least minReadySeconds. */
export function isPodAvailable(pod: JsonObject, minReadySeconds: number, now: number): boolean {
  const c = readyCondition(pod);
  if (c?.['status'] !== 'True') return false;
  if (minReadySeconds <= 0) return true;
  const since = parseTime(c['lastTransitionTime']);
  return since !== undefined && since + minReadySeconds * 1000 <= now;
}

/** When a ready pod becomes available (for requeues), or undefined. */
export function availableAt(pod: JsonObject, minReadySeconds: number): number | undefined {
  const c = readyCondition(pod);
  if (c?.['status'] !== 'True') return undefined;
  const since = parseTime(c['lastTransitionTime']);
  return since === undefined ? undefined : since + minReadySeconds * 1000;
}

export function ownedBy(items: JsonObject[], uid: string): JsonObject[] {
  return items.filter((o) =>
    objs(at(o, 'metadata.ownerReferences')).some((r) => r['controller'] === true && r['uid'] === uid),
  );
}

export function condition(o: JsonObject, type: string): JsonObject | undefined {
  return objs(at(o, 'status.conditions')).find((c) => c['type'] === type);
}

export function spec(o: JsonObject): JsonObject {
  const s = o['spec'];
  return isObject(s) ? s : {};
}
