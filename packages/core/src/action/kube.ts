/**
 * deploy-k8s's glue: inputs → the kubeconfig and client, the manifests (loaded, images substituted exactly and
 * pinned, namespaces resolved by discovery, Kiln's release annotations) → server-side apply (Namespaces and CRDs
 * first) → one wait for every workload → on failure, every changed object back to what ran before → outputs and the
 * summary. The domain is packages/core/src/kube/.
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
  TRACK_LABEL,
  type CopyRef,
  type Strategy,
  type StrategyAction,
} from '../kube/strategy.js';
import { waitForRollouts, type RolloutResult, type RolloutSource, type RolloutTarget } from '../kube/wait.js';
import type { Summary } from '../platform/summary.js';
import type { Logger, Platform } from '../platform/types.js';
import { formatDuration } from '../util/duration.js';
import { isJsonObject, type JsonObject } from '../util/json.js';

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
}

export interface KubeContext {
  platform: Platform;
  log: Logger;
  signal: AbortSignal;
  summary: Summary;
  setOutput(name: string, value: string | number | boolean): void;
}

/** One object of the deploy, as the outputs and the summary report it. */
export interface ResourceReport {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  action: 'created' | 'configured' | 'unchanged' | 'dry-run' | 'deleted';
  result:
    | 'applied'
    | 'ready'
    | 'failed'
    | 'timed-out'
    | 'cancelled'
    | 'rolled-back'
    | 'rollback-failed'
    | 'deleted';
  reason?: string;
  /** This object was put back to what ran before (after its own failure or another's). */
  rolledBack?: boolean;
  /** The images its containers run (as applied). */
  images?: string[];
  /** Workloads: ready / desired pods at the end. */
  ready?: string;
  revision?: string;
  previousRevision?: string;
}

const REVISION = 'deployment.kubernetes.io/revision';
/** What the API server owns or computes: never sent back when an object is restored. */
const SERVER_FIELDS = [
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'managedFields',
  'selfLink',
];

/** Applied first: what the rest of the manifests may need to exist. */
function applyOrder(m: Manifest): number {
  return m.kind === 'Namespace' ? 0 : m.kind === 'CustomResourceDefinition' ? 1 : 2;
}

