/**
 * deploy-k8s's work, loaded by its `main` (action.ts) when it runs: @kiln/core's `deployK8s` glue loads the
 * manifests, applies, waits and rolls back; Kubernetes' refusals (credentials, RBAC, an invalid object) become one
 * line and exit code 2.
 */
import { kubeAction, type ContextOf } from '@kiln/core';
import type { spec } from './action.js';

export async function main(ctx: ContextOf<typeof spec>): Promise<number> {
  const { inputs, log, signal, summary, setOutput, platform } = ctx;
  try {
    return await kubeAction.deployK8s({ platform, log, signal, summary, setOutput }, inputs);
  } catch (e) {
    throw kubeAction.kubeUserError(e);
  }
}
