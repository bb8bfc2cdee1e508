import { ConfigurationError } from '../errors.js';
import type { ActionSpec } from './spec.js';
import { didYouMean } from './suggest.js';

export interface ParsedFlags {
  flags: Map<string, string[]>;
  json: boolean;
  help: boolean;
}

/**
 * Command-line flags for an action: `--name value`, `--name=value`, repeated flags accumulate (lists), a
 * boolean input may be given bare (`--dry-run`). Global flags: `--json`, `--help`/`-h`.
 * A value that itself starts with `--` must use the `--name=value` form.
 */
export function parseFlags(argv: readonly string[], spec: ActionSpec): ParsedFlags {
  const flags = new Map<string, string[]>();
  let json = false;
  let help = false;
  const usage = `run 'kiln ${spec.name} --help' for the list of inputs`;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') {
      json = true;
      continue;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new ConfigurationError(`Unexpected argument '${arg}'; ${usage}.`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    // A former name is accepted as itself; parseInputs maps it to the current one (with a warning).
    const decl =
      spec.inputs[name] ??
      Object.values(spec.inputs).find((d) => d.deprecatedName !== undefined && d.deprecatedName === name);
    if (!decl) {
      const hint = didYouMean(name, [...Object.keys(spec.inputs), 'json', 'help'], '--');
      throw new ConfigurationError(
        hint
          ? `Unknown option '--${name}' for kiln ${spec.name}.${hint} Or ${usage}.`
          : `Unknown option '--${name}' for kiln ${spec.name}; ${usage}.`,
      );
    }
    let value: string;
    if (eq > 0) value = arg.slice(eq + 1);
    else if (decl.type === 'boolean') {
      const next = argv[i + 1];
      if (next === 'true' || next === 'false') {
        value = next;
        i++;
      } else value = 'true';
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--'))
        throw new ConfigurationError(
          `Option '--${name}' needs a value (use --${name}=VALUE if it starts with --).`,
        );
      value = next;
      i++;
    }
    const list = flags.get(name) ?? [];
    list.push(value);
    flags.set(name, list);
  }
  return { flags, json, help };
}
