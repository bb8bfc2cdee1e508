/**
 * The node side of the simulated cluster: Node objects, the default scheduler (node selectors, required node
 * affinity on `metadata.name`, CPU / memory / pod-count fit, `FailedScheduling` with the scheduler's message), and a
 * kubelet per node running each bound pod's containers as their image's scenario says (scenarios.ts):
 *
 * - volumes from ConfigMaps/Secrets that do not exist → `FailedMount`, the pod stays ContainerCreating;
 * - env / envFrom references to missing ConfigMaps/Secrets (or keys) → CreateContainerConfigError;
 * - pulls (`Pulling`/`Pulled`, "already present on machine" for IfNotPresent images the node has), failures →
 *   ErrImagePull then ImagePullBackOff with exponential back-off (10 s doubling to 300 s);
 * - `Created`/`Started`, readiness (the probe's initialDelaySeconds), exits with exit code, reason and the termination
 *   message, restarts per restartPolicy with CrashLoopBackOff back-off (first restart at once, then 10 s doubling to
 *   300 s), `lastState.terminated`, restartCount;
 * - init containers run one after the other before the app containers;
 * - graceful deletion: `Killing`, containers stop, then the pod object is removed.
 *
 * Status is written through the status subresource as the kubelet does (phase, conditions, container statuses,
 * IPs, startTime), with lastTransitionTime kept when a condition does not change.
 */
import { createHash } from 'node:crypto';
import type { Timer } from './clock.js';
import type { SimContext } from './context.js';
import { isTerminating, podPhase } from './context.js';
import type { Json, JsonObject } from './meta.js';
import {
  ApiError,
  at,
  clone,
  isObject,
  nameOf,
  namespaceOf,
  objs,
  parseQuantity,
  rfc3339,
  str,
  uidOf,
} from './meta.js';
import type { ContainerBehaviour } from './scenarios.js';
import { behaviourOf, fullImageName, lookupScenario } from './scenarios.js';

export interface NodeOptions {
  name: string;
  cpu?: string;
  memory?: string;
  pods?: number;
  labels?: Record<string, string>;
}

