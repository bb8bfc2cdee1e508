/**
 * promote: move a tested image to new tags, repositories or registries by digest, without rebuilding. Same
 * repository = one manifest PUT; same registry = blob mounts; another registry = a streamed copy. The digest
 * at every target is verified to be the source's; tags are written last. Gated on the release ledger when asked:
 * `require-verified` refuses a digest that did not pass verification in an environment, `…@last-verified` takes
 * the newest one that did, `environment` records the promotion. The declaration below is the single source of the
 * action's inputs and outputs; the copy engine is @kiln/core's `pushImage`, the ledger glue its `registryAction`.
 */
import {
  defineAction,
  defineActionRunner,
  ledgerInputs,
  registryInputs,
  registryOutputs,
  releaseIdOutput,
} from '@kiln/core/start';

export const spec = defineAction({
  name: 'promote',
  title: 'Kiln promote',
  description:
    'Promote a tested image by digest to new tags, repositories or registries without rebuilding: retag, mount or stream; verify the digest; refuse a moved source or an overwritten tag.',
  branding: { icon: 'award', color: 'orange' },
  inputs: {
    source: {
      type: 'string',
      required: true,
      placeholder: 'reference',
      description:
        "The image to promote: `registry/repository:tag`, `…@sha256:…` or both (the digest wins). Without tag or digest, `latest`. `registry/repository@last-verified`: the newest digest of that repository that passed verification in `require-verified`'s environment.",
    },
    targets: {
      type: 'list',
      placeholder: 'references',
      description:
        "Where to promote to, one per line or comma-separated: another tag (`harbor.example.com/team/app:1.4.2`), repository or registry (`ghcr.io/org/app`). A target without a tag gets `tags`, else the source's tag. Default: the source's repository (with `tags`).",
    },
    tags: {
      type: 'list',
      placeholder: 'tags',
      description:
        'Tags given at every target repository, e.g. the release version. With no `targets`, they are new tags in the source repository (the pull / tag / push of a deploy-only job).',
    },
    'expected-digest': {
      type: 'string',
      placeholder: 'sha256:…',
      description:
        'Refuse to promote unless the source resolves to this digest (the one that was tested): a source tag that moved since is refused before anything is written.',
    },
    'allow-overwrite': {
      type: 'boolean',
      default: 'false',
      description:
        'Move a target tag that points to another digest. Default: refuse, before anything is written (a tag already holding the same digest is fine).',
    },
    referrers: {
      type: 'boolean',
      default: 'false',
      description:
        'Also copy what refers to the image (cosign/notation signatures, SBOMs, attestations): the referrers API or the `sha256-<hex>` tag. Best effort: a warning when they cannot be copied.',
    },
    'dry-run': {
      type: 'boolean',
      default: 'false',
      description: 'Resolve the source, inspect the targets and report what would be copied; write nothing.',
    },
    'require-verified': {
      type: 'string',
      placeholder: 'environment',
      pattern: /^[^\s\p{Cc}]{1,100}$/u,
      patternDescription: 'a name of 1 to 100 characters without spaces',
      description:
        "Refuse to promote unless the digest passed verification in this environment (`qa`): its newest verdict in that environment's ledger (`ledger`, read in the source's repository by default) is `passed`. Checked on the digest the source resolves to, before anything is written.",
    },
    force: {
      type: 'boolean',
      default: 'false',
      description:
        'Promote even though `require-verified` refuses (never verified, failed or inconclusive): the promotion is recorded with `forced: true`, and the log and summary say the gate was overridden.',
    },
    ...ledgerInputs({
      environment:
        "Record the promotion in this environment's ledger (`prod`): a `promote` entry after the copy (success, or failure when the copy failed) with the digest and the targets; with `ledger: registry` in the first target's repository. Without it nothing is recorded.",
    }),
    'release-id': {
      type: 'string',
      description:
        'Id of the promote entry recorded in `environment` (e.g. the release version); default generated from the time. An id already in that ledger gets a suffix (`1.4.2.2`).',
    },
    ...registryInputs('target'),
  },
  outputs: {
    ...registryOutputs('target', 'promoted'),
    promoted: {
      type: 'list',
      description:
        'Every target reference that now holds the digest (`registry/repository:tag`), one per line (empty in a dry run).',
    },
    results: {
      type: 'json',
      description:
        'JSON array, one object per target: ref, action, previousDigest, mounted, uploaded, skipped, bytes, requests, referrers.',
    },
    ...releaseIdOutput,
  },
});

export const action = defineActionRunner({
  spec,
  // The work is in run.ts, loaded when the action runs (registry engine, HTTP), not at start.
  main: async (ctx) => (await import('./run.js')).main(ctx),
});
