/**
 * Namespaces for a deploy: the `namespace` input is the default for namespaced objects that do not say where they
 * go, an object's own `metadata.namespace` is respected (one deploy may touch several namespaces — unlike
 * `kubectl apply -n`, which refuses an object whose namespace differs), and a cluster-scoped object never gets one.
 *
 * Whether a kind is namespaced is the cluster's answer (discovery), which the caller passes as a callback; when it
 * has none, a CustomResourceDefinition in the same manifests answers for its kind, then a built-in table of the
 * common Kubernetes kinds. A kind nobody knows is treated as namespaced (most custom resources are), with a
 * warning. The same object twice (group, kind, namespace, name) is an error naming both places: the second apply
 * would silently replace the first.
 */
import { ConfigurationError, InputError } from '../errors.js';
import {
  apiGroup,
  isPlainObject,
  listOf,
  manifestWhere,
  objectName,
  q,
  type Manifest,
} from './manifest-object.js';

export interface ResolveNamespacesOptions {
  /** Where namespaced objects without `metadata.namespace` go (the `namespace` input). */
  defaultNamespace: string;
  /** The cluster's answer (discovery): true namespaced, false cluster-scoped, undefined unknown. */
  resourceIsNamespaced?: (apiVersion: string, kind: string) => boolean | undefined;
  /** The input messages name for the default (default 'namespace'). */
  inputName?: string;
}

