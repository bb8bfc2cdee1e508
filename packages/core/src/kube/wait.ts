/**
 * Waiting for Kubernetes rollouts like `kubectl rollout status`, but all at once and with the reason: every
 * workload in parallel under one deadline, each judged by kubectl's rules ({@link rolloutStatus}) on every
 * snapshot its watch delivers, and its new pods looked at ({@link diagnosePods}) whenever its status changes and
 * every `podIntervalMs` meanwhile (a crash loop changes no Deployment field, so the watch alone would not see it).
 *
 * - ready: kubectl's rules say done (a Job: Complete); kinds with no rollout are ready at once.
 * - failed: the workload failed (`ProgressDeadlineExceeded`, a Job's `BackoffLimitExceeded`…, it was deleted), or
 *   a new pod has a fatal problem (a crash loop at `failureThreshold` restarts, a bad image, a missing
 *   ConfigMap key…): that workload fails at once with the pod's reason, without waiting for the deadline or for
 *   `progressDeadlineSeconds`.
 * - timed-out: the deadline came first; the reason says what was missing and why, from one last look at the
 *   pods (`timed out after 5m00s: 1/3 updated, 0/3 available; pod api-…: Unschedulable (0/3 nodes are
 *   available: 3 Insufficient cpu.)`).
 * - cancelled: the signal aborted.
 *
 * Where the snapshots come from is injected ({@link RolloutSource}): the action backs it with the API client's
 * watch and list calls, tests with scripted sequences. Time is injected too ({@link Clock}).
 */
import { errorMessage } from '../errors.js';
import type { Logger } from '../platform/types.js';
import { formatDuration } from '../util/duration.js';
import { sleep } from '../util/sleep.js';
import { diagnosePods, type PodDiagnosis, type PodsSnapshot } from './pod-diagnosis.js';
import { isObj, isWaitable, rolloutStatus, type KubeObject, type RolloutStatus } from './rollout.js';

/** A workload to wait for. */
export interface RolloutTarget {
  kind: string;
  name: string;
  namespace?: string;
  apiVersion?: string;
}

/** One event of a Kubernetes watch (`{"type":"MODIFIED","object":{…}}`). */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject;
}

/** What a watch yields: the workload as it is now, or a watch event carrying it. */
export type WorkloadSnapshot = KubeObject | WatchEvent;

export interface RolloutSource {
  /**
   * The workload, then every change of it, until `signal` aborts (a list-then-watch, like kubectl's). An iterable
   * that ends or throws is opened again after a pause, until the deadline.
   */
  watch(target: RolloutTarget, signal: AbortSignal): AsyncIterable<WorkloadSnapshot>;
  /** The workload's pods and the events about them (and a Deployment's ReplicaSets, to tell new pods from old). */
  pods(target: RolloutTarget, workload: KubeObject, signal: AbortSignal): Promise<PodsSnapshot>;
}

export interface Clock {
  now(): number;
  /** Resolve after `ms`, or reject when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = { now: () => Date.now(), sleep };

export interface WaitForRolloutsOptions {
  /** When every unfinished workload times out (ms since the epoch, on `clock`). */
  deadline: number;
  /** Restarts, failed pulls or failed attempts of one new pod that fail its workload at once. */
  failureThreshold: number;
  signal?: AbortSignal;
  log: Logger;
  source: RolloutSource;
  clock?: Clock;
  /** How often a workload's pods are looked at while it is not done (default 5 s). */
  podIntervalMs?: number;
  /** A progress line at least this often even without change (default 30 s). */
  heartbeatMs?: number;
  /** How long past the deadline the last look at the pods may take (default 5 s). */
  finalCheckMs?: number;
  /** Events older than this are ignored (default: none). */
  since?: number;
}

export type RolloutOutcome = 'ready' | 'failed' | 'timed-out' | 'cancelled';

export interface RolloutResult {
  target: RolloutTarget;
  result: RolloutOutcome;
  /** Why it failed, timed out or was cancelled (never just "timed out"); a note for a ready OnDelete workload. */
  reason?: string;
  /** The last progress (`3/3 updated, 3/3 available`). */
  progress: string;
  durationMs: number;
  /** The pods' problem behind a failure or a timeout, when there was one. */
  diagnosis?: PodDiagnosis;
}

