import { kilnEnvNames } from '../platform/base.js';
import { describeType, type ActionSpec } from './spec.js';

function wrap(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : indent + l)).join('\n');
}

/** `kiln <action> --help`, generated from the declaration. */
export function actionHelp(spec: ActionSpec): string {
  const out: string[] = [];
  out.push(`kiln ${spec.name}: ${spec.description}`, '');
  out.push(`Usage: kiln ${spec.name} [--input value ...] [--json]`, '');
  out.push('Inputs (each also read from the environment variable shown):');
  for (const [name, d] of Object.entries(spec.inputs)) {
    const flag = d.type === 'boolean' ? `--${name}[=true|false]` : `--${name} <${describeType(d)}>`;
    const tags = [
      d.required ? 'required' : undefined,
      d.default !== undefined ? `default: ${d.default}` : undefined,
      d.secret ? 'secret' : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    out.push(`  ${flag}`);
    out.push(`      ${wrap(d.description + (tags ? ` (${tags})` : ''), 90, '      ')}`);
    const [scoped, bare] = kilnEnvNames(name, spec.name);
    out.push(`      env: ${bare ? `${bare} (or ${scoped})` : scoped}`);
  }
  out.push('', 'Outputs:');
  const width = Math.max(...Object.keys(spec.outputs).map((k) => k.length));
  for (const [name, d] of Object.entries(spec.outputs))
    out.push(`  ${name.padEnd(width)}  ${wrap(d.description, 80, ' '.repeat(width + 4))}`);
  out.push(
    '',
    'Global flags:',
    '  --json     print the outputs as one JSON object on stdout (logs go to stderr)',
    '  --help     this text',
    '',
    'On GitLab CI (GITLAB_CI=true) outputs go to a dotenv file (KILN_DOTENV, default kiln.env) for',
    'artifacts:reports:dotenv, and the summary to kiln-summary.md.',
  );
  return out.join('\n');
}
