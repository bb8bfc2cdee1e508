/**
 * The other workload controllers:
 *
 * - StatefulSet (pkg/controller/statefulset): pods `<set>-<ordinal>` created in order (OrderedReady: each waits for
 *   the previous one to be Running and Ready; Parallel: all at once), removed from the highest ordinal, failed pods
 *   recreated; revisions as ControllerRevisions (`<set>-<hash>`, label `controller-revision-hash` on pods); a
 *   RollingUpdate replaces pods from the highest ordinal down to `partition`, one at a time, waiting for each to be
 *   ready; status replicas / readyReplicas / availableReplicas / currentReplicas / updatedReplicas /
 *   currentRevision / updateRevision (currentRevision catches up when every pod is updated and ready);
 * - DaemonSet (pkg/controller/daemon): one pod per eligible node (nodeSelector), bound through required node
 *   affinity on `metadata.name`, the DaemonSet tolerations added, RollingUpdate with maxUnavailable; status
 *   desired/current/ready/available/updated numbers;
 * - Job (pkg/controller/job): parallelism/completions, pod failures counted against backoffLimit (restarts too with
 *   OnFailure), back-off between recreations, activeDeadlineSeconds, conditions SuccessCriteriaMet+Complete
 *   (CompletionsReached) or FailureTarget+Failed (BackoffLimitExceeded, DeadlineExceeded), events;
 * - CronJob (pkg/controller/cronjob): 5-field schedules (and @hourly …), Jobs named `<cronjob>-<minutes>`,
 *   concurrencyPolicy, suspend, history limits, lastScheduleTime / lastSuccessfulTime / active.
 */
import type { SimContext } from './context.js';
import {
  condition,
  isPodActive,
  isPodAvailable,
  isPodReady,
  isTerminating,
  ownedBy,
  podPhase,
} from './context.js';
import type { Json, JsonObject } from './meta.js';
import {
  ApiError,
  at,
  clone,
  computeHash,
  deepEqual,
  isObject,
  labelsOf,
  nameOf,
  namespaceOf,
  objs,
  ownerRef,
  parseTime,
  rfc3339,
  scaledValue,
  str,
  uidOf,
} from './meta.js';

const MANAGER = 'kube-controller-manager';
const REVISION_LABEL = 'controller-revision-hash';

function num(v: Json | undefined, fallback = 0): number {
  return typeof v === 'number' ? v : fallback;
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
  }
}

function writeStatus(
  ctx: SimContext,
  t: Parameters<SimContext['api']['mutate']>[0],
  o: JsonObject,
  status: JsonObject,
): void {
  if (deepEqual(status, o['status'] ?? {})) return;
  ctx.api.mutate(
    t,
    namespaceOf(o),
    nameOf(o),
    MANAGER,
    (x) => {
      x['status'] = status;
    },
    'status',
  );
}

/** A pod from a template (labels, annotations, spec) owned by `owner`. */
function podFromTemplate(
  template: Json | undefined,
  owner: JsonObject,
  apiVersion: string,
  kind: string,
): JsonObject {
  const t = isObject(template) ? clone(template) : {};
  const m = isObject(t['metadata']) ? t['metadata'] : {};
  delete m['creationTimestamp'];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...m, namespace: namespaceOf(owner), ownerReferences: [ownerRef(owner, apiVersion, kind)] },
    spec: isObject(t['spec']) ? t['spec'] : {},
  };
}

