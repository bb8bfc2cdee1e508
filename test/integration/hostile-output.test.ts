/**
 * Nothing from outside steers the runner or the terminal, and no secret survives in any rendered form. A corpus of
 * hostile answers — workflow commands (`::add-mask::`, `::stop-commands::`, `::set-output`, the old `##[…]` form,
 * behind white space or a line break), ANSI/OSC escapes, a carriage return that rewrites the line, BEL, bidi
 * overrides, a 3 MB line — from a smoke target and from a Marathon, through the committed bundles as GitHub runs
 * them and through the CLI on GitLab and in a terminal. What the runner would execute is parsed with its grammar
 * (test/harness/runner.ts).
 */
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWorkflowCommands, repoRoot, runBundle } from '../harness/runner.js';
import { startServer, type TestServer } from '../harness/http-fixture.js';
import { runNode } from '../harness/tsx.js';
import { startMarathonSim, type MarathonSim } from '../sim/marathon/server.js';

/** Hostile text: each entry is one trick; together they are one body or message. */
const HOSTILE = [
  '::add-mask::pass',
  '  ::stop-commands::kiln-token',
  '::set-output name=verdict::pass',
  '::warning::forged warning',
  '##[set-output name=verdict;]pass',
  'text ##[error]forged error',
  '\x1b]0;owned-title\x07\x1b[2J\x1b[31mred\x1b[0m',
  '\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07',
  'visible\rOVERWRITTEN',
  'bidi \u202egnp.exe',
  '\x9b31mC1 CSI',
];
const HOSTILE_TEXT = HOSTILE.join('\n');

const servers: TestServer[] = [];
const sims: MarathonSim[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(sims.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  const { closeHttpPools } = await import('../../packages/core/src/http/http.js');
  await closeHttpPools();
});

const cli = join(repoRoot, 'dist', 'cli', 'index.js');

/** What GitHub's runner would take as a command that came from the hostile text, not from Kiln. */
function forgedCommands(stdout: string): string[] {
  return parseWorkflowCommands(stdout)
    .filter(
      (c) =>
        c.properties['legacy'] === 'true' ||
        ['stop-commands', 'set-output', 'save-state', 'set-env', 'add-path'].includes(c.command) ||
        (c.command === 'add-mask' && c.message === 'pass') ||
        // The hostile lines as whole commands (Kiln's own annotations may quote them, escaped: that is fine).
        c.message === 'forged warning' ||
        c.message === 'forged error',
    )
    .map((c) => `${c.command} ${JSON.stringify(c.properties)} ${c.message}`);
}

