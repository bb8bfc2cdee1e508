import { neutralise } from './neutralise.js';
import type { AnnotationProps, Logger } from './types.js';

/** Format annotation properties into a plain-text prefix (`file:line: `) for platforms without annotations. */
export function locationPrefix(props?: AnnotationProps): string {
  if (!props?.file) return '';
  const line = props.startLine
    ? `:${props.startLine}${props.startColumn ? `:${props.startColumn}` : ''}`
    : '';
  return `${props.file}${line}: `;
}

const ansi = {
  red: '\x1b[31m',
  yellow: '\x1b[33m',
  cyan: '\x1b[36m',
  dim: '\x1b[2m',
  bold: '\x1b[1m',
  reset: '\x1b[0m',
};

export interface LineLoggerOptions {
  write: (line: string) => void;
  color: boolean;
  debug: boolean;
  /** How groups are drawn. */
  startGroup: (title: string, color: boolean) => string;
  endGroup: () => string | undefined;
}

/**
 * A logger that writes plain lines (GitLab and terminal); groups are drawn by the platform. Every message and
 * title is neutralised (neutralise.ts) before Kiln's own colours and section markers are added.
 */
export class LineLogger implements Logger {
  private readonly o: LineLoggerOptions;
  constructor(o: LineLoggerOptions) {
    this.o = {
      ...o,
      startGroup: (title, color) => o.startGroup(neutralise(title), color),
    };
  }
  get debugEnabled(): boolean {
    return this.o.debug;
  }
  private paint(color: keyof typeof ansi, text: string): string {
    return this.o.color ? `${ansi[color]}${text}${ansi.reset}` : text;
  }
  debug(message: string): void {
    if (this.o.debug) this.o.write(this.paint('dim', `debug: ${neutralise(message)}`));
  }
  info(message: string): void {
    this.o.write(neutralise(message));
  }
  notice(message: string, props?: AnnotationProps): void {
    this.o.write(this.paint('cyan', `notice: ${locationPrefix(props)}${neutralise(message)}`));
  }
  warning(message: string, props?: AnnotationProps): void {
    this.o.write(this.paint('yellow', `warning: ${locationPrefix(props)}${neutralise(message)}`));
  }
  error(message: string, props?: AnnotationProps): void {
    this.o.write(this.paint('red', `error: ${locationPrefix(props)}${neutralise(message)}`));
  }
  startGroup(title: string): void {
    this.o.write(this.o.startGroup(title, this.o.color));
  }
  endGroup(): void {
    const line = this.o.endGroup();
    if (line !== undefined) this.o.write(line);
  }
  async group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    this.startGroup(title);
    try {
      return await fn();
    } finally {
      this.endGroup();
    }
  }
}

export const colors = ansi;

/** A logger that records lines: for tests and for code that wants to collect output. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  constructor(readonly debugEnabled = true) {}
  debug(m: string): void {
    this.lines.push(`debug: ${m}`);
  }
  info(m: string): void {
    this.lines.push(m);
  }
  notice(m: string): void {
    this.lines.push(`notice: ${m}`);
  }
  warning(m: string): void {
    this.lines.push(`warning: ${m}`);
  }
  error(m: string): void {
    this.lines.push(`error: ${m}`);
  }
  startGroup(t: string): void {
    this.lines.push(`[${t}]`);
  }
  endGroup(): void {
    this.lines.push('[/]');
  }
  async group<T>(t: string, fn: () => Promise<T>): Promise<T> {
    this.startGroup(t);
    try {
      return await fn();
    } finally {
      this.endGroup();
    }
  }
}

/** A Logger that prints nothing: for code given no logger of its own (a backend used outside an action). */
export const silentLogger: Logger = {
  debugEnabled: false,
  debug: () => undefined,
  info: () => undefined,
  notice: () => undefined,
  warning: () => undefined,
  error: () => undefined,
  startGroup: () => undefined,
  endGroup: () => undefined,
  group: (_title, fn) => fn(),
};
