/**
 * deploy-marathon as users run it, against the Marathon simulator: the committed bundle under the runner contract
 * (harness) and the `kiln` CLI bundle in GitLab mode, scenario by scenario; the main scenarios also under Node 24.
 * Assertions are what a user checks: exit code, outputs, summary, log lines, and what runs on Marathon afterwards.
 */
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { generateKeyPairSync, verify } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDotenv } from '../../packages/core/src/platform/gitlab.js';
import { jsonEqual, parseJson, type JsonObject } from '../../packages/core/src/util/json.js';
import { listFiles, node24, repoRoot, runBundle, hostNode } from '../harness/runner.js';
import { runNode } from '../harness/tsx.js';
import { startMarathonSim, type MarathonSim, type MarathonSimOptions } from '../sim/marathon/server.js';

const D1 = `sha256:${'11'.repeat(32)}`;
const D2 = `sha256:${'22'.repeat(32)}`;
const IMAGE = 'reg.example.com/team/app';
const FIXTURES = join(repoRoot, 'test', 'fixtures', 'marathon');

const sims: MarathonSim[] = [];
const servers: Server[] = [];
async function sim(o: MarathonSimOptions = {}): Promise<MarathonSim> {
  const s = await startMarathonSim({ timeScale: 1000, ...o });
  sims.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});
afterAll(async () => {
  const { closeHttpPools } = await import('../../packages/core/src/http/http.js');
  await closeHttpPools();
});

/** What every run gives back, whichever way it ran. */
interface Run {
  exitCode: number | null;
  outputs: Map<string, string>;
  summary: string;
  log: string;
  /** Every file the run left behind (temp dir, workspace). */
  files(): Map<string, string>;
}

interface Driver {
  label: string;
  /** Runs deploy-marathon in a fresh workspace containing deploy/<file> for each fixture given. */
  run(
    inputs: Record<string, string>,
    o?: {
      files?: Record<string, string>;
      env?: Record<string, string>;
      signalWhen?: { text: string; signal: NodeJS.Signals };
    },
  ): Promise<Run>;
}

function workspaceWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-marathon-ws-'));
  mkdirSync(join(dir, 'deploy'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'deploy', name), text);
  return dir;
}

const defaultFiles = (): Record<string, string> => ({
  'qa-deploy.json': readFileSync(join(FIXTURES, 'app-deploy.json'), 'utf8'),
});

function github(node: string, label: string): Driver {
  return {
    label,
    async run(inputs, o = {}) {
      const workspace = workspaceWith(o.files ?? defaultFiles());
      const r = await runBundle('deploy-marathon', {
        node,
        workspace,
        with: inputs,
        env: o.env,
        signalWhen: o.signalWhen,
      });
      return {
        exitCode: r.exitCode,
        outputs: r.outputs,
        summary: r.summary,
        log: r.stdout + r.stderr,
        files: () => new Map([...r.files(), ...listFiles(workspace)]),
      };
    },
  };
}

const cliBundle = join(repoRoot, 'dist', 'cli', 'index.js');
const gitlab: Driver = {
  label: 'kiln CLI (GitLab)',
  async run(inputs, o = {}) {
    const dir = workspaceWith(o.files ?? defaultFiles());
    // One-line values as flags; multi-line ones (lists, maps, a PEM key) as KILN_* variables, as a CI job sets them.
    const args = [cliBundle, 'deploy-marathon'];
    const vars: Record<string, string> = {};
    for (const [name, value] of Object.entries(inputs))
      if (value.includes('\n')) vars[`KILN_${name.replace(/-/g, '_').toUpperCase()}`] = value;
      else args.push(`--${name}`, value);
    const r = await runNode(args, {
      cwd: dir,
      node: hostNode(),
      signalWhen: o.signalWhen,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NO_COLOR: '1',
        GITLAB_CI: 'true',
        CI_PROJECT_DIR: dir,
        CI_COMMIT_SHA: 'fedcba9876543210fedcba9876543210fedcba98',
        CI_PIPELINE_URL: 'https://gitlab.example.com/team/app/-/pipelines/77',
        ...vars,
        ...o.env,
      },
    });
    const dotenv = join(dir, 'kiln.env');
    const outputs = new Map<string, string>();
    if (existsSync(dotenv))
      for (const [k, v] of parseDotenv(readFileSync(dotenv, 'utf8')))
        outputs.set(k.toLowerCase().replace(/_/g, '-'), v);
    const summaryFile = join(dir, 'kiln-summary.md');
    return {
      exitCode: r.exitCode,
      outputs,
      summary: existsSync(summaryFile) ? readFileSync(summaryFile, 'utf8') : '',
      log: r.stdout + r.stderr,
      files: () => listFiles(dir),
    };
  },
};

const drivers: Driver[] = [github(hostNode(), 'GitHub runner (host Node)'), gitlab];

