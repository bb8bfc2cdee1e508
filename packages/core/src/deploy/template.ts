/**
 * `${NAME}` template variables in deploy files (Marathon `args`, Kubernetes manifests), filled from the `vars`
 * input. `$${` writes a literal `${`. An unknown or malformed variable is an error naming where it is.
 */
import { ConfigurationError } from '../errors.js';

const VAR_RE = /\$\$\{|\$\{([^}]*)\}/g;
const VAR_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Replace `${NAME}` in one string; records each name used in `used`. */
export function expandVars(
  text: string,
  vars: Record<string, string>,
  where: string,
  used: Set<string>,
): string {
  return text.replace(VAR_RE, (match, name: string | undefined) => {
    if (match === '$${') return '${';
    const n = name ?? '';
    if (!VAR_NAME_RE.test(n))
      throw new ConfigurationError(
        `${where} contains '${match}', which is not a template variable; expected \${NAME} with letters, digits and '_' (write $\${ for a literal \${).`,
      );
    if (!Object.prototype.hasOwnProperty.call(vars, n))
      throw new ConfigurationError(
        `${where} uses \${${n}}, but no value is given for it; pass it in the vars input (e.g. ${n}=qa).`,
      );
    used.add(n);
    return vars[n] as string;
  });
}

/** The warning for `vars` entries no `${…}` used (a typo, or a variable meant for another file). */
export function unusedVarsWarning(
  vars: Record<string, string>,
  used: Set<string>,
  where: string,
): string | undefined {
  const unused = Object.keys(vars).filter((k) => !used.has(k));
  if (unused.length === 0) return undefined;
  return `vars ${unused.map((k) => `'${k}'`).join(', ')} ${unused.length === 1 ? 'is' : 'are'} not used by any \${…} in ${where}.`;
}
