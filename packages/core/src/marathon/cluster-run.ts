/**
 * One cluster's deployment (deploy.ts runs one per cluster): preflight (read what runs, diff) → join a deployment
 * already rolling out this definition, or submit (submit.ts: 409 locks and 403 busy answers) and detect a no-op →
 * wait (wait.ts) under one deadline → on failure roll back (rollback.ts). The `phase` says what is in flight on
 * Marathon when the run is cancelled.
 */
import { CancelledError, errorMessage } from '../errors.js';
import type { Logger } from '../platform/types.js';
import { formatDuration } from '../util/duration.js';
import { MarathonClient, type DeploymentRef, type MarathonApp, type PutResult } from './client.js';
import { KILN_LABELS } from '../deploy/labels.js';
import type { ClusterReport, MarathonCluster, MarathonDeployOptions } from './deploy.js';
import { definitionImage } from './definition.js';
import { diffDefinitions, formatDiff } from './diff.js';
import { withKeptFields } from './normalize.js';
import { rollback } from './rollback.js';
import { submit } from './submit.js';
import { isJsonObject, type JsonObject } from '../util/json.js';
import { EventHub, progressLine, watchDeployment, type WatchOutcome, type WatchState } from './wait.js';

/** Diff lines longer than this put the values on lines of their own (a long image is never cut). */
const DIFF_WIDTH = 100;

