/**
 * rollback: deploy an earlier release of an environment again, from the release ledger — `to: previous`, a release
 * id or a digest — after checking it is in that environment's history, passed verification, and still exists in the
 * registry; with the deploy engine of deploy-k8s or deploy-marathon (their inputs, their wait, their automatic
 * rollback); recorded as a new entry. `list: true` shows the recent releases instead. The declaration below is the
 * single source of the action's inputs and outputs; the work is @kiln/core's action/rollback.ts.
 */
import {
  defineAction,
  defineActionRunner,
  deployInputs,
  kubeTargetInputs,
  ledgerInputs,
  marathonInputs,
  releaseIdOutput,
} from '@kiln/core/start';

const {
  image: _image,
  digest: _digest,
  'allow-mutable-tag': _mutable,
  ...deployFamily
} = deployInputs({
  file: 'the manifests or app definition',
  imageField: 'the image',
  labelsField: "the workloads' labels (the app's `labels` on Marathon)",
  varsWhere: 'the manifests or the app definition',
  forcePull: 'a pull',
  timeout: 'From the first change until the release rolled back to is healthy (per cluster on Marathon).',
  rollback: 'what this rollback changed (if the release rolled back to fails too)',
  rollbackScope: 'For all workloads (per cluster on Marathon)',
  dryRun:
    'Resolve the target, check its image, and dry-run the deploy (server-side on Kubernetes, a diff on Marathon).',
});
const { force: _lockForce, ...marathon } = marathonInputs({ required: false });

export const spec = defineAction({
  name: 'rollback',
  title: 'Kiln rollback',
  description:
    'Roll an environment back to an earlier release from the ledger (previous, a release id or a digest): checked against its history, its verification and the registry, deployed by digest, recorded.',
  branding: { icon: 'rotate-ccw', color: 'orange' },
  inputs: {
    ...ledgerInputs({
      environment: 'The environment to roll back (`prod`, `prod-aa`): its ledger says what ran there.',
      environmentRequired: true,
    }),
    to: {
      type: 'string',
      default: 'previous',
      placeholder: 'previous|id|digest',
      description:
        '`previous` (the newest earlier release that succeeded, was not rolled back and passed verification), a release id from the ledger, or a digest (`sha256:…`) deployed there before. A release that failed or was rolled back is chosen only when named.',
    },
    list: {
      type: 'boolean',
      default: 'false',
      description:
        'Print the recent releases of the environment (what a person reads before choosing) and change nothing.',
    },
    force: {
      type: 'boolean',
      default: 'false',
      description:
        'Roll back to a release that never passed verification there (or to what runs now, to redeploy it); recorded as forced.',
    },
    orchestrator: {
      type: 'enum',
      values: ['kubernetes', 'marathon'],
      description:
        'Where the environment runs (default: the one whose inputs are given: `manifests` or `marathon-url`).',
    },
    image: {
      type: 'string',
      placeholder: 'registry/repository',
      description:
        "The image's repository, for `ledger: registry` (its repository holds the ledger). The image deployed comes from the ledger.",
    },
    ...deployFamily,
    ...kubeTargetInputs({ required: false }),
    ...marathon,
    'failure-threshold': {
      type: 'integer',
      min: 1,
      max: 1000,
      default: '3',
      description:
        'Fail as soon as a new pod (Kubernetes) or task (Marathon) of the release rolled back to crashes or fails to start this many times.',
    },
  },
  outputs: {
    result: {
      description:
        '`rolled-back`, `failed`, `refused` (not in the history, not verified, image gone), `listed` or `dry-run`.',
    },
    'to-release': { description: 'The release rolled back to (its id in the ledger).' },
    'to-digest': { description: 'Its digest: what runs now.' },
    'from-release': { description: 'The release that ran before.' },
    'from-digest': { description: 'Its digest.' },
    releases: {
      type: 'json',
      description: '`list: true`: the recent releases, newest first (JSON array of ledger entries).',
    },
    verdict: { description: 'With `verify`: `passed`, `failed` or `inconclusive`.' },
    ...releaseIdOutput,
  },
});

export const action = defineActionRunner({
  spec,
  // The work is in run.ts, loaded when the action runs (ledger, registry, the deploy engines).
  main: async (ctx) => (await import('./run.js')).main(ctx),
});
