/**
 * Start fast (#10), guarded without timing (bench/startup.ts has the times): a bundle answers a bad input, and
 * the CLI prints an action's --help, by loading its entry (the lifecycle: platform, inputs, the spec) and no more:
 * not the domain code (registry engine, Marathon client, smoke engine, image readers, our HTTP layer), not its
 * parsers (YAML, ajv, jsonpath-plus), not Node's network or crypto stack. The work is in chunk files beside
 * index.js, loaded by the action's `main` (README: Adding an action).
 *
 * Each case runs the bundle under a loader hook that lists every file it loads and the Node built-ins it
 * required, then checks those files for markers of the heavy code (strings that survive minification). The
 * markers are also required somewhere in the bundle's chunks, so a marker that stops matching fails here instead
 * of passing silently. Checks the committed dist/; KILN_DIST=<dir> checks a scratch build
 * (`npx tsx scripts/bundle.ts --out <dir>`).
 */
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { hostNode, node24, repoRoot } from '../harness/runner.js';

const dist = resolve(process.env.KILN_DIST ?? join(repoRoot, 'dist'));

/** What must not be loaded before the first input is read, by the string that gives each away. */
const HEAVY: Record<string, string> = {
  ajv: 'json-schema.org',
  yaml: 'YAMLParseError',
  'jsonpath-plus': 'otherTypeCallback',
  "Kiln's HTTP layer": 'KILN_PREMATURE_CLOSE',
  'the registry engine': 'docker-content-digest',
  'the image readers': 'imageLayoutVersion',
  'the Marathon client': 'deployment_success',
  'the bake builders': 'kiln layer-append',
  'the Kubernetes client': 'apply-patch+yaml',
  'undici (@actions/core)': 'undici',
};

/** Node built-ins a bad input or --help must not load (each costs milliseconds of every start). */
const HEAVY_BUILTINS = ['http', 'https', 'http2', 'tls', 'crypto', 'zlib', 'child_process', 'vm'];

/** The heavy code each bundle does contain (in its chunks): proof that the markers still match. */
const CONTAINS: Record<string, string[]> = {
  'smoke-test': ['ajv', 'yaml', 'jsonpath-plus', "Kiln's HTTP layer"],
  'push-registry': ['the registry engine', 'the image readers', "Kiln's HTTP layer"],
  promote: ['the registry engine', "Kiln's HTTP layer"],
  'deploy-marathon': ['the Marathon client', "Kiln's HTTP layer"],
  'bake-image': ['the bake builders', 'the registry engine', "Kiln's HTTP layer"],
  'deploy-k8s': ['the Kubernetes client', 'yaml', "Kiln's HTTP layer"],
  rollback: ['the Kubernetes client', 'the Marathon client', "Kiln's HTTP layer"],
  cli: [
    'the Kubernetes client',
    'the bake builders',
    'ajv',
    'yaml',
    'jsonpath-plus',
    "Kiln's HTTP layer",
    'the registry engine',
    'the image readers',
    'the Marathon client',
  ],
};

const work = mkdtempSync(join(tmpdir(), 'kiln-startup-lazy-'));
const hooks = join(work, 'hooks.mjs');
const preload = join(work, 'preload.mjs');
writeFileSync(
  hooks,
  `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(process.env.KILN_LOADED_LOG, 'file ' + url + '\\n');
  return next(url, context);
}
`,
);
writeFileSync(
  preload,
  `import { register } from 'node:module';
import { appendFileSync } from 'node:fs';
register(${JSON.stringify(pathToFileURL(hooks).href)});
const before = new Set(process.moduleLoadList);
process.on('exit', () => {
  const added = process.moduleLoadList.filter((m) => !before.has(m) && /^NativeModule (?!internal\\/)/.test(m));
  appendFileSync(process.env.KILN_LOADED_LOG, added.map((m) => 'builtin ' + m.slice(13) + '\\n').join(''));
});
`,
);

interface Loaded {
  status: number | null;
  output: string;
  files: string[];
  builtins: string[];
}

let runs = 0;
function runLoaded(node: string, bundle: string, args: string[], env: Record<string, string>): Loaded {
  const log = join(work, `loaded-${++runs}.log`);
  writeFileSync(log, '');
  const r = spawnSync(
    node,
    ['--import', pathToFileURL(preload).href, join(dist, bundle, 'index.js'), ...args],
    {
      cwd: work,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: work, KILN_LOADED_LOG: log, ...env },
      timeout: 60_000,
    },
  );
  const lines = readFileSync(log, 'utf8').split('\n');
  const dir = join(dist, bundle);
  return {
    status: r.status,
    output: `${r.stdout}${r.stderr}`,
    files: lines
      .filter((l) => l.startsWith('file '))
      .map((l) => fileURLToPath(l.slice(5)))
      .filter((f) => f.startsWith(dir)),
    builtins: lines.filter((l) => l.startsWith('builtin ')).map((l) => l.slice(8)),
  };
}

