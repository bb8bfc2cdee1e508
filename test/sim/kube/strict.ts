/**
 * Built-in objects as the API server decodes them into Go structs:
 *
 * - a field a struct does not have is never stored; with `fieldValidation=Strict` (what kubectl sends) it is refused
 *   ("strict decoding error: unknown field "spec.replica""), with `Warn` (the default) it comes back as a warning,
 *   with `Ignore` it is dropped silently;
 * - a value of the wrong JSON type is refused whatever the validation ("json: cannot unmarshal string into Go struct
 *   field DeploymentSpec.spec.replicas of type int32") — what a templated `replicas: "3"` or `value: 8080` gets;
 * - a server-side apply patch with either is refused when it is typed ("field not declared in schema",
 *   "expected numeric (int or float), got string").
 *
 * The field lists below are complete for the structures they describe (following k8s.io/api v0.32); structures
 * not described (affinity, security contexts, volume sources, status, …) are not checked.
 */
import type { Json, JsonObject } from './meta.js';
import { isObject } from './meta.js';

type Leaf = 'string' | 'int32' | 'int64' | 'bool' | 'intstr' | 'map-string' | 'string[]' | 'any';
interface Struct {
  /** The Go type's name (for decoding errors). */
  name: string;
  fields: Record<string, Child>;
}
interface List {
  list: Struct;
}
type Child = Leaf | Struct | List;

const s = (name: string, fields: Record<string, Child>): Struct => ({ name, fields });
const any = (...names: string[]): Record<string, Child> =>
  Object.fromEntries(names.map((n) => [n, 'any' as const]));
const list = (x: Struct): List => ({ list: x });

const OBJECT_META = s('ObjectMeta', {
  ...any(
    'selfLink',
    'uid',
    'resourceVersion',
    'creationTimestamp',
    'deletionTimestamp',
    'ownerReferences',
    'finalizers',
    'managedFields',
  ),
  name: 'string',
  generateName: 'string',
  namespace: 'string',
  generation: 'int64',
  deletionGracePeriodSeconds: 'int64',
  labels: 'map-string',
  annotations: 'map-string',
});

const PROBE = s('Probe', {
  ...any('exec', 'httpGet', 'tcpSocket', 'grpc'),
  initialDelaySeconds: 'int32',
  timeoutSeconds: 'int32',
  periodSeconds: 'int32',
  successThreshold: 'int32',
  failureThreshold: 'int32',
  terminationGracePeriodSeconds: 'int64',
});

const CONTAINER_FIELDS: Record<string, Child> = {
  ...any('envFrom', 'resizePolicy', 'volumeDevices', 'lifecycle', 'securityContext'),
  name: 'string',
  image: 'string',
  command: 'string[]',
  args: 'string[]',
  workingDir: 'string',
  ports: list(
    s('ContainerPort', {
      name: 'string',
      hostPort: 'int32',
      containerPort: 'int32',
      protocol: 'string',
      hostIP: 'string',
    }),
  ),
  env: list(s('EnvVar', { name: 'string', value: 'string', valueFrom: 'any' })),
  resources: s('ResourceRequirements', any('limits', 'requests', 'claims')),
  restartPolicy: 'string',
  volumeMounts: list(
    s('VolumeMount', {
      name: 'string',
      readOnly: 'bool',
      recursiveReadOnly: 'string',
      mountPath: 'string',
      subPath: 'string',
      mountPropagation: 'string',
      subPathExpr: 'string',
    }),
  ),
  livenessProbe: PROBE,
  readinessProbe: PROBE,
  startupProbe: PROBE,
  terminationMessagePath: 'string',
  terminationMessagePolicy: 'string',
  imagePullPolicy: 'string',
  stdin: 'bool',
  stdinOnce: 'bool',
  tty: 'bool',
};
const CONTAINER = s('Container', CONTAINER_FIELDS);

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

