/**
 * Runs an action the way GitHub's runner does (actions/runner NodeScriptActionHandler + FileCommandManager):
 * reads action.yml, merges input defaults, sets `INPUT_<NAME>` (upper-cased, spaces → `_`, dashes kept), gives
 * the step fresh GITHUB_OUTPUT/STATE/ENV/PATH/STEP_SUMMARY files, runs the committed bundle
 * (`node <action dir>/<runs.main>`) with cwd = GITHUB_WORKSPACE, then parses the files with the runner's grammar
 * and stdout for workflow commands. `post` runs with the saved state as `STATE_<name>`.
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  type Dirent,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Runtime {
  label: string;
  node: string;
}

/** This machine's Node (not the node@24 package npm puts first on PATH inside scripts). */
export function hostNode(): string {
  if (process.env.npm_node_execpath) return process.env.npm_node_execpath;
  if (!process.execPath.includes('node_modules')) return process.execPath;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir.includes('node_modules')) continue;
    const candidate = join(dir, 'node');
    if (existsSync(candidate)) return candidate;
  }
  return process.execPath;
}

/** Node 24 from the `node@24` npm package: the runtime `runs.using: node24` gets on GitHub. */
export const node24 = join(repoRoot, 'node_modules', 'node', 'bin', 'node');

export function runtimes(): Runtime[] {
  return [
    { label: 'host node', node: hostNode() },
    { label: 'node24', node: node24 },
  ];
}

export interface ActionMetadata {
  name: string;
  inputs?: Record<string, { description?: string; required?: boolean; default?: string }>;
  outputs?: Record<string, { description?: string }>;
  runs: { using: string; main: string; post?: string; pre?: string };
}

/** An action name (actions/<name>) or a path to a directory holding an action.yml. */
export function actionDirectory(action: string): string {
  return action.includes('/') ? resolve(repoRoot, action) : join(repoRoot, 'actions', action);
}

export function readActionMetadata(action: string): ActionMetadata {
  return parse(readFileSync(join(actionDirectory(action), 'action.yml'), 'utf8')) as ActionMetadata;
}

/** The runner's file-command grammar: `K=V`, or `K<<DELIM` … `DELIM`. Throws where the runner would fail. */
export function parseFileCommands(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') continue;
    const eq = line.indexOf('=');
    const heredoc = line.indexOf('<<');
    if (eq >= 0 && (heredoc < 0 || eq < heredoc)) {
      const key = line.slice(0, eq);
      if (!key) throw new Error(`Invalid format '${line}'. Name must not be empty`);
      out.set(key, line.slice(eq + 1));
    } else if (heredoc >= 0 && (eq < 0 || heredoc < eq)) {
      const key = line.slice(0, heredoc);
      const delim = line.slice(heredoc + 2);
      if (!key || !delim) throw new Error(`Invalid format '${line}'`);
      const value: string[] = [];
      let closed = false;
      for (i++; i < lines.length; i++) {
        if (lines[i] === delim) {
          closed = true;
          break;
        }
        value.push(lines[i] as string);
      }
      if (!closed) throw new Error(`Invalid value. Matching delimiter not found '${delim}'`);
      out.set(key, value.join('\n'));
    } else throw new Error(`Invalid format '${line}'`);
  }
  return out;
}

export interface WorkflowCommand {
  command: string;
  properties: Record<string, string>;
  message: string;
}

function unescape(s: string): string {
  return s
    .replace(/%0D/g, '\r')
    .replace(/%0A/g, '\n')
    .replace(/%3A/g, ':')
    .replace(/%2C/g, ',')
    .replace(/%25/g, '%');
}

/**
 * Workflow commands on stdout, as the runner reads them (ActionCommand.TryParseV2 / TryParse): a line whose text,
 * after leading white space, is `::command key=value,key=value::message`, and the old form `##[command
 * key=value;…]message` anywhere in a line (reported with `legacy: 'true'` among its properties).
 */
export function parseWorkflowCommands(stdout: string): WorkflowCommand[] {
  const out: WorkflowCommand[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.trimStart();
    const legacy = /##\[([a-z-]+)(?:\s+([^\]]*))?\](.*)$/.exec(raw);
    if (legacy) {
      const properties: Record<string, string> = { legacy: 'true' };
      for (const kv of (legacy[2] ?? '').split(';').filter(Boolean)) {
        const i = kv.indexOf('=');
        properties[kv.slice(0, i).trim()] = kv.slice(i + 1);
      }
      out.push({ command: legacy[1] as string, properties, message: legacy[3] ?? '' });
      continue;
    }
    const m = /^::([a-z-]+)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!m) continue;
    const properties: Record<string, string> = {};
    for (const kv of (m[2] ?? '').split(',').filter(Boolean)) {
      const i = kv.indexOf('=');
      properties[kv.slice(0, i)] = unescape(kv.slice(i + 1));
    }
    out.push({ command: m[1] as string, properties, message: unescape(m[3] ?? '') });
  }
  return out;
}

