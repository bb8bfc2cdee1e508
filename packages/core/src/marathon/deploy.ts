/**
 * deploy-marathon's domain logic: deploy one rendered app definition to one or more Marathon clusters, wait
 * until the new version is healthy, decide failure early, and roll back.
 *
 * Per cluster: preflight (read what runs, diff) → `PUT /v2/apps/{id}` (409: wait up to `lockTimeoutMs` for the
 * other deployment, then fail or, with `force`, override) → no-op detection (the app version did not change) →
 * watch (wait.ts) under one deadline → on failure, with `rollback: 'auto'`, cancel our deployment with a non-force
 * DELETE (Marathon reverts it), or, when it already finished, `PUT {"version": previous}` (or remove an app this run
 * created), and wait for that under its own deadline.
 *
 * Several clusters: every preflight runs first (nothing changes anywhere if one cluster cannot be read); then
 * `sequential` deploys one after the other and stops at the first failure, `parallel` deploys all at once and
 * stops the others' waits when one fails. Either way, with `rollback: 'auto'` every cluster this run changed
 * returns to its previous version, so the datacenters do not end up on different versions.
 *
 * Cancellation (SIGINT/SIGTERM through `signal`): Kiln stops waiting, starts nothing new, and reports per cluster
 * what is in flight on Marathon and how to undo it.
 */
import { CancelledError, errorMessage } from '../errors.js';
import type { Logger } from '../platform/types.js';
import { formatDuration } from '../util/duration.js';
import type { MarathonAuth } from './auth.js';
import {
  MarathonClient,
  MarathonError,
  TOO_MANY_DEPLOYMENTS,
  type DeploymentRef,
  type MarathonApp,
  type PutResult,
} from './client.js';
import { KILN_LABELS } from '../deploy/labels.js';
import { definitionImage, type RenderedApp } from './definition.js';
import { diffDefinitions, formatDiff, type DefinitionChange } from './diff.js';
import { withKeptFields } from './normalize.js';
import { isJsonObject, type JsonObject } from '../util/json.js';
import {
  EventHub,
  progressLine,
  waitForDeploymentsToEnd,
  watchDeployment,
  type WatchOutcome,
  type WatchState,
} from './wait.js';

export interface MarathonCluster {
  /** A short name for logs and the summary (`AA`), by default the URL's host. */
  name: string;
  url: string;
}

export interface MarathonDeployOptions {
  clusters: MarathonCluster[];
  auth: MarathonAuth;
  insecure?: boolean;
  app: Pick<RenderedApp, 'id' | 'definition' | 'image'>;
  /** With several clusters: one after the other (stop at the first failure) or all at once. */
  clusterOrder: 'sequential' | 'parallel';
  /** Per cluster: from submitting to healthy (lock wait included). */
  timeoutMs: number;
  lockTimeoutMs: number;
  force: boolean;
  failureThreshold: number;
  rollback: 'auto' | 'none';
  rollbackTimeoutMs: number;
  pollIntervalMs: number;
  dryRun: boolean;
  log: Logger;
  registerSecret: (value: string) => void;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  env?: NodeJS.ProcessEnv;
  requestTimeoutMs?: number;
}

export type ClusterResult =
  'deployed' | 'unchanged' | 'rolled-back' | 'failed' | 'cancelled' | 'skipped' | 'dry-run';
export type DeployResult = 'deployed' | 'unchanged' | 'rolled-back' | 'failed' | 'cancelled' | 'dry-run';

export interface TimelineEntry {
  /** Milliseconds since the run started. */
  atMs: number;
  text: string;
}

export interface RollbackReport {
  result: 'rolled-back' | 'failed' | 'none' | 'not-needed';
  method?: 'revert' | 'previous-version' | 'delete';
  deploymentId?: string;
  version?: string;
  image?: string;
  reason?: string;
}

