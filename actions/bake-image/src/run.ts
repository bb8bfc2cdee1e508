/**
 * bake-image's work, loaded by its `main` (action.ts) when it runs: @kiln/core's `bakeImage` glue picks the builder,
 * computes tags and labels, builds, verifies, pushes and reports.
 */
import { bakeAction, type ContextOf } from '@kiln/core';
import type { spec } from './action.js';

export async function main(ctx: ContextOf<typeof spec>): Promise<number> {
  const { inputs, log, signal, summary, setOutput, platform } = ctx;
  return bakeAction.bakeImage({ platform, log, signal, summary, setOutput }, inputs);
}
