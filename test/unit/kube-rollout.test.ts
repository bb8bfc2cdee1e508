/**
 * Waiting for Kubernetes rollouts (issue #12 item 3): kubectl's completion rules case by case, the pods' reasons and
 * the fatal/transient policy, and the parallel wait under one deadline with scripted sources and a fake clock (no
 * real time passes: a test of a 5-minute deadline takes milliseconds).
 *
 * The fixtures in test/fixtures/kube-rollout/ are objects as the API server returns them (a Deployment mid-rollout
 * and past its progress deadline, its ReplicaSets, one pod per waiting reason, the namespace's events — kubelet
 * events with count/firstTimestamp/lastTimestamp, the scheduler's with eventTime and series —, a partitioned and an
 * OnDelete StatefulSet, a DaemonSet, a Job running, complete and failed, and a failed Job pod).
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryLogger } from '../../packages/core/src/platform/logger.js';
import {
  diagnosePods,
  newPods,
  podProblems,
  type PodsSnapshot,
} from '../../packages/core/src/kube/pod-diagnosis.js';
import { rolloutStatus, type KubeObject, type RolloutStatus } from '../../packages/core/src/kube/rollout.js';
import {
  waitForRollouts,
  type Clock,
  type RolloutSource,
  type RolloutTarget,
  type WorkloadSnapshot,
} from '../../packages/core/src/kube/wait.js';
import { repoRoot } from '../harness/runner.js';

const FIXTURES = join(repoRoot, 'test/fixtures/kube-rollout');

function load(name: string): KubeObject {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as KubeObject;
}

function items(name: string): KubeObject[] {
  return (load(name) as { items: KubeObject[] }).items;
}

type Patch = { [key: string]: unknown };

/** A copy of `obj` with `p` merged in: objects merge, anything else replaces, `undefined` removes the key. */
function patch<T>(obj: T, p: Patch): T {
  const out = structuredClone(obj) as Record<string, unknown>;
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined) delete out[k];
    else if (
      typeof v === 'object' &&
      v !== null &&
      !Array.isArray(v) &&
      typeof out[k] === 'object' &&
      out[k] !== null
    )
      out[k] = patch(out[k], v as Patch);
    else out[k] = structuredClone(v);
  }
  return out as T;
}

const events = items('events-shop');
const replicaSets = items('replicasets-api');
const deployment = load('deployment-api');

// ---- kubectl's rules ----

interface Row {
  name: string;
  obj: KubeObject;
  done: boolean;
  failed?: string;
  progress?: string | RegExp;
  message?: string | RegExp;
  blocked?: RegExp;
  note?: RegExp;
}

/** Equal to a string, or matching a pattern. */
function expectText(actual: string | undefined, expected: string | RegExp): void {
  if (typeof expected === 'string') expect(actual).toBe(expected);
  else expect(actual).toMatch(expected);
}

function check(row: Row, s: RolloutStatus): void {
  expect(s.done).toBe(row.done);
  expect(s.failed?.reason).toBe(row.failed);
  if (row.progress !== undefined) expectText(s.progress, row.progress);
  if (row.message !== undefined) expectText(s.message, row.message);
  if (row.blocked) expect(s.blocked).toMatch(row.blocked);
  else expect(s.blocked).toBeUndefined();
  if (row.note) expect(s.note).toMatch(row.note);
}

const pde = load('deployment-api-progress-deadline');
const deploymentRows: Row[] = [
  {
    name: 'generation ahead of observedGeneration: waits for the spec to be observed',
    obj: patch(deployment, { metadata: { generation: 5 } }),
    done: false,
    progress: 'waiting for the deployment controller to observe generation 5 (observed 4)',
    message: 'Waiting for deployment spec update to be observed...',
  },
  {
    name: 'ProgressDeadlineExceeded is not believed before the generation is observed',
    obj: patch(pde, { metadata: { generation: 5 } }),
    done: false,
    message: 'Waiting for deployment spec update to be observed...',
  },
  {
    name: 'ProgressDeadlineExceeded fails it',
    obj: pde,
    done: false,
    failed: 'ProgressDeadlineExceeded',
    progress: '1/3 updated, 3/3 available, 3 old',
  },
  {
    name: 'updatedReplicas < spec.replicas waits',
    obj: deployment,
    done: false,
    progress: '2/3 updated, 3/3 available, 2 old',
    message: 'Waiting for deployment "api" rollout to finish: 2 out of 3 new replicas have been updated...',
  },
  {
    name: 'status.replicas > updatedReplicas waits for old replicas to terminate',
    obj: patch(deployment, { status: { replicas: 4, updatedReplicas: 3, availableReplicas: 3 } }),
    done: false,
    message: 'Waiting for deployment "api" rollout to finish: 1 old replicas are pending termination...',
  },
  {
    name: 'availableReplicas < updatedReplicas waits',
    obj: patch(deployment, { status: { replicas: 3, updatedReplicas: 3, availableReplicas: 2 } }),
    done: false,
    progress: '3/3 updated, 2/3 available',
    message: 'Waiting for deployment "api" rollout to finish: 2 of 3 updated replicas are available...',
  },
  {
    name: 'all updated and available: done',
    obj: patch(deployment, {
      status: { replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 },
    }),
    done: true,
    progress: '3/3 updated, 3/3 available',
    message: 'deployment "api" successfully rolled out',
  },
  {
    name: 'no spec.replicas: the updated check is skipped, as kubectl does',
    obj: patch(deployment, {
      spec: { replicas: undefined },
      status: { replicas: 2, updatedReplicas: 2, availableReplicas: 2 },
    }),
    done: true,
  },
  {
    name: 'scaled to zero: done',
    obj: patch(deployment, {
      spec: { replicas: 0 },
      status: { replicas: 0, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0 },
    }),
    done: true,
    progress: '0/0 updated, 0/0 available',
  },
  {
    name: 'paused: waits (as kubectl does) and says why',
    obj: patch(deployment, { spec: { paused: true } }),
    done: false,
    blocked: /paused/,
  },
  {
    name: 'a ReplicaFailure condition (quota) is shown, not fatal',
    obj: patch(deployment, {
      status: {
        conditions: [
          {
            type: 'ReplicaFailure',
            status: 'True',
            lastUpdateTime: '2025-03-14T10:00:02Z',
            lastTransitionTime: '2025-03-14T10:00:02Z',
            reason: 'FailedCreate',
            message:
              'pods "api-6d8f7b9c5d-x" is forbidden: exceeded quota: compute, requested: cpu=250m, used: cpu=2, limited: cpu=2',
          },
        ],
      },
    }),
    done: false,
    blocked: /^ReplicaFailure FailedCreate: pods .* exceeded quota/,
  },
];

