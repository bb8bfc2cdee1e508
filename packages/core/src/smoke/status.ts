/**
 * Expected HTTP statuses as users write them: `200`, `200-299`, `2xx`, and lists of those separated by commas
 * or spaces (`200,204,301-308`).
 */
export interface StatusExpectation {
  readonly text: string;
  matches(status: number): boolean;
}

/** Parse, or return an error message saying what is expected. */
export function parseStatusExpectation(text: string): StatusExpectation | string {
  const parts = text
    .split(/[\s,|]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) return 'expected status codes such as 200, 200-299, 2xx or 200,301';
  const ranges: Array<[number, number]> = [];
  for (const p of parts) {
    let m: RegExpExecArray | null;
    if ((m = /^([1-5])xx$/i.exec(p))) {
      const base = Number(m[1]) * 100;
      ranges.push([base, base + 99]);
    } else if ((m = /^(\d{3})$/.exec(p))) {
      ranges.push([Number(m[1]), Number(m[1])]);
    } else if ((m = /^(\d{3})-(\d{3})$/.exec(p))) {
      const lo = Number(m[1]);
      const hi = Number(m[2]);
      if (lo > hi) return `range '${p}' is reversed; write the lower code first (e.g. 200-299)`;
      ranges.push([lo, hi]);
    } else {
      return `'${p}' is not a status code; expected codes such as 200, 200-299, 2xx or 200,301`;
    }
  }
  for (const [lo, hi] of ranges)
    if (lo < 100 || hi > 599)
      return `status codes are between 100 and 599 (got ${lo === hi ? lo : `${lo}-${hi}`})`;
  return {
    text: parts.join(','),
    matches: (s) => ranges.some(([lo, hi]) => s >= lo && s <= hi),
  };
}
