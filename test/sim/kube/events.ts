/**
 * Events as components record them through client-go's event recorder (core/v1 Events): one object per
 * (involved object, type, reason, message, source), named `<object>.<hex>`, aggregated by bumping `count` and
 * `lastTimestamp` when the same event repeats.
 */
import type { KubeApi } from './api.js';
import type { JsonObject } from './meta.js';
import { ApiError, at, nameOf, namespaceOf, rfc3339, uidOf } from './meta.js';
import type { Registry } from './resources.js';
import { groupVersion } from './resources.js';

export interface EventSource {
  component: string;
  host?: string;
}

export interface RecordedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  involvedKind: string;
  involvedName: string;
  namespace: string;
  at: number;
}

export class EventRecorder {
  private readonly names = new Map<string, string>();
  private seq = 0;
  /** Every event recorded, in order (including repeats), for tests. */
  readonly log: RecordedEvent[] = [];

  constructor(
    private readonly api: KubeApi,
    private readonly registry: Registry,
  ) {}

  record(
    involved: JsonObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    source: EventSource,
    fieldPath?: string,
  ): void {
    const kind = String(involved['kind'] ?? '');
    const apiVersion = String(involved['apiVersion'] ?? '');
    const namespace = namespaceOf(involved) || 'default';
    const uid = uidOf(involved);
    const now = this.api.clock.now;
    this.log.push({
      type,
      reason,
      message,
      involvedKind: kind,
      involvedName: nameOf(involved),
      namespace,
      at: now,
    });
    if (this.log.length > 50_000) this.log.splice(0, this.log.length - 50_000);
    const key = [uid, type, reason, message, source.component, source.host ?? '', fieldPath ?? ''].join(
      '\u0000',
    );
    const events = this.registry.builtin('', 'events');
    const existing = this.names.get(key);
    if (existing) {
      const updated = this.api.mutate(events, namespace, existing, source.component, (e) => {
        e['count'] = (typeof e['count'] === 'number' ? e['count'] : 1) + 1;
        e['lastTimestamp'] = rfc3339(now);
      });
      if (updated) return;
      this.names.delete(key);
    }
    this.seq += 1;
    const name = `${nameOf(involved)}.${(BigInt(Math.floor(now)) * 1_000_000n + BigInt(this.seq)).toString(16)}`;
    const involvedObject: JsonObject = {
      kind,
      ...(namespaceOf(involved) ? { namespace: namespaceOf(involved) } : {}),
      name: nameOf(involved),
      uid,
      apiVersion: apiVersion || (kind ? groupVersion({ group: '', version: 'v1' }) : ''),
      resourceVersion: String(at(involved, 'metadata.resourceVersion') ?? ''),
      ...(fieldPath ? { fieldPath } : {}),
    };
    const event: JsonObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject,
      reason,
      message,
      source: { component: source.component, ...(source.host ? { host: source.host } : {}) },
      firstTimestamp: rfc3339(now),
      lastTimestamp: rfc3339(now),
      count: 1,
      type,
      eventTime: null,
      reportingComponent: source.component,
      reportingInstance: source.host ?? '',
    };
    try {
      this.api.createInternal(events, namespace, event, source.component);
      this.names.set(key, name);
    } catch (e) {
      // A namespace being deleted refuses new events, as the real API server does.
      if (!(e instanceof ApiError)) throw e;
    }
  }
}