/** The deploy, from validated inputs to outputs and summary; returns the exit code. */
export async function deployK8s(ctx: KubeContext, inputs: KubeInputValues): Promise<number> {
  const { platform, log, signal } = ctx;
  const started = Date.now();
  const deadline = started + inputs.timeout;

  // Everything local is checked before the first request.
  const images = [...inputs.images];
  if (inputs.image)
    images.push(inputs.digest ? `${inputs.image.replace(/@.*$/, '')}@${inputs.digest}` : inputs.image);
  else if (inputs.digest)
    throw new InputError('digest', 'needs image (the repository it pins); or give images.');
  const loaded = loadManifests(inputs.manifests, { cwd: platform.workspace, vars: inputs.vars });
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
    annotateRelease(loaded.manifests, releaseAnnotations(platform.ci(), inputs['release-id']), {
      imagePaths: inputs['image-paths'],
    });
  for (const m of loaded.manifests)
    if (Object.keys(inputs.labels).length && isWaitable(m.kind)) {
      const meta = m.object.metadata as JsonObject;
      meta.labels = { ...(isJsonObject(meta.labels) ? meta.labels : {}), ...inputs.labels };
    }

  const plan = planStrategy(loaded.manifests, strategy);
  const dryRun = inputs['dry-run'];
  const rolling = strategy.strategy === 'rolling';
  if (!rolling)
    log.info(
      `strategy ${strategy.strategy}, action ${strategy.action}${strategy.strategy === 'canary' && strategy.action === 'deploy' ? ` (${strategy.percentage}%)` : ''}: copies ${plan.copies.map((c) => c.name).join(', ')}.`,
    );

  // Promote only what a successful deploy step left: every copy exists, is ready and runs these images (#305).
  if (strategy.action === 'promote') {
    const why: string[] = [];
    for (const c of plan.copies) {
      const stable = loaded.manifests.find(
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
        `promote refused: the ${strategy.strategy} deploy did not succeed — ${why.join('; ')}. Nothing was changed.`,
      );
    }
  }

  // Reject: traffic back to the stable pods, then the copies deleted; nothing applied.
  if (strategy.action === 'reject') {
    const reports: ResourceReport[] = [];
    for (const s of plan.unroute) {
      const namespace = (s.object.metadata as JsonObject).namespace as string | undefined;
      const ref = {
        apiVersion: s.apiVersion,
        kind: s.kind,
        name: s.name,
        ...(namespace ? { namespace } : {}),
      };
      const live = await client.get(ref, call);
      const sel =
        live && isJsonObject(live.spec) && isJsonObject(live.spec.selector) ? live.spec.selector : {};
      if (!(TRACK_LABEL in sel)) continue;
      await client.patch(
        ref,
        { spec: { selector: { [TRACK_LABEL]: null } } },
        { ...call, type: 'merge', dryRun },
      );
      reports.push({
        apiVersion: s.apiVersion,
        kind: s.kind,
        name: s.name,
        ...(namespace ? { namespace } : {}),
        action: dryRun ? 'dry-run' : 'configured',
        result: 'applied',
      });
      log.info(`${s.kind}/${s.name}: selector back to the stable pods`);
    }
    reports.push(...(await deleteCopies(client, plan.copies, { ...call, dryRun }, log)));
    const result = dryRun ? 'dry-run' : 'rejected';
    setOutputs(ctx, result, reports, [], ns.namespaces);
    fillKubeSummary(ctx.summary, result, reports, Date.now() - started);
    log.info(`deploy-k8s: rejected in ${formatDuration(Date.now() - started)}.`);
    return EXIT_CODES.ok;
  }

  log.info(
    `${dryRun ? 'Dry run (server-side): ' : ''}applying ${plan.apply.length} object(s) to ${config.cluster.server} (${config.source}${config.context ? `, context ${config.context}` : ''}; namespace${ns.namespaces.length === 1 ? '' : 's'} ${ns.namespaces.join(', ') || config.namespace}).`,
  );

  // Apply, remembering what ran before (the rollback target).
  const reports: ResourceReport[] = [];
  const previous = new Map<ResourceReport, JsonObject | undefined>();
  const applyOne = async (m: Manifest) => {
    const namespace = (m.object.metadata as JsonObject).namespace as string | undefined;
    const ref = { apiVersion: m.apiVersion, kind: m.kind, name: m.name, ...(namespace ? { namespace } : {}) };
    const before = await client.get(ref, call);
    const after = await client.apply(m.object, { ...call, force: inputs['force-conflicts'], dryRun });
    const report: ResourceReport = {
      apiVersion: m.apiVersion,
      kind: m.kind,
      name: m.name,
      ...(namespace ? { namespace } : {}),
      action: dryRun
        ? 'dry-run'
        : !before
          ? 'created'
          : metaOf(before).resourceVersion === metaOf(after).resourceVersion
            ? 'unchanged'
            : 'configured',
      result: 'applied',
      ...(revisionOf(before) ? { previousRevision: revisionOf(before) } : {}),
    };
    const used = subst.images.filter(
      (u) => u.file === m.file && u.document === m.document && u.field.startsWith(`${m.pointer}/`),
    );
    if (used.length) report.images = [...new Set(used.map((u) => u.image))];
    previous.set(report, before);
    reports.push(report);
    log.info(`${m.kind}/${m.name}${namespace ? ` (${namespace})` : ''}: ${report.action}`);
  };
  const ordered = [...plan.apply].sort((a, b) => applyOrder(a) - applyOrder(b));
  for (const m of ordered) await applyOne(m);
  // A strategy's Services (the traffic) move once the workloads are ready; a dry run validates them now.
  if (dryRun) for (const m of plan.route) await applyOne(m);

  /** Every workload's revision and ready/desired pods as they are now (what the outputs report). */
  const refresh = async () => {
    for (const r of reports) {
      if (!isWaitable(r.kind) || r.action === 'deleted') continue;
      const now = await client.get(refOf(r), { signal }).catch(() => undefined);
      if (revisionOf(now)) r.revision = revisionOf(now);
      const st = now && isJsonObject(now.status) ? now.status : {};
      const sp = now && isJsonObject(now.spec) ? now.spec : {};
      const desired =
        r.kind === 'DaemonSet' ? st.desiredNumberScheduled : r.kind === 'Job' ? sp.completions : sp.replicas;
      const ready =
        r.kind === 'DaemonSet' ? st.numberReady : r.kind === 'Job' ? st.succeeded : st.readyReplicas;
      if (desired !== undefined) r.ready = `${Number(ready ?? 0)}/${Number(desired)}`;
    }
  };
  const setCommon = (result: string) =>
    setOutputs(
      ctx,
      result,
      reports,
      subst.changes.map((c) => c.after),
      ns.namespaces,
    );
  if (dryRun) {
    setCommon('dry-run');
    fillKubeSummary(ctx.summary, 'dry-run', reports, Date.now() - started);
    log.info('dry-run: the API server validated every object; nothing was stored.');
    return EXIT_CODES.ok;
  }

  // Wait for every changed workload at once, under the one deadline.
  const source = rolloutSource(client, call);
  const waitFor = reports.filter((r) => isWaitable(r.kind) && r.action !== 'unchanged');
  const results = await waitForRollouts(waitFor.map(targetOf), {
    deadline,
    failureThreshold: inputs['failure-threshold'],
    signal,
    log,
    source,
  });
  applyResults(waitFor, results);
  for (const r of reports) if (r.result === 'applied' && isWaitable(r.kind)) r.result = 'ready';
  const failed = reports.filter((r) => r.result === 'failed' || r.result === 'timed-out');
  if (reports.some((r) => r.result === 'cancelled')) {
    setCommon('cancelled');
    fillKubeSummary(ctx.summary, 'cancelled', reports, Date.now() - started);
    return EXIT_CODES.failed;
  }
  if (failed.length === 0) {
    // The traffic moves now that every workload is ready; after a promote the copies go.
    for (const m of plan.route) await applyOne(m);
    if (strategy.action === 'promote') reports.push(...(await deleteCopies(client, plan.copies, call, log)));
    const changed = reports.some((r) => r.action !== 'unchanged');
    await refresh();
    const result = rolling
      ? changed
        ? 'deployed'
        : 'unchanged'
      : strategy.action === 'promote'
        ? 'promoted'
        : strategy.strategy === 'canary'
          ? 'canary-deployed'
          : 'green-deployed';
    setCommon(result);
    fillKubeSummary(ctx.summary, result, reports, Date.now() - started);
    log.info(`deploy-k8s: ${result} in ${formatDuration(Date.now() - started)}.`);
    return EXIT_CODES.ok;
  }

  // Failed: put back what Kiln changed, or leave it and say so.
  if (inputs.rollback === 'auto') {
    const rollbackDeadline = Date.now() + inputs['rollback-timeout'];
    const undo = reports.filter((r) => r.action === 'configured' || r.action === 'created');
    for (const r of undo) {
      const before = previous.get(r);
      try {
        if (before)
          await client.apply(restorable(before), { signal, deadline: rollbackDeadline, force: true });
        else await client.delete(refOf(r), { signal, deadline: rollbackDeadline });
        log.info(
          `${r.kind}/${r.name}: ${before ? 'restored to what ran before' : 'created by this deploy: deleted'}`,
        );
      } catch (e) {
        r.result = 'rollback-failed';
        r.reason = `${r.reason ? `${r.reason}; ` : ''}rollback: ${(e as Error).message}`;
      }
    }
    const back = undo.filter((r) => r.result !== 'rollback-failed' && previous.get(r) && isWaitable(r.kind));
    const settled = await waitForRollouts(back.map(targetOf), {
      deadline: rollbackDeadline,
      failureThreshold: inputs['failure-threshold'],
      signal,
      log,
      source,
    });
    back.forEach((r, i) => {
      const s = settled[i];
      if (s?.result === 'ready') {
        r.rolledBack = true;
        if (r.result === 'ready' || r.result === 'applied') r.result = 'rolled-back';
      } else {
        r.reason = `${r.reason ?? r.result}; rollback ${s?.result ?? 'not verified'}${s?.reason ? `: ${s.reason}` : ''}`;
        r.result = 'rollback-failed';
      }
    });
    for (const r of undo)
      if (!previous.get(r) && r.result !== 'rollback-failed') {
        r.rolledBack = true;
        if (r.result === 'ready' || r.result === 'applied') r.result = 'rolled-back';
      }
  } else {
    log.warning('rollback: none — the failed workloads are left as they are.');
  }
  await refresh();
  const rolledBack = inputs.rollback === 'auto' && !reports.some((r) => r.result === 'rollback-failed');
  const first = failed[0] as ResourceReport;
  setCommon(rolledBack ? 'rolled-back' : 'failed');
  fillKubeSummary(ctx.summary, rolledBack ? 'rolled-back' : 'failed', reports, Date.now() - started);
  log.error(
    `deploy-k8s failed${rolledBack ? ' and was rolled back' : ''}: ${first.kind}/${first.name}: ${first.reason ?? first.result}`,
  );
  return EXIT_CODES.failed;
}

