/**
 * One deploy-k8s run against the cluster: applies objects (remembering what ran before each), resolves a
 * strategy's pins against the live Deployments, waits for every changed workload at once, deletes a strategy's
 * copies, and on failure puts back everything it changed and waits for that too. The flow is in action/kube.ts.
 */
import { ConfigurationError } from '../errors.js';
import type { KubeClient, KubeList, ObjectRef } from '../kube/client.js';
import type { Manifest } from '../kube/manifests.js';
import { isWaitable } from '../kube/rollout.js';
import { currentPodTemplateHash, withPin, type CopyRef, type Planned } from '../kube/strategy.js';
import { waitForRollouts, type RolloutSource } from '../kube/wait.js';
import type { Logger } from '../platform/types.js';
import { isJsonObject, type JsonObject } from '../util/json.js';
import type { ResourceReport } from './kube-report.js';
import { splitPinned } from './ledger.js';

const REVISION = 'deployment.kubernetes.io/revision';
/** What the API server owns or computes: never sent back when an object is restored. */
const SERVER_FIELDS = [
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'managedFields',
  'selfLink',
];
/** Events listed for one namespace are shared by every workload looked at within this long. */
const EVENTS_ROUND_MS = 1000;

export interface KubeRunOptions {
  client: KubeClient;
  log: Logger;
  signal: AbortSignal;
  deadline: number;
  dryRun: boolean;
  forceConflicts: boolean;
  failureThreshold: number;
  /** The images each object's containers were given: by manifest. */
  imagesOf(m: Manifest): string[];
}

/** A strategy's pins resolved: the objects to apply, and what to tell the user. */
export interface ResolvedPins {
  objects: Manifest[];
  notes: string[];
}

export class KubeRun {
  readonly reports: ResourceReport[] = [];
  private readonly previous = new Map<ResourceReport, JsonObject | undefined>();
  private readonly source: RolloutSource;

  constructor(private readonly o: KubeRunOptions) {
    this.source = rolloutSource(o.client, { signal: o.signal, deadline: o.deadline });
  }

  private get call() {
    return { signal: this.o.signal, deadline: this.o.deadline };
  }

  /**
   * Applies objects in order (server-side apply). `force` takes the fields over from another manager: a strategy's
   * traffic objects (Service selectors, routes) are Kiln's to switch.
   */
  async apply(objects: readonly Manifest[], o: { force?: boolean } = {}): Promise<void> {
    for (const m of objects) await this.applyOne(m, o.force ?? this.o.forceConflicts);
  }

  /** Applies objects that do not depend on each other, a few at a time (reports stay in the given order). */
  async applyParallel(objects: readonly Manifest[], width = 8): Promise<void> {
    const slots: Array<ResourceReport | undefined> = [];
    let next = 0;
    const worker = async () => {
      while (next < objects.length) {
        const i = next++;
        slots[i] = await this.applyOne(objects[i] as Manifest, this.o.forceConflicts, false);
      }
    };
    await Promise.all(Array.from({ length: Math.min(width, objects.length) }, worker));
    for (const r of slots) if (r) this.reports.push(r);
  }

  private async applyOne(m: Manifest, force: boolean, push = true): Promise<ResourceReport> {
    const namespace = namespaceOf(m.object);
    const ref = { apiVersion: m.apiVersion, kind: m.kind, name: m.name, ...(namespace ? { namespace } : {}) };
    const before = await this.o.client.get(ref, this.call);
    const after = await this.o.client.apply(m.object, { ...this.call, force, dryRun: this.o.dryRun });
    const report: ResourceReport = {
      ...ref,
      action: this.o.dryRun
        ? 'dry-run'
        : !before
          ? 'created'
          : metaOf(before).resourceVersion === metaOf(after).resourceVersion
            ? 'unchanged'
            : 'configured',
      result: 'applied',
      ...(revisionOf(before) ? { previousRevision: revisionOf(before) } : {}),
    };
    const images = this.o.imagesOf(m);
    if (images.length) report.images = images;
    this.previous.set(report, before);
    if (push) this.reports.push(report);
    this.o.log.info(`${m.kind}/${m.name}${namespace ? ` (${namespace})` : ''}: ${report.action}`);
    return report;
  }

