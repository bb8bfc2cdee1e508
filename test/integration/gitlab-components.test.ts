/**
 * Kiln's GitLab CI/CD components (templates/*.yml) and the example pipelines that use them
 * (workflows-examples/gitlab/components-*.gitlab-ci.yml), checked two ways.
 *
 * 1. Against GitLab's rules for components and inputs, as GitLab implements them (lib/gitlab/ci/config/header/,
 *    lib/gitlab/ci/config/interpolation/ and doc/ci/inputs/, doc/ci/components/): the header (`spec: inputs:` only,
 *    the keys an input may have, its type, options, regex, default), the arguments an `include:` gives (unknown
 *    ones, required ones, types, options, regex) and the `$[[ inputs.x ]]` interpolation (keys and values; a block
 *    that is the whole value keeps its type, one inside a string becomes text; an unknown key is an error). A small
 *    checker below does what GitLab does (it is tested on GitLab's own documented examples first), because
 *    gitlab-ci-local checks less: only the inputs a file uses, no unknown arguments, no regex.
 *
 * 2. For real, with gitlab-ci-local 4.60.1 (shell executor, one isolated checkout per job), against the local
 *    equipment: a registry with basic auth, the Marathon and Kubernetes simulators, a local HTTP service as the
 *    app. gitlab-ci-local resolves `include: component:` itself (src/parser-includes.js): a component of another
 *    project is fetched from the project's GitLab server as GitLab would serve it — `GET
 *    /<project>/-/raw/<ref>/templates/<name>.yml` to find it, then `git clone --branch <ref>` over HTTP — so the
 *    test plays that server (`startGitLab`): a small HTTP server over `git http-backend` with bare repositories,
 *    one of them the component project `components/kiln` holding this checkout's templates/ at the tag
 *    `v<version>` the examples name, another the deploy-files project the pipeline clones with the job token. The
 *    examples run as written, `$CI_SERVER_FQDN` and all. Two things differ from a GitLab runner, both outside the
 *    YAML under test: the jobs run on this machine's shell (`--force-shell-executor`: no Docker here; this
 *    machine's Node and git stand in for the images), and CI_PROJECT_DIR is `.` (gitlab-ci-local would name the
 *    container's /builds/… for a job with an `image:`; `.` is the job's isolated checkout, where its shell starts).
 *    Each job installs `kiln` as the components do, from KILN_PACKAGE: the kiln-ci tarball `npm pack` makes of this
 *    checkout.
 *
 * Where gitlab-ci-local 4.60.1 is not GitLab, the tests go around it rather than bend the YAML: it gives every job
 * of a `parallel:matrix` the environment of the first (so only datacenter AA is played), runs the jobs named with
 * several `--job` at once whatever their stages (so they are played one run each, as a person plays them later in
 * the same pipeline: the earlier jobs' artifacts are there), and refuses a pipeline in which a job needs a manual job
 * that is not played (GitLab creates it and waits: the test checks that refusal and the job list instead).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { actionNames, loadAction } from '../../packages/cli/src/actions.js';
import { killLiveGroups, runGroup } from '../harness/group-process.js';
import { expectNoLeak, rawHead } from '../harness/assertions.js';
import { startServer, type TestServer } from '../harness/http-fixture.js';
import { packCli } from '../harness/pack-cli.js';
import { hostNode, repoRoot } from '../harness/runner.js';
import type { ChildResult } from '../harness/tsx.js';
import { startKubeSim, type KubeSim } from '../sim/kube/server.js';
import { startMarathonSim, type JsonObject, type MarathonSim } from '../sim/marathon/server.js';
import { writeOciLayout } from '../sim/registry/oci-layout.js';
import { registryAvailable, startRegistry, type RunningRegistry } from '../sim/registry/registry.js';
import { createSkopeo, skopeoAvailable, type Skopeo } from '../sim/registry/skopeo.js';
import { removeDir, which } from '../sim/registry/util.js';

const GITLAB_CI_LOCAL_VERSION = '4.60.1';
const GITLAB_CI_LOCAL =
  process.env.GITLAB_CI_LOCAL ??
  join(repoRoot, '.tools', 'node_modules', 'gitlab-ci-local', 'src', 'index.js');
const TEMPLATES = join(repoRoot, 'templates');
const EXAMPLES = join(repoRoot, 'workflows-examples', 'gitlab');
const VERSION = (
  JSON.parse(readFileSync(join(repoRoot, 'packages', 'cli', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;
/** Where the examples say the GitLab instance keeps its copy of Kiln (a component project), and the tag. */
const COMPONENT_PROJECT = 'components/kiln';
const COMPONENT_REF = `v${VERSION}`;
const EXAMPLE_FILES = [
  'components-pipeline.gitlab-ci.yml',
  'components-k8s.gitlab-ci.yml',
  'components-deploy-only.gitlab-ci.yml',
];

/** GitLab's CI_REGISTRY_USER is `gitlab-ci-token`; CI_REGISTRY_PASSWORD and CI_JOB_TOKEN are the job token. */
const REGISTRY_USER = 'gitlab-ci-token';
const JOB_TOKEN = 'glcbt-64_Job-T0ken-components';
/** The simulated clusters' bearer token (in the KUBECONFIG file variables). */
const KUBE_TOKEN = 'kube-T0ken-c0mponents-9d1e';
/** A group of our own per run: the project paths (and gitlab-ci-local's /tmp file-variable folders) are ours. */
const GROUP = `kiln${process.pid}`;

// ---------------------------------------------------------------------------------------------------------------
// GitLab's rules for components and inputs
// ---------------------------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonMap = { [key: string]: Json };

interface InputSpec {
  type?: string;
  default?: Json;
  description?: string;
  options?: Json[];
  regex?: string;
  rules?: Json;
}

interface Component {
  inputs: Record<string, InputSpec>;
  /** The configuration after the header, before interpolation. */
  body: JsonMap;
}

const INPUT_TYPES = ['string', 'number', 'boolean', 'array'];
/** Header::Root, Header::Spec, Header::Input (+ Entry::BaseInput): the keys each level may have. */
const INPUT_KEYS = ['default', 'description', 'options', 'regex', 'type', 'rules'];
const isMapping = (v: unknown): v is JsonMap => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A component file as GitLab reads it: a header document (`spec: inputs:`), `---`, then the configuration. Errors
 * are GitLab's (header validation) in its words where it has them.
 */
function parseComponent(text: string): { component: Component; errors: string[] } {
  const errors: string[] = [];
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return { component: { inputs: {}, body: {} }, errors: ['not YAML documents'] };
  for (const d of docs) for (const e of d.errors) errors.push(`YAML: ${e.message}`);
  if (docs.length !== 2)
    errors.push(`a header (spec: inputs:), '---', then the configuration: found ${docs.length} document(s)`);
  const header = (docs[0]?.toJS() ?? {}) as Json;
  const body = (docs[1]?.toJS() ?? {}) as Json;
  const inputs: Record<string, InputSpec> = {};
  if (!isMapping(header)) errors.push('header config should be a hash');
  else {
    for (const k of Object.keys(header))
      if (k !== 'spec') errors.push(`header config contains unknown keys: ${k}`);
    const spec = header['spec'];
    if (!isMapping(spec)) errors.push('header:spec config should be a hash');
    else {
      for (const k of Object.keys(spec))
        if (k !== 'inputs') errors.push(`spec config contains unknown keys: ${k}`);
      const declared = spec['inputs'];
      if (!isMapping(declared)) errors.push('spec:inputs config should be a hash');
      else
        for (const [name, raw] of Object.entries(declared)) {
          const s = (raw ?? {}) as InputSpec & JsonMap;
          if (!isMapping(s)) {
            errors.push(`spec:inputs:${name} config should be a hash`);
            continue;
          }
          for (const k of Object.keys(s))
            if (!INPUT_KEYS.includes(k))
              errors.push(`spec:inputs:${name} config contains unknown keys: ${k}`);
          if ('rules' in s && ('options' in s || 'default' in s))
            errors.push(`spec:inputs:${name} config: rules and options/default are mutually exclusive`);
          const type = s.type ?? 'string';
          if (!INPUT_TYPES.includes(type))
            errors.push(`header:spec:inputs:${name} input type unknown value: ${String(type)}`);
          if (s.options !== undefined) {
            if (!Array.isArray(s.options)) errors.push(`spec:inputs:${name} options should be an array`);
            else if (s.options.length > 50)
              errors.push(`spec:inputs:${name} cannot define more than 50 options`);
            else if (s.options.some((o) => o === null))
              errors.push(`spec:inputs:${name} options array cannot contain null values`);
          }
          if (s.regex !== undefined && typeof s.regex !== 'string')
            errors.push(`spec:inputs:${name} regex should be a string`);
          inputs[name] = s;
        }
    }
  }
  if (!isMapping(body)) errors.push('the configuration should be a hash');
  return { component: { inputs, body: isMapping(body) ? body : {} }, errors };
}

const typeName = (type: string) => (type === 'array' ? 'an array' : `a ${type}`);

/**
 * The values an `include:` gives a component, validated as GitLab's Interpolation::Inputs does: unknown arguments,
 * then per input (in declaration order) a missing required one, the default (type, options, regex), the value given.
 */
