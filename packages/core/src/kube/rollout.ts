/**
 * When is a rollout done: kubectl's rules (`kubectl rollout status`, kubectl's
 * `pkg/polymorphichelpers/rollout_status.go`) as pure functions over the objects the API server returns (plain
 * JSON, no client types), plus Job completion from the Job controller's conditions, and a pass-through for kinds
 * that have nothing to wait for.
 *
 * - Deployment: nothing is decided until `status.observedGeneration` caught up with `metadata.generation`. Then the
 *   `Progressing` condition with reason `ProgressDeadlineExceeded` fails it; `updatedReplicas < spec.replicas`,
 *   `status.replicas > updatedReplicas` (old replicas terminating) and `availableReplicas < updatedReplicas` wait;
 *   otherwise it is done.
 * - StatefulSet: waits while `observedGeneration` is 0 or behind, then while `readyReplicas < spec.replicas`; with a
 *   `rollingUpdate` (the API server defaults it, partition 0) it is done once `updatedReplicas >= replicas -
 *   partition`; without one, once `updateRevision == currentRevision`.
 * - DaemonSet: waits while `observedGeneration` is behind, `updatedNumberScheduled < desiredNumberScheduled` or
 *   `numberAvailable < desiredNumberScheduled`.
 * - OnDelete (StatefulSet, DaemonSet): kubectl refuses ("rollout status is only available for RollingUpdate
 *   strategy type") while calling it done. Pods of an OnDelete workload change only when someone deletes them, so
 *   there is nothing to wait for: Kiln reports it done with a note instead of failing every deploy of it.
 * - Job (kubectl has no rollout status for Jobs; `kubectl wait --for=condition=Complete` is the usual way): done
 *   when the `Complete` condition is True; failed when `Failed` or `FailureTarget` (the controller's interim
 *   condition while the last pods terminate, Kubernetes ≥ 1.31) is True, with the condition's reason
 *   (`BackoffLimitExceeded`, `DeadlineExceeded`, `PodFailurePolicy`, `MaxFailedIndexesExceeded`); failed as well
 *   when `status.failed` already exceeds `spec.backoffLimit` (the controller's own rule) before it wrote the
 *   condition.
 */

/** Object metadata, as far as waiting needs it. */
export interface KubeMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: {
    apiVersion?: string;
    kind?: string;
    name?: string;
    uid?: string;
    controller?: boolean;
  }[];
  [key: string]: unknown;
}

/** Any Kubernetes object as the API returns it (JSON). Fields are read defensively: nothing here is trusted. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: KubeMeta;
  spec?: unknown;
  status?: unknown;
  [key: string]: unknown;
}

export interface RolloutStatus {
  /** The rollout finished (kubectl would exit 0). */
  done: boolean;
  /** The rollout failed for good (kubectl would exit with an error): the reason is Kubernetes' own word. */
  failed?: { reason: string; message: string };
  /** A short account for progress lines: `2/3 updated, 1/3 available`. */
  progress: string;
  /** kubectl's own sentence for this state (`Waiting for deployment "api" rollout to finish: …`). */
  message: string;
  /** What keeps it from progressing without failing it (paused, suspended, a ReplicaFailure condition). */
  blocked?: string;
  /** A remark on a done status (OnDelete: not waited for). */
  note?: string;
}

/** The kinds that have a rollout to wait for; any other kind is done once applied. */
export const WAITABLE_KINDS: readonly string[] = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'];

export function isWaitable(kind: string | undefined): boolean {
  return kind !== undefined && WAITABLE_KINDS.includes(kind);
}

// ---- defensive readers (shared with pod-diagnosis.ts and wait.ts) ----

export type Json = Record<string, unknown>;

