/**
 * @kiln/core: the shared library every Kiln action and the `kiln` CLI is built on. Importing it loads all of it
 * (HTTP, parsers, the registry, Marathon and smoke engines): an action's `action.ts` and a bundle's entry import
 * `@kiln/core/start` (what runs before the first input is read, re-exported here) and load the rest from run.ts
 * when they run (README: Adding an action).
 */
export * from './start.js';
export * from './platform/types.js';
export * from './inputs/suggest.js';
export * from './inputs/parse.js';
export * from './inputs/flags.js';
export * from './inputs/help.js';
export * from './platform/redact.js';
export * from './platform/summary.js';
export * from './platform/logger.js';
export { kilnEnvName, type PlatformOptions } from './platform/base.js';
export { GitLabPlatform, dotenvKey, dotenvValue, parseDotenv } from './platform/gitlab.js';
export { TerminalPlatform } from './platform/terminal.js';
export { createPlatform, detectPlatformKind } from './platform/detect.js';
export * from './exec/exec.js';
export * from './http/http.js';
export * from './http/proxy.js';
export * from './image/reference.js';
export * from './image/source/index.js';
export * from './registry/index.js';
/** What the registry actions (push-registry, promote) share: inputs, client set-up, outputs, summary. */
export * as registryAction from './action/registry-glue.js';
export * from './util/duration.js';
export * from './util/sleep.js';
export * from './smoke/status.js';
export * from './smoke/predicate.js';
export * from './smoke/vars.js';
export * from './smoke/thresholds.js';
export * from './smoke/plan.js';
export * from './smoke/plans.js';
export * from './smoke/engine.js';
export * from './smoke/report.js';
export { fillSummary, publishSmokeResult, terminalTable } from './action/smoke.js';
/** Lossless JSON (numbers kept as written): deploy files are sent back exactly as users wrote them. */
export * from './util/json.js';
/** The deploy family (deploy-marathon, deploy-k8s, rollback): release labels, the pin-or-refuse rule, templates. */
export * from './deploy/index.js';
/** Marathon (deploy-marathon): one namespace, so its names never collide with other domains'. */
export * as marathon from './marathon/index.js';
/** deploy-marathon's glue: inputs to domain options, outputs and the summary. */
export * as marathonAction from './action/marathon-glue.js';
/** bake-image's domain: builders (buildah, buildx, layer-append, packer), verification, tags and labels from git. */
export * as bake from './bake/index.js';
/** bake-image's glue: inputs to a builder and its request, outputs and the summary. */
export * as bakeAction from './action/bake.js';
/** deploy-k8s's domain: kubeconfig, the client, manifests, rollout waits. */
export * as kube from './kube/index.js';
/** deploy-k8s's glue: inputs to the client and manifests, apply, wait, roll back, outputs and the summary. */
export * as kubeAction from './action/kube.js';
export * as rollbackAction from './action/rollback.js';
export * as ledgerAction from './action/ledger.js';
export * as ledger from './ledger/index.js';