const sts = load('statefulset-db-partitioned');
const noRollingUpdate = patch(sts, { spec: { updateStrategy: { rollingUpdate: undefined } } });
const statefulSetRows: Row[] = [
  {
    name: 'observedGeneration 0: waits',
    obj: patch(sts, { status: { observedGeneration: 0 } }),
    done: false,
    message: 'Waiting for statefulset spec update to be observed...',
  },
  {
    name: 'generation ahead: waits',
    obj: patch(sts, { metadata: { generation: 8 } }),
    done: false,
    progress: 'waiting for the statefulset controller to observe generation 8 (observed 7)',
  },
  {
    name: 'readyReplicas < replicas: waits',
    obj: patch(sts, { status: { readyReplicas: 2 } }),
    done: false,
    progress: '2/3 ready, 1/1 updated (partition 2)',
    message: 'Waiting for 1 pods to be ready...',
  },
  {
    name: 'partition 2: done once replicas - partition pods are updated, old revision or not',
    obj: sts,
    done: true,
    message: 'partitioned roll out complete: 1 new pods have been updated...',
  },
  {
    name: 'partition 1: waits for 2 updated pods',
    obj: patch(sts, { spec: { updateStrategy: { rollingUpdate: { partition: 1 } } } }),
    done: false,
    progress: '3/3 ready, 1/2 updated (partition 1)',
    message: 'Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...',
  },
  {
    name: 'partition 0, all updated: done',
    obj: patch(sts, {
      spec: { updateStrategy: { rollingUpdate: { partition: 0 } } },
      status: { updatedReplicas: 3, currentReplicas: 3, currentRevision: 'db-7b9c6d5f8' },
    }),
    done: true,
    progress: '3/3 ready, 3/3 updated',
  },
  {
    name: 'no rollingUpdate: waits while updateRevision != currentRevision',
    obj: noRollingUpdate,
    done: false,
    message: 'waiting for statefulset rolling update to complete 1 pods at revision db-7b9c6d5f8...',
  },
  {
    name: 'no rollingUpdate: done when the revisions match',
    obj: patch(noRollingUpdate, {
      status: { currentRevision: 'db-7b9c6d5f8', currentReplicas: 3, updatedReplicas: 3 },
    }),
    done: true,
    message: 'statefulset rolling update complete 3 pods at revision db-7b9c6d5f8...',
  },
  {
    name: 'OnDelete: nothing to wait for (kubectl refuses; Kiln notes it)',
    obj: load('statefulset-db-ondelete'),
    done: true,
    note: /OnDelete/,
  },
];

const ds = load('daemonset-node-agent');
const daemonSetRows: Row[] = [
  {
    name: 'generation ahead: waits',
    obj: patch(ds, { metadata: { generation: 4 } }),
    done: false,
    message: 'Waiting for daemon set spec update to be observed...',
  },
  {
    name: 'updatedNumberScheduled < desiredNumberScheduled: waits',
    obj: ds,
    done: false,
    progress: '2/3 updated, 2/3 available',
    message:
      'Waiting for daemon set "node-agent" rollout to finish: 2 out of 3 new pods have been updated...',
  },
  {
    name: 'numberAvailable < desiredNumberScheduled: waits',
    obj: patch(ds, { status: { updatedNumberScheduled: 3 } }),
    done: false,
    message: 'Waiting for daemon set "node-agent" rollout to finish: 2 of 3 updated pods are available...',
  },
  {
    name: 'all updated and available: done',
    obj: patch(ds, {
      status: { updatedNumberScheduled: 3, numberAvailable: 3, numberReady: 3, numberUnavailable: 0 },
    }),
    done: true,
    message: 'daemon set "node-agent" successfully rolled out',
  },
  {
    name: 'OnDelete: nothing to wait for',
    obj: patch(ds, { spec: { updateStrategy: { type: 'OnDelete', rollingUpdate: undefined } } }),
    done: true,
    note: /OnDelete/,
  },
];

