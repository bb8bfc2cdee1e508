/**
 * deploy-marathon's run, from validated inputs to outputs, summary and exit code: check the clusters, credentials
 * and app definition, render it with the image pinned, deploy with @kiln/core's `marathon` namespace, report per
 * cluster, and record the release in the ledger. The rollback action runs an earlier digest through here too.
 */
import { EXIT_CODES, InputError } from '../errors.js';
import { releaseLabels } from '../deploy/labels.js';
import { renderAppDefinition } from '../marathon/definition.js';
import { deployMarathon } from '../marathon/deploy.js';
import type { Summary } from '../platform/summary.js';
import type { Logger, Platform } from '../platform/types.js';
import {
  checkReleaseId,
  ledgerResultOf,
  parseLedgerLocation,
  recordOutcome,
  releaseIdFor,
} from './ledger.js';
import type { VerifyOutcome } from './verify.js';
import {
  defaultRenderedPath,
  marathonAuthFromInputs,
  parseMarathonClusters,
  readAppDefinitionFile,
  writeRenderedDefinition,
} from './marathon.js';
import {
  fillMarathonSummary,
  marathonFailureLine,
  marathonHeadline,
  marathonOutputs,
} from './marathon-report.js';

/** The inputs deploy-marathon declares, as its `main` receives them. */
export interface MarathonInputValues {
  'marathon-url': string[];
  /** Required by deploy-marathon's declaration; optional in rollback's (which serves Kubernetes too). */
  'app-definition'?: string;
  image?: string;
  digest?: string;
  'allow-mutable-tag': boolean;
  'force-pull-image'?: boolean;
  'app-id'?: string;
  instances?: number;
  env: Record<string, string>;
  labels: Record<string, string>;
  vars: Record<string, string>;
  'release-id'?: string;
  'cluster-order': string;
  timeout: number;
  'lock-timeout': number;
  force: boolean;
  'failure-threshold': number;
  rollback: string;
  'rollback-timeout': number;
  'poll-interval': number;
  'rendered-file'?: string;
  'dry-run': boolean;
  'marathon-user'?: string;
  'marathon-password'?: string;
  'marathon-token'?: string;
  'service-account-id'?: string;
  'service-account-key'?: string;
  'login-url'?: string;
  insecure: boolean;
  environment?: string;
  ledger?: string;
  'ledger-token'?: string;
  verify?: string;
}

export interface MarathonContext {
  platform: Platform;
  log: Logger;
  signal: AbortSignal;
  summary: Summary;
  setOutput(name: string, value: string | number | boolean): void;
}

/** What the ledger entry of this run says besides the outcome. */
export interface MarathonRelease {
  event: 'deploy' | 'rollback';
  of?: string;
  to?: string;
  forced?: boolean;
}

