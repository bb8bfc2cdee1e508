/**
 * The one way an action runs, as a GitHub Action bundle or under the `kiln` CLI: choose the platform, register
 * secrets, parse and validate inputs, call the action's `main` with an injected context, publish outputs and
 * the summary, and turn errors and signals into exit codes.
 *
 * Exit codes ({@link EXIT_CODES}): 0 success; whatever `main` returns (1 failed, 3 no answer); 2 for a bad input or
 * setting ({@link ConfigurationError}: one line, no stack); 1 for unexpected errors (stack only in debug);
 * 130 on SIGINT, 143 on SIGTERM.
 */
import { CancelledError, ConfigurationError, errorMessage, EXIT_CODES } from '../errors.js';
import { parseFlags } from '../inputs/flags.js';
import { actionHelp } from '../inputs/help.js';
import { parseInputs } from '../inputs/parse.js';
import type { ActionSpec, InputDecl, InputValues, OutputDecl } from '../inputs/spec.js';
import { createPlatform } from '../platform/detect.js';
import { installOutputRedaction } from '../platform/redact.js';
import { Summary } from '../platform/summary.js';
import type { Logger, Platform, PlatformKind } from '../platform/types.js';

export type OutputValue = string | number | boolean;

export interface ActionContext<I extends Record<string, InputDecl>, O extends Record<string, OutputDecl>> {
  inputs: InputValues<I>;
  platform: Platform;
  log: Logger;
  /** Aborted on SIGINT/SIGTERM: pass it to every wait, request and child process. */
  signal: AbortSignal;
  /** Filled by the action; written once at the end (also when the action fails). */
  summary: Summary;
  setOutput(name: keyof O & string, value: OutputValue): void;
}

export interface ActionDefinition<
  I extends Record<string, InputDecl> = Record<string, InputDecl>,
  O extends Record<string, OutputDecl> = Record<string, OutputDecl>,
> {
  spec: ActionSpec<I, O>;
  /** Returns the exit code (default 0). */
  main(ctx: ActionContext<I, O>): Promise<number | void>;
  /** The `post` step, when the spec declares one. */
  post?(ctx: ActionContext<I, O>): Promise<void>;
}

export function defineActionRunner<I extends Record<string, InputDecl>, O extends Record<string, OutputDecl>>(
  def: ActionDefinition<I, O>,
): ActionDefinition<I, O> {
  return def;
}

export interface RunOptions {
  /** Arguments after the action name (terminal and GitLab). */
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  kind?: PlatformKind;
  /** Print help to stdout and return 0 when asked; false in tests. */
  cwd?: string;
}

const SIGNAL_EXIT: Record<string, number> = { SIGINT: EXIT_CODES.sigint, SIGTERM: EXIT_CODES.sigterm };

/** Run an action to completion; returns the exit code (and sets `process.exitCode`). */
export async function runAction<I extends Record<string, InputDecl>, O extends Record<string, OutputDecl>>(
  def: ActionDefinition<I, O>,
  opts: RunOptions = {},
): Promise<number> {
  const code = await runInner(def, opts);
  process.exitCode = code;
  return code;
}

async function runInner<I extends Record<string, InputDecl>, O extends Record<string, OutputDecl>>(
  def: ActionDefinition<I, O>,
  opts: RunOptions,
): Promise<number> {
  const env = opts.env ?? process.env;
  let platform: Platform;
  let json = false;
  try {
    const parsed = parseFlags(opts.argv ?? [], def.spec as unknown as ActionSpec);
    json = parsed.json;
    if (parsed.help) {
      process.stdout.write(actionHelp(def.spec as unknown as ActionSpec) + '\n');
      return 0;
    }
    platform = await createPlatform({
      env,
      flags: parsed.flags,
      json,
      kind: opts.kind,
      cwd: opts.cwd,
      action: def.spec.name,
      outputs: def.spec.outputs,
    });
  } catch (e) {
    process.stderr.write(`error: ${errorMessage(e)}\n`);
    return EXIT_CODES.badInput;
  }
  const log = platform.log;
  const uninstall = installOutputRedaction(platform.redactor);

  const controller = new AbortController();
  let receivedSignal: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (receivedSignal) return;
    receivedSignal = sig;
    log.warning(`Received ${sig}: cancelling ${def.spec.name}...`);
    controller.abort(new CancelledError(sig));
    // If the action does not wind down in time, leave anyway with the conventional code.
    setTimeout(() => process.exit(SIGNAL_EXIT[sig] ?? 1), 10_000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const summary = new Summary();
  const declaredOutputs = new Set(Object.keys(def.spec.outputs));
  const isPost = def.spec.post === true && platform.getState('isPost') === 'true';
  try {
    // Secrets first, before anything can print them (raw values: even an invalid one is masked).
    for (const [name, decl] of Object.entries(def.spec.inputs))
      if (decl.secret) platform.setSecret(platform.getInput(name));
    platform.checkSetup();
    const inputs = parseInputs(def.spec.inputs, (n) => platform.getInput(n), {
      cwd: platform.workspace,
      onDeprecatedName: (former, current) =>
        log.warning(
          `Input '${former}' is deprecated: use '${current}' (same values); '${former}' will be removed.`,
        ),
    });
    const ctx: ActionContext<I, O> = {
      inputs,
      platform,
      log,
      signal: controller.signal,
      summary,
      setOutput: (name, value) => {
        if (!declaredOutputs.has(name))
          throw new Error(`Bug: output '${name}' is not declared by ${def.spec.name}`);
        platform.setOutput(name, String(value));
      },
    };
    if (isPost) {
      await def.post?.(ctx);
      return 0;
    }
    if (def.spec.post) platform.saveState('isPost', 'true');
    const code = (await def.main(ctx)) ?? 0;
    if (receivedSignal) {
      // The action wound down by itself (and reported what finished): still a cancellation.
      log.error(`${def.spec.name} was cancelled (${receivedSignal}).`);
      return SIGNAL_EXIT[receivedSignal] ?? 1;
    }
    return code;
  } catch (e) {
    if (receivedSignal || e instanceof CancelledError) {
      const sig =
        receivedSignal ?? (e instanceof CancelledError && e.signal !== 'abort' ? e.signal : 'SIGTERM');
      log.error(`${def.spec.name} was cancelled (${sig}).`);
      return SIGNAL_EXIT[sig] ?? 1;
    }
    if (e instanceof ConfigurationError) {
      log.error(e.message.replace(/\s*\n\s*/g, ' '));
      return EXIT_CODES.badInput;
    }
    log.error(`${def.spec.name} failed: ${errorMessage(e)}`);
    if (log.debugEnabled && e instanceof Error && e.stack) log.info(e.stack);
    else log.info('Run with KILN_DEBUG=1 (or RUNNER_DEBUG=1 / CI_DEBUG_TRACE=true) for details.');
    return EXIT_CODES.failed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    try {
      if (!summary.isEmpty) platform.writeSummary(summary);
      platform.finish();
    } catch (e) {
      log.warning(`Could not write the summary or outputs: ${errorMessage(e)}`);
    }
    uninstall();
  }
}
