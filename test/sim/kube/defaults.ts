/**
 * Defaulting as the API server does it on every write (pkg/apis/<group>/v1/defaults.go) for the fields that show
 * in answers and that clients compare: pod spec and container defaults, workload strategies, service ports, …
 * Admission-time additions to Pods (service account, its token volume, default tolerations) are in `admitPod`.
 */
import type { Json, JsonObject } from './meta.js';
import { ensureObj, isObject, objs, str } from './meta.js';

function setDefault(o: JsonObject, key: string, value: Json): void {
  if (o[key] === undefined || o[key] === null) o[key] = value;
}

/** Image pull policy: Always for `:latest` or no tag, else IfNotPresent (a digest counts as pinned). */
export function defaultPullPolicy(image: string): string {
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  const tag = colon > lastSlash ? image.slice(colon + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(p: Json | undefined): void {
  if (!isObject(p)) return;
  setDefault(p, 'timeoutSeconds', 1);
  setDefault(p, 'periodSeconds', 10);
  setDefault(p, 'successThreshold', 1);
  setDefault(p, 'failureThreshold', 3);
  const http = p['httpGet'];
  if (isObject(http)) {
    setDefault(http, 'path', '/');
    setDefault(http, 'scheme', 'HTTP');
  }
}

function defaultContainer(c: JsonObject): void {
  const image = str(c['image']);
  if (image) setDefault(c, 'imagePullPolicy', defaultPullPolicy(image));
  setDefault(c, 'terminationMessagePath', '/dev/termination-log');
  setDefault(c, 'terminationMessagePolicy', 'File');
  setDefault(c, 'resources', {});
  const resources = c['resources'];
  if (isObject(resources) && isObject(resources['limits'])) {
    // Requests default to limits (SetDefaults_ResourceList via defaultRequests).
    const requests = ensureObj(resources, 'requests');
    for (const [k, v] of Object.entries(resources['limits'])) setDefault(requests, k, v);
  }
  for (const port of objs(c['ports'])) setDefault(port, 'protocol', 'TCP');
  for (const env of objs(c['env'])) {
    const from = env['valueFrom'];
    if (isObject(from) && isObject(from['fieldRef'])) setDefault(from['fieldRef'], 'apiVersion', 'v1');
  }
  defaultProbe(c['readinessProbe']);
  defaultProbe(c['livenessProbe']);
  defaultProbe(c['startupProbe']);
}

/** SetDefaults_PodSpec and the container defaults; applies to pods and to pod templates. */
export function defaultPodSpec(spec: JsonObject): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'schedulerName', 'default-scheduler');
  for (const c of objs(spec['containers'])) defaultContainer(c);
  for (const c of objs(spec['initContainers'])) defaultContainer(c);
  for (const v of objs(spec['volumes'])) {
    for (const kind of ['configMap', 'secret']) {
      const src = v[kind];
      if (isObject(src)) setDefault(src, 'defaultMode', 420);
    }
    const projected = v['projected'];
    if (isObject(projected)) setDefault(projected, 'defaultMode', 420);
  }
}

/** A pod template: its spec defaulted, and `metadata.creationTimestamp: null` as the API serialises it. */
export function defaultTemplate(template: Json | undefined): void {
  if (!isObject(template)) return;
  const m = ensureObj(template, 'metadata');
  if (!('creationTimestamp' in m)) m['creationTimestamp'] = null;
  const spec = template['spec'];
  if (isObject(spec)) defaultPodSpec(spec);
}

function rollingUpdate(strategy: JsonObject, defaults: JsonObject): void {
  if (strategy['type'] === undefined) strategy['type'] = 'RollingUpdate';
  if (strategy['type'] === 'RollingUpdate') {
    const ru = ensureObj(strategy, 'rollingUpdate');
    for (const [k, v] of Object.entries(defaults)) setDefault(ru, k, v);
  }
}

