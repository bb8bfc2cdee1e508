/**
 * `npm pack` / `npm publish` of the `kiln-ci` package (packages/cli) run this: prepack copies the committed CLI
 * bundle (dist/cli/: index.js with its shebang, the lazily loaded chunks, package.json, licenses.txt) into
 * packages/cli/dist/, which is what the package's `bin` and `files` name; `--clean` (postpack) removes it again.
 * The bundle is self-contained, so the package has no dependencies. Nothing is built here: run `npm run bundle`
 * first when the sources changed (a test fails while dist/ is stale). Plain Node, no dependencies.
 */
import { cpSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'dist', 'cli');
const pkgDir = join(root, 'packages', 'cli');
const target = join(pkgDir, 'dist');

function fail(message) {
  process.stderr.write(`pack-cli: ${message}\n`);
  process.exit(1);
}

if (process.argv.includes('--clean')) {
  rmSync(target, { recursive: true, force: true });
  process.exit(0);
}

const entry = join(source, 'index.js');
if (!existsSync(entry)) fail(`${entry} does not exist; run \`npm run bundle\` first.`);
if (!readFileSync(entry, 'utf8').startsWith('#!/usr/bin/env node\n'))
  fail(`${entry} does not start with "#!/usr/bin/env node"; run \`npm run bundle\`.`);

// The package's version is the one `kiln --version` prints (packages/core/src/version.ts, baked into the bundle).
const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const core = /KILN_VERSION = '([^']+)'/.exec(
  readFileSync(join(root, 'packages/core/src/version.ts'), 'utf8'),
);
if (core?.[1] !== version)
  fail(
    `packages/cli/package.json says ${version} but packages/core/src/version.ts says ${core?.[1]}; make them equal.`,
  );

// Copied beside the target and renamed into place, so a pack never sees half a bundle.
const staging = join(pkgDir, `.dist-${process.pid}`);
rmSync(staging, { recursive: true, force: true });
cpSync(source, staging, { recursive: true });
rmSync(target, { recursive: true, force: true });
renameSync(staging, target);
