/**
 * Marathon app definitions as users keep them in files (`deploy/qa-deploy.json`), rendered for one deployment.
 *
 * Kiln changes only what it is asked to change and keeps everything else exactly as written, including fields it
 * does not know (the Jenkins Marathon plugin lost those by round-tripping through a typed model):
 * - the image (`container.docker.image`): pinned `repository@sha256:…` whenever a digest is known; a tag-only
 *   image only with `allowMutableTag`, and then `forcePullImage` is forced on;
 * - `forcePullImage` only when asked (or forced by a mutable tag);
 * - `id`, `instances` when given;
 * - `env` and `labels`: merged (given keys win), plus Kiln's own labels (release id, commit, run URL);
 * - `${NAME}` template variables in `args` (`$${` writes a literal `${`).
 * Everything is validated before any request, with messages that name the file and the JSON pointer.
 */
import { ConfigurationError, InputError } from '../errors.js';
import { pinImage } from '../deploy/image.js';
import { expandVars, unusedVarsWarning } from '../deploy/template.js';
import {
  cloneJson,
  isJsonObject,
  JsonSyntaxError,
  numberValue,
  parseJson,
  type JsonObject,
  type JsonValue,
} from '../util/json.js';

/** Fields Marathon computes. A definition saved from `GET /v2/apps` carries them; they are never sent. */
export const COMPUTED_APP_FIELDS: readonly string[] = [
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
];

/**
 * The top-level fields of Marathon 1.10's `App` type (app.raml). Marathon's generated JSON readers skip any other
 * field without a word, so it is never stored.
 */
export const APP_FIELDS: ReadonlySet<string> = new Set([
  'id',
  'acceptedResourceRoles',
  'args',
  'backoffFactor',
  'backoffSeconds',
  'cmd',
  'constraints',
  'container',
  'cpus',
  'dependencies',
  'disk',
  'env',
  'executor',
  'executorResources',
  'fetch',
  'healthChecks',
  'check',
  'instances',
  'labels',
  'maxLaunchDelaySeconds',
  'mem',
  'gpus',
  'ipAddress',
  'networks',
  'ports',
  'portDefinitions',
  'readinessChecks',
  'residency',
  'resourceLimits',
  'requirePorts',
  'secrets',
  'taskKillGracePeriodSeconds',
  'upgradeStrategy',
  'uris',
  'user',
  'version',
  'versionInfo',
  'killSelection',
  'unreachableStrategy',
  'tty',
  'role',
]);

