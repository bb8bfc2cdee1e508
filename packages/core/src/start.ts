/**
 * `@kiln/core/start`: what a bundle evaluates before it reads its first input. Declaring an action (its spec and
 * input types), running it (`runMain`/`runAction`: flags, help, the platform, input parsing) and the errors it
 * throws — and nothing else: no HTTP stack, no parser (YAML, JSON Schema, JSONPath), no domain engine (registry,
 * Marathon, smoke checks). An action's `action.ts` imports only this; its `main` loads the work with
 * `await import('./run.js')`, and run.ts imports the full library, `@kiln/core`. So a bad input is answered, and
 * `--help` printed, without loading what only the work needs (test/integration/startup-lazy.test.ts checks the
 * bundles; bench/startup.ts times them).
 */
import type { ActionContext } from './action/run.js';
import type { ActionSpec } from './inputs/spec.js';

export * from './errors.js';
export * from './version.js';
export * from './inputs/spec.js';
export { didYouMean } from './inputs/suggest.js';
export { wrapIndented } from './inputs/help.js';
export { terminalWidth } from './platform/base.js';
export * from './action/run.js';
export { runMain } from './action/main.js';
export { deployInputs, type DeployTarget } from './action/deploy.js';
export { ledgerInputs, releaseIdOutput } from './action/ledger-inputs.js';
export { marathonDeployInputs, marathonInputs, marathonOutputSpec } from './action/marathon-inputs.js';
export {
  kubeDeployInputs,
  kubeImagesInput,
  kubeOutputSpec,
  kubeStrategyInputs,
  kubeTargetInputs,
} from './action/kube-inputs.js';
export { registryInputs, registryOutputs } from './action/registry-inputs.js';
export type { AnnotationProps, CiContext, Logger, Platform, PlatformKind } from './platform/types.js';

/** The context `main` receives, from the action's spec: `main(ctx: ContextOf<typeof spec>)` in run.ts. */
export type ContextOf<S> = S extends ActionSpec<infer I, infer O> ? ActionContext<I, O> : never;
