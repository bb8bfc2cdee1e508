/**
 * The one entry point every bundle calls (each action's dist/<name>/index.js and the `kiln` CLI): run, set the
 * process's exit code, then close kept-alive connections rather than wait for the servers to close them.
 */
// The pools alone, not the HTTP layer: a run that made no request must not load Node's HTTP stack to close none.
import { closeHttpPools } from '../http/pools.js';
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
