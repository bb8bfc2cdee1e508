/**
 * Making a plan without loading the checks file's parser: the one-line `url` form, a checks file through
 * {@link loadChecksFile} (which loads plan.ts, with YAML and the JSON Schema validator, only when there is one),
 * and the check a header gets either way.
 */
import type { PlanDefaults, SmokePlan } from './plan.js';

/** Why a header is not one HTTP can carry (RFC 9110 token name; no CR, LF or NUL in the value), or undefined. */
export function headerProblem(name: string, value: string): string | undefined {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
    return `header name ${JSON.stringify(name)} is not valid (letters, digits and !#$%&'*+.^_\`|~-)`;
  if (/[\r\n\0]/.test(value)) return `header ${name} has a line break or a NUL byte in its value`;
  return undefined;
}

/** Reads and validates a checks file (plan.ts's `loadPlan`), loading its parser on the first call. */
export async function loadChecksFile(
  path: string,
  defaults: PlanDefaults,
  displayName = path,
): Promise<SmokePlan> {
  const { loadPlan } = await import('./plan.js');
  return loadPlan(path, defaults, displayName);
}

/** The one-line form: every URL must answer with the expected status; retried until the deadline. */
export function urlPlan(urls: readonly string[], defaults: PlanDefaults, intervalMs: number): SmokePlan {
  const names = new Map<string, number>();
  return {
    source: 'inputs',
    checks: urls.map((url, i) => {
      const n = names.get(url) ?? 0;
      names.set(url, n + 1);
      return {
        name: n ? `${url} (${n + 1})` : url,
        where: `url[${i}]`,
        kind: 'http',
        request: {
          method: 'GET',
          url,
          headers: { ...(defaults.headers ?? {}) },
          query: {},
          timeoutMs: defaults.timeoutMs,
          followRedirects: defaults.followRedirects ?? false,
          insecure: defaults.insecure ?? false,
        },
        env: {},
        expect: { status: defaults.expectStatus, headers: [], jsonpath: [] },
        captures: {},
        retries: 0,
        retryIntervalMs: intervalMs,
        retryUntilDeadline: true,
        uses: [],
      };
    }),
    thresholds: [],
    failureLimit: 0,
    consecutiveErrorLimit: Number.MAX_SAFE_INTEGER,
  };
}
