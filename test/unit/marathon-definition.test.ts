/**
 * Rendering app definitions: Kiln changes only what it is asked to, keeps every other field (also unknown ones)
 * exactly, pins images by digest, and rejects bad definitions before any request with one clear line.
 */
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, InputError } from '../../packages/core/src/errors.js';
import {
  appIdProblem,
  loadAppDefinition,
  renderAppDefinition,
  type RenderOptions,
} from '../../packages/core/src/marathon/definition.js';
import { diffDefinitions, formatDiff } from '../../packages/core/src/marathon/diff.js';
import {
  isJsonObject,
  jsonEqual,
  parseJson,
  stringifyJson,
  type JsonObject,
  type JsonValue,
} from '../../packages/core/src/util/json.js';
import {
  marathonAuthFromInputs,
  parseMarathonClusters,
  readAppDefinitionFile,
} from '../../packages/core/src/action/marathon.js';
import { repoRoot } from '../harness/runner.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const fixture = (name: string): string =>
  readFileSync(join(repoRoot, 'test/fixtures/marathon', name), 'utf8');
const load = (text: string): JsonObject => loadAppDefinition(text, 'app-definition qa.json').definition;
const opts = (o: Partial<RenderOptions> = {}): RenderOptions => ({
  source: 'app-definition qa.json',
  allowMutableTag: false,
  digest: DIGEST,
  ...o,
});
const at = (v: JsonValue | undefined, ...path: string[]): JsonValue | undefined =>
  path.reduce<JsonValue | undefined>(
    (x, k) => (isJsonObject(x) ? x[k] : Array.isArray(x) ? x[Number(k)] : undefined),
    v,
  );

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('did not throw');
}

/** Every object's keys in order, recursively (integer-like keys excepted: JavaScript lists those first). */
function keyOrder(v: JsonValue | undefined, path = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => keyOrder(x, `${path}/${i}`));
  if (!isJsonObject(v)) return [];
  const keys = Object.keys(v).filter((k) => !/^\d+$/.test(k));
  return [
    `${path}: ${keys.join(',')}`,
    ...Object.entries(v).flatMap(([k, x]) => keyOrder(x, `${path}/${k}`)),
  ];
}

