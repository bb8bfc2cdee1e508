/**
 * rollback as users run it (issue #13: the release ledger and rollback), end to end: a real registry (Debian's
 * docker-registry) holds v1…v4 of shop/web and the default registry ledger beside them; the releases are made by the
 * real actions — deploy-k8s / deploy-marathon with `environment`, smoke-test recording its verdict — and rolled back
 * by the committed rollback bundle (GitHub runner contract) and the `kiln` CLI bundle in GitLab mode, against the
 * Kubernetes and Marathon simulators. Assertions are what a user relies on: exit code, outputs, the one error line,
 * the summary, what runs on the platform afterwards, and the ledger read back.
 *
 * Bugs these tests found, fixed: a rollback that found its target already running (a second rollback racing to
 * the same release, or `force` onto what runs) said rolled-back but recorded nothing; `previous` could return to a
 * release prod had been rolled back from through a rollback entry (the entry's `of` named the rollback, not the
 * release); `force` onto what runs was not recorded as forced. An empty `to` is the default, `previous`, as an
 * empty input is on GitHub (a cleared dispatch field).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeHttpPools } from '../../packages/core/src/http/http.js';
import { parseImageReference } from '../../packages/core/src/image/reference.js';
import { openImageSource } from '../../packages/core/src/image/source/index.js';
import type { LedgerEntry } from '../../packages/core/src/ledger/entry.js';
import { FileLedger } from '../../packages/core/src/ledger/file.js';
import { RegistryLedger } from '../../packages/core/src/ledger/registry.js';
import { parseDotenv } from '../../packages/core/src/platform/gitlab.js';
import { MemoryLogger } from '../../packages/core/src/platform/logger.js';
import { localImageSource, pushImage, RegistryClient } from '../../packages/core/src/registry/index.js';
import { oneErrorLine, onlyErrorLine, rawHead } from '../harness/assertions.js';
import { ok, startServer, status, type TestServer } from '../harness/http-fixture.js';
import { hostNode, repoRoot, runBundle, type RunResult } from '../harness/runner.js';
import { runNode, type ChildResult } from '../harness/tsx.js';
import { startKubeSim, type KubeSim } from '../sim/kube/server.js';
import { startMarathonSim, type MarathonSim } from '../sim/marathon/server.js';
import { startFaultProxy, type FaultProxy } from '../sim/registry/fault-proxy.js';
import { writeOciLayout } from '../sim/registry/oci-layout.js';
import { registryAvailable, startRegistry, type RunningRegistry } from '../sim/registry/registry.js';
import { removeDir } from '../sim/registry/util.js';

const SLOW = 180_000;
const REPOSITORY = 'shop/web';
const cli = join(repoRoot, 'dist', 'cli', 'index.js');
const MARATHON_APP = join(repoRoot, 'test', 'fixtures', 'marathon', 'app-deploy.json');

const manifests = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 2
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      containers:
        - name: web
          image: REPO:1.0
          args: ["--profile=\${ENV}"]
`;

let reg: RunningRegistry;
/** In front of `reg`: counts the requests of runs that must make none. */
let proxy: FaultProxy;
let kube: KubeSim;
let marathon: MarathonSim;
/** The service smoke-test checks: /ok answers 200, /broken 500. */
let service: TestServer;
let work: string;
/** The GitHub workspace of the prod runs: app.yaml and the kubeconfig. */
let ws: string;
let kubeconfig: string;
let dockerConfig: string;
let client: RegistryClient;
/** v1…v4 of shop/web (index 1…4), all different. */
const digest: string[] = [];
const cleanups: Array<() => Promise<unknown>> = [];

const repo = () => `${reg.host}/${REPOSITORY}`;
const pinned = (n: number) => `${repo()}@${digest[n]}`;
const isolated = () => ({ DOCKER_CONFIG: dockerConfig });
/** The default ledger (`ledger: registry`): OCI artifacts in shop/web, read back as rollback reads them. */
const ledger = () => new RegistryLedger(client, { registry: reg.host, repository: REPOSITORY });
const entries = (environment = 'prod') => ledger().list(environment);
const ids = async (environment = 'prod') => (await entries(environment)).map((e) => e.id);