/** Deploy digest D1 straight through the API, as "what runs now". */
async function running(s: MarathonSim, extra: JsonObject = {}): Promise<string> {
  const def = parseJson(readFileSync(join(FIXTURES, 'app-deploy.json'), 'utf8')) as JsonObject;
  const body = {
    ...def,
    args: ['--spring.profiles.active=qa'],
    container: {
      ...(def['container'] as JsonObject),
      docker: { ...((def['container'] as JsonObject)['docker'] as JsonObject), image: `${IMAGE}@${D1}` },
    },
    ...extra,
  };
  const res = await fetch(`${s.url}/v2/apps/app-name`, { method: 'PUT', body: JSON.stringify(body) });
  const { deploymentId, version } = (await res.json()) as { deploymentId: string; version: string };
  await s.waitFor(() => !s.deployments().some((d) => d['id'] === deploymentId));
  return version;
}

const imageOn = (s: MarathonSim, id = '/app-name'): unknown =>
  ((s.app(id)?.definition['container'] as JsonObject | undefined)?.['docker'] as JsonObject | undefined)?.[
    'image'
  ];

const base = (s: MarathonSim | string, extra: Record<string, string> = {}): Record<string, string> => ({
  'marathon-url': typeof s === 'string' ? s : s.url,
  'app-definition': 'deploy/qa-deploy.json',
  image: IMAGE,
  digest: D2,
  vars: 'ENV=qa',
  'poll-interval': '200ms',
  timeout: '10s',
  ...extra,
});

/** Everything a run shows or leaves behind, except `::add-mask::` commands (the runner consumes those, it never shows them). */
const everythingOf = (r: Run): string =>
  [r.log, r.summary, ...r.outputs.values(), ...r.files().values()]
    .join('\n')
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');

const clustersOf = (r: Run): Array<Record<string, unknown>> => JSON.parse(r.outputs.get('clusters') ?? '[]');

