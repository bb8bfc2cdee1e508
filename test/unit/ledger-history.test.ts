/**
 * The release ledger's reading rules (packages/core/src/ledger/history.ts) as a user relies on them when rolling
 * back by hand: what runs now, which digests passed verification, and which release `rollback to=…` returns to —
 * `previous`, a release id, or a digest — and when it refuses (unverified, unknown, a verification's id) unless forced.
 */
import { describe, expect, test } from '@jest/globals';
import type { LedgerEntry, Verdict } from '../../packages/core/src/ledger/entry.js';
import {
  current,
  lastVerified,
  newestFirst,
  recentIds,
  releaseOf,
  resolveRollback,
  RollbackRefused,
  unfitReason,
  verdictOf,
} from '../../packages/core/src/ledger/history.js';

const ENV = 'production';
const IMAGE = 'registry.example.com/shop/web';

/** `sha256:` + 64 hex digits, one per letter: digest('a') = sha256:aaaa…. */
function digest(c: string): string {
  return `sha256:${c.repeat(64)}`;
}

const A = digest('a');
const B = digest('b');
const C = digest('c');
const D = digest('d');
const E = digest('e');

/**
 * A history built in order: each entry is one minute after the previous (from 2026-11-30 04:00 UTC) and gets an id
 * like a generated one (`20261130.040000.aaaa`, the suffix from the digest's first letters and a counter).
 */
class History {
  readonly entries: LedgerEntry[] = [];
  private minute = 0;
  private running: string | undefined;

  private next(event: LedgerEntry['event'], d: string, extra: Partial<LedgerEntry>): LedgerEntry {
    const at = new Date(Date.UTC(2026, 10, 30, 4, this.minute++, 0));
    const iso = at.toISOString();
    const id = `${iso.slice(0, 10).replace(/-/g, '')}.${iso.slice(11, 19).replace(/:/g, '')}.${d.slice(7, 10)}${this.minute % 10}`;
    const e: LedgerEntry = {
      id,
      event,
      environment: ENV,
      time: iso,
      image: IMAGE,
      digest: d,
      result: 'success',
      actor: 'alice',
      commit: '3f9c2d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e',
      ...extra,
    };
    this.entries.push(e);
    return e;
  }

  deploy(d: string, extra: Partial<LedgerEntry> = {}): LedgerEntry {
    const e = this.next('deploy', d, { ...(this.running ? { previousDigest: this.running } : {}), ...extra });
    if (e.result === 'success') this.running = d;
    return e;
  }

  verify(d: string, verdict: Verdict, of?: LedgerEntry): LedgerEntry {
    return this.next('verify', d, { verdict, ...(of ? { of: of.id } : {}) });
  }

  /** A rollback from `of` (what runs) back to `to`. */
  rollback(of: LedgerEntry, to: LedgerEntry, extra: Partial<LedgerEntry> = {}): LedgerEntry {
    const e = this.next('rollback', to.digest, { previousDigest: of.digest, of: of.id, to: to.id, ...extra });
    if (e.result === 'success') this.running = to.digest;
    return e;
  }

  promote(d: string): LedgerEntry {
    return this.next('promote', d, {});
  }

  /** A deploy followed by its passed verification. */
  good(d: string): LedgerEntry {
    const e = this.deploy(d);
    this.verify(d, 'passed', e);
    return e;
  }
}

function refusal(f: () => unknown): RollbackRefused {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RollbackRefused);
    return e as RollbackRefused;
  }
  throw new Error('expected a RollbackRefused');
}

