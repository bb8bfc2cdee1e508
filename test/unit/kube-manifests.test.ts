/**
 * deploy-k8s manifests: reading files, directories and globs (multi-document YAML read as kubectl reads it, Lists
 * flattened, `${NAME}` templates, size/alias/depth limits), exact image substitution with the image-reference
 * grammar (Azure/k8s-deploy's bugs as regression cases), namespaces, and the release annotations. Every error is
 * one line naming the file, the document and the field.
 */
import { describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, InputError } from '../../packages/core/src/errors.js';
import {
  annotateRelease,
  DEFAULT_MANIFEST_LIMITS,
  hasImageFields,
  KILN_ANNOTATIONS,
  loadManifests,
  releaseAnnotations,
  resolveNamespaces,
  substituteImages,
  type Manifest,
} from '../../packages/core/src/kube/manifests.js';
import { repoRoot } from '../harness/runner.js';

const cwd = join(repoRoot, 'test/fixtures/kube-manifests');
const D = `sha256:${'ab'.repeat(32)}`;
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

const load = (specs: string[], vars?: Record<string, string>): Manifest[] =>
  loadManifests(specs, { cwd, ...(vars ? { vars } : {}) }).manifests;
const find = (ms: Manifest[], kind: string, name: string): Manifest => {
  const m = ms.find((x) => x.kind === kind && x.name === name);
  if (!m) throw new Error(`no ${kind}/${name}`);
  return m;
};
/** A field by dotted path with numeric indexes: get(obj, 'spec.template.spec.containers.0.image'). */
const get = (m: Manifest, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], m.object);
/** The error a call throws; asserts it is one line. */
const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (e) {
    expect((e as Error).message).not.toMatch(/\n/);
    return e as Error;
  }
  throw new Error('expected an error');
};
const tmp = (): string => mkdtempSync(join(tmpdir(), 'kiln-kube-manifests-'));
const write = (dir: string, name: string, text: string): string => {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
};
const configMap = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;
const pod = (image: string, extra = ''): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: ${image}\n${extra}`;
/** Load one Pod with one container image, from a temporary file. */
const onePod = (image: string, extra = ''): Manifest[] => {
  const dir = tmp();
  write(dir, 'pod.yaml', pod(image, extra));
  return loadManifests(['pod.yaml'], { cwd: dir }).manifests;
};

// ---------------------------------------------------------------------------------------------------------------

describe('loadManifests: files, directories, globs, documents', () => {
  test('a directory: its *.yaml/*.yml/*.json sorted, not README.md; documents counted from 1 with empty ones; a List flattened', () => {
    const loaded = loadManifests(['app'], { cwd });
    expect(loaded.files).toEqual([
      'app/00-namespaces.yaml',
      'app/10-web.yaml',
      'app/20-data.yaml',
      'app/30-jobs.yaml',
      'app/40-list.json',
    ]);
    expect(loaded.manifests.map((m) => `${m.file}#${m.document}${m.pointer} ${m.kind}/${m.name}`)).toEqual([
      'app/00-namespaces.yaml#1 Namespace/data',
      'app/00-namespaces.yaml#4 ConfigMap/app-config', // documents 2 and 3 are empty (only `---`, a comment)
      'app/10-web.yaml#1 Deployment/web',
      'app/10-web.yaml#2 Service/web',
      'app/20-data.yaml#1 StatefulSet/db',
      'app/20-data.yaml#2 DaemonSet/log-agent',
      'app/30-jobs.yaml#1 CronJob/nightly-report',
      'app/30-jobs.yaml#2 Job/seed',
      'app/40-list.json#1/items/0 ClusterRole/web-reader',
      'app/40-list.json#1/items/1 Pod/debug',
    ]);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.bytes).toBeGreaterThan(1000);
  });

  test('YAML is read as kubectl reads it (YAML 1.1): 0644 is octal, quoted values stay strings, timestamps stay strings', () => {
    const ms = load(['app']);
    const web = find(ms, 'Deployment', 'web');
    expect(get(web, 'spec.template.spec.volumes.0.configMap.defaultMode')).toBe(0o644);
    expect(get(find(ms, 'ConfigMap', 'app-config'), 'data')).toEqual({ mode: '0644', enabled: 'yes' });
    const dir = tmp();
    write(dir, 'a.yaml', `${configMap('a')}data:\n  day: 2024-01-01\n  time: 1:20\nflag: yes\noff: off\n`);
    const [m] = loadManifests(['a.yaml'], { cwd: dir }).manifests;
    expect(m?.object['data']).toEqual({ day: '2024-01-01', time: '1:20' });
    expect(m?.object['flag']).toBe(true);
    expect(m?.object['false']).toBe(false); // `off:` as a key is the boolean false, as go-yaml reads it
  });

  test('globs: ** recursive, * one level, ? one character; hidden entries and non-manifest files left out; sorted', () => {
    const files = (spec: string): string[] => loadManifests([spec], { cwd }).files;
    expect(files('nested/**')).toEqual(['nested/a.yaml', 'nested/sub/b.yml', 'nested/sub/deeper/c.json']);
    expect(files('nested/*')).toEqual(['nested/a.yaml']);
    expect(files('nested')).toEqual(['nested/a.yaml']); // a directory is not recursive
    expect(files('nested/**/*.json')).toEqual(['nested/sub/deeper/c.json']);
    expect(files('**/c.*')).toEqual(['nested/sub/deeper/c.json']);
    expect(files('nested/sub/?.yml')).toEqual(['nested/sub/b.yml']);
    expect(files('nested/.hidden/*.yaml')).toEqual(['nested/.hidden/d.yaml']); // a literal hidden directory is fine
    expect(files(join(cwd, 'nested/*.yaml'))).toEqual(['nested/a.yaml']); // absolute
  });

  test('a file named by several entries is read once; entries keep their order', () => {
    const loaded = loadManifests(['nested/sub/b.yml', 'nested/**', 'nested/a.yaml'], { cwd });
    expect(loaded.files).toEqual(['nested/sub/b.yml', 'nested/a.yaml', 'nested/sub/deeper/c.json']);
  });

  test('an entry that names nothing is an error naming it (a missing file, a glob without match, a directory without manifests)', () => {
    const e1 = errorOf(() => loadManifests(['k8s/app.yaml'], { cwd }));
    expect(e1).toBeInstanceOf(InputError);
    expect(e1.message).toBe(
      "Input 'manifests': 'k8s/app.yaml' does not exist; expected a file, a directory or a glob",
    );
    expect(errorOf(() => loadManifests(['nested/*.yml'], { cwd })).message).toMatch(
      /^Input 'manifests': 'nested\/\*\.yml' matched no \*\.yaml, \*\.yml or \*\.json file$/,
    );
    expect(errorOf(() => loadManifests(['nope/**'], { cwd })).message).toContain("('nope' does not exist)");
    const dir = tmp();
    write(dir, 'k8s/base/a.yaml', configMap('a'));
    write(dir, 'k8s/notes.txt', 'notes');
    expect(errorOf(() => loadManifests(['k8s/'], { cwd: dir })).message).toBe(
      "Input 'manifests': directory 'k8s/' has no *.yaml, *.yml or *.json file (subdirectories are read only with 'k8s/**')",
    );
    expect(loadManifests(['k8s/**'], { cwd: dir }).files).toEqual(['k8s/base/a.yaml']);
    expect(errorOf(() => loadManifests(['', ' '], { cwd })).message).toContain('names no file');
  });

  test('** does not follow symbolic links to directories (no loops); a linked file is read', () => {
    const dir = tmp();
    write(dir, 'k8s/a.yaml', configMap('a'));
    symlinkSync(join(dir, 'k8s'), join(dir, 'k8s/loop'));
    symlinkSync(join(dir, 'k8s/a.yaml'), join(dir, 'k8s/b.yaml'));
    expect(loadManifests(['k8s/**'], { cwd: dir }).files).toEqual(['k8s/a.yaml', 'k8s/b.yaml']);
  });

  test('a glob that reads too many directory entries stops', async () => {
    const { resolveManifestFiles } = await import('../../packages/core/src/kube/manifest-files.js');
    const dir = tmp();
    for (let i = 0; i < 30; i++) write(dir, `d${i}/x.yaml`, configMap(`x${i}`));
    expect(() => resolveManifestFiles(['**'], { cwd: dir, maxFiles: 100, maxEntries: 20 })).toThrow(
      /reads more than 20 directory entries; narrow the pattern/,
    );
  });
});

