/**
 * Inputs and outputs are declared once per action, here in TypeScript. From this one declaration Kiln derives
 * the action.yml `inputs`/`outputs`, the CLI flags and `--help`, the README tables (see scripts/generate.ts) and
 * the typed, validated values an action's `main` receives.
 */

export type InputType =
  'string' | 'boolean' | 'integer' | 'duration' | 'list' | 'enum' | 'map' | 'path' | 'url';

interface InputBase {
  /** One or two sentences: shown in action.yml, the README and `--help`. */
  readonly description: string;
  readonly required?: boolean;
  /** The default as the user would write it (it is parsed like any other value). */
  readonly default?: string;
  /** Registered as a secret before anything else happens: masked everywhere, never echoed in errors. */
  readonly secret?: boolean;
  /** Shown in `--help` and the README instead of the type, e.g. `user:password`. */
  readonly placeholder?: string;
  /**
   * The input's former name, still accepted (as `with:`, `--flag` or `KILN_` variable) with a warning. In
   * action.yml it is listed with GitHub's `deprecationMessage`, and the default is applied by Kiln, not written
   * there (the runner would otherwise always give the new name a value).
   */
  readonly deprecatedName?: string;
  /**
   * Its bare `KILN_<INPUT>` variable is meant for every action that has this input (registry credentials), even
   * where the declarations differ in wording. Otherwise a name that several actions declare differently is read
   * only as `KILN_<ACTION>_<INPUT>` (see inputs/scoped-env.ts).
   */
  readonly sharedEnv?: boolean;
}

export interface StringInput extends InputBase {
  readonly type: 'string';
  /** Optional pattern the value must match, with a human description of it. */
  readonly pattern?: RegExp;
  readonly patternDescription?: string;
}
export interface BooleanInput extends InputBase {
  readonly type: 'boolean';
}
export interface IntegerInput extends InputBase {
  readonly type: 'integer';
  readonly min?: number;
  readonly max?: number;
}
export interface DurationInput extends InputBase {
  readonly type: 'duration';
  /** Bounds in milliseconds. */
  readonly min?: number;
  readonly max?: number;
}
export interface ListInput extends InputBase {
  readonly type: 'list';
  /** Validate each item as this type (default: string). */
  readonly items?: 'string' | 'url';
  /** Also split on commas (default true). Set false when items may contain commas. */
  readonly commas?: boolean;
}
export interface EnumInput extends InputBase {
  readonly type: 'enum';
  readonly values: readonly string[];
}
export interface MapInput extends InputBase {
  readonly type: 'map';
}
export interface PathInput extends InputBase {
  readonly type: 'path';
  /** Must the path exist (default true)? */
  readonly mustExist?: boolean;
}
export interface UrlInput extends InputBase {
  readonly type: 'url';
}

export type InputDecl =
  | StringInput
  | BooleanInput
  | IntegerInput
  | DurationInput
  | ListInput
  | EnumInput
  | MapInput
  | PathInput
  | UrlInput;

/**
 * How an output's value reads (`--json` prints it typed; GitHub and dotenv outputs are strings regardless):
 * `string` (default), `number`, `boolean`, `json` (an array or object), `list` (one item per line, or per
 * `separator`).
 */
export type OutputType = 'string' | 'number' | 'boolean' | 'json' | 'list';

export interface OutputDecl {
  readonly description: string;
  readonly type?: OutputType;
  /** For `list`: what separates the items (default a line break). */
  readonly separator?: string;
}

/** An output's string value as the typed JSON value `--json` prints (a value that does not parse stays a string). */
export function typedOutputValue(value: string, decl: OutputDecl | undefined): unknown {
  switch (decl?.type) {
    case 'number': {
      const n = Number(value);
      return value.trim() !== '' && Number.isFinite(n) ? n : value;
    }
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : value;
    case 'json':
      try {
        return JSON.parse(value) as unknown;
      } catch {
        return value;
      }
    case 'list':
      return value === '' ? [] : value.split(decl.separator ?? '\n');
    default:
      return value;
  }
}

export interface ActionSpec<
  I extends Record<string, InputDecl> = Record<string, InputDecl>,
  O extends Record<string, OutputDecl> = Record<string, OutputDecl>,
> {
  /** The action's name: folder under actions/, bundle under dist/, and the CLI sub-command. */
  readonly name: string;
  /** action.yml `name`. */
  readonly title: string;
  readonly description: string;
  readonly inputs: I;
  readonly outputs: O;
  /** Whether the action has a `post` step. */
  readonly post?: boolean;
  readonly branding?: { readonly icon: string; readonly color: string };
}

/** Declare an action; the literal types are kept so `main` gets typed inputs. */
export function defineAction<
  const I extends Record<string, InputDecl>,
  const O extends Record<string, OutputDecl>,
>(spec: ActionSpec<I, O>): ActionSpec<I, O> {
  return spec;
}

type ValueOf<D extends InputDecl> = D extends BooleanInput
  ? boolean
  : D extends IntegerInput | DurationInput
    ? number
    : D extends ListInput
      ? string[]
      : D extends MapInput
        ? Record<string, string>
        : D extends EnumInput
          ? D['values'][number]
          : string;

type Present<D extends InputDecl> = D extends { required: true }
  ? true
  : D extends { default: string }
    ? true
    : D extends ListInput | MapInput
      ? true // absent lists and maps are empty
      : false;

/** The typed values an action receives: durations in milliseconds, lists as arrays, maps as records. */
export type InputValues<I extends Record<string, InputDecl>> = {
  -readonly [K in keyof I]: Present<I[K]> extends true ? ValueOf<I[K]> : ValueOf<I[K]> | undefined;
};

/** How a type is described to users (help, README, error messages). */
export function describeType(decl: InputDecl): string {
  if (decl.placeholder) return decl.placeholder;
  switch (decl.type) {
    case 'string':
      return decl.patternDescription ?? 'string';
    case 'boolean':
      return 'true | false';
    case 'integer':
      return decl.min !== undefined && decl.max !== undefined
        ? `integer ${decl.min}..${decl.max}`
        : decl.min !== undefined
          ? `integer ≥ ${decl.min}`
          : 'integer';
    case 'duration':
      return 'duration';
    case 'list':
      return decl.items === 'url' ? 'list of URLs' : 'list';
    case 'enum':
      return decl.values.join(' | ');
    case 'map':
      return 'key=value list';
    case 'path':
      return 'path';
    case 'url':
      return 'URL';
  }
}
