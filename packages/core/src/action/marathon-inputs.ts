/**
 * deploy-marathon's own inputs and outputs, declared once: the deploy-marathon action spreads them next to the deploy
 * family's, and the rollback action (which deploys an earlier digest the same way) spreads them too, optional there.
 */
import type { InputDecl } from '../inputs/spec.js';
import { deployInputs } from './deploy.js';

/** The deploy family's inputs as deploy-marathon words them. */
export function marathonDeployInputs() {
  return deployInputs({
    file: 'the app definition',
    imageField: "the file's `container.docker.image`",
    labelsField: "the app's `labels`",
    varsWhere: "the file's `args`",
    forcePull: '`forcePullImage: true`',
    timeout: 'Per cluster: from submitting (waiting for a lock included) until the new version is healthy.',
    rollback: 'every changed cluster',
    rollbackScope: 'Per cluster',
    dryRun:
      'Render, validate and show the diff against what Marathon stores now (both normalized as Marathon 1.10 does); submit nothing.',
  });
}

/** Marathon's own inputs: where (clusters, app definition), how (order, locks, thresholds) and credentials. */
export function marathonInputs(o: { required: boolean }) {
  const required = o.required ? ({ required: true } as const) : ({} as const);
  return {
    'marathon-url': {
      type: 'list',
      sharedEnv: true,
      ...required,
      placeholder: 'URLs',
      description:
        'Marathon base URL(s), one per line or comma-separated, optionally named: `AA=https://marathon-aa.example.com`. Several URLs deploy to several clusters (see `cluster-order`).',
    },
    'app-definition': {
      type: 'path',
      sharedEnv: true,
      ...required,
      description:
        'The app definition JSON file, e.g. `deploy/qa-deploy.json` (may live in another checkout). Every field is kept as written.',
    },
    'force-pull-image': {
      type: 'boolean',
      sharedEnv: true,
      description: "Set `container.docker.forcePullImage`. Unset: the file's value is kept.",
    },
    'app-id': {
      type: 'string',
      sharedEnv: true,
      placeholder: '/group/app',
      description: "Marathon app id, replacing the file's `id`.",
    },
    instances: {
      type: 'integer',
      sharedEnv: true,
      min: 0,
      description: "Number of instances, replacing the file's `instances`.",
    },
    env: {
      type: 'map',
      description:
        "Environment variables merged into the app's `env`, one `NAME=value` per line (given ones win).",
    },
    'cluster-order': {
      type: 'enum',
      sharedEnv: true,
      deprecatedName: 'strategy',
      values: ['sequential', 'parallel'],
      default: 'sequential',
      description:
        'With several clusters: `sequential` stops at the first failure; `parallel` deploys all at once. On failure every cluster changed is rolled back (with `rollback: auto`).',
    },
    'lock-timeout': {
      type: 'duration',
      sharedEnv: true,
      default: '2m',
      min: 0,
      description:
        'How long to wait for another deployment holding the app (HTTP 409) before failing, or overriding with `force`.',
    },
    force: {
      type: 'boolean',
      default: 'false',
      description: 'After `lock-timeout`, override the other deployment (`?force=true`) instead of failing.',
    },
    'failure-threshold': {
      type: 'integer',
      min: 1,
      max: 1000,
      default: '3',
      description:
        'Declare a crash loop after this many failed or unhealthy-killed tasks of the new version.',
    },
    'rendered-file': {
      type: 'path',
      sharedEnv: true,
      mustExist: false,
      description:
        "Where to write the rendered app definition (default: the runner's temp dir on GitHub, the project dir on GitLab).",
    },
    'poll-interval': {
      type: 'duration',
      sharedEnv: true,
      default: '2s',
      min: 10,
      description: 'Longest pause between polls of Marathon; the event stream wakes Kiln earlier.',
    },
    'marathon-user': { type: 'string', description: 'HTTP basic user (with `marathon-password`).' },
    'marathon-password': {
      type: 'string',
      sharedEnv: true,
      secret: true,
      description: 'HTTP basic password (masked in every log and file).',
    },
    'marathon-token': {
      type: 'string',
      sharedEnv: true,
      secret: true,
      description: 'DC/OS token, sent as `Authorization: token=…` (masked in every log and file).',
    },
    'service-account-id': {
      type: 'string',
      sharedEnv: true,
      description: 'DC/OS service account uid (with `service-account-key`).',
    },
    'service-account-key': {
      type: 'string',
      sharedEnv: true,
      secret: true,
      placeholder: 'PEM',
      description:
        'DC/OS service account RSA private key (PEM). Kiln signs a short-lived RS256 login token and logs in again on 401.',
    },
    'login-url': {
      type: 'url',
      sharedEnv: true,
      description:
        'DC/OS login endpoint for the service account (default: `<marathon origin>/acs/api/v1/auth/login`).',
    },
    insecure: {
      type: 'boolean',
      default: 'false',
      description: 'Skip TLS certificate verification (self-signed clusters only).',
    },
  } as const satisfies Record<string, InputDecl>;
}

export const marathonOutputSpec = {
  result: {
    description:
      '`deployed`, `unchanged`, `rolled-back`, `failed`, `cancelled` or `dry-run` (over all clusters).',
  },
  'deployment-id': {
    description: 'Marathon deployment id (several clusters: one per cluster, space-separated, `-` for none).',
  },
  version: { description: 'App version deployed (several clusters: one per cluster, space-separated).' },
  'previous-version': { description: 'App version that ran before (the rollback target).' },
  'previous-image': { description: 'Image that ran before.' },
  image: {
    description: 'Image this run deploys, as written into the app definition (also when it was rolled back).',
  },
  clusters: {
    type: 'json',
    description:
      'JSON array, one object per cluster: name, url, app, result, reason, deploymentId, version, previousVersion, image, previousImage, created, changes, rollback, state, durationMs.',
  },
  'rendered-file': { description: 'Path of the rendered app definition.' },
  verdict: {
    description: 'With `verify`: `passed`, `failed` or `inconclusive` (the checks could not get an answer).',
  },
} as const;