describe('loadManifests: validation, one line naming the file, the document and the field', () => {
  test('missing apiVersion, missing name (generateName), a number as a label value: all problems in one line', () => {
    const e = errorOf(() => load(['invalid/missing.yaml']));
    expect(e).toBeInstanceOf(ConfigurationError);
    expect(e.message).toBe(
      "invalid/missing.yaml document 2: /apiVersion is missing (e.g. 'apps/v1'); " +
        'invalid/missing.yaml document 3: /metadata/name is missing (generateName is not enough: Kiln applies objects by name, so a rerun updates the same object rather than creating another); ' +
        'invalid/missing.yaml document 3: /metadata/labels/version is the number 1, not a string; label values are strings: quote the value in the file (YAML reads an unquoted 1.0, true or null as a number, a boolean or null)',
    );
  });

  test('a document that is not a mapping, a List item without kind, a bad kind', () => {
    const dir = tmp();
    write(dir, 'a.yaml', `${configMap('a')}---\n- just\n- a list\n`);
    expect(errorOf(() => loadManifests(['a.yaml'], { cwd: dir })).message).toBe(
      'a.yaml document 2: expected a Kubernetes object (a mapping with apiVersion, kind and metadata.name), found a list',
    );
    write(
      dir,
      'l.json',
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [{ apiVersion: 'v1', metadata: { name: 'x' } }],
      }),
    );
    expect(errorOf(() => loadManifests(['l.json'], { cwd: dir })).message).toBe(
      "l.json document 1: /items/0/kind is missing (e.g. 'Deployment')",
    );
    write(dir, 'k.yaml', 'apiVersion: v1\nkind: config map\nmetadata: {name: x}\n');
    expect(errorOf(() => loadManifests(['k.yaml'], { cwd: dir })).message).toBe(
      "k.yaml document 1: /kind must be a kind name such as 'Deployment', found the string 'config map'",
    );
  });

  test("YAML 1.1 as kubectl reads it: 'name: y' is the boolean true, an error naming the field", () => {
    const dir = tmp();
    write(dir, 'y.yaml', configMap('y'));
    expect(errorOf(() => loadManifests(['y.yaml'], { cwd: dir })).message).toBe(
      'y.yaml document 1: /metadata/name must be a string, found the boolean true',
    );
  });

  test('YAML syntax errors and duplicate keys name the file, line and column', () => {
    const dir = tmp();
    write(dir, 'bad.yaml', `${configMap('a')}---\napiVersion: v1\nkind: [\n`);
    expect(errorOf(() => loadManifests(['bad.yaml'], { cwd: dir })).message).toMatch(
      /^bad\.yaml:\d+:\d+: invalid YAML in document 2: /,
    );
    write(dir, 'dup.yaml', pod('a@' + D, '      image: b@' + D + '\n'));
    expect(errorOf(() => loadManifests(['dup.yaml'], { cwd: dir })).message).toBe(
      'dup.yaml:9:7: invalid YAML in document 1: a key appears twice in one mapping',
    );
  });

  test('empty files only: an error', () => {
    const dir = tmp();
    write(dir, 'empty.yaml', '---\n# nothing\n---\n');
    expect(errorOf(() => loadManifests(['empty.yaml'], { cwd: dir })).message).toBe(
      "Input 'manifests': 'empty.yaml' has no Kubernetes object (only empty documents)",
    );
  });

  test('an integer a JavaScript number cannot hold is an error, not rounded', () => {
    const dir = tmp();
    write(dir, 'big.yaml', `${configMap('a')}spec:\n  size: 9007199254740993\n`);
    expect(errorOf(() => loadManifests(['big.yaml'], { cwd: dir })).message).toBe(
      'big.yaml document 1: /spec/size is the integer 9007199254740993, larger than Kiln can hold exactly (2^53); quote it if it is meant as a string',
    );
  });
});

