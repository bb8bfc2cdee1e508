/**
 * Mistaken and hostile input, and servers that stall: every case is one clear line before anything runs (no
 * request reaches a server), or, for a server that stalls, a failure within the action's own timeout. Through the
 * committed bundles as GitHub runs them, and the CLI where a platform variable is at stake.
 */
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onlyErrorLine } from '../harness/assertions.js';
import { startServer, type TestServer } from '../harness/http-fixture.js';
import { repoRoot, runBundle } from '../harness/runner.js';
import { runNode } from '../harness/tsx.js';

const servers: Array<TestServer | Server> = [];
afterEach(async () => {
  for (const s of servers.splice(0))
    if ('route' in s) await s.close();
    else await new Promise((r) => (s.closeAllConnections(), s.close(r)));
});
afterAll(async () => {
  const { closeHttpPools } = await import('../../packages/core/src/http/http.js');
  await closeHttpPools();
});

const cli = join(repoRoot, 'dist', 'cli', 'index.js');
const APP = JSON.stringify({
  id: '/app',
  instances: 1,
  container: { type: 'DOCKER', docker: { image: `reg.example.com/app@sha256:${'1'.repeat(64)}` } },
});

function workspace(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-hostile-in-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

async function target(): Promise<TestServer> {
  const srv = await startServer({
    '/health': (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"UP"}');
    },
  });
  servers.push(srv);
  return srv;
}

