/**
 * The Deployment controller (pkg/controller/deployment: sync.go, rolling.go, recreate.go, progress.go,
 * util/deployment_util.go) and the ReplicaSet controller, as their logic goes:
 *
 * - one ReplicaSet per pod template, named `<deployment>-<pod-template-hash>`, with the hash label on its selector
 *   and template, a controller ownerReference, and the `deployment.kubernetes.io/revision`, `desired-replicas`,
 *   `max-replicas` annotations; the new ReplicaSet is the oldest one whose template equals the Deployment's
 *   (ignoring the hash label), so `rollout undo` reuses the old ReplicaSet, which gets the next revision and a
 *   `revision-history` annotation;
 * - RollingUpdate: scale the new ReplicaSet up within `replicas + maxSurge`, scale old ones down keeping
 *   `replicas - maxUnavailable` available (unhealthy old replicas first); Recreate: old ones to 0, wait for their
 *   pods to go, then the new one;
 * - proportional scaling when `spec.replicas` changes mid-rollout, `paused`, `revisionHistoryLimit` clean-up;
 * - status: observedGeneration, replicas, updatedReplicas, readyReplicas, availableReplicas, unavailableReplicas,
 *   conditions Available (MinimumReplicasAvailable / MinimumReplicasUnavailable) and Progressing
 *   (NewReplicaSetCreated, FoundNewReplicaSet, ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded,
 *   DeploymentPaused, DeploymentResumed), with the controller's lastUpdateTime / lastTransitionTime rules and a
 *   requeue at the progress deadline;
 * - events ScalingReplicaSet ("Scaled up replica set web-7c9f5d8b6 from 0 to 1"), SuccessfulCreate/SuccessfulDelete.
 */
import type { SimContext } from './context.js';
import {
  availableAt,
  isPodActive,
  isPodAvailable,
  isPodReady,
  isTerminating,
  ownedBy,
  podPhase,
  spec,
} from './context.js';
import type { Json, JsonObject } from './meta.js';
import {
  alreadyExists,
  annotationsOf,
  ApiError,
  at,
  clone,
  computeHash,
  deepEqual,
  ensureObj,
  isObject,
  labelsOf,
  nameOf,
  namespaceOf,
  objs,
  ownerRef,
  parseTime,
  rfc3339,
  scaledValue,
  uidOf,
} from './meta.js';
import { matchesLabels, selectorRequirements } from './selectors.js';

const MANAGER = 'kube-controller-manager';
const HASH_LABEL = 'pod-template-hash';
const REVISION = 'deployment.kubernetes.io/revision';
const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
const DESIRED = 'deployment.kubernetes.io/desired-replicas';
const MAX = 'deployment.kubernetes.io/max-replicas';
const ROLLBACK_TO = 'deprecated.deployment.rollback.to';
const SKIP_COPY = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  DESIRED,
  MAX,
  ROLLBACK_TO,
]);
const MAX_INT32 = 2147483647;

function replicasOf(o: JsonObject): number {
  const r = at(o, 'spec.replicas');
  return typeof r === 'number' ? r : 1;
}

function statusNum(o: JsonObject, key: string): number {
  const v = at(o, `status.${key}`);
  return typeof v === 'number' ? v : 0;
}

function revisionOf(o: JsonObject): number {
  const v = annotationsOf(o)[REVISION];
  const n = v === undefined ? 0 : Number(v);
  return Number.isFinite(n) ? n : 0;
}

function isRolling(d: JsonObject): boolean {
  return (at(d, 'spec.strategy.type') ?? 'RollingUpdate') === 'RollingUpdate';
}

