/**
 * The release ledger's inputs, declared once for every action that records or reads releases (deploy-marathon,
 * deploy-k8s, smoke-test, promote, rollback). Kept apart from action/ledger.ts so a declaration loads nothing else.
 */
import type { InputDecl } from '../inputs/spec.js';

export function ledgerInputs(o: { environment: string; environmentRequired?: boolean }) {
  return {
    environment: {
      type: 'string',
      ...(o.environmentRequired ? { required: true } : {}),
      pattern: /^[^\s\p{Cc}]{1,100}$/u,
      patternDescription: 'a name of 1 to 100 characters without spaces',
      description: o.environment,
    },
    ledger: {
      type: 'string',
      placeholder: 'where',
      description:
        "Where releases are recorded: `registry` (default: OCI artifacts in the image's repository, with the credentials the registry steps use), `oci://registry/repository`, `file:releases.jsonl`, `github` (GitHub Deployments; `permissions: deployments: write`), `gitlab` (GitLab deployments, digests in the registry), or `none`.",
    },
    'ledger-token': {
      type: 'string',
      secret: true,
      description:
        'Token for `ledger: github` (default `GITHUB_TOKEN` from the environment; pass the workflow token `github.token`) or `ledger: gitlab` (a project access token; default the job token `CI_JOB_TOKEN`).',
    },
  } as const satisfies Record<string, InputDecl>;
}

/** The `release-id` output of an action that records a release. */
export const releaseIdOutput = {
  'release-id': {
    description:
      'The ledger entry recorded for this run (given as `release-id`, or generated); empty when nothing was recorded.',
  },
} as const;
