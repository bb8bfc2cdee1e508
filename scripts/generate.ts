/**
 * `npm run generate`: write every file derived from the action declarations (actions/<name>/src/action.ts):
 *   - actions/<name>/action.yml (inputs, outputs, runs)
 *   - the inputs/outputs tables in actions/<name>/README.md and the action list in README.md (between
 *     `<!-- kiln:… -->` markers)
 * `npm run generate -- --check` writes nothing and exits 1 listing the files that would change (a test runs it).
 */
import { describeType, type ActionSpec, type InputDecl } from '@kiln/core';
import { loadActions } from '../packages/cli/src/actions.js';
import type { ActionDefinition } from '@kiln/core';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/**
 * The runner reads action.yml as a template: an expression anywhere it is not allowed, even in prose, fails the job
 * before it starts ("Failed to load action.yml"). Declarations must not write one.
 */
function noExpression(where: string, text: string): string {
  if (text.includes('${{'))
    throw new Error(`${where}: a description must not contain \`\${{\` (the runner would evaluate it)`);
  return text;
}

/** The action.yml description: the text, plus the type where it is not obvious, and "secret". */
function describeForYaml(d: InputDecl): string {
  const notes = [
    ['string', 'boolean'].includes(d.type) && !d.placeholder ? undefined : describeType(d),
    d.secret ? 'secret' : undefined,
  ].filter(Boolean);
  return notes.length ? `${d.description} (${notes.join(', ')})` : d.description;
}