/** ResolveFenceposts: maxSurge rounded up, maxUnavailable down, never both 0. */
function fenceposts(d: JsonObject): { surge: number; unavailable: number } {
  const desired = replicasOf(d);
  const surge = scaledValue(at(d, 'spec.strategy.rollingUpdate.maxSurge'), desired, true, 0);
  let unavailable = scaledValue(at(d, 'spec.strategy.rollingUpdate.maxUnavailable'), desired, false, 0);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export function maxUnavailable(d: JsonObject): number {
  if (!isRolling(d) || replicasOf(d) === 0) return 0;
  return Math.min(fenceposts(d).unavailable, replicasOf(d));
}

export function maxSurge(d: JsonObject): number {
  if (!isRolling(d)) return 0;
  return fenceposts(d).surge;
}

function hasProgressDeadline(d: JsonObject): boolean {
  const p = at(d, 'spec.progressDeadlineSeconds');
  return typeof p === 'number' && p !== MAX_INT32;
}

/** Templates equal once the pod-template-hash label is removed and empty values pruned. */
export function equalIgnoreHash(a: Json | undefined, b: Json | undefined): boolean {
  const norm = (t: Json | undefined): Json | undefined => {
    if (!isObject(t)) return t;
    const c = clone(t);
    const labels = at(c, 'metadata.labels');
    if (isObject(labels)) {
      delete labels[HASH_LABEL];
      if (Object.keys(labels).length === 0) delete (c['metadata'] as JsonObject)['labels'];
    }
    return prune(c);
  };
  return deepEqual(norm(a) ?? null, norm(b) ?? null);
}

/** Drops nulls, empty objects and empty lists (apiequality.Semantic treats them as unset). */
function prune(v: Json): Json | undefined {
  if (v === null) return undefined;
  if (Array.isArray(v)) {
    const items = v.map((x) => prune(x) ?? null);
    return items.length ? items : undefined;
  }
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      const p = prune(x);
      if (p !== undefined) out[k] = p;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v;
}

function newCondition(
  type: string,
  status: string,
  reason: string,
  message: string,
  now: string,
): JsonObject {
  return { type, status, lastUpdateTime: now, lastTransitionTime: now, reason, message };
}

function getCondition(status: JsonObject, type: string): JsonObject | undefined {
  return objs(status['conditions']).find((c) => c['type'] === type);
}

/** SetDeploymentCondition: no change when status and reason are the same; keeps lastTransitionTime on same status. */
function setCondition(status: JsonObject, c: JsonObject): void {
  const current = getCondition(status, String(c['type']));
  if (current && current['status'] === c['status'] && current['reason'] === c['reason']) return;
  if (current && current['status'] === c['status'])
    c['lastTransitionTime'] = current['lastTransitionTime'] ?? c['lastTransitionTime'] ?? null;
  status['conditions'] = [...objs(status['conditions']).filter((x) => x['type'] !== c['type']), c];
}

function removeCondition(status: JsonObject, type: string): void {
  status['conditions'] = objs(status['conditions']).filter((x) => x['type'] !== type);
  if ((status['conditions'] as Json[]).length === 0) delete status['conditions'];
}

function isActiveRs(rs: JsonObject): boolean {
  return replicasOf(rs) > 0;
}

function byCreation(a: JsonObject, b: JsonObject): number {
  const ta = parseTime(at(a, 'metadata.creationTimestamp')) ?? 0;
  const tb = parseTime(at(b, 'metadata.creationTimestamp')) ?? 0;
  if (ta !== tb) return ta - tb;
  return nameOf(a) < nameOf(b) ? -1 : 1;
}

export class DeploymentController {
  constructor(private readonly ctx: SimContext) {}

  private now(): string {
    return rfc3339(this.ctx.clock.now);
  }

  sync(): void {
    for (const d of this.ctx.api.all(this.ctx.types.deployment)) {
      try {
        this.syncOne(d);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
      }
    }
  }

  private rsList(d: JsonObject): JsonObject[] {
    return ownedBy(this.ctx.api.all(this.ctx.types.replicaSet, namespaceOf(d)), uidOf(d));
  }

  private syncOne(d: JsonObject): void {
    const rsList = this.rsList(d);
    if (isTerminating(d)) {
      this.syncStatusOnly(d, rsList);
      return;
    }
    if (selectorRequirements(at(d, 'spec.selector')).length === 0) return;
    d = this.checkPausedConditions(d);
    if (at(d, 'spec.paused') === true) {
      this.syncScale(d, rsList);
      return;
    }
    if (this.isScalingEvent(d, rsList)) {
      this.syncScale(d, rsList);
      return;
    }
    if (isRolling(d)) this.rolloutRolling(d, rsList);
    else this.rolloutRecreate(d, rsList);
  }

  /** Progressing=Unknown DeploymentPaused / DeploymentResumed when paused flips. */
  private checkPausedConditions(d: JsonObject): JsonObject {
    if (!hasProgressDeadline(d)) return d;
    const status = isObject(d['status']) ? clone(d['status']) : {};
    const cond = getCondition(status, 'Progressing');
    const paused = at(d, 'spec.paused') === true;
    const pausedCond = cond?.['reason'] === 'DeploymentPaused';
    let changed = false;
    if (paused && !pausedCond) {
      setCondition(
        status,
        newCondition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused', this.now()),
      );
      changed = true;
    } else if (!paused && pausedCond) {
      setCondition(
        status,
        newCondition('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed', this.now()),
      );
      changed = true;
    }
    if (!changed) return d;
    return this.writeStatus(d, status) ?? d;
  }

  private isScalingEvent(d: JsonObject, rsList: JsonObject[]): boolean {
    const { newRS, oldRSs } = this.split(d, rsList);
    const all = [...oldRSs, ...(newRS ? [newRS] : [])].filter(isActiveRs);
    return all.some((rs) => {
      const desired = annotationsOf(rs)[DESIRED];
      return desired !== undefined && Number(desired) !== replicasOf(d);
    });
  }

  /** FindNewReplicaSet (the oldest with an equal template) and the others. */
  private split(
    d: JsonObject,
    rsList: JsonObject[],
  ): { newRS: JsonObject | undefined; oldRSs: JsonObject[] } {
    const sorted = [...rsList].sort(byCreation);
    const newRS = sorted.find((rs) => equalIgnoreHash(at(rs, 'spec.template'), at(d, 'spec.template')));
    return { newRS, oldRSs: sorted.filter((rs) => rs !== newRS) };
  }

  /** getAllReplicaSetsAndSyncRevision. Returns the (possibly created) new ReplicaSet and the old ones. */
  private syncRevision(
    d: JsonObject,
    rsList: JsonObject[],
    create: boolean,
  ): { d: JsonObject; newRS: JsonObject | undefined; oldRSs: JsonObject[] } {
    const { api, types } = this.ctx;
    const { newRS: existing, oldRSs } = this.split(d, rsList);
    const maxOld = oldRSs.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
    const newRevision = maxOld + 1;
    const ns = namespaceOf(d);
    if (existing) {
      let rs = existing;
      const copy = clone(existing);
      const annotationsChanged = this.setNewReplicaSetAnnotations(d, copy, newRevision, true);
      const minReady = at(d, 'spec.minReadySeconds') ?? 0;
      const minReadyChanged = (at(copy, 'spec.minReadySeconds') ?? 0) !== minReady;
      if (annotationsChanged || minReadyChanged) {
        rs =
          api.mutate(types.replicaSet, ns, nameOf(existing), MANAGER, (o) => {
            (o['metadata'] as JsonObject)['annotations'] = at(copy, 'metadata.annotations') ?? {};
            if (minReady) spec(o)['minReadySeconds'] = minReady;
            else delete spec(o)['minReadySeconds'];
          }) ?? existing;
      }
      d = this.setDeploymentRevision(d, annotationsOf(rs)[REVISION] ?? String(newRevision));
      const status = isObject(d['status']) ? clone(d['status']) : {};
      if (hasProgressDeadline(d) && !getCondition(status, 'Progressing')) {
        setCondition(
          status,
          newCondition(
            'Progressing',
            'True',
            'FoundNewReplicaSet',
            `Found new replica set "${nameOf(rs)}"`,
            this.now(),
          ),
        );
        d = this.writeStatus(d, status) ?? d;
      }
      return { d, newRS: rs, oldRSs };
    }
    if (!create) return { d, newRS: undefined, oldRSs };
    const collisionCount = (at(d, 'status.collisionCount') as number | undefined) ?? 0;
    const template = clone(at(d, 'spec.template') as JsonObject);
    const hash = computeHash(template, collisionCount);
    ensureObj(ensureObj(template, 'metadata'), 'labels')[HASH_LABEL] = hash;
    const selector = clone(at(d, 'spec.selector') as JsonObject);
    ensureObj(selector, 'matchLabels')[HASH_LABEL] = hash;
    const rs: JsonObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${nameOf(d)}-${hash}`,
        namespace: ns,
        labels: labelsOf(template) as JsonObject,
        ownerReferences: [ownerRef(d, 'apps/v1', 'Deployment')],
      },
      spec: {
        replicas: 0,
        ...(at(d, 'spec.minReadySeconds') ? { minReadySeconds: at(d, 'spec.minReadySeconds') as Json } : {}),
        selector,
        template,
      },
    };
    const newReplicas = this.newRSNewReplicas(d, [...oldRSs, rs], rs);
    spec(rs)['replicas'] = newReplicas;
    this.setNewReplicaSetAnnotations(d, rs, newRevision, false);
    let created: JsonObject;
    try {
      created = api.createInternal(types.replicaSet, ns, rs, MANAGER);
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== alreadyExists(types.replicaSet, '').code) throw e;
      const clash = api.find(types.replicaSet, ns, nameOf(rs));
      const ours =
        clash &&
        ownedBy([clash], uidOf(d)).length === 1 &&
        equalIgnoreHash(at(clash, 'spec.template'), at(d, 'spec.template'));
      if (ours && clash) return { d, newRS: clash, oldRSs };
      // A hash collision: bump collisionCount and try again on the next sync.
      const status = isObject(d['status']) ? clone(d['status']) : {};
      status['collisionCount'] = collisionCount + 1;
      this.writeStatus(d, status);
      return { d, newRS: undefined, oldRSs };
    }
    if (newReplicas > 0) {
      this.ctx.events.record(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${nameOf(created)} from 0 to ${newReplicas}`,
        { component: 'deployment-controller' },
      );
    }
    d = this.setDeploymentRevision(d, String(newRevision));
    if (hasProgressDeadline(d)) {
      const status = isObject(d['status']) ? clone(d['status']) : {};
      setCondition(
        status,
        newCondition(
          'Progressing',
          'True',
          'NewReplicaSetCreated',
          `Created new replica set "${nameOf(created)}"`,
          this.now(),
        ),
      );
      d = this.writeStatus(d, status) ?? d;
    }
    return { d, newRS: created, oldRSs };
  }

  private setNewReplicaSetAnnotations(
    d: JsonObject,
    rs: JsonObject,
    newRevision: number,
    exists: boolean,
  ): boolean {
    const m = ensureObj(rs, 'metadata');
    const annotations = ensureObj(m, 'annotations');
    let changed = false;
    for (const [k, v] of Object.entries(annotationsOf(d))) {
      if (SKIP_COPY.has(k) || annotations[k] === v) continue;
      annotations[k] = v;
      changed = true;
    }
    const oldRevision =
      typeof annotations[REVISION] === 'string' ? (annotations[REVISION] as string) : undefined;
    const oldInt = oldRevision === undefined ? 0 : Number(oldRevision);
    if (oldInt < newRevision) {
      annotations[REVISION] = String(newRevision);
      changed = true;
      if (oldRevision !== undefined) {
        const history =
          typeof annotations[REVISION_HISTORY] === 'string' ? (annotations[REVISION_HISTORY] as string) : '';
        annotations[REVISION_HISTORY] = history ? `${history},${oldRevision}` : oldRevision;
      }
    }
    if (!exists) {
      annotations[DESIRED] = String(replicasOf(d));
      annotations[MAX] = String(replicasOf(d) + maxSurge(d));
      changed = true;
    }
    return changed;
  }

  private setDeploymentRevision(d: JsonObject, revision: string): JsonObject {
    if (annotationsOf(d)[REVISION] === revision) return d;
    return (
      this.ctx.api.mutate(this.ctx.types.deployment, namespaceOf(d), nameOf(d), MANAGER, (o) => {
        ensureObj(ensureObj(o, 'metadata'), 'annotations')[REVISION] = revision;
      }) ?? d
    );
  }

  /** NewRSNewReplicas. */
  private newRSNewReplicas(d: JsonObject, allRSs: JsonObject[], newRS: JsonObject): number {
    if (!isRolling(d)) return replicasOf(d);
    const current = allRSs.reduce((s, rs) => s + replicasOf(rs), 0);
    const maxTotal = replicasOf(d) + maxSurge(d);
    if (current >= maxTotal) return replicasOf(newRS);
    const scaleUp = Math.min(maxTotal - current, replicasOf(d) - replicasOf(newRS));
    return replicasOf(newRS) + scaleUp;
  }

  /** scaleReplicaSetAndRecordEvent. */
  private scaleRS(rs: JsonObject, newScale: number, d: JsonObject): { scaled: boolean; rs: JsonObject } {
    if (replicasOf(rs) === newScale) return { scaled: false, rs };
    const old = replicasOf(rs);
    const desired = String(replicasOf(d));
    const max = String(replicasOf(d) + maxSurge(d));
    const updated = this.ctx.api.mutate(
      this.ctx.types.replicaSet,
      namespaceOf(rs),
      nameOf(rs),
      MANAGER,
      (o) => {
        spec(o)['replicas'] = newScale;
        const a = ensureObj(ensureObj(o, 'metadata'), 'annotations');
        a[DESIRED] = desired;
        a[MAX] = max;
      },
    );
    if (!updated) return { scaled: false, rs };
    const direction = newScale > old ? 'up' : 'down';
    this.ctx.events.record(
      d,
      'Normal',
      'ScalingReplicaSet',
      `Scaled ${direction} replica set ${nameOf(rs)} from ${old} to ${newScale}`,
      { component: 'deployment-controller' },
    );
    return { scaled: true, rs: updated };
  }

  private rolloutRolling(d: JsonObject, rsList: JsonObject[]): void {
    const r = this.syncRevision(d, rsList, true);
    d = r.d;
    const newRS = r.newRS;
    let oldRSs = r.oldRSs;
    if (!newRS) return;
    const allRSs = [...oldRSs, newRS];
    // reconcileNewReplicaSet
    let scaledUp = false;
    if (replicasOf(newRS) !== replicasOf(d)) {
      const target =
        replicasOf(newRS) > replicasOf(d) ? replicasOf(d) : this.newRSNewReplicas(d, allRSs, newRS);
      scaledUp = this.scaleRS(newRS, target, d).scaled;
    }
    if (scaledUp) {
      this.syncRolloutStatus(this.fresh(d, allRSs), d);
      return;
    }
    const scaledDown = this.reconcileOldReplicaSets(allRSs, oldRSs.filter(isActiveRs), newRS, d);
    if (scaledDown) {
      this.syncRolloutStatus(this.fresh(d, allRSs), d);
      return;
    }
    oldRSs = this.fresh(d, oldRSs);
    if (this.complete(d, isObject(d['status']) ? d['status'] : {})) this.cleanup(oldRSs, d);
    this.syncRolloutStatus(this.fresh(d, allRSs), d);
  }

  /** Current copies of the given ReplicaSets. */
  private fresh(d: JsonObject, list: JsonObject[]): JsonObject[] {
    const ns = namespaceOf(d);
    return list
      .map((rs) => this.ctx.api.find(this.ctx.types.replicaSet, ns, nameOf(rs)))
      .filter((x): x is JsonObject => x !== undefined);
  }

  private reconcileOldReplicaSets(
    allRSs: JsonObject[],
    oldRSs: JsonObject[],
    newRS: JsonObject,
    d: JsonObject,
  ): boolean {
    const oldPods = oldRSs.reduce((s, rs) => s + replicasOf(rs), 0);
    if (oldPods === 0) return false;
    const allPods = allRSs.reduce((s, rs) => s + replicasOf(rs), 0);
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const newUnavailable = replicasOf(newRS) - statusNum(newRS, 'availableReplicas');
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    // cleanupUnhealthyReplicas
    const sorted = [...oldRSs].sort(byCreation);
    let cleaned = 0;
    for (let i = 0; i < sorted.length; i++) {
      const rs = sorted[i] as JsonObject;
      if (cleaned >= maxScaledDown) break;
      if (replicasOf(rs) === 0) continue;
      const unhealthy = replicasOf(rs) - statusNum(rs, 'availableReplicas');
      if (unhealthy <= 0) continue;
      const down = Math.min(maxScaledDown - cleaned, unhealthy);
      const r = this.scaleRS(rs, replicasOf(rs) - down, d);
      sorted[i] = r.rs;
      cleaned += down;
    }
    // scaleDownOldReplicaSetsForRollingUpdate
    const current = [...sorted, newRS];
    const available = current.reduce((s, rs) => s + statusNum(rs, 'availableReplicas'), 0);
    let scaledDown = 0;
    if (available > minAvailable) {
      const total = available - minAvailable;
      for (const rs of sorted) {
        if (scaledDown >= total) break;
        if (replicasOf(rs) === 0) continue;
        const down = Math.min(replicasOf(rs), total - scaledDown);
        this.scaleRS(rs, replicasOf(rs) - down, d);
        scaledDown += down;
      }
    }
    return cleaned + scaledDown > 0;
  }

  private rolloutRecreate(d: JsonObject, rsList: JsonObject[]): void {
    let r = this.syncRevision(d, rsList, false);
    d = r.d;
    let scaledDown = false;
    for (const rs of r.oldRSs.filter(isActiveRs)) if (this.scaleRS(rs, 0, d).scaled) scaledDown = true;
    const allRSs = (): JsonObject[] => [...r.oldRSs, ...(r.newRS ? [r.newRS] : [])];
    if (scaledDown) {
      this.syncRolloutStatus(this.fresh(d, allRSs()), d);
      return;
    }
    const oldUids = new Set(r.oldRSs.map(uidOf));
    const oldPodsRunning = this.ctx.api.all(this.ctx.types.pod, namespaceOf(d)).some((p) => {
      const owner = objs(at(p, 'metadata.ownerReferences')).find((x) => x['controller'] === true);
      const phase = podPhase(p);
      return (
        owner !== undefined &&
        oldUids.has(String(owner['uid'])) &&
        phase !== 'Failed' &&
        phase !== 'Succeeded'
      );
    });
    if (oldPodsRunning) {
      this.syncRolloutStatus(this.fresh(d, allRSs()), d);
      return;
    }
    if (!r.newRS) {
      r = this.syncRevision(d, this.rsList(d), true);
      d = r.d;
    }
    if (r.newRS && replicasOf(r.newRS) !== replicasOf(d)) this.scaleRS(r.newRS, replicasOf(d), d);
    if (this.complete(d, isObject(d['status']) ? d['status'] : {})) this.cleanup(this.fresh(d, r.oldRSs), d);
    this.syncRolloutStatus(this.fresh(d, allRSs()), d);
  }

  /** sync(): scaling (proportional), clean-up when paused, and status without progress estimation. */
  private syncScale(d: JsonObject, rsList: JsonObject[]): void {
    const r = this.syncRevision(d, rsList, false);
    d = r.d;
    this.scale(d, r.newRS, r.oldRSs);
    const fresh = this.fresh(d, [...r.oldRSs, ...(r.newRS ? [r.newRS] : [])]);
    if (at(d, 'spec.paused') === true) this.cleanup(this.fresh(d, r.oldRSs), d);
    const newRS = r.newRS
      ? this.ctx.api.find(this.ctx.types.replicaSet, namespaceOf(d), nameOf(r.newRS))
      : undefined;
    const status = this.calculateStatus(fresh, newRS, d);
    if (!deepEqual(status, d['status'] ?? {})) this.writeStatus(d, status);
  }

  private scale(d: JsonObject, newRS: JsonObject | undefined, oldRSs: JsonObject[]): void {
    const active = [...oldRSs, ...(newRS ? [newRS] : [])].filter(isActiveRs);
    if (active.length <= 1) {
      const target = active[0] ?? newRS ?? [...oldRSs].sort(byCreation).reverse()[0];
      if (target && replicasOf(target) !== replicasOf(d)) this.scaleRS(target, replicasOf(d), d);
      return;
    }
    const saturated =
      newRS !== undefined &&
      replicasOf(newRS) === replicasOf(d) &&
      Number(annotationsOf(newRS)[DESIRED]) === replicasOf(d) &&
      statusNum(newRS, 'availableReplicas') === replicasOf(d);
    if (saturated) {
      for (const rs of oldRSs.filter(isActiveRs)) this.scaleRS(rs, 0, d);
      return;
    }
    if (!isRolling(d)) return;
    const current = active.reduce((s, rs) => s + replicasOf(rs), 0);
    const allowed = replicasOf(d) > 0 ? replicasOf(d) + maxSurge(d) : 0;
    const toAdd = allowed - current;
    // Largest first; newer first when scaling up, older first when scaling down.
    const ordered = [...active].sort(
      (a, b) => replicasOf(b) - replicasOf(a) || (toAdd > 0 ? byCreation(b, a) : byCreation(a, b)),
    );
    const targets = new Map<JsonObject, number>();
    let added = 0;
    if (toAdd !== 0) {
      for (const rs of ordered) {
        const annotated = Number(annotationsOf(rs)[MAX] ?? 0) || current;
        const proportion = Math.round((replicasOf(rs) * allowed) / annotated) - replicasOf(rs);
        const bounded = toAdd > 0 ? Math.min(proportion, toAdd - added) : Math.max(proportion, toAdd - added);
        targets.set(rs, replicasOf(rs) + bounded);
        added += bounded;
      }
    }
    const first = ordered[0];
    if (first && added !== toAdd)
      targets.set(first, (targets.get(first) ?? replicasOf(first)) + (toAdd - added));
    for (const rs of ordered) {
      const target = Math.max(0, targets.get(rs) ?? replicasOf(rs));
      this.scaleRS(rs, target, d);
    }
  }

  private cleanup(oldRSs: JsonObject[], d: JsonObject): void {
    const limit = at(d, 'spec.revisionHistoryLimit');
    if (typeof limit !== 'number') return;
    const cleanable = oldRSs.filter((rs) => !isTerminating(rs));
    const diff = cleanable.length - limit;
    if (diff <= 0) return;
    cleanable.sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b));
    for (let i = 0; i < diff; i++) {
      const rs = cleanable[i] as JsonObject;
      if (statusNum(rs, 'replicas') !== 0 || replicasOf(rs) !== 0) continue;
      if ((at(rs, 'metadata.generation') as number) > statusNum(rs, 'observedGeneration')) continue;
      this.ctx.api.deleteInternal(this.ctx.types.replicaSet, namespaceOf(rs), nameOf(rs));
    }
  }

  private calculateStatus(allRSs: JsonObject[], newRS: JsonObject | undefined, d: JsonObject): JsonObject {
    const available = allRSs.reduce((s, rs) => s + statusNum(rs, 'availableReplicas'), 0);
    const total = allRSs.reduce((s, rs) => s + replicasOf(rs), 0);
    const unavailable = Math.max(0, total - available);
    const old = isObject(d['status']) ? d['status'] : {};
    const status: JsonObject = {};
    status['observedGeneration'] = (at(d, 'metadata.generation') as number | undefined) ?? 1;
    const put = (k: string, v: number): void => {
      if (v !== 0) status[k] = v;
    };
    put(
      'replicas',
      allRSs.reduce((s, rs) => s + statusNum(rs, 'replicas'), 0),
    );
    put('updatedReplicas', newRS ? statusNum(newRS, 'replicas') : 0);
    put(
      'readyReplicas',
      allRSs.reduce((s, rs) => s + statusNum(rs, 'readyReplicas'), 0),
    );
    put('availableReplicas', available);
    put('unavailableReplicas', unavailable);
    if (old['collisionCount'] !== undefined) status['collisionCount'] = old['collisionCount'];
    if (old['conditions'] !== undefined) status['conditions'] = clone(old['conditions']);
    const now = this.now();
    if (available >= replicasOf(d) - maxUnavailable(d)) {
      setCondition(
        status,
        newCondition(
          'Available',
          'True',
          'MinimumReplicasAvailable',
          'Deployment has minimum availability.',
          now,
        ),
      );
    } else {
      setCondition(
        status,
        newCondition(
          'Available',
          'False',
          'MinimumReplicasUnavailable',
          'Deployment does not have minimum availability.',
          now,
        ),
      );
    }
    return status;
  }

  /** DeploymentComplete. */
  private complete(d: JsonObject, status: JsonObject): boolean {
    const n = (k: string): number => (typeof status[k] === 'number' ? (status[k] as number) : 0);
    return (
      n('updatedReplicas') === replicasOf(d) &&
      n('replicas') === replicasOf(d) &&
      n('availableReplicas') === replicasOf(d) &&
      n('observedGeneration') >= ((at(d, 'metadata.generation') as number | undefined) ?? 1)
    );
  }

  /** DeploymentProgressing: any progress since the last status. */
  private progressing(d: JsonObject, status: JsonObject): boolean {
    const old = isObject(d['status']) ? d['status'] : {};
    const n = (s: JsonObject, k: string): number => (typeof s[k] === 'number' ? (s[k] as number) : 0);
    const oldOld = n(old, 'replicas') - n(old, 'updatedReplicas');
    const newOld = n(status, 'replicas') - n(status, 'updatedReplicas');
    return (
      n(status, 'updatedReplicas') > n(old, 'updatedReplicas') ||
      newOld < oldOld ||
      n(status, 'readyReplicas') > n(old, 'readyReplicas') ||
      n(status, 'availableReplicas') > n(old, 'availableReplicas')
    );
  }

  private timedOut(d: JsonObject, status: JsonObject): boolean {
    if (!hasProgressDeadline(d)) return false;
    const c = getCondition(status, 'Progressing');
    if (!c) return false;
    if (c['reason'] === 'NewReplicaSetAvailable') return false;
    if (c['reason'] === 'ProgressDeadlineExceeded') return true;
    const from = parseTime(c['lastUpdateTime']);
    if (from === undefined) return false;
    return from + Number(at(d, 'spec.progressDeadlineSeconds')) * 1000 < this.ctx.clock.now;
  }

  private syncRolloutStatus(allRSs: JsonObject[], d: JsonObject): void {
    d = this.ctx.api.find(this.ctx.types.deployment, namespaceOf(d), nameOf(d)) ?? d;
    const { newRS } = this.split(d, allRSs);
    const status = this.calculateStatus(allRSs, newRS, d);
    const current = getCondition(status, 'Progressing');
    const now = this.now();
    if (!hasProgressDeadline(d)) removeCondition(status, 'Progressing');
    const isComplete =
      status['replicas'] === status['updatedReplicas'] && current?.['reason'] === 'NewReplicaSetAvailable';
    if (hasProgressDeadline(d) && !isComplete) {
      if (this.complete(d, status)) {
        const msg = newRS
          ? `ReplicaSet "${nameOf(newRS)}" has successfully progressed.`
          : `Deployment "${nameOf(d)}" has successfully progressed.`;
        setCondition(status, newCondition('Progressing', 'True', 'NewReplicaSetAvailable', msg, now));
      } else if (this.progressing(d, status)) {
        const msg = newRS
          ? `ReplicaSet "${nameOf(newRS)}" is progressing.`
          : `Deployment "${nameOf(d)}" is progressing.`;
        const c = newCondition('Progressing', 'True', 'ReplicaSetUpdated', msg, now);
        if (current) {
          if (current['status'] === 'True') c['lastTransitionTime'] = current['lastTransitionTime'] ?? now;
          removeCondition(status, 'Progressing');
        }
        setCondition(status, c);
      } else if (this.timedOut(d, status)) {
        const msg = newRS
          ? `ReplicaSet "${nameOf(newRS)}" has timed out progressing.`
          : `Deployment "${nameOf(d)}" has timed out progressing.`;
        setCondition(status, newCondition('Progressing', 'False', 'ProgressDeadlineExceeded', msg, now));
      }
    }
    if (!deepEqual(status, d['status'] ?? {})) this.writeStatus(d, status);
    this.requeueStuck(d, status);
  }

  private syncStatusOnly(d: JsonObject, rsList: JsonObject[]): void {
    const { newRS, oldRSs } = this.split(d, rsList);
    const status = this.calculateStatus([...oldRSs, ...(newRS ? [newRS] : [])], newRS, d);
    if (!deepEqual(status, d['status'] ?? {})) this.writeStatus(d, status);
  }

  /** requeueStuckDeployment: wake at the progress deadline. */
  private requeueStuck(d: JsonObject, status: JsonObject): void {
    const c = getCondition(status, 'Progressing');
    if (!hasProgressDeadline(d) || !c) return;
    if (c['reason'] === 'NewReplicaSetAvailable' || c['reason'] === 'ProgressDeadlineExceeded') return;
    if (this.complete(d, status)) return;
    const from = parseTime(c['lastUpdateTime']);
    if (from === undefined) return;
    this.ctx.wake(from + Number(at(d, 'spec.progressDeadlineSeconds')) * 1000 + 1000);
  }

  private writeStatus(d: JsonObject, status: JsonObject): JsonObject | undefined {
    return this.ctx.api.mutate(
      this.ctx.types.deployment,
      namespaceOf(d),
      nameOf(d),
      MANAGER,
      (o) => {
        o['status'] = status;
      },
      'status',
    );
  }
}

