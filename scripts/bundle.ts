/**
 * `npm run bundle [-- --out DIR] [-- name ...]`: build every dist/<action>/ and dist/cli/ with ncc.
 * Each bundle is self-contained: index.js (ESM, minified: what runs before the first input is read), the chunk
 * files it loads when the action runs (<id>.index.js, minified too), package.json {"type":"module"} beside it,
 * and licenses.txt for what was bundled. Deterministic: two runs give identical bytes. A full build also writes
 * dist/BUILD-INPUTS (bundle-inputs.ts): the digests of its inputs and outputs, which the stale-dist test checks.
 */
import ncc from '@vercel/ncc';
import { minify } from 'terser';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleTargets } from './targets.js';
import { MANIFEST, manifestText } from './bundle-inputs.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export async function bundle(outDir: string, only: string[] = []): Promise<string[]> {
  const built: string[] = [];
  for (const t of bundleTargets()) {
    if (only.length && !only.includes(t.name)) continue;
    const { code, assets } = await ncc(join(root, t.entry), {
      minify: true,
      quiet: true,
      sourceMap: false,
      license: 'licenses.txt',
      target: 'es2022',
      cache: false,
    });
    const dir = join(outDir, t.name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const text = t.name === 'cli' && !code.startsWith('#!') ? `#!/usr/bin/env node\n${code}` : code;
    writeFileSync(join(dir, 'index.js'), text, { mode: t.name === 'cli' ? 0o755 : 0o644 });
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    for (const [name, asset] of Object.entries(assets ?? {})) {
      if (name === 'package.json') continue;
      mkdirSync(join(dir, name, '..'), { recursive: true });
      // ncc minifies the entry only: the chunks (<id>.index.js: an action's run.ts and what it loads, the CLI's
      // actions) get the same. They are committed beside index.js, and dist/BUILD-INPUTS covers them.
      const source = /\.index\.js$/.test(name)
        ? ((await minify(asset.source.toString(), { module: true, compress: true, mangle: true })).code ?? '')
        : asset.source;
      writeFileSync(join(dir, name), source);
    }
    built.push(t.name);
  }
  return built;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const outIdx = args.indexOf('--out');
  const out = outIdx >= 0 ? resolve(args[outIdx + 1] as string) : join(root, 'dist');
  const only = args.filter((a, i) => !a.startsWith('--') && (outIdx < 0 || i !== outIdx + 1));
  const built = await bundle(out, only);
  if (only.length === 0) writeFileSync(join(out, MANIFEST), manifestText(root, out));
  process.stdout.write(`bundled ${built.join(', ')} into ${out}\n`);
}