function releaseIdOf(definition: JsonObject): string | undefined {
  const labels = definition['labels'];
  const id = isJsonObject(labels) ? labels[KILN_LABELS.releaseId] : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** A sibling cluster failed (cluster-order: parallel): stop waiting and roll back. */
export class SiblingFailed extends Error {
  constructor(readonly cluster: string) {
    super(`stopped because ${cluster} failed`);
  }
}

export type Phase = 'preflight' | 'submitting' | 'locked' | 'waiting' | 'rolling-back' | 'done';

export class ClusterRun {
  readonly client: MarathonClient;
  readonly events: EventHub;
  readonly report: ClusterReport;
  readonly prefix: string;
  current: MarathonApp | undefined;
  /** What is sent: the rendered definition plus the fields Marathon would reset (normalize.ts). */
  body: JsonObject;
  phase: Phase = 'preflight';
  /** The deployments that held the app's lock when the PUT was first refused (submit.ts). */
  lockIds: string[] = [];
  /** The rollback's deployment, once started (rollback.ts). */
  rollbackRef: DeploymentRef | undefined;
  readonly stop = new AbortController();

  constructor(
    readonly o: MarathonDeployOptions,
    cluster: MarathonCluster,
    private readonly t0: number,
    multi: boolean,
  ) {
    this.client = new MarathonClient({
      url: cluster.url,
      auth: o.auth,
      log: o.log,
      registerSecret: o.registerSecret,
      insecure: o.insecure,
      env: o.env,
      requestTimeoutMs: o.requestTimeoutMs,
    });
    this.events = new EventHub(this.client, o.app.id);
    this.body = o.app.definition;
    this.prefix = multi ? `[${cluster.name}] ` : '';
    this.report = {
      name: cluster.name,
      url: this.client.displayUrl,
      appId: o.app.id,
      result: 'skipped',
      created: false,
      image: o.app.image,
      releaseId: releaseIdOf(o.app.definition),
      changes: [],
      timeline: [],
    };
  }

  get log(): Logger {
    return this.o.log;
  }

  mark(text: string): void {
    this.report.timeline.push({ atMs: Date.now() - this.t0, text });
  }

  info(text: string): void {
    this.log.info(`${this.prefix}${text}`);
  }

  /** Read what runs now and show what would change. Throws on any error (nothing has changed yet). */
  async preflight(): Promise<void> {
    const deadline = Date.now() + this.o.timeoutMs;
    const current = await this.client.getApp(this.o.app.id, { signal: this.o.signal, deadline });
    this.current = current;
    const r = this.report;
    r.created = current === undefined;
    r.previousVersion = current?.version;
    r.previousImage = current?.image;
    r.previousReleaseId = current?.labels[KILN_LABELS.releaseId];
    r.changes = diffDefinitions(current?.raw, this.o.app.definition);
    this.body = withKeptFields(this.o.app.definition, current?.raw);
    const kept = Object.keys(this.body).filter((k) => !(k in this.o.app.definition));
    if (kept.length)
      this.info(
        `Keeping ${kept.map((k) => `"${k}"`).join(', ')} as it runs (absent from the file; Marathon would reset ${kept.length === 1 ? 'it' : 'them'}).`,
      );
    this.describeCurrent(current);
    this.showChanges(current);
  }

  /** Logs the app as it runs (version, image, healthy tasks, deployments), or that it will be created. */
  private describeCurrent(current: MarathonApp | undefined): void {
    if (current) {
      const healthy = current.tasks.filter(
        (t) =>
          t.state === 'TASK_RUNNING' &&
          (current.healthChecks === 0 ||
            (t.healthCheckResults.length > 0 && t.healthCheckResults.every((h) => h.alive))),
      ).length;
      this.info(
        `${this.client.displayUrl}: ${current.id} runs version ${current.version} (image ${current.image ?? 'none'}; ${healthy}/${current.instances} tasks healthy${current.deployments.length ? `; deployment ${current.deployments.join(', ')} in progress` : ''}).`,
      );
    } else this.info(`${this.client.displayUrl}: ${this.o.app.id} does not exist yet; it will be created.`);
  }

  /** Logs the diff of the preflight (one group), or that there is none. */
  private showChanges(current: MarathonApp | undefined): void {
    const lines = formatDiff(this.report.changes, { width: DIFF_WIDTH });
    if (lines.length === 0) this.info('No changes to the app definition (Kiln’s own labels aside).');
    else {
      this.log.startGroup(`${this.prefix}${current ? 'Changes' : 'New app'}: ${lines.length} field(s)`);
      for (const l of lines) this.log.info(l);
      this.log.endGroup();
    }
  }

  /**
   * Deploy here after the preflight: the report says how it ended; failures are reported to `onFailure` (which
   * stops the siblings). Throws only when cancelled during the rollback after an error.
   */
  async deploy(onFailure: (run: ClusterRun) => void): Promise<void> {
    const r = this.report;
    const started = Date.now();
    const deadline = started + this.o.timeoutMs;
    const waitSignal = AbortSignal.any([this.o.signal, this.stop.signal]);
    try {
      const target = await this.target(deadline, waitSignal, onFailure);
      if (target === undefined) return;
      const outcome = await this.watch(target, deadline, waitSignal);
      await this.settle(outcome, target, started, onFailure);
    } catch (e) {
      await this.deployFailed(e, onFailure);
    } finally {
      r.durationMs ??= Date.now() - started;
    }
  }

  /**
   * The deployment to wait for: one already rolling out this definition (joined) or the one submitted; undefined
   * when there is nothing to wait for (the report says why: unchanged, or the submit failed).
   */
  private async target(
    deadline: number,
    waitSignal: AbortSignal,
    onFailure: (run: ClusterRun) => void,
  ): Promise<DeploymentRef | undefined> {
    const current = this.current;
    if (current && this.report.changes.length === 0) {
      if (current.deployments.length > 0) return this.join(current, deadline);
      this.alreadyRuns(current);
      return undefined;
    }
    return this.submitChange(current, deadline, waitSignal, onFailure);
  }

  /** The running app already has this definition and nothing deploys it: reported unchanged, nothing submitted. */
  private alreadyRuns(current: MarathonApp): void {
    const r = this.report;
    r.result = 'unchanged';
    r.version = current.version;
    r.reason = 'the running app already has this definition; nothing was submitted';
    const release = current.labels[KILN_LABELS.releaseId];
    this.mark(`unchanged: version ${r.version} already runs this definition`);
    this.info(
      `Unchanged: version ${r.version}${release ? ` (release ${release})` : ''} already runs this definition (image ${current.image}); nothing was submitted.`,
    );
  }

  /**
   * The app already has this definition and a deployment is rolling it out (another run of the same release, or
   * a rerun of a cancelled job): wait for that deployment rather than submit again, and roll back to the version
   * before it if it fails.
   */
  private async join(current: MarathonApp, deadline: number): Promise<DeploymentRef> {
    const r = this.report;
    const call = { signal: this.o.signal, deadline };
    const versions = await this.client.getVersions(this.o.app.id, call);
    const at = versions.indexOf(current.version);
    const previous = at >= 0 ? versions[at + 1] : undefined;
    r.previousVersion = previous;
    r.previousImage =
      previous === undefined
        ? undefined
        : definitionImage(await this.client.getVersion(this.o.app.id, previous, call));
    r.created = previous === undefined;
    r.joined = true;
    r.deploymentId = current.deployments[0] as string;
    r.version = current.version;
    this.events.start();
    this.mark(
      `joined deployment ${r.deploymentId}: it already rolls out this definition (version ${r.version})`,
    );
    this.info(
      `This definition is already being deployed (deployment ${r.deploymentId}, version ${r.version}, started before this run); waiting for it instead of submitting again.`,
    );
    return { deploymentId: r.deploymentId, version: r.version };
  }

  /**
   * Submit the definition (submit.ts waits out locks): the deployment to follow, or undefined when Marathon refused
   * it (reported failed, nothing changed) or made no new version (reported unchanged).
   */
  private async submitChange(
    current: MarathonApp | undefined,
    deadline: number,
    waitSignal: AbortSignal,
    onFailure: (run: ClusterRun) => void,
  ): Promise<DeploymentRef | undefined> {
    const r = this.report;
    this.events.start();
    this.phase = 'submitting';
    this.info(`Submitting ${this.o.app.id} (image ${this.o.app.image}) to ${this.client.displayUrl}.`);
    const put = await submit(this, deadline, waitSignal);
    if (put.kind !== 'deployed') {
      this.fail(put.reason, 'locked');
      r.rollback = { result: 'not-needed', reason: 'nothing was changed' };
      onFailure(this);
      return undefined;
    }
    r.deploymentId = put.deploymentId;
    r.version = put.version;
    this.mark(
      `submitted: deployment ${put.deploymentId}, version ${put.version}${put.created ? ' (new app)' : ''}`,
    );
    return current ? this.afterPut(current, put, deadline) : put;
  }

  /**
   * Read the app back after a PUT that updated it: undefined when Marathon created no new version (reported
   * unchanged), else the deployment to follow — an earlier one of this same definition when Marathon had it already.
   */
  private async afterPut(
    current: MarathonApp,
    put: Extract<PutResult, { kind: 'deployed' }>,
    deadline: number,
  ): Promise<DeploymentRef | undefined> {
    const r = this.report;
    const after = await this.client.getApp(this.o.app.id, { signal: this.o.signal, deadline });
    if (after && after.version === current.version) {
      r.result = 'unchanged';
      r.version = after.version;
      r.reason = 'Marathon found nothing to change (no new version)';
      this.phase = 'done';
      this.mark(`unchanged: Marathon created no new version (still ${after.version})`);
      this.info(`Unchanged: Marathon created no new version; ${after.version} keeps running.`);
      return undefined;
    }
    if (
      after &&
      after.version !== put.version &&
      diffDefinitions(after.raw, this.o.app.definition).length === 0
    ) {
      // Marathon already had this definition when the PUT arrived: an earlier attempt of this PUT whose
      // answer was lost, or another run of the same release. Its deployment is ours to follow.
      const target = { deploymentId: after.deployments[0] ?? put.deploymentId, version: after.version };
      r.deploymentId = target.deploymentId;
      r.version = target.version;
      this.mark(`following deployment ${target.deploymentId} (version ${target.version}) of this definition`);
      this.info(
        `Marathon already has this definition as version ${target.version}${after.deployments.length ? ` (deployment ${target.deploymentId})` : ''}; following that.`,
      );
      return target;
    }
    return put;
  }

  /**
   * Wait for `target` to be healthy under the run's deadline; a sibling's failure ends the wait as a failure of
   * kind 'stopped'. Throws on cancellation.
   */
  private async watch(
    target: DeploymentRef,
    deadline: number,
    waitSignal: AbortSignal,
  ): Promise<WatchOutcome> {
    const r = this.report;
    this.phase = 'waiting';
    this.info(
      `Deployment ${target.deploymentId} ${r.joined ? 'is running' : 'started'} (version ${target.version}); waiting up to ${formatDuration(Math.max(0, deadline - Date.now()))} for it to be healthy.`,
    );
    try {
      return await watchDeployment({
        client: this.client,
        events: this.events,
        appId: this.o.app.id,
        deploymentId: target.deploymentId,
        version: target.version,
        deadline,
        pollIntervalMs: this.o.pollIntervalMs,
        failureThreshold: this.o.failureThreshold,
        ignoreFailureOf: r.joined ? undefined : this.current?.lastTaskFailure?.taskId,
        signal: waitSignal,
        log: this.log,
        prefix: this.prefix,
        onState: (s) => (r.state = s),
      });
    } catch (e) {
      if (this.stop.signal.aborted && !this.o.signal.aborted) {
        const why = this.stop.signal.reason as SiblingFailed;
        const outcome: WatchOutcome = {
          ok: false,
          kind: 'error',
          reason: why.message,
          state: r.state as WatchState,
        };
        r.failureKind = 'stopped';
        return outcome;
      }
      throw e;
    }
  }

  /**
   * Report the wait's outcome: deployed, or failed — then the siblings are told, and this run's change is rolled
   * back unless someone else changed the app meanwhile.
   */
  private async settle(
    outcome: WatchOutcome,
    target: DeploymentRef,
    started: number,
    onFailure: (run: ClusterRun) => void,
  ): Promise<void> {
    const r = this.report;
    if (outcome.ok) {
      r.result = 'deployed';
      this.phase = 'done';
      const s = outcome.state;
      r.durationMs = Date.now() - started;
      this.mark(`healthy: ${s.newHealthy}/${s.instances} task(s) of version ${target.version}`);
      this.info(
        `Deployed: ${s.newHealthy}/${s.instances} task(s) of version ${target.version} healthy after ${formatDuration(r.durationMs)}.`,
      );
      return;
    }
    this.fail(outcome.reason, r.failureKind ?? outcome.kind);
    onFailure(this);
    if (
      outcome.kind === 'superseded' ||
      outcome.kind === 'cancelled-by-other' ||
      outcome.kind === 'deleted'
    ) {
      // Someone else acted on the app meanwhile: rolling back now would undo their change.
      r.rollback = {
        result: 'none',
        reason: 'the app was changed outside Kiln; Kiln does not override that',
      };
      this.mark('rollback: not attempted (the app was changed outside Kiln)');
      this.log.warning(
        `${this.prefix}Not rolling back: the app was changed outside Kiln, and a rollback would undo that change.`,
      );
      return;
    }
    await this.rollbackSelf();
  }

  /**
   * An error ended the deployment: cancelled (reported as such), stopped by a sibling before anything changed
   * here (skipped), or failed — rolled back when something was submitted.
   */
  private async deployFailed(e: unknown, onFailure: (run: ClusterRun) => void): Promise<void> {
    const r = this.report;
    if (this.o.signal.aborted || e instanceof CancelledError) {
      this.cancelled();
      return;
    }
    if (this.stop.signal.aborted && this.phase !== 'waiting') {
      r.result = 'skipped';
      r.reason = `${errorMessage(this.stop.signal.reason)}; nothing was changed here`;
      this.mark(r.reason);
      return;
    }
    const submitted = r.deploymentId !== undefined;
    this.fail(errorMessage(e), 'error');
    onFailure(this);
    if (submitted) await this.rollbackSelf();
    else r.rollback = { result: 'not-needed', reason: 'nothing was changed' };
  }

  private fail(reason: string, kind: string): void {
    const r = this.report;
    r.result = 'failed';
    r.reason = reason;
    r.failureKind = kind;
    this.mark(`failed: ${reason}`);
    // The action reports the failure once, as its error line; here it is the log's account of what happened.
    this.log.info(`${this.prefix}Deployment of ${this.o.app.id} to ${r.name} failed: ${reason}`);
  }

  /** Undo this run's change here (our deployment is running or finished). Never throws except on cancel. */
  rollbackSelf(reason?: string): Promise<void> {
    return rollback(this, reason);
  }

  /** SIGINT/SIGTERM: record what is in flight on Marathon and how to undo it. */
  cancelled(): void {
    const r = this.report;
    const s = r.state ? ` (${progressLine(r.state)})` : '';
    let text: string;
    switch (this.phase) {
      case 'preflight':
      case 'submitting':
        text =
          this.phase === 'submitting'
            ? 'cancelled while submitting: the change may or may not have reached Marathon; check the app'
            : 'nothing was changed';
        break;
      case 'locked':
        text = `nothing was changed (was waiting for deployment ${this.lockIds.join(', ')} to release the lock)`;
        break;
      case 'waiting':
        text = `deployment ${r.deploymentId} (version ${r.version}) is still running on Marathon${s}; it continues without Kiln. To undo it: DELETE /v2/deployments/${r.deploymentId} (Marathon reverts to version ${r.previousVersion ?? '(none: removes the app)'})`;
        break;
      case 'rolling-back':
        text = `the rollback${this.rollbackRef ? ` (deployment ${this.rollbackRef.deploymentId})` : ''} is still running on Marathon${s}; it continues without Kiln`;
        break;
      case 'done':
        return;
    }
    r.result = 'cancelled';
    r.stateText = text;
    this.mark(`cancelled: ${text}`);
  }
}