describe('newestFirst', () => {
  test('orders by time, newest first, without changing the input', () => {
    const h = new History();
    const a = h.deploy(A);
    const b = h.deploy(B);
    const c = h.deploy(C);
    const shuffled = [b, c, a];
    expect(newestFirst(shuffled).map((e) => e.id)).toEqual([c.id, b.id, a.id]);
    expect(shuffled).toEqual([b, c, a]);
  });

  test('entries of the same time are ordered by id, highest first', () => {
    const time = '2026-11-30T04:30:12.000Z';
    const base = { event: 'deploy', environment: ENV, time, image: IMAGE, result: 'success' } as const;
    const x: LedgerEntry = { ...base, id: '20261130.043012.1111', digest: A };
    const y: LedgerEntry = { ...base, id: '20261130.043012.7f3a', digest: B };
    const z: LedgerEntry = { ...base, id: '20261130.043012.ffff', digest: C };
    expect(newestFirst([y, z, x]).map((e) => e.id)).toEqual([z.id, y.id, x.id]);
    // time beats id
    const older: LedgerEntry = {
      ...base,
      id: '99999999.999999.ffff',
      digest: D,
      time: '2026-11-30T04:30:11.000Z',
    };
    expect(newestFirst([older, x]).map((e) => e.id)).toEqual([x.id, older.id]);
  });
});

describe('current', () => {
  test('is the newest successful deploy', () => {
    const h = new History();
    h.good(A);
    const b = h.good(B);
    expect(current(h.entries)).toBe(b);
  });

  test('a failed newest deploy leaves the previous one current', () => {
    const h = new History();
    const a = h.good(A);
    h.deploy(B, { result: 'failure' });
    expect(current(h.entries)).toBe(a);
  });

  test('a newest deploy that was rolled back (result rolled-back) leaves the previous one current', () => {
    const h = new History();
    const a = h.good(A);
    h.deploy(B, { result: 'rolled-back' });
    expect(current(h.entries)).toBe(a);
  });

  test('promote and verify entries are never current', () => {
    const h = new History();
    const a = h.deploy(A);
    h.promote(B);
    h.verify(A, 'passed', a);
    h.verify(C, 'passed');
    expect(current(h.entries)).toBe(a);
    const only = new History();
    only.promote(A);
    only.verify(A, 'passed');
    expect(current(only.entries)).toBeUndefined();
  });

  test('a successful rollback is current', () => {
    const h = new History();
    const a = h.good(A);
    const b = h.good(B);
    const r = h.rollback(b, a);
    expect(current(h.entries)).toBe(r);
    expect(current(h.entries)?.digest).toBe(A);
  });

  test('an empty history has nothing current', () => {
    expect(current([])).toBeUndefined();
  });
});

describe('verdictOf', () => {
  test('the newest verify entry for the digest wins: passed then failed → failed', () => {
    const h = new History();
    const a = h.deploy(A);
    h.verify(A, 'passed', a);
    expect(verdictOf(h.entries, A)).toBe('passed');
    h.verify(A, 'failed', a);
    expect(verdictOf(h.entries, A)).toBe('failed');
    h.verify(A, 'inconclusive', a);
    expect(verdictOf(h.entries, A)).toBe('inconclusive');
  });

  test('order in the array does not matter, only time', () => {
    const h = new History();
    const a = h.deploy(A);
    h.verify(A, 'failed', a);
    h.verify(A, 'passed', a);
    expect(verdictOf([...h.entries].reverse(), A)).toBe('passed');
  });

  test('a deploy carrying its own verdict counts', () => {
    const h = new History();
    h.deploy(A, { verdict: 'passed' });
    expect(verdictOf(h.entries, A)).toBe('passed');
    const a2 = h.deploy(A, { verdict: 'failed' });
    expect(verdictOf(h.entries, A)).toBe('failed');
    h.verify(A, 'passed', a2);
    expect(verdictOf(h.entries, A)).toBe('passed');
  });

  test("other digests' verdicts do not leak", () => {
    const h = new History();
    const a = h.deploy(A);
    h.verify(A, 'passed', a);
    const b = h.deploy(B);
    h.verify(B, 'failed', b);
    expect(verdictOf(h.entries, A)).toBe('passed');
    expect(verdictOf(h.entries, B)).toBe('failed');
    expect(verdictOf(h.entries, C)).toBeUndefined();
  });

  test('undefined when never verified', () => {
    const h = new History();
    h.deploy(A);
    h.promote(A);
    expect(verdictOf(h.entries, A)).toBeUndefined();
    expect(verdictOf([], A)).toBeUndefined();
  });
});

