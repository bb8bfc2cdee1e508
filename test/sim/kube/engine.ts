/**
 * The simulated cluster: storage, API semantics, the clock, and the control plane's loops (controllers,
 * scheduler, kubelets) that run after every change and every timer until nothing changes any more — each loop
 * level-triggered, reading the stored objects as a real controller reads its informer cache.
 */
import { KubeApi } from './api.js';
import { Clock } from './clock.js';
import type { SimContext } from './context.js';
import { builtinTypes } from './context.js';
import { DeploymentController, ReplicaSetController } from './deployment.js';
import { EventRecorder } from './events.js';
import type { NodeOptions } from './kubelet.js';
import { Kubelet, nodeObject, Scheduler, stampNode } from './kubelet.js';
import { seededRandom } from '../marathon/json.js';
import type { JsonObject } from './meta.js';
import { rfc3339 } from './meta.js';
import { Registry } from './resources.js';
import type { PodScenario } from './scenarios.js';
import { Store } from './store.js';
import { CrdController, GarbageCollector, NamespaceController } from './system.js';
import { CronJobController, DaemonSetController, JobController, StatefulSetController } from './workloads.js';

export interface EngineOptions {
  startMs: number;
  seed: number;
  nodes: NodeOptions[];
  scenarios: Map<string, PodScenario>;
  /** Changes kept for watches to resume from (the watch cache window). */
  historyLimit: number;
}

interface Loop {
  name: string;
  sync(): void;
}

export class KubeEngine {
  readonly store: Store;
  readonly registry = new Registry();
  readonly clock: Clock;
  readonly api: KubeApi;
  readonly events: EventRecorder;
  readonly ctx: SimContext;
  readonly kubelet: Kubelet;
  readonly scheduler: Scheduler;
  private readonly loops: Loop[];
  private dirty = true;
  private settling = false;
  private readonly wakes = new Set<number>();
  /** Errors thrown by a control loop (a simulator bug): kept for tests, never thrown into a request. */
  readonly loopErrors: Error[] = [];

  constructor(opts: EngineOptions) {
    const random = seededRandom(opts.seed);
    this.clock = new Clock(opts.startMs);
    this.store = new Store(opts.historyLimit);
    this.api = new KubeApi(this.store, this.registry, this.clock, random);
    this.events = new EventRecorder(this.api, this.registry);
    this.ctx = {
      api: this.api,
      clock: this.clock,
      registry: this.registry,
      events: this.events,
      random,
      types: builtinTypes(this.registry),
      scenarios: opts.scenarios,
      wake: (at) => {
        // One timer per instant, however many loops ask for it.
        if (this.wakes.has(at) || at <= this.clock.now) return;
        this.wakes.add(at);
        this.clock.at(at, () => {
          this.wakes.delete(at);
          this.dirty = true;
        });
      },
    };
    this.scheduler = new Scheduler(this.ctx);
    this.kubelet = new Kubelet(this.ctx);
    this.store.onWrite = (change) => {
      this.dirty = true;
      if (change.typeKey === '/pods' && change.type === 'DELETED') this.scheduler.clusterChanged();
      if (change.typeKey === '/nodes') this.scheduler.clusterChanged();
    };
    const loop = (name: string, o: { sync(): void }): Loop => ({ name, sync: () => o.sync() });
    this.loops = [
      loop('crd', new CrdController(this.ctx)),
      loop('namespace', new NamespaceController(this.ctx)),
      loop('garbage-collector', new GarbageCollector(this.ctx)),
      loop('deployment', new DeploymentController(this.ctx)),
      loop('replicaset', new ReplicaSetController(this.ctx)),
      loop('statefulset', new StatefulSetController(this.ctx)),
      loop('daemonset', new DaemonSetController(this.ctx)),
      loop('job', new JobController(this.ctx)),
      loop('cronjob', new CronJobController(this.ctx)),
      loop('scheduler', this.scheduler),
      loop('kubelet', this.kubelet),
    ];
    this.bootstrap(opts.nodes);
  }

  private bootstrap(nodes: NodeOptions[]): void {
    const { api, ctx } = this;
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      api.createInternal(
        ctx.types.namespace,
        '',
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
        'kube-apiserver',
      );
    }
    nodes.forEach((n, i) => {
      const node = nodeObject(n, i);
      stampNode(node, rfc3339(this.clock.now));
      const status = node['status'] as JsonObject;
      api.createInternal(ctx.types.node, '', node, 'kubelet');
      api.mutate(
        ctx.types.node,
        '',
        n.name,
        'kubelet',
        (o) => {
          o['status'] = status;
        },
        'status',
      );
    });
    this.settle();
  }

  /** Runs the control loops until nothing changes (bounded). */
  settle(): void {
    if (this.settling) return;
    this.settling = true;
    try {
      for (let i = 0; i < 100 && this.dirty; i++) {
        this.dirty = false;
        for (const l of this.loops) {
          try {
            l.sync();
          } catch (e) {
            const err = e instanceof Error ? e : new Error(String(e));
            err.message = `${l.name}: ${err.message}`;
            this.loopErrors.push(err);
            if (this.loopErrors.length > 100) this.loopErrors.shift();
          }
        }
      }
    } finally {
      this.settling = false;
    }
  }

  /** Advances the simulated clock to `t`, running due timers and the loops after each. */
  advanceTo(t: number): void {
    this.clock.advanceTo(t, () => this.settle());
    this.settle();
  }

  markDirty(): void {
    this.dirty = true;
  }
}