function inputValues(
  inputs: Record<string, InputSpec>,
  args: JsonMap,
): { values: JsonMap; errors: string[] } {
  const errors: string[] = [];
  const unknown = Object.keys(args).filter((k) => !(k in inputs));
  if (unknown.length) errors.push(`unknown input arguments: ${unknown.join(', ')}`);
  const values: JsonMap = {};
  for (const [name, spec] of Object.entries(inputs)) {
    const type = spec.type ?? 'string';
    const required = !('default' in spec);
    const given = args[name] ?? null; // nil: not given (a YAML null too)
    const err = (m: string) => errors.push(`\`${name}\` input: ${m}`);
    if (required && given === null) {
      err('required value has not been provided');
      continue;
    }
    const check = (v: Json, which: 'default' | 'provided') => {
      const ok =
        type === 'array'
          ? Array.isArray(v)
          : type === 'number'
            ? typeof v === 'number'
            : type === 'boolean'
              ? typeof v === 'boolean'
              : typeof v === 'string';
      if (!ok) return err(`${which} value is not ${typeName(type)}`);
      if (spec.options !== undefined) {
        if (type !== 'string' && type !== 'number')
          return err('Options can only be used with string and number inputs');
        if (!spec.options.includes(v))
          return err(`\`${String(v)}\` cannot be used because it is not in the list of allowed options`);
      }
      if (spec.regex !== undefined) {
        if (type !== 'string') return err('RegEx validation can only be used with string inputs');
        let re: RegExp;
        try {
          re = new RegExp(spec.regex); // GitLab: RE2, unanchored match; the patterns here are in their common subset
        } catch {
          return err('invalid regular expression');
        }
        if (!re.test(v as string)) err(`${which} value does not match required RegEx pattern`);
      }
    };
    if (!required) check(spec.default ?? null, 'default');
    if (given !== null) check(given, 'provided');
    values[name] = given ?? spec.default ?? null;
  }
  return { values, errors };
}

/** Interpolation::Template's block: `$[[ … ]]`, at least two characters inside. */
const BLOCK = /\$\[\[\s*(\S.*?\S)\s*\]\]/g;

/** Every `$[[ … ]]` in a configuration (keys and values): its access path and functions. */
function blocksIn(node: Json): Array<{ block: string; access: string; functions: string[] }> {
  const out: Array<{ block: string; access: string; functions: string[] }> = [];
  const walk = (n: Json) => {
    if (typeof n === 'string')
      for (const m of n.matchAll(BLOCK)) {
        const [access = '', ...functions] = (m[1] as string).split('|').map((s) => s.trim());
        out.push({ block: m[0], access, functions });
      }
    else if (Array.isArray(n)) n.forEach(walk);
    else if (isMapping(n))
      for (const [k, v] of Object.entries(n)) {
        walk(k);
        walk(v);
      }
  };
  walk(node);
  return out;
}

/**
 * `$[[ inputs.x ]]` replaced as Interpolation::Template does, in keys and values: a node that is one block keeps
 * the input's type; blocks inside a longer string are replaced by the value's text (Ruby's `to_s`). Arrays and
 * non-integer numbers inside a string are refused here: GitLab writes Ruby's `inspect` of them (`["a", "b"]`,
 * `1.0`), gitlab-ci-local JSON, so a component that relied on it would not mean the same thing in both; and
 * interpolation functions (`| expand_vars`) are refused: gitlab-ci-local ignores them.
 */
function interpolate(body: JsonMap, values: JsonMap): { result: JsonMap; errors: string[] } {
  const errors: string[] = [];
  const lookup = (access: string): { ok: boolean; value: Json } => {
    const objects = access.split('.');
    if (objects.length <= 1) {
      errors.push('invalid interpolation access pattern');
      return { ok: false, value: null };
    }
    if (objects[0] !== 'inputs') {
      errors.push(`unknown interpolation key: \`${objects[0] ?? ''}\``);
      return { ok: false, value: null };
    }
    const key = objects.slice(1).join('.');
    if (!(key in values)) {
      errors.push(`unknown interpolation key: \`${key}\``);
      return { ok: false, value: null };
    }
    return { ok: true, value: values[key] ?? null };
  };
  const replace = (node: Json): Json => {
    if (typeof node === 'string') {
      if (!node.includes('$[[')) return node;
      const matches = [...node.matchAll(BLOCK)];
      if (matches.length === 0) return node;
      const resolved = matches.map((m) => {
        const [access = '', ...functions] = (m[1] as string).split('|').map((s) => s.trim());
        if (functions.length)
          errors.push(`${m[0]}: interpolation functions are not used here (gitlab-ci-local ignores them)`);
        return { block: m[0], ...lookup(access) };
      });
      if (resolved.some((r) => !r.ok)) return node;
      const first = resolved[0] as { block: string; value: Json };
      if (resolved.length === 1 && node === first.block) return first.value;
      let text = node;
      for (const r of resolved) {
        const v = r.value;
        if (Array.isArray(v) || isMapping(v) || (typeof v === 'number' && !Number.isInteger(v)))
          errors.push(
            `${r.block} in "${node}": ${JSON.stringify(v)} inside a string reads differently in GitLab`,
          );
        text = text.split(r.block).join(v === null ? '' : String(v));
      }
      return text;
    }
    if (Array.isArray(node)) return node.map(replace);
    if (isMapping(node)) {
      const out: JsonMap = {};
      for (const [k, v] of Object.entries(node)) {
        const key = replace(k);
        out[typeof key === 'string' ? key : JSON.stringify(key)] = replace(v);
      }
      return out;
    }
    return node;
  };
  return { result: replace(body) as JsonMap, errors };
}

/** What `include: - component: … inputs: …` adds to a pipeline, with every GitLab error on the way. */
function include(text: string, args: JsonMap): { jobs: JsonMap; errors: string[] } {
  const parsed = parseComponent(text);
  if (parsed.errors.length) return { jobs: {}, errors: parsed.errors };
  const given = inputValues(parsed.component.inputs, args);
  if (given.errors.length) return { jobs: {}, errors: given.errors };
  const done = interpolate(parsed.component.body, given.values);
  return { jobs: done.result, errors: done.errors };
}

const template = (name: string) => readFileSync(join(TEMPLATES, `${name}.yml`), 'utf8');
const COMPONENTS = [...actionNames, 'pipeline'] as string[];

// ---------------------------------------------------------------------------------------------------------------
// Equipment: gitlab-ci-local, a GitLab server for repositories, a registry, the package
// ---------------------------------------------------------------------------------------------------------------

interface GitLabServer {
  url: string;
  /** `127.0.0.1:<port>`: CI_SERVER_FQDN of projects whose origin is on this server. */
  fqdn: string;
  /** The bare repository of a project path (created empty on first use). */
  repository(path: string): string;
  /** Every request: path, and the user of its basic credentials (if any). */
  requests: Array<{ method: string; path: string; user?: string; password?: string }>;
  close(): Promise<void>;
}

/**
 * The parts of a GitLab server gitlab-ci-local and the jobs use: a file of a project at a ref (`GET
 * /<project>/-/raw/<ref>/<file>`) and git over HTTP (smart protocol, by `git http-backend`). Projects in `privateProjects`
 * answer only to the job token (`gitlab-ci-token` and the token, basic auth), with GitLab's 401 otherwise.
 */
async function startGitLab(root: string, privateProjects: string[], token: string): Promise<GitLabServer> {
  const requests: GitLabServer['requests'] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', 'http://gitlab.local');
    const path = decodeURIComponent(url.pathname);
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const [user, password] = basic ? Buffer.from(basic, 'base64').toString().split(/:(.*)/s) : [];
    requests.push({ method: req.method ?? 'GET', path, user, password });
    const raw = /^\/(.+?)\/-\/raw\/([^/]+)\/(.+)$/.exec(path);
    const project = raw?.[1] ?? /^\/(.+?)\.git\//.exec(path)?.[1];
    if (!project || !existsSync(join(root, `${project}.git`))) {
      res.writeHead(404).end('not found');
      return;
    }
    if (privateProjects.includes(project) && !(user === 'gitlab-ci-token' && password === token)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="GitLab"' }).end('HTTP Basic: Access denied');
      return;
    }
    if (raw) {
      try {
        const out = execFileSync(
          'git',
          ['--git-dir', join(root, `${project}.git`), 'show', `${raw[2]}:${raw[3]}`],
          {
            stdio: ['ignore', 'pipe', 'ignore'],
          },
        );
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(out);
      } catch {
        res.writeHead(404).end('not found');
      }
      return;
    }
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: path,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_ADDR: '127.0.0.1',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        ...(req.headers['content-encoding']
          ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] }
          : {}),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    cgi.stdin.on('error', () => undefined); // the backend may answer before it has read everything
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let started = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (started) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const crlf = head.indexOf('\r\n\r\n');
      const end = crlf >= 0 ? crlf : head.indexOf('\n\n');
      if (end < 0) return;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString().split(/\r?\n/)) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + (crlf >= 0 ? 4 : 2)));
      started = true;
    });
    cgi.once('close', () => res.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    fqdn: `127.0.0.1:${port}`,
    requests,
    repository: (path) => {
      const dir = join(root, `${path}.git`);
      if (!existsSync(dir)) {
        mkdirSync(dirname(dir), { recursive: true });
        execFileSync('git', ['init', '-q', '--bare', '-b', 'main', dir], { stdio: 'pipe' });
      }
      return dir;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let work: string;
let home: string;
let kilnPackage: string;
let registry: RunningRegistry;
let skopeo: Skopeo;
let gitlab: GitLabServer;
/** The app behind every environment's APP_URL: `/<environment>/health…` answers 200 and is counted. */
let app: TestServer;
const appCalls: Record<string, number> = {};
const cleanups: Array<() => Promise<unknown>> = [];

const plainPath = (): string[] =>
  (process.env.PATH ?? '').split(delimiter).filter((p) => p && !p.includes('node_modules'));
const gitEnv = () => ({
  PATH: process.env.PATH,
  HOME: home,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Dev Ops',
  GIT_AUTHOR_EMAIL: 'devops@example.com',
  GIT_COMMITTER_NAME: 'Dev Ops',
  GIT_COMMITTER_EMAIL: 'devops@example.com',
});
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, stdio: 'pipe', timeout: 20_000, env: gitEnv() }).toString();

