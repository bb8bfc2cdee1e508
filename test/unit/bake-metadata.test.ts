import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  DEFAULT_TAG_RULES,
  computeTags,
  formatDate,
  gitContext,
  imageMetadata,
  isReleaseVersion,
  ociLabels,
  parseFlavor,
  parseSemVer,
  parseTagRules,
  sanitizeTag,
  type GitContext,
  type GitContextOptions,
} from '../../packages/core/src/bake/metadata.js';
import { ConfigurationError, InputError } from '../../packages/core/src/errors.js';
import { isValidTag } from '../../packages/core/src/image/reference.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'bake-metadata');
const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const HEAD = 'feedfacecafebeef0123456789abcdef01234567';
const MERGE = '5555555555555555555555555555555555555555';
const NOW = new Date('2024-06-01T03:00:00.000Z');
const COMMIT_TIME = '2024-05-01T10:20:30+02:00';
const COMMIT_TIME_UTC = '2024-05-01T08:20:30.000Z';

type Env = Record<string, string>;

/** A GitHub Actions environment for an event, with its payload from the fixtures. */
function github(event: string, ref: string, payload: string, extra: Env = {}): Env {
  return {
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: event,
    GITHUB_REF: ref,
    GITHUB_SHA: SHA,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'acme/widget',
    GITHUB_EVENT_PATH: join(FIXTURES, payload),
    ...extra,
  };
}

/** A GitLab CI environment; `vars` says what the pipeline is. */
function gitlab(source: string, vars: Env): Env {
  return {
    GITLAB_CI: 'true',
    CI_PIPELINE_SOURCE: source,
    CI_COMMIT_SHA: SHA,
    CI_PROJECT_URL: 'https://gitlab.example.com/acme/widget',
    CI_PROJECT_NAME: 'widget',
    CI_DEFAULT_BRANCH: 'main',
    CI_COMMIT_TIMESTAMP: COMMIT_TIME,
    ...vars,
  };
}

function ctxOf(env: Env, options: GitContextOptions = {}): GitContext {
  return gitContext(env, { now: NOW, ...options });
}

function tagsOf(ctx: GitContext, tags: string | readonly string[], flavor = ''): string[] {
  return computeTags(ctx, parseTagRules(tags), parseFlavor(flavor), { now: NOW }).tags;
}

/** The rules the README recommends for releases: semver versions, branches, PRs, the commit, nightlies. */
const RULES = `
# release versions
type=semver,pattern={{version}}
type=semver,pattern={{major}}.{{minor}}
type=semver,pattern={{major}}
type=ref,event=branch
type=ref,event=pr
type=schedule
type=sha
`;

const SHORT = 'sha-a1b2c3d';