const POD_SPEC = s('PodSpec', {
  ...any(
    'securityContext',
    'imagePullSecrets',
    'affinity',
    'tolerations',
    'hostAliases',
    'dnsConfig',
    'readinessGates',
    'overhead',
    'topologySpreadConstraints',
    'os',
    'schedulingGates',
    'resourceClaims',
    'resources',
  ),
  volumes: list(s('Volume', { name: 'string', ...any(...VOLUME_SOURCES) })),
  initContainers: list(CONTAINER),
  containers: list(CONTAINER),
  ephemeralContainers: list(s('EphemeralContainer', { ...CONTAINER_FIELDS, targetContainerName: 'string' })),
  restartPolicy: 'string',
  terminationGracePeriodSeconds: 'int64',
  activeDeadlineSeconds: 'int64',
  dnsPolicy: 'string',
  nodeSelector: 'map-string',
  serviceAccountName: 'string',
  serviceAccount: 'string',
  automountServiceAccountToken: 'bool',
  nodeName: 'string',
  hostNetwork: 'bool',
  hostPID: 'bool',
  hostIPC: 'bool',
  shareProcessNamespace: 'bool',
  hostname: 'string',
  subdomain: 'string',
  schedulerName: 'string',
  priorityClassName: 'string',
  priority: 'int32',
  runtimeClassName: 'string',
  enableServiceLinks: 'bool',
  preemptionPolicy: 'string',
  setHostnameAsFQDN: 'bool',
  hostUsers: 'bool',
});

const TEMPLATE = s('PodTemplateSpec', { metadata: OBJECT_META, spec: POD_SPEC });

const JOB_SPEC = s('JobSpec', {
  ...any('podFailurePolicy', 'successPolicy', 'selector'),
  parallelism: 'int32',
  completions: 'int32',
  activeDeadlineSeconds: 'int64',
  backoffLimit: 'int32',
  backoffLimitPerIndex: 'int32',
  maxFailedIndexes: 'int32',
  manualSelector: 'bool',
  template: TEMPLATE,
  ttlSecondsAfterFinished: 'int32',
  completionMode: 'string',
  suspend: 'bool',
  podReplacementPolicy: 'string',
  managedBy: 'string',
});

const top = (kind: string, fields: Record<string, Child>): Struct =>
  s(kind, { apiVersion: 'string', kind: 'string', metadata: OBJECT_META, ...fields });

