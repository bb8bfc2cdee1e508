// node:child_process is loaded by the first command run, not at start (most runs never spawn one).
import { CancelledError, ConfigurationError } from '../errors.js';
import type { Logger } from '../platform/types.js';

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the process (SIGTERM, then SIGKILL after `killGraceMs`) when it runs longer than this. */
  timeoutMs?: number;
  killGraceMs?: number;
  /** Aborting sends the child SIGTERM (or the signal carried by a {@link CancelledError} reason). */
  signal?: AbortSignal;
  /** Written to the child's stdin, which is then closed. */
  input?: string | Buffer;
  /** Stream the child's output, line by line, to this logger (already redacted by the platform). */
  logger?: Logger;
  /** Do not throw on a non-zero exit; the caller reads `exitCode`. */
  allowFailure?: boolean;
  /** Cap on captured bytes per stream (the tail is kept). Default 4 MiB. */
  maxCapture?: number;
}

export interface ExecResult {
  command: string;
  args: readonly string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

export class ExecError extends Error {
  override readonly name = 'ExecError';
  constructor(
    message: string,
    readonly result: ExecResult,
  ) {
    super(message);
  }
}

/** Quote an argv for display only (never executed through a shell). */
export function displayCommand(command: string, args: readonly string[]): string {
  return [command, ...args]
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/**
 * Run a program with an argument array: never a shell, so no value can be interpreted as shell syntax.
 * Output is captured (and optionally streamed to a logger line by line).
 */
export function exec(command: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const started = Date.now();
  const max = opts.maxCapture ?? 4 * 1024 * 1024;
  return new Promise((resolvePromise, reject) => {
    if (opts.signal?.aborted) {
      reject(opts.signal.reason instanceof Error ? opts.signal.reason : new CancelledError());
      return;
    }
    const child = process.getBuiltinModule('node:child_process').spawn(command, [...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      shell: false,
      windowsHide: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let cancelled: Error | undefined;
    const partial = { stdout: '', stderr: '' };
    const collect = (which: 'stdout' | 'stderr', chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (which === 'stdout') stdout = (stdout + text).slice(-max);
      else stderr = (stderr + text).slice(-max);
      if (opts.logger) {
        const lines = (partial[which] + text).split('\n');
        partial[which] = lines.pop() ?? '';
        for (const l of lines) opts.logger.info(l.replace(/\r$/, ''));
      }
    };
    child.stdout.on('data', (c: Buffer) => collect('stdout', c));
    child.stderr.on('data', (c: Buffer) => collect('stderr', c));

    let killTimer: NodeJS.Timeout | undefined;
    /**
     * The child, and its process group when it leads one (GNU `timeout` does, for the command it runs): a
     * grandchild left holding the output pipes would keep `close` from firing until it ends by itself.
     */
    const signal = (sig: NodeJS.Signals) => {
      if (child.pid !== undefined)
        try {
          process.kill(-child.pid, sig);
        } catch {
          // not a group leader (ESRCH), or already gone
        }
      child.kill(sig);
    };
    const kill = (sig: NodeJS.Signals) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signal(sig);
      killTimer ??= setTimeout(() => signal('SIGKILL'), opts.killGraceMs ?? 5000);
      killTimer.unref();
    };
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            kill('SIGTERM');
          }, opts.timeoutMs)
        : undefined;
    const onAbort = () => {
      const reason = opts.signal?.reason;
      cancelled = reason instanceof Error ? reason : new CancelledError();
      kill(reason instanceof CancelledError && reason.signal !== 'abort' ? reason.signal : 'SIGTERM');
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err.code === 'ENOENT')
        reject(new ConfigurationError(`'${command}' was not found on PATH; install it or put it on PATH.`));
      else reject(err);
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.logger)
        for (const w of ['stdout', 'stderr'] as const) if (partial[w]) opts.logger.info(partial[w]);
      const result: ExecResult = {
        command,
        args,
        exitCode: code,
        signal: sig,
        stdout,
        stderr,
        durationMs: Date.now() - started,
        timedOut,
      };
      if (cancelled) return reject(cancelled);
      if (timedOut)
        return reject(
          new ExecError(`${command} timed out after ${opts.timeoutMs}ms and was stopped`, result),
        );
      if (code !== 0 && !opts.allowFailure) {
        const tail = (stderr || stdout).trim().split('\n').slice(-5).join('\n');
        return reject(
          new ExecError(`${command} exited with ${code ?? sig}${tail ? `:\n${tail}` : ''}`, result),
        );
      }
      resolvePromise(result);
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}
