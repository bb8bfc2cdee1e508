/**
 * What Marathon 1.10 stores for an app definition, so Kiln compares like with like: `GET /v2/apps/{id}` never
 * returns the body as sent, but the *normalized* app (read from mesosphere/marathon `releases/1.10`:
 * `api/v2/AppNormalization.scala`, `raml/AppConversion.scala`, `raml/HealthCheckConversion.scala`,
 * `raml/ContainerConversion.scala`, `raml/NetworkConversion.scala`, the RAML types' defaults):
 * - deprecated forms are rewritten: `uris` → `fetch`, `ipAddress` + `container.docker.network` → `networks`,
 *   `container.docker.portMappings` → `container.portMappings`, `ports` → `portDefinitions`;
 * - defaults are filled in (`backoffFactor`, `upgradeStrategy`, `unreachableStrategy`, docker `parameters`, health
 *   checks' `delaySeconds`/`ipProtocol`, port mappings' `labels`, …) and empty lists/maps marked omitEmpty vanish;
 * - Marathon's own HTTP checks lose `ignoreHttp1xx` (always stored false), `delaySeconds` and `ipProtocol`.
 *
 * A PUT with `partialUpdate` (Kiln's way) replaces the top-level fields it carries, keeps the others, except
 * `resourceLimits` and `executorResources`, which it resets when absent (AppConversion.appUpdateRamlReader): Kiln
 * sends their current value instead ({@link withKeptFields}).
 *
 * Values Marathon assigns itself (a service port or host-mode port given as 0) and values that depend on its
 * flags (`role` when the file has none) are not predictable: {@link expectedApp} takes them from what runs.
 */
import { cloneJson, isJsonObject, numberValue, type JsonObject, type JsonValue } from '../util/json.js';
import { APP_FIELDS, COMPUTED_APP_FIELDS } from './definition.js';

/** Fields a partial-update PUT resets when they are absent from its body. */
export const RESET_WHEN_ABSENT: readonly string[] = ['resourceLimits', 'executorResources'];

/** Top-level defaults Marathon writes for every app (app.raml, AppDefinition.scala). */
const APP_DEFAULTS: Readonly<JsonObject> = {
  backoffFactor: 1.15,
  backoffSeconds: 1,
  cpus: 1,
  disk: 0,
  executor: '',
  gpus: 0,
  instances: 1,
  labels: {},
  maxLaunchDelaySeconds: 300,
  mem: 128,
  requirePorts: false,
  killSelection: 'YOUNGEST_FIRST',
};

/** Lists and maps Marathon leaves out when empty (RAML `omitEmpty`). */
const OMIT_EMPTY = [
  'args',
  'constraints',
  'dependencies',
  'env',
  'fetch',
  'healthChecks',
  'readinessChecks',
  'secrets',
  'acceptedResourceRoles',
];

/** Never returned: deprecated, rewritten into other fields. */
const DEPRECATED = ['uris', 'ipAddress', 'ports'];

const ARCHIVE = /\.(tar|tar\.gz|tar\.bz2|tar\.xz|gz|tgz|tbz2|txz|zip)$/;
const MARATHON_HTTP_CHECKS = new Set(['HTTP', 'HTTPS']);
const MARATHON_CHECKS = new Set(['HTTP', 'HTTPS', 'TCP']);

const obj = (v: JsonValue | undefined): JsonObject | undefined => (isJsonObject(v) ? v : undefined);
const list = (v: JsonValue | undefined): JsonValue[] => (Array.isArray(v) ? v : []);
const given = (v: JsonValue | undefined): boolean => v !== undefined && v !== null;

function defaults(target: JsonObject, values: Readonly<JsonObject>): void {
  for (const [k, v] of Object.entries(values)) if (!given(target[k])) target[k] = cloneJson(v);
}

/** `uris` → `fetch` entries (extract only for archives), as Marathon's Artifacts.normalizeFetch. */
function fetchFromUris(uris: JsonValue[]): JsonObject[] {
  return uris
    .filter((u): u is string => typeof u === 'string')
    .map((uri) => ({
      uri,
      extract: ARCHIVE.test(new URL(uri, 'file:///').pathname),
      executable: false,
      cache: false,
    }));
}

/**
 * The deprecated forms of one body (a whole app or a PUT body), rewritten as Marathon does before merging:
 * networks, port mappings, fetch. Fields absent from the body stay absent.
 */
