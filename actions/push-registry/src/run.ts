/**
 * push-registry's work, loaded by its `main` (action.ts) when it runs: read the source (local files or a registry),
 * then push by digest with @kiln/core's `pushImage` under the shared copy-runner (one deadline, outputs, summary).
 */
import {
  ConfigurationError,
  formatReference,
  InputError,
  localImageSource,
  openImageSource,
  pushImage,
  registrySource,
  type ContextOf,
  type ImageContentSource,
  type ImageSource,
  registryAction,
} from '@kiln/core';
import { classifySource } from './source.js';
import type { spec } from './action.js';
const { expandDestinations, parseTags } = registryAction;

export async function main(ctx: ContextOf<typeof spec>): Promise<number | void> {
  const { inputs, log, signal, summary, setOutput, platform } = ctx;
  // Everything is validated before the first request.
  const source = classifySource(inputs.source, platform.workspace);
  if (source.kind === 'registry' && source.ref.digest !== undefined)
    registryAction.requireVerifiableDigest(source.ref.digest, 'source');
  registryAction.parseInsecureRegistries(inputs['insecure-registries']);
  const tags = parseTags(inputs.tags);
  let destinations = inputs.destinations;
  if (destinations.length === 0) {
    const ciImage = platform.kind === 'gitlab' ? platform.env.CI_REGISTRY_IMAGE : undefined;
    if (!ciImage)
      throw new InputError(
        'destinations',
        "is required; expected one or more image references such as 'ghcr.io/org/app' (with `tags`) or 'ghcr.io/org/app:1.2.3'.",
      );
    log.info(`No destinations given: pushing to $CI_REGISTRY_IMAGE (${ciImage}).`);
    destinations = [ciImage];
  }
  const defaultTag =
    source.kind === 'registry' ? (source.ref.tag ?? (source.ref.digest ? undefined : 'latest')) : undefined;
  const dsts = expandDestinations(destinations, tags, { inputName: 'destinations', defaultTag });
  if (source.kind === 'local' && (inputs['source-username'] || inputs['source-password']))
    log.warning('source-username/source-password are not used: the source is a local image.');
  const dryRun = inputs['dry-run'];

  let image: ImageSource | undefined;
  const result = await registryAction.runCopy(
    { platform, log, signal, summary, setOutput },
    {
      action: 'push-registry',
      inputs,
      registries: {
        source: source.kind === 'registry' ? source.ref.registry : undefined,
        destinations: dsts.map((d) => d.registry),
      },
      copy: async (client, deadlineSignal) => {
        let content: ImageContentSource;
        if (source.kind === 'registry') content = registrySource(client, source.ref);
        else {
          try {
            image = await openImageSource(source.spec, { logger: log });
          } catch (e) {
            throw e instanceof ConfigurationError ? new InputError('source', e.message) : e;
          }
          content = localImageSource(image);
        }
        log.info(
          `${dryRun ? 'Dry run: planning the push of' : 'Pushing'} ${content.display} to ${dsts.map(formatReference).join(', ')}.`,
        );
        return pushImage(content, dsts, {
          client,
          allowOverwrite: inputs['allow-overwrite'],
          dryRun,
          signal: deadlineSignal,
        });
      },
      close: async () => {
        await image?.close();
      },
    },
  );
  setOutput(
    'bytes-uploaded',
    result.destinations.reduce((n, d) => n + d.bytesUploaded, 0),
  );
  if (!dryRun) setOutput('tags', registryAction.taggedRefs(result).join('\n'));
  return 0;
}