/** The outputs every ending sets. */
function setOutputs(
  ctx: KubeContext,
  result: string,
  reports: ResourceReport[],
  images: string[],
  namespaces: string[],
): void {
  ctx.setOutput('result', result);
  ctx.setOutput('resources', JSON.stringify(reports));
  ctx.setOutput('images', [...new Set(images)].join('\n'));
  ctx.setOutput('namespaces', namespaces.join(','));
  ctx.setOutput(
    'revision',
    reports
      .filter((r) => r.kind === 'Deployment' && r.revision)
      .map((r) => r.revision)
      .join(' '),
  );
}

/** Deletes a strategy's canary/green copies (those that exist), reporting each. */
async function deleteCopies(
  client: KubeClient,
  copies: readonly CopyRef[],
  o: { signal: AbortSignal; deadline: number; dryRun?: boolean },
  log: Logger,
): Promise<ResourceReport[]> {
  const reports: ResourceReport[] = [];
  for (const c of copies) {
    const ref = {
      apiVersion: c.apiVersion,
      kind: c.kind,
      name: c.name,
      ...(c.namespace ? { namespace: c.namespace } : {}),
    };
    const gone = await client.delete(ref, {
      signal: o.signal,
      deadline: o.deadline,
      ...(o.dryRun ? { dryRun: true } : {}),
    });
    if (!gone) {
      log.info(`${c.kind}/${c.name}: not there (nothing to delete)`);
      continue;
    }
    reports.push({
      apiVersion: c.apiVersion,
      kind: c.kind,
      name: c.name,
      ...(c.namespace ? { namespace: c.namespace } : {}),
      action: o.dryRun ? 'dry-run' : 'deleted',
      result: 'deleted',
    });
    log.info(`${c.kind}/${c.name}: deleted`);
  }
  return reports;
}

