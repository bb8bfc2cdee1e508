/**
 * Runs a GitHub workflow file the way GitHub would, as far as a test needs, with GitHub's own code where GitHub
 * publishes it:
 *
 * - **Loaded and validated** by `@actions/workflow-parser` (the workflow schema, expression syntax, the contexts each
 *   key allows; errors fail) and `@actions/languageservice`'s `validate` (what the VS Code extension shows: every
 *   `with:` key checked against the action's inputs — ours from actions/<name>/action.yml, third-party ones from the
 *   table below —, reusable-workflow inputs and secrets, step ids and outputs, `needs`, matrix keys, and the `vars` and
 *   `secrets` names the settings define). Every diagnostic fails, warnings included.
 * - **Run**: jobs in `needs` order (a job whose needs did not all succeed is skipped unless its `if:` says
 *   otherwise), simple matrices (a list per key, or `fromJSON(…)`) expanded and run one leg after the other (as
 *   `max-parallel: 1`; with `fail-fast`, a failed leg cancels the ones not started), `environment:` with its
 *   variables and secrets (a deployment review is modelled by `approve`, default approved), `concurrency:` and the
 *   environment evaluated and reported, `if:`, `with:`, `env:`, `run:`, job and workflow-call outputs evaluated by
 *   `@actions/expressions` with the contexts GitHub gives (`github`, `inputs`, `vars`, `secrets`, `env`, `needs`,
 *   `steps`, `matrix`, `strategy`, `runner`, `job`, `jobs`) and the status functions, reusable workflows
 *   (`uses: ./.github/workflows/x.yml`) run as nested jobs with their inputs, secrets and outputs.
 * - **Steps**: `uses: <owner>/kiln/actions/<name>@v1` runs the committed bundle through {@link runBundle} (the runner
 *   contract), its outputs fed back into `steps.<id>.outputs`; `run:` runs with bash (`bash --noprofile --norc -eo
 *   pipefail`, as GitHub's default shell); third-party actions have small documented stand-ins (see `standIns`).
 *   Each job leg gets a fresh workspace and home directory, as each job gets a fresh runner.
 *
 * Not modelled: `services`, `container`, `timeout-minutes`, `working-directory` defaults, step `shell:` other than
 * bash, job-level `continue-on-error`, parallel matrix legs and real concurrency queues (everything here runs one at
 * a time, which a concurrency group could only make more so).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Evaluator, Lexer, Parser, data } from '@actions/expressions';
import type { ExpressionData } from '@actions/expressions/data/expressiondata';
import {
  NoOperationTraceWriter,
  convertWorkflowTemplate,
  isBasicExpression,
  isBoolean,
  isMapping,
  isNumber,
  isSequence,
  isString,
  parseWorkflow,
  type WorkflowTemplate,
} from '@actions/workflow-parser';
import type { MappingToken } from '@actions/workflow-parser/templates/tokens/mapping-token';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import type { Job, ReusableWorkflowJob, Step } from '@actions/workflow-parser/model/workflow-template';
import { parse as parseYaml } from 'yaml';
import {
  parseFileCommands,
  parseWorkflowCommands,
  readActionMetadata,
  repoRoot,
  runBundle,
  type RunResult,
} from './runner.js';

/** `uses:` of Kiln's own actions, as the examples write them: `<owner>/kiln/actions/<name>@v1`. */
const KILN_ACTION = /^[^/]+\/kiln\/actions\/([a-z0-9-]+)@v1$/;

/**
 * Third-party actions the examples use: their inputs as their action.yml declares them (for validation), and what
 * the stand-in does instead of the action.
 */
const THIRD_PARTY: Record<string, { inputs: string[]; required?: string[] }> = {
  // actions/checkout@v4's inputs; the stand-in copies the repository's files (see `checkouts`) to `path`.
  'actions/checkout@v4': {
    inputs: [
      'repository',
      'ref',
      'token',
      'ssh-key',
      'ssh-known-hosts',
      'ssh-strict',
      'ssh-user',
      'persist-credentials',
      'path',
      'clean',
      'filter',
      'sparse-checkout',
      'sparse-checkout-cone-mode',
      'fetch-depth',
      'fetch-tags',
      'show-progress',
      'reference',
      'lfs',
      'submodules',
      'set-safe-directory',
      'github-server-url',
    ],
  },
  // docker/login-action@v3's inputs; the stand-in writes `auths` in $HOME/.docker/config.json as `docker login` does.
  'docker/login-action@v3': { inputs: ['registry', 'username', 'password', 'ecr', 'logout', 'attempts'] },
  // actions/upload-artifact@v4's inputs; the stand-in copies `path` to the run's artifacts/<name>/.
  'actions/upload-artifact@v4': {
    inputs: [
      'name',
      'path',
      'if-no-files-found',
      'retention-days',
      'compression-level',
      'overwrite',
      'include-hidden-files',
    ],
    required: ['path'],
  },
};

/** Repository or environment settings: Settings › Secrets and variables, Settings › Environments. */
export interface Settings {
  vars?: Record<string, string>;
  secrets?: Record<string, string>;
}

export interface EnvironmentSettings extends Settings {
  /** Required reviewers: the job waits for a person (here: `approve`). */
  reviewers?: string[];
}

