/**
 * Discovery documents (the legacy form: `/api` APIVersions, `/apis` APIGroupList, `/api/v1` and `/apis/<g>/<v>`
 * APIResourceList) and `/version`. kubectl asks for aggregated discovery (apidiscovery.k8s.io/v2) first and falls
 * back to these when the answer is plain `application/json`, as it does against API servers before 1.26.
 */
import { createHash } from 'node:crypto';
import type { JsonObject } from './meta.js';
import type { Registry, ResourceType } from './resources.js';
import { groupVersion } from './resources.js';

export const KUBE_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.4',
  gitCommit: '59526cd4867447956156ae3a602fcbac10a2c335',
  gitTreeState: 'clean',
  buildDate: '2025-04-22T16:02:27Z',
  goVersion: 'go1.23.6',
  compiler: 'gc',
  platform: 'linux/amd64',
} as const;

export function versionInfo(): JsonObject {
  return { ...KUBE_VERSION };
}

export function apiVersions(serverAddress: string): JsonObject {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function apiGroupList(registry: Registry): JsonObject {
  const groups = new Map<string, string[]>();
  for (const gv of registry.groupVersions()) {
    if (!gv.group) continue;
    groups.set(gv.group, [...(groups.get(gv.group) ?? []), gv.version]);
  }
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([name, versions]) => apiGroupEntry(name, versions)),
  };
}

function apiGroupEntry(name: string, versions: string[]): JsonObject {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] ?? { groupVersion: `${name}/v1`, version: 'v1' } };
}

/** `/apis/<group>`: one APIGroup. */
export function apiGroup(registry: Registry, group: string): JsonObject | undefined {
  const versions = registry
    .groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => gv.version);
  if (versions.length === 0) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroupEntry(group, versions) };
}

function storageVersionHash(t: ResourceType): string {
  return createHash('sha256').update(`${t.group}/${t.version}/${t.kind}`).digest('base64').slice(0, 11);
}

export function apiResourceList(types: ResourceType[], gv: string): JsonObject {
  const resources: JsonObject[] = [];
  for (const t of types) {
    resources.push({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
      ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
      ...(t.categories.length ? { categories: t.categories } : {}),
      storageVersionHash: storageVersionHash(t),
    });
    for (const sub of t.subresources) {
      if (sub === 'scale') {
        resources.push({
          name: `${t.plural}/scale`,
          singularName: '',
          namespaced: t.namespaced,
          group: 'autoscaling',
          version: 'v1',
          kind: 'Scale',
          verbs: ['get', 'patch', 'update'],
        });
      } else if (sub === 'eviction') {
        resources.push({
          name: `${t.plural}/eviction`,
          singularName: '',
          namespaced: t.namespaced,
          group: 'policy',
          version: 'v1',
          kind: 'Eviction',
          verbs: ['create'],
        });
      } else if (sub === 'log') {
        resources.push({
          name: `${t.plural}/log`,
          singularName: '',
          namespaced: t.namespaced,
          kind: t.kind,
          verbs: ['get'],
        });
      } else {
        resources.push({
          name: `${t.plural}/${sub}`,
          singularName: '',
          namespaced: t.namespaced,
          kind: t.kind,
          verbs: ['get', 'patch', 'update'],
        });
      }
    }
    if (t.kind === 'Namespace') {
      resources.push({
        name: 'namespaces/finalize',
        singularName: '',
        namespaced: false,
        kind: 'Namespace',
        verbs: ['update'],
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources };
}

export function resourceListFor(registry: Registry, group: string, version: string): JsonObject | undefined {
  const gv = registry.groupVersions().find((x) => x.group === group && x.version === version);
  if (!gv) return undefined;
  return apiResourceList(gv.types, groupVersion(gv));
}

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** Whether a request's Accept asks for aggregated discovery (apidiscovery.k8s.io/v2), as kubectl 1.32 does first. */
export function wantsAggregated(accept: string): boolean {
  return accept
    .split(',')
    .some(
      (part) =>
        /g=apidiscovery\.k8s\.io/.test(part) &&
        /v=v2(;|$)/.test(part.replace(/\s/g, '')) &&
        /as=APIGroupDiscoveryList/.test(part),
    );
}

function resourceDiscovery(t: ResourceType): JsonObject {
  const subresources: JsonObject[] = t.subresources.map((sub) => {
    if (sub === 'scale') {
      return {
        subresource: 'scale',
        responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
        verbs: ['get', 'patch', 'update'],
      };
    }
    if (sub === 'log')
      return { subresource: 'log', responseKind: { group: '', version: 'v1', kind: 'Pod' }, verbs: ['get'] };
    if (sub === 'eviction')
      return {
        subresource: 'eviction',
        responseKind: { group: 'policy', version: 'v1', kind: 'Eviction' },
        verbs: ['create'],
      };
    return {
      subresource: sub,
      responseKind: { group: t.group, version: t.version, kind: t.kind },
      verbs: ['get', 'patch', 'update'],
    };
  });
  if (t.kind === 'Namespace' && !t.crd) {
    subresources.push({
      subresource: 'finalize',
      responseKind: { group: '', version: 'v1', kind: 'Namespace' },
      verbs: ['update'],
    });
  }
  return {
    resource: t.plural,
    responseKind: { group: t.group, version: t.version, kind: t.kind },
    scope: t.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: t.singular,
    verbs: t.verbs,
    ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
    ...(t.categories.length ? { categories: t.categories } : {}),
    ...(subresources.length ? { subresources } : {}),
  };
}

/** `/api` (core: `legacy`) or `/apis` (every other group) as an APIGroupDiscoveryList. */
export function aggregatedDiscovery(registry: Registry, legacy: boolean): JsonObject {
  const groups = new Map<string, JsonObject[]>();
  for (const gv of registry.groupVersions()) {
    if ((gv.group === '') !== legacy) continue;
    const versions = groups.get(gv.group) ?? [];
    versions.push({ version: gv.version, resources: gv.types.map(resourceDiscovery), freshness: 'Current' });
    groups.set(gv.group, versions);
  }
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: [...groups].map(([name, versions]) => ({ metadata: { name, creationTimestamp: null }, versions })),
  };
}