const job = load('job-migrate-running');
const jobRows: Row[] = [
  {
    name: 'running: waits',
    obj: job,
    done: false,
    progress: '0/1 succeeded, 1 active, 1 failed (backoffLimit 2)',
  },
  {
    name: 'Complete=True: done',
    obj: load('job-migrate-complete'),
    done: true,
    progress: '1/1 succeeded, 0 active, 1 failed (backoffLimit 2)',
  },
  {
    name: 'Failed=True: failed with the controller reason',
    obj: load('job-migrate-failed'),
    done: false,
    failed: 'BackoffLimitExceeded',
  },
  {
    name: 'FailureTarget=True (pods still terminating): already failed',
    obj: patch(job, {
      status: {
        failed: 3,
        active: 0,
        terminating: 1,
        conditions: [
          {
            type: 'FailureTarget',
            status: 'True',
            reason: 'DeadlineExceeded',
            message: 'Job was active longer than specified deadline',
          },
        ],
      },
    }),
    done: false,
    failed: 'DeadlineExceeded',
  },
  {
    name: 'failed > backoffLimit before the condition is written: failed',
    obj: patch(job, { status: { failed: 3, active: 0 } }),
    done: false,
    failed: 'BackoffLimitExceeded',
  },
  {
    name: 'failed == backoffLimit: still waits (the controller fails at more)',
    obj: patch(job, { status: { failed: 2 } }),
    done: false,
  },
  {
    name: 'suspended: waits and says why',
    obj: patch(job, {
      spec: { suspend: true },
      status: {
        active: 0,
        conditions: [{ type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended' }],
      },
    }),
    done: false,
    blocked: /suspended/,
  },
  {
    name: 'SuccessCriteriaMet without Complete yet: waits',
    obj: patch(job, {
      status: {
        succeeded: 1,
        active: 0,
        conditions: [{ type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached' }],
      },
    }),
    done: false,
    progress: /success criteria met/,
  },
];

const otherRows: Row[] = [
  {
    name: 'a ConfigMap: applied, nothing to wait for',
    obj: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'api-config', namespace: 'shop' },
      data: {},
    },
    done: true,
    progress: 'applied, nothing to wait for',
  },
  {
    name: 'a Service: applied, nothing to wait for',
    obj: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'api' }, spec: { ports: [] } },
    done: true,
  },
];

describe("rolloutStatus: kubectl's rules", () => {
  const run = (row: Row) => check(row, rolloutStatus(row.obj));
  test.each(deploymentRows)('Deployment: $name', run);
  test.each(statefulSetRows)('StatefulSet: $name', run);
  test.each(daemonSetRows)('DaemonSet: $name', run);
  test.each(jobRows)('Job: $name', run);
  test.each(otherRows)('other kinds: $name', run);

  test('the failure messages name the cause', () => {
    expect(rolloutStatus(pde).failed?.message).toBe(
      'deployment "api" exceeded its progress deadline (progressDeadlineSeconds 600): ReplicaSet "api-6d8f7b9c5d" has timed out progressing.',
    );
    expect(rolloutStatus(load('job-migrate-failed')).failed?.message).toBe(
      'job "migrate" failed: Job has reached the specified backoff limit',
    );
    expect(rolloutStatus(patch(job, { status: { failed: 3 } })).failed?.message).toBe(
      'job "migrate" failed: 3 pods failed, more than its backoffLimit 2',
    );
  });

  test('missing or malformed status fields count as zero, never throw', () => {
    const bare = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x', generation: 1 },
      spec: { replicas: 'three' },
    };
    expect(rolloutStatus(bare as KubeObject)).toMatchObject({ done: false });
    expect(rolloutStatus({ kind: 'StatefulSet', status: 'weird' })).toMatchObject({ done: false });
    expect(rolloutStatus({ kind: 'Job' })).toMatchObject({ done: false, progress: '0 succeeded, 0 active' });
  });
});

// ---- the pods' reasons ----

const pod = (name: string) => load(`pod-${name}`);
const withWorkload = { workload: deployment, replicaSets };

interface DiagRow {
  name: string;
  pods: string[];
  threshold?: number;
  events?: KubeObject[];
  reason: string;
  fatal: boolean;
  text: string | RegExp;
}

const IMG =
  'registry.example.com/shop/api@sha256:3f1c9a7e5b2d4c6f8a0e1b3d5c7f9a2e4b6d8c0f1a3e5b7d9c2f4a6e8b0d1c3f';
