/**
 * The GitHub Deployments ledger backend against the GitHub deployments fake (sim/github/deployments.ts): entries
 * round-trip exactly (deploy, rollback, promote; verify as a status on the deployment it is about, or its own
 * deployment when a status cannot carry it), newest first (time, then id), pages beyond 100 with the limit honoured,
 * other deployments (environment jobs, other tasks, garbage payloads) left out, and the failures: 401/403/404 denied
 * naming `deployments: write`, 5xx retried, rate limits, 202/409/422, a deadline against a server that stalls —
 * with the token in no message and no log line.
 */
import { afterAll, afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { until } from '../harness/until.js';
import { GitHubLedger, parseLink } from '../../packages/core/src/ledger/github.js';
import { newestFirst } from '../../packages/core/src/ledger/history.js';
import { LedgerError, type LedgerEntry } from '../../packages/core/src/ledger/entry.js';
import type { Logger } from '../../packages/core/src/platform/types.js';
import { startGitHubDeploymentsSim, type GitHubDeploymentsSim } from '../sim/github/deployments.js';

const REPO = 'kiln-dev/shop';
const TOKEN = 'ghs_SECRETkilnLedgerToken0123456789abc';
const SHA = 'c0ffee'.repeat(6) + 'c0ff';
const IMAGE = 'registry.example.com/shop/web';
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;
const RUN = 'https://github.com/kiln-dev/shop/actions/runs/42';

/** Every log line of every test: none may contain the token. */
const allLines: string[] = [];
/** Every LedgerError message of every test. */
const allErrors: string[] = [];

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const put = (level: string) => (m: string) => {
    lines.push(`${level}: ${m}`);
    allLines.push(m);
  };
  return {
    lines,
    debugEnabled: true,
    debug: put('debug'),
    info: put('info'),
    notice: put('notice'),
    warning: put('warning'),
    error: put('error'),
    startGroup: () => undefined,
    endGroup: () => undefined,
    group: (_t, fn) => fn(),
  };
}

let sim: GitHubDeploymentsSim;
let log: ReturnType<typeof recordingLogger>;

beforeEach(async () => {
  sim = await startGitHubDeploymentsSim({
    token: TOKEN,
    readOnlyToken: 'ghs_readonly',
    repositories: [REPO],
  });
  log = recordingLogger();
});

afterEach(async () => {
  await sim.close();
});

afterAll(() => {
  expect(allLines.length).toBeGreaterThan(0);
  expect(allLines.filter((l) => l.includes(TOKEN) || l.includes('SECRETkiln'))).toEqual([]);
  expect(allErrors.length).toBeGreaterThan(5);
  expect(allErrors.filter((m) => m.includes(TOKEN) || m.includes('SECRETkiln'))).toEqual([]);
});

function ledger(o: Partial<ConstructorParameters<typeof GitHubLedger>[0]> = {}): GitHubLedger {
  return new GitHubLedger({
    apiUrl: sim.url,
    repository: REPO,
    token: TOKEN,
    ref: SHA,
    logger: log,
    env: {},
    ...o,
  });
}

/** The LedgerError `p` rejects with (recorded for the token check). */
async function failure(p: Promise<unknown>): Promise<LedgerError> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof LedgerError)) throw e;
    allErrors.push(e.message);
    expect(e.message).not.toMatch(/\n/);
    return e;
  }
  throw new Error('expected a LedgerError');
}

/** 2026-11-29, 10:mm UTC. */
const minute = (mm: number): string => `2026-11-29T10:${String(mm).padStart(2, '0')}:00.000Z`;

const entry = (o: Partial<LedgerEntry> & Pick<LedgerEntry, 'id'>): LedgerEntry => ({
  event: 'deploy',
  environment: 'production',
  time: '2026-11-29T10:00:00.000Z',
  image: IMAGE,
  digest: D1,
  result: 'success',
  ...o,
});

const kilnDeployments = () => sim.deployments(REPO).filter((d) => d.task.startsWith('kiln:'));
const posts = () => sim.requests.filter((r) => r.method === 'POST');

