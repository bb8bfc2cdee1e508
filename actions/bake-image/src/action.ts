/**
 * bake-image: build an image once — with buildah, docker buildx, Kiln's own daemonless layer-append, or a VM image
 * with Packer — verify it from the inside before anything leaves the machine, and hand its digest to the next step.
 * The declaration below is the single source of the action's inputs and outputs; the work is @kiln/core's
 * `bake` namespace, glued in core's action/bake.ts.
 */
import { defineAction, defineActionRunner, registryInputs } from '@kiln/core/start';

const {
  username,
  password,
  'registry-auth': registryAuth,
  'docker-config': dockerConfig,
  'insecure-registries': insecureRegistries,
} = registryInputs('destination');

export const spec = defineAction({
  name: 'bake-image',
  title: 'Kiln bake-image',
  description:
    'Build an image once (buildah, docker buildx, layer-append on a base image, or Packer), verify it inside, and output its digest, tags and OCI labels for push, promote and deploy.',
  branding: { icon: 'package', color: 'orange' },
  inputs: {
    builder: {
      type: 'enum',
      values: ['auto', 'buildah', 'buildx', 'layer-append', 'packer'],
      default: 'auto',
      description:
        '`auto`: `buildx` when a Docker daemon answers, else `buildah` when installed, else `layer-append` (needs `base`); `packer` when `template` is given.',
    },
    context: {
      type: 'path',
      default: '.',
      description: 'buildah/buildx: the build context directory.',
    },
    file: {
      type: 'path',
      description:
        'buildah/buildx: the Containerfile or Dockerfile (default: `Containerfile` or `Dockerfile` in the context).',
    },
    target: { type: 'string', description: 'buildah/buildx: the stage of a multi-stage file to build.' },
    'build-args': { type: 'map', description: 'buildah/buildx: build arguments, one `NAME=value` per line.' },
    'secret-files': {
      type: 'map',
      description:
        'buildah/buildx: secrets mounted into `RUN --mount=type=secret,id=<id>` steps, one `id=path` per line; never written into a layer.',
    },
    secrets: {
      type: 'map',
      secret: true,
      description:
        'buildah/buildx: secret values, one `id=value` per line (masked); written to a private temp file for the build and removed after.',
    },
    platforms: {
      type: 'list',
      description:
        'Platforms to build (`linux/amd64,linux/arm64`): several make an index. layer-append: the platforms of a multi-arch base to keep (default: all).',
    },
    base: {
      type: 'string',
      placeholder: 'reference',
      description:
        'layer-append: the base image in a registry (`registry/repo:tag` or `@sha256:…`); its layers are mounted, never downloaded.',
    },
    layers: {
      type: 'list',
      commas: false,
      placeholder: 'path[:/dest]',
      description:
        'layer-append: the new layers, bottom first, one per line: a directory (`dist:/app`, default destination `/`) or a tarball (`.tar`, `.tar.gz`). Deterministic: sorted entries, fixed times and owners.',
    },
    env: {
      type: 'map',
      description: 'layer-append: environment variables set in the image config, `NAME=value` per line.',
    },
    entrypoint: {
      type: 'string',
      description:
        'layer-append: the entrypoint, a JSON array (`["/app/run","--serve"]`) or words split at spaces.',
    },
    cmd: { type: 'string', description: 'layer-append: the command, a JSON array or words split at spaces.' },
    workdir: { type: 'string', description: 'layer-append: the working directory.' },
    user: { type: 'string', description: 'layer-append: the user (`name`, `uid` or `uid:gid`).' },
    expose: { type: 'list', description: 'layer-append: exposed ports (`8080`, `8443/tcp`).' },
    template: { type: 'path', description: 'packer: the template (JSON; Debian ships Packer 1.6.6).' },
    'packer-vars': {
      type: 'map',
      description:
        'packer: template variables, `name=value` per line (visible in the process list: no secrets).',
    },
    only: { type: 'list', description: 'packer: only these builds (`-only`).' },
    repository: {
      type: 'string',
      placeholder: 'registry/repository',
      description:
        'Where the image is pushed, with every tag of `tags` (e.g. `ghcr.io/org/app`). Empty: nothing is pushed (use `oci-layout` and push-registry).',
    },
    tags: {
      type: 'string',
      description:
        "Tag rules, one per line, with docker/metadata-action's grammar (`type=semver,pattern={{version}}`, `type=ref,event=branch`, `type=sha`, `type=raw,value=…`). Default: branch, git tag, `pr-<n>`, `sha-<7>`; `latest` only for release versions.",
    },
    flavor: {
      type: 'string',
      description: "metadata-action's flavor: `latest=auto|true|false`, `prefix=`, `suffix=` (one per line).",
    },
    labels: {
      type: 'map',
      description:
        'Labels, `KEY=value` per line, over the `org.opencontainers.image.*` ones Kiln fills from the CI (an empty value removes one).',
    },
    licenses: {
      type: 'string',
      description: 'The `org.opencontainers.image.licenses` label (SPDX, e.g. `MIT`).',
    },
    'oci-layout': {
      type: 'path',
      mustExist: false,
      description:
        'Also write the image as an OCI layout directory here (push-registry takes it as `source`).',
    },
    push: {
      type: 'boolean',
      default: 'true',
      description: 'Push to `repository` (when given). `false`: build and verify only.',
    },
    verify: {
      type: 'string',
      placeholder: 'command',
      description:
        'A command run inside the built image before anything is pushed or written (`/app/healthcheck --offline`, or a JSON array); a failure fails the bake and nothing is pushed. buildah: in the built container; layer-append: under chroot (root), else skipped with a warning.',
    },
    'verify-timeout': { type: 'duration', default: '2m', min: 1, description: 'How long `verify` may run.' },
    reproducible: {
      type: 'boolean',
      default: 'true',
      description:
        'Fix every timestamp to the commit time (`SOURCE_DATE_EPOCH` when set): the same sources give the same digest.',
    },
    provenance: {
      type: 'boolean',
      default: 'false',
      description: 'buildx: attach a provenance attestation (off: no `unknown/unknown` entry in the index).',
    },
    'allow-overwrite': {
      type: 'boolean',
      default: 'false',
      description: 'layer-append: move a tag that holds another image (default: refuse).',
    },
    timeout: { type: 'duration', default: '30m', min: 1, description: 'The whole bake, verify and push.' },
    username,
    password,
    'registry-auth': registryAuth,
    'docker-config': dockerConfig,
    'insecure-registries': insecureRegistries,
  },
  outputs: {
    digest: {
      description:
        'The image digest (`sha256:…`; of the index for several platforms); for Packer, the artifact id (`build=id,…` for several builds).',
    },
    image: { description: '`repository@digest` when pushed: what push, promote and the deploys take.' },
    'oci-layout': { description: 'The OCI layout directory written, when `oci-layout` was given.' },
    tags: { type: 'list', description: 'The references pushed (`repository:tag`), one per line.' },
    labels: { type: 'json', description: 'JSON object of the labels set on the image.' },
    metadata: {
      type: 'json',
      description:
        'JSON: builder, digest, tags, labels, version, platforms, base, layers, verify, git context.',
    },
    platforms: { type: 'list', separator: ',', description: 'Platforms built, comma-separated.' },
    'artifact-ids': { type: 'list', description: 'packer: the artifact ids, one per line.' },
    builder: { description: 'The builder that ran (`buildah`, `buildx`, `layer-append` or `packer`).' },
    version: { description: "The version from the tag rules (metadata-action's `version`)." },
  },
});

export const action = defineActionRunner({
  spec,
  // The work, and all it loads (builders, the registry engine), is in run.ts: loaded when the action runs.
  main: async (ctx) => (await import('./run.js')).main(ctx),
});