interface Scenario {
  name: string;
  github?: Env;
  gitlab?: Env;
  /** With {@link RULES}. */
  tags: string[];
  /** With the default rules (empty `tags`). */
  defaults: string[];
  revision: string;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'push to the default branch',
    github: github('push', 'refs/heads/main', 'push-main.json'),
    gitlab: gitlab('push', { CI_COMMIT_BRANCH: 'main', CI_COMMIT_REF_NAME: 'main' }),
    tags: ['main', SHORT],
    defaults: ['main', SHORT],
    revision: SHA,
  },
  {
    name: "push to a feature branch with '/' in its name",
    github: github('push', 'refs/heads/feature/login-form', 'push-feature.json'),
    gitlab: gitlab('push', {
      CI_COMMIT_BRANCH: 'feature/login-form',
      CI_COMMIT_REF_NAME: 'feature/login-form',
    }),
    tags: ['feature-login-form', SHORT],
    defaults: ['feature-login-form', SHORT],
    revision: SHA,
  },
  {
    name: 'tag v1.2.3 (a release: semver tags and latest)',
    github: github('push', 'refs/tags/v1.2.3', 'push-tag.json'),
    gitlab: gitlab('push', { CI_COMMIT_TAG: 'v1.2.3', CI_COMMIT_REF_NAME: 'v1.2.3' }),
    tags: ['1.2.3', '1.2', '1', SHORT, 'latest'],
    defaults: ['v1.2.3', SHORT, 'latest'],
    revision: SHA,
  },
  {
    name: 'tag v2.0.0-rc.1 (a prerelease: only {{version}}, no latest)',
    github: github('push', 'refs/tags/v2.0.0-rc.1', 'push-tag.json'),
    gitlab: gitlab('push', { CI_COMMIT_TAG: 'v2.0.0-rc.1', CI_COMMIT_REF_NAME: 'v2.0.0-rc.1' }),
    tags: ['2.0.0-rc.1', SHORT],
    defaults: ['v2.0.0-rc.1', SHORT],
    revision: SHA,
  },
  {
    name: 'pull request / merge request 42 (pr-42, the head commit)',
    github: github('pull_request', 'refs/pull/42/merge', 'pull-request.json', {
      GITHUB_SHA: MERGE,
      GITHUB_HEAD_REF: 'feature/login-form',
      GITHUB_BASE_REF: 'main',
    }),
    // A merged-results pipeline: CI_COMMIT_SHA is the merge result, the head is SOURCE_BRANCH_SHA.
    gitlab: gitlab('merge_request_event', {
      CI_COMMIT_SHA: MERGE,
      CI_MERGE_REQUEST_IID: '42',
      CI_MERGE_REQUEST_SOURCE_BRANCH_SHA: HEAD,
      CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature/login-form',
      CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main',
      CI_COMMIT_REF_NAME: 'feature/login-form',
    }),
    tags: ['pr-42', 'sha-feedfac'],
    defaults: ['pr-42', 'sha-feedfac'],
    revision: HEAD,
  },
  {
    name: 'merge request pipeline (not merged results: CI_COMMIT_SHA is the head)',
    gitlab: gitlab('merge_request_event', {
      CI_COMMIT_SHA: HEAD,
      CI_MERGE_REQUEST_IID: '42',
      CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature/login-form',
      CI_COMMIT_REF_NAME: 'feature/login-form',
    }),
    tags: ['pr-42', 'sha-feedfac'],
    defaults: ['pr-42', 'sha-feedfac'],
    revision: HEAD,
  },
  {
    name: 'scheduled run on the default branch (nightly first)',
    github: github('schedule', 'refs/heads/main', 'schedule.json'),
    gitlab: gitlab('schedule', { CI_COMMIT_BRANCH: 'main', CI_COMMIT_REF_NAME: 'main' }),
    tags: ['nightly', 'main', SHORT],
    defaults: ['nightly', 'main', SHORT],
    revision: SHA,
  },
  {
    name: 'manual run (workflow_dispatch / GitLab "Run pipeline")',
    github: github('workflow_dispatch', 'refs/heads/main', 'workflow-dispatch.json'),
    gitlab: gitlab('web', { CI_COMMIT_BRANCH: 'main', CI_COMMIT_REF_NAME: 'main' }),
    tags: ['main', SHORT],
    defaults: ['main', SHORT],
    revision: SHA,
  },
];

describe('the same tags rules give the same tags on GitHub and GitLab', () => {
  for (const s of SCENARIOS) {
    for (const platform of ['github', 'gitlab'] as const) {
      const env = s[platform];
      if (env === undefined) continue;
      test(`${platform}: ${s.name}`, () => {
        const ctx = ctxOf(env);
        expect(ctx.platform).toBe(platform);
        expect(ctx.warnings).toEqual([]);
        expect(tagsOf(ctx, RULES)).toEqual(s.tags);
        expect(tagsOf(ctx, '')).toEqual(s.defaults);
        const meta = imageMetadata(ctx, { tags: RULES, now: NOW });
        expect(meta.tags).toEqual(s.tags);
        expect(meta.version).toBe(s.tags[0]);
        expect(meta.latest).toBe(s.tags.includes('latest'));
        expect(meta.labels['org.opencontainers.image.revision']).toBe(s.revision);
        expect(meta.labels['org.opencontainers.image.version']).toBe(s.tags[0]);
        expect(meta.labels['org.opencontainers.image.title']).toBe('widget');
        for (const t of meta.tags) expect(isValidTag(t)).toBe(true);
      });
    }
  }
});

