/**
 * Why a rollout does not finish, from its new pods: what a user would find with `kubectl describe pod`, as one
 * line that names the pod, the container, the kubelet's reason and its message.
 *
 * The new pods are the ones of the revision being rolled out: the Deployment's new ReplicaSet (the one with the
 * Deployment's `deployment.kubernetes.io/revision`, its `pod-template-hash`), the StatefulSet's
 * `status.updateRevision` (`controller-revision-hash`), the DaemonSet's template generation
 * (`pod-template-generation`, else its newest ControllerRevision's hash), the Job's uid (`controller-uid`).
 *
 * **Fatal or transient.** A problem is `fatal` when waiting longer will not heal it, so the wait fails at once with
 * it instead of running into the deadline; anything else is reported when the deadline comes.
 * - `InvalidImageName`, `ErrImageNeverPull`: fatal at once (the pod spec itself is wrong).
 * - `ErrImagePull` / `ImagePullBackOff`: fatal once one pod failed to pull its image `failureThreshold` times (the
 *   kubelet's `Failed to pull image` events and their count), or twice when the registry's answer is one that
 *   retrying does not change (not found, manifest unknown, unauthorized, denied, forbidden, a certificate
 *   error): a registry hiccup (timeout, 5xx, rate limit) on the first pulls does not fail a deploy, a wrong tag
 *   fails within the kubelet's first back-off (~10 s).
 * - `CreateContainerConfigError` (a missing ConfigMap, Secret or key), `CreateContainerError`,
 *   `RunContainerError`: fatal once the kubelet failed `failureThreshold` times (its `Failed` events' count), so
 *   a Secret that an operator creates a moment after the apply (sealed-secrets, external-secrets) is no failure.
 * - `CrashLoopBackOff`, a container restarting (liveness kills) and `OOMKilled`: fatal once the container restarted
 *   `failureThreshold` times — except for Jobs, whose own `backoffLimit` decides (`crashLoopsFatal: false`).
 * - Never fatal: unschedulable (an autoscaler may add a node), `ContainerCreating` with its FailedMount /
 *   FailedCreatePodSandBox events, a container running but not ready (its `Unhealthy` probe events), a Job pod
 *   that failed (the Job's backoffLimit decides).
 * Without events (no permission to list them) counts are 1: those reasons are then reported at the deadline.
 */
import { arr, at, condition, isObj, num, str, type Json, type KubeObject } from './rollout.js';

/** What the waiting loop reads about a workload's pods. */
export interface PodsSnapshot {
  pods: KubeObject[];
  /** Events of the namespace (or of the pods): only those about the pods given are used. */
  events: KubeObject[];
  /** A Deployment's ReplicaSets: to tell its new pods (pod-template-hash) from the old ones. */
  replicaSets?: KubeObject[];
  /** A DaemonSet's ControllerRevisions (only needed when its template-generation annotation is missing). */
  controllerRevisions?: KubeObject[];
}

export interface PodProblem {
  pod: string;
  /** `pod api-6d8f7b9c5d-k8j2p`, with the container when the pod has several or it is an init container. */
  subject: string;
  container?: string;
  initContainer?: boolean;
  /** The kubelet's or the scheduler's reason (`CrashLoopBackOff`, `Unschedulable`…), or `Restarting`, `NotReady`. */
  reason: string;
  /** The message: the termination message, the registry's answer, the missing key, the scheduler's account. */
  detail: string;
  /** Waiting will not heal it (see the policy above). */
  fatal: boolean;
  image?: string;
  exitCode?: number;
  restarts?: number;
  /** How many times the kubelet tried (failed pulls, failed container creations). */
  attempts?: number;
}

export interface PodDiagnosis extends PodProblem {
  /** `pod api-6d8f7b9c5d-k8j2p: CrashLoopBackOff (exit 1: config missing; 3 restarts)`, one line. */
  text: string;
  /** Other new pods that have a problem too. */
  otherPods: number;
}

