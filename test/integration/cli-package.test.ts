/**
 * The `kiln-ci` npm package as a user gets it: `npm pack` of packages/cli (its prepack script copies the
 * committed dist/cli/ bundle in), `npm install -g <tarball>` into a fresh prefix without the network, then the
 * `kiln` command that install put in `<prefix>/bin`, started by its `#!/usr/bin/env node` shebang under this
 * machine's Node 20 and under Node 24 (whichever `node` is first on PATH). Assertions are what a user sees: the
 * version line, exit codes, the outputs and the one-line error, and that installing pulled in nothing else.
 *
 * The pack runs in a copy of the files it reads (packages/cli, dist/cli, scripts/pack-cli.mjs, the version
 * file), so it never writes into the checkout and two test runs cannot trip over each other's prepack/postpack.
 */
import { packCli } from '../harness/pack-cli.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { EXIT_CODES } from '../../packages/core/src/errors.js';
import { startServer, type TestServer } from '../harness/http-fixture.js';
import { hostNode, node24, repoRoot } from '../harness/runner.js';
import { removeDir } from '../sim/registry/util.js';

interface Run {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `file` with `args` (no shell), never throwing: the exit code and both streams, as a user would see them. */
function run(
  file: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: opts.cwd,
        env: opts.env,
        timeout: opts.timeoutMs ?? 60_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ exitCode: code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** The directories of PATH minus anything inside a node_modules (npm puts node@24 there inside scripts). */
const plainPath = (): string[] =>
  (process.env.PATH ?? '').split(delimiter).filter((p) => p && !p.includes('node_modules'));

let work: string;
let tarball: string;
let tarballFiles: string[];
let prefix: string;
let installed: Run;
let server: TestServer;

/** npm as a user runs it: this machine's Node first on PATH, no npm_* settings inherited from `npm test`. */
function npmEnv(): NodeJS.ProcessEnv {
  return {
    PATH: [dirname(hostNode()), ...plainPath()].join(delimiter),
    HOME: join(work, 'home'),
    LANG: 'C.UTF-8',
    TMPDIR: work,
    npm_config_cache: join(work, 'npm-cache'),
    npm_config_userconfig: join(work, 'home', '.npmrc'),
    npm_config_update_notifier: 'false',
  };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'kiln-cli-package-'));
  mkdirSync(join(work, 'home'));
  writeFileSync(join(work, 'home', '.npmrc'), '');

  // The files `npm pack` reads, laid out as in the repository (packages/cli with its sources, so the test sees
  // that `files` leaves them out).
  const { tarball: packed, tree } = packCli(work, npmEnv());
  tarball = packed;
  // postpack removed the copy it made.
  if (existsSync(join(tree, 'packages', 'cli', 'dist'))) throw new Error('postpack left packages/cli/dist');

  const listed = await run('tar', ['-tzf', tarball], { cwd: work, env: npmEnv() });
  tarballFiles = listed.stdout.split('\n').filter(Boolean);

  // A global install into a fresh prefix, as `npm install -g kiln-ci` does; --offline: the tarball needs nothing.
  prefix = join(work, 'prefix');
  installed = await run(
    'npm',
    ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', tarball],
    { cwd: work, env: npmEnv(), timeoutMs: 120_000 },
  );

  server = await startServer({
    '/health': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"UP"}');
    },
  });
}, 240_000);

afterAll(async () => {
  await server?.close();
  if (work) await removeDir(work);
});

