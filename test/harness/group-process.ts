/**
 * A child process in a process group of its own (gitlab-ci-local and the jobs it starts): its output collected, a
 * deadline that kills the whole group, and the groups still running killed at the end of a test file.
 */
import { spawn } from 'node:child_process';

export interface GroupRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** stdout then stderr, colour codes removed. */
  log: string;
  timedOut: boolean;
}

/** Process groups started here and still running. */
const live = new Set<number>();

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Kills every group still running (an afterAll: a test that gave up on one must not leave its jobs behind). */
export function killLiveGroups(): void {
  for (const pid of live) killGroup(pid);
  live.clear();
}

/** Runs `command args` in its own process group; after `timeoutMs` the group is killed and `timedOut` set. */
export function runGroup(
  command: string,
  args: readonly string[],
  o: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<GroupRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      cwd: o.cwd,
      env: o.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a deadline kills the jobs it started too
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const pid = child.pid;
    if (pid) live.add(pid);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      if (pid) killGroup(pid);
    }, o.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      if (pid) live.delete(pid);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (pid) live.delete(pid);
      // eslint-disable-next-line no-control-regex
      const log = (stdout + stderr).replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
      resolve({ exitCode: code, stdout, stderr, log, timedOut });
    });
  });
}
