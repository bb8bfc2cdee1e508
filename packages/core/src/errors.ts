/**
 * Errors Kiln distinguishes.
 *
 * A {@link ConfigurationError} is the user's to fix (a bad input, a malformed file, a wrong reference): it is
 * reported as one clear line and the process exits 1, never with a stack trace. Anything else is a bug or an
 * unexpected failure: its message is reported, and its stack only in debug mode.
 */
export class ConfigurationError extends Error {
  override readonly name: string = 'ConfigurationError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

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
