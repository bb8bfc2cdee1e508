import { existsSync, writeFileSync, appendFileSync } from 'node:fs';
import { readTextFile } from '../util/files.js';
import { resolve } from 'node:path';
import { neutralise } from './neutralise.js';
import { BasePlatform, isTruthy, terminalWidth, type PlatformOptions } from './base.js';
import { LineLogger } from './logger.js';
import type { Summary } from './summary.js';
import type { CiContext, Logger } from './types.js';

/** `duration-ms` → `DURATION_MS`, with an optional prefix (GitLab dotenv keys: ASCII letters, digits, `_`). */
export function dotenvKey(name: string, prefix = ''): string {
  return `${prefix}${name}`.replace(/[^A-Za-z0-9_]/g, '_').toUpperCase();
}

/**
 * A value as GitLab's dotenv parser can hold it: one line, no surrounding blanks. GitLab supports neither
 * multi-line values nor escapes, so a line break becomes the two characters `\n` and can never start a new
 * key. Returns the encoded value and whether it had to change.
 */
export function dotenvValue(value: string): { value: string; changed: boolean } {
  const v = value.replace(/\r\n|\r|\n/g, '\\n').trim();
  return { value: v, changed: v !== value };
}

/** Read a dotenv file Kiln wrote (or a user's): `KEY=value` per line, first `=` splits. */
export function parseDotenv(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

let sectionCounter = 0;

/**
 * GitLab CI: inputs from `--flags` then `KILN_<NAME>` variables; outputs in a dotenv file (default `kiln.env`,
 * for `artifacts:reports:dotenv`), merged with what earlier steps of the job wrote; collapsible log sections;
 * the summary as `kiln-summary.md` and as text in the log; secrets redacted from everything printed.
 */
export class GitLabPlatform extends BasePlatform {
  readonly kind = 'gitlab' as const;
  readonly log: Logger;
  private readonly openSections: string[] = [];
  readonly dotenvPath: string;
  readonly summaryPath: string;
  private dotenv: Map<string, string> | undefined;

  constructor(opts: PlatformOptions) {
    super({ ...opts, cwd: opts.cwd ?? opts.env?.CI_PROJECT_DIR ?? process.env.CI_PROJECT_DIR });
    const debug = isTruthy(this.env.CI_DEBUG_TRACE) || isTruthy(this.env.KILN_DEBUG);
    this.dotenvPath = resolve(this.workspace, this.env.KILN_DOTENV ?? 'kiln.env');
    this.summaryPath = resolve(this.workspace, this.env.KILN_SUMMARY_FILE ?? 'kiln-summary.md');
    this.log = new LineLogger({
      write: (line) => process.stdout.write(line + '\n'),
      color: !isTruthy(this.env.NO_COLOR),
      debug,
      startGroup: (title, color) => {
        const name = `kiln_${++sectionCounter}_${title
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '_')
          .slice(0, 40)}`;
        this.openSections.push(name);
        const now = Math.floor(Date.now() / 1000);
        const header = color ? `\x1b[1m${title}\x1b[0m` : title;
        return `\x1b[0Ksection_start:${now}:${name}[collapsed=true]\r\x1b[0K${header}`;
      },
      endGroup: () => {
        const name = this.openSections.pop();
        if (!name) return undefined;
        return `\x1b[0Ksection_end:${Math.floor(Date.now() / 1000)}:${name}\r\x1b[0K`;
      },
    });
  }

  override checkSetup(): void {
    this.checkWritableFile('KILN_DOTENV', this.dotenvPath);
    this.checkWritableFile('KILN_SUMMARY_FILE', this.summaryPath);
  }

  setOutput(name: string, value: string): void {
    const key = dotenvKey(name, this.env.KILN_OUTPUT_PREFIX ?? '');
    const { value: v, changed } = dotenvValue(this.redactor.redact(value));
    if (changed)
      this.log.debug(`output ${name}: line breaks written as \\n (GitLab dotenv values are one line)`);
    // What earlier steps of the job wrote is read once; the file is rewritten on every output so the outputs
    // set before a failure are still reported.
    this.dotenv ??= existsSync(this.dotenvPath)
      ? parseDotenv(readTextFile(this.dotenvPath, 1024 * 1024))
      : new Map();
    const entries = this.dotenv;
    entries.set(key, v);
    const text = [...entries].map(([k, val]) => `${k}=${val}`).join('\n') + '\n';
    if (Buffer.byteLength(text) > 5 * 1024)
      this.log.warning(`${this.dotenvPath} is over 5 KiB: GitLab rejects larger dotenv reports.`);
    writeFileSync(this.dotenvPath, text, 'utf8');
  }

  writeSummary(summary: Summary): void {
    const redact = (t: string): string => this.redactor.redact(t);
    appendFileSync(this.summaryPath, redact(summary.toMarkdown(redact)) + '\n', 'utf8');
    process.stdout.write(
      '\n' + neutralise(summary.toText(redact, terminalWidth(this.env, process.stdout))) + '\n',
    );
  }

  ci(): CiContext {
    const e = this.env;
    return {
      system: 'gitlab',
      sha: e.CI_COMMIT_SHA,
      ref: e.CI_COMMIT_REF_NAME,
      repository: e.CI_PROJECT_PATH,
      runUrl: e.CI_PIPELINE_URL,
      jobUrl: e.CI_JOB_URL,
      actor: e.GITLAB_USER_LOGIN,
      runId: e.CI_PIPELINE_ID,
    };
  }
}
