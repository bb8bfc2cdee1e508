import { isTruthy, type PlatformOptions } from './base.js';
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

/**
 * The platform this process runs on. GitHub's (and `@actions/core` with it) is loaded only on GitHub, so the
 * CLI under GitLab or in a terminal does not pay for loading it.
 */
export async function createPlatform(
  opts: PlatformOptions & { kind?: PlatformKind } = {},
): Promise<Platform> {
  const kind = opts.kind ?? detectPlatformKind(opts.env ?? process.env);
  switch (kind) {
    case 'github': {
      const { GitHubPlatform } = await import('./github.js');
      return new GitHubPlatform(opts);
    }
    case 'gitlab':
      return new GitLabPlatform(opts);
    case 'terminal':
      return new TerminalPlatform(opts);
  }
}
