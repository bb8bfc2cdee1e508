/**
 * `npx tsx bench/marathon.ts`: two figures of deploy-marathon against the Marathon simulator at a fixed time scale,
 * running the committed bundle (dist/deploy-marathon) the way GitHub's runner does (test/harness/runner.ts).
 *
 * 1. Healthy deploy of 3 instances: real milliseconds from the simulator's `deployment_success` (our deployment) to
 *    the action's process exit. The poll interval stays at its default (2 s): only the event stream can make this
 *    small. Aim: < 300 ms.
 * 2. Crash loop: simulated seconds from the first crash of a new-version task (TASK_FAILED) to the moment the action
 *    declared the deployment failed (its rollback request, `DELETE /v2/deployments/{id}`, reaching the simulator).
 *    Aim: well under the first health-check grace period (300 s in the users' app definition), not the timeout.
 *
 * 3. The users' release rerun as new workflow runs: deployments started (aim 0).
 * 4. A MESOS_HTTP health check killing every new task: simulated seconds from the failure-threshold-th kill to the
 *    rollback request (aim: within one poll interval, not the timeout).
 *
 * BENCH_RUNS (default 7) runs per figure; BENCH_TIME_SCALE (default 60) simulated seconds per real second.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { hostNode, runBundle } from '../test/harness/runner.js';
import { startMarathonSim, type MarathonSim, type SimEvent } from '../test/sim/marathon/server.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.env.BENCH_RUNS ?? 7);
const timeScale = Number(process.env.BENCH_TIME_SCALE ?? 60);
const IMAGE = 'reg.example.com/team/app';
const D1 = `sha256:${'11'.repeat(32)}`;
const D2 = `sha256:${'22'.repeat(32)}`;
const definition = readFileSync(join(root, 'test/fixtures/marathon/app-deploy.json'), 'utf8');

function stats(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return {
    median: s[Math.floor(s.length / 2)] as number,
    min: s[0] as number,
    max: s[s.length - 1] as number,
  };
}

/** A fresh workspace with deploy/qa-deploy.json holding `text` (default: the bench's app definition). */
function workspace(text = definition): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-marathon-'));
  mkdirSync(join(dir, 'deploy'));
  writeFileSync(join(dir, 'deploy', 'qa-deploy.json'), text);
  return dir;
}

/** Version 1 runs (through the action itself, so the app is exactly what the action would have made). */
async function seed(sim: MarathonSim, instances: number): Promise<void> {
  const r = await runBundle('deploy-marathon', {
    workspace: workspace(),
    with: inputs(sim, D1, instances),
  });
  if (r.exitCode !== 0) throw new Error(`seeding failed:\n${r.stdout}${r.stderr}`);
}

function inputs(sim: MarathonSim, digest: string, instances: number): Record<string, string> {
  return {
    'marathon-url': sim.url,
    'app-definition': 'deploy/qa-deploy.json',
    image: IMAGE,
    digest,
    vars: 'ENV=qa',
    instances: String(instances),
    timeout: '2m',
  };
}

async function healthyRun(): Promise<{ exitAfterSuccessMs: number; simDeploySeconds: number }> {
  const sim = await startMarathonSim({ timeScale });
  try {
    await seed(sim, 3);
    let successAt: number | undefined;
    let successSim: number | undefined;
    const ownIds = new Set<string>();
    const onEvent = (e: SimEvent): void => {
      if (e.eventType === 'deployment_info') {
        const plan = e['plan'] as { id?: string } | undefined;
        if (plan?.id) ownIds.add(plan.id);
      }
      if (e.eventType === 'deployment_success' && ownIds.has(String(e['id'])) && successAt === undefined) {
        successAt = performance.now();
        successSim = Date.parse(e.timestamp);
      }
    };
    const startSim = sim.now();
    sim.events.on('event', onEvent);
    const r = await runBundle('deploy-marathon', { workspace: workspace(), with: inputs(sim, D2, 3) });
    const exitedAt = performance.now();
    sim.events.off('event', onEvent);
    if (r.exitCode !== 0 || r.outputs.get('result') !== 'deployed' || successAt === undefined)
      throw new Error(`healthy deploy did not succeed:\n${r.stdout}${r.stderr}`);
    return {
      exitAfterSuccessMs: exitedAt - successAt,
      simDeploySeconds: ((successSim ?? 0) - startSim) / 1000,
    };
  } finally {
    await sim.close();
  }
}