export interface DiagnoseOptions {
  /** Restarts, failed pulls or failed attempts that make a problem fatal (≥ 1). */
  failureThreshold: number;
  /** Events older than this (ms since the epoch) are ignored. */
  since?: number;
  /** The workload: only its new pods are looked at (all pods given, when absent). */
  workload?: KubeObject;
  replicaSets?: KubeObject[];
  controllerRevisions?: KubeObject[];
  /** Whether restarts make a problem fatal (default true; false for Jobs: their backoffLimit decides). */
  crashLoopsFatal?: boolean;
}

const POD_TEMPLATE_HASH = 'pod-template-hash';
const REVISION_HASH = 'controller-revision-hash';
const DEPLOYMENT_REVISION = 'deployment.kubernetes.io/revision';

/** The longest message kept in a line (a termination message can be 4 KiB). */
const MAX_DETAIL = 300;

// ---- which pods are new ----

function labelOf(o: KubeObject, key: string): string | undefined {
  const v = o.metadata?.labels?.[key];
  return typeof v === 'string' ? v : undefined;
}

function annotationOf(o: KubeObject, key: string): string | undefined {
  const v = o.metadata?.annotations?.[key];
  return typeof v === 'string' ? v : undefined;
}

function controlledBy(o: KubeObject, uid: string | undefined): boolean {
  if (!uid) return true;
  const refs = Array.isArray(o.metadata?.ownerReferences) ? o.metadata.ownerReferences : [];
  return refs.some((r) => isObj(r) && r.uid === uid);
}

function created(o: KubeObject): number {
  const t = Date.parse(o.metadata?.creationTimestamp ?? '');
  return Number.isNaN(t) ? 0 : t;
}

/** The label value of the most recently created pod that has the label (a fallback when owners are missing). */
function newestLabel(pods: KubeObject[], key: string): string | undefined {
  let best: KubeObject | undefined;
  for (const p of pods) if (labelOf(p, key) !== undefined && (!best || created(p) > created(best))) best = p;
  return best ? labelOf(best, key) : undefined;
}

/** Which pods belong to the revision being rolled out; undefined: every pod given. */
export function newPodFilter(
  workload: KubeObject,
  pods: KubeObject[],
  related: { replicaSets?: KubeObject[]; controllerRevisions?: KubeObject[] } = {},
): ((pod: KubeObject) => boolean) | undefined {
  const uid = workload.metadata?.uid;
  const byLabel = (key: string, value: string | undefined) =>
    value === undefined ? undefined : (p: KubeObject) => labelOf(p, key) === value;
  switch (workload.kind) {
    case 'Deployment': {
      const revision = annotationOf(workload, DEPLOYMENT_REVISION);
      const rs = (related.replicaSets ?? []).find(
        (r) =>
          controlledBy(r, uid) && revision !== undefined && annotationOf(r, DEPLOYMENT_REVISION) === revision,
      );
      const hash = rs ? labelOf(rs, POD_TEMPLATE_HASH) : newestLabel(pods, POD_TEMPLATE_HASH);
      return byLabel(POD_TEMPLATE_HASH, hash);
    }
    case 'StatefulSet':
      return byLabel(
        REVISION_HASH,
        str(workload, 'status', 'updateRevision') ?? newestLabel(pods, REVISION_HASH),
      );
    case 'DaemonSet': {
      const generation = annotationOf(workload, 'deprecated.daemonset.template.generation');
      if (generation !== undefined) return byLabel('pod-template-generation', generation);
      const newest = (related.controllerRevisions ?? [])
        .filter((r) => controlledBy(r, uid))
        .sort((a, b) => (num(b, 'revision') ?? 0) - (num(a, 'revision') ?? 0))[0];
      return byLabel(
        REVISION_HASH,
        newest ? labelOf(newest, REVISION_HASH) : newestLabel(pods, REVISION_HASH),
      );
    }
    case 'Job':
      return uid
        ? (p) =>
            labelOf(p, 'batch.kubernetes.io/controller-uid') === uid ||
            labelOf(p, 'controller-uid') === uid ||
            (p.metadata?.ownerReferences ?? []).some((r) => isObj(r) && r.uid === uid)
        : undefined;
    default:
      return undefined;
  }
}

