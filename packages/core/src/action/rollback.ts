/**
 * The rollback action's run: read the environment's ledger, list its recent releases (`list`), or resolve `to`
 * (`previous`, a release id, a digest) to an earlier release that passed verification, check its image still exists
 * in the registry (a HEAD, before touching the platform), deploy that exact digest with the deploy engine
 * (deploy-k8s's or deploy-marathon's: same inputs, same wait, same automatic rollback if it fails), and record a
 * `rollback` entry "of X to Y". No approval gate on this path (Argo Rollouts' fast-rollback idea): add an
 * environment with reviewers to the job if you want one. Every phase's time is reported (ledger, registry, deploy).
 */
import { ConfigurationError, EXIT_CODES, InputError } from '../errors.js';
import type { LedgerEntry } from '../ledger/entry.js';
import {
  newestFirst,
  releaseOf,
  resolveRollback,
  RollbackRefused,
  unfitReason,
  verdictOf,
} from '../ledger/history.js';
import { Summary } from '../platform/summary.js';
import type { RegistryClient } from '../registry/client.js';
import type { Logger, Platform } from '../platform/types.js';
import { formatDuration } from '../util/duration.js';
import { deployK8s, type KubeInputValues } from './kube.js';
import {
  checkReleaseId,
  LEDGER_TIMEOUT_MS,
  ledgerRegistryClient,
  openLedger,
  parseLedgerLocation,
  repositoryRef,
  splitPinned,
} from './ledger.js';
import { runDeployMarathon, type MarathonInputValues } from './marathon-deploy.js';

type Given = 'manifests' | 'images' | 'allow-mutable-tag' | 'digest';
export type RollbackInputValues = Omit<KubeInputValues, Given> &
  Omit<MarathonInputValues, 'marathon-url' | 'force' | Given> & {
    manifests: string[];
    'marathon-url': string[];
    environment?: string;
    to: string;
    list: boolean;
    force: boolean;
    orchestrator?: 'marathon' | 'kubernetes';
  };

export interface RollbackContext {
  platform: Platform;
  log: Logger;
  signal: AbortSignal;
  summary: Summary;
  setOutput(name: string, value: string | number | boolean): void;
}

/** The platform the inputs name: `platform`, else the one whose inputs are given. */
function platformOf(inputs: RollbackInputValues): 'marathon' | 'kubernetes' | undefined {
  if (inputs.orchestrator) return inputs.orchestrator;
  const k8s = inputs.manifests.length > 0;
  const marathon = inputs['marathon-url'].length > 0;
  if (k8s && marathon)
    throw new InputError(
      'orchestrator',
      'is needed: both manifests and marathon-url are given; expected kubernetes or marathon.',
    );
  return k8s ? 'kubernetes' : marathon ? 'marathon' : undefined;
}