export interface WorkflowRunOptions {
  /** The workflow file (its name is what GitHub shows; `text` may replace its content). */
  file: string;
  /** The content to run instead of the file's (a copy adapted by the test, e.g. its registry host). */
  text?: string;
  event: {
    name: 'push' | 'workflow_dispatch' | 'workflow_call' | string;
    /** workflow_dispatch inputs, as the form sends them (strings; booleans as `true`/`false`). */
    inputs?: Record<string, string>;
    payload?: Record<string, unknown>;
    /** Default `refs/heads/main`. */
    ref?: string;
    sha: string;
  };
  /** `owner/name` of the repository the workflow runs in. */
  repository: string;
  settings: Settings;
  environments?: Record<string, EnvironmentSettings>;
  /** What `actions/checkout` finds: repository (`owner/name`) → a directory whose files it copies. */
  checkouts: Record<string, string>;
  /** Reusable workflows a job may call: its `uses:` (`./.github/workflows/x.yml`, `o/r/…@v1`) → the file. */
  workflows?: Record<string, string>;
  /** A person reviewing a deployment to `environment` (with reviewers): true approves. Default: approved. */
  approve?: (environment: string, job: string) => boolean;
  /** Where runners' workspaces, homes and artifacts go. */
  work: string;
  actor?: string;
  runNumber?: number;
  stepTimeoutMs?: number;
}

export type Result = 'success' | 'failure' | 'cancelled' | 'skipped';

export interface StepReport {
  /** The step's id (`__actions_checkout` etc. when it has none, as GitHub names them). */
  id: string;
  name: string;
  uses?: string;
  outcome: Result;
  conclusion: Result;
  /** `with:` as evaluated. */
  with: Record<string, string>;
  outputs: Record<string, string>;
  /** The log as GitHub shows it: stdout and stderr, secrets and `::add-mask::` values replaced by `***`. */
  log: string;
  /** Kiln steps: what the bundle did (raw, unmasked). */
  run?: RunResult;
  /** run: steps: raw stdout and stderr. */
  raw?: { stdout: string; stderr: string };
  error?: string;
}

export interface JobReport {
  /** The job key (`production`), with the matrix values (`production (AA)`) and the caller's key (`pipeline/qa`). */
  id: string;
  name: string;
  result: Result;
  matrix?: Record<string, unknown>;
  environment?: string;
  /** `approved`, `rejected`, or undefined when no review was needed. */
  review?: 'approved' | 'rejected';
  concurrency?: string;
  outputs: Record<string, string>;
  steps: StepReport[];
  workspace?: string;
  home?: string;
  error?: string;
  /** What the runner would warn about the job (an output skipped because it holds a secret). */
  warnings: string[];
}

export interface WorkflowRun {
  result: Result;
  jobs: JobReport[];
  /** workflow_call outputs (a called workflow's run). */
  outputs: Record<string, string>;
  /** Jobs that called a reusable workflow (`uses:`), by id: its result and outputs (`needs.<id>.outputs`). */
  called: Record<string, { result: Result; outputs: Record<string, string> }>;
  /** A job (or matrix leg) by id; throws when there is none. */
  job(id: string): JobReport;
  /** A step of a job by id or name. */
  step(job: string, step: string): StepReport;
  /** Every step's log, masked, with `## job › step` headers. */
  log(): string;
}

/** A workflow as GitHub's parser loads it. */
export interface LoadedWorkflow {
  name: string;
  template: WorkflowTemplate;
  root: MappingToken;
}

function errorText(errors: { message?: string; rawMessage?: string }[]): string {
  return errors.map((e) => e.message ?? e.rawMessage).join('\n');
}

