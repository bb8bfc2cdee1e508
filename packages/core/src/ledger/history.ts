/**
 * Reading the ledger: what runs in an environment now, which digests passed verification there, and which entry a
 * rollback may return to. Pure functions over an environment's entries (any backend's `list`), so every rule is
 * tested without a server.
 *
 * The rules (the users' and Argo Rollouts' ideas): a rollback returns to an earlier release that succeeded, was not
 * itself rolled back, and passed verification; a release that failed or was rolled back is a target only when named;
 * verification is required unless forced, and a forced action is recorded as such.
 */
import type { LedgerEntry, Verdict } from './entry.js';

/** Newest first: by time (as instants, whatever the offset or precision written), then by id. */
export function newestFirst(entries: readonly LedgerEntry[]): LedgerEntry[] {
  const at = (e: LedgerEntry) => Date.parse(e.time) || 0;
  return [...entries].sort((a, b) => at(b) - at(a) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

const DEPLOYS = new Set(['deploy', 'rollback']);

/** The entry whose digest runs now: the newest deploy or rollback that succeeded. */
export function current(entries: readonly LedgerEntry[]): LedgerEntry | undefined {
  return newestFirst(entries).find((e) => DEPLOYS.has(e.event) && e.result === 'success');
}

/**
 * The verdict on a digest in this environment: the newest verify entry for it, or a deploy that carried its own
 * verdict (the deploy actions' `verify` input); undefined when never verified.
 */
export function verdictOf(entries: readonly LedgerEntry[], digest: string): Verdict | undefined {
  for (const e of newestFirst(entries))
    if (e.digest === digest && e.verdict && (e.event === 'verify' || DEPLOYS.has(e.event))) return e.verdict;
  return undefined;
}

/**
 * The newest digest with a passed verdict (promote's "the last digest that passed QA"), as its newest successful
 * deploy or rollback entry there (else the verify entry itself).
 */
export function lastVerified(entries: readonly LedgerEntry[]): LedgerEntry | undefined {
  const all = newestFirst(entries);
  const seen = new Set<string>();
  for (const e of all) {
    if (seen.has(e.digest)) continue;
    seen.add(e.digest);
    if (verdictOf(all, e.digest) !== 'passed') continue;
    return all.find((d) => d.digest === e.digest && DEPLOYS.has(d.event) && d.result === 'success') ?? e;
  }
  return undefined;
}

/**
 * Ids of releases that a later rollback (one that succeeded) rolled back from. A rollback rolled back from a
 * rollback entry (what ran was itself a rollback to X) rolled back X: both ids count.
 */
function rolledBackIds(entries: readonly LedgerEntry[]): Set<string> {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const out = new Set<string>();
  for (const e of entries) {
    if (e.event !== 'rollback' || e.result !== 'success' || !e.of) continue;
    out.add(e.of);
    const of = byId.get(e.of);
    if (of?.event === 'rollback' && of.to) out.add(of.to);
  }
  return out;
}

/** The release an entry puts in place: a rollback's target, else the entry itself. */
export function releaseOf(entries: readonly LedgerEntry[], e: LedgerEntry): LedgerEntry {
  if (e.event !== 'rollback' || !e.to) return e;
  return entries.find((x) => x.id === e.to) ?? e;
}

/** Why an entry is not a good rollback target by itself, or undefined when it is. */
export function unfitReason(entries: readonly LedgerEntry[], e: LedgerEntry): string | undefined {
  if (!DEPLOYS.has(e.event) && e.event !== 'promote') return `it is a ${e.event} entry, not a release`;
  if (e.result !== 'success') return `it ${e.result === 'rolled-back' ? 'was rolled back' : 'failed'}`;
  const rolledBack = rolledBackIds(entries);
  // A rollback entry puts its target back: rolled back when either was.
  if (rolledBack.has(e.id) || (e.event === 'rollback' && e.to && rolledBack.has(e.to)))
    return 'it was rolled back';
  return undefined;
}

export interface RollbackTarget {
  /** The entry whose digest is deployed again. */
  entry: LedgerEntry;
  /** What runs now (rolled back from). */
  from?: LedgerEntry;
  /** The target was not verified (or failed verification) and `force` let it through. */
  forced: boolean;
  /** The verdict on the target's digest here. */
  verdict?: Verdict;
}

/** A refused target: one line for the user (exit code 2), the recent releases to choose from. */
export class RollbackRefused extends Error {
  override readonly name = 'RollbackRefused';
}

/**
 * The entry `to` names in this environment's history: `previous` (the newest good release other than what runs),
 * a release id, or a digest (`sha256:…`). Refuses a target outside the history, one that is not verified (unless
 * `force`), and — for `previous` — skips releases that failed or were rolled back (name them to choose them).
 */
export function resolveRollback(
  environment: string,
  entries: readonly LedgerEntry[],
  to: string,
  o: { force?: boolean } = {},
): RollbackTarget {
  const all = newestFirst(entries);
  const from = current(all);
  const verified = (e: LedgerEntry) => verdictOf(all, e.digest);
  const accept = (entry: LedgerEntry): RollbackTarget => {
    if (from && entry.digest === from.digest && !o.force)
      throw new RollbackRefused(
        `release ${entry.id} (${entry.digest}) is what runs in ${environment} now; nothing to roll back to (give force to deploy it again).`,
      );
    const verdict = verified(entry);
    if (verdict !== 'passed' && !o.force)
      throw new RollbackRefused(
        `release ${entry.id} (${entry.digest}) ${verdict ? `failed verification (${verdict})` : 'was never verified'} in ${environment}; give force to roll back to it anyway.`,
      );
    return {
      entry,
      ...(from ? { from } : {}),
      forced: verdict !== 'passed' || entry.digest === from?.digest,
      ...(verdict ? { verdict } : {}),
    };
  };
  if (to === 'previous') {
    const candidates = all.filter(
      (e) => DEPLOYS.has(e.event) && !unfitReason(all, e) && e.digest !== from?.digest,
    );
    const good = candidates.find((e) => verified(e) === 'passed');
    if (good) return accept(good);
    if (o.force && candidates[0]) return accept(candidates[0]);
    throw new RollbackRefused(
      candidates.length
        ? `no earlier release of ${environment} passed verification (${candidates.length} other release(s) were never verified or failed it); name one with to, and force.`
        : `${environment} has no earlier release to roll back to${from ? ` than ${from.id} (${from.digest})` : ''}.`,
    );
  }
  const isDigest = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(to) && to.includes(':');
  const named = isDigest
    ? (all.find((e) => e.digest === to && DEPLOYS.has(e.event) && e.result === 'success') ??
      all.find((e) => e.digest === to))
    : all.find((e) => e.id === to);
  if (!named)
    throw new RollbackRefused(
      `${isDigest ? `digest ${to}` : `release ${to}`} is not in ${environment}'s history${
        all.length ? ` (recent: ${recentIds(all)})` : ' (the ledger has no entry for it)'
      }.`,
    );
  if (named.event === 'verify')
    throw new RollbackRefused(
      isDigest
        ? `digest ${to} was verified in ${environment} but never deployed there.`
        : `${to} names a verification, not a release${named.of ? `; name the release ${named.of}` : ''}.`,
    );
  return accept(named);
}

/** The newest release ids, for "recent: …" in messages. */
export function recentIds(entries: readonly LedgerEntry[], n = 5): string {
  return newestFirst(entries)
    .filter((e) => e.event !== 'verify')
    .slice(0, n)
    .map((e) => e.id)
    .join(', ');
}
