/**
 * The Kubernetes simulator checked against a real client: every scenario drives /usr/bin/kubectl (the 1.32 client the
 * dispatcher picks from the simulator's /version) with a fresh HOME (its discovery cache) and a kubeconfig pointing at
 * the simulator, then looks at what kubectl printed and at what the simulator stored. Direct HTTP tests cover what
 * kubectl does not show plainly: watch resumption, 410 Expired, bookmarks, Status errors, selectors, pagination.
 *
 * Time: the simulator runs at 50 simulated seconds per real second; nothing sleeps, every wait polls with a deadline.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../harness/runner.js';
import { optionsFromArgs } from './kube/main.js';
import { scenarioFromImage, parseScenarioAssignment, fullImageName } from './kube/scenarios.js';
import type { JsonObject, KubeSim, KubeSimOptions } from './kube/server.js';
import { startKubeSim } from './kube/server.js';

const FIXTURES = join(repoRoot, 'test', 'fixtures', 'kube');
const fixture = (name: string): string => join(FIXTURES, name);
const KUBECTL = process.env['KUBECTL'] ?? 'kubectl';

// ----- helpers ------------------------------------------------------------------------------------------------

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const sims: KubeSim[] = [];
let home = '';

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'kube-sim-home-'));
});

afterEach(async () => {
  const all = sims.splice(0);
  const errors = all.flatMap((s) => s.loopErrors.map((e) => e.message));
  await Promise.all(all.map((s) => s.close()));
  expect(errors).toEqual([]);
});

async function sim(opts: KubeSimOptions = {}): Promise<KubeSim> {
  const s = await startKubeSim({ timeScale: 50, ...opts });
  sims.push(s);
  return s;
}

/** Runs kubectl against `kubeconfig` with this test's HOME; never throws on a non-zero exit. */
function kubectl(kubeconfig: string, args: string[], input?: string, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(KUBECTL, args, {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, KUBECONFIG: kubeconfig },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${KUBECTL} (install kubectl 1.32 or set KUBECTL): ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

/** kubectl that must succeed. */
async function ok(kubeconfig: string, args: string[], input?: string): Promise<string> {
  const r = await kubectl(kubeconfig, args, input);
  if (r.code !== 0)
    throw new Error(`kubectl ${args.join(' ')} exited ${String(r.code)}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const at = (o: unknown, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>(
      (cur, k) => (cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined),
      o,
    );

const pods = (s: KubeSim, label: string): JsonObject[] =>
  s
    .pods('default')
    .filter((p) =>
      Object.entries((at(p, 'metadata.labels') as Record<string, string>) ?? {}).some(
        ([k, v]) => `${k}=${v}` === label,
      ),
    );

const waitingReason = (p: JsonObject): string | undefined =>
  (at(p, 'status.containerStatuses') as JsonObject[] | undefined)
    ?.map((c) => at(c, 'state.waiting.reason') as string | undefined)
    .find((r) => r !== undefined);

async function api(
  s: KubeSim,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: JsonObject; headers: Headers }> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { 'Content-Type': contentType, Accept: 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as JsonObject, headers: res.headers };
}

/** Reads watch events (one JSON object per line) until `count` arrived or the stream ended. */
async function watchEvents(
  s: KubeSim,
  path: string,
  count: number,
  timeoutMs = 10_000,
): Promise<JsonObject[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const events: JsonObject[] = [];
  try {
    const res = await fetch(`${s.url}${path}`, { signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    while (events.length < count) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) events.push(JSON.parse(line) as JsonObject);
      }
    }
    await reader.cancel().catch(() => undefined);
  } catch (e) {
    if (!(e instanceof Error && e.name === 'AbortError')) throw e;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return events;
}

const configMap = (name: string, data: Record<string, string>): JsonObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data,
});

// ----- kubectl ------------------------------------------------------------------------------------------------

describe('kubectl 1.32 against the simulator', () => {
  test('version, namespaces and nodes', async () => {
    const s = await sim();
    const kc = s.writeKubeconfig();
    expect(await ok(kc, ['version'])).toMatch(/Server Version: v1\.32\.4/);
    const ns = await ok(kc, ['get', 'ns']);
    expect(ns).toMatch(/^NAME\s+STATUS\s+AGE/);
    for (const name of ['default', 'kube-system', 'kube-public'])
      expect(ns).toMatch(new RegExp(`^${name}\\s+Active`, 'm'));
    const nodes = await ok(kc, ['get', 'nodes']);
    expect(nodes.match(/^sim-node-\d\s+Ready/gm)).toHaveLength(3);
    // kubectl 1.32 asks for aggregated discovery first: one document per /api and /apis, no per-group lists.
    const discovery = s.requests.filter((r) => r.path === '/apis');
    expect(discovery.length).toBeGreaterThan(0);
    expect(discovery.every((r) => r.status === 200)).toBe(true);
    expect(s.requests.some((r) => r.path === '/apis/apps/v1')).toBe(false);
  });

  test('legacy discovery (a server without aggregated discovery): kubectl falls back to the group lists', async () => {
    const s = await sim({ aggregatedDiscovery: false });
    const kc = s.writeKubeconfig();
    await ok(kc, ['apply', '--server-side', '-f', fixture('deployment.yaml')]);
    expect(await ok(kc, ['get', 'deployments'])).toMatch(/^web\s+\d\/3\s/m);
    expect(s.requests.some((r) => r.path === '/apis/apps/v1' && r.status === 200)).toBe(true);
    expect(await ok(kc, ['api-resources', '--api-group=apps', '-o', 'name'])).toMatch(/^deployments\.apps$/m);
  });

  test('server-side apply, then rollout status succeeds; the controllers leave what kubectl and clients read', async () => {
    const s = await sim();
    const kc = s.writeKubeconfig();
    expect(await ok(kc, ['apply', '--server-side', '-f', fixture('deployment.yaml')])).toMatch(
      'deployment.apps/web serverside-applied',
    );
    expect(await ok(kc, ['rollout', 'status', 'deployment/web', '--timeout=60s'])).toMatch(
      'deployment "web" successfully rolled out',
    );
    const d = s.get('apps/v1', 'Deployment', 'default', 'web') as JsonObject;
    expect(at(d, 'metadata.generation')).toBe(1);
    expect(at(d, 'metadata.annotations')).toEqual({ 'deployment.kubernetes.io/revision': '1' });
    expect(at(d, 'spec.strategy')).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
    });
    expect(at(d, 'spec.progressDeadlineSeconds')).toBe(600);
    const container = (at(d, 'spec.template.spec.containers') as JsonObject[])[0] as JsonObject;
    expect(container).toMatchObject({
      imagePullPolicy: 'IfNotPresent',
      terminationMessagePolicy: 'File',
      resources: {},
    });
    expect(at(d, 'status')).toMatchObject({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    const conditions = at(d, 'status.conditions') as JsonObject[];
    expect(
      conditions.map((c) => `${String(c['type'])}=${String(c['status'])}/${String(c['reason'])}`),
    ).toEqual(['Available=True/MinimumReplicasAvailable', 'Progressing=True/NewReplicaSetAvailable']);
    const managers = (at(d, 'metadata.managedFields') as JsonObject[]).map(
      (m) =>
        `${String(m['manager'])}/${String(m['operation'])}${m['subresource'] ? `/${String(m['subresource'])}` : ''}`,
    );
    expect(managers).toEqual(
      expect.arrayContaining(['kubectl/Apply', 'kube-controller-manager/Update/status']),
    );
    const [rs] = s.list('apps/v1', 'ReplicaSet', 'default');
    const hash = at(rs, 'metadata.labels.pod-template-hash') as string;
    expect(at(rs, 'metadata.name')).toBe(`web-${hash}`);
    expect(
      (at(rs, 'metadata.annotations') as Record<string, string>)['deployment.kubernetes.io/revision'],
    ).toBe('1');
    expect((at(rs, 'metadata.ownerReferences') as JsonObject[])[0]).toMatchObject({
      kind: 'Deployment',
      name: 'web',
      uid: at(d, 'metadata.uid'),
      controller: true,
    });
    const running = pods(s, 'app=web');
    expect(running).toHaveLength(3);
    for (const p of running) {
      expect(at(p, 'status.phase')).toBe('Running');
      expect(at(p, 'metadata.labels.pod-template-hash')).toBe(hash);
    }
    // Spread over the nodes, as the scheduler's balancing does.
    expect(new Set(running.map((p) => at(p, 'spec.nodeName'))).size).toBe(3);
    const listed = await ok(kc, ['get', 'pods', '-o', 'wide']);
    expect(listed.match(/^web-[a-z0-9]+-[a-z0-9]{5}\s+1\/1\s+Running\s+0\s/gm)).toHaveLength(3);
    expect(
      s.events.some(
        (e) =>
          e.reason === 'ScalingReplicaSet' && e.message === `Scaled up replica set web-${hash} from 0 to 3`,
      ),
    ).toBe(true);
  });

  test('an image update, then rollout undo goes back to the old ReplicaSet with a new revision', async () => {
    const s = await sim();
    const kc = s.writeKubeconfig();
    await ok(kc, ['apply', '--server-side', '-f', fixture('deployment.yaml')]);
    await ok(kc, ['rollout', 'status', 'deployment/web', '--timeout=60s']);
    const first = s.list('apps/v1', 'ReplicaSet', 'default')[0] as JsonObject;
    const firstName = at(first, 'metadata.name');
    await ok(kc, ['set', 'image', 'deployment/web', 'web=registry.example.com/web:2.0']);
    await ok(kc, ['rollout', 'status', 'deployment/web', '--timeout=60s']);
    expect(at(s.get('apps/v1', 'Deployment', 'default', 'web'), 'metadata.generation')).toBe(2);
    expect(s.list('apps/v1', 'ReplicaSet', 'default')).toHaveLength(2);
    expect(await ok(kc, ['rollout', 'undo', 'deployment/web'])).toMatch('deployment.apps/web rolled back');
    expect(await ok(kc, ['rollout', 'status', 'deployment/web', '--timeout=60s'])).toMatch(
      'successfully rolled out',
    );
    const sets = s.list('apps/v1', 'ReplicaSet', 'default');
    expect(sets).toHaveLength(2);
    const reused = sets.find((r) => at(r, 'metadata.name') === firstName) as JsonObject;
    const annotations = at(reused, 'metadata.annotations') as Record<string, string>;
    expect(annotations['deployment.kubernetes.io/revision']).toBe('3');
    expect(annotations['deployment.kubernetes.io/revision-history']).toBe('1');
    expect(at(reused, 'spec.replicas')).toBe(3);
    const d = s.get('apps/v1', 'Deployment', 'default', 'web') as JsonObject;
    expect(
      (at(d, 'metadata.annotations') as Record<string, string>)['deployment.kubernetes.io/revision'],
    ).toBe('3');
    expect((at(d, 'spec.template.spec.containers') as JsonObject[])[0]?.['image']).toBe(
      'registry.example.com/web:1.0',
    );
    const history = await ok(kc, ['rollout', 'history', 'deployment/web']);
    expect(history).toMatch(/^2\s+<none>$/m);
    expect(history).toMatch(/^3\s+<none>$/m);
    // kubectl sent the JSON patch of spec.template and metadata.annotations.
    expect(
      s.requests.some(
        (r) => r.method === 'PATCH' && r.headers['content-type'] === 'application/json-patch+json',
      ),
    ).toBe(true);
  });

  test('a crash-looping image: rollout status does not succeed, get pods shows CrashLoopBackOff, then the progress deadline', async () => {
    const s = await sim();
    const kc = s.writeKubeconfig();
    await ok(kc, ['apply', '--server-side', '-f', fixture('deployment.yaml')]);
    await ok(kc, ['rollout', 'status', 'deployment/web', '--timeout=60s']);
    await ok(kc, ['set', 'image', 'deployment/web', 'web=registry.example.com/web-crash:2.0']);
    const status = await kubectl(kc, ['rollout', 'status', 'deployment/web', '--timeout=2s']);
    expect(status.code).not.toBe(0);
    expect(status.stdout).toMatch('Waiting for deployment "web" rollout to finish');
    await s.waitFor(() => pods(s, 'app=web').some((p) => waitingReason(p) === 'CrashLoopBackOff'));
    // Freeze the clock: the back-off ends in simulated seconds, and kubectl should read this state, not the next.
    s.setTimeScale(0);
    const listed = await ok(kc, ['get', 'pods']);
    expect(listed).toMatch(/^web-\S+\s+0\/1\s+CrashLoopBackOff\s+\d+ \(\S+ ago\)/m);
    // maxUnavailable rounds down to 0 of 3: the old pods keep serving.
    expect(listed.match(/^web-\S+\s+1\/1\s+Running/gm)).toHaveLength(3);
    const crashing = pods(s, 'app=web').find((p) => waitingReason(p) === 'CrashLoopBackOff') as JsonObject;
    const cs = (at(crashing, 'status.containerStatuses') as JsonObject[])[0] as JsonObject;
    expect(at(cs, 'lastState.terminated')).toMatchObject({
      exitCode: 1,
      reason: 'Error',
      message: 'panic: simulated crash of registry.example.com/web-crash:2.0',
    });
    expect(cs['restartCount']).toBeGreaterThanOrEqual(1);
    expect(String(at(cs, 'state.waiting.message'))).toMatch(
      /^back-off \d+s restarting failed container=web pod=web-/,
    );
    s.advance(700);
    const late = await kubectl(kc, ['rollout', 'status', 'deployment/web', '--timeout=20s']);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch('error: deployment "web" exceeded its progress deadline');
    const progressing = (
      at(s.get('apps/v1', 'Deployment', 'default', 'web'), 'status.conditions') as JsonObject[]
    ).find((c) => c['type'] === 'Progressing');
    expect(progressing).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(String(progressing?.['message'])).toMatch(/^ReplicaSet "web-\S+" has timed out progressing\.$/);
  });

  test('a StatefulSet and a DaemonSet complete their rollouts', async () => {
    const s = await sim();
    const kc = s.writeKubeconfig();
    await ok(kc, ['apply', '-f', fixture('statefulset.yaml'), '-f', fixture('daemonset.yaml')]);
    expect(await ok(kc, ['rollout', 'status', 'statefulset/db', '--timeout=60s'])).toMatch(
      'partitioned roll out complete: 3 new pods have been updated',
    );
    expect(await ok(kc, ['rollout', 'status', 'daemonset/agent', '--timeout=60s'])).toMatch(
      'daemon set "agent" successfully rolled out',
    );
    expect(
      pods(s, 'app=db')
        .map((p) => at(p, 'metadata.name'))
        .sort(),
    ).toEqual(['db-0', 'db-1', 'db-2']);
    const agents = pods(s, 'app=agent');
    expect(new Set(agents.map((p) => at(p, 'spec.nodeName')))).toEqual(
      new Set(['sim-node-1', 'sim-node-2', 'sim-node-3']),
    );
    const sts = s.get('apps/v1', 'StatefulSet', 'default', 'db') as JsonObject;
    const before = at(sts, 'status.currentRevision');
    expect(at(sts, 'status.updateRevision')).toBe(before);
    // An update rolls the pods from the highest ordinal down; currentRevision catches up at the end.
    const updated = readFileSync(fixture('statefulset.yaml'), 'utf8').replace('postgres:16', 'postgres:17');
    await ok(kc, ['apply', '-f', '-'], updated);
    expect(await ok(kc, ['rollout', 'status', 'statefulset/db', '--timeout=60s'])).toMatch(
      'partitioned roll out complete',
    );
    const after = s.get('apps/v1', 'StatefulSet', 'default', 'db') as JsonObject;
    expect(at(after, 'status.currentRevision')).not.toBe(before);
    expect(at(after, 'status.currentRevision')).toBe(at(after, 'status.updateRevision'));
    const deletions = s.events
      .filter((e) => e.reason === 'SuccessfulDelete' && e.involvedName === 'db')
      .map((e) => e.message);
    expect(deletions).toEqual([
      'delete Pod db-2 in StatefulSet db successful',
      'delete Pod db-1 in StatefulSet db successful',
      'delete Pod db-0 in StatefulSet db successful',
    ]);
  });

  test('kubectl drain: cordon, evictions, the ReplicaSet replaces the pods on other nodes', async () => {
    const s = await sim();
    const kc = s.writeKubeconfig();
    await ok(kc, ['apply', '-f', fixture('deployment.yaml'), '-f', fixture('daemonset.yaml')]);
    await ok(kc, ['rollout', 'status', 'deployment/web', '--timeout=60s']);
    await ok(kc, ['rollout', 'status', 'daemonset/agent', '--timeout=60s']);
    const drained = await kubectl(kc, ['drain', 'sim-node-1', '--ignore-daemonsets', '--timeout=30s']);
    expect(drained.code).toBe(0);
    expect(drained.stdout).toMatch(/^pod\/web-\S+ evicted$/m);
    expect(drained.stdout).toMatch('node/sim-node-1 drained');
    expect(await ok(kc, ['get', 'node', 'sim-node-1'])).toMatch(/^sim-node-1\s+Ready,SchedulingDisabled\s/m);
    await s.waitFor(() => pods(s, 'app=web').filter((p) => at(p, 'status.phase') === 'Running').length === 3);
    expect(pods(s, 'app=web').some((p) => at(p, 'spec.nodeName') === 'sim-node-1')).toBe(false);
    expect(pods(s, 'app=agent').filter((p) => at(p, 'spec.nodeName') === 'sim-node-1')).toHaveLength(1);
  });

  test('client-side apply creates, then sends a strategic merge patch', async () => {
    const s = await sim();
    const kc = s.writeKubeconfig();
    expect(await ok(kc, ['apply', '-f', fixture('deployment.yaml')])).toMatch('deployment.apps/web created');
    const created = s.get('apps/v1', 'Deployment', 'default', 'web') as JsonObject;
    expect(Object.keys(at(created, 'metadata.annotations') as object)).toContain(
      'kubectl.kubernetes.io/last-applied-configuration',
    );
    const changed = readFileSync(fixture('deployment.yaml'), 'utf8')
      .replace('web:1.0', 'web:1.1')
      .replace('replicas: 3', 'replicas: 2');
    expect(await ok(kc, ['apply', '-f', '-'], changed)).toMatch('deployment.apps/web configured');
    const patch = s.requests.find(
      (r) => r.method === 'PATCH' && r.path === '/apis/apps/v1/namespaces/default/deployments/web',
    );
    expect(patch?.headers['content-type']).toBe('application/strategic-merge-patch+json');
    expect(patch?.body).toMatch('$setElementOrder/containers');
    const d = s.get('apps/v1', 'Deployment', 'default', 'web') as JsonObject;
    expect((at(d, 'spec.template.spec.containers') as JsonObject[]).map((c) => c['image'])).toEqual([
      'registry.example.com/web:1.1',
    ]);
    expect(at(d, 'spec.replicas')).toBe(2);
    expect(at(d, 'metadata.generation')).toBe(2);
    expect(await ok(kc, ['apply', '-f', '-'], changed)).toMatch('deployment.apps/web unchanged');
    await ok(kc, ['rollout', 'status', 'deployment/web', '--timeout=60s']);
  });

  test('kubectl delete: the Deployment goes, the garbage collector takes its ReplicaSets and pods', async () => {
    const s = await sim();
    const kc = s.writeKubeconfig();
    await ok(kc, ['apply', '--server-side', '-f', fixture('deployment.yaml')]);
    await ok(kc, ['rollout', 'status', 'deployment/web', '--timeout=60s']);
    expect(await ok(kc, ['delete', 'deployment', 'web'])).toMatch('deployment.apps "web" deleted');
    await s.waitFor(
      () => s.list('apps/v1', 'ReplicaSet', 'default').length === 0 && s.pods('default').length === 0,
    );
    const gone = await kubectl(kc, ['get', 'deployment', 'web']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch('Error from server (NotFound): deployments.apps "web" not found');
    const del = s.requests.find((r) => r.method === 'DELETE');
    expect(JSON.parse(del?.body ?? '{}')).toMatchObject({ propagationPolicy: 'Background' });
  });

  test('a CRD, then a custom resource applied, listed, patched and validated against its schema', async () => {
    const s = await sim();
    const kc = s.writeKubeconfig();
    await ok(kc, ['apply', '--server-side', '-f', fixture('crd-widgets.yaml')]);
    await ok(kc, ['wait', '--for', 'condition=established', 'crd/widgets.example.com', '--timeout=30s']);
    expect(await ok(kc, ['apply', '--server-side', '-f', fixture('widget.yaml')])).toMatch(
      'widget.example.com/gear serverside-applied',
    );
    const listed = await ok(kc, ['get', 'widgets']);
    expect(listed).toMatch(/^NAME\s+SIZE\s+COLOR\s+AGE$/m);
    expect(listed).toMatch(/^gear\s+3\s+blue\s+\d+s$/m);
    expect(await ok(kc, ['get', 'wd', 'gear', '-o', 'jsonpath={.spec.size}'])).toBe('3');
    // Client-side apply of a custom resource sends a JSON merge patch.
    const bigger = readFileSync(fixture('widget.yaml'), 'utf8').replace('size: 3', 'size: 5');
    await ok(kc, ['apply', '-f', '-'], bigger);
    expect(
      s.requests.some(
        (r) => r.method === 'PATCH' && r.headers['content-type'] === 'application/merge-patch+json',
      ),
    ).toBe(true);
    expect(at(s.get('example.com/v1', 'Widget', 'default', 'gear'), 'spec.size')).toBe(5);
    expect(at(s.get('example.com/v1', 'Widget', 'default', 'gear'), 'metadata.generation')).toBe(2);
    const invalid = await kubectl(
      kc,
      ['apply', '--server-side', '--force-conflicts', '-f', '-'],
      bigger.replace('color: blue', 'color: purple').replace('size: 5', 'size: 0'),
    );
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch('The Widget "gear" is invalid');
    expect(invalid.stderr).toMatch(
      'spec.color: Unsupported value: "purple": supported values: "red", "green", "blue"',
    );
    const unknown = await kubectl(kc, ['apply', '-f', '-'], bigger.replace('color: blue', 'colour: blue'));
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch('unknown field "spec.colour"');
    await ok(kc, ['delete', 'crd', 'widgets.example.com']);
    await s.waitFor(() => s.list('apiextensions.k8s.io/v1', 'CustomResourceDefinition').length === 0);
  });

  test('server-side dry run validates and answers, and stores nothing', async () => {
    const s = await sim();
    const kc = s.writeKubeconfig();
    const rv = s.resourceVersion();
    const out = await ok(kc, [
      'apply',
      '--server-side',
      '--dry-run=server',
      '-f',
      fixture('deployment.yaml'),
      '-o',
      'json',
    ]);
    const answered = JSON.parse(out) as JsonObject;
    expect(at(answered, 'metadata.uid')).toEqual(expect.any(String));
    expect(at(answered, 'metadata.resourceVersion')).toBeUndefined();
    expect(at(answered, 'spec.revisionHistoryLimit')).toBe(10);
    expect(s.get('apps/v1', 'Deployment', 'default', 'web')).toBeUndefined();
    expect(s.requests.some((r) => r.method === 'PATCH' && /dryRun=All/.test(r.url))).toBe(true);
    // Nothing written by the request (the controllers only wrote events of their own, if any).
    expect(s.list('apps/v1', 'ReplicaSet', 'default')).toEqual([]);
    expect(s.resourceVersion()).toBe(rv);
    const bad = await kubectl(
      kc,
      ['apply', '--server-side', '--dry-run=server', '-f', '-'],
      readFileSync(fixture('deployment.yaml'), 'utf8').replace(
        'app: web\n    spec:',
        'app: other\n    spec:',
      ),
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`',
    );
  });

  test('unknown fields: refused by strict validation, warned about, or never stored; an apply patch cannot carry them', async () => {
    const s = await sim();
    const kc = s.writeKubeconfig();
    const typo = readFileSync(fixture('deployment.yaml'), 'utf8')
      .replace('  replicas: 3', '  replica: 3')
      .replace('image: registry', 'imagee: x\n          image: registry');
    const strict = await kubectl(kc, ['apply', '-f', '-'], typo);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(
      'Error from server (BadRequest): error when creating "STDIN": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replica", unknown field "spec.template.spec.containers[0].imagee"',
    );
    const ssa = await kubectl(kc, ['apply', '--server-side', '-f', '-'], typo);
    expect(ssa.stderr).toMatch(
      'Error from server (InternalError): failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.replica: field not declared in schema',
    );
    const warned = await kubectl(kc, ['create', '--validate=warn', '-f', '-'], typo);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toMatch('Warning: unknown field "spec.replica"');
    const stored = s.get('apps/v1', 'Deployment', 'default', 'web') as JsonObject;
    expect(at(stored, 'spec.replica')).toBeUndefined();
    expect(at(stored, 'spec.replicas')).toBe(1);
    // A value of the wrong type (a templated number left as a string) is refused whatever the validation.
    const quoted = readFileSync(fixture('deployment.yaml'), 'utf8')
      .replace('name: web\n  labels', 'name: quoted\n  labels')
      .replace('  replicas: 3', '  replicas: "3"');
    const typed = await kubectl(kc, ['apply', '--validate=false', '-f', '-'], quoted);
    expect(typed.stderr).toMatch(
      'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
    );
    const typedApply = await kubectl(kc, ['apply', '--server-side', '-f', '-'], quoted);
    expect(typedApply.stderr).toMatch(
      'failed to create typed patch object (default/quoted; apps/v1, Kind=Deployment): .spec.replicas: expected numeric (int or float), got string',
    );
    expect(s.get('apps/v1', 'Deployment', 'default', 'quoted')).toBeUndefined();
  });

  test('kubectl create (typed clients send protobuf), then get', async () => {
    const s = await sim();
    const kc = s.writeKubeconfig();
    await ok(kc, ['create', 'namespace', 'team']);
    await ok(kc, ['-n', 'team', 'create', 'configmap', 'settings', '--from-literal=mode=fast']);
    await ok(kc, ['-n', 'team', 'create', 'secret', 'generic', 'token', '--from-literal=value=s3cret']);
    await ok(kc, [
      '-n',
      'team',
      'create',
      'deployment',
      'api',
      '--image=registry.example.com/api:1.0',
      '--replicas=2',
      '--port=8080',
    ]);
    await ok(kc, ['-n', 'team', 'rollout', 'status', 'deployment/api', '--timeout=60s']);
    expect(
      s.requests.some((r) => r.method === 'POST' && /protobuf/.test(String(r.headers['content-type']))),
    ).toBe(true);
    expect(at(s.get('v1', 'ConfigMap', 'team', 'settings'), 'data')).toEqual({ mode: 'fast' });
    expect(at(s.get('v1', 'Secret', 'team', 'token'), 'data')).toEqual({
      value: Buffer.from('s3cret').toString('base64'),
    });
    expect(at(s.get('apps/v1', 'Deployment', 'team', 'api'), 'spec.replicas')).toBe(2);
    const all = await ok(kc, ['-n', 'team', 'get', 'deploy,cm,secret']);
    expect(all).toMatch(/^deployment\.apps\/api\s+2\/2\s+2\s+2\s/m);
    expect(all).toMatch(/^configmap\/settings\s+1\s/m);
    expect(all).toMatch(/^secret\/token\s+Opaque\s+1\s/m);
    // The namespace controller gave the namespace its default ServiceAccount and root CA ConfigMap.
    expect(s.get('v1', 'ServiceAccount', 'team', 'default')).toBeDefined();
    await ok(kc, ['delete', 'namespace', 'team']);
    await s.waitFor(() => s.get('v1', 'Namespace', '', 'team') === undefined);
  });

  test('pods that cannot start: ImagePullBackOff, OOMKilled, CreateContainerConfigError, FailedScheduling', async () => {
    // A manual clock: 40 simulated seconds in, every pod is in the state kubectl is asked about (the image pull in
    // its second back-off, the OOM-killed container in its second CrashLoopBackOff).
    const s = await sim({ timeScale: 0 });
    const kc = s.writeKubeconfig();
    await ok(kc, ['apply', '-f', fixture('pods-that-fail.yaml')]);
    const reason = (name: string): string | undefined => {
      const p = s.get('v1', 'Pod', 'default', name);
      return p ? waitingReason(p) : undefined;
    };
    s.advance(40);
    await s.waitFor(
      () =>
        reason('pull') === 'ImagePullBackOff' &&
        reason('oom') === 'CrashLoopBackOff' &&
        reason('config') === 'CreateContainerConfigError',
    );
    const listed = await ok(kc, ['get', 'pods']);
    expect(listed).toMatch(/^pull\s+0\/1\s+ImagePullBackOff\s+0\s/m);
    expect(listed).toMatch(/^oom\s+0\/1\s+CrashLoopBackOff\s+\d+ \(\S+ ago\)/m);
    expect(listed).toMatch(/^config\s+0\/1\s+CreateContainerConfigError\s+0\s/m);
    expect(listed).toMatch(/^big\s+0\/1\s+Pending\s+0\s/m);
    const oom = (
      at(s.get('v1', 'Pod', 'default', 'oom'), 'status.containerStatuses') as JsonObject[]
    )[0] as JsonObject;
    expect(at(oom, 'lastState.terminated')).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    const pull = (
      at(s.get('v1', 'Pod', 'default', 'pull'), 'status.containerStatuses') as JsonObject[]
    )[0] as JsonObject;
    expect(String(at(pull, 'state.waiting.message'))).toMatch(
      'Back-off pulling image "nosuch.invalid/team/app:1.0": ErrImagePull: rpc error: code = Unknown desc = failed to pull and unpack image "nosuch.invalid/team/app:1.0"',
    );
    const config = (
      at(s.get('v1', 'Pod', 'default', 'config'), 'status.containerStatuses') as JsonObject[]
    )[0] as JsonObject;
    expect(at(config, 'state.waiting.message')).toBe('secret "database" not found');
    const events = await ok(kc, ['get', 'events', '--field-selector', 'type=Warning']);
    expect(events).toMatch(
      /FailedScheduling\s+pod\/big\s+0\/3 nodes are available: 3 Insufficient cpu\. preemption: 0\/3 nodes are available: 3 No preemption victims found for incoming pod\./,
    );
    expect(events).toMatch('Error: ErrImagePull');
    expect(events).toMatch(
      /BackOff\s+pod\/oom\s+Back-off restarting failed container app in pod oom_default\(/,
    );
    // Once the Secret exists, the kubelet's next try starts the container.
    await ok(kc, ['create', 'secret', 'generic', 'database', '--from-literal=url=postgres://db']);
    s.advance(15);
    expect(at(s.get('v1', 'Pod', 'default', 'config'), 'status.phase')).toBe('Running');
  });

  test('a Job runs to completion; a failing one stops at its backoff limit', async () => {
    const s = await sim();
    const kc = s.writeKubeconfig();
    await ok(kc, ['apply', '-f', fixture('job.yaml')]);
    expect(await ok(kc, ['wait', '--for=condition=complete', 'job/migrate', '--timeout=60s'])).toMatch(
      'job.batch/migrate condition met',
    );
    const job = s.get('batch/v1', 'Job', 'default', 'migrate') as JsonObject;
    expect(at(job, 'status')).toMatchObject({ succeeded: 1, ready: 0 });
    expect(
      (at(job, 'status.conditions') as JsonObject[]).map(
        (c) => `${String(c['type'])}/${String(c['reason'])}`,
      ),
    ).toEqual(['SuccessCriteriaMet/CompletionsReached', 'Complete/CompletionsReached']);
    expect(await ok(kc, ['get', 'jobs'])).toMatch(/^migrate\s+Complete\s+1\/1\s/m);
    const failing = readFileSync(fixture('job.yaml'), 'utf8')
      .replace('name: migrate\n', 'name: broken\n')
      .replace('migrate:1.0', 'migrate-fail:1.0');
    await ok(kc, ['apply', '-f', '-'], failing);
    s.advance(120);
    expect(await ok(kc, ['wait', '--for=condition=failed', 'job/broken', '--timeout=60s'])).toMatch(
      'condition met',
    );
    const broken = s.get('batch/v1', 'Job', 'default', 'broken') as JsonObject;
    expect(at(broken, 'status.failed')).toBe(3);
    expect(
      (at(broken, 'status.conditions') as JsonObject[]).find((c) => c['type'] === 'Failed'),
    ).toMatchObject({
      reason: 'BackoffLimitExceeded',
      message: 'Job has reached the specified backoff limit',
    });
  });

  test('https with a bearer token: kubectl authenticates; a wrong token is refused; a read-only token cannot write', async () => {
    const s = await sim({ tls: true, token: 'admin-token', readOnlyToken: 'viewer-token' });
    expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const kc = s.writeKubeconfig();
    expect(await ok(kc, ['get', 'ns', 'default'])).toMatch(/^default\s+Active/m);
    expect(
      s.requests
        .filter((r) => r.path === '/api')
        .every((r) => r.headers['authorization'] === 'Bearer admin-token'),
    ).toBe(true);
    const bad = join(home, 'bad-token.yaml');
    writeFileSync(bad, readFileSync(kc, 'utf8').replace('admin-token', 'not-the-token'));
    const unauthorized = await kubectl(bad, ['get', 'ns']);
    expect(unauthorized.stderr).toMatch('error: You must be logged in to the server (Unauthorized)');
    const viewer = s.writeKubeconfig({ user: 'read-only' });
    expect(await ok(viewer, ['get', 'nodes'])).toMatch('sim-node-1');
    const write = await kubectl(viewer, ['create', 'configmap', 'x', '--from-literal=a=b']);
    expect(write.code).toBe(1);
    expect(write.stderr).toMatch(
      'configmaps is forbidden: User "sim-viewer" cannot create resource "configmaps" in API group "" in the namespace "default"',
    );
  });

  test('https with a client certificate', async () => {
    const s = await sim({ tls: true, clientCertificates: true });
    const kc = s.writeKubeconfig({ user: 'certificate' });
    expect(await ok(kc, ['get', 'ns', 'kube-system'])).toMatch('kube-system');
    expect(
      s.requests
        .filter((r) => r.path === '/api/v1/namespaces/kube-system')
        .every((r) => r.user === 'sim-admin'),
    ).toBe(true);
  });
});