describe('git context', () => {
  test('GitHub push: everything from the variables and the event payload', () => {
    expect(ctxOf(github('push', 'refs/heads/main', 'push-main.json'))).toEqual({
      platform: 'github',
      event: 'push',
      ref: 'refs/heads/main',
      refType: 'branch',
      branch: 'main',
      sha: SHA,
      defaultBranch: 'main',
      isDefaultBranch: true,
      repoUrl: 'https://github.com/acme/widget',
      repoName: 'widget',
      description: 'The acme widget service',
      licenses: 'Apache-2.0',
      commitDate: COMMIT_TIME_UTC,
      createdAt: COMMIT_TIME_UTC,
      createdFrom: 'commit',
      warnings: [],
    });
  });

  test('GitHub pull request: the head sha from the payload, the merge commit kept as commitSha', () => {
    const ctx = ctxOf(SCENARIOS[4]?.github as Env);
    expect(ctx).toMatchObject({
      event: 'pull_request',
      refType: 'pr',
      prNumber: 42,
      sha: HEAD,
      commitSha: MERGE,
      headBranch: 'feature/login-form',
      baseBranch: 'main',
      isDefaultBranch: false,
      createdFrom: 'now',
      createdAt: NOW.toISOString(),
    });
    expect(ctx.branch).toBeUndefined();
  });

  test('GitHub pull_request_target: the PR ref from the payload, not the base branch', () => {
    const ctx = ctxOf(github('pull_request_target', 'refs/heads/main', 'pull-request.json'));
    expect(ctx).toMatchObject({ ref: 'refs/pull/42/merge', refType: 'pr', prNumber: 42, sha: HEAD });
    expect(tagsOf(ctx, '')).toEqual(['pr-42', 'sha-feedfac']);
  });

  test('GitHub tag: base_ref from the payload; GITHUB_REF_TYPE/NAME when GITHUB_REF is missing', () => {
    expect(ctxOf(github('push', 'refs/tags/v1.2.3', 'push-tag.json'))).toMatchObject({
      refType: 'tag',
      tag: 'v1.2.3',
      baseBranch: 'main',
      isDefaultBranch: false,
    });
    const env = github('push', '', 'push-tag.json', { GITHUB_REF_TYPE: 'tag', GITHUB_REF_NAME: 'v1.2.3' });
    expect(ctxOf(env)).toMatchObject({ ref: 'refs/tags/v1.2.3', refType: 'tag', tag: 'v1.2.3' });
  });

  test('GitHub without a payload: the name from GITHUB_REPOSITORY; schedule counts as the default branch', () => {
    const env = github('schedule', 'refs/heads/main', 'x', { GITHUB_EVENT_PATH: '' });
    const ctx = ctxOf(env);
    expect(ctx).toMatchObject({ repoName: 'widget', isDefaultBranch: true, createdFrom: 'now' });
    expect(ctx.defaultBranch).toBeUndefined();
    expect(ctxOf({ ...env, GITHUB_EVENT_NAME: 'push' }).isDefaultBranch).toBe(false);
  });

  test('an unreadable or malformed event payload is a warning, not a failure', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-meta-'));
    const bad = join(dir, 'event.json');
    writeFileSync(bad, '{ not json');
    const ctx = ctxOf(github('push', 'refs/heads/main', 'x', { GITHUB_EVENT_PATH: bad }));
    expect(ctx.warnings).toEqual([expect.stringContaining('is not JSON')]);
    expect(ctx.repoName).toBe('widget');
    const missing = ctxOf(
      github('push', 'refs/heads/main', 'x', { GITHUB_EVENT_PATH: join(dir, 'none.json') }),
    );
    expect(missing.warnings).toEqual([expect.stringContaining('does not exist')]);
    const dev = ctxOf(github('push', 'refs/heads/main', 'x', { GITHUB_EVENT_PATH: '/dev/zero' }));
    expect(dev.warnings).toEqual([expect.stringContaining('not a regular file')]);
  });

  test('GitLab tag pipeline: event "tag", the commit time from CI_COMMIT_TIMESTAMP', () => {
    expect(ctxOf(gitlab('push', { CI_COMMIT_TAG: 'v1.2.3', CI_COMMIT_REF_NAME: 'v1.2.3' }))).toEqual({
      platform: 'gitlab',
      event: 'tag',
      ref: 'refs/tags/v1.2.3',
      refType: 'tag',
      tag: 'v1.2.3',
      sha: SHA,
      defaultBranch: 'main',
      isDefaultBranch: false,
      repoUrl: 'https://gitlab.example.com/acme/widget',
      repoName: 'widget',
      commitDate: COMMIT_TIME_UTC,
      createdAt: COMMIT_TIME_UTC,
      createdFrom: 'commit',
      warnings: [],
    });
  });

  test('GitLab merge request and external pull request pipelines', () => {
    expect(ctxOf(SCENARIOS[4]?.gitlab as Env)).toMatchObject({
      event: 'merge_request',
      ref: 'refs/merge-requests/42/head',
      refType: 'pr',
      prNumber: 42,
      sha: HEAD,
      commitSha: MERGE,
      headBranch: 'feature/login-form',
      baseBranch: 'main',
    });
    const ext = ctxOf(
      gitlab('external_pull_request_event', {
        CI_EXTERNAL_PULL_REQUEST_IID: '7',
        CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_SHA: HEAD,
        CI_COMMIT_BRANCH: 'feature/x',
      }),
    );
    expect(ext).toMatchObject({ event: 'pull_request', refType: 'pr', prNumber: 7, sha: HEAD });
  });

  test('GitLab: default branch from CI_DEFAULT_BRANCH, description, a malformed timestamp is a warning', () => {
    const ctx = ctxOf(
      gitlab('push', {
        CI_COMMIT_BRANCH: 'develop',
        CI_DEFAULT_BRANCH: 'develop',
        CI_PROJECT_DESCRIPTION: 'Widgets',
        CI_COMMIT_TIMESTAMP: 'yesterday',
      }),
    );
    expect(ctx).toMatchObject({ isDefaultBranch: true, description: 'Widgets', createdFrom: 'now' });
    expect(ctx.warnings).toEqual([expect.stringContaining("CI_COMMIT_TIMESTAMP 'yesterday'")]);
  });

  test('SOURCE_DATE_EPOCH fixes the creation time before the commit time; a bad one is a ConfigurationError', () => {
    const env = gitlab('push', { CI_COMMIT_BRANCH: 'main', SOURCE_DATE_EPOCH: '1700000000' });
    expect(ctxOf(env)).toMatchObject({
      createdAt: '2023-11-14T22:13:20.000Z',
      createdFrom: 'source-date-epoch',
    });
    expect(() => ctxOf({ ...env, SOURCE_DATE_EPOCH: '17e8' })).toThrow(ConfigurationError);
    expect(() => ctxOf({ ...env, SOURCE_DATE_EPOCH: '17e8' })).toThrow(
      /SOURCE_DATE_EPOCH '17e8' is not a time/,
    );
  });

  test('platform detection: KILN_PLATFORM wins, then GITHUB_ACTIONS / GITLAB_CI, else local', () => {
    const gl = gitlab('push', { CI_COMMIT_BRANCH: 'main' });
    expect(ctxOf({ ...gl, GITHUB_ACTIONS: 'false' }).platform).toBe('gitlab');
    expect(ctxOf({ ...gl, KILN_PLATFORM: 'terminal' }).platform).toBe('local');
    expect(ctxOf({ CI_COMMIT_BRANCH: 'main' }).platform).toBe('local');
  });

  test('a terminal: only what the caller passes (e.g. from git), and the inputs', () => {
    const bare = ctxOf({});
    expect(bare).toEqual({
      platform: 'local',
      event: 'local',
      ref: '',
      refType: 'other',
      isDefaultBranch: false,
      repoUrl: '',
      repoName: '',
      createdAt: NOW.toISOString(),
      createdFrom: 'now',
      warnings: [],
    });
    expect(tagsOf(bare, '')).toEqual([]);
    const ctx = ctxOf(
      {},
      {
        ref: 'refs/tags/v1.2.3',
        sha: SHA,
        commitDate: COMMIT_TIME,
        title: 'Widget',
        licenses: 'MIT',
        description: 'A widget',
      },
    );
    expect(ctx).toMatchObject({ refType: 'tag', tag: 'v1.2.3', sha: SHA, createdAt: COMMIT_TIME_UTC });
    expect(tagsOf(ctx, RULES)).toEqual(['1.2.3', '1.2', '1', SHORT, 'latest']);
    expect(ctxOf({}, { ref: 'my/branch' })).toMatchObject({
      ref: 'refs/heads/my/branch',
      branch: 'my/branch',
    });
  });

  test('inputs (title, licenses, description) win over the platform; a ref override replaces the old ref', () => {
    const ctx = ctxOf(github('pull_request', 'refs/pull/42/merge', 'pull-request.json'), {
      licenses: 'MIT OR Apache-2.0',
      title: 'Widget service',
      ref: 'refs/heads/main',
    });
    expect(ctx).toMatchObject({ licenses: 'MIT OR Apache-2.0', repoName: 'Widget service', branch: 'main' });
    expect(ctx.prNumber).toBeUndefined();
    expect(ctx.headBranch).toBeUndefined();
  });
});

