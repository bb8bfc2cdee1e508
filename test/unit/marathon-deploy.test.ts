/**
 * The deployment logic against the Marathon simulator, in process (fast, with access to the simulator's state):
 * locks, no-ops, waiting for health and readiness, failure detection, rollback, several clusters, cancellation.
 * The same behaviours run end to end through the bundles in test/integration/deploy-marathon*.test.ts.
 */
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CancelledError } from '../../packages/core/src/errors.js';
import { closeHttpPools } from '../../packages/core/src/http/http.js';
import type { Logger } from '../../packages/core/src/platform/types.js';
import { deployMarathon, type MarathonDeployOptions } from '../../packages/core/src/marathon/deploy.js';
import { loadAppDefinition, renderAppDefinition } from '../../packages/core/src/marathon/definition.js';
import type { JsonObject } from '../../packages/core/src/util/json.js';
import { closedPort } from '../harness/http-fixture.js';
import { repoRoot } from '../harness/runner.js';
import { startMarathonSim, type MarathonSim, type MarathonSimOptions } from '../sim/marathon/server.js';

const D1 = `sha256:${'11'.repeat(32)}`;
const D2 = `sha256:${'22'.repeat(32)}`;
const IMAGE = 'reg.example.com/team/app';

const sims: MarathonSim[] = [];
async function sim(o: MarathonSimOptions = {}): Promise<MarathonSim> {
  const s = await startMarathonSim({ timeScale: 1000, ...o });
  sims.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});
afterAll(() => closeHttpPools());

interface CapturedLog extends Logger {
  lines: string[];
  text(): string;
}
function capture(onLine?: (line: string) => void): CapturedLog {
  const lines: string[] = [];
  const add = (level: string) => (m: string) => {
    lines.push(`${level}${m}`);
    onLine?.(m);
  };
  return {
    debugEnabled: false,
    lines,
    text: () => lines.join('\n'),
    debug: () => undefined,
    info: add(''),
    notice: add('notice: '),
    warning: add('warning: '),
    error: add('error: '),
    startGroup: add('group: '),
    endGroup: () => undefined,
    group: (_t, fn) => fn(),
  };
}

const fileDef = loadAppDefinition(
  readFileSync(join(repoRoot, 'test/fixtures/marathon/app-deploy.json'), 'utf8'),
  'qa',
).definition;
function render(digest: string, extra: { instances?: number; appId?: string; definition?: JsonObject } = {}) {
  return renderAppDefinition(extra.definition ?? fileDef, {
    source: 'app-definition qa-deploy.json',
    image: IMAGE,
    digest,
    allowMutableTag: false,
    vars: { ENV: 'qa' },
    instances: extra.instances,
    appId: extra.appId,
    kilnLabels: { KILN_COMMIT: 'c0ffee' },
  });
}

function options(urls: string[], o: Partial<MarathonDeployOptions> = {}): MarathonDeployOptions {
  return {
    clusters: urls.map((url, i) => ({ name: ['AA', 'BB', 'CC'][i] ?? `C${i}`, url })),
    auth: { kind: 'none' },
    app: render(D2),
    clusterOrder: 'sequential',
    timeoutMs: 5000,
    lockTimeoutMs: 5000,
    force: false,
    failureThreshold: 3,
    rollback: 'auto',
    rollbackTimeoutMs: 5000,
    pollIntervalMs: 200,
    dryRun: false,
    log: capture(),
    registerSecret: () => undefined,
    signal: new AbortController().signal,
    ...o,
  };
}

/** Deploy digest D1 first, as "what runs now". */
async function running(s: MarathonSim, instances?: number): Promise<string> {
  const r = await deployMarathon(options([s.url], { app: render(D1, { instances }) }));
  expect(r.result).toBe('deployed');
  return r.clusters[0]?.version as string;
}