/** Marathon's id rule, per path segment (lowercase letters, digits, '-', with '.' between labels). */
const ID_SEGMENT = /^(?:(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/;
const RESERVED_SEGMENTS = ['restart', 'tasks', 'versions'];

export interface LoadedDefinition {
  /** The definition as written, minus computed fields. */
  definition: JsonObject;
  /** Things worth a warning (duplicate keys, computed fields dropped). */
  warnings: string[];
}

/** Parse a definition file's text. `source` names it in messages (the input and the path). */
export function loadAppDefinition(text: string, source: string): LoadedDefinition {
  const warnings: string[] = [];
  let parsed: JsonValue;
  try {
    parsed = parseJson(text, {
      onDuplicateKey: (key, line, column) =>
        warnings.push(
          `${source}: key "${key}" appears twice in one object (line ${line}, column ${column}); the last value is used.`,
        ),
    });
  } catch (e) {
    if (e instanceof JsonSyntaxError)
      throw new ConfigurationError(
        `${source} is not valid JSON: ${e.reason} at line ${e.line}, column ${e.column}.`,
      );
    throw e;
  }
  if (!isJsonObject(parsed))
    throw new ConfigurationError(
      `${source} must contain one JSON object (a Marathon app definition); found ${Array.isArray(parsed) ? 'an array' : typeof parsed}.`,
    );
  const dropped = COMPUTED_APP_FIELDS.filter((k) => k in parsed);
  const definition: JsonObject = {};
  for (const [k, v] of Object.entries(parsed)) if (!dropped.includes(k)) definition[k] = v;
  if (dropped.length)
    warnings.push(
      `${source}: ignoring ${dropped.map((k) => `"${k}"`).join(', ')} (computed by Marathon, never sent; a "version" would turn the update into a rollback).`,
    );
  return { definition, warnings };
}

export interface RenderOptions {
  /** Names the file in messages, e.g. `app-definition deploy/qa-deploy.json`. */
  source: string;
  /** The `image` input, when given. */
  image?: string;
  /** The `digest` input, when given. */
  digest?: string;
  allowMutableTag: boolean;
  /** The `force-pull-image` input; undefined leaves the file's value. */
  forcePullImage?: boolean;
  appId?: string;
  instances?: number;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** `${NAME}` values for `args`. */
  vars?: Record<string, string>;
  /** Vars used elsewhere in the same run (the `verify` checks file): never reported unused. */
  varsUsedElsewhere?: ReadonlySet<string>;
  /** Kiln's own labels (already filtered to the known values). */
  kilnLabels?: Record<string, string>;
}

export interface RenderedApp {
  /** Canonical app id: `/group/app`. */
  id: string;
  definition: JsonObject;
  /** The image that will run. */
  image: string;
  /** Whether the image is pinned by digest. */
  pinned: boolean;
  /** Lines worth telling the user (what Kiln changed and why). */
  notes: string[];
  warnings: string[];
}

/** `/a/b/` → `/a/b`, `a` → `/a`. */
export function canonicalAppId(id: string): string {
  return (
    '/' +
    id
      .split('/')
      .filter((s) => s !== '')
      .join('/')
  );
}

/** Why an app id is not valid, or undefined. */
export function appIdProblem(id: string): string | undefined {
  const segments = id.split('/').filter((s) => s !== '');
  if (segments.length === 0) return 'it is empty';
  for (const s of segments) {
    if (s === '.' || s === '..') return `relative segments ('${s}') are not supported; write the absolute id`;
    if (!ID_SEGMENT.test(s)) {
      const hint = s.toLowerCase() !== s ? ' (Marathon ids are lowercase)' : '';
      return `segment '${s}' is not allowed${hint}: each segment uses lowercase letters, digits and '-', starts and ends with a letter or digit, and may contain '.' between such labels`;
    }
  }
  const last = segments[segments.length - 1] as string;
  if (RESERVED_SEGMENTS.includes(last)) return `it must not end with the reserved word '${last}'`;
  return undefined;
}

/** The image of a definition (`container.docker.image`), if any. */
export function definitionImage(def: JsonObject | undefined): string | undefined {
  const container = def?.['container'];
  if (!isJsonObject(container)) return undefined;
  const docker = container['docker'];
  if (!isJsonObject(docker)) return undefined;
  const image = docker['image'];
  return typeof image === 'string' ? image : undefined;
}

/** Render the definition for one deployment. Does not modify `loaded`. Throws ConfigurationError/InputError. */
export function renderAppDefinition(loaded: JsonObject, o: RenderOptions): RenderedApp {
  const def = cloneJson(loaded);
  const notes: string[] = [];
  const warnings: string[] = [];
  const src = o.source;

  // id
  if (o.appId !== undefined) {
    const problem = appIdProblem(o.appId);
    if (problem) throw new InputError('app-id', `"${o.appId}" is not a valid Marathon app id: ${problem}.`);
    def['id'] = canonicalAppId(o.appId);
  }
  const rawId = def['id'];
  if (typeof rawId !== 'string' || rawId.trim() === '')
    throw new ConfigurationError(
      `${src}: "id" is missing or not a string; give the app id in the file or in the app-id input.`,
    );
  const idProblem = appIdProblem(rawId);
  if (idProblem)
    throw new ConfigurationError(
      `${src}: /id "${rawId}" is not a valid Marathon app id: ${idProblem}. Fix the file or set the app-id input.`,
    );
  const id = canonicalAppId(rawId);

  // instances
  if (o.instances !== undefined) def['instances'] = o.instances;

  // image
  const container = def['container'];
  const docker = isJsonObject(container) ? container['docker'] : undefined;
  if (!isJsonObject(container) || !isJsonObject(docker))
    throw new ConfigurationError(
      `${src}: /container/docker is missing; Kiln deploys container images, so the definition needs "container": {"type": "DOCKER", "docker": {"image": …}}.`,
    );
  const fileImage = docker['image'];
  if (o.image === undefined && (typeof fileImage !== 'string' || fileImage.trim() === ''))
    throw new ConfigurationError(
      `${src}: /container/docker/image is missing or empty; set it in the file or give the image input.`,
    );
  const fromInput = o.image !== undefined;
  const pin = pinImage({
    written: fromInput ? (o.image as string) : (fileImage as string),
    fromInput,
    location: `${src}: /container/docker/image`,
    digest: o.digest,
    allowMutableTag: o.allowMutableTag,
    forcePullName: 'forcePullImage',
  });
  const { image, pinned } = pin;
  notes.push(...pin.notes);
  if (!pinned && o.forcePullImage === false)
    throw new InputError(
      'force-pull-image',
      `false cannot be combined with the mutable tag '${image}' (allow-mutable-tag: true): every host must pull the tag again; expected true or no value.`,
    );
  warnings.push(...pin.warnings);
  docker['image'] = image;

  // forcePullImage: as the file says, unless asked (or forced by a mutable tag).
  const forcePull = pinned ? o.forcePullImage : true;
  if (forcePull !== undefined && docker['forcePullImage'] !== forcePull) {
    docker['forcePullImage'] = forcePull;
    notes.push(`forcePullImage set to ${forcePull}`);
  }

  // env and labels
  const mergeInto = (field: 'env' | 'labels', values: Record<string, string>): void => {
    if (Object.keys(values).length === 0) return;
    const current = def[field];
    if (current !== undefined && current !== null && !isJsonObject(current))
      throw new ConfigurationError(`${src}: /${field} must be an object to merge ${field} into.`);
    const target: JsonObject = isJsonObject(current) ? current : {};
    for (const [k, v] of Object.entries(values)) target[k] = v;
    def[field] = target;
  };
  mergeInto('env', o.env ?? {});
  mergeInto('labels', { ...(o.labels ?? {}), ...(o.kilnLabels ?? {}) });

  // args template variables
  const vars = o.vars ?? {};
  const used = new Set<string>();
  const args = def['args'];
  if (Array.isArray(args)) {
    def['args'] = args.map((a, i) =>
      typeof a === 'string' ? expandVars(a, vars, `${src}: /args/${i}`, used) : a,
    );
  }
  for (const n of o.varsUsedElsewhere ?? []) used.add(n);
  const unused = unusedVarsWarning(vars, used, '/args');
  if (unused) warnings.push(unused);

  validateAppDefinition(def, src);
  const unknown = Object.keys(def).filter((k) => !APP_FIELDS.has(k));
  if (unknown.length)
    warnings.push(
      `${src}: ${unknown.map((k) => `"${k}"`).join(', ')} ${unknown.length === 1 ? 'is not a field' : 'are not fields'} of a Marathon app; Kiln sends ${unknown.length === 1 ? 'it' : 'them'} as written, but Marathon ignores ${unknown.length === 1 ? 'it' : 'them'} (not stored, not compared).`,
    );
  const hc = Array.isArray(def['healthChecks']) ? def['healthChecks'] : [];
  if (
    hc.some(
      (c) => isJsonObject(c) && c['ignoreHttp1xx'] === true && (c['protocol'] ?? 'HTTP') !== 'MESOS_HTTP',
    )
  )
    notes.push(
      `${src}: /healthChecks: "ignoreHttp1xx": true is dropped by Marathon 1.10 for its own HTTP checks (stored as false); Kiln compares it that way.`,
    );
  return { id, definition: def, image, pinned, notes, warnings };
}

/**
 * What Marathon would reject (422/400), checked before any request. Throws one ConfigurationError listing every
 * problem by JSON pointer.
 */
export function validateAppDefinition(def: JsonObject, source: string): void {
  const problems: string[] = [];
  const id = def['id'];
  if (typeof id !== 'string') problems.push('/id must be a string');
  else {
    const p = appIdProblem(id);
    if (p) problems.push(`/id "${id}" is not a valid Marathon app id: ${p}`);
  }
  const cmd = def['cmd'];
  const args = def['args'];
  if (cmd !== undefined && cmd !== null && typeof cmd !== 'string') problems.push('/cmd must be a string');
  if (args !== undefined && args !== null) {
    if (!Array.isArray(args)) problems.push('/args must be an array of strings');
    else
      args.forEach((a, i) => {
        if (typeof a !== 'string') problems.push(`/args/${i} must be a string`);
      });
  }
  if (typeof cmd === 'string' && cmd !== '' && Array.isArray(args) && args.length > 0)
    problems.push(
      "has both /cmd and /args; Marathon accepts only one of them (use args with the image's entrypoint, or cmd)",
    );

  const instances = def['instances'];
  if (instances !== undefined && instances !== null) {
    const n = numberValue(instances);
    if (n === undefined || !Number.isInteger(n) || n < 0)
      problems.push(`/instances must be a whole number ≥ 0, got ${JSON.stringify(instances)}`);
  }

  const image = definitionImage(def);
  if (image === undefined || image.trim() === '')
    problems.push('/container/docker/image must be a non-empty string');

  const strategy = def['upgradeStrategy'];
  if (strategy !== undefined && strategy !== null) {
    if (!isJsonObject(strategy)) problems.push('/upgradeStrategy must be an object');
    else
      for (const key of ['minimumHealthCapacity', 'maximumOverCapacity']) {
        const v = strategy[key];
        if (v === undefined || v === null) continue;
        const n = numberValue(v);
        if (n === undefined || n < 0 || n > 1)
          problems.push(`/upgradeStrategy/${key} must be a number from 0 to 1, got ${JSON.stringify(v)}`);
      }
  }

  for (const field of ['env', 'labels'] as const) {
    const v = def[field];
    if (v === undefined || v === null) continue;
    if (!isJsonObject(v)) {
      problems.push(`/${field} must be an object`);
      continue;
    }
    for (const [k, x] of Object.entries(v)) {
      const ok = typeof x === 'string' || (field === 'env' && isJsonObject(x));
      if (!ok)
        problems.push(
          `/${field}/${k} must be a string${field === 'env' ? ' (or a secret reference object)' : ''}, got ${JSON.stringify(x)}`,
        );
    }
  }

  // Marathon 1.10 refuses to mix the deprecated and the canonical forms (AppNormalization, AppValidation).
  const container = isJsonObject(def['container']) ? def['container'] : undefined;
  const docker = container && isJsonObject(container['docker']) ? container['docker'] : undefined;
  const present = (v: JsonValue | undefined): boolean =>
    v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
  if (present(def['networks']) && (present(def['ipAddress']) || present(docker?.['network'])))
    problems.push(
      `/networks cannot be combined with ${present(def['ipAddress']) ? '/ipAddress' : '/container/docker/network'} (Marathon refuses to mix the deprecated and the current network fields; keep one form)`,
    );
  if (present(def['uris']) && present(def['fetch']))
    problems.push(
      '/uris cannot be combined with /fetch (Marathon accepts one of them; fetch is the current form)',
    );
  if (present(docker?.['portMappings']) && present(container?.['portMappings']))
    problems.push(
      '/container/docker/portMappings cannot be combined with /container/portMappings (keep one)',
    );

  for (const field of ['healthChecks', 'readinessChecks', 'constraints', 'uris'] as const) {
    const v = def[field];
    if (v !== undefined && v !== null && !Array.isArray(v)) problems.push(`/${field} must be an array`);
  }

  if (problems.length)
    throw new ConfigurationError(`${source} is not a valid Marathon app definition: ${problems.join('; ')}.`);
}