describe.each(drivers)('deploy-marathon through the $label', (driver) => {
  test('a healthy 3-instance deploy: pinned image, labels, outputs, summary, rendered file', async () => {
    const s = await sim();
    const v1 = await running(s, { instances: 3 });
    const r = await driver.run(base(s, { instances: '3', 'release-id': '2024.06.01-42' }));
    expect(r.exitCode).toBe(0);
    expect(r.outputs.get('result')).toBe('deployed');
    expect(r.outputs.get('image')).toBe(`${IMAGE}@${D2}`);
    expect(r.outputs.get('previous-image')).toBe(`${IMAGE}@${D1}`);
    expect(r.outputs.get('previous-version')).toBe(v1);
    const app = s.app('/app-name');
    expect(r.outputs.get('version')).toBe(app?.definition['version']);
    expect(r.outputs.get('deployment-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(app?.tasks.filter((t) => t.alive && t.image === `${IMAGE}@${D2}`)).toHaveLength(3);
    const labels = app?.definition['labels'] as JsonObject;
    expect(labels).toMatchObject({ HAPROXY_GROUP: 'external', KILN_RELEASE_ID: '2024.06.01-42' });
    expect(labels['KILN_COMMIT']).toMatch(/^[0-9a-f]{40}$/);
    expect(labels['KILN_RUN_URL']).toMatch(/^https:\/\//);
    // forcePullImage is the file's (false); args got the profile.
    expect(((app?.definition['container'] as JsonObject)['docker'] as JsonObject)['forcePullImage']).toBe(
      false,
    );
    expect(app?.definition['args']).toEqual(['--spring.profiles.active=qa', '--server.port=12345']);
    // The rendered file is exactly what was sent.
    const rendered = readFileSync(r.outputs.get('rendered-file') as string, 'utf8');
    const put = s.requests.filter((q) => q.method === 'PUT').at(-1);
    expect(jsonEqual(parseJson(rendered), parseJson(put?.body ?? ''))).toBe(true);
    expect(clustersOf(r)).toEqual([
      expect.objectContaining({
        result: 'deployed',
        previousVersion: v1,
        image: `${IMAGE}@${D2}`,
        rollback: null,
      }),
    ]);
    // First what happened: the release and version deployed, where, how long; then at most five columns.
    expect(r.summary).toMatch(/^## ✅ deployed release 2024\.06\.01-42 \(version \S+\) to \S+ in \S+$/m);
    expect(r.summary).toContain('| Cluster | Result | Release | Before | Duration |');
    expect(r.summary).toMatch(/\| ✅ deployed \| 2024\.06\.01-42 · \S+ \| \S+ \| /);
    expect(r.summary).toMatch(/\| \+\d+(ms|\.\d+s) \| healthy: 3\/3 task\(s\) of version /);
    expect(r.log).toMatch(/new version: \d\/3 healthy, \d running, \d staged/);
    expect(r.log).toContain('~ /container/docker/image:');
  });

  test('a crash loop fails fast with Marathon’s message and the previous version and image come back', async () => {
    const s = await sim({
      scenarios: {
        [`${IMAGE}@${D2}`]: { kind: 'crash-loop', message: 'java.lang.IllegalStateException: no profile qa' },
      },
    });
    const v1 = await running(s);
    const r = await driver.run(base(s));
    expect(r.exitCode).toBe(1);
    expect(r.outputs.get('result')).toBe('rolled-back');
    expect(r.outputs.get('previous-version')).toBe(v1);
    expect(imageOn(s)).toBe(`${IMAGE}@${D1}`);
    expect(s.app('/app-name')?.tasks.every((t) => t.alive && t.image === `${IMAGE}@${D1}`)).toBe(true);
    const [c] = clustersOf(r);
    expect(c).toMatchObject({
      result: 'rolled-back',
      rollback: expect.objectContaining({ result: 'rolled-back', method: 'revert', image: `${IMAGE}@${D1}` }),
    });
    expect(String(c?.['reason'])).toContain('TASK_FAILED: java.lang.IllegalStateException: no profile qa');
    expect(r.log).toContain('Rolled back: version ');
    // One failure, one error line (on GitHub one ::error:: annotation): the domain's own lines are plain.
    const errors = r.log.split('\n').filter((l) => /^(::error::|error: )/.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('deploy-marathon failed and was rolled back');
    expect(errors[0]).toContain('TASK_FAILED: java.lang.IllegalStateException: no profile qa');
    expect(r.summary).toMatch(
      /^## ❌ rolled back: crash loop — TASK\\_FAILED: java\.lang\.IllegalStateException: no profile qa/m,
    );
    expect(r.summary).toContain('↩️ rolled back');
    expect(r.summary).toMatch(/\| failed: crash loop: the new version keeps failing/);
    // Digests are shortened in tables; the full image is in the details block below.
    expect(r.summary).toMatch(
      /\| rolled back: version \S+ restored as \S+ \(image reg\.example\.com\/team\/app@sha256:1{12}\); 2\/2 task\(s\) healthy \|/,
    );
    expect(r.summary).toContain(`image before: ${IMAGE}@${D1}`);
  });

  test('409: waits for the other deployment, then deploys; with force after lock-timeout it overrides', async () => {
    const s = await sim();
    await running(s);
    const lock = s.lockApp('/app-name', 2000); // 2 s real at 1000×: outlives a slow process start, ends within lock-timeout
    const waited = await driver.run(base(s, { 'lock-timeout': '10s' }));
    expect(waited.exitCode).toBe(0);
    expect(waited.log).toContain(
      `/app-name is locked by deployment ${lock}; waiting up to 10.0s (lock-timeout) for it to end.`,
    );
    expect(waited.log).toContain(`Deployment ${lock} ended; submitting again.`);

    const lock2 = s.lockApp('/app-name', 3600);
    const refused = await driver.run(base(s, { digest: D1, 'lock-timeout': '100ms' }));
    expect(refused.exitCode).toBe(1);
    expect(refused.outputs.get('result')).toBe('failed');
    expect(refused.log).toContain(
      `/app-name is locked by deployment ${lock2}, still running after lock-timeout 100ms; nothing was changed.`,
    );

    const forced = await driver.run(base(s, { digest: D1, 'lock-timeout': '100ms', force: 'true' }));
    expect(forced.exitCode).toBe(0);
    expect(forced.outputs.get('result')).toBe('deployed');
    expect(forced.log).toContain(
      `Deployment ${lock2} still holds /app-name after 100ms; overriding it (force: true).`,
    );
    expect(imageOn(s)).toBe(`${IMAGE}@${D1}`);
  });

  test('no-op: the same definition again is reported unchanged and submits nothing', async () => {
    const s = await sim();
    await running(s);
    const first = await driver.run(base(s));
    expect(first.outputs.get('result')).toBe('deployed');
    const puts = s.requests.filter((q) => q.method === 'PUT').length;
    const again = await driver.run(base(s));
    expect(again.exitCode).toBe(0);
    expect(again.outputs.get('result')).toBe('unchanged');
    expect(again.outputs.get('version')).toBe(first.outputs.get('version'));
    expect(s.requests.filter((q) => q.method === 'PUT')).toHaveLength(puts);
    expect(again.log).toContain('No changes to the app definition');
    expect(again.summary).toContain('✅ unchanged');
  });

  test('two clusters, BB failing: sequential rolls AA back too; per-cluster outputs and summary', async () => {
    const aa = await sim();
    const bb = await sim({ scenarios: { [`${IMAGE}@${D2}`]: { kind: 'crash-loop' } } });
    await running(aa);
    const bbV1 = await running(bb);
    const r = await driver.run(base(`AA=${aa.url}\nBB=${bb.url}`));
    expect(r.exitCode).toBe(1);
    expect(r.outputs.get('result')).toBe('rolled-back');
    expect(
      clustersOf(r).map((c) => [
        c['name'],
        c['result'],
        (c['rollback'] as Record<string, unknown>)['method'],
      ]),
    ).toEqual([
      ['AA', 'rolled-back', 'previous-version'],
      ['BB', 'rolled-back', 'revert'],
    ]);
    expect(clustersOf(r)[0]?.['reason']).toBe('rolled back because BB failed');
    expect(r.outputs.get('deployment-id')?.split(' ')).toHaveLength(2);
    expect(r.outputs.get('previous-version')?.split(' ')[1]).toBe(bbV1);
    for (const s of [aa, bb]) expect(imageOn(s)).toBe(`${IMAGE}@${D1}`);
    expect(r.summary).toContain('### Timeline: AA');
    expect(r.summary).toContain('### Timeline: BB');
    expect(r.log).toContain('[BB] Deployment of /app-name to BB failed: crash loop');
    expect(r.log.split('\n').filter((l) => /^(::error::|error: )/.test(l))).toHaveLength(1);
    expect(r.summary).toMatch(/^## ❌ rolled back: crash loop.* on BB$/m);
    expect(r.log).toContain('[AA] Rolling back (BB failed)');
  });

  test('SIGTERM while waiting cancels cleanly and says what state each cluster is in', async () => {
    const aa = await sim({ scenarios: { [`${IMAGE}@${D2}`]: { kind: 'never-healthy' } } });
    const bb = await sim({ scenarios: { [`${IMAGE}@${D2}`]: { kind: 'never-healthy' } } });
    await running(aa);
    await running(bb);
    const r = await driver.run(base(`AA=${aa.url}\nBB=${bb.url}`, { strategy: 'parallel', timeout: '30s' }), {
      signalWhen: {
        text: '[BB] step 1/1 RestartApplication · new version: 0/2 healthy, 2 running',
        signal: 'SIGTERM',
      },
    });
    expect(r.exitCode).toBe(143);
    expect(r.outputs.get('result')).toBe('cancelled');
    // `strategy` is the former name of cluster-order: still accepted, with a warning.
    expect(r.log).toContain("Input 'strategy' is deprecated: use 'cluster-order' (same values)");
    for (const [name, s] of [
      ['AA', aa],
      ['BB', bb],
    ] as const) {
      const dep = s.app('/app-name')?.deployments[0];
      expect(dep).toBeDefined();
      expect(r.log).toContain(`${name}: deployment ${dep} (version `);
      expect(r.log).toContain(`is still running on Marathon`);
      expect(r.log).toContain(`To undo it: DELETE /v2/deployments/${dep}`);
      expect(s.requests.filter((q) => q.method === 'DELETE')).toEqual([]);
    }
    expect(r.log).toContain('deploy-marathon was cancelled (SIGTERM)');
    expect(r.summary).toContain('⏹️ cancelled');
  });

  test('bad definitions stop before any request, with one line naming the file and the field', async () => {
    const s = await sim();
    const cases: Array<[string, string, Record<string, string>]> = [
      [
        '{"id": "/app-name",\n  "cpus": 1,\n}',
        "app-definition deploy/qa-deploy.json is not valid JSON: trailing comma before '}' at line 3, column 1.",
        {},
      ],
      [
        readFileSync(join(FIXTURES, 'scenario-qa-deploy.json'), 'utf8'),
        `app-definition deploy/qa-deploy.json: /id "/appName" is not a valid Marathon app id: segment 'appName' is not allowed (Marathon ids are lowercase)`,
        {},
      ],
      [
        '{"id": "/x", "cmd": "java -jar /app.jar", "args": ["--a"], "container": {"docker": {"image": "a/b"}}}',
        'app-definition deploy/qa-deploy.json is not a valid Marathon app definition: has both /cmd and /args',
        {},
      ],
      [
        '{"id": "/x", "upgradeStrategy": {"minimumHealthCapacity": 2}, "container": {"docker": {"image": "a/b"}}}',
        'app-definition deploy/qa-deploy.json is not a valid Marathon app definition: /upgradeStrategy/minimumHealthCapacity must be a number from 0 to 1, got 2.',
        {},
      ],
      [
        '{"id": "/x", "container": {"docker": {}}}',
        `Input 'image': 'reg.example.com/team/app' is not pinned by a digest`,
        { digest: '' },
      ],
      [
        '{"id": "/x", "container": {"docker": {"image": "a/b"}}}',
        `Input 'timeout': "soon" is not a duration`,
        { timeout: 'soon' },
      ],
    ];
    for (const [text, message, extra] of cases) {
      const r = await driver.run(base(s, extra), { files: { 'qa-deploy.json': text } });
      expect(r.exitCode).toBe(2);
      const errors = r.log.split('\n').filter((l) => /error/i.test(l));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(message);
    }
    expect(s.requests).toEqual([]);
  });

  test('credentials are never printed: basic auth password and its base64 form, a DC/OS token', async () => {
    const s = await sim({ auth: { basic: { user: 'ci', password: 'pa55-w0rd-secret' } } });
    const r = await driver.run(base(s, { 'marathon-user': 'ci', 'marathon-password': 'pa55-w0rd-secret' }));
    expect(r.exitCode).toBe(0);
    const b64 = Buffer.from('ci:pa55-w0rd-secret').toString('base64');
    const everything = everythingOf(r);
    expect(everything).not.toContain('pa55-w0rd-secret');
    expect(everything).not.toContain(b64);
    const wrong = await driver.run(
      base(s, { 'marathon-user': 'ci', 'marathon-password': 'wrong-pa55-secret' }),
    );
    expect(wrong.exitCode).toBe(2); // a setting to fix, not a failed release
    expect(wrong.log).toContain('answered HTTP 401: the credentials were rejected; check them.');
    expect(everythingOf(wrong)).not.toContain('wrong-pa55-secret');

    const t = await sim({ auth: { token: 'dcos-token-xyz-789' } });
    const withToken = await driver.run(base(t, { 'marathon-token': 'dcos-token-xyz-789' }));
    expect(withToken.exitCode).toBe(0);
    expect(t.requests.every((q) => q.headers['authorization'] === 'token=dcos-token-xyz-789')).toBe(true);
    expect(everythingOf(withToken)).not.toContain('dcos-token-xyz-789');
  });

  test('dry-run shows the diff and writes the rendered file, submits nothing', async () => {
    const s = await sim();
    await running(s);
    const before = s.requests.length;
    const r = await driver.run(base(s, { 'dry-run': 'true', 'rendered-file': 'out/rendered.json' }));
    expect(r.exitCode).toBe(0);
    expect(r.outputs.get('result')).toBe('dry-run');
    expect(s.requests.slice(before).map((q) => q.method)).toEqual(['GET']);
    // A long image is never cut: before and after on lines of their own.
    expect(r.log).toContain(`~ /container/docker/image:\n-   "${IMAGE}@${D1}"\n+   "${IMAGE}@${D2}"`);
    expect(r.outputs.get('rendered-file')).toMatch(/out\/rendered\.json$/);
    expect(existsSync(r.outputs.get('rendered-file') as string)).toBe(true);
  });
});

describe.each([github(node24, 'GitHub runner (Node 24)')])('deploy-marathon through the $label', (driver) => {
  test('healthy deploy and crash-loop rollback', async () => {
    const s = await sim();
    await running(s);
    const ok = await driver.run(base(s));
    expect(ok.exitCode).toBe(0);
    expect(ok.outputs.get('result')).toBe('deployed');
    expect(imageOn(s)).toBe(`${IMAGE}@${D2}`);
    const s2 = await sim({ scenarios: { [`${IMAGE}@${D2}`]: { kind: 'crash-loop' } } });
    await running(s2);
    const bad = await driver.run(base(s2));
    expect(bad.exitCode).toBe(1);
    expect(bad.outputs.get('result')).toBe('rolled-back');
    expect(imageOn(s2)).toBe(`${IMAGE}@${D1}`);
  });
});

describe('field preservation end to end', () => {
  test('a large definition with fields Kiln does not know reaches Marathon complete and exact', async () => {
    const s = await sim();
    const text = readFileSync(join(FIXTURES, 'large-app.json'), 'utf8');
    const r = await drivers[0]!.run(
      {
        'marathon-url': s.url,
        'app-definition': 'deploy/large.json',
        digest: D2,
        vars: 'ENV=prod\nREGION=aa',
        'poll-interval': '200ms',
      },
      { files: { 'large.json': text } },
    );
    expect(r.exitCode).toBe(0);
    const sent = parseJson(s.requests.find((q) => q.method === 'PUT')?.body ?? '') as JsonObject;
    const original = parseJson(text) as JsonObject;
    // Undo what Kiln was asked to change; what remains must be the file, in meaning and in key order.
    const docker = (sent['container'] as JsonObject)['docker'] as JsonObject;
    expect(docker['image']).toBe(`harbor.example.com/payments/api@${D2}`);
    docker['image'] = 'harbor.example.com/payments/api:test';
    expect(sent['args']).toEqual(['--spring.profiles.active=prod', '--literal=${NOT_A_VAR}', '--region=aa']);
    sent['args'] = original['args'] as JsonObject[keyof JsonObject];
    const labels = sent['labels'] as JsonObject;
    for (const k of ['KILN_COMMIT', 'KILN_RUN_URL']) {
      expect(typeof labels[k]).toBe('string');
      delete labels[k];
    }
    expect(jsonEqual(sent, original)).toBe(true);
    expect(Object.keys(sent)).toEqual(Object.keys(original));
    const body = s.requests.find((q) => q.method === 'PUT')?.body ?? '';
    for (const exact of ['12345678901234567890123', '9007199254740993', '1e400'])
      expect(body).toContain(exact);
    // Marathon stored every field it knows (portDefinitions go with container networking); the others it ignores,
    // and Kiln said so before sending.
    const stored = s.app('/platform/payments/api')?.definition as JsonObject;
    const ignored = ['storeUrls', 'limits', 'bigNumbers', 'x-team'];
    for (const key of Object.keys(original).filter((k) => !ignored.includes(k) && k !== 'portDefinitions'))
      if (original[key] !== null) expect([key, stored[key]]).toEqual([key, expect.anything()]);
    for (const key of ignored) expect(stored[key]).toBeUndefined();
    expect(r.log).toContain(
      '"storeUrls", "limits", "bigNumbers", "x-team" are not fields of a Marathon app; Kiln sends them as written, but Marathon ignores them',
    );
  });

  test('service-account auth: login with a signed JWT; neither key, JWT nor token is printed', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const s = await sim({ auth: { token: 'dcos-service-token-abc123' } });
    const jwts: string[] = [];
    const login = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const { uid, token } = JSON.parse(body) as { uid: string; token: string };
        jwts.push(token);
        const [h, p, sig] = token.split('.') as [string, string, string];
        const ok =
          uid === 'kiln-ci' &&
          verify('sha256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(sig, 'base64url'));
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
        res.end(JSON.stringify(ok ? { token: 'dcos-service-token-abc123' } : { description: 'bad' }));
      });
    });
    servers.push(login);
    await new Promise<void>((r) => login.listen(0, '127.0.0.1', r));
    const loginUrl = `http://127.0.0.1:${(login.address() as AddressInfo).port}/acs/api/v1/auth/login`;
    for (const driver of drivers) {
      const r = await driver.run(
        base(s, {
          'service-account-id': 'kiln-ci',
          'service-account-key': pem,
          'login-url': loginUrl,
          digest: driver === gitlab ? D1 : D2,
        }),
      );
      expect(r.exitCode).toBe(0);
      const everything = everythingOf(r);
      expect(everything).not.toContain('dcos-service-token-abc123');
      for (const line of pem.split('\n').filter((l) => l.length > 20)) expect(everything).not.toContain(line);
      for (const jwt of jwts) expect(everything).not.toContain(jwt);
    }
    expect(jwts).toHaveLength(2);
    expect(s.requests.every((q) => q.headers['authorization'] === 'token=dcos-service-token-abc123')).toBe(
      true,
    );
  });
});

describe('the kiln CLI', () => {
  test('help lists deploy-marathon; terminal --json prints only the outputs', async () => {
    const help = await runNode([cliBundle, 'deploy-marathon', '--help'], { env: { PATH: process.env.PATH } });
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('--marathon-url <URLs>');
    expect(help.stdout).toContain('env: KILN_SERVICE_ACCOUNT_KEY');
    const s = await sim();
    const dir = workspaceWith(defaultFiles());
    const r = await runNode(
      [
        cliBundle,
        'deploy-marathon',
        '--app-definition',
        'deploy/qa-deploy.json',
        '--digest',
        D2,
        '--image',
        IMAGE,
        '--json',
      ],
      {
        cwd: dir,
        env: { PATH: process.env.PATH, KILN_MARATHON_URL: s.url, KILN_DEPLOY_MARATHON_VARS: 'ENV=qa' },
      },
    );
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ result: 'deployed', image: `${IMAGE}@${D2}` });
    expect(r.stderr).toContain('Deployed: 2/2 task(s) of version');
  });
});