const markersIn = (file: string): string[] => {
  const text = readFileSync(file, 'utf8');
  return Object.entries(HEAVY)
    .filter(([, marker]) => text.includes(marker))
    .map(([what]) => what);
};

const bundles = Object.keys(CONTAINS).filter((b) => existsSync(join(dist, b, 'index.js')));
const nodes = [
  { label: 'host Node', node: hostNode() },
  ...(existsSync(node24) ? [{ label: 'Node 24', node: node24 }] : []),
];

/** Valid inputs for each action, so that `timeout: abc` is what it rejects. */
writeFileSync(join(work, 'app.json'), '{ "id": "/app", "container": { "docker": { "image": "app:1" } } }');
const VALID: Record<string, Record<string, string>> = {
  'smoke-test': { INPUT_URL: 'http://127.0.0.1:9/' },
  'push-registry': { INPUT_SOURCE: 'docker://127.0.0.1:9/a:1', INPUT_DESTINATIONS: '127.0.0.1:9/b:1' },
  promote: { INPUT_SOURCE: '127.0.0.1:9/a:1', INPUT_TAGS: '2' },
  'deploy-marathon': {
    'INPUT_MARATHON-URL': 'http://127.0.0.1:9',
    'INPUT_APP-DEFINITION': join(work, 'app.json'),
    INPUT_IMAGE: 'app:1',
    INPUT_DIGEST: `sha256:${'a'.repeat(64)}`,
  },
  'deploy-k8s': { INPUT_MANIFESTS: join(work, 'app.json') },
  rollback: {
    INPUT_ENVIRONMENT: 'prod',
    INPUT_MANIFESTS: join(work, 'app.json'),
    INPUT_IMAGE: '127.0.0.1:9/a',
  },
  'bake-image': {
    INPUT_BUILDER: 'layer-append',
    INPUT_BASE: '127.0.0.1:9/base:1',
    INPUT_LAYERS: work,
    INPUT_REPOSITORY: '127.0.0.1:9/app',
  },
};

const actions = bundles.filter((b) => b !== 'cli');
const cases = [
  ...actions.map((name) => ({
    name: `${name}: a bad input`,
    bundle: name,
    args: [] as string[],
    env: {
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: work,
      RUNNER_TEMP: work,
      ...VALID[name],
      INPUT_TIMEOUT: 'abc',
    },
    status: 2,
    says: /Input 'timeout'/,
  })),
  ...(bundles.includes('cli')
    ? [
        {
          name: 'cli: kiln promote --help',
          bundle: 'cli',
          args: ['promote', '--help'],
          env: { GITLAB_CI: 'true', CI_PROJECT_DIR: work, KILN_DOTENV: join(work, 'kiln.env') },
          status: 0,
          says: /--source/,
        },
        {
          name: 'cli: kiln smoke-test with a bad input',
          bundle: 'cli',
          args: ['smoke-test', '--url', 'http://127.0.0.1:9/', '--timeout', 'abc'],
          env: { GITLAB_CI: 'true', CI_PROJECT_DIR: work, KILN_DOTENV: join(work, 'kiln.env') },
          status: 2,
          says: /Input 'timeout'/,
        },
      ]
    : []),
];

describe('a bundle starts with its lifecycle only', () => {
  test('there are bundles to check', () => expect(actions.length).toBeGreaterThan(0));

  describe.each(nodes)('$label', ({ node }) => {
    test.each(cases)('$name loads no heavy code and no network stack', (c) => {
      const r = runLoaded(node, c.bundle, c.args, c.env);
      expect(r.files).toContain(join(dist, c.bundle, 'index.js'));
      const heavy = r.files.flatMap((f) =>
        markersIn(f).map((what) => `${what} in ${f.slice(dist.length + 1)}`),
      );
      expect(heavy).toEqual([]);
      expect(r.builtins.filter((b) => HEAVY_BUILTINS.includes(b))).toEqual([]);
      expect({ status: r.status, says: c.says.test(r.output) }).toEqual({ status: c.status, says: true });
    });
  });

  test.each(bundles)('%s: the heavy code is there, in chunk files beside index.js', (name) => {
    const dir = join(dist, name);
    const chunks = readdirSync(dir).filter((f) => /^\d+\.index\.js$/.test(f));
    expect(markersIn(join(dir, 'index.js'))).toEqual([]);
    const found = new Set(chunks.flatMap((f) => markersIn(join(dir, f))));
    expect(CONTAINS[name]!.filter((what) => !found.has(what))).toEqual([]);
  });
});
