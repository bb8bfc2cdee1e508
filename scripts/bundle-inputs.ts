/**
 * What a bundle is built from, and what it is: `dist/BUILD-INPUTS` records a SHA-256 over every input of `npm run
 * bundle` (the sources of packages/ and actions/, the lockfile, the bundler's own scripts and the TypeScript
 * settings) and one over every file the bundler wrote. The stale-dist test recomputes both in milliseconds: a
 * source changed since the last bundle, or a bundle edited by hand, fails it. (The bundler is deterministic, so
 * the same inputs give the same bytes; `KILN_FULL_DIST_CHECK=1` rebuilds and compares byte for byte.)
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export const MANIFEST = 'BUILD-INPUTS';

function walk(dir: string, keep: (path: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') out.push(...walk(p, keep));
    } else if (e.isFile() && keep(p)) out.push(p);
  }
  return out;
}

function digestOf(root: string, files: string[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort()) {
    h.update(relative(root, f).split('\\').join('/'));
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex');
}

/** Every file the bundles depend on. */
export function inputFiles(root: string): string[] {
  const ts = (p: string): boolean => /\.(ts|mts|js|mjs|json)$/.test(p);
  return [
    ...walk(join(root, 'packages'), (p) => ts(p) && !p.includes(`${join('packages', 'cli', 'dist')}`)),
    ...walk(join(root, 'actions'), (p) => ts(p) && !/action\.yml$/.test(p)),
    ...[
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.base.json',
      'scripts/bundle.ts',
      'scripts/targets.ts',
      'scripts/bundle-inputs.ts',
    ]
      .map((f) => join(root, f))
      .filter((f) => existsSync(f) && statSync(f).isFile()),
  ];
}

export function inputsDigest(root: string): string {
  return digestOf(root, inputFiles(root));
}

export function outputsDigest(distDir: string): string {
  return digestOf(
    distDir,
    walk(distDir, (p) => !p.endsWith(MANIFEST)),
  );
}

export function manifestText(root: string, distDir: string): string {
  return `inputs ${inputsDigest(root)}\noutputs ${outputsDigest(distDir)}\n`;
}
