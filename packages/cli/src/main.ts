/**
 * `kiln`: run any Kiln action from GitLab CI or a terminal, with the same code the GitHub Actions run.
 *
 *   kiln help | --help            list the actions
 *   kiln --version
 *   kiln <action> --help          the action's inputs and outputs
 *   kiln <action> --input value … [--json]
 */
import {
  didYouMean,
  EXIT_CODES,
  KILN_VERSION,
  runAction,
  terminalWidth,
  wrapIndented,
} from '@kiln/core/start';
import { actionNames, isActionName, loadAction, loadActions } from './actions.js';

export async function usage(columns = terminalWidth()): Promise<string> {
  const actions = await loadActions();
  const width = Math.max(...actions.map((a) => a.spec.name.length));
  return [
    `kiln ${KILN_VERSION}: composable CI actions for immutable-image delivery`,
    '',
    'Usage: kiln <action> [--input value ...] [--json]',
    '       kiln <action> --help',
    '       kiln --version',
    '',
    'Actions:',
    ...actions.flatMap((a) =>
      wrapIndented(a.spec.description, columns, `  ${a.spec.name.padEnd(width)}  `, width + 4),
    ),
    '',
    ...wrapIndented(
      "Inputs are also read from KILN_<ACTION>_<INPUT> (or, where unambiguous, KILN_<INPUT>) environment variables: see 'kiln <action> --help'. On GitLab CI (GITLAB_CI=true) outputs are written to a dotenv file (KILN_DOTENV, default kiln.env) for artifacts:reports:dotenv.",
      columns,
      '',
      0,
    ),
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    const topic = command === 'help' ? rest[0] : undefined;
    if (topic && !isActionName(topic)) {
      process.stderr.write(
        `error: unknown action '${topic}'.${didYouMean(topic, actionNames)}\n\n${await usage()}\n`,
      );
      return EXIT_CODES.badInput;
    }
    if (topic) return runAction(await loadAction(topic as never), { argv: ['--help'] });
    process.stdout.write((await usage()) + '\n');
    return command === undefined ? EXIT_CODES.badInput : EXIT_CODES.ok;
  }
  if (command === '--version' || command === 'version') {
    process.stdout.write(`kiln ${KILN_VERSION}\n`);
    return 0;
  }
  if (!isActionName(command)) {
    const hint = didYouMean(command, actionNames);
    process.stderr.write(
      `error: unknown action '${command}'${hint ? `.${hint}` : ';'} Expected one of: ${actionNames.join(', ')}.\n`,
    );
    return EXIT_CODES.badInput;
  }
  return runAction(await loadAction(command), { argv: rest });
}