describe('lastVerified', () => {
  test('the newest digest that passed', () => {
    const h = new History();
    h.good(A);
    h.good(B);
    h.deploy(C); // never verified
    const found = lastVerified(h.entries);
    expect(found?.digest).toBe(B);
  });

  test('skips a digest whose latest verdict failed', () => {
    const h = new History();
    h.good(A);
    const b = h.good(B);
    h.verify(B, 'failed', b);
    expect(lastVerified(h.entries)?.digest).toBe(A);
  });

  test('undefined when nothing passed', () => {
    const h = new History();
    const a = h.deploy(A);
    h.verify(A, 'failed', a);
    h.deploy(B);
    expect(lastVerified(h.entries)).toBeUndefined();
    expect(lastVerified([])).toBeUndefined();
  });
});

describe('unfitReason', () => {
  test('says why an entry is not a rollback target by itself', () => {
    const h = new History();
    const a = h.deploy(A);
    const v = h.verify(A, 'passed', a);
    const b = h.deploy(B, { result: 'failure' });
    const c = h.deploy(C, { result: 'rolled-back' });
    const d = h.deploy(D);
    h.rollback(d, a);
    const p = h.promote(E);
    expect(unfitReason(h.entries, a)).toBeUndefined();
    expect(unfitReason(h.entries, v)).toBe('it is a verify entry, not a release');
    expect(unfitReason(h.entries, b)).toBe('it failed');
    expect(unfitReason(h.entries, c)).toBe('it was rolled back');
    expect(unfitReason(h.entries, d)).toBe('it was rolled back');
    expect(unfitReason(h.entries, p)).toBeUndefined();
  });
});