export function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at a path of keys, or undefined. */
export function at(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const k of path) {
    if (!isObj(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

export function num(v: unknown, ...path: string[]): number | undefined {
  const x = at(v, ...path);
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
}

export function str(v: unknown, ...path: string[]): string | undefined {
  const x = at(v, ...path);
  return typeof x === 'string' ? x : undefined;
}

export function arr(v: unknown, ...path: string[]): unknown[] {
  const x = at(v, ...path);
  return Array.isArray(x) ? x : [];
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** The conditions of `status.conditions` that have a type and a status. */
export function conditions(obj: unknown): Condition[] {
  return arr(obj, 'status', 'conditions')
    .filter(isObj)
    .filter((c) => typeof c['type'] === 'string' && typeof c['status'] === 'string')
    .map((c) => ({
      type: c['type'] as string,
      status: c['status'] as string,
      reason: str(c, 'reason'),
      message: str(c, 'message'),
      lastTransitionTime: str(c, 'lastTransitionTime'),
    }));
}

export function condition(obj: unknown, type: string): Condition | undefined {
  return conditions(obj).find((c) => c.type === type);
}

// ---- the rules ----

/** Where a workload stands: kubectl's verdict for Deployment, StatefulSet, DaemonSet; Job completion; else done. */
export function rolloutStatus(obj: KubeObject): RolloutStatus {
  switch (obj.kind) {
    case 'Deployment':
      return deploymentStatus(obj);
    case 'StatefulSet':
      return statefulSetStatus(obj);
    case 'DaemonSet':
      return daemonSetStatus(obj);
    case 'Job':
      return jobStatus(obj);
    default:
      return {
        done: true,
        progress: 'applied, nothing to wait for',
        message: `${obj.kind ?? 'object'} ${JSON.stringify(obj.metadata?.name ?? '')} has no rollout to wait for`,
      };
  }
}

function generationBehind(obj: KubeObject): { generation: number; observed: number } | undefined {
  const generation = num(obj, 'metadata', 'generation') ?? 0;
  const observed = num(obj, 'status', 'observedGeneration') ?? 0;
  return generation > observed ? { generation, observed } : undefined;
}

function notObserved(what: string, b: { generation: number; observed: number }): string {
  return `waiting for the ${what} controller to observe generation ${b.generation} (observed ${b.observed})`;
}

/** kubectl's DeploymentStatusViewer. */
function deploymentStatus(d: KubeObject): RolloutStatus {
  const name = JSON.stringify(d.metadata?.name ?? '');
  const specReplicas = num(d, 'spec', 'replicas');
  const replicas = num(d, 'status', 'replicas') ?? 0;
  const updated = num(d, 'status', 'updatedReplicas') ?? 0;
  const available = num(d, 'status', 'availableReplicas') ?? 0;
  const want = specReplicas ?? replicas;
  const old = replicas - updated;
  const counts =
    `${updated}/${want} updated, ${available}/${want} available` + (old > 0 ? `, ${old} old` : '');
  const blocked = deploymentBlocked(d);
  const behind = generationBehind(d);
  if (behind)
    return {
      done: false,
      progress: notObserved('deployment', behind),
      message: 'Waiting for deployment spec update to be observed...',
      blocked,
    };
  const progressing = condition(d, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    const seconds = num(d, 'spec', 'progressDeadlineSeconds');
    return {
      done: false,
      failed: {
        reason: 'ProgressDeadlineExceeded',
        message:
          `deployment ${name} exceeded its progress deadline` +
          (seconds !== undefined ? ` (progressDeadlineSeconds ${seconds})` : '') +
          (progressing.message ? `: ${progressing.message}` : ''),
      },
      progress: counts,
      message: `deployment ${name} exceeded its progress deadline`,
      blocked,
    };
  }
  const waiting = (message: string): RolloutStatus => ({ done: false, progress: counts, message, blocked });
  const prefix = `Waiting for deployment ${name} rollout to finish: `;
  if (specReplicas !== undefined && updated < specReplicas)
    return waiting(`${prefix}${updated} out of ${specReplicas} new replicas have been updated...`);
  if (replicas > updated) return waiting(`${prefix}${old} old replicas are pending termination...`);
  if (available < updated)
    return waiting(`${prefix}${available} of ${updated} updated replicas are available...`);
  return { done: true, progress: counts, message: `deployment ${name} successfully rolled out` };
}

/** Why a Deployment may not move: paused, or a ReplicaFailure condition (quota, admission) from its ReplicaSet. */
function deploymentBlocked(d: KubeObject): string | undefined {
  const parts: string[] = [];
  if (at(d, 'spec', 'paused') === true)
    parts.push('the Deployment is paused (spec.paused): it will not roll out until resumed');
  const failure = condition(d, 'ReplicaFailure');
  if (failure?.status === 'True')
    parts.push(
      `ReplicaFailure ${failure.reason ?? ''}${failure.message ? `: ${failure.message}` : ''}`.trim(),
    );
  return parts.length > 0 ? parts.join('; ') : undefined;
}

const ON_DELETE_NOTE =
  'updateStrategy OnDelete: pods change only when deleted, so there is nothing to wait for (kubectl rollout status refuses this strategy)';

/** kubectl's StatefulSetStatusViewer. */
function statefulSetStatus(s: KubeObject): RolloutStatus {
  const strategy = str(s, 'spec', 'updateStrategy', 'type') ?? 'RollingUpdate';
  const specReplicas = num(s, 'spec', 'replicas');
  const ready = num(s, 'status', 'readyReplicas') ?? 0;
  const updated = num(s, 'status', 'updatedReplicas') ?? 0;
  const want = specReplicas ?? num(s, 'status', 'replicas') ?? 0;
  const rollingUpdate = at(s, 'spec', 'updateStrategy', 'rollingUpdate');
  const partition = num(rollingUpdate, 'partition');
  const target = specReplicas !== undefined && partition !== undefined ? specReplicas - partition : want;
  const counts =
    `${ready}/${want} ready, ${updated}/${target} updated` +
    (partition !== undefined && partition > 0 ? ` (partition ${partition})` : '');
  if (strategy !== 'RollingUpdate')
    return {
      done: true,
      progress: `${counts}; ${strategy}, not waited for`,
      message: 'rollout status is only available for RollingUpdate strategy type',
      note: ON_DELETE_NOTE,
    };
  const observed = num(s, 'status', 'observedGeneration') ?? 0;
  const behind = generationBehind(s);
  if (observed === 0 || behind)
    return {
      done: false,
      progress: notObserved(
        'statefulset',
        behind ?? { generation: num(s, 'metadata', 'generation') ?? 0, observed },
      ),
      message: 'Waiting for statefulset spec update to be observed...',
    };
  if (specReplicas !== undefined && ready < specReplicas)
    return {
      done: false,
      progress: counts,
      message: `Waiting for ${specReplicas - ready} pods to be ready...`,
    };
  if (isObj(rollingUpdate)) {
    if (specReplicas !== undefined && partition !== undefined && updated < specReplicas - partition)
      return {
        done: false,
        progress: counts,
        message: `Waiting for partitioned roll out to finish: ${updated} out of ${specReplicas - partition} new pods have been updated...`,
      };
    return {
      done: true,
      progress: counts,
      message: `partitioned roll out complete: ${updated} new pods have been updated...`,
    };
  }
  const updateRevision = str(s, 'status', 'updateRevision') ?? '';
  const currentRevision = str(s, 'status', 'currentRevision') ?? '';
  if (updateRevision !== currentRevision)
    return {
      done: false,
      progress: counts,
      message: `waiting for statefulset rolling update to complete ${updated} pods at revision ${updateRevision}...`,
    };
  return {
    done: true,
    progress: counts,
    message: `statefulset rolling update complete ${num(s, 'status', 'currentReplicas') ?? 0} pods at revision ${currentRevision}...`,
  };
}

/** kubectl's DaemonSetStatusViewer. */
function daemonSetStatus(ds: KubeObject): RolloutStatus {
  const name = JSON.stringify(ds.metadata?.name ?? '');
  const strategy = str(ds, 'spec', 'updateStrategy', 'type') ?? 'RollingUpdate';
  const desired = num(ds, 'status', 'desiredNumberScheduled') ?? 0;
  const updated = num(ds, 'status', 'updatedNumberScheduled') ?? 0;
  const available = num(ds, 'status', 'numberAvailable') ?? 0;
  const counts = `${updated}/${desired} updated, ${available}/${desired} available`;
  if (strategy !== 'RollingUpdate')
    return {
      done: true,
      progress: `${counts}; ${strategy}, not waited for`,
      message: 'rollout status is only available for RollingUpdate strategy type',
      note: ON_DELETE_NOTE,
    };
  const behind = generationBehind(ds);
  if (behind)
    return {
      done: false,
      progress: notObserved('daemon set', behind),
      message: 'Waiting for daemon set spec update to be observed...',
    };
  const prefix = `Waiting for daemon set ${name} rollout to finish: `;
  if (updated < desired)
    return {
      done: false,
      progress: counts,
      message: `${prefix}${updated} out of ${desired} new pods have been updated...`,
    };
  if (available < desired)
    return {
      done: false,
      progress: counts,
      message: `${prefix}${available} of ${desired} updated pods are available...`,
    };
  return { done: true, progress: counts, message: `daemon set ${name} successfully rolled out` };
}

/** Job completion: the Job controller's conditions, and its backoffLimit rule. */
function jobStatus(job: KubeObject): RolloutStatus {
  const name = JSON.stringify(job.metadata?.name ?? '');
  const completions = num(job, 'spec', 'completions');
  const succeeded = num(job, 'status', 'succeeded') ?? 0;
  const active = num(job, 'status', 'active') ?? 0;
  const failedPods = num(job, 'status', 'failed') ?? 0;
  const backoffLimit = num(job, 'spec', 'backoffLimit');
  const counts =
    `${completions !== undefined ? `${succeeded}/${completions}` : succeeded} succeeded, ${active} active` +
    (failedPods > 0
      ? `, ${failedPods} failed${backoffLimit !== undefined ? ` (backoffLimit ${backoffLimit})` : ''}`
      : '');
  const isTrue = (type: string): Condition | undefined => {
    const c = condition(job, type);
    return c?.status === 'True' ? c : undefined;
  };
  const failed = isTrue('Failed') ?? isTrue('FailureTarget');
  if (failed) {
    const reason = failed.reason ?? 'Failed';
    return {
      done: false,
      failed: { reason, message: `job ${name} failed: ${failed.message ?? reason}` },
      progress: counts,
      message: `job ${name} failed`,
    };
  }
  if (isTrue('Complete')) return { done: true, progress: counts, message: `job ${name} completed` };
  // The controller's rule, before it wrote the condition (a per-index backoff limit counts differently: conditions only).
  if (
    backoffLimit !== undefined &&
    at(job, 'spec', 'backoffLimitPerIndex') === undefined &&
    failedPods > backoffLimit
  )
    return {
      done: false,
      failed: {
        reason: 'BackoffLimitExceeded',
        message: `job ${name} failed: ${failedPods} pods failed, more than its backoffLimit ${backoffLimit}`,
      },
      progress: counts,
      message: `job ${name} failed`,
    };
  const suspended = isTrue('Suspended') !== undefined || at(job, 'spec', 'suspend') === true;
  return {
    done: false,
    progress: isTrue('SuccessCriteriaMet') ? `${counts}, success criteria met` : counts,
    message: `Waiting for job ${name} to complete...`,
    blocked: suspended ? 'the Job is suspended (spec.suspend): it runs no pods until resumed' : undefined,
  };
}
