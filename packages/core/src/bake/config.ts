/**
 * The image config of a bake: the base image's config (read losslessly, written back with every field it had)
 * with the given settings applied, new layers' diff_ids appended to `rootfs.diff_ids` and one `history` entry per
 * new layer.
 *
 * - `env`: merged by name: a given name replaces the base's value in place, new names are appended in the order
 *   given (values are taken literally: `$PATH` is not expanded).
 * - `entrypoint`, `cmd`, `workdir`, `user`: set when given. As a Dockerfile's ENTRYPOINT does, a new entrypoint
 *   clears the base's cmd unless a cmd is given too (the base's cmd would otherwise become the new program's
 *   arguments); `cmd: []` clears it explicitly.
 * - `labels`, `exposedPorts`: merged (`8080` means `8080/tcp`).
 * - `created`: the given time, else the base's, so the same inputs give the same config; `now` only when asked.
 */
import { ConfigurationError } from '../errors.js';
import { cloneJson, isJsonObject, type JsonObject, type JsonValue } from '../util/json.js';

/** Settings a bake applies to the base image's config. */
export interface ImageConfigChanges {
  /** Variables to set (given names win over the base's). */
  env?: Record<string, string>;
  entrypoint?: string[];
  cmd?: string[];
  workdir?: string;
  user?: string;
  labels?: Record<string, string>;
  /** `8080`, `8080/tcp`, `53/udp`. */
  exposedPorts?: string[];
  /** RFC 3339 time for the config and the history entries, or `now`. Default: the base's `created`. */
  created?: string;
}

/** A new layer as the config records it. */
export interface ConfigLayer {
  diffId: string;
  /** The history entry's `created_by`. */
  createdBy: string;
}

/** What {@link applyConfigChanges} did besides the config, for logs. */
export interface ConfigNotes {
  /** The base's cmd, when a new entrypoint cleared it. */
  clearedCmd?: JsonValue;
}

const PORT_RE = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i;

/** `8080` → `8080/tcp`; refuses what is not a port (1-65535) with an optional tcp/udp/sctp. */
export function normalisePort(port: string): string {
  const m = PORT_RE.exec(port.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!m || n < 1 || n > 65535) {
    throw new ConfigurationError(`exposed port '${port}' is not <1-65535>[/tcp|/udp|/sctp]`);
  }
  return `${n}/${(m[2] ?? 'tcp').toLowerCase()}`;
}

/** Resolves `created`: an RFC 3339 time as given, `now` as the current time. */
export function resolveCreated(
  created: string | undefined,
  now: () => Date = () => new Date(),
): string | undefined {
  if (created === undefined) return undefined;
  if (created === 'now') return now().toISOString();
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(created) ||
    isNaN(Date.parse(created))
  ) {
    throw new ConfigurationError(
      `created '${created}' is not an RFC 3339 time (2024-01-31T12:00:00Z) or 'now'`,
    );
  }
  return created;
}

function stringArray(value: string[], what: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new ConfigurationError(`${what} must be a list of strings`);
  }
  return [...value];
}

/**
 * The new config (a fresh object; `base` is not changed). `created` is the resolved time (see
 * {@link resolveCreated}); undefined keeps the base's.
 */
export function applyConfigChanges(
  base: JsonObject,
  changes: ImageConfigChanges,
  layers: readonly ConfigLayer[],
  created: string | undefined,
): { config: JsonObject; notes: ConfigNotes } {
  const out = cloneJson(base);
  const notes: ConfigNotes = {};
  const inner: JsonObject = isJsonObject(out.config) ? out.config : {};
  out.config = inner;

  if (changes.env !== undefined) {
    const env = Array.isArray(inner.Env) ? inner.Env.filter((e): e is string => typeof e === 'string') : [];
    const given = new Map<string, string>();
    for (const [name, value] of Object.entries(changes.env)) {
      if (name === '' || name.includes('=') || name.includes('\0')) {
        throw new ConfigurationError(`environment variable name '${name}' is not valid`);
      }
      given.set(name, String(value));
    }
    const merged = env.map((e) => {
      const name = e.includes('=') ? e.slice(0, e.indexOf('=')) : e;
      const value = given.get(name);
      if (value === undefined) return e;
      given.delete(name);
      return `${name}=${value}`;
    });
    for (const [name, value] of given) merged.push(`${name}=${value}`);
    inner.Env = merged;
  }
  if (changes.entrypoint !== undefined) {
    inner.Entrypoint = stringArray(changes.entrypoint, 'entrypoint');
    if (changes.cmd === undefined && inner.Cmd !== undefined && inner.Cmd !== null) {
      notes.clearedCmd = inner.Cmd;
      delete inner.Cmd;
    }
  }
  if (changes.cmd !== undefined) inner.Cmd = stringArray(changes.cmd, 'cmd');
  if (changes.workdir !== undefined) inner.WorkingDir = changes.workdir;
  if (changes.user !== undefined) inner.User = changes.user;
  if (changes.labels !== undefined) {
    const labels: JsonObject = isJsonObject(inner.Labels) ? inner.Labels : {};
    for (const [k, v] of Object.entries(changes.labels)) labels[k] = String(v);
    inner.Labels = labels;
  }
  if (changes.exposedPorts !== undefined && changes.exposedPorts.length > 0) {
    const ports: JsonObject = isJsonObject(inner.ExposedPorts) ? inner.ExposedPorts : {};
    for (const p of changes.exposedPorts) ports[normalisePort(p)] = {};
    inner.ExposedPorts = ports;
  }

  const rootfs: JsonObject = isJsonObject(out.rootfs) ? out.rootfs : { type: 'layers' };
  const diffIds = Array.isArray(rootfs.diff_ids) ? rootfs.diff_ids : [];
  rootfs.diff_ids = [...diffIds, ...layers.map((l) => l.diffId)];
  out.rootfs = rootfs;

  const when = created ?? (typeof base.created === 'string' ? base.created : undefined);
  if (when !== undefined) out.created = when;
  const history = Array.isArray(out.history) ? out.history : [];
  for (const layer of layers) {
    history.push({ ...(when !== undefined ? { created: when } : {}), created_by: layer.createdBy });
  }
  if (layers.length === 0) {
    history.push({
      ...(when !== undefined ? { created: when } : {}),
      created_by: 'kiln layer-append (config only)',
      empty_layer: true,
    });
  }
  out.history = history;
  return { config: out, notes };
}
