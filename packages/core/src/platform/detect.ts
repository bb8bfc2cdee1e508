import { isTruthy, type PlatformOptions } from './base.js';
import { GitHubPlatform } from './github.js';
import { GitLabPlatform } from './gitlab.js';
import { TerminalPlatform } from './terminal.js';
import type { Platform, PlatformKind } from './types.js';

/**
 * Which platform this process runs on: `KILN_PLATFORM` (github | gitlab | terminal) overrides; otherwise
 * `GITHUB_ACTIONS=true` → GitHub, `GITLAB_CI=true` → GitLab, else a terminal.
 */
export function detectPlatformKind(env: NodeJS.ProcessEnv = process.env): PlatformKind {
  const forced = env.KILN_PLATFORM?.trim().toLowerCase();
  if (forced === 'github' || forced === 'gitlab' || forced === 'terminal') return forced;
  if (isTruthy(env.GITHUB_ACTIONS)) return 'github';
  if (isTruthy(env.GITLAB_CI)) return 'gitlab';
  return 'terminal';
}

export function createPlatform(opts: PlatformOptions & { kind?: PlatformKind } = {}): Platform {
  const kind = opts.kind ?? detectPlatformKind(opts.env ?? process.env);
  switch (kind) {
    case 'github':
      return new GitHubPlatform(opts);
    case 'gitlab':
      return new GitLabPlatform(opts);
    case 'terminal':
      return new TerminalPlatform(opts);
  }
}