describe('field preservation', () => {
  test('the large definition: only the image, forcePullImage, labels and args variables change; nothing else is lost, changed or reordered', () => {
    const text = fixture('large-app.json');
    const original = parseJson(text) as JsonObject;
    const r = renderAppDefinition(load(text), {
      ...opts({ vars: { ENV: 'prod', REGION: 'aa' }, forcePullImage: true }),
      labels: { TEAM: 'payments' },
      kilnLabels: { KILN_COMMIT: 'abc123' },
    });
    // Written out and read back, as the rendered file and the request body are.
    const out = parseJson(stringifyJson(r.definition)) as JsonObject;
    expect(at(out, 'container', 'docker', 'image')).toBe(`harbor.example.com/payments/api@${DIGEST}`);
    expect(at(out, 'container', 'docker', 'forcePullImage')).toBe(true);
    expect(at(out, 'args')).toEqual([
      '--spring.profiles.active=prod',
      '--literal=${NOT_A_VAR}',
      '--region=aa',
    ]);
    expect(at(out, 'labels', 'TEAM')).toBe('payments');
    expect(at(out, 'labels', 'KILN_COMMIT')).toBe('abc123');

    // Undo exactly Kiln's changes: the rest must equal the file in meaning.
    const undo = parseJson(stringifyJson(out)) as JsonObject;
    const docker = at(undo, 'container', 'docker') as JsonObject;
    docker['image'] = at(original, 'container', 'docker', 'image') as string;
    docker['forcePullImage'] = false;
    undo['args'] = at(original, 'args') as JsonValue;
    const labels = undo['labels'] as JsonObject;
    delete labels['TEAM'];
    delete labels['KILN_COMMIT'];
    expect(jsonEqual(undo, original)).toBe(true);
    expect(keyOrder(undo)).toEqual(keyOrder(original));

    // Numbers a double cannot hold travel verbatim.
    const written = stringifyJson(r.definition, 0);
    for (const n of [
      '12345678901234567890123',
      '9007199254740993',
      '1e400',
      '1e-400',
      '0.10000000000000000555111512312578270211815834045410156250001',
    ])
      expect(written).toContain(n);
    expect(written).toContain('"__proto__":"an ordinary key in JSON"');
    expect(written).toContain(
      '"x-vendor-extension":{"keep":["me",1,true,null,{"nested":{"deeper":[[],{}]}}]}',
    );
  });

  test('forcePullImage is left as the file says unless asked', () => {
    const def = load(fixture('app-deploy.json'));
    expect(
      at(
        renderAppDefinition(def, opts({ vars: { ENV: 'qa' } })).definition,
        'container',
        'docker',
        'forcePullImage',
      ),
    ).toBe(false);
    const withTrue = load(fixture('scenario-qa-deploy.json'));
    const image = 'harbor.example.com/team/app';
    const r = renderAppDefinition(withTrue, opts({ appId: '/app-name', image }));
    expect(at(r.definition, 'container', 'docker', 'forcePullImage')).toBe(true);
    const off = renderAppDefinition(withTrue, opts({ appId: '/x', image, forcePullImage: false }));
    expect(at(off.definition, 'container', 'docker', 'forcePullImage')).toBe(false);
  });

  test('the input is not modified; computed fields from a saved GET are dropped with a warning', () => {
    const loaded = loadAppDefinition(
      '{"id": "/x", "version": "2020-01-01T00:00:00.000Z", "tasks": [], "container": {"docker": {"image": "a/b"}}}',
      'app-definition x.json',
    );
    expect(Object.keys(loaded.definition)).toEqual(['id', 'container']);
    expect(loaded.warnings).toEqual([
      'app-definition x.json: ignoring "version", "tasks" (computed by Marathon, never sent; a "version" would turn the update into a rollback).',
    ]);
    const before = stringifyJson(loaded.definition);
    renderAppDefinition(loaded.definition, opts({ appId: '/y', instances: 4, env: { A: '1' } }));
    expect(stringifyJson(loaded.definition)).toBe(before);
  });
});

