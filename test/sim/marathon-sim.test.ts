import { afterEach, describe, expect, test } from '@jest/globals';
import type { JsonObject, MarathonSim, MarathonSimOptions, SimEvent } from './marathon/server.js';
import { startMarathonSim } from './marathon/server.js';
import { imageKeys, lookupScenario, parseScenario, parseScenarioAssignment } from './marathon/scenarios.js';
import { optionsFromArgs } from './marathon/main.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../harness/runner.js';
import { COMPUTED_APP_FIELDS } from '../../packages/core/src/marathon/definition.js';

const COMPUTED = new Set([...COMPUTED_APP_FIELDS, 'version']);
const readContract = (name: string): JsonObject =>
  JSON.parse(
    readFileSync(join(repoRoot, 'test', 'fixtures', 'marathon', 'contract', name), 'utf8'),
  ) as JsonObject;

// ----- helpers ------------------------------------------------------------------------------------------------

interface HealthResultJson {
  alive: boolean;
  consecutiveFailures: number;
  instanceId: string;
}
interface TaskJson {
  id: string;
  state: string;
  version: string;
  healthCheckResults: HealthResultJson[];
}
interface AppJson {
  id: string;
  version: string;
  versionInfo: { lastScalingAt: string; lastConfigChangeAt: string };
  instances: number;
  container?: { docker?: { image?: string } };
  tasks: TaskJson[];
  tasksRunning: number;
  tasksHealthy: number;
  deployments: Array<{ id: string }>;
  lastTaskFailure?: { state: string; message: string; version: string; taskId: string };
  [key: string]: unknown;
}
interface DeploymentJson {
  id: string;
  version: string;
  affectedApps: string[];
  steps: Array<{ actions: Array<{ action: string; app: string }> }>;
  currentActions: Array<{ action: string; app: string; readinessCheckResults: Array<{ ready: boolean }> }>;
  currentStep: number;
  totalSteps: number;
}
interface DeploymentResult {
  deploymentId: string;
  version: string;
}
interface ErrorBody {
  message: string;
  details?: Array<{ path: string; errors: string[] }>;
  deployments?: Array<{ id: string }>;
}

interface Reply<T> {
  status: number;
  headers: Headers;
  text: string;
  body: T;
}

const sims: MarathonSim[] = [];
const manual = new WeakSet<MarathonSim>();
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

/** timeScale 0 = manual clock (`advance`), used where a test inspects a deployment while it runs. */
async function sim(opts: MarathonSimOptions = {}): Promise<MarathonSim> {
  const s = await startMarathonSim({ timeScale: 2000, ...opts });
  sims.push(s);
  if (opts.timeScale === 0) manual.add(s);
  return s;
}

async function call<T = unknown>(
  s: MarathonSim,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply<T>> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, text, body: parsed as T };
}

const getApp = async (s: MarathonSim, id: string): Promise<AppJson> =>
  (await call<{ app: AppJson }>(s, 'GET', `/v2/apps${id}`)).body.app;
const getDeployments = async (s: MarathonSim): Promise<DeploymentJson[]> =>
  (await call<DeploymentJson[]>(s, 'GET', '/v2/deployments')).body;

