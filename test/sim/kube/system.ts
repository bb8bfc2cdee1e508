/**
 * The control plane's housekeeping controllers:
 *
 * - garbage collector: dependents whose owners are all gone are deleted (background propagation); an owner deleted
 *   with `propagationPolicy: Foreground` keeps its `foregroundDeletion` finalizer until its dependents are gone; one
 *   deleted with `Orphan` has its dependents' ownerReferences removed, then its `orphan` finalizer;
 * - namespaces: a terminating namespace's content is deleted, then the `kubernetes` finalizer is removed and the
 *   namespace goes; every active namespace gets its `default` ServiceAccount and `kube-root-ca.crt` ConfigMap;
 * - CustomResourceDefinitions: names accepted and Established (the resource is then served and discovered), the
 *   `customresourcecleanup.apiextensions.k8s.io` finalizer, and on deletion the custom resources removed first.
 */
import type { SimContext } from './context.js';
import { isTerminating } from './context.js';
import type { JsonObject } from './meta.js';
import { ApiError, at, clone, isObject, nameOf, namespaceOf, objs, rfc3339, str, uidOf } from './meta.js';
import type { ResourceType } from './resources.js';
import { typeKey, typesFromCrd } from './resources.js';

const MANAGER = 'kube-controller-manager';
const CRD_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

function removeFinalizer(ctx: SimContext, t: ResourceType, o: JsonObject, finalizer: string): void {
  try {
    ctx.api.mutate(t, namespaceOf(o), nameOf(o), MANAGER, (x) => {
      const m = x['metadata'] as JsonObject;
      const list = Array.isArray(m['finalizers']) ? m['finalizers'].filter((f) => f !== finalizer) : [];
      if (list.length) m['finalizers'] = list;
      else delete m['finalizers'];
    });
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
  }
}

export class GarbageCollector {
  constructor(private readonly ctx: SimContext) {}

  sync(): void {
    const { api, registry } = this.ctx;
    const types = registry.all();
    const everything: Array<{ t: ResourceType; o: JsonObject }> = [];
    const seenKeys = new Set<string>();
    for (const t of types) {
      const key = typeKey(t);
      if (seenKeys.has(key)) continue;
      seenKeys.add(key);
      // Events never have owners: the biggest kind is skipped.
      if (t.kind === 'Event' && !t.crd) continue;
      for (const o of api.scan(t)) everything.push({ t, o: o as JsonObject });
    }
    const byUid = new Map<string, { t: ResourceType; o: JsonObject }>();
    for (const e of everything) byUid.set(uidOf(e.o), e);
    const dependents = new Map<string, Array<{ t: ResourceType; o: JsonObject }>>();
    for (const e of everything) {
      const refs = objs(at(e.o, 'metadata.ownerReferences'));
      if (refs.length === 0) continue;
      for (const r of refs) {
        const uid = String(r['uid'] ?? '');
        dependents.set(uid, [...(dependents.get(uid) ?? []), e]);
      }
      const owners = refs.map((r) => {
        const owner = byUid.get(String(r['uid'] ?? ''));
        // An owner in another namespace does not own (namespaced dependents need owners in their namespace).
        if (owner && owner.t.namespaced && namespaceOf(owner.o) !== namespaceOf(e.o)) return undefined;
        return owner;
      });
      if (owners.every((x) => x === undefined)) {
        if (!isTerminating(e.o)) this.ctx.api.deleteInternal(e.t, namespaceOf(e.o), nameOf(e.o));
        continue;
      }
      for (const owner of owners) {
        if (!owner || !isTerminating(owner.o)) continue;
        const finalizers = at(owner.o, 'metadata.finalizers');
        const list = Array.isArray(finalizers) ? finalizers : [];
        if (list.includes('orphan')) {
          try {
            this.ctx.api.mutate(e.t, namespaceOf(e.o), nameOf(e.o), MANAGER, (x) => {
              const m = x['metadata'] as JsonObject;
              const rest = objs(m['ownerReferences']).filter((r) => r['uid'] !== uidOf(owner.o));
              if (rest.length) m['ownerReferences'] = rest;
              else delete m['ownerReferences'];
            });
          } catch (err) {
            if (!(err instanceof ApiError)) throw err;
          }
        } else if (list.includes('foregroundDeletion') && !isTerminating(e.o)) {
          this.ctx.api.deleteInternal(e.t, namespaceOf(e.o), nameOf(e.o), 'Foreground');
        }
      }
    }
    for (const e of everything) {
      if (!isTerminating(e.o)) continue;
      const finalizers = at(e.o, 'metadata.finalizers');
      const list = Array.isArray(finalizers) ? finalizers : [];
      const left = dependents.get(uidOf(e.o)) ?? [];
      if (list.includes('orphan') && left.length === 0) removeFinalizer(this.ctx, e.t, e.o, 'orphan');
      if (list.includes('foregroundDeletion') && left.length === 0)
        removeFinalizer(this.ctx, e.t, e.o, 'foregroundDeletion');
    }
  }
}

const ROOT_CA =
  '-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrOHMtc2lt\nLXNpZ25lci1zaW11bGF0b3IwHhcNMjQwMTAxMDAwMDAwWhcNMzQwMTAxMDAwMDAw\nWjAjMSEwHwYDVQQDDBhrOHMtc2ltLXNpZ25lci1zaW11bGF0b3I=\n-----END CERTIFICATE-----\n';

export class NamespaceController {
  constructor(private readonly ctx: SimContext) {}

