import { kilnEnvNames, terminalWidth } from '../platform/base.js';
import { wrapText } from '../platform/summary.js';
import { describeType, type ActionSpec } from './spec.js';

/** `text` wrapped to `width` columns: the first line after `first`, the others after `indent` spaces. */
export function wrapIndented(text: string, width: number, first: string, indent: number): string[] {
  const room = Math.max(20, width - Math.max(first.length, indent));
  return wrapText(text, room).map((l, i) => (i === 0 ? first : ' '.repeat(indent)) + l);
}

/**
 * `kiln <action> --help`, generated from the declaration, within `width` columns (default: the terminal's, or
 * `COLUMNS`, or 100 when not a terminal).
 */
export function actionHelp(spec: ActionSpec, width = terminalWidth()): string {
  const out: string[] = [];
  out.push(...wrapIndented(`${spec.description}`, width, `kiln ${spec.name}: `, 2), '');
  out.push(...wrapIndented(`kiln ${spec.name} [--input value ...] [--json]`, width, 'Usage: ', 7), '');
  out.push(...wrapIndented('Inputs (each also read from the environment variable shown):', width, '', 0));
  for (const [name, d] of Object.entries(spec.inputs)) {
    const flag = d.type === 'boolean' ? `--${name}[=true|false]` : `--${name} <${describeType(d)}>`;
    const tags = [
      d.required ? 'required' : undefined,
      d.default !== undefined ? `default: ${d.default}` : undefined,
      d.secret ? 'secret' : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    out.push(...wrapIndented(flag, width, '  ', 4));
    out.push(...wrapIndented(d.description + (tags ? ` (${tags})` : ''), width, '      ', 6));
    const [scoped, bare] = kilnEnvNames(name, spec.name);
    out.push(...wrapIndented(bare ? `${bare} (or ${scoped})` : `${scoped}`, width, '      env: ', 11));
  }
  out.push('', 'Outputs:');
  const keyWidth = Math.max(...Object.keys(spec.outputs).map((k) => k.length));
  // Descriptions beside the names while that leaves room for them, else under each name.
  const beside = width - (keyWidth + 4) >= 30;
  for (const [name, d] of Object.entries(spec.outputs)) {
    if (beside) out.push(...wrapIndented(d.description, width, `  ${name.padEnd(keyWidth)}  `, keyWidth + 4));
    else out.push(`  ${name}`, ...wrapIndented(d.description, width, '      ', 6));
  }
  out.push('', 'Global flags:');
  out.push(
    ...wrapIndented(
      'print the outputs as one JSON object on stdout (logs go to stderr)',
      width,
      '  --json     ',
      13,
    ),
  );
  out.push(...wrapIndented('this text', width, '  --help     ', 13), '');
  out.push(
    ...wrapIndented(
      'On GitLab CI (GITLAB_CI=true) outputs go to a dotenv file (KILN_DOTENV, default kiln.env) for artifacts:reports:dotenv, and the summary to kiln-summary.md.',
      width,
      '',
      0,
    ),
  );
  return out.join('\n');
}
