/**
 * Output injection: a value with line breaks, `=`, `<<` or a guessed heredoc delimiter must never create
 * another key, on any platform. Each platform runs in its own process, exactly as in CI, and the result is
 * read back with the consumer's grammar: the runner's file-command parser (GitHub), a dotenv parser (GitLab)
 * and JSON (terminal).
 */
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDotenv, dotenvKey, dotenvValue } from '../../packages/core/src/platform/gitlab.js';
import { parseFileCommands } from '../harness/runner.js';
import { runTsx } from '../harness/tsx.js';

const hostile: Record<string, string> = {
  plain: 'hello',
  'with-equals': 'a=b=c',
  'with-newline': 'first\nINJECTED=1',
  'with-crlf': 'first\r\nINJECTED_CR=1',
  'with-heredoc': 'x\nEVIL<<EOF\nowned\nEOF',
  'with-delimiter-guess': 'ghadelimiter_\nINJECTED_DELIM=1\nghadelimiter_',
  'duration-ms': '1200',
};

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    KILN_TEST_OUTPUTS: JSON.stringify(hostile),
    ...extra,
  };
}

describe('output injection', () => {
  test('GitHub: GITHUB_OUTPUT parses back to exactly the keys set, values intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-out-'));
    const file = join(dir, 'output');
    writeFileSync(file, '');
    const r = await runTsx('test/fixtures/set-outputs.ts', [], {
      env: baseEnv({ GITHUB_ACTIONS: 'true', GITHUB_OUTPUT: file }),
    });
    expect(r.exitCode).toBe(0);
    const parsed = parseFileCommands(readFileSync(file, 'utf8'));
    expect([...parsed.keys()].sort()).toEqual(Object.keys(hostile).sort());
    for (const [k, v] of Object.entries(hostile)) expect(parsed.get(k)).toBe(v.replace(/\r\n/g, '\n'));
  });

  test('GitLab: the dotenv file has one line per output and no injected key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-out-'));
    const r = await runTsx('test/fixtures/set-outputs.ts', [], {
      env: baseEnv({ GITLAB_CI: 'true', CI_PROJECT_DIR: dir }),
    });
    expect(r.exitCode).toBe(0);
    const text = readFileSync(join(dir, 'kiln.env'), 'utf8');
    const parsed = parseDotenv(text);
    expect([...parsed.keys()].sort()).toEqual(
      Object.keys(hostile)
        .map((k) => dotenvKey(k))
        .sort(),
    );
    expect(text.trimEnd().split('\n')).toHaveLength(Object.keys(hostile).length);
    expect(parsed.get('WITH_EQUALS')).toBe('a=b=c');
    expect(parsed.get('WITH_NEWLINE')).toBe('first\\nINJECTED=1');
    expect(parsed.get('DURATION_MS')).toBe('1200');
    expect(parsed.has('INJECTED')).toBe(false);
  });

  test('GitLab: outputs of earlier steps in the same job are kept, ours override', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-out-'));
    writeFileSync(join(dir, 'kiln.env'), 'EARLIER=1\nPLAIN=old\n');
    const r = await runTsx('test/fixtures/set-outputs.ts', [], {
      env: baseEnv({ GITLAB_CI: 'true', CI_PROJECT_DIR: dir }),
    });
    expect(r.exitCode).toBe(0);
    const parsed = parseDotenv(readFileSync(join(dir, 'kiln.env'), 'utf8'));
    expect(parsed.get('EARLIER')).toBe('1');
    expect(parsed.get('PLAIN')).toBe('hello');
  });

  test('terminal --json: stdout is one JSON object with exactly the keys set', async () => {
    const r = await runTsx('test/fixtures/set-outputs.ts', ['--json'], { env: baseEnv({}) });
    expect(r.exitCode).toBe(0);
    const parsed = JSON.parse(r.stdout) as Record<string, string>;
    expect(Object.keys(parsed).sort()).toEqual(Object.keys(hostile).sort());
    expect(parsed['with-newline']).toBe('first\nINJECTED=1');
  });

  test('dotenv encoding helpers', () => {
    expect(dotenvKey('duration-ms')).toBe('DURATION_MS');
    expect(dotenvKey('verdict', 'QA_')).toBe('QA_VERDICT');
    expect(dotenvValue('a\nb')).toEqual({ value: 'a\\nb', changed: true });
    expect(dotenvValue('a=b')).toEqual({ value: 'a=b', changed: false });
  });
});