async function crashRun(instances: number): Promise<{ declaredAfterSimSeconds: number; result: string }> {
  const sim = await startMarathonSim({
    timeScale,
    scenarios: { [`${IMAGE}@${D2}`]: { kind: 'crash-loop' } },
  });
  try {
    await seed(sim, instances);
    const before = sim.requests.length;
    const r = await runBundle('deploy-marathon', {
      workspace: workspace(),
      with: inputs(sim, D2, instances),
    });
    const newVersion = r.outputs.get('version');
    const firstCrash = sim.eventLog.find(
      (e) =>
        e.eventType === 'status_update_event' &&
        e['taskStatus'] === 'TASK_FAILED' &&
        e['version'] === newVersion,
    );
    const declared = sim.requests
      .slice(before)
      .find((q) => q.method === 'DELETE' && q.path.startsWith('/v2/deployments/'));
    if (!firstCrash || !declared) throw new Error(`crash loop not detected:\n${r.stdout}${r.stderr}`);
    return {
      declaredAfterSimSeconds: (declared.at - Date.parse(firstCrash.timestamp)) / 1000,
      result: r.outputs.get('result') ?? '',
    };
  } finally {
    await sim.close();
  }
}

/** The users' qa-deploy.json (contract fixture): deploy once, then rerun it `reruns` times as new workflow runs. */
async function rerunRun(reruns: number): Promise<{ deployments: number; rerunMs: number[] }> {
  const sim = await startMarathonSim({ timeScale });
  const users = readFileSync(join(root, 'test/fixtures/marathon/contract/qa-deploy.put.json'), 'utf8');
  const ws = (): string => workspace(users);
  const withInputs = {
    'marathon-url': sim.url,
    'app-definition': 'deploy/qa-deploy.json',
    image: IMAGE,
    digest: D2,
    'release-id': '42',
  };
  try {
    const first = await runBundle('deploy-marathon', { workspace: ws(), with: withInputs });
    if (first.outputs.get('result') !== 'deployed')
      throw new Error(`first deploy failed:
${first.stdout}${first.stderr}`);
    const planIds = (): number =>
      new Set(
        sim.eventLog
          .filter(
            (e) => e.eventType === 'deployment_info' && (e['plan'] as { steps: unknown[] }).steps.length > 0,
          )
          .map((e) => (e['plan'] as { id: string }).id),
      ).size;
    const before = planIds();
    const rerunMs: number[] = [];
    for (let i = 0; i < reruns; i++) {
      const t0 = performance.now();
      const r = await runBundle('deploy-marathon', {
        workspace: ws(),
        with: withInputs,
        env: { GITHUB_RUN_ID: String(5000 + i) },
      });
      rerunMs.push(performance.now() - t0);
      if (r.outputs.get('result') !== 'unchanged')
        throw new Error(`rerun ${i} was ${r.outputs.get('result')}`);
    }
    return { deployments: planIds() - before, rerunMs };
  } finally {
    await sim.close();
  }
}

/**
 * A MESOS_HTTP check (maxConsecutiveFailures 3) that fails on every new task: simulated seconds from the
 * failure-threshold-th kill of a new task (Mesos's TASK_KILLED) to the action's rollback request.
 */
