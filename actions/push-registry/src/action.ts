/**
 * push-registry: push an image a builder wrote (an OCI layout directory, an OCI or docker archive) or an image in
 * another registry to one or more registries and tags at once, by digest, skipping what is already there.
 * The declaration below is the single source of the action's inputs and outputs; the protocol work is
 * @kiln/core's registry client and copy engine.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ConfigurationError,
  defineAction,
  defineActionRunner,
  errorMessage,
  formatReference,
  InputError,
  localImageSource,
  openImageSource,
  parseImageReference,
  parseImageSourceSpec,
  pushImage,
  registrySource,
  type ImageContentSource,
  type ImageReference,
  type ImageSource,
  registryAction,
} from '@kiln/core';
const { expandDestinations, parseTags, registryInputs } = registryAction;

export const spec = defineAction({
  name: 'push-registry',
  title: 'Kiln push-registry',
  description:
    'Push an image (OCI layout, OCI or docker archive, or an image in another registry) to one or more registries and tags by digest; skip what is there, never rewrite an identical tag.',
  branding: { icon: 'upload', color: 'orange' },
  inputs: {
    source: {
      type: 'string',
      required: true,
      placeholder: 'image source',
      description:
        'What to push: an OCI layout directory (`oci:<dir>[:<ref>]` or a path), an OCI archive (`oci-archive:<file>[:<ref>]`), a docker archive (`docker-archive:<file>[:<name:tag>]`), or an image in a registry (`docker://<ref>`, or a reference that is not a file in the workspace). Archives are detected by content.',
    },
    destinations: {
      type: 'list',
      placeholder: 'references',
      description:
        'Where to push: image references, one per line or comma-separated, on one or several registries (`harbor.example.com/team/app`, `ghcr.io/org/app:1.2.3`). A reference with a tag keeps it. Default on GitLab: `$CI_REGISTRY_IMAGE`.',
    },
    tags: {
      type: 'list',
      placeholder: 'tags',
      description:
        "Tags given at every destination repository (e.g. `1.2.3, latest`, or docker/metadata-action's `version`). A destination without a tag and without `tags` is pushed by digest only.",
    },
    'allow-overwrite': {
      type: 'boolean',
      default: 'true',
      description:
        'Move a tag that points to another digest (what `docker push` does to `latest`). `false` refuses, before anything is written, to move any existing tag: for release tags.',
    },
    'dry-run': {
      type: 'boolean',
      default: 'false',
      description:
        'Read the source and the destinations, report what would be uploaded and tagged, write nothing.',
    },
    ...registryInputs('destination'),
  },
  outputs: {
    digest: {
      description: 'Digest of the pushed manifest or index (`sha256:…`): the same at every destination.',
    },
    image: {
      type: 'list',
      description:
        '`registry/repository@digest` of each destination repository, one per line: what to deploy (empty in a dry run).',
    },
    tags: {
      type: 'list',
      description:
        'Every tagged reference that now holds the digest (`registry/repository:tag`), one per line (empty in a dry run).',
    },
    platforms: {
      type: 'list',
      separator: ',',
      description:
        'Platforms of a multi-arch index, comma-separated (`linux/amd64,linux/arm64`); empty for one image.',
    },
    result: {
      description:
        '`pushed` (something was written), `unchanged` (every destination already held the digest) or `dry-run`.',
    },
    'bytes-uploaded': {
      type: 'number',
      description: 'Blob bytes uploaded over all destinations (would be, in a dry run).',
    },
    results: {
      type: 'json',
      description:
        'JSON array, one object per destination: ref, action, previousDigest, mounted, uploaded, skipped, bytes, requests.',
    },
  },
});

/** Where the image comes from: local files (a spec for openImageSource) or a registry. */
export type PushSource = { kind: 'local'; spec: string } | { kind: 'registry'; ref: ImageReference };

const UNSUPPORTED_TRANSPORT = /^(docker-daemon|containers-storage|dir|ostree|sif|tarball|atomic):/;

/**
 * Reads the `source` input: a transport prefix decides (`oci:`, `oci-archive:`, `docker-archive:`, `docker://`);
 * otherwise a value that looks like a path (starts with `/`, `./`, `../`, ends in `.tar`/`.tgz`/`.tar.gz`) or names
 * something in the workspace is local, and anything else must be an image reference. Relative paths are
 * resolved against the workspace.
 */
export function classifySource(value: string, workspace: string): PushSource {
  const v = value.trim();
  if (v.startsWith('docker://'))
    return {
      kind: 'registry',
      ref: parseImageReference(v.slice('docker://'.length), { inputName: 'source' }),
    };
  const other = UNSUPPORTED_TRANSPORT.exec(v);
  if (other)
    throw new InputError(
      'source',
      `the '${other[1]}:' transport is not supported; export the image first (\`docker save -o app.tar app:1\` → docker-archive:app.tar, or build with \`--output type=oci,dest=…\`) or push it from a registry with docker://.`,
    );
  let parsed;
  try {
    parsed = parseImageSourceSpec(v);
  } catch (e) {
    throw new InputError('source', errorMessage(e));
  }
  if (parsed.transport !== 'path') {
    const path = resolve(workspace, parsed.path);
    return { kind: 'local', spec: `${parsed.transport}:${path}${parsed.ref ? `:${parsed.ref}` : ''}` };
  }
  const beforeColon = v.split(':')[0] ?? '';
  const local =
    /^(\/|\.\.?(\/|$))/.test(v) ||
    /\.(tar|tgz|tar\.gz)(:|$)/.test(v) ||
    existsSync(resolve(workspace, v)) ||
    (beforeColon !== '' && existsSync(resolve(workspace, beforeColon)));
  if (local) return { kind: 'local', spec: resolve(workspace, v) };
  return { kind: 'registry', ref: parseImageReference(v, { inputName: 'source' }) };
}

export const action = defineActionRunner({
  spec,
  async main({ inputs, log, signal, summary, setOutput, platform }) {
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
  },
});