export async function runRollback(ctx: RollbackContext, inputs: RollbackInputValues): Promise<number> {
  const { platform, log, signal } = ctx;
  const started = Date.now();
  // Everything local is checked before the first request.
  const environment = inputs.environment;
  if (!environment)
    throw new InputError(
      'environment',
      'is required: the environment whose ledger says what to roll back to.',
    );
  const target = platformOf(inputs);
  if (!inputs.list && !target)
    throw new InputError(
      'orchestrator',
      'is needed to roll back: give manifests (Kubernetes) or marathon-url and app-definition (Marathon).',
    );
  const location = parseLedgerLocation(inputs, platform.env);
  if (location.kind === 'none')
    throw new InputError('ledger', 'none: rollback reads the ledger; expected where releases are recorded.');
  checkReleaseId(inputs['release-id']);
  const imageRepository = inputs.image ? splitPinned(inputs.image).repository : undefined;

  const call = { signal, deadline: Date.now() + LEDGER_TIMEOUT_MS };
  // One registry client for a registry ledger and the image check: one token handshake with the registry.
  const clientOptions = { platform, log, signal, deadline: call.deadline };
  const client =
    location.kind === 'registry' || location.kind === 'gitlab'
      ? await ledgerRegistryClient(clientOptions)
      : undefined;
  const backend = await openLedger(location, inputs, {
    platform,
    log,
    signal,
    deadline: call.deadline,
    ...(client ? { client } : {}),
    ...(imageRepository ? { imageRepository } : {}),
  });
  if (!backend) throw new InputError('ledger', 'none: rollback reads the ledger.');
  // A ledger several apps share (a file, oci://…): only this image's releases, when it is named.
  // An environment on two platforms (QA on Marathon and Kubernetes): only what ran on the one rolled back, when
  // it is known; verdicts and promotes name no platform and count for both.
  const entries = newestFirst(await backend.list(environment, { ...call, limit: 100 })).filter(
    (e) =>
      (!imageRepository || e.image === imageRepository) &&
      (!target || !e.target || e.target.platform === target),
  );
  const ledgerMs = Date.now() - started;
  log.info(
    `ledger: ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} for ${environment} in ${backend.location} (${formatDuration(ledgerMs)}).`,
  );

  if (inputs.list) {
    listReleases(ctx, environment, entries);
    return EXIT_CODES.ok;
  }

  let chosen;
  try {
    chosen = resolveRollback(environment, entries, inputs.to, { force: inputs.force });
  } catch (e) {
    if (e instanceof RollbackRefused) refuse(ctx, `${e.message} Nothing was changed.`);
    throw e;
  }
  const { entry, from } = chosen;
  // What ran: a release, or a rollback to one — that release is what is rolled back from.
  const fromRelease = from ? releaseOf(entries, from) : undefined;
  const pinned = `${entry.image}@${entry.digest}`;
  if (chosen.forced)
    log.warning(
      `force: release ${entry.id} ${chosen.verdict ? `failed verification (${chosen.verdict})` : 'was never verified'} in ${environment}; rolling back to it anyway (recorded as forced).`,
    );
  log.info(
    `Rolling ${environment} back${fromRelease ? ` from ${fromRelease.id} (${fromRelease.digest})` : ''} to ${entry.id}: ${pinned}.`,
  );

  // The image must still exist: checked before the platform is touched.
  const registryStarted = Date.now();
  await checkImageExists(ctx, client ?? (await ledgerRegistryClient(clientOptions)), pinned, entry);
  const registryMs = Date.now() - registryStarted;

  const deploySummary = new Summary();
  // The deploy engine's outputs that rollback declares too; its other outputs are its summary's business.
  const passed = new Set(['release-id', 'verdict']);
  const deployCtx = {
    ...ctx,
    summary: deploySummary,
    setOutput: (name: string, value: string | number | boolean) => {
      if (passed.has(name)) ctx.setOutput(name, value);
    },
  };
  const release = {
    event: 'rollback' as const,
    ...(fromRelease ? { of: fromRelease.id } : {}),
    to: entry.id,
    ...(chosen.forced ? { forced: true } : {}),
  };
  const deployStarted = Date.now();
  const code =
    target === 'kubernetes'
      ? await deployK8s(
          deployCtx,
          {
            ...inputs,
            images: [],
            image: entry.image,
            digest: entry.digest,
            'allow-mutable-tag': false,
            strategy: 'rolling',
            action: 'deploy',
          },
          release,
        )
      : await runDeployMarathon(
          deployCtx,
          { ...inputs, force: false, image: entry.image, digest: entry.digest, 'allow-mutable-tag': false },
          release,
        );
  const deployMs = Date.now() - deployStarted;

  const ok = code === EXIT_CODES.ok;
  ctx.setOutput('result', ok ? (inputs['dry-run'] ? 'dry-run' : 'rolled-back') : 'failed');
  ctx.setOutput('to-release', entry.id);
  ctx.setOutput('to-digest', entry.digest);
  ctx.setOutput('from-release', fromRelease?.id ?? '');
  ctx.setOutput('from-digest', fromRelease?.digest ?? '');
  const timing = `ledger ${formatDuration(ledgerMs)}, registry ${formatDuration(registryMs)}, deploy and wait ${formatDuration(deployMs)}`;
  ctx.summary.heading(
    `${ok ? '↩️' : '❌'} ${environment} ${ok ? (inputs['dry-run'] ? 'rollback checked (dry run)' : 'rolled back') : 'rollback failed'}${fromRelease ? ` from ${fromRelease.id}` : ''} to ${entry.id} in ${formatDuration(Date.now() - started)}`,
  );
  ctx.summary.paragraph(
    `${ok ? 'Now runs' : 'Tried to deploy'} ${pinned}${chosen.forced ? ' — forced past the verification gate' : ''}. Time: ${timing}.`,
  );
  ctx.summary.details('The deploy', (s) => s.append(deploySummary));
  log.info(`rollback: ${ok ? 'done' : 'failed'} in ${formatDuration(Date.now() - started)} (${timing}).`);
  return code;
}

/** HEAD `image@digest` in its registry: refused (exit 2, nothing changed) when it is gone. */
async function checkImageExists(
  ctx: RollbackContext,
  client: RegistryClient,
  pinned: string,
  entry: LedgerEntry,
): Promise<void> {
  const { RegistryError } = await import('../registry/errors.js');
  let head;
  try {
    head = await client.headManifest(repositoryRef(entry.image), entry.digest);
  } catch (e) {
    if (e instanceof RegistryError && (e.kind === 'auth' || e.kind === 'denied'))
      refuse(ctx, `cannot check ${pinned} in the registry: ${e.message}. Nothing was changed.`);
    throw e;
  }
  if (!head)
    refuse(
      ctx,
      `${pinned} (release ${entry.id}) is no longer in the registry; name another release with to. Nothing was changed.`,
    );
}

/** A refused rollback: `result=refused`, the summary says why, one error line (exit 2); nothing was changed. */
function refuse(ctx: RollbackContext, why: string): never {
  ctx.setOutput('result', 'refused');
  ctx.summary.heading(`⛔ rollback refused: ${why}`);
  throw new ConfigurationError(`rollback refused: ${why}`);
}

/** `list: true`: the recent releases of the environment, as a person reads them before choosing. */
function listReleases(ctx: RollbackContext, environment: string, entries: LedgerEntry[]): void {
  const releases = entries.filter((e) => e.event !== 'verify').slice(0, 20);
  const running = releases.find(
    (e) => (e.event === 'deploy' || e.event === 'rollback') && e.result === 'success',
  );
  const rows = releases.map((e) => [
    `${e.id}${e === running ? ' (running)' : ''}`,
    e.time.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'),
    `${e.event}${e.event === 'rollback' && e.to ? ` to ${e.to}` : ''}: ${e.result}${e.forced ? ' (forced)' : ''}`,
    verdictOf(entries, e.digest) ?? 'not verified',
    `${e.digest.slice(0, 19)}…${unfitReason(entries, e) && e.event !== 'promote' ? ' ✗' : ''}`,
  ]);
  ctx.summary.heading(
    `📜 ${environment}: ${releases.length} recent release(s)${running ? `; ${running.id} runs now` : ''}`,
  );
  ctx.summary.table(['Release', 'When', 'What', 'Verification', 'Digest'], rows);
  ctx.summary.paragraph(
    'Roll back with `to: previous`, a release id, or a digest; ✗ marks releases `previous` skips.',
  );
  ctx.setOutput('result', 'listed');
  ctx.setOutput('releases', JSON.stringify(releases));
}
