/**
 * `kiln`: run any Kiln action from GitLab CI or a terminal, with the same code the GitHub Actions run.
 *
 *   kiln help | --help            list the actions
 *   kiln --version
 *   kiln <action> --help          the action's inputs and outputs
 *   kiln <action> --input value … [--json]
 */
import { KILN_VERSION, runAction } from '@kiln/core';
import { actions, findAction } from './actions.js';

export function usage(): string {
  const width = Math.max(...actions.map((a) => a.spec.name.length));
  return [
    `kiln ${KILN_VERSION}: composable CI actions for immutable-image delivery`,
    '',
    'Usage: kiln <action> [--input value ...] [--json]',
    '       kiln <action> --help',
    '       kiln --version',
    '',
    'Actions:',
    ...actions.map((a) => `  ${a.spec.name.padEnd(width)}  ${a.spec.description}`),
    '',
    'Inputs are also read from KILN_<INPUT_NAME> environment variables. On GitLab CI (GITLAB_CI=true)',
    'outputs are written to a dotenv file (KILN_DOTENV, default kiln.env) for artifacts:reports:dotenv.',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    const topic = command === 'help' ? rest[0] : undefined;
    const action = topic ? findAction(topic) : undefined;
    if (topic && !action) {
      process.stderr.write(`error: unknown action '${topic}'.\n\n${usage()}\n`);
      return 1;
    }
    if (action) return runAction(action, { argv: ['--help'] });
    process.stdout.write(usage() + '\n');
    return command === undefined ? 1 : 0;
  }
  if (command === '--version' || command === 'version') {
    process.stdout.write(`kiln ${KILN_VERSION}\n`);
    return 0;
  }
  const action = findAction(command);
  if (!action) {
    process.stderr.write(
      `error: unknown action '${command}'; expected one of: ${actions.map((a) => a.spec.name).join(', ')}.\n`,
    );
    return 1;
  }
  return runAction(action, { argv: rest });
}
