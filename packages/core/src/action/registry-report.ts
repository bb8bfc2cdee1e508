/** The outputs, the summary and the log verdict of a registry copy (push-registry, promote). */
import type { Summary } from '../platform/summary.js';
import type { CopyResult } from '../registry/copy.js';
import { shortDigest } from '../registry/digest.js';
import { formatBytes } from '../registry/progress.js';

/** `pushed` when anything was written, `unchanged` when every destination held the digest, `dry-run`. */
export function overallResult(result: CopyResult, dryRun: boolean): 'pushed' | 'unchanged' | 'dry-run' {
  if (dryRun) return 'dry-run';
  return result.destinations.some((d) => d.action === 'pushed') ? 'pushed' : 'unchanged';
}

/** `registry/repository@digest` once per destination repository, in order. */
export function pinnedImages(result: CopyResult): string[] {
  const repos = result.destinations.map((d) => d.ref.replace(/@.*$/, '').replace(/:[^:/]+$/, ''));
  return [...new Set(repos)].map((r) => `${r}@${result.source.digest}`);
}

/** Tagged references that now hold the digest. */
export function taggedRefs(result: CopyResult): string[] {
  return result.destinations.filter((d) => !d.ref.includes('@')).map((d) => d.ref);
}

/** Compact JSON of the destinations (the `results` output). */
export function resultsJson(result: CopyResult): string {
  return JSON.stringify(
    result.destinations.map((d) => ({
      ref: d.ref,
      action: d.action,
      ...(d.previousDigest ? { previousDigest: d.previousDigest } : {}),
      mounted: d.blobsMounted,
      uploaded: d.blobsUploaded,
      skipped: d.blobsSkipped,
      bytes: d.bytesUploaded,
      requests: d.requests,
      ...(d.referrers ? { referrers: d.referrers.copied } : {}),
    })),
  );
}

const ICON: Record<string, string> = { pushed: '✅', unchanged: '➖', 'would-push': '🔍', 'dry-run': '🔍' };

/** Heading, source line, and one row per destination. */
export function fillCopySummary(
  summary: Summary,
  action: string,
  result: CopyResult,
  opts: { dryRun: boolean; referrers?: boolean },
): void {
  const overall = overallResult(result, opts.dryRun);
  summary.heading(
    `${action}: ${ICON[overall]} ${overall === 'dry-run' ? 'dry run, nothing written:' : overall} ${shortDigest(result.source.digest)}`,
  );
  const kind =
    result.source.platforms.length > 0 ? `index of ${result.source.platforms.join(', ')}` : 'single image';
  summary.paragraph(
    `Source: ${result.source.ref} — ${result.source.digest} (${kind}, ${result.source.mediaType})${result.source.requests > 0 ? `; ${result.source.requests} requests to read it` : ''}.`,
  );
  const header = [
    'Destination',
    'Action',
    'Digest',
    'Mounted',
    'Uploaded',
    'Skipped',
    'Bytes uploaded',
    'Requests',
    ...(opts.referrers ? ['Referrers'] : []),
  ];
  summary.table(
    header,
    result.destinations.map((d) => [
      d.ref,
      `${ICON[d.action] ?? ''} ${d.action}`,
      d.digest,
      d.blobsMounted,
      d.blobsUploaded,
      d.blobsSkipped,
      formatBytes(d.bytesUploaded),
      d.requests,
      ...(opts.referrers ? [d.referrers ? `${d.referrers.copied} (${d.referrers.via})` : 'not copied'] : []),
    ]),
  );
  const replaced = result.destinations.filter((d) => d.previousDigest);
  if (replaced.length > 0)
    summary.list(
      replaced.map(
        (d) =>
          `${d.ref} ${opts.dryRun ? 'holds' : 'held'} ${d.previousDigest} before (${opts.dryRun ? 'would be ' : ''}replaced: allow-overwrite)`,
      ),
    );
  summary.paragraph(`${result.requests} registry requests in total.`);
}

/** The one-line log verdict. */
export function verdictLine(action: string, result: CopyResult, dryRun: boolean): string {
  const count = (a: string) => result.destinations.filter((d) => d.action === a).length;
  const bytes = result.destinations.reduce((n, d) => n + d.bytesUploaded, 0);
  const n = result.destinations.length;
  const where = `${n} ${action === 'promote' ? 'target' : 'destination'}${n === 1 ? '' : 's'}`;
  if (dryRun)
    return `${action}: dry run, nothing written; ${count('would-push')} of ${where} would change (${formatBytes(bytes)} to upload), ${count('unchanged')} already hold ${shortDigest(result.source.digest)}.`;
  return `${action}: ${result.source.digest} at ${where} (${count('pushed')} pushed, ${count('unchanged')} unchanged); ${formatBytes(bytes)} uploaded in ${result.requests} requests.`;
}