/** Commits `files` (and `tags`) to the GitLab project `path`, as a push would. */
function publish(path: string, files: Record<string, string>, tags: string[] = []): string {
  const bare = gitlab.repository(path);
  const dir = mkdtempSync(join(work, 'push-'));
  git(dir, 'init', '-q', '-b', 'main');
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', `publish ${path}`);
  for (const t of tags) git(dir, 'tag', t);
  git(
    dir,
    'push',
    '-q',
    '--force',
    bare,
    'HEAD:refs/heads/main',
    ...tags.map((t) => `refs/tags/${t}:refs/tags/${t}`),
  );
  return git(dir, 'rev-parse', 'HEAD').trim();
}

/** The component project as a user's instance has it: Kiln's templates/ and README at `v<version>`. */
function componentFiles(override: Record<string, string> = {}): Record<string, string> {
  const files: Record<string, string> = { 'README.md': readFileSync(join(TEMPLATES, 'README.md'), 'utf8') };
  for (const f of readdirSync(TEMPLATES)) files[`templates/${f}`] = readFileSync(join(TEMPLATES, f), 'utf8');
  return { ...files, ...override };
}

beforeAll(async () => {
  if (!registryAvailable() || !skopeoAvailable())
    throw new Error('these tests need docker-registry and skopeo (apt-get install docker-registry skopeo)');
  for (const tool of ['git', 'rsync', 'bash', 'xmllint'])
    if (!which(tool)) throw new Error(`these tests need ${tool} on PATH`);
  if (!existsSync(GITLAB_CI_LOCAL))
    throw new Error(
      `gitlab-ci-local is not at ${GITLAB_CI_LOCAL}: run .ci/run or ` +
        `npm install --prefix .tools gitlab-ci-local@${GITLAB_CI_LOCAL_VERSION} (or set GITLAB_CI_LOCAL)`,
    );
  work = mkdtempSync(join(tmpdir(), 'kiln-components-'));
  cleanups.push(() => removeDir(work));
  home = join(work, 'home');
  mkdirSync(home);
  const [reg, sk, gl, server] = await Promise.all([
    startRegistry({ logLevel: 'error', auth: { kind: 'basic', users: { [REGISTRY_USER]: JOB_TOKEN } } }),
    createSkopeo(),
    startGitLab(join(work, 'gitlab'), [`${GROUP}/app-deploy`], JOB_TOKEN),
    startServer(),
  ]);
  [registry, skopeo, gitlab, app] = [reg, sk, gl, server];
  cleanups.push(
    () => registry.stop(),
    () => skopeo.close(),
    () => gitlab.close(),
    () => app.close(),
    // gitlab-ci-local writes file variables (the kubeconfigs) under /tmp, named after the project.
    async () => {
      for (const d of readdirSync('/tmp'))
        if (d.startsWith(`gitlab-ci-local-file-variables-${GROUP}-`))
          rmSync(join('/tmp', d), { recursive: true });
    },
  );
  kilnPackage = packCli(work, {
    PATH: [dirname(hostNode()), ...plainPath()].join(delimiter),
    HOME: home,
    npm_config_cache: join(work, 'npm-cache'),
    npm_config_update_notifier: 'false',
  }).tarball;
  publish(COMPONENT_PROJECT, componentFiles(), [COMPONENT_REF]);
}, 180_000);

