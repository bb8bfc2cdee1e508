/**
 * smoke-test: the post-deploy verdict. A checks file (or the one-line `url` form) is validated, run under one
 * deadline, and reported as pass / fail / error with a JSON report, a JUnit file and a summary.
 * The declaration below is the single source of the action's inputs and outputs.
 */
import { defineAction, defineActionRunner, ledgerInputs } from '@kiln/core/start';

export const spec = defineAction({
  name: 'smoke-test',
  title: 'Kiln smoke-test',
  description:
    'Verify a deployment: run HTTP and command checks (status, headers, body, JSONPath, latency, TLS expiry, thresholds) and give a pass/fail/error verdict.',
  branding: { icon: 'check-circle', color: 'orange' },
  inputs: {
    checks: {
      type: 'path',
      description:
        'Checks file (YAML or JSON): wait phase, checks, captures, sample, thresholds, verdict rules.',
    },
    url: {
      type: 'list',
      items: 'url',
      description:
        'The one-line form: URL(s) that must answer with `expect-status`, retried every `interval` until the deadline. One per line, comma-separated, or `a|b` (url-health-check-action).',
    },
    'expect-status': {
      type: 'string',
      default: '200-299',
      placeholder: 'codes',
      description:
        'Expected HTTP status where a check does not say: codes, ranges or classes, e.g. `200`, `200-299`, `2xx`, `200,301`.',
    },
    timeout: { type: 'duration', default: '10s', min: 1, description: 'Default timeout of each request.' },
    deadline: {
      type: 'duration',
      default: '5m',
      min: 0,
      description:
        'One deadline for everything: no attempt starts after it (one in flight may finish within its own timeout).',
    },
    interval: {
      type: 'duration',
      default: '5s',
      min: 0,
      description: 'Pause between attempts of the one-line form, and the default `retryInterval` of checks.',
    },
    concurrency: {
      type: 'integer',
      default: '8',
      min: 1,
      max: 256,
      description: 'Checks run at the same time.',
    },
    vars: {
      type: 'map',
      description: 'Variables for `${NAME}` in the checks file, one `NAME=value` per line.',
    },
    'secret-vars': {
      type: 'map',
      secret: true,
      description:
        'Like `vars`, for secrets (tokens, passwords): every value is masked in logs, outputs and reports.',
    },
    headers: { type: 'map', description: 'Headers added to every request, one `Name=value` per line.' },
    'basic-auth': {
      type: 'string',
      secret: true,
      placeholder: 'user:password',
      pattern: /^[^:]+:.*$/s,
      patternDescription: 'user:password',
      description: 'HTTP basic credentials for every request, as `user:password` (masked).',
    },
    'bearer-token': { type: 'string', secret: true, description: 'Bearer token for every request (masked).' },
    'follow-redirects': { type: 'boolean', default: 'false', description: 'Follow HTTP redirects.' },
    insecure: {
      type: 'boolean',
      default: 'false',
      description: 'Skip TLS certificate verification (self-signed test environments only).',
    },
    'report-dir': {
      type: 'path',
      mustExist: false,
      default: 'kiln-reports',
      description: 'Where `smoke-test.json` and `smoke-test.junit.xml` are written (created if missing).',
    },
    ...ledgerInputs({
      environment:
        "Record the verdict in this environment's ledger (`qa`): what promote's `require-verified` and rollback's `to: previous` read. Needs `image` pinned by digest (or `digest`).",
    }),
    image: {
      type: 'string',
      description:
        "The image tested, e.g. a deploy step's `image` output (`registry/repo@sha256:…`): the verdict is recorded for its digest.",
    },
    digest: {
      type: 'string',
      placeholder: 'sha256:…',
      description: 'The digest tested, when `image` carries none.',
    },
    'release-id': {
      type: 'string',
      description:
        "The release verified (a deploy step's `release-id` output): recorded as what the verdict is about.",
    },
  },
  outputs: {
    verdict: { description: '`pass`, `fail` (a check or threshold failed) or `error` (no usable answer).' },
    passed: { type: 'number', description: 'Checks that passed.' },
    failed: { type: 'number', description: 'Checks that failed an assertion.' },
    errors: {
      type: 'number',
      description:
        'Checks with no usable answer (connection, timeout, TLS, command could not run) or cancelled.',
    },
    skipped: {
      type: 'number',
      description: 'Checks not run (wait phase failed, or a capture they need was missing).',
    },
    attempts: {
      type: 'number',
      description: 'HTTP requests and commands run in total, retries and sample included.',
    },
    'duration-ms': { type: 'number', description: 'Wall time of the whole smoke test, in milliseconds.' },
    report: { description: 'Path of the JSON report.' },
    junit: { description: 'Path of the JUnit XML report (for GitLab `artifacts:reports:junit`).' },
    results: {
      type: 'json',
      description: 'JSON array, one object per check: name, verdict, status, latencyMs, attempts, reason.',
    },
  },
});

export const action = defineActionRunner({
  spec,
  // The work is in run.ts, loaded when the action runs (YAML, JSON Schema, JSONPath, HTTP), not at start.
  main: async (ctx) => (await import('./run.js')).main(ctx),
});
