/**
 * What deploy-marathon tells its user: the outputs (one value, or one per cluster) and the job summary (a table
 * per cluster, a timeline, the changes).
 */
import type { Summary } from '../platform/summary.js';
import { formatDuration } from '../util/duration.js';
import type { ClusterReport, MarathonDeployReport } from '../marathon/deploy.js';
import { formatDiff } from '../marathon/diff.js';

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

export function fillMarathonSummary(
  summary: Summary,
  report: MarathonDeployReport,
  opts: { clusterOrder: string },
): void {
  summary.heading(`Marathon deploy of ${report.appId}: ${ICON[report.result] ?? report.result}`);
  summary.paragraph(
    `Image ${report.image} to ${report.clusters.length} cluster(s)` +
      (report.clusters.length > 1 ? ` (cluster-order: ${opts.clusterOrder})` : '') +
      ` in ${formatDuration(report.durationMs)}.` +
      (report.cancelled ? ` Cancelled by ${report.cancelled}.` : ''),
  );
  summary.table(
    [
      'Cluster',
      'Result',
      'Version',
      'Previous version',
      'Previous image',
      'Deployment',
      'Duration',
      'Details',
    ],
    report.clusters.map((c) => [
      `${c.name} (${c.url})`,
      ICON[c.result] ?? c.result,
      c.rollback?.result === 'rolled-back'
        ? `${c.version ?? ''} → ${c.rollback.version ?? 'removed'}`
        : c.version,
      c.previousVersion ?? (c.created ? '(new app)' : ''),
      c.previousImage,
      c.deploymentId,
      c.durationMs === undefined ? '' : formatDuration(c.durationMs),
      c.stateText ?? details(c),
    ]),
  );
  for (const c of report.clusters) {
    if (c.timeline.length === 0) continue;
    summary.heading(`Timeline: ${c.name}`, 3);
    summary.table(
      ['Time', 'Event'],
      c.timeline.map((t) => [at(t.atMs), t.text]),
    );
    if (c.changes.length)
      summary.details(`Changes on ${c.name} (${c.changes.length})`, (s) =>
        s.code(formatDiff(c.changes).join('\n'), 'diff'),
      );
  }
}

function details(c: ClusterReport): string {
  const parts: string[] = [];
  if (c.reason) parts.push(c.reason);
  if (c.rollback) {
    const rb = c.rollback;
    if (rb.result === 'rolled-back')
      parts.push(
        c.created
          ? 'rollback: the new app was removed'
          : `rollback: ${c.previousVersion} restored (image ${rb.image ?? c.previousImage ?? '?'})`,
      );
    else if (rb.result === 'failed') parts.push(`rollback failed: ${rb.reason ?? ''}`);
    else if (rb.result === 'none') parts.push('rollback: none (left as is)');
  }
  return parts.join('; ');
}
