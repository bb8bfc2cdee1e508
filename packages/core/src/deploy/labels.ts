/**
 * Kiln's release labels, shared by every deploy target (Marathon app labels, Kubernetes annotations/labels): which
 * release, which commit, which run deployed. They describe the run, not the release: a rerun that differs only in
 * them is `unchanged`, so every comparison ignores keys that start with {@link KILN_LABEL_PREFIX}.
 */
import type { CiContext } from '../platform/types.js';

/** Labels Kiln adds to everything it deploys. */
export const KILN_LABELS = {
  releaseId: 'KILN_RELEASE_ID',
  commit: 'KILN_COMMIT',
  runUrl: 'KILN_RUN_URL',
} as const;

/** Every label key Kiln owns starts with this. */
export const KILN_LABEL_PREFIX = 'KILN_';

/** Whether a label key is one of Kiln's (never part of what a release is). */
export function isKilnLabel(key: string): boolean {
  return key.startsWith(KILN_LABEL_PREFIX);
}

/** Kiln's labels for this run: release id, commit, run URL (each when known). */
export function releaseLabels(
  ci: Pick<CiContext, 'sha' | 'runUrl'>,
  releaseId?: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (releaseId) out[KILN_LABELS.releaseId] = releaseId;
  if (ci.sha) out[KILN_LABELS.commit] = ci.sha;
  if (ci.runUrl) out[KILN_LABELS.runUrl] = ci.runUrl;
  return out;
}
