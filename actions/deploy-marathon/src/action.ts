/**
 * deploy-marathon: render a per-environment Marathon app definition with an image pinned by digest, deploy it to
 * one or more Marathon clusters, wait until the new version is healthy, fail fast on a crash loop, roll back.
 * The declaration below is the single source of the action's inputs and outputs; the logic is in
 * @kiln/core's `marathon` namespace.
 */
import {
  defineAction,
  defineActionRunner,
  ledgerInputs,
  marathonDeployInputs,
  marathonInputs,
  marathonOutputSpec,
  releaseIdOutput,
} from '@kiln/core/start';

export const spec = defineAction({
  name: 'deploy-marathon',
  title: 'Kiln deploy-marathon',
  description:
    'Deploy an image pinned by digest to Marathon from a per-environment app definition; wait until healthy, fail fast, roll back.',
  branding: { icon: 'upload-cloud', color: 'orange' },
  inputs: {
    ...marathonDeployInputs(),
    ...marathonInputs({ required: true }),
    ...ledgerInputs({
      environment:
        "Record the release in this environment's ledger (`qa`, `prod-aa`): a deploy that went live, failed or was rolled back. Without it nothing is recorded.",
    }),
  },
  outputs: { ...marathonOutputSpec, ...releaseIdOutput },
});

export const action = defineActionRunner({
  spec,
  // The work is in run.ts, loaded when the action runs (Marathon client, HTTP), not at start.
  main: async (ctx) => (await import('./run.js')).main(ctx),
});
