/**
 * The release ledger's entries: one per event — a deploy, a rollback, a promote, a verification verdict — each with
 * a unique release id ordered by time, the environment, what was deployed where, the image digest and the one it
 * replaced, the commit, run, actor, result and verdict. Entries are appended, never changed: a later verdict or a
 * rollback is a new entry that names the release it is about (`of`).
 */

export type LedgerEvent = 'deploy' | 'rollback' | 'promote' | 'verify';
/** How the event ended: `success`; `failure` (left as it was); `rolled-back` (failed, then put back). */
export type LedgerResult = 'success' | 'failure' | 'rolled-back';
/** A verification's verdict (smoke-test): Argo Rollouts' three. */
export type Verdict = 'passed' | 'failed' | 'inconclusive';

export interface LedgerTarget {
  platform: 'marathon' | 'kubernetes' | 'registry';
  /** Marathon URLs / cluster names, the kubeconfig's cluster server. */
  clusters?: string[];
  /** Marathon app ids, `Kind/name` of Kubernetes workloads, registry tags. */
  apps?: string[];
}

export interface LedgerEntry {
  /** The release id: unique in the ledger, and ordered as the entries were made (given, or generated). */
  id: string;
  event: LedgerEvent;
  environment: string;
  /** When the entry was made (ISO 8601, UTC). */
  time: string;
  /** The repository the digest is in, without tag or digest: `registry.example.com/shop/web`. */
  image: string;
  /** The digest deployed, promoted or verified (`sha256:…`). */
  digest: string;
  /** What ran before this event replaced it. */
  previousDigest?: string;
  target?: LedgerTarget;
  commit?: string;
  runUrl?: string;
  actor?: string;
  result: LedgerResult;
  /** verify entries: the verdict; a deploy verified by its own `verify` input carries it too. */
  verdict?: Verdict;
  /** rollback: the release rolled back from; verify: the release verified (when known). */
  of?: string;
  /** rollback: the release deployed again. */
  to?: string;
  /** The user overrode a gate (`force`): recorded so it shows. */
  forced?: boolean;
  /** One line for people (at most 140 characters on GitHub). */
  description?: string;
}

export interface LedgerCall {
  signal?: AbortSignal;
  /** Absolute time (ms since the epoch) by which every request of the call has ended. */
  deadline?: number;
}

/**
 * Where the ledger lives. Implementations: a file (terminals, tests), the registry (OCI artifacts referring to the
 * released image: works on every CI with the credentials the deploy already has), GitHub Deployments, GitLab
 * deployments (with the registry holding the digests).
 */
export interface LedgerBackend {
  /** `file`, `registry`, `github`, `gitlab`: for messages. */
  readonly kind: string;
  /** Where, for messages: a path, `oci://registry/repo`, `github.com/o/r`. Never a credential. */
  readonly location: string;
  /** Appends one entry; it is stored as given (the id included). */
  append(entry: LedgerEntry, call?: LedgerCall): Promise<LedgerEntry>;
  /** The environment's entries, newest first (by time, then id), at most `limit` (default 100). */
  list(environment: string, call?: LedgerCall & { limit?: number }): Promise<LedgerEntry[]>;
}

/** Why the ledger could not be read or written: the edge turns these into one line for the user. */
export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  constructor(
    message: string,
    readonly kind: 'unreachable' | 'denied' | 'corrupt' | 'conflict' | 'not-found',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const EVENTS = new Set<string>(['deploy', 'rollback', 'promote', 'verify']);
const RESULTS = new Set<string>(['success', 'failure', 'rolled-back']);
const VERDICTS = new Set<string>(['passed', 'failed', 'inconclusive']);
const OPTIONAL_STRINGS = ['previousDigest', 'commit', 'runUrl', 'actor', 'of', 'to', 'description'] as const;

/**
 * An entry read back from a backend, checked field by field (a ledger is outside data: a hand-edited file, another
 * tool's payload); undefined when it is not a Kiln entry. Unknown fields are dropped.
 */
export function parseEntry(v: unknown): LedgerEntry | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const str = (k: string) =>
    typeof o[k] === 'string' && (o[k] as string).length <= 4096 ? (o[k] as string) : undefined;
  const id = str('id');
  const event = str('event');
  const environment = str('environment');
  const time = str('time');
  const image = str('image');
  const digest = str('digest');
  const result = str('result');
  if (!id || !event || !EVENTS.has(event) || !environment || !time || !image || !digest) return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(id) || !/^[a-z0-9+._-]+:[A-Za-z0-9=_-]+$/.test(digest))
    return undefined;
  if (Number.isNaN(Date.parse(time))) return undefined;
  if (!result || !RESULTS.has(result)) return undefined;
  const e: LedgerEntry = {
    id,
    event: event as LedgerEvent,
    environment,
    time,
    image,
    digest,
    result: result as LedgerResult,
  };
  for (const k of OPTIONAL_STRINGS) {
    const s = str(k);
    if (s) e[k] = s;
  }
  const verdict = str('verdict');
  if (verdict && VERDICTS.has(verdict)) e.verdict = verdict as Verdict;
  if (o.forced === true) e.forced = true;
  const t = o.target;
  if (typeof t === 'object' && t !== null && !Array.isArray(t)) {
    const tt = t as Record<string, unknown>;
    if (tt.platform === 'marathon' || tt.platform === 'kubernetes' || tt.platform === 'registry') {
      const list = (x: unknown) =>
        Array.isArray(x) && x.every((i) => typeof i === 'string') ? (x as string[]) : undefined;
      const clusters = list(tt.clusters);
      const apps = list(tt.apps);
      e.target = { platform: tt.platform, ...(clusters ? { clusters } : {}), ...(apps ? { apps } : {}) };
    }
  }
  return e;
}
