import type { Redactor } from './redact.js';
import type { Summary } from './summary.js';

export type PlatformKind = 'github' | 'gitlab' | 'terminal';

/** Where an annotation points (GitHub shows it on the file; elsewhere it is part of the message). */
export interface AnnotationProps {
  title?: string;
  file?: string;
  startLine?: number;
  endLine?: number;
  startColumn?: number;
  endColumn?: number;
}

/** The one logging interface core code receives; never a global. */
export interface Logger {
  readonly debugEnabled: boolean;
  debug(message: string): void;
  info(message: string): void;
  notice(message: string, props?: AnnotationProps): void;
  warning(message: string, props?: AnnotationProps): void;
  error(message: string, props?: AnnotationProps): void;
  startGroup(title: string): void;
  endGroup(): void;
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
}

/** What the CI system says about the run: used for labels, summaries and the release ledger. */
export interface CiContext {
  system: PlatformKind;
  sha?: string;
  ref?: string;
  repository?: string;
  runUrl?: string;
  jobUrl?: string;
  actor?: string;
  runId?: string;
}

/**
 * Everything an action needs from the place it runs in. Three implementations (GitHub, GitLab, terminal) are
 * chosen by {@link detectPlatform}; core code takes a Platform or just its Logger.
 */
export interface Platform {
  readonly kind: PlatformKind;
  readonly log: Logger;
  readonly redactor: Redactor;
  /** The directory relative paths in inputs are resolved against. */
  readonly workspace: string;
  readonly env: NodeJS.ProcessEnv;
  /** The raw value of an input, or undefined when not given. */
  getInput(name: string): string | undefined;
  /** Mask a value from now on, everywhere. */
  setSecret(value: string | undefined): void;
  setOutput(name: string, value: string): void;
  writeSummary(summary: Summary): void;
  saveState(name: string, value: string): void;
  getState(name: string): string | undefined;
  ci(): CiContext;
  /** End of the run: flush buffered outputs. */
  finish(): void;
  /**
   * Checks the platform's own settings (where outputs and summaries go) before the action starts; throws a
   * ConfigurationError naming the variable.
   */
  checkSetup(): void;
}
