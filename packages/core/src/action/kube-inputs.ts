/**
 * deploy-k8s's own inputs and outputs, declared once: the deploy-k8s action spreads them next to the deploy family's,
 * and the rollback action (which deploys an earlier digest the same way) spreads the target ones, optional there.
 */
import type { InputDecl } from '../inputs/spec.js';
import { deployInputs } from './deploy.js';

/** The deploy family's inputs as deploy-k8s words them. */
export function kubeDeployInputs() {
  return deployInputs({
    file: 'the manifests',
    imageField: 'the image of every container with its repository (one more `images` entry)',
    labelsField: "each workload's `metadata.labels`",
    varsWhere: 'string values of the manifests',
    forcePull: '`imagePullPolicy: Always`',
    timeout: 'From the first apply until every workload is ready: one deadline for all of them.',
    rollback: 'every workload Kiln changed (Deployments as `rollout undo` does; others to what ran before)',
    rollbackScope: 'For all workloads',
    dryRun:
      'Server-side dry run: the API server validates and defaults every object (admission included) and nothing is stored.',
  });
}

/** Where and how: the manifests, the cluster, server-side apply and the wait. */
export function kubeTargetInputs(o: { required: boolean }) {
  const required = o.required ? ({ required: true } as const) : ({} as const);
  return {
    manifests: {
      type: 'list',
      sharedEnv: true,
      ...required,
      commas: false,
      placeholder: 'paths',
      description:
        'Manifest files, directories or globs, one per line (`k8s/`, `k8s/**/*.yaml`); multi-document YAML and JSON.',
    },
    'image-paths': {
      type: 'list',
      sharedEnv: true,
      commas: false,
      placeholder: 'paths',
      description:
        'Where custom resources keep images: `[Kind[.group]:]dotted.path` with `[*]` for list items (e.g. `Rollout.argoproj.io:spec.template.spec.containers[*].image`).',
    },
    namespace: {
      type: 'string',
      sharedEnv: true,
      description:
        "Namespace for objects that name none (default: the kubeconfig context's, else `default`); objects with their own keep it.",
    },
    kubeconfig: {
      type: 'path',
      sharedEnv: true,
      description:
        'A kubeconfig file (default: `KUBECONFIG`, `~/.kube/config`, or the in-cluster service account).',
    },
    'kubeconfig-data': {
      type: 'string',
      sharedEnv: true,
      secret: true,
      placeholder: 'YAML',
      description: 'A whole kubeconfig as a (masked) secret, e.g. the repository secret `KUBECONFIG`.',
    },
    context: { type: 'string', description: 'The kubeconfig context (default: its current context).' },
    'force-conflicts': {
      type: 'boolean',
      sharedEnv: true,
      default: 'false',
      description: 'Server-side apply: take over fields another manager owns (`--force-conflicts`).',
    },
    annotate: {
      type: 'boolean',
      sharedEnv: true,
      default: 'true',
      description:
        "Add Kiln's release annotations (`kiln.dev/release-id`, `kiln.dev/commit`, `kiln.dev/run-url`) to the workloads; `false` for clusters whose RBAC does not allow it.",
    },
    'failure-threshold': {
      type: 'integer',
      min: 1,
      max: 1000,
      default: '3',
      description:
        'Fail a workload as soon as a new pod restarted (crash loop, OOM) or failed to pull or start this many times.',
    },
  } as const satisfies Record<string, InputDecl>;
}

/** The images to substitute (the rollback action takes its one image from the ledger instead). */
export const kubeImagesInput = {
  images: {
    type: 'list',
    commas: false,
    placeholder: 'references',
    description:
      'Images to deploy, one per line: `registry/repo@sha256:…` replaces every container whose image has that registry and repository (exactly: a port, a digest and `app` vs `app-worker` are told apart); `name=ref` too. An entry that matches nothing is an error.',
  },
} as const satisfies Record<string, InputDecl>;

/** Canary and blue-green. */
export const kubeStrategyInputs = {
  strategy: {
    type: 'enum',
    values: ['rolling', 'canary', 'blue-green'],
    default: 'rolling',
    description:
      '`rolling`: apply the manifests as they are. `canary`: each Deployment gets a copy `<name>-canary` (label `kiln.dev/track: canary`, `percentage` of its replicas) that takes `percentage` of the traffic (see `traffic-split-method`). `blue-green`: a copy `<name>-green` and a preview Service `<svc>-green`; the Services stay on the stable pods until `action: promote` switches them. Then `action: promote` or `reject`.',
  },
  action: {
    type: 'enum',
    values: ['deploy', 'promote', 'reject'],
    default: 'deploy',
    description:
      '`deploy`; `promote` (canary/blue-green: refused unless every copy is ready on these images; applies the manifests to the stable names, moves the traffic to them, deletes the copies); `reject` (traffic back to the stable version, copies deleted).',
  },
  percentage: {
    type: 'integer',
    min: 1,
    max: 99,
    default: '20',
    description:
      "Canary: the copy's replicas as a share of the stable's, rounded up (`ceil(replicas × percentage / 100)`), and its share of the traffic by weight (`gateway`, `ingress`).",
  },
  'traffic-split-method': {
    type: 'enum',
    values: ['pod', 'gateway', 'ingress'],
    default: 'pod',
    description:
      'Canary: how its traffic share is set. `pod`: by pod count (the Services select both). `gateway`: weights on the Gateway API `HTTPRoute`s that send to the Services (`<svc>-stable` 100−percentage, `<svc>-canary` percentage). `ingress`: an ingress-nginx canary Ingress `<ing>-canary` with `canary-weight: percentage`.',
  },
} as const satisfies Record<string, InputDecl>;

export const kubeOutputSpec = {
  result: {
    description:
      '`deployed`, `unchanged`, `canary-deployed`, `green-deployed`, `promoted`, `rejected`, `refused` (promote without a ready copy), `rolled-back`, `failed`, `cancelled` or `dry-run`.',
  },
  resources: {
    type: 'json',
    description:
      'JSON array, one object per resource: apiVersion, kind, name, namespace, action (created/configured/unchanged/deleted), result, reason, rolledBack, images, ready (ready/desired), revision, previousRevision.',
  },
  revision: {
    description:
      "The Deployments' revisions after the deploy (space-separated, in manifest order): `kubectl rollout undo --to-revision`.",
  },
  images: { type: 'list', description: 'The images deployed (pinned references), one per line.' },
  namespaces: { type: 'list', separator: ',', description: 'Namespaces touched, comma-separated.' },
  verdict: {
    description: 'With `verify`: `passed`, `failed` or `inconclusive` (the checks could not get an answer).',
  },
} as const;