const diagRows: DiagRow[] = [
  {
    name: 'CrashLoopBackOff at the threshold: fatal, with the exit code and the termination message',
    pods: ['crashloopbackoff'],
    reason: 'CrashLoopBackOff',
    fatal: true,
    text: 'pod api-6d8f7b9c5d-k8j2p: CrashLoopBackOff (exit 1: config missing: DATABASE_URL is not set; 3 restarts (failure-threshold 3))',
  },
  {
    name: 'CrashLoopBackOff under the threshold: transient',
    pods: ['crashloopbackoff'],
    threshold: 5,
    reason: 'CrashLoopBackOff',
    fatal: false,
    text: 'pod api-6d8f7b9c5d-k8j2p: CrashLoopBackOff (exit 1: config missing: DATABASE_URL is not set; 3 restarts)',
  },
  {
    name: 'OOMKilled in back-off, under the threshold: named OOMKilled, with the memory limit',
    pods: ['oomkilled'],
    reason: 'OOMKilled',
    fatal: false,
    text: 'pod api-6d8f7b9c5d-m4x7q: OOMKilled (exit 137, memory limit 256Mi; 2 restarts, CrashLoopBackOff)',
  },
  {
    name: 'OOMKilled at the threshold: fatal',
    pods: ['oomkilled'],
    threshold: 2,
    reason: 'OOMKilled',
    fatal: true,
    text: /OOMKilled \(exit 137, memory limit 256Mi; 2 restarts, CrashLoopBackOff \(failure-threshold 2\)\)$/,
  },
  {
    name: 'ImagePullBackOff, the registry said not found twice: fatal, with the image and the kubelet message',
    pods: ['imagepullbackoff'],
    reason: 'ImagePullBackOff',
    fatal: true,
    text: `pod api-6d8f7b9c5d-t6r5n: ImagePullBackOff (image ${IMG}: rpc error: code = NotFound desc = failed to pull and unpack image "…": failed to resolve reference "…": …: not found; 2 failed pulls)`,
  },
  {
    name: 'ImagePullBackOff without events (no count): transient',
    pods: ['imagepullbackoff'],
    events: [],
    reason: 'ImagePullBackOff',
    fatal: false,
    text: `pod api-6d8f7b9c5d-t6r5n: ImagePullBackOff (image ${IMG}; 1 failed pull)`,
  },
  {
    name: 'ErrImagePull after one timeout (a registry hiccup): transient',
    pods: ['errimagepull'],
    reason: 'ErrImagePull',
    fatal: false,
    text: /^pod api-6d8f7b9c5d-p8w3d: ErrImagePull \(image .*: rpc error: .*dial tcp 10\.20\.0\.15:443: i\/o timeout; 1 failed pull\)$/,
  },
  {
    name: 'ErrImagePull failing failure-threshold times: fatal',
    pods: ['errimagepull'],
    events: events.map((e) =>
      String(e['message']).startsWith('Failed to pull image') &&
      (e['involvedObject'] as { name: string }).name === 'api-6d8f7b9c5d-p8w3d'
        ? patch(e, { count: 3 })
        : e,
    ),
    reason: 'ErrImagePull',
    fatal: true,
    text: /i\/o timeout; 3 failed pulls \(failure-threshold 3\)\)$/,
  },
  {
    name: 'InvalidImageName: fatal at once',
    pods: ['invalidimagename'],
    reason: 'InvalidImageName',
    fatal: true,
    text: /^pod api-6d8f7b9c5d-z9k4f: InvalidImageName \(image registry\.example\.com\/Shop\/API:1\.8\.0: Failed to apply default image tag .* must be lowercase\)$/,
  },
  {
    name: 'ErrImageNeverPull: fatal at once',
    pods: ['errimageneverpull'],
    reason: 'ErrImageNeverPull',
    fatal: true,
    text: /is not on the node and imagePullPolicy is Never/,
  },
  {
    name: 'CreateContainerConfigError after 4 attempts: fatal, naming the missing key',
    pods: ['createcontainerconfigerror'],
    reason: 'CreateContainerConfigError',
    fatal: true,
    text: "pod api-6d8f7b9c5d-c5f6g: CreateContainerConfigError (couldn't find key DATABASE_URL in ConfigMap shop/api-config; 4 attempts (failure-threshold 3))",
  },
  {
    name: 'CreateContainerConfigError under the threshold (an operator may create the Secret): transient',
    pods: ['createcontainerconfigerror'],
    threshold: 5,
    reason: 'CreateContainerConfigError',
    fatal: false,
    text: "pod api-6d8f7b9c5d-c5f6g: CreateContainerConfigError (couldn't find key DATABASE_URL in ConfigMap shop/api-config; 4 attempts)",
  },
  {
    name: 'CreateContainerError once: transient',
    pods: ['createcontainererror'],
    reason: 'CreateContainerError',
    fatal: false,
    text: 'pod api-6d8f7b9c5d-e7d2w: CreateContainerError (failed to prepare subPath for volumeMount "config" of container "api")',
  },
  {
    name: 'unschedulable: the scheduler event, transient',
    pods: ['unschedulable'],
    reason: 'Unschedulable',
    fatal: false,
    text: 'pod api-6d8f7b9c5d-q7h4n: Unschedulable (0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.)',
  },
  {
    name: 'an init container crash-looping: named as such',
    pods: ['init-crashloop'],
    reason: 'CrashLoopBackOff',
    fatal: true,
    text: 'pod api-6d8f7b9c5d-w2b8r init container migrate: CrashLoopBackOff (exit 2: migration 0042_add_orders failed: relation "orders" already exists; 4 restarts (failure-threshold 3))',
  },
  {
    name: 'ContainerCreating: the FailedMount event says why, transient',
    pods: ['container-creating'],
    reason: 'ContainerCreating',
    fatal: false,
    text: 'pod api-6d8f7b9c5d-h2v9c: ContainerCreating (FailedMount: MountVolume.SetUp failed for volume "tls" : secret "api-tls" not found)',
  },
  {
    name: 'running but not ready: the readiness probe event',
    pods: ['not-ready'],
    reason: 'NotReady',
    fatal: false,
    text: 'pod api-6d8f7b9c5d-r5s1t: NotReady (Readiness probe failed: HTTP probe failed with statuscode: 503)',
  },
];