describe('the kiln-ci tarball', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'packages', 'cli', 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };

  test('is kiln-ci at the repository version, publishable, with the kiln command inside it', () => {
    expect(pkg).toMatchObject({ name: 'kiln-ci', version: root.version, bin: { kiln: 'dist/index.js' } });
    expect(pkg['private']).toBeUndefined();
    expect(pkg['dependencies']).toBeUndefined();
    expect(pkg['exports']).toBeUndefined();
    expect(basename(tarball)).toBe(`kiln-ci-${root.version}.tgz`);
  });

  test('carries the bundle, its licenses and the README; no TypeScript sources, no node_modules', () => {
    expect(tarballFiles).toEqual(
      expect.arrayContaining([
        'package/package.json',
        'package/README.md',
        'package/dist/index.js',
        'package/dist/package.json',
        'package/dist/licenses.txt',
      ]),
    );
    const chunks = readdirSync(join(repoRoot, 'dist', 'cli')).filter((f) => /^\d+\.index\.js$/.test(f));
    expect(chunks.length).toBeGreaterThan(0);
    for (const c of chunks) expect(tarballFiles).toContain(`package/dist/${c}`);
    expect(tarballFiles.filter((f) => /\.(ts|mts|cts|tsx)$/.test(f) || f.includes('node_modules'))).toEqual(
      [],
    );
    expect(tarballFiles.filter((f) => !f.startsWith('package/dist/')).sort()).toEqual([
      'package/README.md',
      'package/package.json',
    ]);
  });

  test('npm install -g of it installs that one package, offline, with no dependencies', () => {
    expect({
      exitCode: installed.exitCode,
      stderr: installed.exitCode === 0 ? '' : installed.stderr,
    }).toEqual({
      exitCode: 0,
      stderr: '',
    });
    expect(installed.stdout).toMatch(/added 1 package\b/);
    const dir = join(prefix, 'lib', 'node_modules', 'kiln-ci');
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest['dependencies'] ?? {}).toEqual({});
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    expect(realpathSync(join(prefix, 'bin', 'kiln'))).toBe(realpathSync(join(dir, 'dist', 'index.js')));
  });
});

const basename = (p: string): string => p.split(/[/\\]/).pop() as string;

describe.each([
  { label: "this machine's Node", node: () => hostNode(), major: process.versions.node.split('.')[0] },
  { label: 'Node 24', node: () => node24, major: '24' },
])('the installed kiln under $label', ({ node, major }) => {
  let bin: string;
  let cwd: string;

  beforeAll(() => {
    // PATH holds only a directory with this one `node` (and the shell tools a user has, without another node),
    // so the shebang `#!/usr/bin/env node` can only pick it.
    bin = mkdtempSync(join(work, `node${major}-`));
    symlinkSync(node(), join(bin, 'node'));
    cwd = mkdtempSync(join(work, 'cwd-'));
  });

  const env = (): NodeJS.ProcessEnv => ({
    PATH: [bin, join(prefix, 'bin')].join(delimiter),
    HOME: join(work, 'home'),
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    TMPDIR: work,
  });
  const kiln = (...args: string[]) => run(join(prefix, 'bin', 'kiln'), args, { cwd, env: env() });

  test('the node on PATH is the one meant', async () => {
    const r = await run(join(bin, 'node'), ['-p', 'process.versions.node.split(".")[0]'], {
      cwd,
      env: env(),
    });
    expect(r.stdout.trim()).toBe(major);
  });

  test('kiln --version prints the package version', async () => {
    const r = await kiln('--version');
    expect(r).toEqual({ exitCode: 0, stdout: `kiln ${readVersion()}\n`, stderr: '' });
  });

  test('kiln help lists every action', async () => {
    const r = await kiln('help');
    expect(r.exitCode).toBe(0);
    for (const name of readdirSync(join(repoRoot, 'actions')).filter((d) =>
      existsSync(join(repoRoot, 'actions', d, 'action.yml')),
    ))
      expect(r.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  test('kiln smoke-test against a local service passes: exit 0, verdict pass, the outputs as JSON', async () => {
    const seen = server.requests.length;
    const r = await kiln('smoke-test', '--url', `${server.url}/health`, '--deadline', '30s', '--json');
    expect({ exitCode: r.exitCode, stderr: r.exitCode === 0 ? '' : r.stderr }).toEqual({
      exitCode: 0,
      stderr: '',
    });
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'pass' });
    expect(server.requests.length).toBeGreaterThan(seen);
  });

  test('a bad input: the bad-input exit code and one line naming it, nothing sent', async () => {
    const seen = server.requests.length;
    const r = await kiln('smoke-test', '--url', 'ftp://127.0.0.1/health');
    expect(r.exitCode).toBe(EXIT_CODES.badInput);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^error: Input 'url': "ftp:\/\/127\.0\.0\.1\/health" .*expected an http:\/\/ or https:\/\/ URL\.$/,
    );
    expect(server.requests.length).toBe(seen);
  });
});

test('without a node on PATH the installed kiln cannot start (the shebang is what picks Node)', async () => {
  const r = await run(join(prefix, 'bin', 'kiln'), ['--version'], {
    cwd: work,
    env: { PATH: join(prefix, 'bin'), HOME: join(work, 'home') },
  });
  expect(r.exitCode).toBe(127);
  expect(r.stdout).toBe('');
});

function readVersion(): string {
  return (
    JSON.parse(readFileSync(join(repoRoot, 'packages', 'cli', 'package.json'), 'utf8')) as { version: string }
  ).version;
}
