/**
 * Errors Kiln distinguishes.
 *
 * A {@link ConfigurationError} is the user's to fix (a bad input, a malformed file, a wrong reference): it is
 * reported as one clear line and the process exits {@link EXIT_CODES.badInput}, never with a stack trace. Anything else is a bug or an
 * unexpected failure: its message is reported, and its stack only in debug mode.
 */
export class ConfigurationError extends Error {
  override readonly name: string = 'ConfigurationError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The exit codes of every action and of the `kiln` CLI (the README's table is this one):
 * - `ok` 0: done (deployed, unchanged, dry run, pushed, promoted, smoke test passed);
 * - `failed` 1: the verdict is negative or the work could not finish (a deploy failed or was rolled back, a smoke
 *   check failed, a registry or Marathon refused or stalled past the deadline, an unexpected error);
 * - `badInput` 2: a bad input or setting, reported in one line naming it (usually before anything ran; also
 *   credentials a registry refused, or a tag that exists without allow-overwrite);
 * - `noAnswer` 3: smoke-test could not test — a check got no usable answer (the target is down or unreachable);
 * - 130 / 143: cancelled by SIGINT / SIGTERM.
 */
export const EXIT_CODES = { ok: 0, failed: 1, badInput: 2, noAnswer: 3, sigint: 130, sigterm: 143 } as const;

/** A user error about one named input: the message always names it. */
export class InputError extends ConfigurationError {
  override readonly name = 'InputError';
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(`Input '${input}': ${message}`);
  }
}

/** The operation was cancelled (SIGINT/SIGTERM or an abort signal). */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  constructor(readonly signal: NodeJS.Signals | 'abort' = 'abort') {
    super(signal === 'abort' ? 'Cancelled' : `Cancelled by ${signal}`);
  }
}

export function isConfigurationError(e: unknown): e is ConfigurationError {
  return e instanceof ConfigurationError;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
