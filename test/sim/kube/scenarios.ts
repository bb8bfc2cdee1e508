/**
 * What a simulated container does, decided by its image: an explicit scenario (by exact reference, reference
 * without digest, or repository without tag — as the Marathon simulator looks them up), else a keyword in the image
 * reference, else healthy. The kubelet (kubelet.ts) turns that into pod status, restarts, back-offs and events.
 *
 * Keywords (in any path segment or tag of the image, case-insensitive):
 * - `crash` → the container exits 1 after 2 s with a termination message: CrashLoopBackOff;
 * - `oom` (a word: `oom`, `oomkilled`, `app-oom`) → killed with 137, reason OOMKilled: CrashLoopBackOff;
 * - `nosuch`, or a registry host ending in `.invalid` → the pull fails: ErrImagePull, then ImagePullBackOff;
 * - `unready` / `never-ready` → running, never ready;
 * - `fail` (a word) → runs 3 s then exits 1 (a failing Job's pod);
 * - anything else → pulled in 1 s, running 1 s later, ready at once (or when its readiness probe first passes);
 *   with restartPolicy OnFailure/Never it completes (exit 0) after 3 s.
 */

export type PodScenario =
  | { kind: 'healthy'; startSeconds?: number; readySeconds?: number; runSeconds?: number }
  | { kind: 'crash-loop'; crashAfterSeconds?: number; exitCode?: number; message?: string }
  | { kind: 'oom'; crashAfterSeconds?: number }
  | { kind: 'image-pull-error'; message?: string }
  | { kind: 'never-ready'; startSeconds?: number }
  | { kind: 'fail'; runSeconds?: number; exitCode?: number; message?: string };

export type PodScenarioKind = PodScenario['kind'];

/** The numbers the kubelet needs. Simulated seconds. */
export interface ContainerBehaviour {
  kind: PodScenarioKind;
  pullSeconds: number;
  /** A pull error message (ErrImagePull), or null when the pull succeeds. */
  pullError: string | null;
  /** From created to running. */
  startSeconds: number;
  /** After running: ready (without a readiness probe), or the probe passes. null = never. */
  readySeconds: number | null;
  /** After running: the container exits on its own with `exitCode` (null = never, unless it completes). */
  exitSeconds: number | null;
  exitCode: number;
  exitReason: 'Error' | 'OOMKilled' | 'Completed';
  /** Exit after `completeSeconds` with 0 when the pod's restartPolicy is not Always (a Job's pod). */
  completeSeconds: number;
  terminationMessage: string;
  logs: string[];
}

export const POD_DEFAULTS = { pullSeconds: 1, startSeconds: 1, crashAfterSeconds: 2, runSeconds: 3 } as const;

/** `nginx` → `docker.io/library/nginx:latest` (how containerd names it in its messages). */
export function fullImageName(image: string): string {
  let name = image;
  const firstSlash = name.indexOf('/');
  const first = firstSlash >= 0 ? name.slice(0, firstSlash) : '';
  const hasRegistry =
    firstSlash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) name = firstSlash >= 0 ? `docker.io/${name}` : `docker.io/library/${name}`;
  const at = name.indexOf('@');
  const base = at >= 0 ? name.slice(0, at) : name;
  const lastSlash = base.lastIndexOf('/');
  if (base.lastIndexOf(':') <= lastSlash && at < 0) name = `${name}:latest`;
  return name;
}

function registryHost(image: string): string {
  const full = fullImageName(image);
  return full.slice(0, full.indexOf('/'));
}

function words(image: string): string[] {
  return image
    .toLowerCase()
    .split(/[/:@._-]+/)
    .filter((w) => w !== '');
}

/** The scenario an image's name implies. */
export function scenarioFromImage(image: string): PodScenario {
  const lower = image.toLowerCase();
  const ws = words(image);
  if (lower.includes('nosuch') || registryHost(image).endsWith('.invalid'))
    return { kind: 'image-pull-error' };
  if (lower.includes('crash')) return { kind: 'crash-loop' };
  if (ws.some((w) => w === 'oom' || w === 'oomkilled' || w === 'oomkill')) return { kind: 'oom' };
  if (lower.includes('unready') || lower.includes('never-ready')) return { kind: 'never-ready' };
  if (ws.some((w) => w === 'fail' || w === 'failing' || w === 'fails')) return { kind: 'fail' };
  return { kind: 'healthy' };
}

/** The keys an image is looked up under, most specific first. */
export function imageKeys(image: string): string[] {
  const keys = [image];
  const at = image.indexOf('@');
  const noDigest = at >= 0 ? image.slice(0, at) : image;
  keys.push(noDigest);
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  keys.push(colon > lastSlash ? noDigest.slice(0, colon) : noDigest);
  return [...new Set(keys)];
}

export function lookupScenario(scenarios: ReadonlyMap<string, PodScenario>, image: string): PodScenario {
  for (const key of imageKeys(image)) {
    const found = scenarios.get(key);
    if (found) return found;
  }
  return scenarioFromImage(image);
}

