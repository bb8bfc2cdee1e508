/**
 * The GitHub runner's protocol, as GitHub documents it ("Workflow commands for GitHub Actions"): commands on
 * stdout (`::warning file=app.js,line=1,title=…::message`, `::group::`, `::debug::`), with `%`, CR and LF escaped in
 * the message and also `:` and `,` in property values; outputs and state appended to the files GITHUB_OUTPUT and
 * GITHUB_STATE name, each value in the multi-line form `name<<DELIMITER … DELIMITER` with a delimiter the value
 * cannot contain.
 *
 * Kiln writes this itself instead of importing `@actions/core`: that package loads its OIDC client at import, and
 * with it @actions/http-client and undici (~420 KB), about 50 ms of every action's start before its first input
 * is read (measured side by side in bench/startup.ts; see the README's "Start fast"). The output format is the
 * one the runner parses; test/harness/runner.ts reads it with the runner's grammar.
 */
import { appendFileSync } from 'node:fs';
import type { AnnotationProps } from './types.js';

/** A message: `%`, CR and LF escaped so one command stays one line. */
export function escapeMessage(text: string): string {
  return text.replace(/[%\r\n]/g, (c) => (c === '%' ? '%25' : c === '\r' ? '%0D' : '%0A'));
}

/** A property value: as a message, plus `:` and `,`, which separate properties. */
function escapeProperty(text: string): string {
  return escapeMessage(text).replace(/[:,]/g, (c) => (c === ':' ? '%3A' : '%2C'));
}

/** Write `::name props::message` (properties without a value are left out). */
export function workflowCommand(
  name: string,
  message: string,
  props: Record<string, string | number | undefined> = {},
): void {
  const list = Object.entries(props)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${escapeProperty(String(v))}`);
  process.stdout.write(`::${name}${list.length ? ` ${list.join(',')}` : ''}::${escapeMessage(message)}\n`);
}

/** An annotation's position and title as the runner's property names. */
function annotation(p: AnnotationProps = {}): Record<string, string | number | undefined> {
  return {
    title: p.title,
    file: p.file,
    line: p.startLine,
    endLine: p.endLine,
    col: p.startColumn,
    endColumn: p.endColumn,
  };
}

const warned = new Set<string>();

/**
 * Append `name=value` to the runner's file (GITHUB_OUTPUT or GITHUB_STATE) in the multi-line form; the delimiter
 * is random and checked against the value, so no value can end the block early or add a key.
 */
function appendKeyValue(variable: 'GITHUB_OUTPUT' | 'GITHUB_STATE', name: string, value: string): void {
  const file = process.env[variable];
  if (!file) {
    // Every runner since 2.297 sets it; without one (a step run by hand) the values are not recorded, and the
    // action's work is not failed for it.
    if (!warned.has(variable)) {
      warned.add(variable);
      workflowCommand(
        'warning',
        `${variable} is not set: ${variable === 'GITHUB_OUTPUT' ? 'outputs' : 'state'} are not recorded.`,
      );
    }
    return;
  }
  // node:crypto is loaded when a value is written, not at start.
  const { randomBytes } = process.getBuiltinModule('node:crypto');
  const delimiter = `KILN_EOF_${randomBytes(16).toString('hex')}`;
  if (name.includes(delimiter) || value.includes(delimiter))
    throw new Error(`the ${variable} delimiter occurs in '${name}'`);
  appendFileSync(file, `${name}<<${delimiter}\n${value}\n${delimiter}\n`, 'utf8');
}

export const isDebug = (): boolean => process.env.RUNNER_DEBUG === '1';
export const debug = (m: string): void => workflowCommand('debug', m);
export const info = (m: string): void => void process.stdout.write(`${m}\n`);
export const notice = (m: string, p?: AnnotationProps): void => workflowCommand('notice', m, annotation(p));
export const warning = (m: string, p?: AnnotationProps): void => workflowCommand('warning', m, annotation(p));
export const error = (m: string, p?: AnnotationProps): void => workflowCommand('error', m, annotation(p));
export const startGroup = (title: string): void => workflowCommand('group', title);
export const endGroup = (): void => workflowCommand('endgroup', '');

export async function group<T>(title: string, fn: () => Promise<T>): Promise<T> {
  startGroup(title);
  try {
    return await fn();
  } finally {
    endGroup();
  }
}

/** The step's output, through GITHUB_OUTPUT. */
export const setOutput = (name: string, value: string): void => appendKeyValue('GITHUB_OUTPUT', name, value);
/** State for the `post` step, through GITHUB_STATE. */
export const saveState = (name: string, value: string): void => appendKeyValue('GITHUB_STATE', name, value);