export function actionYaml(spec: ActionSpec): string {
  const inputs: Record<string, Record<string, unknown>> = {};
  for (const [name, d] of Object.entries(spec.inputs)) {
    const entry: Record<string, unknown> = {
      description: noExpression(`${spec.name} input ${name}`, describeForYaml(d)),
      required: d.required === true,
    };
    if (d.default !== undefined && d.deprecatedName === undefined) entry.default = d.default;
    inputs[name] = entry;
    if (d.deprecatedName !== undefined)
      inputs[d.deprecatedName] = {
        description: `Deprecated: use ${name}.`,
        required: false,
        deprecationMessage: `'${d.deprecatedName}' is renamed '${name}' (same values); '${d.deprecatedName}' will be removed.`,
      };
  }
  const outputs: Record<string, Record<string, unknown>> = {};
  for (const [name, d] of Object.entries(spec.outputs))
    outputs[name] = { description: noExpression(`${spec.name} output ${name}`, d.description) };
  const runs: Record<string, unknown> = { using: 'node24', main: `../../dist/${spec.name}/index.js` };
  if (spec.post) {
    runs.post = `../../dist/${spec.name}/index.js`;
    runs['post-if'] = 'always()';
  }
  const doc: Record<string, unknown> = {
    name: spec.title,
    description: spec.description,
    author: 'Kiln',
    ...(spec.branding ? { branding: spec.branding } : {}),
    inputs,
    outputs,
    runs,
  };
  const header =
    `# Generated from actions/${spec.name}/src/action.ts by \`npm run generate\`.\n` +
    '# Edit the declaration there, not this file (a test fails on any drift).\n';
  return header + stringify(doc, { lineWidth: 0, defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN' });
}

export function inputsTable(spec: ActionSpec): string {
  const rows = Object.entries(spec.inputs).map(([name, d]) => {
    const def = d.default !== undefined ? `\`${d.default}\`` : d.required ? '**required**' : '';
    const former = d.deprecatedName
      ? ` (formerly \`${d.deprecatedName}\`, still accepted with a warning)`
      : '';
    return `| \`${name}\` | ${escapeCell(describeType(d))}${d.secret ? ' (secret)' : ''} | ${def} | ${escapeCell(d.description)}${former} |`;
  });
  return ['| Input | Type | Default | Description |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

export function outputsTable(spec: ActionSpec): string {
  const rows = Object.entries(spec.outputs).map(
    ([name, d]) => `| \`${name}\` | ${escapeCell(d.description)} |`,
  );
  return ['| Output | Description |', '| --- | --- |', ...rows].join('\n');
}

export function actionsList(actions: readonly ActionDefinition[]): string {
  return [
    '| Action | What it does | Docs |',
    '| --- | --- | --- |',
    ...actions.map((a) => {
      const readme = `actions/${a.spec.name}/README.md`;
      return `| \`${a.spec.name}\` | ${escapeCell(a.spec.description)} | [README](${readme}) · [inputs](${readme}#inputs) · [outputs](${readme}#outputs) |`;
    }),
  ].join('\n');
}

/**
 * Input names that several actions declare with different meanings (`timeout`, `vars`, …): for those, a bare
 * `KILN_<INPUT>` would leak from one action into another, so only `KILN_<ACTION>_<INPUT>` is read. Names declared
 * identically everywhere (the registry credentials) stay shared.
 */
export function scopedEnvFile(actions: readonly ActionDefinition[]): string {
  const seen = new Map<string, Set<string>>();
  const shared = new Set<string>();
  for (const a of actions)
    for (const [name, d] of Object.entries((a.spec as unknown as ActionSpec).inputs)) {
      if (d.sharedEnv) shared.add(name);
      seen.set(name, (seen.get(name) ?? new Set()).add(JSON.stringify({ ...d, default: undefined })));
    }
  const names = [...seen]
    .filter(([name, decls]) => decls.size > 1 && !shared.has(name))
    .map(([n]) => n)
    .sort();
  return [
    '// Generated by `npm run generate` from the action declarations (scripts/generate.ts scopedEnvFile).',
    '// Edit the declarations, not this file (a test fails on any drift).',
    '',
    '/** Inputs that mean different things in different actions: read only as `KILN_<ACTION>_<INPUT>`. */',
    `export const SCOPED_ENV_INPUTS: ReadonlySet<string> = new Set(${JSON.stringify(names)});`,
    '',
  ].join('\n');
}

/** Replace the text between `<!-- kiln:NAME:start -->` and `<!-- kiln:NAME:end -->`. */
export function replaceSection(text: string, name: string, body: string, file: string): string {
  const start = `<!-- kiln:${name}:start -->`;
  const end = `<!-- kiln:${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${file}: missing ${start} … ${end} markers`);
  return `${text.slice(0, i + start.length)}\n${body}\n${text.slice(j)}`;
}

/**
 * The examples that use an action (a GitHub workflow's `uses: …/actions/<name>@`, a GitLab pipeline's
 * `kiln <name>` or its component `/<name>@`) and its CI/CD component, as links from the action's README.
 */
export function examplesList(name: string): string {
  const links: string[] = [];
  for (const dir of ['github', 'gitlab']) {
    const folder = join(root, 'workflows-examples', dir);
    if (!existsSync(folder)) continue;
    for (const file of readdirSync(folder).sort()) {
      const text = readFileSync(join(folder, file), 'utf8');
      if (
        text.includes(`/actions/${name}@`) ||
        new RegExp(`\\bkiln ${name}\\b`).test(text) ||
        text.includes(`/${name}@`)
      )
        links.push(`[${dir}/${file}](../../workflows-examples/${dir}/${file})`);
    }
  }
  const component = existsSync(join(root, 'templates', `${name}.yml`))
    ? `; the GitLab CI/CD component [templates/${name}.yml](../../templates/${name}.yml)`
    : '';
  return links.length || component
    ? `Examples that use it (each runs in the tests): ${links.join(', ') || 'none yet'}${component}.`
    : 'No example uses it yet.';
}

/** Every generated file and the content it should have. */
export async function expectedFiles(): Promise<Map<string, string>> {
  const actions = await loadActions();
  const files = new Map<string, string>();
  for (const a of actions) {
    const spec = a.spec as unknown as ActionSpec;
    const dir = join(root, 'actions', spec.name);
    files.set(join(dir, 'action.yml'), actionYaml(spec));
    const readme = join(dir, 'README.md');
    let text = existsSync(readme) ? readFileSync(readme, 'utf8') : '';
    text = replaceSection(text, 'inputs', inputsTable(spec), readme);
    text = replaceSection(text, 'outputs', outputsTable(spec), readme);
    // A paragraph (not a table) between the markers: blank lines around it, as prettier writes it.
    text = replaceSection(text, 'examples', `\n${examplesList(spec.name)}\n`, readme);
    files.set(readme, text);
  }
  files.set(join(root, 'packages', 'core', 'src', 'inputs', 'scoped-env.ts'), scopedEnvFile(actions));
  const rootReadme = join(root, 'README.md');
  files.set(
    rootReadme,
    replaceSection(readFileSync(rootReadme, 'utf8'), 'actions', actionsList(actions), rootReadme),
  );
  return files;
}

/** Files whose content differs from what the declarations say. */
export async function staleFiles(): Promise<string[]> {
  return [...(await expectedFiles())]
    .filter(([file, content]) => !existsSync(file) || readFileSync(file, 'utf8') !== content)
    .map(([file]) => file);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--check')) {
    const stale = await staleFiles();
    if (stale.length) {
      process.stderr.write(`Out of date (run npm run generate):\n${stale.map((f) => `  ${f}`).join('\n')}\n`);
      process.exit(1);
    }
    process.stdout.write('generated files are up to date\n');
  } else {
    const files = await expectedFiles();
    for (const [file, content] of files) writeFileSync(file, content);
    process.stdout.write(`generated ${files.size} files\n`);
  }
}
