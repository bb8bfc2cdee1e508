/** Run a TypeScript fixture in a child process (with tsx), capturing everything it prints. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './runner.js';

export interface ChildResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export function runNode(
  args: string[],
  opts: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    node?: string;
    signalWhen?: { text: string; signal: NodeJS.Signals };
  } = {},
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(opts.node ?? process.execPath, args, {
      cwd: opts.cwd ?? repoRoot,
      env: opts.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    let sent = false;
    const check = () => {
      if (opts.signalWhen && !sent && (stdout + stderr).includes(opts.signalWhen.text)) {
        sent = true;
        child.kill(opts.signalWhen.signal);
      }
    };
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      check();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      check();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ exitCode: code, stdout, stderr }));
  });
}

export function runTsx(
  script: string,
  args: string[] = [],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<ChildResult> {
  return runNode(
    [join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(repoRoot, script), ...args],
    opts,
  );
}