describe('what Kiln sets', () => {
  const def = load(fixture('app-deploy.json'));

  test('image input with a digest input: pinned repo@digest, the tag dropped, the spelling kept', () => {
    const r = renderAppDefinition(
      def,
      opts({ image: 'harbor.example.com/team/app:1.4.2', vars: { ENV: 'qa' } }),
    );
    expect(r.image).toBe(`harbor.example.com/team/app@${DIGEST}`);
    expect(r.pinned).toBe(true);
    expect(r.notes).toContain(`image pinned by digest: harbor.example.com/team/app@${DIGEST}`);
  });

  test("a digest in the image reference is enough; the file's image is pinned by the digest input", () => {
    const r1 = renderAppDefinition(
      def,
      opts({ digest: undefined, image: `reg.example.com/a@${DIGEST}`, vars: { ENV: 'qa' } }),
    );
    expect(r1.image).toBe(`reg.example.com/a@${DIGEST}`);
    const r2 = renderAppDefinition(def, opts({ vars: { ENV: 'qa' } }));
    expect(r2.image).toBe(`harbor.example.com/team/app@${DIGEST}`);
  });

  test('a tag-only image is refused unless allow-mutable-tag, which forces a pull', () => {
    const noDigest = opts({ digest: undefined, vars: { ENV: 'qa' } });
    expect(message(() => renderAppDefinition(def, noDigest))).toBe(
      "app-definition qa.json: /container/docker/image 'harbor.example.com/team/app:test' is not pinned by a digest; Kiln deploys images by digest so what runs is never ambiguous. Give the digest input (e.g. the push step's digest output) or an image ending in @sha256:<hex>, or set allow-mutable-tag: true to deploy a moving tag (this forces a pull).",
    );
    expect(() => renderAppDefinition(def, { ...noDigest, image: 'reg.example.com/a:latest' })).toThrow(
      InputError,
    );
    const r = renderAppDefinition(def, { ...noDigest, allowMutableTag: true });
    expect(r.image).toBe('harbor.example.com/team/app:test');
    expect(r.pinned).toBe(false);
    expect(at(r.definition, 'container', 'docker', 'forcePullImage')).toBe(true);
    expect(r.warnings[0]).toContain('forcePullImage is set to true');
    expect(
      message(() => renderAppDefinition(def, { ...noDigest, allowMutableTag: true, forcePullImage: false })),
    ).toMatch(/^Input 'force-pull-image': false cannot be combined with the mutable tag/);
  });

  test('digest and image errors name the input', () => {
    expect(message(() => renderAppDefinition(def, opts({ digest: 'sha256:abc', vars: { ENV: 'qa' } })))).toBe(
      `Input 'digest': "sha256:abc" is not a digest; expected sha256: followed by 64 lowercase hex characters.`,
    );
    expect(message(() => renderAppDefinition(def, opts({ image: 'Reg/App', vars: { ENV: 'qa' } })))).toMatch(
      /^Input 'image': invalid image reference 'Reg\/App'/,
    );
    expect(
      message(() =>
        renderAppDefinition(def, opts({ image: `a/b@sha256:${'cd'.repeat(32)}`, vars: { ENV: 'qa' } })),
      ),
    ).toMatch(/^Input 'digest': ".*" differs from the digest in the image reference/);
  });

  test('id and instances overrides; env and labels merges (given keys win), Kiln labels added', () => {
    const r = renderAppDefinition(def, {
      ...opts({ vars: { ENV: 'qa' } }),
      appId: 'qa/app-name/',
      instances: 0,
      env: { SPRING_PROFILES: 'qa' },
      labels: { HAPROXY_0_VHOST: 'qa.example.com' },
      kilnLabels: { KILN_RELEASE_ID: '42', KILN_COMMIT: 'abc', KILN_RUN_URL: 'https://ci/run/1' },
    });
    expect(r.id).toBe('/qa/app-name');
    expect(r.definition['id']).toBe('/qa/app-name');
    expect(r.definition['instances']).toBe(0);
    expect(r.definition['env']).toEqual({ SPRING_PROFILES: 'qa' });
    expect(r.definition['labels']).toEqual({
      HAPROXY_GROUP: 'external',
      HAPROXY_0_VHOST: 'qa.example.com',
      KILN_RELEASE_ID: '42',
      KILN_COMMIT: 'abc',
      KILN_RUN_URL: 'https://ci/run/1',
    });
  });

  test('args template variables: replaced, $${ escapes, unknown and malformed ones are errors, unused ones warned', () => {
    const r = renderAppDefinition(def, opts({ vars: { ENV: 'prod', EXTRA: 'x' } }));
    expect(r.definition['args']).toEqual(['--spring.profiles.active=prod', '--server.port=12345']);
    expect(r.warnings).toContain("vars 'EXTRA' is not used by any ${…} in /args.");
    expect(message(() => renderAppDefinition(def, opts()))).toBe(
      'app-definition qa.json: /args/0 uses ${ENV}, but no value is given for it; pass it in the vars input (e.g. ENV=qa).',
    );
    const bad = load('{"id": "/x", "args": ["${not valid}"], "container": {"docker": {"image": "a/b"}}}');
    expect(message(() => renderAppDefinition(bad, opts()))).toBe(
      "app-definition qa.json: /args/0 contains '${not valid}', which is not a template variable; expected ${NAME} with letters, digits and '_' (write $${ for a literal ${).",
    );
  });
});

