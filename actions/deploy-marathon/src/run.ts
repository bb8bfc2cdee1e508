/**
 * deploy-marathon's work, loaded by its `main` (action.ts) when it runs: check the inputs and the app definition,
 * render it, deploy it with @kiln/core's `marathon` namespace, and report per cluster.
 */
import { EXIT_CODES, marathon, marathonAction, releaseLabels, type ContextOf } from '@kiln/core';
import type { spec } from './action.js';

export async function main(ctx: ContextOf<typeof spec>): Promise<number | void> {
  const { inputs, log, signal, summary, setOutput, platform } = ctx;
  // Edge validation: everything is checked before any request.
  const clusters = marathonAction.parseMarathonClusters(inputs['marathon-url']);
  const auth = marathonAction.marathonAuthFromInputs({
    user: inputs['marathon-user'],
    password: inputs['marathon-password'],
    token: inputs['marathon-token'],
    serviceAccountId: inputs['service-account-id'],
    serviceAccountKey: inputs['service-account-key'],
    loginUrl: inputs['login-url'],
  });
  const file = marathonAction.readAppDefinitionFile(inputs['app-definition'], platform.workspace);
  for (const w of file.warnings) log.warning(w);
  const rendered = marathon.renderAppDefinition(file.definition, {
    source: file.source,
    image: inputs.image,
    digest: inputs.digest,
    allowMutableTag: inputs['allow-mutable-tag'],
    forcePullImage: inputs['force-pull-image'],
    appId: inputs['app-id'],
    instances: inputs.instances,
    env: inputs.env,
    labels: inputs.labels,
    vars: inputs.vars,
    kilnLabels: releaseLabels(platform.ci(), inputs['release-id']),
  });
  for (const w of rendered.warnings) log.warning(w);
  for (const n of rendered.notes) log.info(n);
  if (inputs.insecure) log.warning('TLS certificate verification is off (insecure: true).');

  const renderedFile =
    inputs['rendered-file'] ??
    marathonAction.defaultRenderedPath(platform.kind, platform.env, platform.workspace, rendered.id);
  marathonAction.writeRenderedDefinition(renderedFile, rendered);
  setOutput('rendered-file', renderedFile);
  setOutput('image', rendered.image);
  log.info(
    `Deploying ${rendered.id} (image ${rendered.image}) to ${clusters.map((c) => c.name).join(', ')}` +
      `${clusters.length > 1 ? ` (${inputs['cluster-order']})` : ''}; rendered definition: ${renderedFile}.`,
  );

  const report = await marathon.deployMarathon({
    clusters,
    auth,
    insecure: inputs.insecure,
    app: rendered,
    clusterOrder: inputs['cluster-order'],
    timeoutMs: inputs.timeout,
    lockTimeoutMs: inputs['lock-timeout'],
    force: inputs.force,
    failureThreshold: inputs['failure-threshold'],
    rollback: inputs.rollback,
    rollbackTimeoutMs: inputs['rollback-timeout'],
    pollIntervalMs: inputs['poll-interval'],
    dryRun: inputs['dry-run'],
    log,
    registerSecret: (v) => platform.setSecret(v),
    signal,
    env: platform.env,
  });

  const outputs = marathonAction.marathonOutputs(report);
  for (const [name, value] of Object.entries(outputs)) setOutput(name as keyof typeof outputs, value);
  marathonAction.fillMarathonSummary(summary, report, { clusterOrder: inputs['cluster-order'] });

  switch (report.result) {
    case 'deployed':
    case 'unchanged':
      log.info(`deploy-marathon: ${marathonAction.marathonHeadline(report).text}.`);
      return 0;
    case 'dry-run':
      log.info(`dry-run: nothing was submitted; rendered definition in ${renderedFile}.`);
      return 0;
    case 'cancelled':
      for (const c of report.clusters)
        log.warning(`${c.name}: ${c.stateText ?? `${c.result}${c.reason ? ` (${c.reason})` : ''}`}`);
      return EXIT_CODES.failed;
    default: {
      // The run's one error line (on GitHub its one annotation): the clusters' own lines above are plain.
      log.error(marathonAction.marathonFailureLine(report));
      // Credentials Marathon refused are a setting to fix, like a bad input (nothing was deployed).
      const failedOn = report.clusters.filter((c) => c.result === 'failed');
      return failedOn.length > 0 && failedOn.every((c) => c.failureKind === 'credentials')
        ? EXIT_CODES.badInput
        : EXIT_CODES.failed;
    }
  }
}
