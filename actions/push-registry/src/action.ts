/**
 * push-registry: push an image a builder wrote (an OCI layout directory, an OCI or docker archive) or an image in
 * another registry to one or more registries and tags at once, by digest, skipping what is already there.
 * The declaration below is the single source of the action's inputs and outputs; the protocol work is
 * @kiln/core's registry client and copy engine.
 */
import { defineAction, defineActionRunner, registryInputs, registryOutputs } from '@kiln/core/start';

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
    ...registryOutputs('destination', 'pushed'),
    tags: {
      type: 'list',
      description:
        'Every tagged reference that now holds the digest (`registry/repository:tag`), one per line (empty in a dry run).',
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

export { classifySource, type PushSource } from './source.js';

export const action = defineActionRunner({
  spec,
  // The work is in run.ts, loaded when the action runs (image readers, registry engine, HTTP), not at start.
  main: async (ctx) => (await import('./run.js')).main(ctx),
});
