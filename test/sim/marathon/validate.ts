/**
 * Request-body checks, split the way Marathon splits them:
 * - `readErrors`: the JSON does not even read as an app (wrong JSON types) → 400 "Invalid JSON";
 * - `validationErrors`: it reads, but the resulting app is not valid → 422 "Object is not valid".
 * Both return Marathon's `details` shape: `[{ path, errors: [...] }]`.
 */
import type { Json, JsonObject } from './json.js';
import { isObject } from './json.js';

export interface Detail {
  path: string;
  errors: string[];
}

/** Marathon's per-segment id pattern (as quoted in its error message). */
export const ID_SEGMENT_PATTERN =
  '^(([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])\\.)*([a-z0-9]|[a-z0-9][a-z0-9\\-]*[a-z0-9])|(\\.|\\.\\.)$';
const ID_SEGMENT = /^(?:(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/;
const RESERVED = ['restart', 'tasks', 'versions', '.', '..'];

/** Fields Marathon computes; a client may send them back (GET → PUT round trips) but they are never stored. */
export const COMPUTED_FIELDS = [
  'version',
  'versionInfo',
  'tasks',
  'deployments',
  'tasksStaged',
  'tasksRunning',
  'tasksHealthy',
  'tasksUnhealthy',
  'lastTaskFailure',
  'taskStats',
  'readinessCheckResults',
] as const;

/** `/appName/` → `/appName`; `a/b` → `/a/b`. */
export function canonicalId(id: string): string {
  const segments = id.split('/').filter((s) => s !== '');
  return '/' + segments.join('/');
}

type Kind = 'string' | 'number' | 'object' | 'array' | 'boolean';
const TOP_LEVEL_TYPES: Record<string, Kind> = {
  id: 'string',
  cmd: 'string',
  args: 'array',
  user: 'string',
  instances: 'number',
  cpus: 'number',
  mem: 'number',
  disk: 'number',
  gpus: 'number',
  container: 'object',
  env: 'object',
  labels: 'object',
  healthChecks: 'array',
  readinessChecks: 'array',
  upgradeStrategy: 'object',
  constraints: 'array',
  uris: 'array',
  fetch: 'array',
  backoffSeconds: 'number',
  backoffFactor: 'number',
  maxLaunchDelaySeconds: 'number',
  version: 'string',
};
const PLAY_ERROR: Record<Kind, string> = {
  string: 'error.expected.jsstring',
  number: 'error.expected.jsnumber',
  object: 'error.expected.jsobject',
  array: 'error.expected.jsarray',
  boolean: 'error.expected.jsboolean',
};

function hasKind(value: Json, kind: Kind): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
  }
}

/** Type errors (400). `null` is accepted everywhere, as "not given". */
export function readErrors(body: Json): Detail[] {
  if (!isObject(body)) return [{ path: '/', errors: [PLAY_ERROR.object] }];
  const out: Detail[] = [];
  for (const [key, kind] of Object.entries(TOP_LEVEL_TYPES)) {
    const v = body[key];
    if (v === undefined || v === null) continue;
    if (!hasKind(v, kind)) out.push({ path: `/${key}`, errors: [PLAY_ERROR[kind]] });
  }
  const strategy = body['upgradeStrategy'];
  if (isObject(strategy)) {
    for (const key of ['minimumHealthCapacity', 'maximumOverCapacity']) {
      const v = strategy[key];
      if (v !== undefined && v !== null && typeof v !== 'number') {
        out.push({ path: `/upgradeStrategy/${key}`, errors: [PLAY_ERROR.number] });
      }
    }
  }
  const args = body['args'];
  if (Array.isArray(args)) {
    args.forEach((a, i) => {
      if (typeof a !== 'string') out.push({ path: `/args(${i})`, errors: [PLAY_ERROR.string] });
    });
  }
  return out;
}

export function idErrors(id: string): Detail[] {
  const segments = id.split('/').filter((s) => s !== '');
  const errors: string[] = [];
  if (segments.length === 0 || !segments.every((s) => ID_SEGMENT.test(s))) {
    errors.push(`must fully match regular expression '${ID_SEGMENT_PATTERN}'`);
  } else if (RESERVED.includes(segments[segments.length - 1] ?? '')) {
    errors.push(`must not end with any of the following reserved keywords: ${RESERVED.join(', ')}`);
  }
  return errors.length ? [{ path: '/id', errors }] : [];
}

