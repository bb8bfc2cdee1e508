/**
 * `npm pack` of packages/cli, as a release does (its prepack copies the committed dist/cli/ in), in a copy of the
 * files it reads: nothing is written into the checkout, and two tests packing at once cannot interfere.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './runner.js';

/** Packs into `<work>/pack`; returns the tarball's path and the copied tree (`<tree>/packages/cli` was packed). */
export function packCli(work: string, env: NodeJS.ProcessEnv): { tarball: string; tree: string } {
  const tree = join(work, 'pack-tree');
  cpSync(join(repoRoot, 'packages', 'cli'), join(tree, 'packages', 'cli'), {
    recursive: true,
    filter: (src) => !/[/\\](dist|node_modules)$/.test(src),
  });
  cpSync(join(repoRoot, 'dist', 'cli'), join(tree, 'dist', 'cli'), { recursive: true });
  cpSync(join(repoRoot, 'scripts', 'pack-cli.mjs'), join(tree, 'scripts', 'pack-cli.mjs'));
  cpSync(
    join(repoRoot, 'packages', 'core', 'src', 'version.ts'),
    join(tree, 'packages', 'core', 'src', 'version.ts'),
  );
  const out = join(work, 'pack');
  mkdirSync(out);
  try {
    execFileSync('npm', ['pack', '--pack-destination', out], {
      cwd: join(tree, 'packages', 'cli'),
      stdio: 'pipe',
      timeout: 120_000,
      env,
    });
  } catch (e) {
    const err = e as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`npm pack failed:\n${err.stdout?.toString() ?? ''}\n${err.stderr?.toString() ?? ''}`);
  }
  const [tgz, ...more] = readdirSync(out).filter((f) => f.endsWith('.tgz'));
  if (!tgz || more.length) throw new Error(`npm pack left ${readdirSync(out).join(', ')} in ${out}`);
  return { tarball: join(out, tgz), tree };
}
