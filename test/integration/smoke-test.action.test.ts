/**
 * smoke-test as users run it: the committed bundle under the runner contract (harness), under this machine's
 * Node and under Node 24, and the CLI bundle in GitLab and terminal mode.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  closedPort,
  healthyAfter,
  ok,
  startServer,
  status,
  type TestServer,
} from '../harness/http-fixture.js';
import { repoRoot, runBundle, runtimes } from '../harness/runner.js';
import { runNode } from '../harness/tsx.js';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ '/health': ok, '/missing': status(404, 'nothing here') });
});
afterAll(() => srv.close());

const fast = { interval: '50ms', deadline: '5s', timeout: '2s' };

describe.each(runtimes())('smoke-test bundle under $label', ({ node }) => {
  test('a healthy service passes: outputs, summary, exit 0', async () => {
    const r = await runBundle('smoke-test', { node, with: { url: `${srv.url}/health`, ...fast } });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.outputs.get('verdict')).toBe('pass');
    expect(r.outputs.get('attempts')).toBe('1');
    expect(Number(r.outputs.get('duration-ms'))).toBeGreaterThanOrEqual(0);
    const results = JSON.parse(r.outputs.get('results') as string);
    expect(results).toEqual([
      expect.objectContaining({
        name: `${srv.url}/health`,
        verdict: 'pass',
        attempts: 1,
        status: 200,
        reason: null,
      }),
    ]);
    expect(r.outputs.get('passed')).toBe('1');
    expect(r.outputs.get('failed')).toBe('0');
    expect(r.outputs.get('errors')).toBe('0');
    expect(r.outputs.get('report')).toBe('kiln-reports/smoke-test.json');
    const report = JSON.parse(readFileSync(join(r.workspace, 'kiln-reports/smoke-test.json'), 'utf8'));
    expect(report).toMatchObject({ verdict: 'pass', counts: { checks: 1, passed: 1 } });
    expect(readFileSync(join(r.workspace, 'kiln-reports/smoke-test.junit.xml'), 'utf8')).toContain(
      'tests="1" failures="0"',
    );
    expect(r.summary).toMatch(/^## ✅ smoke test passed: 1 check in \S+$/m);
    expect(r.summary).toContain('| Check | Verdict | Status | Latency |');
    expect(r.summary).toContain(`| ${srv.url}/health | ✅ pass | 200 |`);
    expect(r.commands.filter((c) => c.command === 'error')).toEqual([]);
  });

  test('waits for a service that becomes healthy', async () => {
    srv.route('/warming', healthyAfter(2));
    const r = await runBundle('smoke-test', { node, with: { url: `${srv.url}/warming`, ...fast } });
    expect(r.exitCode).toBe(0);
    expect(r.outputs.get('verdict')).toBe('pass');
    expect(r.outputs.get('attempts')).toBe('3');
    expect(r.stdout).toContain('status 503, expected 200-299 — retrying in 50ms');
  });

  test('an unexpected status until the deadline fails: exit 1, verdict fail, error annotation', async () => {
    const r = await runBundle('smoke-test', {
      node,
      with: { url: `${srv.url}/health\n${srv.url}/missing`, interval: '50ms', deadline: '300ms' },
    });
    expect(r.exitCode).toBe(1);
    expect(r.outputs.get('verdict')).toBe('fail');
    const errors = r.commands.filter((c) => c.command === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain(`${srv.url}/missing: status 404, expected 200-299`);
    expect(r.summary).toContain('❌ fail');
    // The healthy URL is not asked again once it passed.
    const results = JSON.parse(r.outputs.get('results') as string);
    expect(results[0]).toMatchObject({ verdict: 'pass', attempts: 1 });
    expect(results[1].attempts).toBeGreaterThan(1);
  });

  test('expect-status accepts lists and ranges', async () => {
    const r = await runBundle('smoke-test', {
      node,
      with: { url: `${srv.url}/missing`, 'expect-status': '200, 404', ...fast },
    });
    expect(r.exitCode).toBe(0);
    expect(r.outputs.get('verdict')).toBe('pass');
  });

  test('INPUT_TIMEOUT=abc exits 2 (bad input) with one line naming timeout, no stack', async () => {
    const r = await runBundle('smoke-test', {
      node,
      with: { url: `${srv.url}/health` },
      env: { INPUT_TIMEOUT: 'abc' },
    });
    expect(r.exitCode).toBe(2);
    const lines = (r.stdout + r.stderr).split('\n').filter((l) => l.trim() !== '');
    expect(lines).toEqual([
      `::error::Input 'timeout': "abc" is not a duration; expected e.g. 500ms, 30s, 5m or 1h30m.`,
    ]);
    expect(r.outputs.size).toBe(0);
  });

  test('a bad expect-status is a one-line input error', async () => {
    const r = await runBundle('smoke-test', {
      node,
      with: { url: `${srv.url}/health`, 'expect-status': '2000' },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stdout.trim()).toBe(
      `::error::Input 'expect-status': "2000": '2000' is not a status code; expected codes such as 200, 200-299, 2xx or 200,301.`,
    );
  });

  test('a refused connection is an error (exit 3: not tested), reported with its reason', async () => {
    const port = await closedPort();
    const r = await runBundle('smoke-test', {
      node,
      with: { url: `http://127.0.0.1:${port}/`, interval: '50ms', deadline: '200ms' },
    });
    expect(r.exitCode).toBe(3);
    expect(r.outputs.get('verdict')).toBe('error');
    expect(JSON.parse(r.outputs.get('results') as string)[0].reason).toContain('connection refused');
  });

  test('SIGTERM while waiting cancels cleanly with exit 143', async () => {
    srv.route('/never', status(503));
    const r = await runBundle('smoke-test', {
      node,
      with: { url: `${srv.url}/never`, interval: '200ms', deadline: '30s' },
      signalWhen: { text: 'retrying in', signal: 'SIGTERM' },
    });
    expect(r.exitCode).toBe(143);
    expect(r.stdout).toContain('smoke-test was cancelled (SIGTERM)');
    // What finished is still reported.
    const report = JSON.parse(readFileSync(join(r.workspace, 'kiln-reports/smoke-test.json'), 'utf8'));
    expect(report.checks[0]).toMatchObject({ verdict: 'cancelled' });
    expect(r.outputs.get('verdict')).toBe('error');
  });
  test('SIGINT while waiting cancels cleanly with exit 130', async () => {
    srv.route('/never', status(503));
    const r = await runBundle('smoke-test', {
      node,
      with: { url: `${srv.url}/never`, interval: '200ms', deadline: '30s' },
      signalWhen: { text: 'retrying in', signal: 'SIGINT' },
    });
    expect(r.exitCode).toBe(130);
    expect(r.stdout).toContain('smoke-test was cancelled (SIGINT)');
  });
});

describe('the kiln CLI bundle', () => {
  const cli = join(repoRoot, 'dist', 'cli', 'index.js');
  // A wide terminal: these tests read whole lines; the next test checks how lines fit a narrow one.
  const env = (extra: Record<string, string>) => ({
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    COLUMNS: '1000',
    ...extra,
  });

  test('in a terminal of 60 columns every log line fits, wrapped at spaces, and a long reference stays whole', async () => {
    const image = `registry.example.com/team/app@sha256:${'a'.repeat(64)}`;
    const r = await runNode([cli, 'promote', '--source', `${image}x`, '--tags', '1'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, COLUMNS: '60', NO_COLOR: '1' },
    });
    expect(r.exitCode).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    // Every line fits, except one that is a single word longer than the terminal (never cut).
    for (const l of lines) if (l.trim().includes(' ')) expect([l, l.length <= 60]).toEqual([l, true]);
    // Joined back (continuation lines are indented four spaces), it is the one error line.
    expect(lines.map((l, i) => (i === 0 ? l : l.replace(/^ {4}/, ' '))).join('')).toMatch(
      /^error: Input 'source': .*'registry\.example\.com\/team\/app@sha256:a{64}x'/,
    );
  });

  test('GitLab mode writes the dotenv file and the summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-gitlab-'));
    const r = await runNode([cli, 'smoke-test', '--url', `${srv.url}/health`, '--deadline', '5s'], {
      cwd: dir,
      env: env({ GITLAB_CI: 'true', CI_PROJECT_DIR: dir }),
    });
    expect(r.exitCode).toBe(0);
    const dotenv = readFileSync(join(dir, 'kiln.env'), 'utf8');
    expect(dotenv).toMatch(/^VERDICT=pass$/m);
    expect(dotenv).toMatch(/^ATTEMPTS=1$/m);
    expect(dotenv).toMatch(/^DURATION_MS=\d+$/m);
    expect(dotenv).toMatch(/^RESULTS=\[\{"name":/m);
    expect(dotenv).toMatch(/^JUNIT=kiln-reports\/smoke-test\.junit\.xml$/m);
    expect(existsSync(join(dir, 'kiln-reports/smoke-test.junit.xml'))).toBe(true);
    expect(readFileSync(join(dir, 'kiln-summary.md'), 'utf8')).toContain('| Check | Verdict |');
    expect(r.stdout).toContain('✅ smoke test passed: 1 check in');
  });

  test('inputs from KILN_* variables; terminal --json prints only JSON on stdout', async () => {
    const r = await runNode([cli, 'smoke-test', '--json'], { env: env({ KILN_URL: `${srv.url}/health` }) });
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'pass', attempts: 1, failed: 0 });
    expect(r.stderr).toContain(`✓ ${srv.url}/health: pass (200`);
  });

  test('KILN_* variables do not leak between actions: a bare KILN_TIMEOUT is not read (with a warning), KILN_SMOKE_TEST_TIMEOUT is', async () => {
    const slow = await startServer({
      '/slow': (_q, res) => {
        setTimeout(() => res.writeHead(200).end('ok'), 300);
      },
    });
    try {
      // KILN_TIMEOUT=10ms, meant for another action, would fail this check; it is not read.
      const bare = await runNode([cli, 'smoke-test', '--json'], {
        env: env({ KILN_URL: `${slow.url}/slow`, KILN_TIMEOUT: '10ms', KILN_DEADLINE: '5s' }),
      });
      expect(JSON.parse(bare.stdout).verdict).toBe('pass');
      expect(bare.stderr).toContain(
        "KILN_TIMEOUT is not read by smoke-test: 'timeout' means different things in different actions; set KILN_SMOKE_TEST_TIMEOUT for this one.",
      );
      const scoped = await runNode([cli, 'smoke-test', '--json'], {
        env: env({ KILN_URL: `${slow.url}/slow`, KILN_SMOKE_TEST_TIMEOUT: '50ms', KILN_DEADLINE: '1s' }),
      });
      expect(JSON.parse(scoped.stdout).verdict).toBe('error');
      const help = await runNode([cli, 'smoke-test', '--help'], { env: env({}) });
      expect(help.stdout).toContain('env: KILN_SMOKE_TEST_TIMEOUT\n');
      expect(help.stdout).toContain('env: KILN_URL (or KILN_SMOKE_TEST_URL)\n');
    } finally {
      await slow.close();
    }
  });

  test('a flag overrides the KILN_* variable', async () => {
    const r = await runNode([cli, 'smoke-test', '--url', `${srv.url}/health`, '--json'], {
      env: env({ KILN_URL: `${srv.url}/missing`, KILN_DEADLINE: '1s' }),
    });
    expect(JSON.parse(r.stdout).verdict).toBe('pass');
  });

  test('help, version, unknown action, unknown flag', async () => {
    const help = await runNode([cli, 'help'], { env: env({}) });
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/smoke-test\s+Verify a deployment/);
    const actionHelp = await runNode([cli, 'smoke-test', '--help'], { env: env({}) });
    expect(actionHelp.exitCode).toBe(0);
    expect(actionHelp.stdout).toContain('--expect-status <codes>');
    expect(actionHelp.stdout).toContain('env: KILN_EXPECT_STATUS');
    expect(actionHelp.stdout).toContain('duration-ms');
    const version = await runNode([cli, '--version'], { env: env({}) });
    expect(version.stdout.trim()).toMatch(/^kiln \d+\.\d+\.\d+$/);
    const unknown = await runNode([cli, 'deploy-nowhere'], { env: env({}) });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain(
      "unknown action 'deploy-nowhere'; Expected one of: bake-image, push-registry, promote, deploy-marathon, deploy-k8s, smoke-test, rollback.",
    );
    const typo = await runNode([cli, 'smoke-tset'], { env: env({}) });
    expect(typo.stderr.trim()).toBe(
      "error: unknown action 'smoke-tset'. Did you mean 'smoke-test'? Expected one of: bake-image, push-registry, promote, deploy-marathon, deploy-k8s, smoke-test, rollback.",
    );
    const flag = await runNode([cli, 'smoke-test', '--ur', 'x'], { env: env({}) });
    expect(flag.exitCode).toBe(2);
    expect(flag.stderr.trim()).toBe(
      "error: Unknown option '--ur' for kiln smoke-test. Did you mean '--url'? Or run 'kiln smoke-test --help' for the list of inputs.",
    );
    const far = await runNode([cli, 'smoke-test', '--colour', 'x'], { env: env({}) });
    expect(far.stderr.trim()).toBe(
      "error: Unknown option '--colour' for kiln smoke-test; run 'kiln smoke-test --help' for the list of inputs.",
    );
  });

  test('no dotenv or summary file is left in a terminal run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-term-'));
    const r = await runNode([cli, 'smoke-test', '--url', `${srv.url}/health`], { cwd: dir, env: env({}) });
    expect(r.exitCode).toBe(0);
    expect(existsSync(join(dir, 'kiln.env'))).toBe(false);
    expect(r.stdout).toContain('Outputs:');
  });
});