/** The workload's new pods among `pods` (pods being deleted left out). */
export function newPods(
  workload: KubeObject,
  pods: KubeObject[],
  related: { replicaSets?: KubeObject[]; controllerRevisions?: KubeObject[] } = {},
): KubeObject[] {
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
  const filter = newPodFilter(workload, live, related);
  return filter ? live.filter(filter) : live;
}

// ---- events ----

interface PodEvent {
  reason: string;
  message: string;
  type: string;
  count: number;
  time: number;
  fieldPath: string;
}

/** When an event last happened: series (events.k8s.io), lastTimestamp, eventTime, else its creation. */
function eventTime(e: KubeObject): number {
  for (const t of [
    str(e, 'series', 'lastObservedTime'),
    str(e, 'lastTimestamp'),
    str(e, 'eventTime'),
    e.metadata?.creationTimestamp,
  ]) {
    const ms = Date.parse(t ?? '');
    if (!Number.isNaN(ms)) return ms;
  }
  return 0;
}

/** The events about one pod (its name and, when both have one, its uid: a StatefulSet reuses names), oldest first. */
function podEvents(pod: KubeObject, events: KubeObject[], since: number | undefined): PodEvent[] {
  const name = pod.metadata?.name;
  const uid = pod.metadata?.uid;
  return events
    .filter((e) => {
      const inv = at(e, 'involvedObject') ?? at(e, 'regarding');
      if (str(inv, 'kind') !== 'Pod' || str(inv, 'name') !== name) return false;
      const evUid = str(inv, 'uid');
      return !(uid && evUid && evUid !== uid);
    })
    .map((e) => ({
      reason: str(e, 'reason') ?? '',
      message: str(e, 'message') ?? str(e, 'note') ?? '',
      type: str(e, 'type') ?? '',
      count: num(e, 'series', 'count') ?? num(e, 'count') ?? 1,
      time: eventTime(e),
      fieldPath: str(e, 'involvedObject', 'fieldPath') ?? str(e, 'regarding', 'fieldPath') ?? '',
    }))
    .filter((e) => since === undefined || e.time === 0 || e.time >= since)
    .sort((a, b) => a.time - b.time);
}

function newest(events: PodEvent[], pred: (e: PodEvent) => boolean): PodEvent | undefined {
  return events.filter(pred).at(-1);
}

// ---- the policy ----

/** Registry answers that another pull will not change. */
const PERMANENT_PULL =
  /not found|manifest unknown|name unknown|unauthorized|authentication required|access denied|denied|forbidden|repository does not exist|x509|certificate|server gave HTTP response to HTTPS client/i;

const IMAGE_NAME_REASONS = new Set(['InvalidImageName', 'ErrImageNeverPull']);
const PULL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'RegistryUnavailable']);
const CREATE_REASONS = new Set([
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'PreCreateHookError',
]);
/** Events that say why a scheduled pod does not start its containers. */
const STARTUP_EVENTS = new Set([
  'FailedMount',
  'FailedAttachVolume',
  'FailedCreatePodSandBox',
  'FailedCreatePodContainer',
  'FailedSync',
]);

/** Lower comes first among problems of the same fatality. */
const RANK: Record<string, number> = {
  InvalidImageName: 0,
  ErrImageNeverPull: 0,
  CreateContainerConfigError: 1,
  CreateContainerError: 1,
  RunContainerError: 1,
  PreCreateHookError: 1,
  ErrImagePull: 2,
  ImagePullBackOff: 2,
  RegistryUnavailable: 2,
  OOMKilled: 3,
  CrashLoopBackOff: 3,
  Restarting: 3,
  Error: 4,
  Unschedulable: 5,
  SchedulingGated: 5,
  ContainerCreating: 7,
  NotReady: 8,
};

/**
 * One line of at most {@link MAX_DETAIL} characters. A long message loses its middle: an error chain
 * (`rpc error: … failed to resolve reference …: not found`) ends with its root cause and a log tail with its last
 * words, while the start says what was being done.
 */
