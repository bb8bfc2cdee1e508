/**
 * Waiting for a Marathon deployment, the way Marathon needs it: polling is the source of truth
 * (`GET /v2/deployments` + `GET /v2/apps/{id}`), the `/v2/events` stream only wakes the poller up early, so a
 * finished deployment is noticed within milliseconds and a lost or reordered event costs at most one poll
 * interval.
 *
 * Marathon never fails a deployment for bad health: it kills and relaunches unhealthy or crashing tasks forever.
 * So the watcher decides failure itself, within one deadline:
 * - success: our deployment left `/v2/deployments` and the app has `instances` tasks of the new configuration
 *   (launched at or after `versionInfo.lastConfigChangeAt`) running and healthy (Marathon only finishes a
 *   deployment once they are also ready);
 * - crash loop: `failureThreshold` distinct tasks of the new configuration failed or were killed as unhealthy
 *   (from `lastTaskFailure`, tasks that vanished between polls, and task events), with Marathon's own message;
 * - superseded: another deployment changed the app meanwhile; cancelled: our deployment was cancelled by
 *   someone else (`deployment_failed`);
 * - the deadline, with what was still missing and the health-check cause.
 */
import { CancelledError } from '../errors.js';
import type { Logger } from '../platform/types.js';
import { formatDuration } from '../util/duration.js';
import { abortReason, timerDelay } from '../util/sleep.js';
import {
  MarathonError,
  type MarathonApp,
  type MarathonClient,
  type MarathonDeployment,
  type MarathonTask,
} from './client.js';
import { isJsonObject, type JsonObject } from '../util/json.js';

/** Task states that end a task for good. */
const TERMINAL_FAILURES = new Set([
  'TASK_FAILED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_GONE',
  'TASK_DROPPED',
  'TASK_UNREACHABLE',
  'TASK_GONE_BY_OPERATOR',
]);

/** Health checks that Mesos runs and acts on itself: a failing task is killed (TASK_KILLED) without `lastTaskFailure`. */
const MESOS_SIDE_CHECKS = new Set(['MESOS_HTTP', 'MESOS_HTTPS', 'MESOS_TCP', 'COMMAND']);

/** A task that has ended (Marathon ≥ 1.9 keeps it listed, without `version`, until its instance is relaunched). */
function hasEnded(state: string): boolean {
  return TERMINAL_FAILURES.has(state) || state === 'TASK_KILLED' || state === 'TASK_FINISHED';
}

/** `app.instance-<uuid>._app.3` → `app.instance-<uuid>` (the instance survives relaunches; the task id does not). */
export function instanceOf(taskId: string): string {
  const m = /^(.*\.instance-[^.]+)\.[^.]+\.\d+$/.exec(taskId);
  return m ? (m[1] as string) : taskId;
}

/** The protocol of the app's first health check that Mesos runs itself (MESOS_HTTP, MESOS_TCP, COMMAND…). */
export function mesosSideCheck(raw: JsonObject | undefined): string | undefined {
  const checks = raw?.['healthChecks'];
  if (!Array.isArray(checks)) return undefined;
  for (const c of checks) {
    const p = isJsonObject(c) && typeof c['protocol'] === 'string' ? c['protocol'] : undefined;
    if (p && MESOS_SIDE_CHECKS.has(p)) return p;
  }
  return undefined;
}

/** The event types that can change what a poll sees. */
export const WATCHED_EVENT_TYPES = [
  'deployment_success',
  'deployment_failed',
  'deployment_step_success',
  'deployment_step_failure',
  'status_update_event',
  'health_status_changed_event',
  'unhealthy_instance_kill_event',
] as const;

interface FailureEvent {
  taskId: string;
  version: string;
  message: string;
  state: string;
}

/**
 * One `/v2/events` subscription per Marathon, shared by every wait on it: remembers task failures and cancelled
 * deployments of one app, and wakes waiters up.
 */
