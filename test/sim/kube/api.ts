/**
 * The API server's request semantics, shared by the HTTP layer and the simulated controllers:
 * create (generateName, namespaces, uid, creationTimestamp, admission), update (PUT, status and scale
 * subresources, resourceVersion preconditions), the four PATCH types, delete (grace periods, finalizers,
 * propagation policies), list with selectors and pagination, dry runs, defaulting, validation, generation,
 * managedFields, and no-op writes that do not bump the resource version.
 */
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { fieldSetOf, readManaged, recordUpdate, serverSideApply } from './apply.js';
import type { Clock } from './clock.js';
import { applyDefaults } from './defaults.js';
import type { FieldError, Json, JsonObject } from './meta.js';
import {
  ApiError,
  alreadyExists,
  at,
  badRequest,
  clone,
  conflict,
  deepEqual,
  ensureObj,
  expired,
  forbidden,
  invalid,
  isObject,
  meta,
  MODIFIED,
  nameOf,
  namespaceOf,
  notFound,
  objs,
  parseQuantity,
  randomSuffix,
  rfc3339,
  str,
  uidOf,
  unsupportedMediaType,
} from './meta.js';
import { patchTypes } from './openapi.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import type { Registry, ResourceType } from './resources.js';
import { groupVersion, typeKey } from './resources.js';
import type { SchemaContext } from './schema.js';
import { BUILTIN_CONTEXT, checkCustomResource, itemKey, listRule } from './schema.js';
import type { FieldRequirement, Requirement } from './selectors.js';
import {
  checkFieldSelector,
  formatSelector,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.js';
import type { Store } from './store.js';
import type { PathSegment } from './strict.js';
import { decodeIssues, dottedPath, typedValueError, unmarshalError } from './strict.js';
import { validateMetadata, validateObject } from './validation.js';

export interface WriteOptions {
  /** `fieldManager`, else derived from the User-Agent (kubectl → "kubectl"). */
  manager: string;
  dryRun?: boolean;
  /** Strict | Warn | Ignore (default Warn, as the API server). */
  fieldValidation?: string;
  force?: boolean;
  /** Warnings for the `Warning` header. */
  warnings?: string[];
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: JsonObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface DeleteOptions {
  propagationPolicy?: string;
  orphanDependents?: boolean;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** Namespaces that cannot be deleted. */
const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

export function schemaContext(t: ResourceType): SchemaContext {
  if (!t.crd) return BUILTIN_CONTEXT;
  const schema = at(t.crd.version, 'schema.openAPIV3Schema');
  return { builtin: false, ...(isObject(schema) ? { schema } : {}) };
}

/** The Kubernetes QoS class of a pod spec. */
export function qosClass(spec: JsonObject): string {
  const containers = [...objs(spec['containers']), ...objs(spec['initContainers'])];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const requests = at(c, 'resources.requests');
    const limits = at(c, 'resources.limits');
    if (
      (isObject(requests) && Object.keys(requests).length) ||
      (isObject(limits) && Object.keys(limits).length)
    )
      any = true;
    for (const r of ['cpu', 'memory']) {
      const l = isObject(limits) ? limits[r] : undefined;
      const q = isObject(requests) ? requests[r] : undefined;
      if (l === undefined || parseQuantity(l) !== parseQuantity(q ?? l)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export class KubeApi {
  private serviceIp = 10;
  /** Random names (generateName, token volumes) from a seeded source: runs are reproducible. */
  constructor(
    readonly store: Store,
    readonly registry: Registry,
    readonly clock: Clock,
    readonly random: () => number,
  ) {}

  now(): string {
    return rfc3339(this.clock.now);
  }

  // ----- reads ----------------------------------------------------------------------------------------------

  get(t: ResourceType, namespace: string, name: string): JsonObject {
    const o = this.store.get(typeKey(t), t.namespaced ? namespace : '', name);
    if (!o) throw notFound(t, name);
    return this.present(t, o);
  }

  /** The stored object (a copy), or undefined. */
  find(t: ResourceType, namespace: string, name: string): JsonObject | undefined {
    const o = this.store.get(typeKey(t), t.namespaced ? namespace : '', name);
    return o ? clone(o) : undefined;
  }

  /** Objects as stored, not copied: read-only views for loops that only look (the garbage collector). */
  scan(t: ResourceType, namespace = ''): readonly JsonObject[] {
    return this.store.list(typeKey(t), t.namespaced ? namespace : '');
  }

  /** Objects as stored (copies), for controllers. */
  all(t: ResourceType, namespace = ''): JsonObject[] {
    return this.store.list(typeKey(t), t.namespaced ? namespace : '').map((o) => clone(o));
  }

  /** A stored object as the API returns it (custom resources carry the request's version). */
  present(t: ResourceType, o: JsonObject): JsonObject {
    const out = clone(o);
    out['apiVersion'] = groupVersion(t);
    out['kind'] = t.kind;
    return out;
  }

  selectors(
    t: ResourceType,
    opts: ListOptions,
  ): { labels: Requirement[]; fields: FieldRequirement[]; extra: string[] } {
    const labels = opts.labelSelector ? parseLabelSelector(opts.labelSelector) : [];
    const fields = opts.fieldSelector ? parseFieldSelector(opts.fieldSelector) : [];
    const extra = t.crd
      ? objs(t.crd.version['selectableFields']).map((f) => String(f['jsonPath'] ?? '').replace(/^\./, ''))
      : [];
    checkFieldSelector(t.kind, fields, extra);
    return { labels, fields, extra };
  }

  matcher(t: ResourceType, opts: ListOptions): (o: JsonObject) => boolean {
    const { labels, fields, extra } = this.selectors(t, opts);
    return (o) => {
      const l = at(o, 'metadata.labels');
      const lab: Record<string, string> = {};
      if (isObject(l)) for (const [k, v] of Object.entries(l)) lab[k] = String(v);
      return matchesLabels(labels, lab) && matchesFields(t.kind, fields, o, extra);
    };
  }

  list(t: ResourceType, namespace: string, opts: ListOptions = {}): ListResult {
    const match = this.matcher(t, opts);
    let items = this.store.list(typeKey(t), t.namespaced ? namespace : '').filter(match);
    let rv = String(this.store.currentRv());
    let start = '';
    if (opts.continue) {
      let token: { rv?: number; start?: string };
      try {
        token = JSON.parse(Buffer.from(opts.continue, 'base64').toString('utf8')) as {
          rv?: number;
          start?: string;
        };
      } catch {
        throw badRequest('continue key is not valid: illegal base64 data at input byte 0');
      }
      if (typeof token.rv !== 'number' || token.rv < this.store.oldestRv()) {
        throw expired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      rv = String(token.rv);
      start = token.start ?? '';
      items = items.filter((o) => `${namespaceOf(o)}/${nameOf(o)}` > start);
    }
    const result: ListResult = { items: [], resourceVersion: rv };
    if (opts.limit && opts.limit > 0 && items.length > opts.limit) {
      const page = items.slice(0, opts.limit);
      const last = page[page.length - 1] as JsonObject;
      result.continue = Buffer.from(
        JSON.stringify({ rv: Number(rv), start: `${namespaceOf(last)}/${nameOf(last)}` }),
      ).toString('base64');
      result.remainingItemCount = items.length - page.length;
      items = page;
    }
    result.items = items.map((o) => this.present(t, o));
    return result;
  }

  // ----- create ---------------------------------------------------------------------------------------------

  private namespaceCheck(t: ResourceType, namespace: string, name: string): void {
    if (!t.namespaced) return;
    const ns = this.store.get('/namespaces', '', namespace);
    if (!ns) throw notFound(this.registry.builtin('', 'namespaces'), namespace);
    if (at(ns, 'metadata.deletionTimestamp')) {
      throw forbidden(
        t,
        name,
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  private checkKind(t: ResourceType, body: JsonObject): void {
    const apiVersion = body['apiVersion'];
    const kind = body['kind'];
    if (apiVersion !== undefined && apiVersion !== groupVersion(t)) {
      throw badRequest(
        `the API version in the data (${String(apiVersion)}) does not match the expected API version (${groupVersion(t)})`,
      );
    }
    if (kind !== undefined && kind !== t.kind) {
      throw badRequest(`the kind in the data (${String(kind)}) does not match the expected kind (${t.kind})`);
    }
  }

  create(t: ResourceType, namespace: string, body: Json, w: WriteOptions): JsonObject {
    if (!isObject(body)) throw badRequest('the body of the request was not an object');
    const o = clone(body);
    this.checkKind(t, o);
    const m = meta(o);
    if (t.namespaced) {
      if (m['namespace'] !== undefined && m['namespace'] !== '' && m['namespace'] !== namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      m['namespace'] = namespace;
    } else {
      delete m['namespace'];
    }
    if ((typeof m['name'] !== 'string' || m['name'] === '') && typeof m['generateName'] === 'string') {
      for (let i = 0; i < 8; i++) {
        const candidate = `${m['generateName']}${randomSuffix(this.random)}`;
        if (!this.store.get(typeKey(t), t.namespaced ? namespace : '', candidate)) {
          m['name'] = candidate;
          break;
        }
      }
    }
    const name = str(m['name']) ?? '';
    if (name) this.namespaceCheck(t, namespace, name);
    if (name && this.store.get(typeKey(t), t.namespaced ? namespace : '', name)) throw alreadyExists(t, name);
    return this.commitCreate(t, o, w, 'update');
  }

  /** Create of a prepared object; `managed` says whether managedFields are already computed (apply). */
  private commitCreate(
    t: ResourceType,
    o: JsonObject,
    w: WriteOptions,
    managed: 'update' | 'applied',
  ): JsonObject {
    const m = meta(o);
    for (const k of ['resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink'])
      delete m[k];
    m['uid'] = randomUUID();
    m['creationTimestamp'] = this.now();
    if (t.tracksGeneration) m['generation'] = 1;
    else delete m['generation'];
    if (managed === 'update') delete m['managedFields'];
    if (t.crd) {
      if (t.subresources.includes('status')) delete o['status'];
    } else if (t.subresources.includes('status')) {
      o['status'] = {};
    }
    this.admitCreate(t, o);
    return this.commit(
      t,
      undefined,
      o,
      w,
      managed === 'update' ? { kind: 'update', scope: 'main' } : { kind: 'applied' },
    );
  }

  /** What admission plugins and create strategies add (pod service account, cluster IPs, job selectors, …). */
  private admitCreate(t: ResourceType, o: JsonObject): void {
    const spec = isObject(o['spec']) ? o['spec'] : undefined;
    const m = meta(o);
    switch (t.kind) {
      case 'Namespace':
        ensureObj(m, 'labels')['kubernetes.io/metadata.name'] = nameOf(o);
        o['status'] = { phase: 'Active' };
        break;
      case 'Pod': {
        if (!spec) break;
        admitPod(spec, this.random);
        o['status'] = { phase: 'Pending', qosClass: qosClass(spec) };
        break;
      }
      case 'Service': {
        if (!spec) break;
        if (spec['type'] !== 'ExternalName') {
          if (spec['clusterIP'] === undefined || spec['clusterIP'] === '') {
            this.serviceIp += 1;
            spec['clusterIP'] = `10.96.${Math.floor(this.serviceIp / 250)}.${(this.serviceIp % 250) + 1}`;
          }
          spec['clusterIPs'] = [spec['clusterIP'] as Json];
          spec['ipFamilies'] ??= ['IPv4'];
          spec['ipFamilyPolicy'] ??= 'SingleStack';
          if (spec['type'] === 'NodePort' || spec['type'] === 'LoadBalancer') {
            let port = 30000 + (this.serviceIp % 2000);
            for (const p of objs(spec['ports'])) if (p['nodePort'] === undefined) p['nodePort'] = port++;
          }
        }
        o['status'] = { loadBalancer: {} };
        break;
      }
      case 'Job': {
        if (!spec || spec['manualSelector'] === true) break;
        const uid = uidOf(o);
        const labels = {
          'batch.kubernetes.io/controller-uid': uid,
          'batch.kubernetes.io/job-name': nameOf(o),
          'controller-uid': uid,
          'job-name': nameOf(o),
        };
        spec['selector'] = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
        const template = ensureObj(spec, 'template');
        const tm = ensureObj(template, 'metadata');
        Object.assign(ensureObj(tm, 'labels'), labels);
        // A Job without labels gets its template's (SetDefaults_Job).
        if (!isObject(m['labels']) || Object.keys(m['labels']).length === 0)
          m['labels'] = clone(tm['labels'] as JsonObject);
        break;
      }
      case 'CustomResourceDefinition': {
        const storage = objs(at(o, 'spec.versions')).find((v) => v['storage'] === true);
        o['status'] = {
          conditions: [],
          acceptedNames: { plural: '', kind: '' },
          storedVersions: storage ? [String(storage['name'])] : [],
        };
        break;
      }
    }
  }

  // ----- the write path -------------------------------------------------------------------------------------

  /**
   * Finishes a write: system fields, defaults, validation, generation, managedFields, no-op detection,
   * finalization, dry run, storage.
   */
  private commit(
    t: ResourceType,
    old: JsonObject | undefined,
    neu: JsonObject,
    w: WriteOptions & { subresource?: string },
    managed:
      { kind: 'update'; scope: 'main' | 'status' | 'all'; baseline?: JsonObject } | { kind: 'applied' },
  ): JsonObject {
    neu['apiVersion'] = groupVersion(t);
    neu['kind'] = t.kind;
    const m = meta(neu);
    if (old) {
      const om = old['metadata'] as JsonObject;
      for (const k of [
        'uid',
        'creationTimestamp',
        'name',
        'namespace',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
      ]) {
        if (om[k] === undefined) delete m[k];
        else m[k] = om[k] as Json;
      }
      if (t.tracksGeneration) m['generation'] = om['generation'] ?? 1;
      else delete m['generation'];
      m['resourceVersion'] = om['resourceVersion'] ?? '';
      if (t.kind === 'Service') keepAllocated(neu, old);
      if (t.kind === 'Namespace' && w.subresource !== 'finalize') {
        ensureObj(neu, 'spec')['finalizers'] = at(old, 'spec.finalizers') ?? ['kubernetes'];
      }
    }
    if (t.kind === 'Secret') foldStringData(neu);
    const warnings = w.warnings ?? [];
    if (t.crd) {
      const schema = at(t.crd.version, 'schema.openAPIV3Schema');
      if (isObject(schema)) {
        const issues = checkCustomResource(neu, schema);
        if (issues.unknown.length) {
          const mode = w.fieldValidation ?? 'Warn';
          if (mode === 'Strict') {
            const list = issues.unknown.map((u) => `unknown field "${u}"`).join(', ');
            throw badRequest(
              `${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: strict decoding error: ${list}`,
            );
          }
          if (mode === 'Warn') for (const u of issues.unknown) warnings.push(`unknown field "${u}"`);
        }
        if (issues.errors.length) throw invalid({ group: t.group, kind: t.kind }, nameOf(neu), issues.errors);
      }
    } else {
      // Built-in objects decode into Go structs: a value of the wrong type is refused, an unknown field never stored.
      const decoded = decodeIssues(t.kind, neu, true);
      const typeError = decoded.types[0];
      if (typeError)
        throw badRequest(
          `${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: ${unmarshalError(typeError)}`,
        );
      const unknown = decoded.unknown.map(dottedPath);
      if (unknown.length) {
        const mode = w.fieldValidation ?? 'Warn';
        if (mode === 'Strict') {
          const list = unknown.map((u) => `unknown field "${u}"`).join(', ');
          throw badRequest(
            `${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: strict decoding error: ${list}`,
          );
        }
        if (mode === 'Warn') for (const u of unknown) warnings.push(`unknown field "${u}"`);
      }
      applyDefaults(t.kind, neu);
    }
    const errors: FieldError[] = [
      ...validateMetadata(t.kind, neu, t.namespaced),
      ...validateObject(t.kind, neu, old),
    ];
    if (errors.length) throw invalid(t, nameOf(neu) || str(m['generateName']) || '', errors);

    if (old && t.tracksGeneration && specChanged(t, old, neu)) {
      m['generation'] = (typeof m['generation'] === 'number' ? m['generation'] : 1) + 1;
    }
    if (managed.kind === 'update') {
      recordUpdate(
        old,
        neu,
        {
          manager: w.manager,
          apiVersion: groupVersion(t),
          time: this.now(),
          ...(w.subresource ? { subresource: w.subresource } : {}),
          ctx: schemaContext(t),
          scope: managed.scope,
        },
        managed.baseline ?? old,
      );
    }
    if (old && deepEqual(volatileStripped(old), volatileStripped(neu))) return this.present(t, old);
    const key = typeKey(t);
    if (
      old &&
      at(neu, 'metadata.deletionTimestamp') !== undefined &&
      arrLen(at(neu, 'metadata.finalizers')) === 0 &&
      (t.kind !== 'Pod' || at(neu, 'metadata.deletionGracePeriodSeconds') === 0) &&
      (t.kind !== 'Namespace' || arrLen(at(neu, 'spec.finalizers')) === 0)
    ) {
      // The last finalizer is gone: the object goes (a terminating pod goes when the kubelet says so).
      if (w.dryRun) return this.present(t, neu);
      const gone = this.store.remove(key, namespaceOf(neu), nameOf(neu));
      return this.present(t, gone ?? neu);
    }
    if (w.dryRun) {
      if (!old) delete m['resourceVersion'];
      return this.present(t, neu);
    }
    return this.present(t, this.store.put(key, neu));
  }

  // ----- update (PUT) ---------------------------------------------------------------------------------------

  update(
    t: ResourceType,
    namespace: string,
    name: string,
    body: Json,
    w: WriteOptions & { subresource?: string },
  ): JsonObject {
    if (!isObject(body)) throw badRequest('the body of the request was not an object');
    const live = this.store.get(typeKey(t), t.namespaced ? namespace : '', name);
    if (!live) throw notFound(t, name);
    const bodyName = at(body, 'metadata.name');
    if (w.subresource !== 'scale') this.checkKind(t, body);
    if (bodyName !== undefined && bodyName !== name) {
      throw badRequest(
        `the name of the object (${String(bodyName)}) does not match the name on the URL (${name})`,
      );
    }
    const rv = at(body, 'metadata.resourceVersion');
    if (typeof rv === 'string' && rv !== '' && rv !== at(live, 'metadata.resourceVersion'))
      throw conflict(t, name, MODIFIED);
    const neu = this.scoped(t, live, clone(body), w.subresource);
    return this.commit(t, live, neu, w, {
      kind: 'update',
      scope: w.subresource === 'status' ? 'status' : 'main',
      ...(w.subresource === undefined ? { baseline: managedBaseline(live, body) } : {}),
    });
  }

  /** The object a write to `subresource` produces from the live object and the request's object. */
  private scoped(
    t: ResourceType,
    live: JsonObject,
    incoming: JsonObject,
    subresource: string | undefined,
  ): JsonObject {
    if (subresource === 'status') {
      const neu = clone(live);
      if (incoming['status'] === undefined) delete neu['status'];
      else neu['status'] = incoming['status'];
      return neu;
    }
    if (subresource === 'scale') {
      const replicas = at(incoming, 'spec.replicas');
      if (typeof replicas !== 'number' || replicas < 0) {
        throw invalid({ group: 'autoscaling', kind: 'Scale' }, nameOf(live), [
          {
            type: 'FieldValueInvalid',
            field: 'spec.replicas',
            message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`,
          },
        ]);
      }
      const neu = clone(live);
      ensureObj(neu, 'spec')['replicas'] = replicas;
      return neu;
    }
    if (subresource === 'finalize') {
      const neu = clone(live);
      ensureObj(neu, 'spec')['finalizers'] = at(incoming, 'spec.finalizers') ?? [];
      return neu;
    }
    if (t.subresources.includes('status')) {
      if (live['status'] === undefined) delete incoming['status'];
      else incoming['status'] = clone(live['status'] as Json);
    }
    return incoming;
  }

  /** The Scale object of a workload (autoscaling/v1). */
  scaleOf(t: ResourceType, o: JsonObject): JsonObject {
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: nameOf(o),
        ...(t.namespaced ? { namespace: namespaceOf(o) } : {}),
        uid: uidOf(o),
        resourceVersion: String(at(o, 'metadata.resourceVersion') ?? ''),
        creationTimestamp: at(o, 'metadata.creationTimestamp') ?? null,
      },
      spec: { replicas: (at(o, 'spec.replicas') as number | undefined) ?? 0 },
      status: {
        replicas: (at(o, 'status.replicas') as number | undefined) ?? 0,
        selector: formatSelector(at(o, 'spec.selector')).replace('<none>', ''),
      },
    };
  }

  // ----- patch ----------------------------------------------------------------------------------------------

  patch(
    t: ResourceType,
    namespace: string,
    name: string,
    contentType: string,
    raw: string,
    w: WriteOptions & { subresource?: string },
  ): JsonObject {
    const type = contentType.split(';')[0]?.trim() ?? '';
    const allowed = patchTypes(t);
    if (!allowed.includes(type)) throw unsupportedMediaType(type, allowed);
    if (type === PATCH_TYPES.apply) return this.apply(t, namespace, name, raw, w);
    let parsed: Json;
    try {
      parsed = JSON.parse(raw) as Json;
    } catch (e) {
      throw badRequest(`error decoding patch: ${e instanceof Error ? e.message : String(e)}`);
    }
    const live = this.store.get(typeKey(t), t.namespaced ? namespace : '', name);
    if (!live) throw notFound(t, name);
    const base = w.subresource === 'scale' ? this.scaleOf(t, live) : this.present(t, live);
    let patched: JsonObject;
    if (type === PATCH_TYPES.json) patched = jsonPatch(base, parsed);
    else if (!isObject(parsed)) throw badRequest('the patch is not a JSON object');
    else if (type === PATCH_TYPES.merge) patched = mergePatch(base, parsed) as JsonObject;
    else
      patched = strategicMergePatch(
        base,
        parsed,
        w.subresource === 'scale' ? BUILTIN_CONTEXT : schemaContext(t),
      );
    const rv = at(patched, 'metadata.resourceVersion');
    if (typeof rv === 'string' && rv !== '' && rv !== at(live, 'metadata.resourceVersion'))
      throw conflict(t, name, MODIFIED);
    if (at(patched, 'metadata.name') !== name && w.subresource !== 'scale') {
      throw badRequest(
        `the name of the object (${String(at(patched, 'metadata.name'))}) does not match the name on the URL (${name})`,
      );
    }
    const neu = this.scoped(t, live, patched, w.subresource);
    return this.commit(t, live, neu, w, {
      kind: 'update',
      scope: w.subresource === 'status' ? 'status' : 'main',
      ...(w.subresource === undefined ? { baseline: managedBaseline(live, patched) } : {}),
    });
  }

  /** Server-side apply (PATCH application/apply-patch+yaml). Creates the object when it does not exist. */
  private apply(
    t: ResourceType,
    namespace: string,
    name: string,
    raw: string,
    w: WriteOptions & { subresource?: string },
  ): JsonObject {
    if (!w.manager || w.manager === '')
      throw badRequest(
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
    let applied: Json;
    try {
      applied = parseYaml(raw) as Json;
    } catch (e) {
      throw badRequest(`error decoding YAML: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!isObject(applied)) throw badRequest('apply patch is not an object');
    if (!applied['apiVersion'] || !applied['kind']) {
      throw badRequest('invalid object type: /, Kind=');
    }
    this.checkKind(t, applied);
    const appliedName = at(applied, 'metadata.name');
    if (appliedName !== name) {
      throw badRequest(
        `the name of the object (${String(appliedName)}) does not match the name on the URL (${name})`,
      );
    }
    const appliedNs = at(applied, 'metadata.namespace');
    if (t.namespaced && appliedNs !== undefined && appliedNs !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    this.checkTypedPatch(t, t.namespaced ? namespace : '', name, applied);
    const live = this.store.get(typeKey(t), t.namespaced ? namespace : '', name);
    const describe = { kind: t.kind, group: t.group, plural: t.plural, name };
    const scope = w.subresource === 'status' ? 'status' : t.subresources.includes('status') ? 'main' : 'all';
    const wc = {
      manager: w.manager,
      apiVersion: groupVersion(t),
      time: this.now(),
      ...(w.subresource ? { subresource: w.subresource } : {}),
      ctx: schemaContext(t),
      scope: scope as 'main' | 'status' | 'all',
      force: w.force === true,
    };
    if (!live) {
      if (w.subresource) throw notFound(t, name);
      this.namespaceCheck(t, namespace, name);
      const { object } = serverSideApply(undefined, clone(applied), wc, describe);
      const m = meta(object);
      m['name'] = name;
      if (t.namespaced) m['namespace'] = namespace;
      return this.commitCreate(t, object, w, 'applied');
    }
    const rv = at(applied, 'metadata.resourceVersion');
    if (typeof rv === 'string' && rv !== '' && rv !== at(live, 'metadata.resourceVersion'))
      throw conflict(t, name, MODIFIED);
    const { object } = serverSideApply(this.present(t, live), clone(applied), wc, describe);
    const neu = this.scoped(t, live, object, w.subresource);
    if (w.subresource === 'status') neu['metadata'] = object['metadata'] as Json;
    return this.commit(t, live, neu, w, { kind: 'applied' });
  }

  /**
   * What structured-merge-diff refuses when it types an apply patch (whatever fieldValidation says): fields the
   * schema does not declare, and duplicate keys in keyed lists. The API server answers these with a 500.
   */
  private checkTypedPatch(t: ResourceType, namespace: string, name: string, applied: JsonObject): void {
    const ctx = schemaContext(t);
    const fail = (detail: string): ApiError =>
      new ApiError(
        500,
        'InternalError',
        `failed to create typed patch object (${namespace}/${name}; ${groupVersion(t)}, Kind=${t.kind}): ${detail}`,
      );
    const render = (path: PathSegment[]): string => {
      let out = '';
      const fields: string[] = [];
      for (const seg of path) {
        if (typeof seg === 'string') {
          out += `.${seg}`;
          fields.push(seg);
          continue;
        }
        const rule = listRule(ctx, fields);
        const key = itemKey(rule, seg.item);
        out += key
          ? `[${Object.entries(key)
              .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
              .join(',')}]`
          : `[${seg.index}]`;
      }
      return out;
    };
    if (t.crd) {
      const schema = at(t.crd.version, 'schema.openAPIV3Schema');
      if (isObject(schema)) {
        const unknown = checkCustomResource(clone(applied), schema).unknown;
        if (unknown[0] !== undefined) throw fail(`.${unknown[0]}: field not declared in schema`);
      }
    } else {
      const decoded = decodeIssues(t.kind, applied, false);
      if (decoded.unknown[0] !== undefined)
        throw fail(`${render(decoded.unknown[0])}: field not declared in schema`);
      const typeError = decoded.types[0];
      if (typeError) throw fail(`${render(typeError.path)}: ${typedValueError(typeError)}`);
    }
    const duplicate = duplicateKey(applied, ctx, []);
    if (duplicate) throw fail(`${render(duplicate.path)}: duplicate entries for key [${duplicate.key}]`);
  }

  // ----- delete ---------------------------------------------------------------------------------------------

  delete(
    t: ResourceType,
    namespace: string,
    name: string,
    options: DeleteOptions,
    w: WriteOptions,
  ): JsonObject {
    const live = this.store.get(typeKey(t), t.namespaced ? namespace : '', name);
    if (!live) throw notFound(t, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== uidOf(live)) {
      throw conflict(
        t,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${uidOf(live)}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== at(live, 'metadata.resourceVersion')) {
      throw conflict(
        t,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${String(at(live, 'metadata.resourceVersion'))}`,
      );
    }
    if (t.kind === 'Namespace' && IMMORTAL_NAMESPACES.has(name)) {
      throw forbidden(t, name, 'this namespace may not be deleted');
    }
    const key = typeKey(t);
    const o = clone(live);
    const m = meta(o);
    const finalizers = Array.isArray(m['finalizers']) ? m['finalizers'].map(String) : [];
    const policy =
      options.propagationPolicy ??
      (options.orphanDependents === true
        ? 'Orphan'
        : options.orphanDependents === false
          ? 'Background'
          : defaultPolicy(t));
    if (!['Orphan', 'Background', 'Foreground'].includes(policy)) {
      throw invalid({ group: 'meta.k8s.io', kind: 'DeleteOptions' }, '', [
        {
          type: 'FieldValueNotSupported',
          field: 'propagationPolicy',
          message: `Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan", "nil"`,
        },
      ]);
    }
    const already = m['deletionTimestamp'] !== undefined;
    if (t.kind === 'Pod') return this.deletePod(t, o, options, w, already);
    if (t.kind === 'Namespace') {
      if (already) return this.present(t, live);
      m['deletionTimestamp'] = this.now();
      m['deletionGracePeriodSeconds'] = 0;
      o['status'] = { ...(isObject(o['status']) ? o['status'] : {}), phase: 'Terminating' };
      if (w.dryRun) return this.present(t, o);
      return this.present(t, this.store.put(key, o));
    }
    if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion'))
      finalizers.push('foregroundDeletion');
    if (policy === 'Orphan' && !finalizers.includes('orphan')) finalizers.push('orphan');
    if (finalizers.length > 0) {
      if (already && deepEqual(finalizers, m['finalizers'] ?? [])) return this.present(t, live);
      m['finalizers'] = finalizers;
      if (!already) {
        m['deletionTimestamp'] = this.now();
        m['deletionGracePeriodSeconds'] = 0;
      }
      if (w.dryRun) return this.present(t, o);
      return this.present(t, this.store.put(key, o));
    }
    // Kinds whose storage sets ReturnDeletedObject answer with the object, the others with a Status.
    const returnObject = t.crd !== undefined || t.kind === 'Service' || t.kind === 'CustomResourceDefinition';
    if (w.dryRun) return returnObject ? this.present(t, live) : successStatus(t, live);
    const gone = this.store.remove(key, namespaceOf(live), name);
    return returnObject ? this.present(t, gone ?? live) : successStatus(t, live);
  }

  /** Pods terminate gracefully: deletionTimestamp now + grace; the kubelet removes them (grace 0 = at once). */
  private deletePod(
    t: ResourceType,
    o: JsonObject,
    options: DeleteOptions,
    w: WriteOptions,
    already: boolean,
  ): JsonObject {
    const m = meta(o);
    const phase = at(o, 'status.phase');
    const scheduled = typeof at(o, 'spec.nodeName') === 'string';
    let grace =
      options.gracePeriodSeconds ?? (at(o, 'spec.terminationGracePeriodSeconds') as number | undefined) ?? 30;
    if (!scheduled || phase === 'Succeeded' || phase === 'Failed') grace = 0;
    const finalizers = Array.isArray(m['finalizers']) ? m['finalizers'] : [];
    if (already) {
      const current = (m['deletionGracePeriodSeconds'] as number | undefined) ?? 0;
      if (grace >= current) return this.present(t, o);
    }
    if (grace === 0 && finalizers.length === 0) {
      if (w.dryRun) return this.present(t, o);
      const gone = this.store.remove(typeKey(t), namespaceOf(o), nameOf(o));
      return this.present(t, gone ?? o);
    }
    m['deletionTimestamp'] = rfc3339(this.clock.now + grace * 1000);
    m['deletionGracePeriodSeconds'] = grace;
    if (w.dryRun) return this.present(t, o);
    return this.present(t, this.store.put(typeKey(t), o));
  }

  /** The kubelet's final delete of a terminated pod (grace 0), honouring finalizers. */
  finalizePod(t: ResourceType, namespace: string, name: string): void {
    const live = this.store.get(typeKey(t), namespace, name);
    if (!live) return;
    const finalizers = at(live, 'metadata.finalizers');
    if (Array.isArray(finalizers) && finalizers.length > 0) {
      const o = clone(live);
      meta(o)['deletionGracePeriodSeconds'] = 0;
      this.store.put(typeKey(t), o);
      return;
    }
    this.store.remove(typeKey(t), namespace, name);
  }

  deleteCollection(
    t: ResourceType,
    namespace: string,
    opts: ListOptions,
    options: DeleteOptions,
    w: WriteOptions,
  ): JsonObject {
    const listed = this.list(t, namespace, opts);
    const items: JsonObject[] = [];
    for (const o of listed.items) {
      try {
        const r = this.delete(t, namespaceOf(o), nameOf(o), options, w);
        items.push(r['kind'] === 'Status' ? o : r);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    return {
      kind: `${t.kind}List`,
      apiVersion: groupVersion(t),
      metadata: { resourceVersion: String(this.store.currentRv()) },
      items,
    };
  }

  // ----- for controllers ------------------------------------------------------------------------------------

  /**
   * A controller's read-modify-write: `fn` changes a copy of the live object; the write is an Update by `manager`
   * (to the status subresource with `subresource: 'status'`). Returns the stored object, or undefined when gone.
   */
  mutate(
    t: ResourceType,
    namespace: string,
    name: string,
    manager: string,
    fn: (o: JsonObject) => void,
    subresource?: 'status',
  ): JsonObject | undefined {
    const live = this.store.get(typeKey(t), t.namespaced ? namespace : '', name);
    if (!live) return undefined;
    const copy = clone(live);
    fn(copy);
    // Through the main resource a controller changes metadata and spec; status goes through the status subresource.
    const neu = this.scoped(t, live, copy, subresource);
    const w = { manager, ...(subresource ? { subresource } : {}) };
    return this.commit(t, live, neu, w, {
      kind: 'update',
      scope: subresource === 'status' ? 'status' : 'main',
    });
  }

  /** A controller's create (no dry run, no apply). */
  createInternal(t: ResourceType, namespace: string, o: JsonObject, manager: string): JsonObject {
    return this.create(t, namespace, o, { manager });
  }

  /** Removes an object outright (garbage collection of a dependent with no finalizers left, namespace cleanup). */
  deleteInternal(t: ResourceType, namespace: string, name: string, policy = 'Background'): void {
    try {
      this.delete(t, namespace, name, { propagationPolicy: policy }, { manager: 'kube-controller-manager' });
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e;
    }
  }

  /** The field set of an object (exposed for tests of managedFields). */
  fieldSet(t: ResourceType, o: JsonObject): string[] {
    return [...fieldSetOf(o, schemaContext(t), 'all')];
  }

  managers(o: JsonObject): string[] {
    return readManaged(o).map(
      (e) => `${e.manager}/${e.operation}${e.subresource ? `/${e.subresource}` : ''}`,
    );
  }
}

/** The first keyed list with two items of the same key: its path and the key (`name="A"`). */
function duplicateKey(
  v: Json | undefined,
  ctx: SchemaContext,
  path: PathSegment[],
): { path: PathSegment[]; key: string } | undefined {
  if (Array.isArray(v)) return undefined;
  if (!isObject(v)) return undefined;
  for (const [k, child] of Object.entries(v)) {
    const here = [...path, k];
    if (Array.isArray(child)) {
      const rule = listRule(
        ctx,
        here.filter((x): x is string => typeof x === 'string'),
      );
      const seen = new Set<string>();
      for (const [i, item] of child.entries()) {
        const key = itemKey(rule, item);
        if (key) {
          const text = Object.entries(key)
            .map(([kk, vv]) => `${kk}=${JSON.stringify(vv)}`)
            .join(',');
          if (seen.has(text)) return { path: here, key: text };
          seen.add(text);
        }
        const inner = duplicateKey(item, ctx, [...here, { index: i, item }]);
        if (inner) return inner;
      }
    } else {
      const inner = duplicateKey(child, ctx, here);
      if (inner) return inner;
    }
  }
  return undefined;
}

function arrLen(v: Json | undefined): number {
  return Array.isArray(v) ? v.length : 0;
}

/** If the request carried managedFields different from the live ones, they replace them (kubectl's CSA→SSA upgrade). */
function managedBaseline(live: JsonObject, incoming: JsonObject): JsonObject {
  const sent = at(incoming, 'metadata.managedFields');
  if (sent === undefined || deepEqual(sent, at(live, 'metadata.managedFields'))) return live;
  const copy = clone(live);
  if (Array.isArray(sent) && sent.length === 0) delete meta(copy)['managedFields'];
  else meta(copy)['managedFields'] = sent;
  return copy;
}

function defaultPolicy(t: ResourceType): string {
  // The API server's default for most kinds; controllers' kinds used to orphan via the v1 API's defaults.
  return t.kind === 'Job' || t.kind === 'CronJob' ? 'Orphan' : 'Background';
}

function successStatus(t: ResourceType, o: JsonObject): JsonObject {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name: nameOf(o), group: t.group, kind: t.plural, uid: uidOf(o) },
  };
}

/** Whether a write changes more than metadata and status (generation bump). */
function specChanged(t: ResourceType, old: JsonObject, neu: JsonObject): boolean {
  const strip = (o: JsonObject): JsonObject => {
    const c: JsonObject = {};
    for (const [k, v] of Object.entries(o)) {
      if (k === 'metadata' || k === 'apiVersion' || k === 'kind') continue;
      if (k === 'status' && (t.subresources.includes('status') || !t.crd)) continue;
      c[k] = v;
    }
    return c;
  };
  return !deepEqual(strip(old), strip(neu));
}

function volatileStripped(o: JsonObject): JsonObject {
  const c = clone(o);
  const m = c['metadata'];
  if (isObject(m)) {
    delete m['resourceVersion'];
    for (const e of objs(m['managedFields'])) delete e['time'];
  }
  return c;
}

function keepAllocated(neu: JsonObject, old: JsonObject): void {
  const spec = isObject(neu['spec']) ? neu['spec'] : undefined;
  const oldSpec = isObject(old['spec']) ? old['spec'] : undefined;
  if (!spec || !oldSpec) return;
  for (const k of ['clusterIP', 'clusterIPs', 'ipFamilies', 'ipFamilyPolicy']) {
    if ((spec[k] === undefined || spec[k] === '') && oldSpec[k] !== undefined)
      spec[k] = clone(oldSpec[k] as Json);
  }
  const oldPorts = objs(oldSpec['ports']);
  for (const p of objs(spec['ports'])) {
    if (p['nodePort'] !== undefined) continue;
    const same = oldPorts.find(
      (q) => q['port'] === p['port'] && (q['protocol'] ?? 'TCP') === (p['protocol'] ?? 'TCP'),
    );
    if (same?.['nodePort'] !== undefined) p['nodePort'] = same['nodePort'];
  }
}

function foldStringData(o: JsonObject): void {
  const sd = o['stringData'];
  if (!isObject(sd)) return;
  const data = ensureObj(o, 'data');
  for (const [k, v] of Object.entries(sd)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  delete o['stringData'];
}

/** ServiceAccount and DefaultTolerationSeconds admission for a new pod's spec. */
export function admitPod(spec: JsonObject, random: () => number): void {
  if (!spec['serviceAccountName']) spec['serviceAccountName'] = 'default';
  spec['serviceAccount'] = spec['serviceAccountName'] as Json;
  if (spec['automountServiceAccountToken'] !== false) {
    const volumes = Array.isArray(spec['volumes']) ? spec['volumes'] : (spec['volumes'] = []);
    const name = `kube-api-access-${randomSuffix(random)}`;
    volumes.push({
      name,
      projected: {
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          {
            downwardAPI: {
              items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
            },
          },
        ],
        defaultMode: 420,
      },
    });
    for (const c of objs(spec['containers'])) {
      const mounts = Array.isArray(c['volumeMounts']) ? c['volumeMounts'] : (c['volumeMounts'] = []);
      mounts.push({ name, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' });
    }
  }
  const tolerations = Array.isArray(spec['tolerations']) ? spec['tolerations'] : (spec['tolerations'] = []);
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!objs(tolerations).some((x) => x['key'] === key)) {
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
  }
}