export function pullErrorMessage(image: string): string {
  const full = fullImageName(image);
  const host = registryHost(image);
  if (host.endsWith('.invalid')) {
    const rest = full.slice(host.length + 1);
    const colon = rest.lastIndexOf(':');
    const repo = colon > 0 ? rest.slice(0, colon) : rest;
    const tag = colon > 0 ? rest.slice(colon + 1) : 'latest';
    return `rpc error: code = Unknown desc = failed to pull and unpack image "${full}": failed to resolve reference "${full}": failed to do request: Head "https://${host}/v2/${repo}/manifests/${tag}": dial tcp: lookup ${host}: no such host`;
  }
  return `rpc error: code = NotFound desc = failed to pull and unpack image "${full}": failed to resolve reference "${full}": ${full}: not found`;
}

export function behaviourOf(s: PodScenario, image: string): ContainerBehaviour {
  const d = POD_DEFAULTS;
  const base: ContainerBehaviour = {
    kind: s.kind,
    pullSeconds: d.pullSeconds,
    pullError: null,
    startSeconds: d.startSeconds,
    readySeconds: 0,
    exitSeconds: null,
    exitCode: 0,
    exitReason: 'Completed',
    completeSeconds: d.runSeconds,
    terminationMessage: '',
    logs: [`sim: ${image} started`],
  };
  switch (s.kind) {
    case 'healthy':
      return {
        ...base,
        startSeconds: s.startSeconds ?? d.startSeconds,
        readySeconds: s.readySeconds ?? 0,
        completeSeconds: s.runSeconds ?? d.runSeconds,
        logs: [...base.logs, 'sim: serving'],
      };
    case 'crash-loop': {
      const message = s.message ?? `panic: simulated crash of ${image}`;
      return {
        ...base,
        exitSeconds: s.crashAfterSeconds ?? d.crashAfterSeconds,
        exitCode: s.exitCode ?? 1,
        exitReason: 'Error',
        terminationMessage: message,
        readySeconds: null,
        logs: [...base.logs, message],
      };
    }
    case 'oom':
      return {
        ...base,
        exitSeconds: s.crashAfterSeconds ?? d.crashAfterSeconds,
        exitCode: 137,
        exitReason: 'OOMKilled',
        readySeconds: null,
        logs: [...base.logs, 'sim: allocating memory'],
      };
    case 'image-pull-error':
      return { ...base, pullError: s.message ?? pullErrorMessage(image), readySeconds: null, logs: [] };
    case 'never-ready':
      return {
        ...base,
        startSeconds: s.startSeconds ?? d.startSeconds,
        readySeconds: null,
        logs: [...base.logs, 'sim: not ready'],
      };
    case 'fail': {
      const message = s.message ?? `sim: ${image} failed`;
      return {
        ...base,
        exitSeconds: s.runSeconds ?? d.runSeconds,
        exitCode: s.exitCode ?? 1,
        exitReason: 'Error',
        terminationMessage: message,
        logs: [...base.logs, message],
      };
    }
  }
}

/** Parses `kind[:key=value,…]` (CLI `--scenario image=kind:…`). */
export function parsePodScenario(spec: string): PodScenario {
  const colon = spec.indexOf(':');
  const kind = (colon >= 0 ? spec.slice(0, colon) : spec).trim();
  const params = new Map<string, string>();
  if (colon >= 0) {
    for (const part of spec.slice(colon + 1).split(',')) {
      if (!part.trim()) continue;
      const eq = part.indexOf('=');
      if (eq < 0) throw new Error(`scenario parameter '${part}' is not key=value`);
      params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
  }
  const allowed: Record<PodScenarioKind, string[]> = {
    healthy: ['startSeconds', 'readySeconds', 'runSeconds'],
    'crash-loop': ['crashAfterSeconds', 'exitCode', 'message'],
    oom: ['crashAfterSeconds'],
    'image-pull-error': ['message'],
    'never-ready': ['startSeconds'],
    fail: ['runSeconds', 'exitCode', 'message'],
  };
  if (!(kind in allowed))
    throw new Error(`unknown scenario '${kind}' (expected one of ${Object.keys(allowed).join(', ')})`);
  const k = kind as PodScenarioKind;
  for (const key of params.keys())
    if (!allowed[k].includes(key)) throw new Error(`scenario '${k}' has no parameter '${key}'`);
  const out: Record<string, string | number> = { kind: k };
  for (const [key, value] of params) {
    if (key === 'message') out[key] = value;
    else {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0)
        throw new Error(`scenario parameter ${key}=${value} is not a number >= 0`);
      out[key] = n;
    }
  }
  return out as unknown as PodScenario;
}

export function parseScenarioAssignment(spec: string): { image: string; scenario: PodScenario } {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`--scenario '${spec}' is not image=kind[:key=value,...]`);
  return { image: spec.slice(0, eq).trim(), scenario: parsePodScenario(spec.slice(eq + 1)) };
}