/**
 * Marathon as it really behaves (normalized answers, failed tasks without a version, Mesos-side kills, standby
 * redirects, Jetty's 401, the deployment limit, lost answers), each scenario as users run it.
 */
const usersFile = (): Record<string, string> => ({
  'qa-deploy.json': readFileSync(join(FIXTURES, 'contract', 'qa-deploy.put.json'), 'utf8'),
});
const usersInputs = (
  s: MarathonSim | string,
  extra: Record<string, string> = {},
): Record<string, string> => ({
  'marathon-url': typeof s === 'string' ? s : s.url,
  'app-definition': 'deploy/qa-deploy.json',
  image: IMAGE,
  digest: D2,
  'poll-interval': '200ms',
  timeout: '20s',
  ...extra,
});
/** Deployments that changed something (the sim logs every plan; a no-op plan has no steps). */
const deploymentsStarted = (s: MarathonSim): number =>
  new Set(
    s.eventLog
      .filter(
        (e) =>
          e.eventType === 'deployment_info' && ((e['plan'] as JsonObject)['steps'] as unknown[]).length > 0,
      )
      .map((e) => (e['plan'] as JsonObject)['id']),
  ).size;

/** The CLI in a terminal: no CI variables at all (no commit, no run URL). */
const terminal: Driver = {
  label: 'kiln CLI (terminal)',
  async run(inputs, o = {}) {
    const dir = workspaceWith(o.files ?? defaultFiles());
    const args = [cliBundle, 'deploy-marathon'];
    for (const [name, value] of Object.entries(inputs)) args.push(`--${name}`, value);
    const r = await runNode(args, {
      cwd: dir,
      node: hostNode(),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', TMPDIR: dir, ...o.env },
    });
    return {
      exitCode: r.exitCode,
      outputs: new Map(),
      summary: '',
      log: r.stdout + r.stderr,
      files: () => listFiles(dir),
    };
  },
};