  /**
   * Each pinned object with the current pod-template-hash of its stable Deployment. A missing stable Deployment
   * refuses the run when `needsStable` (before anything was changed), else the object goes as written, and a note
   * says so (a first blue-green deploy: the Service has only green pods to send to).
   */
  async resolvePins(objects: readonly Planned[], needsStable: boolean): Promise<ResolvedPins> {
    const out: Manifest[] = [];
    const notes: string[] = [];
    const missing: string[] = [];
    for (const m of objects) {
      const absent = await this.missing(m.requires ?? []);
      if (absent.length) {
        notes.push(`${m.kind}/${m.name}: left as it is (${absent.join(', ')} not there)`);
        continue;
      }
      if (!m.pinTo) {
        out.push(m);
        continue;
      }
      const namespace = namespaceOf(m.object);
      const hash = await this.stableHash(m.pinTo, namespace);
      if (hash) {
        out.push(withPin(m, hash));
        notes.push(
          `${m.kind}/${m.name}: pinned to the stable pods of Deployment/${m.pinTo} (pod-template-hash ${hash})`,
        );
      } else if (needsStable) missing.push(`Deployment/${m.pinTo}${namespace ? ` (${namespace})` : ''}`);
      else {
        const { pinTo, ...asWritten } = m;
        out.push(asWritten);
        notes.push(
          `${m.kind}/${m.name}: no stable Deployment/${pinTo} runs yet, so the Service is applied as written and sends to the new pods`,
        );
      }
    }
    if (missing.length)
      throw new ConfigurationError(
        `the canary needs the stable ${missing.join(', ')} running, to send the rest of the traffic to (deploy it once with strategy rolling). Nothing was changed.`,
      );
    return { objects: out, notes };
  }

  /** Which of these objects do not exist. */
  private async missing(refs: readonly CopyRef[]): Promise<string[]> {
    const out: string[] = [];
    for (const r of refs) if (!(await this.o.client.get(r, this.call))) out.push(`${r.kind}/${r.name}`);
    return out;
  }

  private async stableHash(name: string, namespace: string | undefined): Promise<string | undefined> {
    const ns = namespace ? { namespace } : {};
    const live = await this.o.client.get(
      { apiVersion: 'apps/v1', kind: 'Deployment', name, ...ns },
      this.call,
    );
    if (!live) return undefined;
    const spec = isJsonObject(live.spec) ? live.spec : {};
    const match =
      isJsonObject(spec.selector) && isJsonObject(spec.selector.matchLabels) ? spec.selector.matchLabels : {};
    const labelSelector = Object.entries(match)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(',');
    const rs = await this.o.client.list(
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', ...ns },
      { ...this.call, ...(labelSelector ? { labelSelector } : {}) },
    );
    return currentPodTemplateHash(live, rs.items);
  }

  /** Waits for every workload this run changed, at once, under the deadline; true when all are ready. */
  async waitChanged(): Promise<'ready' | 'failed' | 'cancelled'> {
    const waitFor = this.reports.filter(
      (r) => isWaitable(r.kind) && r.action !== 'unchanged' && r.action !== 'deleted',
    );
    const results = await waitForRollouts(waitFor.map(refOf), {
      deadline: this.o.deadline,
      failureThreshold: this.o.failureThreshold,
      signal: this.o.signal,
      log: this.o.log,
      source: this.source,
    });
    waitFor.forEach((r, i) => {
      const s = results[i];
      if (!s) return;
      r.result = s.result;
      if (s.reason) r.reason = s.reason;
    });
    for (const r of this.reports) if (r.result === 'applied' && isWaitable(r.kind)) r.result = 'ready';
    if (this.reports.some((r) => r.result === 'cancelled')) return 'cancelled';
    return this.failed().length ? 'failed' : 'ready';
  }

  failed(): ResourceReport[] {
    return this.reports.filter((r) => r.result === 'failed' || r.result === 'timed-out');
  }

