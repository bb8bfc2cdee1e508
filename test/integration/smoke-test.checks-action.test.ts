/**
 * smoke-test with a checks file, as users run it: the committed bundle under the runner contract (both Node
 * runtimes) and the CLI in GitLab mode: exit codes 0/1/2, reports, JUnit, and secrets used in headers masked
 * in everything the step prints or leaves behind.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort } from '../harness/http-fixture.js';
import { listFiles, repoRoot, runBundle, runtimes } from '../harness/runner.js';
import { startSmokeService, type SmokeService } from '../harness/smoke-service.js';
import { runNode } from '../harness/tsx.js';

let svc: SmokeService;
beforeAll(async () => {
  svc = await startSmokeService();
});
afterAll(() => svc.close());

function workspaceWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-ws-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const TOKEN = 's3cr3t-t0ken-xyz';

const checks = (base: string) => `
defaults:
  baseUrl: ${base}
  headers:
    Authorization: "Bearer \${API_TOKEN}"
wait:
  url: /health
  expect: { jsonpath: { $.version: "\${VERSION}" } }
  interval: 50ms
  deadline: 10s
checks:
  - name: health
    url: /health
    expect: { status: 200, jsonpath: { $.status: UP } }
  - name: create order
    url: /orders
    json: { item: book }
    expect: { status: 201 }
    captures: { id: { jsonpath: $.id } }
  - name: read order
    url: /orders/\${id}
    expect: { jsonpath: { $.id: "\${id}" } }
  - name: auth echo
    url: /echo-auth
    expect: { status: 200 }
`;

describe.each(runtimes())('checks file through the bundle under $label', ({ node }) => {
  test('a failing check: exit 1, outputs, reports — and the token used in a header is masked everywhere', async () => {
    const ws = workspaceWith({ 'smoke/qa.yml': checks(svc.http) });
    const r = await runBundle('smoke-test', {
      node,
      workspace: ws,
      with: { checks: 'smoke/qa.yml', vars: 'VERSION=1.2.3', 'secret-vars': `API_TOKEN=${TOKEN}` },
    });
    expect(r.exitCode).toBe(1);
    expect(Object.fromEntries(r.outputs)).toMatchObject({
      verdict: 'fail',
      passed: '3',
      failed: '1',
      errors: '0',
      skipped: '0',
    });
    const report = JSON.parse(readFileSync(join(ws, r.outputs.get('report') as string), 'utf8'));
    expect(report.checks.map((c: { name: string; verdict: string }) => [c.name, c.verdict])).toEqual([
      ['health', 'pass'],
      ['create order', 'pass'],
      ['read order', 'pass'],
      ['auth echo', 'fail'],
    ]);
    expect(report.wait).toMatchObject({ passed: true });
    // The service echoed "rejected Bearer <token>": the excerpt is kept, the token is not.
    expect(report.checks[3].output).toContain('rejected Bearer ***');
    expect(r.summary).toContain('| auth echo | ❌ fail | 401 |');
    const masks = r.stdout.split('\n').filter((l) => l.startsWith('::add-mask::'));
    expect(masks).toContain(`::add-mask::${TOKEN}`);
    const printed =
      r.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n') + r.stderr;
    expect(printed).not.toContain(TOKEN);
    for (const [path, content] of listFiles(ws))
      expect({ path, leaked: content.includes(TOKEN) }).toEqual({ path, leaked: false });
    for (const [path, content] of r.files())
      if (!path.endsWith('/state'))
        expect({ path, leaked: content.includes(TOKEN) }).toEqual({ path, leaked: false });
  });

  test('no usable answer: exit 3, verdict error', async () => {
    const port = await closedPort();
    const ws = workspaceWith({ 'c.yml': `checks:\n  - url: http://127.0.0.1:${port}/health\n` });
    const r = await runBundle('smoke-test', { node, workspace: ws, with: { checks: 'c.yml' } });
    expect(r.exitCode).toBe(3);
    expect(r.outputs.get('verdict')).toBe('error');
    expect(r.outputs.get('errors')).toBe('1');
  });

  test('a malformed checks file: exit 2, one line with the file, line and what is expected', async () => {
    const ws = workspaceWith({ 'c.yml': 'checks:\n  - url: /health\n    expect: { stauts: 200 }\n' });
    const r = await runBundle('smoke-test', { node, workspace: ws, with: { checks: 'c.yml' } });
    expect(r.exitCode).toBe(2);
    expect(r.stdout.trim()).toBe(
      "::error::c.yml:3:15: checks[0].expect.stauts: unknown key 'stauts'; did you mean 'status'? Expected one of: status, headers, body, jsonpath, duration, certificate, exitCode, stdout.",
    );
  });
});

describe('checks file through the CLI in GitLab mode', () => {
  test('writes the dotenv and a JUnit file GitLab can read', async () => {
    const ws = workspaceWith({
      'smoke.yml': `checks:\n  - name: ok\n    url: ${svc.http}/health\n  - name: missing\n    url: ${svc.http}/nothing\n`,
    });
    const r = await runNode([join(repoRoot, 'dist/cli/index.js'), 'smoke-test', '--checks', 'smoke.yml'], {
      cwd: ws,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, GITLAB_CI: 'true', CI_PROJECT_DIR: ws },
    });
    expect(r.exitCode).toBe(1);
    const dotenv = readFileSync(join(ws, 'kiln.env'), 'utf8');
    expect(dotenv).toMatch(/^VERDICT=fail$/m);
    expect(dotenv).toMatch(/^PASSED=1$/m);
    expect(dotenv).toMatch(/^FAILED=1$/m);
    expect(dotenv).toMatch(/^JUNIT=kiln-reports\/smoke-test\.junit\.xml$/m);
    const junit = join(ws, 'kiln-reports/smoke-test.junit.xml');
    execFileSync(
      'xmllint',
      ['--noout', '--schema', join(repoRoot, 'test/fixtures/junit-gitlab.xsd'), junit],
      { stdio: 'pipe' },
    );
    expect(readFileSync(junit, 'utf8')).toContain('<testcase classname="smoke-test" name="missing"');
  });
});
