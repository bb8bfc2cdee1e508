/**
 * deploy-k8s's glue: inputs → the kubeconfig and client, the manifests (loaded, images substituted exactly and
 * pinned, namespaces resolved by discovery, Kiln's release annotations) → the strategy's plan → server-side apply
 * (traffic held first, then Namespaces and CRDs, then the rest side by side) → one wait for every workload → the
 * traffic moved, copies deleted → on failure, every changed object back to what ran before → outputs and the
 * summary. The run against the cluster is kube-run.ts, the report kube-report.ts; the domain is
 * packages/core/src/kube/.
 */
import { ConfigurationError, EXIT_CODES, InputError } from '../errors.js';
import { KubeClient, type KubeResource } from '../kube/client.js';
import { KubeError } from '../kube/errors.js';
import { loadKubeConfig } from '../kube/kubeconfig.js';
import { substituteImages } from '../kube/manifest-images.js';
import { builtinIsNamespaced, resolveNamespaces } from '../kube/manifest-namespaces.js';
import { annotateRelease, loadManifests, releaseAnnotations, type Manifest } from '../kube/manifests.js';
import { isWaitable } from '../kube/rollout.js';
import {
  copyNotReady,
  planStrategy,
  templateImages,
  type Strategy,
  type StrategyAction,
  type StrategyPlan,
  type TrafficMethod,
} from '../kube/strategy.js';
import type { Summary } from '../platform/summary.js';
import type { Logger, Platform } from '../platform/types.js';
import { formatDuration } from '../util/duration.js';
import { isJsonObject, type JsonObject } from '../util/json.js';
import { fillKubeSummary, setKubeOutputs, type KubeResult, type ResourceReport } from './kube-report.js';
import { KubeRun } from './kube-run.js';
import type { VerifyOutcome } from './verify.js';
import {
  checkReleaseId,
  ledgerResultOf,
  parseLedgerLocation,
  recordOutcome,
  releaseIdFor,
  splitPinned,
} from './ledger.js';

export { fillKubeSummary, type KubeResult, type ResourceReport } from './kube-report.js';

/** The inputs deploy-k8s declares, as its `main` receives them. */
export interface KubeInputValues {
  manifests: string[];
  images: string[];
  image?: string;
  digest?: string;
  'allow-mutable-tag': boolean;
  labels: Record<string, string>;
  vars: Record<string, string>;
  'release-id'?: string;
  timeout: number;
  rollback: string;
  'rollback-timeout': number;
  'dry-run': boolean;
  'image-paths': string[];
  namespace?: string;
  kubeconfig?: string;
  'kubeconfig-data'?: string;
  context?: string;
  'force-conflicts': boolean;
  'failure-threshold': number;
  annotate: boolean;
  strategy?: Strategy;
  action?: StrategyAction;
  percentage?: number;
  'traffic-split-method'?: TrafficMethod;
  environment?: string;
  ledger?: string;
  'ledger-token'?: string;
  verify?: string;
}

/** What the ledger entry of this run says besides the outcome (the rollback action deploys through here too). */
export interface KubeRelease {
  event: 'deploy' | 'rollback';
  of?: string;
  to?: string;
  forced?: boolean;
}

export interface KubeContext {
  platform: Platform;
  log: Logger;
  signal: AbortSignal;
  summary: Summary;
  setOutput(name: string, value: string | number | boolean): void;
}

/** Applied first: what the rest of the manifests may need to exist. */
function applyOrder(m: Manifest): number {
  return m.kind === 'Namespace' ? 0 : m.kind === 'CustomResourceDefinition' ? 1 : 2;
}

