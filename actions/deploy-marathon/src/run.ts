/**
 * deploy-marathon's work, loaded by its `main` (action.ts) when it runs: @kiln/core's `runDeployMarathon` checks the
 * inputs and the app definition, renders it, deploys, reports per cluster and records the release.
 */
import { marathonAction, type ContextOf } from '@kiln/core';
import type { spec } from './action.js';

export async function main(ctx: ContextOf<typeof spec>): Promise<number> {
  const { inputs, log, signal, summary, setOutput, platform } = ctx;
  return marathonAction.runDeployMarathon({ platform, log, signal, summary, setOutput }, inputs);
}