export class EventHub {
  private readonly waiters = new Set<() => void>();
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;
  readonly failures: FailureEvent[] = [];
  readonly failedDeployments = new Map<string, string>();
  /** Whether the stream is attached (for diagnostics and the bench). */
  attached = false;

  constructor(
    private readonly client: MarathonClient,
    private readonly appId: string,
  ) {}

  start(): void {
    this.running ??= this.client.followEvents(
      WATCHED_EVENT_TYPES,
      (e) => this.onEvent(e.eventType, e.data),
      this.stop.signal,
      () => {
        this.attached = true;
        this.wake();
      },
    );
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.running?.catch(() => undefined);
  }

  private onEvent(type: string, d: JsonObject): void {
    const appId = typeof d['appId'] === 'string' ? d['appId'] : undefined;
    if (type === 'deployment_failed' && typeof d['id'] === 'string')
      this.failedDeployments.set(
        d['id'],
        typeof d['reason'] === 'string' ? d['reason'] : 'deployment failed',
      );
    if (type.startsWith('deployment_')) {
      this.wake();
      return;
    }
    if (appId !== this.appId) return;
    const taskId = typeof d['taskId'] === 'string' ? d['taskId'] : undefined;
    const version = typeof d['version'] === 'string' ? d['version'] : '';
    if (type === 'status_update_event' && taskId && hasEnded(String(d['taskStatus'])))
      this.failures.push({
        taskId,
        version,
        state: String(d['taskStatus']),
        message: typeof d['message'] === 'string' ? d['message'] : '',
      });
    if (type === 'unhealthy_instance_kill_event' && taskId)
      this.failures.push({
        taskId,
        version,
        state: 'TASK_KILLED',
        message: `Task was killed since health check failed. Reason: ${typeof d['reason'] === 'string' ? d['reason'] : 'unknown'}`,
      });
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves after `ms`, or earlier when an event arrives; rejects when `signal` aborts. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        reject(abortReason(signal as AbortSignal));
      };
      const timer = setTimeout(done, timerDelay(ms));
      this.waiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

export interface WatchState {
  elapsedMs: number;
  /** Our deployment as last listed; undefined once it left /v2/deployments. */
  deployment?: MarathonDeployment;
  instances: number;
  newHealthy: number;
  newRunning: number;
  newStaged: number;
  oldTasks: number;
  failures: number;
  /** Marathon's message for the last failure of a new task. */
  lastFailure?: string;
  /** The last health-check failure cause of a new task. */
  healthCause?: string;
  /** The app as last read (undefined: it does not exist). */
  app?: MarathonApp;
  appVersion?: string;
}

export type WatchOutcome =
  | { ok: true; state: WatchState }
  | {
      ok: false;
      kind: 'crash-loop' | 'timeout' | 'superseded' | 'cancelled-by-other' | 'deleted' | 'error';
      reason: string;
      state: WatchState;
    };

export interface WatchOptions {
  client: MarathonClient;
  events: EventHub;
  appId: string;
  deploymentId: string;
  /** The version the deployment creates (from the PUT or DELETE answer). */
  version: string;
  /** Absolute time (ms since epoch) when the wait fails. */
  deadline: number;
  pollIntervalMs: number;
  failureThreshold: number;
  /** Task id of a failure that happened before this deployment (not counted). */
  ignoreFailureOf?: string;
  /** The deployment removes the app (undoing a create): done when the app is gone. */
  expectDeleted?: boolean;
  signal?: AbortSignal;
  log: Logger;
  /** Prefix for progress lines, e.g. `[AA] `. */
  prefix?: string;
  /** Called after every poll (the caller keeps the last state, e.g. to report it on cancellation). */
  onState?: (s: WatchState) => void;
  /** What the tasks being waited for are called in progress lines (default 'new version'). */
  subject?: string;
  /** Progress line at least this often even without change (default 30 s). */
  heartbeatMs?: number;
}

function isRunning(state: string): boolean {
  return state === 'TASK_RUNNING';
}

function isStaged(state: string): boolean {
  return state === 'TASK_STAGING' || state === 'TASK_STARTING' || state === 'TASK_PROVISIONED';
}

/** `step 1/1 RestartApplication · new version: 1/3 healthy, 2 running, 1 staged · 2 old · 4.2s` */
export function progressLine(s: WatchState, subject = 'new version'): string {
  const parts: string[] = [];
  if (s.deployment)
    parts.push(
      `step ${s.deployment.currentStep}/${s.deployment.totalSteps} ${s.deployment.actions.join('+') || '…'}`,
    );
  else parts.push('deployment finished');
  parts.push(
    `${subject}: ${s.newHealthy}/${s.instances} healthy, ${s.newRunning} running, ${s.newStaged} staged`,
  );
  if (s.deployment && s.deployment.readiness.length > 0)
    parts.push(
      `${s.deployment.readiness.filter((r) => r.ready).length}/${s.deployment.readiness.length} ready`,
    );
  if (s.oldTasks > 0) parts.push(`${s.oldTasks} old`);
  if (s.failures > 0) parts.push(`${s.failures} failed${s.lastFailure ? ` (${s.lastFailure})` : ''}`);
  else if (s.healthCause && s.newHealthy < s.newRunning) parts.push(`health: ${s.healthCause}`);
  parts.push(formatDuration(s.elapsedMs));
  return parts.join(' · ');
}

/** Wait for one deployment; never throws except on cancellation (the signal). */
export async function watchDeployment(o: WatchOptions): Promise<WatchOutcome> {
  return new DeploymentWatch(o).run();
}

/** What one poll read. */
interface Poll {
  deployments: MarathonDeployment[];
  /** Undefined: the app does not exist. */
  app: MarathonApp | undefined;
}

/** How a TASK_KILLED failure reads: killed by the app's Mesos-side health check when it has one. */
function killedText(message: string, mesosCheck: string | undefined): string {
  return mesosCheck
    ? `TASK_KILLED: killed by a ${mesosCheck} health check${message ? ` (${message})` : ''}`
    : `TASK_KILLED${message ? `: ${message}` : ''}`;
}

/** One wait for one deployment: what the polls have seen so far, and the verdict after each poll. */
class DeploymentWatch {
  private readonly started = Date.now();
  private readonly heartbeat: number;
  private readonly prefix: string;
  /** Tasks launched at or after this time run the new configuration (from the first poll that finds the app). */
  private configSince: number | undefined;
  /** Failed tasks of the new configuration: task id → what failed. */
  private readonly failed = new Map<string, string>();
  /** Tasks (of `failed`) that were killed for failing health checks. */
  private readonly unhealthy = new Set<string>();
  /** New tasks of the last poll, and whether they were failing a health check then. */
  private previousNew = new Map<string, { failing: boolean }>();
  private readonly newInstances = new Set<string>();
  private readonly oldInstances = new Set<string>();
  /** The failure shown: the last one with Marathon's message (else the first). */
  private lastFailure: string | undefined;
  private polls = 0;
  private lastLine = '';
  private lastLineAt = 0;
  private lastKey = '';
  private pollErrors = 0;
  private state: WatchState = {
    elapsedMs: 0,
    instances: 0,
    newHealthy: 0,
    newRunning: 0,
    newStaged: 0,
    oldTasks: 0,
    failures: 0,
  };