// ----- the HTTP API directly ----------------------------------------------------------------------------------

describe('the API over HTTP', () => {
  test('a watch from a resourceVersion resumes with the changes after it; a compacted one gets 410 Expired', async () => {
    const s = await sim({ timeScale: 0 });
    await api(s, 'POST', '/api/v1/namespaces/default/configmaps', configMap('a', { v: '1' }));
    const list = await api(s, 'GET', '/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Da');
    const rv = String(at(list.body, 'metadata.resourceVersion'));
    expect(list.body['kind']).toBe('ConfigMapList');
    await api(s, 'PUT', '/api/v1/namespaces/default/configmaps/a', configMap('a', { v: '2' }));
    await api(
      s,
      'PATCH',
      '/api/v1/namespaces/default/configmaps/a',
      { data: { v: '3' } },
      'application/merge-patch+json',
    );
    await api(s, 'POST', '/api/v1/namespaces/default/configmaps', configMap('b', { v: '1' }));
    await api(s, 'DELETE', '/api/v1/namespaces/default/configmaps/a', { propagationPolicy: 'Background' });
    const events = await watchEvents(
      s,
      `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3Da`,
      3,
    );
    expect(events.map((e) => e['type'])).toEqual(['MODIFIED', 'MODIFIED', 'DELETED']);
    expect(events.map((e) => at(e, 'object.data.v'))).toEqual(['2', '3', '3']);
    const rvs = events.map((e) => Number(at(e, 'object.metadata.resourceVersion')));
    expect(rvs).toEqual([...rvs].sort((x, y) => x - y));
    expect(rvs[0]).toBeGreaterThan(Number(rv));
    // Without a resourceVersion: the current state as ADDED, then changes.
    const fresh = await watchEvents(s, '/api/v1/namespaces/default/configmaps?watch=1&labelSelector=', 2);
    expect(fresh.map((e) => `${String(e['type'])} ${String(at(e, 'object.metadata.name'))}`)).toEqual([
      'ADDED b',
      'ADDED kube-root-ca.crt',
    ]);
    s.compact();
    const expired = await watchEvents(
      s,
      `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`,
      5,
    );
    expect(expired).toHaveLength(1);
    expect(expired[0]).toEqual({
      type: 'ERROR',
      object: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${rv} (${s.resourceVersion()})`,
        reason: 'Expired',
        code: 410,
      },
    });
    // The current resourceVersion still works after the compaction.
    const now = String(s.resourceVersion());
    const pending = watchEvents(
      s,
      `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${now}`,
      1,
    );
    await s.waitFor(() => s.engine.store.watcherCount() > 0);
    await api(s, 'POST', '/api/v1/namespaces/default/configmaps', configMap('c', { v: '1' }));
    expect(
      (await pending).map((e) => `${String(e['type'])} ${String(at(e, 'object.metadata.name'))}`),
    ).toEqual(['ADDED c']);
    // A continue token from before the compaction is 410 too.
    const page = await api(s, 'GET', '/api/v1/namespaces/default/configmaps?limit=1');
    expect(at(page.body, 'metadata.remainingItemCount')).toBe(2);
    await api(s, 'POST', '/api/v1/namespaces/default/configmaps', configMap('d', { v: '1' }));
    s.compact();
    const stale = await api(
      s,
      'GET',
      `/api/v1/namespaces/default/configmaps?limit=1&continue=${encodeURIComponent(String(at(page.body, 'metadata.continue')))}`,
    );
    expect(stale.status).toBe(410);
    expect(stale.body['reason']).toBe('Expired');
  });

  test('the watch window is per resource type: a flood of one kind expires only its own old resourceVersions', async () => {
    const s = await sim({ timeScale: 0, historyLimit: 5 });
    await api(s, 'POST', '/api/v1/namespaces/default/secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
    });
    const rv = String(s.resourceVersion());
    for (let i = 0; i < 8; i++)
      await api(s, 'POST', '/api/v1/namespaces/default/configmaps', configMap(`c${i}`, {}));
    await api(
      s,
      'PATCH',
      '/api/v1/namespaces/default/secrets/s',
      { stringData: { k: 'v' } },
      'application/merge-patch+json',
    );
    const secrets = await watchEvents(
      s,
      `/api/v1/namespaces/default/secrets?watch=true&resourceVersion=${rv}`,
      1,
    );
    expect(secrets.map((e) => e['type'])).toEqual(['MODIFIED']);
    const configMaps = await watchEvents(
      s,
      `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`,
      1,
    );
    expect(configMaps[0]).toMatchObject({ type: 'ERROR', object: { reason: 'Expired', code: 410 } });
  });

  test('watch: bookmarks when allowed, label-selector transitions, timeoutSeconds ends the stream', async () => {
    const s = await sim({ timeScale: 50, bookmarkSeconds: 5 });
    const rv = String(s.resourceVersion());
    const bookmarks = await watchEvents(
      s,
      `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`,
      1,
    );
    expect(bookmarks[0]).toMatchObject({
      type: 'BOOKMARK',
      object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: expect.any(String) } },
    });
    const start = String(s.resourceVersion());
    await api(s, 'POST', '/api/v1/namespaces/default/configmaps', {
      ...configMap('x', {}),
      metadata: { name: 'x', labels: { tier: 'a' } },
    });
    await api(
      s,
      'PATCH',
      '/api/v1/namespaces/default/configmaps/x',
      { metadata: { labels: { tier: 'b' } } },
      'application/merge-patch+json',
    );
    await api(
      s,
      'PATCH',
      '/api/v1/namespaces/default/configmaps/x',
      { metadata: { labels: { tier: 'a' } } },
      'application/merge-patch+json',
    );
    const moves = await watchEvents(
      s,
      `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${start}&labelSelector=tier%3Da`,
      3,
    );
    expect(moves.map((e) => e['type'])).toEqual(['ADDED', 'DELETED', 'ADDED']);
    const ended = await watchEvents(
      s,
      `/api/v1/namespaces/default/secrets?watch=true&resourceVersion=${String(s.resourceVersion())}&timeoutSeconds=1`,
      10,
      20_000,
    );
    expect(ended).toEqual([]);
  });

  test('errors are Status objects: 404, 409 AlreadyExists and Conflict, 422 Invalid with causes, 401 and 403', async () => {
    const s = await sim({ timeScale: 0 });
    const missing = await api(s, 'GET', '/apis/apps/v1/namespaces/default/deployments/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'deployments.apps "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', group: 'apps', kind: 'deployments' },
      code: 404,
    });
    expect((await api(s, 'GET', '/api/v1/namespaces/nowhere/pods/x')).body['message']).toBe(
      'pods "x" not found',
    );
    expect(
      (await api(s, 'POST', '/api/v1/namespaces/nowhere/configmaps', configMap('x', {}))).body['message'],
    ).toBe('namespaces "nowhere" not found');
    await api(s, 'POST', '/api/v1/namespaces/default/configmaps', configMap('x', {}));
    const again = await api(s, 'POST', '/api/v1/namespaces/default/configmaps', configMap('x', {}));
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ reason: 'AlreadyExists', message: 'configmaps "x" already exists' });
    const stale = await api(s, 'PUT', '/api/v1/namespaces/default/configmaps/x', {
      ...configMap('x', { a: 'b' }),
      metadata: { name: 'x', resourceVersion: '1' },
    });
    expect(stale.status).toBe(409);
    expect(stale.body['message']).toBe(
      'Operation cannot be fulfilled on configmaps "x": the object has been modified; please apply your changes to the latest version and try again',
    );
    const bad = await api(s, 'POST', '/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'Bad_Name' },
      spec: {
        selector: { matchLabels: { app: 'a' } },
        template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c' }] } },
      },
    });
    expect(bad.status).toBe(422);
    expect(bad.body['reason']).toBe('Invalid');
    expect(String(bad.body['message'])).toMatch(/^Deployment\.apps "Bad_Name" is invalid: \[/);
    expect(at(bad.body, 'details.causes')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reason: 'FieldValueInvalid', field: 'metadata.name' }),
        {
          reason: 'FieldValueInvalid',
          field: 'spec.template.metadata.labels',
          message: 'Invalid value: map[string]string{"app":"b"}: `selector` does not match template `labels`',
        },
        {
          reason: 'FieldValueRequired',
          field: 'spec.template.spec.containers[0].image',
          message: 'Required value',
        },
      ]),
    );
    const ns = await api(s, 'DELETE', '/api/v1/namespaces/default');
    expect(ns.status).toBe(403);
    expect(ns.body['message']).toBe('namespaces "default" is forbidden: this namespace may not be deleted');
    const secured = await sim({ timeScale: 0, token: 't' });
    const noToken = await fetch(`${secured.url}/api/v1/namespaces`);
    expect(noToken.status).toBe(403);
    const wrong = await fetch(`${secured.url}/api/v1/namespaces`, { headers: { Authorization: 'Bearer x' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect((await fetch(`${secured.url}/version`)).status).toBe(200);
  });

  test("server-side apply: a Service's selector is one atomic field (+mapType=atomic): replaced whole, owned whole", async () => {
    const s = await sim({ timeScale: 0 });
    const path = '/api/v1/namespaces/default/services/web';
    const apply = (manager: string, selector: Record<string, string>, force = false) =>
      api(
        s,
        'PATCH',
        `${path}?fieldManager=${manager}${force ? '&force=true' : ''}`,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web' },
          spec: { selector, ports: [{ port: 80 }] },
        }),
        'application/apply-patch+yaml',
      );
    expect((await apply('kiln', { app: 'web', 'pod-template-hash': 'abc' })).status).toBe(201);
    // The same manager applying a smaller selector replaces it (a granular map would keep the hash).
    const smaller = await apply('kiln', { app: 'web' });
    expect(at(smaller.body, 'spec.selector')).toEqual({ app: 'web' });
    const managed = at(smaller.body, 'metadata.managedFields') as JsonObject[];
    expect(at(managed[0], 'fieldsV1.f:spec.f:selector')).toEqual({});
    // Another manager's different selector conflicts on the whole field; force takes it whole.
    const clash = await apply('other', { app: 'web', track: 'green' });
    expect(clash.status).toBe(409);
    expect(at(clash.body, 'details.causes')).toEqual([
      { reason: 'FieldManagerConflict', message: 'conflict with "kiln" using v1', field: '.spec.selector' },
    ]);
    const forced = await apply('other', { app: 'web', track: 'green' }, true);
    expect(at(forced.body, 'spec.selector')).toEqual({ app: 'web', track: 'green' });
  });

  test('server-side apply: conflicts with another manager (409), force takes the field; removed fields go', async () => {
    const s = await sim({ timeScale: 0 });
    const path = '/api/v1/namespaces/default/configmaps/cfg';
    const apply = (
      manager: string,
      data: Record<string, string>,
      force = false,
    ): Promise<{ status: number; body: JsonObject }> =>
      api(
        s,
        'PATCH',
        `${path}?fieldManager=${manager}${force ? '&force=true' : ''}`,
        JSON.stringify(configMap('cfg', data)),
        'application/apply-patch+yaml',
      );
    const created = await apply('alice', { a: '1', b: '2' });
    expect(created.status).toBe(201);
    expect(await apply('bob', { a: '1' })).toMatchObject({ status: 200 }); // same value: shared, no conflict
    const clash = await apply('bob', { a: '9' });
    expect(clash.status).toBe(409);
    expect(clash.body['message']).toBe(
      'Apply failed with 1 conflict: conflict with "alice" using v1: .data.a',
    );
    expect(at(clash.body, 'details.causes')).toEqual([
      { reason: 'FieldManagerConflict', message: 'conflict with "alice" using v1', field: '.data.a' },
    ]);
    const forced = await apply('bob', { a: '9' }, true);
    expect(at(forced.body, 'data')).toEqual({ a: '9', b: '2' });
    // alice stops applying data: b (hers alone) is removed; a now belongs to bob alone.
    const dropped = await api(
      s,
      'PATCH',
      `${path}?fieldManager=alice`,
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' } }),
      'application/apply-patch+yaml',
    );
    expect(at(dropped.body, 'data')).toEqual({ a: '9' });
    const managed = at(dropped.body, 'metadata.managedFields') as JsonObject[];
    expect(managed.map((m) => [m['manager'], m['operation'], m['fieldsV1']])).toEqual([
      ['bob', 'Apply', { 'f:data': { '.': {}, 'f:a': {} } }],
    ]);
    // An Update takes the field without conflict.
    await api(
      s,
      'PATCH',
      `${path}?fieldManager=carol`,
      { data: { a: '10' } },
      'application/merge-patch+json',
    );
    expect((await apply('bob', { a: '11' })).status).toBe(409);
    // A keyed list with a duplicate key cannot be typed (what the API server answers with a 500).
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'dup' },
      spec: {
        containers: [
          {
            name: 'a',
            image: 'x:1',
            env: [
              { name: 'A', value: '1' },
              { name: 'A', value: '2' },
            ],
          },
        ],
      },
    };
    const dup = await api(
      s,
      'PATCH',
      '/api/v1/namespaces/default/pods/dup?fieldManager=kubectl',
      JSON.stringify(pod),
      'application/apply-patch+yaml',
    );
    expect(dup.status).toBe(500);
    expect(dup.body['message']).toBe(
      'failed to create typed patch object (default/dup; v1, Kind=Pod): .spec.containers[name="a"].env: duplicate entries for key [name="A"]',
    );
    // Dry run: validated and answered, not stored.
    const dry = await api(
      s,
      'PATCH',
      `${path}?fieldManager=bob&force=true&dryRun=All`,
      JSON.stringify(configMap('cfg', { a: '12' })),
      'application/apply-patch+yaml',
    );
    expect(at(dry.body, 'data.a')).toBe('12');
    expect(at(s.get('v1', 'ConfigMap', 'default', 'cfg'), 'data.a')).toBe('10');
  });

  test('generation bumps on spec changes only; a no-op write keeps the resourceVersion; selectors and pages', async () => {
    const s = await sim({ timeScale: 0 });
    const deploy = JSON.parse(
      JSON.stringify((await import('yaml')).parse(readFileSync(fixture('deployment.yaml'), 'utf8'))),
    ) as JsonObject;
    const created = await api(s, 'POST', '/apis/apps/v1/namespaces/default/deployments', deploy);
    expect(created.status).toBe(201);
    expect(at(created.body, 'metadata.generation')).toBe(1);
    const path = '/apis/apps/v1/namespaces/default/deployments/web';
    const labelled = await api(
      s,
      'PATCH',
      path,
      { metadata: { labels: { team: 'x' } } },
      'application/merge-patch+json',
    );
    expect(at(labelled.body, 'metadata.generation')).toBe(1);
    const scaled = await api(
      s,
      'PATCH',
      `${path}/scale`,
      { spec: { replicas: 5 } },
      'application/merge-patch+json',
    );
    expect(scaled.body).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      spec: { replicas: 5 },
      status: { selector: 'app=web' },
    });
    const after = await api(s, 'GET', path);
    expect(at(after.body, 'metadata.generation')).toBe(2);
    const same = await api(
      s,
      'PATCH',
      path,
      { metadata: { labels: { team: 'x' } } },
      'application/merge-patch+json',
    );
    expect(at(same.body, 'metadata.resourceVersion')).toBe(at(after.body, 'metadata.resourceVersion'));
    for (const name of ['a', 'b', 'c', 'd']) {
      await api(s, 'POST', '/api/v1/namespaces/default/configmaps', {
        ...configMap(name, {}),
        metadata: { name, labels: { group: name < 'c' ? 'low' : 'high' } },
      });
    }
    const low = await api(s, 'GET', '/api/v1/namespaces/default/configmaps?labelSelector=group%20in%20(low)');
    expect((low.body['items'] as JsonObject[]).map((o) => at(o, 'metadata.name'))).toEqual(['a', 'b']);
    const notC = await api(
      s,
      'GET',
      '/api/v1/namespaces/default/configmaps?labelSelector=group&fieldSelector=metadata.name!%3Dc',
    );
    expect((notC.body['items'] as JsonObject[]).map((o) => at(o, 'metadata.name'))).toEqual(['a', 'b', 'd']);
    const badField = await api(s, 'GET', '/api/v1/namespaces/default/configmaps?fieldSelector=spec.x%3D1');
    expect(badField.status).toBe(400);
    const names: unknown[] = [];
    let token = '';
    for (let i = 0; i < 10; i++) {
      const page = await api(
        s,
        'GET',
        `/api/v1/namespaces/default/configmaps?labelSelector=group&limit=3${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
      );
      names.push(...(page.body['items'] as JsonObject[]).map((o) => at(o, 'metadata.name')));
      token = String(at(page.body, 'metadata.continue') ?? '');
      if (!token) break;
    }
    expect(names).toEqual(['a', 'b', 'c', 'd']);
  });

  test('discovery and OpenAPI v3 advertise what kubectl needs; a CRD adds its group', async () => {
    const s = await sim({ timeScale: 0 });
    const apis = await api(s, 'GET', '/apis');
    expect((apis.body['groups'] as JsonObject[]).map((g) => g['name'])).toEqual([
      'apps',
      'batch',
      'networking.k8s.io',
      'apiextensions.k8s.io',
    ]);
    const apps = await api(s, 'GET', '/apis/apps/v1');
    const resources = (apps.body['resources'] as JsonObject[]).map((r) => r['name']);
    expect(resources).toEqual(
      expect.arrayContaining([
        'deployments',
        'deployments/status',
        'deployments/scale',
        'replicasets',
        'statefulsets',
        'daemonsets',
      ]),
    );
    const index = await api(s, 'GET', '/openapi/v3');
    const url = String(
      at(index.body, 'paths.apis/apps/v1.serverRelativeURL') ??
        (index.body['paths'] as Record<string, JsonObject>)['apis/apps/v1']?.['serverRelativeURL'],
    );
    const doc = await api(s, 'GET', url);
    const patch = at(
      (doc.body['paths'] as Record<string, JsonObject>)[
        '/apis/apps/v1/namespaces/{namespace}/deployments/{name}'
      ],
      'patch',
    ) as JsonObject;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
    });
    expect((patch['parameters'] as JsonObject[]).map((p) => p['name'])).toContain('fieldValidation');
    const crd = (await import('yaml')).parse(readFileSync(fixture('crd-widgets.yaml'), 'utf8')) as JsonObject;
    await api(s, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    s.advance(1);
    expect((await api(s, 'GET', '/apis/example.com/v1')).body['resources']).toEqual([
      expect.objectContaining({ name: 'widgets', kind: 'Widget', namespaced: true, shortNames: ['wd'] }),
      expect.objectContaining({ name: 'widgets/status' }),
    ]);
    const aggregated = await fetch(`${s.url}/apis`, {
      headers: {
        Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
      },
    });
    expect(aggregated.headers.get('content-type')).toBe(
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
    );
    const groups = ((await aggregated.json()) as JsonObject)['items'] as JsonObject[];
    const example = groups.find((g) => at(g, 'metadata.name') === 'example.com');
    expect(at(example, 'versions')).toEqual([
      {
        version: 'v1',
        freshness: 'Current',
        resources: [
          expect.objectContaining({
            resource: 'widgets',
            responseKind: { group: 'example.com', version: 'v1', kind: 'Widget' },
            scope: 'Namespaced',
            singularResource: 'widget',
            subresources: [expect.objectContaining({ subresource: 'status' })],
          }),
        ],
      },
    ]);
    const index2 = await api(s, 'GET', '/openapi/v3');
    expect(Object.keys(index2.body['paths'] as object)).toContain('apis/example.com/v1');
  });
});

