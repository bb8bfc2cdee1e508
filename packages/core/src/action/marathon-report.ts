/**
 * What deploy-marathon tells its user: the outputs (one value, or one per cluster), the job summary (what happened
 * first, a table of the clusters, a timeline and the changes per cluster) and the one failure line of the log.
 */
import { shortenMiddle, type Summary } from '../platform/summary.js';
import { formatDuration } from '../util/duration.js';
import type { ClusterReport, MarathonDeployReport } from '../marathon/deploy.js';
import { formatDiff } from '../marathon/diff.js';
import { shortenDigests } from './registry-report.js';

const ICON: Record<string, string> = {
  deployed: '✅ deployed',
  unchanged: '✅ unchanged',
  'rolled-back': '↩️ rolled back',
  failed: '❌ failed',
  cancelled: '⏹️ cancelled',
  skipped: '⏭️ skipped',
  'dry-run': '📝 dry run',
};

/** One value when every cluster agrees (or there is one), else one per cluster separated by spaces (`-` = none). */
function perCluster(report: MarathonDeployReport, pick: (c: ClusterReport) => string | undefined): string {
  const values = report.clusters.map((c) => pick(c) ?? '');
  const distinct = new Set(values);
  if (distinct.size <= 1) return values[0] ?? '';
  return values.map((v) => v || '-').join(' ');
}

const cap = (s: string | undefined, n = 300): string | null =>
  s === undefined ? null : s.length > n ? `${s.slice(0, n - 1)}…` : s;

/** The JSON of the `clusters` output: compact (GitLab rejects dotenv reports over 5 KiB); the timeline is in the summary. */
export function clustersJson(report: MarathonDeployReport): string {
  return JSON.stringify(
    report.clusters.map((c) => ({
      name: c.name,
      url: c.url,
      app: c.appId,
      result: c.result,
      reason: cap(c.reason),
      deploymentId: c.deploymentId ?? null,
      version: c.version ?? null,
      previousVersion: c.previousVersion ?? null,
      image: c.image,
      previousImage: c.previousImage ?? null,
      created: c.created,
      changes: c.changes.length,
      rollback: c.rollback
        ? {
            result: c.rollback.result,
            method: c.rollback.method ?? null,
            deploymentId: c.rollback.deploymentId ?? null,
            version: c.rollback.version ?? null,
            image: c.rollback.image ?? null,
            reason: cap(c.rollback.reason),
          }
        : null,
      state: cap(c.stateText, 600),
      durationMs: c.durationMs ?? null,
    })),
  );
}

export interface MarathonOutputs {
  result: string;
  'deployment-id': string;
  version: string;
  'previous-version': string;
  'previous-image': string;
  image: string;
  clusters: string;
}

export function marathonOutputs(report: MarathonDeployReport): MarathonOutputs {
  return {
    result: report.result,
    'deployment-id': perCluster(report, (c) => c.deploymentId),
    version: perCluster(report, (c) => c.version),
    'previous-version': perCluster(report, (c) => c.previousVersion),
    'previous-image': perCluster(report, (c) => c.previousImage),
    image: report.image,
    clusters: clustersJson(report),
  };
}

const at = (ms: number): string => `+${formatDuration(ms)}`;

/** A cluster name longer than this is shortened in the table (its full name is in the details). */
const CLUSTER_MAX = 24;
/** A release id longer than this is shortened in the table. */
const RELEASE_MAX = 20;
/** At most this many cluster names in the first line; more are counted. */
const NAMES_MAX = 4;

function names(clusters: ClusterReport[]): string {
  const all = clusters.map((c) => c.name);
  return all.length <= NAMES_MAX ? all.join(', ') : `${all.length} clusters`;
}

function one<T>(values: (T | undefined)[]): T | undefined {
  const set = new Set(values);
  return set.size === 1 ? values[0] : undefined;
}

/** `release 42 (version 2026-…)`, `release 42`, `version 2026-…`, or '' when the clusters disagree on both. */
function releaseText(releaseId: string | undefined, version: string | undefined): string {
  if (releaseId && version) return `release ${releaseId} (version ${version})`;
  if (releaseId) return `release ${releaseId}`;
  return version ? `version ${version}` : '';
}

/** The cluster whose failure decided the run (not one stopped or rolled back because of another). */
function culprit(report: MarathonDeployReport): ClusterReport | undefined {
  return (
    report.clusters.find((c) => c.failureKind && c.failureKind !== 'stopped') ??
    report.clusters.find((c) => c.result === 'failed') ??
    report.clusters.find((c) => c.reason)
  );
}

const cut = (s: string, n: number): string =>
  [...s].length <= n ? s : `${[...s].slice(0, n - 1).join('')}…`;