/** Parses and converts a workflow with `@actions/workflow-parser`; any error throws (one line each). */
export async function loadWorkflow(file: string, text?: string): Promise<LoadedWorkflow> {
  const content = text ?? readFileSync(file, 'utf8');
  const parsed = parseWorkflow({ name: basename(file), content }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors();
  if (errors.length || !parsed.value) throw new Error(`${basename(file)}: ${errorText(errors) || 'empty'}`);
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  const more = [
    ...parsed.context.errors.getErrors(),
    ...(template.errors ?? []).map((e) => ({ message: e.Message })),
  ];
  if (more.length) throw new Error(`${basename(file)}: ${errorText(more)}`);
  if (!isMapping(parsed.value)) throw new Error(`${basename(file)}: not a mapping`);
  return { name: basename(file), template, root: parsed.value };
}

let validations = 0;

export interface Diagnostic {
  line: number;
  message: string;
  severity: 'error' | 'warning' | 'information' | 'hint';
}

/**
 * `@actions/languageservice`'s diagnostics for a workflow: schema and expressions, `with:` keys against each action's
 * inputs (missing required ones too), reusable-workflow calls against the called file, and — when `vars`/`secrets`
 * are given — names that are not among them ("Context access might be invalid").
 */
export async function validateWorkflow(
  file: string,
  opts: { text?: string; workflows?: Record<string, string>; vars?: string[]; secrets?: string[] } = {},
): Promise<Diagnostic[]> {
  const { validate } = await import('@actions/languageservice');
  const { TextDocument } = await import('vscode-languageserver-textdocument');
  const { DescriptionDictionary } = await import('@actions/expressions');
  const content = opts.text ?? readFileSync(file, 'utf8');
  // A called workflow's own secrets (the validator lists them only for completion).
  const on = (parseYaml(content) as { on?: { workflow_call?: { secrets?: Record<string, unknown> } } }).on;
  const declared = Object.keys(on?.workflow_call?.secrets ?? {});
  // The service caches what it parsed by URI: a fresh one per call, so an edited copy is read anew.
  const doc = TextDocument.create(
    `file:///repo-${++validations}/.github/workflows/${basename(file)}`,
    'yaml',
    1,
    content,
  );
  const named = (names: string[], existing?: InstanceType<typeof DescriptionDictionary>) => {
    const d = new DescriptionDictionary();
    for (const p of existing?.pairs() ?? []) d.add(p.key, p.value);
    for (const n of names) d.add(n, new data.StringData(''));
    d.complete = true;
    return d;
  };
  const diagnostics = await validate(doc, {
    actionsMetadataProvider: {
      fetchActionMetadata: async (ref) => {
        const uses = `${ref.owner}/${ref.name}${ref.path ? `/${ref.path}` : ''}@${ref.ref}`;
        const kiln = KILN_ACTION.exec(uses);
        if (kiln) {
          const meta = readActionMetadata(kiln[1] as string);
          return {
            name: meta.name,
            description: '',
            inputs: Object.fromEntries(
              Object.entries(meta.inputs ?? {}).map(([k, v]) => [
                k,
                { description: v.description ?? '', required: v.required, default: v.default },
              ]),
            ),
            outputs: Object.fromEntries(
              Object.entries(meta.outputs ?? {}).map(([k, v]) => [k, { description: v.description ?? '' }]),
            ),
          };
        }
        const third = THIRD_PARTY[uses];
        if (!third) return undefined;
        return {
          name: uses,
          description: '',
          inputs: Object.fromEntries(
            third.inputs.map((i) => [i, { description: i, required: third.required?.includes(i) ?? false }]),
          ),
        };
      },
    },
    fileProvider: {
      getFileContent: async (ref) => {
        const key =
          'repository' in ref ? `${ref.owner}/${ref.repository}/${ref.path}@${ref.version}` : `./${ref.path}`;
        const path = opts.workflows?.[key];
        if (!path) throw new Error(`no reusable workflow ${key}`);
        return { name: key, content: readFileSync(path, 'utf8') };
      },
    },
    contextProviderConfig: {
      getContext: async (name, defaultContext) => {
        if (name === 'vars' && opts.vars) return named(opts.vars);
        if (name === 'secrets' && opts.secrets) {
          // A called workflow's declared secrets, GITHUB_TOKEN, and the environment secrets the settings define.
          return named([...declared, ...opts.secrets], defaultContext);
        }
        return undefined;
      },
    },
  });
  const severity = ['error', 'error', 'warning', 'information', 'hint'] as const;
  return diagnostics.map((d) => ({
    line: d.range.start.line + 1,
    message: typeof d.message === 'string' ? d.message : d.message.value,
    severity: severity[d.severity ?? 1] ?? 'error',
  }));
}

/**
 * `@actions/languageservice`'s diagnostics for an action.yml as written (`using: node24` included): the action
 * schema, and expressions where the runner allows none (it refuses to load such a file: "Unrecognized named-value").
 */
export async function validateActionFile(path: string): Promise<Diagnostic[]> {
  const { validate } = await import('@actions/languageservice');
  const { TextDocument } = await import('vscode-languageserver-textdocument');
  const doc = TextDocument.create(
    `file:///repo-${++validations}/${basename(dirname(path))}/action.yml`,
    'yaml',
    1,
    readFileSync(path, 'utf8'),
  );
  const severity = ['error', 'error', 'warning', 'information', 'hint'] as const;
  return (await validate(doc)).map((d) => ({
    line: d.range.start.line + 1,
    message: typeof d.message === 'string' ? d.message : d.message.value,
    severity: severity[d.severity ?? 1] ?? 'error',
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// Expressions

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const STATUS_FUNCTIONS = ['success', 'failure', 'always', 'cancelled'];

interface Status {
  /** success() in this scope. */
  success: boolean;
  failure: boolean;
}

function toData(value: Json): ExpressionData {
  return JSON.parse(JSON.stringify(value), data.reviver) as ExpressionData;
}

function fromData(d: ExpressionData): Json {
  switch (d.kind) {
    case data.Kind.Null:
      return null;
    case data.Kind.Boolean:
    case data.Kind.Number:
    case data.Kind.String:
      return (d as data.StringData).value as Json;
    case data.Kind.Array:
      return (d as data.Array).values().map(fromData);
    default:
      return Object.fromEntries((d as data.Dictionary).pairs().map((p) => [p.key, fromData(p.value)]));
  }
}

/** Evaluates one expression (without `${{ }}`) with @actions/expressions. Throws on a syntax error. */
export function evaluate(expression: string, contexts: Record<string, Json>, status?: Status): Json {
  const names = Object.keys(contexts);
  const funcs = [
    ...STATUS_FUNCTIONS.map((name) => ({ name, minArgs: 0, maxArgs: 0 })),
    { name: 'hashFiles', minArgs: 1, maxArgs: 255 },
  ];
  const tokens = new Lexer(expression).lex();
  const ast = new Parser(tokens.tokens, names, funcs).parse();
  const s = status ?? { success: true, failure: false };
  const impl = new Map(
    [
      ['success', s.success],
      ['failure', s.failure],
      ['always', true],
      ['cancelled', false],
    ].map(([name, value]) => [
      name as string,
      { name: name as string, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(value as boolean) },
    ]),
  );
  impl.set('hashfiles', {
    name: 'hashFiles',
    minArgs: 1,
    maxArgs: 255,
    call: () => {
      throw new Error('hashFiles() is not modelled');
    },
  });
  const ctx = new data.Dictionary(...names.map((key) => ({ key, value: toData(contexts[key] as Json) })));
  return fromData(new Evaluator(ast, ctx, impl).evaluate());
}

/** A token evaluated: literals as they are, expressions with the contexts, mappings and sequences recursively. */
function evalToken(token: TemplateToken, contexts: Record<string, Json>, status?: Status): Json {
  if (isBasicExpression(token)) return evaluate(token.expression, contexts, status);
  if (isString(token)) return token.value;
  if (isBoolean(token)) return token.value;
  if (isNumber(token)) return token.value;
  if (isSequence(token)) return [...token].map((t) => evalToken(t, contexts, status));
  if (isMapping(token)) {
    const out: Record<string, Json> = {};
    for (const { key, value } of token)
      out[String(evalToken(key, contexts, status))] = evalToken(value, contexts, status);
    return out;
  }
  return null;
}

/** The string an input, env value or output becomes (the runner's conversion); objects and arrays are refused. */
function asString(value: Json, what: string): string {
  if (value === null) return '';
  if (typeof value === 'object')
    throw new Error(`${what}: an ${Array.isArray(value) ? 'array' : 'object'} where a string is expected`);
  return String(value);
}

function stringMap(
  token: TemplateToken | undefined,
  contexts: Record<string, Json>,
  what: string,
): Record<string, string> {
  if (!token) return {};
  const value = evalToken(token, contexts);
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what}: not a mapping`);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asString(v, `${what}.${k}`)]));
}

// ---------------------------------------------------------------------------------------------------------------
// Running

interface Scope {
  wf: LoadedWorkflow;
  opts: WorkflowRunOptions;
  github: Record<string, Json>;
  inputs: Record<string, Json>;
  /** Secrets of the workflow (repository's, or what the caller passed). */
  secrets: Record<string, string>;
  /** Job ids get this prefix (`pipeline/`), names `pipeline / `. */
  prefix: string;
  namePrefix: string;
  reports: JobReport[];
  called: WorkflowRun['called'];
  seq: { n: number };
}

const mapping = (token: TemplateToken | undefined): MappingToken | undefined =>
  token && isMapping(token) ? token : undefined;

/** The raw `with:` of each step of a job (the model drops it), in step order. */
function rawSteps(root: MappingToken, jobId: string): MappingToken[] {
  const job = mapping(mapping(root.find('jobs'))?.find(jobId));
  const steps = job?.find('steps');
  return steps && isSequence(steps) ? [...steps].map((s) => s as MappingToken) : [];
}

function order(jobs: WorkflowTemplate['jobs']): WorkflowTemplate['jobs'] {
  const done = new Set<string>();
  const out: WorkflowTemplate['jobs'] = [];
  const pending = [...jobs];
  while (pending.length) {
    const i = pending.findIndex((j) => (j.needs ?? []).every((n) => done.has(n.value)));
    if (i < 0) throw new Error(`jobs whose needs never run: ${pending.map((j) => j.id.value).join(', ')}`);
    const [job] = pending.splice(i, 1);
    done.add(job!.id.value);
    out.push(job!);
  }
  return out;
}

/** Runs a workflow file for an event, job after job, and reports what GitHub would show. */
export async function runWorkflow(opts: WorkflowRunOptions): Promise<WorkflowRun> {
  const wf = await loadWorkflow(opts.file, opts.text);
  const sha = opts.event.sha;
  const ref = opts.event.ref ?? 'refs/heads/main';
  const [owner] = opts.repository.split('/');
  const github: Record<string, Json> = {
    event_name: opts.event.name,
    event: (opts.event.payload ?? defaultPayload(opts, ref)) as Json,
    sha,
    ref,
    ref_name: ref.replace(/^refs\/(heads|tags)\//, ''),
    ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
    repository: opts.repository,
    repository_owner: owner ?? '',
    run_id: '4242',
    run_number: String(opts.runNumber ?? 1),
    run_attempt: '1',
    actor: opts.actor ?? 'octocat',
    triggering_actor: opts.actor ?? 'octocat',
    server_url: 'https://github.com',
    api_url: 'https://api.github.com',
    workflow: (() => {
      const n = wf.root.find('name');
      return n && isString(n) ? n.value : wf.name;
    })(),
    token: 'ghs_' + 'T0kenOfTheRun'.repeat(3),
  };
  const inputs = dispatchInputs(wf, opts);
  const scope: Scope = {
    wf,
    opts,
    github,
    inputs,
    secrets: { ...opts.settings.secrets },
    prefix: '',
    namePrefix: '',
    reports: [],
    called: {},
    seq: { n: 0 },
  };
  const { result, outputs } = await runJobs(scope);
  const reports = scope.reports;
  const run: WorkflowRun = {
    result,
    jobs: reports,
    outputs,
    called: scope.called,
    job(id) {
      const j = reports.find((r) => r.id === id);
      if (!j) throw new Error(`no job ${id} (jobs: ${reports.map((r) => r.id).join(', ')})`);
      return j;
    },
    step(jobId, stepId) {
      const j = run.job(jobId);
      const s = j.steps.find((x) => x.id === stepId || x.name === stepId);
      if (!s)
        throw new Error(`no step ${stepId} in ${jobId} (steps: ${j.steps.map((x) => x.id).join(', ')})`);
      return s;
    },
    log() {
      return reports
        .flatMap((j) => j.steps.map((s) => `## ${j.id} › ${s.name} (${s.outcome})\n${s.log}`))
        .join('\n');
    },
  };
  return run;
}

/** The event payload's common part (what GitHub sends for push and workflow_dispatch), unless the test gives one. */
function defaultPayload(opts: WorkflowRunOptions, ref: string): Record<string, Json> {
  const [owner = '', name = ''] = opts.repository.split('/');
  return {
    ref,
    ...(opts.event.name === 'push' ? { after: opts.event.sha, head_commit: { id: opts.event.sha } } : {}),
    ...(opts.event.name === 'workflow_dispatch' ? { inputs: { ...opts.event.inputs } } : {}),
    repository: { full_name: opts.repository, name, owner: { login: owner }, default_branch: 'main' },
    sender: { login: opts.actor ?? 'octocat' },
  };
}

function dispatchInputs(wf: LoadedWorkflow, opts: WorkflowRunOptions): Record<string, Json> {
  if (opts.event.name !== 'workflow_dispatch') return {};
  const declared = wf.template.events.workflow_dispatch?.inputs ?? {};
  const given = opts.event.inputs ?? {};
  for (const k of Object.keys(given))
    if (!(k in declared)) throw new Error(`workflow_dispatch: unexpected input '${k}'`);
  const out: Record<string, Json> = {};
  for (const [name, decl] of Object.entries(declared)) {
    const raw = given[name] ?? (decl.default !== undefined ? String(decl.default) : undefined);
    if (raw === undefined || raw === '') {
      if (decl.required) throw new Error(`workflow_dispatch: input '${name}' is required`);
    }
    if (decl.type === 'choice' && raw !== undefined && !(decl.options ?? []).includes(raw))
      throw new Error(`workflow_dispatch: '${raw}' is not an option of '${name}'`);
    const value =
      raw ?? (decl.type === 'choice' ? (decl.options?.[0] ?? '') : decl.type === 'boolean' ? 'false' : '');
    out[name] = decl.type === 'boolean' ? value === 'true' : value;
  }
  return out;
}

async function runJobs(scope: Scope): Promise<{ result: Result; outputs: Record<string, string> }> {
  const results: Record<string, { result: Result; outputs: Record<string, string> }> = {};
  for (const job of order(scope.wf.template.jobs)) {
    const id = job.id.value;
    const needs = Object.fromEntries(
      (job.needs ?? []).map((n) => [n.value, results[n.value] as unknown as Json]),
    ) as Record<string, Json>;
    const needResults = (job.needs ?? []).map((n) => results[n.value]!.result);
    const status: Status = {
      success: needResults.every((r) => r === 'success'),
      failure: needResults.some((r) => r === 'failure'),
    };
    const base = {
      github: { ...scope.github, job: id },
      inputs: scope.inputs,
      vars: { ...scope.opts.settings.vars },
      needs,
    } as Record<string, Json>;
    let run: boolean;
    try {
      run = Boolean(evaluate(job.if.expression, base, status));
    } catch (e) {
      scope.reports.push(emptyReport(scope, id, job, 'failure', (e as Error).message));
      results[id] = { result: 'failure', outputs: {} };
      continue;
    }
    if (!run) {
      scope.reports.push(emptyReport(scope, id, job, 'skipped'));
      results[id] = { result: 'skipped', outputs: {} };
      continue;
    }
    if (job.type === 'reusableWorkflowJob') {
      results[id] = await runCalledWorkflow(scope, job, base);
      scope.called[scope.prefix + id] = results[id];
    } else results[id] = await runMatrixJob(scope, job, base);
  }
  const all = Object.values(results).map((r) => r.result);
  const result: Result = all.includes('failure')
    ? 'failure'
    : all.includes('cancelled')
      ? 'cancelled'
      : 'success';
  // workflow_call outputs: on.workflow_call.outputs.<name>.value, with the `jobs` context.
  const outputs: Record<string, string> = {};
  const callOutputs = mapping(
    mapping(mapping(scope.wf.root.find('on'))?.find('workflow_call'))?.find('outputs'),
  );
  for (const { key, value } of callOutputs ?? []) {
    const v = mapping(value)?.find('value');
    if (v)
      outputs[String(evalToken(key, {}))] = asString(
        evalToken(v, {
          github: scope.github,
          inputs: scope.inputs,
          vars: { ...scope.opts.settings.vars },
          jobs: results as unknown as Json,
        }),
        `outputs.${String(key)}`,
      );
  }
  return { result, outputs };
}

function emptyReport(
  scope: Scope,
  id: string,
  job: WorkflowTemplate['jobs'][number],
  result: Result,
  error?: string,
): JobReport {
  return {
    id: scope.prefix + id,
    name: scope.namePrefix + (job.name && isString(job.name) ? job.name.value : id),
    result,
    outputs: {},
    steps: [],
    warnings: [],
    ...(error ? { error } : {}),
  };
}

async function runCalledWorkflow(
  scope: Scope,
  job: ReusableWorkflowJob,
  base: Record<string, Json>,
): Promise<{ result: Result; outputs: Record<string, string> }> {
  const id = job.id.value;
  const file = scope.opts.workflows?.[job.ref.value];
  if (!file) throw new Error(`${id}: no reusable workflow ${job.ref.value} given`);
  const called = await loadWorkflow(file);
  const call = called.template.events.workflow_call;
  if (!call) throw new Error(`${job.ref.value} has no on.workflow_call`);
  const ctx = { ...base, secrets: { ...scope.secrets, GITHUB_TOKEN: scope.github.token } } as Record<
    string,
    Json
  >;
  // Inputs: declared, typed, required ones given, nothing undeclared (GitHub refuses the run otherwise).
  const given = job['input-values'] ? (evalToken(job['input-values'], ctx) as Record<string, Json>) : {};
  const inputs: Record<string, Json> = {};
  for (const k of Object.keys(given))
    if (!(k in (call.inputs ?? {})))
      throw new Error(`${id}: input '${k}' is not defined in ${job.ref.value}`);
  for (const [name, decl] of Object.entries(call.inputs ?? {})) {
    let v = given[name] ?? (decl.default !== undefined ? (decl.default as Json) : undefined);
    if (v === undefined) {
      if (decl.required) throw new Error(`${id}: input '${name}' is required by ${job.ref.value}`);
      v = decl.type === 'boolean' ? false : decl.type === ('number' as string) ? 0 : '';
    }
    if (typeof v === 'object' && v !== null && 'value' in v) v = (v as { value: Json }).value; // a ScalarToken default
    inputs[name] = decl.type === 'boolean' ? v === true || v === 'true' : v;
  }
  // Secrets: what the caller maps (or all of its own with `inherit`), required ones present.
  const secrets: Record<string, string> = job['inherit-secrets']
    ? { ...scope.secrets }
    : stringMap(job['secret-values'], ctx, `${id}.secrets`);
  for (const k of Object.keys(secrets))
    if (!job['inherit-secrets'] && !(k in (call.secrets ?? {})))
      throw new Error(`${id}: secret '${k}' is not defined in ${job.ref.value}`);
  for (const [name, decl] of Object.entries(call.secrets ?? {}))
    if (decl.required && !secrets[name])
      throw new Error(`${id}: secret '${name}' is required by ${job.ref.value}`);
  const inner: Scope = {
    ...scope,
    wf: called,
    inputs,
    secrets,
    prefix: `${scope.prefix}${id}/`,
    namePrefix: `${scope.namePrefix}${job.name && isString(job.name) ? job.name.value : id} / `,
  };
  return runJobs(inner);
}

async function runMatrixJob(
  scope: Scope,
  job: Job,
  base: Record<string, Json>,
): Promise<{ result: Result; outputs: Record<string, string> }> {
  const strategy = job.strategy ? (evalToken(job.strategy, base) as Record<string, Json>) : {};
  const matrix = (strategy['matrix'] ?? null) as Record<string, Json> | null;
  const failFast = strategy['fail-fast'] !== false;
  let legs: Record<string, Json>[] = [{}];
  if (matrix) {
    for (const [key, values] of Object.entries(matrix)) {
      if (key === 'include' || key === 'exclude')
        throw new Error(`${job.id.value}: matrix ${key} is not modelled`);
      if (!Array.isArray(values)) throw new Error(`${job.id.value}: matrix.${key} is not a list`);
      legs = legs.flatMap((leg) => values.map((v) => ({ ...leg, [key]: v })));
    }
  }
  const results: Result[] = [];
  const outputs: Record<string, string> = {};
  for (const [index, leg] of legs.entries()) {
    const ctx = {
      ...base,
      matrix: matrix ? leg : null,
      strategy: {
        'fail-fast': failFast,
        'job-index': index,
        'job-total': legs.length,
        'max-parallel': (strategy['max-parallel'] as number | undefined) ?? legs.length,
      },
    } as Record<string, Json>;
    if (failFast && results.includes('failure')) {
      const r = emptyReport(scope, job.id.value, job, 'cancelled');
      r.id = legId(scope, job.id.value, matrix ? leg : undefined);
      r.matrix = leg;
      scope.reports.push(r);
      results.push('cancelled');
      continue;
    }
    const report = await runLeg(scope, job, ctx, matrix ? leg : undefined);
    results.push(report.result);
    for (const [k, v] of Object.entries(report.outputs)) if (v !== '') outputs[k] = v;
  }
  const result: Result = results.includes('failure')
    ? 'failure'
    : results.includes('cancelled')
      ? 'cancelled'
      : 'success';
  return { result, outputs };
}

const legId = (scope: Scope, id: string, leg?: Record<string, Json>) =>
  scope.prefix + id + (leg ? ` (${Object.values(leg).map(String).join(', ')})` : '');

async function runLeg(
  scope: Scope,
  job: Job,
  ctx: Record<string, Json>,
  leg: Record<string, Json> | undefined,
): Promise<JobReport> {
  const jobId = job.id.value;
  const report: JobReport = {
    id: legId(scope, jobId, leg),
    name: scope.namePrefix + (job.name ? asString(evalToken(job.name, ctx), 'name') : jobId),
    result: 'success',
    outputs: {},
    steps: [],
    warnings: [],
    ...(leg ? { matrix: leg } : {}),
  };
  scope.reports.push(report);
  const runner = join(scope.opts.work, `runner-${++scope.seq.n}`);
  const workspace = join(runner, 'workspace');
  const home = join(runner, 'home');
  mkdirSync(workspace, { recursive: true });
  mkdirSync(home, { recursive: true });
  report.workspace = workspace;
  report.home = home;
  const eventPath = join(runner, 'event.json');
  writeFileSync(eventPath, JSON.stringify(scope.github.event));

  let vars: Record<string, string> = { ...scope.opts.settings.vars };
  let secrets: Record<string, string> = { ...scope.secrets };
  try {
    // The environment: its name, a review when it has reviewers, its variables and secrets.
    if (job.environment) {
      const env = evalToken(job.environment, ctx);
      const name = asString(
        typeof env === 'object' && env !== null && !Array.isArray(env) ? (env['name'] ?? '') : env,
        'environment',
      );
      report.environment = name;
      const settings = scope.opts.environments?.[name];
      if (settings?.reviewers?.length) {
        const ok = (scope.opts.approve ?? (() => true))(name, report.id);
        report.review = ok ? 'approved' : 'rejected';
        if (!ok) {
          report.result = 'failure';
          report.error = `deployment to ${name} rejected`;
          return report;
        }
      }
      vars = { ...vars, ...settings?.vars };
      secrets = { ...secrets, ...settings?.secrets };
    }
    if (job.concurrency) {
      const c = evalToken(job.concurrency, { ...ctx, vars });
      report.concurrency = asString(
        typeof c === 'object' && c !== null && !Array.isArray(c) ? (c['group'] ?? '') : c,
        'concurrency',
      );
    }
  } catch (e) {
    report.result = 'failure';
    report.error = (e as Error).message;
    return report;
  }
  secrets.GITHUB_TOKEN = String(scope.github.token);
  const masks = new Set(Object.values(secrets).filter((s) => s.length > 2));

  const github = { ...(ctx.github as Record<string, Json>), workspace };
  const runnerCtx = {
    os: 'Linux',
    arch: 'X64',
    name: 'kiln-harness',
    temp: join(runner, 'temp'),
    tool_cache: join(runner, 'tools'),
  };
  mkdirSync(runnerCtx.temp, { recursive: true });
  const base = { ...ctx, github, vars, secrets, runner: runnerCtx } as Record<string, Json>;
  // env: the workflow's, then the job's (each evaluated where GitHub evaluates it), then GITHUB_ENV additions.
  const env: Record<string, string> = {
    ...stringMap(scope.wf.template.env, { github, inputs: scope.inputs, vars, secrets }, 'env'),
  };
  Object.assign(env, stringMap(job.env, { ...base, env }, 'jobs.env'));
  const steps: Record<string, Json> = {};
  let failed = false;
  const raws = rawSteps(scope.wf.root, jobId);
  for (const [i, step] of job.steps.entries()) {
    const raw = raws[i];
    const s = await runStep(scope, step, raw, {
      base: { ...base, steps, env, job: { status: failed ? 'failure' : 'success' } },
      status: { success: !failed, failure: failed },
      env,
      workspace,
      home,
      eventPath,
      masks,
    });
    report.steps.push(s);
    if ('id' in step && step.id)
      steps[step.id] = { outputs: s.outputs, outcome: s.outcome, conclusion: s.conclusion };
    if (s.conclusion === 'failure') failed = true;
  }
  report.result = failed ? 'failure' : 'success';
  try {
    report.outputs = stringMap(
      job.outputs,
      { ...base, steps, env, job: { status: report.result } },
      'outputs',
    );
    // GitHub passes no output that holds a secret: it is empty downstream, with a warning.
    for (const [k, v] of Object.entries(report.outputs))
      if ([...masks].some((m) => v.includes(m))) {
        report.outputs[k] = '';
        report.warnings.push(`Skip output '${k}' since it may contain secret.`);
      }
  } catch (e) {
    report.result = 'failure';
    report.error = (e as Error).message;
  }
  return report;
}

interface StepEnv {
  base: Record<string, Json>;
  status: Status;
  env: Record<string, string>;
  workspace: string;
  home: string;
  eventPath: string;
  masks: Set<string>;
}

function mask(text: string, masks: Set<string>): string {
  let out = text;
  for (const m of [...masks].sort((a, b) => b.length - a.length)) out = out.split(m).join('***');
  return out;
}

async function runStep(
  scope: Scope,
  step: Step,
  raw: MappingToken | undefined,
  e: StepEnv,
): Promise<StepReport> {
  const uses = 'uses' in step ? step.uses.value : undefined;
  const report: StepReport = {
    id: step.id,
    name: step.id,
    ...(uses ? { uses } : {}),
    outcome: 'skipped',
    conclusion: 'skipped',
    with: {},
    outputs: {},
    log: '',
  };
  try {
    report.name = step.name ? asString(evalToken(step.name, e.base), 'name') : uses ? `Run ${uses}` : 'Run';
    const cond = 'if' in step && step.if ? step.if.expression : 'success()';
    if (!evaluate(cond, e.base, e.status)) return report;
    const stepEnv = { ...e.env, ...stringMap('env' in step ? step.env : undefined, e.base, 'env') };
    const ctx = { ...e.base, env: stepEnv };
    const withToken = raw?.find('with');
    report.with = stringMap(withToken, ctx, 'with');
    const runnerEnv: Record<string, string> = {
      HOME: e.home,
      GITHUB_REPOSITORY: String(scope.github.repository),
      GITHUB_REPOSITORY_OWNER: String(scope.github.repository_owner),
      GITHUB_SHA: String(scope.github.sha),
      GITHUB_REF: String(scope.github.ref),
      GITHUB_REF_NAME: String(scope.github.ref_name),
      GITHUB_REF_TYPE: String(scope.github.ref_type),
      GITHUB_EVENT_NAME: String(scope.github.event_name),
      GITHUB_EVENT_PATH: e.eventPath,
      GITHUB_RUN_ID: String(scope.github.run_id),
      GITHUB_RUN_NUMBER: String(scope.github.run_number),
      GITHUB_RUN_ATTEMPT: '1',
      GITHUB_ACTOR: String(scope.github.actor),
      GITHUB_WORKFLOW: String(scope.github.workflow),
      GITHUB_JOB: String((e.base.github as Record<string, Json>).job),
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_API_URL: 'https://api.github.com',
      RUNNER_OS: 'Linux',
      ...stepEnv,
    };
    let result: {
      ok: boolean;
      outputs: Map<string, string>;
      env: Map<string, string>;
      stdout: string;
      stderr: string;
    };
    const kiln = uses ? KILN_ACTION.exec(uses) : null;
    if (kiln) {
      const r = await runBundle(kiln[1] as string, {
        with: report.with,
        env: runnerEnv,
        workspace: e.workspace,
        timeoutMs: scope.opts.stepTimeoutMs ?? 180_000,
      });
      report.run = r;
      for (const c of r.commands)
        if (c.command === 'add-mask' && c.message.length > 2) e.masks.add(c.message);
      result = {
        ok: r.exitCode === 0,
        outputs: r.outputs,
        env: r.envFile,
        stdout: r.stdout,
        stderr: r.stderr,
      };
      if (r.runnerWarnings.length)
        result.stdout = r.runnerWarnings.map((w) => `::warning::${w}`).join('\n') + '\n' + result.stdout;
    } else if (uses) {
      result = standIn(scope, uses, report.with, e);
    } else if ('run' in step) {
      const script = asString(evalToken(step.run, ctx), 'run');
      result = await runScript(script, runnerEnv, e.workspace, scope.opts.stepTimeoutMs ?? 180_000);
      report.raw = { stdout: result.stdout, stderr: result.stderr };
      for (const c of parseWorkflowCommands(result.stdout))
        if (c.command === 'add-mask' && c.message.length > 2) e.masks.add(c.message);
    } else throw new Error(`step ${step.id}: neither uses nor run`);
    report.outputs = Object.fromEntries(result.outputs);
    for (const [k, v] of result.env) e.env[k] = v;
    report.log = mask(result.stdout + result.stderr, e.masks);
    report.outcome = result.ok ? 'success' : 'failure';
  } catch (err) {
    report.error = (err as Error).message;
    report.log += mask(`::error::${report.error}\n`, e.masks);
    report.outcome = 'failure';
  }
  const coe = 'continue-on-error' in step ? step['continue-on-error'] : undefined;
  const continueOnError = typeof coe === 'boolean' ? coe : coe ? Boolean(evalToken(coe, e.base)) : false;
  report.conclusion = report.outcome === 'failure' && continueOnError ? 'success' : report.outcome;
  return report;
}

/** `run:` with GitHub's default bash (`bash --noprofile --norc -eo pipefail {0}`) and fresh GITHUB_* files. */
async function runScript(
  script: string,
  env: Record<string, string>,
  cwd: string,
  timeoutMs: number,
): Promise<{
  ok: boolean;
  outputs: Map<string, string>;
  env: Map<string, string>;
  stdout: string;
  stderr: string;
}> {
  const dir = mkdtempSync(join(dirname(cwd), 'step-'));
  const files = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    GITHUB_PATH: join(dir, 'path'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const file = join(dir, 'script.sh');
  writeFileSync(file, script);
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
    (done, reject) => {
      const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', file], {
        cwd,
        env: {
          PATH: process.env.PATH,
          LANG: 'C.UTF-8',
          CI: 'true',
          GITHUB_ACTIONS: 'true',
          GITHUB_WORKSPACE: cwd,
          RUNNER_TEMP: dir,
          ...files,
          ...env,
        },
      });
      let out = '';
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('error', reject);
      child.on('close', (c) => {
        clearTimeout(timer);
        done({ code: c, stdout: out, stderr: err });
      });
    },
  );
  return {
    ok: code === 0,
    outputs: parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    env: parseFileCommands(readFileSync(files.GITHUB_ENV, 'utf8')),
    stdout,
    stderr,
  };
}

