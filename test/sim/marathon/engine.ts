/**
 * The Marathon simulation engine: apps, versions, tasks, deployments and the event bus, driven by a simulated clock.
 *
 * ## Time
 * Everything runs on `now` (simulated epoch milliseconds). Every state change is an entry in a discrete-event
 * scheduler (`schedule(at, fn)`); `advanceTo(t)` runs all entries due up to `t` in (time, insertion) order, setting
 * `now` to each entry's time, so every timestamp the API shows is exact regardless of how coarse the real timer
 * is. Zero-delay entries (kills, launches without backoff, the whole `instant` scenario) run on the next
 * `settle()`, which the HTTP layer calls before answering — that is how an `instant` deployment is over before
 * the deployer's first poll.
 *
 * ## Task lifecycle (per task, durations from the task's scenario and its version's app definition)
 * queued launch ──(backoff of that app version elapsed)──▶ TASK_STAGING ──startSeconds──▶ TASK_RUNNING
 * TASK_RUNNING then, in parallel:
 * - health checks (one schedule per `healthChecks[i]`): on a per-version grid that starts
 *   `min(intervalSeconds, 5)` after the version was created and repeats every `intervalSeconds` (Marathon runs one
 *   health-check actor per app version). A failure is ignored while the task never passed and is inside
 *   `gracePeriodSeconds` since TASK_RUNNING; otherwise it counts (`failed_health_check_event`), and at
 *   `maxConsecutiveFailures` (> 0) the task is killed: `unhealthy_instance_kill_event`, `lastTaskFailure`
 *   (TASK_KILLED, "Task was killed since health check failed. Reason: …"), backoff for that version grows,
 *   TASK_KILLED. Passing flips `alive` (`health_status_changed_event`).
 * - readiness checks (first `readinessChecks` entry): every `intervalSeconds` until the probe passes once.
 * - crash (crash-loop scenario): TASK_FAILED after `crashAfterSeconds`, `lastTaskFailure` with the task's version,
 *   backoff grows.
 * A dead task is replaced: by the running deployment step if one owns the app, otherwise by the steady-state
 * reconciler (keeps `instances` tasks of the current version). Nothing ever gives up: Marathon never fails a
 * deployment because of bad health, it relaunches with backoff (backoffSeconds × backoffFactor^(n-1), capped at
 * maxLaunchDelaySeconds) forever.
 *
 * ## Deployments
 * A change produces a plan: new app → [StartApplication] then [ScaleApplication]; only `instances` changed →
 * [ScaleApplication]; anything else changed → [RestartApplication]; nothing changed → no steps (finishes at once,
 * app version unchanged); app deleted → [StopApplication]. Each step runs a step runner (below); when it is done
 * `deployment_step_success` fires, the next step starts (`deployment_info`), and after the last one the deployment
 * leaves `/v2/deployments` and `deployment_success` fires. Cancelling (DELETE /v2/deployments, a forced override,
 * deleting the app) emits `deployment_failed` "The upgrade has been cancelled" and leaves tasks as they are.
 *
 * RestartApplication follows Marathon's TaskReplaceActor: with `minHealthy = ceil(instances × minimumHealthCapacity)`
 * and `maxCapacity = floor(instances × (1 + maximumOverCapacity))` (+1 when `minHealthy == maxCapacity` and
 * maxCapacity ≤ running, so a restart can make progress), it kills `running − minHealthy` old tasks at once,
 * launches new ones while `old + started < maxCapacity`, kills one more old task whenever a new one becomes healthy
 * (with health checks; running without) **and** ready (with readiness checks), launches again whenever an old task
 * dies, relaunches new tasks that die, and is done when `instances` new tasks are healthy and ready and no old task
 * is left.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Json, JsonObject } from './json.js';
import { clone, deepEqual, isObject, num, objects, omit, seededRandom, shuffleInPlace, str } from './json.js';
import type { Behaviour, Scenario } from './scenarios.js';
import { behaviourOf, lookupScenario } from './scenarios.js';
import { COMPUTED_FIELDS } from './validate.js';

export type ActionName = 'StartApplication' | 'StopApplication' | 'ScaleApplication' | 'RestartApplication';
export type TaskState = 'TASK_STAGING' | 'TASK_RUNNING' | 'TASK_KILLING' | 'TASK_FAILED' | 'TASK_KILLED';

export interface SimEvent {
  eventType: string;
  timestamp: string;
  [key: string]: Json;
}

export interface HealthState {
  alive: boolean;
  consecutiveFailures: number;
  firstSuccess: number | null;
  lastSuccess: number | null;
  lastFailure: number | null;
  lastFailureCause: string | null;
}

export interface SimTask {
  id: string;
  instanceId: string;
  appId: string;
  version: string;
  host: string;
  slaveId: string;
  ipAddress: string;
  ports: number[];
  state: TaskState;
  stagedAt: number;
  startedAt: number | null;
  image: string | undefined;
  scenario: Scenario;
  behaviour: Behaviour;
  /** One entry per health check of the task's version; `null` until that check first ran. */
  health: Array<HealthState | null>;
  /** All health checks currently alive (only meaningful with health checks). */
  allAlive: boolean;
  ready: boolean;
  readiness: JsonObject | null;
  terminal: boolean;
  incarnation: number;
}

export interface AppStats {
  launched: number;
  failed: number;
  killedUnhealthy: number;
  killedByDeployment: number;
}

interface QueuedLaunch {
  version: string;
  owner: string;
  /** The failed instance this launch relaunches (its next incarnation). */
  instanceId?: string;
}

export interface SimApp {
  id: string;
  /** The current definition as Marathon stores it, including `version` and `versionInfo`. */
  def: JsonObject;
  versions: Map<string, JsonObject>;
  tasks: Map<string, SimTask>;
  /**
   * Instances whose task failed (crash, health-check kill): Marathon ≥ 1.8 keeps them listed with the terminal
   * task — without `version`, `stagedAt`, `startedAt`, ports — until the instance is relaunched under the next
   * task id (`…._app.2`). Keyed by instance id.
   */
  failed: Map<string, SimTask>;
  queue: QueuedLaunch[];
  backoff: Map<string, { failures: number; until: number }>;
  lastTaskFailure: JsonObject | null;
  /** The deployment whose step runner currently owns this app's tasks (never a foreign lock). */
  deploymentId: string | null;
  deleted: boolean;
  stats: AppStats;
}