/** `deployment/api`, with ` -n <namespace>` when the targets are in several namespaces. */
export function targetLabel(t: RolloutTarget, withNamespace = false): string {
  return `${t.kind.toLowerCase()}/${t.name}${withNamespace && t.namespace ? ` -n ${t.namespace}` : ''}`;
}

/** Wait for every target in parallel under one deadline; resolves with one result per target, in order. */
export async function waitForRollouts(
  targets: readonly RolloutTarget[],
  o: WaitForRolloutsOptions,
): Promise<RolloutResult[]> {
  const clock = o.clock ?? systemClock;
  const started = clock.now();
  const namespaces = new Set(targets.map((t) => t.namespace ?? ''));
  return Promise.all(
    targets.map((t) => new TargetWait(t, o, clock, started, targetLabel(t, namespaces.size > 1)).run()),
  );
}

/** A watch event rather than an object: `type` is an event type and `object` an object (no kind has both). */
function isWatchEvent(s: WorkloadSnapshot): s is WatchEvent {
  const o = s as Record<string, unknown>;
  return (
    isObj(o['object']) &&
    typeof o['type'] === 'string' &&
    ['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR'].includes(o['type'])
  );
}

const noop = (): void => undefined;

type Wake =
  | { kind: 'snapshot'; value: WorkloadSnapshot }
  | { kind: 'ended' }
  | { kind: 'watch-error'; error: unknown }
  | { kind: 'timer' };

/** The wait for one workload. */
class TargetWait {
  private readonly stop = new AbortController();
  private readonly podIntervalMs: number;
  private readonly heartbeatMs: number;
  private workload: KubeObject | undefined;
  private status: RolloutStatus | undefined;
  private diagnosis: PodDiagnosis | undefined;
  /** When the pods are looked at next (0: as soon as there is a workload). */
  private podsDue = 0;
  private lastKey = '';
  private lastLineAt = 0;
  private lastWarning = '';
  private watchError: string | undefined;

  constructor(
    private readonly target: RolloutTarget,
    private readonly o: WaitForRolloutsOptions,
    private readonly clock: Clock,
    private readonly started: number,
    private readonly label: string,
  ) {
    this.podIntervalMs = o.podIntervalMs ?? 5000;
    this.heartbeatMs = o.heartbeatMs ?? 30_000;
  }

