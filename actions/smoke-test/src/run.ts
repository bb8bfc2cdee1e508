/**
 * smoke-test's work, loaded by its `main` (action.ts) when it runs: check the inputs, build the plan (checks file or
 * `url`), run it under one deadline and publish the verdict, the reports and the summary.
 */
import { existsSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import {
  EXIT_CODES,
  formatDuration,
  headerProblem,
  InputError,
  ledgerAction,
  loadChecksFile,
  parseStatusExpectation,
  publishSmokeResult,
  runPlan,
  urlPlan,
  type ContextOf,
  type PlanDefaults,
} from '@kiln/core';
import type { spec } from './action.js';

const VERDICT = { pass: 'passed', fail: 'failed', error: 'inconclusive' } as const;

const EXIT: Record<string, number> = {
  pass: EXIT_CODES.ok,
  fail: EXIT_CODES.failed,
  error: EXIT_CODES.noAnswer,
};

export async function main(ctx: ContextOf<typeof spec>): Promise<number | void> {
  const { inputs, log, signal, summary, setOutput, platform } = ctx;
  const expectStatus = parseStatusExpectation(inputs['expect-status']);
  if (typeof expectStatus === 'string')
    throw new InputError('expect-status', `${JSON.stringify(inputs['expect-status'])}: ${expectStatus}.`);
  if (!inputs.checks && inputs.url.length === 0)
    throw new InputError(
      'checks',
      'is required unless url is given; expected a checks file or one or more URLs.',
    );
  if (inputs.checks && inputs.url.length)
    throw new InputError('url', 'cannot be combined with checks; put the URLs in the checks file instead.');
  // The ledger: checked before anything runs (a verdict is recorded for a digest).
  const ledger = ledgerAction.parseLedgerLocation(inputs, platform.env);
  const tested = ledgerAction.testedImage(inputs.image, inputs.digest, ledger);
  if (inputs['basic-auth'] && inputs['bearer-token'])
    throw new InputError('bearer-token', 'cannot be combined with basic-auth; expected only one of them.');

  for (const v of Object.values(inputs['secret-vars'])) platform.setSecret(v);
  for (const [name, value] of Object.entries(inputs.headers)) {
    const problem = headerProblem(name, value);
    if (problem) throw new InputError('headers', `${problem}; expected one Name=value per line.`);
  }
  const reportDir = resolve(platform.workspace, inputs['report-dir']);
  if (existsSync(reportDir) && !statSync(reportDir).isDirectory())
    throw new InputError(
      'report-dir',
      `"${inputs['report-dir']}" is a file; expected a directory (it is created if missing).`,
    );
  const headers: Record<string, string> = { ...inputs.headers };
  if (inputs['basic-auth']) {
    const colon = inputs['basic-auth'].indexOf(':');
    if (colon <= 0)
      throw new InputError(
        'basic-auth',
        "(value hidden) is not 'user:password'; expected a user, a colon, a password.",
      );
    // The password alone is a secret too (it shows up on its own in messages and bodies).
    platform.setSecret(inputs['basic-auth'].slice(colon + 1));
    const encoded = Buffer.from(inputs['basic-auth']).toString('base64');
    platform.setSecret(encoded);
    headers.authorization = `Basic ${encoded}`;
  }
  if (inputs['bearer-token']) headers.authorization = `Bearer ${inputs['bearer-token']}`;
  if (inputs.insecure) log.warning('TLS certificate verification is off (insecure: true).');

  const lookup = (name: string) => inputs.vars[name] ?? inputs['secret-vars'][name] ?? platform.env[name];
  const defaults: PlanDefaults = {
    timeoutMs: inputs.timeout,
    expectStatus,
    headers,
    followRedirects: inputs['follow-redirects'],
    insecure: inputs.insecure,
    retryIntervalMs: inputs.interval,
    isDefined: (name) => lookup(name) !== undefined,
  };
  const plan = inputs.checks
    ? await loadChecksFile(
        inputs.checks,
        defaults,
        relative(platform.workspace, inputs.checks) || inputs.checks,
      )
    : urlPlan(inputs.url, defaults, inputs.interval);
  if (plan.checks.some((c) => c.request?.insecure) && !inputs.insecure)
    log.warning('Some checks skip TLS certificate verification (insecure: true in the checks file).');

  log.info(
    `Running ${plan.checks.length} check(s) from ${plan.source}${plan.wait ? ' after a wait phase' : ''}; ` +
      `deadline ${formatDuration(inputs.deadline)}, concurrency ${inputs.concurrency}.`,
  );
  const result = await runPlan(plan, {
    concurrency: inputs.concurrency,
    deadlineMs: inputs.deadline,
    vars: lookup,
    onSensitiveValue: (v) => platform.setSecret(v),
    log,
    signal,
    cwd: platform.workspace,
    env: platform.env,
  });

  publishSmokeResult({ platform, log, summary, setOutput }, result, {
    source: plan.source,
    reportDir: inputs['report-dir'],
  });
  // A cancelled run has no verdict to record (and its signal would abort the write anyway).
  const recorded = signal.aborted
    ? true
    : await ledgerAction.recordOutcome({
        settings: { ...inputs, 'release-id': undefined },
        location: ledger,
        platform,
        log,
        signal,
        event: 'verify',
        result: 'success',
        image: tested,
        verdict: VERDICT[result.verdict],
        ...(inputs['release-id'] ? { of: inputs['release-id'] } : {}),
        description: `smoke-test ${result.verdict}: ${plan.source}`,
        setOutput,
      });
  return recorded ? EXIT[result.verdict] : EXIT_CODES.failed;
}