const image = (s: MarathonSim): string | undefined =>
  ((s.app('/app-name')?.definition['container'] as JsonObject)['docker'] as JsonObject)['image'] as string;

describe('deploy and wait', () => {
  test('a new app is created and waited for until every task is healthy', async () => {
    const s = await sim();
    const log = capture();
    const r = await deployMarathon(options([s.url], { log }));
    expect(r.result).toBe('deployed');
    const c = r.clusters[0];
    expect(c).toMatchObject({ result: 'deployed', created: true, image: `${IMAGE}@${D2}` });
    const app = s.app('/app-name');
    expect(app?.tasks.filter((t) => t.alive)).toHaveLength(2);
    expect(app?.deployments).toEqual([]);
    expect(log.text()).toContain('/app-name does not exist yet; it will be created.');
    expect(log.text()).toMatch(/deployment finished · new version: 2\/2 healthy, 2 running, 0 staged/);
    expect(c?.timeline.map((t) => t.text.split(':')[0])).toEqual(['preflight', 'submitted', 'healthy']);
  });

  test('an update replaces every task; previous version and image are reported', async () => {
    const s = await sim();
    const v1 = await running(s);
    const r = await deployMarathon(options([s.url]));
    expect(r.clusters[0]).toMatchObject({
      result: 'deployed',
      previousVersion: v1,
      previousImage: `${IMAGE}@${D1}`,
      version: s.app('/app-name')?.definition['version'],
    });
    expect(image(s)).toBe(`${IMAGE}@${D2}`);
    expect(r.clusters[0]?.changes.map((c) => c.path)).toEqual(['/container/docker/image']);
  });

  test('scale-only change: tasks of the unchanged configuration count (lastConfigChangeAt)', async () => {
    const s = await sim();
    await running(s);
    const r = await deployMarathon(options([s.url], { app: render(D1, { instances: 3 }) }));
    expect(r.result).toBe('deployed');
    expect(s.deployments()).toEqual([]);
    expect(s.app('/app-name')?.tasks).toHaveLength(3);
  });

  test('readiness gates success: Kiln waits until Marathon ends the deployment', async () => {
    const s = await sim({ scenarios: { [`${IMAGE}@${D2}`]: { kind: 'slow-readiness', readySeconds: 120 } } });
    await running(s);
    const definition = {
      ...fileDef,
      readinessChecks: [
        { name: 'ready', protocol: 'HTTP', path: '/ready', portName: 'http', intervalSeconds: 10 },
      ],
    };
    const log = capture();
    const r = await deployMarathon(options([s.url], { app: render(D2, { definition }), log }));
    expect(r.result).toBe('deployed');
    expect(log.text()).toMatch(/new version: 2\/2 healthy, 2 running, 0 staged · 0\/2 ready/);
    const done = s.eventLog.find(
      (e) => e.eventType === 'deployment_success' && e['id'] === r.clusters[0]?.deploymentId,
    );
    expect(done).toBeDefined();
  });
});

describe('no-op', () => {
  test('the same definition again: unchanged, nothing submitted', async () => {
    const s = await sim();
    const v1 = await running(s);
    const puts = s.requests.filter((q) => q.method === 'PUT').length;
    const log = capture();
    const r = await deployMarathon(options([s.url], { app: render(D1), log }));
    expect(r.result).toBe('unchanged');
    expect(r.clusters[0]).toMatchObject({ result: 'unchanged', version: v1 });
    expect(s.requests.filter((q) => q.method === 'PUT')).toHaveLength(puts);
    expect(log.text()).toContain(`Unchanged: version ${v1} already runs this definition`);
  });

  test('the same definition already deploying: Kiln joins that deployment, submits nothing, reports its outcome', async () => {
    const s = await sim();
    const v1 = await running(s);
    const lock = s.lockApp('/app-name', 30); // a deployment of this very definition, started by someone else
    const puts = s.requests.filter((q) => q.method === 'PUT').length;
    const r = await deployMarathon(options([s.url], { app: render(D1) }));
    expect(r.clusters[0]).toMatchObject({
      result: 'deployed',
      joined: true,
      deploymentId: lock,
      version: v1,
    });
    expect(s.requests.filter((q) => q.method === 'PUT')).toHaveLength(puts);
    expect(s.eventLog.find((e) => e.eventType === 'deployment_success' && e['id'] === lock)).toBeDefined();
  });
});

