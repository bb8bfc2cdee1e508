/**
 * Every action folder is a shipped action: listed once in the CLI (packages/cli/src/actions.ts, which the
 * generators and the bundler read too), depended on by the CLI package, and complete (declaration named like its
 * folder, entry point, README with the generated tables, package name). Adding an action and forgetting one of
 * these fails here.
 */
import { describe, expect, test } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { actionNames, loadAction } from '../../packages/cli/src/actions.js';
import { repoRoot as root } from '../harness/runner.js';

const folders = readdirSync(join(root, 'actions'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

describe('the list of actions', () => {
  test('every folder under actions/ is in the CLI, and nothing else is', () => {
    expect([...actionNames].sort()).toEqual(folders);
  });

  test("no input's bare KILN_<INPUT> variable is one of Kiln's own settings (KILN_PLATFORM, KILN_DEBUG …)", async () => {
    // Found in the sources: every `env.KILN_…` Kiln reads for itself.
    const own = new Set([
      'commit-sha',
      'debug',
      'dotenv',
      'output-prefix',
      'platform',
      'ref',
      'summary-file',
    ]);
    for (const name of actionNames) {
      const action = await loadAction(name);
      const clash = Object.keys(action.spec.inputs).filter((i) => own.has(i));
      expect([name, clash]).toEqual([name, []]);
    }
  });

  test('the CLI package depends on every action (the workspace links it for the bundler)', () => {
    const cli = JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8'));
    const deps = { ...cli.dependencies, ...cli.devDependencies };
    for (const name of folders)
      expect([name, deps[`@kiln/action-${name}`]]).toEqual([name, expect.any(String)]);
  });

  test.each(folders)(
    '%s is complete: declaration, entry point, README tables, package name',
    async (name) => {
      const def = await loadAction(name as (typeof actionNames)[number]);
      expect(def.spec.name).toBe(name);
      const dir = join(root, 'actions', name);
      expect(readFileSync(join(dir, 'src/index.ts'), 'utf8')).toMatch(/runMain\(action\)/);
      const readme = readFileSync(join(dir, 'README.md'), 'utf8');
      for (const marker of ['inputs', 'outputs', 'examples'].flatMap((s) => [
        `kiln:${s}:start`,
        `kiln:${s}:end`,
      ]))
        expect([name, marker, readme.includes(marker)]).toEqual([name, marker, true]);
      // Every action is used by at least one example users copy (they run in the tests).
      expect([name, readme]).toEqual([name, expect.stringContaining('](../../workflows-examples/')]);
      expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name).toBe(`@kiln/action-${name}`);
      expect(existsSync(join(dir, 'action.yml'))).toBe(true);
    },
  );
});