/** The deploy, from validated inputs to outputs and summary; returns the exit code. */
export async function deployK8s(
  ctx: KubeContext,
  inputs: KubeInputValues,
  release: KubeRelease = { event: 'deploy' },
): Promise<number> {
  const { platform, log, signal } = ctx;
  const started = Date.now();
  const deadline = started + inputs.timeout;

  // Everything local is checked before the first request.
  const ledger = parseLedgerLocation(inputs, platform.env);
  const releaseId = releaseIdFor(checkReleaseId(inputs['release-id']), ledger);
  const verifyPlan = inputs.verify
    ? await (await import('./verify.js')).prepareVerify(inputs.verify, { platform, vars: inputs.vars })
    : undefined;
  if (inputs.manifests.length === 0)
    throw new InputError(
      'manifests',
      'is required to deploy to Kubernetes; expected manifest files, directories or globs.',
    );
  const images = [...inputs.images];
  if (inputs.image)
    images.push(inputs.digest ? `${inputs.image.replace(/@.*$/, '')}@${inputs.digest}` : inputs.image);
  else if (inputs.digest)
    throw new InputError('digest', 'needs image (the repository it pins); or give images.');
  const loaded = loadManifests(inputs.manifests, {
    cwd: platform.workspace,
    vars: inputs.vars,
    ...(inputs.verify
      ? { varsUsedElsewhere: (await import('./verify.js')).varsUsedBy(inputs.verify, platform.workspace) }
      : {}),
  });
  for (const w of loaded.warnings) log.warning(w);
  const subst = substituteImages(loaded.manifests, images, {
    allowMutableTag: inputs['allow-mutable-tag'],
    imagePaths: inputs['image-paths'],
  });
  for (const w of subst.warnings) log.warning(w);
  for (const n of subst.notes) log.info(n);
  const strategy = {
    strategy: inputs.strategy ?? 'rolling',
    action: inputs.action ?? 'deploy',
    percentage: inputs.percentage ?? 20,
    traffic: inputs['traffic-split-method'] ?? 'pod',
  };
  planStrategy(loaded.manifests, strategy); // refuses what the strategy cannot do, before any request
  const config = loadKubeConfig({
    ...(inputs['kubeconfig-data'] ? { inline: inputs['kubeconfig-data'] } : {}),
    ...(inputs.kubeconfig ? { path: inputs.kubeconfig } : {}),
    ...(inputs.context ? { context: inputs.context } : {}),
    ...(inputs.namespace ? { namespace: inputs.namespace } : {}),
    env: platform.env,
    cwd: platform.workspace,
  });
  const client = new KubeClient({ config, log, onSecret: (v) => platform.setSecret(v), env: platform.env });
  const call = { signal, deadline };

  // Discovery decides what is namespaced (a CRD applied in this deploy is found by its manifest).
  const resources = new Map<string, KubeResource | undefined>();
  for (const m of loaded.manifests) {
    const key = `${m.apiVersion} ${m.kind}`;
    if (resources.has(key)) continue;
    resources.set(key, await client.resourceFor(m.apiVersion, m.kind, call).catch(() => undefined));
  }
  const ns = resolveNamespaces(loaded.manifests, {
    defaultNamespace: config.namespace,
    resourceIsNamespaced: (apiVersion, kind) =>
      resources.get(`${apiVersion} ${kind}`)?.namespaced ?? builtinIsNamespaced(apiVersion, kind),
  });
  for (const w of ns.warnings) log.warning(w);
  if (inputs.annotate)
    annotateRelease(loaded.manifests, releaseAnnotations(platform.ci(), releaseId), {
      imagePaths: inputs['image-paths'],
    });
  for (const m of loaded.manifests)
    if (Object.keys(inputs.labels).length && isWaitable(m.kind)) {
      const meta = m.object.metadata as JsonObject;
      meta.labels = { ...(isJsonObject(meta.labels) ? meta.labels : {}), ...inputs.labels };
    }

  const plan = planStrategy(loaded.manifests, strategy);
  const dryRun = inputs['dry-run'];
  if (strategy.strategy !== 'rolling')
    log.info(
      `strategy ${strategy.strategy}, action ${strategy.action}${strategy.strategy === 'canary' ? `, traffic by ${strategy.traffic}${strategy.action === 'deploy' ? ` (${strategy.percentage}%)` : ''}` : ''}: copies ${plan.copies.map((c) => c.name).join(', ')}.`,
    );
  const imagesOf = (m: Manifest) => [
    ...new Set(
      subst.images
        .filter((u) => u.file === m.file && u.document === m.document && u.field.startsWith(`${m.pointer}/`))
        .map((u) => u.image),
    ),
  ];
  const run = new KubeRun({
    client,
    log,
    signal,
    deadline,
    dryRun,
    forceConflicts: inputs['force-conflicts'],
    failureThreshold: inputs['failure-threshold'],
    imagesOf,
  });
  const end = async (result: KubeResult, verified?: VerifyOutcome): Promise<number> => {
    setKubeOutputs(
      ctx.setOutput,
      result,
      run.reports,
      subst.changes.map((c) => c.after),
      ns.namespaces,
    );
    if (verified) ctx.setOutput('verdict', verified.verdict);
    fillKubeSummary(
      ctx.summary,
      result,
      run.reports,
      Date.now() - started,
      verified && verified.verdict !== 'passed'
        ? `verification ${verified.verdict} — ${verified.reason}`
        : undefined,
    );
    const code =
      result === 'failed' || result === 'rolled-back' || result === 'cancelled'
        ? EXIT_CODES.failed
        : EXIT_CODES.ok;
    const outcome = ledgerResultOf(result, release.event);
    if (!outcome) return code;
    const image = subst.changes[0]?.after ?? subst.images[0]?.image;
    const recorded = await recordOutcome({
      settings: { ...inputs, ...(releaseId ? { 'release-id': releaseId } : {}) },
      releaseIdGenerated: !inputs['release-id'],
      location: ledger,
      platform,
      log,
      signal,
      event: release.event,
      result: outcome,
      image,
      previous: image ? run.previousImage(splitPinned(image).repository) : undefined,
      target: {
        platform: 'kubernetes',
        clusters: [config.cluster.server],
        apps: run.reports
          .filter((r) => isWaitable(r.kind) && r.action !== 'deleted')
          .map((r) => `${r.kind}/${r.name}`),
      },
      ...(release.of ? { of: release.of } : {}),
      ...(release.to ? { to: release.to } : {}),
      ...(release.forced ? { forced: true } : {}),
      ...(verified ? { verdict: verified.verdict } : {}),
      setOutput: ctx.setOutput,
    });
    return recorded ? code : EXIT_CODES.failed;
  };

  // Promote only what a successful deploy step left: every copy exists, is ready and runs these images (#305).
  if (strategy.action === 'promote') await refuseUnreadyCopies(client, plan, loaded.manifests, call, ctx);
  // Pins are resolved before anything changes: a canary with no stable Deployment to share the traffic is refused.
  const before = await run.resolvePins(plan.before, plan.needsStable);
  const after = await run.resolvePins(plan.after, plan.needsStable);
  const last = await run.resolvePins(plan.last, false);
  for (const n of [...before.notes, ...after.notes, ...last.notes]) log.info(n);

  if (plan.apply.length)
    log.info(
      `${dryRun ? 'Dry run (server-side): ' : ''}applying ${plan.apply.length} object(s) to ${config.cluster.server} (${config.source}${config.context ? `, context ${config.context}` : ''}; namespace${ns.namespaces.length === 1 ? '' : 's'} ${ns.namespaces.join(', ') || config.namespace}).`,
    );
  // Traffic held or switched first; then Namespaces and CRDs, then the rest side by side.
  await run.apply(before.objects, { force: true });
  const first = plan.apply.filter((m) => applyOrder(m) < 2).sort((a, b) => applyOrder(a) - applyOrder(b));
  await run.apply(first);
  await run.applyParallel(plan.apply.filter((m) => applyOrder(m) === 2));
  if (dryRun) {
    // A dry run validates the traffic objects and deletions now, and stores nothing.
    await run.apply([...after.objects, ...last.objects], { force: true });
    await run.remove([...plan.remove, ...plan.cleanup]);
    log.info('dry-run: the API server validated every object; nothing was stored.');
    return end('dry-run');
  }

  // Wait for every changed workload at once, under the one deadline.
  const waited = await run.waitChanged();
  if (waited === 'cancelled') return end('cancelled');
  if (waited === 'ready') {
    // The traffic moves now that every workload is ready; then a promote's or reject's copies go.
    await run.apply(after.objects, { force: true });
    await run.remove(plan.remove);
    await run.apply(last.objects, { force: true });
    await run.remove(plan.cleanup);
    await run.refresh();
    const result: KubeResult =
      strategy.strategy === 'rolling'
        ? run.reports.some((r) => r.action !== 'unchanged')
          ? 'deployed'
          : 'unchanged'
        : strategy.action === 'promote'
          ? 'promoted'
          : strategy.action === 'reject'
            ? 'rejected'
            : strategy.strategy === 'canary'
              ? 'canary-deployed'
              : 'green-deployed';
    if (!verifyPlan || (result !== 'deployed' && result !== 'promoted')) {
      log.info(`deploy-k8s: ${result} in ${formatDuration(Date.now() - started)}.`);
      return end(result);
    }
    // Healthy: now the checks decide whether this release stays.
    const verified = await (
      await import('./verify.js')
    ).runVerify(verifyPlan, { platform, log, signal, vars: inputs.vars });
    if (verified.verdict === 'passed') {
      log.info(`deploy-k8s: ${result} and verified in ${formatDuration(Date.now() - started)}.`);
      return end(result, verified);
    }
    const back = inputs.rollback === 'auto' ? await run.rollback(inputs['rollback-timeout']) : false;
    if (inputs.rollback !== 'auto') log.warning('rollback: none — the unverified release is left running.');
    await run.refresh();
    log.error(
      `deploy-k8s failed${back ? ' and was rolled back' : ''}: verification ${verified.verdict} — ${verified.reason}`,
    );
    return end(back ? 'rolled-back' : 'failed', verified);
  }

  // Failed: put back what Kiln changed, or leave it and say so.
  const failed = run.failed();
  let rolledBack = false;
  if (inputs.rollback === 'auto') rolledBack = await run.rollback(inputs['rollback-timeout']);
  else log.warning('rollback: none — the failed workloads are left as they are.');
  await run.refresh();
  const firstFailed = failed[0] as ResourceReport;
  log.error(
    `deploy-k8s failed${rolledBack ? ' and was rolled back' : ''}: ${firstFailed.kind}/${firstFailed.name}: ${firstFailed.reason ?? firstFailed.result}`,
  );
  return end(rolledBack ? 'rolled-back' : 'failed');
}