function metaOf(o: JsonObject | undefined): JsonObject {
  return o && isJsonObject(o.metadata) ? o.metadata : {};
}

function revisionOf(o: JsonObject | undefined): string | undefined {
  const a = metaOf(o).annotations;
  return isJsonObject(a) && typeof a[REVISION] === 'string' ? (a[REVISION] as string) : undefined;
}

function targetOf(r: ResourceReport): RolloutTarget {
  return {
    apiVersion: r.apiVersion,
    kind: r.kind,
    name: r.name,
    ...(r.namespace ? { namespace: r.namespace } : {}),
  };
}

function refOf(r: ResourceReport) {
  return {
    apiVersion: r.apiVersion,
    kind: r.kind,
    name: r.name,
    ...(r.namespace ? { namespace: r.namespace } : {}),
  };
}

function applyResults(reports: ResourceReport[], results: RolloutResult[]): void {
  reports.forEach((r, i) => {
    const s = results[i];
    if (!s) return;
    r.result = s.result;
    if (s.reason) r.reason = s.reason;
  });
}

/** What ran before, as an object to apply again: without what the server computes. */
function restorable(before: JsonObject): JsonObject {
  const o = JSON.parse(JSON.stringify(before)) as JsonObject;
  delete o.status;
  const meta = metaOf(o);
  for (const f of SERVER_FIELDS) delete meta[f];
  return o;
}