/** ControllerRevisions of an owner: find or create the one for `template`, numbered after the newest. */
function ensureRevision(
  ctx: SimContext,
  owner: JsonObject,
  kind: string,
  template: Json | undefined,
): { name: string; hash: string; revision: number } {
  const { api, types } = ctx;
  const ns = namespaceOf(owner);
  const hash = computeHash(template);
  const name = `${nameOf(owner)}-${hash}`;
  const revisions = ownedBy(api.all(types.controllerRevision, ns), uidOf(owner));
  const found = revisions.find((r) => nameOf(r) === name);
  const newest = revisions.reduce((m, r) => Math.max(m, num(r['revision'])), 0);
  if (found) {
    if (num(found['revision']) < newest) {
      safely(() =>
        api.mutate(types.controllerRevision, ns, name, MANAGER, (o) => {
          o['revision'] = newest + 1;
        }),
      );
      return { name, hash, revision: newest + 1 };
    }
    return { name, hash, revision: num(found['revision']) };
  }
  const labels = { ...labelsOf(isObject(template) ? template : undefined), [REVISION_LABEL]: hash };
  safely(() =>
    api.createInternal(
      types.controllerRevision,
      ns,
      {
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: { name, namespace: ns, labels, ownerReferences: [ownerRef(owner, 'apps/v1', kind)] },
        data: { spec: { template: { ...(isObject(template) ? clone(template) : {}), $patch: 'replace' } } },
        revision: newest + 1,
      },
      MANAGER,
    ),
  );
  return { name, hash, revision: newest + 1 };
}

function revisionTemplate(ctx: SimContext, owner: JsonObject, name: string): JsonObject | undefined {
  const r = ctx.api.find(ctx.types.controllerRevision, namespaceOf(owner), name);
  const t = at(r, 'data.spec.template');
  if (!isObject(t)) return undefined;
  const c = clone(t);
  delete c['$patch'];
  return c;
}

/** Keeps `revisionHistoryLimit` revisions not used by a pod or as current/update revision. */
function cleanRevisions(ctx: SimContext, owner: JsonObject, live: Set<string>): void {
  const limit = num(at(owner, 'spec.revisionHistoryLimit'), 10);
  const revisions = ownedBy(ctx.api.all(ctx.types.controllerRevision, namespaceOf(owner)), uidOf(owner))
    .filter((r) => !live.has(nameOf(r)))
    .sort((a, b) => num(a['revision']) - num(b['revision']));
  for (const r of revisions.slice(0, Math.max(0, revisions.length - limit))) {
    ctx.api.deleteInternal(ctx.types.controllerRevision, namespaceOf(r), nameOf(r));
  }
}

// ----- StatefulSet --------------------------------------------------------------------------------------------

export class StatefulSetController {
  constructor(private readonly ctx: SimContext) {}

  sync(): void {
    for (const s of this.ctx.api.all(this.ctx.types.statefulSet)) safely(() => this.syncOne(s));
  }

