/**
 * `npm run bench:rollback` (issue #13): how long `kiln rollback` takes beyond the platform's own rollout, on the
 * simulators at a fixed time scale, with the release ledger in a real registry (Debian's docker-registry).
 *
 * Per run, a fresh simulator and environment: the app runs release 2 of `<registry>/bench/web` (deployed by
 * `kiln deploy-k8s` / `kiln deploy-marathon` with `--environment`, so both releases are in the ledger, release 1
 * verified by a verify entry). Then, timed, interleaved:
 *   (a) Kiln: `kiln rollback --environment … --image <repo> …` (to: previous) — from spawn to exit: reading the
 *       ledger, resolving the target, a HEAD of the image in the registry, deploying the digest, waiting until
 *       healthy, recording the rollback entry;
 *   (b) the platform alone, the same change without Kiln: Kubernetes — `kubectl apply -f` the Deployment pinned to
 *       release 1, then `kubectl rollout status`; Marathon — `PUT /v2/apps/<id>` with release 1's image, then
 *       `GET /v2/deployments` every 50 ms until the deployment is gone (what a script would do).
 * Overhead = (a) − (b), medians. Kiln's own account of where its time went (its log line "rollback: done in …
 * (ledger …, registry …, deploy and wait …)") is shown too; "start and record" is the rest: Node's start, loading
 * the bundle, and writing the ledger entry.
 *
 * BENCH_RUNS (5) per row; BENCH_TIME_SCALE (10) simulated seconds per real second for Kubernetes; Marathon's
 * simulator runs at BENCH_MARATHON_TIME_SCALE (100). BENCH_NODE runs the CLI (default Node 24). Aim: < 10 s overhead.
 *
 * Measured here (2 shared CPUs, nearly idle: `/proc/loadavg` 0.86 at the start with the CPUs 2 % busy, 0.53 at the
 * end; Node 24.21 for the CLI; defaults), medians (range) of 5 interleaved runs:
 *
 *                      (a) kiln rollback       (b) the platform alone   overhead   where Kiln's time went
 *   Kubernetes (10×)   1.33 s (1.32–1.34 s)    1.27 s (1.26–1.27 s)     61 ms      ledger 15 ms, registry 2 ms,
 *                                                                                   deploy and wait 1.26 s,
 *                                                                                   start and record 55 ms
 *   Marathon (100×)    173 ms (166–209 ms)     55 ms (54–72 ms)         118 ms     ledger 15 ms, registry 2 ms,
 *                                                                                   deploy and wait 97 ms,
 *                                                                                   start and record 57 ms
 *
 * So the overhead is tens of milliseconds, far inside the 10 s aim: one ledger read (the index and the tag list),
 * one HEAD, Node's start with the bundle, and the entry written at the end. On Marathon Kiln's deploy and wait
 * (97 ms against the bare PUT-and-poll's 55 ms) also reads the app before, follows the event stream and checks the
 * tasks' health, which the bare script does not.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RegistryLedger } from '../packages/core/src/ledger/registry.js';
import { MemoryLogger } from '../packages/core/src/platform/logger.js';
import { RegistryClient } from '../packages/core/src/registry/index.js';
import { startKubeSim, type KubeSim } from '../test/sim/kube/server.js';
import { startMarathonSim, type MarathonSim } from '../test/sim/marathon/server.js';
import { registryAvailable, startRegistry } from '../test/sim/registry/registry.js';
import { pushTestImages } from '../test/sim/registry/seed.js';
import { which } from '../test/sim/registry/util.js';
import { cpuBusy, procLoadavg } from './lib/bake.js';
import {
  benchMain,
  cli,
  cliNodeVersion,
  defer,
  fmtMs,
  fmtRange,
  median,
  node,
  table,
  tempDir,
} from './lib/harness.js';
import { deploymentYaml, ok, timed, type Exit } from './lib/k8s.js';

const runs = Number(process.env.BENCH_RUNS ?? 5);
const busy = (b: number | undefined) => (b === undefined ? 'n/a' : `${Math.round(b * 100)} %`);
const timeScale = Number(process.env.BENCH_TIME_SCALE ?? 10);
const marathonTimeScale = Number(process.env.BENCH_MARATHON_TIME_SCALE ?? 100);
const kubectl = which('kubectl');
/** Simulated seconds from a pod running to Ready (after 1 s pulling and 1 s starting). */
const READY_SECONDS = Number(process.env.BENCH_READY_SECONDS ?? 5);