afterAll(async () => {
  killLiveGroups();
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** `/<env>/health…` on the app server: 200, counted per environment. */
function appRoute(env: string, path: string): string {
  appCalls[env] = 0;
  app.route(`/${env}${path}`, (_req, res) => {
    appCalls[env] = (appCalls[env] ?? 0) + 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"UP"}');
  });
  return `${app.url}/${env}`;
}

/** A project checkout whose origin is `<GROUP>/<name>` on the GitLab server; `untracked` stays out of git. */
function project(
  name: string,
  files: Record<string, string>,
  untracked: Record<string, string> = {},
): string {
  const dir = mkdtempSync(join(work, `${name}-`));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Dev Ops');
  git(dir, 'config', 'user.email', 'devops@example.com');
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  if (files['gradlew']) chmodSync(join(dir, 'gradlew'), 0o755);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'pipeline');
  git(dir, 'remote', 'add', 'origin', `${gitlab.url}/${GROUP}/${name}.git`);
  git(dir, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
  git(dir, 'symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
  for (const [file, text] of Object.entries(untracked)) writeFileSync(join(dir, file), text);
  return dir;
}

/** CI/CD variables scoped to environments, as in Settings › CI/CD › Variables (gitlab-ci-local's file format). */
function scopedVariables(vars: Record<string, { type?: 'file'; values: Record<string, string> }>): string {
  const lines: string[] = [];
  for (const [name, v] of Object.entries(vars)) {
    lines.push(`${name}:`, `  type: ${v.type ?? 'variable'}`, '  values:');
    for (const [env, value] of Object.entries(v.values)) lines.push(`    ${env}: ${JSON.stringify(value)}`);
  }
  return lines.join('\n') + '\n';
}

interface PipelineRun extends ChildResult {
  log: string;
  timedOut: boolean;
}

/**
 * gitlab-ci-local in `dir`, as in gitlab-pipelines.test.ts (a fresh npm prefix per run, npm offline, KILN_PACKAGE),
 * with the jobs on this machine's shell whatever their image (see the top of the file) and CI_PROJECT_DIR `.`.
 */
function gitlabCiLocal(
  dir: string,
  vars: Record<string, string>,
  extra: string[] = [],
  timeoutMs = 90_000,
): Promise<PipelineRun> {
  const prefix = mkdtempSync(join(work, 'npm-prefix-'));
  const args = [
    GITLAB_CI_LOCAL,
    '--cwd',
    '.',
    '--home',
    home,
    '--shell-isolation',
    '--force-shell-executor',
    '--no-artifacts-to-source',
    '--no-color',
    '--max-job-name-padding',
    '0',
    ...Object.entries({
      KILN_PACKAGE: kilnPackage,
      CI_PROJECT_DIR: '.',
      GITLAB_CI: 'true', // gitlab-ci-local says "false"; every GitLab job has "true"
      CI_REGISTRY: registry.host,
      CI_REGISTRY_USER: REGISTRY_USER,
      CI_REGISTRY_PASSWORD: JOB_TOKEN,
      CI_JOB_TOKEN: JOB_TOKEN,
      ...vars,
    }).flatMap(([k, v]) => ['--variable', `${k}=${v}`]),
    ...extra,
  ];
  return runGroup(hostNode(), args, {
    cwd: dir,
    env: {
      ...gitEnv(),
      PATH: [join(prefix, 'bin'), ...plainPath()].join(delimiter),
      LANG: 'C.UTF-8',
      NO_COLOR: '1',
      TMPDIR: work,
      npm_config_prefix: prefix,
      npm_config_cache: join(work, 'npm-cache'),
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
    },
    timeoutMs,
  });
}

const passed = (r: PipelineRun) => ({
  exitCode: r.exitCode,
  timedOut: r.timedOut,
  log: r.exitCode === 0 ? '' : r.log,
});
const OK = { exitCode: 0, timedOut: false, log: '' };

/** Lines the job printed (`<job> > …`). */
const jobLines = (r: PipelineRun, job: string): string[] =>
  r.log
    .split('\n')
    .filter((l) => l.startsWith(`${job} > `))
    .map((l) => l.slice(job.length + 3));

/** The jobs that ran, from gitlab-ci-local's summary: PASS, FAIL, or WARN (failed, allowed to fail). */
const outcomes = (r: PipelineRun): Record<string, string> =>
  Object.fromEntries(
    [...r.log.matchAll(/^ (PASS|FAIL|WARN) +(.+?)\s*$/gm)]
      .filter((m) => m[1] !== 'WARN' || (m[2] as string).endsWith('  pre_script'))
      .map((m) => [(m[2] as string).replace(/\s+pre_script$/, ''), m[1] as string]),
  );

/** A job's artifacts as gitlab-ci-local keeps them (its folder: the job name, other characters base64url'd). */
const artifact = (dir: string, job: string, ...path: string[]): string =>
  join(
    dir,
    '.gitlab-ci-local',
    'artifacts',
    job.replace(/[^\w-]+/g, (s) => Buffer.from(s).toString('base64url')),
    ...path,
  );

function dotenvOf(dir: string, job: string): Record<string, string> {
  const file = artifact(dir, job, '.gitlab-ci-reports', 'dotenv', 'kiln.env');
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** The jobs as gitlab-ci-local expanded them (includes resolved, inputs interpolated, defaults applied). */
const expanded = (dir: string): JsonMap =>
  parseYaml(readFileSync(join(dir, '.gitlab-ci-local', 'expanded-gitlab-ci.yml'), 'utf8')) as JsonMap;

/** JUnit as GitLab's parser reads it (the schema in test/fixtures). */
function validJunit(file: string): string {
  execFileSync('xmllint', ['--noout', '--schema', join(repoRoot, 'test/fixtures/junit-gitlab.xsd'), file], {
    stdio: 'pipe',
    timeout: 10_000,
  });
  return readFileSync(file, 'utf8');
}

/** Every dotenv report a run left is within GitLab's 5 KiB limit (a larger one is rejected). */
function dotenvsFit(dir: string): Record<string, number> {
  const root = join(dir, '.gitlab-ci-local', 'artifacts');
  const sizes: Record<string, number> = {};
  for (const job of readdirSync(root)) {
    const f = join(root, job, '.gitlab-ci-reports', 'dotenv', 'kiln.env');
    if (existsSync(f)) sizes[job] = statSync(f).size;
  }
  return sizes;
}

const basicAuth = `Basic ${Buffer.from(`${REGISTRY_USER}:${JOB_TOKEN}`).toString('base64')}`;

/** A base image (one layer) pushed to the registry with skopeo. */
async function seedBase(repository: string, tag: string): Promise<string> {
  const img = await writeOciLayout(join(work, `base-${repository.replace(/\W/g, '-')}`), {
    seed: repository,
    randomBytes: 2048,
  });
  const pushed = await skopeo.copyTo(img.ref, `docker://${registry.host}/${repository}:${tag}`, {
    creds: `${REGISTRY_USER}:${JOB_TOKEN}`,
    extra: ['--preserve-digests'],
    timeoutMs: 20_000,
  });
  expect(pushed).toMatchObject({ code: 0 });
  return img.manifest.digest;
}

const readExample = (file: string) => readFileSync(join(EXAMPLES, file), 'utf8');

// ---------------------------------------------------------------------------------------------------------------
// 1. GitLab's rules
// ---------------------------------------------------------------------------------------------------------------

describe("the checker does what GitLab does (GitLab's documented examples, doc/ci/inputs/)", () => {
  /** "Input configuration" in doc/ci/inputs/_index.md. */
  const SCAN = `spec:
  inputs:
    job-prefix:     # Mandatory string input
      description: "Define a prefix for the job name"
    job-stage:      # Optional string input with a default value when not provided
      default: test
    environment:    # Mandatory input that must match one of the options
      options: ['test', 'staging', 'production']
    concurrency:
      type: number  # Optional numeric input with a default value when not provided
      default: 1
    version:        # Mandatory string input that must match the regular expression
      type: string
      regex: ^v\\d\\.\\d+(\\.\\d+)$
    export_results: # Optional boolean input with a default value when not provided
      type: boolean
      default: true
---

"$[[ inputs.job-prefix ]]-scan-website":
  stage: $[[ inputs.job-stage ]]
  script:
    - echo "scanning website -e $[[ inputs.environment ]] -c $[[ inputs.concurrency ]] -v $[[ inputs.version ]]"
    - if $[[ inputs.export_results ]]; then echo "export results"; fi
`;
  const ARGS = {
    'job-prefix': 'some-service-',
    environment: 'staging',
    concurrency: 2,
    version: 'v1.3.2',
    export_results: false,
  };

  test("the include in “Set input values”: the job GitLab's table describes", () => {
    expect(include(SCAN, ARGS)).toEqual({
      errors: [],
      jobs: {
        'some-service--scan-website': {
          stage: 'test',
          script: [
            'echo "scanning website -e staging -c 2 -v v1.3.2"',
            'if false; then echo "export results"; fi',
          ],
        },
      },
    });
  });

  test('“Input types”: a whole value keeps its type, one inside a string is text', () => {
    const typed = `spec:
  inputs:
    array_input:
      type: array
    boolean_input:
      type: boolean
    number_input:
      type: number
    string_input:
      type: string
    port:
      type: number
---

test_job:
  allow_failure: $[[ inputs.boolean_input ]]
  needs: $[[ inputs.array_input ]]
  parallel: $[[ inputs.number_input ]]
  script: $[[ inputs.string_input ]]
  after_script: curl "https://gitlab.com:$[[ inputs.port ]]"
`;
    const args = {
      array_input: ['a', 'b'],
      boolean_input: true,
      number_input: 3,
      string_input: 'ls',
      port: 8080,
    };
    expect(include(typed, args)).toEqual({
      errors: [],
      jobs: {
        test_job: {
          allow_failure: true,
          needs: ['a', 'b'],
          parallel: 3,
          script: 'ls',
          after_script: 'curl "https://gitlab.com:8080"',
        },
      },
    });
    // An array inside a string is refused here (Ruby's inspect on GitLab, JSON in gitlab-ci-local).
    expect(
      include(
        typed.replace('script: $[[ inputs.string_input ]]', 'script: x $[[ inputs.array_input ]]'),
        args,
      ).errors,
    ).toEqual([
      '$[[ inputs.array_input ]] in "x $[[ inputs.array_input ]]": ["a","b"] inside a string reads differently in GitLab',
    ]);
  });

  test('what GitLab refuses, in its words', () => {
    const errors = (args: JsonMap, text = SCAN) => include(text, args).errors;
    expect(errors({ ...ARGS, extra: 'x' })).toEqual(['unknown input arguments: extra']);
    expect(errors({ ...ARGS, 'job-prefix': null })).toEqual([
      '`job-prefix` input: required value has not been provided',
    ]);
    expect(errors({ ...ARGS, concurrency: '2' })).toEqual([
      '`concurrency` input: provided value is not a number',
    ]);
    expect(errors({ ...ARGS, export_results: 'false' })).toEqual([
      '`export_results` input: provided value is not a boolean',
    ]);
    expect(errors({ ...ARGS, environment: 'prod' })).toEqual([
      '`environment` input: `prod` cannot be used because it is not in the list of allowed options',
    ]);
    expect(errors({ ...ARGS, version: 'v1.A.B' })).toEqual([
      '`version` input: provided value does not match required RegEx pattern',
    ]);
    expect(errors(ARGS, SCAN.replace('default: 1', 'default: "1"'))).toEqual([
      '`concurrency` input: default value is not a number',
    ]);
    // An input used but not declared.
    expect(errors(ARGS, SCAN.replace('$[[ inputs.job-stage ]]', '$[[ inputs.job_stage ]]'))).toEqual([
      'unknown interpolation key: `job_stage`',
    ]);
    expect(
      errors(
        ARGS,
        SCAN.replace('    concurrency:\n      type: number', '    concurrency:\n      type: integer'),
      ),
    ).toEqual(['header:spec:inputs:concurrency input type unknown value: integer']);
    expect(errors(ARGS, SCAN.replace('spec:\n  inputs:', 'spec:\n  description: x\n  inputs:'))).toEqual([
      'spec config contains unknown keys: description',
    ]);
  });
});

describe('templates/: GitLab CI/CD components, one per action and one for the pipeline', () => {
  test('the layout GitLab wants: templates/<name>.yml for each action and the pipeline, a README', () => {
    expect(readdirSync(TEMPLATES).sort()).toEqual([...COMPONENTS.map((c) => `${c}.yml`), 'README.md'].sort());
  });

  test.each(COMPONENTS)('%s: a valid header; every input described, every default valid', (name) => {
    const { component, errors } = parseComponent(template(name));
    expect(errors).toEqual([]);
    for (const [input, spec] of Object.entries(component.inputs))
      expect([input, typeof spec.description, (spec.description ?? '').length > 10]).toEqual([
        input,
        'string',
        true,
      ]);
    // Defaults as GitLab checks them (type, options, regex), with placeholders for the required inputs.
    const required = Object.fromEntries(
      Object.entries(component.inputs)
        .filter(([, s]) => !('default' in s))
        .map(([n]) => [n, 'x']),
    );
    expect(inputValues(component.inputs, required).errors).toEqual([]);
  });

  test.each(COMPONENTS)(
    '%s: every input declared is used and every input used is declared, no functions',
    (name) => {
      const { component } = parseComponent(template(name));
      const blocks = blocksIn(component.body);
      const used = new Set(blocks.map((b) => b.access.replace(/^inputs\./, '')));
      expect([...used].sort()).toEqual(Object.keys(component.inputs).sort());
      expect(blocks.filter((b) => b.functions.length || !b.access.startsWith('inputs.'))).toEqual([]);
    },
  );

  test.each([...actionNames])(
    '%s: one job, named by job-name, runs the action; every flag is one of its inputs, of the same kind',
    async (name) => {
      const text = template(name);
      const { component } = parseComponent(text);
      const spec = (await loadAction(name)).spec;
      expect(Object.keys(component.body)).toEqual(['$[[ inputs.job-name ]]']);
      const job = component.body['$[[ inputs.job-name ]]'] as JsonMap;
      expect(job['before_script']).toEqual([
        'npm install -g "${KILN_PACKAGE:-kiln-ci@$[[ inputs.kiln-version ]]}"',
      ]);
      const scripts = (job['script'] as string[]).filter((l) => l.startsWith('kiln '));
      expect(scripts).toHaveLength(1);
      const line = scripts[0] as string;
      expect(line.startsWith(`kiln ${name} `)).toBe(true);
      const flags = [...line.matchAll(/--([a-z0-9-]+)(?: "([^"]*)")?/g)].map((m) => ({
        flag: m[1] as string,
        value: m[2],
      }));
      for (const { flag, value } of flags) {
        const decl = spec.inputs[flag];
        expect([flag, decl !== undefined]).toEqual([flag, true]);
        const input = /^\$\[\[ inputs\.([a-z0-9-]+) \]\]$/.exec(value ?? '')?.[1];
        if (!decl || !input) continue;
        const mine = component.inputs[input] as InputSpec;
        // A boolean flag takes a boolean input; an enum flag an input whose options are among its values; a
        // default of the same name is the action's own (unless it names a CI/CD variable).
        if (decl.type === 'boolean') expect([flag, mine.type]).toEqual([flag, 'boolean']);
        if (decl.type === 'enum') {
          const values: readonly string[] = decl.values;
          expect([flag, (mine.options ?? []).every((o) => values.includes(o as string))]).toEqual([
            flag,
            true,
          ]);
        }
        if (input === flag && decl.default !== undefined && !String(mine.default ?? '').includes('$'))
          expect([flag, String(mine.default)]).toEqual([flag, decl.default]);
      }
      // Every input a component declares for the action reaches it.
      const passedOn = new Set(
        flags.map((f) => /^\$\[\[ inputs\.([a-z0-9-]+) \]\]$/.exec(f.value ?? '')?.[1]),
      );
      const own = ['job-name', 'stage', 'rules', 'job-image', 'kiln-version', 'args', 'output-prefix'];
      expect(
        Object.keys(component.inputs).filter(
          (i) => !own.includes(i) && !passedOn.has(i) && !line.includes(`$[[ inputs.${i} ]]`),
        ),
      ).toEqual([]);
    },
  );

  test('kiln-version defaults to the kiln-ci version of this checkout (a release moves both)', () => {
    for (const name of COMPONENTS)
      expect([name, parseComponent(template(name)).component.inputs['kiln-version']?.default]).toEqual([
        name,
        VERSION,
      ]);
  });

  test('templates/README.md has every component’s inputs, as declared', () => {
    const readme = readFileSync(join(TEMPLATES, 'README.md'), 'utf8');
    for (const name of COMPONENTS) {
      const { component } = parseComponent(template(name));
      const table = inputsTable(component.inputs);
      const section = readme
        .split(`<!-- inputs:${name}:start -->`)[1]
        ?.split(`<!-- inputs:${name}:end -->`)[0];
      expect({ name, table: section?.trim() }).toEqual({ name, table });
    }
  });
});

/** The README table of a component's inputs (what templates/README.md holds between its markers). */
function inputsTable(inputs: Record<string, InputSpec>): string {
  const show = (v: Json): string =>
    typeof v === 'string' ? v : JSON.stringify(v).replace(/"/g, '').replace(/,/g, ', ').replace(/:/g, ': ');
  const rows = Object.entries(inputs).map(([name, s]) => {
    const type = s.options ? s.options.join(' \\| ') : (s.type ?? 'string');
    const def = !('default' in s) ? '**required**' : s.default === '' ? '' : `\`${show(s.default ?? null)}\``;
    return `| \`${name}\` | ${type} | ${def} | ${(s.description ?? '').replace(/\|/g, '\\|')} |`;
  });
  return ['| Input | Type | Default | Description |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** The `include: - component:` entries of an example. */
function componentIncludes(
  text: string,
): Array<{ component: string; project?: string; name: string; ref: string; inputs: JsonMap }> {
  const doc = parseYaml(text) as JsonMap;
  const list = (Array.isArray(doc['include']) ? doc['include'] : [doc['include']]) as JsonMap[];
  return list
    .filter((i) => typeof i['component'] === 'string')
    .map((i) => {
      const m = /^\$CI_SERVER_FQDN\/(.+)\/([a-z0-9-]+)@(.+)$/.exec(i['component'] as string);
      return {
        component: i['component'] as string,
        name: m?.[2] ?? '',
        ref: m?.[3] ?? '',
        project: m?.[1],
        inputs: (i['inputs'] ?? {}) as JsonMap,
      };
    });
}

describe('the example pipelines include the components as GitLab requires', () => {
  test.each(EXAMPLE_FILES)(
    '%s: $CI_SERVER_FQDN/components/kiln/<name>@v<version>, inputs GitLab accepts',
    (file) => {
      const text = readExample(file);
      const doc = parseYaml(text) as JsonMap;
      const stages = (doc['stages'] as string[] | undefined) ?? ['build', 'test', 'deploy'];
      const includes = componentIncludes(text);
      expect(includes.length).toBeGreaterThan(0);
      const componentJobs = new Set<string>();
      for (const inc of includes) {
        expect(inc.component).toBe(`$CI_SERVER_FQDN/${COMPONENT_PROJECT}/${inc.name}@${COMPONENT_REF}`);
        const { jobs, errors } = include(template(inc.name), inc.inputs);
        expect({ component: inc.component, errors }).toEqual({ component: inc.component, errors: [] });
        for (const [job, body] of Object.entries(jobs)) {
          // Two includes must not make two jobs of one name (GitLab would merge them into one).
          expect([job, componentJobs.has(job)]).toEqual([job, false]);
          componentJobs.add(job);
          // Each job's stage is one the pipeline has (GitLab: "chosen stage does not exist").
          if (!job.startsWith('.') && isMapping(body) && typeof body['stage'] === 'string')
            expect([job, ['.pre', '.post', ...stages].includes(body['stage'])]).toEqual([job, true]);
        }
      }
      // The file's own jobs: a job without a script changes a component's job of that name (GitLab merges them);
      // what a job needs exists.
      const keywords = ['stages', 'include', 'variables', 'default', 'workflow'];
      for (const [name, body] of Object.entries(doc)) {
        if (keywords.includes(name) || name.startsWith('.') || !isMapping(body)) continue;
        if (!('script' in body))
          expect([name, 'a component job', componentJobs.has(name)]).toEqual([name, 'a component job', true]);
        for (const need of (body['needs'] as Json[] | undefined) ?? []) {
          const job = typeof need === 'string' ? need : String((need as JsonMap)['job']);
          expect([name, job, componentJobs.has(job) || job in doc]).toEqual([name, job, true]);
        }
      }
    },
  );

  test('a broken component or include fails the check: an input used but not declared, a wrong type', () => {
    const k8s = template('deploy-k8s');
    const inputs = { environment: 'qa', manifests: 'k8s/' };
    expect(
      include(
        k8s.replace('--namespace "$[[ inputs.namespace ]]"', '--namespace "$[[ inputs.namespaces ]]"'),
        inputs,
      ).errors,
    ).toEqual(['unknown interpolation key: `namespaces`']);
    expect(
      include(template('push-registry').replace('default: true', "default: 'true'"), { source: 'oci:x' })
        .errors,
    ).toEqual(['`allow-overwrite` input: default value is not a boolean']);
    expect(include(k8s, { ...inputs, rules: { when: 'manual' } }).errors).toEqual([
      '`rules` input: provided value is not an array',
    ]);
    expect(include(k8s, { ...inputs, strategy: 'recreate' }).errors).toEqual([
      '`strategy` input: `recreate` cannot be used because it is not in the list of allowed options',
    ]);
    expect(include(k8s, { ...inputs, 'kiln-version': 'latest' }).errors).toEqual([
      '`kiln-version` input: provided value does not match required RegEx pattern',
    ]);
    expect(include(k8s, { ...inputs, namespaces: 'qa' }).errors).toEqual([
      'unknown input arguments: namespaces',
    ]);
    expect(include(k8s, { manifests: 'k8s/' }).errors).toEqual([
      '`environment` input: required value has not been provided',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 2. For real, with gitlab-ci-local
// ---------------------------------------------------------------------------------------------------------------

/** The users' app definition (test/fixtures/marathon) for an environment; a lower-case id, as Marathon wants. */
function appDefinition(env: string): string {
  const users = JSON.parse(
    readFileSync(join(repoRoot, 'test', 'fixtures', 'marathon', 'scenario-qa-deploy.json'), 'utf8'),
  ) as JsonObject;
  return JSON.stringify(
    {
      ...users,
      id: '/app-name',
      args: [`--spring.profiles.active=${env}`],
      labels: { ...(users['labels'] as JsonObject), HAPROXY_0_VHOST: `${env}.app.example.com` },
    },
    null,
    2,
  );
}

/** What Marathon runs now, read through its API as a user would. */
async function marathonApp(
  sim: MarathonSim,
): Promise<{ image: unknown; labels: JsonObject; healthy: number }> {
  const res = await fetch(`${sim.url}/v2/apps/app-name`, { signal: AbortSignal.timeout(5000) });
  if (res.status === 404) return { image: undefined, labels: {}, healthy: 0 };
  const { app: a } = (await res.json()) as { app: JsonObject };
  return {
    image: ((a['container'] as JsonObject)['docker'] as JsonObject)['image'],
    labels: a['labels'] as JsonObject,
    healthy: a['tasksHealthy'] as number,
  };
}

const changes = (sim: MarathonSim): number => sim.requests.filter((r) => r.method !== 'GET').length;

describe('components-pipeline.gitlab-ci.yml: the pipeline component, the deploy files cloned from their own project', () => {
  const ENVS = ['qa', 'prod-AA', 'prod-BB'] as const;
  const sims = {} as Record<(typeof ENVS)[number], MarathonSim>;
  const repo = `${GROUP}/app`;
  const image = () => `${registry.host}/${repo}`;
  let dir: string;
  let deployCommit: string;
  let digest: string;
  /** "Run pipeline" for the tag 1.0.0. */
  const vars = () => ({ CI_REGISTRY_IMAGE: image(), CI_COMMIT_TAG: '1.0.0' });

  beforeAll(async () => {
    for (const env of ENVS) {
      sims[env] = await startMarathonSim({ timeScale: 1000 });
      const sim = sims[env];
      cleanups.push(() => sim.close());
    }
    await seedBase('platform/java-runtime', '21');
    // The deploy repository: its own project, private (only the job token may clone it).
    deployCommit = publish(`${GROUP}/app-deploy`, {
      'deploy/qa-deploy.json': appDefinition('qa'),
      'deploy/prod-deploy.json': appDefinition('prod'),
      'README.md': 'The app definitions, per environment.\n',
    });
    const urls = Object.fromEntries(ENVS.map((e) => [e, appRoute(`pipeline-${e}`, '/health_check')]));
    dir = project(
      'app',
      {
        '.gitlab-ci.yml': readExample('components-pipeline.gitlab-ci.yml'),
        // Stands in for Gradle: the jar the bake puts on the base image.
        gradlew: '#!/bin/sh\nmkdir -p build/libs && echo "app $CI_COMMIT_SHA" > build/libs/app.jar\n',
      },
      {
        '.gitlab-ci-local-variables.yml': scopedVariables({
          MARATHON_URL: { values: Object.fromEntries(ENVS.map((e) => [e, sims[e].url])) },
          APP_URL: { values: urls },
        }),
      },
    );
  }, 60_000);

  test('a tag pipeline: jar → deploy files → bake → push → QA → smoke QA → promote; production waits for a person', async () => {
    const before = { aa: changes(sims['prod-AA']), bb: changes(sims['prod-BB']) };
    const r = await gitlabCiLocal(dir, vars());
    expect(passed(r)).toEqual(OK);
    // The component came from the component project as GitLab serves it (a raw file, then a git clone of the tag):
    // this checkout's templates/pipeline.yml, byte for byte.
    const fetched = join(
      dir,
      '.gitlab-ci-local',
      'includes',
      gitlab.fqdn.split(':')[0] as string,
      COMPONENT_PROJECT,
    );
    expect(readFileSync(join(fetched, COMPONENT_REF, 'templates', 'pipeline.yml'), 'utf8')).toBe(
      template('pipeline'),
    );
    expect(gitlab.requests).toContainEqual(
      expect.objectContaining({
        path: `/${COMPONENT_PROJECT}/-/raw/${COMPONENT_REF}/templates/pipeline.yml`,
      }),
    );
    expect(gitlab.requests).toContainEqual(
      expect.objectContaining({ path: `/${COMPONENT_PROJECT}.git/git-upload-pack` }),
    );
    expect(outcomes(r)).toEqual({
      jar: 'PASS',
      'kiln-deploy-files': 'PASS',
      'kiln-bake': 'PASS',
      'kiln-push': 'PASS',
      'kiln-deploy-qa': 'PASS',
      'kiln-smoke-qa': 'PASS',
      'kiln-promote': 'PASS',
    });
    // The deploy files came from their project, cloned with the job token (asked for after GitLab's 401).
    expect(jobLines(r, 'kiln-deploy-files')).toContain(
      `deploy files from ${GROUP}/app-deploy at ${deployCommit} (publish ${GROUP}/app-deploy)`,
    );
    const clones = gitlab.requests.filter((q) => q.path.startsWith(`/${GROUP}/app-deploy.git/`));
    expect(clones.some((q) => q.user === undefined)).toBe(true);
    expect(
      clones
        .filter((q) => q.user !== undefined)
        .every((q) => q.user === 'gitlab-ci-token' && q.password === JOB_TOKEN),
    ).toBe(true);
    expect(readdirSync(artifact(dir, 'kiln-deploy-files', 'deploy')).sort()).toEqual([
      'prod-deploy.json',
      'qa-deploy.json',
    ]);

    // One digest from the bake to QA: the layout the bake wrote is what the push pushed, under the commit's tag.
    const pushed = dotenvOf(dir, 'kiln-push');
    digest = pushed['DIGEST'] ?? '';
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(dotenvOf(dir, 'kiln-bake')).toMatchObject({ BAKE_DIGEST: digest, BAKE_BUILDER: 'layer-append' });
    const sha = git(dir, 'rev-parse', '--short=8', 'HEAD').trim();
    expect(await rawHead(registry.url, repo, sha, basicAuth)).toBe(digest);
    // QA's Marathon runs it pinned by digest, the deploy files' definition otherwise, labelled with the pipeline.
    expect(await marathonApp(sims.qa)).toEqual({
      image: `${image()}@${digest}`,
      labels: expect.objectContaining({
        HAPROXY_0_VHOST: 'qa.app.example.com',
        KILN_RELEASE_ID: expect.any(String),
      }),
      healthy: 2,
    });
    expect(dotenvOf(dir, 'kiln-deploy-qa')).toMatchObject({
      RESULT: 'deployed',
      IMAGE: `${image()}@${digest}`,
    });
    // QA was smoke-tested: its APP_URL answered, the JUnit report is kept, the verdict recorded for the digest…
    expect(appCalls['pipeline-qa']).toBeGreaterThan(0);
    expect(validJunit(artifact(dir, 'kiln-smoke-qa', 'kiln-reports', 'smoke-test.junit.xml'))).toContain(
      '<testcase',
    );
    expect(dotenvOf(dir, 'kiln-smoke-qa')).toMatchObject({ VERDICT: 'pass', FAILED: '0' });
    expect(jobLines(r, 'kiln-smoke-qa')).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^ledger: verify .* recorded in qa \\(oci://${image()}\\): ${image()}@${digest} success, verification passed\\.$`,
        ),
      ),
    );
    // …which promote required before giving it the release tag.
    expect(await rawHead(registry.url, repo, '1.0.0', basicAuth)).toBe(digest);
    expect(dotenvOf(dir, 'kiln-promote')).toMatchObject({ DIGEST: digest, RESULT: 'pushed' });
    // Production: nothing yet.
    expect({ aa: changes(sims['prod-AA']), bb: changes(sims['prod-BB']) }).toEqual(before);
    expect(r.log).not.toMatch(/^kiln-(prod|rollback-prod)/m);
    expect(dotenvsFit(dir)).toEqual(expect.objectContaining({ 'kiln-bake': expect.any(Number) }));
    for (const [job, size] of Object.entries(dotenvsFit(dir)))
      expect([job, size < 5120]).toEqual([job, true]);
    expectNoLeak(r, [dir], JOB_TOKEN, REGISTRY_USER);
  }, 180_000);

  test('the jobs as GitLab has them: production blocking and manual per datacenter, rollbacks manual, one deploy at a time', async () => {
    const listed = await gitlabCiLocal(dir, vars(), ['--list']);
    expect(listed.exitCode).toBe(0);
    expect(listed.log).toMatch(
      /^kiln-prod: \[AA\] +deploy +manual +false +\[kiln-deploy-files,kiln-smoke-qa,kiln-promote,kiln-push\]/m,
    );
    expect(listed.log).toMatch(/^kiln-prod: \[BB\] +deploy +manual +false/m);
    expect(listed.log).toMatch(/^kiln-rollback-prod: \[AA\] +deploy +manual +true +\[kiln-deploy-files\]/m);
    const jobs = expanded(dir);
    expect(jobs['kiln-deploy-qa']).toMatchObject({
      environment: { name: 'qa' },
      resource_group: 'deploy-qa',
    });
    expect(jobs['kiln-smoke-qa']).toMatchObject({ environment: { name: 'qa', action: 'verify' } });
    // The matrix jobs as GitLab expands the component (gitlab-ci-local 4.60.1 gives every job of a matrix the
    // environment of the first, prod-AA: the runs below play datacenter AA only).
    const [pipeline] = componentIncludes(readExample('components-pipeline.gitlab-ci.yml'));
    const mine = include(template('pipeline'), pipeline?.inputs ?? {}).jobs;
    for (const name of ['kiln-prod', 'kiln-rollback-prod'])
      expect(mine[name]).toMatchObject({
        environment: { name: 'prod-$DATACENTER' },
        resource_group: 'deploy-prod-$DATACENTER',
        parallel: { matrix: [{ DATACENTER: ['AA', 'BB'] }] },
      });
  }, 60_000);

  test('a person runs production AA: AA runs the digest QA verified, verified there; BB is untouched', async () => {
    const bb = changes(sims['prod-BB']);
    const r = await gitlabCiLocal(dir, vars(), ['--job', 'kiln-prod: [AA]']);
    expect(passed(r)).toEqual(OK);
    expect(outcomes(r)).toEqual({ 'kiln-prod: [AA]': 'PASS' });
    expect(await marathonApp(sims['prod-AA'])).toEqual({
      image: `${image()}@${digest}`,
      labels: expect.objectContaining({ HAPROXY_0_VHOST: 'prod.app.example.com' }),
      healthy: 2,
    });
    expect(changes(sims['prod-BB'])).toBe(bb);
    expect(appCalls['pipeline-prod-AA']).toBeGreaterThan(0);
    expect(appCalls['pipeline-prod-BB']).toBe(0);
    expect(dotenvOf(dir, 'kiln-prod: [AA]')).toMatchObject({ RESULT: 'deployed', VERDICT: 'pass' });
    expect(validJunit(artifact(dir, 'kiln-prod: [AA]', 'kiln-reports', 'smoke-test.junit.xml'))).toContain(
      '<testcase',
    );
    expect(jobLines(r, 'kiln-prod: [AA]').filter((l) => l.startsWith('ledger: '))).toEqual([
      expect.stringMatching(
        `^ledger: deploy .* recorded in prod-AA \\(oci://${image()}\\): ${image()}@${digest} success\\.$`,
      ),
      expect.stringMatching(`^ledger: verify .* recorded in prod-AA .* success, verification passed\\.$`),
    ]);
    expectNoLeak(r, [dir], JOB_TOKEN, REGISTRY_USER);
  }, 120_000);

  test('a rollback of AA with one release in its history is refused in one line; the pipeline goes on', async () => {
    const seen = changes(sims['prod-AA']);
    const r = await gitlabCiLocal(dir, vars(), ['--job', 'kiln-rollback-prod: [AA]']);
    expect({ exitCode: r.exitCode, timedOut: r.timedOut }).toEqual({ exitCode: 0, timedOut: false });
    expect(outcomes(r)).toEqual({ 'kiln-rollback-prod: [AA]': 'WARN' }); // allowed to fail
    expect(jobLines(r, 'kiln-rollback-prod: [AA]').filter((l) => /^error/.test(l))).toEqual([
      expect.stringMatching(/^error: rollback refused: .*prod-AA.*Nothing was changed\.$/),
    ]);
    expect(changes(sims['prod-AA'])).toBe(seen);
    expect((await marathonApp(sims['prod-AA'])).image).toBe(`${image()}@${digest}`);
  }, 120_000);
});

describe('components-k8s.gitlab-ci.yml: bake-image, push-registry, deploy-k8s and smoke-test; a manual production deploy', () => {
  const clusters = {} as Record<'qa' | 'prod', KubeSim>;
  const repo = `${GROUP}/shop`;
  const image = () => `${registry.host}/${repo}`;
  let dir: string;
  let digest: string;
  const vars = () => ({ CI_REGISTRY_IMAGE: image() });
  const web = (sim: KubeSim) =>
    sim.get('apps/v1', 'Deployment', 'default', 'web') as
      | {
          spec: { template: { spec: { containers: Array<{ image: string; args: string[] }> } } };
          status?: JsonObject;
        }
      | undefined;

  beforeAll(async () => {
    for (const env of ['qa', 'prod'] as const) {
      clusters[env] = await startKubeSim({ timeScale: 50, token: KUBE_TOKEN, tls: true }); // Kiln sends no token over http
      const sim = clusters[env];
      cleanups.push(() => sim.close());
    }
    await seedBase('platform/runtime', '1');
    const manifests = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: ${image()}:dev
          args: ["--env=\${ENV}"]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
`;
    dir = project(
      'shop',
      {
        '.gitlab-ci.yml': readExample('components-k8s.gitlab-ci.yml'),
        'app/index.html': '<h1>shop</h1>\n',
        'k8s/web.yaml': manifests,
      },
      {
        '.gitlab-ci-local-variables.yml': scopedVariables({
          KUBECONFIG: {
            type: 'file',
            values: { qa: clusters.qa.kubeconfig(), prod: clusters.prod.kubeconfig() },
          },
          APP_URL: { values: { qa: appRoute('shop-qa', '/health'), prod: appRoute('shop-prod', '/health') } },
        }),
      },
    );
  }, 60_000);

  test('a feature-branch pipeline: bake → push → QA deployed and smoke-tested; no production jobs', async () => {
    const r = await gitlabCiLocal(dir, {
      ...vars(),
      CI_COMMIT_BRANCH: 'feature-x',
      CI_COMMIT_REF_NAME: 'feature-x',
    });
    expect(passed(r)).toEqual(OK);
    expect(outcomes(r)).toEqual({
      'bake-image': 'PASS',
      'push-registry': 'PASS',
      'deploy-qa': 'PASS',
      'smoke-qa': 'PASS',
    });
    // The bake wrote a layout (its outputs prefixed), the push gave it the commit's tag: DIGEST for every later job.
    digest = dotenvOf(dir, 'push-registry')['DIGEST'] ?? '';
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(dotenvOf(dir, 'bake-image')).toMatchObject({ BAKE_DIGEST: digest, BAKE_BUILDER: 'layer-append' });
    expect(dotenvOf(dir, 'bake-image')['DIGEST']).toBeUndefined();
    const sha = git(dir, 'rev-parse', '--short=8', 'HEAD').trim();
    expect(await rawHead(registry.url, repo, sha, basicAuth)).toBe(digest);
    // QA's cluster runs it pinned by digest, with QA's vars; its pods are ready.
    const qa = web(clusters.qa);
    expect(qa?.spec.template.spec.containers[0]).toMatchObject({
      image: `${image()}@${digest}`,
      args: ['--env=qa'],
    });
    expect(qa?.status).toMatchObject({ readyReplicas: 2 });
    const deployed = dotenvOf(dir, 'deploy-qa');
    expect(deployed).toMatchObject({ QA_RESULT: 'deployed', QA_IMAGES: `${image()}@${digest}` });
    expect(jobLines(r, 'deploy-qa')).toContainEqual(
      `ledger: deploy ${deployed['QA_RELEASE_ID']} recorded in qa (oci://${image()}): ${image()}@${digest} success.`,
    );
    // QA smoke-tested at its APP_URL, the verdict recorded for the digest, the JUnit report kept.
    expect(appCalls['shop-qa']).toBeGreaterThan(0);
    expect(dotenvOf(dir, 'smoke-qa')).toMatchObject({ QA_VERDICT: 'pass' });
    expect(jobLines(r, 'smoke-qa')).toContainEqual(
      expect.stringMatching(
        `^ledger: verify .* recorded in qa \\(oci://${image()}\\): ${image()}@${digest} success, verification passed\\.$`,
      ),
    );
    expect(validJunit(artifact(dir, 'smoke-qa', 'kiln-reports', 'smoke-test.junit.xml'))).toContain(
      '<testcase',
    );
    // Production is for the default branch only.
    expect(web(clusters.prod)).toBeUndefined();
    expect(appCalls['shop-prod']).toBe(0);
    for (const [job, size] of Object.entries(dotenvsFit(dir)))
      expect([job, size < 5120]).toEqual([job, true]);
    expectNoLeak(r, [dir], JOB_TOKEN, REGISTRY_USER);
    expectNoLeak(r, [join(dir, '.gitlab-ci-local')], KUBE_TOKEN); // not in what the jobs left
  }, 180_000);

  test('on the default branch, deploy-prod is manual and holds the pipeline; smoke-prod waits for it', async () => {
    const listed = await gitlabCiLocal(dir, vars(), ['--list']);
    expect(listed.exitCode).toBe(0);
    expect(listed.log).toMatch(/^deploy-prod +production +manual +false\s*$/m); // not allowed to fail: blocking
    expect(listed.log).toMatch(/^smoke-prod +verify-production +on_success +false +\[deploy-prod\]/m);
    const jobs = expanded(dir);
    expect(jobs['deploy-qa']).toMatchObject({ environment: { name: 'qa' }, resource_group: 'deploy-qa' });
    expect(jobs['deploy-prod']).toMatchObject({
      environment: { name: 'prod' },
      resource_group: 'deploy-prod',
    });
    expect(jobs['smoke-prod']).toMatchObject({ environment: { name: 'prod', action: 'verify' } });
    // Nobody played it: gitlab-ci-local starts nothing (GitLab would run QA, then stop there, "blocked").
    const waiting = await gitlabCiLocal(dir, vars());
    expect(waiting.exitCode).toBe(1);
    expect(waiting.log).toContain(
      'deploy-prod is when:manual, its needed by smoke-prod, and not specified in --manual',
    );
    expect(web(clusters.prod)).toBeUndefined();
  }, 60_000);

  test('a person plays deploy-prod: production runs the digest QA verified, its smoke test passes', async () => {
    const r = await gitlabCiLocal(dir, vars(), ['--manual', 'deploy-prod']);
    expect(passed(r)).toEqual(OK);
    expect(outcomes(r)).toEqual({
      'bake-image': 'PASS',
      'push-registry': 'PASS',
      'deploy-qa': 'PASS',
      'smoke-qa': 'PASS',
      'deploy-prod': 'PASS',
      'smoke-prod': 'PASS',
    });
    // Baked again for main (its labels name the branch: another digest), deployed to QA, verified, then production.
    const main = dotenvOf(dir, 'push-registry')['DIGEST'] ?? '';
    expect(main).not.toBe(digest);
    digest = main;
    expect(dotenvOf(dir, 'deploy-qa')).toMatchObject({
      QA_RESULT: 'deployed',
      QA_IMAGES: `${image()}@${digest}`,
    });
    expect(web(clusters.prod)?.spec.template.spec.containers[0]).toMatchObject({
      image: `${image()}@${digest}`,
      args: ['--env=prod'],
    });
    expect(web(clusters.prod)?.status).toMatchObject({ readyReplicas: 2 });
    expect(dotenvOf(dir, 'deploy-prod')).toMatchObject({
      PROD_RESULT: 'deployed',
      PROD_IMAGES: `${image()}@${digest}`,
    });
    expect(dotenvOf(dir, 'smoke-prod')).toMatchObject({ PROD_VERDICT: 'pass' });
    expect(jobLines(r, 'smoke-prod')).toContainEqual(
      expect.stringMatching(
        `^ledger: verify .* recorded in prod \\(oci://${image()}\\): ${image()}@${digest} success, verification passed\\.$`,
      ),
    );
    expect(appCalls['shop-prod']).toBeGreaterThan(0);
    expect(validJunit(artifact(dir, 'smoke-prod', 'kiln-reports', 'smoke-test.junit.xml'))).toContain(
      '<testcase',
    );
    expectNoLeak(r, [dir], JOB_TOKEN, REGISTRY_USER);
    expectNoLeak(r, [join(dir, '.gitlab-ci-local')], KUBE_TOKEN); // not in what the jobs left
  }, 180_000);
});

describe('components-deploy-only.gitlab-ci.yml: promote, deploy-marathon and smoke-test; the rollback component', () => {
  const ENV = 'yz-AA';
  const repo = `${GROUP}/release`;
  const image = () => `${registry.host}/${repo}`;
  let yz: MarathonSim;
  let dir: string;
  const digests: string[] = [];
  /** "Run pipeline" with the deploy-only job's variables. */
  const deployVars = (release: string, digest: string) => ({
    CI_PIPELINE_SOURCE: 'web',
    CI_REGISTRY_IMAGE: image(),
    RELEASE_VERSION: release,
    TESTED_DIGEST: digest,
    TARGET_ENV: 'yz',
    DATACENTER: 'AA',
  });

  beforeAll(async () => {
    yz = await startMarathonSim({ timeScale: 1000 });
    cleanups.push(() => yz.close());
    dir = project(
      'release',
      {
        '.gitlab-ci.yml': readExample('components-deploy-only.gitlab-ci.yml'),
        'deploy/yz-deploy.json': appDefinition('yz'),
      },
      {
        '.gitlab-ci-local-variables.yml': scopedVariables({
          MARATHON_URL: { values: { [ENV]: yz.url } },
          APP_URL: { values: { [ENV]: appRoute('release-yz', '/health_check') } },
        }),
      },
    );
  }, 60_000);

  /** A new image pushed as `<CI_REGISTRY_IMAGE>:test`, the one QA tested. */
  async function tested(n: number): Promise<string> {
    const img = await writeOciLayout(join(work, `tested-${n}`), { seed: `release-${n}`, randomBytes: 2048 });
    const pushed = await skopeo.copyTo(img.ref, `docker://${image()}:test`, {
      creds: `${REGISTRY_USER}:${JOB_TOKEN}`,
      extra: ['--preserve-digests'],
      timeoutMs: 20_000,
    });
    expect(pushed).toMatchObject({ code: 0 });
    return img.manifest.digest;
  }

  test('two releases to yz-AA (2.0.0, then 2.1.0): promoted by digest, deployed, smoke-tested, recorded', async () => {
    for (const [n, release] of ['2.0.0', '2.1.0'].entries()) {
      const digest = await tested(n);
      digests.push(digest);
      const r = await gitlabCiLocal(dir, deployVars(release, digest));
      expect(passed(r)).toEqual(OK);
      expect(outcomes(r)).toEqual({ promote: 'PASS', deploy: 'PASS', smoke: 'PASS' });
      expect(await rawHead(registry.url, repo, release, basicAuth)).toBe(digest);
      expect(await marathonApp(yz)).toEqual({
        image: `${image()}@${digest}`,
        labels: expect.objectContaining({ KILN_RELEASE_ID: release }),
        healthy: 2,
      });
      expect(dotenvOf(dir, 'smoke')).toMatchObject({ VERDICT: 'pass' });
      expect(
        [...jobLines(r, 'deploy'), ...jobLines(r, 'smoke')].filter((l) => l.startsWith('ledger: ')),
      ).toEqual([
        `ledger: deploy ${release} recorded in ${ENV} (oci://${image()}): ${image()}@${digest} success.`,
        expect.stringMatching(
          `^ledger: verify .* recorded in ${ENV} \\(oci://${image()}\\): ${image()}@${digest} success, verification passed\\.$`,
        ),
      ]);
      expect(r.log).not.toMatch(/^rollback > /m);
      expectNoLeak(r, [dir], JOB_TOKEN, REGISTRY_USER);
    }
    expect(digests[0]).not.toBe(digests[1]);
  }, 240_000);

  test('a rollback pipeline: the manual rollback job alone; run, it puts 2.0.0’s digest back, recorded', async () => {
    const rollbackVars = {
      CI_PIPELINE_SOURCE: 'web',
      CI_REGISTRY_IMAGE: image(),
      TARGET_ENV: 'yz',
      DATACENTER: 'AA',
    };
    const listed = await gitlabCiLocal(dir, rollbackVars, ['--list']);
    expect(listed.exitCode).toBe(0);
    expect(listed.log).toMatch(/^rollback +deploy +manual +true/m);
    expect(listed.log).not.toMatch(/^(promote|deploy|smoke) /m);
    expect(expanded(dir)['rollback']).toMatchObject({
      environment: { name: ENV },
      resource_group: 'deploy-$TARGET_ENV-$DATACENTER',
    });

    const r = await gitlabCiLocal(dir, rollbackVars, ['--job', 'rollback']);
    expect(passed(r)).toEqual(OK);
    expect(outcomes(r)).toEqual({ rollback: 'PASS' });
    expect(jobLines(r, 'rollback')).toContainEqual(
      expect.stringMatching(`^↩️ ${ENV} rolled back from 2\\.1\\.0 to 2\\.0\\.0 in `),
    );
    expect((await marathonApp(yz)).image).toBe(`${image()}@${digests[0]}`);
    expect(dotenvOf(dir, 'rollback')).toMatchObject({
      RESULT: 'rolled-back',
      TO_RELEASE: '2.0.0',
      TO_DIGEST: digests[0],
      FROM_RELEASE: '2.1.0',
      FROM_DIGEST: digests[1],
    });
    expectNoLeak(r, [dir], JOB_TOKEN, REGISTRY_USER);
  }, 120_000);
});

describe('gitlab-ci-local refuses a broken component too', () => {
  test('an input used but not declared, or a value of the wrong type: no pipeline', async () => {
    // A release of the component project whose deploy-k8s uses an input it does not declare.
    const broken = 'v0.0.0-broken';
    publish(
      COMPONENT_PROJECT,
      componentFiles({
        'templates/deploy-k8s.yml': template('deploy-k8s').replace(
          '--namespace "$[[ inputs.namespace ]]"',
          '--namespace "$[[ inputs.namespaces ]]"',
        ),
      }),
      [broken],
    );
    const inputs = '    inputs:\n      environment: qa\n      manifests: k8s/\n';
    const undeclared = project('broken', {
      '.gitlab-ci.yml': `include:\n  - component: $CI_SERVER_FQDN/${COMPONENT_PROJECT}/deploy-k8s@${broken}\n${inputs}`,
    });
    const r1 = await gitlabCiLocal(undeclared, {}, ['--list']);
    expect(r1.exitCode).toBe(1);
    expect(r1.log).toMatch(/templates\/deploy-k8s\.yml`: unknown interpolation key: `namespaces`/);
    // The released components, given a string where a boolean belongs.
    const wrongType = project('wrong-type', {
      '.gitlab-ci.yml': `include:\n  - component: $CI_SERVER_FQDN/${COMPONENT_PROJECT}/push-registry@${COMPONENT_REF}\n    inputs:\n      source: oci:kiln-oci/image\n      allow-overwrite: 'no'\n`,
    });
    const r2 = await gitlabCiLocal(wrongType, {}, ['--list']);
    expect(r2.exitCode).toBe(1);
    expect(r2.log).toMatch(/`allow-overwrite` input: provided value is not a boolean/);
  }, 60_000);
});