describe('409: another deployment holds the app', () => {
  test('waits for it to end, then deploys', async () => {
    const s = await sim();
    await running(s);
    const lock = s.lockApp('/app-name', 200); // 200 simulated seconds = 200 ms
    const r = await deployMarathon(options([s.url]));
    expect(r.result).toBe('deployed');
    const texts = r.clusters[0]?.timeline.map((t) => t.text) ?? [];
    expect(texts).toContain(`locked by deployment ${lock}; waiting up to 5.00s`);
    expect(texts).toContain(`deployment ${lock} ended; submitting again`);
    expect(s.eventLog.find((e) => e.eventType === 'deployment_success' && e['id'] === lock)).toBeDefined();
  });

  test('fails clearly after lock-timeout; nothing changed', async () => {
    const s = await sim();
    await running(s);
    const lock = s.lockApp('/app-name', 3600);
    const r = await deployMarathon(options([s.url], { lockTimeoutMs: 100 }));
    expect(r.result).toBe('failed');
    expect(r.clusters[0]?.reason).toBe(
      `/app-name is locked by deployment ${lock}, still running after lock-timeout 100ms; nothing was changed. Wait for it to finish, cancel it (DELETE /v2/deployments/${lock}), or set force: true to override it.`,
    );
    expect(r.clusters[0]?.rollback).toEqual({ result: 'not-needed', reason: 'nothing was changed' });
    expect(image(s)).toBe(`${IMAGE}@${D1}`);
    expect(s.deployments().map((d) => d['id'])).toEqual([lock]);
  });

  test('force: true overrides it after lock-timeout', async () => {
    const s = await sim();
    await running(s);
    const lock = s.lockApp('/app-name', 3600);
    const log = capture();
    const r = await deployMarathon(options([s.url], { lockTimeoutMs: 50, force: true, log }));
    expect(r.result).toBe('deployed');
    expect(s.requests.filter((q) => q.method === 'PUT').map((q) => q.url)).toEqual([
      '/v2/apps/app-name', // running()
      '/v2/apps/app-name', // 409
      '/v2/apps/app-name?force=true',
    ]);
    expect(s.eventLog.find((e) => e.eventType === 'deployment_failed' && e['id'] === lock)?.['reason']).toBe(
      'The upgrade has been cancelled',
    );
    expect(log.text()).toContain(
      `warning: Deployment ${lock} still holds /app-name after 50ms; overriding it (force: true).`,
    );
  });
});