export interface Deployment {
  id: string;
  version: string;
  appId: string;
  app: SimApp | null;
  steps: ActionName[][];
  stepIndex: number;
  original: JsonObject | null;
  target: JsonObject | null;
  /** Set for a deployment started by `lockApp`: it changes nothing and finishes after this many seconds. */
  foreignSeconds: number | null;
  runner: StepRunner | null;
}

export type ChangeResult =
  | { kind: 'deployed'; deploymentId: string; version: string; created: boolean }
  | { kind: 'locked'; deploymentIds: string[] }
  | { kind: 'not-found' };

export interface EngineOptions {
  startMs: number;
  seed: number;
  shuffle: boolean;
  scenarios: Map<string, Scenario>;
  defaultScenario: Scenario;
}

const CANCELLED = 'The upgrade has been cancelled';
/** `eventLog` keeps the newest events only (a never-healthy app in the CLI produces events forever). */
const EVENT_LOG_LIMIT = 100_000;

/** Marathon's documented defaults for top-level fields absent from a new definition. */
const APP_DEFAULTS: JsonObject = {
  instances: 1,
  cpus: 1,
  mem: 128,
  disk: 0,
  gpus: 0,
  backoffSeconds: 1,
  backoffFactor: 1.15,
  maxLaunchDelaySeconds: 3600,
  upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
  killSelection: 'YOUNGEST_FIRST',
  requirePorts: false,
  labels: {},
};

/** Health checks run by Mesos (the executor kills), as opposed to Marathon's own HTTP/HTTPS/TCP checks. */
const MESOS_SIDE = new Set(['MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP', 'COMMAND']);
const HC_DEFAULTS = { gracePeriodSeconds: 300, intervalSeconds: 60, maxConsecutiveFailures: 3 };
const FIRST_HEALTH_CHECK_AFTER_S = 5;
const READINESS_INTERVAL_S = 30;

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function imageOf(def: JsonObject | null | undefined): string | undefined {
  const container = def?.['container'];
  if (!isObject(container)) return undefined;
  const docker = container['docker'];
  if (isObject(docker) && typeof docker['image'] === 'string') return docker['image'];
  return undefined;
}

/** The definition without Marathon's computed fields (what the user controls). */
export function userFields(def: JsonObject): JsonObject {
  return omit(def, COMPUTED_FIELDS);
}