describe("resolveRollback to 'previous'", () => {
  test('skips the running digest and returns the newest verified earlier release; from is the current entry', () => {
    const h = new History();
    const a = h.good(A);
    const b = h.good(B);
    const t = resolveRollback(ENV, h.entries, 'previous');
    expect(t).toEqual({ entry: a, from: b, forced: false, verdict: 'passed' });
  });

  test('skips earlier deploys of the running digest too', () => {
    const h = new History();
    h.good(A);
    h.good(B);
    h.good(A); // B → A again: A runs
    const c = h.good(C); // C runs; B passed, A passed
    const b2 = h.good(B); // B runs again
    const t = resolveRollback(ENV, h.entries, 'previous');
    expect(t.from).toBe(b2);
    expect(t.entry).toBe(c);
    expect(t.entry.digest).not.toBe(B);
  });

  test('skips failed releases, releases rolled back (by result or by a later rollback entry) and unverified ones', () => {
    const h = new History();
    const a = h.good(A);
    const b = h.good(B);
    const c = h.good(C);
    h.rollback(c, b); // C was rolled back to B
    h.deploy(D, { result: 'failure', verdict: 'passed' });
    h.deploy(D, { result: 'rolled-back' });
    h.deploy(E); // never verified
    h.verify(B, 'failed');
    const f = h.good(digest('f')); // runs
    // candidates, newest first: E (unverified), the rollback to B (B failed its newest verification),
    // C (rolled back: skipped), B (failed verification), A (passed)
    const t = resolveRollback(ENV, h.entries, 'previous');
    expect(t.from).toBe(f);
    expect(t.entry).toBe(a);
    expect(t.forced).toBe(false);
  });

  test('refuses when no candidate passed verification, saying how many and to name one with force', () => {
    const h = new History();
    h.deploy(A);
    const b = h.deploy(B);
    h.verify(B, 'failed', b);
    h.deploy(C);
    const r = refusal(() => resolveRollback(ENV, h.entries, 'previous'));
    expect(r.message).toBe(
      'no earlier release of production passed verification (2 other release(s) were never verified or failed it); name one with to, and force.',
    );
    expect(r.name).toBe('RollbackRefused');
  });

  test('with force picks the newest candidate even unverified, and marks it forced', () => {
    const h = new History();
    h.deploy(A);
    const b = h.deploy(B); // unverified
    const c = h.deploy(C);
    const t = resolveRollback(ENV, h.entries, 'previous', { force: true });
    expect(t).toEqual({ entry: b, from: c, forced: true });
    expect(t.verdict).toBeUndefined();
  });

  test('with force still prefers a verified candidate (not forced then)', () => {
    const h = new History();
    const a = h.good(A);
    h.deploy(B); // unverified, newer
    const c = h.deploy(C);
    const t = resolveRollback(ENV, h.entries, 'previous', { force: true });
    expect(t).toEqual({ entry: a, from: c, forced: false, verdict: 'passed' });
  });

  test('with force, a candidate that failed verification carries its verdict', () => {
    const h = new History();
    const a = h.deploy(A);
    h.verify(A, 'failed', a);
    h.deploy(B);
    const t = resolveRollback(ENV, h.entries, 'previous', { force: true });
    expect(t.entry).toBe(a);
    expect(t.forced).toBe(true);
    expect(t.verdict).toBe('failed');
  });

  test('an environment with one release is refused: no earlier release', () => {
    const h = new History();
    const a = h.good(A);
    const r = refusal(() => resolveRollback(ENV, h.entries, 'previous'));
    expect(r.message).toBe(`production has no earlier release to roll back to than ${a.id} (${A}).`);
    // force does not invent one
    expect(() => resolveRollback(ENV, h.entries, 'previous', { force: true })).toThrow(/no earlier release/);
  });

  test('an empty history is refused: no earlier release', () => {
    const r = refusal(() => resolveRollback(ENV, [], 'previous'));
    expect(r.message).toBe('production has no earlier release to roll back to.');
  });

  test('only failed or rolled-back earlier releases: no earlier release, even with force', () => {
    const h = new History();
    h.deploy(A, { result: 'failure' });
    h.deploy(B, { result: 'rolled-back' });
    h.good(C);
    expect(() => resolveRollback(ENV, h.entries, 'previous', { force: true })).toThrow(
      /production has no earlier release to roll back to than/,
    );
  });

  test('after a rollback becomes current, previous does not pick the release rolled back from', () => {
    const h = new History();
    const a = h.good(A);
    const b = h.good(B);
    const c = h.good(C);
    const r = h.rollback(c, b); // C → B
    expect(current(h.entries)).toBe(r);
    const t = resolveRollback(ENV, h.entries, 'previous');
    expect(t.from).toBe(r);
    expect(t.entry).toBe(a);
    expect(t.entry.digest).not.toBe(C);
    // and even with force, C (rolled back, verified) is not chosen
    expect(resolveRollback(ENV, h.entries, 'previous', { force: true }).entry).toBe(a);
  });

  test('a rollback entry can itself be the previous release', () => {
    const h = new History();
    const a = h.good(A);
    const b = h.good(B);
    const r = h.rollback(b, a); // B → A (A runs, via r)
    const c = h.good(C);
    const t = resolveRollback(ENV, h.entries, 'previous');
    expect(t.from).toBe(c);
    expect(t.entry).toBe(r);
    expect(t.entry.digest).toBe(A);
  });
});