const KINDS: Record<string, Struct> = {
  Pod: top('Pod', { spec: POD_SPEC, status: 'any' }),
  Deployment: top('Deployment', {
    spec: s('DeploymentSpec', {
      replicas: 'int32',
      selector: 'any',
      template: TEMPLATE,
      strategy: s('DeploymentStrategy', {
        type: 'string',
        rollingUpdate: s('RollingUpdateDeployment', { maxUnavailable: 'intstr', maxSurge: 'intstr' }),
      }),
      minReadySeconds: 'int32',
      revisionHistoryLimit: 'int32',
      paused: 'bool',
      progressDeadlineSeconds: 'int32',
    }),
    status: 'any',
  }),
  ReplicaSet: top('ReplicaSet', {
    spec: s('ReplicaSetSpec', {
      replicas: 'int32',
      minReadySeconds: 'int32',
      selector: 'any',
      template: TEMPLATE,
    }),
    status: 'any',
  }),
  StatefulSet: top('StatefulSet', {
    spec: s('StatefulSetSpec', {
      ...any('selector', 'volumeClaimTemplates', 'persistentVolumeClaimRetentionPolicy', 'ordinals'),
      replicas: 'int32',
      template: TEMPLATE,
      serviceName: 'string',
      podManagementPolicy: 'string',
      updateStrategy: s('StatefulSetUpdateStrategy', {
        type: 'string',
        rollingUpdate: s('RollingUpdateStatefulSetStrategy', {
          partition: 'int32',
          maxUnavailable: 'intstr',
        }),
      }),
      revisionHistoryLimit: 'int32',
      minReadySeconds: 'int32',
    }),
    status: 'any',
  }),
  DaemonSet: top('DaemonSet', {
    spec: s('DaemonSetSpec', {
      selector: 'any',
      template: TEMPLATE,
      updateStrategy: s('DaemonSetUpdateStrategy', {
        type: 'string',
        rollingUpdate: s('RollingUpdateDaemonSet', { maxUnavailable: 'intstr', maxSurge: 'intstr' }),
      }),
      minReadySeconds: 'int32',
      revisionHistoryLimit: 'int32',
    }),
    status: 'any',
  }),
  Job: top('Job', { spec: JOB_SPEC, status: 'any' }),
  CronJob: top('CronJob', {
    spec: s('CronJobSpec', {
      schedule: 'string',
      timeZone: 'string',
      startingDeadlineSeconds: 'int64',
      concurrencyPolicy: 'string',
      suspend: 'bool',
      jobTemplate: s('JobTemplateSpec', { metadata: OBJECT_META, spec: JOB_SPEC }),
      successfulJobsHistoryLimit: 'int32',
      failedJobsHistoryLimit: 'int32',
    }),
    status: 'any',
  }),
  Service: top('Service', {
    spec: s('ServiceSpec', {
      ...any('sessionAffinityConfig', 'ipFamilies', 'externalIPs', 'loadBalancerSourceRanges', 'clusterIPs'),
      ports: list(
        s('ServicePort', {
          name: 'string',
          protocol: 'string',
          appProtocol: 'string',
          port: 'int32',
          targetPort: 'intstr',
          nodePort: 'int32',
        }),
      ),
      selector: 'map-string',
      clusterIP: 'string',
      type: 'string',
      sessionAffinity: 'string',
      loadBalancerIP: 'string',
      externalName: 'string',
      externalTrafficPolicy: 'string',
      healthCheckNodePort: 'int32',
      publishNotReadyAddresses: 'bool',
      ipFamilyPolicy: 'string',
      allocateLoadBalancerNodePorts: 'bool',
      loadBalancerClass: 'string',
      internalTrafficPolicy: 'string',
      trafficDistribution: 'string',
    }),
    status: 'any',
  }),
  ConfigMap: top('ConfigMap', { immutable: 'bool', data: 'map-string', binaryData: 'any' }),
  Secret: top('Secret', { immutable: 'bool', data: 'map-string', stringData: 'map-string', type: 'string' }),
  Namespace: top('Namespace', { spec: s('NamespaceSpec', { finalizers: 'string[]' }), status: 'any' }),
};

/** A path as segments: field names, and list positions with the item (for keyed renderings). */
export type PathSegment = string | { index: number; item: Json };

export interface TypeIssue {
  path: PathSegment[];
  /** The JSON field names from the root (no list positions, no map keys): encoding/json's field path. */
  goField: string;
  /** The Go struct holding the field. */
  struct: string;
  /** The Go type expected: int32, int64, bool, string, []string, intstr.IntOrString. */
  goType: string;
  /** What the JSON had: string, number, bool, array, object. */
  got: string;
  value: Json;
}

export interface DecodeIssues {
  unknown: PathSegment[][];
  types: TypeIssue[];
}

function jsonType(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

function leafIssue(leaf: Leaf, v: Json): { goType: string; got: string; value: Json } | undefined {
  if (v === null) return undefined; // null is "unset" for JSON decoding
  switch (leaf) {
    case 'string':
      return typeof v === 'string' ? undefined : { goType: 'string', got: jsonType(v), value: v };
    case 'int32':
    case 'int64':
      return typeof v === 'number' && Number.isInteger(v)
        ? undefined
        : { goType: leaf, got: typeof v === 'number' ? `number ${v}` : jsonType(v), value: v };
    case 'bool':
      return typeof v === 'boolean' ? undefined : { goType: 'bool', got: jsonType(v), value: v };
    case 'intstr':
      return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v))
        ? undefined
        : { goType: 'intstr.IntOrString', got: jsonType(v), value: v };
    default:
      return undefined;
  }
}

