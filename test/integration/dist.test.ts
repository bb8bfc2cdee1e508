/**
 * Metadata and bundles: every action.yml is valid and runs on node24 from a bundle that exists; the committed
 * dist/ is exactly what `npm run bundle` builds now (stale bundles fail here); generated files match the
 * declarations; workflow files validate against GitHub's schema.
 */
import { describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { bundle } from '../../scripts/bundle.js';
import { MANIFEST, manifestText } from '../../scripts/bundle-inputs.js';
import { staleFiles } from '../../scripts/generate.js';
import { bundleTargets } from '../../scripts/targets.js';
import { KILN_VERSION } from '../../packages/core/src/version.js';
import { listFiles, readActionMetadata, repoRoot } from '../harness/runner.js';

const actionNames = readdirSync(join(repoRoot, 'actions')).filter((d) =>
  existsSync(join(repoRoot, 'actions', d, 'action.yml')),
);

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

/**
 * action-validator 0.6.0 (the newest) bundles a SchemaStore schema from before node24 existed, so it rejects
 * `using: node24`. We validate everything else with it on a copy that says node20, and check node24 ourselves.
 */
function validate(file: string, kind: 'action' | 'workflow'): { code: number; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-validate-'));
  const target = kind === 'workflow' ? join(dir, '.github', 'workflows', 'w.yml') : join(dir, 'action.yml');
  execFileSync('mkdir', ['-p', resolve(target, '..')]);
  writeFileSync(target, readFileSync(file, 'utf8').replace(/^(\s*using:\s*)node24\s*$/m, '$1node20'));
  try {
    const output = execFileSync(
      process.execPath,
      [join(repoRoot, 'node_modules/@action-validator/cli/cli.mjs'), target],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return { code: 0, output };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { code: err.status, output: err.stdout + err.stderr };
  }
}

describe('action metadata', () => {
  test('there is an action.yml for every bundled action', () => {
    expect(actionNames.sort()).toEqual(
      bundleTargets()
        .filter((t) => t.name !== 'cli')
        .map((t) => t.name)
        .sort(),
    );
  });
  test.each(actionNames)('%s: runs.using node24, main and post exist as ESM bundles', (name) => {
    const meta = readActionMetadata(name);
    expect(meta.runs.using).toBe('node24');
    expect(meta.runs.main).toBe(`../../dist/${name}/index.js`);
    for (const entry of [meta.runs.main, meta.runs.post].filter(Boolean) as string[]) {
      const file = resolve(repoRoot, 'actions', name, entry);
      expect(existsSync(file)).toBe(true);
      expect(JSON.parse(readFileSync(join(file, '..', 'package.json'), 'utf8'))).toEqual({ type: 'module' });
    }
  });
  test.each(actionNames)('%s: action.yml passes the GitHub action schema', (name) => {
    const r = validate(join(repoRoot, 'actions', name, 'action.yml'), 'action');
    expect(r).toEqual({ code: 0, output: '' });
  });
  test('the validator really rejects a broken action.yml', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-bad-'));
    const bad = join(dir, 'action.yml');
    writeFileSync(bad, 'name: x\nruns:\n  using: node24\n  main: a.js\n  bogus: 1\n');
    expect(validate(bad, 'action').code).not.toBe(0);
  });
  const workflows = [
    ...yamlFiles(join(repoRoot, '.github', 'workflows')),
    ...yamlFiles(join(repoRoot, 'workflows-examples', 'github')),
  ];
  test('there are workflow files to validate', () => expect(workflows.length).toBeGreaterThan(0));
  test.each(workflows.map((f) => relative(repoRoot, f)))('%s passes the GitHub workflow schema', (file) => {
    expect(validate(join(repoRoot, file), 'workflow')).toEqual({ code: 0, output: '' });
  });
});

describe('generated files and version', () => {
  test('action.yml files and README tables match the declarations (npm run generate)', async () => {
    expect((await staleFiles()).map((f) => relative(repoRoot, f))).toEqual([]);
  });
  test('the version in code is the package version', () => {
    expect(KILN_VERSION).toBe(JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version);
  });
});

describe('committed bundles', () => {
  test('dist/ was built from the current sources and not changed since (dist/BUILD-INPUTS)', () => {
    const recorded = readFileSync(join(repoRoot, 'dist', MANIFEST), 'utf8');
    const now = manifestText(repoRoot, join(repoRoot, 'dist'));
    const [inputs, outputs] = [0, 1].map((i) => recorded.split('\n')[i] === now.split('\n')[i]);
    expect({
      sourcesSameAsBundled: inputs,
      bundlesAsBuilt: outputs,
      hint: inputs && outputs ? '' : 'run npm run bundle and commit dist/',
    }).toEqual({ sourcesSameAsBundled: true, bundlesAsBuilt: true, hint: '' });
  });

  const full = process.env.KILN_FULL_DIST_CHECK === '1' ? test : test.skip;
  full(
    'dist/ is byte for byte what npm run bundle builds now (KILN_FULL_DIST_CHECK=1)',
    async () => {
      const out = mkdtempSync(join(tmpdir(), 'kiln-dist-'));
      await bundle(out);
      const fresh = listFiles(out);
      const committed = listFiles(join(repoRoot, 'dist'));
      const rel = (m: Map<string, string>, base: string) =>
        new Map([...m].map(([k, v]) => [relative(base, k), v]));
      const a = rel(fresh, out);
      const b = rel(committed, join(repoRoot, 'dist'));
      b.delete(MANIFEST); // written by `npm run bundle` around the bundles, not by bundle()
      expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
      const stale = [...a].filter(([k, v]) => b.get(k) !== v).map(([k]) => k);
      expect({ stale, hint: stale.length ? 'run npm run bundle and commit dist/' : '' }).toEqual({
        stale: [],
        hint: '',
      });
    },
    180_000,
  );
});
