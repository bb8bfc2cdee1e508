/**
 * Runs `skopeo` (a real registry client) isolated from the user's configuration: its own HOME, auth file and
 * runtime dir in a temp dir, `--insecure-policy` (no `/etc/containers/policy.json` needed).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, ExecError, removeDir, which, type ExecResult } from './util.js';

/** True when `skopeo` is on PATH. */
export function skopeoAvailable(): boolean {
  return which('skopeo') !== undefined;
}

/** A sandbox for skopeo runs; `close()` deletes it. */
export interface Skopeo {
  /** Runs `skopeo --insecure-policy <args>`; rejects with an {@link ExecError} on a non-zero exit. */
  run(args: string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Like `run`, but resolves with the exit code and output instead of rejecting. */
  tryRun(args: string[], opts?: { timeoutMs?: number }): Promise<ExecResult & { code: number }>;
  /**
   * `skopeo copy` to a plain-http registry: `--dest-tls-verify=false`, `--retry-times 0` unless given,
   * `--dest-creds user:pass` when `creds` is given.
   */
  copyTo(
    src: string,
    dest: string,
    opts?: { creds?: string; retryTimes?: number; extra?: string[]; timeoutMs?: number },
  ): Promise<ExecResult & { code: number }>;
  close(): Promise<void>;
}

/** Creates an isolated skopeo sandbox. */
export async function createSkopeo(): Promise<Skopeo> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-skopeo-'));
  const authFile = join(dir, 'auth.json');
  await writeFile(authFile, JSON.stringify({ auths: {} }));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    XDG_RUNTIME_DIR: dir,
    XDG_CONFIG_HOME: join(dir, '.config'),
    REGISTRY_AUTH_FILE: authFile,
    TMPDIR: dir,
  };
  const run = (args: string[], opts: { timeoutMs?: number } = {}) =>
    exec('skopeo', ['--insecure-policy', ...args], { env, timeoutMs: opts.timeoutMs ?? 60_000 });
  const tryRun = async (args: string[], opts: { timeoutMs?: number } = {}) => {
    try {
      return { ...(await run(args, opts)), code: 0 };
    } catch (err) {
      if (err instanceof ExecError) {
        return { stdout: err.stdout, stderr: err.stderr, code: typeof err.code === 'number' ? err.code : -1 };
      }
      throw err;
    }
  };
  return {
    run,
    tryRun,
    copyTo: (src, dest, opts = {}) =>
      tryRun(
        [
          'copy',
          '--dest-tls-verify=false',
          '--retry-times',
          String(opts.retryTimes ?? 0),
          ...(opts.creds ? ['--dest-creds', opts.creds] : []),
          ...(opts.extra ?? []),
          src,
          dest,
        ],
        { timeoutMs: opts.timeoutMs },
      ),
    close: () => removeDir(dir),
  };
}