function walk(
  value: Json | undefined,
  st: Struct,
  path: PathSegment[],
  issues: DecodeIssues,
  prune: boolean,
): void {
  if (!isObject(value)) return;
  for (const key of Object.keys(value)) {
    const here = [...path, key];
    const child = st.fields[key];
    if (child === undefined) {
      issues.unknown.push(here);
      if (prune) delete value[key];
      continue;
    }
    const v = value[key];
    if (v === undefined) continue;
    if (typeof child === 'string') {
      if (child === 'map-string') {
        if (isObject(v)) {
          for (const [k, item] of Object.entries(v)) {
            if (item !== null && typeof item !== 'string') {
              issues.types.push({
                path: [...here, k],
                goField: fieldsOf(here),
                struct: st.name,
                goType: 'string',
                got: jsonType(item),
                value: item,
              });
            }
          }
        } else if (v !== null) {
          issues.types.push({
            path: here,
            goField: fieldsOf(here),
            struct: st.name,
            goType: 'map[string]string',
            got: jsonType(v),
            value: v,
          });
        }
      } else if (child === 'string[]') {
        if (Array.isArray(v)) {
          v.forEach((item, i) => {
            if (typeof item !== 'string') {
              issues.types.push({
                path: [...here, { index: i, item }],
                goField: fieldsOf(here),
                struct: st.name,
                goType: 'string',
                got: jsonType(item),
                value: item,
              });
            }
          });
        } else if (v !== null) {
          issues.types.push({
            path: here,
            goField: fieldsOf(here),
            struct: st.name,
            goType: '[]string',
            got: jsonType(v),
            value: v,
          });
        }
      } else {
        const bad = leafIssue(child, v);
        if (bad) issues.types.push({ path: here, goField: fieldsOf(here), struct: st.name, ...bad });
      }
      continue;
    }
    if ('list' in child) {
      if (Array.isArray(v))
        v.forEach((item, i) => walk(item, child.list, [...here, { index: i, item }], issues, prune));
      else if (v !== null) {
        issues.types.push({
          path: here,
          goField: fieldsOf(here),
          struct: st.name,
          goType: `[]v1.${child.list.name}`,
          got: jsonType(v),
          value: v,
        });
      }
      continue;
    }
    if (v !== null && !isObject(v)) {
      issues.types.push({
        path: here,
        goField: fieldsOf(here),
        struct: st.name,
        goType: `v1.${child.name}`,
        got: jsonType(v),
        value: v,
      });
      continue;
    }
    walk(v, child, here, issues, prune);
  }
}

function fieldsOf(path: PathSegment[]): string {
  return path.filter((p): p is string => typeof p === 'string').join('.');
}

/** `spec.template.spec.containers[0].imagee` (strict decoding's form). */
export function dottedPath(path: PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'string' ? (out ? `.${seg}` : seg) : `[${seg.index}]`;
  return out;
}

/** Unknown fields and type mismatches of a built-in object; `prune` removes the unknown fields. */
export function decodeIssues(kind: string, o: JsonObject, prune: boolean): DecodeIssues {
  const issues: DecodeIssues = { unknown: [], types: [] };
  const st = KINDS[kind];
  if (st) walk(o, st, [], issues, prune);
  return issues;
}

/** encoding/json's UnmarshalTypeError text: `json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32`. */
export function unmarshalError(issue: TypeIssue): string {
  return `json: cannot unmarshal ${issue.got} into Go struct field ${issue.struct}.${issue.goField} of type ${issue.goType}`;
}

/** structured-merge-diff's text for a value of the wrong type in an apply patch. */
export function typedValueError(issue: TypeIssue): string {
  const repr = JSON.stringify(issue.value);
  if (issue.goType === 'int32' || issue.goType === 'int64')
    return `expected numeric (int or float), got ${jsonType(issue.value) === 'bool' ? 'bool' : jsonType(issue.value)}`;
  if (issue.goType === 'bool') return `expected boolean, got &value.valueUnstructured{Value:${repr}}`;
  if (issue.goType === 'string') return `expected string, got &value.valueUnstructured{Value:${repr}}`;
  return `expected ${issue.goType}, got ${jsonType(issue.value)}`;
}
