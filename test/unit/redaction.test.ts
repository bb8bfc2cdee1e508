/**
 * Secrets never leave the process: an action that tries every route (logs, warnings, groups, a child
 * process, raw stdout, console.log, the summary, an output, state, an error message) runs on each platform;
 * everything it printed and every file it left is scanned for the secret and its base64 / URL-encoded forms.
 */
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MASK, Redactor } from '../../packages/core/src/platform/redact.js';
import { listFiles } from '../harness/runner.js';
import { runTsx } from '../harness/tsx.js';

const TOKEN = 'tok-5ecr3t-Value-91';
const PASSWORD = 'p@ss w/rd&more';
const forms = [TOKEN, Buffer.from(TOKEN).toString('base64'), PASSWORD, encodeURIComponent(PASSWORD)];

function leaks(text: string): string[] {
  return forms.filter((f) => text.includes(f));
}

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, KILN_DEBUG: '1', ...extra };
}

describe('Redactor', () => {
  test('masks the secret, its base64 and URL-encoded forms, longest first', () => {
    const r = new Redactor();
    r.add('abc:def');
    r.add('abc');
    const text = `x abc:def y ${Buffer.from('abc:def').toString('base64')} z ${encodeURIComponent('abc:def')} abc`;
    expect(r.redact(text)).toBe(`x ${MASK} y ${MASK} z ${MASK} ${MASK}`);
  });
  test('multi-line secrets are masked line by line; tiny values are ignored', () => {
    const r = new Redactor();
    r.add('line-one\nline-two');
    r.add('ab');
    expect(r.redact('line-one and line-two, ab')).toBe(`${MASK} and ${MASK}, ab`);
  });
});

describe('secrets on every platform', () => {
  test('GitHub: masked with ::add-mask:: and absent from every other line and file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-leak-gh-'));
    const files: Record<string, string> = {};
    for (const f of ['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_ENV', 'GITHUB_STEP_SUMMARY']) {
      files[f] = join(dir, f.toLowerCase());
      writeFileSync(files[f] as string, '');
    }
    const r = await runTsx('test/fixtures/leaky-action.ts', [], {
      cwd: dir,
      env: env({
        GITHUB_ACTIONS: 'true',
        GITHUB_WORKSPACE: dir,
        INPUT_TOKEN: TOKEN,
        INPUT_PASSWORD: PASSWORD,
        RUNNER_DEBUG: '1',
        ...files,
      }),
    });
    expect(r.exitCode).toBe(1);
    const lines = r.stdout.split('\n');
    const masks = lines
      .filter((l) => l.startsWith('::add-mask::'))
      .map((l) => l.slice('::add-mask::'.length));
    expect(masks).toEqual(expect.arrayContaining([TOKEN, Buffer.from(TOKEN).toString('base64'), PASSWORD]));
    const rest = lines.filter((l) => !l.startsWith('::add-mask::')).join('\n') + r.stderr;
    expect(rest).toContain('child says ***'); // the routes were really taken
    expect(rest).toContain('failed with ***');
    expect(leaks(rest)).toEqual([]);
    for (const [path, content] of listFiles(dir)) {
      // GITHUB_STATE is the runner's own hand-over to the post step, never shown: state is not masked there.
      if (path === files.GITHUB_STATE) continue;
      expect({ path, leaks: leaks(content) }).toEqual({ path, leaks: [] });
    }
  });

  test.each([
    ['GitLab', { GITLAB_CI: 'true' }],
    ['terminal', {}],
  ])('%s: nothing printed or written contains the secret', async (_name, platformEnv) => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-leak-'));
    const r = await runTsx('test/fixtures/leaky-action.ts', [], {
      cwd: dir,
      env: env({
        ...platformEnv,
        CI_PROJECT_DIR: dir,
        KILN_SUMMARY_FILE: 'kiln-summary.md',
        KILN_TOKEN: TOKEN,
        KILN_PASSWORD: PASSWORD,
      }),
    });
    expect(r.exitCode).toBe(1);
    const all = r.stdout + r.stderr;
    expect(all).toContain('child says ***');
    expect(all).toContain('child err ***');
    expect(all).toContain('failed with ***');
    expect(all).toContain('console.log ***');
    expect(leaks(all)).toEqual([]);
    const files = listFiles(dir);
    expect(files.size).toBeGreaterThan(0);
    for (const [path, content] of files) expect({ path, leaks: leaks(content) }).toEqual({ path, leaks: [] });
  });

  test('an invalid secret input is never echoed in the error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-leak-'));
    const r = await runTsx(
      'actions/smoke-test/src/index.ts',
      ['--url', 'http://127.0.0.1:9/', '--basic-auth', 'no-colon-secret-xyz'],
      {
        cwd: dir,
        env: env({}),
      },
    );
    expect(r.exitCode).toBe(2); // a bad input;
    expect(r.stderr).toContain("Input 'basic-auth'");
    expect(r.stdout + r.stderr).not.toContain('no-colon-secret-xyz');
  });
});