/**
 * The stand-ins for third-party actions:
 * - `actions/checkout@v4`: copies the files of `repository` (default: the workflow's) from `checkouts` into `path`
 *   (default: the workspace) — the test prepares the checkout; no git here.
 * - `docker/login-action@v3`: `username` and `password` required (as the action), then `auths.<registry>` in
 *   `$HOME/.docker/config.json`, as `docker login` writes it; the password is masked.
 * - `actions/upload-artifact@v4`: copies `path` into `<work>/artifacts/<name>` (`if-no-files-found: warn`).
 */
function standIn(
  scope: Scope,
  uses: string,
  input: Record<string, string>,
  e: StepEnv,
): { ok: boolean; outputs: Map<string, string>; env: Map<string, string>; stdout: string; stderr: string } {
  const none = new Map<string, string>();
  const ok = (stdout: string) => ({ ok: true, outputs: none, env: none, stdout, stderr: '' });
  const fail = (message: string) => ({
    ok: false,
    outputs: none,
    env: none,
    stdout: `::error::${message}\n`,
    stderr: '',
  });
  switch (uses) {
    case 'actions/checkout@v4': {
      const repository = input['repository'] || String(scope.github.repository);
      const from = scope.opts.checkouts[repository];
      if (!from) return fail(`Not Found: repository ${repository}`);
      const to = resolve(e.workspace, input['path'] ?? '');
      if (!to.startsWith(e.workspace)) return fail(`path ${input['path']} is outside the workspace`);
      cpSync(from, to, { recursive: true });
      return ok(`checked out ${repository} into ${to}\n`);
    }
    case 'docker/login-action@v3': {
      const { registry = 'docker.io', username, password } = input;
      if (!username || !password) return fail('Username and password required');
      e.masks.add(password);
      const dir = join(e.home, '.docker');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'config.json');
      const config = existsSync(file)
        ? (JSON.parse(readFileSync(file, 'utf8')) as { auths?: Record<string, unknown> })
        : {};
      config.auths = {
        ...config.auths,
        [registry]: { auth: Buffer.from(`${username}:${password}`).toString('base64') },
      };
      writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
      return ok(`Logging into ${registry}...\nLogin Succeeded!\n`);
    }
    case 'actions/upload-artifact@v4': {
      const from = resolve(e.workspace, input['path'] ?? '');
      const to = join(scope.opts.work, 'artifacts', input['name'] || 'artifact');
      if (!existsSync(from))
        return ok(`::warning::No files were found with the provided path: ${input['path']}\n`);
      cpSync(from, to, { recursive: true });
      return ok(`uploaded ${input['path']} as ${input['name'] || 'artifact'}\n`);
    }
    default:
      return fail(`no stand-in for ${uses} in test/harness/workflow.ts`);
  }
}

/** The examples' `uses:` of Kiln's actions, for a check that each one exists. */
export function kilnActionsUsed(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/uses:\s*([^\s#]+)/g)) {
    const k = KILN_ACTION.exec(m[1] as string);
    if (k) out.add(k[1] as string);
  }
  return [...out].sort();
}

export const examplesDir = join(repoRoot, 'workflows-examples', 'github');
