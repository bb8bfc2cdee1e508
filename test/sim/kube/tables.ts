/**
 * Server-side printing: `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` answers (what `kubectl get` shows),
 * with the columns and cell rules of the API server's printers (pkg/printers/internalversion/printers.go) for the
 * kinds served, and for custom resources their CRD's `additionalPrinterColumns` (default: Age).
 */
import type { Json, JsonObject } from './meta.js';
import { at, humanDuration, isObject, nameOf, namespaceOf, objs, parseTime, str } from './meta.js';
import type { ResourceType } from './resources.js';
import { printerColumns } from './schema.js';
import { formatSelector } from './selectors.js';

interface Column {
  name: string;
  type?: string;
  format?: string;
  priority?: number;
  description?: string;
}

const NAME: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
};
const AGE: Column = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
};
const CONTAINERS: Column = {
  name: 'Containers',
  type: 'string',
  priority: 1,
  description: 'Names of each container in the template.',
};
const IMAGES: Column = {
  name: 'Images',
  type: 'string',
  priority: 1,
  description: 'Images referenced by each container in the template.',
};
const SELECTOR: Column = { name: 'Selector', type: 'string', priority: 1, description: 'Label selector.' };

function col(name: string, type = 'string', priority = 0): Column {
  return { name, type, priority, description: '' };
}

function age(o: JsonObject, now: number): string {
  const created = parseTime(at(o, 'metadata.creationTimestamp'));
  return created === undefined ? '<unknown>' : humanDuration(now - created);
}

function templateContainers(template: Json | undefined): [string, string] {
  const cs = objs(at(template, 'spec.containers'));
  return [
    cs.map((c) => String(c['name'] ?? '')).join(','),
    cs.map((c) => String(c['image'] ?? '')).join(','),
  ];
}

function num(v: Json | undefined): number {
  return typeof v === 'number' ? v : 0;
}

/** The pod STATUS column (printPod). */
export function podStatusReason(pod: JsonObject): {
  reason: string;
  ready: number;
  total: number;
  restarts: number;
  lastRestart?: number;
} {
  const status = isObject(pod['status']) ? pod['status'] : {};
  let reason = str(status['reason']) ?? str(status['phase']) ?? 'Unknown';
  const total = objs(at(pod, 'spec.containers')).length;
  let ready = 0;
  let restarts = 0;
  let lastRestart: number | undefined;
  let initializing = false;
  const inits = objs(status['initContainerStatuses']);
  inits.forEach((c, i) => {
    restarts += num(c['restartCount']);
    const term = at(c, 'state.terminated');
    const waiting = at(c, 'state.waiting');
    if (isObject(term) && term['exitCode'] === 0) return;
    if (isObject(term)) {
      reason = `Init:${str(term['reason']) ?? `ExitCode:${String(term['exitCode'])}`}`;
      initializing = true;
    } else if (isObject(waiting) && waiting['reason'] && waiting['reason'] !== 'PodInitializing') {
      reason = `Init:${String(waiting['reason'])}`;
      initializing = true;
    } else {
      reason = `Init:${i}/${objs(at(pod, 'spec.initContainers')).length}`;
      initializing = true;
    }
  });
  if (!initializing) {
    restarts = 0;
    let hasRunning = false;
    const cs = objs(status['containerStatuses']);
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i] as JsonObject;
      restarts += num(c['restartCount']);
      const lastFinished = parseTime(at(c, 'lastState.terminated.finishedAt'));
      if (lastFinished !== undefined && (lastRestart === undefined || lastFinished > lastRestart))
        lastRestart = lastFinished;
      const waiting = at(c, 'state.waiting');
      const term = at(c, 'state.terminated');
      if (isObject(waiting) && waiting['reason']) reason = String(waiting['reason']);
      else if (isObject(term) && term['reason']) reason = String(term['reason']);
      else if (isObject(term))
        reason = term['signal'] ? `Signal:${String(term['signal'])}` : `ExitCode:${String(term['exitCode'])}`;
      else if (c['ready'] === true && isObject(at(c, 'state.running'))) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      const readyCond = objs(status['conditions']).some(
        (c) => c['type'] === 'Ready' && c['status'] === 'True',
      );
      reason = readyCond ? 'Running' : 'NotReady';
    }
  }
  const phase = status['phase'];
  if (at(pod, 'metadata.deletionTimestamp') && phase !== 'Succeeded' && phase !== 'Failed')
    reason = 'Terminating';
  return { reason, ready, total, restarts, ...(lastRestart !== undefined ? { lastRestart } : {}) };
}

