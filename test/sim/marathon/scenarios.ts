/**
 * Scripted behaviours of the simulated tasks, chosen by the task's container image.
 *
 * All durations are simulated seconds, measured from the moment the task reaches TASK_RUNNING unless noted.
 * A scenario only decides what the *task* does (start, answer health / readiness probes, crash); what Marathon
 * does about it (health-check grace periods, kills, backoff, deployment gating) is the engine's job and follows
 * the app definition, exactly as a real Marathon would.
 */

export type Scenario =
  /** Starts after `startSeconds` (default 5), health endpoint answers OK `healthySeconds` (default 10) later. */
  | { kind: 'healthy'; startSeconds?: number; healthySeconds?: number }
  /** Starts after `startSeconds` (default 5); health and readiness probes fail forever. */
  | { kind: 'never-healthy'; startSeconds?: number }
  /** Starts after `startSeconds` (default 5), exits with TASK_FAILED `crashAfterSeconds` (default 10) later. */
  | { kind: 'crash-loop'; startSeconds?: number; crashAfterSeconds?: number; message?: string }
  /** Like `healthy`, but readiness probes only pass `readySeconds` after the task is running. */
  | { kind: 'slow-readiness'; readySeconds: number; startSeconds?: number; healthySeconds?: number }
  /** Everything happens at once: running, healthy and ready in zero simulated time. */
  | { kind: 'instant' };

export type ScenarioKind = Scenario['kind'];

export const SCENARIO_DEFAULTS = {
  startSeconds: 5,
  healthySeconds: 10,
  crashAfterSeconds: 10,
  crashMessage: 'Command exited with status 1',
} as const;

/** The scenario flattened into the numbers the engine needs. `null` = never. */
export interface Behaviour {
  kind: ScenarioKind;
  instant: boolean;
  startSeconds: number;
  /** Seconds after TASK_RUNNING from which health probes pass. */
  healthyAfter: number | null;
  /** Seconds after TASK_RUNNING from which readiness probes pass. */
  readyAfter: number | null;
  /** Seconds after TASK_RUNNING at which the task exits with TASK_FAILED. */
  crashAfter: number | null;
  crashMessage: string;
}

export function behaviourOf(s: Scenario): Behaviour {
  const d = SCENARIO_DEFAULTS;
  switch (s.kind) {
    case 'healthy':
      return base(s.kind, s.startSeconds ?? d.startSeconds, s.healthySeconds ?? d.healthySeconds, 0, null);
    case 'never-healthy':
      return base(s.kind, s.startSeconds ?? d.startSeconds, null, null, null);
    case 'crash-loop':
      return {
        ...base(
          s.kind,
          s.startSeconds ?? d.startSeconds,
          null,
          null,
          s.crashAfterSeconds ?? d.crashAfterSeconds,
        ),
        crashMessage: s.message ?? d.crashMessage,
      };
    case 'slow-readiness':
      return base(
        s.kind,
        s.startSeconds ?? d.startSeconds,
        s.healthySeconds ?? d.healthySeconds,
        s.readySeconds,
        null,
      );
    case 'instant':
      return { ...base(s.kind, 0, 0, 0, null), instant: true };
  }
}

function base(
  kind: ScenarioKind,
  startSeconds: number,
  healthyAfter: number | null,
  readyAfter: number | null,
  crashAfter: number | null,
): Behaviour {
  return {
    kind,
    instant: false,
    startSeconds,
    healthyAfter,
    readyAfter,
    crashAfter,
    crashMessage: SCENARIO_DEFAULTS.crashMessage,
  };
}

/**
 * The keys an image is looked up under, most specific first: the exact reference, the reference without its
 * digest, then the repository without tag and digest. `reg:5000/team/app:1.2@sha256:ab` →
 * [`reg:5000/team/app:1.2@sha256:ab`, `reg:5000/team/app:1.2`, `reg:5000/team/app`].
 */
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

export function lookupScenario(
  scenarios: ReadonlyMap<string, Scenario>,
  image: string | undefined,
  fallback: Scenario,
): Scenario {
  if (image === undefined) return fallback;
  for (const key of imageKeys(image)) {
    const found = scenarios.get(key);
    if (found) return found;
  }
  return fallback;
}

/**
 * Parses the CLI form `kind[:key=value,key=value]`, e.g. `crash-loop:crashAfterSeconds=30,message=boom` or
 * `slow-readiness:readySeconds=120`. Throws on unknown kinds or keys.
 */
export function parseScenario(spec: string): Scenario {
  const colon = spec.indexOf(':');
  const kind = (colon >= 0 ? spec.slice(0, colon) : spec).trim();
  const params = new Map<string, string>();
  if (colon >= 0) {
    for (const part of spec.slice(colon + 1).split(',')) {
      if (part.trim() === '') continue;
      const eq = part.indexOf('=');
      if (eq < 0) throw new Error(`scenario parameter '${part}' is not key=value`);
      params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
  }
  const allowed: Record<ScenarioKind, string[]> = {
    healthy: ['startSeconds', 'healthySeconds'],
    'never-healthy': ['startSeconds'],
    'crash-loop': ['startSeconds', 'crashAfterSeconds', 'message'],
    'slow-readiness': ['startSeconds', 'healthySeconds', 'readySeconds'],
    instant: [],
  };
  if (!(kind in allowed)) {
    throw new Error(`unknown scenario '${kind}' (expected one of ${Object.keys(allowed).join(', ')})`);
  }
  const k = kind as ScenarioKind;
  for (const key of params.keys()) {
    if (!allowed[k].includes(key)) throw new Error(`scenario '${k}' has no parameter '${key}'`);
  }
  const n = (key: string): number | undefined => {
    const raw = params.get(key);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0)
      throw new Error(`scenario parameter ${key}=${raw} is not a number >= 0`);
    return value;
  };
  switch (k) {
    case 'healthy':
      return strip({ kind: k, startSeconds: n('startSeconds'), healthySeconds: n('healthySeconds') });
    case 'never-healthy':
      return strip({ kind: k, startSeconds: n('startSeconds') });
    case 'crash-loop':
      return strip({
        kind: k,
        startSeconds: n('startSeconds'),
        crashAfterSeconds: n('crashAfterSeconds'),
        message: params.get('message'),
      });
    case 'slow-readiness': {
      const readySeconds = n('readySeconds');
      if (readySeconds === undefined) throw new Error('scenario slow-readiness needs readySeconds=<n>');
      return strip({
        kind: k,
        readySeconds,
        startSeconds: n('startSeconds'),
        healthySeconds: n('healthySeconds'),
      });
    }
    case 'instant':
      return { kind: k };
  }
}

/** Parses `image=kind[:params]` (CLI `--scenario`). */
export function parseScenarioAssignment(spec: string): { image: string; scenario: Scenario } {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`--scenario '${spec}' is not image=kind[:key=value,...]`);
  return { image: spec.slice(0, eq).trim(), scenario: parseScenario(spec.slice(eq + 1)) };
}

function strip<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