describe('failure and rollback', () => {
  test('crash loop: declared failed from Marathon’s task failures, well before the health-check grace period; Marathon reverts', async () => {
    const s = await sim({
      scenarios: {
        [`${IMAGE}@${D2}`]: {
          kind: 'crash-loop',
          message: 'Exception in thread "main" java.lang.IllegalStateException: bad config',
        },
      },
    });
    const v1 = await running(s);
    const r = await deployMarathon(options([s.url]));
    const c = r.clusters[0];
    expect(r.result).toBe('rolled-back');
    expect(c?.failureKind).toBe('crash-loop');
    expect(c?.reason).toMatch(
      /^crash loop: the new version keeps failing: \d+ task\(s\) ended \(failure-threshold 3\); last: TASK_FAILED: Exception in thread "main" java\.lang\.IllegalStateException: bad config$/,
    );
    // At least the threshold; how many more crashed meanwhile depends on the machine's load (simulated time runs on).
    expect(Number(/(\d+) task/.exec(c?.reason ?? '')?.[1])).toBeGreaterThanOrEqual(3);
    expect(c?.rollback).toMatchObject({ result: 'rolled-back', method: 'revert', image: `${IMAGE}@${D1}` });
    expect(image(s)).toBe(`${IMAGE}@${D1}`);
    expect(s.app('/app-name')?.tasks.every((t) => t.alive && t.image === `${IMAGE}@${D1}`)).toBe(true);
    // The cancel (Marathon's revert) came before the first health-check grace period (300 s) of the new tasks ended.
    const firstCrash = s.eventLog.find(
      (e) => e.eventType === 'status_update_event' && e['taskStatus'] === 'TASK_FAILED',
    );
    const cancel = s.requests.find((q) => q.method === 'DELETE' && q.path.startsWith('/v2/deployments/'));
    expect((cancel?.at ?? Infinity) - Date.parse(String(firstCrash?.timestamp))).toBeLessThan(300_000);
    expect(c?.previousVersion).toBe(v1);
  });

  test('never healthy: the deadline fails it with the health-check cause; rollback restores the previous version', async () => {
    const s = await sim({ scenarios: { [`${IMAGE}@${D2}`]: { kind: 'never-healthy' } } });
    await running(s);
    const r = await deployMarathon(options([s.url], { timeoutMs: 200 }));
    const c = r.clusters[0];
    expect(c?.failureKind).toBe('timeout');
    expect(c?.reason).toMatch(
      /^not healthy within the timeout \(\d+ms\): 0\/2 task\(s\) of the new version healthy; deployment \S+ still at step 1\/1 \(RestartApplication\)$/,
    );
    expect(c?.result).toBe('rolled-back');
    expect(image(s)).toBe(`${IMAGE}@${D1}`);
  });

  test('unhealthy kills count as failures, with the health-check cause', async () => {
    const s = await sim({ scenarios: { [`${IMAGE}@${D2}`]: { kind: 'never-healthy' } } });
    await running(s);
    const definition = {
      ...fileDef,
      healthChecks: [
        {
          protocol: 'HTTP',
          path: '/health',
          gracePeriodSeconds: 10,
          intervalSeconds: 5,
          maxConsecutiveFailures: 2,
        },
      ],
    };
    const r = await deployMarathon(
      options([s.url], { app: render(D2, { definition }), failureThreshold: 2 }),
    );
    expect(r.clusters[0]?.reason).toBe(
      'unhealthy: the new version keeps failing its health checks: 2 task(s) ended (failure-threshold 2); last: TASK_KILLED: Task was killed since health check failed. Reason: 503 Service Unavailable',
    );
    expect(r.result).toBe('rolled-back');
  });

  test('Mesos-side kills seen only in the task list (no event stream, no lastTaskFailure) are a crash loop', async () => {
    const definition = {
      ...fileDef,
      healthChecks: [
        {
          protocol: 'MESOS_TCP',
          portIndex: 0,
          gracePeriodSeconds: 10,
          intervalSeconds: 5,
          maxConsecutiveFailures: 2,
        },
      ],
    };
    const log = capture();
    // The simulated clock moves 1 s at a time, and only after Kiln has polled: it sees every state, however busy
    // the machine.
    const manual = await sim({ timeScale: 0, scenarios: { [`${IMAGE}@${D2}`]: { kind: 'never-healthy' } } });
    await fetch(`${manual.url}/v2/apps/app-name`, {
      method: 'PUT',
      body: JSON.stringify(render(D1).definition),
    });
    for (let i = 0; i < 60 && manual.deployments().length > 0; i++) manual.advance(1);
    manual.failNext(1_000_000, { pathPrefix: '/v2/events', status: 405 });
    const polls = (): number =>
      manual.requests.filter((q) => q.method === 'GET' && q.path === '/v2/apps/app-name').length;
    let done = false;
    const run = deployMarathon(
      options([manual.url], { app: render(D2, { definition }), failureThreshold: 2, pollIntervalMs: 5, log }),
    ).finally(() => (done = true));
    while (!done) {
      const seen = polls();
      await manual.waitFor(() => done || polls() > seen, { timeoutMs: 10_000 });
      manual.advance(1);
    }
    const r = await run;
    expect(r.clusters[0]?.failureKind).toBe('crash-loop');
    expect(r.clusters[0]?.reason).toMatch(
      /^unhealthy: the new version keeps failing its health checks: 2 task\(s\) ended \(failure-threshold 2\); last: TASK_KILLED: killed by a MESOS_TCP health check$/,
    );
    expect(manual.app('/app-name')?.lastTaskFailure).toBeNull();
    expect(r.result).toBe('rolled-back');
    // A task listed without a version is never counted as an old one.
    expect(log.text()).not.toMatch(/ · [3-9] old · /);
  });

  test('rollback: none leaves the failing deployment as it is and says so', async () => {
    const s = await sim({ scenarios: { [`${IMAGE}@${D2}`]: { kind: 'crash-loop' } } });
    await running(s);
    const log = capture();
    const r = await deployMarathon(options([s.url], { rollback: 'none', log }));
    expect(r.result).toBe('failed');
    expect(r.clusters[0]?.rollback).toEqual({ result: 'none' });
    expect(s.app('/app-name')?.deployments).toEqual([r.clusters[0]?.deploymentId]);
    expect(log.text()).toMatch(
      /warning: rollback: none — \/app-name is left as it is \(deployment \S+, version \S+\)/,
    );
  });

  test('a new app that fails is removed again', async () => {
    const s = await sim({ scenarios: { [`${IMAGE}@${D2}`]: { kind: 'crash-loop' } } });
    const r = await deployMarathon(options([s.url]));
    expect(r.result).toBe('rolled-back');
    expect(r.clusters[0]?.rollback?.method).toBe('revert');
    expect(s.app('/app-name')).toBeUndefined();
  });

  test('a deployment replaced by someone else fails without rolling back over their change', async () => {
    const s = await sim({ scenarios: { [`${IMAGE}@${D2}`]: { kind: 'never-healthy' } } });
    await running(s);
    const log = capture((line) => {
      if (line.includes('new version: 0/2 healthy, 2 running'))
        void fetch(`${s.url}/v2/apps/app-name?force=true`, {
          method: 'PUT',
          body: JSON.stringify({ instances: 1 }),
        });
    });
    const r = await deployMarathon(options([s.url], { log }));
    expect(r.clusters[0]?.failureKind).toBe('superseded');
    expect(r.clusters[0]?.rollback?.result).toBe('none');
    expect(s.app('/app-name')?.definition['instances']).toBe(1);
  });
});

