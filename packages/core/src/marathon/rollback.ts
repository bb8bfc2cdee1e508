/**
 * Rolling one cluster back after a failure, under its own deadline (`rollbackTimeoutMs`): cancel our deployment
 * with a non-force DELETE while it runs (Marathon reverts it), or remove an app this run created, or
 * `PUT {"version": previous}`; then wait for that deployment (wait.ts). With `rollback: 'none'` the app is left as
 * it is, and the log says how to roll back by hand.
 */
import { CancelledError, errorMessage } from '../errors.js';
import { formatDuration } from '../util/duration.js';
import type { CallOptions, DeploymentRef } from './client.js';
import type { ClusterRun } from './cluster-run.js';
import type { RollbackReport } from './deploy.js';
import type { JsonObject } from '../util/json.js';
import { progressLine, watchDeployment } from './wait.js';

/** A started rollback: its deployment and how it undoes ours. */
interface Started {
  ref: DeploymentRef;
  method: RollbackReport['method'];
}

/** Undo this run's change here (our deployment is running or finished). Never throws except on cancel. */
export async function rollback(run: ClusterRun, reason?: string): Promise<void> {
  const r = run.report;
  const o = run.o;
  if (o.rollback === 'none') {
    leaveAsIs(run);
    return;
  }
  run.phase = 'rolling-back';
  if (reason && r.reason === undefined) r.reason = `rolled back because ${reason}`;
  run.events.start();
  const deadline = Date.now() + o.rollbackTimeoutMs;
  const call = { signal: o.signal, deadline };
  const target = r.created
    ? 'remove the new app'
    : `version ${r.previousVersion} (image ${r.previousImage ?? 'none'})`;
  run.info(
    `Rolling back${reason ? ` (${reason})` : ''}: returning ${r.name} to ${target}; up to ${formatDuration(o.rollbackTimeoutMs)}.`,
  );
  try {
    const started = await start(run, call);
    if (started === undefined) return;
    run.rollbackRef = started.ref;
    await watchRollback(run, started, deadline);
  } catch (e) {
    if (o.signal.aborted || e instanceof CancelledError) throw e;
    finishRollback(run, { result: 'failed', reason: errorMessage(e) });
  }
}

/** `rollback: none`: reported, and a warning says what is left running and how to roll back by hand. */
function leaveAsIs(run: ClusterRun): void {
  const r = run.report;
  r.rollback = { result: 'none' };
  const state = r.state ? `; last seen: ${progressLine(r.state)}` : '';
  run.mark('rollback: none (left as is)');
  run.log.warning(
    `${run.prefix}rollback: none — ${run.o.app.id} is left as it is${r.deploymentId ? ` (deployment ${r.deploymentId}, version ${r.version})` : ''}${state}. Marathon keeps relaunching failing tasks; roll back with PUT /v2/apps${run.o.app.id} {"version": "${r.previousVersion ?? '?'}"}.`,
  );
}

/**
 * Start the deployment that undoes ours: Marathon's revert of our running deployment, else removing the app this
 * run created, else the previous version. Undefined when nothing is left to undo (already reported).
 */
async function start(run: ClusterRun, call: CallOptions): Promise<Started | undefined> {
  const r = run.report;
  const reverted = await revert(run, call);
  if (reverted) return { ref: reverted, method: 'revert' };
  if (r.created) {
    const d = await run.client.deleteApp(run.o.app.id, call);
    if (d === 'not-found') {
      finishRollback(run, { result: 'rolled-back', method: 'delete', reason: 'the app no longer exists' });
      return undefined;
    }
    run.mark(`rollback: removing the app this run created (deployment ${d.deploymentId})`);
    return { ref: d, method: 'delete' };
  }
  const ref = await putPreviousVersion(run, call);
  run.mark(`rollback: redeploying version ${r.previousVersion} (deployment ${ref.deploymentId})`);
  run.info(`Redeploying version ${r.previousVersion} with deployment ${ref.deploymentId}.`);
  return { ref, method: 'previous-version' };
}