/**
 * Why a cluster failed, short: `crash loop — TASK_FAILED: Exit code 1`, `not healthy within the timeout (5m00s) —
 * health check: HTTP 503`, `cannot read the app: …`.
 */
export function failureHeadline(c: ClusterReport): string {
  const reason = c.reason ?? c.result;
  // The wait's reason names the cause (wait.ts); the last state may be the rollback's by now.
  const part = (label: string): string | undefined =>
    new RegExp(`(?:^|; )${label}: ([^;]*)`).exec(reason)?.[1];
  switch (c.failureKind) {
    case 'crash-loop': {
      const what = reason.split(':')[0] ?? reason;
      const last = /; last: (.*)$/.exec(reason)?.[1] ?? c.state?.lastFailure;
      return last ? `${what} — ${cut(last, 120)}` : cut(reason, 160);
    }
    case 'timeout': {
      const what = reason.split(':')[0] ?? reason;
      const health = part('health checks failing');
      const last = part('last task failure');
      const cause = health
        ? `health check: ${health}`
        : last
          ? `last task failure: ${last}`
          : (reason.slice(what.length + 1).split(';')[0] ?? '').trim();
      return cause ? `${what} — ${cut(cause, 120)}` : cut(reason, 160);
    }
    default:
      return cut(reason, 160);
  }
}

/** What happened to the rollbacks, for the failure lines: `; rollback of AA failed` (with `: why`). */
function rollbackText(report: MarathonDeployReport, why = false): string {
  const parts: string[] = [];
  for (const c of report.clusters) {
    const rb = c.rollback;
    if (!rb) continue;
    if (rb.result === 'failed')
      parts.push(`rollback of ${c.name} failed${why ? `: ${cut(rb.reason ?? 'no reason given', 300)}` : ''}`);
    else if (rb.result === 'none')
      parts.push(`${c.name} not rolled back${rb.reason ? ` (${rb.reason})` : ' (rollback: none)'}`);
  }
  return parts.length ? `; ${parts.join('; ')}` : '';
}

/**
 * What happened and why, in one line: the summary's first line (with its icon) and the action's last log line.
 * `✅ deployed release 42 (version 2026-…) to AA, BB in 1m20s`, `❌ rolled back: crash loop — TASK_FAILED: …`.
 */
export function marathonHeadline(report: MarathonDeployReport): { icon: string; text: string } {
  const cs = report.clusters;
  const by = (r: string) => cs.filter((c) => c.result === r);
  const multi = cs.length > 1;
  const took = formatDuration(report.durationMs);
  switch (report.result) {
    case 'deployed': {
      const done = by('deployed');
      const what = releaseText(one(done.map((c) => c.releaseId)), one(done.map((c) => c.version)));
      const same = by('unchanged');
      return {
        icon: '✅',
        text:
          `deployed ${what ? `${what} ` : ''}to ${names(done)} in ${took}` +
          (same.length ? ` (${names(same)} already had it)` : ''),
      };
    }
    case 'unchanged': {
      const what = releaseText(one(cs.map((c) => c.previousReleaseId)), one(cs.map((c) => c.version)));
      return {
        icon: '✅',
        text: `unchanged: ${what || 'this definition'} already runs on ${names(cs)}; nothing was submitted`,
      };
    }
    case 'dry-run': {
      const counts = cs.map((c) => (c.created ? 'a new app' : `${c.changes.length} change(s)`));
      const same = one(counts);
      const where = same
        ? `${same} on ${names(cs)}`
        : cs.map((c, i) => `${counts[i]} on ${c.name}`).join(', ');
      return { icon: '🔍', text: `dry run: ${where}; nothing was submitted` };
    }
    case 'cancelled':
      return {
        icon: '⚠️',
        text: `cancelled${report.cancelled && report.cancelled !== 'abort' ? ` by ${report.cancelled}` : ''} after ${took}: ${cs
          .map((c) => `${c.name} ${c.result}`)
          .join(', ')} (what is still running is listed below)`,
      };
    case 'rolled-back': {
      const c = culprit(report);
      const where = multi && c ? ` on ${c.name}` : '';
      return {
        icon: '❌',
        text: `rolled back: ${c ? failureHeadline(c) : 'the deployment failed'}${where}${rollbackText(report)}`,
      };
    }
    default: {
      const c = culprit(report);
      const where = multi && c ? ` on ${c.name}` : '';
      return {
        icon: '❌',
        text: `failed: ${c ? failureHeadline(c) : 'the deployment failed'}${where}${rollbackText(report)}`,
      };
    }
  }
}

/**
 * The action's last log line when the run did not succeed (on GitHub the one `::error::` of the run): the
 * headline with the failing cluster's whole reason.
 */