beforeAll(async () => {
  if (!registryAvailable())
    throw new Error('rollback tests need docker-registry (apt-get install docker-registry)');
  work = mkdtempSync(join(tmpdir(), 'kiln-rollback-'));
  dockerConfig = join(work, 'docker-config');
  mkdirSync(dockerConfig);
  const started = [
    startRegistry({ logLevel: 'error' }),
    startKubeSim({ timeScale: 20 }),
    startMarathonSim({ timeScale: 1000 }),
    startServer({ '/ok': ok, '/broken': status(500, 'down') }),
  ] as const;
  const settled = await Promise.allSettled(started);
  for (const s of settled)
    if (s.status === 'fulfilled') cleanups.push(() => ('stop' in s.value ? s.value.stop() : s.value.close()));
  [reg, kube, marathon, service] = await Promise.all(started);
  proxy = await startFaultProxy(reg.url);
  cleanups.push(() => proxy.close());

  client = new RegistryClient({
    logger: new MemoryLogger(),
    env: { PATH: process.env.PATH, HOME: work },
    dockerConfigDir: dockerConfig,
  });
  for (let n = 1; n <= 4; n++) {
    const layout = await writeOciLayout(join(work, `v${n}`), { seed: `rollback-v${n}`, randomBytes: 1_000 });
    const source = await openImageSource(layout.dir);
    try {
      await pushImage(localImageSource(source), [parseImageReference(`${repo()}:${n}.0`)], { client });
    } finally {
      await source.close();
    }
    digest[n] = layout.manifest.digest;
  }
  expect(new Set(digest.slice(1)).size).toBe(4);

  ws = join(work, 'prod');
  mkdirSync(ws);
  writeFileSync(join(ws, 'app.yaml'), manifests('web').replace('REPO', repo()));
  kubeconfig = kube.writeKubeconfig({ path: join(ws, 'kubeconfig.yaml') });
}, SLOW);

afterAll(async () => {
  closeHttpPools();
  for (const stop of cleanups.reverse()) await stop().catch(() => undefined);
  if (work) await removeDir(work);
});

// ---------------------------------------------------------------------------------------------------------------
// Helpers: the steps of a pipeline, and what a user looks at afterwards.

/** Everything a failed step printed, for a readable failure message. */
const show = (r: RunResult | ChildResult) => `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`;

function expectExit(r: RunResult | ChildResult, code: number): void {
  if (r.exitCode !== code) throw new Error(`expected exit ${code}, got ${show(r)}`);
}

const errorLines = (r: RunResult | ChildResult) =>
  r.stdout.split('\n').filter((l) => l.startsWith('::error::'));

interface Workload {
  image: string;
  ready: boolean;
}

/** The Deployment's image and whether the rollout is complete (every replica updated, ready and available). */
function workload(name = 'web'): Workload | undefined {
  const d = kube.get('apps/v1', 'Deployment', 'default', name) as
    | {
        metadata: { generation: number };
        spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
        status?: Record<string, number>;
      }
    | undefined;
  if (!d) return undefined;
  const s = d.status ?? {};
  return {
    image: d.spec.template.spec.containers[0]?.image ?? '',
    ready:
      s.observedGeneration === d.metadata.generation &&
      s.updatedReplicas === d.spec.replicas &&
      s.readyReplicas === d.spec.replicas &&
      s.availableReplicas === d.spec.replicas &&
      (s.replicas ?? 0) === d.spec.replicas,
  };
}

/** deploy-k8s to prod as the deploy job does: the image pinned by digest, the release recorded; its release id. */
async function deploy(n: number): Promise<string> {
  const r = await runBundle('deploy-k8s', {
    workspace: ws,
    timeoutMs: SLOW,
    env: isolated(),
    with: {
      kubeconfig,
      manifests: 'app.yaml',
      image: repo(),
      digest: digest[n] as string,
      vars: 'ENV=prod',
      environment: 'prod',
    },
  });
  expectExit(r, 0);
  expect(r.outputs.get('result')).toBe('deployed');
  const id = r.outputs.get('release-id');
  expect(id).toMatch(/^\d{8}\.\d{6}\.[0-9a-f]{4}$/);
  return id as string;
}

