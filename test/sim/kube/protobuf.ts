/**
 * Decoding of `application/vnd.kubernetes.protobuf` request bodies. client-go's typed clientsets (1.32) send
 * built-in objects as protobuf, so `kubectl create namespace|configmap|secret|serviceaccount|service|deployment|
 * job|cronjob` POST protobuf; everything else kubectl sends (apply, patch, replace, delete) is JSON.
 *
 * The envelope is the 4 bytes `k8s\0` and a `runtime.Unknown` {typeMeta {apiVersion, kind}, raw}; `raw` is the
 * object's message. The message descriptions below (field numbers, names, types) are written for the kinds and
 * fields those commands send, following the protobuf definitions of k8s.io/api v0.32. A field the table does not
 * know is refused with 415 naming it, rather than silently dropped.
 *
 * Zero values: Go's generated marshallers write every non-pointer field, zero or not, and pointer fields only when
 * set; a zero is dropped (as JSON's omitempty would) except for the pointer fields marked `*`.
 */
import type { Json, JsonObject } from './meta.js';
import { ApiError } from './meta.js';

/** field number → `name[:type][*]`; type defaults to string; `[]` = repeated; `*` = keep zero values. */
type MessageSpec = Record<number, string>;

const M: Record<string, MessageSpec> = {
  Unknown: { 1: 'typeMeta:TypeMeta', 2: 'raw:rawbytes', 3: 'contentEncoding', 4: 'contentType' },
  TypeMeta: { 1: 'apiVersion', 2: 'kind' },
  ObjectMeta: {
    1: 'name',
    2: 'generateName',
    3: 'namespace',
    4: 'selfLink',
    5: 'uid',
    6: 'resourceVersion',
    7: 'generation:int64',
    8: 'creationTimestamp:time',
    9: 'deletionTimestamp:time',
    10: 'deletionGracePeriodSeconds:int64*',
    11: 'labels:map',
    12: 'annotations:map',
    13: 'ownerReferences:[]OwnerReference',
    14: 'finalizers:[]string',
    17: 'managedFields:[]ManagedFieldsEntry',
  },
  OwnerReference: {
    1: 'kind',
    3: 'name',
    4: 'uid',
    5: 'apiVersion',
    6: 'controller:bool*',
    7: 'blockOwnerDeletion:bool*',
  },
  ManagedFieldsEntry: {
    1: 'manager',
    2: 'operation',
    3: 'apiVersion',
    4: 'time:time',
    6: 'fieldsType',
    7: 'fieldsV1:fieldsv1',
    8: 'subresource',
  },
  LabelSelector: { 1: 'matchLabels:map', 2: 'matchExpressions:[]LabelSelectorRequirement' },
  LabelSelectorRequirement: { 1: 'key', 2: 'operator', 3: 'values:[]string' },
  // core/v1
  Namespace: { 1: 'metadata:ObjectMeta', 2: 'spec:NamespaceSpec', 3: 'status:Empty' },
  NamespaceSpec: { 1: 'finalizers:[]string' },
  ConfigMap: { 1: 'metadata:ObjectMeta', 2: 'data:map', 3: 'binaryData:mapbytes', 4: 'immutable:bool*' },
  Secret: {
    1: 'metadata:ObjectMeta',
    2: 'data:mapbytes',
    3: 'type',
    4: 'stringData:map',
    5: 'immutable:bool*',
  },
  ServiceAccount: {
    1: 'metadata:ObjectMeta',
    2: 'secrets:[]ObjectReference',
    3: 'imagePullSecrets:[]LocalObjectReference',
    4: 'automountServiceAccountToken:bool*',
  },
  ObjectReference: {
    1: 'kind',
    2: 'namespace',
    3: 'name',
    4: 'uid',
    5: 'apiVersion',
    6: 'resourceVersion',
    7: 'fieldPath',
  },
  LocalObjectReference: { 1: 'name' },
  Service: { 1: 'metadata:ObjectMeta', 2: 'spec:ServiceSpec', 3: 'status:Empty' },
  ServiceSpec: {
    1: 'ports:[]ServicePort',
    2: 'selector:map',
    3: 'clusterIP',
    4: 'type',
    5: 'externalIPs:[]string',
    7: 'sessionAffinity',
    8: 'loadBalancerIP',
    9: 'loadBalancerSourceRanges:[]string',
    10: 'externalName',
    11: 'externalTrafficPolicy',
    12: 'healthCheckNodePort:int32',
    13: 'publishNotReadyAddresses:bool',
    17: 'ipFamilyPolicy',
    18: 'clusterIPs:[]string',
    19: 'ipFamilies:[]string',
    20: 'allocateLoadBalancerNodePorts:bool*',
    21: 'loadBalancerClass',
    22: 'internalTrafficPolicy',
    23: 'trafficDistribution',
  },
  ServicePort: {
    1: 'name',
    2: 'protocol',
    3: 'port:int32',
    4: 'targetPort:intstr',
    5: 'nodePort:int32',
    6: 'appProtocol',
  },
  PodTemplateSpec: { 1: 'metadata:ObjectMeta', 2: 'spec:PodSpec' },
  PodSpec: {
    1: 'volumes:[]Volume',
    2: 'containers:[]Container',
    3: 'restartPolicy',
    4: 'terminationGracePeriodSeconds:int64*',
    5: 'activeDeadlineSeconds:int64*',
    6: 'dnsPolicy',
    7: 'nodeSelector:map',
    8: 'serviceAccountName',
    9: 'serviceAccount',
    10: 'nodeName',
    11: 'hostNetwork:bool',
    12: 'hostPID:bool',
    13: 'hostIPC:bool',
    14: 'securityContext:PodSecurityContext',
    15: 'imagePullSecrets:[]LocalObjectReference',
    16: 'hostname',
    17: 'subdomain',
    19: 'schedulerName',
    20: 'initContainers:[]Container',
    21: 'automountServiceAccountToken:bool*',
    24: 'priorityClassName',
    25: 'priority:int32*',
    27: 'shareProcessNamespace:bool*',
    29: 'runtimeClassName',
    30: 'enableServiceLinks:bool*',
    31: 'preemptionPolicy',
    35: 'setHostnameAsFQDN:bool*',
  },
  PodSecurityContext: {
    2: 'runAsUser:int64*',
    3: 'runAsNonRoot:bool*',
    5: 'fsGroup:int64*',
    6: 'runAsGroup:int64*',
  },
  Container: {
    1: 'name',
    2: 'image',
    3: 'command:[]string',
    4: 'args:[]string',
    5: 'workingDir',
    6: 'ports:[]ContainerPort',
    7: 'env:[]EnvVar',
    8: 'resources:ResourceRequirements',
    9: 'volumeMounts:[]VolumeMount',
    13: 'terminationMessagePath',
    14: 'imagePullPolicy',
    16: 'stdin:bool',
    17: 'stdinOnce:bool',
    18: 'tty:bool',
    19: 'envFrom:[]EnvFromSource',
    20: 'terminationMessagePolicy',
    24: 'restartPolicy',
  },
  ContainerPort: { 1: 'name', 2: 'hostPort:int32', 3: 'containerPort:int32', 4: 'protocol', 5: 'hostIP' },
  EnvVar: { 1: 'name', 2: 'value', 3: 'valueFrom:EnvVarSource' },
  EnvVarSource: {
    1: 'fieldRef:ObjectFieldSelector',
    3: 'configMapKeyRef:ConfigMapKeySelector',
    4: 'secretKeyRef:SecretKeySelector',
  },
  ObjectFieldSelector: { 1: 'apiVersion', 2: 'fieldPath' },
  ConfigMapKeySelector: { 1: '-:inline:LocalObjectReference', 2: 'key', 3: 'optional:bool*' },
  SecretKeySelector: { 1: '-:inline:LocalObjectReference', 2: 'key', 3: 'optional:bool*' },
  EnvFromSource: { 1: 'prefix', 2: 'configMapRef:ConfigMapEnvSource', 3: 'secretRef:SecretEnvSource' },
  ConfigMapEnvSource: { 1: '-:inline:LocalObjectReference', 2: 'optional:bool*' },
  SecretEnvSource: { 1: '-:inline:LocalObjectReference', 2: 'optional:bool*' },
  ResourceRequirements: { 1: 'limits:mapquantity', 2: 'requests:mapquantity' },
  VolumeMount: {
    1: 'name',
    2: 'readOnly:bool',
    3: 'mountPath',
    4: 'subPath',
    5: 'mountPropagation',
    6: 'subPathExpr',
  },
  Volume: { 1: 'name', 2: '-:inline:VolumeSource' },
  VolumeSource: {
    2: 'emptyDir:EmptyDirVolumeSource',
    6: 'secret:SecretVolumeSource',
    19: 'configMap:ConfigMapVolumeSource',
  },
  EmptyDirVolumeSource: { 1: 'medium', 2: 'sizeLimit:quantity' },
  SecretVolumeSource: {
    1: 'secretName',
    2: 'items:[]KeyToPath',
    3: 'defaultMode:int32*',
    4: 'optional:bool*',
  },
  ConfigMapVolumeSource: {
    1: '-:inline:LocalObjectReference',
    2: 'items:[]KeyToPath',
    3: 'defaultMode:int32*',
    4: 'optional:bool*',
  },
  KeyToPath: { 1: 'key', 2: 'path', 3: 'mode:int32*' },
  // apps/v1
  Deployment: { 1: 'metadata:ObjectMeta', 2: 'spec:DeploymentSpec', 3: 'status:Empty' },
  DeploymentSpec: {
    1: 'replicas:int32*',
    2: 'selector:LabelSelector',
    3: 'template:PodTemplateSpec',
    4: 'strategy:DeploymentStrategy',
    5: 'minReadySeconds:int32',
    6: 'revisionHistoryLimit:int32*',
    7: 'paused:bool',
    9: 'progressDeadlineSeconds:int32*',
  },
  DeploymentStrategy: { 1: 'type', 2: 'rollingUpdate:RollingUpdateDeployment' },
  RollingUpdateDeployment: { 1: 'maxUnavailable:intstr', 2: 'maxSurge:intstr' },
  // batch/v1
  Job: { 1: 'metadata:ObjectMeta', 2: 'spec:JobSpec', 3: 'status:Empty' },
  JobSpec: {
    1: 'parallelism:int32*',
    2: 'completions:int32*',
    3: 'activeDeadlineSeconds:int64*',
    4: 'selector:LabelSelector',
    5: 'manualSelector:bool*',
    6: 'template:PodTemplateSpec',
    7: 'backoffLimit:int32*',
    8: 'ttlSecondsAfterFinished:int32*',
    9: 'completionMode',
    10: 'suspend:bool*',
    14: 'podReplacementPolicy',
    15: 'managedBy',
  },
  JobTemplateSpec: { 1: 'metadata:ObjectMeta', 2: 'spec:JobSpec' },
  CronJob: { 1: 'metadata:ObjectMeta', 2: 'spec:CronJobSpec', 3: 'status:Empty' },
  CronJobSpec: {
    1: 'schedule',
    2: 'startingDeadlineSeconds:int64*',
    3: 'concurrencyPolicy',
    4: 'suspend:bool*',
    5: 'jobTemplate:JobTemplateSpec',
    6: 'successfulJobsHistoryLimit:int32*',
    7: 'failedJobsHistoryLimit:int32*',
    8: 'timeZone',
  },
  /** A status on create: ignored (the server resets it). */
  Empty: {},
  IntOrString: { 1: 'type:int64', 2: 'intVal:int32', 3: 'strVal' },
  Time: { 1: 'seconds:int64', 2: 'nanos:int32' },
  Quantity: { 1: 'string' },
};