// ----- pure parts ---------------------------------------------------------------------------------------------

describe('scenarios and the CLI', () => {
  test('images choose their behaviour by keyword unless a scenario says otherwise', () => {
    expect(scenarioFromImage('registry.example.com/web:1.0')).toEqual({ kind: 'healthy' });
    expect(scenarioFromImage('registry.example.com/web-crash:2')).toEqual({ kind: 'crash-loop' });
    expect(scenarioFromImage('app-oom:1')).toEqual({ kind: 'oom' });
    expect(scenarioFromImage('zoom:1')).toEqual({ kind: 'healthy' });
    expect(scenarioFromImage('nosuch/app')).toEqual({ kind: 'image-pull-error' });
    expect(scenarioFromImage('registry.invalid/app:1')).toEqual({ kind: 'image-pull-error' });
    expect(scenarioFromImage('tools/migrate-fail:1')).toEqual({ kind: 'fail' });
    expect(scenarioFromImage('web-unready:1')).toEqual({ kind: 'never-ready' });
    expect(fullImageName('nginx')).toBe('docker.io/library/nginx:latest');
    expect(fullImageName('team/app:1')).toBe('docker.io/team/app:1');
    expect(parseScenarioAssignment('reg/app:2=crash-loop:crashAfterSeconds=5,message=boom')).toEqual({
      image: 'reg/app:2',
      scenario: { kind: 'crash-loop', crashAfterSeconds: 5, message: 'boom' },
    });
    expect(() => parseScenarioAssignment('x=explode')).toThrow(/unknown scenario 'explode'/);
  });

  test('main.ts options', () => {
    expect(
      optionsFromArgs([
        '--port',
        '0',
        '--time-scale',
        '60',
        '--tls',
        '--token',
        't',
        '--scenario',
        'a:1=oom',
      ]),
    ).toMatchObject({
      port: 0,
      timeScale: 60,
      tls: true,
      token: 't',
      scenarios: { 'a:1': { kind: 'oom' } },
    });
    expect(() => optionsFromArgs(['--client-certs'])).toThrow('--client-certs needs --tls');
  });

  test('a container that never gets healthy is restarted by its liveness probe', async () => {
    const s = await sim({ timeScale: 0 });
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'sick' },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'registry.example.com/app-unready:1',
            livenessProbe: {
              httpGet: { path: '/healthz', port: 8080 },
              periodSeconds: 5,
              failureThreshold: 3,
            },
          },
        ],
      },
    };
    expect((await api(s, 'POST', '/api/v1/namespaces/default/pods', pod)).status).toBe(201);
    s.advance(60);
    const status = (
      at(s.get('v1', 'Pod', 'default', 'sick'), 'status.containerStatuses') as JsonObject[]
    )[0] as JsonObject;
    expect(status['restartCount']).toBeGreaterThanOrEqual(1);
    expect(at(status, 'lastState.terminated')).toMatchObject({ exitCode: 137, reason: 'Error' });
    const reasons = s.events.filter((e) => e.involvedName === 'sick').map((e) => `${e.reason}: ${e.message}`);
    expect(reasons).toContain('Unhealthy: Liveness probe failed: HTTP probe failed with statuscode: 503');
    expect(reasons).toContain('Killing: Container app failed liveness probe, will be restarted');
  });

  test('an explicit scenario overrides the keyword rules', async () => {
    const s = await sim({ scenarios: { 'registry.example.com/web': { kind: 'never-ready' } } });
    const kc = s.writeKubeconfig();
    await ok(kc, ['apply', '--server-side', '-f', fixture('deployment.yaml')]);
    await s.waitFor(
      () =>
        pods(s, 'app=web').length === 3 &&
        pods(s, 'app=web').every((p) => at(p, 'status.phase') === 'Running'),
    );
    s.advance(30);
    expect(
      pods(s, 'app=web').every((p) =>
        (at(p, 'status.conditions') as JsonObject[]).some(
          (c) => c['type'] === 'Ready' && c['status'] === 'False',
        ),
      ),
    ).toBe(true);
    expect(
      s.events.some(
        (e) =>
          e.reason === 'Unhealthy' &&
          e.message === 'Readiness probe failed: HTTP probe failed with statuscode: 503',
      ),
    ).toBe(true);
  });
});