describe('labels and the metadata object', () => {
  test('GitHub push to main: the OCI labels, sorted', () => {
    const meta = imageMetadata(ctxOf(github('push', 'refs/heads/main', 'push-main.json')), { now: NOW });
    expect(Object.entries(meta.labels)).toEqual([
      ['org.opencontainers.image.created', COMMIT_TIME_UTC],
      ['org.opencontainers.image.description', 'The acme widget service'],
      ['org.opencontainers.image.licenses', 'Apache-2.0'],
      ['org.opencontainers.image.revision', SHA],
      ['org.opencontainers.image.source', 'https://github.com/acme/widget'],
      ['org.opencontainers.image.title', 'widget'],
      ['org.opencontainers.image.url', 'https://github.com/acme/widget'],
      ['org.opencontainers.image.version', 'main'],
    ]);
    expect(meta.json).toEqual({
      tags: ['main', SHORT],
      version: 'main',
      latest: false,
      labels: meta.labels,
      context: {
        platform: 'github',
        event: 'push',
        ref: 'refs/heads/main',
        refType: 'branch',
        branch: 'main',
        sha: SHA,
        defaultBranch: 'main',
        isDefaultBranch: true,
        repoUrl: 'https://github.com/acme/widget',
        createdAt: COMMIT_TIME_UTC,
        createdFrom: 'commit',
      },
    });
    expect(JSON.parse(JSON.stringify(meta.json))).toEqual(meta.json);
  });

  test('GitLab tag: the same labels but the source address', () => {
    const gh = imageMetadata(ctxOf(github('push', 'refs/tags/v1.2.3', 'push-tag.json')), { tags: RULES });
    const gl = imageMetadata(ctxOf(gitlab('push', { CI_COMMIT_TAG: 'v1.2.3' })), { tags: RULES });
    expect(gl.labels).toEqual({
      'org.opencontainers.image.created': COMMIT_TIME_UTC,
      'org.opencontainers.image.revision': SHA,
      'org.opencontainers.image.source': 'https://gitlab.example.com/acme/widget',
      'org.opencontainers.image.title': 'widget',
      'org.opencontainers.image.url': 'https://gitlab.example.com/acme/widget',
      'org.opencontainers.image.version': '1.2.3',
    });
    const common = (l: Record<string, string>): Record<string, string> => {
      const { ['org.opencontainers.image.source']: _s, ['org.opencontainers.image.url']: _u, ...rest } = l;
      delete rest['org.opencontainers.image.description'];
      delete rest['org.opencontainers.image.licenses'];
      return rest;
    };
    expect(common(gh.labels)).toEqual(common(gl.labels));
  });

  test('no tag: no version label; extra labels are added, replace, or (empty) remove', () => {
    const ctx = ctxOf({}, { sha: SHA });
    expect(ociLabels(ctx, '')).toEqual({
      'org.opencontainers.image.created': NOW.toISOString(),
      'org.opencontainers.image.revision': SHA,
    });
    const meta = imageMetadata(ctx, {
      tags: 'type=ref,event=branch',
      labels: { 'org.opencontainers.image.vendor': 'Acme', 'org.opencontainers.image.revision': '' },
    });
    expect(meta.tags).toEqual([]);
    expect(meta.version).toBe('');
    expect(meta.labels).toEqual({
      'org.opencontainers.image.created': NOW.toISOString(),
      'org.opencontainers.image.vendor': 'Acme',
    });
  });
});

