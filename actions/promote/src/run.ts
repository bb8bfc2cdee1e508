/**
 * promote's work, loaded by its `main` (action.ts) when it runs: validate the references and the ledger inputs,
 * then copy by digest with @kiln/core's `pushImage` under the shared copy-runner (one deadline, outputs, summary).
 * With `require-verified`, the digest the source resolves to must have passed verification in that environment's
 * ledger before anything is written (`force` overrides); `…@last-verified` takes the newest digest that passed
 * there; with `environment`, a `promote` entry is recorded after the copy (registryAction's ledger glue).
 */
import {
  EXIT_CODES,
  formatReference,
  InputError,
  isDigest,
  parseImageReference,
  pushImage,
  registryAction,
  registrySource,
  repositoryName,
  withDigest,
  type ContextOf,
  type CopyResult,
  type ImageContentSource,
  type ImageReference,
} from '@kiln/core';
import type { spec } from './action.js';
const { expandDestinations, parseTags } = registryAction;

export async function main(ctx: ContextOf<typeof spec>): Promise<number | void> {
  const { inputs, log, signal, summary, setOutput, platform } = ctx;
  // Everything is validated before the first request.
  const lastVerifiedOf = registryAction.parseLastVerifiedSource(inputs.source);
  const source = lastVerifiedOf ?? parseImageReference(inputs.source, { inputName: 'source' });
  const expected = inputs['expected-digest'];
  if (expected !== undefined && !isDigest(expected))
    throw new InputError(
      'expected-digest',
      `${JSON.stringify(expected)} is not a digest; expected sha256:<64 lowercase hex characters>.`,
    );
  if (expected !== undefined) registryAction.requireVerifiableDigest(expected, 'expected-digest');
  if (source.digest !== undefined) registryAction.requireVerifiableDigest(source.digest, 'source');
  registryAction.parseInsecureRegistries(inputs['insecure-registries']);
  if (expected !== undefined && source.digest !== undefined && source.digest !== expected)
    throw new InputError(
      'expected-digest',
      `is ${expected}, but source names ${source.digest}; give the tag as source to check that it still points to the tested digest.`,
    );
  const ledger = registryAction.planPromoteLedger(inputs, platform.env, {
    lastVerified: lastVerifiedOf !== undefined,
    ...(expected !== undefined ? { expectedDigest: expected } : {}),
  });
  const tags = parseTags(inputs.tags);
  if (inputs.targets.length === 0 && tags.length === 0)
    throw new InputError(
      'targets',
      'is required unless tags is given; expected target references (e.g. ghcr.io/org/app:1.4.2) or tags for the source repository.',
    );
  // A source chosen from the ledger is copied by digest: targets without a tag get `tags`, else only the digest.
  const defaultTag = lastVerifiedOf ? undefined : (source.tag ?? (source.digest ? undefined : 'latest'));
  const dsts = expandDestinations(
    inputs.targets.length > 0 ? inputs.targets : [repositoryName(source)],
    tags,
    { inputName: 'targets', defaultTag },
  );
  const dryRun = inputs['dry-run'];
  const registries = { source: source.registry, destinations: dsts.map((d) => d.registry) };

  /** The source as copied (`…@last-verified` resolved to its digest). */
  let copied: ImageReference = source;
  let verification: registryAction.Verification | undefined;
  /** The digest being promoted, once it passed the gate (or there is none): from here a failure is recorded. */
  let promoting: string | undefined;
  const deadline = Date.now() + inputs.timeout;

  const copy = async (client: Parameters<registryAction.CopyRun['copy']>[0], deadlineSignal: AbortSignal) => {
    const io = { client, platform, log, signal: deadlineSignal, deadline };
    // The verdicts are read while the source is resolved (the gate waits for both).
    const gate = ledger.gate ? registryAction.readGate(ledger, repositoryName(source), io) : undefined;
    gate?.catch(() => undefined); // awaited below; a failure there, not an unhandled rejection here
    if (lastVerifiedOf && gate) {
      const read = await gate;
      const entry = registryAction.chooseLastVerified(read, repositoryName(source));
      registryAction.requireVerifiableDigest(entry.digest, 'source');
      copied = withDigest(source, entry.digest);
      log.info(
        `The newest digest of ${repositoryName(source)} that passed verification in ${read.environment} is ${entry.digest} (${entry.event} ${entry.id}, ${entry.time}; ledger ${read.where}).`,
      );
    }
    log.info(
      `${dryRun ? 'Dry run: planning the promotion of' : 'Promoting'} ${formatReference(copied)}${expected ? ` (expected ${expected})` : ''} to ${dsts.map(formatReference).join(', ')}.`,
    );
    const registryImage = registrySource(client, copied);
    const gated: ImageContentSource = {
      ...registryImage,
      // The gate judges the exact manifest that is copied, before anything is written.
      resolve: async (c) => {
        const root = await registryImage.resolve(c);
        // A source that moved away from expected-digest is refused by the copy (the moved digest is not judged).
        if (expected !== undefined && root.digest !== expected) return root;
        if (gate) {
          verification = registryAction.checkVerified(await gate, root.digest, formatReference(copied));
          if (verification.forced)
            log.warning(
              `require-verified overridden (force): ${root.digest} ${registryAction.verdictPhrase(verification)} (ledger ${verification.where}); promoting it anyway.`,
            );
          else
            log.info(
              `require-verified: ${root.digest} ${registryAction.verdictPhrase(verification)} (ledger ${verification.where}).`,
            );
        }
        promoting = root.digest;
        return root;
      },
    };
    return pushImage(gated, dsts, {
      client,
      ...(expected !== undefined ? { expectedDigest: expected } : {}),
      allowOverwrite: inputs['allow-overwrite'],
      dryRun,
      referrers: inputs.referrers,
      signal: deadlineSignal,
    });
  };

  /** Records the promote entry (not for a dry run, nor before the gate passed). */
  const record = async (
    result: 'success' | 'failure',
    copyResult?: CopyResult,
  ): Promise<registryAction.RecordOutcome> => {
    if (!ledger.record || dryRun || promoting === undefined) return { status: 'skipped' };
    const first = dsts[0] as ImageReference;
    const client = registryAction.createRegistryClient(
      inputs,
      { platform, log, signal, deadline: Date.now() + registryAction.LEDGER_TIMEOUT_MS },
      registries,
    );
    const v = verification;
    return registryAction.recordPromote(
      ledger,
      { client, platform, log, signal, setOutput },
      {
        image: repositoryName(first),
        digest: promoting,
        result,
        targets: copyResult ? copyResult.destinations.map((d) => d.ref) : dsts.map(formatReference),
        ...(copyResult?.destinations[0]?.previousDigest
          ? { previousDigest: copyResult.destinations[0].previousDigest }
          : {}),
        ...(v?.forced ? { forced: true } : {}),
        description: `from ${formatReference(copied)}${v ? (v.forced ? `, forced: ${registryAction.verdictPhrase(v)}` : `, verified in ${v.environment}`) : ''}`,
      },
    );
  };

  let result: CopyResult;
  try {
    result = await registryAction.runCopy(
      { platform, log, signal, summary, setOutput },
      { action: 'promote', inputs, registries, referrers: inputs.referrers, copy },
    );
  } catch (e) {
    await record('failure');
    throw e;
  }
  if (!dryRun) setOutput('promoted', result.destinations.map((d) => d.ref).join('\n'));
  if (verification)
    summary.paragraph(
      verification.forced
        ? `⚠️ Verification gate overridden (force): ${verification.digest} ${registryAction.verdictPhrase(verification)} (ledger ${verification.where}).`
        : `Verified: ${verification.digest} ${registryAction.verdictPhrase(verification)} (ledger ${verification.where}).`,
    );
  const recorded = await record('success', result);
  if (recorded.status === 'recorded')
    summary.paragraph(
      `Recorded in ${recorded.entry.environment}: promote ${recorded.entry.id} (ledger ${recorded.where}).`,
    );
  return recorded.status === 'failed' ? EXIT_CODES.failed : EXIT_CODES.ok;
}
