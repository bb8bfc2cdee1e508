import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPlatform, detectPlatformKind } from '../../packages/core/src/platform/detect.js';
import { GitHubPlatform } from '../../packages/core/src/platform/github.js';
import { GitLabPlatform } from '../../packages/core/src/platform/gitlab.js';
import { fitLine, Summary } from '../../packages/core/src/platform/summary.js';
import { TerminalPlatform } from '../../packages/core/src/platform/terminal.js';
import { parseFileCommands, parseWorkflowCommands } from '../harness/runner.js';

let written: string[] = [];
let restore: () => void;
beforeEach(() => {
  written = [];
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((c: unknown) => {
    written.push(String(c));
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((c: unknown) => {
    written.push(String(c));
    return true;
  });
  restore = () => {
    out.mockRestore();
    err.mockRestore();
  };
});
afterEach(() => restore());

describe('platform detection', () => {
  test.each([
    [{ GITHUB_ACTIONS: 'true' }, 'github'],
    [{ GITLAB_CI: 'true' }, 'gitlab'],
    [{}, 'terminal'],
    [{ GITHUB_ACTIONS: 'true', KILN_PLATFORM: 'terminal' }, 'terminal'],
    [{ KILN_PLATFORM: 'GitLab' }, 'gitlab'],
  ])('%j → %s', (env, kind) => expect(detectPlatformKind(env)).toBe(kind));
  test('createPlatform picks the implementation', async () => {
    expect(await createPlatform({ env: { GITLAB_CI: 'true' } })).toBeInstanceOf(GitLabPlatform);
    expect(await createPlatform({ env: {} })).toBeInstanceOf(TerminalPlatform);
    expect(await createPlatform({ env: { GITHUB_ACTIONS: 'true' } })).toBeInstanceOf(GitHubPlatform);
  });
});

describe('GitHub', () => {
  test('annotations carry file and line; groups and debug are workflow commands', () => {
    const p = new GitHubPlatform({ env: { GITHUB_ACTIONS: 'true' } });
    p.log.warning('careful: 50% done', { file: 'deploy/qa.json', startLine: 3, title: 'App' });
    p.log.error('broken\nsecond line');
    p.log.startGroup('Deploy');
    p.log.endGroup();
    const cmds = parseWorkflowCommands(written.join(''));
    expect(cmds[0]).toEqual({
      command: 'warning',
      properties: { title: 'App', file: 'deploy/qa.json', line: '3' },
      message: 'careful: 50% done',
    });
    expect(cmds[1]).toEqual({ command: 'error', properties: {}, message: 'broken\nsecond line' });
    expect(cmds.slice(2).map((c) => c.command)).toEqual(['group', 'endgroup']);
  });
  test('state: saved through GITHUB_STATE, read back from STATE_<name> in the post step', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-state-'));
    const file = join(dir, 'state');
    writeFileSync(file, '');
    const prev = process.env.GITHUB_STATE;
    process.env.GITHUB_STATE = file;
    try {
      new GitHubPlatform({ env: {} }).saveState('deployment', 'abc\nline2');
    } finally {
      if (prev === undefined) delete process.env.GITHUB_STATE;
      else process.env.GITHUB_STATE = prev;
    }
    const saved = parseFileCommands(readFileSync(file, 'utf8'));
    expect(saved.get('deployment')).toBe('abc\nline2');
    const post = new GitHubPlatform({ env: { STATE_deployment: saved.get('deployment') } });
    expect(post.getState('deployment')).toBe('abc\nline2');
  });
  test('inputs: INPUT_<NAME> with dashes kept, spaces as underscores', () => {
    const p = new GitHubPlatform({ env: { 'INPUT_DEPLOY-TARGET': 'qa', INPUT_MY_INPUT: 'x' } });
    expect(p.getInput('deploy-target')).toBe('qa');
    expect(p.getInput('my input')).toBe('x');
  });
  test('the summary is appended to GITHUB_STEP_SUMMARY', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-sum-'));
    const file = join(dir, 'summary');
    writeFileSync(file, 'earlier step\n');
    new GitHubPlatform({ env: { GITHUB_STEP_SUMMARY: file } }).writeSummary(new Summary().heading('Hi'));
    expect(readFileSync(file, 'utf8')).toBe('earlier step\n## Hi\n\n');
  });
});