describe('rules', () => {
  const main = (): GitContext => ctxOf(github('push', 'refs/heads/main', 'push-main.json'));
  const feature = (): GitContext =>
    ctxOf(github('push', 'refs/heads/feature/login-form', 'push-feature.json'));
  const tag = (t: string): GitContext => ctxOf(gitlab('push', { CI_COMMIT_TAG: t }));

  test('the default rules', () => {
    expect(DEFAULT_TAG_RULES).toEqual([
      'type=schedule',
      'type=ref,event=branch',
      'type=ref,event=tag',
      'type=ref,event=pr',
      'type=sha',
    ]);
    expect(parseTagRules('\n  # nothing\n\n')).toEqual(parseTagRules(DEFAULT_TAG_RULES));
  });

  test('priority order, then the written order; duplicates dropped', () => {
    expect(tagsOf(main(), 'type=sha\nfoo\ntype=ref,event=branch\nbar\nfoo')).toEqual([
      'main',
      'foo',
      'bar',
      SHORT,
    ]);
    expect(tagsOf(main(), 'type=sha,priority=2000\ntype=ref,event=branch')).toEqual([SHORT, 'main']);
    const meta = imageMetadata(main(), { tags: 'type=raw,value=stable,priority=650\ntype=ref,event=branch' });
    expect(meta.version).toBe('stable');
    expect(meta.labels['org.opencontainers.image.version']).toBe('stable');
  });

  test('raw: bare lines, type=raw,<value>, global expressions', () => {
    expect(
      tagsOf(feature(), "stable\ntype=raw,v2\ntype=raw,value={{branch}}-{{sha}}-{{date 'YYYYMMDD'}}"),
    ).toEqual(['stable', 'v2', 'feature-login-form-a1b2c3d-20240601']);
    // {{tag}} on a branch is empty: the rule gives nothing.
    expect(tagsOf(main(), 'type=raw,value={{tag}}')).toEqual([]);
    expect(tagsOf(tag('v1.2.3'), 'type=raw,value=release-{{tag}}')).toEqual(['release-v1.2.3']);
  });

  test('raw latest with enable={{is_default_branch}}', () => {
    const rules = 'type=ref,event=branch\ntype=raw,value=latest,enable={{is_default_branch}}';
    expect(tagsOf(main(), rules)).toEqual(['main', 'latest']);
    expect(tagsOf(feature(), rules)).toEqual(['feature-login-form']);
    expect(
      tagsOf(feature(), 'type=raw,value=dev,enable={{is_not_default_branch}}\ntype=raw,value=x,enable=false'),
    ).toEqual(['dev']);
  });

  test('semver: {{raw}}, value= and match=, major zero, build metadata', () => {
    expect(tagsOf(tag('v1.2.3'), 'type=semver,pattern={{raw}}\ntype=semver,pattern=v{{major}}')).toEqual([
      'v1.2.3',
      'v1',
      'latest',
    ]);
    expect(
      tagsOf(tag('v2.0.8-beta.67'), 'type=semver,pattern={{raw}}\ntype=semver,pattern={{major}}'),
    ).toEqual(['v2.0.8-beta.67', '2.0.8-beta.67']);
    expect(
      tagsOf(tag('v0.1.2'), 'type=semver,pattern={{major}}.{{minor}}\ntype=semver,pattern={{major}}'),
    ).toEqual(['0.1', '0', 'latest']);
    expect(
      tagsOf(tag('v1.2.3+build.5'), 'type=semver,pattern={{version}}\ntype=semver,pattern={{raw}}'),
    ).toEqual(['1.2.3', 'v1.2.3-build.5', 'latest']);
    expect(tagsOf(tag('p1/v1.2.3'), 'type=semver,pattern={{version}},match=v(\\d.\\d.\\d)$')).toEqual([
      '1.2.3',
      'latest',
    ]);
    expect(tagsOf(main(), 'type=semver,pattern={{major}}.{{minor}},value=v3.4.5')).toEqual(['3.4', 'latest']);
    expect(tagsOf(main(), 'type=semver,pattern={{version}}')).toEqual([]);
  });

  test('semver on a tag that is not a version: no tag, a warning', () => {
    const r = computeTags(tag('release-2024'), parseTagRules('type=semver,pattern={{version}}\ntype=sha'));
    expect(r.tags).toEqual([SHORT]);
    expect(r.latest).toBe(false);
    expect(r.warnings).toEqual([expect.stringMatching(/line 1 .*'release-2024' is not a semantic version/)]);
  });

  test('ref,event=tag and match: latest only for a release version', () => {
    expect(tagsOf(tag('v1.2.3'), 'type=ref,event=tag')).toEqual(['v1.2.3', 'latest']);
    expect(tagsOf(tag('v1.2.3-rc.1'), 'type=ref,event=tag')).toEqual(['v1.2.3-rc.1']);
    expect(tagsOf(tag('stable-2024'), 'type=ref,event=tag')).toEqual(['stable-2024']);
    expect(tagsOf(tag('v1.2.3'), 'type=match,pattern=v(\\d+\\.\\d+),group=1')).toEqual(['1.2', 'latest']);
    expect(tagsOf(tag('v2.0.8-beta.67'), 'type=match,pattern=v(\\d.\\d),group=1')).toEqual(['2.0']);
    expect(tagsOf(tag('20200110-RC2'), 'type=match,pattern=\\d+')).toEqual(['20200110']);
    expect(tagsOf(tag('V1.2'), 'type=match,pattern=/v(\\d)/i,group=1')).toEqual(['1']);
    // A comma in a regex: quote the field (CSV) or the value.
    expect(tagsOf(tag('v10.20.3'), 'type=match,"pattern=v(\\d{1,3}\\.\\d{1,3})",group=1')).toEqual([
      '10.20',
      'latest',
    ]);
    expect(tagsOf(tag('v10.20.3'), 'type=match,pattern="v(\\d{1,3})",group=1')).toEqual(['10', 'latest']);
    const r = computeTags(tag('nope'), parseTagRules('type=match,pattern=v(\\d)'));
    expect(r.tags).toEqual([]);
    expect(r.warnings).toEqual([expect.stringContaining('does not match')]);
  });

  test('the first rule that gives a tag decides latest', () => {
    // sha first (priority) on a release tag: no latest under auto.
    expect(tagsOf(tag('v1.2.3'), 'type=sha,priority=1000\ntype=semver,pattern={{version}}')).toEqual([
      SHORT,
      '1.2.3',
    ]);
  });

  test('flavor: latest=true|false, prefix and suffix (onlatest), replaced by a rule’s own', () => {
    expect(tagsOf(main(), 'type=ref,event=branch', 'latest=true')).toEqual(['main', 'latest']);
    expect(tagsOf(tag('v1.2.3'), 'type=ref,event=tag', 'latest=false')).toEqual(['v1.2.3']);
    expect(
      tagsOf(tag('v1.2.3'), 'type=ref,event=tag\ntype=sha', 'prefix=app-\nsuffix=-alpine,onlatest=true'),
    ).toEqual(['app-v1.2.3-alpine', 'sha-a1b2c3d-alpine', 'latest-alpine']);
    expect(
      tagsOf(main(), 'type=ref,event=branch,prefix=,suffix=-x', 'prefix=app-,onlatest=true\nlatest=true'),
    ).toEqual(['main-x', 'app-latest']);
    expect(tagsOf(main(), 'type=sha,prefix={{branch}}-,format=long')).toEqual([`main-${SHA}`]);
  });

  test('edge: on the default branch, or the branch named', () => {
    expect(tagsOf(main(), 'type=edge')).toEqual(['edge']);
    expect(tagsOf(feature(), 'type=edge')).toEqual([]);
    expect(tagsOf(feature(), 'type=edge,branch=feature/login-form')).toEqual(['edge']);
    const r = computeTags(ctxOf({}, { ref: 'main' }), parseTagRules('type=edge'));
    expect(r.warnings).toEqual([expect.stringContaining('default branch is not known')]);
  });

  test('schedule: only on scheduled runs; date patterns in UTC or tz=', () => {
    const nightly = ctxOf(github('schedule', 'refs/heads/main', 'schedule.json'));
    expect(tagsOf(nightly, "type=schedule,pattern={{date 'YYYYMMDD'}}")).toEqual(['20240601']);
    expect(tagsOf(nightly, "type=schedule,pattern={{date 'YYYYMMDD-HHmmss' tz='Asia/Tokyo'}}")).toEqual([
      '20240601-120000',
    ]);
    expect(tagsOf(nightly, "type=schedule,pattern=nightly-{{commit_date 'YYYY.MM.DD'}}")).toEqual([
      'nightly-2024.06.01',
    ]);
    expect(tagsOf(main(), "type=raw,value={{commit_date 'YYYY.MM.DD'}}")).toEqual(['2024.05.01']);
    expect(tagsOf(main(), 'type=schedule')).toEqual([]);
  });
});