export interface ClusterReport {
  name: string;
  url: string;
  appId: string;
  result: ClusterResult;
  reason?: string;
  failureKind?: string;
  /** The app did not exist before this run. */
  created: boolean;
  /** This run found the same definition already deploying and waited for that deployment. */
  joined?: boolean;
  previousVersion?: string;
  previousImage?: string;
  /** The `KILN_RELEASE_ID` label of the app before this run, when it had one. */
  previousReleaseId?: string;
  /** The `KILN_RELEASE_ID` label this run deploys, when it has one. */
  releaseId?: string;
  deploymentId?: string;
  version?: string;
  image: string;
  changes: DefinitionChange[];
  /** Last observed progress of the wait (deployment or rollback). */
  state?: WatchState;
  rollback?: RollbackReport;
  timeline: TimelineEntry[];
  durationMs?: number;
  /** What is in flight on Marathon, when the run was cancelled. */
  stateText?: string;
}

export interface MarathonDeployReport {
  result: DeployResult;
  appId: string;
  image: string;
  clusters: ClusterReport[];
  durationMs: number;
  /** Set when SIGINT/SIGTERM stopped the run. */
  cancelled?: string;
}

/** Diff lines longer than this put the values on lines of their own (a long image is never cut). */
const DIFF_WIDTH = 100;