describe('GitLab', () => {
  test('groups are collapsible sections with matching names; warnings are labelled', () => {
    const p = new GitLabPlatform({
      env: { GITLAB_CI: 'true', NO_COLOR: '1' },
      cwd: mkdtempSync(join(tmpdir(), 'gl-')),
    });
    p.log.startGroup('Deploy to AA');
    p.log.info('inside');
    p.log.endGroup();
    p.log.warning('slow', { file: 'a.json', startLine: 2 });
    const text = written.join('');
    const start =
      // eslint-disable-next-line no-control-regex -- GitLab section markers are ANSI control sequences
      /\x1b\[0Ksection_start:(\d+):(kiln_\d+_deploy_to_aa)\[collapsed=true\]\r\x1b\[0KDeploy to AA\n/.exec(
        text,
      );
    expect(start).not.toBeNull();
    expect(text).toContain(`\x1b[0Ksection_end:`);
    expect(text).toMatch(new RegExp(`section_end:\\d+:${start?.[2]}\\r\\x1b\\[0K\\n`));
    expect(text).toContain('inside\n');
    expect(text).toContain('warning: a.json:2: slow\n');
  });
  test('debug lines only with CI_DEBUG_TRACE or KILN_DEBUG', () => {
    new GitLabPlatform({ env: { NO_COLOR: '1' } }).log.debug('hidden');
    new GitLabPlatform({ env: { NO_COLOR: '1', CI_DEBUG_TRACE: 'true' } }).log.debug('shown');
    expect(written.join('')).toBe('debug: shown\n');
  });
  test('inputs: flags first, then KILN_<NAME>', () => {
    const p = new GitLabPlatform({
      env: { KILN_DEPLOY_TARGET: 'env', KILN_OTHER: 'o' },
      flags: new Map([['deploy-target', ['flag']]]),
    });
    expect(p.getInput('deploy-target')).toBe('flag');
    expect(p.getInput('other')).toBe('o');
  });
  test('an empty flag is not given: KILN_<NAME> (or the default) applies, as an empty with: value on GitHub', () => {
    const p = new GitLabPlatform({
      env: { KILN_DEPLOY_TARGET: 'env' },
      flags: new Map([
        ['deploy-target', ['']],
        ['other', ['']],
      ]),
    });
    expect(p.getInput('deploy-target')).toBe('env');
    expect(p.getInput('other')).toBeUndefined();
  });
  test('CI context from predefined variables', () => {
    const p = new GitLabPlatform({
      env: { CI_COMMIT_SHA: 'abc', CI_PIPELINE_URL: 'https://gl/p/1', CI_PROJECT_PATH: 'g/p' },
    });
    expect(p.ci()).toMatchObject({
      system: 'gitlab',
      sha: 'abc',
      runUrl: 'https://gl/p/1',
      repository: 'g/p',
    });
  });
});

describe('Summary', () => {
  const s = new Summary()
    .heading('Deploy <qa>')
    .paragraph('2 of 3 *done*')
    .table(
      ['Cluster', 'Result'],
      [
        ['AA | main', 'ok'],
        ['BB', undefined],
      ],
    )
    .list(['one'])
    .code('x```y', 'json')
    .details('More', (d) => d.paragraph('inner'));
  test('markdown escapes user text and keeps tables intact', () => {
    const md = s.toMarkdown();
    expect(md).toContain('## Deploy &lt;qa&gt;\n');
    expect(md).toContain('2 of 3 \\*done\\*');
    expect(md).toContain('| Cluster | Result |\n| --- | --- |\n| AA \\| main | ok |\n| BB |  |');
    expect(md).toContain('````json\nx```y\n````');
    expect(md).toContain('<details><summary>More</summary>');
  });
  test('plain text aligns the table columns', () => {
    const text = s.toText();
    expect(text).toContain('Deploy <qa>\n-----------');
    expect(text).toContain('Cluster    Result\n---------  ------\nAA | main  ok\nBB');
  });
});

describe('fitLine (terminal log lines)', () => {
  test('a run of spaces before a long word wraps without a blank or space-only line', () => {
    const line = `+     "${'x'.repeat(110)}"`;
    const fitted = fitLine(line, 100).split('\n');
    expect(fitted).toEqual(['+', `    "${'x'.repeat(110)}"`]);
    for (const l of fitted) expect(l).toBe(l.trimEnd());
  });

  test('spacing inside a line is kept where it does not wrap; a word is never cut', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const fitted = fitLine(`Release  When  ${digest} and some more words after it`, 40).split('\n');
    expect(fitted[0]).toBe('Release  When');
    expect(fitted[1]).toBe(`    ${digest}`);
    expect(fitted.join(' ')).toContain('and some more words');
  });
});