describe('bad definitions are rejected before any request, in one line', () => {
  const base = '"container": {"type": "DOCKER", "docker": {"image": "reg.example.com/app"}}';
  test.each([
    [
      '{"id": "/x", ' + base + ',}',
      "app-definition qa.json is not valid JSON: trailing comma before '}' at line 1, column 90.",
    ],
    [
      '[1, 2]',
      'app-definition qa.json must contain one JSON object (a Marathon app definition); found an array.',
    ],
    [
      '{"id": "/appName", ' + base + '}',
      `app-definition qa.json: /id "/appName" is not a valid Marathon app id: segment 'appName' is not allowed (Marathon ids are lowercase): each segment uses lowercase letters, digits and '-', starts and ends with a letter or digit, and may contain '.' between such labels. Fix the file or set the app-id input.`,
    ],
    [
      '{' + base + '}',
      'app-definition qa.json: "id" is missing or not a string; give the app id in the file or in the app-id input.',
    ],
    [
      '{"id": "/x/tasks", ' + base + '}',
      `app-definition qa.json: /id "/x/tasks" is not a valid Marathon app id: it must not end with the reserved word 'tasks'. Fix the file or set the app-id input.`,
    ],
    [
      '{"id": "/x", "cmd": "java -jar app.jar", "args": ["--a"], ' + base + '}',
      "app-definition qa.json is not a valid Marathon app definition: has both /cmd and /args; Marathon accepts only one of them (use args with the image's entrypoint, or cmd).",
    ],
    [
      '{"id": "/x", "cmd": "run"}',
      'app-definition qa.json: /container/docker is missing; Kiln deploys container images, so the definition needs "container": {"type": "DOCKER", "docker": {"image": …}}.',
    ],
    [
      '{"id": "/x", "container": {"type": "DOCKER", "docker": {"image": ""}}}',
      'app-definition qa.json: /container/docker/image is missing or empty; set it in the file or give the image input.',
    ],
    [
      '{"id": "/x", "upgradeStrategy": {"minimumHealthCapacity": 1.2, "maximumOverCapacity": -0.1}, ' +
        base +
        '}',
      'app-definition qa.json is not a valid Marathon app definition: /upgradeStrategy/minimumHealthCapacity must be a number from 0 to 1, got 1.2; /upgradeStrategy/maximumOverCapacity must be a number from 0 to 1, got -0.1.',
    ],
    [
      '{"id": "/x", "instances": 1.5, "labels": {"A": 1}, "healthChecks": {}, ' + base + '}',
      'app-definition qa.json is not a valid Marathon app definition: /instances must be a whole number ≥ 0, got 1.5; /labels/A must be a string, got 1; /healthChecks must be an array.',
    ],
  ])('%s', (text, expected) => {
    expect(message(() => renderAppDefinition(load(text), opts()))).toBe(expected);
  });

  test("the users' own qa-deploy.json is refused for its upper-case id, and deploys with app-id", () => {
    const def = load(fixture('scenario-qa-deploy.json'));
    const image = 'harbor.example.com/team/app';
    expect(message(() => renderAppDefinition(def, opts({ image })))).toContain(
      '/id "/appName" is not a valid Marathon app id',
    );
    expect(renderAppDefinition(def, opts({ appId: '/app-name', image })).id).toBe('/app-name');
    expect(message(() => renderAppDefinition(def, opts({ appId: '/App', image })))).toMatch(
      /^Input 'app-id': "\/App" is not a valid Marathon app id/,
    );
    // Its image, "imageName", is a placeholder no registry accepts: without an image input that is the error.
    expect(message(() => renderAppDefinition(def, opts({ appId: '/app-name' })))).toMatch(
      /^app-definition qa.json: \/container\/docker\/image: invalid image reference 'imageName': repository names must be lowercase/,
    );
  });

  test('app id rules', () => {
    for (const ok of ['/a', '/group/app-1', 'a.b/c', '/x1/y.z-2']) expect(appIdProblem(ok)).toBeUndefined();
    for (const bad of ['/', '/A', '/a_b', '/-a', '/a-', '/a/../b', '/a/versions'])
      expect(appIdProblem(bad)).toBeDefined();
  });

  test('reading the file: unreadable paths name the input', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-def-'));
    expect(() => readAppDefinitionFile(dir, dir)).toThrow(
      `Input 'app-definition': "${dir}" cannot be read (it is a directory); expected a JSON file.`,
    );
    writeFileSync(join(dir, 'qa.json'), '{"id": "/x",\n "cpus": 1,,\n}');
    expect(() => readAppDefinitionFile(join(dir, 'qa.json'), dir)).toThrow(
      "app-definition qa.json is not valid JSON: unexpected ','; expected a property name in double quotes at line 2, column 12.",
    );
  });
});

