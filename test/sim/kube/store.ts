/**
 * Storage of the simulated API server, in the way etcd plus the watch cache behave for clients:
 *
 * - one global `resourceVersion` counter, bumped by every write (create, update, delete) of any object, so
 *   resource versions increase across kinds as etcd revisions do;
 * - a bounded history of changes per resource type (each type's watch cache window): a watch may resume from any
 *   resource version still in its type's window, an older one is "too old" (the caller answers 410 Expired), so a
 *   flood of Events does not expire a watch of Deployments. `compact()` drops the history, like an etcd
 *   compaction followed by a watch cache that has moved on;
 * - watchers get ADDED / MODIFIED / DELETED in order; with a selector, an object that stops matching is DELETED
 *   for that watcher and one that starts matching is ADDED (as the cacher does).
 *
 * Objects are kept as JSON; the store never hands out its own copies (every read is cloned by the caller's API layer).
 */
import type { JsonObject } from './meta.js';
import { clone, namespaceOf, nameOf } from './meta.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  rv: number;
  type: WatchEventType;
  typeKey: string;
  namespace: string;
  /** The object after the change (for DELETED, the last state with the deletion's resource version). */
  object: JsonObject;
  /** The object before the change (MODIFIED only). */
  previous?: JsonObject;
}

export interface Watcher {
  typeKey: string;
  /** Empty = all namespaces. */
  namespace: string;
  matches(o: JsonObject): boolean;
  deliver(type: WatchEventType, object: JsonObject, rv: number): void;
}

export class Store {
  private rv: number;
  private readonly objects = new Map<string, Map<string, JsonObject>>();
  private history = new Map<string, Change[]>();
  /** Per type: resource versions below this cannot be watched from (410). */
  private oldestByType = new Map<string, number>();
  /** Resource versions below this cannot be watched from (410). */
  private oldestResumable: number;
  private readonly watchers = new Set<Watcher>();
  /** Called after every write (the engine schedules its controllers). */
  onWrite: ((change: Change) => void) | null = null;

  constructor(
    private readonly historyLimit: number,
    startRv = 1,
  ) {
    this.rv = startRv;
    this.oldestResumable = startRv;
  }

  /** The current global resource version. */
  currentRv(): number {
    return this.rv;
  }

  private bucket(typeKey: string): Map<string, JsonObject> {
    let b = this.objects.get(typeKey);
    if (!b) {
      b = new Map();
      this.objects.set(typeKey, b);
    }
    return b;
  }

  get(typeKey: string, namespace: string, name: string): JsonObject | undefined {
    return this.objects.get(typeKey)?.get(`${namespace}/${name}`);
  }

  /** Objects of a type (in one namespace, or all when `namespace` is empty), sorted by namespace then name. */
  list(typeKey: string, namespace = ''): JsonObject[] {
    const b = this.objects.get(typeKey);
    if (!b) return [];
    const out: JsonObject[] = [];
    for (const [key, o] of b) if (!namespace || key.startsWith(`${namespace}/`)) out.push(o);
    return out.sort((a, b2) => {
      const ka = `${namespaceOf(a)}/${nameOf(a)}`;
      const kb = `${namespaceOf(b2)}/${nameOf(b2)}`;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
  }

  /** Stores `object` (its metadata.resourceVersion is set here) and notifies watchers. */
  put(typeKey: string, object: JsonObject): JsonObject {
    const namespace = namespaceOf(object);
    const key = `${namespace}/${nameOf(object)}`;
    const b = this.bucket(typeKey);
    const previous = b.get(key);
    this.rv += 1;
    const stored = clone(object);
    (stored['metadata'] as JsonObject)['resourceVersion'] = String(this.rv);
    b.set(key, stored);
    this.record({
      rv: this.rv,
      type: previous ? 'MODIFIED' : 'ADDED',
      typeKey,
      namespace,
      object: stored,
      ...(previous ? { previous } : {}),
    });
    return stored;
  }

  /** Removes the object; the DELETED event carries it with the deletion's resource version. */
  remove(typeKey: string, namespace: string, name: string): JsonObject | undefined {
    const b = this.objects.get(typeKey);
    const key = `${namespace}/${name}`;
    const previous = b?.get(key);
    if (!b || !previous) return undefined;
    b.delete(key);
    this.rv += 1;
    const gone = clone(previous);
    (gone['metadata'] as JsonObject)['resourceVersion'] = String(this.rv);
    this.record({ rv: this.rv, type: 'DELETED', typeKey, namespace, object: gone });
    return gone;
  }

  private record(change: Change): void {
    let list = this.history.get(change.typeKey);
    if (!list) this.history.set(change.typeKey, (list = []));
    list.push(change);
    if (list.length > this.historyLimit) {
      const drop = list.length - this.historyLimit;
      this.oldestByType.set(change.typeKey, list[drop - 1]?.rv ?? this.oldestResumable);
      list.splice(0, drop);
    }
    for (const w of [...this.watchers]) {
      if (w.typeKey !== change.typeKey) continue;
      if (w.namespace && w.namespace !== change.namespace) continue;
      dispatch(w, change);
    }
    this.onWrite?.(change);
  }

  /**
   * Changes of `typeKey` after `rv`, or `'expired'` when `rv` is older than the history window (the watch cache
   * answers "too old resource version").
   */
  changesSince(typeKey: string, rv: number): Change[] | 'expired' {
    if (rv < this.oldestRv(typeKey)) return 'expired';
    return (this.history.get(typeKey) ?? []).filter((c) => c.rv > rv);
  }

  /**
   * The oldest resource version a watch of `typeKey` can still start from; without a type, the last compaction's
   * (what a `continue` token is checked against).
   */
  oldestRv(typeKey?: string): number {
    if (typeKey === undefined) return this.oldestResumable;
    return Math.max(this.oldestResumable, this.oldestByType.get(typeKey) ?? 0);
  }

  /** Drops the change history: watches from any earlier resource version get 410 (an etcd compaction). */
  compact(): void {
    this.history.clear();
    this.oldestByType.clear();
    this.oldestResumable = this.rv;
  }

  addWatcher(w: Watcher): () => void {
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  watcherCount(): number {
    return this.watchers.size;
  }
}

/** Sends one change to a watcher, translating selector transitions (the cacher's behaviour). */
export function dispatch(w: Watcher, change: Change): void {
  const now = w.matches(change.object);
  if (change.type === 'MODIFIED') {
    const before = change.previous ? w.matches(change.previous) : false;
    if (now && before) w.deliver('MODIFIED', change.object, change.rv);
    else if (now) w.deliver('ADDED', change.object, change.rv);
    else if (before) w.deliver('DELETED', change.object, change.rv);
    return;
  }
  if (now) w.deliver(change.type, change.object, change.rv);
}
