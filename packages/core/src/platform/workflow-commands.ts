/**
 * The GitHub runner's workflow commands (`::warning file=…::message`) and file commands (GITHUB_OUTPUT and
 * GITHUB_STATE, as `name<<ghadelimiter_<uuid>` heredocs): the part of `@actions/core` 3.0.1 (MIT) that
 * github.ts uses, written as it writes them. Importing `@actions/core` itself loads its OIDC client, and with
 * it @actions/http-client and undici (~420 KB, about 50 ms per start): on every run, before the first input
 * was read.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { EOL } from 'node:os';
import type { AnnotationProps } from './types.js';

type CommandProperties = Record<string, string | number | undefined>;

function toCommandValue(input: unknown): string {
  if (input === null || input === undefined) return '';
  if (typeof input === 'string' || input instanceof String) return String(input);
  return JSON.stringify(input);
}

function escapeData(s: unknown): string {
  return toCommandValue(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(s: unknown): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** `::command key=value,…::message` on stdout; properties without a value are left out. */
export function issueCommand(command: string, properties: CommandProperties, message: unknown): void {
  const props = Object.entries(properties)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}=${escapeProperty(v)}`)
    .join(',');
  process.stdout.write(
    `::${command || 'missing.command'}${props ? ` ${props}` : ''}::${escapeData(message)}${EOL}`,
  );
}

function toCommandProperties(p: AnnotationProps): CommandProperties {
  if (Object.keys(p).length === 0) return {};
  return {
    title: p.title,
    file: p.file,
    line: p.startLine,
    endLine: p.endLine,
    col: p.startColumn,
    endColumn: p.endColumn,
  };
}

function issueFileCommand(command: 'OUTPUT' | 'STATE', message: string): void {
  const file = process.env[`GITHUB_${command}`];
  if (!file) throw new Error(`Unable to find environment variable for file command ${command}`);
  if (!existsSync(file)) throw new Error(`Missing file at path: ${file}`);
  appendFileSync(file, `${message}${EOL}`, { encoding: 'utf8' });
}

function keyValueMessage(key: string, value: unknown): string {
  // node:crypto is loaded here, when an output is written, not at start (2-3 ms of every run's start-up).
  const { randomUUID } = process.getBuiltinModule('node:crypto');
  const delimiter = `ghadelimiter_${randomUUID()}`;
  const converted = toCommandValue(value);
  if (key.includes(delimiter))
    throw new Error(`Unexpected input: name should not contain the delimiter "${delimiter}"`);
  if (converted.includes(delimiter))
    throw new Error(`Unexpected input: value should not contain the delimiter "${delimiter}"`);
  return `${key}<<${delimiter}${EOL}${converted}${EOL}${delimiter}`;
}

export function isDebug(): boolean {
  return process.env.RUNNER_DEBUG === '1';
}

export function debug(message: string): void {
  issueCommand('debug', {}, message);
}

export function info(message: string): void {
  process.stdout.write(message + EOL);
}

export function notice(message: string, props: AnnotationProps = {}): void {
  issueCommand('notice', toCommandProperties(props), message);
}

export function warning(message: string, props: AnnotationProps = {}): void {
  issueCommand('warning', toCommandProperties(props), message);
}

export function error(message: string, props: AnnotationProps = {}): void {
  issueCommand('error', toCommandProperties(props), message);
}

export function startGroup(name: string): void {
  issueCommand('group', {}, name);
}

export function endGroup(): void {
  issueCommand('endgroup', {}, '');
}

export async function group<T>(name: string, fn: () => Promise<T>): Promise<T> {
  startGroup(name);
  try {
    return await fn();
  } finally {
    endGroup();
  }
}

/** The step's output: through GITHUB_OUTPUT, or the deprecated `::set-output` command without it. */
export function setOutput(name: string, value: unknown): void {
  if (process.env.GITHUB_OUTPUT) return issueFileCommand('OUTPUT', keyValueMessage(name, value));
  process.stdout.write(EOL);
  issueCommand('set-output', { name }, toCommandValue(value));
}

/** State for the `post` step: through GITHUB_STATE, or the deprecated `::save-state` command without it. */
export function saveState(name: string, value: unknown): void {
  if (process.env.GITHUB_STATE) return issueFileCommand('STATE', keyValueMessage(name, value));
  issueCommand('save-state', { name }, toCommandValue(value));
}
