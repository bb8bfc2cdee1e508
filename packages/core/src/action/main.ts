/**
 * The one entry point every bundle calls (each action's dist/<name>/index.js and the `kiln` CLI): run, set the
 * process's exit code, then close kept-alive connections rather than wait for the servers to close them.
 */
import { closeHttpPools } from '../http/http.js';
import { runAction, type ActionDefinition } from './run.js';

export async function runMain(
  what: ActionDefinition | ((argv: readonly string[]) => Promise<number>),
  argv: readonly string[] = process.argv.slice(2),
): Promise<number> {
  const code = typeof what === 'function' ? await what(argv) : await runAction(what, { argv });
  process.exitCode = code;
  await closeHttpPools();
  return code;
}