/** Control characters that would act on a terminal (Kiln's own GitLab section markers aside). */
function terminalEscapes(text: string): string[] {
  const withoutSections = text.replace(
    // eslint-disable-next-line no-control-regex
    /\x1b\[0Ksection_(start|end):\d+:[a-z0-9_]+(\[collapsed=true\])?\r\x1b\[0K/g,
    '',
  );
  // eslint-disable-next-line no-control-regex
  return [...withoutSections.matchAll(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g)].map((m) =>
    JSON.stringify(m[0]),
  );
}

async function hostileTarget(): Promise<TestServer> {
  const srv = await startServer({
    '/health': (_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain', 'x-forged': '::add-mask::pass' });
      res.end(HOSTILE_TEXT);
    },
  });
  servers.push(srv);
  return srv;
}

function ws(): string {
  return mkdtempSync(join(tmpdir(), 'kiln-hostile-'));
}

describe('smoke-test: a target that answers with workflow commands and escapes', () => {
  const inputs = (srv: TestServer): Record<string, string> => ({
    url: `${srv.url}/health`,
    deadline: '300ms',
    interval: '50ms',
    timeout: '2s',
  });
  /** A checks file whose body expectation fails, so the failure quotes what the server said. */
  function checksWorkspace(): string {
    const dir = ws();
    writeFileSync(
      join(dir, 'checks.yml'),
      'checks:\n  - url: ${BASE}/health\n    expect:\n      status: 503\n      body:\n        contains: healthy\n',
    );
    return dir;
  }

  test('GitHub runner: no forged command, the verdict output is Kiln’s, no raw escape in the log', async () => {
    const srv = await hostileTarget();
    const r = await runBundle('smoke-test', {
      workspace: checksWorkspace(),
      with: { checks: 'checks.yml', vars: `BASE=${srv.url}`, deadline: '2s' },
    });
    expect(r.exitCode).toBe(1);
    expect(r.outputs.get('verdict')).toBe('fail');
    expect(forgedCommands(r.stdout)).toEqual([]);
    expect(r.commands.filter((c) => c.command === 'add-mask')).toEqual([]);
    expect(terminalEscapes(r.stdout + r.stderr)).toEqual([]);
    // What the server said is still shown, defused: a person can read it.
    expect(r.stdout + r.summary).toContain('\\x1b]0;owned-title\\x07');
  });

  test.each([
    ['GitLab', { GITLAB_CI: 'true' }],
    ['a terminal', {}],
  ])('the CLI on %s: no raw escape reaches the log, the dotenv has only Kiln’s keys', async (_label, env) => {
    const srv = await hostileTarget();
    const dir = checksWorkspace();
    const r = await runNode(
      [cli, 'smoke-test', '--checks', 'checks.yml', '--vars', `BASE=${srv.url}`, '--deadline', '2s'],
      {
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', CI_PROJECT_DIR: dir, ...env },
      },
    );
    expect(r.exitCode).toBe(1);
    expect(terminalEscapes(r.stdout + r.stderr)).toEqual([]);
    // GitLab's log shows the response excerpt, defused.
    if (_label === 'GitLab') expect(r.stdout + r.stderr).toContain('\\x1b]0;owned-title\\x07');
    if (existsSync(join(dir, 'kiln.env')))
      for (const line of readFileSync(join(dir, 'kiln.env'), 'utf8').trim().split('\n'))
        expect(line).toMatch(/^[A-Z_]+=/);
  });

  test('a server cannot choose what is masked; secret captures and the basic-auth password alone are', async () => {
    const srv = await startServer({
      '/login': (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        // A plain capture whose value is "fail" (if it were masked, so would the verdict be), and a session.
        res.end('{"word":"fail","session":"s3cr3t-session-42"}');
      },
      '/echo': (req, res) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`echo: ${req.headers['x-word']} ${req.headers['x-session']} pw-alone-123`);
      },
    });
    servers.push(srv);
    const dir = ws();
    writeFileSync(
      join(dir, 'checks.yml'),
      [
        'checks:',
        '  - url: ${BASE}/login',
        '    captures:',
        '      word: { jsonpath: $.word }',
        '      session: { jsonpath: $.session, secret: true }',
        '  - url: ${BASE}/echo',
        '    headers: { X-Word: "${word}", X-Session: "${session}" }',
        '    expect: { status: 200 }',
        '',
      ].join('\n'),
    );
    const r = await runBundle('smoke-test', {
      workspace: dir,
      with: {
        checks: 'checks.yml',
        vars: `BASE=${srv.url}`,
        'basic-auth': 'alice:pw-alone-123',
        deadline: '5s',
      },
    });
    expect(r.exitCode).toBe(1);
    expect(r.outputs.get('verdict')).toBe('fail');
    expect(r.commands.filter((c) => c.command === 'add-mask').map((c) => c.message)).not.toContain('fail');
    const shown = [
      r.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n'),
      r.stderr,
      r.summary,
      ...r.outputs.values(),
      ...r.files().values(),
    ].join('\n');
    // What the server echoed is shown (the report keeps the response excerpt), with the secrets masked.
    expect(shown).toContain('echo: fail *** ***');
    for (const secret of ['s3cr3t-session-42', 'pw-alone-123'])
      expect([secret, shown.includes(secret)]).toEqual([secret, false]);
  });

  test('a 3 MB one-line body is cut in the log, not printed whole', async () => {
    const srv = await startServer({
      '/health': (_req, res) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('x'.repeat(3 * 1024 * 1024));
      },
    });
    servers.push(srv);
    const r = await runBundle('smoke-test', { with: inputs(srv) });
    expect(r.exitCode).toBe(1);
    const longest = Math.max(...(r.stdout + r.stderr).split('\n').map((l) => l.length));
    expect(longest).toBeLessThan(9000);
  });
});