export interface RunOptions {
  /** `with:` values, by input name as written in action.yml. */
  with?: Record<string, string>;
  /** Extra environment variables (e.g. `INPUT_TIMEOUT` to bypass `with`). */
  env?: Record<string, string>;
  node?: string;
  /** Run the `post` entry point instead of `main`, with this state. */
  post?: { state: Map<string, string> };
  /** Send this signal once stdout contains the text. */
  signalWhen?: { text: string; signal: NodeJS.Signals };
  timeoutMs?: number;
  workspace?: string;
}

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  outputs: Map<string, string>;
  state: Map<string, string>;
  envFile: Map<string, string>;
  summary: string;
  commands: WorkflowCommand[];
  /** Warnings the runner itself would print (unknown inputs). */
  runnerWarnings: string[];
  dir: string;
  workspace: string;
  /** Every file the step left in its temp dir and workspace, by path → content. */
  files(): Map<string, string>;
}

/** Run the committed bundle dist/<action>/index.js as the GitHub runner does (INPUT_* variables, GITHUB_* files). */
export async function runBundle(action: string, opts: RunOptions = {}): Promise<RunResult> {
  const meta = readActionMetadata(action);
  const dir = mkdtempSync(join(tmpdir(), `kiln-harness-${action.replace(/\W+/g, '-')}-`));
  const workspace = opts.workspace ?? join(dir, 'workspace');
  mkdirSync(workspace, { recursive: true });
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STATE: join(dir, 'state'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_PATH: join(dir, 'path'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');

  // Inputs: declared defaults first, then `with:` values; unknown inputs only warn, as on the runner.
  const env: Record<string, string> = {};
  const runnerWarnings: string[] = [];
  for (const [name, decl] of Object.entries(meta.inputs ?? {}))
    if (decl.default !== undefined)
      env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = String(decl.default);
  for (const [name, value] of Object.entries(opts.with ?? {})) {
    if (!(meta.inputs && name in meta.inputs)) runnerWarnings.push(`Unexpected input(s) '${name}'`);
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  const actionDir = actionDirectory(action);
  const entry = resolve(actionDir, opts.post ? (meta.runs.post as string) : meta.runs.main);
  if (!existsSync(entry)) throw new Error(`runs.${opts.post ? 'post' : 'main'} not found: ${entry}`);
  const state: Record<string, string> = {};
  for (const [k, v] of opts.post?.state ?? []) state[`STATE_${k}`] = v;

  const childEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_ACTION_PATH: actionDir,
    GITHUB_REPOSITORY: 'example/app',
    GITHUB_RUN_ID: '4242',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_SERVER_URL: 'https://github.com',
    RUNNER_TEMP: dir,
    ...files,
    ...env,
    ...state,
    ...opts.env,
  };

  const { exitCode, signal, stdout, stderr } = await new Promise<{
    exitCode: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolvePromise, reject) => {
    const child = spawn(opts.node ?? hostNode(), [entry], { cwd: workspace, env: childEnv });
    let out = '';
    let err = '';
    let signalled = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (opts.signalWhen && !signalled && out.includes(opts.signalWhen.text)) {
        signalled = true;
        child.kill(opts.signalWhen.signal);
      }
    });
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolvePromise({ exitCode: code, signal: sig, stdout: out, stderr: err });
    });
  });

  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  return {
    exitCode,
    signal,
    stdout,
    stderr,
    outputs: parseFileCommands(read(files.GITHUB_OUTPUT)),
    state: parseFileCommands(read(files.GITHUB_STATE)),
    envFile: parseFileCommands(read(files.GITHUB_ENV)),
    summary: read(files.GITHUB_STEP_SUMMARY),
    commands: parseWorkflowCommands(stdout),
    runnerWarnings,
    dir,
    workspace,
    files: () => listFiles(dir),
  };
}

/** Every regular file below `dir`, path → content (for "no secret left behind" scans). */
export function listFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSyncSafe(d)) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) out.set(p, readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

function readdirSyncSafe(d: string): Dirent[] {
  try {
    return readdirSync(d, { withFileTypes: true });
  } catch {
    return [];
  }
}