  private syncOne(set: JsonObject): void {
    const { api, types, events, clock } = this.ctx;
    if (isTerminating(set)) return;
    const ns = namespaceOf(set);
    const name = nameOf(set);
    const update = ensureRevision(this.ctx, set, 'StatefulSet', at(set, 'spec.template'));
    const currentName = str(at(set, 'status.currentRevision')) ?? update.name;
    const replicas = num(at(set, 'spec.replicas'), 1);
    const parallel = at(set, 'spec.podManagementPolicy') === 'Parallel';
    const rolling = (at(set, 'spec.updateStrategy.type') ?? 'RollingUpdate') === 'RollingUpdate';
    const partition = rolling ? num(at(set, 'spec.updateStrategy.rollingUpdate.partition')) : 0;
    const minReady = num(at(set, 'spec.minReadySeconds'));
    const pods = ownedBy(api.all(types.pod, ns), uidOf(set));
    const ordinalOf = (p: JsonObject): number => {
      const m = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`).exec(nameOf(p));
      return m ? Number(m[1]) : -1;
    };
    const byOrdinal = new Map<number, JsonObject>();
    for (const p of pods) byOrdinal.set(ordinalOf(p), p);
    const healthy = (p: JsonObject | undefined): boolean =>
      p !== undefined && !isTerminating(p) && podPhase(p) === 'Running' && isPodReady(p);
    const revisionOfPod = (p: JsonObject): string => `${name}-${labelsOf(p)[REVISION_LABEL] ?? ''}`;
    const record = (verb: 'create' | 'delete', pod: string): void => {
      events.record(
        set,
        'Normal',
        verb === 'create' ? 'SuccessfulCreate' : 'SuccessfulDelete',
        `${verb} Pod ${pod} in StatefulSet ${name} successful`,
        { component: 'statefulset-controller' },
      );
    };
    const createPod = (ordinal: number): void => {
      const revName = ordinal < partition ? currentName : update.name;
      const template =
        (revName === update.name ? at(set, 'spec.template') : revisionTemplate(this.ctx, set, revName)) ??
        at(set, 'spec.template');
      const pod = podFromTemplate(template, set, 'apps/v1', 'StatefulSet');
      const podName = `${name}-${ordinal}`;
      const m = pod['metadata'] as JsonObject;
      m['name'] = podName;
      m['labels'] = {
        ...labelsOf(pod),
        [REVISION_LABEL]: revName.slice(name.length + 1),
        'statefulset.kubernetes.io/pod-name': podName,
        'apps.kubernetes.io/pod-index': String(ordinal),
      };
      const ps = pod['spec'] as JsonObject;
      ps['hostname'] = podName;
      if (typeof at(set, 'spec.serviceName') === 'string' && at(set, 'spec.serviceName') !== '')
        ps['subdomain'] = at(set, 'spec.serviceName') as Json;
      const created = api.createInternal(types.pod, ns, pod, MANAGER);
      record('create', nameOf(created));
    };
    // Failed pods are deleted (then recreated); creation and condemnation in order.
    let blocked = false;
    for (let i = 0; i < replicas && !blocked; i++) {
      const p = byOrdinal.get(i);
      if (p && (podPhase(p) === 'Failed' || podPhase(p) === 'Succeeded') && !isTerminating(p)) {
        api.deleteInternal(types.pod, ns, nameOf(p));
        record('delete', nameOf(p));
        if (!parallel) blocked = true;
        continue;
      }
      if (!p) {
        createPod(i);
        if (!parallel) blocked = true;
        continue;
      }
      if (!parallel && !healthy(p)) blocked = true;
    }
    if (!blocked) {
      const condemned = [...byOrdinal.entries()].filter(([i]) => i >= replicas).sort(([a], [b]) => b - a);
      for (const [, p] of condemned) {
        if (isTerminating(p)) {
          if (!parallel) {
            blocked = true;
            break;
          }
          continue;
        }
        api.deleteInternal(types.pod, ns, nameOf(p));
        record('delete', nameOf(p));
        if (!parallel) {
          blocked = true;
          break;
        }
      }
    }
    if (!blocked && rolling) {
      for (let i = replicas - 1; i >= partition; i--) {
        const p = byOrdinal.get(i);
        if (!p) break;
        if (revisionOfPod(p) !== update.name && !isTerminating(p)) {
          api.deleteInternal(types.pod, ns, nameOf(p));
          record('delete', nameOf(p));
          break;
        }
        if (!healthy(p)) break;
      }
    }
    // Status from the pods as listed at the start of this sync.
    const live = pods.filter((p) => ordinalOf(p) >= 0);
    const counted = live.filter((p) => !isTerminating(p));
    const status: JsonObject = {
      observedGeneration: num(at(set, 'metadata.generation'), 1),
      replicas: counted.length,
      readyReplicas: counted.filter(isPodReady).length,
      currentReplicas: counted.filter((p) => revisionOfPod(p) === currentName).length,
      updatedReplicas: counted.filter((p) => revisionOfPod(p) === update.name).length,
      currentRevision: currentName,
      updateRevision: update.name,
      collisionCount: 0,
      availableReplicas: counted.filter((p) => isPodAvailable(p, minReady, clock.now)).length,
    };
    if (
      rolling &&
      status['updatedReplicas'] === replicas &&
      status['readyReplicas'] === replicas &&
      counted.length === replicas
    ) {
      status['currentRevision'] = update.name;
      status['currentReplicas'] = status['updatedReplicas'] as number;
    }
    for (const k of ['readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas']) {
      if (status[k] === 0 && k !== 'availableReplicas') delete status[k];
    }
    writeStatus(this.ctx, types.statefulSet, set, status);
    cleanRevisions(
      this.ctx,
      set,
      new Set([String(status['currentRevision']), update.name, ...live.map(revisionOfPod)]),
    );
  }
}

// ----- DaemonSet ----------------------------------------------------------------------------------------------

const DS_TOLERATIONS: JsonObject[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

function targetNode(pod: JsonObject): string | undefined {
  const direct = str(at(pod, 'spec.nodeName'));
  if (direct) return direct;
  for (const term of objs(
    at(pod, 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms'),
  )) {
    for (const f of objs(term['matchFields'])) {
      if (f['key'] === 'metadata.name' && Array.isArray(f['values']) && typeof f['values'][0] === 'string')
        return f['values'][0];
    }
  }
  return undefined;
}

export class DaemonSetController {
  constructor(private readonly ctx: SimContext) {}

  sync(): void {
    for (const ds of this.ctx.api.all(this.ctx.types.daemonSet)) safely(() => this.syncOne(ds));
  }

  private syncOne(ds: JsonObject): void {
    const { api, types, events, clock } = this.ctx;
    if (isTerminating(ds)) return;
    const ns = namespaceOf(ds);
    const rev = ensureRevision(this.ctx, ds, 'DaemonSet', at(ds, 'spec.template'));
    const selector = at(ds, 'spec.template.spec.nodeSelector');
    const nodes = api.all(types.node).filter((n) => {
      if (!isObject(selector)) return true;
      const labels = labelsOf(n);
      return Object.entries(selector).every(([k, v]) => labels[k] === String(v));
    });
    const minReady = num(at(ds, 'spec.minReadySeconds'));
    const pods = ownedBy(api.all(types.pod, ns), uidOf(ds));
    const record = (reason: string, message: string): void => {
      events.record(ds, 'Normal', reason, message, { component: 'daemonset-controller' });
    };
    const byNode = new Map<string, JsonObject[]>();
    for (const p of pods) {
      const n = targetNode(p);
      if (n) byNode.set(n, [...(byNode.get(n) ?? []), p]);
    }
    const isCurrent = (p: JsonObject): boolean => labelsOf(p)[REVISION_LABEL] === rev.hash;
    const desired = nodes.length;
    let changed = false;
    for (const node of nodes) {
      const nodeName = nameOf(node);
      const mine = (byNode.get(nodeName) ?? []).filter((p) => !isTerminating(p));
      const failed = mine.filter((p) => podPhase(p) === 'Failed');
      for (const p of failed) {
        api.deleteInternal(types.pod, ns, nameOf(p));
        record('SuccessfulDelete', `Deleted pod: ${nameOf(p)}`);
        changed = true;
      }
      const running = mine.filter((p) => podPhase(p) !== 'Failed');
      if (
        running.length === 0 &&
        (byNode.get(nodeName) ?? []).every((p) => !isTerminating(p) || podPhase(p) === 'Failed')
      ) {
        const pod = podFromTemplate(at(ds, 'spec.template'), ds, 'apps/v1', 'DaemonSet');
        const m = pod['metadata'] as JsonObject;
        m['generateName'] = `${nameOf(ds)}-`;
        m['labels'] = {
          ...labelsOf(pod),
          [REVISION_LABEL]: rev.hash,
          'pod-template-generation': String(num(at(ds, 'metadata.generation'), 1)),
        };
        const ps = pod['spec'] as JsonObject;
        ps['affinity'] = {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] },
              ],
            },
          },
        };
        const tolerations = objs(ps['tolerations']);
        for (const t of DS_TOLERATIONS)
          if (!tolerations.some((x) => x['key'] === t['key'] && x['effect'] === t['effect']))
            tolerations.push(clone(t));
        ps['tolerations'] = tolerations;
        const created = api.createInternal(types.pod, ns, pod, MANAGER);
        record('SuccessfulCreate', `Created pod: ${nameOf(created)}`);
        changed = true;
      } else if (running.length > 1) {
        for (const p of running.slice(1)) {
          api.deleteInternal(types.pod, ns, nameOf(p));
          record('SuccessfulDelete', `Deleted pod: ${nameOf(p)}`);
          changed = true;
        }
      }
    }
    // Pods on nodes that are no longer eligible.
    const eligible = new Set(nodes.map(nameOf));
    for (const [node, list] of byNode) {
      if (eligible.has(node)) continue;
      for (const p of list.filter((x) => !isTerminating(x))) {
        api.deleteInternal(types.pod, ns, nameOf(p));
        record('SuccessfulDelete', `Deleted pod: ${nameOf(p)}`);
        changed = true;
      }
    }
    const rolling = (at(ds, 'spec.updateStrategy.type') ?? 'RollingUpdate') === 'RollingUpdate';
    if (!changed && rolling) {
      const maxUnavailable = Math.max(
        1,
        scaledValue(at(ds, 'spec.updateStrategy.rollingUpdate.maxUnavailable'), desired, true, 1),
      );
      const nodePods = nodes.map((n) => (byNode.get(nameOf(n)) ?? []).filter((p) => !isTerminating(p)));
      const unavailable = nodePods.filter(
        (list) => !list.some((p) => isPodAvailable(p, minReady, clock.now)),
      ).length;
      let budget = maxUnavailable - unavailable;
      for (const list of nodePods) {
        const old = list.filter((p) => !isCurrent(p));
        for (const p of old) {
          const available = isPodAvailable(p, minReady, clock.now);
          if (available && budget <= 0) continue;
          api.deleteInternal(types.pod, ns, nameOf(p));
          record('SuccessfulDelete', `Deleted pod: ${nameOf(p)}`);
          if (available) budget--;
        }
      }
    }
    const onEligible = nodes.map((n) => (byNode.get(nameOf(n)) ?? []).filter((p) => !isTerminating(p)));
    const scheduled = onEligible.filter((l) => l.length > 0).length;
    const ready = onEligible.filter((l) => l.some(isPodReady)).length;
    const available = onEligible.filter((l) => l.some((p) => isPodAvailable(p, minReady, clock.now))).length;
    const updated = onEligible.filter((l) => l.some(isCurrent)).length;
    const status: JsonObject = {
      currentNumberScheduled: scheduled,
      numberMisscheduled: 0,
      desiredNumberScheduled: desired,
      numberReady: ready,
      observedGeneration: num(at(ds, 'metadata.generation'), 1),
      updatedNumberScheduled: updated,
      numberAvailable: available,
      ...(desired - available > 0 ? { numberUnavailable: desired - available } : {}),
    };
    if (available === 0) delete status['numberAvailable'];
    if (updated === 0) delete status['updatedNumberScheduled'];
    writeStatus(this.ctx, types.daemonSet, ds, status);
    cleanRevisions(
      this.ctx,
      ds,
      new Set([rev.name, ...pods.map((p) => `${nameOf(ds)}-${labelsOf(p)[REVISION_LABEL] ?? ''}`)]),
    );
  }
}

// ----- Job ----------------------------------------------------------------------------------------------------

interface JobMemory {
  succeeded: Set<string>;
  failed: Set<string>;
  nextCreate: number;
}

export class JobController {
  private readonly memory = new Map<string, JobMemory>();

  constructor(private readonly ctx: SimContext) {}

  sync(): void {
    const jobs = this.ctx.api.all(this.ctx.types.job);
    for (const job of jobs) safely(() => this.syncOne(job));
    const live = new Set(jobs.map(uidOf));
    for (const uid of [...this.memory.keys()]) if (!live.has(uid)) this.memory.delete(uid);
  }

  private finished(job: JsonObject): string | undefined {
    for (const type of ['Complete', 'Failed']) if (condition(job, type)?.['status'] === 'True') return type;
    return undefined;
  }

  private syncOne(job: JsonObject): void {
    const { api, types, events, clock } = this.ctx;
    if (isTerminating(job)) return;
    const ns = namespaceOf(job);
    const uid = uidOf(job);
    let mem = this.memory.get(uid);
    if (!mem) this.memory.set(uid, (mem = { succeeded: new Set(), failed: new Set(), nextCreate: 0 }));
    const pods = ownedBy(api.all(types.pod, ns), uid);
    const active = pods.filter(isPodActive);
    const now = rfc3339(clock.now);
    const old = isObject(job['status']) ? job['status'] : {};
    const status: JsonObject = clone(old);
    if (this.finished(job)) {
      for (const p of active) api.deleteInternal(types.pod, ns, nameOf(p));
      return;
    }
    const suspended = at(job, 'spec.suspend') === true;
    if (!suspended && status['startTime'] === undefined) status['startTime'] = now;
    for (const p of pods) {
      if (podPhase(p) === 'Succeeded') mem.succeeded.add(uidOf(p));
      if (podPhase(p) === 'Failed' && !mem.failed.has(uidOf(p))) {
        mem.failed.add(uidOf(p));
        // Back-off before replacing failed pods: 10 s doubling, capped at 6 minutes.
        mem.nextCreate = clock.now + Math.min(10_000 * 2 ** (mem.failed.size - 1), 360_000);
      }
    }
    const restartPolicy = at(job, 'spec.template.spec.restartPolicy');
    const restarts =
      restartPolicy === 'OnFailure'
        ? active.reduce(
            (s, p) =>
              s + objs(at(p, 'status.containerStatuses')).reduce((r, c) => r + num(c['restartCount']), 0),
            0,
          )
        : 0;
    const succeeded = mem.succeeded.size;
    const failed = mem.failed.size;
    const completions = at(job, 'spec.completions');
    const parallelism = num(at(job, 'spec.parallelism'), 1);
    const backoffLimit = num(at(job, 'spec.backoffLimit'), 6);
    const deadline = at(job, 'spec.activeDeadlineSeconds');
    const started = parseTime(status['startTime']);
    const conditions = objs(status['conditions']);
    const setCond = (type: string, reason: string, message: string): void => {
      if (conditions.some((c) => c['type'] === type)) return;
      conditions.push({ type, status: 'True', lastProbeTime: now, lastTransitionTime: now, reason, message });
    };
    let failure: { reason: string; message: string } | undefined;
    if (failed + restarts > backoffLimit)
      failure = { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
    else if (
      typeof deadline === 'number' &&
      started !== undefined &&
      started + deadline * 1000 <= clock.now
    ) {
      failure = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
    } else if (typeof deadline === 'number' && started !== undefined) {
      this.ctx.wake(started + deadline * 1000);
    }
    const target = typeof completions === 'number' ? completions : 1;
    if (failure) {
      for (const p of active) api.deleteInternal(types.pod, ns, nameOf(p));
      setCond('FailureTarget', failure.reason, failure.message);
      setCond('Failed', failure.reason, failure.message);
      events.record(job, 'Warning', failure.reason, failure.message, { component: 'job-controller' });
    } else if (succeeded >= target) {
      for (const p of active) api.deleteInternal(types.pod, ns, nameOf(p));
      setCond('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods');
      setCond('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods');
      status['completionTime'] = now;
      events.record(job, 'Normal', 'Completed', 'Job completed', { component: 'job-controller' });
    } else if (!suspended) {
      const want = Math.min(parallelism, target - succeeded);
      if (active.length < want) {
        if (clock.now >= mem.nextCreate) {
          for (let i = active.length; i < want; i++) {
            const pod = podFromTemplate(at(job, 'spec.template'), job, 'batch/v1', 'Job');
            (pod['metadata'] as JsonObject)['generateName'] = `${nameOf(job)}-`;
            const created = api.createInternal(types.pod, ns, pod, MANAGER);
            events.record(job, 'Normal', 'SuccessfulCreate', `Created pod: ${nameOf(created)}`, {
              component: 'job-controller',
            });
          }
        } else {
          this.ctx.wake(mem.nextCreate);
        }
      } else if (active.length > want) {
        for (const p of active.slice(want)) {
          api.deleteInternal(types.pod, ns, nameOf(p));
          events.record(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${nameOf(p)}`, {
            component: 'job-controller',
          });
        }
      }
    }
    if (conditions.length) status['conditions'] = conditions;
    const stillActive = failure || succeeded >= target ? 0 : pods.filter(isPodActive).length;
    const put = (k: string, v: number): void => {
      if (v) status[k] = v;
      else delete status[k];
    };
    put('active', stillActive);
    put('succeeded', succeeded);
    put('failed', failed);
    status['ready'] = pods.filter((p) => isPodActive(p) && isPodReady(p)).length;
    status['terminating'] = pods.filter(isTerminating).length;
    status['uncountedTerminatedPods'] = {};
    writeStatus(this.ctx, types.job, job, status);
  }
}