describe('diagnosePods: the reason, fatal or transient', () => {
  test.each(diagRows)('$name', (row) => {
    const d = diagnosePods(row.pods.map(pod), row.events ?? events, {
      failureThreshold: row.threshold ?? 3,
      ...withWorkload,
    });
    expect(d).toBeDefined();
    expect(d?.reason).toBe(row.reason);
    expect(d?.fatal).toBe(row.fatal);
    expectText(d?.text, row.text);
  });

  test('a ready pod has no problem', () => {
    expect(diagnosePods([pod('ready')], events, { failureThreshold: 3, ...withWorkload })).toBeUndefined();
  });

  test("only the new ReplicaSet's pods count (the revision's pod-template-hash)", () => {
    const oldCrashing = patch(pod('old-ready'), {
      status: {
        containerStatuses: (pod('crashloopbackoff').status as { containerStatuses: unknown[] })
          .containerStatuses,
      },
    });
    expect(
      diagnosePods([oldCrashing, pod('ready')], events, { failureThreshold: 1, ...withWorkload }),
    ).toBeUndefined();
    expect(
      newPods(deployment, [oldCrashing, pod('ready')], { replicaSets }).map((p) => p.metadata?.name),
    ).toEqual(['api-6d8f7b9c5d-4xq2m']);
    // Without the ReplicaSets, the newest pod's hash is taken as the new one.
    expect(newPods(deployment, [oldCrashing, pod('ready')]).map((p) => p.metadata?.name)).toEqual([
      'api-6d8f7b9c5d-4xq2m',
    ]);
    // Without a workload, every pod is looked at.
    expect(diagnosePods([oldCrashing], events, { failureThreshold: 1 })?.reason).toBe('CrashLoopBackOff');
  });

  test('StatefulSet, DaemonSet and Job pods are told by revision hash, template generation, controller uid', () => {
    const stsPod = (hash: string) => ({
      kind: 'Pod',
      metadata: { name: `db-${hash}`, labels: { 'controller-revision-hash': hash } },
    });
    expect(
      newPods(sts, [stsPod('db-5d8f7c6b9'), stsPod('db-7b9c6d5f8')]).map((p) => p.metadata?.name),
    ).toEqual(['db-db-7b9c6d5f8']);
    const dsPod = (gen: string) => ({
      kind: 'Pod',
      metadata: { name: `agent-${gen}`, labels: { 'pod-template-generation': gen } },
    });
    expect(newPods(ds, [dsPod('2'), dsPod('3')]).map((p) => p.metadata?.name)).toEqual(['agent-3']);
    const other = patch(pod('job-failed'), {
      metadata: {
        name: 'other',
        labels: { 'batch.kubernetes.io/controller-uid': 'x', 'controller-uid': 'x' },
        ownerReferences: [],
      },
    });
    expect(newPods(job, [pod('job-failed'), other]).map((p) => p.metadata?.name)).toEqual(['migrate-x7k2p']);
  });

  test("a Job's failed pod is reported with its exit code and message, never fatal (its backoffLimit decides)", () => {
    const d = diagnosePods([pod('job-failed')], [], {
      failureThreshold: 1,
      workload: job,
      crashLoopsFatal: false,
    });
    expect(d).toMatchObject({ reason: 'Error', fatal: false, exitCode: 2 });
    expect(d?.text).toBe(
      'pod migrate-x7k2p: Error (exit 2: migration 0042_add_orders failed: relation "orders" already exists)',
    );
  });

  test('a crash loop is not fatal with crashLoopsFatal false (Jobs)', () => {
    const d = diagnosePods([pod('crashloopbackoff')], events, {
      failureThreshold: 1,
      crashLoopsFatal: false,
    });
    expect(d).toMatchObject({ reason: 'CrashLoopBackOff', fatal: false });
  });

  test('the most telling problem comes first: fatal ones, then bad image or config before crashes before scheduling', () => {
    const all = [
      'not-ready',
      'unschedulable',
      'container-creating',
      'crashloopbackoff',
      'invalidimagename',
      'createcontainerconfigerror',
      'errimagepull',
    ];
    const problems = podProblems(all.map(pod), events, { failureThreshold: 3, ...withWorkload });
    expect(problems.map((p) => `${p.reason}${p.fatal ? '!' : ''}`)).toEqual([
      'InvalidImageName!',
      'CreateContainerConfigError!',
      'CrashLoopBackOff!',
      'ErrImagePull',
      'Unschedulable',
      'ContainerCreating',
      'NotReady',
    ]);
    const d = diagnosePods(all.map(pod), events, { failureThreshold: 3, ...withWorkload });
    expect(d?.otherPods).toBe(6);
    expect(d?.text).toMatch(/^pod api-6d8f7b9c5d-z9k4f: InvalidImageName \(.*\); 6 other pods not ready$/);
  });

  test('the unschedulable reason falls back to the PodScheduled condition without the event', () => {
    const d = diagnosePods([pod('unschedulable')], [], { failureThreshold: 3 });
    expect(d?.detail).toMatch(/^0\/3 nodes are available: 3 Insufficient cpu\./);
    const fromEvent = diagnosePods(
      [
        patch(pod('unschedulable'), {
          status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] },
        }),
      ],
      events,
      { failureThreshold: 3 },
    );
    expect(fromEvent?.detail).toMatch(/^0\/3 nodes are available/);
  });

  test('events older than `since`, or about another pod of the same name (uid), are ignored', () => {
    const after = Date.parse('2025-03-14T10:00:41Z');
    const d = diagnosePods([pod('createcontainerconfigerror')], events, {
      failureThreshold: 3,
      since: after,
    });
    expect(d).toMatchObject({ attempts: 1, fatal: false });
    const otherUid = patch(pod('createcontainerconfigerror'), {
      metadata: { uid: '00000000-0000-4000-8000-000000000000' },
    });
    expect(diagnosePods([otherUid], events, { failureThreshold: 3 })).toMatchObject({
      attempts: 1,
      fatal: false,
    });
  });

  test('a long, multi-line termination message is kept to one line', () => {
    const long = patch(pod('crashloopbackoff'), {
      status: {
        containerStatuses: [
          {
            name: 'api',
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: {
              terminated: {
                exitCode: 1,
                reason: 'Error',
                message: `panic: boom\n\ngoroutine 1 [running]:\n${'x'.repeat(2000)}`,
              },
            },
            ready: false,
            restartCount: 1,
          },
        ],
      },
    });
    const d = diagnosePods([long], [], { failureThreshold: 3 });
    expect(d?.text).not.toMatch(/\n/);
    expect(d?.text.length).toBeLessThan(400);
    expect(d?.text).toMatch(
      /^pod api-6d8f7b9c5d-k8j2p: CrashLoopBackOff \(exit 1: panic: boom goroutine 1 \[running\]: x+ … x+; 1 restart\)$/,
    );
  });
});

// ---- the wait ----

/** Virtual time: sleeps wait for the clock; `run` jumps to the next timer whenever every task is idle. */
class FakeClock implements Clock {
  private timers: { at: number; seq: number; fire: () => void }[] = [];
  private seq = 0;
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = {
        at: this.t + Math.max(0, ms),
        seq: this.seq++,
        fire: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(signal?.reason);
      };
      this.timers.push(timer);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
  async run<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    void work.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let steps = 0; ; steps++) {
      await new Promise((r) => setImmediate(r));
      if (settled) return work;
      if (steps > 10_000) throw new Error('the fake clock ran 10 000 steps');
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift();
      if (!next) throw new Error('deadlock: nothing is scheduled and the work has not settled');
      this.t = Math.max(this.t, next.at);
      next.fire();
    }
  }
}

const T0 = Date.parse('2025-03-14T10:00:00Z');

