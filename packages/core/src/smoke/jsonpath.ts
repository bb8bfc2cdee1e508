/**
 * Selecting values by JSONPath (jsonpath-plus, with its scripts off). Apart from engine.ts, which loads this
 * module when a check first selects by JSONPath: a plan without JSONPath never loads jsonpath-plus.
 */
import { JSONPath } from 'jsonpath-plus';

/** The value(s) a JSONPath selects: undefined for no match, the value for one, an array for several. */
export function jsonPathValue(json: unknown, path: string): unknown {
  const hits = JSONPath({ path, json: json as object, wrap: true, eval: false }) as unknown[];
  if (hits.length === 0) return undefined;
  // A definite path ($.a.b, $.a[0]) yields its value; wildcards and filters yield the list.
  return hits.length === 1 && !/[*?]|\.\.|\[[^\]]*[,:]/.test(path) ? hits[0] : hits;
}