describe('round trip', () => {
  test('deploy, verify, rollback, promote and verify entries list back exactly as appended, newest first', async () => {
    const l = ledger();
    const target = {
      platform: 'kubernetes' as const,
      clusters: ['https://k8s.example.com'],
      apps: ['Deployment/web'],
    };
    const appended: LedgerEntry[] = [
      entry({
        id: '2026.11.29-7',
        time: '2026-11-29T10:00:00.123Z',
        previousDigest: D3,
        target,
        commit: SHA,
        runUrl: RUN,
        actor: 'octocat',
        verdict: 'passed',
        description: 'web 1.4.0',
      }),
      // A verify of it: a status on its deployment (same commit, actor and target as the deploy).
      entry({
        id: '2026.11.29-8',
        event: 'verify',
        time: '2026-11-29T10:05:00Z',
        commit: SHA,
        actor: 'octocat',
        target,
        runUrl: `${RUN}/attempts/2`,
        verdict: 'passed',
        of: '2026.11.29-7',
        description: 'smoke test: 12 checks passed',
      }),
      entry({
        id: '2026.11.29-9',
        time: minute(10),
        digest: D2,
        previousDigest: D1,
        result: 'rolled-back',
        verdict: 'failed',
        runUrl: RUN,
      }),
      // Verify by digest (no `of`), failed with a result that is not the usual one.
      entry({
        id: '2026.11.29-10',
        event: 'verify',
        time: minute(15),
        digest: D2,
        verdict: 'failed',
        result: 'rolled-back',
      }),
      entry({
        id: '2026.11.29-11',
        event: 'rollback',
        time: minute(20),
        digest: D1,
        previousDigest: D2,
        of: '2026.11.29-9',
        to: '2026.11.29-7',
        forced: true,
        actor: 'hubot',
      }),
      entry({
        id: '2026.11.29-12',
        event: 'promote',
        time: minute(25),
        environment: 'production',
        digest: D1,
        result: 'failure',
      }),
      // An inconclusive verify of the rollback whose `of` names another release: a status with of=…
      entry({
        id: '2026.11.29-13',
        event: 'verify',
        time: minute(30),
        digest: D1,
        verdict: 'inconclusive',
        result: 'success',
        of: '2026.11.29-404',
      }),
    ];
    for (const e of appended) await expect(l.append(e)).resolves.toEqual(e);
    const listed = await l.list('production');
    expect(listed).toEqual([...appended].reverse());
    expect(listed.map((e) => e.id)).toEqual([
      '2026.11.29-13',
      '2026.11.29-12',
      '2026.11.29-11',
      '2026.11.29-10',
      '2026.11.29-9',
      '2026.11.29-8',
      '2026.11.29-7',
    ]);
    // Strictly equal too: no undefined-valued keys added on the way back.
    expect(listed).toStrictEqual([...appended].reverse());
    // Four deployments; the three verifies are statuses.
    expect(kilnDeployments().map((d) => d.task)).toEqual([
      'kiln:promote',
      'kiln:rollback',
      'kiln:deploy',
      'kiln:deploy',
    ]);
    // A new backend (another job) reads the same.
    await expect(ledger().list('production')).resolves.toEqual(listed);
  });

  test('what GitHub receives: task, payload, no auto-merge, no required contexts, statuses with log_url and auto_inactive', async () => {
    const l = ledger();
    const deploy = entry({ id: 'r1', commit: 'f'.repeat(40), runUrl: RUN, description: 'x'.repeat(200) });
    await l.append(deploy);
    await l.append(entry({ id: 'r2', event: 'promote', environment: 'production' }));
    await l.append(entry({ id: 'r3', result: 'failure' }));
    await l.append(entry({ id: 'r4', event: 'rollback', result: 'success' }));
    const [create, st] = posts().map((r) => ({
      path: r.path,
      headers: r.headers,
      body: JSON.parse(r.body) as Record<string, unknown>,
    }));
    expect(create?.path).toBe(`/repos/${REPO}/deployments`);
    expect(create?.body).toEqual({
      ref: 'f'.repeat(40),
      task: 'kiln:deploy',
      auto_merge: false,
      required_contexts: [],
      environment: 'production',
      description: `${'x'.repeat(139)}…`,
      payload: { kiln: 1, entry: deploy },
    });
    expect(create?.headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': expect.stringMatching(/^kiln\//),
    });
    expect(st?.body).toEqual({
      state: 'success',
      description: `${'x'.repeat(139)}…`,
      log_url: RUN,
      auto_inactive: true,
    });
    const statusBodies = posts()
      .filter((r) => r.path.endsWith('/statuses'))
      .map((r) => JSON.parse(r.body) as { state: string; auto_inactive: boolean });
    expect(statusBodies.map((b) => [b.state, b.auto_inactive])).toEqual([
      ['success', true],
      ['success', false],
      ['failure', false],
      ['success', true],
    ]);
    // The deployment without a commit is on the given ref.
    expect(sim.deployments(REPO).find((d) => d.task === 'kiln:promote')?.sha).toBe(SHA);
    expect(l.kind).toBe('github');
    expect(l.location).toBe(`${new URL(sim.url).host}/${REPO}`);
    expect(new GitHubLedger({ repository: REPO, token: TOKEN, env: {} }).location).toBe(`github.com/${REPO}`);
    expect(
      new GitHubLedger({
        repository: REPO,
        token: TOKEN,
        env: { GITHUB_API_URL: 'https://ghe.example.com/api/v3' },
      }).location,
    ).toBe(`ghe.example.com/${REPO}`);
  });

  test('a verify goes on the deployment it is about: by `of`, else the newest with its digest', async () => {
    const l = ledger();
    await l.append(entry({ id: 'r1', digest: D1 }));
    await l.append(entry({ id: 'r2', digest: D2 }));
    await l.append(entry({ id: 'r3', digest: D1 }));
    const [r3, , r1] = kilnDeployments();
    const before = sim.deployments(REPO).length;
    await l.append(entry({ id: 'v1', event: 'verify', digest: D1, of: 'r1', verdict: 'passed' }));
    await l.append(entry({ id: 'v2', event: 'verify', digest: D1, verdict: 'failed', result: 'failure' }));
    expect(sim.deployments(REPO).length).toBe(before);
    const newest = (id: number) => sim.statuses(id)[0];
    expect(newest(r1?.id as number)).toMatchObject({
      state: 'success',
      description: expect.stringMatching(/^kiln verify v1 passed t=\w+ of$/),
    });
    expect(newest(r3?.id as number)).toMatchObject({
      state: 'failure',
      description: expect.stringMatching(/^kiln verify v2 failed t=\w+$/),
    });
    // auto_inactive false: the verify did not make r3's predecessors inactive (GitHub would not here anyway:
    // production is a production environment).
    expect(
      posts()
        .filter((r) => r.body.includes('kiln verify'))
        .map((r) => (JSON.parse(r.body) as { auto_inactive: boolean }).auto_inactive),
    ).toEqual([false, false]);
    const listed = await l.list('production');
    expect(listed.map((e) => e.id)).toEqual(['v2', 'v1', 'r3', 'r2', 'r1']);
    expect(listed[0]).toEqual(
      entry({ id: 'v2', event: 'verify', digest: D1, verdict: 'failed', result: 'failure' }),
    );
  });

  test('a verify a status cannot carry whole becomes its own kiln:verify deployment, and still round-trips', async () => {
    const l = ledger();
    await l.append(entry({ id: 'r1', actor: 'octocat', commit: SHA }));
    const verifies = [
      // Another actor than the deploy's.
      entry({ id: 'v1', event: 'verify', verdict: 'passed', of: 'r1', actor: 'hubot' }),
      // Too long for 140 characters.
      entry({ id: 'v2', event: 'verify', verdict: 'passed', of: 'r1', description: 'd'.repeat(130) }),
      // Another digest than its release's.
      entry({ id: 'v3', event: 'verify', verdict: 'passed', of: 'r1', digest: D2 }),
      // No deployment of that digest at all.
      entry({ id: 'v4', event: 'verify', verdict: 'inconclusive', digest: D3, result: 'failure' }),
      // A time with an offset.
      entry({ id: 'v5', event: 'verify', verdict: 'passed', time: '2026-11-29T11:30:00+01:00' }),
    ];
    for (const v of verifies) await l.append(v);
    expect(kilnDeployments().map((d) => d.task)).toEqual([
      ...verifies.map(() => 'kiln:verify'),
      'kiln:deploy',
    ]);
    expect(sim.statuses(kilnDeployments()[0]?.id as number).map((s) => s.state)).toEqual(['success']);
    const listed = await l.list('production');
    expect(listed).toEqual(newestFirst([entry({ id: 'r1', actor: 'octocat', commit: SHA }), ...verifies]));
    expect(listed.map((e) => e.id)).toEqual(['v5', 'v4', 'v3', 'v2', 'v1', 'r1']);
  });
});