  constructor(private readonly o: WatchOptions) {
    this.heartbeat = o.heartbeatMs ?? 30_000;
    this.prefix = o.prefix ?? '';
  }

  private isNew(version: string): boolean {
    return this.configSince !== undefined && Date.parse(version) >= this.configSince;
  }

  /** Poll until a verdict or the deadline; between polls, wait a poll interval or until an event arrives. */
  async run(): Promise<WatchOutcome> {
    const o = this.o;
    for (;;) {
      if (o.signal?.aborted) throw abortReason(o.signal);
      const poll = await this.poll();
      if (poll === 'again') continue;
      if ('ok' in poll) return poll;
      const ours = poll.deployments.find((d) => d.id === o.deploymentId);
      const elapsedMs = Date.now() - this.started;
      const verdict = poll.app ? this.observe(poll.app, ours, elapsedMs) : this.absent(ours, elapsedMs);
      if (verdict) return verdict;
      const remaining = o.deadline - Date.now();
      if (remaining <= 0) return this.timeout();
      await o.events.wait(Math.min(o.pollIntervalMs, remaining), o.signal);
    }
  }

  private timeout(): WatchOutcome {
    return { ok: false, kind: 'timeout', reason: timeoutReason(this.o, this.state), state: this.state };
  }

  /**
   * Read the deployments and the app. A failed poll ends the wait past the deadline or when Marathon refuses the
   * credentials (401/403); else it is logged and 'again' comes after a backoff. Throws on cancellation.
   */
  private async poll(): Promise<Poll | WatchOutcome | 'again'> {
    const o = this.o;
    try {
      const call = { signal: o.signal, deadline: o.deadline };
      const [deployments, app] = await Promise.all([
        o.client.deployments(call),
        o.client.getApp(o.appId, call),
      ]);
      this.pollErrors = 0;
      return { deployments, app };
    } catch (e) {
      if (e instanceof CancelledError || o.signal?.aborted) throw e;
      const fatal = e instanceof MarathonError && (e.status === 401 || e.status === 403);
      this.pollErrors++;
      if (Date.now() >= o.deadline) return this.timeout();
      if (fatal) return { ok: false, kind: 'error', reason: (e as Error).message, state: this.state };
      o.log.warning(`${this.prefix}Polling Marathon failed (${(e as Error).message}); trying again.`);
      await o.events.wait(Math.min(o.pollIntervalMs * 2 ** Math.min(this.pollErrors, 4), 30_000), o.signal);
      return 'again';
    }
  }