describe('loadManifests: limits', () => {
  test('a huge file is refused before it is parsed, naming the file and the limit', () => {
    const dir = tmp();
    write(dir, 'huge.yaml', `${configMap('a')}data:\n  x: "${'x'.repeat(200_000)}"\n`);
    const e = errorOf(() => loadManifests(['huge.yaml'], { cwd: dir, limits: { fileBytes: 64 * 1024 } }));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe(
      "Input 'manifests': 'huge.yaml' is 196 KiB, more than the 64 KiB Kiln reads; expected a YAML or JSON file of Kubernetes objects",
    );
    expect(DEFAULT_MANIFEST_LIMITS.fileBytes).toBe(8 * 1024 * 1024);
  });

  test('the files together are limited too', () => {
    const dir = tmp();
    for (const n of ['a', 'b', 'c'])
      write(dir, `${n}.yaml`, `${configMap(n)}data:\n  x: "${'x'.repeat(40_000)}"\n`);
    expect(errorOf(() => loadManifests(['.'], { cwd: dir, limits: { totalBytes: 100_000 } })).message).toBe(
      "Input 'manifests': the files are more than the 98 KiB Kiln reads in all (at 'c.yaml'); deploy fewer files at once",
    );
    expect(errorOf(() => loadManifests(['.'], { cwd: dir, limits: { files: 2 } })).message).toContain(
      'names more than 2 files',
    );
  });

  test('an alias bomb is stopped (aliases capped as in the other YAML readers)', () => {
    expect(errorOf(() => load(['limits/alias-bomb.yaml'])).message).toBe(
      'limits/alias-bomb.yaml: invalid YAML in document 1: it expands too many aliases (more than 100)',
    );
  });

  test('nesting too deep is an error naming the file, whether Kiln or the parser sees it first', () => {
    const dir = tmp();
    let nested = 'x: 1';
    for (let i = 0; i < 150; i++) nested = `a:\n${nested.replace(/^/gm, '  ')}`;
    write(dir, 'deep.yaml', `${configMap('a')}${nested}\n`);
    expect(errorOf(() => loadManifests(['deep.yaml'], { cwd: dir })).message).toMatch(
      /^deep\.yaml document 1: \/a\/a\/.*\/a is nested more than 100 levels deep; Kiln reads at most 100$/,
    );
    write(dir, 'flow.yaml', `${configMap('b')}x: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`);
    expect(errorOf(() => loadManifests(['flow.yaml'], { cwd: dir })).message).toMatch(
      /^flow\.yaml(:\d+:\d+)?: invalid YAML in document 1: it is nested too deeply$/,
    );
  });

  test('too many documents or objects', () => {
    const dir = tmp();
    write(dir, 'many.yaml', '---\n'.repeat(50));
    expect(errorOf(() => loadManifests(['many.yaml'], { cwd: dir, limits: { objects: 10 } })).message).toBe(
      'many.yaml has 50 YAML documents; Kiln reads at most 10 in one file',
    );
  });
});

