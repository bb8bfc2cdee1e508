/**
 * Unknown fields in built-in objects. The API server decodes into Go structs, so a field a struct does not have is
 * never stored; with `fieldValidation=Strict` (what kubectl sends) it is refused ("strict decoding error: unknown
 * field "spec.replica""), with `Warn` (the default) it comes back as a warning, with `Ignore` it is dropped silently;
 * a server-side apply patch with one is refused whatever the validation ("field not declared in schema").
 *
 * The field lists below are complete for the structures they describe (following k8s.io/api v0.32); structures
 * not described (affinity, security contexts, volumes' sources, status, …) are not checked.
 */
import type { Json, JsonObject } from './meta.js';
import { isObject } from './meta.js';

/** A struct: its JSON field names → what is inside (undefined = not checked further). */
interface Struct {
  [field: string]: Child;
}
type Child = Struct | { list: Struct } | undefined;

const f = (...names: string[]): Struct => Object.fromEntries(names.map((n) => [n, undefined]));

const OBJECT_META = f(
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
);

const PROBE: Struct = f(
  'exec',
  'httpGet',
  'tcpSocket',
  'grpc',
  'initialDelaySeconds',
  'timeoutSeconds',
  'periodSeconds',
  'successThreshold',
  'failureThreshold',
  'terminationGracePeriodSeconds',
);

const CONTAINER_FIELDS = [
  'name',
  'image',
  'command',
  'args',
  'workingDir',
  'ports',
  'envFrom',
  'env',
  'resources',
  'resizePolicy',
  'restartPolicy',
  'volumeMounts',
  'volumeDevices',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'lifecycle',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'imagePullPolicy',
  'securityContext',
  'stdin',
  'stdinOnce',
  'tty',
];

const CONTAINER: Struct = {
  ...f(...CONTAINER_FIELDS),
  ports: { list: f('name', 'hostPort', 'containerPort', 'protocol', 'hostIP') },
  env: { list: f('name', 'value', 'valueFrom') },
  resources: f('limits', 'requests', 'claims'),
  volumeMounts: {
    list: f(
      'name',
      'readOnly',
      'recursiveReadOnly',
      'mountPath',
      'subPath',
      'mountPropagation',
      'subPathExpr',
    ),
  },
  livenessProbe: PROBE,
  readinessProbe: PROBE,
  startupProbe: PROBE,
};

const VOLUME_SOURCES = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
];

const POD_SPEC: Struct = {
  ...f(
    'volumes',
    'initContainers',
    'containers',
    'ephemeralContainers',
    'restartPolicy',
    'terminationGracePeriodSeconds',
    'activeDeadlineSeconds',
    'dnsPolicy',
    'nodeSelector',
    'serviceAccountName',
    'serviceAccount',
    'automountServiceAccountToken',
    'nodeName',
    'hostNetwork',
    'hostPID',
    'hostIPC',
    'shareProcessNamespace',
    'securityContext',
    'imagePullSecrets',
    'hostname',
    'subdomain',
    'affinity',
    'schedulerName',
    'tolerations',
    'hostAliases',
    'priorityClassName',
    'priority',
    'dnsConfig',
    'readinessGates',
    'runtimeClassName',
    'enableServiceLinks',
    'preemptionPolicy',
    'overhead',
    'topologySpreadConstraints',
    'setHostnameAsFQDN',
    'os',
    'hostUsers',
    'schedulingGates',
    'resourceClaims',
    'resources',
  ),
  volumes: { list: f('name', ...VOLUME_SOURCES) },
  containers: { list: CONTAINER },
  initContainers: { list: CONTAINER },
  ephemeralContainers: { list: { ...CONTAINER, targetContainerName: undefined } },
};

const TEMPLATE: Struct = { metadata: OBJECT_META, spec: POD_SPEC };

const JOB_SPEC: Struct = {
  ...f(
    'parallelism',
    'completions',
    'activeDeadlineSeconds',
    'podFailurePolicy',
    'successPolicy',
    'backoffLimit',
    'backoffLimitPerIndex',
    'maxFailedIndexes',
    'selector',
    'manualSelector',
    'template',
    'ttlSecondsAfterFinished',
    'completionMode',
    'suspend',
    'podReplacementPolicy',
    'managedBy',
  ),
  template: TEMPLATE,
};

const top = (extra: Struct): Struct => ({
  apiVersion: undefined,
  kind: undefined,
  metadata: OBJECT_META,
  ...extra,
});

