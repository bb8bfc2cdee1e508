/**
 * Submitting one cluster's definition (`PUT /v2/apps/{id}`) within lock-timeout: a 409 (another deployment holds
 * the app) is waited out, then fails or, with `force`, is overridden; a 403 "too many deployments" (Marathon's
 * --max_running_deployments) is tried again until lock-timeout. Either way nothing has changed until the PUT is
 * accepted.
 */
import { formatDuration } from '../util/duration.js';
import type { PutResult } from './client.js';
import type { ClusterRun } from './cluster-run.js';
import { waitForDeploymentsToEnd } from './wait.js';

type Submitted = Extract<PutResult, { kind: 'deployed' }>;
/** The PUT was not accepted within lock-timeout; nothing was changed. */
type NotSubmitted = { kind: 'failed'; reason: string };

/** PUT, waiting out someone else's deployment (409) for up to lock-timeout, then failing or overriding. */
export async function submit(
  run: ClusterRun,
  deadline: number,
  waitSignal: AbortSignal,
): Promise<Submitted | NotSubmitted> {
  const o = run.o;
  const lockUntil = Math.min(deadline, Date.now() + o.lockTimeoutMs);
  let force = false;
  for (;;) {
    // The PUT itself only stops for SIGINT/SIGTERM: aborting it half-way would leave its effect unknown.
    const put = await run.client.putApp(o.app.id, run.body, {
      force,
      signal: o.signal,
      deadline,
    });
    if (put.kind === 'deployed') return put;
    const next =
      put.kind === 'busy'
        ? await whileBusy(run, put.message, lockUntil, waitSignal)
        : await whileLocked(run, put.deploymentIds, lockUntil, deadline, waitSignal);
    if (next === 'force') force = true;
    else if (next !== 'again') return next;
  }
}

/**
 * Marathon's --max_running_deployments is reached: nothing was changed; 'again' after a poll interval within
 * lock-timeout, else the failure.
 */
async function whileBusy(
  run: ClusterRun,
  message: string,
  lockUntil: number,
  waitSignal: AbortSignal,
): Promise<'again' | NotSubmitted> {
  const o = run.o;
  if (run.phase !== 'locked') {
    run.phase = 'locked';
    run.mark(`Marathon is busy (${message}); waiting up to ${formatDuration(o.lockTimeoutMs)}`);
    run.info(
      `Marathon refuses new deployments for now (${message}); trying again for up to ${formatDuration(o.lockTimeoutMs)} (lock-timeout).`,
    );
  }
  const remaining = lockUntil - Date.now();
  if (remaining > 0) {
    await run.events.wait(Math.min(o.pollIntervalMs, remaining), waitSignal);
    return 'again';
  }
  return {
    kind: 'failed',
    reason: `Marathon still refused new deployments after lock-timeout ${formatDuration(o.lockTimeoutMs)} (${message}); nothing was changed. Try again when fewer deployments run, or raise Marathon's --max_running_deployments.`,
  };
}

/**
 * Deployments `lockIds` hold the app (409): 'again' once they ended within lock-timeout; after it, 'force' (with
 * `force: true`, said as a warning) or the failure.
 */
async function whileLocked(
  run: ClusterRun,
  lockIds: string[],
  lockUntil: number,
  deadline: number,
  waitSignal: AbortSignal,
): Promise<'again' | 'force' | NotSubmitted> {
  const o = run.o;
  const ids = lockIds.join(', ');
  if (run.phase !== 'locked') {
    run.phase = 'locked';
    run.lockIds = lockIds;
    run.mark(`locked by deployment ${ids}; waiting up to ${formatDuration(o.lockTimeoutMs)}`);
    run.info(
      `${o.app.id} is locked by deployment ${ids}; waiting up to ${formatDuration(o.lockTimeoutMs)} (lock-timeout) for it to end.`,
    );
  }
  if (Date.now() < lockUntil) {
    const ended = await waitForDeploymentsToEnd({
      client: run.client,
      events: run.events,
      ids: lockIds,
      until: lockUntil,
      deadline,
      pollIntervalMs: o.pollIntervalMs,
      signal: waitSignal,
    });
    if (ended) {
      run.mark(`deployment ${ids} ended; submitting again`);
      run.info(`Deployment ${ids} ended; submitting again.`);
      return 'again';
    }
  }
  // lock-timeout is over and the lock is still held.
  if (o.force) {
    run.log.warning(
      `${run.prefix}Deployment ${ids} still holds ${o.app.id} after ${formatDuration(o.lockTimeoutMs)}; overriding it (force: true). Marathon cancels it without reverting, so its tasks may be mixed with ours until ours are healthy.`,
    );
    run.mark(`overriding deployment ${ids} (force: true)`);
    return 'force';
  }
  return {
    kind: 'failed',
    reason: `${o.app.id} is locked by deployment ${ids}, still running after lock-timeout ${formatDuration(o.lockTimeoutMs)}; nothing was changed. Wait for it to finish, cancel it (DELETE /v2/deployments/${lockIds[0]}), or set force: true to override it.`,
  };
}
