/**
 * Release ids: given by the user (a build number, a version), or generated from the time: `20261130.043012.7f3a`
 * (UTC date, time, four random hex digits), so generated ids sort in the order they were made and two pipelines in
 * the same second still differ. An id already in the environment's ledger gets a suffix (`142`, `142.2`): a rerun
 * of the same release is a new entry, and an id names one entry.
 */
import { randomBytes } from 'node:crypto';

/** What a release id may contain: it goes into tags, labels, annotations and URLs. */
export const RELEASE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function generateReleaseId(now = new Date(), random = () => randomBytes(2).toString('hex')): string {
  const iso = now.toISOString(); // 2026-11-30T04:30:12.345Z
  return `${iso.slice(0, 10).replace(/-/g, '')}.${iso.slice(11, 19).replace(/:/g, '')}.${random()}`;
}

/** `id`, or `id.2`, `id.3` … — the first not in `taken`. */
export function uniqueReleaseId(id: string, taken: ReadonlySet<string>): string {
  if (!taken.has(id)) return id;
  for (let n = 2; ; n++) {
    const suffix = `.${n}`;
    const candidate = `${id.slice(0, 100 - suffix.length)}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}
