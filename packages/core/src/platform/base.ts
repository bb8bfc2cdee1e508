import type { OutputDecl } from '../inputs/spec.js';
import { existsSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { SCOPED_ENV_INPUTS } from '../inputs/scoped-env.js';
import { Redactor } from './redact.js';
import type { CiContext, Logger, Platform, PlatformKind } from './types.js';
import type { Summary } from './summary.js';

export interface PlatformOptions {
  env?: NodeJS.ProcessEnv;
  /** The action being run: its inputs are also read from `KILN_<ACTION>_<INPUT>`. */
  action?: string;
  /** Flags given on the command line (`--name value`), already split per input name. */
  flags?: ReadonlyMap<string, readonly string[]>;
  /** Terminal: print outputs as one JSON object on stdout (logs go to stderr). */
  json?: boolean;
  /** The action's output declarations: `--json` prints each value typed by its declaration. */
  outputs?: Readonly<Record<string, OutputDecl>>;
  cwd?: string;
  redactor?: Redactor;
}

/** `deploy-target` → `KILN_DEPLOY_TARGET`; with an action, `KILN_SMOKE_TEST_TIMEOUT`. */
export function kilnEnvName(input: string, action?: string): string {
  return `KILN_${(action ? `${action}-${input}` : input).replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}`;
}

/** The variables an input is read from, most specific first (inputs/scoped-env.ts says which are scoped only). */
export function kilnEnvNames(input: string, action?: string): string[] {
  const scoped = action ? [kilnEnvName(input, action)] : [];
  return SCOPED_ENV_INPUTS.has(input) && action ? scoped : [...scoped, kilnEnvName(input)];
}

/**
 * How many columns Kiln's own text (tables, wrapped help, the summary as text) may take: `COLUMNS` when it is a
 * positive integer, else the terminal's width when `stream` is one, else 100 (a CI log, a pipe, a file).
 */
export function terminalWidth(
  env: NodeJS.ProcessEnv = process.env,
  stream: { isTTY?: boolean; columns?: number } = process.stdout,
): number {
  const columns = env.COLUMNS?.trim();
  if (columns && /^\d+$/.test(columns) && Number(columns) > 0) return Number(columns);
  if (stream.isTTY && stream.columns !== undefined && stream.columns > 0) return stream.columns;
  return 100;
}

export function isTruthy(v: string | undefined): boolean {
  return v !== undefined && /^(1|true|yes|on)$/i.test(v.trim());
}

/** Shared by the three platforms: the redactor, flag/env input lookup, in-memory state. */
export abstract class BasePlatform implements Platform {
  abstract readonly kind: PlatformKind;
  abstract readonly log: Logger;
  readonly env: NodeJS.ProcessEnv;
  readonly redactor: Redactor;
  readonly workspace: string;
  protected readonly flags: ReadonlyMap<string, readonly string[]>;
  protected readonly state = new Map<string, string>();
  protected readonly action: string | undefined;

  constructor(opts: PlatformOptions) {
    this.env = opts.env ?? process.env;
    this.redactor = opts.redactor ?? new Redactor();
    this.flags = opts.flags ?? new Map();
    this.workspace = opts.cwd ?? process.cwd();
    this.action = opts.action;
  }

  /**
   * GitLab and terminal: `--name value` flags first, then `KILN_<ACTION>_<NAME>`, then `KILN_<NAME>` — except for
   * names several actions use with different meanings (`timeout`, `vars`, …), where a bare `KILN_TIMEOUT` meant for
   * one action would leak into another: those are read only scoped, and a bare one gets a warning.
   */
  getInput(name: string): string | undefined {
    // An empty flag (`--url "$UNSET"`, a CI/CD component passing an input left empty) is not given: the
    // environment variable, else the default, applies — as an empty `with:` value does on GitHub.
    const flag = this.flags.get(name)?.filter((v) => v !== '');
    if (flag && flag.length > 0) return flag.join('\n');
    for (const variable of kilnEnvNames(name, this.action)) {
      const v = this.env[variable];
      if (v !== undefined) return v;
    }
    const bare = kilnEnvName(name);
    if (
      this.action &&
      SCOPED_ENV_INPUTS.has(name) &&
      this.env[bare] !== undefined &&
      !this.warnedBare.has(bare)
    ) {
      this.warnedBare.add(bare);
      this.log.warning(
        `${bare} is not read by ${this.action}: '${name}' means different things in different actions; set ${kilnEnvName(name, this.action)} for this one.`,
      );
    }
    return undefined;
  }
  private readonly warnedBare = new Set<string>();

  setSecret(value: string | undefined): void {
    this.redactor.add(value);
  }

  saveState(name: string, value: string): void {
    this.state.set(name, value);
  }

  getState(name: string): string | undefined {
    return this.state.get(name) ?? this.env[`KILN_STATE_${name.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}`];
  }

  abstract setOutput(name: string, value: string): void;
  abstract writeSummary(summary: Summary): void;
  abstract ci(): CiContext;
  finish(): void {}

  checkSetup(): void {}

  /** A file Kiln will write at `path`, named by `variable`: not a directory, in a directory that exists. */
  protected checkWritableFile(variable: string, path: string): void {
    let st: Stats | undefined;
    try {
      st = statSync(path);
    } catch {
      st = undefined;
    }
    if (st?.isDirectory())
      throw new ConfigurationError(`${variable}: "${path}" is a directory; expected a file path.`);
    if (!st && !existsSync(dirname(path)))
      throw new ConfigurationError(`${variable}: "${path}" is in a directory that does not exist.`);
  }
}
