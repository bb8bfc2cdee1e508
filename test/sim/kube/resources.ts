/**
 * The resources the simulated API server serves: the built-in kinds (core/v1, apps/v1, batch/v1,
 * networking.k8s.io/v1, apiextensions.k8s.io/v1) and, at run time, the custom resources each established CustomResourceDefinition defines.
 */
import type { JsonObject } from './meta.js';
import { isObject, objs, str } from './meta.js';

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Subresources served: `status`, `scale`, `log`. */
  subresources: string[];
  /** `metadata.generation` is kept and bumped on spec changes. */
  tracksGeneration: boolean;
  /** A custom resource: the version's schema and subresources come from its CRD. */
  crd?: { object: JsonObject; version: JsonObject };
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function builtin(
  group: string,
  plural: string,
  kind: string,
  opts: {
    namespaced?: boolean;
    shortNames?: string[];
    categories?: string[];
    subresources?: string[];
    generation?: boolean;
    verbs?: string[];
  } = {},
): ResourceType {
  return {
    group,
    version: 'v1',
    plural,
    singular: kind.toLowerCase(),
    kind,
    namespaced: opts.namespaced ?? true,
    shortNames: opts.shortNames ?? [],
    categories: opts.categories ?? [],
    verbs: opts.verbs ?? ALL_VERBS,
    subresources: opts.subresources ?? [],
    tracksGeneration: opts.generation ?? false,
  };
}

export const BUILTIN_TYPES: ResourceType[] = [
  builtin('', 'namespaces', 'Namespace', {
    namespaced: false,
    shortNames: ['ns'],
    subresources: ['status'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  }),
  builtin('', 'nodes', 'Node', { namespaced: false, shortNames: ['no'], subresources: ['status'] }),
  builtin('', 'pods', 'Pod', {
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status', 'log', 'eviction'],
  }),
  builtin('', 'events', 'Event', { shortNames: ['ev'] }),
  builtin('', 'configmaps', 'ConfigMap', { shortNames: ['cm'] }),
  builtin('', 'secrets', 'Secret'),
  builtin('', 'services', 'Service', { shortNames: ['svc'], categories: ['all'], subresources: ['status'] }),
  builtin('', 'serviceaccounts', 'ServiceAccount', { shortNames: ['sa'] }),
  builtin('apps', 'deployments', 'Deployment', {
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    generation: true,
  }),
  builtin('apps', 'replicasets', 'ReplicaSet', {
    shortNames: ['rs'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    generation: true,
  }),
  builtin('apps', 'statefulsets', 'StatefulSet', {
    shortNames: ['sts'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    generation: true,
  }),
  builtin('apps', 'daemonsets', 'DaemonSet', {
    shortNames: ['ds'],
    categories: ['all'],
    subresources: ['status'],
    generation: true,
  }),
  builtin('apps', 'controllerrevisions', 'ControllerRevision'),
  builtin('batch', 'jobs', 'Job', { categories: ['all'], subresources: ['status'], generation: true }),
  builtin('batch', 'cronjobs', 'CronJob', {
    shortNames: ['cj'],
    categories: ['all'],
    subresources: ['status'],
    generation: true,
  }),
  builtin('networking.k8s.io', 'ingresses', 'Ingress', {
    shortNames: ['ing'],
    subresources: ['status'],
    generation: true,
  }),
  builtin('apiextensions.k8s.io', 'customresourcedefinitions', 'CustomResourceDefinition', {
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    subresources: ['status'],
    generation: true,
  }),
];

/** The order groups are listed in discovery (as the API server's priorities put them). */
export const BUILTIN_GROUPS: Array<{ group: string; version: string }> = [
  { group: '', version: 'v1' },
  { group: 'apps', version: 'v1' },
  { group: 'batch', version: 'v1' },
  { group: 'networking.k8s.io', version: 'v1' },
  { group: 'apiextensions.k8s.io', version: 'v1' },
];

export function groupVersion(t: Pick<ResourceType, 'group' | 'version'>): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

export function typeKey(t: Pick<ResourceType, 'group' | 'plural'>): string {
  return `${t.group}/${t.plural}`;
}

/** The URL prefix of a group version: `/api/v1`, `/apis/apps/v1`. */
export function gvPrefix(t: Pick<ResourceType, 'group' | 'version'>): string {
  return t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
}

/** Resource types from an established CRD: one per served version. */
export function typesFromCrd(crd: JsonObject): ResourceType[] {
  const spec = isObject(crd['spec']) ? crd['spec'] : {};
  const names = isObject(spec['names']) ? spec['names'] : {};
  const group = str(spec['group']) ?? '';
  const plural = str(names['plural']) ?? '';
  const kind = str(names['kind']) ?? '';
  const out: ResourceType[] = [];
  for (const v of objs(spec['versions'])) {
    if (v['served'] === false) continue;
    const sub = isObject(v['subresources']) ? v['subresources'] : {};
    out.push({
      group,
      version: str(v['name']) ?? 'v1',
      plural,
      singular: str(names['singular']) ?? kind.toLowerCase(),
      kind,
      namespaced: spec['scope'] !== 'Cluster',
      shortNames: Array.isArray(names['shortNames']) ? names['shortNames'].map(String) : [],
      categories: Array.isArray(names['categories']) ? names['categories'].map(String) : [],
      verbs: ALL_VERBS,
      subresources: [...('status' in sub ? ['status'] : []), ...('scale' in sub ? ['scale'] : [])],
      tracksGeneration: true,
      crd: { object: crd, version: v },
    });
  }
  return out;
}

/** All served resource types: built-ins plus custom resources, looked up by group/version/plural or kind. */
export class Registry {
  private custom = new Map<string, ResourceType[]>();

  all(): ResourceType[] {
    return [...BUILTIN_TYPES, ...[...this.custom.values()].flat()];
  }

  /** Registers (or replaces) the types of an established CRD, keyed by the CRD's name. */
  setCrd(name: string, types: ResourceType[]): void {
    if (types.length === 0) this.custom.delete(name);
    else this.custom.set(name, types);
  }

  removeCrd(name: string): void {
    this.custom.delete(name);
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    const slash = apiVersion.indexOf('/');
    const group = slash >= 0 ? apiVersion.slice(0, slash) : '';
    const version = slash >= 0 ? apiVersion.slice(slash + 1) : apiVersion;
    return this.all().find((t) => t.group === group && t.version === version && t.kind === kind);
  }

  /** Built-in type by plural (`deployments`) in its group. */
  builtin(group: string, plural: string): ResourceType {
    const t = BUILTIN_TYPES.find((x) => x.group === group && x.plural === plural);
    if (!t) throw new Error(`no built-in resource ${group}/${plural}`);
    return t;
  }

  /** Group versions with their types, in discovery order. */
  groupVersions(): Array<{ group: string; version: string; types: ResourceType[] }> {
    const out: Array<{ group: string; version: string; types: ResourceType[] }> = [];
    for (const gv of BUILTIN_GROUPS) {
      out.push({
        ...gv,
        types: BUILTIN_TYPES.filter((t) => t.group === gv.group && t.version === gv.version),
      });
    }
    for (const t of [...this.custom.values()].flat()) {
      let entry = out.find((e) => e.group === t.group && e.version === t.version);
      if (!entry) {
        entry = { group: t.group, version: t.version, types: [] };
        out.push(entry);
      }
      entry.types.push(t);
    }
    return out;
  }
}