  /** Deletes objects (those that exist), in order, reporting each. */
  async remove(refs: readonly CopyRef[]): Promise<void> {
    for (const c of refs) {
      const ref = {
        apiVersion: c.apiVersion,
        kind: c.kind,
        name: c.name,
        ...(c.namespace ? { namespace: c.namespace } : {}),
      };
      const gone = await this.o.client.delete(ref, {
        ...this.call,
        ...(this.o.dryRun ? { dryRun: true } : {}),
      });
      if (!gone) {
        this.o.log.info(`${c.kind}/${c.name}: not there (nothing to delete)`);
        continue;
      }
      this.reports.push({ ...ref, action: this.o.dryRun ? 'dry-run' : 'deleted', result: 'deleted' });
      this.o.log.info(`${c.kind}/${c.name}: deleted`);
    }
  }

  /**
   * Puts back every object this run created or changed (a created one deleted, a changed one applied as it was,
   * taking its fields back) and waits for the restored workloads; true when every one is back and ready.
   */
  async rollback(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const call = { signal: this.o.signal, deadline };
    const undo = this.reports.filter((r) => r.action === 'configured' || r.action === 'created');
    // Traffic first (what was applied last is undone first), then the workloads.
    for (const r of [...undo].reverse()) {
      const before = this.previous.get(r);
      try {
        if (before) await this.o.client.apply(restorable(before), { ...call, force: true });
        else await this.o.client.delete(refOf(r), call);
        this.o.log.info(
          `${r.kind}/${r.name}: ${before ? 'restored to what ran before' : 'created by this deploy: deleted'}`,
        );
      } catch (e) {
        r.result = 'rollback-failed';
        r.reason = `${r.reason ? `${r.reason}; ` : ''}rollback: ${(e as Error).message}`;
      }
    }
    const back = undo.filter(
      (r) => r.result !== 'rollback-failed' && this.previous.get(r) && isWaitable(r.kind),
    );
    const settled = await waitForRollouts(back.map(refOf), {
      deadline,
      failureThreshold: this.o.failureThreshold,
      signal: this.o.signal,
      log: this.o.log,
      source: this.source,
    });
    back.forEach((r, i) => {
      const s = settled[i];
      if (s?.result === 'ready') {
        r.rolledBack = true;
        if (r.result === 'ready' || r.result === 'applied') r.result = 'rolled-back';
      } else {
        r.reason = `${r.reason ?? r.result}; rollback ${s?.result ?? 'not verified'}${s?.reason ? `: ${s.reason}` : ''}`;
        r.result = 'rollback-failed';
      }
    });
    for (const r of undo)
      if (!(this.previous.get(r) && isWaitable(r.kind)) && r.result !== 'rollback-failed') {
        r.rolledBack = true;
        if (r.result === 'ready' || r.result === 'applied') r.result = 'rolled-back';
      }
    return !this.reports.some((r) => r.result === 'rollback-failed');
  }

  /** The image of `repository` (`registry/repo`) the changed workloads ran before this run, when one did. */
  previousImage(repository: string): string | undefined {
    for (const before of this.previous.values()) {
      const spec = before && isJsonObject(before.spec) ? before.spec : {};
      const tpl = isJsonObject(spec.template) && isJsonObject(spec.template.spec) ? spec.template.spec : {};
      for (const key of ['containers', 'initContainers']) {
        const list = tpl[key];
        if (!Array.isArray(list)) continue;
        for (const c of list) {
          const image = isJsonObject(c) && typeof c.image === 'string' ? c.image : undefined;
          if (!image?.includes('@')) continue;
          try {
            if (splitPinned(image).repository === repository) return image;
          } catch {
            // not an image reference Kiln can read: not this one
          }
        }
      }
    }
    return undefined;
  }

  /** Every workload's revision and ready/desired pods as they are now (what the outputs report). */
  async refresh(): Promise<void> {
    for (const r of this.reports) {
      if (!isWaitable(r.kind) || r.action === 'deleted') continue;
      const now = await this.o.client.get(refOf(r), { signal: this.o.signal }).catch(() => undefined);
      if (revisionOf(now)) r.revision = revisionOf(now);
      const st = now && isJsonObject(now.status) ? now.status : {};
      const sp = now && isJsonObject(now.spec) ? now.spec : {};
      const desired =
        r.kind === 'DaemonSet' ? st.desiredNumberScheduled : r.kind === 'Job' ? sp.completions : sp.replicas;
      const ready =
        r.kind === 'DaemonSet' ? st.numberReady : r.kind === 'Job' ? st.succeeded : st.readyReplicas;
      if (desired !== undefined) r.ready = `${Number(ready ?? 0)}/${Number(desired)}`;
    }
  }
}