/** While our deployment still runs, cancel it without force: Marathon reverts it (that deployment is returned). */
async function revert(run: ClusterRun, call: CallOptions): Promise<DeploymentRef | undefined> {
  const r = run.report;
  if (!r.deploymentId) return undefined;
  const running = (await run.client.deployments(call)).some((d) => d.id === r.deploymentId);
  if (!running) return undefined;
  const c = await run.client.cancelDeployment(r.deploymentId, call);
  if (typeof c !== 'object') return undefined;
  run.mark(
    `rollback: cancelled deployment ${r.deploymentId}; Marathon reverts it with deployment ${c.deploymentId}`,
  );
  run.info(
    `Cancelled deployment ${r.deploymentId}; Marathon reverts it with deployment ${c.deploymentId} (version ${c.version}).`,
  );
  return c;
}

/** `PUT {"version": previous}`, forcing only past a lock held by this run's own deployments; throws otherwise. */
async function putPreviousVersion(run: ClusterRun, call: CallOptions): Promise<DeploymentRef> {
  const r = run.report;
  let force = false;
  for (;;) {
    const put = await run.client.putApp(run.o.app.id, { version: r.previousVersion ?? '' } as JsonObject, {
      ...call,
      force,
    });
    if (put.kind === 'deployed') return put;
    if (put.kind === 'busy') throw new Error(`cannot roll back now: ${put.message}`);
    const ours = [r.deploymentId, run.rollbackRef?.deploymentId].filter(Boolean);
    if (!force && put.deploymentIds.every((id) => ours.includes(id))) {
      force = true;
      continue;
    }
    throw new Error(
      `cannot roll back: ${run.o.app.id} is locked by deployment ${put.deploymentIds.join(', ')} of someone else`,
    );
  }
}

/** Wait for the rollback's deployment under the rollback deadline, and report how it ended. */
async function watchRollback(run: ClusterRun, { ref, method }: Started, deadline: number): Promise<void> {
  const r = run.report;
  const o = run.o;
  const outcome = await watchDeployment({
    client: run.client,
    events: run.events,
    appId: o.app.id,
    deploymentId: ref.deploymentId,
    version: ref.version,
    deadline,
    pollIntervalMs: o.pollIntervalMs,
    failureThreshold: o.failureThreshold,
    expectDeleted: r.created,
    signal: o.signal,
    log: run.log,
    prefix: `${run.prefix}rollback: `,
    subject: r.created ? 'app removal' : 'restored version',
    onState: (s) => (r.state = s),
  });
  if (outcome.ok) {
    const image = outcome.state.app?.image;
    finishRollback(run, {
      result: 'rolled-back',
      method,
      deploymentId: ref.deploymentId,
      version: ref.version,
      image,
    });
  } else {
    finishRollback(run, {
      result: 'failed',
      method,
      deploymentId: ref.deploymentId,
      version: ref.version,
      reason: outcome.reason,
    });
  }
}

/** Record the rollback's end in the report (the cluster's result follows it) and the log. */
function finishRollback(run: ClusterRun, rb: RollbackReport): void {
  const r = run.report;
  r.rollback = rb;
  run.phase = 'done';
  if (rb.result === 'rolled-back') {
    r.result = 'rolled-back';
    const what = r.created
      ? 'the app this run created was removed'
      : `version ${r.previousVersion} restored as ${rb.version} (image ${rb.image ?? r.previousImage ?? '?'})`;
    const healthy =
      r.state && !r.created ? `; ${r.state.newHealthy}/${r.state.instances} task(s) healthy` : '';
    run.mark(`rolled back: ${what}${healthy}`);
    run.info(`Rolled back: ${what}${healthy}.`);
    if (!r.created && rb.image !== undefined && r.previousImage !== undefined && rb.image !== r.previousImage)
      run.log.warning(
        `${run.prefix}The rolled-back app runs ${rb.image}, not the previous image ${r.previousImage}.`,
      );
  } else {
    r.result = 'failed';
    run.mark(`rollback failed: ${rb.reason}`);
    run.log.info(`${run.prefix}Rollback of ${run.o.app.id} on ${r.name} failed: ${rb.reason}`);
  }
}
