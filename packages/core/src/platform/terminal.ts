import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { typedOutputValue, type OutputDecl } from '../inputs/spec.js';
import { neutralise } from './neutralise.js';
import { BasePlatform, isTruthy, terminalWidth, type PlatformOptions } from './base.js';
import { LineLogger } from './logger.js';
import { fitLine, type Summary } from './summary.js';
import type { CiContext, Logger } from './types.js';

/**
 * A terminal (or any other CI): inputs from `--flags` then `KILN_<NAME>` variables; logs on stderr; outputs
 * printed at the end (`--json`: one JSON object on stdout, nothing else there); the summary as text on stdout
 * and in `kiln-summary.md` when `KILN_SUMMARY_FILE` names a file.
 */
export class TerminalPlatform extends BasePlatform {
  readonly kind = 'terminal' as const;
  readonly log: Logger;
  private readonly outputs = new Map<string, string>();
  private readonly json: boolean;
  private readonly outputDecls: Readonly<Record<string, OutputDecl>>;

  constructor(opts: PlatformOptions) {
    super(opts);
    this.json = opts.json ?? false;
    this.outputDecls = opts.outputs ?? {};
    const color =
      !isTruthy(this.env.NO_COLOR) && (isTruthy(this.env.FORCE_COLOR) || (process.stderr.isTTY ?? false));
    // Lines fit the terminal (COLUMNS, the TTY's width, else 100), wrapped at spaces; a word is never cut.
    const width = terminalWidth(this.env, process.stderr);
    this.log = new LineLogger({
      write: (line) => process.stderr.write(fitLine(line, width) + '\n'),
      color,
      debug: isTruthy(this.env.KILN_DEBUG),
      startGroup: (title, c) => (c ? `\x1b[1m==> ${title}\x1b[0m` : `==> ${title}`),
      endGroup: () => undefined,
    });
  }

  setOutput(name: string, value: string): void {
    this.outputs.set(name, this.redactor.redact(value));
  }

  /** The outputs set so far (JSON mode prints them at the end). */
  getOutputs(): Record<string, string> {
    return Object.fromEntries(this.outputs);
  }

  override checkSetup(): void {
    if (this.env.KILN_SUMMARY_FILE)
      this.checkWritableFile('KILN_SUMMARY_FILE', resolve(this.workspace, this.env.KILN_SUMMARY_FILE));
  }

  writeSummary(summary: Summary): void {
    if (this.env.KILN_SUMMARY_FILE)
      appendFileSync(
        resolve(this.workspace, this.env.KILN_SUMMARY_FILE),
        this.redactor.redact(summary.toMarkdown((t) => this.redactor.redact(t))) + '\n',
      );
    const stream = this.json ? process.stderr : process.stdout;
    const width = terminalWidth(this.env, stream);
    stream.write('\n' + neutralise(summary.toText((t) => this.redactor.redact(t), width)) + '\n');
  }

  override finish(): void {
    if (this.json) {
      const typed = Object.fromEntries(
        [...this.outputs].map(([k, v]) => [k, typedOutputValue(v, this.outputDecls[k])]),
      );
      process.stdout.write(JSON.stringify(typed, null, 2) + '\n');
    } else if (this.outputs.size > 0) {
      process.stdout.write(
        `\nOutputs:\n${outputLines(this.outputs, terminalWidth(this.env, process.stdout)).join('\n')}\n`,
      );
    }
  }

  ci(): CiContext {
    return { system: 'terminal', sha: this.env.KILN_COMMIT_SHA, ref: this.env.KILN_REF };
  }
}

/** Lines a long output value may take in the terminal listing (`--json` prints every value whole). */
const OUTPUT_LINES = 6;

/**
 * `  name   value`, one output per line, within `width` columns: a value too long (or of several lines) continues
 * under the first, and one longer than {@link OUTPUT_LINES} lines ends with how much is left out.
 */
export function outputLines(outputs: ReadonlyMap<string, string>, width: number): string[] {
  const keyWidth = Math.max(...[...outputs.keys()].map((k) => k.length));
  const indent = keyWidth + 4;
  const room = Math.max(20, width - indent);
  const out: string[] = [];
  for (const [k, v] of outputs) {
    const lines: string[] = [];
    for (const line of v.split('\n')) {
      const chars = [...line];
      for (let i = 0; i === 0 || i < chars.length; i += room) lines.push(chars.slice(i, i + room).join(''));
    }
    let shown = lines;
    if (lines.length > OUTPUT_LINES) {
      const left = lines.slice(OUTPUT_LINES - 1).join('').length;
      shown = [
        ...lines.slice(0, OUTPUT_LINES - 1),
        `… (${left} more characters; --json prints every value whole)`,
      ];
    }
    out.push(
      `  ${k.padEnd(keyWidth)}  ${shown[0] ?? ''}`,
      ...shown.slice(1).map((l) => ' '.repeat(indent) + l),
    );
  }
  return out;
}