export async function runDeployMarathon(
  ctx: MarathonContext,
  inputs: MarathonInputValues,
  release: MarathonRelease = { event: 'deploy' },
): Promise<number> {
  const { log, signal, summary, setOutput, platform } = ctx;
  // Edge validation: everything is checked before any request.
  const ledger = parseLedgerLocation(inputs, platform.env);
  const releaseId = releaseIdFor(checkReleaseId(inputs['release-id']), ledger);
  const verifyPlan = inputs.verify
    ? await (await import('./verify.js')).prepareVerify(inputs.verify, { platform, vars: inputs.vars })
    : undefined;
  let verified: VerifyOutcome | undefined;
  if (inputs['marathon-url'].length === 0)
    throw new InputError(
      'marathon-url',
      'is required to deploy to Marathon; expected one or more Marathon URLs.',
    );
  if (!inputs['app-definition'])
    throw new InputError(
      'app-definition',
      'is required to deploy to Marathon; expected the app definition file.',
    );
  const clusters = parseMarathonClusters(inputs['marathon-url']);
  const auth = marathonAuthFromInputs({
    user: inputs['marathon-user'],
    password: inputs['marathon-password'],
    token: inputs['marathon-token'],
    serviceAccountId: inputs['service-account-id'],
    serviceAccountKey: inputs['service-account-key'],
    loginUrl: inputs['login-url'],
  });
  const file = readAppDefinitionFile(inputs['app-definition'], platform.workspace);
  for (const w of file.warnings) log.warning(w);
  const rendered = renderAppDefinition(file.definition, {
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
    ...(inputs.verify
      ? { varsUsedElsewhere: (await import('./verify.js')).varsUsedBy(inputs.verify, platform.workspace) }
      : {}),
    kilnLabels: releaseLabels(platform.ci(), releaseId),
  });
  for (const w of rendered.warnings) log.warning(w);
  for (const n of rendered.notes) log.info(n);
  if (inputs.insecure) log.warning('TLS certificate verification is off (insecure: true).');

  const renderedFile =
    inputs['rendered-file'] ??
    defaultRenderedPath(platform.kind, platform.env, platform.workspace, rendered.id);
  writeRenderedDefinition(renderedFile, rendered);
  setOutput('rendered-file', renderedFile);
  setOutput('image', rendered.image);
  log.info(
    `Deploying ${rendered.id} (image ${rendered.image}) to ${clusters.map((c) => c.name).join(', ')}` +
      `${clusters.length > 1 ? ` (${inputs['cluster-order']})` : ''}; rendered definition: ${renderedFile}.`,
  );

  const report = await deployMarathon({
    clusters,
    auth,
    insecure: inputs.insecure,
    app: rendered,
    clusterOrder: inputs['cluster-order'] as 'sequential' | 'parallel',
    timeoutMs: inputs.timeout,
    lockTimeoutMs: inputs['lock-timeout'],
    force: inputs.force,
    failureThreshold: inputs['failure-threshold'],
    rollback: inputs.rollback as 'auto' | 'none',
    rollbackTimeoutMs: inputs['rollback-timeout'],
    pollIntervalMs: inputs['poll-interval'],
    dryRun: inputs['dry-run'],
    log,
    registerSecret: (v) => platform.setSecret(v),
    signal,
    env: platform.env,
    ...(verifyPlan
      ? {
          verify: async () => {
            const { runVerify } = await import('./verify.js');
            verified = await runVerify(verifyPlan, { platform, log, signal, vars: inputs.vars });
            return { ok: verified.verdict === 'passed', reason: `${verified.verdict} — ${verified.reason}` };
          },
        }
      : {}),
  });

  if (verified) setOutput('verdict', verified.verdict);
  const outputs = marathonOutputs(report);
  for (const [name, value] of Object.entries(outputs)) setOutput(name, value as string);
  fillMarathonSummary(summary, report, {
    clusterOrder: inputs['cluster-order'] as 'sequential' | 'parallel',
  });

  // Recorded when an environment is given.
  const outcome = ledgerResultOf(report.result, release.event);
  const recorded = outcome
    ? await recordOutcome({
        settings: { ...inputs, ...(releaseId ? { 'release-id': releaseId } : {}) },
        releaseIdGenerated: !inputs['release-id'],
        location: ledger,
        platform,
        log,
        signal,
        event: release.event,
        result: outcome,
        image: rendered.image,
        previous: report.clusters.find((c) => c.previousImage)?.previousImage,
        target: {
          platform: 'marathon',
          clusters: report.clusters.map((c) => c.url),
          apps: [...new Set(report.clusters.map((c) => c.appId))],
        },
        ...(release.of ? { of: release.of } : {}),
        ...(release.to ? { to: release.to } : {}),
        ...(release.forced ? { forced: true } : {}),
        ...(verified ? { verdict: verified.verdict } : {}),
        setOutput,
      })
    : true;

  switch (report.result) {
    case 'deployed':
    case 'unchanged':
      log.info(`deploy-marathon: ${marathonHeadline(report).text}.`);
      return recorded ? EXIT_CODES.ok : EXIT_CODES.failed;
    case 'dry-run':
      log.info(`dry-run: nothing was submitted; rendered definition in ${renderedFile}.`);
      return EXIT_CODES.ok;
    case 'cancelled':
      for (const c of report.clusters)
        log.warning(`${c.name}: ${c.stateText ?? `${c.result}${c.reason ? ` (${c.reason})` : ''}`}`);
      return EXIT_CODES.failed;
    default: {
      // The run's one error line (on GitHub its one annotation): the clusters' own lines above are plain.
      log.error(marathonFailureLine(report));
      // Credentials Marathon refused are a setting to fix, like a bad input (nothing was deployed).
      const failedOn = report.clusters.filter((c) => c.result === 'failed');
      return failedOn.length > 0 && failedOn.every((c) => c.failureKind === 'credentials')
        ? EXIT_CODES.badInput
        : EXIT_CODES.failed;
    }
  }
}
