/**
 * deploy-marathon: render a per-environment Marathon app definition with an image pinned by digest, deploy it to
 * one or more Marathon clusters, wait until the new version is healthy, fail fast on a crash loop, roll back.
 * The declaration below is the single source of the action's inputs and outputs; the logic is in
 * @kiln/core's `marathon` namespace.
 */
import {
  defineAction,
  defineActionRunner,
  deployInputs,
  EXIT_CODES,
  marathon,
  marathonAction,
  releaseLabels,
} from '@kiln/core';

export const spec = defineAction({
  name: 'deploy-marathon',
  title: 'Kiln deploy-marathon',
  description:
    'Deploy an image pinned by digest to Marathon from a per-environment app definition; wait until healthy, fail fast, roll back.',
  branding: { icon: 'upload-cloud', color: 'orange' },
  inputs: {
    ...deployInputs({
      file: 'the app definition',
      imageField: "the file's `container.docker.image`",
      labelsField: "the app's `labels`",
      varsWhere: "the file's `args`",
      forcePull: '`forcePullImage: true`',
      timeout: 'Per cluster: from submitting (waiting for a lock included) until the new version is healthy.',
      rollback: 'every changed cluster',
      rollbackScope: 'Per cluster',
      dryRun:
        'Render, validate and show the diff against what Marathon stores now (both normalized as Marathon 1.10 does); submit nothing.',
    }),
    'marathon-url': {
      type: 'list',
      required: true,
      placeholder: 'URLs',
      description:
        'Marathon base URL(s), one per line or comma-separated, optionally named: `AA=https://marathon-aa.example.com`. Several URLs deploy to several clusters (see `cluster-order`).',
    },
    'app-definition': {
      type: 'path',
      required: true,
      description:
        'The app definition JSON file, e.g. `deploy/qa-deploy.json` (may live in another checkout). Every field is kept as written.',
    },
    'force-pull-image': {
      type: 'boolean',
      description: "Set `container.docker.forcePullImage`. Unset: the file's value is kept.",
    },
    'app-id': {
      type: 'string',
      placeholder: '/group/app',
      description: "Marathon app id, replacing the file's `id`.",
    },
    instances: {
      type: 'integer',
      min: 0,
      description: "Number of instances, replacing the file's `instances`.",
    },
    env: {
      type: 'map',
      description:
        "Environment variables merged into the app's `env`, one `NAME=value` per line (given ones win).",
    },
    'cluster-order': {
      type: 'enum',
      deprecatedName: 'strategy',
      values: ['sequential', 'parallel'],
      default: 'sequential',
      description:
        'With several clusters: `sequential` stops at the first failure; `parallel` deploys all at once. On failure every cluster changed is rolled back (with `rollback: auto`).',
    },
    'lock-timeout': {
      type: 'duration',
      default: '2m',
      min: 0,
      description:
        'How long to wait for another deployment holding the app (HTTP 409) before failing, or overriding with `force`.',
    },
    force: {
      type: 'boolean',
      default: 'false',
      description: 'After `lock-timeout`, override the other deployment (`?force=true`) instead of failing.',
    },
    'failure-threshold': {
      type: 'integer',
      min: 1,
      max: 1000,
      default: '3',
      description:
        'Declare a crash loop after this many failed or unhealthy-killed tasks of the new version.',
    },
    'rendered-file': {
      type: 'path',
      mustExist: false,
      description:
        "Where to write the rendered app definition (default: the runner's temp dir on GitHub, the project dir on GitLab).",
    },
    'poll-interval': {
      type: 'duration',
      default: '2s',
      min: 10,
      description: 'Longest pause between polls of Marathon; the event stream wakes Kiln earlier.',
    },
    'marathon-user': { type: 'string', description: 'HTTP basic user (with `marathon-password`).' },
    'marathon-password': {
      type: 'string',
      secret: true,
      description: 'HTTP basic password (masked in every log and file).',
    },
    'marathon-token': {
      type: 'string',
      secret: true,
      description: 'DC/OS token, sent as `Authorization: token=…` (masked in every log and file).',
    },
    'service-account-id': {
      type: 'string',
      description: 'DC/OS service account uid (with `service-account-key`).',
    },
    'service-account-key': {
      type: 'string',
      secret: true,
      placeholder: 'PEM',
      description:
        'DC/OS service account RSA private key (PEM). Kiln signs a short-lived RS256 login token and logs in again on 401.',
    },
    'login-url': {
      type: 'url',
      description:
        'DC/OS login endpoint for the service account (default: `<marathon origin>/acs/api/v1/auth/login`).',
    },
    insecure: {
      type: 'boolean',
      default: 'false',
      description: 'Skip TLS certificate verification (self-signed clusters only).',
    },
  },
  outputs: {
    result: {
      description:
        '`deployed`, `unchanged`, `rolled-back`, `failed`, `cancelled` or `dry-run` (over all clusters).',
    },
    'deployment-id': {
      description:
        'Marathon deployment id (several clusters: one per cluster, space-separated, `-` for none).',
    },
    version: { description: 'App version deployed (several clusters: one per cluster, space-separated).' },
    'previous-version': { description: 'App version that ran before (the rollback target).' },
    'previous-image': { description: 'Image that ran before.' },
    image: {
      description:
        'Image this run deploys, as written into the app definition (also when it was rolled back).',
    },
    clusters: {
      type: 'json',
      description:
        'JSON array, one object per cluster: name, url, app, result, reason, deploymentId, version, previousVersion, image, previousImage, created, changes, rollback, state, durationMs.',
    },
    'rendered-file': { description: 'Path of the rendered app definition.' },
  },
});

export const action = defineActionRunner({
  spec,
  async main({ inputs, log, signal, summary, setOutput, platform }) {
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
      default:
        // The run's one error line (on GitHub its one annotation): the clusters' own lines above are plain.
        log.error(marathonAction.marathonFailureLine(report));
        // Credentials Marathon refused are a setting to fix, like a bad input (nothing was deployed).
        return report.clusters.every((c) => c.result !== 'failed' || c.failureKind === 'credentials')
          ? EXIT_CODES.badInput
          : EXIT_CODES.failed;
    }
  },
});