/** Promote refuses (exit 2, nothing changed) unless every copy exists, is ready and runs the images promoted. */
async function refuseUnreadyCopies(
  client: KubeClient,
  plan: StrategyPlan,
  manifests: readonly Manifest[],
  call: { signal: AbortSignal; deadline: number },
  ctx: KubeContext,
): Promise<void> {
  const why: string[] = [];
  for (const c of plan.copies) {
    const stable = manifests.find(
      (m) =>
        m.kind === c.kind && m.name === c.of && (m.object.metadata as JsonObject).namespace === c.namespace,
    );
    const live = await client.get(c, call);
    const no = copyNotReady(live, templateImages(stable?.object));
    if (no) why.push(`${c.kind}/${c.name}${c.namespace ? ` (${c.namespace})` : ''} ${no}`);
  }
  if (why.length) {
    ctx.setOutput('result', 'refused');
    throw new ConfigurationError(
      `promote refused: the ${plan.copies.some((c) => c.name.endsWith('-green')) ? 'blue-green' : 'canary'} deploy did not succeed — ${why.join('; ')}. Nothing was changed.`,
    );
  }
}

/** A Kubernetes error as the user should see it (one line; credentials and permissions are the user's to fix). */
export function kubeUserError(e: unknown): unknown {
  if (
    e instanceof KubeError &&
    (e.kind === 'auth' || e.kind === 'forbidden' || e.kind === 'invalid' || e.kind === 'conflict')
  )
    return new ConfigurationError(e.message, { cause: e });
  return e;
}