export function nodeObject(n: NodeOptions, index: number): JsonObject {
  const cpu = n.cpu ?? '4';
  const memory = n.memory ?? '16Gi';
  const pods = String(n.pods ?? 110);
  const ip = `172.18.0.${index + 2}`;
  const id = createHash('sha256').update(n.name).digest('hex');
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        ...(n.labels ?? {}),
      },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: {
      podCIDR: `10.244.${index + 1}.0/24`,
      podCIDRs: [`10.244.${index + 1}.0/24`],
      providerID: `sim://${n.name}`,
    },
    status: {
      capacity: { cpu, 'ephemeral-storage': '100Gi', memory, pods },
      allocatable: { cpu, 'ephemeral-storage': '100Gi', memory, pods },
      conditions: [
        {
          type: 'MemoryPressure',
          status: 'False',
          reason: 'KubeletHasSufficientMemory',
          message: 'kubelet has sufficient memory available',
        },
        {
          type: 'DiskPressure',
          status: 'False',
          reason: 'KubeletHasNoDiskPressure',
          message: 'kubelet has no disk pressure',
        },
        {
          type: 'PIDPressure',
          status: 'False',
          reason: 'KubeletHasSufficientPID',
          message: 'kubelet has sufficient PID available',
        },
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
      ],
      addresses: [
        { type: 'InternalIP', address: ip },
        { type: 'Hostname', address: n.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: id.slice(0, 32),
        systemUUID: `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20, 32)}`,
        bootID: `${id.slice(32, 40)}-${id.slice(40, 44)}-${id.slice(44, 48)}-${id.slice(48, 52)}-${id.slice(52, 64)}`,
        kernelVersion: '6.1.0-sim',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        containerRuntimeVersion: 'containerd://1.7.24',
        kubeletVersion: 'v1.32.4',
        kubeProxyVersion: 'v1.32.4',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}

/** Stamp the node conditions' heartbeat times (kubelet status at start). */
export function stampNode(node: JsonObject, now: string): void {
  for (const c of objs(at(node, 'status.conditions'))) {
    c['lastHeartbeatTime'] = now;
    c['lastTransitionTime'] = now;
  }
}

// ----- resources ----------------------------------------------------------------------------------------------

/** A pod's CPU (cores) and memory (bytes) requests: the sum over containers, or the largest init container. */
export function podRequests(pod: JsonObject): { cpu: number; memory: number } {
  const sum = { cpu: 0, memory: 0 };
  for (const c of objs(at(pod, 'spec.containers'))) {
    sum.cpu += parseQuantity(at(c, 'resources.requests.cpu')) ?? 0;
    sum.memory += parseQuantity(at(c, 'resources.requests.memory')) ?? 0;
  }
  for (const c of objs(at(pod, 'spec.initContainers'))) {
    sum.cpu = Math.max(sum.cpu, parseQuantity(at(c, 'resources.requests.cpu')) ?? 0);
    sum.memory = Math.max(sum.memory, parseQuantity(at(c, 'resources.requests.memory')) ?? 0);
  }
  return sum;
}

// ----- scheduler ----------------------------------------------------------------------------------------------

const RESCHEDULE_SECONDS = 300;

export class Scheduler {
  private readonly retryAt = new Map<string, number>();
  private flush = false;

  constructor(private readonly ctx: SimContext) {}

  /** Cluster changes (a pod went, a node changed) send unschedulable pods back to the queue. */
  clusterChanged(): void {
    this.flush = true;
  }

  sync(): void {
    const { api, types, clock } = this.ctx;
    const allPods = api.all(types.pod);
    const pending = allPods.filter(
      (p) =>
        at(p, 'spec.nodeName') === undefined &&
        !isTerminating(p) &&
        (at(p, 'spec.schedulerName') ?? 'default-scheduler') === 'default-scheduler' &&
        podPhase(p) === 'Pending',
    );
    if (pending.length === 0) {
      this.flush = false;
      return;
    }
    const nodes = api.all(types.node);
    const flush = this.flush;
    this.flush = false;
    for (const pod of pending) {
      const uid = uidOf(pod);
      const due = this.retryAt.get(uid);
      if (due !== undefined && due > clock.now && !flush) continue;
      const node = this.schedule(pod, nodes, allPods);
      // Later pods of this pass see the binding (the scheduler's cache assumes it at once).
      if (node) (pod['spec'] as JsonObject)['nodeName'] = node;
    }
    for (const uid of [...this.retryAt.keys()])
      if (!pending.some((p) => uidOf(p) === uid)) this.retryAt.delete(uid);
  }

  private schedule(pod: JsonObject, nodes: JsonObject[], allPods: JsonObject[]): string | undefined {
    const { api, types, clock, events } = this.ctx;
    const req = podRequests(pod);
    const reasons = new Map<string, number>();
    const preemption = new Map<string, number>();
    const count = (m: Map<string, number>, r: string): void => {
      m.set(r, (m.get(r) ?? 0) + 1);
    };
    const fits: Array<{ node: JsonObject; load: number }> = [];
    const selector = at(pod, 'spec.nodeSelector');
    for (const node of nodes) {
      const labels: Record<string, string> = {};
      const l = at(node, 'metadata.labels');
      if (isObject(l)) for (const [k, v] of Object.entries(l)) labels[k] = String(v);
      const nodeReasons: string[] = [];
      let selectorMiss = false;
      if (isObject(selector)) {
        for (const [k, v] of Object.entries(selector)) if (labels[k] !== String(v)) selectorMiss = true;
      }
      if (!affinityMatches(pod, node, labels)) selectorMiss = true;
      if (selectorMiss) nodeReasons.push("node(s) didn't match Pod's node affinity/selector");
      if (at(node, 'spec.unschedulable') === true) nodeReasons.push('node(s) were unschedulable');
      const onNode = allPods.filter(
        (p) =>
          at(p, 'spec.nodeName') === nameOf(node) && podPhase(p) !== 'Succeeded' && podPhase(p) !== 'Failed',
      );
      const used = { cpu: 0, memory: 0 };
      for (const p of onNode) {
        const r = podRequests(p);
        used.cpu += r.cpu;
        used.memory += r.memory;
      }
      const allocCpu = parseQuantity(at(node, 'status.allocatable.cpu')) ?? 0;
      const allocMem = parseQuantity(at(node, 'status.allocatable.memory')) ?? 0;
      const allocPods = parseQuantity(at(node, 'status.allocatable.pods')) ?? 110;
      const resourceReasons: string[] = [];
      if (onNode.length + 1 > allocPods) resourceReasons.push('Too many pods');
      if (req.cpu > 0 && used.cpu + req.cpu > allocCpu + 1e-9) resourceReasons.push('Insufficient cpu');
      if (req.memory > 0 && used.memory + req.memory > allocMem) resourceReasons.push('Insufficient memory');
      nodeReasons.push(...resourceReasons);
      if (nodeReasons.length === 0) {
        fits.push({ node, load: onNode.length });
      } else {
        for (const r of nodeReasons) count(reasons, r);
        count(
          preemption,
          resourceReasons.length > 0 && nodeReasons.length === resourceReasons.length
            ? 'No preemption victims found for incoming pod'
            : 'Preemption is not helpful for scheduling',
        );
      }
    }
    const ns = namespaceOf(pod);
    const name = nameOf(pod);
    if (fits.length === 0) {
      const total = nodes.length;
      const hist = (m: Map<string, number>): string =>
        [...m]
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([r, n]) => `${n} ${r}`)
          .join(', ');
      const message =
        total === 0
          ? 'no nodes available to schedule pods'
          : `0/${total} nodes are available: ${hist(reasons)}. preemption: 0/${total} nodes are available: ${hist(preemption)}.`;
      const updated = api.mutate(
        types.pod,
        ns,
        name,
        'kube-scheduler',
        (p) => {
          setPodCondition(
            p,
            { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message },
            rfc3339(clock.now),
          );
        },
        'status',
      );
      if (updated)
        events.record(updated, 'Warning', 'FailedScheduling', message, { component: 'default-scheduler' });
      this.retryAt.set(uidOf(pod), clock.now + RESCHEDULE_SECONDS * 1000);
      this.ctx.wake(clock.now + RESCHEDULE_SECONDS * 1000);
      return undefined;
    }
    fits.sort((a, b) => a.load - b.load || (nameOf(a.node) < nameOf(b.node) ? -1 : 1));
    const node = nameOf((fits[0] as { node: JsonObject }).node);
    // The binding: spec.nodeName, then the PodScheduled condition.
    const bound = api.mutate(types.pod, ns, name, 'kube-scheduler', (p) => {
      (p['spec'] as JsonObject)['nodeName'] = node;
    });
    if (!bound) return undefined;
    const scheduled = api.mutate(
      types.pod,
      ns,
      name,
      'kube-scheduler',
      (p) => {
        setPodCondition(p, { type: 'PodScheduled', status: 'True' }, rfc3339(clock.now));
      },
      'status',
    );
    this.retryAt.delete(uidOf(pod));
    if (scheduled)
      events.record(scheduled, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${node}`, {
        component: 'default-scheduler',
      });
    return node;
  }
}

function affinityMatches(pod: JsonObject, node: JsonObject, labels: Record<string, string>): boolean {
  const terms = objs(
    at(pod, 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms'),
  );
  if (terms.length === 0) return true;
  return terms.some((term) => {
    const exprs = objs(term['matchExpressions']);
    const fields = objs(term['matchFields']);
    const ok = (e: JsonObject, value: string | undefined): boolean => {
      const values = Array.isArray(e['values']) ? e['values'].map(String) : [];
      switch (e['operator']) {
        case 'In':
          return value !== undefined && values.includes(value);
        case 'NotIn':
          return value === undefined || !values.includes(value);
        case 'Exists':
          return value !== undefined;
        case 'DoesNotExist':
          return value === undefined;
        default:
          return false;
      }
    };
    return (
      exprs.every((e) => ok(e, labels[String(e['key'])])) &&
      fields.every((e) => ok(e, e['key'] === 'metadata.name' ? nameOf(node) : undefined))
    );
  });
}

/** Sets a pod condition, keeping lastTransitionTime when the status does not change. */
export function setPodCondition(pod: JsonObject, c: JsonObject, now: string): void {
  const status = isObject(pod['status']) ? pod['status'] : (pod['status'] = {});
  const list = Array.isArray(status['conditions']) ? status['conditions'] : (status['conditions'] = []);
  const i = list.findIndex((x) => isObject(x) && x['type'] === c['type']);
  const old = i >= 0 ? (list[i] as JsonObject) : undefined;
  const next: JsonObject = {
    type: c['type'] as Json,
    status: c['status'] as Json,
    lastProbeTime: null,
    lastTransitionTime: old && old['status'] === c['status'] ? (old['lastTransitionTime'] ?? now) : now,
    ...(c['reason'] !== undefined ? { reason: c['reason'] } : {}),
    ...(c['message'] !== undefined ? { message: c['message'] } : {}),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
}

// ----- kubelet ------------------------------------------------------------------------------------------------

interface ContainerRun {
  name: string;
  image: string;
  init: boolean;
  spec: JsonObject;
  b: ContainerBehaviour;
  state: 'waiting' | 'running' | 'terminated';
  reason: string;
  message?: string;
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  termReason?: string;
  termMessage?: string;
  ready: boolean;
  restartCount: number;
  last?: JsonObject;
  containerID?: string;
  imageID?: string;
  /** Crashes so far (for back-off). */
  crashes: number;
  pullFailures: number;
  /** The container ran at least once (a waiting container that ran is not "pending"). */
  ran: boolean;
  done: boolean;
  logs: string[];
  previousLogs: string[];
  timers: Timer[];
}

interface PodRun {
  uid: string;
  namespace: string;
  name: string;
  node: string;
  ip: string;
  startTime: number;
  restartPolicy: string;
  containers: ContainerRun[];
  inits: ContainerRun[];
  terminating: boolean;
  mountError?: string;
  timers: Timer[];
  object: JsonObject;
}

const BACKOFF_INITIAL = 10;
const BACKOFF_MAX = 300;
const CONFIG_RETRY_SECONDS = 10;

function containerId(seed: string): string {
  return `containerd://${createHash('sha256').update(seed).digest('hex')}`;
}

function imageId(image: string): string {
  const full = fullImageName(image);
  const at = full.indexOf('@');
  const repo =
    at >= 0
      ? full.slice(0, at)
      : full.slice(0, full.lastIndexOf(':') > full.lastIndexOf('/') ? full.lastIndexOf(':') : full.length);
  if (at >= 0) return full;
  return `${repo}@sha256:${createHash('sha256').update(image).digest('hex')}`;
}

export class Kubelet {
  private readonly pods = new Map<string, PodRun>();
  private readonly images = new Map<string, Set<string>>();
  private readonly ipCounters = new Map<string, number>();
  /** Logs of pods, kept after a container restarts (previous) and for a while after the pod is gone. */
  private readonly logs = new Map<string, { current: string[]; previous: string[] }>();
  private seq = 0;

  constructor(private readonly ctx: SimContext) {}

  /** Container logs (`kubectl logs`): undefined when the pod or container is unknown. */
  containerLogs(namespace: string, pod: string, container: string, previous: boolean): string[] | undefined {
    const entry = this.logs.get(`${namespace}/${pod}/${container}`);
    if (!entry) return undefined;
    return previous ? entry.previous : entry.current;
  }

  sync(): void {
    const { api, types } = this.ctx;
    const seen = new Set<string>();
    for (const pod of api.all(types.pod)) {
      const node = str(at(pod, 'spec.nodeName'));
      if (!node) continue;
      const uid = uidOf(pod);
      seen.add(uid);
      let run = this.pods.get(uid);
      if (!run) {
        if (isTerminating(pod)) {
          this.ctx.api.finalizePod(types.pod, namespaceOf(pod), nameOf(pod));
          continue;
        }
        const phase = podPhase(pod);
        if (phase === 'Succeeded' || phase === 'Failed') continue;
        run = this.admit(pod, node);
        this.pods.set(uid, run);
        this.start(run);
      }
      run.object = pod;
      if (isTerminating(pod) && !run.terminating) this.terminate(run, pod);
    }
    for (const [uid, run] of this.pods) {
      if (!seen.has(uid)) {
        this.stopTimers(run);
        this.pods.delete(uid);
      }
    }
  }

  private admit(pod: JsonObject, node: string): PodRun {
    const n = (this.ipCounters.get(node) ?? 1) + 1;
    this.ipCounters.set(node, n);
    const nodeObj = this.ctx.api.find(this.ctx.types.node, '', node);
    const cidr = str(at(nodeObj, 'spec.podCIDR')) ?? '10.244.0.0/24';
    const ip = cidr.replace(/\.0\/24$/, `.${n}`);
    const mk = (c: JsonObject, init: boolean): ContainerRun => {
      const image = String(c['image'] ?? '');
      return {
        name: String(c['name'] ?? ''),
        image,
        init,
        spec: c,
        b: behaviourOf(lookupScenario(this.ctx.scenarios, image), image),
        state: 'waiting',
        reason: init ? 'PodInitializing' : 'ContainerCreating',
        ready: false,
        restartCount: 0,
        crashes: 0,
        pullFailures: 0,
        ran: false,
        done: false,
        logs: [],
        previousLogs: [],
        timers: [],
      };
    };
    const inits = objs(at(pod, 'spec.initContainers')).map((c) => mk(c, true));
    for (const c of inits) c.reason = 'PodInitializing';
    const containers = objs(at(pod, 'spec.containers')).map((c) => mk(c, false));
    if (inits.length) for (const c of containers) c.reason = 'PodInitializing';
    return {
      uid: uidOf(pod),
      namespace: namespaceOf(pod),
      name: nameOf(pod),
      node,
      ip,
      startTime: this.ctx.clock.now,
      restartPolicy: String(at(pod, 'spec.restartPolicy') ?? 'Always'),
      containers,
      inits,
      terminating: false,
      timers: [],
      object: pod,
    };
  }

  private at(run: PodRun, seconds: number, fn: () => void, c?: ContainerRun): void {
    const t = this.ctx.clock.after(seconds, () => {
      if (this.pods.get(run.uid) !== run) return;
      fn();
    });
    (c ? c.timers : run.timers).push(t);
  }

  private stopTimers(run: PodRun): void {
    for (const t of run.timers) this.ctx.clock.cancel(t);
    for (const c of [...run.inits, ...run.containers]) for (const t of c.timers) this.ctx.clock.cancel(t);
  }

  private event(
    run: PodRun,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    c?: ContainerRun,
  ): void {
    const pod = this.ctx.api.find(this.ctx.types.pod, run.namespace, run.name);
    if (!pod) return;
    const fieldPath = c ? `spec.${c.init ? 'initContainers' : 'containers'}{${c.name}}` : undefined;
    this.ctx.events.record(pod, type, reason, message, { component: 'kubelet', host: run.node }, fieldPath);
  }

  /** Sandbox ready, volumes mounted: start init containers, then the app containers. */
  private start(run: PodRun): void {
    this.writeStatus(run);
    this.mountVolumes(run);
  }

  private missingRef(
    run: PodRun,
    kind: 'configMap' | 'secret',
    name: string,
    key?: string,
  ): string | undefined {
    const t = kind === 'configMap' ? this.ctx.types.configMap : this.ctx.types.secret;
    const o = this.ctx.api.find(t, run.namespace, name);
    const label = kind === 'configMap' ? 'configmap' : 'secret';
    if (!o) return `${label} "${name}" not found`;
    if (key !== undefined) {
      const data = {
        ...(isObject(o['data']) ? o['data'] : {}),
        ...(isObject(o['binaryData']) ? o['binaryData'] : {}),
      };
      if (!(key in data))
        return `couldn't find key ${key} in ${kind === 'configMap' ? 'ConfigMap' : 'Secret'} ${run.namespace}/${name}`;
    }
    return undefined;
  }

  private mountVolumes(run: PodRun): void {
    for (const v of objs(at(run.object, 'spec.volumes'))) {
      for (const kind of ['configMap', 'secret'] as const) {
        const src = v[kind];
        if (!isObject(src) || src['optional'] === true) continue;
        const name = str(kind === 'secret' ? src['secretName'] : src['name']);
        if (!name) continue;
        const missing = this.missingRef(run, kind, name);
        if (missing) {
          run.mountError = missing;
          this.event(
            run,
            'Warning',
            'FailedMount',
            `MountVolume.SetUp failed for volume "${String(v['name'])}" : ${missing}`,
          );
          this.at(run, CONFIG_RETRY_SECONDS, () => this.mountVolumes(run));
          return;
        }
      }
    }
    run.mountError = undefined;
    this.nextInit(run);
  }

  private nextInit(run: PodRun): void {
    const next = run.inits.find((c) => !c.done);
    if (next) {
      this.beginContainer(run, next);
      return;
    }
    for (const c of run.containers) if (c.state === 'waiting' && !c.ran) c.reason = 'ContainerCreating';
    for (const c of run.containers) this.beginContainer(run, c);
  }

  private configError(run: PodRun, c: ContainerRun): string | undefined {
    for (const e of objs(c.spec['env'])) {
      const from = e['valueFrom'];
      if (!isObject(from)) continue;
      for (const [kind, field] of [
        ['configMap', 'configMapKeyRef'],
        ['secret', 'secretKeyRef'],
      ] as const) {
        const ref = from[field];
        if (!isObject(ref) || ref['optional'] === true) continue;
        const missing = this.missingRef(run, kind, String(ref['name'] ?? ''), String(ref['key'] ?? ''));
        if (missing) return missing;
      }
    }
    for (const e of objs(c.spec['envFrom'])) {
      for (const [kind, field] of [
        ['configMap', 'configMapRef'],
        ['secret', 'secretRef'],
      ] as const) {
        const ref = e[field];
        if (!isObject(ref) || ref['optional'] === true) continue;
        const missing = this.missingRef(run, kind, String(ref['name'] ?? ''));
        if (missing) return missing;
      }
    }
    return undefined;
  }

  private imagePresent(run: PodRun, image: string): boolean {
    return this.images.get(run.node)?.has(image) ?? false;
  }

  /** Pull (if needed), check config, create and start one container. */
  private beginContainer(run: PodRun, c: ContainerRun): void {
    if (run.terminating) return;
    const policy = String(c.spec['imagePullPolicy'] ?? 'IfNotPresent');
    const present = this.imagePresent(run, c.image);
    if (policy === 'Never' && !present) {
      this.setWaiting(
        run,
        c,
        'ErrImageNeverPull',
        `Container image "${c.image}" is not present with pull policy of Never`,
      );
      this.event(
        run,
        'Warning',
        'ErrImageNeverPull',
        `Container image "${c.image}" is not present with pull policy of Never`,
        c,
      );
      return;
    }
    if (present && policy !== 'Always') {
      this.event(run, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`, c);
      this.createContainer(run, c);
      return;
    }
    this.event(run, 'Normal', 'Pulling', `Pulling image "${c.image}"`, c);
    this.at(
      run,
      c.b.pullSeconds,
      () => {
        if (c.b.pullError !== null) {
          this.pullFailed(run, c, c.b.pullError);
          return;
        }
        let set = this.images.get(run.node);
        if (!set) this.images.set(run.node, (set = new Set()));
        set.add(c.image);
        c.imageID = imageId(c.image);
        const size = 10_000_000 + (createHash('sha256').update(c.image).digest()[0] ?? 0) * 100_000;
        const took = `${c.b.pullSeconds}s`;
        this.event(
          run,
          'Normal',
          'Pulled',
          `Successfully pulled image "${c.image}" in ${took} (${took} including waiting). Image size: ${size} bytes.`,
          c,
        );
        this.createContainer(run, c);
      },
      c,
    );
  }

  private pullFailed(run: PodRun, c: ContainerRun, error: string): void {
    c.pullFailures += 1;
    this.setWaiting(run, c, 'ErrImagePull', error);
    this.event(run, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${error}`, c);
    this.event(run, 'Warning', 'Failed', 'Error: ErrImagePull', c);
    const backoff = Math.min(BACKOFF_INITIAL * 2 ** (c.pullFailures - 1), BACKOFF_MAX);
    this.at(
      run,
      1,
      () => {
        this.setWaiting(
          run,
          c,
          'ImagePullBackOff',
          `Back-off pulling image "${c.image}": ErrImagePull: ${error}`,
        );
        this.event(run, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`, c);
        this.event(run, 'Warning', 'Failed', 'Error: ImagePullBackOff', c);
        this.at(run, backoff, () => this.beginContainer(run, c), c);
      },
      c,
    );
  }

  private createContainer(run: PodRun, c: ContainerRun): void {
    if (run.terminating) return;
    const missing = this.configError(run, c);
    if (missing) {
      this.setWaiting(run, c, 'CreateContainerConfigError', missing);
      this.event(run, 'Warning', 'Failed', `Error: ${missing}`, c);
      this.at(run, CONFIG_RETRY_SECONDS, () => this.createContainer(run, c), c);
      return;
    }
    c.imageID ??= imageId(c.image);
    this.seq += 1;
    c.containerID = containerId(`${run.uid}/${c.name}/${c.restartCount}/${this.seq}`);
    this.event(run, 'Normal', 'Created', `Created container: ${c.name}`, c);
    this.at(run, c.b.startSeconds, () => this.startContainer(run, c), c);
  }

  private startContainer(run: PodRun, c: ContainerRun): void {
    if (run.terminating) return;
    const now = this.ctx.clock.now;
    c.state = 'running';
    c.reason = '';
    c.message = undefined;
    c.startedAt = now;
    c.ran = true;
    c.ready = false;
    c.logs = [...c.b.logs];
    this.saveLogs(run, c);
    this.event(run, 'Normal', 'Started', `Started container ${c.name}`, c);
    this.writeStatus(run);
    if (c.init) {
      this.at(
        run,
        c.b.exitSeconds ?? c.b.completeSeconds,
        () => this.exit(run, c, c.b.exitSeconds !== null ? c.b.exitCode : 0),
        c,
      );
      return;
    }
    const probe = isObject(c.spec['readinessProbe']) ? c.spec['readinessProbe'] : undefined;
    if (c.b.readySeconds !== null) {
      const delay = Math.max(c.b.readySeconds, probe ? Number(probe['initialDelaySeconds'] ?? 0) : 0);
      const becomeReady = (): void => {
        if (c.state !== 'running') return;
        c.ready = true;
        this.writeStatus(run);
      };
      if (delay === 0) {
        c.ready = true;
        this.writeStatus(run);
      } else this.at(run, delay, becomeReady, c);
    } else if (probe) {
      const period = Number(probe['periodSeconds'] ?? 10);
      const message = probeFailure(probe, run.ip);
      const fail = (): void => {
        if (c.state !== 'running') return;
        this.event(run, 'Warning', 'Unhealthy', `Readiness probe failed: ${message}`, c);
        this.at(run, period, fail, c);
      };
      this.at(run, Math.max(Number(probe['initialDelaySeconds'] ?? 0), period), fail, c);
    }
    // An unhealthy container with a liveness probe is killed after failureThreshold failures and restarted.
    const liveness = isObject(c.spec['livenessProbe']) ? c.spec['livenessProbe'] : undefined;
    if (liveness && c.b.readySeconds === null && c.b.exitSeconds === null) {
      const period = Number(liveness['periodSeconds'] ?? 10);
      const threshold = Number(liveness['failureThreshold'] ?? 3);
      const message = probeFailure(liveness, run.ip);
      let failures = 0;
      const fail = (): void => {
        if (c.state !== 'running') return;
        failures += 1;
        this.event(run, 'Warning', 'Unhealthy', `Liveness probe failed: ${message}`, c);
        if (failures < threshold) {
          this.at(run, period, fail, c);
          return;
        }
        this.event(
          run,
          'Normal',
          'Killing',
          `Container ${c.name} failed liveness probe, will be restarted`,
          c,
        );
        this.exit(run, c, 137, 'Error');
      };
      this.at(run, Number(liveness['initialDelaySeconds'] ?? 0) + period, fail, c);
    }
    const completes = run.restartPolicy !== 'Always';
    const exitIn = c.b.exitSeconds ?? (completes ? c.b.completeSeconds : null);
    if (exitIn !== null)
      this.at(run, exitIn, () => this.exit(run, c, c.b.exitSeconds !== null ? c.b.exitCode : 0), c);
  }

  private saveLogs(run: PodRun, c: ContainerRun): void {
    this.logs.set(`${run.namespace}/${run.name}/${c.name}`, { current: c.logs, previous: c.previousLogs });
  }

  private exit(run: PodRun, c: ContainerRun, exitCode: number, forcedReason?: string): void {
    if (c.state !== 'running' || run.terminating) return;
    const now = this.ctx.clock.now;
    const reason =
      forcedReason ??
      (exitCode === 0 ? 'Completed' : c.b.exitReason === 'Completed' ? 'Error' : c.b.exitReason);
    let message = exitCode === 0 ? '' : c.b.terminationMessage;
    if (!message && exitCode !== 0 && c.spec['terminationMessagePolicy'] === 'FallbackToLogsOnError') {
      message = c.logs.slice(-80).join('\n');
    }
    c.state = 'terminated';
    c.ready = false;
    c.exitCode = exitCode;
    c.termReason = reason;
    c.termMessage = message;
    c.finishedAt = now;
    for (const t of c.timers) this.ctx.clock.cancel(t);
    c.timers = [];
    const restart = run.restartPolicy === 'Always' || (run.restartPolicy === 'OnFailure' && exitCode !== 0);
    if (!restart) {
      c.done = true;
      this.writeStatus(run);
      if (c.init) {
        if (exitCode === 0) this.nextInit(run);
      }
      return;
    }
    if (c.init && exitCode === 0) {
      c.done = true;
      this.writeStatus(run);
      this.nextInit(run);
      return;
    }
    // The back-off resets after a container ran for twice the maximum back-off.
    if (c.startedAt !== undefined && now - c.startedAt > 2 * BACKOFF_MAX * 1000) c.crashes = 0;
    c.crashes += 1;
    this.writeStatus(run);
    const terminated = this.terminatedState(c);
    const restartNow = c.crashes === 1;
    const backoff = restartNow ? 1 : Math.min(BACKOFF_INITIAL * 2 ** (c.crashes - 2), BACKOFF_MAX);
    if (!restartNow) {
      // The next sync finds the container dead and backs off: CrashLoopBackOff.
      this.at(
        run,
        1,
        () => {
          c.last = terminated;
          this.setWaiting(
            run,
            c,
            'CrashLoopBackOff',
            `back-off ${backoff}s restarting failed container=${c.name} pod=${run.name}_${run.namespace}(${run.uid})`,
          );
          this.event(
            run,
            'Warning',
            'BackOff',
            `Back-off restarting failed container ${c.name} in pod ${run.name}_${run.namespace}(${run.uid})`,
            c,
          );
        },
        c,
      );
    }
    this.at(
      run,
      backoff,
      () => {
        c.last = terminated;
        c.restartCount += 1;
        c.previousLogs = c.logs;
        c.state = 'waiting';
        c.reason = 'ContainerCreating';
        this.beginContainer(run, c);
      },
      c,
    );
  }

  private terminatedState(c: ContainerRun): JsonObject {
    return {
      terminated: {
        exitCode: c.exitCode ?? 0,
        reason: c.termReason ?? 'Completed',
        ...(c.termMessage ? { message: c.termMessage } : {}),
        startedAt: rfc3339(c.startedAt ?? this.ctx.clock.now),
        finishedAt: rfc3339(c.finishedAt ?? this.ctx.clock.now),
        containerID: c.containerID ?? '',
      },
    };
  }

  private setWaiting(run: PodRun, c: ContainerRun, reason: string, message?: string): void {
    c.state = 'waiting';
    c.reason = reason;
    c.message = message;
    c.ready = false;
    this.writeStatus(run);
  }

  /** Graceful termination: Killing, the containers stop (1 s or the grace period), the pod object goes. */
  private terminate(run: PodRun, pod: JsonObject): void {
    run.terminating = true;
    for (const c of [...run.inits, ...run.containers]) {
      for (const t of c.timers) this.ctx.clock.cancel(t);
      c.timers = [];
      if (c.state === 'running') this.event(run, 'Normal', 'Killing', `Stopping container ${c.name}`, c);
    }
    for (const t of run.timers) this.ctx.clock.cancel(t);
    run.timers = [];
    const grace = Number(at(pod, 'metadata.deletionGracePeriodSeconds') ?? 30);
    const stopIn = Math.min(grace, 1);
    this.at(run, stopIn, () => {
      const now = this.ctx.clock.now;
      for (const c of [...run.inits, ...run.containers]) {
        if (c.state === 'running') {
          c.state = 'terminated';
          c.exitCode = 0;
          c.termReason = 'Completed';
          c.finishedAt = now;
        }
        c.ready = false;
      }
      this.writeStatus(run);
      this.ctx.api.finalizePod(this.ctx.types.pod, run.namespace, run.name);
    });
  }

  /** The pod's status from its containers, written through the status subresource. */
  private writeStatus(run: PodRun): void {
    const { api, types, clock } = this.ctx;
    const now = rfc3339(clock.now);
    api.mutate(
      types.pod,
      run.namespace,
      run.name,
      'kubelet',
      (p) => {
        const status = isObject(p['status']) ? p['status'] : (p['status'] = {});
        const statusOf = (c: ContainerRun): JsonObject => {
          let state: JsonObject;
          if (c.state === 'running') state = { running: { startedAt: rfc3339(c.startedAt ?? clock.now) } };
          else if (c.state === 'terminated') state = this.terminatedState(c);
          else state = { waiting: { reason: c.reason, ...(c.message ? { message: c.message } : {}) } };
          return {
            name: c.name,
            state,
            lastState: c.last ? clone(c.last) : {},
            ready: c.ready,
            restartCount: c.restartCount,
            // containerd reports the normalized reference (docker.io/library/nginx:1.27 for nginx:1.27).
            image: fullImageName(c.image),
            imageID: c.imageID ?? '',
            ...(c.containerID ? { containerID: c.containerID } : {}),
            started: c.state === 'running',
          };
        };
        const initsDone = run.inits.every((c) => c.done);
        const all = run.containers;
        const unready = all.filter((c) => !c.ready).map((c) => c.name);
        const finished = all.length > 0 && all.every((c) => c.done);
        let phase: string;
        if (!initsDone)
          phase = run.inits.some((c) => c.state === 'terminated' && !c.done && run.restartPolicy === 'Never')
            ? 'Failed'
            : 'Pending';
        else if (finished) phase = all.every((c) => c.exitCode === 0) ? 'Succeeded' : 'Failed';
        else if (all.some((c) => c.state === 'waiting' && !c.ran && !c.last)) phase = 'Pending';
        else phase = 'Running';
        if (
          run.restartPolicy === 'Never' &&
          all.some((c) => c.done && c.exitCode !== 0) &&
          all.every((c) => c.done || c.state !== 'running')
        ) {
          if (all.every((c) => c.done)) phase = 'Failed';
        }
        status['phase'] = phase;
        setPodCondition(p, { type: 'PodReadyToStartContainers', status: 'True' }, now);
        setPodCondition(
          p,
          initsDone
            ? { type: 'Initialized', status: 'True' }
            : {
                type: 'Initialized',
                status: 'False',
                reason: 'ContainersNotInitialized',
                message: `containers with incomplete status: [${run.inits
                  .filter((c) => !c.done)
                  .map((c) => c.name)
                  .join(' ')}]`,
              },
          now,
        );
        const completed = phase === 'Succeeded' || phase === 'Failed';
        const readyCond: JsonObject =
          unready.length === 0
            ? { type: 'Ready', status: 'True' }
            : completed
              ? { type: 'Ready', status: 'False', reason: 'PodCompleted' }
              : {
                  type: 'Ready',
                  status: 'False',
                  reason: 'ContainersNotReady',
                  message: `containers with unready status: [${unready.join(' ')}]`,
                };
        setPodCondition(p, readyCond, now);
        setPodCondition(p, { ...readyCond, type: 'ContainersReady' }, now);
        const order = [
          'PodReadyToStartContainers',
          'Initialized',
          'Ready',
          'ContainersReady',
          'PodScheduled',
        ];
        const conds = objs(status['conditions']);
        status['conditions'] = conds.sort(
          (a, b) => order.indexOf(String(a['type'])) - order.indexOf(String(b['type'])),
        );
        const node = api.find(types.node, '', run.node);
        const hostIP =
          str(objs(at(node, 'status.addresses')).find((a) => a['type'] === 'InternalIP')?.['address']) ?? '';
        status['hostIP'] = hostIP;
        status['hostIPs'] = [{ ip: hostIP }];
        status['podIP'] = run.ip;
        status['podIPs'] = [{ ip: run.ip }];
        status['startTime'] = rfc3339(run.startTime);
        if (run.inits.length) status['initContainerStatuses'] = run.inits.map(statusOf);
        status['containerStatuses'] = all.map(statusOf);
      },
      'status',
    );
  }
}

function probeFailure(probe: JsonObject, ip: string): string {
  const http = probe['httpGet'];
  if (isObject(http)) return 'HTTP probe failed with statuscode: 503';
  const tcp = probe['tcpSocket'];
  if (isObject(tcp)) return `dial tcp ${ip}:${String(tcp['port'] ?? '')}: connect: connection refused`;
  if (isObject(probe['grpc']))
    return `timeout: failed to connect service "${ip}:${String(at(probe, 'grpc.port') ?? '')}" within 1s: context deadline exceeded`;
  return 'command exited with non-zero status 1';
}

export { ApiError };