export interface NamespaceResolution {
  /** The namespaces the namespaced objects go to, sorted. */
  namespaces: string[];
  /** Namespaces the manifests create (`Namespace` objects), sorted. */
  created: string[];
  /** Cluster-scoped objects (`ClusterRole/reader`), in manifest order. */
  clusterScoped: string[];
  notes: string[];
  warnings: string[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Kinds that are cluster-scoped, by `group/kind` ('' is the core group). */
const CLUSTER_SCOPED = new Set([
  '/Namespace',
  '/Node',
  '/PersistentVolume',
  '/ComponentStatus',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'apiextensions.k8s.io/CustomResourceDefinition',
  'apiregistration.k8s.io/APIService',
  'storage.k8s.io/StorageClass',
  'storage.k8s.io/CSIDriver',
  'storage.k8s.io/CSINode',
  'storage.k8s.io/VolumeAttachment',
  'storage.k8s.io/VolumeAttributesClass',
  'scheduling.k8s.io/PriorityClass',
  'node.k8s.io/RuntimeClass',
  'networking.k8s.io/IngressClass',
  'networking.k8s.io/IPAddress',
  'networking.k8s.io/ServiceCIDR',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
  'admissionregistration.k8s.io/MutatingAdmissionPolicy',
  'admissionregistration.k8s.io/MutatingAdmissionPolicyBinding',
  'certificates.k8s.io/CertificateSigningRequest',
  'certificates.k8s.io/ClusterTrustBundle',
  'flowcontrol.apiserver.k8s.io/FlowSchema',
  'flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration',
  'resource.k8s.io/DeviceClass',
  'resource.k8s.io/ResourceSlice',
  'policy/PodSecurityPolicy',
]);

/** Common namespaced kinds, by `group/kind`. */
const NAMESPACED = new Set([
  '/Pod',
  '/Service',
  '/ConfigMap',
  '/Secret',
  '/ServiceAccount',
  '/PersistentVolumeClaim',
  '/Endpoints',
  '/Event',
  '/LimitRange',
  '/ResourceQuota',
  '/ReplicationController',
  '/PodTemplate',
  'apps/Deployment',
  'apps/ReplicaSet',
  'apps/StatefulSet',
  'apps/DaemonSet',
  'apps/ControllerRevision',
  'extensions/Deployment',
  'extensions/ReplicaSet',
  'extensions/DaemonSet',
  'extensions/Ingress',
  'extensions/NetworkPolicy',
  'batch/Job',
  'batch/CronJob',
  'autoscaling/HorizontalPodAutoscaler',
  'networking.k8s.io/Ingress',
  'networking.k8s.io/NetworkPolicy',
  'policy/PodDisruptionBudget',
  'rbac.authorization.k8s.io/Role',
  'rbac.authorization.k8s.io/RoleBinding',
  'discovery.k8s.io/EndpointSlice',
  'coordination.k8s.io/Lease',
  'storage.k8s.io/CSIStorageCapacity',
  'events.k8s.io/Event',
  'resource.k8s.io/ResourceClaim',
  'resource.k8s.io/ResourceClaimTemplate',
]);

/** Whether a common Kubernetes kind is namespaced (true), cluster-scoped (false), or unknown to Kiln. */
export function builtinIsNamespaced(apiVersion: string, kind: string): boolean | undefined {
  const key = `${apiGroup(apiVersion)}/${kind}`;
  if (CLUSTER_SCOPED.has(key)) return false;
  if (NAMESPACED.has(key)) return true;
  return undefined;
}

/** Why a namespace name is not valid (a DNS label: RFC 1123, at most 63 characters), or undefined. */
export function namespaceProblem(ns: string): string | undefined {
  if (ns.length > 63) return `it is ${ns.length} characters long; at most 63 are allowed`;
  if (!DNS_LABEL.test(ns))
    return "a namespace is a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit";
  return undefined;
}

/** Give every namespaced object its namespace (in place); see the module comment. */
export function resolveNamespaces(
  manifests: readonly Manifest[],
  o: ResolveNamespacesOptions,
): NamespaceResolution {
  const input = o.inputName ?? 'namespace';
  const defaultProblem = namespaceProblem(o.defaultNamespace);
  if (defaultProblem)
    throw new InputError(input, `${q(o.defaultNamespace)} is not a valid namespace: ${defaultProblem}.`);

  // CRDs in the manifests say whether their kinds are namespaced.
  const crdScopes = new Map<string, boolean>();
  for (const m of manifests) {
    if (m.kind !== 'CustomResourceDefinition' || apiGroup(m.apiVersion) !== 'apiextensions.k8s.io') continue;
    const spec = m.object['spec'];
    if (!isPlainObject(spec)) continue;
    const names = spec['names'];
    const kind = isPlainObject(names) ? names['kind'] : undefined;
    if (
      typeof spec['group'] === 'string' &&
      typeof kind === 'string' &&
      (spec['scope'] === 'Namespaced' || spec['scope'] === 'Cluster')
    )
      crdScopes.set(`${spec['group']}/${kind}`, spec['scope'] === 'Namespaced');
  }

  const result: NamespaceResolution = {
    namespaces: [],
    created: [],
    clusterScoped: [],
    notes: [],
    warnings: [],
  };
  const namespaces = new Set<string>();
  const problems: string[] = [];
  const unknownKinds = new Set<string>();
  const defaulted: string[] = [];
  const seen = new Map<string, Manifest>();
  for (const m of manifests) {
    const group = apiGroup(m.apiVersion);
    const namespaced =
      o.resourceIsNamespaced?.(m.apiVersion, m.kind) ??
      crdScopes.get(`${group}/${m.kind}`) ??
      builtinIsNamespaced(m.apiVersion, m.kind);
    if (namespaced === undefined) unknownKinds.add(`${m.kind}${group ? `.${group}` : ''}`);
    let metadata = m.object['metadata'];
    if (!isPlainObject(metadata)) metadata = m.object['metadata'] = {};
    const own = metadata['namespace'];
    let ns: string | undefined;
    if (namespaced === false) {
      result.clusterScoped.push(objectName(m));
      if (own !== undefined && own !== null && own !== '') {
        delete metadata['namespace'];
        result.warnings.push(
          `${manifestWhere(m, '/metadata/namespace')}: ${objectName(m)} is cluster-scoped, so its namespace${typeof own === 'string' ? ` ${q(own)}` : ''} is ignored (removed).`,
        );
      }
    } else if (own === undefined || own === null || own === '') {
      ns = o.defaultNamespace;
      metadata['namespace'] = ns;
      defaulted.push(objectName(m));
    } else if (typeof own !== 'string') {
      problems.push(
        `${manifestWhere(m, '/metadata/namespace')}: expected a namespace name, found ${typeof own}`,
      );
      continue;
    } else {
      const problem = namespaceProblem(own);
      if (problem) {
        problems.push(
          `${manifestWhere(m, '/metadata/namespace')}: ${q(own)} is not a valid namespace: ${problem}`,
        );
        continue;
      }
      ns = own;
    }
    if (ns !== undefined) namespaces.add(ns);
    if (m.kind === 'Namespace' && group === '') result.created.push(m.name);
    const key = `${group}/${m.kind}/${ns ?? ''}/${m.name}`;
    const first = seen.get(key);
    if (first)
      problems.push(
        `${objectName(m)}${ns !== undefined ? ` in namespace ${q(ns)}` : ''} is defined twice: ${manifestWhere(first)} and ${manifestWhere(m)} (the second would replace the first)`,
      );
    else seen.set(key, m);
  }
  if (problems.length)
    throw new ConfigurationError(
      `${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`,
    );
  if (unknownKinds.size)
    result.warnings.push(
      `Kiln cannot tell whether ${listOf([...unknownKinds].sort())} ${unknownKinds.size === 1 ? 'is' : 'are'} namespaced (the cluster did not say, and no CustomResourceDefinition in the manifests does); treated as namespaced.`,
    );
  if (defaulted.length)
    result.notes.push(`namespace ${q(o.defaultNamespace)} (the default) for ${listOf(defaulted, 6)}`);
  result.namespaces = [...namespaces].sort();
  result.created.sort();
  return result;
}
