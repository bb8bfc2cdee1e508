/**
 * The recorded Marathon 1.10 answers (test/fixtures/marathon/contract/, written from Marathon's source) against both
 * sides: the client reads each one served byte for byte, and the simulator answers in the same form. A simulator
 * that drifts from Marathon's form, or a client that cannot read it, fails here.
 */
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { closeHttpPools } from '../../packages/core/src/http/http.js';
import { quietLogger } from '../harness/logger.js';
import { MarathonClient, type MarathonEvent } from '../../packages/core/src/marathon/client.js';
import type { JsonObject } from '../../packages/core/src/util/json.js';
import { repoRoot } from '../harness/runner.js';
import { startMarathonSim, type MarathonSim } from '../sim/marathon/server.js';

const CONTRACT = join(repoRoot, 'test', 'fixtures', 'marathon', 'contract');
const text = (name: string): string => readFileSync(join(CONTRACT, name), 'utf8');
const json = (name: string): JsonObject => JSON.parse(text(name)) as JsonObject;

const quiet = quietLogger;

const servers: Server[] = [];
const sims: MarathonSim[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await Promise.all(sims.splice(0).map((s) => s.close()));
});
afterAll(() => closeHttpPools());

/** Serves recorded answers as they are: `METHOD path` → [status, content type, file]. */
async function recorded(routes: Record<string, [number, string, string]>): Promise<MarathonClient> {
  const server = createServer((req, res) => {
    const route = routes[`${req.method} ${(req.url ?? '').split('?')[0]}`];
    req.resume();
    if (!route)
      return void res
        .writeHead(404, { 'Content-Type': 'application/json' })
        .end('{"message":"URI not found"}');
    const [status, type, file] = route;
    res.writeHead(status, { 'Content-Type': type });
    res.end(readFileSync(join(CONTRACT, file)));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return new MarathonClient({ url, auth: { kind: 'none' }, log: quiet, registerSecret: () => undefined });
}

const JSON_TYPE = 'application/json';

describe('the client reads Marathon 1.10’s answers as recorded', () => {
  test('an app during a deployment: a killed task listed without version, Mesos-side health results', async () => {
    const c = await recorded({ 'GET /v2/apps/appname': [200, JSON_TYPE, 'app-failed-task.get.json'] });
    const app = await c.getApp('/appname');
    expect(app?.tasks.map((t) => [t.state, t.version])).toEqual([
      ['TASK_RUNNING', '2026-10-01T08:00:00.000Z'],
      ['TASK_RUNNING', '2026-11-29T11:00:00.000Z'],
      ['TASK_KILLED', ''],
    ]);
    expect(app?.lastTaskFailure).toBeUndefined();
    expect(app?.deployments).toEqual(['7d0b5e1a-9a52-4d7e-8f3b-2f6c1d0e9a41']);
    expect(app?.lastConfigChangeAt).toBe('2026-11-29T11:00:00.000Z');
  });

  test('deployments with readiness results; an unchanged PUT’s fresh version', async () => {
    const c = await recorded({
      'GET /v2/deployments': [200, JSON_TYPE, 'deployments.get.json'],
      'PUT /v2/apps/appname': [200, JSON_TYPE, 'put-unchanged.json'],
    });
    expect(await c.deployments()).toEqual([
      {
        id: '7d0b5e1a-9a52-4d7e-8f3b-2f6c1d0e9a41',
        version: '2026-11-29T11:00:00.000Z',
        affectedApps: ['/appname'],
        currentStep: 1,
        totalSteps: 1,
        actions: ['RestartApplication'],
        readiness: [
          {
            taskId: 'appname.instance-5e21a9c0-b1d4-11ee-9d3a-0242ac110002._app.2',
            ready: false,
            name: 'readiness',
          },
        ],
      },
    ]);
    expect(await c.putApp('/appname', json('qa-deploy.put.json'))).toEqual({
      kind: 'deployed',
      created: false,
      deploymentId: '0e1f6a55-3c2b-4c9d-b7a8-5d4e3f2a1b0c',
      version: '2026-11-29T12:00:00.000Z',
    });
  });

  test('the event stream: CRLF frames, a heartbeat line, attached first, a Mesos-side kill', async () => {
    const c = await recorded({ 'GET /v2/events': [200, 'text/event-stream;charset=UTF-8', 'events.sse'] });
    const events: MarathonEvent[] = [];
    let attached = 0;
    const stop = new AbortController();
    await c.followEvents(
      ['deployment_success', 'status_update_event'],
      (e) => {
        events.push(e);
        if (e.eventType === 'deployment_success') stop.abort();
      },
      stop.signal,
      () => attached++,
    );
    expect(attached).toBe(1);
    expect(events.map((e) => e.eventType)).toEqual([
      'deployment_info',
      'status_update_event',
      'deployment_success',
    ]);
    expect(events[1]?.data).toMatchObject({
      taskStatus: 'TASK_KILLED',
      message: 'Command terminated with signal Terminated',
    });
  });

  test('errors: 403 at the deployment limit is "busy", 409 names the lock, 422 and Jetty’s 401 read as one line', async () => {
    const c = await recorded({
      'PUT /v2/apps/appname': [403, JSON_TYPE, 'errors/403-too-many-deployments.json'],
      'PUT /v2/apps/locked': [409, JSON_TYPE, 'errors/409-locked.json'],
      'PUT /v2/apps/mixed': [422, JSON_TYPE, 'errors/422-mixed-networks.json'],
      'GET /v2/apps/appname': [401, 'text/html;charset=iso-8859-1', 'errors/401-jetty.html'],
    });
    expect(await c.putApp('/appname', {})).toEqual({
      kind: 'busy',
      message: expect.stringMatching(/^Max number \(100\) of running deployments is achieved\./),
    });
    expect(await c.putApp('/locked', {})).toEqual({
      kind: 'locked',
      deploymentIds: ['7d0b5e1a-9a52-4d7e-8f3b-2f6c1d0e9a41'],
    });
    await expect(c.putApp('/mixed', {})).rejects.toThrow(
      /answered HTTP 422 Object is not valid \(\/: cannot mix deprecated and canonical network APIs\)$/,
    );
    const e = await c.getApp('/appname').catch((x: Error) => x);
    expect((e as Error).message).toMatch(
      /answered HTTP 401 Error 401 Unauthorized: Marathon requires credentials/,
    );
    expect((e as Error).message).not.toMatch(/<|HTTP ERROR/);
  });
});

describe('the simulator answers in the recorded form', () => {
  const keys = (o: unknown): string[] => Object.keys(o as object).sort();

  test('a failed task keeps its instance, listed without version until relaunched as the next incarnation', async () => {
    // The clock moves only when the test says: every state is seen, however busy the machine.
    const s = await startMarathonSim({
      timeScale: 0,
      scenarios: { 'reg/app:2': { kind: 'crash-loop', crashAfterSeconds: 10 } },
    });
    sims.push(s);
    await fetch(`${s.url}/v2/apps/app`, {
      method: 'PUT',
      body: JSON.stringify({
        id: '/app',
        cmd: 'x',
        backoffSeconds: 600,
        container: { docker: { image: 'reg/app:2' } },
      }),
    });
    const recordedTask = (json('app-failed-task.get.json')['app'] as { tasks: JsonObject[] })
      .tasks[2] as JsonObject;
    const tasksOf = async (): Promise<JsonObject[]> =>
      ((await (await fetch(`${s.url}/v2/apps/app`)).json()) as { app: { tasks: JsonObject[] } }).app.tasks;
    s.advance(20); // staged, running at +5 s, crashed at +15 s; the relaunch waits for its 600 s backoff
    const [task] = await tasksOf();
    expect(task?.['state']).toBe('TASK_FAILED');
    expect(keys(task)).toEqual(keys(recordedTask));
    expect(task?.['id']).toMatch(/^app\.instance-[0-9a-f-]{36}\._app\.1$/);
    // The backoff (600 s, capped at maxLaunchDelaySeconds: 300, Marathon 1.10's default) is over at +315 s:
    // relaunched in the same instance, as its next incarnation.
    s.advance(296);
    const relaunched = await tasksOf();
    expect(relaunched.map((t) => [t['id'], t['state']])).toEqual([
      [String(task?.['id']).replace(/\._app\.1$/, '._app.2'), 'TASK_STAGING'],
    ]);
  });

  test('deployments, the 403 at the deployment limit and the SSE framing have the recorded shape', async () => {
    const s = await startMarathonSim({ timeScale: 0, maxRunningDeployments: 1 });
    sims.push(s);
    const put = (id: string) =>
      fetch(`${s.url}/v2/apps/${id}`, {
        method: 'PUT',
        body: JSON.stringify({ id: `/${id}`, cmd: 'sleep 1' }),
      });
    await put('appname');
    const [dep] = (await (await fetch(`${s.url}/v2/deployments`)).json()) as JsonObject[];
    const recordedDep = (JSON.parse(text('deployments.get.json')) as JsonObject[])[0];
    expect(keys(dep)).toEqual(keys(recordedDep));
    expect(keys((dep?.['currentActions'] as JsonObject[])[0])).toEqual(
      keys((recordedDep?.['currentActions'] as JsonObject[])[0]),
    );
    const busy = await put('other');
    expect([busy.status, await busy.json()]).toEqual([
      403,
      {
        message: expect.stringContaining(
          'Max number (1) of running deployments is achieved. Wait for existing deployments to complete or cancel oneusing force=true',
        ),
      },
    ]);
    const again = await fetch(`${s.url}/v2/apps/appname`, {
      method: 'PUT',
      body: JSON.stringify({ id: '/appname', cmd: 'sleep 2' }),
    });
    expect(again.status).toBe(403); // the limit is checked before the lock
    const events = await fetch(`${s.url}/v2/events`, { headers: { Accept: 'text/event-stream' } });
    const reader = (events.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(first).toMatch(
      /^event: event_stream_attached\r\ndata: \{.*"eventType":"event_stream_attached".*\}\r\n\r\n$/,
    );
  });
});