interface Script {
  /** Snapshots at seconds after T0. */
  watch?: [number, WorkloadSnapshot][];
  /** What the pods look like `s` seconds after T0. */
  pods?: (s: number) => PodsSnapshot;
  /** The first `failWatch` watch calls throw. */
  failWatch?: number;
}

function scripted(clock: FakeClock, scripts: Record<string, Script>) {
  const calls = { watch: [] as string[], pods: [] as [string, number][] };
  const source: RolloutSource = {
    watch(target, signal) {
      calls.watch.push(target.name);
      const s = scripts[target.name] ?? {};
      if ((s.failWatch ?? 0) > calls.watch.filter((n) => n === target.name).length - 1)
        throw new Error('connect ECONNREFUSED 10.0.0.1:6443');
      return (async function* () {
        for (const [at, snap] of s.watch ?? []) {
          await clock.sleep(T0 + at * 1000 - clock.now(), signal);
          yield snap;
        }
        // A real watch stays open.
        await new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
        );
      })();
    },
    async pods(target) {
      const s = (clock.now() - T0) / 1000;
      calls.pods.push([target.name, s]);
      return scripts[target.name]?.pods?.(s) ?? { pods: [], events: [] };
    },
  };
  return { source, calls };
}

const apiTarget: RolloutTarget = {
  kind: 'Deployment',
  name: 'api',
  namespace: 'shop',
  apiVersion: 'apps/v1',
};
const dbTarget: RolloutTarget = { kind: 'StatefulSet', name: 'db', namespace: 'shop', apiVersion: 'apps/v1' };

function crashing(restarts: number): KubeObject {
  const p = pod('crashloopbackoff');
  const cs = (p.status as { containerStatuses: { restartCount: number }[] }).containerStatuses[0];
  if (cs) cs.restartCount = restarts;
  return p;
}

const apiPods = (...extra: KubeObject[]): PodsSnapshot => ({
  pods: [pod('ready'), pod('old-ready'), ...extra],
  events,
  replicaSets,
});

