/**
 * deploy-k8s's report: one entry per object (the `resources` output), the outputs every ending sets, and the
 * summary (what happened and why first, then one row per object).
 */
import type { Summary } from '../platform/summary.js';
import { formatDuration } from '../util/duration.js';

/** One object of the deploy, as the outputs and the summary report it. */
export interface ResourceReport {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  action: 'created' | 'configured' | 'unchanged' | 'dry-run' | 'deleted';
  result:
    | 'applied'
    | 'ready'
    | 'failed'
    | 'timed-out'
    | 'cancelled'
    | 'rolled-back'
    | 'rollback-failed'
    | 'deleted';
  reason?: string;
  /** This object was put back to what ran before (after its own failure or another's). */
  rolledBack?: boolean;
  /** The images its containers run (as applied). */
  images?: string[];
  /** Workloads: ready / desired pods at the end. */
  ready?: string;
  revision?: string;
  previousRevision?: string;
}

/** How a deploy-k8s run ended (the `result` output). */
export type KubeResult =
  | 'deployed'
  | 'unchanged'
  | 'canary-deployed'
  | 'green-deployed'
  | 'promoted'
  | 'rejected'
  | 'refused'
  | 'rolled-back'
  | 'failed'
  | 'cancelled'
  | 'dry-run';

/** The outputs every ending sets. */
export function setKubeOutputs(
  setOutput: (name: string, value: string) => void,
  result: KubeResult,
  reports: readonly ResourceReport[],
  images: readonly string[],
  namespaces: readonly string[],
): void {
  setOutput('result', result);
  setOutput('resources', JSON.stringify(reports));
  setOutput('images', [...new Set(images)].join('\n'));
  setOutput('namespaces', namespaces.join(','));
  setOutput(
    'revision',
    reports
      .filter((r) => r.kind === 'Deployment' && r.revision)
      .map((r) => r.revision)
      .join(' '),
  );
}

const ICON: Record<KubeResult, string> = {
  deployed: '✅',
  'canary-deployed': '🐤',
  'green-deployed': '🟢',
  promoted: '✅',
  rejected: '↩️',
  refused: '⛔',
  unchanged: '✅',
  'dry-run': '🔍',
  'rolled-back': '❌',
  failed: '❌',
  cancelled: '⚠️',
};

/** The summary: what happened and why first, then one row per object (at most five columns). */
export function fillKubeSummary(
  summary: Summary,
  result: KubeResult,
  reports: readonly ResourceReport[],
  durationMs: number,
  /** Why the release failed when no resource did (its verification). */
  failure?: string,
): void {
  const bad = reports.find(
    (r) => r.result === 'failed' || r.result === 'timed-out' || r.result === 'rollback-failed',
  );
  const deleted = deletedIn(reports);
  const why = bad ? `: ${bad.kind}/${bad.name} — ${bad.reason ?? bad.result}` : failure ? `: ${failure}` : '';
  const what =
    result === 'deployed'
      ? `deployed ${reports.filter((r) => r.action !== 'unchanged').length} object(s) in ${formatDuration(durationMs)}`
      : result === 'canary-deployed' || result === 'green-deployed'
        ? `${result === 'canary-deployed' ? 'canary' : 'green'} deployed: ${copiesIn(reports)} ready in ${formatDuration(durationMs)}${previewsIn(reports)}; promote or reject next`
        : result === 'promoted'
          ? `promoted in ${formatDuration(durationMs)}${deleted ? `; deleted ${deleted}` : ''}`
          : result === 'rejected'
            ? `rejected: ${deleted ? `deleted ${deleted}` : 'no copy was there'}; traffic on the stable version`
            : result === 'unchanged'
              ? 'unchanged: every object already held what was applied'
              : result === 'dry-run'
                ? `dry run: ${reports.length} object(s) validated by the API server; nothing stored`
                : result === 'rolled-back'
                  ? `rolled back${why}`
                  : `${result}${why}`;
  summary.heading(`${ICON[result] ?? '❌'} ${what}`);
  summary.table(
    ['Object', 'Namespace', 'Applied', 'Result', 'Revision'],
    reports.map((r) => [
      `${r.kind}/${r.name}`,
      r.namespace ?? '',
      r.action,
      `${r.result}${r.rolledBack && r.result !== 'rolled-back' ? ', rolled back' : ''}${r.reason && r.result !== 'ready' ? `: ${r.reason}` : ''}`,
      r.revision ? `${r.previousRevision ?? '—'} → ${r.revision}` : (r.previousRevision ?? ''),
    ]),
  );
}

function copiesIn(reports: readonly ResourceReport[]): string {
  return reports
    .filter((r) => r.kind === 'Deployment' && (r.name.endsWith('-canary') || r.name.endsWith('-green')))
    .map((r) => `${r.kind}/${r.name}${r.ready ? ` (${r.ready})` : ''}`)
    .join(', ');
}

/** The copies and side objects a promote or reject deleted: Deployments by name, the rest as Kind/name. */
function deletedIn(reports: readonly ResourceReport[]): string {
  return reports
    .filter((r) => r.action === 'deleted')
    .map((r) => (r.kind === 'Deployment' ? r.name : `${r.kind}/${r.name}`))
    .join(', ');
}

/** Blue-green: the preview Services that reach green before it takes the live traffic. */
function previewsIn(reports: readonly ResourceReport[]): string {
  const previews = reports.filter((r) => r.kind === 'Service' && r.name.endsWith('-green'));
  return previews.length ? `, preview ${previews.map((r) => `Service/${r.name}`).join(', ')}` : '';
}