function releaseIdOf(definition: JsonObject): string | undefined {
  const labels = definition['labels'];
  const id = isJsonObject(labels) ? labels[KILN_LABELS.releaseId] : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** A sibling cluster failed (cluster-order: parallel): stop waiting and roll back. */
class SiblingFailed extends Error {
  constructor(readonly cluster: string) {
    super(`stopped because ${cluster} failed`);
  }
}

type Phase = 'preflight' | 'submitting' | 'locked' | 'waiting' | 'rolling-back' | 'done';

class ClusterRun {
  readonly client: MarathonClient;
  readonly events: EventHub;
  readonly report: ClusterReport;
  readonly prefix: string;
  current: MarathonApp | undefined;
  /** What is sent: the rendered definition plus the fields Marathon would reset (normalize.ts). */
  body: JsonObject;
  phase: Phase = 'preflight';
  private lockIds: string[] = [];
  private rollbackRef: { deploymentId: string; version: string } | undefined;
  readonly stop = new AbortController();

  constructor(
    private readonly o: MarathonDeployOptions,
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

  private get log(): Logger {
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
    const lines = formatDiff(r.changes, { width: DIFF_WIDTH });
    if (lines.length === 0) this.info('No changes to the app definition (Kiln’s own labels aside).');
    else {
      this.log.startGroup(`${this.prefix}${current ? 'Changes' : 'New app'}: ${lines.length} field(s)`);
      for (const l of lines) this.log.info(l);
      this.log.endGroup();
    }
  }

  async deploy(onFailure: (run: ClusterRun) => void): Promise<void> {
    const r = this.report;
    const started = Date.now();
    const deadline = started + this.o.timeoutMs;
    const waitSignal = AbortSignal.any([this.o.signal, this.stop.signal]);
    try {
      let target: DeploymentRef;
      const current = this.current;
      if (current && r.changes.length === 0) {
        if (current.deployments.length === 0) {
          r.result = 'unchanged';
          r.version = current.version;
          r.reason = 'the running app already has this definition; nothing was submitted';
          const release = current.labels[KILN_LABELS.releaseId];
          this.mark(`unchanged: version ${r.version} already runs this definition`);
          this.info(
            `Unchanged: version ${r.version}${release ? ` (release ${release})` : ''} already runs this definition (image ${current.image}); nothing was submitted.`,
          );
          return;
        }
        target = await this.join(current, deadline);
      } else {
        this.events.start();
        this.phase = 'submitting';
        this.info(`Submitting ${this.o.app.id} (image ${this.o.app.image}) to ${this.client.displayUrl}.`);
        const put = await this.submit(deadline, waitSignal);
        if (put.kind !== 'deployed') {
          this.fail(put.reason, 'locked');
          r.rollback = { result: 'not-needed', reason: 'nothing was changed' };
          onFailure(this);
          return;
        }
        r.deploymentId = put.deploymentId;
        r.version = put.version;
        target = put;
        this.mark(
          `submitted: deployment ${put.deploymentId}, version ${put.version}${put.created ? ' (new app)' : ''}`,
        );
        if (current) {
          const after = await this.client.getApp(this.o.app.id, { signal: this.o.signal, deadline });
          if (after && after.version === current.version) {
            r.result = 'unchanged';
            r.version = after.version;
            r.reason = 'Marathon found nothing to change (no new version)';
            this.phase = 'done';
            this.mark(`unchanged: Marathon created no new version (still ${after.version})`);
            this.info(`Unchanged: Marathon created no new version; ${after.version} keeps running.`);
            return;
          }
          if (
            after &&
            after.version !== put.version &&
            diffDefinitions(after.raw, this.o.app.definition).length === 0
          ) {
            // Marathon already had this definition when the PUT arrived: an earlier attempt of this PUT whose
            // answer was lost, or another run of the same release. Its deployment is ours to follow.
            target = { deploymentId: after.deployments[0] ?? put.deploymentId, version: after.version };
            r.deploymentId = target.deploymentId;
            r.version = target.version;
            this.mark(
              `following deployment ${target.deploymentId} (version ${target.version}) of this definition`,
            );
            this.info(
              `Marathon already has this definition as version ${target.version}${after.deployments.length ? ` (deployment ${target.deploymentId})` : ''}; following that.`,
            );
          }
        }
      }
      this.phase = 'waiting';
      this.info(
        `Deployment ${target.deploymentId} ${r.joined ? 'is running' : 'started'} (version ${target.version}); waiting up to ${formatDuration(Math.max(0, deadline - Date.now()))} for it to be healthy.`,
      );

      let outcome: WatchOutcome;
      try {
        outcome = await watchDeployment({
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
          outcome = { ok: false, kind: 'error', reason: why.message, state: r.state as WatchState };
          r.failureKind = 'stopped';
        } else throw e;
      }
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
    } catch (e) {
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
    } finally {
      r.durationMs ??= Date.now() - started;
    }
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

  private fail(reason: string, kind: string): void {
    const r = this.report;
    r.result = 'failed';
    r.reason = reason;
    r.failureKind = kind;
    this.mark(`failed: ${reason}`);
    // The action reports the failure once, as its error line; here it is the log's account of what happened.
    this.log.info(`${this.prefix}Deployment of ${this.o.app.id} to ${r.name} failed: ${reason}`);
  }

  /** PUT, waiting out someone else's deployment (409) for up to lock-timeout, then failing or overriding. */
  private async submit(
    deadline: number,
    waitSignal: AbortSignal,
  ): Promise<Extract<PutResult, { kind: 'deployed' }> | { kind: 'failed'; reason: string }> {
    const lockUntil = Math.min(deadline, Date.now() + this.o.lockTimeoutMs);
    let force = false;
    for (;;) {
      // The PUT itself only stops for SIGINT/SIGTERM: aborting it half-way would leave its effect unknown.
      const put = await this.client.putApp(this.o.app.id, this.body, {
        force,
        signal: this.o.signal,
        deadline,
      });
      if (put.kind === 'deployed') return put;
      if (put.kind === 'busy') {
        // Marathon's --max_running_deployments is reached: nothing was changed; try again within lock-timeout.
        if (this.phase !== 'locked') {
          this.phase = 'locked';
          this.mark(
            `Marathon is busy (${put.message}); waiting up to ${formatDuration(this.o.lockTimeoutMs)}`,
          );
          this.info(
            `Marathon refuses new deployments for now (${put.message}); trying again for up to ${formatDuration(this.o.lockTimeoutMs)} (lock-timeout).`,
          );
        }
        const remaining = lockUntil - Date.now();
        if (remaining > 0) {
          await this.events.wait(Math.min(this.o.pollIntervalMs, remaining), waitSignal);
          continue;
        }
        return {
          kind: 'failed',
          reason: `Marathon still refused new deployments after lock-timeout ${formatDuration(this.o.lockTimeoutMs)} (${put.message}); nothing was changed. Try again when fewer deployments run, or raise Marathon's --max_running_deployments.`,
        };
      }
      const ids = put.deploymentIds.join(', ');
      if (this.phase !== 'locked') {
        this.phase = 'locked';
        this.lockIds = put.deploymentIds;
        this.mark(`locked by deployment ${ids}; waiting up to ${formatDuration(this.o.lockTimeoutMs)}`);
        this.info(
          `${this.o.app.id} is locked by deployment ${ids}; waiting up to ${formatDuration(this.o.lockTimeoutMs)} (lock-timeout) for it to end.`,
        );
      }
      if (Date.now() < lockUntil) {
        const ended = await waitForDeploymentsToEnd({
          client: this.client,
          events: this.events,
          ids: put.deploymentIds,
          until: lockUntil,
          deadline,
          pollIntervalMs: this.o.pollIntervalMs,
          signal: waitSignal,
        });
        if (ended) {
          this.mark(`deployment ${ids} ended; submitting again`);
          this.info(`Deployment ${ids} ended; submitting again.`);
          continue;
        }
      }
      // lock-timeout is over and the lock is still held.
      if (this.o.force) {
        this.log.warning(
          `${this.prefix}Deployment ${ids} still holds ${this.o.app.id} after ${formatDuration(this.o.lockTimeoutMs)}; overriding it (force: true). Marathon cancels it without reverting, so its tasks may be mixed with ours until ours are healthy.`,
        );
        this.mark(`overriding deployment ${ids} (force: true)`);
        force = true;
        continue;
      }
      return {
        kind: 'failed',
        reason: `${this.o.app.id} is locked by deployment ${ids}, still running after lock-timeout ${formatDuration(this.o.lockTimeoutMs)}; nothing was changed. Wait for it to finish, cancel it (DELETE /v2/deployments/${put.deploymentIds[0]}), or set force: true to override it.`,
      };
    }
  }

  /** Undo this run's change here (our deployment is running or finished). Never throws except on cancel. */
  async rollbackSelf(reason?: string): Promise<void> {
    const r = this.report;
    if (this.o.rollback === 'none') {
      r.rollback = { result: 'none' };
      const state = r.state ? `; last seen: ${progressLine(r.state)}` : '';
      this.mark('rollback: none (left as is)');
      this.log.warning(
        `${this.prefix}rollback: none — ${this.o.app.id} is left as it is${r.deploymentId ? ` (deployment ${r.deploymentId}, version ${r.version})` : ''}${state}. Marathon keeps relaunching failing tasks; roll back with PUT /v2/apps${this.o.app.id} {"version": "${r.previousVersion ?? '?'}"}.`,
      );
      return;
    }
    this.phase = 'rolling-back';
    if (reason && r.reason === undefined) r.reason = `rolled back because ${reason}`;
    this.events.start();
    const deadline = Date.now() + this.o.rollbackTimeoutMs;
    const call = { signal: this.o.signal, deadline };
    const target = r.created
      ? 'remove the new app'
      : `version ${r.previousVersion} (image ${r.previousImage ?? 'none'})`;
    this.info(
      `Rolling back${reason ? ` (${reason})` : ''}: returning ${r.name} to ${target}; up to ${formatDuration(this.o.rollbackTimeoutMs)}.`,
    );
    try {
      let ref: { deploymentId: string; version: string } | undefined;
      let method: RollbackReport['method'];
      if (r.deploymentId) {
        const running = (await this.client.deployments(call)).some((d) => d.id === r.deploymentId);
        if (running) {
          const c = await this.client.cancelDeployment(r.deploymentId, call);
          if (typeof c === 'object') {
            ref = c;
            method = 'revert';
            this.mark(
              `rollback: cancelled deployment ${r.deploymentId}; Marathon reverts it with deployment ${c.deploymentId}`,
            );
            this.info(
              `Cancelled deployment ${r.deploymentId}; Marathon reverts it with deployment ${c.deploymentId} (version ${c.version}).`,
            );
          }
        }
      }
      if (!ref && r.created) {
        const d = await this.client.deleteApp(this.o.app.id, call);
        method = 'delete';
        if (d === 'not-found') {
          this.finishRollback({ result: 'rolled-back', method, reason: 'the app no longer exists' });
          return;
        }
        ref = d;
        this.mark(`rollback: removing the app this run created (deployment ${d.deploymentId})`);
      }
      if (!ref) {
        method = 'previous-version';
        let force = false;
        for (;;) {
          const put = await this.client.putApp(
            this.o.app.id,
            { version: r.previousVersion ?? '' } as JsonObject,
            {
              ...call,
              force,
            },
          );
          if (put.kind === 'deployed') {
            ref = put;
            break;
          }
          if (put.kind === 'busy') throw new Error(`cannot roll back now: ${put.message}`);
          const ours = [r.deploymentId, this.rollbackRef?.deploymentId].filter(Boolean);
          if (!force && put.deploymentIds.every((id) => ours.includes(id))) {
            force = true;
            continue;
          }
          throw new Error(
            `cannot roll back: ${this.o.app.id} is locked by deployment ${put.deploymentIds.join(', ')} of someone else`,
          );
        }
        this.mark(`rollback: redeploying version ${r.previousVersion} (deployment ${ref.deploymentId})`);
        this.info(`Redeploying version ${r.previousVersion} with deployment ${ref.deploymentId}.`);
      }
      this.rollbackRef = ref;
      const outcome = await watchDeployment({
        client: this.client,
        events: this.events,
        appId: this.o.app.id,
        deploymentId: ref.deploymentId,
        version: ref.version,
        deadline,
        pollIntervalMs: this.o.pollIntervalMs,
        failureThreshold: this.o.failureThreshold,
        expectDeleted: r.created,
        signal: this.o.signal,
        log: this.log,
        prefix: `${this.prefix}rollback: `,
        subject: r.created ? 'app removal' : 'restored version',
        onState: (s) => (r.state = s),
      });
      if (outcome.ok) {
        const image = outcome.state.app?.image;
        this.finishRollback({
          result: 'rolled-back',
          method,
          deploymentId: ref.deploymentId,
          version: ref.version,
          image,
        });
      } else {
        this.finishRollback({
          result: 'failed',
          method,
          deploymentId: ref.deploymentId,
          version: ref.version,
          reason: outcome.reason,
        });
      }
    } catch (e) {
      if (this.o.signal.aborted || e instanceof CancelledError) throw e;
      this.finishRollback({ result: 'failed', reason: errorMessage(e) });
    }
  }

  private finishRollback(rb: RollbackReport): void {
    const r = this.report;
    r.rollback = rb;
    this.phase = 'done';
    if (rb.result === 'rolled-back') {
      r.result = 'rolled-back';
      const what = r.created
        ? 'the app this run created was removed'
        : `version ${r.previousVersion} restored as ${rb.version} (image ${rb.image ?? r.previousImage ?? '?'})`;
      const healthy =
        r.state && !r.created ? `; ${r.state.newHealthy}/${r.state.instances} task(s) healthy` : '';
      this.mark(`rolled back: ${what}${healthy}`);
      this.info(`Rolled back: ${what}${healthy}.`);
      if (
        !r.created &&
        rb.image !== undefined &&
        r.previousImage !== undefined &&
        rb.image !== r.previousImage
      )
        this.log.warning(
          `${this.prefix}The rolled-back app runs ${rb.image}, not the previous image ${r.previousImage}.`,
        );
    } else {
      r.result = 'failed';
      this.mark(`rollback failed: ${rb.reason}`);
      this.log.info(`${this.prefix}Rollback of ${this.o.app.id} on ${r.name} failed: ${rb.reason}`);
    }
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

function aggregate(clusters: ClusterReport[], dryRun: boolean, cancelled: boolean): DeployResult {
  const results = clusters.map((c) => c.result);
  if (cancelled) return 'cancelled';
  if (results.includes('failed')) return 'failed';
  if (dryRun) return 'dry-run';
  if (results.includes('rolled-back')) return 'rolled-back';
  if (results.includes('deployed')) return 'deployed';
  return 'unchanged';
}

/** Deploy to every cluster; never throws for a failed deployment (see the report), only for a bug. */
export async function deployMarathon(o: MarathonDeployOptions): Promise<MarathonDeployReport> {
  const t0 = Date.now();
  const runs = o.clusters.map((c) => new ClusterRun(o, c, t0, o.clusters.length > 1));
  const report = (): MarathonDeployReport => {
    const cancelled = o.signal.aborted;
    const reason = o.signal.reason as unknown;
    return {
      result: aggregate(
        runs.map((r) => r.report),
        o.dryRun,
        cancelled,
      ),
      appId: o.app.id,
      image: o.app.image,
      clusters: runs.map((r) => r.report),
      durationMs: Date.now() - t0,
      ...(cancelled ? { cancelled: reason instanceof CancelledError ? reason.signal : 'abort' } : {}),
    };
  };
  try {
    // 1. Preflight everywhere before changing anything anywhere.
    for (const run of runs) {
      try {
        await run.preflight();
        run.report.result = o.dryRun ? 'dry-run' : 'skipped';
        run.mark(
          `preflight: ${run.report.created ? 'new app' : `runs ${run.report.previousVersion}`}, ${run.report.changes.length} change(s)`,
        );
      } catch (e) {
        if (o.signal.aborted || e instanceof CancelledError) {
          run.cancelled();
          return report();
        }
        run.report.result = 'failed';
        run.report.reason = `cannot read the app: ${errorMessage(e)}`;
        // Refused credentials are the user's setting to fix (exit code 2), not a failed release.
        run.report.failureKind =
          e instanceof MarathonError &&
          (e.status === 401 || (e.status === 403 && !TOO_MANY_DEPLOYMENTS.test(e.marathonMessage ?? '')))
            ? 'credentials'
            : 'preflight';
        run.mark(`failed: ${run.report.reason}`);
        o.log.info(`${run.prefix}${run.report.reason}`);
      }
    }
    const broken = runs.filter((r) => r.report.result === 'failed');
    if (broken.length) {
      for (const r of runs)
        if (r.report.result !== 'failed') {
          r.report.result = 'skipped';
          r.report.reason = `not deployed: ${broken.map((b) => b.report.name).join(', ')} could not be read; nothing was changed anywhere`;
        }
      return report();
    }
    if (o.dryRun) {
      o.log.info('dry-run: true — nothing was submitted.');
      return report();
    }

    // 2. Deploy.
    let firstFailure: ClusterRun | undefined;
    const onFailure = (failed: ClusterRun): void => {
      if (firstFailure) return;
      firstFailure = failed;
      for (const r of runs) if (r !== failed) r.stop.abort(new SiblingFailed(failed.report.name));
    };
    if (o.clusterOrder === 'parallel') {
      await Promise.all(runs.map((r) => r.deploy(onFailure)));
    } else {
      for (const r of runs) {
        if (firstFailure) {
          r.report.result = 'skipped';
          r.report.reason = `not deployed: ${firstFailure.report.name} failed first (cluster-order: sequential)`;
          r.mark(r.report.reason);
          continue;
        }
        await r.deploy(onFailure);
        if (o.signal.aborted) break;
      }
    }
    if (o.signal.aborted) {
      for (const r of runs)
        if (r.report.result === 'skipped' && !r.report.reason) r.report.reason = 'not started: cancelled';
      return report();
    }

    // 3. One cluster failed: return the clusters this run changed successfully to their previous version.
    if (firstFailure) {
      const done = runs.filter((r) => r.report.result === 'deployed');
      if (done.length && o.rollback === 'auto') {
        for (const r of done) await r.rollbackSelf(`${firstFailure.report.name} failed`);
      } else if (done.length) {
        for (const r of done) {
          r.report.rollback = { result: 'none' };
          o.log.warning(
            `${r.prefix}rollback: none — ${r.report.name} keeps version ${r.report.version} although ${firstFailure.report.name} failed.`,
          );
        }
      }
    }
    return report();
  } catch (e) {
    if (o.signal.aborted || e instanceof CancelledError) {
      for (const r of runs) r.cancelled();
      return report();
    }
    throw e;
  } finally {
    await Promise.all(runs.map((r) => r.events.close()));
  }
}