const KINDS: Record<string, Struct> = {
  Pod: top({ spec: POD_SPEC, status: undefined }),
  Deployment: top({
    spec: {
      ...f(
        'replicas',
        'selector',
        'template',
        'strategy',
        'minReadySeconds',
        'revisionHistoryLimit',
        'paused',
        'progressDeadlineSeconds',
      ),
      template: TEMPLATE,
      strategy: { type: undefined, rollingUpdate: f('maxUnavailable', 'maxSurge') },
    },
    status: undefined,
  }),
  ReplicaSet: top({
    spec: { ...f('replicas', 'minReadySeconds', 'selector', 'template'), template: TEMPLATE },
    status: undefined,
  }),
  StatefulSet: top({
    spec: {
      ...f(
        'replicas',
        'selector',
        'template',
        'volumeClaimTemplates',
        'serviceName',
        'podManagementPolicy',
        'updateStrategy',
        'revisionHistoryLimit',
        'minReadySeconds',
        'persistentVolumeClaimRetentionPolicy',
        'ordinals',
      ),
      template: TEMPLATE,
      updateStrategy: { type: undefined, rollingUpdate: f('partition', 'maxUnavailable') },
    },
    status: undefined,
  }),
  DaemonSet: top({
    spec: {
      ...f('selector', 'template', 'updateStrategy', 'minReadySeconds', 'revisionHistoryLimit'),
      template: TEMPLATE,
      updateStrategy: { type: undefined, rollingUpdate: f('maxUnavailable', 'maxSurge') },
    },
    status: undefined,
  }),
  Job: top({ spec: JOB_SPEC, status: undefined }),
  CronJob: top({
    spec: {
      ...f(
        'schedule',
        'timeZone',
        'startingDeadlineSeconds',
        'concurrencyPolicy',
        'suspend',
        'jobTemplate',
        'successfulJobsHistoryLimit',
        'failedJobsHistoryLimit',
      ),
      jobTemplate: { metadata: OBJECT_META, spec: JOB_SPEC },
    },
    status: undefined,
  }),
  Service: top({
    spec: {
      ...f(
        'ports',
        'selector',
        'clusterIP',
        'clusterIPs',
        'type',
        'externalIPs',
        'sessionAffinity',
        'loadBalancerIP',
        'loadBalancerSourceRanges',
        'externalName',
        'externalTrafficPolicy',
        'healthCheckNodePort',
        'publishNotReadyAddresses',
        'sessionAffinityConfig',
        'ipFamilies',
        'ipFamilyPolicy',
        'allocateLoadBalancerNodePorts',
        'loadBalancerClass',
        'internalTrafficPolicy',
        'trafficDistribution',
      ),
      ports: { list: f('name', 'protocol', 'appProtocol', 'port', 'targetPort', 'nodePort') },
    },
    status: undefined,
  }),
  ConfigMap: top(f('immutable', 'data', 'binaryData')),
  Secret: top(f('immutable', 'data', 'stringData', 'type')),
  Namespace: top({ spec: f('finalizers'), status: undefined }),
};

/** A path as segments: field names, and list positions with the item (for keyed renderings). */
export type PathSegment = string | { index: number; item: Json };

function walk(
  value: Json | undefined,
  s: Struct,
  path: PathSegment[],
  unknown: PathSegment[][],
  prune: boolean,
): void {
  if (!isObject(value)) return;
  for (const key of Object.keys(value)) {
    const here = [...path, key];
    if (!(key in s)) {
      unknown.push(here);
      if (prune) delete value[key];
      continue;
    }
    const child = s[key];
    if (child === undefined) continue;
    const v = value[key];
    if (isList(child)) {
      if (Array.isArray(v))
        v.forEach((item, i) => walk(item, child.list, [...here, { index: i, item }], unknown, prune));
      continue;
    }
    walk(v, child, here, unknown, prune);
  }
}

function isList(c: Struct | { list: Struct }): c is { list: Struct } {
  return Object.keys(c).length === 1 && isObject((c as { list?: Json }).list as Json) && 'list' in c;
}

/** `spec.template.spec.containers[0].imagee` (strict decoding's form). */
export function dottedPath(path: PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'string' ? (out ? `.${seg}` : seg) : `[${seg.index}]`;
  return out;
}

/** Unknown fields of a built-in object as paths; `prune` removes them. */
export function unknownFieldPaths(kind: string, o: JsonObject, prune: boolean): PathSegment[][] {
  const s = KINDS[kind];
  if (!s) return [];
  const unknown: PathSegment[][] = [];
  walk(o, s, [], unknown, prune);
  return unknown;
}

/** Unknown fields of a built-in object (`spec.template.spec.containers[0].imagee`); `prune` removes them. */
export function unknownFields(kind: string, o: JsonObject, prune: boolean): string[] {
  return unknownFieldPaths(kind, o, prune).map(dottedPath);
}