describe('reading', () => {
  test('newest first as every backend orders: by time (whatever the offset), then id; verifies among them', async () => {
    const l = ledger();
    await l.append(entry({ id: 'a', time: minute(2) }));
    await l.append(entry({ id: 'b', time: minute(1), digest: D2 }));
    await l.append(entry({ id: 'c', time: '2026-11-29T11:03:00+01:00' }));
    await l.append(entry({ id: 'd', time: minute(3) }));
    // A verify made later of the oldest deployment: a status on b's deployment, listed by its own time.
    await l.append(
      entry({ id: 'e', event: 'verify', time: minute(4), digest: D2, verdict: 'passed', of: 'b' }),
    );
    expect(kilnDeployments().length).toBe(4);
    expect((await l.list('production')).map((e) => e.id)).toEqual(['e', 'd', 'c', 'a', 'b']);
  });

  test('more than 100 deployments: pages followed through Link, the limit honoured, statuses of the kept ones only', async () => {
    for (let i = 1; i <= 250; i++) {
      const e = entry({ id: `r-${i}`, time: new Date(Date.UTC(2026, 10, 1, 0, i)).toISOString() });
      const d = sim.createDeployment(REPO, {
        ref: SHA,
        task: 'kiln:deploy',
        environment: 'production',
        payload: { kiln: 1, entry: e },
      });
      sim.createStatus(REPO, d.id, { state: 'success' });
      if (i % 50 === 0) sim.environmentJob(REPO, { environment: 'production', ref: SHA });
    }
    const l = ledger();
    const listed = await l.list('production', { limit: 150 });
    expect(listed.length).toBe(150);
    expect(listed[0]?.id).toBe('r-250');
    expect(listed.at(-1)?.id).toBe('r-101');
    const lists = sim.requests.filter((r) => r.method === 'GET' && !r.path.endsWith('/statuses'));
    expect(
      lists.map((r) => [r.path.replace(/\d+/, 'N'), r.query.get('page'), r.query.get('per_page')]),
    ).toEqual([
      [`/repos/${REPO}/deployments`, null, '100'],
      ['/repositories/N/deployments', '2', '100'],
    ]);
    expect(sim.requests.filter((r) => r.path.endsWith('/statuses')).length).toBe(150);

    sim.requests.length = 0;
    const all = await l.list('production', { limit: 1000 });
    expect(all.length).toBe(250);
    expect(sim.requests.filter((r) => !r.path.endsWith('/statuses')).length).toBe(3);
    expect((await l.list('production')).length).toBe(100);
    await expect(l.list('production', { limit: 0 })).resolves.toEqual([]);
    await expect(l.list('staging')).resolves.toEqual([]);
  });

  test('environment-job deployments, other tasks and other environments are left out; garbage skipped with one warning', async () => {
    const l = ledger();
    await l.append(entry({ id: 'r1' }));
    sim.environmentJob(REPO, { environment: 'production', ref: SHA });
    const valid = entry({ id: 'r2' });
    // Someone else's task with a kiln-looking payload; our payload under another environment.
    sim.createDeployment(REPO, {
      ref: SHA,
      task: 'deploy:migrations',
      environment: 'production',
      payload: { kiln: 1, entry: entry({ id: 'x1' }) },
    });
    sim.createDeployment(REPO, {
      ref: SHA,
      task: 'kiln:deploy',
      environment: 'staging',
      payload: { kiln: 1, entry: entry({ id: 's1', environment: 'staging' }) },
    });
    // A kiln task whose payload is a JSON string holding a valid entry: accepted.
    sim.createDeployment(REPO, {
      ref: SHA,
      task: 'kiln:deploy',
      environment: 'production',
      payload: JSON.stringify({ kiln: 1, entry: valid }),
    });
    // Garbage: not JSON, an empty payload, a wrong shape, another version, an event that is not the task's.
    const garbage = [
      'not json',
      {},
      { kiln: 1, entry: { id: 'g1', event: 'deploy' } },
      { kiln: 2, entry: entry({ id: 'g2' }) },
      { kiln: 1, entry: entry({ id: 'g3', event: 'promote' }) },
      {
        kiln: 1,
        entry: entry({ id: 'g 4' }),
      },
    ].map(
      (payload) =>
        sim.createDeployment(REPO, { ref: SHA, task: 'kiln:deploy', environment: 'production', payload }).id,
    );
    const listed = await l.list('production');
    expect(listed).toEqual([valid, entry({ id: 'r1' })]);
    const warnings = log.lines.filter((x) => x.startsWith('warning:'));
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toContain('skipped 6 deployment(s) of production');
    for (const id of garbage.slice(1)) expect(warnings[0]).toContain(`#${id}`);
    expect(warnings[0]).toMatch(/, …\)$/);
    await l.list('production');
    expect(log.lines.filter((x) => x.startsWith('warning:')).length).toBe(1);
  });

  test('a create retried after a 5xx that had worked: the entry is listed once', async () => {
    const l = ledger();
    const e = entry({ id: 'dup' });
    await l.append(e);
    sim.createDeployment(REPO, {
      ref: SHA,
      task: 'kiln:deploy',
      environment: 'production',
      payload: { kiln: 1, entry: e },
    });
    await expect(l.list('production')).resolves.toEqual([e]);
  });

  test('a next page on another host is not followed with the token', async () => {
    sim.failNext(
      1,
      200,
      { link: '<http://elsewhere.example/repositories/1/deployments?page=2>; rel="next"' },
      { body: [], method: 'GET' },
    );
    const l = ledger();
    await expect(l.list('production')).resolves.toEqual([]);
    expect(
      log.lines.some((x) => x.startsWith('warning:') && x.includes('another host (elsewhere.example)')),
    ).toBe(true);
    expect(parseLink('<https://a/x?page=2>; rel="next", <https://a/x?page=5>; rel="last"')).toEqual({
      next: 'https://a/x?page=2',
      last: 'https://a/x?page=5',
    });
  });

  test('GitHub Enterprise Server: an API URL with a path', async () => {
    await sim.close();
    sim = await startGitHubDeploymentsSim({ token: TOKEN, repositories: [REPO], basePath: '/api/v3' });
    const l = ledger({ apiUrl: `${sim.url}/` });
    for (let i = 1; i <= 101; i++) await l.append(entry({ id: `r-${i}` }));
    expect((await l.list('production', { limit: 101 })).length).toBe(101);
  });
});