describe('several clusters', () => {
  const crashOnBB = { scenarios: { [`${IMAGE}@${D2}`]: { kind: 'crash-loop' as const } } };

  test('sequential: BB fails → BB reverted, AA (already done) redeployed at its previous version, CC skipped', async () => {
    const [aa, bb, cc] = [await sim(), await sim(crashOnBB), await sim()];
    for (const s of [aa, bb, cc]) await running(s);
    const before = aa.app('/app-name')?.definition['version'];
    const r = await deployMarathon(options([aa.url, bb.url, cc.url]));
    expect(r.result).toBe('rolled-back');
    expect(r.clusters.map((c) => c.result)).toEqual(['rolled-back', 'rolled-back', 'skipped']);
    expect(r.clusters[0]?.rollback).toMatchObject({
      result: 'rolled-back',
      method: 'previous-version',
      image: `${IMAGE}@${D1}`,
    });
    expect(r.clusters[1]?.rollback).toMatchObject({ result: 'rolled-back', method: 'revert' });
    expect(r.clusters[2]?.reason).toBe('not deployed: BB failed first (cluster-order: sequential)');
    for (const s of [aa, bb, cc]) expect(image(s)).toBe(`${IMAGE}@${D1}`);
    expect(aa.requests.find((q) => q.method === 'PUT' && q.body?.includes('"version"'))?.body).toBe(
      `{"version":"${String(before)}"}`,
    );
    expect(cc.requests.filter((q) => q.method === 'PUT')).toHaveLength(1); // only running()
  });

  test('parallel: both start; BB fails, AA is rolled back too', async () => {
    const [aa, bb] = [await sim(), await sim(crashOnBB)];
    for (const s of [aa, bb]) await running(s);
    const r = await deployMarathon(options([aa.url, bb.url], { clusterOrder: 'parallel' }));
    expect(r.result).toBe('rolled-back');
    expect(r.clusters.map((c) => c.result)).toEqual(['rolled-back', 'rolled-back']);
    for (const s of [aa, bb]) expect(image(s)).toBe(`${IMAGE}@${D1}`);
    expect(aa.requests.filter((q) => q.method === 'PUT' && !q.body?.includes('"version"')).length).toBe(2);
  });

  test('a cluster that cannot be read stops everything before any change', async () => {
    const aa = await sim();
    const port = await closedPort();
    const r = await deployMarathon(options([aa.url, `http://127.0.0.1:${port}`]));
    expect(r.result).toBe('failed');
    expect(r.clusters[1]?.reason).toMatch(
      /^cannot read the app: GET http:\/\/127\.0\.0\.1:\d+\/v2\/apps\/app-name: connection refused/,
    );
    expect(r.clusters[0]).toMatchObject({
      result: 'skipped',
      reason: 'not deployed: BB could not be read; nothing was changed anywhere',
    });
    expect(aa.requests.filter((q) => q.method !== 'GET')).toEqual([]);
  });

  test('dry run: diff per cluster, nothing submitted', async () => {
    const [aa, bb] = [await sim(), await sim()];
    await running(aa);
    const before = aa.requests.length;
    const r = await deployMarathon(options([aa.url, bb.url], { dryRun: true }));
    expect(r.result).toBe('dry-run');
    expect(r.clusters.map((c) => [c.result, c.created, c.changes.length])).toEqual([
      ['dry-run', false, 1],
      ['dry-run', true, 9],
    ]);
    expect([...aa.requests.slice(before), ...bb.requests].filter((q) => q.method !== 'GET')).toEqual([]);
  });
});