export function normalizeDeprecated(body: JsonObject): JsonObject {
  const app = cloneJson(body);
  const uris = list(app['uris']);
  if (uris.length > 0 && list(app['fetch']).length === 0) app['fetch'] = fetchFromUris(uris);
  const container = obj(app['container']);
  const docker = obj(container?.['docker']);
  const ipAddress = obj(app['ipAddress']);
  const dockerNetwork = typeof docker?.['network'] === 'string' ? docker['network'] : undefined;
  if (!given(app['networks']) && (ipAddress || dockerNetwork)) {
    const labels = obj(ipAddress?.['labels']);
    const withLabels = (n: JsonObject): JsonObject =>
      labels && Object.keys(labels).length ? { ...n, labels } : n;
    const name = typeof ipAddress?.['networkName'] === 'string' ? ipAddress['networkName'] : undefined;
    if (dockerNetwork === 'HOST') app['networks'] = [{ mode: 'host' }];
    else if (dockerNetwork === 'BRIDGE' || (!dockerNetwork && name === 'mesos-bridge'))
      app['networks'] = [withLabels({ mode: 'container/bridge' })];
    else app['networks'] = [withLabels({ mode: 'container', ...(name ? { name } : {}) })];
  }
  if (docker) {
    if (given(docker['portMappings']) && container && !given(container['portMappings']))
      container['portMappings'] = docker['portMappings'] as JsonValue;
    delete docker['portMappings'];
    delete docker['network'];
  }
  const ports = list(app['ports']);
  if (ports.length > 0 && !given(app['portDefinitions']))
    app['portDefinitions'] = ports.map((port) => ({ port }));
  for (const k of DEPRECATED) delete app[k];
  return app;
}

function normalizeHealthCheck(hc: JsonValue, hasPorts: boolean): JsonValue {
  if (!isJsonObject(hc)) return hc;
  const out = cloneJson(hc);
  defaults(out, {
    protocol: 'HTTP',
    gracePeriodSeconds: 300,
    intervalSeconds: 60,
    maxConsecutiveFailures: 3,
    timeoutSeconds: 20,
  });
  const protocol = String(out['protocol']);
  if (protocol !== 'COMMAND' && hasPorts && !given(out['port']) && !given(out['portIndex']))
    out['portIndex'] = 0;
  if (MARATHON_CHECKS.has(protocol)) {
    // Marathon's own checks keep neither delay nor IP protocol: they are returned as the defaults.
    out['delaySeconds'] = 15;
    out['ipProtocol'] = 'IPv4';
    if (MARATHON_HTTP_CHECKS.has(protocol)) out['ignoreHttp1xx'] = false;
    else delete out['ignoreHttp1xx'];
  } else {
    defaults(out, { delaySeconds: 15, ipProtocol: 'IPv4' });
    delete out['ignoreHttp1xx'];
  }
  return out;
}

function normalizeContainer(container: JsonObject, hostNetworking: boolean): JsonObject {
  const out = cloneJson(container);
  defaults(out, { type: 'DOCKER', volumes: [] });
  const docker = obj(out['docker']);
  if (docker) defaults(docker, { forcePullImage: false, parameters: [], privileged: false });
  if (hostNetworking) delete out['portMappings'];
  else {
    if (list(out['portMappings']).length === 0)
      out['portMappings'] = [{ containerPort: 0, name: 'default', protocol: 'tcp', servicePort: 0 }];
    out['portMappings'] = list(out['portMappings']).map((pm) => {
      if (!isJsonObject(pm)) return pm;
      const m = cloneJson(pm);
      defaults(m, { containerPort: 0, labels: {}, protocol: 'tcp', servicePort: 0 });
      if (list(m['networkNames']).length === 0) delete m['networkNames'];
      return m;
    });
  }
  return out;
}