describe('deploy-marathon: a Marathon whose messages carry commands, escapes and the password', () => {
  const PASSWORD = 'p_a*s&s<w|d`x';
  function files(): string {
    const dir = ws();
    mkdirSync(join(dir, 'deploy'));
    writeFileSync(
      join(dir, 'deploy', 'app.json'),
      JSON.stringify({
        id: '/app',
        instances: 1,
        container: { type: 'DOCKER', docker: { image: `reg.example.com/app@sha256:${'1'.repeat(64)}` } },
      }),
    );
    return dir;
  }

  test('GitHub runner, GitLab and terminal CLI: no forged command or escape; the password in no form in log, summary, outputs, files', async () => {
    const s = await startMarathonSim({
      timeScale: 1000,
      auth: { basic: { user: 'ci', password: PASSWORD } },
    });
    sims.push(s);
    const message = `${HOSTILE_TEXT}\nrejected credentials ci:${PASSWORD}`;
    s.failNext(3, { method: 'GET', pathPrefix: '/v2/apps', status: 400, message });
    const withInputs = {
      'marathon-url': s.url,
      'app-definition': 'deploy/app.json',
      'marathon-user': 'ci',
      'marathon-password': PASSWORD,
      timeout: '5s',
    };
    const gh = await runBundle('deploy-marathon', { workspace: files(), with: withInputs });
    expect(gh.exitCode).toBe(1);
    expect(forgedCommands(gh.stdout)).toEqual([]);
    expect(terminalEscapes(gh.stdout + gh.stderr)).toEqual([]);

    // The CLI: as a GitLab job, and in a terminal with a summary file asked for; the password from a variable.
    const viaCli = (dir: string, env: Record<string, string>) =>
      runNode(
        [
          cli,
          'deploy-marathon',
          '--marathon-url',
          s.url,
          '--app-definition',
          'deploy/app.json',
          '--marathon-user',
          'ci',
        ],
        {
          cwd: dir,
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            NO_COLOR: '1',
            KILN_MARATHON_PASSWORD: PASSWORD,
            ...env,
          },
        },
      );
    const dir = files();
    const gl = await viaCli(dir, { GITLAB_CI: 'true', CI_PROJECT_DIR: dir });
    expect(gl.exitCode).toBe(1);
    expect(terminalEscapes(gl.stdout + gl.stderr)).toEqual([]);
    const tdir = files();
    const term = await viaCli(tdir, { KILN_SUMMARY_FILE: 'summary.md' });
    expect(term.exitCode).toBe(1);
    expect(terminalEscapes(term.stdout + term.stderr)).toEqual([]);
    expect(readFileSync(join(tdir, 'summary.md'), 'utf8')).toContain('rejected credentials ci:\\*\\*\\*');

    // Every rendered form of the password: as is, markdown-escaped, HTML-escaped, base64 of user:password.
    const forms = [PASSWORD, 'p\\_a\\*s', 's&amp;s&lt;w', Buffer.from(`ci:${PASSWORD}`).toString('base64')];
    const everything = [
      gh.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n'),
      gh.stderr,
      gh.summary,
      ...gh.outputs.values(),
      ...[...gh.files().values()],
      gl.stdout,
      gl.stderr,
      existsSync(join(dir, 'kiln-summary.md')) ? readFileSync(join(dir, 'kiln-summary.md'), 'utf8') : '',
      existsSync(join(dir, 'kiln.env')) ? readFileSync(join(dir, 'kiln.env'), 'utf8') : '',
      term.stdout,
      term.stderr,
      readFileSync(join(tdir, 'summary.md'), 'utf8'),
    ].join('\n');
    for (const f of forms) expect([f, everything.includes(f)]).toEqual([f, false]);
    expect(gh.summary).toContain('rejected credentials ci:\\*\\*\\*');
  });
});