function oneLine(text: string): string {
  const s = text.replace(/\s+/g, ' ').trim();
  if (s.length <= MAX_DETAIL) return s;
  const head = Math.floor(MAX_DETAIL * 0.4);
  return `${s.slice(0, head).trimEnd()} … ${s.slice(s.length - (MAX_DETAIL - head - 3)).trimStart()}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

interface ContainerCtx {
  pod: string;
  subject: string;
  status: Json;
  spec: Json | undefined;
  init: boolean;
  events: PodEvent[];
  threshold: number;
  crashLoopsFatal: boolean;
}

/** `exit 1: config missing`, `exit 137, memory limit 64Mi`, `exit 128 (StartError): …`. */
function exitDetail(term: unknown, spec: Json | undefined, shownReason: string): string {
  const code = num(term, 'exitCode');
  const reason = str(term, 'reason');
  const message = str(term, 'message');
  let s = code !== undefined ? `exit ${code}` : 'terminated';
  if (reason && reason !== 'Error' && reason !== shownReason) s += ` (${reason})`;
  if (reason === 'OOMKilled') {
    const limit = str(spec, 'resources', 'limits', 'memory');
    s += limit ? `, memory limit ${limit}` : ', no memory limit set';
  }
  if (message && message.trim()) s += `: ${oneLine(message)}`;
  return s;
}

/** The problem of one container, if it has one. */
function containerProblem(c: ContainerCtx): PodProblem | undefined {
  const cs = c.status;
  const name = str(cs, 'name');
  const image = str(c.spec, 'image') ?? str(cs, 'image');
  const restarts = num(cs, 'restartCount') ?? 0;
  const waiting = at(cs, 'state', 'waiting');
  const terminated = at(cs, 'state', 'terminated');
  const last = at(cs, 'lastState', 'terminated');
  const reason = str(waiting, 'reason');
  const message = oneLine(str(waiting, 'message') ?? '');
  const base = {
    pod: c.pod,
    subject: c.subject,
    container: name,
    initContainer: c.init || undefined,
    image,
    restarts,
  };
  const atThreshold = (n: number) => `${n >= c.threshold ? ` (failure-threshold ${c.threshold})` : ''}`;
  const restartProblem = (shown: string, term: unknown, inBackOff: boolean): PodProblem => {
    const fatal = c.crashLoopsFatal && restarts >= c.threshold;
    const what = `${plural(restarts, 'restart')}${inBackOff && shown !== 'CrashLoopBackOff' ? ', CrashLoopBackOff' : ''}`;
    return {
      ...base,
      reason: shown,
      detail: `${term ? `${exitDetail(term, c.spec, shown)}; ` : ''}${what}${fatal ? atThreshold(restarts) : ''}`,
      fatal,
      exitCode: num(term, 'exitCode'),
    };
  };

  if (reason !== undefined) {
    if (IMAGE_NAME_REASONS.has(reason))
      return {
        ...base,
        reason,
        detail:
          `image ${image ?? '?'}` +
          (reason === 'ErrImageNeverPull' ? ' is not on the node and imagePullPolicy is Never' : '') +
          (message ? `: ${message}` : ''),
        fatal: true,
      };
    if (PULL_REASONS.has(reason)) {
      const pulls = c.events.filter(
        (e) =>
          e.reason === 'Failed' &&
          image !== undefined &&
          e.message.startsWith(`Failed to pull image "${image}"`),
      );
      const attempts = Math.max(
        1,
        pulls.reduce((n, e) => n + e.count, 0),
      );
      // Judged on the whole message (the root cause is at its end), shown as one line.
      const raw = pullCause(pulls.at(-1)?.message, str(waiting, 'message') ?? '');
      const fatal = attempts >= c.threshold || (attempts >= 2 && PERMANENT_PULL.test(raw));
      // The image is named once, before the message: its repetitions inside containerd's chain become `…`.
      const cause = oneLine(image ? raw.split(image).join('…') : raw);
      return {
        ...base,
        reason,
        detail: `image ${image ?? '?'}${cause ? `: ${cause}` : ''}; ${plural(attempts, 'failed pull')}${fatal ? atThreshold(attempts) : ''}`,
        fatal,
        attempts,
      };
    }
    if (CREATE_REASONS.has(reason)) {
      const fieldPath = `spec.${c.init ? 'initContainers' : 'containers'}{${name ?? ''}}`;
      const tries = c.events.filter(
        (e) =>
          e.reason === 'Failed' &&
          (e.message === `Error: ${str(waiting, 'message') ?? ''}` ||
            (e.fieldPath === fieldPath && e.message.startsWith('Error: ') && !isImageError(e.message))),
      );
      const attempts = Math.max(
        1,
        tries.reduce((n, e) => n + e.count, 0),
      );
      const fatal = attempts >= c.threshold;
      return {
        ...base,
        reason,
        detail: `${message || reason}${attempts > 1 ? `; ${plural(attempts, 'attempt')}` : ''}${fatal ? atThreshold(attempts) : ''}`,
        fatal,
        attempts,
      };
    }
    if (reason === 'CrashLoopBackOff') {
      const term = last ?? terminated;
      return restartProblem(
        str(term, 'reason') === 'OOMKilled' ? 'OOMKilled' : 'CrashLoopBackOff',
        term,
        true,
      );
    }
    // The main containers wait while init containers run: the init containers say why.
    if (reason === 'PodInitializing') return undefined;
    if (reason === 'ContainerCreating') {
      const why = newest(c.events, (e) => e.type === 'Warning' && STARTUP_EVENTS.has(e.reason));
      return {
        ...base,
        reason,
        detail: why ? `${why.reason}: ${oneLine(why.message)}` : 'creating the container',
        fatal: false,
      };
    }
    return { ...base, reason, detail: message || reason, fatal: false };
  }

  if (isObj(terminated)) {
    if (num(terminated, 'exitCode') === 0) return undefined;
    const shown = str(terminated, 'reason') === 'OOMKilled' ? 'OOMKilled' : 'Error';
    if (restarts > 0) return restartProblem(shown, terminated, false);
    return {
      ...base,
      reason: shown,
      detail: exitDetail(terminated, c.spec, shown),
      fatal: false,
      exitCode: num(terminated, 'exitCode'),
    };
  }

  if (cs['ready'] === true) return undefined;
  if (isObj(last) && restarts > 0)
    return restartProblem(str(last, 'reason') === 'OOMKilled' ? 'OOMKilled' : 'Restarting', last, false);
  if (!isObj(at(cs, 'state', 'running'))) return undefined;
  const probe = newest(
    c.events,
    (e) => e.reason === 'Unhealthy' && (e.fieldPath === '' || e.fieldPath.endsWith(`{${name ?? ''}}`)),
  );
  return {
    ...base,
    reason: 'NotReady',
    detail: probe ? oneLine(probe.message) : 'running, not ready yet',
    fatal: false,
  };
}

function isImageError(message: string): boolean {
  return /^Error: (ErrImagePull|ImagePullBackOff|InvalidImageName|ErrImageNeverPull)\b/.test(message);
}

/** The registry's answer: from the `Failed to pull image "x": …` event, else the waiting message. */
function pullCause(eventMessage: string | undefined, waitingMessage: string): string {
  if (eventMessage) return eventMessage.replace(/^Failed to pull image "[^"]*": /, '');
  // `Back-off pulling image "x"` says nothing more; newer kubelets append `: ErrImagePull: <cause>`.
  const m = /^Back-off pulling image "[^"]*"(?:: (?:ErrImagePull: )?(.*))?$/s.exec(waitingMessage);
  if (m) return m[1] ?? '';
  return waitingMessage;
}

/** Every problem of one pod: not scheduled, or its init containers' and containers'. */
function problemsOfPod(pod: KubeObject, events: KubeObject[], o: DiagnoseOptions): PodProblem[] {
  const name = pod.metadata?.name ?? '?';
  const evs = podEvents(pod, events, o.since);
  const scheduled = condition(pod, 'PodScheduled');
  if (scheduled?.status === 'False') {
    const why = newest(evs, (e) => e.reason === 'FailedScheduling');
    return [
      {
        pod: name,
        subject: `pod ${name}`,
        reason: scheduled.reason ?? 'Unschedulable',
        detail: oneLine(why?.message ?? scheduled.message ?? 'not scheduled yet'),
        fatal: false,
      },
    ];
  }
  const specs = (key: string) =>
    new Map(
      arr(pod, 'spec', key)
        .filter(isObj)
        .map((c) => [str(c, 'name'), c]),
    );
  const initSpecs = specs('initContainers');
  const mainSpecs = specs('containers');
  const several = mainSpecs.size > 1;
  const problems: PodProblem[] = [];
  for (const [key, init] of [
    ['initContainerStatuses', true],
    ['containerStatuses', false],
  ] as const) {
    for (const cs of arr(pod, 'status', key).filter(isObj)) {
      const cname = str(cs, 'name') ?? '?';
      const p = containerProblem({
        pod: name,
        subject: init
          ? `pod ${name} init container ${cname}`
          : several
            ? `pod ${name} container ${cname}`
            : `pod ${name}`,
        status: cs,
        spec: (init ? initSpecs : mainSpecs).get(cname),
        init,
        events: evs,
        threshold: Math.max(1, o.failureThreshold),
        crashLoopsFatal: o.crashLoopsFatal ?? true,
      });
      if (p) problems.push(p);
    }
  }
  if (problems.length > 0) return problems;
  const phase = str(pod, 'status', 'phase');
  if (phase === 'Failed')
    return [
      {
        pod: name,
        subject: `pod ${name}`,
        reason: str(pod, 'status', 'reason') ?? 'Failed',
        detail: oneLine(str(pod, 'status', 'message') ?? 'the pod failed'),
        fatal: false,
      },
    ];
  if (phase === 'Pending' && arr(pod, 'status', 'containerStatuses').length === 0) {
    const why = newest(evs, (e) => e.type === 'Warning' && STARTUP_EVENTS.has(e.reason));
    if (why)
      return [
        {
          pod: name,
          subject: `pod ${name}`,
          reason: 'ContainerCreating',
          detail: `${why.reason}: ${oneLine(why.message)}`,
          fatal: false,
        },
      ];
  }
  return [];
}

/**
 * Every problem among the pods (the workload's new pods when `workload` is given), the most telling first: fatal
 * ones, then by kind (a bad image or config before a crash, a crash before scheduling, creating, not ready), then
 * the most attempts, then by pod name.
 */
export function podProblems(pods: KubeObject[], events: KubeObject[], o: DiagnoseOptions): PodProblem[] {
  let considered = pods.filter((p) => !p.metadata?.deletionTimestamp);
  if (o.workload) {
    considered = newPods(o.workload, considered, o);
    // A Deployment, StatefulSet or DaemonSet replaces a failed or finished pod: only a Job's count.
    if (o.workload.kind !== 'Job')
      considered = considered.filter(
        (p) => !['Failed', 'Succeeded'].includes(str(p, 'status', 'phase') ?? ''),
      );
  }
  const all = considered.flatMap((p) => problemsOfPod(p, events, o));
  const weight = (p: PodProblem) => p.attempts ?? p.restarts ?? 0;
  return all
    .map((p, i) => ({ p, i }))
    .sort(
      (a, b) =>
        Number(b.p.fatal) - Number(a.p.fatal) ||
        (RANK[a.p.reason] ?? 6) - (RANK[b.p.reason] ?? 6) ||
        weight(b.p) - weight(a.p) ||
        a.p.pod.localeCompare(b.p.pod) ||
        a.i - b.i,
    )
    .map(({ p }) => p);
}

/** `pod api-6d8f7b9c5d-k8j2p: CrashLoopBackOff (exit 1: config missing; 3 restarts)` */
export function describeProblem(p: PodProblem): string {
  return `${p.subject}: ${p.reason} (${p.detail})`;
}

/** The first blocking reason among the (new) pods, or undefined when none has a problem. */
export function diagnosePods(
  pods: KubeObject[],
  events: KubeObject[],
  o: DiagnoseOptions,
): PodDiagnosis | undefined {
  const problems = podProblems(pods, events, o);
  const first = problems[0];
  if (!first) return undefined;
  const others = new Set(problems.map((p) => p.pod));
  others.delete(first.pod);
  const text =
    describeProblem(first) + (others.size > 0 ? `; ${plural(others.size, 'other pod')} not ready` : '');
  return { ...first, otherPods: others.size, text };
}