/** Semantic validation of a complete (merged) app definition → 422 details. */
export function validationErrors(app: JsonObject): Detail[] {
  const out: Detail[] = [];
  const add = (path: string, error: string): void => {
    const existing = out.find((d) => d.path === path);
    if (existing) existing.errors.push(error);
    else out.push({ path, errors: [error] });
  };
  if (typeof app['id'] === 'string') out.push(...idErrors(app['id']));

  const cmd = typeof app['cmd'] === 'string' && app['cmd'] !== '';
  const args = Array.isArray(app['args']) && app['args'].length > 0;
  const container = isObject(app['container']);
  if (!(cmd !== args || (!(cmd && args) && container))) {
    add('/', "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.");
  }

  const instances = app['instances'];
  if (typeof instances === 'number') {
    if (!Number.isInteger(instances)) add('/instances', 'error.expected.int');
    else if (instances < 0) add('/instances', `got ${instances}, expected 0 or more`);
  }

  const strategy = app['upgradeStrategy'];
  if (isObject(strategy)) {
    for (const key of ['minimumHealthCapacity', 'maximumOverCapacity']) {
      const v = strategy[key];
      if (typeof v !== 'number') continue;
      if (v > 1) add(`/upgradeStrategy/${key}`, 'is greater than 1');
      if (v < 0) add(`/upgradeStrategy/${key}`, 'is less than 0');
    }
  }

  const c = app['container'];
  if (isObject(c) && (isObject(c['docker']) || c['type'] === 'DOCKER')) {
    const docker = c['docker'];
    const image = isObject(docker) ? docker['image'] : undefined;
    if (typeof image !== 'string' || image.trim() === '') add('/container/docker/image', 'must not be empty');
  }

  for (const [i, hc] of (Array.isArray(app['healthChecks']) ? app['healthChecks'] : []).entries()) {
    if (!isObject(hc)) {
      add(`/healthChecks(${i})`, 'error.expected.jsobject');
      continue;
    }
    for (const key of ['gracePeriodSeconds', 'intervalSeconds', 'timeoutSeconds', 'maxConsecutiveFailures']) {
      const v = hc[key];
      if (typeof v === 'number' && v < 0) add(`/healthChecks(${i})/${key}`, `got ${v}, expected 0 or more`);
    }
  }
  return out;
}

/** A partial update that carries `version` may carry nothing else but `id` (Marathon's AppUpdate rule). */
export function versionCombinationErrors(body: JsonObject): Detail[] {
  if (typeof body['version'] !== 'string') return [];
  const others = Object.keys(body).filter(
    (k) => k !== 'id' && k !== 'version' && !(COMPUTED_FIELDS as readonly string[]).includes(k),
  );
  return others.length
    ? [{ path: '/', errors: ["The 'version' field may only be combined with the 'id' field."] }]
    : [];
}

/**
 * Marathon 1.10 refuses a body that mixes deprecated and canonical forms (AppValidation.validateOldAppAPI,
 * AppNormalization): networks with ipAddress or docker.network, uris with fetch, both portMappings.
 */
export function deprecatedMixErrors(body: JsonObject): Detail[] {
  const given = (v: Json | undefined): boolean =>
    v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
  const container = isObject(body['container']) ? body['container'] : undefined;
  const docker = container && isObject(container['docker']) ? container['docker'] : undefined;
  const out: Detail[] = [];
  if (given(body['networks']) && (given(body['ipAddress']) || given(docker?.['network'])))
    out.push({ path: '/', errors: ['cannot mix deprecated and canonical network APIs'] });
  if (given(body['uris']) && given(body['fetch']))
    out.push({ path: '/', errors: ['cannot specify both uris and fetch fields'] });
  if (given(docker?.['portMappings']) && given(container?.['portMappings']))
    out.push({ path: '/', errors: ['cannot specify both portMappings and docker.portMappings'] });
  return out;
}