describe('mistakes are one line before anything runs', () => {
  test.each([
    [
      'a deadline past what a timer holds',
      { deadline: '30d' },
      /Input 'deadline'.*too long; expected at most 596h31m/,
    ],
    [
      'a header name with a space',
      { headers: 'Bad Name=x' },
      /Input 'headers'.*header name "Bad Name" is not valid/,
    ],
    [
      'user:password in the URL',
      { url: 'http://user:s3cret-pw@127.0.0.1:1/health' },
      /Input 'url'.*contains credentials \(value hidden\)/,
    ],
  ])('smoke-test: %s', async (_what, inputs, message) => {
    const srv = await target();
    const r = await runBundle('smoke-test', { with: { url: `${srv.url}/health`, ...inputs } });
    expect(onlyErrorLine(r)).toMatch(message);
    expect(r.stdout + r.stderr).not.toContain('s3cret-pw');
    expect(srv.requests).toHaveLength(0);
  });

  test('smoke-test: a report-dir that is a file', async () => {
    const srv = await target();
    const ws = workspace({ 'reports.txt': 'not a dir' });
    const r = await runBundle('smoke-test', {
      workspace: ws,
      with: { url: `${srv.url}/health`, 'report-dir': 'reports.txt' },
    });
    expect(onlyErrorLine(r)).toMatch(/Input 'report-dir'.*reports\.txt" is a file; expected a directory/);
    expect(srv.requests).toHaveLength(0);
  });

  test.each([
    [
      'an invalid JSONPath',
      'checks:\n  - url: ${BASE}/health\n    expect:\n      jsonpath:\n        "$.a[": { exists: true }\n',
      /checks\[0\]\.expect\.jsonpath\[0\]: JSONPath '\$\.a\[' has a '\[' that is not closed/,
    ],
    [
      'a NUL byte in a header',
      'checks:\n  - url: ${BASE}/health\n    headers:\n      X-Id: "a\\0b"\n',
      /header x-id has a line break or a NUL byte in its value|header X-Id has a line break or a NUL byte/,
    ],
    [
      'user:password in a check URL',
      'checks:\n  - url: http://u:s3cret-pw@127.0.0.1:1/health\n',
      /the URL contains credentials \(hidden here\)/,
    ],
    [
      'a billion laughs',
      'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nchecks: []\n',
      /checks\.yml: invalid YAML: it expands too many aliases/,
    ],
    [
      '100 000 nested brackets',
      `checks: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`,
      /checks\.yml(:\d+:\d+)?: invalid YAML: /,
    ],
    [
      'a 2 MiB checks file',
      `checks: []\n#${'x'.repeat(2 * 1024 * 1024)}\n`,
      /checks\.yml: the checks file is 2\.0 MiB, more than the 1 MiB Kiln reads/,
    ],
  ])('smoke-test checks file: %s', async (_what, text, message) => {
    const srv = await target();
    const r = await runBundle('smoke-test', {
      workspace: workspace({ 'checks.yml': text }),
      with: { checks: 'checks.yml', vars: `BASE=${srv.url}` },
    });
    expect(onlyErrorLine(r)).toMatch(message);
    expect(r.stdout).not.toContain('s3cret-pw');
    expect(srv.requests).toHaveLength(0);
  });

  test('smoke-test: a checks file that is /dev/zero is refused at once, not read', async () => {
    const started = Date.now();
    const r = await runBundle('smoke-test', { with: { checks: '/dev/zero' } });
    expect(onlyErrorLine(r)).toMatch(/the checks file is not a regular file/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  test.each([
    [
      '/dev/zero',
      (ws: string) => (symlinkSync('/dev/zero', join(ws, 'deploy.json')), 'deploy.json'),
      /Input 'app-definition'.*"deploy.json" is not a regular file/,
    ],
    [
      '5 MiB of JSON',
      (ws: string) => (
        writeFileSync(join(ws, 'deploy.json'), `{"id":"/x","pad":"${'x'.repeat(5 * 1024 * 1024)}"}`),
        'deploy.json'
      ),
      /"deploy.json" is 5\.0 MiB, more than the 4 MiB Kiln reads/,
    ],
    [
      '300 levels of nesting',
      (ws: string) => (
        writeFileSync(join(ws, 'deploy.json'), `{"id":"/x","a":${'['.repeat(300)}${']'.repeat(300)}}`),
        'deploy.json'
      ),
      /app-definition deploy\.json is not valid JSON: nested deeper than 256 levels at line 1/,
    ],
  ])('deploy-marathon: an app definition that is %s', async (_what, make, message) => {
    const srv = await target();
    const ws = workspace();
    const file = make(ws);
    const r = await runBundle('deploy-marathon', {
      workspace: ws,
      with: { 'marathon-url': srv.url, 'app-definition': file },
    });
    expect(onlyErrorLine(r)).toMatch(message);
    expect(srv.requests).toHaveLength(0);
  });

  test('registry actions: an insecure-registries entry with a scheme; a digest Kiln cannot verify', async () => {
    const insecure = await runBundle('promote', {
      with: { source: 'reg.example.com/app:1', tags: 'v1', 'insecure-registries': 'http://reg.example.com' },
    });
    expect(onlyErrorLine(insecure)).toMatch(
      /Input 'insecure-registries'.*"http:\/\/reg\.example\.com" is not a registry host/,
    );
    const blake = await runBundle('promote', {
      with: { source: `reg.example.com/app@blake3:${'a'.repeat(64)}`, tags: 'v1' },
    });
    expect(onlyErrorLine(blake)).toMatch(/Input 'source'.*cannot be verified; expected a sha256/);
  });

  test('GitLab: a KILN_DOTENV that is a directory is one line, before anything runs', async () => {
    const srv = await target();
    const ws = workspace();
    mkdirSync(join(ws, 'kiln.env'));
    const r = await runNode([cli, 'smoke-test', '--url', `${srv.url}/health`], {
      cwd: ws,
      env: { PATH: process.env.PATH, NO_COLOR: '1', GITLAB_CI: 'true', CI_PROJECT_DIR: ws },
    });
    expect(r.exitCode).toBe(2);
    expect((r.stdout + r.stderr).trim()).toMatch(
      /^error: KILN_DOTENV: ".*kiln\.env" is a directory; expected a file path\.$/,
    );
    expect(srv.requests).toHaveLength(0);
  });

  test('terminal: a symlink planted at the rendered file’s predictable path is not followed', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'kiln-planted-'));
    const victim = join(tmp, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, join(tmp, `kiln-marathon-app-${process.getuid?.() ?? 'user'}.json`));
    const srv = await target();
    const ws = workspace({ 'deploy.json': APP });
    const r = await runNode(
      [
        cli,
        'deploy-marathon',
        '--marathon-url',
        srv.url,
        '--app-definition',
        'deploy.json',
        '--dry-run',
        'true',
      ],
      {
        cwd: ws,
        env: { PATH: process.env.PATH, NO_COLOR: '1', TMPDIR: tmp, COLUMNS: '1000' },
      },
    );
    expect(r.exitCode).toBe(2);
    expect(r.stdout + r.stderr).toMatch(
      /Input 'rendered-file'.*kiln-marathon-app-\w+\.json" is a symbolic link; Kiln does not write through links/,
    );
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(existsSync(victim)).toBe(true);
  });
});

/** A "Marathon" that accepts connections and then stalls in one of three ways. */
async function stallingMarathon(mode: 'headers' | 'trickle' | 'endless'): Promise<string> {
  const server = createServer((req, res) => {
    if (mode === 'headers') return; // never answers
    res.writeHead(200, { 'content-type': 'application/json' });
    if (mode === 'trickle') {
      const t = setInterval(() => res.write(' '), 500); // 2 bytes a second, never ending
      res.on('close', () => clearInterval(t));
    } else {
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = (): void => {
        while (res.write(chunk)) if (res.destroyed) return;
        res.once('drain', pump);
      };
      pump();
    }
    req.on('close', () => res.destroy());
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('a Marathon that stalls: deploy-marathon ends within its timeout', () => {
  test.each(['headers', 'trickle', 'endless'] as const)('it %s', async (mode) => {
    const url = await stallingMarathon(mode);
    const started = Date.now();
    const r = await runBundle('deploy-marathon', {
      workspace: workspace({ 'deploy.json': APP }),
      with: { 'marathon-url': url, 'app-definition': 'deploy.json', timeout: '3s' },
    });
    const took = Date.now() - started;
    expect(r.exitCode).toBe(1);
    // An endless body may hit the size limit before the deadline: bounded either way.
    expect(r.stdout).toMatch(
      /cannot read the app: (GET http:\/\/127\.0\.0\.1:\d+\/v2\/apps\/app: no complete answer from 127\.0\.0\.1:\d+ before the deadline|http:\/\/127\.0\.0\.1:\d+\/v2\/apps\/app: the answer is larger than 32 MiB; stopped reading)/,
    );
    // 3 s of timeout, plus the process's start and exit (generous for a loaded machine): never minutes.
    expect(took).toBeLessThan(20_000);
    if (mode !== 'endless') expect(took).toBeGreaterThanOrEqual(3_000);
  });
});

describe('a registry that accepts connections and never answers', () => {
  test('push-registry fails at its timeout (3 s), not after retries of 30 s each', async () => {
    const url = await stallingMarathon('headers'); // the same silent server: it never answers anything
    const ws = workspace({ 'oci/oci-layout': '{"imageLayoutVersion":"1.0.0"}' });
    const { writeOciLayout } = await import('../sim/registry/oci-layout.js');
    await writeOciLayout(join(ws, 'oci'), { seed: 'silent', randomBytes: 1000 });
    const started = Date.now();
    const r = await runBundle('push-registry', {
      workspace: ws,
      env: { DOCKER_CONFIG: ws },
      with: { source: 'oci', destinations: `${new URL(url).host}/silent/app`, tags: '1', timeout: '3s' },
    });
    const took = Date.now() - started;
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain(
      "::error::push-registry failed: timed out after 3.00s (input 'timeout'); nothing was written after that point",
    );
    expect(took).toBeGreaterThanOrEqual(3_000);
    expect(took).toBeLessThan(20_000);
  });
});

/** The same action through the CLI, as a GitLab job or a terminal runs it (no colour, so the log is plain). */
async function viaCli(
  platform: 'gitlab' | 'terminal',
  action: string,
  inputs: Record<string, string>,
  cwd: string,
): Promise<{ exitCode: number | null; log: string; lines: string[] }> {
  const args = [cli, action];
  for (const [k, v] of Object.entries(inputs)) args.push(`--${k}`, v);
  const r = await runNode(args, {
    cwd,
    env: {
      // A wide terminal: these tests read whole lines (wrapping has its own test).
      COLUMNS: '1000',
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NO_COLOR: '1',
      TMPDIR: cwd,
      ...(platform === 'gitlab' ? { GITLAB_CI: 'true', CI_PROJECT_DIR: cwd } : {}),
    },
  });
  const log = r.stdout + r.stderr;
  return { exitCode: r.exitCode, log, lines: log.split('\n').filter((l) => l.trim() !== '') };
}

describe.each(['gitlab', 'terminal'] as const)('the same through the CLI on %s', (platform) => {
  test('mistakes: one error line, no request, exit 2 (deadline, URL credentials, JSONPath, /dev/zero, digest)', async () => {
    const srv = await target();
    const ws = workspace({
      'checks.yml':
        'checks:\n  - url: ${BASE}/health\n    expect:\n      jsonpath:\n        "$.a[": { exists: true }\n',
    });
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['smoke-test', { url: `${srv.url}/health`, deadline: '30d' }, /^error: Input 'deadline'.*too long/],
      [
        'smoke-test',
        { url: 'http://u:s3cret-pw@127.0.0.1:1/' },
        /^error: Input 'url'.*contains credentials \(value hidden\)/,
      ],
      [
        'smoke-test',
        { checks: 'checks.yml', vars: `BASE=${srv.url}` },
        /^error: checks\.yml:\d+:\d+: checks\[0\]\.expect\.jsonpath\[0\]: JSONPath '\$\.a\[' has a '\[' that is not closed$/,
      ],
      [
        'deploy-marathon',
        { 'marathon-url': srv.url, 'app-definition': '/dev/zero' },
        /^error: Input 'app-definition'.*is not a regular file/,
      ],
      [
        'promote',
        { source: `reg.example.com/app@blake3:${'a'.repeat(64)}`, tags: 'v1' },
        /^error: Input 'source'.*cannot be verified/,
      ],
    ];
    for (const [action, inputs, message] of cases) {
      const r = await viaCli(platform, action, inputs, ws);
      expect([action, r.exitCode]).toEqual([action, 2]);
      expect(r.lines).toEqual([expect.stringMatching(message)]);
      expect(r.log).not.toContain('s3cret-pw');
    }
    expect(srv.requests).toHaveLength(0);
  });

  test('a Marathon that never answers: deploy-marathon ends at its timeout', async () => {
    const url = await stallingMarathon('headers');
    const ws = workspace({ 'deploy.json': APP });
    const started = Date.now();
    const r = await viaCli(
      platform,
      'deploy-marathon',
      { 'marathon-url': url, 'app-definition': 'deploy.json', timeout: '3s' },
      ws,
    );
    expect(r.exitCode).toBe(1);
    expect(r.log).toMatch(
      /error: deploy-marathon failed \(127\.0\.0\.1:\d+\): cannot read the app: GET http:\/\/127\.0\.0\.1:\d+\/v2\/apps\/app: no complete answer from 127\.0\.0\.1:\d+ before the deadline/,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  test('smoke-test against a body that trickles forever: the check’s timeout ends it', async () => {
    const url = await stallingMarathon('trickle');
    const started = Date.now();
    const r = await viaCli(
      platform,
      'smoke-test',
      { url: `${url}/health`, timeout: '1s', deadline: '2s' },
      workspace(),
    );
    expect(r.exitCode).toBe(3); // smoke-test could not test: no usable answer
    expect(r.log).toMatch(/no answer from 127\.0\.0\.1:\d+ within 1000ms/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
