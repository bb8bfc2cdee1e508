/**
 * deploy-k8s: apply manifests with images substituted exactly and pinned by digest (server-side apply), wait for
 * every workload at once under one deadline with the real failure reason, and roll back what Kiln changed. The
 * declaration below is the single source of the action's inputs and outputs; the work is @kiln/core's `kube`
 * namespace, glued in core's action/kube.ts.
 */
import {
  defineAction,
  defineActionRunner,
  kubeDeployInputs,
  kubeImagesInput,
  kubeOutputSpec,
  kubeStrategyInputs,
  kubeTargetInputs,
  ledgerInputs,
  releaseIdOutput,
} from '@kiln/core/start';

export const spec = defineAction({
  name: 'deploy-k8s',
  title: 'Kiln deploy-k8s',
  description:
    'Deploy manifests to Kubernetes with images pinned by digest (server-side apply); wait for every workload at once with the real failure reason; roll back.',
  branding: { icon: 'box', color: 'orange' },
  inputs: {
    ...kubeTargetInputs({ required: true }),
    ...kubeImagesInput,
    ...kubeDeployInputs(),
    ...kubeStrategyInputs,
    ...ledgerInputs({
      environment:
        "Record the release in this environment's ledger (`qa`, `prod-aa`): a rolling deploy or a promote that went live, failed or was rolled back. Without it nothing is recorded.",
    }),
  },
  outputs: { ...kubeOutputSpec, ...releaseIdOutput },
});

export const action = defineActionRunner({
  spec,
  // The work, and all it loads (YAML, the Kubernetes client), is in run.ts: loaded when the action runs.
  main: async (ctx) => (await import('./run.js')).main(ctx),
});