describe('cancellation', () => {
  test('SIGTERM while waiting: Kiln stops, changes nothing more, and says what runs where', async () => {
    const s = await sim({ scenarios: { [`${IMAGE}@${D2}`]: { kind: 'never-healthy' } } });
    await running(s);
    const ctl = new AbortController();
    const log = capture((line) => {
      if (line.includes('new version: 0/2 healthy, 2 running')) ctl.abort(new CancelledError('SIGTERM'));
    });
    const r = await deployMarathon(options([s.url], { signal: ctl.signal, log }));
    expect(r.result).toBe('cancelled');
    expect(r.cancelled).toBe('SIGTERM');
    const c = r.clusters[0];
    expect(c?.result).toBe('cancelled');
    expect(c?.stateText).toMatch(
      new RegExp(
        `^deployment ${c?.deploymentId} \\(version \\S+\\) is still running on Marathon \\(step 1/1 RestartApplication · new version: 0/2 healthy, 2 running, 0 staged · 2 old · \\d+ms\\); it continues without Kiln\\. To undo it: DELETE /v2/deployments/${c?.deploymentId} \\(Marathon reverts to version ${c?.previousVersion}\\)$`,
      ),
    );
    expect(s.requests.filter((q) => q.method === 'DELETE')).toEqual([]);
    expect(s.app('/app-name')?.deployments).toEqual([c?.deploymentId]);
  });
});
