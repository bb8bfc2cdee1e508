/**
 * The deploy actions' `verify` input: a smoke-test checks file run once the new version is healthy and before the
 * deploy is declared a success. A verdict other than `pass` fails the deploy like a failed rollout — rolled back
 * with `rollback: auto` — and the ledger entry carries the verdict. The checks file is validated before anything is
 * deployed; `${NAME}` in it reads the deploy's `vars`, then the environment.
 */
import { existsSync, openSync, readSync, closeSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { InputError } from '../errors.js';
import type { Verdict } from '../ledger/entry.js';
import { runPlan } from '../smoke/engine.js';
import type { PlanDefaults, SmokePlan } from '../smoke/plan.js';
import { loadChecksFile } from '../smoke/plans.js';
import { parseStatusExpectation } from '../smoke/status.js';
import type { Logger, Platform } from '../platform/types.js';
import { formatDuration } from '../util/duration.js';

export interface VerifyOutcome {
  verdict: Verdict;
  /** One line: the smoke test's reason. */
  reason: string;
}

/** The deadline of a verification (one for all its checks). */
export const VERIFY_DEADLINE_MS = 5 * 60_000;

/** Loads and validates the checks file now (an InputError naming `verify` when it is missing or invalid). */
export async function prepareVerify(
  path: string | undefined,
  o: { platform: Platform; vars: Record<string, string> },
): Promise<SmokePlan | undefined> {
  if (!path) return undefined;
  const full = resolve(o.platform.workspace, path);
  if (!existsSync(full))
    throw new InputError('verify', `'${path}' does not exist; expected a smoke-test checks file.`);
  const lookup = (name: string) => o.vars[name] ?? o.platform.env[name];
  const defaults: PlanDefaults = {
    timeoutMs: 10_000,
    expectStatus: parseStatusExpectation('200-299') as Exclude<
      ReturnType<typeof parseStatusExpectation>,
      string
    >,
    retryIntervalMs: 5_000,
    isDefined: (name) => lookup(name) !== undefined,
  };
  return loadChecksFile(full, defaults, relative(o.platform.workspace, full) || path);
}

/** Runs the prepared checks; the verdict as the ledger records it, and the reason. */
export async function runVerify(
  plan: SmokePlan,
  o: { platform: Platform; log: Logger; signal: AbortSignal; vars: Record<string, string> },
): Promise<VerifyOutcome> {
  o.log.info(`verify: running ${plan.checks.length} check(s) from ${plan.source} against the new version.`);
  const lookup = (name: string) => o.vars[name] ?? o.platform.env[name];
  const result = await runPlan(plan, {
    concurrency: 8,
    deadlineMs: VERIFY_DEADLINE_MS,
    vars: lookup,
    onSensitiveValue: (v) => o.platform.setSecret(v),
    log: o.log,
    signal: o.signal,
    cwd: o.platform.workspace,
    env: o.platform.env,
  });
  const verdict: Verdict =
    result.verdict === 'pass' ? 'passed' : result.verdict === 'fail' ? 'failed' : 'inconclusive';
  o.log.info(`verify: ${result.verdict} in ${formatDuration(result.durationMs)} — ${result.reason}`);
  return { verdict, reason: result.reason };
}

/** `${NAME}` variables a checks file uses (read up to 1 MiB, the checks file limit): the deploy's vars it takes. */
export function varsUsedBy(path: string | undefined, workspace: string): Set<string> {
  const out = new Set<string>();
  if (!path) return out;
  let text = '';
  try {
    const fd = openSync(resolve(workspace, path), 'r');
    try {
      const buf = Buffer.alloc(1024 * 1024);
      text = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return out;
  }
  for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) out.add(m[1] as string);
  return out;
}