function namespaceOf(o: JsonObject): string | undefined {
  const ns = metaOf(o).namespace;
  return typeof ns === 'string' ? ns : undefined;
}

function metaOf(o: JsonObject | undefined): JsonObject {
  return o && isJsonObject(o.metadata) ? o.metadata : {};
}

function revisionOf(o: JsonObject | undefined): string | undefined {
  const a = metaOf(o).annotations;
  return isJsonObject(a) && typeof a[REVISION] === 'string' ? (a[REVISION] as string) : undefined;
}

function refOf(r: ResourceReport): ObjectRef {
  return {
    apiVersion: r.apiVersion,
    kind: r.kind,
    name: r.name,
    ...(r.namespace ? { namespace: r.namespace } : {}),
  };
}

/** What ran before, as an object to apply again: without what the server computes. */
function restorable(before: JsonObject): JsonObject {
  const o = JSON.parse(JSON.stringify(before)) as JsonObject;
  delete o.status;
  const meta = metaOf(o);
  for (const f of SERVER_FIELDS) delete meta[f];
  return o;
}

/**
 * The wait's view of the cluster through the client: the workload's watch, its pods, events and revisions. The
 * events of a namespace are listed once per round and shared by every workload in it.
 */
function rolloutSource(client: KubeClient, call: { signal: AbortSignal; deadline: number }): RolloutSource {
  const events = new Map<string, { at: number; list: Promise<KubeList> }>();
  const eventsIn = (namespace: string | undefined): Promise<KubeList> => {
    const key = namespace ?? '';
    const cached = events.get(key);
    if (cached && Date.now() - cached.at < EVENTS_ROUND_MS) return cached.list;
    const list = client.list(
      { apiVersion: 'v1', kind: 'Event', ...(namespace ? { namespace } : {}) },
      { signal: call.signal, deadline: call.deadline },
    );
    list.catch(() => events.delete(key));
    events.set(key, { at: Date.now(), list });
    return list;
  };
  return {
    async *watch(target, signal) {
      const kind = {
        // Every target is built by refOf, with the apiVersion its manifest gave.
        apiVersion: target.apiVersion ?? 'apps/v1',
        kind: target.kind,
        ...(target.namespace ? { namespace: target.namespace } : {}),
      };
      for await (const e of client.watch(kind, {
        signal,
        deadline: call.deadline,
        fieldSelector: `metadata.name=${target.name}`,
      })) {
        if (e.type === 'RELISTED') {
          const item = e.items.find((i) => metaOf(i).name === target.name);
          if (item) yield item;
        } else yield e;
      }
    },
    async pods(target, workload, signal) {
      const o = { signal, deadline: call.deadline };
      const namespace = target.namespace;
      const spec = isJsonObject(workload.spec) ? workload.spec : {};
      const selector =
        isJsonObject(spec.selector) && isJsonObject(spec.selector.matchLabels)
          ? spec.selector.matchLabels
          : {};
      const labelSelector = Object.entries(selector)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(',');
      const bySelector = { ...o, ...(labelSelector ? { labelSelector } : {}) };
      const inNs = (apiVersion: string, kind: string) => ({
        apiVersion,
        kind,
        ...(namespace ? { namespace } : {}),
      });
      const [pods, evs, replicaSets, controllerRevisions] = await Promise.all([
        client.list(inNs('v1', 'Pod'), bySelector),
        eventsIn(namespace),
        target.kind === 'Deployment' ? client.list(inNs('apps/v1', 'ReplicaSet'), bySelector) : undefined,
        target.kind === 'StatefulSet' || target.kind === 'DaemonSet'
          ? client.list(inNs('apps/v1', 'ControllerRevision'), bySelector).catch(() => undefined)
          : undefined,
      ]);
      return {
        pods: pods.items,
        events: evs.items,
        ...(replicaSets ? { replicaSets: replicaSets.items } : {}),
        ...(controllerRevisions ? { controllerRevisions: controllerRevisions.items } : {}),
      };
    },
  };
}