export function marathonFailureLine(report: MarathonDeployReport): string {
  const c = culprit(report);
  const head = report.result === 'rolled-back' ? 'failed and was rolled back' : 'failed';
  const back = by(report, 'rolled-back');
  return (
    `deploy-marathon ${head}${c ? ` (${c.name})` : ''}: ${c?.reason ?? 'see the summary'}` +
    (back.length ? `; ${names(back)} ${back.length === 1 ? 'is' : 'are'} back on the previous version` : '') +
    rollbackText(report, true)
  );
}

function by(report: MarathonDeployReport, result: string): ClusterReport[] {
  return report.clusters.filter((c) => c.result === result);
}

/** `42 · 2026-05-01T10:00:00.000Z` (release id shortened when long), the version alone, or ''. */
function releaseCell(releaseId: string | undefined, version: string | undefined, full: Set<string>): string {
  const id = releaseId ? shortenMiddle(releaseId, RELEASE_MAX) : undefined;
  if (releaseId && id !== releaseId) full.add(`release ${releaseId}`);
  return [id, version].filter(Boolean).join(' · ');
}

/**
 * The job summary: the headline; the app and image; a table of at most five columns (cluster, result, release and
 * version deployed, what ran before, duration); a line per cluster that failed or rolled back; then, per cluster,
 * the timeline and the changes; full images, URLs and deployment ids in details (digests are shortened in tables).
 */
export function fillMarathonSummary(
  summary: Summary,
  report: MarathonDeployReport,
  opts: { clusterOrder: string },
): void {
  const head = marathonHeadline(report);
  summary.heading(`${head.icon} ${head.text}`);
  summary.paragraph(
    `${report.appId}: image ${shortenDigests(report.image)} to ${report.clusters.length} cluster(s)` +
      (report.clusters.length > 1 ? ` (cluster-order: ${opts.clusterOrder})` : '') +
      ` in ${formatDuration(report.durationMs)}.` +
      (report.cancelled ? ` Cancelled by ${report.cancelled}.` : ''),
  );
  const full = new Set<string>();
  summary.table(
    ['Cluster', 'Result', 'Release', 'Before', 'Duration'],
    report.clusters.map((c) => [
      shortenMiddle(c.name, CLUSTER_MAX),
      ICON[c.result] ?? c.result,
      releaseCell(c.releaseId, c.version, full) || (c.result === 'dry-run' ? '(not submitted)' : ''),
      c.created
        ? '(new app)'
        : c.result === 'unchanged'
          ? '(same)'
          : releaseCell(c.previousReleaseId, c.previousVersion, full),
      c.durationMs === undefined ? '' : formatDuration(c.durationMs),
    ]),
  );
  const notes = report.clusters.map((c) => [c, c.stateText ?? details(c)] as const).filter(([, t]) => t);
  if (notes.length) summary.list(notes.map(([c, t]) => `${c.name}: ${shortenDigests(t)}`));
  for (const c of report.clusters) {
    if (c.timeline.length === 0) continue;
    summary.heading(`Timeline: ${c.name}`, 3);
    summary.table(
      ['Time', 'Event'],
      c.timeline.map((t) => [at(t.atMs), shortenDigests(t.text)]),
    );
    if (c.changes.length)
      summary.details(`Changes on ${c.name} (${c.changes.length})`, (s) =>
        s.code(formatDiff(c.changes, { width: 100 }).join('\n'), 'diff'),
      );
  }
  summary.details('Images, clusters and deployments in full', (s) => {
    const items = [`image: ${report.image}`];
    for (const c of report.clusters) {
      const parts = [`${c.name}: ${c.url}`];
      if (c.deploymentId) parts.push(`deployment ${c.deploymentId}`);
      if (c.previousImage) parts.push(`image before: ${c.previousImage}`);
      if (c.rollback?.image && c.rollback.image !== c.previousImage)
        parts.push(`image after the rollback: ${c.rollback.image}`);
      items.push(parts.join(' · '));
    }
    s.list([...items, ...full]);
  });
}

function details(c: ClusterReport): string {
  const parts: string[] = [];
  if (c.reason && c.result !== 'deployed' && c.result !== 'unchanged') parts.push(c.reason);
  if (c.rollback) {
    const rb = c.rollback;
    if (rb.result === 'rolled-back')
      parts.push(
        c.created
          ? 'rollback: the new app was removed'
          : `rollback: ${releaseText(c.previousReleaseId, c.previousVersion)} restored${rb.version ? ` as ${rb.version}` : ''} (image ${rb.image ?? c.previousImage ?? '?'})`,
      );
    else if (rb.result === 'failed') parts.push(`rollback failed: ${rb.reason ?? ''}`);
    else if (rb.result === 'none')
      parts.push(`rollback: none (left as is${rb.reason ? `: ${rb.reason}` : ''})`);
  }
  return parts.join('; ');
}