  /** The app does not exist: done once a removal's deployment ended, a failure ('deleted') for any other wait. */
  private absent(ours: MarathonDeployment | undefined, elapsedMs: number): WatchOutcome | undefined {
    const o = this.o;
    this.state = { ...this.state, elapsedMs, deployment: ours, app: undefined };
    o.onState?.(this.state);
    if (!o.expectDeleted)
      return {
        ok: false,
        kind: 'deleted',
        reason: `the app ${o.appId} was deleted while Kiln waited for deployment ${o.deploymentId}`,
        state: this.state,
      };
    if (!ours) return { ok: true, state: this.state };
    return undefined;
  }

  /** Take in one poll of the app: count the new configuration's tasks, record failures, log progress, judge. */
  private observe(
    app: MarathonApp,
    ours: MarathonDeployment | undefined,
    elapsedMs: number,
  ): WatchOutcome | undefined {
    this.configSince ??= Date.parse(app.lastConfigChangeAt);
    // Ended tasks stay listed without a version until relaunched (Marathon ≥ 1.9): they are neither old nor new
    // but failures, of the new version when their instance ran it or appeared after the first poll.
    const ended = app.tasks.filter((t) => hasEnded(t.state));
    const live = app.tasks.filter((t) => !hasEnded(t.state));
    const newTasks = live.filter((t) => this.isNew(t.version));
    for (const t of newTasks) this.newInstances.add(instanceOf(t.id));
    for (const t of live) if (!this.isNew(t.version)) this.oldInstances.add(instanceOf(t.id));
    const healthy = newTasks.filter(
      (t) =>
        isRunning(t.state) &&
        (app.healthChecks === 0 ||
          (t.healthCheckResults.length > 0 && t.healthCheckResults.every((r) => r.alive))),
    );
    const causes = newTasks.flatMap((t) =>
      t.healthCheckResults
        .filter((r) => !r.alive && r.lastFailureCause)
        .map((r) => r.lastFailureCause as string),
    );
    this.recordFailures(app, ended);
    this.previousNew = new Map(
      newTasks.map((t) => [t.id, { failing: t.healthCheckResults.some((h) => !h.alive) }]),
    );
    this.polls++;

    this.state = {
      elapsedMs,
      deployment: ours,
      instances: app.instances,
      newHealthy: healthy.length,
      newRunning: newTasks.filter((t) => isRunning(t.state)).length,
      newStaged: newTasks.filter((t) => isStaged(t.state)).length,
      oldTasks: live.length - newTasks.length,
      failures: this.failed.size,
      lastFailure: this.lastFailure,
      healthCause: causes[causes.length - 1] ?? this.state.healthCause,
      app,
      appVersion: app.version,
    };
    this.o.onState?.(this.state);
    this.logProgress(ours);
    return this.verdict(app, ours, healthy.length);
  }