/** smoke-test after a deploy, recording its verdict for the digest tested. */
async function verify(
  n: number,
  o: { passes?: boolean; environment?: string; releaseId?: string } = {},
): Promise<RunResult> {
  const passes = o.passes ?? true;
  const r = await runBundle('smoke-test', {
    timeoutMs: SLOW,
    env: isolated(),
    with: {
      url: `${service.url}/${passes ? 'ok' : 'broken'}`,
      deadline: passes ? '1m' : '1s',
      interval: '200ms',
      environment: o.environment ?? 'prod',
      image: pinned(n),
      ...(o.releaseId ? { 'release-id': o.releaseId } : {}),
    },
  });
  expectExit(r, passes ? 0 : 1);
  expect(r.outputs.get('verdict')).toBe(passes ? 'pass' : 'fail');
  return r;
}

/** The rollback action on prod (Kubernetes, the default registry ledger), with these inputs added. */
function rollback(inputs: Record<string, string> = {}): Promise<RunResult> {
  return runBundle('rollback', {
    workspace: ws,
    timeoutMs: SLOW,
    env: isolated(),
    with: {
      environment: 'prod',
      image: repo(),
      kubeconfig,
      manifests: 'app.yaml',
      vars: 'ENV=prod',
      ...inputs,
    },
  });
}

/**
 * A refused rollback: exit 2, result `refused`, exactly one error line (returned), no request to the cluster (the
 * image it runs unchanged), no new ledger entry.
 */
async function expectRefused(inputs: Record<string, string>): Promise<string> {
  const before = await ids();
  const running = workload();
  const kubeRequests = kube.requests.length;
  const r = await rollback(inputs);
  const line = oneErrorLine(r, 2);
  expect(line).toMatch(/^::error::rollback refused: /);
  expect(r.stderr).toBe('');
  expect(r.outputs.get('result')).toBe('refused');
  expect(r.outputs.has('release-id')).toBe(false);
  expect(kube.requests.length).toBe(kubeRequests);
  expect(workload()).toEqual(running);
  expect(await ids()).toEqual(before);
  return line;
}

/** The rollback entry a run recorded (its `release-id` output), read back from the ledger. */
async function recorded(r: RunResult, environment = 'prod'): Promise<LedgerEntry> {
  const id = r.outputs.get('release-id');
  const entry = (await entries(environment)).find((e) => e.id === id);
  if (!id || !entry) throw new Error(`release-id ${id} is not in ${environment}'s ledger\n${show(r)}`);
  return entry;
}

/** The prod releases, as the scenario makes them: R[n] is the deploy of vN. */
const R: string[] = [];

// ---------------------------------------------------------------------------------------------------------------