describe('failures', () => {
  test('401, 403 and 404: denied, in one line naming deployments: write', async () => {
    const wrong = await failure(ledger({ token: 'ghs_wrongtoken' }).list('production'));
    expect(wrong.kind).toBe('denied');
    expect(wrong.message).toMatch(/GitHub did not accept the token \(HTTP 401: Bad credentials\)/);
    expect(wrong.message).toContain('permissions: deployments: write');
    expect(wrong.message).toContain(`GitHub ledger ${new URL(sim.url).host}/${REPO}`);

    const readOnly = await failure(ledger({ token: 'ghs_readonly' }).append(entry({ id: 'r1' })));
    expect(readOnly.kind).toBe('denied');
    expect(readOnly.message).toMatch(/Resource not accessible by integration/);
    expect(readOnly.message).toContain('permissions: deployments: write');

    const missing = await failure(ledger({ repository: 'kiln-dev/nope' }).list('production'));
    expect(missing.kind).toBe('denied');
    expect(missing.message).toMatch(
      /HTTP 404: Not Found: the repository does not exist or the token cannot see it/,
    );
    expect(missing.message).toContain('deployments: write');
  });

  test('a 5xx is retried and then succeeds (a GET and a POST)', async () => {
    const l = ledger();
    sim.failNext(2, 502, {}, { method: 'POST' });
    await l.append(entry({ id: 'r1' }));
    sim.failNext(1, 503, {}, { method: 'GET' });
    await expect(l.list('production')).resolves.toEqual([entry({ id: 'r1' })]);
    expect(sim.requests.filter((r) => r.status >= 500).length).toBe(3);
    expect(log.lines.some((x) => x.startsWith('debug:') && /HTTP 502; retry 1/.test(x))).toBe(true);
  });

  test('5xx until the retries are spent: unreachable', async () => {
    sim.failNext(10, 500);
    const e = await failure(ledger().list('production'));
    expect([e.kind, e.message]).toEqual([
      'unreachable',
      expect.stringMatching(/GitHub answered HTTP 500: Server Error after 4 attempts$/),
    ]);
  });

  test('rate limits: a secondary limit with retry-after is waited out; an exhausted primary limit says when it resets', async () => {
    const l = ledger();
    sim.failNext(1, 403, { 'retry-after': '0' }, { method: 'POST' });
    await l.append(entry({ id: 'r1' }));
    expect(log.lines.some((x) => x.includes('secondary rate limit (HTTP 403); retry 1/3'))).toBe(true);

    const reset = Math.floor(Date.now() / 1000) + 3600;
    sim.setRateLimit(0, reset);
    const primary = await failure(l.list('production'));
    expect(primary.kind).toBe('unreachable');
    expect(primary.message).toContain(`it resets at ${new Date(reset * 1000).toISOString()}`);
    expect(primary.message).toMatch(/primary rate limit answered HTTP 403 \(API rate limit exceeded/);
    sim.setRateLimit(5000);

    sim.failNext(5, 429, { 'retry-after': '120' });
    const long = await failure(l.list('production'));
    expect(long.message).toMatch(/waiting 120s is too long$/);
  });

  test('202 (auto-merged), 409 and 422: conflict or not-found, one line', async () => {
    const l = ledger();
    sim.failNext(
      1,
      202,
      {},
      { method: 'POST', body: { message: 'Auto-merged main into topic on deployment.' } },
    );
    const merged = await failure(l.append(entry({ id: 'r1' })));
    expect([merged.kind, merged.message]).toEqual([
      'conflict',
      expect.stringContaining('GitHub merged the default branch into'),
    ]);
    sim.failNext(
      1,
      409,
      {},
      { method: 'POST', body: { message: 'Conflict: Commit status checks failed for main.' } },
    );
    const conflict = await failure(l.append(entry({ id: 'r1' })));
    expect([conflict.kind, conflict.message]).toEqual([
      'conflict',
      expect.stringContaining('(HTTP 409: Conflict: Commit status checks failed for main.)'),
    ]);

    await sim.close();
    sim = await startGitHubDeploymentsSim({ token: TOKEN, repositories: [REPO], refs: { main: SHA } });
    const unknown = await failure(ledger().append(entry({ id: 'r1', commit: 'd'.repeat(40) })));
    expect([unknown.kind, unknown.message]).toEqual([
      'not-found',
      expect.stringContaining(`HTTP 422: No ref found for: ${'d'.repeat(40)}`),
    ]);
    const noRef = await failure(ledger({ ref: undefined }).append(entry({ id: 'r1' })));
    expect([noRef.kind, noRef.message]).toEqual([
      'not-found',
      expect.stringContaining('GITHUB_SHA is not set'),
    ]);
    await ledger({ ref: undefined, env: { GITHUB_SHA: SHA } }).append(entry({ id: 'r1' }));
    const status = sim.deployments(REPO)[0];
    expect(status?.sha).toBe(SHA);
    const invalid = await failure(ledger().append({ id: 'x' } as LedgerEntry));
    expect(invalid.kind).toBe('corrupt');
    const spaced = await failure(ledger().append(entry({ id: 'r 2' })));
    expect([spaced.kind, spaced.message]).toEqual([
      'corrupt',
      expect.stringContaining('not a valid ledger entry: deploy r 2'),
    ]);
  });

  test('a deadline is honoured against a server that stalls', async () => {
    const l = ledger();
    sim.stallNext(1);
    const e = await failure(l.list('production', { deadline: Date.now() + 300 }));
    expect([e.kind, e.message]).toEqual([
      'unreachable',
      expect.stringMatching(/no complete answer from .* before the deadline/),
    ]);
    sim.stallNext(1);
    const append = await failure(l.append(entry({ id: 'r1' }), { deadline: Date.now() + 300 }));
    expect(append.kind).toBe('unreachable');
  });

  test('a cancelled call rejects with the cancellation, not a LedgerError', async () => {
    const l = ledger();
    sim.stallNext(1);
    const abort = new AbortController();
    const pending = l.list('production', { signal: abort.signal });
    await until(() => sim.requests.length > 0, 'the fake received the request');
    abort.abort();
    await expect(pending).rejects.not.toBeInstanceOf(LedgerError);
  });

  test('bad options are configuration errors', () => {
    expect(() => ledger({ repository: 'shop' })).toThrow("The repository 'shop' is not owner/repo");
    expect(() => ledger({ token: '' })).toThrow('needs a token');
    expect(() => ledger({ apiUrl: 'ftp://x' })).toThrow('not an http(s) URL');
  });
});