describe('Marathon as it really behaves (1.10)', () => {
  test('re-running the users’ release starts exactly one deployment: GitHub (new run), terminal, GitLab without a commit', async () => {
    const s = await sim();
    const first = await drivers[0]!.run(usersInputs(s, { 'release-id': '42' }), { files: usersFile() });
    expect(first.exitCode).toBe(0);
    expect(first.outputs.get('result')).toBe('deployed');
    expect(deploymentsStarted(s)).toBe(1);
    const puts = s.requests.filter((q) => q.method === 'PUT').length;

    const rerunGithub = await drivers[0]!.run(usersInputs(s, { 'release-id': '42' }), {
      files: usersFile(),
      env: { GITHUB_RUN_ID: '4243' }, // another run: another KILN_RUN_URL
    });
    const rerunTerminal = await terminal.run(usersInputs(s), { files: usersFile() });
    const rerunGitlab = await gitlab.run(usersInputs(s, { 'release-id': '43' }), {
      files: usersFile(),
      env: { CI_COMMIT_SHA: '' },
    });
    for (const r of [rerunGithub, rerunTerminal, rerunGitlab]) {
      expect([r.exitCode, r.log]).toEqual([0, expect.stringContaining('No changes to the app definition')]);
      expect(r.log).toMatch(/Unchanged: version \S+ \(release 42\) already runs this definition/);
    }
    expect(rerunGithub.outputs.get('result')).toBe('unchanged');
    expect(rerunGitlab.outputs.get('result')).toBe('unchanged');
    expect(deploymentsStarted(s)).toBe(1);
    expect(s.requests.filter((q) => q.method === 'PUT')).toHaveLength(puts);
    // The labels are the deploying run's.
    expect((s.app('/appname')?.definition['labels'] as JsonObject)['KILN_RELEASE_ID']).toBe('42');

    // The dry-run diff an approver reads after the deploy: nothing.
    const dry = await drivers[0]!.run(usersInputs(s, { 'dry-run': 'true' }), { files: usersFile() });
    expect(dry.exitCode).toBe(0);
    expect(dry.log).toContain('No changes to the app definition');
    expect(dry.log).not.toMatch(/^[~+-] \//m);
    expect(clustersOf(dry)[0]?.['changes']).toBe(0);
    // A real change is still one.
    const next = await drivers[0]!.run(usersInputs(s, { digest: D1 }), { files: usersFile() });
    expect(next.outputs.get('result')).toBe('deployed');
    expect(next.log).toMatch(
      /^~ \/container\/docker\/image:\n- {3}".*@sha256:2{64}"\n\+ {3}".*@sha256:1{64}"$/m,
    );
    expect(deploymentsStarted(s)).toBe(2);
  });

  test('a second run of the same release while it deploys waits for that deployment and reports its outcome', async () => {
    const s = await sim({ timeScale: 0 }); // the clock moves only when the test says
    const a = drivers[0]!.run(usersInputs(s, { timeout: '60s' }), { files: usersFile() });
    await s.waitFor(() => s.deployments().length === 1, { timeoutMs: 30_000 });
    const b = gitlab.run(usersInputs(s, { timeout: '60s' }), { files: usersFile() });
    // b has joined once it reads the app's versions (the version before the running one is its rollback target).
    await s.waitFor(() => s.requests.some((q) => q.method === 'GET' && q.path.endsWith('/versions')), {
      timeoutMs: 30_000,
    });
    await s.waitFor(
      () => {
        s.advance(20);
        return s.deployments().length === 0;
      },
      { timeoutMs: 30_000 },
    );
    const [ra, rb] = await Promise.all([a, b]);
    expect([ra.exitCode, rb.exitCode]).toEqual([0, 0]);
    expect(rb.outputs.get('result')).toBe('deployed');
    expect(rb.outputs.get('deployment-id')).toBe(ra.outputs.get('deployment-id'));
    expect(rb.log).toContain('This definition is already being deployed (deployment ');
    expect(rb.log).toMatch(/Deployed: 2\/2 task\(s\) of version \S+ healthy/);
    expect(s.requests.filter((q) => q.method === 'PUT')).toHaveLength(1);
    expect(deploymentsStarted(s)).toBe(1);
  });

  test('a MESOS_HTTP health check that kills every new task is a crash loop, declared at failure-threshold kills and rolled back', async () => {
    const s = await sim({ scenarios: { [`${IMAGE}@${D2}`]: { kind: 'never-healthy' } } });
    const mesosFile = (): Record<string, string> => {
      const def = parseJson(usersFile()['qa-deploy.json'] as string) as JsonObject;
      def['healthChecks'] = [
        {
          protocol: 'MESOS_HTTP',
          path: '/health_check',
          portIndex: 0,
          gracePeriodSeconds: 30,
          intervalSeconds: 10,
          timeoutSeconds: 5,
          maxConsecutiveFailures: 3,
        },
      ];
      return { 'qa-deploy.json': JSON.stringify(def) };
    };
    const ok = await drivers[0]!.run(usersInputs(s, { digest: D1 }), { files: mesosFile() });
    expect(ok.outputs.get('result')).toBe('deployed');
    const r = await drivers[0]!.run(usersInputs(s, { timeout: '60s' }), { files: mesosFile() });
    expect(r.exitCode).toBe(1);
    expect(r.outputs.get('result')).toBe('rolled-back');
    const [c] = clustersOf(r);
    expect(String(c?.['reason'])).toMatch(
      /^unhealthy: the new version keeps failing its health checks: \d+ task\(s\) ended \(failure-threshold 3\); last: TASK_KILLED: killed by a MESOS_HTTP health check \(Command terminated with signal Terminated\)$/,
    );
    // Mesos killed them: Marathon recorded no lastTaskFailure for any of them.
    expect(s.app('/appname')?.lastTaskFailure).toBeNull();
    expect(imageOn(s, '/appname')).toBe(`${IMAGE}@${D1}`);
  });

  test('resourceLimits absent from the file keep their value (Marathon would reset them)', async () => {
    const s = await sim();
    const def = parseJson(usersFile()['qa-deploy.json'] as string) as JsonObject;
    await fetch(`${s.url}/v2/apps/appname`, {
      method: 'PUT',
      body: JSON.stringify({ ...def, resourceLimits: { cpus: 4, mem: 'unlimited' } }),
    });
    await s.waitFor(() => s.deployments().length === 0);
    const r = await drivers[0]!.run(usersInputs(s), { files: usersFile() });
    expect(r.outputs.get('result')).toBe('deployed');
    expect(r.log).toContain(
      'Keeping "resourceLimits" as it runs (absent from the file; Marathon would reset it).',
    );
    expect(s.app('/appname')?.definition['resourceLimits']).toEqual({ cpus: 4, mem: 'unlimited' });
    expect(r.log).not.toContain('/resourceLimits');
  });

  test('a standby Marathon: requests are served, the event stream follows its redirect to the leader', async () => {
    const s = await sim({ standby: true });
    const r = await drivers[0]!.run(usersInputs(s.standbyUrl as string, { timeout: '20s' }), {
      files: usersFile(),
      env: { RUNNER_DEBUG: '1' },
    });
    expect(r.outputs.get('result')).toBe('deployed');
    expect(s.requests.some((q) => q.standby && q.path === '/v2/events')).toBe(true);
    expect(s.requests.some((q) => !q.standby && q.path === '/v2/events')).toBe(true);
    expect(r.log).toContain(`Event stream: redirected to the leader at ${s.url}/v2/events`);
    // Marathon filters event_stream_attached like any type: Kiln asks for it, and the leader sent it.
    expect(s.requests.find((q) => !q.standby && q.path === '/v2/events')?.url).toContain(
      'event_type=event_stream_attached',
    );
    expect(r.log).not.toContain('Event stream unavailable');
  });

  test('Jetty’s 401 (--http_credentials) is one readable line, never its HTML page', async () => {
    const s = await sim({ auth: { basic: { user: 'ci', password: 'right-pw' } } });
    for (const driver of drivers) {
      const r = await driver.run(usersInputs(s, { 'marathon-user': 'ci', 'marathon-password': 'wrong-pw' }), {
        files: usersFile(),
      });
      expect(r.exitCode).toBe(2);
      expect(r.log).toContain('answered HTTP 401: the credentials were rejected; check them.');
      expect(everythingOf(r)).not.toMatch(/<html|<title|HTTP ERROR/i);
    }
  });

  test('403 at --max_running_deployments: Kiln waits within lock-timeout, deploys when there is room, and never blames credentials', async () => {
    const s = await sim({ maxRunningDeployments: 1 });
    await fetch(`${s.url}/v2/apps/other`, {
      method: 'PUT',
      body: JSON.stringify({ id: '/other', cmd: 'sleep 1' }),
    });
    await s.waitFor(() => s.deployments().length === 0);
    s.lockApp('/other', 3600);
    const refused = await drivers[0]!.run(usersInputs(s, { 'lock-timeout': '500ms' }), {
      files: usersFile(),
    });
    expect(refused.exitCode).toBe(1);
    expect(refused.outputs.get('result')).toBe('failed');
    expect(refused.log).toContain(
      'Marathon refuses new deployments for now (Max number (1) of running deployments is achieved.',
    );
    expect(refused.log).toContain('Marathon still refused new deployments after lock-timeout 500ms');
    expect(refused.log).not.toContain('credentials');
    expect(s.app('/appname')).toBeUndefined();

    s.lockApp('/other', 2000); // 2 s at 1000×: ends within the lock-timeout below
    const waited = await drivers[0]!.run(usersInputs(s, { 'lock-timeout': '20s' }), { files: usersFile() });
    expect(waited.outputs.get('result')).toBe('deployed');
  });

  test('a PUT whose answer was lost is retried and Kiln follows the deployment its first attempt started', async () => {
    const s = await sim();
    await drivers[0]!.run(usersInputs(s, { digest: D1 }), { files: usersFile() });
    s.failNext(1, { method: 'PUT', loseAnswer: true });
    const r = await drivers[0]!.run(usersInputs(s), { files: usersFile() });
    expect(r.exitCode).toBe(0);
    expect(r.outputs.get('result')).toBe('deployed');
    expect(r.log).toMatch(
      /Marathon already has this definition as version \S+( \(deployment \S+\))?; following that\./,
    );
    expect(r.outputs.get('version')).toBe(s.app('/appname')?.definition['version']);
    expect(s.requests.filter((q) => q.method === 'PUT')).toHaveLength(3); // 1 before, the lost one, its retry
    expect(deploymentsStarted(s)).toBe(2);
  });
});