// ----- ReplicaSet controller ----------------------------------------------------------------------------------

/** Deletion preference (controller.ActivePods ordering): unscheduled, pending, not ready, recently ready, restarts, newest. */
function deletionRank(p: JsonObject): number[] {
  const scheduled = at(p, 'spec.nodeName') !== undefined ? 1 : 0;
  const phase = podPhase(p);
  const phaseRank = phase === 'Pending' ? 0 : phase === 'Unknown' ? 1 : 2;
  const ready = isPodReady(p) ? 1 : 0;
  const restarts = objs(at(p, 'status.containerStatuses')).reduce(
    (s, c) => s + (typeof c['restartCount'] === 'number' ? c['restartCount'] : 0),
    0,
  );
  const created = parseTime(at(p, 'metadata.creationTimestamp')) ?? 0;
  return [scheduled, phaseRank, ready, -restarts, -created];
}

export class ReplicaSetController {
  constructor(private readonly ctx: SimContext) {}

  sync(): void {
    for (const rs of this.ctx.api.all(this.ctx.types.replicaSet)) {
      try {
        this.syncOne(rs);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
      }
    }
  }

  private syncOne(rs: JsonObject): void {
    const { api, types, events, clock } = this.ctx;
    const ns = namespaceOf(rs);
    const pods = ownedBy(api.all(types.pod, ns), uidOf(rs));
    const active = pods.filter(isPodActive);
    if (!isTerminating(rs)) {
      const want = replicasOf(rs);
      const diff = active.length - want;
      if (diff < 0) {
        for (let i = 0; i < -diff; i++) {
          const template = clone((at(rs, 'spec.template') as JsonObject | undefined) ?? {});
          const m = ensureObj(template, 'metadata');
          delete m['creationTimestamp'];
          const pod: JsonObject = {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
              ...m,
              generateName: `${nameOf(rs)}-`,
              namespace: ns,
              ownerReferences: [ownerRef(rs, 'apps/v1', 'ReplicaSet')],
            },
            spec: clone((template['spec'] as JsonObject | undefined) ?? {}),
          };
          try {
            const created = api.createInternal(types.pod, ns, pod, MANAGER);
            events.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${nameOf(created)}`, {
              component: 'replicaset-controller',
            });
          } catch (e) {
            if (!(e instanceof ApiError)) throw e;
            events.record(rs, 'Warning', 'FailedCreate', `Error creating: ${e.message}`, {
              component: 'replicaset-controller',
            });
            break;
          }
        }
      } else if (diff > 0) {
        const victims = [...active].sort((a, b) => {
          const ra = deletionRank(a);
          const rb = deletionRank(b);
          for (let i = 0; i < ra.length; i++)
            if ((ra[i] ?? 0) !== (rb[i] ?? 0)) return (ra[i] ?? 0) - (rb[i] ?? 0);
          return 0;
        });
        for (const p of victims.slice(0, diff)) {
          api.deleteInternal(types.pod, ns, nameOf(p));
          events.record(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${nameOf(p)}`, {
            component: 'replicaset-controller',
          });
        }
      }
    }
    // calculateStatus from the pods as they were at the start of the sync (the next sync sees the changes).
    const minReady = Number(at(rs, 'spec.minReadySeconds') ?? 0);
    const templateLabels = labelsOf(at(rs, 'spec.template') as JsonObject | undefined);
    const reqs = Object.entries(templateLabels).map(([key, v]) => ({ key, op: '=' as const, values: [v] }));
    const status: JsonObject = { replicas: active.length };
    const fully = active.filter((p) => matchesLabels(reqs, labelsOf(p))).length;
    const ready = active.filter(isPodReady).length;
    const available = active.filter((p) => isPodAvailable(p, minReady, clock.now)).length;
    if (fully) status['fullyLabeledReplicas'] = fully;
    if (ready) status['readyReplicas'] = ready;
    if (available) status['availableReplicas'] = available;
    status['observedGeneration'] = (at(rs, 'metadata.generation') as number | undefined) ?? 1;
    const conds = at(rs, 'status.conditions');
    if (conds !== undefined) status['conditions'] = clone(conds);
    if (!deepEqual(status, rs['status'] ?? {})) {
      api.mutate(
        types.replicaSet,
        ns,
        nameOf(rs),
        MANAGER,
        (o) => {
          o['status'] = status;
        },
        'status',
      );
    }
    if (minReady > 0) {
      for (const p of active) {
        const t = availableAt(p, minReady);
        if (t !== undefined && t > clock.now) this.ctx.wake(t);
      }
    }
  }
}

export { replicasOf, revisionOf };