/** The wait's view of the cluster through the client: the workload's watch, its pods, events and revisions. */
function rolloutSource(client: KubeClient, call: { signal: AbortSignal; deadline: number }): RolloutSource {
  return {
    async *watch(target, signal) {
      const kind = {
        // Every target is built by targetOf, with the apiVersion its manifest gave.
        apiVersion: target.apiVersion ?? 'apps/v1',
        kind: target.kind,
        ...(target.namespace ? { namespace: target.namespace } : {}),
      };
      for await (const e of client.watch(kind, {
        signal,
        deadline: call.deadline,
        fieldSelector: `metadata.name=${target.name}`,
      })) {
        if (e.type === 'RELISTED') {
          const item = e.items.find((i) => metaOf(i).name === target.name);
          if (item) yield item;
        } else yield e;
      }
    },
    async pods(target, workload, signal) {
      const o = { signal, deadline: call.deadline };
      const namespace = target.namespace;
      const spec = isJsonObject(workload.spec) ? workload.spec : {};
      const selector =
        isJsonObject(spec.selector) && isJsonObject(spec.selector.matchLabels)
          ? spec.selector.matchLabels
          : {};
      const labelSelector = Object.entries(selector)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(',');
      const inNs = (apiVersion: string, kind: string) => ({
        apiVersion,
        kind,
        ...(namespace ? { namespace } : {}),
      });
      const [pods, events, replicaSets, controllerRevisions] = await Promise.all([
        client.list(inNs('v1', 'Pod'), { ...o, ...(labelSelector ? { labelSelector } : {}) }),
        client.list(inNs('v1', 'Event'), o),
        target.kind === 'Deployment'
          ? client.list(inNs('apps/v1', 'ReplicaSet'), { ...o, ...(labelSelector ? { labelSelector } : {}) })
          : undefined,
        target.kind === 'StatefulSet' || target.kind === 'DaemonSet'
          ? client
              .list(inNs('apps/v1', 'ControllerRevision'), {
                ...o,
                ...(labelSelector ? { labelSelector } : {}),
              })
              .catch(() => undefined)
          : undefined,
      ]);
      return {
        pods: pods.items,
        events: events.items,
        ...(replicaSets ? { replicaSets: replicaSets.items } : {}),
        ...(controllerRevisions ? { controllerRevisions: controllerRevisions.items } : {}),
      };
    },
  };
}

const ICON: Record<string, string> = {
  deployed: '✅',
  'canary-deployed': '🐤',
  'green-deployed': '🟢',
  promoted: '✅',
  rejected: '↩️',
  unchanged: '✅',
  'dry-run': '🔍',
  'rolled-back': '❌',
  failed: '❌',
  cancelled: '⚠️',
};

/** The summary: what happened and why first, then one row per object (at most five columns). */
export function fillKubeSummary(
  summary: Summary,
  result: string,
  reports: ResourceReport[],
  durationMs: number,
): void {
  const bad = reports.find(
    (r) => r.result === 'failed' || r.result === 'timed-out' || r.result === 'rollback-failed',
  );
  const why = bad ? `: ${bad.kind}/${bad.name} — ${bad.reason ?? bad.result}` : '';
  const what =
    result === 'deployed'
      ? `deployed ${reports.filter((r) => r.action !== 'unchanged').length} object(s) in ${formatDuration(durationMs)}`
      : result === 'canary-deployed' || result === 'green-deployed'
        ? `${result === 'canary-deployed' ? 'canary' : 'green'} deployed: ${copiesIn(reports)} ready in ${formatDuration(durationMs)}; promote or reject next`
        : result === 'promoted'
          ? `promoted in ${formatDuration(durationMs)}${
              reports.some((r) => r.action === 'deleted')
                ? `; deleted ${reports
                    .filter((r) => r.action === 'deleted')
                    .map((r) => r.name)
                    .join(', ')}`
                : ''
            }`
          : result === 'rejected'
            ? `rejected: ${
                reports
                  .filter((r) => r.action === 'deleted')
                  .map((r) => r.name)
                  .join(', ') || 'no copy was there'
              }${reports.some((r) => r.action === 'deleted') ? ' deleted' : ''}; traffic on the stable version`
            : result === 'unchanged'
              ? 'unchanged: every object already held what was applied'
              : result === 'dry-run'
                ? `dry run: ${reports.length} object(s) validated by the API server; nothing stored`
                : result === 'rolled-back'
                  ? `rolled back${why}`
                  : `${result}${why}`;
  summary.heading(`${ICON[result] ?? '❌'} ${what}`);
  summary.table(
    ['Object', 'Namespace', 'Applied', 'Result', 'Revision'],
    reports.map((r) => [
      `${r.kind}/${r.name}`,
      r.namespace ?? '',
      r.action,
      `${r.result}${r.rolledBack && r.result !== 'rolled-back' ? ', rolled back' : ''}${r.reason && r.result !== 'ready' ? `: ${r.reason}` : ''}`,
      r.revision ? `${r.previousRevision ?? '—'} → ${r.revision}` : (r.previousRevision ?? ''),
    ]),
  );
}

function copiesIn(reports: ResourceReport[]): string {
  return reports
    .filter((r) => r.kind === 'Deployment' && (r.name.endsWith('-canary') || r.name.endsWith('-green')))
    .map((r) => `${r.kind}/${r.name}${r.ready ? ` (${r.ready})` : ''}`)
    .join(', ');
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
