/**
 * deploy-marathon's domain logic: deploy one rendered app definition to one or more Marathon clusters, wait
 * until the new version is healthy, decide failure early, and roll back.
 *
 * Per cluster: preflight (read what runs, diff) → `PUT /v2/apps/{id}` (409: wait up to `lockTimeoutMs` for the
 * other deployment, then fail or, with `force`, override) → no-op detection (the app version did not change) →
 * watch (wait.ts) under one deadline → on failure, with `rollback: 'auto'`, cancel our deployment with a non-force
 * DELETE (Marathon reverts it), or, when it already finished, `PUT {"version": previous}` (or remove an app this run
 * created), and wait for that under its own deadline. That is cluster-run.ts, with the PUT in submit.ts and the
 * rollback in rollback.ts.
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
import type { MarathonAuth } from './auth.js';
import { MarathonError, TOO_MANY_DEPLOYMENTS } from './client.js';
import { ClusterRun, SiblingFailed } from './cluster-run.js';
import type { RenderedApp } from './definition.js';
import type { DefinitionChange } from './diff.js';
import type { WatchState } from './wait.js';

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
  /**
   * Run once every cluster is healthy, before the deploy counts as a success (the `verify` input's checks): not ok
   * fails every deployed cluster, and rolls them back with `rollback: 'auto'`.
   */
  verify?: () => Promise<{ ok: boolean; reason: string }>;
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

function aggregate(clusters: ClusterReport[], dryRun: boolean, cancelled: boolean): DeployResult {
  const results = clusters.map((c) => c.result);
  if (cancelled) return 'cancelled';
  if (results.includes('failed')) return 'failed';
  if (dryRun) return 'dry-run';
  if (results.includes('rolled-back')) return 'rolled-back';
  if (results.includes('deployed')) return 'deployed';
  return 'unchanged';
}

/** The run's report as it stands now (overall result, every cluster's report, cancellation). */
function deployReport(o: MarathonDeployOptions, runs: ClusterRun[], t0: number): MarathonDeployReport {
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
}

/** Deploy to every cluster; never throws for a failed deployment (see the report), only for a bug. */
export async function deployMarathon(o: MarathonDeployOptions): Promise<MarathonDeployReport> {
  const t0 = Date.now();
  const runs = o.clusters.map((c) => new ClusterRun(o, c, t0, o.clusters.length > 1));
  const report = (): MarathonDeployReport => deployReport(o, runs, t0);
  try {
    // 1. Preflight everywhere before changing anything anywhere.
    if (!(await preflightAll(o, runs))) return report();
    if (o.dryRun) {
      o.log.info('dry-run: true — nothing was submitted.');
      return report();
    }

    // 2. Deploy.
    const firstFailure = await deployAll(o, runs);
    if (o.signal.aborted) {
      for (const r of runs)
        if (r.report.result === 'skipped' && !r.report.reason) r.report.reason = 'not started: cancelled';
      return report();
    }

    // 3. One cluster failed: return the clusters this run changed successfully to their previous version.
    if (firstFailure) await undoDeployed(o, runs, firstFailure);
    // 4. Every cluster healthy: the verification decides whether this release stays.
    else if (o.verify && runs.some((r) => r.report.result === 'deployed'))
      await verifyDeployed(o, runs, o.verify);
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

/**
 * Preflight every cluster, one after the other. False when the run ends here: cancelled (that cluster says so), or
 * a cluster could not be read (the others are skipped; nothing was changed anywhere).
 */
async function preflightAll(o: MarathonDeployOptions, runs: ClusterRun[]): Promise<boolean> {
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
        return false;
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
  if (broken.length === 0) return true;
  for (const r of runs)
    if (r.report.result !== 'failed') {
      r.report.result = 'skipped';
      r.report.reason = `not deployed: ${broken.map((b) => b.report.name).join(', ')} could not be read; nothing was changed anywhere`;
    }
  return false;
}

/**
 * Deploy in `clusterOrder`: the first cluster to fail stops the others' waits (parallel) or the clusters not started
 * yet (sequential; also after a cancellation). Returns that cluster.
 */
async function deployAll(o: MarathonDeployOptions, runs: ClusterRun[]): Promise<ClusterRun | undefined> {
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
  return firstFailure;
}

/** The verification failed: every deployed cluster fails with its reason, and is rolled back (`rollback: 'auto'`). */
async function verifyDeployed(
  o: MarathonDeployOptions,
  runs: ClusterRun[],
  verify: () => Promise<{ ok: boolean; reason: string }>,
): Promise<void> {
  const verdict = await verify();
  if (verdict.ok) return;
  const done = runs.filter((r) => r.report.result === 'deployed');
  for (const r of done) {
    r.report.result = 'failed';
    r.report.reason = `verification failed: ${verdict.reason}`;
    r.report.failureKind = 'verification';
    r.mark(`failed: ${r.report.reason}`);
  }
  if (o.rollback === 'auto') for (const r of done) await r.rollbackSelf('verification failed');
  else
    for (const r of done) {
      r.report.rollback = { result: 'none' };
      o.log.warning(
        `${r.prefix}rollback: none — ${r.report.name} keeps the unverified version ${r.report.version}.`,
      );
    }
}

/**
 * After `firstFailure`: roll the clusters this run deployed back to their previous version (`rollback: 'auto'`),
 * or warn that each keeps the new version.
 */
async function undoDeployed(
  o: MarathonDeployOptions,
  runs: ClusterRun[],
  firstFailure: ClusterRun,
): Promise<void> {
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