describe('resolveRollback to a release id', () => {
  test('a verified release is accepted', () => {
    const h = new History();
    const a = h.good(A);
    h.good(B);
    const c = h.good(C);
    const t = resolveRollback(ENV, h.entries, a.id);
    expect(t).toEqual({ entry: a, from: c, forced: false, verdict: 'passed' });
  });

  test('an unverified release is refused unless forced', () => {
    const h = new History();
    const a = h.deploy(A);
    const b = h.good(B);
    const r = refusal(() => resolveRollback(ENV, h.entries, a.id));
    expect(r.message).toBe(
      `release ${a.id} (${A}) was never verified in production; give force to roll back to it anyway.`,
    );
    expect(resolveRollback(ENV, h.entries, a.id, { force: true })).toEqual({
      entry: a,
      from: b,
      forced: true,
    });
  });

  test('a release that failed verification is refused unless forced, naming the verdict', () => {
    const h = new History();
    const a = h.deploy(A);
    h.verify(A, 'inconclusive', a);
    h.good(B);
    const r = refusal(() => resolveRollback(ENV, h.entries, a.id));
    expect(r.message).toBe(
      `release ${a.id} (${A}) failed verification (inconclusive) in production; give force to roll back to it anyway.`,
    );
    const t = resolveRollback(ENV, h.entries, a.id, { force: true });
    expect(t.forced).toBe(true);
    expect(t.verdict).toBe('inconclusive');
  });

  test('a release that was rolled back or failed is accepted when named (and verified)', () => {
    const h = new History();
    h.good(A);
    const b = h.good(B);
    const failed = h.deploy(C, { result: 'failure' });
    h.verify(C, 'passed', failed); // e.g. verified elsewhere in the pipeline
    const d = h.good(D);
    const r = h.rollback(d, b); // D rolled back to B
    expect(unfitReason(h.entries, d)).toBe('it was rolled back');
    expect(unfitReason(h.entries, failed)).toBe('it failed');
    expect(resolveRollback(ENV, h.entries, d.id)).toEqual({
      entry: d,
      from: r,
      forced: false,
      verdict: 'passed',
    });
    expect(resolveRollback(ENV, h.entries, failed.id).entry).toBe(failed);
    const auto = h.deploy(E, { result: 'rolled-back', verdict: 'passed' });
    expect(resolveRollback(ENV, h.entries, auto.id).entry).toBe(auto);
  });

  test('an unknown id is refused, the message listing recent ids', () => {
    const h = new History();
    const entries = [h.good(A), h.good(B), h.good(C)];
    const r = refusal(() => resolveRollback(ENV, h.entries, '20261001.120000.dead'));
    const recent = [...entries].reverse().map((e) => e.id);
    expect(r.message).toBe(
      `release 20261001.120000.dead is not in production's history (recent: ${recent.join(', ')}).`,
    );
    expect(recentIds(h.entries)).toBe(recent.join(', '));
  });

  test('an unknown id in an empty history says the ledger has no entry for it', () => {
    const r = refusal(() => resolveRollback(ENV, [], '142'));
    expect(r.message).toBe("release 142 is not in production's history (the ledger has no entry for it).");
  });

  test("a verify entry's id is refused, naming the release it verified", () => {
    const h = new History();
    const a = h.deploy(A);
    const v = h.verify(A, 'passed', a);
    h.good(B);
    const r = refusal(() => resolveRollback(ENV, h.entries, v.id));
    expect(r.message).toBe(`${v.id} names a verification, not a release; name the release ${a.id}.`);
    expect(() => resolveRollback(ENV, h.entries, v.id, { force: true })).toThrow(RollbackRefused);
  });
});

describe('resolveRollback to a digest', () => {
  test('a digest in the history resolves to its newest successful deploy entry', () => {
    const h = new History();
    const a1 = h.good(A);
    h.good(B);
    const a2 = h.good(A);
    h.deploy(A, { result: 'failure' }); // newer, but failed
    const c = h.good(C);
    const t = resolveRollback(ENV, h.entries, A);
    expect(t).toEqual({ entry: a2, from: c, forced: false, verdict: 'passed' });
    expect(t.entry).not.toBe(a1);
  });

  test('a digest only deployed by a failed deploy resolves to that entry', () => {
    const h = new History();
    h.good(A);
    const b = h.deploy(B, { result: 'failure', verdict: 'passed' });
    expect(resolveRollback(ENV, h.entries, B).entry).toBe(b);
  });

  test('an unverified digest is refused unless forced', () => {
    const h = new History();
    const a = h.deploy(A);
    h.good(B);
    expect(() => resolveRollback(ENV, h.entries, A)).toThrow(/was never verified in production/);
    expect(resolveRollback(ENV, h.entries, A, { force: true })).toMatchObject({ entry: a, forced: true });
  });

  test("a digest not in the history is refused: not in <env>'s history", () => {
    const h = new History();
    const a = h.good(A);
    const r = refusal(() => resolveRollback(ENV, h.entries, D));
    expect(r.message).toBe(`digest ${D} is not in production's history (recent: ${a.id}).`);
  });
});

