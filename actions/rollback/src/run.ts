/**
 * rollback's work, loaded by its `main` (action.ts) when it runs: @kiln/core's `runRollback` reads the ledger,
 * resolves the target, checks the image still exists, deploys it with the deploy engine and records the rollback;
 * Kubernetes' refusals (credentials, RBAC) become one line and exit code 2, as in deploy-k8s.
 */
import { kubeAction, rollbackAction, type ContextOf } from '@kiln/core';
import type { spec } from './action.js';

export async function main(ctx: ContextOf<typeof spec>): Promise<number> {
  const { inputs, log, signal, summary, setOutput, platform } = ctx;
  try {
    return await rollbackAction.runRollback({ platform, log, signal, summary, setOutput }, inputs);
  } catch (e) {
    throw kubeAction.kubeUserError(e);
  }
}