function ports(spec: JsonObject): string {
  const ps = objs(spec['ports']);
  if (ps.length === 0) return '<none>';
  return ps
    .map(
      (p) =>
        `${String(p['port'])}${p['nodePort'] !== undefined ? `:${String(p['nodePort'])}` : ''}/${String(p['protocol'] ?? 'TCP')}`,
    )
    .join(',');
}

function jobStatus(job: JsonObject): string {
  const conds = objs(at(job, 'status.conditions'));
  const has = (type: string): boolean => conds.some((c) => c['type'] === type && c['status'] === 'True');
  if (has('Complete')) return 'Complete';
  if (has('Failed')) return 'Failed';
  if (at(job, 'metadata.deletionTimestamp')) return 'Terminating';
  if (has('SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  if (has('FailureTarget')) return 'FailureTarget';
  if (has('Suspended')) return 'Suspended';
  return 'Running';
}

/** Evaluates a simple JSONPath (`.spec.replicas`, `.status.conditions[0].type`) for printer columns. */
function jsonPath(o: JsonObject, path: string): Json | undefined {
  let cur: Json | undefined = o;
  const parts = path
    .replace(/^\{?\./, '')
    .replace(/\}$/, '')
    .split('.');
  for (const part of parts) {
    const m = /^([^[\]]*)(?:\[(\d+)\])?$/.exec(part);
    if (!m) return undefined;
    if (m[1]) {
      if (!isObject(cur)) return undefined;
      cur = cur[m[1]];
    }
    if (m[2] !== undefined) {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[Number(m[2])];
    }
  }
  return cur;
}

interface Printer {
  columns: Column[];
  cells(o: JsonObject, now: number): Json[];
}

function printerFor(t: ResourceType): Printer {
  if (t.crd) {
    const extra = printerColumns(t.crd.version);
    const columns: Column[] = [NAME];
    const defs = extra.length
      ? extra
      : [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }];
    for (const c of defs) {
      columns.push({
        name: String(c['name']),
        type: String(c['type'] ?? 'string'),
        ...(c['format'] ? { format: String(c['format']) } : {}),
        priority: typeof c['priority'] === 'number' ? c['priority'] : 0,
        description: String(c['description'] ?? ''),
      });
    }
    return {
      columns,
      cells: (o, now) => [
        nameOf(o),
        ...defs.map((c) => {
          const v = jsonPath(o, String(c['jsonPath'] ?? ''));
          if (c['type'] === 'date') {
            const tm = parseTime(v);
            return tm === undefined ? '<unknown>' : humanDuration(now - tm);
          }
          return v === undefined ? null : v;
        }),
      ],
    };
  }
  switch (t.kind) {
    case 'Pod':
      return {
        columns: [
          NAME,
          col('Ready'),
          col('Status'),
          col('Restarts'),
          AGE,
          col('IP', 'string', 1),
          col('Node', 'string', 1),
          col('Nominated Node', 'string', 1),
          col('Readiness Gates', 'string', 1),
        ],
        cells: (o, now) => {
          const s = podStatusReason(o);
          const restarts =
            s.restarts !== 0 && s.lastRestart !== undefined
              ? `${s.restarts} (${humanDuration(now - s.lastRestart)} ago)`
              : String(s.restarts);
          return [
            nameOf(o),
            `${s.ready}/${s.total}`,
            s.reason,
            restarts,
            age(o, now),
            str(at(o, 'status.podIP')) ?? '<none>',
            str(at(o, 'spec.nodeName')) ?? '<none>',
            str(at(o, 'status.nominatedNodeName')) ?? '<none>',
            '<none>',
          ];
        },
      };
    case 'Deployment':
      return {
        columns: [
          NAME,
          col('Ready'),
          col('Up-to-date', 'integer'),
          col('Available', 'integer'),
          AGE,
          CONTAINERS,
          IMAGES,
          SELECTOR,
        ],
        cells: (o, now) => {
          const [c, i] = templateContainers(at(o, 'spec.template'));
          return [
            nameOf(o),
            `${num(at(o, 'status.readyReplicas'))}/${num(at(o, 'spec.replicas'))}`,
            num(at(o, 'status.updatedReplicas')),
            num(at(o, 'status.availableReplicas')),
            age(o, now),
            c,
            i,
            formatSelector(at(o, 'spec.selector')),
          ];
        },
      };
    case 'ReplicaSet':
      return {
        columns: [
          NAME,
          col('Desired', 'integer'),
          col('Current', 'integer'),
          col('Ready', 'integer'),
          AGE,
          CONTAINERS,
          IMAGES,
          SELECTOR,
        ],
        cells: (o, now) => {
          const [c, i] = templateContainers(at(o, 'spec.template'));
          return [
            nameOf(o),
            num(at(o, 'spec.replicas')),
            num(at(o, 'status.replicas')),
            num(at(o, 'status.readyReplicas')),
            age(o, now),
            c,
            i,
            formatSelector(at(o, 'spec.selector')),
          ];
        },
      };
    case 'StatefulSet':
      return {
        columns: [NAME, col('Ready'), AGE, CONTAINERS, IMAGES],
        cells: (o, now) => {
          const [c, i] = templateContainers(at(o, 'spec.template'));
          return [
            nameOf(o),
            `${num(at(o, 'status.readyReplicas'))}/${num(at(o, 'spec.replicas'))}`,
            age(o, now),
            c,
            i,
          ];
        },
      };
    case 'DaemonSet':
      return {
        columns: [
          NAME,
          col('Desired', 'integer'),
          col('Current', 'integer'),
          col('Ready', 'integer'),
          col('Up-to-date', 'integer'),
          col('Available', 'integer'),
          col('Node Selector'),
          AGE,
          CONTAINERS,
          IMAGES,
          SELECTOR,
        ],
        cells: (o, now) => {
          const [c, i] = templateContainers(at(o, 'spec.template'));
          const ns = at(o, 'spec.template.spec.nodeSelector');
          const nodeSelector =
            isObject(ns) && Object.keys(ns).length
              ? Object.entries(ns)
                  .map(([k, v]) => `${k}=${String(v)}`)
                  .join(',')
              : '<none>';
          return [
            nameOf(o),
            num(at(o, 'status.desiredNumberScheduled')),
            num(at(o, 'status.currentNumberScheduled')),
            num(at(o, 'status.numberReady')),
            num(at(o, 'status.updatedNumberScheduled')),
            num(at(o, 'status.numberAvailable')),
            nodeSelector,
            age(o, now),
            c,
            i,
            formatSelector(at(o, 'spec.selector')),
          ];
        },
      };
    case 'Job':
      return {
        columns: [
          NAME,
          col('Status'),
          col('Completions'),
          col('Duration'),
          AGE,
          CONTAINERS,
          IMAGES,
          SELECTOR,
        ],
        cells: (o, now) => {
          const [c, i] = templateContainers(at(o, 'spec.template'));
          const completions = at(o, 'spec.completions');
          const succeeded = num(at(o, 'status.succeeded'));
          const start = parseTime(at(o, 'status.startTime'));
          const end = parseTime(at(o, 'status.completionTime')) ?? now;
          return [
            nameOf(o),
            jobStatus(o),
            typeof completions === 'number'
              ? `${succeeded}/${completions}`
              : `${succeeded}/1 of ${num(at(o, 'spec.parallelism'))}`,
            start === undefined ? '' : humanDuration(end - start),
            age(o, now),
            c,
            i,
            formatSelector(at(o, 'spec.selector')),
          ];
        },
      };
    case 'CronJob':
      return {
        columns: [
          NAME,
          col('Schedule'),
          col('Timezone'),
          col('Suspend', 'boolean'),
          col('Active', 'integer'),
          col('Last Schedule'),
          AGE,
          CONTAINERS,
          IMAGES,
          SELECTOR,
        ],
        cells: (o, now) => {
          const [c, i] = templateContainers(at(o, 'spec.jobTemplate.spec.template'));
          const last = parseTime(at(o, 'status.lastScheduleTime'));
          return [
            nameOf(o),
            str(at(o, 'spec.schedule')) ?? '',
            str(at(o, 'spec.timeZone')) ?? '<none>',
            at(o, 'spec.suspend') === true ? 'True' : 'False',
            objs(at(o, 'status.active')).length,
            last === undefined ? '<none>' : humanDuration(now - last),
            age(o, now),
            c,
            i,
            '<none>',
          ];
        },
      };
    case 'Namespace':
      return {
        columns: [NAME, col('Status'), AGE],
        cells: (o, now) => [nameOf(o), str(at(o, 'status.phase')) ?? '', age(o, now)],
      };
    case 'Node':
      return {
        columns: [
          NAME,
          col('Status'),
          col('Roles'),
          AGE,
          col('Version'),
          col('Internal-IP', 'string', 1),
          col('External-IP', 'string', 1),
          col('OS-Image', 'string', 1),
          col('Kernel-Version', 'string', 1),
          col('Container-Runtime', 'string', 1),
        ],
        cells: (o, now) => {
          const ready = objs(at(o, 'status.conditions')).find((c) => c['type'] === 'Ready');
          const roles = Object.keys(
            isObject(at(o, 'metadata.labels')) ? (at(o, 'metadata.labels') as JsonObject) : {},
          )
            .filter((k) => k.startsWith('node-role.kubernetes.io/'))
            .map((k) => k.slice('node-role.kubernetes.io/'.length));
          const ip = objs(at(o, 'status.addresses')).find((a) => a['type'] === 'InternalIP');
          return [
            nameOf(o),
            (ready?.['status'] === 'True' ? 'Ready' : 'NotReady') +
              (at(o, 'spec.unschedulable') === true ? ',SchedulingDisabled' : ''),
            roles.length ? roles.join(',') : '<none>',
            age(o, now),
            str(at(o, 'status.nodeInfo.kubeletVersion')) ?? '',
            str(ip?.['address']) ?? '<none>',
            '<none>',
            str(at(o, 'status.nodeInfo.osImage')) ?? '',
            str(at(o, 'status.nodeInfo.kernelVersion')) ?? '',
            str(at(o, 'status.nodeInfo.containerRuntimeVersion')) ?? '',
          ];
        },
      };
    case 'Service':
      return {
        columns: [NAME, col('Type'), col('Cluster-IP'), col('External-IP'), col('Port(s)'), AGE, SELECTOR],
        cells: (o, now) => {
          const spec = isObject(o['spec']) ? o['spec'] : {};
          const sel = spec['selector'];
          return [
            nameOf(o),
            str(spec['type']) ?? 'ClusterIP',
            str(spec['clusterIP']) ?? '<none>',
            spec['type'] === 'ExternalName'
              ? (str(spec['externalName']) ?? '<none>')
              : spec['type'] === 'LoadBalancer'
                ? '<pending>'
                : '<none>',
            ports(spec),
            age(o, now),
            isObject(sel) && Object.keys(sel).length
              ? Object.entries(sel)
                  .map(([k, v]) => `${k}=${String(v)}`)
                  .join(',')
              : '<none>',
          ];
        },
      };
    case 'ConfigMap':
      return {
        columns: [NAME, col('Data', 'integer'), AGE],
        cells: (o, now) => [
          nameOf(o),
          Object.keys(isObject(o['data']) ? o['data'] : {}).length +
            Object.keys(isObject(o['binaryData']) ? o['binaryData'] : {}).length,
          age(o, now),
        ],
      };
    case 'Secret':
      return {
        columns: [NAME, col('Type'), col('Data', 'integer'), AGE],
        cells: (o, now) => [
          nameOf(o),
          str(o['type']) ?? 'Opaque',
          Object.keys(isObject(o['data']) ? o['data'] : {}).length,
          age(o, now),
        ],
      };
    case 'ServiceAccount':
      return {
        columns: [NAME, col('Secrets', 'integer'), AGE],
        cells: (o, now) => [nameOf(o), objs(o['secrets']).length, age(o, now)],
      };
    case 'Event':
      return {
        columns: [
          col('Last Seen'),
          col('Type'),
          col('Reason'),
          col('Object'),
          col('Subobject', 'string', 1),
          col('Source', 'string', 1),
          col('Message'),
          col('First Seen', 'string', 1),
          col('Count', 'integer', 1),
          { ...col('Name', 'string', 1), format: 'name' },
        ],
        cells: (o, now) => {
          const last = parseTime(o['lastTimestamp']) ?? parseTime(o['eventTime']);
          const first = parseTime(o['firstTimestamp']) ?? last;
          const io = isObject(o['involvedObject']) ? o['involvedObject'] : {};
          const source = isObject(o['source']) ? o['source'] : {};
          return [
            last === undefined ? '<unknown>' : humanDuration(now - last),
            str(o['type']) ?? '',
            str(o['reason']) ?? '',
            `${String(io['kind'] ?? '').toLowerCase()}/${String(io['name'] ?? '')}`,
            str(io['fieldPath']) ?? '',
            [source['component'], source['host']].filter((x) => typeof x === 'string' && x).join(', '),
            str(o['message']) ?? '',
            first === undefined ? '<unknown>' : humanDuration(now - first),
            num(o['count']),
            nameOf(o),
          ];
        },
      };
    case 'CustomResourceDefinition':
      return {
        columns: [NAME, { name: 'Created At', type: 'date', description: '' }],
        cells: (o) => [nameOf(o), str(at(o, 'metadata.creationTimestamp')) ?? ''],
      };
    case 'ControllerRevision':
      return {
        columns: [NAME, col('Controller'), col('Revision', 'integer'), AGE],
        cells: (o, now) => {
          const owner = objs(at(o, 'metadata.ownerReferences')).find((r) => r['controller'] === true);
          const group = owner ? String(owner['apiVersion'] ?? '').split('/')[0] : '';
          return [
            nameOf(o),
            owner ? `${String(owner['kind']).toLowerCase()}.${group}/${String(owner['name'])}` : '<none>',
            num(o['revision']),
            age(o, now),
          ];
        },
      };
    default:
      return { columns: [NAME, AGE], cells: (o, now) => [nameOf(o), age(o, now)] };
  }
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(o: JsonObject, include: IncludeObject): JsonObject | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return {
    kind: 'PartialObjectMetadata',
    apiVersion: 'meta.k8s.io/v1',
    metadata: isObject(o['metadata']) ? o['metadata'] : {},
  };
}

/** A Table of `objects` (a list, a single object, or one watch event's object). */
export function toTable(
  t: ResourceType,
  objects: JsonObject[],
  now: number,
  opts: {
    include: IncludeObject;
    resourceVersion?: string;
    continue?: string;
    remainingItemCount?: number;
    noHeaders?: boolean;
  },
): JsonObject {
  const p = printerFor(t);
  const rows = objects.map((o) => {
    const object = rowObject(o, opts.include);
    return { cells: p.cells(o, now), ...(object ? { object } : {}) };
  });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: {
      ...(opts.resourceVersion !== undefined ? { resourceVersion: opts.resourceVersion } : {}),
      ...(opts.continue ? { continue: opts.continue } : {}),
      ...(opts.remainingItemCount !== undefined ? { remainingItemCount: opts.remainingItemCount } : {}),
    },
    columnDefinitions: opts.noHeaders
      ? null
      : p.columns.map((c) => ({
          name: c.name,
          type: c.type ?? 'string',
          format: c.format ?? '',
          description: c.description ?? '',
          priority: c.priority ?? 0,
        })),
    rows,
  };
}

export { namespaceOf };
