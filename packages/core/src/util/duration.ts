/**
 * Durations as people write them in CI files: `500ms`, `90s`, `5m`, `1h30m`, `1d`, or a bare number of seconds.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

/** Milliseconds, or undefined when the text is not a duration. */
/**
 * The longest duration Kiln accepts: Node's timers overflow past 2^31−1 ms (about 24.8 days) and would fire at
 * once, so a `deadline: 30d` would end immediately.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

export function parseDuration(text: string): number | undefined {
  const s = text.trim().toLowerCase();
  if (s === '') return undefined;
  if (/^\d+(?:\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  if (!WHOLE.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(PART)) total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  return Math.round(total);
}

/** A compact human form: `850ms`, `12.3s`, `4m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const totalS = Math.round(ms / 1000);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s).padStart(2, '0')}s`;
}

/**
 * A monotonic clock in milliseconds, for measuring how long something took. Not `performance.now()`: the first use
 * of the `performance` global loads Node's perf_hooks (about 3 ms of a start-up Kiln keeps short).
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