describe('waitForRollouts', () => {
  test('two workloads in parallel: one rolls out, the other crash-loops and fails at the threshold, long before the deadline', async () => {
    const clock = new FakeClock(T0);
    const log = new MemoryLogger(false);
    const stsAt = (status: Patch, generation = 7) => patch(sts, { metadata: { generation }, status });
    const { source, calls } = scripted(clock, {
      db: {
        watch: [
          [0, { type: 'ADDED', object: stsAt({ observedGeneration: 6, updatedReplicas: 0 }) }],
          [
            2,
            {
              type: 'MODIFIED',
              object: stsAt({ observedGeneration: 7, readyReplicas: 2, updatedReplicas: 0 }),
            },
          ],
          [
            3,
            {
              type: 'MODIFIED',
              object: stsAt({ observedGeneration: 7, readyReplicas: 2, updatedReplicas: 0 }),
            },
          ],
          [12, { type: 'MODIFIED', object: sts }],
        ],
        pods: () => ({ pods: [], events: [] }),
      },
      api: {
        watch: [[0, { type: 'ADDED', object: deployment }]],
        pods: (s) => apiPods(crashing(s < 15 ? 1 : s < 40 ? 2 : 3)),
      },
    });
    const results = await clock.run(
      waitForRollouts([apiTarget, dbTarget], {
        deadline: T0 + 300_000,
        failureThreshold: 3,
        log,
        source,
        clock,
        since: T0,
      }),
    );
    expect(results.map((r) => [r.target.name, r.result, r.durationMs])).toEqual([
      ['api', 'failed', 40_000],
      ['db', 'ready', 12_000],
    ]);
    const [api, db] = results;
    expect(api?.reason).toBe(
      'pod api-6d8f7b9c5d-k8j2p: CrashLoopBackOff (exit 1: config missing: DATABASE_URL is not set; 3 restarts (failure-threshold 3))',
    );
    expect(api?.progress).toBe('2/3 updated, 3/3 available, 2 old');
    expect(api?.diagnosis).toMatchObject({
      reason: 'CrashLoopBackOff',
      restarts: 3,
      exitCode: 1,
      fatal: true,
    });
    expect(db?.progress).toBe('3/3 ready, 1/1 updated (partition 2)');
    expect(db?.reason).toBeUndefined();
    // The pods were looked at every 5 s (and at once when a status changed), and not after a verdict.
    expect(calls.pods.filter(([n]) => n === 'api').map(([, s]) => s)).toEqual([
      0, 5, 10, 15, 20, 25, 30, 35, 40,
    ]);
    expect(calls.pods.filter(([n]) => n === 'db').map(([, s]) => s)).toEqual([0, 2, 7]);
    // Progress lines when something changed, not on every event or check.
    expect(log.lines).toEqual([
      'deployment/api: 2/3 updated, 3/3 available, 2 old · pod api-6d8f7b9c5d-k8j2p: CrashLoopBackOff (exit 1: config missing: DATABASE_URL is not set; 1 restart) · 0ms',
      'statefulset/db: waiting for the statefulset controller to observe generation 7 (observed 6) · 0ms',
      'statefulset/db: 2/3 ready, 0/1 updated (partition 2) · 2.00s',
      'statefulset/db: rolled out · 3/3 ready, 1/1 updated (partition 2) · 12.0s',
      'deployment/api: 2/3 updated, 3/3 available, 2 old · pod api-6d8f7b9c5d-k8j2p: CrashLoopBackOff (exit 1: config missing: DATABASE_URL is not set; 2 restarts) · 15.0s',
      'deployment/api: failed · pod api-6d8f7b9c5d-k8j2p: CrashLoopBackOff (exit 1: config missing: DATABASE_URL is not set; 3 restarts (failure-threshold 3)) · 2/3 updated, 3/3 available, 2 old · 40.0s',
    ]);
  });

  test('the deadline with a pending unschedulable pod: timed out, with the scheduler message', async () => {
    const clock = new FakeClock(T0);
    const stuck = patch(deployment, {
      status: { replicas: 4, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3 },
    });
    const { source, calls } = scripted(clock, {
      api: { watch: [[0, stuck]], pods: () => apiPods(pod('unschedulable')) },
    });
    const [r] = await clock.run(
      waitForRollouts([apiTarget], {
        deadline: T0 + 300_000,
        failureThreshold: 3,
        log: new MemoryLogger(),
        source,
        clock,
      }),
    );
    expect(r?.result).toBe('timed-out');
    expect(r?.durationMs).toBe(300_000);
    expect(r?.reason).toBe(
      'timed out after 5m00s: 1/3 updated, 3/3 available, 3 old; pod api-6d8f7b9c5d-q7h4n: Unschedulable (0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.)',
    );
    expect(r?.diagnosis?.reason).toBe('Unschedulable');
    // One last look at the pods at the deadline.
    expect(calls.pods.at(-1)).toEqual(['api', 300]);
  });

  test('a deadline without any pod problem still says what was missing (never just "timed out")', async () => {
    const clock = new FakeClock(T0);
    const { source } = scripted(clock, { api: { watch: [[0, deployment]], pods: () => apiPods() } });
    const [r] = await clock.run(
      waitForRollouts([apiTarget], {
        deadline: T0 + 60_000,
        failureThreshold: 3,
        log: new MemoryLogger(),
        source,
        clock,
      }),
    );
    expect(r?.reason).toBe(
      'timed out after 1m00s: 2/3 updated, 3/3 available, 2 old; Waiting for deployment "api" rollout to finish: 2 out of 3 new replicas have been updated...',
    );
  });

  test('a workload that never shows up times out saying so, with the watch error', async () => {
    const clock = new FakeClock(T0);
    const { source, calls } = scripted(clock, { api: { failWatch: 1000 } });
    const log = new MemoryLogger(false);
    const [r] = await clock.run(
      waitForRollouts([apiTarget], { deadline: T0 + 60_000, failureThreshold: 3, log, source, clock }),
    );
    expect(r?.result).toBe('timed-out');
    expect(r?.reason).toBe(
      'timed out after 1m00s: no status of deployment/api arrived (watching failed: connect ECONNREFUSED 10.0.0.1:6443)',
    );
    // Retried with backoff: at 0, 1, 3, 7, 15, 30 and 45 s (1, 2, 4, 8, then at most 15 s apart); logged once.
    expect(calls.watch.length).toBe(7);
    expect(log.lines.filter((l) => l.startsWith('warning:'))).toHaveLength(1);
  });

  test('a watch that fails once is opened again', async () => {
    const clock = new FakeClock(T0);
    const done = patch(deployment, {
      status: { replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 },
    });
    const { source } = scripted(clock, { api: { failWatch: 1, watch: [[0, done]] } });
    const [r] = await clock.run(
      waitForRollouts([apiTarget], {
        deadline: T0 + 60_000,
        failureThreshold: 3,
        log: new MemoryLogger(),
        source,
        clock,
      }),
    );
    expect(r).toMatchObject({ result: 'ready', durationMs: 1000 });
  });

  test('cancellation: every unfinished workload is cancelled, with its progress; nothing is read afterwards', async () => {
    const clock = new FakeClock(T0);
    const { source, calls } = scripted(clock, {
      api: { watch: [[0, deployment]], pods: () => apiPods(crashing(1)) },
      db: { watch: [[0, patch(sts, { status: { readyReplicas: 2 } })]] },
    });
    const ac = new AbortController();
    void clock.sleep(30_000).then(() => ac.abort());
    const results = await clock.run(
      waitForRollouts([apiTarget, dbTarget], {
        deadline: T0 + 300_000,
        failureThreshold: 3,
        log: new MemoryLogger(),
        source,
        clock,
        signal: ac.signal,
      }),
    );
    expect(results.map((r) => [r.result, r.durationMs, r.reason])).toEqual([
      ['cancelled', 30_000, 'cancelled after 30.0s: 2/3 updated, 3/3 available, 2 old'],
      ['cancelled', 30_000, 'cancelled after 30.0s: 2/3 ready, 1/1 updated (partition 2)'],
    ]);
    expect(Math.max(...calls.pods.map(([, s]) => s))).toBeLessThanOrEqual(30);
  });

  test('a signal aborted before the start cancels at once', async () => {
    const clock = new FakeClock(T0);
    const { source, calls } = scripted(clock, { api: { watch: [[0, deployment]] } });
    const ac = new AbortController();
    ac.abort();
    const [r] = await clock.run(
      waitForRollouts([apiTarget], {
        deadline: T0 + 1000,
        failureThreshold: 3,
        log: new MemoryLogger(),
        source,
        clock,
        signal: ac.signal,
      }),
    );
    expect(r).toMatchObject({ result: 'cancelled', progress: 'no status seen yet', durationMs: 0 });
    expect(calls.pods).toEqual([]);
  });

  test('a fatal image problem fails at the first look, with the reason', async () => {
    const clock = new FakeClock(T0);
    const { source } = scripted(clock, {
      api: { watch: [[1, deployment]], pods: () => apiPods(pod('invalidimagename')) },
    });
    const [r] = await clock.run(
      waitForRollouts([apiTarget], {
        deadline: T0 + 300_000,
        failureThreshold: 3,
        log: new MemoryLogger(),
        source,
        clock,
      }),
    );
    expect(r).toMatchObject({ result: 'failed', durationMs: 1000 });
    expect(r?.reason).toMatch(
      /^pod api-6d8f7b9c5d-z9k4f: InvalidImageName \(image registry\.example\.com\/Shop\/API:1\.8\.0: /,
    );
  });

  test("ProgressDeadlineExceeded fails the Deployment with its pods' reason", async () => {
    const clock = new FakeClock(T0);
    const { source } = scripted(clock, {
      // A registry timeout (transient) keeps the wait going until the Deployment's own deadline says it failed.
      api: {
        watch: [
          [0, deployment],
          [20, pde],
        ],
        pods: () => apiPods(pod('errimagepull')),
      },
    });
    const [r] = await clock.run(
      waitForRollouts([apiTarget], {
        deadline: T0 + 900_000,
        failureThreshold: 5,
        log: new MemoryLogger(),
        source,
        clock,
      }),
    );
    expect(r).toMatchObject({ result: 'failed', durationMs: 20_000 });
    expect(r?.reason).toMatch(
      /^ProgressDeadlineExceeded: deployment "api" exceeded its progress deadline \(progressDeadlineSeconds 600\): ReplicaSet "api-6d8f7b9c5d" has timed out progressing\.; pod api-6d8f7b9c5d-p8w3d: ErrImagePull \(image .*: i\/o timeout; 1 failed pull\)$/,
    );
  });

  test("a Job: complete is ready; failed carries the failed pod's exit code and message; crash loops are left to backoffLimit", async () => {
    const clock = new FakeClock(T0);
    const jobTarget: RolloutTarget = { kind: 'Job', name: 'migrate', namespace: 'shop' };
    const { source } = scripted(clock, {
      migrate: {
        watch: [
          [0, job],
          [80, load('job-migrate-failed')],
        ],
        // A crash-looping pod would be fatal at threshold 1 for a Deployment; for a Job it is not.
        pods: (s) => ({
          pods:
            s < 60
              ? [patch(crashing(4), { metadata: { labels: { 'controller-uid': job.metadata?.uid } } })]
              : [pod('job-failed')],
          events: [],
        }),
      },
    });
    const [r] = await clock.run(
      waitForRollouts([jobTarget], {
        deadline: T0 + 300_000,
        failureThreshold: 1,
        log: new MemoryLogger(),
        source,
        clock,
      }),
    );
    expect(r).toMatchObject({ result: 'failed', durationMs: 80_000 });
    expect(r?.reason).toBe(
      'BackoffLimitExceeded: job "migrate" failed: Job has reached the specified backoff limit; pod migrate-x7k2p: Error (exit 2: migration 0042_add_orders failed: relation "orders" already exists)',
    );

    const clock2 = new FakeClock(T0);
    const ok = scripted(clock2, {
      migrate: {
        watch: [
          [0, job],
          [41, load('job-migrate-complete')],
        ],
      },
    });
    const [r2] = await clock2.run(
      waitForRollouts([jobTarget], {
        deadline: T0 + 300_000,
        failureThreshold: 3,
        log: new MemoryLogger(),
        source: ok.source,
        clock: clock2,
      }),
    );
    expect(r2).toMatchObject({ result: 'ready', durationMs: 41_000 });
  });

  test('a workload deleted while waiting fails (as kubectl does)', async () => {
    const clock = new FakeClock(T0);
    const { source } = scripted(clock, {
      api: {
        watch: [
          [0, { type: 'ADDED', object: deployment }],
          [5, { type: 'DELETED', object: deployment }],
        ],
      },
    });
    const [r] = await clock.run(
      waitForRollouts([apiTarget], {
        deadline: T0 + 60_000,
        failureThreshold: 3,
        log: new MemoryLogger(),
        source,
        clock,
      }),
    );
    expect(r).toMatchObject({
      result: 'failed',
      durationMs: 5000,
      reason: 'deployment/api was deleted while Kiln waited for its rollout',
    });
  });

  test('kinds without a rollout are ready at once, unwatched; OnDelete is ready with a note', async () => {
    const clock = new FakeClock(T0);
    const { source, calls } = scripted(clock, { db: { watch: [[0, load('statefulset-db-ondelete')]] } });
    const results = await clock.run(
      waitForRollouts([{ kind: 'ConfigMap', name: 'api-config', namespace: 'shop' }, dbTarget], {
        deadline: T0 + 60_000,
        failureThreshold: 3,
        log: new MemoryLogger(),
        source,
        clock,
      }),
    );
    expect(results.map((r) => r.result)).toEqual(['ready', 'ready']);
    expect(results[0]?.progress).toBe('applied, nothing to wait for');
    expect(results[1]?.reason).toMatch(/OnDelete/);
    expect(calls.watch).toEqual(['db']);
  });

  test('a failing pods read is logged once and the wait goes on', async () => {
    const clock = new FakeClock(T0);
    const log = new MemoryLogger(false);
    const done = patch(deployment, {
      status: { replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 },
    });
    const { source } = scripted(clock, {
      api: {
        watch: [
          [0, deployment],
          [20, done],
        ],
      },
    });
    source.pods = () => Promise.reject(new Error('pods is forbidden: User "ci" cannot list resource "pods"'));
    const [r] = await clock.run(
      waitForRollouts([apiTarget], { deadline: T0 + 60_000, failureThreshold: 3, log, source, clock }),
    );
    expect(r).toMatchObject({ result: 'ready', durationMs: 20_000 });
    expect(log.lines.filter((l) => l.startsWith('warning:'))).toEqual([
      'warning: deployment/api: reading its pods failed (pods is forbidden: User "ci" cannot list resource "pods")',
    ]);
  });

  test('targets in several namespaces are labelled with theirs', async () => {
    const clock = new FakeClock(T0);
    const log = new MemoryLogger(false);
    const { source } = scripted(clock, { api: { watch: [[0, load('statefulset-db-ondelete')]] } });
    await clock.run(
      waitForRollouts(
        [
          { kind: 'StatefulSet', name: 'api', namespace: 'shop' },
          { kind: 'ConfigMap', name: 'x', namespace: 'other' },
        ],
        { deadline: T0 + 60_000, failureThreshold: 3, log, source, clock },
      ),
    );
    expect(log.lines[0]).toMatch(/^statefulset\/api -n shop: rolled out/);
  });
});
