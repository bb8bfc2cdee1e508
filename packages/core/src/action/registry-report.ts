/** The outputs, the summary and the log verdict of a registry copy (push-registry, promote). */
import { shortenMiddle, type Summary } from '../platform/summary.js';
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

/** `algorithm:hex` digests in a text, each shortened to `sha256:1a2b3c4d5e6f` (shortDigest). */
export function shortenDigests(text: string): string {
  return text.replace(/\b[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-f0-9]{32,}\b/g, (d) => shortDigest(d));
}

/**
 * What a summary table cell shows of an image reference or a destination: digests shortened, and at most `max`
 * characters (the middle cut out). `full` collects the values shown shortened, for a details block.
 */
export function compactRef(ref: string, max: number, full?: Set<string>): string {
  const shown = shortenMiddle(shortenDigests(ref), max);
  if (shown !== ref) full?.add(ref);
  return shown;
}

const ICON: Record<string, string> = { pushed: '✅', unchanged: '➖', 'would-push': '🔍', 'dry-run': '🔍' };

/** Longest destination shown whole in a table (900 px pane with four more columns). */
const DESTINATION_MAX = 56;

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The first line of the summary: `✅ pushed sha256:1a2b3c4d5e6f to 3 destinations (2 written, 1 already there);
 * 12.0 MiB uploaded`, `✅ unchanged: …`, `🔍 dry run, nothing written: …`.
 */
export function copyHeadline(action: string, result: CopyResult, dryRun: boolean): string {
  const count = (a: string) => result.destinations.filter((d) => d.action === a).length;
  const bytes = formatBytes(result.destinations.reduce((n, d) => n + d.bytesUploaded, 0));
  const n = result.destinations.length;
  const noun = action === 'promote' ? 'target' : 'destination';
  const only = result.destinations[0];
  const where =
    n === 1 && only && only.ref.length <= DESTINATION_MAX ? shortenDigests(only.ref) : plural(n, noun);
  const digest = shortDigest(result.source.digest);
  const overall = overallResult(result, dryRun);
  if (overall === 'dry-run')
    return `🔍 dry run, nothing written: ${count('would-push')} of ${plural(n, noun)} would change (${bytes} to upload), ${count('unchanged')} already hold ${digest}`;
  if (overall === 'unchanged')
    return `✅ unchanged: ${n === 1 ? where : `all ${where}`} already hold${n === 1 ? 's' : ''} ${digest}; nothing written`;
  const unchanged = count('unchanged');
  return (
    `✅ ${action === 'promote' ? 'promoted' : 'pushed'} ${digest} to ${where}` +
    (unchanged ? ` (${count('pushed')} written, ${unchanged} already there)` : '') +
    `; ${bytes} uploaded`
  );
}

/**
 * The summary of a copy: the headline, the source (with its full digest), a table of at most five columns (one row
 * per destination: action, bytes, requests, referrers), who held another digest before, and in details the blob
 * counts per destination and the destinations shown shortened.
 */
export function fillCopySummary(
  summary: Summary,
  action: string,
  result: CopyResult,
  opts: { dryRun: boolean; referrers?: boolean },
): void {
  summary.heading(copyHeadline(action, result, opts.dryRun));
  const kind =
    result.source.platforms.length > 0 ? `index of ${result.source.platforms.join(', ')}` : 'single image';
  summary.paragraph(
    `Source: ${result.source.ref} — ${result.source.digest} (${kind}, ${result.source.mediaType})${result.source.requests > 0 ? `; ${result.source.requests} request${result.source.requests === 1 ? '' : 's'} to read it` : ''}.`,
  );
  const full = new Set<string>();
  const name = (ref: string): string => compactRef(ref, DESTINATION_MAX, full);
  summary.table(
    [
      action === 'promote' ? 'Target' : 'Destination',
      'Action',
      opts.dryRun ? 'To upload' : 'Uploaded',
      'Requests',
      ...(opts.referrers ? ['Referrers'] : []),
    ],
    result.destinations.map((d) => [
      name(d.ref),
      `${ICON[d.action] ?? ''} ${d.action}`,
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
  summary.details('Blobs and manifests per destination', (s) =>
    s.table(
      [action === 'promote' ? 'Target' : 'Destination', 'Mounted', 'Uploaded', 'Skipped', 'Manifests'],
      result.destinations.map((d) => [
        name(d.ref),
        d.blobsMounted,
        d.blobsUploaded,
        d.blobsSkipped,
        d.manifestsPushed,
      ]),
    ),
  );
  if (full.size > 0) summary.details('Shortened names in full', (s) => s.list([...full]));
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

/**
 * The summary of a copy that could not finish: `❌ push-registry failed: <why>` first (cut at a readable length),
 * the whole message below when it was cut.
 */
export function fillCopyFailure(summary: Summary, action: string, message: string): void {
  const oneLine = message.replace(/\s+/g, ' ').trim();
  const head = shortenEnd(oneLine, 160);
  summary.heading(`❌ ${action} failed: ${head}`);
  if (head !== oneLine) summary.paragraph(message);
}

function shortenEnd(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}