describe('loadManifests: ${VAR} templates, after parsing', () => {
  const vars = { ENV: 'qa', REPLICAS: '3', TAG: '1.2', GREETING: 'hi', DEBUG: 'true' };

  test('values are filled in; an unquoted value takes its YAML type, a quoted one stays a string; $${ is a literal', () => {
    const [web] = load(['templated'], vars);
    if (!web) throw new Error('no object');
    expect(web.name).toBe('web-qa');
    expect(get(web, 'metadata.labels.env')).toBe('qa');
    expect(get(web, 'spec.replicas')).toBe(3);
    const c = 'spec.template.spec.containers.0';
    expect(get(web, `${c}.image`)).toBe('ghcr.io/org/app:1.2');
    expect(get(web, `${c}.args`)).toEqual(['--profile=qa', '--literal=${HOME}']);
    expect(get(web, `${c}.env`)).toEqual([
      { name: 'GREETING', value: 'hi' },
      { name: 'DEBUG', value: 'true' }, // quoted in the file: a string, as the API wants
    ]);
    expect(get(web, `${c}.command.2`)).toBe('echo hi\n');
  });

  test('a value cannot inject YAML structure: it is only ever the content of its scalar', () => {
    const injection = 'hi\n  privileged: true\nsecurityContext: {privileged: true}';
    const [web] = load(['templated'], {
      ...vars,
      GREETING: injection,
      REPLICAS: '{a: b}',
      TAG: '1 # comment',
    });
    if (!web) throw new Error('no object');
    const c = 'spec.template.spec.containers.0';
    expect(get(web, `${c}.env.0.value`)).toBe(injection);
    expect(get(web, `${c}.securityContext`)).toBeUndefined();
    expect(get(web, `${c}.command.2`)).toBe(`echo ${injection}\n`);
    expect(get(web, 'spec.replicas')).toBe('{a: b}'); // never a mapping
    expect(get(web, `${c}.image`)).toBe('ghcr.io/org/app:1 # comment'); // no comment either
  });

  test('a variable without a value is an error naming file, document and field; unused vars are a warning', () => {
    const { ENV: _env, ...withoutEnv } = vars;
    expect(errorOf(() => load(['templated'], withoutEnv)).message).toBe(
      'templated/app.yaml document 1: /metadata/name uses ${ENV}, but no value is given for it; pass it in the vars input (e.g. ENV=qa).',
    );
    const loaded = loadManifests(['templated'], { cwd, vars: { ...vars, REGION: 'eu' } });
    expect(loaded.warnings).toEqual(["vars 'REGION' is not used by any ${…} in the manifests."]);
  });

  test('keys are never templated', () => {
    const dir = tmp();
    write(dir, 'a.yaml', `${configMap('a')}data:\n  \${KEY}: \${VALUE}\n`);
    const [m] = loadManifests(['a.yaml'], { cwd: dir, vars: { KEY: 'k', VALUE: 'v' } }).manifests;
    expect(m?.object['data']).toEqual({ '${KEY}': 'v' });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('substituteImages: exact, by repository, pinned by digest', () => {
  const appEntries = [
    `registry.local:5000/team/app:2.0@${D}`,
    `registry.local:5000/team/migrate@${D}`,
    `postgres@${D}`,
    `busybox:1.36@${D}`,
    `ghcr.io/org/debug@${D}`,
  ];

  test('a registry with a port (Azure #2) replaces every tag of that repository, in containers, init containers, CronJob and Job templates', () => {
    const ms = load(['app']);
    const result = substituteImages(ms, appEntries, { allowMutableTag: false });
    const web = find(ms, 'Deployment', 'web');
    const spec = 'spec.template.spec';
    expect(get(web, `${spec}.containers.0.image`)).toBe(`registry.local:5000/team/app@${D}`);
    expect(get(web, `${spec}.initContainers.0.image`)).toBe(`registry.local:5000/team/migrate@${D}`);
    const cron = find(ms, 'CronJob', 'nightly-report');
    expect(get(cron, 'spec.jobTemplate.spec.template.spec.containers.0.image')).toBe(
      `registry.local:5000/team/app@${D}`,
    );
    expect(get(cron, 'spec.jobTemplate.spec.template.spec.initContainers.0.image')).toBe(`busybox@${D}`);
    expect(get(find(ms, 'Job', 'seed'), `${spec}.containers.0.image`)).toBe(
      `registry.local:5000/team/app@${D}`,
    );
    expect(get(find(ms, 'StatefulSet', 'db'), `${spec}.containers.0.image`)).toBe(`postgres@${D}`);
    const debug = find(ms, 'Pod', 'debug');
    expect(get(debug, 'spec.containers.0.image')).toBe(`busybox@${D}`);
    expect(get(debug, 'spec.ephemeralContainers.0.image')).toBe(`ghcr.io/org/debug@${D}`);
    // The report: file, document, object, container, before → after.
    expect(result.changes[0]).toEqual({
      file: 'app/10-web.yaml',
      document: 1,
      object: 'Deployment/web',
      container: "init container 'migrate'",
      field: '/spec/template/spec/initContainers/0/image',
      image: `registry.local:5000/team/migrate@${D}`,
      pinned: true,
      entry: `registry.local:5000/team/migrate@${D}`,
      before: 'registry.local:5000/team/migrate:1.0',
      after: `registry.local:5000/team/migrate@${D}`,
    });
    expect(result.changes.map((c) => `${c.object} ${c.container}`)).toEqual([
      "Deployment/web init container 'migrate'",
      "Deployment/web container 'app'",
      "StatefulSet/db container 'postgres'",
      "CronJob/nightly-report init container 'wait'",
      "CronJob/nightly-report container 'report'",
      "Job/seed container 'seed'",
      "Pod/debug container 'shell'",
      "Pod/debug ephemeral container 'dbg'",
    ]);
    expect(result.notes[0]).toBe(
      `app/10-web.yaml document 1: Deployment/web init container 'migrate': registry.local:5000/team/migrate:1.0 → registry.local:5000/team/migrate@${D}`,
    );
    expect(result.warnings).toEqual([]);
  });

  test('an image whose name has another as a prefix (app vs app-worker) is not touched; images pinned in the manifests are kept', () => {
    const ms = load(['app']);
    const result = substituteImages(ms, appEntries, { allowMutableTag: false });
    const web = find(ms, 'Deployment', 'web');
    expect(get(web, 'spec.template.spec.containers.1.image')).toBe(
      `registry.local:5000/team/app-worker:1.0@${D1}`,
    );
    expect(get(web, 'spec.template.spec.containers.2.image')).toBe(`envoyproxy/envoy@${D2}`);
    expect(get(find(ms, 'DaemonSet', 'log-agent'), 'spec.template.spec.containers.0.image')).toBe(
      `docker.io/fluent/fluent-bit:3.0@${D1}`,
    );
    const worker = result.images.find((i) => i.container === "container 'worker'");
    expect(worker).toMatchObject({ image: `registry.local:5000/team/app-worker:1.0@${D1}`, pinned: true });
    expect(worker?.entry).toBeUndefined();
  });

  test('a tag-only change is refused (Azure #132): the whole reference is replaced and pinned, never just the tag', () => {
    const ms = onePod(`registry.local:5000/team/app:1.0@${D1}`);
    expect(
      errorOf(() => substituteImages(ms, ['registry.local:5000/team/app:2.0'], { allowMutableTag: false }))
        .message,
    ).toBe(
      "Input 'images': entry 'registry.local:5000/team/app:2.0' is not pinned by a digest; Kiln deploys images by digest so what runs is never ambiguous. Give the digest input (e.g. the push step's digest output) or an image ending in @sha256:<hex>, or set allow-mutable-tag: true to deploy a moving tag (this forces a pull).",
    );
    substituteImages(ms, [`registry.local:5000/team/app:2.0@${D2}`], { allowMutableTag: false });
    expect(get(ms[0] as Manifest, 'spec.containers.0.image')).toBe(`registry.local:5000/team/app@${D2}`);
  });

  test("a digest-only entry, and tag+digest: deployed as name@digest with the user's spelling of the name", () => {
    const ms = onePod('registry.local:5000/team/app:1.0');
    substituteImages(ms, [`registry.local:5000/team/app@${D}`], { allowMutableTag: false });
    expect(get(ms[0] as Manifest, 'spec.containers.0.image')).toBe(`registry.local:5000/team/app@${D}`);
    const ms2 = onePod("'[::1]:5000/app:1.0'");
    substituteImages(ms2, [`[::1]:5000/app:2.0@${D}`], { allowMutableTag: false });
    expect(get(ms2[0] as Manifest, 'spec.containers.0.image')).toBe(`[::1]:5000/app@${D}`);
  });

  test('docker.io short names: nginx is docker.io/library/nginx, index.docker.io is docker.io', () => {
    const ms = load(['hub']);
    const result = substituteImages(
      ms,
      [
        `nginx@${D}`,
        `docker.io/library/redis@${D2}`,
        `bitnami/postgresql:15@${D}`,
        `index.docker.io/library/busybox@${D}`,
      ],
      { allowMutableTag: false },
    );
    const images = (ms[0]?.object['spec'] as { containers: { image: string }[] }).containers.map(
      (c) => c.image,
    );
    expect(images).toEqual([
      `nginx@${D}`,
      `docker.io/library/redis@${D2}`,
      `bitnami/postgresql@${D}`,
      `index.docker.io/library/busybox@${D}`,
    ]);
    expect(result.changes).toHaveLength(4);
  });

  test('name=image puts an image in place of another repository', () => {
    const ms = onePod('registry.local:5000/team/app:1.0');
    substituteImages(ms, [`registry.local:5000/team/app=ghcr.io/org/app:2@${D}`], { allowMutableTag: false });
    expect(get(ms[0] as Manifest, 'spec.containers.0.image')).toBe(`ghcr.io/org/app@${D}`);
    expect(
      errorOf(() => substituteImages(onePod('a@' + D), [`a:1=b@${D}`], { allowMutableTag: false })).message,
    ).toBe(
      `Input 'images': entry 'a:1=b@${D}': the name before '=' is the repository to replace, without a tag or digest (every tag and digest of it is replaced); write 'docker.io/library/a=b@${D}'`,
    );
  });

  test('an entry that matched nothing is an error (Azure #286) listing the repositories the manifests have, with a near miss', () => {
    const ms = load(['app']);
    const e = errorOf(() => substituteImages(ms, [...appEntries, `app@${D}`], { allowMutableTag: false }));
    expect(e).toBeInstanceOf(ConfigurationError);
    expect(e.message).toBe(
      `Input 'images': 'app@${D}' matched no image in the manifests (it replaces docker.io/library/app; did you mean registry.local:5000/team/app?); ` +
        'the images there are docker.io/envoyproxy/envoy, docker.io/fluent/fluent-bit, docker.io/library/busybox, docker.io/library/postgres, ghcr.io/org/debug, registry.local:5000/team/app, registry.local:5000/team/app-worker and registry.local:5000/team/migrate. ' +
        "An entry replaces the images of its registry and repository, whatever their tag or digest (write 'name=image' to put an image in place of another repository).",
    );
    // Azure #2: with a port, nothing before the first colon is a "name".
    expect(
      errorOf(() => substituteImages(ms, [`registry.local@${D}`], { allowMutableTag: false })).message,
    ).toContain(
      `'registry.local@${D}' matched no image in the manifests (it replaces docker.io/library/registry.local)`,
    );
  });

  test('two entries for one repository, a bad entry: errors naming the entry', () => {
    const ms = onePod('app:1');
    expect(
      errorOf(() =>
        substituteImages(ms, [`app@${D}`, `docker.io/library/app:2@${D2}`], { allowMutableTag: false }),
      ).message,
    ).toBe(
      `Input 'images': entries 'app@${D}' and 'docker.io/library/app:2@${D2}' both replace docker.io/library/app; give one entry per repository`,
    );
    expect(
      errorOf(() => substituteImages(ms, ['Registry:5000/App'], { allowMutableTag: false })).message,
    ).toMatch(/^Input 'images': entry: invalid image reference 'Registry:5000\/App': /);
  });

  test('an image in the manifests without a digest that no entry replaces is refused, as deploy-marathon refuses one', () => {
    const e = errorOf(() => substituteImages(load(['hub']), [`nginx@${D}`], { allowMutableTag: false }));
    expect(e.message).toBe(
      "2 images in the manifests are not pinned by a digest and no images entry replaces them: 'index.docker.io/bitnami/postgresql:15' (hub/pod.yaml document 1, Pod/hub container 'pg') and 'docker.io/library/busybox:1.36' (hub/pod.yaml document 1, Pod/hub container 'box'). " +
        "Kiln deploys images by digest so what runs is never ambiguous: pin them in the file (name@sha256:<hex>), give an images entry with a digest (e.g. a push step's output), or set allow-mutable-tag: true to deploy a moving tag (imagePullPolicy becomes Always).",
    );
  });

  test('allow-mutable-tag: tags are deployed with a warning and imagePullPolicy Always (Never is kept, with a warning)', () => {
    const ms = onePod(
      'ghcr.io/org/app:1',
      '    - name: local\n      image: ghcr.io/org/app:1\n      imagePullPolicy: Never\n',
    );
    const result = substituteImages(ms, ['ghcr.io/org/app:2'], { allowMutableTag: true });
    const containers = (ms[0]?.object['spec'] as { containers: Record<string, string>[] }).containers;
    expect(containers[0]).toEqual({ name: 'c', image: 'ghcr.io/org/app:2', imagePullPolicy: 'Always' });
    expect(containers[1]).toEqual({ name: 'local', image: 'ghcr.io/org/app:2', imagePullPolicy: 'Never' });
    expect(result.warnings).toEqual([
      "deploying the mutable tag 'ghcr.io/org/app:2' (allow-mutable-tag: true) in Pod/p container 'c' and Pod/p container 'local': imagePullPolicy is set to Always so every node pulls it again; what runs can change under the same tag.",
      "imagePullPolicy: Never kept for Pod/p container 'local' ('ghcr.io/org/app:2'): the node's copy of the mutable tag is used, whatever the registry has now.",
    ]);
    expect(result.notes).toContain(
      "pod.yaml document 1: Pod/p container 'c': imagePullPolicy set to Always (the mutable tag 'ghcr.io/org/app:2')",
    );
    // An unpinned image in the file that no entry replaces: the same rule.
    const hub = load(['hub']);
    const r2 = substituteImages(hub, [], { allowMutableTag: true });
    expect(r2.warnings).toHaveLength(3);
    expect(get(hub[0] as Manifest, 'spec.containers.0.imagePullPolicy')).toBe('Always');
    expect(get(hub[0] as Manifest, 'spec.containers.1.imagePullPolicy')).toBeUndefined(); // pinned: untouched
  });

  test('an invalid image or a non-string image in the manifests names the file, document and field', () => {
    expect(
      errorOf(() => substituteImages(onePod('registry.local:5000/Team/App:1'), [], { allowMutableTag: true }))
        .message,
    ).toMatch(
      /^pod\.yaml document 1: \/spec\/containers\/0\/image \(Pod\/p container 'c'\): invalid image reference 'registry\.local:5000\/Team\/App:1': repository names must be lowercase/,
    );
    expect(errorOf(() => substituteImages(onePod('42'), [], { allowMutableTag: true })).message).toBe(
      "pod.yaml document 1: /spec/containers/0/image (Pod/p container 'c'): expected an image reference, found the number 42",
    );
  });
});

describe('substituteImages: custom resources through image-paths', () => {
  const paths = [
    'WebApp:spec.image',
    'WebApp:spec.sidecars[*].image',
    'Rollout.argoproj.io:spec.template.spec.containers[*].image',
  ];

  test('image-paths name the fields of kinds Kiln does not know', () => {
    const ms = load(['crd']);
    const result = substituteImages(ms, [`registry.local:5000/team/app@${D}`], {
      allowMutableTag: false,
      imagePaths: paths,
    });
    expect(get(find(ms, 'WebApp', 'shop'), 'spec.image')).toBe(`registry.local:5000/team/app@${D}`);
    expect(get(find(ms, 'Rollout', 'canary'), 'spec.template.spec.containers.0.image')).toBe(
      `registry.local:5000/team/app@${D}`,
    );
    expect(result.images.map((i) => `${i.object} ${i.container} ${i.field}`)).toEqual([
      'WebApp/shop spec.image /spec/image',
      "WebApp/shop 'metrics' (spec.sidecars[0].image) /spec/sidecars/0/image",
      "Rollout/canary container 'app' /spec/template/spec/containers/0/image",
    ]);
    expect(result.warnings).toEqual([]);
  });

  test('without image-paths, an entry found only in a custom resource says which path to add', () => {
    const e = errorOf(() =>
      substituteImages(load(['crd']), [`registry.local:5000/team/app@${D}`], { allowMutableTag: false }),
    );
    expect(e.message).toContain(
      "(it replaces registry.local:5000/team/app; WebApp/shop has it at spec.image, a kind whose images Kiln reads only through image-paths (e.g. 'WebApp:spec.image'))",
    );
    expect(e.message).toContain('the manifests have no image Kiln reads');
  });

  test('a path limited to another kind or group finds nothing (a warning); a bad path or a non-string value is an error', () => {
    const ms = load(['crd']);
    const result = substituteImages(ms, [], {
      allowMutableTag: true,
      imagePaths: ['Rollout.example.com:spec.template.spec.containers[*].image', 'spec.image'],
    });
    expect(result.warnings).toContain(
      "image-paths 'Rollout.example.com:spec.template.spec.containers[*].image' found no field in the manifests (check the kind and the path).",
    );
    expect(result.images.map((i) => i.object)).toEqual(['WebApp/shop']);
    expect(result.warnings).toContain(
      'Kiln cannot set a pull policy for WebApp/shop spec.image (not a container of a pod spec): whether nodes pull the mutable tag again is up to that object.',
    );
    expect(
      errorOf(() => substituteImages(ms, [], { allowMutableTag: true, imagePaths: ['spec..image'] })).message,
    ).toBe(
      "Input 'image-paths': 'spec..image' has the segment '', which is not a field name with optional [*] or [n]; expected a dotted path with [*] for every item of a list, e.g. 'spec.template.spec.containers[*].image', optionally after a kind ('MyKind:spec.image')",
    );
    expect(
      errorOf(() => substituteImages(ms, [], { allowMutableTag: true, imagePaths: ['WebApp:spec.sidecars'] }))
        .message,
    ).toBe(
      'crd/webapp.yaml document 1: /spec/sidecars (WebApp/shop spec.sidecars): expected an image reference, found a list',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('resolveNamespaces', () => {
  test('the default for namespaced objects without one; their own kept; none for cluster-scoped kinds; the set touched', () => {
    const ms = load(['app']);
    const result = resolveNamespaces(ms, { defaultNamespace: 'qa' });
    const ns = (kind: string, name: string): unknown => get(find(ms, kind, name), 'metadata.namespace');
    expect(ns('Deployment', 'web')).toBe('qa');
    expect(ns('ConfigMap', 'app-config')).toBe('qa');
    expect(ns('StatefulSet', 'db')).toBe('data');
    expect(ns('DaemonSet', 'log-agent')).toBe('kube-system');
    expect(ns('Pod', 'debug')).toBe('data');
    expect(ns('Namespace', 'data')).toBeUndefined();
    expect(ns('ClusterRole', 'web-reader')).toBeUndefined();
    expect(result.namespaces).toEqual(['data', 'kube-system', 'qa']);
    expect(result.created).toEqual(['data']);
    expect(result.clusterScoped).toEqual(['Namespace/data', 'ClusterRole/web-reader']);
    expect(result.warnings).toEqual([]);
  });

  test('the cluster (discovery) answers first, then a CRD in the manifests, then the built-in table; unknown kinds are namespaced with a warning', () => {
    const ms = load(['crd']);
    const asked: string[] = [];
    const result = resolveNamespaces(ms, {
      defaultNamespace: 'qa',
      resourceIsNamespaced: (apiVersion, kind) => {
        asked.push(`${apiVersion} ${kind}`);
        return kind === 'Rollout' ? false : undefined;
      },
    });
    expect(asked).toEqual([
      'apiextensions.k8s.io/v1 CustomResourceDefinition',
      'example.com/v1 WebApp',
      'argoproj.io/v1alpha1 Rollout',
    ]);
    expect(get(find(ms, 'WebApp', 'shop'), 'metadata.namespace')).toBe('qa'); // the CRD says Namespaced
    expect(get(find(ms, 'Rollout', 'canary'), 'metadata.namespace')).toBeUndefined(); // the cluster said cluster-scoped
    expect(result.clusterScoped).toEqual(['CustomResourceDefinition/webapps.example.com', 'Rollout/canary']);
    const again = load(['crd']);
    expect(resolveNamespaces(again, { defaultNamespace: 'qa' }).warnings).toEqual([
      'Kiln cannot tell whether Rollout.argoproj.io is namespaced (the cluster did not say, and no CustomResourceDefinition in the manifests does); treated as namespaced.',
    ]);
  });

  test('a cluster-scoped object with a namespace loses it, with a warning', () => {
    const dir = tmp();
    write(
      dir,
      'cr.yaml',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\n  namespace: qa\n',
    );
    const ms = loadManifests(['cr.yaml'], { cwd: dir }).manifests;
    const result = resolveNamespaces(ms, { defaultNamespace: 'qa' });
    expect(get(ms[0] as Manifest, 'metadata')).toEqual({ name: 'r' });
    expect(result.warnings).toEqual([
      "cr.yaml document 1: /metadata/namespace: ClusterRole/r is cluster-scoped, so its namespace 'qa' is ignored (removed).",
    ]);
  });

  test('a bad default, a bad namespace in a file, and the same object twice are errors', () => {
    expect(errorOf(() => resolveNamespaces(load(['nested']), { defaultNamespace: 'QA' })).message).toBe(
      "Input 'namespace': 'QA' is not a valid namespace: a namespace is a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit.",
    );
    const dir = tmp();
    write(dir, 'a.yaml', `${configMap('x')}---\n${configMap('z')}  namespace: Bad_NS\n`);
    expect(
      errorOf(() =>
        resolveNamespaces(loadManifests(['a.yaml'], { cwd: dir }).manifests, { defaultNamespace: 'qa' }),
      ).message,
    ).toBe(
      "a.yaml document 2: /metadata/namespace: 'Bad_NS' is not a valid namespace: a namespace is a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit",
    );
    write(
      dir,
      'b.yaml',
      `${configMap('x')}---\n${configMap('x')}  namespace: qa\n---\n${configMap('x')}  namespace: prod\n`,
    );
    expect(
      errorOf(() =>
        resolveNamespaces(loadManifests(['b.yaml'], { cwd: dir }).manifests, { defaultNamespace: 'qa' }),
      ).message,
    ).toBe(
      "ConfigMap/x in namespace 'qa' is defined twice: b.yaml document 1 and b.yaml document 2 (the second would replace the first)",
    );
  });
});

describe('release annotations', () => {
  test('kiln.dev/ keys from the release labels', () => {
    expect(
      releaseAnnotations({ sha: 'abc123', runUrl: 'https://ci.example.com/run/7' }, '2024.06.01-7'),
    ).toEqual({
      [KILN_ANNOTATIONS.releaseId]: '2024.06.01-7',
      [KILN_ANNOTATIONS.commit]: 'abc123',
      [KILN_ANNOTATIONS.runUrl]: 'https://ci.example.com/run/7',
    });
    expect(releaseAnnotations({}, undefined)).toEqual({});
  });

  test('on workloads only, never on their pod templates (a rerun must not roll pods); other objects untouched', () => {
    const ms = load(['app']);
    const annotations = releaseAnnotations({ sha: 'abc123', runUrl: 'https://ci.example.com/run/7' }, 'r7');
    const annotated = annotateRelease(ms, annotations);
    expect(annotated).toEqual([
      'Deployment/web',
      'StatefulSet/db',
      'DaemonSet/log-agent',
      'CronJob/nightly-report',
      'Job/seed',
      'Pod/debug',
    ]);
    const web = find(ms, 'Deployment', 'web');
    expect(get(web, 'metadata.annotations')).toEqual({
      'kiln.dev/release-id': 'r7',
      'kiln.dev/commit': 'abc123',
      'kiln.dev/run-url': 'https://ci.example.com/run/7',
    });
    expect(get(web, 'spec.template.metadata.annotations')).toEqual({ team: 'payments' });
    expect(get(find(ms, 'Service', 'web'), 'metadata.annotations')).toBeUndefined();
    expect(get(find(ms, 'ConfigMap', 'app-config'), 'metadata.annotations')).toBeUndefined();
  });

  test('custom resources count as workloads when image-paths find an image in them', () => {
    const ms = load(['crd']);
    expect(ms.map((m) => hasImageFields(m, ['WebApp:spec.image']))).toEqual([false, true, false]);
    expect(
      annotateRelease(ms, { 'kiln.dev/release-id': 'r1' }, { imagePaths: ['WebApp:spec.image'] }),
    ).toEqual(['WebApp/shop']);
  });
});