  sync(): void {
    const { api, types, registry } = this.ctx;
    for (const ns of api.all(types.namespace)) {
      const name = nameOf(ns);
      if (!isTerminating(ns)) {
        this.ensureDefaults(name);
        continue;
      }
      let remaining = 0;
      const seen = new Set<string>();
      for (const t of registry.all()) {
        if (!t.namespaced || seen.has(typeKey(t))) continue;
        seen.add(typeKey(t));
        for (const o of api.all(t, name)) {
          remaining++;
          if (!isTerminating(o)) api.deleteInternal(t, name, nameOf(o));
        }
      }
      if (remaining === 0) {
        try {
          api.update(
            types.namespace,
            '',
            name,
            { ...clone(ns), spec: { finalizers: [] } },
            { manager: 'kube-controller-manager', subresource: 'finalize' },
          );
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
        }
      }
    }
  }

  private ensureDefaults(ns: string): void {
    const { api, types } = this.ctx;
    try {
      if (!api.find(types.serviceAccount, ns, 'default')) {
        api.createInternal(
          types.serviceAccount,
          ns,
          { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } },
          'kube-controller-manager',
        );
      }
      if (!api.find(types.configMap, ns, 'kube-root-ca.crt')) {
        api.createInternal(
          types.configMap,
          ns,
          {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
              name: 'kube-root-ca.crt',
              namespace: ns,
              annotations: {
                'kubernetes.io/description':
                  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
              },
            },
            data: { 'ca.crt': ROOT_CA },
          },
          'kube-controller-manager',
        );
      }
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
  }
}

export class CrdController {
  constructor(private readonly ctx: SimContext) {}

  sync(): void {
    const { api, types, registry } = this.ctx;
    const crds = api.all(types.crd);
    const names = new Set(crds.map(nameOf));
    for (const t of registry.all()) {
      if (t.crd && !names.has(nameOf(t.crd.object))) registry.removeCrd(nameOf(t.crd.object));
    }
    for (const crd of crds) {
      try {
        this.syncOne(crd, crds);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
      }
    }
  }

  private syncOne(crd: JsonObject, all: JsonObject[]): void {
    const { api, types, registry, clock } = this.ctx;
    const name = nameOf(crd);
    const now = rfc3339(clock.now);
    if (isTerminating(crd)) {
      api.mutate(
        types.crd,
        '',
        name,
        'kube-apiserver',
        (o) => {
          setCrdCondition(
            o,
            {
              type: 'Terminating',
              status: 'True',
              reason: 'InstanceDeletionInProgress',
              message: 'CustomResource deletion is in progress',
            },
            now,
          );
        },
        'status',
      );
      const served = registry.all().filter((t) => t.crd && nameOf(t.crd.object) === name);
      const t = served[0];
      let remaining = 0;
      if (t) {
        for (const o of api.all(t)) {
          remaining++;
          api.store.remove(typeKey(t), t.namespaced ? namespaceOf(o) : '', nameOf(o));
        }
      }
      if (remaining === 0) {
        registry.removeCrd(name);
        removeFinalizer(this.ctx, types.crd, crd, CRD_FINALIZER);
      }
      return;
    }
    const finalizers = at(crd, 'metadata.finalizers');
    if (!Array.isArray(finalizers) || !finalizers.includes(CRD_FINALIZER)) {
      api.mutate(types.crd, '', name, 'kube-apiserver', (o) => {
        const m = o['metadata'] as JsonObject;
        m['finalizers'] = [...(Array.isArray(m['finalizers']) ? m['finalizers'] : []), CRD_FINALIZER];
      });
    }
    const spec = isObject(crd['spec']) ? crd['spec'] : {};
    const names = isObject(spec['names']) ? clone(spec['names']) : {};
    const kind = str(names['kind']);
    const conflict = all.find(
      (o) =>
        nameOf(o) !== name &&
        at(o, 'spec.group') === spec['group'] &&
        at(o, 'status.acceptedNames.kind') === kind,
    );
    const updated = api.mutate(
      types.crd,
      '',
      name,
      'kube-apiserver',
      (o) => {
        const status = isObject(o['status']) ? o['status'] : (o['status'] = {});
        if (conflict) {
          setCrdCondition(
            o,
            {
              type: 'NamesAccepted',
              status: 'False',
              reason: 'KindConflict',
              message: `"${String(kind)}" is already in use`,
            },
            now,
          );
          setCrdCondition(
            o,
            {
              type: 'Established',
              status: 'False',
              reason: 'NotAccepted',
              message: 'not all names are accepted',
            },
            now,
          );
          return;
        }
        status['acceptedNames'] = names;
        setCrdCondition(
          o,
          { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' },
          now,
        );
        setCrdCondition(
          o,
          {
            type: 'Established',
            status: 'True',
            reason: 'InitialNamesAccepted',
            message: 'the initial names have been accepted',
          },
          now,
        );
        const storage = objs(at(o, 'spec.versions')).find((v) => v['storage'] === true);
        const stored = Array.isArray(status['storedVersions']) ? status['storedVersions'].map(String) : [];
        if (storage && !stored.includes(String(storage['name'])))
          status['storedVersions'] = [...stored, String(storage['name'])];
      },
      'status',
    );
    if (!conflict && updated) registry.setCrd(name, typesFromCrd(updated));
  }
}

function setCrdCondition(o: JsonObject, c: JsonObject, now: string): void {
  const status = isObject(o['status']) ? o['status'] : (o['status'] = {});
  const list = objs(status['conditions']);
  const i = list.findIndex((x) => x['type'] === c['type']);
  const old = i >= 0 ? list[i] : undefined;
  const next: JsonObject = {
    ...c,
    lastTransitionTime: old && old['status'] === c['status'] ? (old['lastTransitionTime'] ?? now) : now,
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  status['conditions'] = list;
}