/** Defaults for one object of `kind` (in place). */
export function applyDefaults(kind: string, o: JsonObject): void {
  const spec = isObject(o['spec']) ? o['spec'] : undefined;
  switch (kind) {
    case 'Pod':
      if (spec) {
        defaultPodSpec(spec);
        setDefault(spec, 'enableServiceLinks', true);
        setDefault(spec, 'preemptionPolicy', 'PreemptLowerPriority');
        setDefault(spec, 'priority', 0);
      }
      break;
    case 'Deployment': {
      if (!spec) break;
      setDefault(spec, 'replicas', 1);
      setDefault(spec, 'revisionHistoryLimit', 10);
      setDefault(spec, 'progressDeadlineSeconds', 600);
      rollingUpdate(ensureObj(spec, 'strategy'), { maxUnavailable: '25%', maxSurge: '25%' });
      defaultTemplate(spec['template']);
      break;
    }
    case 'ReplicaSet':
      if (!spec) break;
      setDefault(spec, 'replicas', 1);
      defaultTemplate(spec['template']);
      break;
    case 'StatefulSet': {
      if (!spec) break;
      setDefault(spec, 'replicas', 1);
      setDefault(spec, 'podManagementPolicy', 'OrderedReady');
      setDefault(spec, 'revisionHistoryLimit', 10);
      const strategy = ensureObj(spec, 'updateStrategy');
      rollingUpdate(strategy, { partition: 0 });
      setDefault(spec, 'persistentVolumeClaimRetentionPolicy', {
        whenDeleted: 'Retain',
        whenScaled: 'Retain',
      });
      defaultTemplate(spec['template']);
      break;
    }
    case 'DaemonSet': {
      if (!spec) break;
      setDefault(spec, 'revisionHistoryLimit', 10);
      rollingUpdate(ensureObj(spec, 'updateStrategy'), { maxUnavailable: 1, maxSurge: 0 });
      defaultTemplate(spec['template']);
      break;
    }
    case 'Job': {
      if (!spec) break;
      if (spec['completions'] === undefined && spec['parallelism'] === undefined) {
        spec['completions'] = 1;
        spec['parallelism'] = 1;
      }
      setDefault(spec, 'parallelism', 1);
      setDefault(spec, 'backoffLimit', 6);
      setDefault(spec, 'completionMode', 'NonIndexed');
      setDefault(spec, 'suspend', false);
      setDefault(spec, 'manualSelector', null);
      if (spec['manualSelector'] === null) delete spec['manualSelector'];
      if (spec['podFailurePolicy'] === undefined)
        setDefault(spec, 'podReplacementPolicy', 'TerminatingOrFailed');
      defaultTemplate(spec['template']);
      break;
    }
    case 'CronJob': {
      if (!spec) break;
      setDefault(spec, 'concurrencyPolicy', 'Allow');
      setDefault(spec, 'suspend', false);
      setDefault(spec, 'successfulJobsHistoryLimit', 3);
      setDefault(spec, 'failedJobsHistoryLimit', 1);
      const jt = spec['jobTemplate'];
      if (isObject(jt) && isObject(jt['spec'])) {
        const js = jt['spec'];
        setDefault(js, 'backoffLimit', 6);
        setDefault(js, 'completionMode', 'NonIndexed');
        setDefault(js, 'suspend', false);
        if (js['podFailurePolicy'] === undefined)
          setDefault(js, 'podReplacementPolicy', 'TerminatingOrFailed');
        defaultTemplate(js['template']);
      }
      break;
    }
    case 'Service': {
      if (!spec) break;
      setDefault(spec, 'type', 'ClusterIP');
      setDefault(spec, 'sessionAffinity', 'None');
      if (spec['type'] !== 'ExternalName') {
        setDefault(spec, 'internalTrafficPolicy', 'Cluster');
      }
      for (const p of objs(spec['ports'])) {
        setDefault(p, 'protocol', 'TCP');
        if (p['targetPort'] === undefined && p['port'] !== undefined) p['targetPort'] = p['port'];
      }
      if (spec['type'] === 'NodePort' || spec['type'] === 'LoadBalancer') {
        setDefault(spec, 'externalTrafficPolicy', 'Cluster');
      }
      break;
    }
    case 'Secret':
      setDefault(o, 'type', 'Opaque');
      break;
    case 'Namespace': {
      const s = ensureObj(o, 'spec');
      setDefault(s, 'finalizers', ['kubernetes']);
      break;
    }
    case 'CustomResourceDefinition': {
      if (!spec) break;
      const names = spec['names'];
      if (isObject(names)) {
        if (typeof names['kind'] === 'string') setDefault(names, 'listKind', `${names['kind']}List`);
        if (typeof names['kind'] === 'string') setDefault(names, 'singular', names['kind'].toLowerCase());
      }
      setDefault(spec, 'conversion', { strategy: 'None' });
      break;
    }
  }
}