/** The app as Marathon 1.10 returns it (definition fields only; computed fields are dropped). */
export function normalizeApp(def: JsonObject): JsonObject {
  const app = normalizeDeprecated(def);
  for (const k of COMPUTED_APP_FIELDS) delete app[k];
  for (const k of Object.keys(app)) if (!APP_FIELDS.has(k)) delete app[k];
  for (const [k, v] of Object.entries(app)) if (v === null) delete app[k];
  defaults(app, APP_DEFAULTS);
  if (list(app['networks']).length === 0) app['networks'] = [{ mode: 'host' }];
  const networks = list(app['networks']).map((n) => {
    if (!isJsonObject(n)) return n;
    const m = cloneJson(n);
    defaults(m, { mode: 'container' });
    if (isJsonObject(m['labels']) && Object.keys(m['labels']).length === 0) delete m['labels'];
    return m;
  });
  app['networks'] = networks;
  const host = networks.every((n) => isJsonObject(n) && n['mode'] === 'host');
  const container = obj(app['container']);
  if (container) app['container'] = normalizeContainer(container, host);
  if (host) {
    if (!given(app['portDefinitions']))
      app['portDefinitions'] = [{ port: 0, name: 'default', protocol: 'tcp' }];
    app['portDefinitions'] = list(app['portDefinitions']).map((pd) => {
      if (!isJsonObject(pd)) return pd;
      const out = cloneJson(pd);
      defaults(out, { protocol: 'tcp' });
      return out;
    });
  } else {
    delete app['portDefinitions'];
    app['requirePorts'] = false;
  }
  const hasPorts =
    list(app['portDefinitions']).length > 0 || list(obj(app['container'])?.['portMappings']).length > 0;
  if (Array.isArray(app['healthChecks']))
    app['healthChecks'] = app['healthChecks'].map((hc) => normalizeHealthCheck(hc, hasPorts));
  if (Array.isArray(app['readinessChecks']))
    app['readinessChecks'] = app['readinessChecks'].map((rc) => {
      if (!isJsonObject(rc)) return rc;
      const out = cloneJson(rc);
      defaults(out, {
        name: 'readinessCheck',
        protocol: 'HTTP',
        path: '/',
        portName: 'http-api',
        intervalSeconds: 30,
        timeoutSeconds: 10,
        preserveLastResponse: false,
      });
      if (list(out['httpStatusCodesForReady']).length === 0) out['httpStatusCodesForReady'] = [200];
      return out;
    });
  if (Array.isArray(app['fetch']))
    app['fetch'] = app['fetch'].map((f) => {
      if (!isJsonObject(f)) return f;
      const out = cloneJson(f);
      defaults(out, { extract: true, executable: false, cache: false });
      return out;
    });
  const resident = list(obj(app['container'])?.['volumes']).some(
    (v) => isJsonObject(v) && isJsonObject(v['persistent']),
  );
  defaults(app, {
    upgradeStrategy: resident
      ? { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 }
      : { minimumHealthCapacity: 1, maximumOverCapacity: 1 },
    unreachableStrategy: resident ? 'disabled' : { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 },
  });
  for (const k of OMIT_EMPTY) {
    const v = app[k];
    if ((Array.isArray(v) && v.length === 0) || (isJsonObject(v) && Object.keys(v).length === 0))
      delete app[k];
  }
  return app;
}

/**
 * The body Kiln sends: the rendered definition plus the current value of every field a partial update would
 * otherwise reset (`resourceLimits`, `executorResources`), so fields absent from the file keep their value.
 */
export function withKeptFields(rendered: JsonObject, current: JsonObject | undefined): JsonObject {
  if (!current) return rendered;
  const kept = RESET_WHEN_ABSENT.filter((k) => !(k in rendered) && given(current[k]));
  if (kept.length === 0) return rendered;
  const body = { ...rendered };
  for (const k of kept) body[k] = cloneJson(current[k] as JsonValue);
  return body;
}

/** Marathon assigns a port given as 0: what runs is what was asked for. */
function keepAssignedPorts(expected: JsonObject, current: JsonObject): void {
  const pairs: Array<[JsonValue[], JsonValue[], string]> = [
    [
      list(obj(expected['container'])?.['portMappings']),
      list(obj(current['container'])?.['portMappings']),
      'servicePort',
    ],
    [list(expected['portDefinitions']), list(current['portDefinitions']), 'port'],
  ];
  for (const [want, have, key] of pairs)
    want.forEach((w, i) => {
      const h = have[i];
      if (
        isJsonObject(w) &&
        isJsonObject(h) &&
        numberValue(w[key]) === 0 &&
        numberValue(h[key]) !== undefined
      )
        w[key] = h[key] as JsonValue;
    });
}

/**
 * What `GET /v2/apps/{id}` will return (definition fields) after Kiln PUTs `body` with partialUpdate over
 * `current` (undefined: the app is created).
 */
export function expectedApp(current: JsonObject | undefined, body: JsonObject): JsonObject {
  const update = normalizeDeprecated(body);
  if (!current) {
    const created = normalizeApp(update);
    delete created['executorResources']; // a PUT that creates the app loses it (AppConversion.appToUpdate)
    return created;
  }
  const now = normalizeApp(current);
  const merged: JsonObject = { ...now };
  for (const [k, v] of Object.entries(update)) if (given(v)) merged[k] = v;
  for (const k of RESET_WHEN_ABSENT) if (!given(update[k])) delete merged[k];
  const expected = normalizeApp(merged);
  keepAssignedPorts(expected, now);
  return expected;
}