// ----- CronJob ------------------------------------------------------------------------------------------------

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

function parseField(field: string, min: number, max: number): Set<number> {
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText ? Number(stepText) : 1;
    let lo = min;
    let hi = max;
    if (range && range !== '*' && range !== '?') {
      const [a, b] = range.split('-');
      lo = Number(a);
      hi = b !== undefined ? Number(b) : stepText ? max : lo;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** The first minute strictly after `after` (epoch ms, UTC) matching a 5-field schedule. */
export function nextSchedule(schedule: string, after: number): number | undefined {
  const fields = (MACROS[schedule.trim()] ?? schedule).trim().split(/\s+/);
  if (fields.length !== 5) return undefined;
  const [mi, h, dom, mon, dow] = fields as [string, string, string, string, string];
  const minutes = parseField(mi, 0, 59);
  const hours = parseField(h, 0, 23);
  const days = parseField(dom, 1, 31);
  const months = parseField(mon, 1, 12);
  const weekdays = parseField(dow.replace(/7/g, '0'), 0, 6);
  const anyDom = dom === '*' || dom === '?';
  const anyDow = dow === '*' || dow === '?';
  let t = Math.floor(after / 60_000) * 60_000 + 60_000;
  for (let i = 0; i < 60 * 24 * 366; i++, t += 60_000) {
    const d = new Date(t);
    if (!minutes.has(d.getUTCMinutes()) || !hours.has(d.getUTCHours()) || !months.has(d.getUTCMonth() + 1))
      continue;
    const domOk = days.has(d.getUTCDate());
    const dowOk = weekdays.has(d.getUTCDay());
    if (anyDom && anyDow ? true : anyDom ? dowOk : anyDow ? domOk : domOk || dowOk) return t;
  }
  return undefined;
}

export class CronJobController {
  constructor(private readonly ctx: SimContext) {}

  sync(): void {
    for (const cj of this.ctx.api.all(this.ctx.types.cronJob)) safely(() => this.syncOne(cj));
  }

  private syncOne(cj: JsonObject): void {
    const { api, types, events, clock } = this.ctx;
    if (isTerminating(cj)) return;
    const ns = namespaceOf(cj);
    const jobs = ownedBy(api.all(types.job, ns), uidOf(cj));
    const status: JsonObject = isObject(cj['status']) ? clone(cj['status']) : {};
    const record = (type: 'Normal' | 'Warning', reason: string, message: string): void => {
      events.record(cj, type, reason, message, { component: 'cronjob-controller' });
    };
    const finishedType = (j: JsonObject): string | undefined => {
      for (const type of ['Complete', 'Failed']) if (condition(j, type)?.['status'] === 'True') return type;
      return undefined;
    };
    const activeRefs = objs(status['active']);
    const stillActive: JsonObject[] = [];
    for (const ref of activeRefs) {
      const j = jobs.find((x) => uidOf(x) === ref['uid']);
      if (!j) continue;
      const f = finishedType(j);
      if (f) {
        record('Normal', 'SawCompletedJob', `Saw completed job: ${nameOf(j)}, condition: ${f}`);
        if (f === 'Complete')
          status['lastSuccessfulTime'] = at(j, 'status.completionTime') ?? rfc3339(clock.now);
      } else stillActive.push(ref);
    }
    for (const j of jobs) {
      if (!finishedType(j) && !stillActive.some((r) => r['uid'] === uidOf(j))) stillActive.push(jobRef(j));
    }
    const schedule = String(at(cj, 'spec.schedule') ?? '');
    const created = parseTime(at(cj, 'metadata.creationTimestamp')) ?? clock.now;
    const last = parseTime(status['lastScheduleTime']) ?? created;
    const next = nextSchedule(schedule, last);
    if (next !== undefined && next <= clock.now && at(cj, 'spec.suspend') !== true) {
      // Only the most recent missed time is started (as the controller does when several were missed).
      let due = next;
      for (
        let n = nextSchedule(schedule, due);
        n !== undefined && n <= clock.now;
        n = nextSchedule(schedule, due)
      )
        due = n;
      const policy = at(cj, 'spec.concurrencyPolicy') ?? 'Allow';
      let start = true;
      if (stillActive.length > 0 && policy === 'Forbid') {
        start = false;
        record(
          'Normal',
          'JobAlreadyActive',
          'Not starting job because prior execution is running and concurrency policy is Forbid',
        );
      }
      if (start && stillActive.length > 0 && policy === 'Replace') {
        for (const ref of stillActive.splice(0)) {
          api.deleteInternal(types.job, ns, String(ref['name']), 'Background');
          record('Normal', 'SuccessfulDelete', `Deleted job ${String(ref['name'])}`);
        }
      }
      if (start) {
        const jt = isObject(at(cj, 'spec.jobTemplate'))
          ? clone(at(cj, 'spec.jobTemplate') as JsonObject)
          : {};
        const name = `${nameOf(cj)}-${Math.floor(due / 60_000)}`;
        const jm = isObject(jt['metadata']) ? jt['metadata'] : {};
        const job: JsonObject = {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: {
            ...jm,
            name,
            namespace: ns,
            annotations: {
              ...(isObject(jm['annotations']) ? jm['annotations'] : {}),
              'batch.kubernetes.io/cronjob-scheduled-timestamp': rfc3339(due),
            },
            ownerReferences: [ownerRef(cj, 'batch/v1', 'CronJob')],
          },
          spec: isObject(jt['spec']) ? jt['spec'] : {},
        };
        try {
          const j = api.createInternal(types.job, ns, job, MANAGER);
          stillActive.push(jobRef(j));
          record('Normal', 'SuccessfulCreate', `Created job ${name}`);
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
        }
      }
      status['lastScheduleTime'] = rfc3339(due);
    }
    const after = nextSchedule(
      schedule,
      Math.max(parseTime(status['lastScheduleTime']) ?? created, clock.now - 60_000),
    );
    if (after !== undefined) this.ctx.wake(after);
    if (stillActive.length) status['active'] = stillActive;
    else delete status['active'];
    writeStatus(this.ctx, types.cronJob, cj, status);
    // History limits.
    const finished = jobs.filter((j) => finishedType(j) && !isTerminating(j));
    for (const [type, key, fallback] of [
      ['Complete', 'successfulJobsHistoryLimit', 3],
      ['Failed', 'failedJobsHistoryLimit', 1],
    ] as const) {
      const limit = num(at(cj, `spec.${key}`), fallback);
      const list = finished
        .filter((j) => finishedType(j) === type)
        .sort(
          (a, b) =>
            (parseTime(at(a, 'metadata.creationTimestamp')) ?? 0) -
            (parseTime(at(b, 'metadata.creationTimestamp')) ?? 0),
        );
      for (const j of list.slice(0, Math.max(0, list.length - limit))) {
        api.deleteInternal(types.job, ns, nameOf(j), 'Background');
        record('Normal', 'SuccessfulDelete', `Deleted job ${nameOf(j)}`);
      }
    }
  }
}

function jobRef(j: JsonObject): JsonObject {
  return {
    kind: 'Job',
    namespace: namespaceOf(j),
    name: nameOf(j),
    uid: uidOf(j),
    apiVersion: 'batch/v1',
    resourceVersion: String(at(j, 'metadata.resourceVersion') ?? ''),
  };
}
