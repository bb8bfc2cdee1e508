/**
 * promote's work, loaded by its `main` (action.ts) when it runs: validate the references, then copy by digest with
 * @kiln/core's `copyImage` under the shared copy-runner (one deadline, outputs, summary).
 */
import {
  copyImage,
  formatReference,
  InputError,
  isDigest,
  parseImageReference,
  repositoryName,
  registryAction,
  type ContextOf,
} from '@kiln/core';
import type { spec } from './action.js';
const { expandDestinations, parseTags } = registryAction;

export async function main(ctx: ContextOf<typeof spec>): Promise<number | void> {
  const { inputs, log, signal, summary, setOutput, platform } = ctx;
  // Everything is validated before the first request.
  const source = parseImageReference(inputs.source, { inputName: 'source' });
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
  const tags = parseTags(inputs.tags);
  if (inputs.targets.length === 0 && tags.length === 0)
    throw new InputError(
      'targets',
      'is required unless tags is given; expected target references (e.g. ghcr.io/org/app:1.4.2) or tags for the source repository.',
    );
  const defaultTag = source.tag ?? (source.digest ? undefined : 'latest');
  const dsts = expandDestinations(
    inputs.targets.length > 0 ? inputs.targets : [repositoryName(source)],
    tags,
    { inputName: 'targets', defaultTag },
  );
  const dryRun = inputs['dry-run'];

  const result = await registryAction.runCopy(
    { platform, log, signal, summary, setOutput },
    {
      action: 'promote',
      inputs,
      registries: { source: source.registry, destinations: dsts.map((d) => d.registry) },
      referrers: inputs.referrers,
      copy: (client, deadlineSignal) => {
        log.info(
          `${dryRun ? 'Dry run: planning the promotion of' : 'Promoting'} ${formatReference(source)}${expected ? ` (expected ${expected})` : ''} to ${dsts.map(formatReference).join(', ')}.`,
        );
        return copyImage(source, dsts, {
          client,
          expectedDigest: expected,
          allowOverwrite: inputs['allow-overwrite'],
          dryRun,
          referrers: inputs.referrers,
          signal: deadlineSignal,
        });
      },
    },
  );
  if (!dryRun) setOutput('promoted', result.destinations.map((d) => d.ref).join('\n'));
  return 0;
}
