import { existsSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { Redactor } from './redact.js';
import type { CiContext, Logger, Platform, PlatformKind } from './types.js';
import type { Summary } from './summary.js';

export interface PlatformOptions {
  env?: NodeJS.ProcessEnv;
  /** Flags given on the command line (`--name value`), already split per input name. */
  flags?: ReadonlyMap<string, readonly string[]>;
  /** Terminal: print outputs as one JSON object on stdout (logs go to stderr). */
  json?: boolean;
  cwd?: string;
  redactor?: Redactor;
}

/** `deploy-target` → `KILN_DEPLOY_TARGET`. */
export function kilnEnvName(input: string): string {
  return `KILN_${input.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}`;
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

  constructor(opts: PlatformOptions) {
    this.env = opts.env ?? process.env;
    this.redactor = opts.redactor ?? new Redactor();
    this.flags = opts.flags ?? new Map();
    this.workspace = opts.cwd ?? process.cwd();
  }

  /** GitLab and terminal: `--name value` flags first, then `KILN_<NAME>` variables. */
  getInput(name: string): string | undefined {
    const flag = this.flags.get(name);
    if (flag && flag.length > 0) return flag.join('\n');
    return this.env[kilnEnvName(name)];
  }

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