/** The message describing a kind's object. */
const KINDS: Record<string, string> = {
  Namespace: 'Namespace',
  ConfigMap: 'ConfigMap',
  Secret: 'Secret',
  ServiceAccount: 'ServiceAccount',
  Service: 'Service',
  Deployment: 'Deployment',
  Job: 'Job',
  CronJob: 'CronJob',
};

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  }
  bytes(): Buffer {
    const len = Number(this.varint());
    const out = this.buf.subarray(this.pos, this.pos + len);
    if (out.length !== len) throw new Error('truncated field');
    this.pos += len;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

function unsupported(message: string): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (the simulator cannot decode this protobuf body: ${message})`,
  );
}

interface Field {
  name: string;
  type: string;
  repeated: boolean;
  keepZero: boolean;
  inline: boolean;
}

function field(spec: string): Field {
  const keepZero = spec.endsWith('*');
  const s = keepZero ? spec.slice(0, -1) : spec;
  const parts = s.split(':');
  if (parts[0] === '-' && parts[1] === 'inline')
    return { name: '', type: parts[2] ?? '', repeated: false, keepZero: false, inline: true };
  const name = parts[0] ?? '';
  let type = parts[1] ?? 'string';
  const repeated = type.startsWith('[]');
  if (repeated) type = type.slice(2);
  return { name, type, repeated, keepZero, inline: false };
}

function isZero(v: Json): boolean {
  return v === '' || v === 0 || v === false;
}

function scalar(type: string, wire: number, r: Reader): Json {
  switch (type) {
    case 'string':
      return r.bytes().toString('utf8');
    case 'bytes':
      return r.bytes().toString('base64');
    case 'bool':
      return r.varint() !== 0n;
    case 'int32':
      return Number(BigInt.asIntN(32, r.varint()));
    case 'int64':
      return Number(BigInt.asIntN(64, r.varint()));
    default:
      throw unsupported(`unknown scalar type ${type} (wire ${wire})`);
  }
}

function decodeMessage(name: string, buf: Buffer, path: string): JsonObject {
  if (name === 'Empty') return {};
  const spec = M[name];
  if (!spec) throw unsupported(`no description of message ${name}`);
  const out: JsonObject = {};
  const r = new Reader(buf);
  while (!r.done()) {
    const tag = Number(r.varint());
    const num = tag >>> 3;
    const wire = tag & 7;
    const s = spec[num];
    if (s === undefined) throw unsupported(`field ${num} of ${name} at ${path || '.'}`);
    const f = field(s);
    const here = f.inline ? path : `${path}.${f.name}`;
    let value: Json;
    if (f.inline) {
      Object.assign(out, decodeMessage(f.type, r.bytes(), here));
      continue;
    }
    switch (f.type) {
      case 'string':
      case 'bytes':
      case 'bool':
      case 'int32':
      case 'int64':
        if (f.repeated && wire === 2 && f.type !== 'string' && f.type !== 'bytes') {
          const packed = new Reader(r.bytes());
          const list = Array.isArray(out[f.name]) ? (out[f.name] as Json[]) : [];
          while (!packed.done()) list.push(scalar(f.type, 0, packed));
          out[f.name] = list;
          continue;
        }
        value = scalar(f.type, wire, r);
        break;
      case 'rawbytes':
        value = r.bytes().toString('base64');
        break;
      case 'time': {
        const t = decodeMessage('Time', r.bytes(), here);
        const seconds = typeof t['seconds'] === 'number' ? t['seconds'] : 0;
        if (seconds === 0) continue;
        value = new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
        break;
      }
      case 'quantity':
        value = String(decodeMessage('Quantity', r.bytes(), here)['string'] ?? '');
        break;
      case 'intstr': {
        const v = decodeMessage('IntOrString', r.bytes(), here);
        value =
          v['type'] === 1 ? String(v['strVal'] ?? '') : typeof v['intVal'] === 'number' ? v['intVal'] : 0;
        break;
      }
      case 'fieldsv1': {
        const raw = decodeRawFields(r.bytes());
        value = raw;
        break;
      }
      case 'map':
      case 'mapbytes':
      case 'mapquantity': {
        const entry = new Reader(r.bytes());
        let key = '';
        let val: Json = '';
        while (!entry.done()) {
          const t = Number(entry.varint());
          if (t >>> 3 === 1) key = entry.bytes().toString('utf8');
          else if (t >>> 3 === 2) {
            const b = entry.bytes();
            val =
              f.type === 'mapbytes'
                ? b.toString('base64')
                : f.type === 'mapquantity'
                  ? String(decodeMessage('Quantity', b, here)['string'] ?? '')
                  : b.toString('utf8');
          } else entry.skip(t & 7);
        }
        const map = (out[f.name] as JsonObject | undefined) ?? {};
        map[key] = val;
        out[f.name] = map;
        continue;
      }
      default:
        value = decodeMessage(f.type, r.bytes(), here);
    }
    if (f.repeated) {
      const list = Array.isArray(out[f.name]) ? (out[f.name] as Json[]) : [];
      list.push(value);
      out[f.name] = list;
    } else if (!isZero(value) || f.keepZero) {
      out[f.name] = value;
    }
  }
  return out;
}

/** FieldsV1 is `{raw: bytes}` holding JSON. */
function decodeRawFields(buf: Buffer): Json {
  const r = new Reader(buf);
  while (!r.done()) {
    const tag = Number(r.varint());
    if (tag >>> 3 === 1) {
      try {
        return JSON.parse(r.bytes().toString('utf8')) as Json;
      } catch {
        return {};
      }
    }
    r.skip(tag & 7);
  }
  return {};
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Decodes a protobuf request body into the JSON object it stands for. */
export function decodeProtobufObject(body: Buffer): JsonObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw unsupported('missing the k8s\\0 envelope');
  const unknown = decodeMessage('Unknown', body.subarray(4), '');
  const typeMeta = (unknown['typeMeta'] as JsonObject | undefined) ?? {};
  const kind = String(typeMeta['kind'] ?? '');
  const apiVersion = String(typeMeta['apiVersion'] ?? '');
  const message = KINDS[kind];
  if (!message) throw unsupported(`kind ${kind || '(none)'} is not described`);
  if (unknown['contentEncoding']) throw unsupported(`content encoding ${String(unknown['contentEncoding'])}`);
  const raw = Buffer.from(String(unknown['raw'] ?? ''), 'base64');
  const object = decodeMessage(message, raw, '');
  delete object['status'];
  const metadata = (object['metadata'] as JsonObject | undefined) ?? {};
  return { apiVersion, kind, ...object, metadata };
}