describe('recentIds', () => {
  test('the newest five non-verify ids, newest first', () => {
    const h = new History();
    const ids: string[] = [];
    for (const d of [A, B, C, D, E, digest('f')]) ids.push(h.good(d).id);
    expect(recentIds(h.entries)).toBe(ids.slice(1).reverse().join(', '));
    expect(recentIds(h.entries, 2)).toBe(ids.slice(4).reverse().join(', '));
    expect(recentIds([])).toBe('');
  });
});

describe('edge cases found in review', () => {
  test('a rollback that failed does not mark its release rolled back: previous can still pick it', () => {
    const h = new History();
    const a = h.deploy(A);
    h.verify(A, 'passed', a);
    const b = h.deploy(B);
    h.verify(B, 'passed', b);
    h.rollback(b, a, { result: 'failure' }); // B keeps running
    h.deploy(C);
    expect(unfitReason(h.entries, b)).toBeUndefined();
    expect(resolveRollback(ENV, h.entries, 'previous').entry).toBe(b);
  });

  test('times are compared as instants: a time without milliseconds or with an offset sorts where it belongs', () => {
    const base: Omit<LedgerEntry, 'id' | 'time'> = {
      event: 'deploy',
      environment: ENV,
      image: IMAGE,
      digest: A,
      result: 'success',
    };
    const whole = { ...base, id: 'x1', time: '2026-11-30T04:00:00Z' };
    const later = { ...base, id: 'x2', time: '2026-11-30T04:00:00.500Z' };
    const offset = { ...base, id: 'x3', time: '2026-11-30T05:00:00+01:00' }; // 04:00:00Z
    expect(newestFirst([whole, later, offset]).map((e) => e.id)).toEqual(['x2', 'x3', 'x1']);
  });

  test('rolling back to what runs now is refused unless forced', () => {
    const h = new History();
    const a = h.deploy(A);
    h.verify(A, 'passed', a);
    const b = h.deploy(B);
    h.verify(B, 'passed', b);
    expect(() => resolveRollback(ENV, h.entries, b.id)).toThrow(
      `release ${b.id} (${B}) is what runs in ${ENV} now; nothing to roll back to (give force to deploy it again).`,
    );
    expect(resolveRollback(ENV, h.entries, b.id, { force: true }).entry).toBe(b);
  });

  test('lastVerified answers with the deploy of the digest that passed, not the verify entry', () => {
    const h = new History();
    const a = h.deploy(A);
    h.verify(A, 'passed', a);
    expect(lastVerified(h.entries)).toBe(a);
  });
});

describe('rolling back from a rollback', () => {
  test('what ran was a rollback to B: rolling back from it marks B, and previous never picks B (nor that rollback) again', () => {
    const h = new History();
    const a = h.deploy(A);
    h.verify(A, 'passed', a);
    const b = h.deploy(B);
    h.verify(B, 'passed', b);
    const c = h.deploy(C);
    const toB = h.rollback(c, b); // C → B
    // The rollback action names the release that ran (B), not the rollback entry.
    expect(releaseOf(h.entries, toB)).toBe(b);
    h.rollback(b, a); // B → A
    expect(unfitReason(h.entries, b)).toBe('it was rolled back');
    expect(unfitReason(h.entries, toB)).toBe('it was rolled back');
    expect(() => resolveRollback(ENV, h.entries, 'previous')).toThrow(RollbackRefused);
  });
});
