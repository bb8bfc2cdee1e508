/**
 * Progress of long blob transfers: a callback on every chunk (for callers that draw their own), and a log line
 * through the Logger at most every `intervalMs` per blob (CI logs must not drown in progress lines).
 */
import type { Logger } from '../platform/types.js';
import { shortDigest } from './digest.js';
import type { TransferProgress } from './types.js';

export type ProgressCallback = (progress: TransferProgress) => void;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** Returns the per-chunk reporter of one transfer. */
export function progressReporter(
  target: string,
  digest: string,
  total: number,
  opts: { logger: Logger; onProgress?: ProgressCallback; intervalMs: number; now?: () => number },
): (bytesDone: number) => void {
  const now = opts.now ?? Date.now;
  let lastLog = now();
  return (bytesDone) => {
    opts.onProgress?.({ target, digest, bytesDone, bytesTotal: total });
    const t = now();
    if (t - lastLog >= opts.intervalMs && bytesDone < total) {
      lastLog = t;
      const pct = total > 0 ? Math.floor((bytesDone / total) * 100) : 0;
      opts.logger.info(
        `${target}: ${shortDigest(digest)} ${formatBytes(bytesDone)} / ${formatBytes(total)} (${pct}%)`,
      );
    }
  };
}
