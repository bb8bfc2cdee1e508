/** "Did you mean …?" for a mistyped name: the closest candidate within a small edit distance, if any. */

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] as number;
}

/** The candidate closest to `name` (at most a third of its length away, at least 1 edit allowed), or undefined. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  const n = name.toLowerCase();
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = distance(n, c.toLowerCase());
    if (!best || d < best.d) best = { c, d };
  }
  const allowed = Math.max(1, Math.floor(name.length / 3));
  return best && best.d <= allowed ? best.c : undefined;
}

/** ` Did you mean '--x'?` or '' — to append to an "unknown" message. */
export function didYouMean(name: string, candidates: readonly string[], prefix = ''): string {
  const c = closest(name, candidates);
  return c ? ` Did you mean '${prefix}${c}'?` : '';
}