  async run(): Promise<RolloutResult> {
    if (!isWaitable(this.target.kind)) {
      const progress = 'applied, nothing to wait for';
      return { target: this.target, result: 'ready', progress, durationMs: 0 };
    }
    const onAbort = (): void => this.stop.abort();
    if (this.o.signal?.aborted) this.stop.abort();
    this.o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.loop();
    } finally {
      this.o.signal?.removeEventListener('abort', onAbort);
      this.stop.abort();
    }
  }

  private get progress(): string {
    return this.status?.progress ?? 'no status seen yet';
  }

  private result(result: RolloutOutcome, reason?: string, diagnosis?: PodDiagnosis): RolloutResult {
    const r: RolloutResult = {
      target: this.target,
      result,
      progress: this.progress,
      durationMs: this.clock.now() - this.started,
    };
    if (reason !== undefined) r.reason = reason;
    if (diagnosis) r.diagnosis = diagnosis;
    return r;
  }

  /** Watch, judge each snapshot, look at the pods when due; until a verdict, the deadline or cancellation. */
  private async loop(): Promise<RolloutResult> {
    const { clock, o } = this;
    let iterator: AsyncIterator<WorkloadSnapshot> | undefined;
    let next: Promise<IteratorResult<WorkloadSnapshot>> | undefined;
    let reopenAt = 0;
    let watchFailures = 0;
    const closeWatch = (): void => {
      next?.catch(noop);
      next = undefined;
      const it = iterator;
      iterator = undefined;
      try {
        it?.return?.()?.catch(noop);
      } catch {
        // a source whose return() throws has nothing left to close
      }
    };
    try {
      for (;;) {
        if (o.signal?.aborted) return this.cancelled();
        const now = clock.now();
        if (now >= o.deadline) return await this.timedOut();
        if (!iterator && now >= reopenAt) {
          try {
            iterator = o.source.watch(this.target, this.stop.signal)[Symbol.asyncIterator]();
          } catch (e) {
            watchFailures++;
            reopenAt = now + this.watchBackoff(watchFailures, e);
          }
        }
        if (iterator && !next) {
          const it = iterator;
          // A hand-written iterator may throw instead of rejecting: the same watch failure either way.
          next = Promise.resolve().then(() => it.next());
          next.catch(noop);
        }
        const podsDue = this.workload && !this.status?.done ? this.podsDue : Infinity;
        const wakeAt = Math.min(o.deadline, podsDue, iterator ? Infinity : reopenAt);
        const wake = await this.waitFor(next, wakeAt - now);
        if (wake === 'aborted') return this.cancelled();
        if (wake.kind === 'snapshot') {
          next = undefined;
          watchFailures = 0;
          const verdict = await this.onSnapshot(wake.value);
          if (verdict === 'reopen') {
            closeWatch();
            reopenAt = clock.now() + this.watchBackoff(++watchFailures, 'the watch reported an error');
          } else if (verdict) return verdict;
        } else if (wake.kind === 'ended' || wake.kind === 'watch-error') {
          closeWatch();
          const error = wake.kind === 'watch-error' ? wake.error : undefined;
          reopenAt = clock.now() + (error === undefined ? 1000 : this.watchBackoff(++watchFailures, error));
        }
        // Checked after every wake-up, so a watch that never goes quiet cannot starve the pods' check.
        if (this.workload && !this.status?.done && clock.now() >= this.podsDue && clock.now() < o.deadline) {
          const verdict = await this.checkPods();
          if (verdict) return verdict;
        }
      }
    } finally {
      closeWatch();
    }
  }

  /** The pause before opening a failed watch again: 1, 2, 4… s up to 15 s; the failure is logged once. */
  private watchBackoff(failures: number, error: unknown): number {
    this.watchError = typeof error === 'string' ? error : errorMessage(error);
    this.warnOnce(`${this.label}: watching failed (${this.watchError}); trying again.`);
    return Math.min(1000 * 2 ** Math.max(0, failures - 1), 15_000);
  }

  private warnOnce(message: string): void {
    if (message !== this.lastWarning) this.o.log.warning(message);
    this.lastWarning = message;
  }

  /** The next snapshot, or the timer after `ms`, or 'aborted'. */
  private async waitFor(
    next: Promise<IteratorResult<WorkloadSnapshot>> | undefined,
    ms: number,
  ): Promise<Wake | 'aborted'> {
    if (this.stop.signal.aborted) return 'aborted';
    const timer = new AbortController();
    const signal = AbortSignal.any([this.stop.signal, timer.signal]);
    const candidates: Promise<Wake | 'aborted'>[] = [
      this.clock.sleep(Math.max(0, ms), signal).then(
        (): Wake => ({ kind: 'timer' }),
        (): Wake | 'aborted' => (this.stop.signal.aborted ? 'aborted' : { kind: 'timer' }),
      ),
    ];
    if (next)
      candidates.push(
        next.then(
          (r): Wake => (r.done ? { kind: 'ended' } : { kind: 'snapshot', value: r.value }),
          (error: unknown): Wake => ({ kind: 'watch-error', error }),
        ),
      );
    try {
      return await Promise.race(candidates);
    } finally {
      timer.abort();
    }
  }

  /** Judge one snapshot: a verdict, 'reopen' (an ERROR event), or undefined to go on. */
  private async onSnapshot(snapshot: WorkloadSnapshot): Promise<RolloutResult | 'reopen' | undefined> {
    let object = snapshot as KubeObject;
    if (isWatchEvent(snapshot)) {
      if (snapshot.type === 'BOOKMARK') return undefined;
      if (snapshot.type === 'ERROR') {
        this.o.log.debug(`${this.label}: watch error event ${JSON.stringify(snapshot.object)}`);
        return 'reopen';
      }
      if (snapshot.type === 'DELETED') {
        const reason = `${this.label} was deleted while Kiln waited for its rollout`;
        this.o.log.info(`${this.label}: deleted · ${this.elapsed()}`);
        return this.result('failed', reason);
      }
      object = snapshot.object;
    }
    this.workload = object;
    const before = `${this.status?.progress}|${this.status?.blocked}`;
    this.status = rolloutStatus(object);
    const status = this.status;
    if (status.done) {
      this.o.log.info(`${this.label}: rolled out · ${status.progress} · ${this.elapsed()}`);
      return this.result('ready', status.note);
    }
    if (status.failed) {
      const diagnosis = await this.lookAtPods(this.clock.now() + (this.o.finalCheckMs ?? 5000));
      const reason = `${status.failed.reason}: ${status.failed.message}${diagnosis ? `; ${diagnosis.text}` : ''}`;
      this.o.log.info(`${this.label}: failed · ${reason} · ${this.elapsed()}`);
      return this.result('failed', reason, diagnosis);
    }
    // Something moved: look at the pods now rather than at the next interval (that check logs the line).
    if (`${status.progress}|${status.blocked}` !== before) this.podsDue = this.clock.now();
    else this.logProgress();
    return undefined;
  }

  /** Look at the new pods: a fatal problem fails the workload now. */
  private async checkPods(): Promise<RolloutResult | undefined> {
    const diagnosis = await this.lookAtPods(this.o.deadline);
    this.podsDue = this.clock.now() + this.podIntervalMs;
    if (diagnosis?.fatal) {
      this.o.log.info(`${this.label}: failed · ${diagnosis.text} · ${this.progress} · ${this.elapsed()}`);
      return this.result('failed', diagnosis.text, diagnosis);
    }
    this.logProgress();
    return undefined;
  }

  /**
   * Read the pods and diagnose them, giving up at `until` (the source is asked to stop then too); keeps and
   * returns the diagnosis, the previous one when the read failed.
   */
  private async lookAtPods(until: number): Promise<PodDiagnosis | undefined> {
    const workload = this.workload;
    if (!workload) return this.diagnosis;
    const call = new AbortController();
    const signal = AbortSignal.any([this.stop.signal, call.signal]);
    try {
      const read = this.o.source.pods(this.target, workload, signal);
      read.catch(noop);
      const snapshot = await Promise.race([
        read,
        this.clock.sleep(Math.max(0, until - this.clock.now()), signal).then(() => undefined),
      ]);
      if (!snapshot) return this.diagnosis;
      this.diagnosis = diagnosePods(snapshot.pods, snapshot.events, {
        failureThreshold: this.o.failureThreshold,
        since: this.o.since,
        workload,
        replicaSets: snapshot.replicaSets,
        controllerRevisions: snapshot.controllerRevisions,
        crashLoopsFatal: workload.kind !== 'Job',
      });
    } catch (e) {
      if (!this.stop.signal.aborted)
        this.warnOnce(`${this.label}: reading its pods failed (${errorMessage(e)})`);
    } finally {
      call.abort();
    }
    return this.diagnosis;
  }

  private elapsed(): string {
    return formatDuration(this.clock.now() - this.started);
  }

  /** A line when the progress or the pods' problem changed, or every `heartbeatMs`; never on every event. */
  private logProgress(): void {
    const key = `${this.progress}|${this.status?.blocked ?? ''}|${this.diagnosis?.text ?? ''}`;
    const now = this.clock.now();
    if (key === this.lastKey && now - this.lastLineAt < this.heartbeatMs) return;
    this.lastKey = key;
    this.lastLineAt = now;
    const parts = [this.progress];
    if (this.status?.blocked) parts.push(this.status.blocked);
    if (this.diagnosis) parts.push(this.diagnosis.text);
    parts.push(this.elapsed());
    this.o.log.info(`${this.label}: ${parts.join(' · ')}`);
  }

  private cancelled(): RolloutResult {
    const reason = `cancelled after ${this.elapsed()}: ${this.progress}`;
    this.o.log.info(`${this.label}: ${reason}`);
    return this.result('cancelled', reason, this.diagnosis);
  }

  /** The deadline: what was missing and why, from one last look at the pods. */
  private async timedOut(): Promise<RolloutResult> {
    const diagnosis = this.workload
      ? await this.lookAtPods(this.clock.now() + (this.o.finalCheckMs ?? 5000))
      : undefined;
    const parts: string[] = [];
    if (!this.workload)
      parts.push(
        `no status of ${this.label} arrived${this.watchError ? ` (watching failed: ${this.watchError})` : ''}`,
      );
    else parts.push(this.progress);
    if (this.status?.blocked) parts.push(this.status.blocked);
    if (diagnosis) parts.push(diagnosis.text);
    else if (this.status) parts.push(this.status.message);
    const reason = `timed out after ${formatDuration(this.o.deadline - this.started)}: ${parts.join('; ')}`;
    this.o.log.info(`${this.label}: ${reason}`);
    return this.result('timed-out', reason, diagnosis);
  }
}