describe('rollback on Kubernetes, from the registry ledger the deploy and smoke-test steps wrote', () => {
  beforeAll(async () => {
    // v1 and v2 deployed and verified; v3 deployed and never verified.
    R[1] = await deploy(1);
    await verify(1, { releaseId: R[1] });
    R[2] = await deploy(2);
    await verify(2, { releaseId: R[2] });
    R[3] = await deploy(3);
    expect(workload()).toEqual({ image: pinned(3), ready: true });
  }, SLOW);

  test('list: the recent releases newest first, the one running named; nothing changed', async () => {
    const before = await ids();
    const kubeRequests = kube.requests.length;
    const r = await rollback({ list: 'true' });
    expectExit(r, 0);
    expect(r.stderr).toBe('');
    expect(errorLines(r)).toEqual([]);
    expect(r.outputs.get('result')).toBe('listed');
    const releases = JSON.parse(r.outputs.get('releases') ?? '[]') as LedgerEntry[];
    expect(releases.map((e) => [e.id, e.event, e.digest, e.result])).toEqual([
      [R[3], 'deploy', digest[3], 'success'],
      [R[2], 'deploy', digest[2], 'success'],
      [R[1], 'deploy', digest[1], 'success'],
    ]);
    expect(releases[0]).toMatchObject({
      environment: 'prod',
      image: repo(),
      previousDigest: digest[2],
      target: { platform: 'kubernetes', apps: ['Deployment/web'] },
      commit: '0123456789abcdef0123456789abcdef01234567',
    });
    // The summary: a heading naming what runs, a table a person chooses from.
    const lines = r.summary.split('\n');
    expect(lines[0]).toBe(`## 📜 prod: 3 recent release(s); ${R[3]} runs now`);
    const row = (id: string) => lines.find((l) => l.startsWith(`| ${id}`)) ?? '';
    expect(row(R[3] as string)).toContain(`| ${R[3]} (running) |`);
    expect(row(R[3] as string)).toContain('| deploy: success | not verified |');
    expect(row(R[2] as string)).toContain('| deploy: success | passed |');
    expect(row(R[1] as string)).toContain('| deploy: success | passed |');
    expect(lines.filter((l) => l.includes('(running)'))).toHaveLength(1);
    // Listing reads: no request to the cluster, no entry written.
    expect(kube.requests.length).toBe(kubeRequests);
    expect(await ids()).toEqual(before);
  });

  test(
    'to: previous with v3 running (never verified): v2, the newest verified earlier release — deployed by digest, ready, recorded',
    async () => {
      const r = await rollback({ to: 'previous' });
      expectExit(r, 0);
      expect(r.stderr).toBe('');
      expect(errorLines(r)).toEqual([]);
      expect(Object.fromEntries(r.outputs)).toMatchObject({
        result: 'rolled-back',
        'to-release': R[2],
        'to-digest': digest[2],
        'from-release': R[3],
        'from-digest': digest[3],
      });
      expect(workload()).toEqual({ image: pinned(2), ready: true });

      const entry = await recorded(r);
      expect(entry).toMatchObject({
        event: 'rollback',
        environment: 'prod',
        image: repo(),
        digest: digest[2],
        previousDigest: digest[3],
        result: 'success',
        of: R[3],
        to: R[2],
        target: { platform: 'kubernetes', apps: ['Deployment/web'] },
      });
      expect(entry.forced).toBeUndefined();
      expect((await entries())[0]?.id).toBe(entry.id); // the newest entry
      expect(r.summary.split('\n')[0]).toMatch(
        new RegExp(`^## ↩️ prod rolled back from ${R[3]} to ${R[2]} in \\S+$`.replace(/\./g, '\\.')),
      );
      // Where the time went, in the summary and the log.
      expect(r.summary).toMatch(/Time: ledger \S+, registry \S+, deploy and wait \S+\./);
      expect(r.stdout).toMatch(/rollback: done in \S+ \(ledger \S+, registry \S+, deploy and wait \S+\)/);
      expect(r.stdout).toContain(`Rolling prod back from ${R[3]} (${digest[3]}) to ${R[2]}: ${pinned(2)}.`);
    },
    SLOW,
  );

  test('to: previous again: v1 (v3 was rolled back, v2 runs)', async () => {
    const runningEntry = (await entries())[0] as LedgerEntry; // the rollback to v2
    const r = await rollback({ to: 'previous' });
    expectExit(r, 0);
    expect(r.outputs.get('result')).toBe('rolled-back');
    expect(r.outputs.get('to-release')).toBe(R[1]);
    expect(r.outputs.get('to-digest')).toBe(digest[1]);
    // What ran was a rollback to v2: v2's release is what is rolled back from.
    expect(runningEntry).toMatchObject({ event: 'rollback', to: R[2] });
    expect(r.outputs.get('from-release')).toBe(R[2]);
    expect(r.outputs.get('from-digest')).toBe(digest[2]);
    expect(workload()).toEqual({ image: pinned(1), ready: true });
    expect(await recorded(r)).toMatchObject({
      event: 'rollback',
      digest: digest[1],
      result: 'success',
      of: R[2],
      to: R[1],
    });
  });

  test('to: previous a third time does not return to v2, which prod was just rolled back from (dry run)', async () => {
    const before = await ids();
    const r = await rollback({ to: 'previous', 'dry-run': 'true' });
    // v3 and v2 were both rolled back from: nothing verified is left but what runs (v1), so a refusal (exit 2).
    expect(r.stdout).not.toContain(pinned(2));
    expect(r.outputs.get('to-digest')).toBeUndefined();
    expect(oneErrorLine(r, 2)).toMatch(/^::error::rollback refused: /);
    expect(workload()).toEqual({ image: pinned(1), ready: true });
    expect(await ids()).toEqual(before);
  });

  test('to: a release id: back to that release (v2), named', async () => {
    const r = await rollback({ to: R[2] as string });
    expectExit(r, 0);
    expect(r.outputs.get('result')).toBe('rolled-back');
    expect(r.outputs.get('to-release')).toBe(R[2]);
    expect(r.outputs.get('to-digest')).toBe(digest[2]);
    expect(r.outputs.get('from-digest')).toBe(digest[1]);
    expect(workload()).toEqual({ image: pinned(2), ready: true });
    expect(await recorded(r)).toMatchObject({ event: 'rollback', digest: digest[2], to: R[2] });
  });

  test('an unknown release id is refused, naming the recent releases', async () => {
    const recent = (await entries()).filter((e) => e.event !== 'verify').slice(0, 5);
    const line = await expectRefused({ to: 'release-that-never-was' });
    expect(line).toBe(
      `::error::rollback refused: release release-that-never-was is not in prod's history (recent: ${recent.map((e) => e.id).join(', ')}). Nothing was changed.`,
    );
  });

  test('a release never verified is refused without force', async () => {
    const line = await expectRefused({ to: R[3] as string });
    expect(line).toBe(
      `::error::rollback refused: release ${R[3]} (${digest[3]}) was never verified in prod; give force to roll back to it anyway. Nothing was changed.`,
    );
  });

  test('a digest never deployed in prod is refused (v4 is in the registry, but not in prod history)', async () => {
    const line = await expectRefused({ to: digest[4] as string });
    expect(line).toMatch(
      new RegExp(
        `^::error::rollback refused: digest ${digest[4]} is not in prod's history \\(recent: [^)]+\\)\\.`,
      ),
    );
  });

  test('the never-verified release with force: rolled back, warned, and recorded as forced', async () => {
    const r = await rollback({ to: R[3] as string, force: 'true' });
    expectExit(r, 0);
    expect(errorLines(r)).toEqual([]);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('::warning::'))).toEqual([
      `::warning::force: release ${R[3]} was never verified in prod; rolling back to it anyway (recorded as forced).`,
    ]);
    expect(r.outputs.get('result')).toBe('rolled-back');
    expect(r.outputs.get('to-release')).toBe(R[3]);
    expect(workload()).toEqual({ image: pinned(3), ready: true });
    expect(r.summary).toContain(`${pinned(3)} — forced past the verification gate.`);
    expect(await recorded(r)).toMatchObject({
      event: 'rollback',
      digest: digest[3],
      result: 'success',
      to: R[3],
      forced: true,
    });
  });

  test(
    'a release whose image was deleted from the registry is refused: "no longer in the registry"',
    async () => {
      // v4 deployed and verified (a valid target), then rolled back from, then its image deleted.
      R[4] = await deploy(4);
      await verify(4, { releaseId: R[4] });
      const away = await rollback({ to: R[2] as string });
      expectExit(away, 0);
      expect(away.outputs.get('from-release')).toBe(R[4]);
      expect(away.outputs.get('to-digest')).toBe(digest[2]);
      expect(workload()).toEqual({ image: pinned(2), ready: true });

      const del = await fetch(`${reg.url}/v2/${REPOSITORY}/manifests/${digest[4]}`, { method: 'DELETE' });
      expect(del.status).toBe(202);
      expect(await rawHead(reg.url, REPOSITORY, digest[4] as string)).toBeUndefined();

      const line = await expectRefused({ to: R[4] as string });
      expect(line).toBe(
        `::error::rollback refused: ${pinned(4)} (release ${R[4]}) is no longer in the registry; name another release with to. Nothing was changed.`,
      );
    },
    SLOW,
  );

  /** Server-side applies of the prod Deployment the cluster has answered so far. */
  const applies = () =>
    kube.requests.filter(
      (q) =>
        q.method === 'PATCH' &&
        q.path === '/apis/apps/v1/namespaces/default/deployments/web' &&
        q.status !== undefined,
    ).length;

  /**
   * What a user can rely on whatever the interleaving: each run rolled back (exit 0, its entry in the ledger) or
   * says in one line why not; prod ends on the target, ready; every entry added is a rollback to it.
   */
  async function expectConcurrent(runs: RunResult[], to: number, before: Set<string>): Promise<void> {
    const rolledBack = runs.filter((r) => r.outputs.get('result') === 'rolled-back');
    for (const r of runs) {
      expect(r.stderr).toBe('');
      if (r.outputs.get('result') === 'rolled-back') {
        expect(r.exitCode).toBe(0);
        expect(errorLines(r)).toEqual([]);
      } else {
        expect([1, 2]).toContain(r.exitCode);
        expect(errorLines(r)).toHaveLength(1);
      }
    }
    expect(rolledBack.length).toBeGreaterThanOrEqual(1);
    expect(workload()).toEqual({ image: pinned(to), ready: true });
    const added = (await entries()).filter((e) => !before.has(e.id));
    expect(added.length).toBeGreaterThanOrEqual(1);
    for (const e of added)
      expect(e).toMatchObject({ event: 'rollback', digest: digest[to], result: 'success', to: R[to] });
    for (const r of rolledBack) expect(r.outputs.get('to-digest')).toBe(digest[to]);
  }

  test(
    'two rollbacks to v1 started at once: both end, prod runs v1, and each rollback entry names v1',
    async () => {
      const before = new Set(await ids());
      const runs = await Promise.all([rollback({ to: R[1] as string }), rollback({ to: R[1] as string })]);
      await expectConcurrent(runs, 1, before);
    },
    SLOW,
  );

  test(
    'a second rollback to v2 started while the first still rolls out: every rollback that reported success is in the ledger',
    async () => {
      const before = new Set(await ids());
      // A real rollout takes minutes: the cluster's clock is held so the first is still rolling out (its entry not
      // yet recorded) when the second reads the ledger and applies.
      const applied = applies();
      let ended = 0;
      const track = (p: Promise<RunResult>) => p.finally(() => ended++);
      kube.setTimeScale(0);
      const pending: Array<Promise<RunResult>> = [];
      try {
        pending.push(track(rollback({ to: R[2] as string })));
        await kube.waitFor(() => applies() > applied || ended > 0, { timeoutMs: SLOW });
        pending.push(track(rollback({ to: R[2] as string })));
        await kube.waitFor(() => applies() > applied + 1 || ended > 0, { timeoutMs: SLOW });
      } finally {
        kube.setTimeScale(20);
      }
      const runs = await Promise.all(pending);
      await expectConcurrent(runs, 2, before);
      for (const r of runs.filter((x) => x.outputs.get('result') === 'rolled-back'))
        expect(await recorded(r)).toMatchObject({ event: 'rollback', digest: digest[2], to: R[2] });
    },
    SLOW,
  );

  test('force onto the release that runs now ("to redeploy it"): done, and recorded as forced', async () => {
    const runningEntry = (await entries()).find((e) => e.event !== 'verify') as LedgerEntry;
    expect(runningEntry.digest).toBe(digest[2]);
    const r = await rollback({ to: R[2] as string, force: 'true' });
    expectExit(r, 0);
    expect(r.outputs.get('result')).toBe('rolled-back');
    expect(workload()).toEqual({ image: pinned(2), ready: true });
    expect(await recorded(r)).toMatchObject({
      event: 'rollback',
      digest: digest[2],
      of: runningEntry.to ?? runningEntry.id, // the release that runs (through a rollback entry, its target)
      to: R[2],
      forced: true,
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('rollback on Marathon', () => {
  let mws: string;
  const marathonInputs = () => ({
    'marathon-url': marathon.url,
    'app-definition': 'deploy/staging-deploy.json',
    vars: 'ENV=staging',
    'poll-interval': '200ms',
    timeout: '2m',
  });
  const imageOn = () =>
    (marathon.app('/app-name')?.definition['container'] as { docker?: { image?: string } } | undefined)
      ?.docker?.image;

  beforeAll(() => {
    mws = join(work, 'staging');
    mkdirSync(join(mws, 'deploy'), { recursive: true });
    writeFileSync(join(mws, 'deploy', 'staging-deploy.json'), readFileSync(MARATHON_APP, 'utf8'));
  });

  test(
    'deploy-marathon v1 then v2 to staging (both verified), then rollback: the app runs v1 again, recorded',
    async () => {
      const releases: string[] = [];
      for (const n of [1, 2]) {
        const r = await runBundle('deploy-marathon', {
          workspace: mws,
          timeoutMs: SLOW,
          env: isolated(),
          with: { ...marathonInputs(), image: repo(), digest: digest[n] as string, environment: 'staging' },
        });
        expectExit(r, 0);
        expect(r.outputs.get('result')).toBe('deployed');
        releases[n] = r.outputs.get('release-id') as string;
        await verify(n, { environment: 'staging', releaseId: releases[n] });
      }
      expect(imageOn()).toBe(pinned(2));

      const r = await runBundle('rollback', {
        workspace: mws,
        timeoutMs: SLOW,
        env: isolated(),
        with: { ...marathonInputs(), environment: 'staging', image: repo() },
      });
      expectExit(r, 0);
      expect(r.stderr).toBe('');
      expect(errorLines(r)).toEqual([]);
      expect(Object.fromEntries(r.outputs)).toMatchObject({
        result: 'rolled-back',
        'to-release': releases[1],
        'to-digest': digest[1],
        'from-release': releases[2],
        'from-digest': digest[2],
      });
      expect(imageOn()).toBe(pinned(1));
      const app = marathon.app('/app-name');
      expect(app?.tasks.filter((t) => t.alive && t.image === pinned(1))).toHaveLength(2);
      expect(marathon.deployments()).toEqual([]);
      expect(await recorded(r, 'staging')).toMatchObject({
        event: 'rollback',
        environment: 'staging',
        digest: digest[1],
        result: 'success',
        of: releases[2],
        to: releases[1],
        target: { platform: 'marathon', clusters: [marathon.url], apps: ['/app-name'] },
      });
      expect(r.summary.split('\n')[0]).toMatch(/^## ↩️ staging rolled back from \S+ to \S+ in \S+$/);
      // prod's history is another environment's: untouched by staging's releases.
      expect((await entries('prod')).some((e) => e.environment !== 'prod')).toBe(false);
    },
    SLOW,
  );
});

// ---------------------------------------------------------------------------------------------------------------

describe('rollback through the kiln CLI on GitLab, with a file: ledger', () => {
  let dir: string;
  const gitlabEnv = () => ({
    PATH: process.env.PATH,
    HOME: work,
    NO_COLOR: '1',
    DOCKER_CONFIG: dockerConfig,
    GITLAB_CI: 'true',
    CI_PROJECT_DIR: dir,
    CI_COMMIT_SHA: 'fedcba9876543210fedcba9876543210fedcba98',
    CI_PIPELINE_URL: 'https://gitlab.example.com/shop/web/-/pipelines/77',
    KUBECONFIG: kubeconfig,
  });
  /** One job of the pipeline: a fresh kiln.env and summary (each GitLab job starts from its own checkout). */
  const kiln = (args: string[]) => {
    for (const f of ['kiln.env', 'kiln-summary.md']) rmSync(join(dir, f), { force: true });
    return runNode([cli, ...args], { cwd: dir, node: hostNode(), env: gitlabEnv() });
  };
  const dotenv = () => new Map(parseDotenv(readFileSync(join(dir, 'kiln.env'), 'utf8')));
  const common = ['--environment', 'qa', '--ledger', 'file:releases.jsonl'];

  beforeAll(() => {
    dir = join(work, 'gitlab');
    mkdirSync(dir);
    writeFileSync(join(dir, 'app.yaml'), manifests('web-qa').replace('REPO', repo()));
  });

  test(
    'deploys and verdicts in qa, --list, then a rollback past the release that failed verification; kiln.env says where it went',
    async () => {
      const qa: string[] = [];
      for (const [n, passes] of [
        [1, true],
        [2, false],
      ] as const) {
        const d = await kiln([
          'deploy-k8s',
          ...common,
          '--manifests',
          'app.yaml',
          '--image',
          repo(),
          '--digest',
          digest[n] as string,
          '--vars',
          'ENV=qa',
        ]);
        expectExit(d, 0);
        qa[n] = dotenv().get('RELEASE_ID') as string;
        const s = await kiln([
          'smoke-test',
          ...common,
          '--url',
          `${service.url}/${passes ? 'ok' : 'broken'}`,
          '--deadline',
          passes ? '1m' : '1s',
          '--interval',
          '200ms',
          '--image',
          pinned(n),
          '--release-id',
          qa[n] as string,
        ]);
        expectExit(s, passes ? 0 : 1);
      }
      expect(workload('web-qa')).toEqual({ image: pinned(2), ready: true });

      const list = await kiln(['rollback', ...common, '--list']);
      expectExit(list, 0);
      expect(list.stderr).toBe('');
      const listed = dotenv();
      expect(listed.get('RESULT')).toBe('listed');
      expect((JSON.parse(listed.get('RELEASES') ?? '[]') as LedgerEntry[]).map((e) => e.id)).toEqual([
        qa[2],
        qa[1],
      ]);
      const summary = readFileSync(join(dir, 'kiln-summary.md'), 'utf8');
      expect(summary.split('\n')[0]).toBe(`## 📜 qa: 2 recent release(s); ${qa[2]} runs now`);
      expect(summary).toContain(`| ${qa[2]} (running) |`);
      expect(summary).toMatch(
        new RegExp(`\\| ${qa[2]} \\(running\\) \\|.*\\| deploy: success \\| failed \\|`),
      );
      expect(summary).toMatch(new RegExp(`\\| ${qa[1]} \\|.*\\| deploy: success \\| passed \\|`));

      const r = await kiln(['rollback', ...common, '--manifests', 'app.yaml', '--vars', 'ENV=qa']);
      expectExit(r, 0);
      expect(r.stderr).toBe('');
      const env = dotenv();
      expect(env.get('RESULT')).toBe('rolled-back');
      expect(env.get('TO_RELEASE')).toBe(qa[1]);
      expect(env.get('TO_DIGEST')).toBe(digest[1]);
      expect(env.get('FROM_RELEASE')).toBe(qa[2]);
      expect(env.get('FROM_DIGEST')).toBe(digest[2]);
      expect(workload('web-qa')).toEqual({ image: pinned(1), ready: true });

      const file = new FileLedger(join(dir, 'releases.jsonl'));
      const [newest] = await file.list('qa');
      expect(newest).toMatchObject({
        id: env.get('RELEASE_ID'),
        event: 'rollback',
        digest: digest[1],
        result: 'success',
        of: qa[2],
        to: qa[1],
        commit: 'fedcba9876543210fedcba9876543210fedcba98',
      });
      // Nothing of qa went to the registry ledger: file: was named.
      expect(await entries('qa')).toEqual([]);
    },
    SLOW,
  );
});

// ---------------------------------------------------------------------------------------------------------------

describe('bad inputs: one line, exit 2, before any request', () => {
  const bad = (inputs: Record<string, string>) => {
    const dir = mkdtempSync(join(work, 'bad-'));
    writeFileSync(join(dir, 'app.yaml'), manifests('bad').replace('REPO', `${proxy.host}/shop/bad`));
    writeFileSync(join(dir, 'app.json'), readFileSync(MARATHON_APP, 'utf8'));
    return runBundle('rollback', {
      workspace: dir,
      env: isolated(),
      with: { image: `${proxy.host}/shop/bad`, kubeconfig, ...inputs },
    });
  };

  const cases: Array<[string, Record<string, string>, string]> = [
    [
      'no environment',
      { manifests: 'app.yaml' },
      "::error::Input 'environment': is required; expected a name of 1 to 100 characters without spaces.",
    ],
    [
      'both manifests and marathon-url, no orchestrator named',
      {
        environment: 'prod',
        manifests: 'app.yaml',
        'marathon-url': 'http://127.0.0.1:9',
        'app-definition': 'app.json',
      },
      "::error::Input 'orchestrator': is needed: both manifests and marathon-url are given; expected kubernetes or marathon.",
    ],
    [
      'ledger: none',
      { environment: 'prod', manifests: 'app.yaml', ledger: 'none' },
      "::error::Input 'ledger': none: rollback reads the ledger; expected where releases are recorded.",
    ],
  ];

  test.each(cases)('%s', async (_name, inputs, expected) => {
    proxy.resetStats();
    const kubeRequests = kube.requests.length;
    const r = await bad(inputs);
    expect(onlyErrorLine(r)).toBe(expected);
    expect(proxy.stats().requests).toBe(0);
    expect(kube.requests.length).toBe(kubeRequests);
  });
});
