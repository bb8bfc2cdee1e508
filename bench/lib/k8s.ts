/**
 * Pieces of bench/k8s.ts: Deployment manifests, a recorder of the moment the Kubernetes simulator marks each pod
 * Ready (on the bench process's clock), and child processes timed to their exit.
 *
 * Every time here is `performance.now()` of the bench process: the simulator (test/sim/kube/) runs in this
 * process, so a pod's Ready write and a child's exit are noted on the same monotonic clock. The simulated clock
 * (`sim.now()`, a condition's `lastTransitionTime`, `RecordedRequest.at`) runs `timeScale`× faster and its
 * timestamps have whole seconds only, so no latency is taken from it.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JsonObject, KubeSim } from '../../test/sim/kube/server.js';

/** A Deployment to write: its name and namespace. */
export interface Target {
  name: string;
  namespace: string;
}

/** One Deployment (`replicas` pods of one container running `image`) as YAML. */
export function deploymentYaml(t: Target, image: string, replicas: number): string {
  const { name } = t;
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${t.namespace}`,
    `  labels: { app: ${name} }`,
    'spec:',
    `  replicas: ${replicas}`,
    '  selector:',
    `    matchLabels: { app: ${name} }`,
    '  template:',
    '    metadata:',
    `      labels: { app: ${name} }`,
    '    spec:',
    '      containers:',
    `        - name: ${name}`,
    `          image: ${image}`,
    '          ports: [{ containerPort: 8080 }]',
    '',
  ].join('\n');
}

/** Writes `<dir>/<name>.yaml` for every target; returns the paths. */
export async function writeDeployments(
  dir: string,
  targets: readonly Target[],
  image: string,
  replicas: number,
): Promise<string[]> {
  const paths = targets.map((t) => join(dir, `${t.name}.yaml`));
  await Promise.all(targets.map((t, i) => writeFile(paths[i]!, deploymentYaml(t, image, replicas))));
  return paths;
}

/** Creates namespaces through the simulator's API (as `kubectl create namespace` would). */
export async function createNamespaces(sim: KubeSim, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const res = await fetch(`${sim.url}/api/v1/namespaces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
    });
    if (res.status !== 201) throw new Error(`namespace ${name}: HTTP ${res.status} ${await res.text()}`);
  }
}

const isReady = (pod: JsonObject): boolean => {
  const status = pod['status'] as { conditions?: Array<{ type?: string; status?: string }> } | undefined;
  return (status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
};

/**
 * Notes, for every pod, the real moment (bench clock) the simulator first stores it with condition Ready=True,
 * and how many requests the simulator had received by then. It is a watcher on the simulator's store, called
 * synchronously by the write that marks the pod Ready — the same write that sends the watch events (the pod's, and
 * the Deployment's new status from the controller loop that runs right after it) to the HTTP watchers.
 */
export interface ReadyRecorder {
  /** Pods seen Ready so far. */
  count(): number;
  /** When the last of them became Ready, and the simulator's request count then. */
  last(): { at: number; requests: number } | undefined;
  stop(): void;
}

export function recordReady(sim: KubeSim): ReadyRecorder {
  const readyAt = new Map<string, { at: number; requests: number }>();
  let last: { at: number; requests: number } | undefined;
  const stop = sim.engine.store.addWatcher({
    typeKey: '/pods',
    namespace: '',
    matches: () => true,
    deliver: (type, pod) => {
      if (type === 'DELETED' || !isReady(pod)) return;
      const uid = String((pod['metadata'] as JsonObject | undefined)?.['uid'] ?? '');
      if (readyAt.has(uid)) return;
      const mark = { at: performance.now(), requests: sim.requests.length };
      readyAt.set(uid, mark);
      last = mark;
    },
  });
  return { count: () => readyAt.size, last: () => last, stop };
}

export interface Exit {
  code: number | null;
  /** Spawned (bench clock). */
  startAt: number;
  /** The process's `exit` event (bench clock). */
  exitAt: number;
  output: string;
}

/**
 * Runs a program without a shell and without blocking this process's event loop (the simulator answers from it);
 * resolves at its exit. Killed after `timeoutMs`.
 */
export function timed(
  file: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs?: number },
): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const startAt = performance.now();
    const child = spawn(file, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => out.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 10 * 60_000);
    let exitAt = 0;
    let code: number | null = null;
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (c) => {
      exitAt = performance.now();
      code = c;
    });
    // The output is complete at `close` (after `exit`); the time is the exit's.
    child.once('close', () => {
      clearTimeout(timer);
      resolve({ code, startAt, exitAt, output: Buffer.concat(out).toString() });
    });
  });
}

/** Throws with the output unless the run exited 0. */
export function ok(what: string, e: Exit): Exit {
  if (e.code !== 0) throw new Error(`${what} exited ${String(e.code)}:\n${e.output.slice(-3000)}`);
  return e;
}

/** Every Deployment is rolled out: `replicas` available and updated, its container running `image`. */
export function checkRolledOut(
  sim: KubeSim,
  targets: readonly Target[],
  image: string,
  replicas: number,
): void {
  for (const { name, namespace } of targets) {
    const d = sim.get('apps/v1', 'Deployment', namespace, name) as
      | {
          status?: { availableReplicas?: number; updatedReplicas?: number };
          spec: { template: { spec: { containers: Array<{ image: string }> } } };
        }
      | undefined;
    const got = d?.spec.template.spec.containers[0]?.image;
    if (
      !d ||
      d.status?.availableReplicas !== replicas ||
      d.status.updatedReplicas !== replicas ||
      got !== image
    )
      throw new Error(
        `Deployment ${namespace}/${name} is not rolled out on ${image}: ${JSON.stringify({ image: got, status: d?.status })}`,
      );
  }
}
