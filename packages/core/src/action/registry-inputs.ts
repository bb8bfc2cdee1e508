/**
 * Apart from registry.ts (the copy-runner, and the registry engine it loads): an action's spec is read at start,
 * before any input, and must not load the engine. Exported from `@kiln/core/start` and as `registryAction.registryInputs`.
 */
import type { OutputDecl } from '../inputs/spec.js';

/** The inputs both actions declare; `dest` is how the action calls where the image goes. */
export function registryInputs(dest: 'destination' | 'target') {
  return {
    username: {
      sharedEnv: true,
      type: 'string',
      description: `User for the ${dest} registries (with \`password\`). With ${dest}s on several registries it applies to each one without a \`registry-auth\` entry.`,
    },
    password: {
      sharedEnv: true,
      type: 'string',
      secret: true,
      description: `Password or token for the ${dest} registries (masked). ECR, GHCR and Harbor robot accounts take a token here.`,
    },
    'source-username': {
      sharedEnv: true,
      type: 'string',
      description: `User for the source registry, when it needs other credentials than the ${dest}s.`,
    },
    'source-password': {
      sharedEnv: true,
      type: 'string',
      secret: true,
      description: 'Password or token for the source registry (masked).',
    },
    'registry-auth': {
      sharedEnv: true,
      type: 'map',
      secret: true,
      placeholder: 'host=user:password',
      description:
        'Credentials per registry, one `host=user:password` per line (e.g. `ghcr.io=bot:<token>`). They win over every other source for that host. Masked.',
    },
    'docker-config': {
      sharedEnv: true,
      type: 'path',
      description:
        'Directory holding a docker `config.json` (`auths`, `credHelpers`, `credsStore`). Default: `$DOCKER_CONFIG` or `~/.docker`.',
    },
    'insecure-registries': {
      sharedEnv: true,
      type: 'list',
      placeholder: 'host[:port] list',
      description:
        'Registries reached over https without certificate verification, or plain http (`host:port`, or `host` for every port). Loopback registries use http without being listed.',
    },
    concurrency: {
      type: 'integer',
      default: '4',
      min: 1,
      max: 64,
      description: `Blob transfers at the same time (shared by every ${dest}).`,
    },
    timeout: {
      type: 'duration',
      default: '30m',
      min: 1000,
      max: 86_400_000,
      description:
        'One deadline for the whole operation; past it, the step fails and no further tag is written.',
    },
  } as const;
}

/**
 * The outputs both registry actions declare, set by the copy-runner (action/registry.ts `runCopy`); `dest` is how
 * the action calls where the image goes, `verb` what it did.
 */
export function registryOutputs(dest: 'destination' | 'target', verb: 'pushed' | 'promoted') {
  return {
    digest: {
      description: `Digest of the ${verb} manifest or index (\`sha256:…\`): the same at every ${dest}.`,
    },
    image: {
      type: 'list',
      description: `\`registry/repository@digest\` of each ${dest} repository, one per line: what to deploy (empty in a dry run).`,
    },
    platforms: {
      type: 'list',
      separator: ',',
      description:
        'Platforms of a multi-arch index, comma-separated (`linux/amd64,linux/arm64`); empty for one image.',
    },
    result: {
      description: `\`pushed\` (something was written), \`unchanged\` (every ${dest} already held the digest) or \`dry-run\`.`,
    },
  } as const satisfies Record<string, OutputDecl>;
}