describe('sanitising', () => {
  test.each([
    ['feature/login-form', 'feature-login-form'],
    ['feat/ünïcödé space', 'feat-n-c-d-space'],
    ['-leading-dash', 'leading-dash'],
    ['.hidden', 'hidden'],
    ['/x', 'x'],
    ['_under', '_under'],
    ['a'.repeat(200), 'a'.repeat(128)],
    ['a@@b##c', 'a-b-c'],
    ['!!!', ''],
  ])('%s → %s', (input, expected) => {
    expect(sanitizeTag(input)).toBe(expected);
    if (expected !== '') expect(isValidTag(expected)).toBe(true);
  });

  test('branches and values become valid tags; one that cannot is skipped with a warning', () => {
    const ctx = ctxOf(gitlab('push', { CI_COMMIT_BRANCH: `-renovate/${'x'.repeat(140)}` }));
    const r = computeTags(ctx, parseTagRules('type=ref,event=branch\ntype=raw,value=@@@\ntype=sha'));
    expect(r.tags).toEqual([`renovate-${'x'.repeat(119)}`, SHORT]);
    expect(r.warnings).toEqual([
      expect.stringContaining('cut at 128 characters'),
      expect.stringMatching(/line 2 .*'@@@', which is no tag once sanitised/),
    ]);
  });
});