async function mesosKillRun(pollInterval: string): Promise<{ afterKillSimSeconds: number; kills: number }> {
  const sim = await startMarathonSim({
    timeScale,
    scenarios: { [`${IMAGE}@${D2}`]: { kind: 'never-healthy' } },
  });
  const def = JSON.parse(
    readFileSync(join(root, 'test/fixtures/marathon/contract/qa-deploy.put.json'), 'utf8'),
  ) as Record<string, unknown>;
  def['healthChecks'] = [
    {
      protocol: 'MESOS_HTTP',
      path: '/health_check',
      portIndex: 0,
      gracePeriodSeconds: 300,
      intervalSeconds: 20,
      timeoutSeconds: 20,
      maxConsecutiveFailures: 3,
    },
  ];
  const ws = (): string => workspace(JSON.stringify(def));
  const withInputs = (digest: string): Record<string, string> => ({
    'marathon-url': sim.url,
    'app-definition': 'deploy/qa-deploy.json',
    image: IMAGE,
    digest,
    timeout: '10m',
    'poll-interval': pollInterval,
  });
  try {
    await runBundle('deploy-marathon', { workspace: ws(), with: withInputs(D1) });
    const before = sim.requests.length;
    const r = await runBundle('deploy-marathon', { workspace: ws(), with: withInputs(D2) });
    const newVersion = r.outputs.get('version');
    const kills = sim.eventLog.filter(
      (e) =>
        e.eventType === 'status_update_event' &&
        e['taskStatus'] === 'TASK_KILLED' &&
        e['version'] === newVersion,
    );
    const third = kills[2];
    const declared = sim.requests
      .slice(before)
      .find((q) => q.method === 'DELETE' && q.path.startsWith('/v2/deployments/'));
    if (!third || !declared || r.outputs.get('result') !== 'rolled-back')
      throw new Error(`Mesos kill loop not detected:
${r.stdout}${r.stderr}`);
    return {
      afterKillSimSeconds: (declared.at - Date.parse(third.timestamp)) / 1000,
      kills: kills.filter((k) => Date.parse(k.timestamp) <= declared.at).length,
    };
  } finally {
    await sim.close();
  }
}

const rerun = await rerunRun(runs);
const mesos: number[] = [];
const mesosKills = new Set<number>();
for (let i = 0; i < Math.min(runs, 3); i++) {
  const a = await mesosKillRun('2s');
  mesos.push(a.afterKillSimSeconds);
  mesosKills.add(a.kills);
}

const healthy: Array<{ exitAfterSuccessMs: number; simDeploySeconds: number }> = [];
for (let i = 0; i < runs; i++) healthy.push(await healthyRun());
const crash3: number[] = [];
const crash2: number[] = [];
let results = new Set<string>();
for (let i = 0; i < runs; i++) {
  const a = await crashRun(3);
  const b = await crashRun(2);
  crash3.push(a.declaredAfterSimSeconds);
  crash2.push(b.declaredAfterSimSeconds);
  results = new Set([...results, a.result, b.result]);
}

const h = stats(healthy.map((x) => x.exitAfterSuccessMs));
const c3 = stats(crash3);
const c2 = stats(crash2);
const fmt = (s: { median: number; min: number; max: number }, unit: string, digits: number): string =>
  `${s.median.toFixed(digits)} ${unit} (min ${s.min.toFixed(digits)}, max ${s.max.toFixed(digits)})`;
process.stdout.write(
  [
    `deploy-marathon against the Marathon simulator at time scale ${timeScale}× (${runs} runs each; bundle dist/deploy-marathon under ${hostNode()} ${spawnSync(hostNode(), ['--version'], { encoding: 'utf8' }).stdout.trim()})`,
    '',
    '| figure | median (min, max) | aim |',
    '| --- | --- | --- |',
    `| healthy 3-instance deploy: simulator's deployment_success → action exit (real time; poll-interval 2s) | ${fmt(h, 'ms', 1)} | < 300 ms |`,
    `| crash loop, 3 instances: first crash of a new task → declared failed (simulated) | ${fmt(c3, 's', 2)} | < 300 s (first health-check grace period) |`,
    `| crash loop, 2 instances (the users' app): first crash of a new task → declared failed (simulated) | ${fmt(c2, 's', 2)} | < 300 s |`,
    `| the users' release rerun ${runs}× as new workflow runs: deployments started | ${rerun.deployments} (each rerun ${fmt(stats(rerun.rerunMs), 'ms', 0)}) | 0 |`,
    `| MESOS_HTTP kill loop (threshold 3, check interval 20 s, poll-interval 2 s): 3rd kill → declared failed (simulated) | ${fmt(stats(mesos), 's', 2)}; kills by then: ${[...mesosKills].join(', ')} | within one poll interval (2 s), not the timeout (10 m) |`,
    '',
    `The healthy rollouts took ${stats(healthy.map((x) => x.simDeploySeconds)).median.toFixed(1)} simulated seconds; crash-loop runs ended ${[...results].join(', ')} (failure-threshold 3).`,
    '',
  ].join('\n'),
);