/** Polls /v2/deployments until `id` is gone. */
async function deploymentGone(s: MarathonSim, id: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await getDeployments(s)).some((d) => d.id === id)) {
    if (Date.now() > deadline) throw new Error(`deployment ${id} still running after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function webApp(image: string, extra: JsonObject = {}): JsonObject {
  return {
    id: '/web',
    instances: 2,
    cpus: 0.5,
    mem: 256,
    container: { type: 'DOCKER', docker: { image } },
    healthChecks: [
      {
        protocol: 'HTTP',
        path: '/health',
        gracePeriodSeconds: 10,
        intervalSeconds: 5,
        maxConsecutiveFailures: 2,
      },
    ],
    ...extra,
  };
}

/** Creates `/web` with `image` and waits until its first deployment is over. */
async function deployed(s: MarathonSim, image: string, extra: JsonObject = {}): Promise<AppJson> {
  const r = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', webApp(image, extra));
  expect(r.status).toBe(201);
  if (manual.has(s)) s.advance(120);
  await deploymentGone(s, r.body.deploymentId);
  return getApp(s, '/web');
}

/** The users' real app definition (scenario.md). */
const SCENARIO_APP: JsonObject = {
  id: '/app-name', // scenario.md says "/appName": real Marathon rejects upper case in ids (422), so does the sim
  cpus: 2,
  mem: 2048.0,
  instances: 2,
  args: ['--spring.profiles.active=qa'],
  labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'xxx.hujiang.com' },
  container: {
    type: 'DOCKER',
    docker: {
      image: 'imageName',
      network: 'USER',
      forcePullImage: true,
      portMappings: [{ containerPort: 12345, hostPort: 0, protocol: 'tcp', servicePort: 12345 }],
    },
    volumes: [{ containerPath: '/app/log', hostPath: '/home/logs/appName', mode: 'RW' }],
  },
  ipAddress: { networkName: 'calico-net' },
  healthChecks: [
    {
      gracePeriodSeconds: 300,
      ignoreHttp1xx: true,
      intervalSeconds: 20,
      maxConsecutiveFailures: 3,
      path: '/health_check',
      portIndex: 0,
      protocol: 'HTTP',
      timeoutSeconds: 20,
    },
  ],
  uris: ['file:///etc/docker.tar.gz'],
};

const LOCKED =
  "App is locked by one or more deployments. Override with the option '?force=true'. " +
  "View details at '/v2/deployments/<DEPLOYMENT_ID>'.";

const events = (s: MarathonSim, type: string): SimEvent[] => s.eventLog.filter((e) => e.eventType === type);

// ----- tests --------------------------------------------------------------------------------------------------

describe('Marathon simulator: apps API', () => {
  test('POST creates: 201, Location, Marathon-Deployment-Id, Start then Scale steps; 409 when it exists', async () => {
    const s = await sim({ timeScale: 0 });
    const r = await call<AppJson>(s, 'POST', '/v2/apps', webApp('reg/web:1'));
    expect(r.status).toBe(201);
    expect(r.headers.get('location')).toBe(`${s.url}/v2/apps/web`);
    const depId = r.headers.get('marathon-deployment-id');
    expect(r.body.deployments).toEqual([{ id: depId }]);
    expect(r.body.version).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const [dep] = await getDeployments(s);
    expect(dep).toMatchObject({ id: depId, affectedApps: ['/web'], totalSteps: 2 });
    expect(dep?.steps.map((st) => st.actions.map((a) => a.action))).toEqual([
      ['StartApplication'],
      ['ScaleApplication'],
    ]);
    expect(dep?.currentStep).toBe(2); // StartApplication is over at once
    s.advance(10); // staged at 0, running at 5, first health check at 10 (5 s < healthySeconds): not healthy yet
    expect((await getDeployments(s)).map((d) => d.id)).toEqual([depId]);
    s.advance(5); // check at 15: healthy → done
    await deploymentGone(s, depId ?? '');
    const app = await getApp(s, '/web');
    expect(app).toMatchObject({ tasksRunning: 2, tasksHealthy: 2, deployments: [] });
    expect(app.tasks.every((t) => t.healthCheckResults[0]?.alive === true)).toBe(true);
    expect(events(s, 'deployment_success').map((e) => e['id'])).toContain(depId);

    const again = await call<ErrorBody>(s, 'POST', '/v2/apps', webApp('reg/web:1'));
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ message: 'An app with id [/web] already exists.' });
  });

  test('PUT creates with 201 + Location, updates with 200 + header; the rolling restart replaces every task', async () => {
    const s = await sim({ timeScale: 0 });
    const before = await deployed(s, 'reg/web:1');
    const oldIds = before.tasks.map((t) => t.id);
    expect(oldIds).toHaveLength(2);

    const r = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', {
      container: webApp('reg/web:2')['container'],
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('location')).toBeNull();
    expect(r.headers.get('marathon-deployment-id')).toBe(r.body.deploymentId);
    expect(Object.keys(r.body).sort()).toEqual(['deploymentId', 'version']);
    const listed = (await getDeployments(s)).find((d) => d.id === r.body.deploymentId);
    expect(listed?.steps).toEqual([{ actions: [{ action: 'RestartApplication', app: '/web' }] }]);
    expect(listed?.currentStep).toBe(1);

    s.advance(60);
    await s.waitForEvent('deployment_success', (e) => e['id'] === r.body.deploymentId);
    const after = await getApp(s, '/web');
    expect(after.version).toBe(r.body.version);
    expect(after.container?.docker?.image).toBe('reg/web:2');
    expect(after.cpus).toBe(0.5); // partialUpdate (default) kept the other fields
    expect(after.tasks).toHaveLength(2);
    expect(after.tasks.every((t) => t.version === r.body.version && !oldIds.includes(t.id))).toBe(true);
    expect(after.tasksHealthy).toBe(2);
    expect(await getDeployments(s)).toEqual([]);

    // minimumHealthCapacity 1 (default): no old task dies before a new one is healthy.
    const log = s.eventLog;
    const firstNewHealthy = log.findIndex(
      (e) => e.eventType === 'health_status_changed_event' && e['version'] === r.body.version && e['alive'],
    );
    const firstOldKilled = log.findIndex(
      (e) =>
        e.eventType === 'status_update_event' &&
        e['taskStatus'] === 'TASK_KILLED' &&
        oldIds.includes(String(e['taskId'])),
    );
    expect(firstNewHealthy).toBeGreaterThanOrEqual(0);
    expect(firstOldKilled).toBeGreaterThan(firstNewHealthy);
  });

  test('restart strategy: minimumHealthCapacity 0.5, maximumOverCapacity 0 kills half at once', async () => {
    const s = await sim({ timeScale: 0 });
    const strategy = {
      upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 },
      instances: 4,
    };
    const before = await deployed(s, 'reg/web:1', strategy);
    const oldIds = before.tasks.map((t) => t.id);
    const r = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', webApp('reg/web:2', strategy));
    expect(r.status).toBe(200);
    // Right after the PUT: minHealthy = 2 → 2 old killed at once; maxCapacity = 4 → 2 new launched.
    const view = s.app('/web');
    expect(view?.tasks.filter((t) => oldIds.includes(t.id))).toHaveLength(2);
    expect(view?.tasks.filter((t) => t.version === r.body.version)).toHaveLength(2);
    s.advance(120);
    await deploymentGone(s, r.body.deploymentId);
    expect(s.app('/web')?.tasks.map((t) => t.version)).toEqual(Array(4).fill(r.body.version));
  });

  test('an unchanged definition is a plan without steps: done at once, version unchanged', async () => {
    const s = await sim();
    const before = await deployed(s, 'reg/web:1');
    const r = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', webApp('reg/web:1'));
    expect(r.status).toBe(200);
    expect(r.headers.get('marathon-deployment-id')).toBe(r.body.deploymentId);
    expect(await getDeployments(s)).toEqual([]);
    expect(events(s, 'deployment_success').some((e) => e['id'] === r.body.deploymentId)).toBe(true);
    const after = await getApp(s, '/web');
    expect(after.version).toBe(before.version);
    expect(after.tasks.map((t) => t.id).sort()).toEqual(before.tasks.map((t) => t.id).sort());
    const versions = await call<{ versions: string[] }>(s, 'GET', '/v2/apps/web/versions');
    expect(versions.body.versions).toEqual([before.version]);
  });

  test('scale-only change is a ScaleApplication step that keeps lastConfigChangeAt', async () => {
    const s = await sim({ timeScale: 0 });
    const before = await deployed(s, 'reg/web:1');
    const r = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', { instances: 3 });
    const dep = (await getDeployments(s)).find((d) => d.id === r.body.deploymentId);
    expect(dep?.steps).toEqual([{ actions: [{ action: 'ScaleApplication', app: '/web' }] }]);
    s.advance(60);
    await deploymentGone(s, r.body.deploymentId);
    const after = await getApp(s, '/web');
    expect(after.tasks).toHaveLength(3);
    expect(after.versionInfo).toEqual({
      lastScalingAt: r.body.version,
      lastConfigChangeAt: before.versionInfo.lastConfigChangeAt,
    });
    // The two original tasks survive a scale-up.
    expect(before.tasks.every((t) => after.tasks.some((a) => a.id === t.id))).toBe(true);
  });

  test('409 while another deployment holds the lock; ?force=true cancels it and proceeds', async () => {
    const s = await sim();
    await deployed(s, 'reg/web:1');
    const lockId = s.lockApp('/web', 3600);
    const locked = await call<ErrorBody>(s, 'PUT', '/v2/apps/web', webApp('reg/web:2'));
    expect(locked.status).toBe(409);
    expect(locked.body).toEqual({ message: LOCKED, deployments: [{ id: lockId }] });
    expect((await getApp(s, '/web')).container?.docker?.image).toBe('reg/web:1');

    const forced = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web?force=true', webApp('reg/web:2'));
    expect(forced.status).toBe(200);
    const failed = events(s, 'deployment_failed').find((e) => e['id'] === lockId);
    expect(failed?.['reason']).toBe('The upgrade has been cancelled');
    expect((await getDeployments(s)).map((d) => d.id)).not.toContain(lockId);
    await deploymentGone(s, forced.body.deploymentId);
    expect((await getApp(s, '/web')).container?.docker?.image).toBe('reg/web:2');
  });

  test('DELETE /v2/apps/{id} stops the app', async () => {
    const s = await sim();
    await deployed(s, 'reg/web:1');
    const r = await call<DeploymentResult>(s, 'DELETE', '/v2/apps/web');
    expect(r.status).toBe(200);
    expect(r.headers.get('marathon-deployment-id')).toBe(r.body.deploymentId);
    expect((await call<ErrorBody>(s, 'GET', '/v2/apps/web')).status).toBe(404);
    await deploymentGone(s, r.body.deploymentId);
    expect(events(s, 'status_update_event').filter((e) => e['taskStatus'] === 'TASK_KILLED')).toHaveLength(2);
  });
});

describe('Marathon simulator: cancelling and rolling back', () => {
  test('DELETE /v2/deployments/{id}: 200 + a new revert deployment; the app returns to the old definition', async () => {
    const s = await sim({ scenarios: { 'reg/web:2': { kind: 'never-healthy' } } });
    const v1 = await deployed(s, 'reg/web:1');
    const up = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', webApp('reg/web:2'));
    await s.waitFor(() =>
      s.app('/web')?.tasks.some((t) => t.version === up.body.version && t.state === 'TASK_RUNNING'),
    );

    const revert = await call<DeploymentResult>(s, 'DELETE', `/v2/deployments/${up.body.deploymentId}`);
    expect(revert.status).toBe(200);
    expect(revert.headers.get('marathon-deployment-id')).toBe(revert.body.deploymentId);
    expect(revert.body.deploymentId).not.toBe(up.body.deploymentId);
    const failed = events(s, 'deployment_failed').find((e) => e['id'] === up.body.deploymentId);
    expect(failed?.['reason']).toBe('The upgrade has been cancelled');

    await deploymentGone(s, revert.body.deploymentId);
    const app = await getApp(s, '/web');
    expect(app.container?.docker?.image).toBe('reg/web:1');
    // Marathon's revert is a new deployment: the definition is the old one, the version is new.
    expect(app.version).toBe(revert.body.version);
    const oldDef = (await call<JsonObject>(s, 'GET', `/v2/apps/web/versions/${v1.version}`)).body;
    const strip = (o: JsonObject): JsonObject =>
      Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'version' && k !== 'versionInfo'));
    const current = (await call<JsonObject>(s, 'GET', `/v2/apps/web/versions/${app.version}`)).body;
    expect(strip(current)).toEqual(strip(oldDef));
    expect(app.tasks.every((t) => t.version === revert.body.version)).toBe(true);
    expect(app.tasks).toHaveLength(2);
  });

  test('DELETE /v2/deployments/{id}?force=true: 202, no body, no revert', async () => {
    const s = await sim({ scenarios: { 'reg/web:2': { kind: 'never-healthy' } } });
    await deployed(s, 'reg/web:1');
    const up = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', webApp('reg/web:2'));
    const r = await call(s, 'DELETE', `/v2/deployments/${up.body.deploymentId}?force=true`);
    expect(r.status).toBe(202);
    expect(r.text).toBe('');
    expect(await getDeployments(s)).toEqual([]);
    expect(events(s, 'deployment_failed').map((e) => e['id'])).toEqual([up.body.deploymentId]);
    expect((await getApp(s, '/web')).container?.docker?.image).toBe('reg/web:2');

    const missing = await call<ErrorBody>(s, 'DELETE', '/v2/deployments/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ message: 'DeploymentPlan nope does not exist' });
  });

  test('cancelling the deployment that created an app removes the app again', async () => {
    const s = await sim({ timeScale: 0 });
    const created = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', webApp('reg/web:1'));
    expect(created.status).toBe(201);
    const revert = await call<DeploymentResult>(s, 'DELETE', `/v2/deployments/${created.body.deploymentId}`);
    expect(revert.status).toBe(200);
    expect((await call(s, 'GET', '/v2/apps/web')).status).toBe(404);
    s.advance(1);
    await deploymentGone(s, revert.body.deploymentId);
    expect(s.apps()).toEqual([]);
  });

  test('PUT {"version": ts} rolls back to a stored version (as a new version)', async () => {
    const s = await sim();
    const v1 = await deployed(s, 'reg/web:1');
    const up = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', webApp('reg/web:2'));
    await deploymentGone(s, up.body.deploymentId);

    const back = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', { version: v1.version });
    expect(back.status).toBe(200);
    expect(Date.parse(back.body.version)).toBeGreaterThan(Date.parse(up.body.version));
    await deploymentGone(s, back.body.deploymentId);
    const app = await getApp(s, '/web');
    expect(app.container?.docker?.image).toBe('reg/web:1');
    expect(app.version).toBe(back.body.version);
    const versions = (await call<{ versions: string[] }>(s, 'GET', '/v2/apps/web/versions')).body.versions;
    expect(versions).toEqual([back.body.version, up.body.version, v1.version]);

    const unknown = await call<ErrorBody>(s, 'PUT', '/v2/apps/web', { version: '2001-01-01T00:00:00.000Z' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ message: "App '/web' does not exist" });
    const mixed = await call<ErrorBody>(s, 'PUT', '/v2/apps/web', { version: v1.version, cmd: 'x' });
    expect(mixed.status).toBe(422);
    expect(mixed.body.details).toEqual([
      { path: '/', errors: ["The 'version' field may only be combined with the 'id' field."] },
    ]);
  });
});

describe('Marathon simulator: scenarios', () => {
  test('never-healthy: the deployment never completes; unhealthy tasks are killed and relaunched forever', async () => {
    const s = await sim({ timeScale: 5000, scenarios: { 'reg/web:2': { kind: 'never-healthy' } } });
    const v1 = await deployed(s, 'reg/web:1');
    const up = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', webApp('reg/web:2'));
    await s.waitFor(() => (s.app('/web')?.stats.killedUnhealthy ?? 0) >= 4, { message: 'kills' });

    const deployments = await getDeployments(s);
    expect(deployments.map((d) => d.id)).toEqual([up.body.deploymentId]);
    const app = await getApp(s, '/web');
    expect(app.tasks.filter((t) => t.version === v1.version)).toHaveLength(2); // minHealthy = 2: old ones stay
    expect(app.lastTaskFailure).toMatchObject({ state: 'TASK_KILLED', version: up.body.version });
    expect(app.lastTaskFailure?.message).toBe(
      'Task was killed since health check failed. Reason: 503 Service Unavailable',
    );
    const kills = events(s, 'unhealthy_instance_kill_event');
    expect(kills.length).toBeGreaterThanOrEqual(4);
    expect(kills.every((e) => e['version'] === up.body.version)).toBe(true);
    expect(events(s, 'failed_health_check_event').length).toBeGreaterThanOrEqual(8);
    expect(events(s, 'deployment_failed')).toEqual([]);
    // No failure is counted inside the 10 s grace period.
    for (const k of kills) {
      const task = events(s, 'status_update_event').find(
        (e) => e['taskId'] === k['taskId'] && e['taskStatus'] === 'TASK_RUNNING',
      );
      expect(Date.parse(k.timestamp) - Date.parse(String(task?.timestamp))).toBeGreaterThanOrEqual(10_000);
    }
  });

  test('crash-loop: TASK_FAILED, lastTaskFailure carries the new version, relaunch with backoff', async () => {
    const s = await sim({
      timeScale: 5000,
      scenarios: { 'reg/web': { kind: 'crash-loop', crashAfterSeconds: 3, message: 'boom' } },
    });
    await deployed(s, 'other/web:1');
    const up = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', webApp('reg/web:2'));
    await s.waitFor(() => (s.app('/web')?.stats.failed ?? 0) >= 4, { message: 'crashes' });
    const app = await getApp(s, '/web');
    expect(app.lastTaskFailure).toMatchObject({
      state: 'TASK_FAILED',
      message: 'boom',
      version: up.body.version,
    });
    expect(app.deployments).toEqual([{ id: up.body.deploymentId }]);

    // Every relaunch waits for the backoff (backoffSeconds 1 × 1.15^n) after the failure before it.
    const log = s.eventLog.filter(
      (e) => e.eventType === 'status_update_event' && e['version'] === up.body.version,
    );
    const failures = log.filter((e) => e['taskStatus'] === 'TASK_FAILED').map((e) => Date.parse(e.timestamp));
    const stagings = log
      .filter((e) => e['taskStatus'] === 'TASK_STAGING')
      .map((e) => Date.parse(e.timestamp));
    expect(failures.length).toBeGreaterThanOrEqual(4);
    const firstFailure = failures[0] ?? 0;
    const relaunch = stagings.find((t) => t > firstFailure);
    expect(relaunch).toBeDefined();
    expect((relaunch ?? 0) - firstFailure).toBeGreaterThanOrEqual(1000);
  });

  test('slow readiness gates the deployment and shows readinessCheckResults', async () => {
    const s = await sim({
      timeScale: 500,
      scenarios: { 'reg/web:2': { kind: 'slow-readiness', readySeconds: 60 } },
    });
    await deployed(s, 'reg/web:1');
    const readiness = {
      readinessChecks: [
        { name: 'ready', protocol: 'HTTP', path: '/ready', portName: 'http', intervalSeconds: 5 },
      ],
    };
    const start = s.now();
    const up = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', webApp('reg/web:2', readiness));
    let seen = false;
    const deadline = Date.now() + 5000;
    for (;;) {
      const dep = (await getDeployments(s)).find((d) => d.id === up.body.deploymentId);
      if (!dep) break;
      if (dep.currentActions[0]?.readinessCheckResults.some((r) => !r.ready)) seen = true;
      if (Date.now() > deadline) throw new Error('slow readiness deployment did not finish');
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(seen).toBe(true);
    const done = events(s, 'deployment_success').find((e) => e['id'] === up.body.deploymentId);
    expect(Date.parse(String(done?.timestamp)) - start).toBeGreaterThanOrEqual(65_000);
  });

  test('instant: the deployment is over before the first poll', async () => {
    const s = await sim({ timeScale: 1, scenarios: { 'reg/web': { kind: 'instant' } } });
    const created = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', webApp('reg/web:1'));
    expect(created.status).toBe(201);
    expect(await getDeployments(s)).toEqual([]);
    const up = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', webApp('reg/web:2'));
    expect(await getDeployments(s)).toEqual([]);
    const app = await getApp(s, '/web');
    expect(app.tasks.map((t) => t.version)).toEqual([up.body.version, up.body.version]);
    expect(app.tasksHealthy).toBe(2);
    expect(events(s, 'deployment_success').map((e) => e['id'])).toContain(up.body.deploymentId);
  });
});

describe('Marathon simulator: errors, auth, events, fidelity', () => {
  test('422 validation and 400 invalid JSON bodies', async () => {
    const s = await sim();
    const post = (body: unknown): Promise<Reply<ErrorBody>> => call<ErrorBody>(s, 'POST', '/v2/apps', body);

    const badId = await post({ id: '/Bad_Id', cmd: 'sleep 1' });
    expect(badId.status).toBe(422);
    expect(badId.body.message).toBe('Object is not valid');
    expect(badId.body.details?.[0]?.path).toBe('/id');
    expect(badId.body.details?.[0]?.errors[0]).toMatch(/^must fully match regular expression /);

    const both = await post({ id: '/x', cmd: 'sleep 1', args: ['a'] });
    expect(both.status).toBe(422);
    expect(both.body.details).toEqual([
      {
        path: '/',
        errors: ["AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."],
      },
    ]);

    const strategy = await post({ id: '/x', cmd: 'a', upgradeStrategy: { minimumHealthCapacity: 1.2 } });
    expect(strategy.status).toBe(422);
    expect(strategy.body).toEqual({
      message: 'Object is not valid',
      details: [{ path: '/upgradeStrategy/minimumHealthCapacity', errors: ['is greater than 1'] }],
    });
    const over = await post({ id: '/x', cmd: 'a', upgradeStrategy: { maximumOverCapacity: -0.1 } });
    expect(over.body.details).toEqual([
      { path: '/upgradeStrategy/maximumOverCapacity', errors: ['is less than 0'] },
    ]);

    const negative = await post({ id: '/x', cmd: 'a', instances: -1 });
    expect(negative.status).toBe(422);
    expect(negative.body.details?.[0]?.path).toBe('/instances');

    const noImage = await post({ id: '/x', container: { type: 'DOCKER', docker: { forcePullImage: true } } });
    expect(noImage.status).toBe(422);
    expect(noImage.body.details).toEqual([
      { path: '/container/docker/image', errors: ['must not be empty'] },
    ]);

    const syntax = await post('{"id": "/x",');
    expect(syntax.status).toBe(400);
    expect(syntax.body.message).toBe('Invalid JSON');
    expect(syntax.body.details?.[0]?.path).toBe('/');

    const wrongType = await post({ id: 5, cmd: 'a' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body).toEqual({
      message: 'Invalid JSON',
      details: [{ path: '/id', errors: ['error.expected.jsstring'] }],
    });
    const upperCase = await post({ ...SCENARIO_APP, id: '/appName' });
    expect(upperCase.status).toBe(422);
    expect(upperCase.body.details?.map((d) => d.path)).toEqual(['/id']);
    expect(s.apps()).toEqual([]);
  });

  test('404 bodies', async () => {
    const s = await sim();
    expect((await call(s, 'GET', '/v2/apps/nope')).body).toEqual({ message: "App '/nope' does not exist" });
    expect((await call(s, 'GET', '/v2/apps/nope')).status).toBe(404);
    expect((await call(s, 'DELETE', '/v2/apps/a/b')).body).toEqual({ message: "App '/a/b' does not exist" });
    expect((await call(s, 'GET', '/v2/apps/nope/versions')).status).toBe(404);
    await deployed(s, 'reg/web:1');
    const v = await call<ErrorBody>(s, 'GET', '/v2/apps/web/versions/2001-01-01T00:00:00.000Z');
    expect(v.status).toBe(404);
  });

  test('auth: basic and token accepted; 401 and 403 bodies', async () => {
    const s = await sim({
      auth: { basic: { user: 'ci', password: 's3cret' }, token: 'jwt-1', readOnlyToken: 'jwt-ro' },
    });
    const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

    // --http_credentials: Jetty answers, with its HTML error page; /ping needs credentials too.
    const none = await fetch(`${s.url}/v2/apps`, { headers: { Accept: 'text/html' } });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('basic realm="null"');
    expect(none.headers.get('content-type')).toBe('text/html;charset=iso-8859-1');
    expect(await none.text()).toContain('<title>Error 401 Unauthorized</title>');
    const jsonOnly = await call<ErrorBody>(s, 'GET', '/v2/apps');
    expect(jsonOnly.status).toBe(401);
    expect((await fetch(`${s.url}/ping`)).status).toBe(401);
    expect(
      (await call(s, 'GET', '/v2/apps', undefined, { Authorization: basic('ci', 'wrong') })).status,
    ).toBe(401);
    expect((await call(s, 'GET', '/v2/apps', undefined, { Authorization: 'token=jwt-2' })).status).toBe(401);

    expect(
      (await call(s, 'GET', '/v2/apps', undefined, { Authorization: basic('ci', 's3cret') })).status,
    ).toBe(200);
    expect((await call(s, 'GET', '/v2/apps', undefined, { Authorization: 'token=jwt-1' })).status).toBe(200);
    expect((await call(s, 'GET', '/v2/apps', undefined, { Authorization: 'token=jwt-ro' })).status).toBe(200);
    const forbidden = await call<ErrorBody>(s, 'PUT', '/v2/apps/web', webApp('reg/web:1'), {
      Authorization: 'token=jwt-ro',
    });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toEqual({ message: 'Not Authorized to perform this action!' });
    expect(s.apps()).toEqual([]);
    expect((await fetch(`${s.url}/ping`, { headers: { Authorization: 'token=jwt-1' } })).status).toBe(200);
    expect(s.requests.map((r) => r.headers['authorization'])).toContain('token=jwt-ro');
  });

  test('SSE: 405 without Accept; event_type filter; first frame event_stream_attached', async () => {
    const s = await sim();
    const plain = await call<ErrorBody>(s, 'GET', '/v2/events');
    expect(plain.status).toBe(405);

    const abort = new AbortController();
    const res = await fetch(
      `${s.url}/v2/events?event_type=event_stream_attached&event_type=deployment_success&event_type=deployment_failed`,
      {
        headers: { Accept: 'text/event-stream' },
        signal: abort.signal,
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream;charset=UTF-8');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const frames: Array<{ event: string; data: JsonObject }> = [];
    let buffer = '';
    const readUntil = async (done: () => boolean): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (!done()) {
        if (Date.now() > deadline)
          throw new Error(`no matching frame; got ${frames.map((f) => f.event).join(',')}`);
        const chunk = await reader.read();
        if (chunk.done) throw new Error('stream ended');
        buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, '\n');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1] ?? '';
          const data = JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? '{}') as JsonObject;
          frames.push({ event, data });
        }
      }
    };
    await readUntil(() => frames.length >= 1);
    expect(frames[0]?.event).toBe('event_stream_attached');

    const r = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', webApp('reg/web:1'));
    await readUntil(() =>
      frames.some((f) => f.event === 'deployment_success' && f.data['id'] === r.body.deploymentId),
    );
    abort.abort();
    await reader.cancel().catch(() => undefined);
    expect(new Set(frames.slice(1).map((f) => f.event))).toEqual(new Set(['deployment_success']));
    expect(frames.find((f) => f.event === 'deployment_success')?.data['eventType']).toBe(
      'deployment_success',
    );
    // The unfiltered log saw much more.
    expect(events(s, 'status_update_event').length).toBeGreaterThan(0);

    // A filter that does not name event_stream_attached does not get it (Marathon filters it like any type).
    const quiet = new AbortController();
    const filtered = await fetch(`${s.url}/v2/events?event_type=deployment_success`, {
      headers: { Accept: 'text/event-stream' },
      signal: quiet.signal,
    });
    const again = await call<DeploymentResult>(s, 'PUT', '/v2/apps/web', webApp('reg/web:2'));
    const first = await (filtered.body as ReadableStream<Uint8Array>).getReader().read();
    quiet.abort();
    expect(decoder.decode(first.value)).toMatch(/^event: deployment_success\r\n/);
    expect(again.status).toBe(200);
  });

  test("normalization: the users' app comes back in Marathon 1.10's form (the recorded contract); partialUpdate semantics", async () => {
    const s = await sim();
    const sent = readContract('qa-deploy.put.json');
    const put = await call<DeploymentResult>(s, 'PUT', '/v2/apps/appname', sent);
    expect(put.status).toBe(201);
    await deploymentGone(s, put.body.deploymentId);
    const definition = (app: JsonObject): JsonObject =>
      Object.fromEntries(Object.entries(app).filter(([k]) => !COMPUTED.has(k)));
    const recorded = readContract('qa-deploy.get.json')['app'] as JsonObject;
    const app = await getApp(s, '/appname');
    expect(definition(app as unknown as JsonObject)).toEqual(definition(recorded));
    expect(app.tasksHealthy).toBe(2);
    // The same body again: no new version, no deployment (a label or a field compared as sent would restart it).
    const again = await call<DeploymentResult>(s, 'PUT', '/v2/apps/appname', sent);
    expect(again.body.version).not.toBe(app['version']); // a fresh version in the answer…
    expect((await getApp(s, '/appname'))['version']).toBe(app['version']); // …but the app keeps its own
    expect(s.app('/appname')?.versions).toHaveLength(1);

    // partialUpdate=true (default): only the given top-level fields change.
    const scaled = await call<DeploymentResult>(s, 'PUT', '/v2/apps/appname', { instances: 3, labels: null });
    await deploymentGone(s, scaled.body.deploymentId);
    const afterScale = await getApp(s, '/appname');
    expect(definition({ ...(afterScale as unknown as JsonObject), instances: 2 })).toEqual(
      definition(app as unknown as JsonObject),
    );
    expect(afterScale.instances).toBe(3);

    // partialUpdate=false: the body replaces the definition; absent fields are back to defaults.
    const { labels: _labels, uris: _uris, ...rest } = sent;
    const replaced = await call<DeploymentResult>(s, 'PUT', '/v2/apps/appname?partialUpdate=false', rest);
    expect(replaced.status).toBe(200);
    const afterReplace = await getApp(s, '/appname');
    expect(afterReplace['fetch']).toBeUndefined();
    expect(afterReplace['labels']).toEqual({});
    expect(afterReplace.instances).toBe(2);
    expect(afterReplace['networks']).toEqual([{ name: 'calico-net', mode: 'container' }]);
  });

  test('failure injection, request log, info and ping', async () => {
    const s = await sim();
    s.failNext(1, { method: 'GET', pathPrefix: '/v2/apps' });
    const failed = await call<ErrorBody>(s, 'GET', '/v2/apps');
    expect(failed.status).toBe(503);
    expect((await call(s, 'GET', '/v2/apps')).status).toBe(200);
    expect((await call<{ name: string }>(s, 'GET', '/v2/info')).body.name).toBe('marathon');
    const r = await call(s, 'PUT', '/v2/apps/web?force=true', webApp('reg/web:1'));
    expect(r.status).toBe(201);
    const put = s.requests.find((q) => q.method === 'PUT');
    expect(put).toMatchObject({ path: '/v2/apps/web', url: '/v2/apps/web?force=true' });
    expect(JSON.parse(put?.body ?? '{}')).toEqual(webApp('reg/web:1'));
  });
});

describe('Marathon simulator: scenario selection and CLI options', () => {
  test('images match exactly, without digest, or by repository', () => {
    expect(imageKeys('reg:5000/team/app:1.2@sha256:ab')).toEqual([
      'reg:5000/team/app:1.2@sha256:ab',
      'reg:5000/team/app:1.2',
      'reg:5000/team/app',
    ]);
    const map = new Map([
      ['reg:5000/team/app', { kind: 'crash-loop' as const }],
      ['reg:5000/team/app:2', { kind: 'instant' as const }],
    ]);
    expect(lookupScenario(map, 'reg:5000/team/app:1@sha256:ff', { kind: 'healthy' }).kind).toBe('crash-loop');
    expect(lookupScenario(map, 'reg:5000/team/app:2', { kind: 'healthy' }).kind).toBe('instant');
    expect(lookupScenario(map, 'other', { kind: 'healthy' }).kind).toBe('healthy');
  });

  test('scenario and CLI parsing', () => {
    expect(parseScenario('crash-loop:crashAfterSeconds=30,message=boom')).toEqual({
      kind: 'crash-loop',
      crashAfterSeconds: 30,
      message: 'boom',
    });
    expect(parseScenarioAssignment('myimage=slow-readiness:readySeconds=120')).toEqual({
      image: 'myimage',
      scenario: { kind: 'slow-readiness', readySeconds: 120 },
    });
    expect(() => parseScenario('flaky')).toThrow(/unknown scenario/);
    expect(() => parseScenario('healthy:readySeconds=3')).toThrow(/no parameter/);
    const opts = optionsFromArgs(['--port', '0', '--time-scale', '60', '--scenario', 'myimage=crash-loop']);
    expect(opts).toMatchObject({ port: 0, timeScale: 60, scenarios: { myimage: { kind: 'crash-loop' } } });
  });
});