interface Phases {
  totalMs: number;
  ledgerMs: number;
  registryMs: number;
  deployMs: number;
}

/** Kiln's own account: "rollback: done in 2.10s (ledger 35ms, registry 12ms, deploy and wait 1.90s)". */
function phasesOf(output: string): Phases {
  const m = /rollback: done in (\S+) \(ledger (\S+), registry (\S+), deploy and wait (\S+)\)/.exec(output);
  if (!m) throw new Error(`no timing line in kiln rollback's output:\n${output}`);
  const ms = (t: string) => {
    const d = /^(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$|^(\d+)ms$/.exec(t);
    if (!d) throw new Error(`cannot read the duration ${t}`);
    return d[3] !== undefined ? Number(d[3]) : Number(d[1] ?? 0) * 60_000 + Number(d[2] ?? 0) * 1000;
  };
  return { totalMs: ms(m[1]!), ledgerMs: ms(m[2]!), registryMs: ms(m[3]!), deployMs: ms(m[4]!) };
}

await benchMain(async () => {
  if (!registryAvailable()) throw new Error('needs docker-registry (apt-get install docker-registry)');
  if (!kubectl) throw new Error('needs kubectl');
  const startLoad = `${await procLoadavg()} (CPUs ${busy(await cpuBusy())} busy)`;
  const registry = await startRegistry();
  defer(() => registry.stop());
  const work = await tempDir('kiln-bench-rollback-');
  const client = new RegistryClient({
    logger: new MemoryLogger(),
    env: { HOME: work },
    dockerConfigDir: work,
  });
  const REPO = `${registry.host}/bench/web`;
  const digests = await pushTestImages(
    client,
    REPO,
    { '1': 'rollback-1', '2': 'rollback-2' },
    { workDir: work, randomBytes: 2000 },
  );
  const [v1, v2] = digests as [string, string];
  const ledger = new RegistryLedger(client, { registry: registry.host, repository: 'bench/web' });
  const baseEnv = { PATH: process.env.PATH ?? '', KILN_PLATFORM: 'terminal', COLUMNS: '1000' };
  let seq = 0;

  /** The environment's history: release 1 deployed and verified, release 2 deployed and running. */
  async function history(environment: string, deploy: (digest: string) => Promise<Exit>): Promise<void> {
    ok('deploy release 1', await deploy(v1));
    const [first] = await ledger.list(environment);
    if (!first) throw new Error('release 1 was not recorded');
    await ledger.append({
      id: `${first.id}-verify`,
      event: 'verify',
      environment,
      time: new Date().toISOString(),
      image: REPO,
      digest: v1,
      result: 'success',
      verdict: 'passed',
      of: first.id,
    });
    ok('deploy release 2', await deploy(v2));
  }

  // ----- Kubernetes
  async function kubeRun(way: 'kiln' | 'platform'): Promise<{ exit: Exit; phases?: Phases }> {
    const sim: KubeSim = await startKubeSim({
      timeScale,
      scenarios: { [REPO]: { kind: 'healthy', readySeconds: READY_SECONDS } },
    });
    try {
      const dir = await tempDir('kiln-bench-rollback-k8s-');
      const kubeconfig = sim.writeKubeconfig({ path: join(dir, 'kubeconfig.yaml') });
      const env = { ...baseEnv, HOME: dir, KUBECONFIG: kubeconfig };
      await writeFile(
        join(dir, 'app.yaml'),
        deploymentYaml({ name: 'web', namespace: 'default' }, `${REPO}:1`, 2),
      );
      const environment = `k8s-${++seq}`;
      const k = (...args: string[]) => timed(node, [cli, ...args], { env, cwd: dir });
      await history(environment, (digest) =>
        k(
          'deploy-k8s',
          '--manifests',
          'app.yaml',
          '--image',
          REPO,
          '--digest',
          digest,
          '--environment',
          environment,
        ),
      );
      if (way === 'kiln') {
        const exit = ok(
          'kiln rollback',
          await k('rollback', '--environment', environment, '--image', REPO, '--manifests', 'app.yaml'),
        );
        return { exit, phases: phasesOf(exit.output) };
      }
      await writeFile(
        join(dir, 'v1.yaml'),
        deploymentYaml({ name: 'web', namespace: 'default' }, `${REPO}@${v1}`, 2),
      );
      const apply = ok('kubectl apply', await timed(kubectl!, ['apply', '-f', 'v1.yaml'], { env, cwd: dir }));
      const status = ok(
        'kubectl rollout status',
        await timed(kubectl!, ['rollout', 'status', 'deployment/web', '--timeout=5m'], { env, cwd: dir }),
      );
      return { exit: { ...status, startAt: apply.startAt } };
    } finally {
      await sim.close();
    }
  }

  // ----- Marathon
  async function marathonRun(way: 'kiln' | 'platform'): Promise<{ exit: Exit; phases?: Phases }> {
    const sim: MarathonSim = await startMarathonSim({ timeScale: marathonTimeScale });
    try {
      const dir = await tempDir('kiln-bench-rollback-marathon-');
      const app = {
        id: '/bench/web',
        instances: 2,
        cpus: 0.1,
        mem: 64,
        container: { type: 'DOCKER', docker: { image: `${REPO}:1` } },
      };
      await writeFile(join(dir, 'app.json'), JSON.stringify(app));
      const env = { ...baseEnv, HOME: dir };
      const environment = `marathon-${++seq}`;
      const k = (...args: string[]) => timed(node, [cli, ...args], { env, cwd: dir });
      const target = ['--marathon-url', sim.url, '--app-definition', 'app.json'];
      await history(environment, (digest) =>
        k('deploy-marathon', ...target, '--image', REPO, '--digest', digest, '--environment', environment),
      );
      if (way === 'kiln') {
        const exit = ok(
          'kiln rollback',
          await k('rollback', '--environment', environment, '--image', REPO, ...target),
        );
        return { exit, phases: phasesOf(exit.output) };
      }
      const startAt = performance.now();
      const put = await fetch(`${sim.url}/v2/apps/bench/web`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...app, container: { type: 'DOCKER', docker: { image: `${REPO}@${v1}` } } }),
      });
      if (!put.ok) throw new Error(`PUT app: ${put.status} ${await put.text()}`);
      const { deploymentId } = (await put.json()) as { deploymentId: string };
      for (;;) {
        const list = (await (await fetch(`${sim.url}/v2/deployments`)).json()) as { id: string }[];
        if (!list.some((d) => d.id === deploymentId)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      return { exit: { code: 0, startAt, exitAt: performance.now(), output: '' } };
    } finally {
      await sim.close();
    }
  }

  const rows: string[][] = [];
  for (const [label, runOne] of [
    ['Kubernetes (simulator)', kubeRun],
    ['Marathon (simulator)', marathonRun],
  ] as const) {
    const kiln: number[] = [];
    const platform: number[] = [];
    const phases: Phases[] = [];
    for (let i = 0; i < runs; i++) {
      for (const way of i % 2 === 0 ? (['kiln', 'platform'] as const) : (['platform', 'kiln'] as const)) {
        const r = await runOne(way);
        const ms = r.exit.exitAt - r.exit.startAt;
        if (way === 'kiln') {
          kiln.push(ms);
          phases.push(r.phases!);
        } else platform.push(ms);
      }
      console.error(`${label} run ${i + 1}/${runs} done`);
    }
    const med = (f: (p: Phases) => number) => median(phases.map(f));
    const startAndRecord = median(
      kiln.map((k, i) => k - phases[i]!.ledgerMs - phases[i]!.registryMs - phases[i]!.deployMs),
    );
    rows.push([
      label,
      `**${fmtMs(median(kiln))}** (${fmtRange(kiln, fmtMs)})`,
      `${fmtMs(median(platform))} (${fmtRange(platform, fmtMs)})`,
      `**${fmtMs(median(kiln) - median(platform))}**`,
      `ledger ${fmtMs(med((p) => p.ledgerMs))}, registry ${fmtMs(med((p) => p.registryMs))}, deploy and wait ${fmtMs(med((p) => p.deployMs))}, start and record ${fmtMs(startAndRecord)}`,
    ]);
  }
  console.log(
    `kiln rollback (bundled CLI under Node ${cliNodeVersion()}) against the simulators — Kubernetes at time scale ${timeScale}×, Marathon at ${marathonTimeScale}× — with the registry ledger in Debian's docker-registry; ${runs} interleaved runs per row, a fresh simulator and environment each.\n`,
  );
  console.log(
    table(
      [
        'platform',
        '(a) kiln rollback, median (range)',
        '(b) the platform alone',
        'overhead (a) − (b)',
        "where Kiln's time went (medians)",
      ],
      rows,
    ),
  );
  console.log(
    `\nAim: overhead < 10 s. Load: at the start ${startLoad}; at the end ${await procLoadavg()} (CPUs ${busy(await cpuBusy())} busy).`,
  );
});
