/**
 * `${NAME}` substitution in checks files. Lookup order: captures from earlier checks, the `vars` and
 * `secret-vars` inputs, then the environment. `${NAME:-fallback}` gives a default; `$${NAME}` is a literal
 * `${NAME}`. An undefined variable without a default is an error naming it and where it is used.
 */
export type VarLookup = (name: string) => string | undefined;

const PATTERN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_.-]*)(?::-([^}]*))?\}/g;

export class UndefinedVariableError extends Error {
  constructor(
    readonly variable: string,
    readonly where: string,
  ) {
    super(
      `${where}: \${${variable}} is not defined (give it in vars, the environment, or capture it earlier)`,
    );
  }
}

/** Substitute variables; reports each value used (so secrets can be masked). */
export function interpolate(
  text: string,
  lookup: VarLookup,
  where: string,
  onValue?: (name: string, value: string) => void,
): string {
  return text.replace(PATTERN, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$${') return '${';
    const value = lookup(name as string) ?? fallback;
    if (value === undefined) throw new UndefinedVariableError(name as string, where);
    onValue?.(name as string, value);
    return value;
  });
}

/** Names referenced in a text (without defaults), for validation and dependency ordering. */
export function referencedVariables(text: string): Array<{ name: string; hasDefault: boolean }> {
  const out: Array<{ name: string; hasDefault: boolean }> = [];
  for (const m of text.matchAll(PATTERN))
    if (m[0] !== '$${') out.push({ name: m[1] as string, hasDefault: m[2] !== undefined });
  return out;
}

/** Apply {@link interpolate} to every string inside a JSON-like value. */
export function interpolateDeep<T>(
  value: T,
  lookup: VarLookup,
  where: string,
  onValue?: (n: string, v: string) => void,
): T {
  if (typeof value === 'string') return interpolate(value, lookup, where, onValue) as T;
  if (Array.isArray(value))
    return value.map((v, i) => interpolateDeep(v, lookup, `${where}[${i}]`, onValue)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateDeep(v, lookup, `${where}.${k}`, onValue);
    return out as T;
  }
  return value;
}

/** Every string inside a JSON-like value. */
export function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}