describe('diff against what runs', () => {
  const current = parseJson(
    '{"id": "/x", "cpus": 1, "mem": 128, "version": "2020", "labels": {"A": "1", "KILN_RUN_URL": "https://ci/1"}, "container": {"docker": {"image": "a/b:1", "forcePullImage": true}}, "args": ["--a"]}',
  ) as JsonObject;

  test("the file's top-level fields replace Marathon's (partialUpdate, normalized); nested changes by pointer; Kiln's labels are ignored", () => {
    const rendered = parseJson(
      '{"id": "/x", "cpus": 1.0, "labels": {"A": "1", "B": "2", "KILN_RUN_URL": "https://ci/2"}, "container": {"docker": {"image": "a/b@sha256:00"}}, "args": ["--a", "--b"]}',
    ) as JsonObject;
    expect(formatDiff(diffDefinitions(current, rendered))).toEqual([
      '+ /labels/B: "2"',
      '~ /container/docker/image: "a/b:1" → "a/b@sha256:00"',
      // A container given whole replaces the stored one: forcePullImage absent means Marathon's default, false.
      '~ /container/docker/forcePullImage: true → false',
      '~ /args: ["--a"] → ["--a","--b"]',
    ]);
  });

  test('unchanged when only the run URL differs; a new app lists every field', () => {
    const same = parseJson(
      '{"id": "/x", "cpus": 1, "labels": {"A": "1", "KILN_RUN_URL": "https://ci/3"}, "container": {"docker": {"image": "a/b:1", "forcePullImage": true}}}',
    ) as JsonObject;
    expect(diffDefinitions(current, same)).toEqual([]);
    expect(diffDefinitions(undefined, same).map((c) => `${c.kind} ${c.path}`)).toEqual([
      'added /cpus',
      'added /labels',
      'added /container',
    ]);
  });
});

describe('inputs', () => {
  test('marathon-url: URLs or NAME=URL, unique names, no credentials', () => {
    expect(
      parseMarathonClusters([
        'AA=https://marathon-aa.example.com/',
        'https://bb.example.com:8443/service/marathon',
      ]),
    ).toEqual([
      { name: 'AA', url: 'https://marathon-aa.example.com' },
      { name: 'bb.example.com:8443', url: 'https://bb.example.com:8443/service/marathon' },
    ]);
    expect(() => parseMarathonClusters(['ftp://x'])).toThrow(
      `Input 'marathon-url': "ftp://x" uses ftp:; expected an http:// or https:// URL.`,
    );
    expect(() => parseMarathonClusters(['https://u:secret@x.example.com'])).toThrow(
      "Input 'marathon-url': an item contains credentials in its URL (value hidden); give them as marathon-user and marathon-password, or marathon-token.",
    );
    expect(() => parseMarathonClusters(['AA=https://a', 'AA=https://b'])).toThrow(
      'the cluster name "AA" appears twice',
    );
    expect(() => parseMarathonClusters(['not a url'])).toThrow(
      `Input 'marathon-url': "not a url" is not a valid URL`,
    );
  });

  test('exactly one way to authenticate', () => {
    expect(marathonAuthFromInputs({})).toEqual({ kind: 'none' });
    expect(marathonAuthFromInputs({ user: 'ci', password: 'pw' })).toEqual({
      kind: 'basic',
      user: 'ci',
      password: 'pw',
    });
    expect(marathonAuthFromInputs({ token: 't' })).toEqual({ kind: 'token', token: 't' });
    expect(() => marathonAuthFromInputs({ user: 'ci', password: 'pw', token: 't' })).toThrow(
      "Input 'marathon-token': cannot be combined with marathon-user/marathon-password; expected one way to authenticate (basic, token or service account).",
    );
    expect(() => marathonAuthFromInputs({ user: 'ci' })).toThrow(
      "Input 'marathon-password': is required with marathon-user",
    );
    expect(() =>
      marathonAuthFromInputs({ serviceAccountId: 'kiln', serviceAccountKey: 'not a key' }),
    ).toThrow("Input 'service-account-key': (value hidden: secret input) is not a readable PEM private key");
    expect(() => marathonAuthFromInputs({ loginUrl: 'https://x' })).toThrow(
      "Input 'login-url': is only used with",
    );
  });
});