  /**
   * Failures of new tasks: task events (with their state), lastTaskFailure, ended tasks still listed, and tasks
   * that vanished between two polls without a trace.
   */
  private recordFailures(app: MarathonApp, ended: MarathonTask[]): void {
    const mesosCheck = mesosSideCheck(app.raw);
    for (const f of this.o.events.failures)
      if (this.isNew(f.version)) this.record(f.taskId, f.state, f.message, mesosCheck);
    const ltf = app.lastTaskFailure;
    if (ltf && this.isNew(ltf.version)) this.record(ltf.taskId, ltf.state, ltf.message, mesosCheck);
    for (const t of ended) {
      const instance = instanceOf(t.id);
      const ofNew = t.version
        ? this.isNew(t.version)
        : this.newInstances.has(instance) || (this.polls > 0 && !this.oldInstances.has(instance));
      if (ofNew) this.record(t.id, t.state, ltf?.taskId === t.id ? ltf.message : '', mesosCheck);
    }
    const present = new Set(app.tasks.map((t) => t.id));
    if (this.previousNew.size <= app.instances) {
      for (const [id, seen] of this.previousNew)
        if (!present.has(id) && !this.failed.has(id) && id !== this.o.ignoreFailureOf) {
          // Gone between two polls (killed and relaunched in between). Failing a Mesos-side check when last
          // seen, it was killed by that check: Mesos leaves no other trace (no lastTaskFailure).
          if (seen.failing && mesosCheck) this.record(id, 'TASK_KILLED', '', mesosCheck);
          else {
            this.failed.set(id, 'the task ended');
            this.lastFailure ??= 'the task ended';
          }
        }
    }
  }

  /** Count one failed task of the new configuration (not the one to ignore), and keep the failure to show. */
  private record(taskId: string, stateName: string, message: string, mesosCheck: string | undefined): void {
    if (taskId === this.o.ignoreFailureOf) return;
    const text =
      stateName === 'TASK_KILLED'
        ? killedText(message, mesosCheck)
        : `${stateName}${message ? `: ${message}` : ''}`;
    // One failure per task; a later source may only add the message an earlier one lacked.
    const known = this.failed.get(taskId);
    if (known !== undefined && (message === '' || known.length >= text.length)) return;
    // A kill that Kiln's deployment did not ask for is a health-check kill (Marathon's or Mesos's).
    if (stateName === 'TASK_KILLED') this.unhealthy.add(taskId);
    this.failed.set(taskId, text);
    // The last failure with Marathon's message stays the one shown (a bare TASK_FAILED adds nothing).
    if (message !== '' || this.lastFailure === undefined) this.lastFailure = text;
  }

  /** A progress line when something changed or every `heartbeatMs`, never the same line twice in a row. */
  private logProgress(ours: MarathonDeployment | undefined): void {
    const state = this.state;
    const key = [
      ours?.currentStep,
      state.newHealthy,
      state.newRunning,
      state.newStaged,
      state.oldTasks,
      state.failures,
      ours?.readiness.filter((r) => r.ready).length,
      !!ours,
    ].join('|');
    if (key !== this.lastKey || Date.now() - this.lastLineAt >= this.heartbeat) {
      const line = progressLine(state, this.o.subject);
      if (line !== this.lastLine) this.o.log.info(`${this.prefix}${line}`);
      this.lastLine = line;
      this.lastKey = key;
      this.lastLineAt = Date.now();
    }
  }