describe('malformed rules name the input, the line and what is expected', () => {
  test.each([
    [
      'type=semver',
      /line 4 'type=semver': type=semver needs pattern= \(e\.g\. type=semver,pattern=\{\{version\}\}\)/,
    ],
    ['type=ref', /type=ref needs event=/],
    ['type=ref,event=push', /event=push is not known; expected event=branch, event=tag or event=pr/],
    ['type=bogus', /unknown type 'bogus'; expected one of type=schedule, type=semver/],
    ['type=pep440,pattern={{version}}', /type=pep440 is not supported/],
    ['type=sha,format=medium', /format=medium is not known/],
    [
      'type=sha,foo=bar',
      /unknown attribute 'foo=' for type=sha; expected enable=, priority=, prefix=, suffix=, format=/,
    ],
    ['type=raw', /type=raw needs value=/],
    ['type=raw,value=a,value=b', /value= is given twice/],
    [
      'type=raw,value={{nope}}',
      /value=: unknown expression '\{\{nope\}\}' here; expected one of \{\{branch\}\}/,
    ],
    ['type=raw,value={{branch', /'\{\{' at character 1 is not closed/],
    ['type=raw,value=a}}', /closes nothing/],
    [
      'type=semver,pattern={{branch}}',
      /unknown expression '\{\{branch\}\}' here; expected one of \{\{raw\}\}, \{\{version\}\}/,
    ],
    ['type=semver,pattern={{version}},match=v\\d', /needs a capture group/],
    ['type=match,pattern=(', /pattern=\( is not a valid regular expression/],
    ['type=match,pattern=v(.*),group=2', /group=2 but pattern=v\(\.\*\) has 1 capture group/],
    ['type=match,pattern=v(.*),group=one', /group=one is not a group number/],
    ['type=match,pattern=/v/g', /the g and y flags are not allowed/],
    ['type=sha,enable=maybe', /enable=maybe is not known; expected enable=true, enable=false/],
    ['type=sha,priority=high', /priority=high is not a whole number/],
    ["type=schedule,pattern={{date 'Qo'}}", /'Q' in date format 'Qo' is not supported/],
    ["type=schedule,pattern={{date 'YYYY' tz='Mars/Olympus'}}", /unknown time zone tz='Mars\/Olympus'/],
    ['type=schedule,pattern={{date}}', /\{\{date\}\} takes one format/],
    ["type=raw,value={{sha 'x'}}", /\{\{sha\}\} takes no arguments/],
    ['type=match,"pattern=v(\\d)', /a double quote is not closed/],
    ['type=raw,=x', /has no attribute name/],
  ])('%s', (line, message) => {
    const rules = `type=ref,event=branch\n\n# a comment\n${line}`;
    let error: unknown;
    try {
      parseTagRules(rules);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).input).toBe('tags');
    expect((error as Error).message).toMatch(/^Input 'tags': line 4 '/);
    expect((error as Error).message).toMatch(message);
  });

  test.each([
    ['latest=sometimes', /latest=sometimes is not known; expected latest=auto, latest=true or latest=false/],
    ['onlatest=true', /onlatest= must follow prefix= or suffix=/],
    ['prefix=a,onlatest=yes', /onlatest=yes is not known/],
    ['colour=blue', /'colour=' is not known; expected latest=auto\|true\|false/],
    ['prefix={{nope}}', /prefix=: unknown expression/],
  ])('flavor %s', (line, message) => {
    expect(() => parseFlavor(line)).toThrow(InputError);
    expect(() => parseFlavor(line)).toThrow(message);
    expect(() => parseFlavor(line)).toThrow(/^Input 'flavor': line 1 /);
  });

  test('imageMetadata checks both inputs', () => {
    expect(() => imageMetadata(ctxOf({}), { tags: 'type=nope' })).toThrow(/^Input 'tags': line 1/);
    expect(() => imageMetadata(ctxOf({}), { flavor: 'latest=yes' })).toThrow(/^Input 'flavor': line 1/);
  });
});

describe('semantic versions and dates', () => {
  test.each([
    ['v1.2.3', '1.2.3', true],
    ['1.2.3', '1.2.3', true],
    ['1.2.3+build.1', '1.2.3', true],
    ['v2.0.0-rc.1', '2.0.0-rc.1', false],
    ['1.0.0-alpha-1.0', '1.0.0-alpha-1.0', false],
  ])('%s is version %s (release: %s)', (s, version, release) => {
    expect(parseSemVer(s)?.version).toBe(version);
    expect(isReleaseVersion(s)).toBe(release);
  });

  test.each(['1.2', '01.2.3', '1.2.3-01', 'v1.2.3.4', 'x1.2.3', '1.2.3-', '', 'latest'])(
    '%s is not a version',
    (s) => {
      expect(parseSemVer(s)).toBeUndefined();
      expect(isReleaseVersion(s)).toBe(false);
    },
  );

  test('moment-style date tokens', () => {
    const d = new Date('2020-01-10T15:05:09.042Z');
    expect(formatDate(d, 'YYYY-MM-DD[T]HH:mm:ss.SSS')).toBe('2020-01-10T15:05:09.042');
    expect(formatDate(d, 'YY M D H m s h A a X x')).toBe('20 1 10 15 5 9 3 PM pm 1578668709 1578668709042');
    expect(formatDate(d, 'YYYYMMDD-HHmmss', 'Asia/Tokyo')).toBe('20200111-000509');
    expect(formatDate(new Date('2020-01-10T00:30:00Z'), 'hh:mm A')).toBe('12:30 AM');
  });
});
