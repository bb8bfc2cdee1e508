/**
 * The deploy family's inputs, declared once: deploy-marathon, deploy-k8s and rollback take the same image,
 * digest, labels, release id, timeout, rollback and dry-run inputs, with the same names, types and defaults.
 * An action spreads `deployInputs(...)` into its declaration and adds what is its own.
 */
import type { InputDecl } from '../inputs/spec.js';

export interface DeployTarget {
  /** What is deployed, in descriptions: `the app definition`, `the manifests`. */
  file: string;
  /** Where the image goes: "the file's `container.docker.image`". */
  imageField: string;
  /** Where labels go: "the app's `labels`". */
  labelsField: string;
  /** Where `${NAME}` is replaced: "the file's `args`". */
  varsWhere: string;
  /** How "always pull" is spelled: "`forcePullImage: true`". */
  forcePull: string;
  /** What the timeout covers: "Per cluster: from submitting …". */
  timeout: string;
  /** What a rollback returns to. */
  rollback: string;
  /** Scope of the rollback timeout: "Per cluster". */
  rollbackScope: string;
  /** What the dry run compares with. */
  dryRun: string;
}

export function deployInputs(t: DeployTarget) {
  return {
    image: {
      type: 'string',
      description: `Image to deploy, replacing ${t.imageField}. Deployed as \`repository@sha256:…\` when a digest is known.`,
    },
    digest: {
      type: 'string',
      placeholder: 'sha256:…',
      description: `Digest that pins the image (\`image\`, or ${t.file}'s), e.g. a push step's \`digest\` output.`,
    },
    'allow-mutable-tag': {
      type: 'boolean',
      default: 'false',
      description: `Allow deploying an image without a digest (a moving tag). Forces ${t.forcePull}.`,
    },
    labels: {
      type: 'map',
      description: `Labels merged into ${t.labelsField}, one \`KEY=value\` per line. Kiln adds KILN_RELEASE_ID, KILN_COMMIT and KILN_RUN_URL (not compared: a rerun that differs only in them is \`unchanged\`).`,
    },
    vars: {
      type: 'map',
      description: `Template variables, one \`NAME=value\` per line: \`\${NAME}\` in ${t.varsWhere} is replaced (e.g. \`--spring.profiles.active=\${ENV}\`); \`$\${\` writes a literal \`\${\`.`,
    },
    'release-id': {
      type: 'string',
      description: 'Release id recorded as the KILN_RELEASE_ID label (a timestamp or build number).',
    },
    timeout: { type: 'duration', default: '10m', min: 1, description: t.timeout },
    rollback: {
      type: 'enum',
      values: ['auto', 'none'],
      default: 'auto',
      description: `\`auto\`: on failure return ${t.rollback} to its previous version. \`none\`: leave it as is (and say so).`,
    },
    'rollback-timeout': {
      type: 'duration',
      default: '5m',
      min: 1,
      description: `${t.rollbackScope}: how long the rollback may take to become healthy.`,
    },
    'dry-run': { type: 'boolean', default: 'false', description: t.dryRun },
    verify: {
      type: 'path',
      description:
        'A smoke-test checks file run once the new version is healthy, before the deploy counts as a success: a verdict other than pass fails it like a failed rollout (rolled back with `rollback: auto`), and the ledger records the verdict. `${NAME}` reads `vars`, then the environment.',
    },
  } as const satisfies Record<string, InputDecl>;
}