/** Top-level defaults for absent fields; user values always win and are never rewritten. */
export function withDefaults(def: JsonObject): JsonObject {
  const out: JsonObject = { ...def };
  for (const [k, v] of Object.entries(APP_DEFAULTS))
    if (out[k] === undefined || out[k] === null) out[k] = clone(v);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Step runners

interface RunnerOps {
  now(): number;
  schedule(at: number, fn: () => void): void;
  queueLaunch(app: SimApp, version: string, owner: string): void;
  dropQueue(app: SimApp): void;
  /** Decommission failed instances (an upgrade or a stop expunges them), except those of `keepVersion`. */
  dropFailed(app: SimApp, keepVersion?: string): void;
  killTask(app: SimApp, task: SimTask): void;
  resetBackoff(app: SimApp, version: string): void;
  progress(deploymentId: string): void;
}

interface StepRunner {
  start(): void;
  isDone(): boolean;
  onRunning(task: SimTask): void;
  onHealthy(task: SimTask): void;
  onReady(task: SimTask): void;
  onTerminal(task: SimTask): void;
  readinessResults(): JsonObject[];
}

/** Marathon's ReadinessBehavior: which new instances count as healthy and as ready. */
class ReadinessTracker {
  readonly healthy = new Set<string>();
  readonly ready = new Set<string>();
  constructor(
    private readonly version: string,
    private readonly hasHealth: boolean,
    private readonly hasReadiness: boolean,
    private readonly changed: (taskId: string) => void,
  ) {}

  running(t: SimTask): void {
    if (t.version !== this.version || this.hasHealth) return;
    this.healthy.add(t.id);
    if (!this.hasReadiness) {
      this.ready.add(t.id);
      this.changed(t.id);
    }
  }

  becameHealthy(t: SimTask): void {
    if (t.version !== this.version || !this.hasHealth || this.healthy.has(t.id)) return;
    this.healthy.add(t.id);
    if (!this.hasReadiness) this.ready.add(t.id);
    this.changed(t.id);
  }

  becameReady(t: SimTask): void {
    if (t.version !== this.version || !this.hasReadiness) return;
    this.ready.add(t.id);
    this.changed(t.id);
  }

  terminated(t: SimTask): void {
    this.healthy.delete(t.id);
    this.ready.delete(t.id);
  }

  /** An instance of the target version that already existed when the step started. */
  reconcile(t: SimTask): void {
    if (!this.hasHealth || t.allAlive) this.healthy.add(t.id);
    if (!this.hasReadiness || t.ready) this.ready.add(t.id);
  }

  both(id: string): boolean {
    return this.healthy.has(id) && this.ready.has(id);
  }
}

function readinessResultsOf(app: SimApp, version: string): JsonObject[] {
  return [...app.tasks.values()]
    .filter((t) => t.version === version && t.readiness !== null)
    .map((t) => clone(t.readiness as JsonObject));
}

/** StartApplication: registers the app with zero instances; done at once. */
class StartRunner implements StepRunner {
  start(): void {}
  isDone(): boolean {
    return true;
  }
  onRunning(): void {}
  onHealthy(): void {}
  onReady(): void {}
  onTerminal(): void {}
  readinessResults(): JsonObject[] {
    return [];
  }
}

/** A deployment started by `lockApp` (someone else's): holds the lock for a while, changes nothing. */
class ForeignRunner extends StartRunner {
  private done = false;
  constructor(
    private readonly ops: RunnerOps,
    private readonly deploymentId: string,
    private readonly seconds: number,
  ) {
    super();
  }
  override start(): void {
    this.ops.schedule(this.ops.now() + this.seconds * 1000, () => {
      this.done = true;
      this.ops.progress(this.deploymentId);
    });
  }
  override isDone(): boolean {
    return this.done;
  }
}

/** StopApplication: kill everything; done when no task is left. */
class StopRunner extends StartRunner {
  constructor(
    private readonly ops: RunnerOps,
    private readonly app: SimApp,
  ) {
    super();
  }
  override start(): void {
    this.ops.dropQueue(this.app);
    this.ops.dropFailed(this.app);
    for (const t of this.app.tasks.values()) this.ops.killTask(this.app, t);
  }
  override isDone(): boolean {
    return this.app.tasks.size === 0;
  }
}

/**
 * ScaleApplication (Marathon's TaskStartActor + kill selection): kill surplus tasks (killSelection, youngest first
 * by default) and wait until they are gone; launch the missing ones and wait until that many new instances are
 * healthy and ready; relaunch new instances that die.
 */
class ScaleRunner implements StepRunner {
  private readonly tracker: ReadinessTracker;
  private readonly toKill = new Set<string>();
  private nrToStart = 0;
  constructor(
    private readonly ops: RunnerOps,
    private readonly app: SimApp,
    private readonly target: JsonObject,
    private readonly deploymentId: string,
  ) {
    this.tracker = new ReadinessTracker(
      String(target['version']),
      objects(target['healthChecks']).length > 0,
      objects(target['readinessChecks']).length > 0,
      () => {},
    );
  }
  start(): void {
    const version = String(this.target['version']);
    this.ops.dropQueue(this.app);
    this.ops.resetBackoff(this.app, version);
    const scaleTo = num(this.target, 'instances', 1);
    const active = [...this.app.tasks.values()].filter((t) => t.state !== 'TASK_KILLING');
    if (active.length > scaleTo) {
      const oldestFirst = this.target['killSelection'] === 'OLDEST_FIRST';
      const sorted = [...active].sort((a, b) =>
        oldestFirst ? a.stagedAt - b.stagedAt : b.stagedAt - a.stagedAt,
      );
      for (const t of sorted.slice(0, active.length - scaleTo)) {
        this.toKill.add(t.id);
        this.ops.killTask(this.app, t);
      }
    }
    this.nrToStart = Math.max(0, scaleTo - active.length);
    for (let i = 0; i < this.nrToStart; i++) this.ops.queueLaunch(this.app, version, this.deploymentId);
  }
  isDone(): boolean {
    const readyCount = [...this.tracker.healthy].filter((id) => this.tracker.ready.has(id)).length;
    return this.toKill.size === 0 && readyCount >= this.nrToStart;
  }
  onRunning(t: SimTask): void {
    this.tracker.running(t);
  }
  onHealthy(t: SimTask): void {
    this.tracker.becameHealthy(t);
  }
  onReady(t: SimTask): void {
    this.tracker.becameReady(t);
  }
  onTerminal(t: SimTask): void {
    if (this.toKill.delete(t.id)) return;
    if (t.version === this.target['version']) {
      this.tracker.terminated(t);
      this.ops.queueLaunch(this.app, t.version, this.deploymentId);
    }
  }
  readinessResults(): JsonObject[] {
    return readinessResultsOf(this.app, String(this.target['version']));
  }
}

/** RestartApplication: Marathon's TaskReplaceActor (see the file comment). */
class ReplaceRunner implements StepRunner {
  private readonly tracker: ReadinessTracker;
  private readonly oldIds = new Set<string>();
  private toKill: string[] = [];
  private instancesStarted = 0;
  private maxCapacity = 0;
  private readonly instances: number;
  private readonly version: string;

  constructor(
    private readonly ops: RunnerOps,
    private readonly app: SimApp,
    private readonly target: JsonObject,
    private readonly deploymentId: string,
  ) {
    this.instances = num(target, 'instances', 1);
    this.version = String(target['version']);
    this.tracker = new ReadinessTracker(
      this.version,
      objects(target['healthChecks']).length > 0,
      objects(target['readinessChecks']).length > 0,
      (id) => {
        if (this.tracker.both(id)) this.killNextOld();
      },
    );
  }

  start(): void {
    this.ops.dropQueue(this.app);
    this.ops.dropFailed(this.app, this.version);
    this.ops.resetBackoff(this.app, this.version);
    const active = [...this.app.tasks.values()];
    const already = active.filter((t) => t.version === this.version);
    const old = active.filter((t) => t.version !== this.version);
    for (const t of old) this.oldIds.add(t.id);
    // Least healthy first: not yet running, then failing health checks, then healthy; oldest first within each.
    const rank = (t: SimTask): number =>
      t.state !== 'TASK_RUNNING' ? 0 : t.health.length > 0 && !t.allAlive ? 1 : 2;
    this.toKill = [...old].sort((a, b) => rank(a) - rank(b) || a.stagedAt - b.stagedAt).map((t) => t.id);
    if (this.instances === 0) {
      for (const t of old) this.ops.killTask(this.app, t);
      this.toKill = [];
      return;
    }
    const strategy = isObject(this.target['upgradeStrategy']) ? this.target['upgradeStrategy'] : {};
    const minHealthy = Math.ceil(this.instances * num(strategy, 'minimumHealthCapacity', 1));
    let maxCapacity = Math.floor(this.instances * (1 + num(strategy, 'maximumOverCapacity', 1)));
    const nrToKillImmediately = Math.max(0, active.length - minHealthy);
    if (minHealthy === maxCapacity && maxCapacity <= active.length) maxCapacity += 1;
    this.maxCapacity = maxCapacity;
    this.instancesStarted = already.length;
    for (const t of already) this.tracker.reconcile(t);
    for (let i = 0; i < nrToKillImmediately; i++) this.killNextOld();
    this.launchInstances();
  }

  private launchInstances(): void {
    const leftCapacity = Math.max(0, this.maxCapacity - this.oldIds.size - this.instancesStarted);
    const notStartedYet = Math.max(0, this.instances - this.instancesStarted);
    const now = Math.min(notStartedYet, leftCapacity);
    for (let i = 0; i < now; i++) this.ops.queueLaunch(this.app, this.version, this.deploymentId);
    this.instancesStarted += now;
  }

  private killNextOld(): void {
    const id = this.toKill.shift();
    if (id === undefined) return;
    const task = this.app.tasks.get(id);
    if (task) this.ops.killTask(this.app, task);
  }

  isDone(): boolean {
    return (
      this.tracker.healthy.size === this.instances &&
      this.tracker.ready.size === this.instances &&
      this.oldIds.size === 0
    );
  }
  onRunning(t: SimTask): void {
    this.tracker.running(t);
  }
  onHealthy(t: SimTask): void {
    this.tracker.becameHealthy(t);
  }
  onReady(t: SimTask): void {
    this.tracker.becameReady(t);
  }
  onTerminal(t: SimTask): void {
    if (this.oldIds.delete(t.id)) {
      this.launchInstances();
    } else if (t.version === this.version) {
      this.tracker.terminated(t);
      this.instancesStarted -= 1;
      this.launchInstances();
    }
  }
  readinessResults(): JsonObject[] {
    return readinessResultsOf(this.app, this.version);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Scheduler

interface Entry {
  at: number;
  seq: number;
  fn: () => void;
}

class Scheduler {
  private entries: Entry[] = [];
  private seq = 0;
  schedule(at: number, fn: () => void): void {
    const entry = { at, seq: this.seq++, fn };
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.entries[mid] as Entry).at <= at) lo = mid + 1;
      else hi = mid;
    }
    this.entries.splice(lo, 0, entry);
  }
  nextAt(): number | undefined {
    return this.entries[0]?.at;
  }
  shift(): Entry | undefined {
    return this.entries.shift();
  }
  clear(): void {
    this.entries = [];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Engine

export class MarathonEngine {
  now: number;
  readonly apps = new Map<string, SimApp>();
  readonly deployments = new Map<string, Deployment>();
  /** Every event in logical order (tests); SSE clients get them per batch, possibly shuffled. */
  readonly eventLog: SimEvent[] = [];
  readonly emitter = new EventEmitter();
  /** Receives each flushed batch of events (in delivery order). */
  onFlush: ((events: SimEvent[]) => void) | null = null;

  private pending: SimEvent[] = [];
  private readonly scheduler = new Scheduler();
  private lastVersionMs = 0;
  private hostCounter = 0;
  private readonly shuffleRandom: () => number;
  private readonly portRandom: () => number;
  private readonly ops: RunnerOps;

  constructor(private readonly options: EngineOptions) {
    this.now = Math.floor(options.startMs);
    this.shuffleRandom = seededRandom(options.seed);
    this.portRandom = seededRandom(options.seed + 7919);
    this.emitter.setMaxListeners(0);
    this.ops = {
      now: () => this.now,
      schedule: (at, fn) => this.scheduler.schedule(at, fn),
      queueLaunch: (app, version, owner) => this.queueLaunch(app, version, owner),
      dropQueue: (app) => {
        app.queue = [];
      },
      dropFailed: (app, keepVersion) => {
        for (const [id, t] of app.failed) if (t.version !== keepVersion) app.failed.delete(id);
      },
      killTask: (app, task) => this.killTask(app, task),
      resetBackoff: (app, version) => app.backoff.delete(version),
      progress: (id) => {
        const dep = this.deployments.get(id);
        if (dep) this.progress(dep);
      },
    };
  }

  setScenario(image: string, scenario: Scenario): void {
    this.options.scenarios.set(image, scenario);
  }

  // --- clock --------------------------------------------------------------------------------------------------

  /** Runs every scheduled entry due up to `t`, then sets the clock to `t` (never backwards). */
  advanceTo(target: number): void {
    const t = Math.floor(target); // whole milliseconds: versions and timestamps are ms-precise
    for (;;) {
      const next = this.scheduler.nextAt();
      if (next === undefined || next > t) break;
      const entry = this.scheduler.shift() as Entry;
      if (entry.at > this.now) this.now = entry.at;
      entry.fn();
    }
    if (t > this.now) this.now = t;
  }

  settle(): void {
    this.advanceTo(this.now);
  }

  /** Delivers the events gathered since the last flush as one batch (shuffled when configured). */
  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    if (this.options.shuffle) shuffleInPlace(batch, this.shuffleRandom);
    this.onFlush?.(batch);
  }

  stop(): void {
    this.scheduler.clear();
  }

  private nextVersion(): string {
    const ms = Math.max(this.now, this.lastVersionMs + 1);
    this.lastVersionMs = ms;
    return iso(ms);
  }

  emit(type: string, fields: JsonObject, at = this.now): void {
    const event: SimEvent = { ...fields, eventType: type, timestamp: iso(at) };
    this.pending.push(event);
    this.eventLog.push(event);
    if (this.eventLog.length > EVENT_LOG_LIMIT) this.eventLog.splice(0, EVENT_LOG_LIMIT / 10);
    this.emitter.emit('event', event);
  }

  // --- API-level operations -------------------------------------------------------------------------------------

  /**
   * Creates or updates an app to `next` (user fields only, defaults applied by the caller) and starts the
   * deployment. Unchanged definitions give a plan without steps that is finished before this returns.
   */
  applyAppChange(appId: string, next: JsonObject, force: boolean): ChangeResult {
    const existing = this.apps.get(appId);
    const nextUser = userFields({ ...next, id: appId });
    let kind: 'create' | 'scale' | 'restart';
    if (existing) {
      const current = userFields(existing.def);
      // AppDefinition.isUpgrade compares every field but instances, versionInfo and executorResources.
      const NOT_AN_UPGRADE = ['instances', 'executorResources'];
      if (deepEqual(omit(current, NOT_AN_UPGRADE), omit(nextUser, NOT_AN_UPGRADE))) {
        if (deepEqual(current['instances'], nextUser['instances'])) {
          // Nothing to deploy; a changed executorResources is kept without a new version.
          existing.def = {
            ...nextUser,
            version: existing.def['version'] ?? null,
            versionInfo: existing.def['versionInfo'] ?? null,
          };
          return this.noopDeployment(appId, existing.def);
        }
        kind = 'scale';
      } else kind = 'restart';
    } else {
      kind = 'create';
    }
    const locks = this.locksOf(appId);
    if (locks.length > 0 && !force) return { kind: 'locked', deploymentIds: locks.map((d) => d.id) };
    for (const d of locks) this.cancel(d, false);

    const version = this.nextVersion();
    const previous = existing?.def ?? null;
    const prevInfo = previous && isObject(previous['versionInfo']) ? previous['versionInfo'] : null;
    const versionInfo: JsonObject =
      kind === 'scale' && prevInfo
        ? { lastScalingAt: version, lastConfigChangeAt: prevInfo['lastConfigChangeAt'] ?? version }
        : { lastScalingAt: version, lastConfigChangeAt: version };
    const def: JsonObject = { ...nextUser, version, versionInfo };
    const app = existing ?? this.newApp(appId, def);
    app.def = def;
    app.versions.set(version, def);

    const steps: ActionName[][] =
      kind === 'create'
        ? [['StartApplication'], ['ScaleApplication']]
        : kind === 'scale'
          ? [['ScaleApplication']]
          : [['RestartApplication']];
    const dep = this.startDeployment({
      id: randomUUID(),
      version,
      appId,
      app,
      steps,
      stepIndex: 0,
      original: previous,
      target: def,
      foreignSeconds: null,
      runner: null,
    });
    return { kind: 'deployed', deploymentId: dep.id, version, created: !existing };
  }

  /** `PUT {"version": ts}`: the stored definition of that version becomes the new target. */
  rollbackApp(appId: string, version: string, force: boolean): ChangeResult {
    const app = this.apps.get(appId);
    const stored = app?.versions.get(version);
    if (!app || !stored) return { kind: 'not-found' };
    return this.applyAppChange(appId, userFields(stored), force);
  }

  deleteApp(appId: string, force: boolean): ChangeResult {
    const app = this.apps.get(appId);
    if (!app) return { kind: 'not-found' };
    const locks = this.locksOf(appId);
    if (locks.length > 0 && !force) return { kind: 'locked', deploymentIds: locks.map((d) => d.id) };
    for (const d of locks) this.cancel(d, false);
    const version = this.nextVersion();
    app.deleted = true;
    this.apps.delete(appId);
    const dep = this.startDeployment({
      id: randomUUID(),
      version,
      appId,
      app,
      steps: [['StopApplication']],
      stepIndex: 0,
      original: app.def,
      target: null,
      foreignSeconds: null,
      runner: null,
    });
    return { kind: 'deployed', deploymentId: dep.id, version, created: false };
  }

  /**
   * DELETE /v2/deployments/{id}. `force`: just stop it (202). Otherwise stop it and deploy the reverse change
   * (forced, so it also overrides anything else on the app), which is Marathon's rollback.
   */
  cancelDeployment(id: string, force: boolean): ChangeResult | { kind: 'cancelled' } {
    const dep = this.deployments.get(id);
    if (!dep) return { kind: 'not-found' };
    this.cancel(dep, true);
    if (force) return { kind: 'cancelled' };
    if (dep.foreignSeconds !== null) {
      return this.noopDeployment(dep.appId, this.apps.get(dep.appId)?.def ?? null);
    }
    if (dep.original === null) {
      // The cancelled deployment created the app: reverting it removes the app again.
      return this.apps.has(dep.appId)
        ? this.deleteApp(dep.appId, true)
        : this.noopDeployment(dep.appId, null);
    }
    return this.applyAppChange(dep.appId, userFields(dep.original), true);
  }

  /** Test hook: a deployment by "someone else" that holds the app's lock for `seconds` simulated seconds. */
  lockApp(appId: string, seconds: number): string {
    const app = this.apps.get(appId) ?? null;
    const dep = this.startDeployment({
      id: randomUUID(),
      version: this.nextVersion(),
      appId,
      app,
      steps: [['ScaleApplication']],
      stepIndex: 0,
      original: app?.def ?? null,
      target: app?.def ?? null,
      foreignSeconds: seconds,
      runner: null,
    });
    return dep.id;
  }

  locksOf(appId: string): Deployment[] {
    return [...this.deployments.values()].filter((d) => d.appId === appId);
  }

  // --- deployments ----------------------------------------------------------------------------------------------

  private noopDeployment(appId: string, def: JsonObject | null): ChangeResult {
    const dep: Deployment = {
      id: randomUUID(),
      version: this.nextVersion(),
      appId,
      app: null,
      steps: [],
      stepIndex: 0,
      original: def,
      target: def,
      foreignSeconds: null,
      runner: null,
    };
    this.emit('deployment_success', { id: dep.id, plan: this.planJson(dep) });
    return { kind: 'deployed', deploymentId: dep.id, version: dep.version, created: false };
  }

  private startDeployment(dep: Deployment): Deployment {
    this.deployments.set(dep.id, dep);
    if (dep.app && dep.foreignSeconds === null) dep.app.deploymentId = dep.id;
    this.beginStep(dep);
    this.progress(dep);
    return dep;
  }

  private beginStep(dep: Deployment): void {
    const actions = dep.steps[dep.stepIndex] ?? [];
    this.emit('deployment_info', { plan: this.planJson(dep), currentStep: this.stepJson(dep, actions) });
    const action = actions[0];
    const app = dep.app;
    let runner: StepRunner;
    if (dep.foreignSeconds !== null) runner = new ForeignRunner(this.ops, dep.id, dep.foreignSeconds);
    else if (!app || action === 'StartApplication') runner = new StartRunner();
    else if (action === 'StopApplication') runner = new StopRunner(this.ops, app);
    else if (action === 'ScaleApplication')
      runner = new ScaleRunner(this.ops, app, dep.target ?? app.def, dep.id);
    else runner = new ReplaceRunner(this.ops, app, dep.target ?? app.def, dep.id);
    dep.runner = runner;
    runner.start();
  }

  private progress(dep: Deployment): void {
    while (this.deployments.get(dep.id) === dep && dep.runner?.isDone()) {
      const actions = dep.steps[dep.stepIndex] ?? [];
      this.emit('deployment_step_success', {
        plan: this.planJson(dep),
        currentStep: this.stepJson(dep, actions),
      });
      dep.stepIndex += 1;
      if (dep.stepIndex >= dep.steps.length) {
        this.deployments.delete(dep.id);
        if (dep.app && dep.app.deploymentId === dep.id) dep.app.deploymentId = null;
        dep.runner = null;
        this.emit('deployment_success', { id: dep.id, plan: this.planJson(dep) });
        if (dep.app) this.reconcileSteady(dep.app);
        return;
      }
      this.beginStep(dep);
    }
  }

  private cancel(dep: Deployment, reconcile: boolean): void {
    this.deployments.delete(dep.id);
    const app = dep.app;
    if (app && app.deploymentId === dep.id) {
      app.deploymentId = null;
      app.queue = app.queue.filter((q) => q.owner !== dep.id);
    }
    dep.runner = null;
    this.emit('deployment_failed', { id: dep.id, plan: this.planJson(dep), reason: CANCELLED });
    if (reconcile && app) this.reconcileSteady(app);
  }

  private stepJson(dep: Deployment, actions: ActionName[]): JsonObject {
    return { actions: actions.map((a) => ({ action: a, app: dep.appId })) };
  }

  planJson(dep: Deployment): JsonObject {
    const group = (def: JsonObject | null): JsonObject => ({
      id: '/',
      apps: def ? [clone(def)] : [],
      groups: [],
      pods: [],
      dependencies: [],
      version: dep.version,
    });
    return {
      id: dep.id,
      original: group(dep.original),
      target: group(dep.target),
      steps: dep.steps.map((s) => this.stepJson(dep, s)),
      version: dep.version,
    };
  }

  deploymentJson(dep: Deployment): JsonObject {
    const actions = dep.steps[dep.stepIndex] ?? [];
    const readiness = dep.runner?.readinessResults() ?? [];
    return {
      id: dep.id,
      version: dep.version,
      affectedApps: [dep.appId],
      affectedPods: [],
      steps: dep.steps.map((s) => this.stepJson(dep, s)),
      currentActions: actions.map((a) => ({ action: a, app: dep.appId, readinessCheckResults: readiness })),
      currentStep: dep.stepIndex + 1,
      totalSteps: dep.steps.length,
    };
  }

  // --- tasks ----------------------------------------------------------------------------------------------------

  private newApp(id: string, def: JsonObject): SimApp {
    const app: SimApp = {
      id,
      def,
      versions: new Map(),
      tasks: new Map(),
      failed: new Map(),
      queue: [],
      backoff: new Map(),
      lastTaskFailure: null,
      deploymentId: null,
      deleted: false,
      stats: { launched: 0, failed: 0, killedUnhealthy: 0, killedByDeployment: 0 },
    };
    this.apps.set(id, app);
    return app;
  }

  private notify(app: SimApp, fn: (r: StepRunner) => void): boolean {
    const dep = app.deploymentId ? this.deployments.get(app.deploymentId) : undefined;
    if (!dep?.runner) return false;
    fn(dep.runner);
    this.progress(dep);
    return true;
  }

  /** Outside deployments Marathon keeps `instances` tasks of the current version alive (it never scales down). */
  private reconcileSteady(app: SimApp): void {
    if (app.deleted || app.deploymentId !== null) return;
    const want = num(app.def, 'instances', 1);
    const version = String(app.def['version']);
    for (let have = app.tasks.size + app.queue.length; have < want; have++)
      this.queueLaunch(app, version, 'steady');
  }

  private queueLaunch(app: SimApp, version: string, owner: string): void {
    const claimed = new Set(app.queue.map((q) => q.instanceId));
    const instanceId = [...app.failed.keys()].find((id) => !claimed.has(id));
    const item: QueuedLaunch = { version, owner, ...(instanceId ? { instanceId } : {}) };
    app.queue.push(item);
    this.scheduleQueued(app, item);
  }

  private scheduleQueued(app: SimApp, item: QueuedLaunch): void {
    const at = Math.max(this.now, app.backoff.get(item.version)?.until ?? 0);
    this.scheduler.schedule(at, () => {
      const index = app.queue.indexOf(item);
      if (index < 0) return;
      if ((app.backoff.get(item.version)?.until ?? 0) > this.now) {
        this.scheduleQueued(app, item);
        return;
      }
      app.queue.splice(index, 1);
      this.launch(app, item.version, item.instanceId);
    });
  }

  private bumpBackoff(app: SimApp, version: string): void {
    const def = app.versions.get(version) ?? app.def;
    const b = app.backoff.get(version) ?? { failures: 0, until: 0 };
    b.failures += 1;
    const delay = Math.min(
      num(def, 'maxLaunchDelaySeconds', 3600),
      num(def, 'backoffSeconds', 1) * Math.pow(num(def, 'backoffFactor', 1.15), b.failures - 1),
    );
    b.until = this.now + delay * 1000;
    app.backoff.set(version, b);
  }

  private launch(app: SimApp, version: string, relaunch?: string): void {
    const def = app.versions.get(version) ?? app.def;
    const image = imageOf(def);
    const scenario = lookupScenario(this.options.scenarios, image, this.options.defaultScenario);
    const behaviour = behaviourOf(scenario);
    const uuid = randomUUID();
    const safeId = app.id.replace(/^\//, '').replaceAll('/', '_');
    const previous = relaunch ? app.failed.get(relaunch) : undefined;
    if (relaunch) app.failed.delete(relaunch);
    const instanceId = previous?.instanceId ?? `${safeId}.instance-${uuid}`;
    const incarnation = (previous?.incarnation ?? 0) + 1;
    const agent = (this.hostCounter++ % 3) + 1;
    const container = isObject(def['container']) ? def['container'] : {};
    const docker = isObject(container['docker']) ? container['docker'] : {};
    const portCount = Math.max(
      1,
      objects(container['portMappings']).length,
      objects(docker['portMappings']).length,
      objects(def['portDefinitions']).length,
    );
    const task: SimTask = {
      id: `${instanceId}._app.${incarnation}`,
      instanceId,
      incarnation,
      appId: app.id,
      version,
      host: `agent-${agent}.sim.local`,
      slaveId: `sim-agent-S${agent}`,
      ipAddress: `10.0.0.${agent}`,
      ports: Array.from({ length: portCount }, () => 31000 + Math.floor(this.portRandom() * 1000)),
      state: 'TASK_STAGING',
      stagedAt: this.now,
      startedAt: null,
      image,
      scenario,
      behaviour,
      health: objects(def['healthChecks']).map(() => null),
      allAlive: false,
      ready: false,
      readiness: null,
      terminal: false,
    };
    app.tasks.set(task.id, task);
    app.stats.launched += 1;
    this.statusUpdate(task, 'TASK_STAGING', '');
    this.scheduler.schedule(this.now + behaviour.startSeconds * 1000, () => this.toRunning(app, task));
  }

  private statusUpdate(task: SimTask, status: string, message: string): void {
    this.emit('status_update_event', {
      slaveId: task.slaveId,
      taskId: task.id,
      taskStatus: status,
      message,
      appId: task.appId,
      host: task.host,
      ipAddresses: [{ ipAddress: task.ipAddress, protocol: 'IPv4' }],
      ports: task.ports,
      version: task.version,
    });
  }

  private versionDef(app: SimApp, task: SimTask): JsonObject {
    return app.versions.get(task.version) ?? app.def;
  }

  private toRunning(app: SimApp, task: SimTask): void {
    if (task.terminal || task.state !== 'TASK_STAGING') return;
    task.state = 'TASK_RUNNING';
    task.startedAt = this.now;
    this.statusUpdate(task, 'TASK_RUNNING', '');
    this.notify(app, (r) => r.onRunning(task));
    const def = this.versionDef(app, task);
    const b = task.behaviour;
    objects(def['healthChecks']).forEach((hc, i) => {
      if (b.instant) this.healthCheck(app, task, i);
      else
        this.scheduler.schedule(this.nextHealthTick(task, hc, this.now), () =>
          this.healthCheck(app, task, i),
        );
    });
    const rc = objects(def['readinessChecks'])[0];
    if (rc) {
      if (b.instant) this.readinessCheck(app, task);
      else
        this.scheduler.schedule(this.now + this.readinessInterval(rc), () => this.readinessCheck(app, task));
    }
    if (b.crashAfter !== null) {
      this.scheduler.schedule(this.now + b.crashAfter * 1000, () => this.crash(app, task));
    }
  }

  /** The next tick, strictly after `after`, of the per-version health-check grid. */
  private nextHealthTick(task: SimTask, hc: JsonObject, after: number): number {
    const interval = Math.max(1, num(hc, 'intervalSeconds', HC_DEFAULTS.intervalSeconds)) * 1000;
    const first = Date.parse(task.version) + Math.min(interval, FIRST_HEALTH_CHECK_AFTER_S * 1000);
    if (after < first) return first;
    return first + (Math.floor((after - first) / interval) + 1) * interval;
  }

  private readinessInterval(rc: JsonObject): number {
    return Math.max(1, num(rc, 'intervalSeconds', READINESS_INTERVAL_S)) * 1000;
  }

  private healthCheck(app: SimApp, task: SimTask, index: number): void {
    if (task.terminal || task.state !== 'TASK_RUNNING') return;
    const hc = objects(this.versionDef(app, task)['healthChecks'])[index];
    if (!hc) return;
    this.scheduler.schedule(this.nextHealthTick(task, hc, this.now), () =>
      this.healthCheck(app, task, index),
    );
    const b = task.behaviour;
    const since = task.startedAt ?? this.now;
    const pass = b.instant || (b.healthyAfter !== null && this.now - since >= b.healthyAfter * 1000);
    const h: HealthState = task.health[index] ?? {
      alive: false,
      consecutiveFailures: 0,
      firstSuccess: null,
      lastSuccess: null,
      lastFailure: null,
      lastFailureCause: null,
    };
    task.health[index] = h;
    const wasAlive = h.alive;
    if (pass) {
      h.alive = true;
      h.consecutiveFailures = 0;
      h.firstSuccess ??= this.now;
      h.lastSuccess = this.now;
      if (!wasAlive) this.healthChanged(task, true);
      const allAlive = task.health.every((x) => x?.alive === true);
      if (allAlive && !task.allAlive) {
        task.allAlive = true;
        this.notify(app, (r) => r.onHealthy(task));
      }
      return;
    }
    const grace = num(hc, 'gracePeriodSeconds', HC_DEFAULTS.gracePeriodSeconds) * 1000;
    if (h.firstSuccess === null && this.now < since + grace) return; // ignored inside the grace period
    const mesos = MESOS_SIDE.has(str(hc, 'protocol') ?? 'HTTP');
    const cause = mesos ? '' : failureCause(hc);
    const max = num(hc, 'maxConsecutiveFailures', HC_DEFAULTS.maxConsecutiveFailures);
    // Marathon's HealthCheckActor tests the count *before* adding this failure: it kills on the (max+1)-th.
    const marathonKills = !mesos && max > 0 && h.consecutiveFailures >= max;
    if (!mesos)
      this.emit('failed_health_check_event', {
        appId: app.id,
        taskId: task.instanceId,
        instanceId: task.instanceId,
        version: task.version,
        healthCheck: clone(hc),
      });
    h.alive = false;
    h.consecutiveFailures += 1;
    h.lastFailure = this.now;
    h.lastFailureCause = cause;
    task.allAlive = false;
    if (wasAlive) this.healthChanged(task, false);
    if (marathonKills) this.killUnhealthy(app, task, cause);
    // The Mesos executor kills on the max-th consecutive failure.
    else if (mesos && max > 0 && h.consecutiveFailures >= max) this.killedByMesos(app, task);
  }

  private healthChanged(task: SimTask, alive: boolean): void {
    this.emit('health_status_changed_event', {
      appId: task.appId,
      instanceId: task.instanceId,
      version: task.version,
      alive,
    });
  }

  private killUnhealthy(app: SimApp, task: SimTask, reason: string): void {
    this.emit('unhealthy_instance_kill_event', {
      appId: app.id,
      taskId: task.id,
      instanceId: task.instanceId,
      version: task.version,
      reason,
      host: task.host,
      slaveId: task.slaveId,
    });
    app.lastTaskFailure = this.failureJson(
      task,
      'TASK_KILLED',
      `Task was killed since health check failed. Reason: ${reason}`,
    );
    app.stats.killedUnhealthy += 1;
    this.bumpBackoff(app, task.version);
    task.state = 'TASK_KILLING';
    this.scheduler.schedule(this.now, () => this.terminate(app, task, 'TASK_KILLED', '', true));
  }

  /**
   * A health check Mesos runs (MESOS_HTTP, MESOS_HTTPS, MESOS_TCP, COMMAND) failed `maxConsecutiveFailures` times:
   * the executor kills the task itself. Marathon only sees TASK_KILLED with the executor's message: no
   * `unhealthy_instance_kill_event`, no `lastTaskFailure` (TaskFailure excludes TASK_KILLED).
   */
  private killedByMesos(app: SimApp, task: SimTask): void {
    app.stats.killedUnhealthy += 1;
    this.bumpBackoff(app, task.version);
    task.state = 'TASK_KILLING';
    this.scheduler.schedule(this.now, () =>
      this.terminate(app, task, 'TASK_KILLED', 'Command terminated with signal Terminated', true),
    );
  }

  private readinessCheck(app: SimApp, task: SimTask): void {
    if (task.terminal || task.state !== 'TASK_RUNNING' || task.ready) return;
    const rc = objects(this.versionDef(app, task)['readinessChecks'])[0];
    if (!rc) return;
    const b = task.behaviour;
    const since = task.startedAt ?? this.now;
    const pass = b.instant || (b.readyAfter !== null && this.now - since >= b.readyAfter * 1000);
    const codes = Array.isArray(rc['httpStatusCodesForReady']) ? rc['httpStatusCodesForReady'] : [];
    const okStatus = typeof codes[0] === 'number' ? codes[0] : 200;
    task.readiness = {
      name: str(rc, 'name') ?? 'readinessCheck',
      taskId: task.id,
      ready: pass,
      lastResponse: {
        status: pass ? okStatus : 503,
        contentType: 'text/plain',
        body: pass ? 'ready' : 'not ready',
      },
    };
    if (pass) {
      task.ready = true;
      this.notify(app, (r) => r.onReady(task));
    } else {
      this.scheduler.schedule(this.now + this.readinessInterval(rc), () => this.readinessCheck(app, task));
    }
  }

  private crash(app: SimApp, task: SimTask): void {
    if (task.terminal || task.state !== 'TASK_RUNNING') return;
    const message = task.behaviour.crashMessage;
    app.lastTaskFailure = this.failureJson(task, 'TASK_FAILED', message);
    app.stats.failed += 1;
    this.bumpBackoff(app, task.version);
    this.terminate(app, task, 'TASK_FAILED', message, true);
  }

  private failureJson(task: SimTask, state: string, message: string): JsonObject {
    return {
      appId: task.appId,
      host: task.host,
      message,
      state,
      taskId: task.id,
      timestamp: iso(this.now),
      version: task.version,
      slaveId: task.slaveId,
    };
  }

  /** A kill requested by a deployment step (upgrade, scale-down, stop). Completes on the next settle. */
  private killTask(app: SimApp, task: SimTask): void {
    if (task.terminal || task.state === 'TASK_KILLING') return;
    task.state = 'TASK_KILLING';
    app.stats.killedByDeployment += 1;
    this.scheduler.schedule(this.now, () => this.terminate(app, task, 'TASK_KILLED', ''));
  }

  private terminate(app: SimApp, task: SimTask, status: string, message: string, failure = false): void {
    if (task.terminal) return;
    task.terminal = true;
    app.tasks.delete(task.id);
    if (failure && !app.deleted) {
      // Its instance stays (goal Running) and is listed with the terminal task until relaunched.
      task.state = status as TaskState;
      app.failed.set(task.instanceId, task);
    }
    this.statusUpdate(task, status, message);
    if (!this.notify(app, (r) => r.onTerminal(task))) this.reconcileSteady(app);
  }

  // --- rendering ------------------------------------------------------------------------------------------------

  taskJson(task: SimTask): JsonObject {
    if (task.terminal)
      // A failed instance's last task (TaskConversion.enrichedTaskRamlWrite): no version, times or ports.
      return {
        id: task.id,
        appId: task.appId,
        host: task.host,
        ipAddresses: [{ ipAddress: task.ipAddress, protocol: 'IPv4' }],
        ports: [],
        servicePorts: [],
        slaveId: task.slaveId,
        state: task.state,
        localVolumes: [],
        healthCheckResults: [],
        role: '*',
      };
    return {
      id: task.id,
      appId: task.appId,
      host: task.host,
      ipAddresses: [{ ipAddress: task.ipAddress, protocol: 'IPv4' }],
      ports: task.ports,
      servicePorts: [],
      slaveId: task.slaveId,
      state: task.state,
      stagedAt: iso(task.stagedAt),
      startedAt: task.startedAt === null ? null : iso(task.startedAt),
      version: task.version,
      localVolumes: [],
      healthCheckResults: task.health
        .filter((h): h is HealthState => h !== null)
        .map((h) => ({
          alive: h.alive,
          consecutiveFailures: h.consecutiveFailures,
          firstSuccess: h.firstSuccess === null ? null : iso(h.firstSuccess),
          lastSuccess: h.lastSuccess === null ? null : iso(h.lastSuccess),
          lastFailure: h.lastFailure === null ? null : iso(h.lastFailure),
          lastFailureCause: h.lastFailureCause,
          instanceId: task.instanceId,
        })),
    };
  }

  appJson(app: SimApp, embed: { tasks: boolean; lastTaskFailure: boolean }): JsonObject {
    const tasks = [...app.tasks.values()];
    const withResults = tasks.filter((t) => t.health.some((h) => h !== null));
    const out: JsonObject = {
      ...clone(app.def),
      tasksStaged: tasks.filter((t) => t.state === 'TASK_STAGING').length,
      tasksRunning: tasks.filter((t) => t.state === 'TASK_RUNNING').length,
      tasksHealthy: withResults.filter((t) => t.health.every((h) => h?.alive === true)).length,
      tasksUnhealthy: withResults.filter((t) => t.health.some((h) => h !== null && !h.alive)).length,
      deployments: this.locksOf(app.id).map((d) => ({ id: d.id })),
    };
    if (embed.tasks) out['tasks'] = [...tasks, ...app.failed.values()].map((t) => this.taskJson(t));
    if (embed.lastTaskFailure && app.lastTaskFailure) out['lastTaskFailure'] = clone(app.lastTaskFailure);
    return out;
  }
}

function failureCause(hc: JsonObject): string {
  const protocol = str(hc, 'protocol') ?? 'HTTP';
  if (protocol.endsWith('TCP')) return 'Connection refused';
  if (protocol === 'COMMAND') return 'Command exited with status 1';
  return '503 Service Unavailable';
}
