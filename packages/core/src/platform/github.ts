// The runner's workflow and file commands, written by Kiln (workflow-commands.ts says why not @actions/core).
import * as core from './workflow-commands.js';
import { escapeMessage } from './workflow-commands.js';
import { appendFileSync } from 'node:fs';
import { BasePlatform, isTruthy, terminalWidth, type PlatformOptions } from './base.js';
import { neutralise } from './neutralise.js';
import { rawWrite } from './redact.js';
import { SUMMARY_LIMIT, type Summary } from './summary.js';
import type { AnnotationProps, CiContext, Logger } from './types.js';

/** Logs as workflow commands; every message and title is neutralised first (neutralise.ts). */
class GitHubLogger implements Logger {
  constructor(readonly debugEnabled: boolean) {}
  debug(m: string): void {
    core.debug(neutralise(m));
  }
  info(m: string): void {
    core.info(neutralise(m));
  }
  notice(m: string, p?: AnnotationProps): void {
    core.notice(neutralise(m), p);
  }
  warning(m: string, p?: AnnotationProps): void {
    core.warning(neutralise(m), p);
  }
  error(m: string, p?: AnnotationProps): void {
    core.error(neutralise(m), p);
  }
  startGroup(t: string): void {
    core.startGroup(neutralise(t));
  }
  endGroup(): void {
    core.endGroup();
  }
  group<T>(t: string, fn: () => Promise<T>): Promise<T> {
    return core.group(neutralise(t), fn);
  }
}

/**
 * GitHub Actions: inputs from `INPUT_<NAME>` (dashes kept, as the runner sets them), outputs and state through
 * the runner's file commands (heredoc with a random delimiter: workflow-commands.ts), `::add-mask::` for secrets,
 * annotations and groups as workflow commands, and the job summary in GITHUB_STEP_SUMMARY.
 */
export class GitHubPlatform extends BasePlatform {
  readonly kind = 'github' as const;
  readonly log: Logger;

  constructor(opts: PlatformOptions) {
    super({ ...opts, cwd: opts.cwd ?? opts.env?.GITHUB_WORKSPACE ?? process.env.GITHUB_WORKSPACE });
    this.log = new GitHubLogger(core.isDebug() || isTruthy(this.env.KILN_DEBUG));
  }

  override getInput(name: string): string | undefined {
    return this.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`];
  }

  override setSecret(value: string | undefined): void {
    // Every form the redactor learns is masked by the runner too. Written raw: our own stdout filter would
    // otherwise mask the very value the runner needs to learn.
    for (const form of this.redactor.add(value)) rawWrite.stdout(`::add-mask::${escapeMessage(form)}\n`);
  }

  setOutput(name: string, value: string): void {
    core.setOutput(name, this.redactor.redact(value));
  }

  override saveState(name: string, value: string): void {
    super.saveState(name, value);
    core.saveState(name, value);
  }

  override getState(name: string): string | undefined {
    // The runner hands state saved by `main` to `post` as STATE_<name> (what core.getState reads).
    return super.getState(name) ?? (this.env[`STATE_${name}`] || undefined);
  }

  writeSummary(summary: Summary): void {
    const file = this.env.GITHUB_STEP_SUMMARY;
    if (!file) {
      this.log.info(summary.toText((t) => this.redactor.redact(t), terminalWidth(this.env)));
      return;
    }
    const redact = (t: string): string => this.redactor.redact(t);
    let md = redact(summary.toMarkdown(redact));
    if (Buffer.byteLength(md) > SUMMARY_LIMIT - 1024) {
      md = md.slice(0, SUMMARY_LIMIT - 4096) + '\n\n_(summary truncated: GitHub allows 1 MiB per step)_\n';
    }
    appendFileSync(file, md, 'utf8');
  }

  ci(): CiContext {
    const e = this.env;
    const server = e.GITHUB_SERVER_URL ?? 'https://github.com';
    const runUrl =
      e.GITHUB_REPOSITORY && e.GITHUB_RUN_ID
        ? `${server}/${e.GITHUB_REPOSITORY}/actions/runs/${e.GITHUB_RUN_ID}`
        : undefined;
    return {
      system: 'github',
      sha: e.GITHUB_SHA,
      ref: e.GITHUB_REF_NAME ?? e.GITHUB_REF,
      repository: e.GITHUB_REPOSITORY,
      runUrl,
      jobUrl: runUrl,
      actor: e.GITHUB_ACTOR,
      runId: e.GITHUB_RUN_ID,
    };
  }
}