  /**
   * After a poll of the app: superseded, crash loop, cancelled by someone else, or success (our deployment left
   * the list with every task healthy); undefined: keep waiting.
   */
  private verdict(
    app: MarathonApp,
    ours: MarathonDeployment | undefined,
    healthy: number,
  ): WatchOutcome | undefined {
    const o = this.o;
    const state = this.state;
    if (app.version !== o.version && !o.expectDeleted) {
      const other = app.deployments.filter((d) => d !== o.deploymentId);
      return {
        ok: false,
        kind: 'superseded',
        reason: `another change replaced this deployment: the app is now at version ${app.version}${other.length ? ` (deployment ${other.join(', ')})` : ''}`,
        state,
      };
    }
    if (this.failed.size >= o.failureThreshold)
      return { ok: false, kind: 'crash-loop', reason: this.crashLoopReason(), state };
    if (!ours) {
      const cancelled = o.events.failedDeployments.get(o.deploymentId);
      if (cancelled !== undefined && !o.expectDeleted && healthy < app.instances)
        return {
          ok: false,
          kind: 'cancelled-by-other',
          reason: `deployment ${o.deploymentId} was stopped outside Kiln (${cancelled})`,
          state,
        };
      if (!o.expectDeleted && healthy >= app.instances) return { ok: true, state };
    }
    return undefined;
  }

  /** The crash-loop reason: crashes, health-check kills or both, how many, and the failure shown. */
  private crashLoopReason(): string {
    const failed = this.failed;
    const killed = [...failed.keys()].filter((id) => this.unhealthy.has(id)).length;
    const what =
      killed === 0
        ? 'crash loop: the new version keeps failing'
        : killed === failed.size
          ? 'unhealthy: the new version keeps failing its health checks'
          : "the new version's tasks keep crashing or failing their health checks";
    return `${what}: ${failed.size} task(s) ended (failure-threshold ${this.o.failureThreshold}); last: ${this.lastFailure ?? 'no message'}`;
  }
}

function timeoutReason(o: WatchOptions, s: WatchState): string {
  const missing: string[] = [];
  if (o.expectDeleted) missing.push('the app was not removed yet');
  else {
    missing.push(`${s.newHealthy}/${s.instances} task(s) of the new version healthy`);
    if (s.newRunning > s.newHealthy && s.healthCause) missing.push(`health checks failing: ${s.healthCause}`);
    if (s.lastFailure) missing.push(`last task failure: ${s.lastFailure}`);
    const notReady = s.deployment?.readiness.filter((r) => !r.ready).length ?? 0;
    if (notReady > 0) missing.push(`${notReady} task(s) not ready`);
  }
  if (s.deployment)
    missing.push(
      `deployment ${o.deploymentId} still at step ${s.deployment.currentStep}/${s.deployment.totalSteps} (${s.deployment.actions.join('+')})`,
    );
  return `not healthy within the timeout (${formatDuration(s.elapsedMs)}): ${missing.join('; ')}`;
}

/** Wait until none of `ids` is in /v2/deployments (someone else's deployment holding the app's lock). */
export async function waitForDeploymentsToEnd(o: {
  client: MarathonClient;
  events: EventHub;
  ids: readonly string[];
  /** Stop waiting (false) at this time. */
  until: number;
  /** The operation's deadline, for each request. */
  deadline: number;
  pollIntervalMs: number;
  signal?: AbortSignal;
}): Promise<boolean> {
  for (;;) {
    const listed = await o.client.deployments({ signal: o.signal, deadline: o.deadline });
    if (!listed.some((d) => o.ids.includes(d.id))) return true;
    const remaining = o.until - Date.now();
    if (remaining <= 0) return false;
    await o.events.wait(Math.min(o.pollIntervalMs, remaining), o.signal);
  }
}
