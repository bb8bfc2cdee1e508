/**
 * GitLabLedger against the GitLab Deployments API fake: entries live in the inner ledger (here in memory), deploys,
 * rollbacks and promotes are mirrored as GitLab deployments, and GitLab's refusals or silence never fail a release.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { until } from '../harness/until.js';
import { GitLabLedger, type GitLabLedgerOptions } from '../../packages/core/src/ledger/gitlab.js';
import type { LedgerBackend, LedgerCall, LedgerEntry } from '../../packages/core/src/ledger/entry.js';
import { LedgerError } from '../../packages/core/src/ledger/entry.js';
import { CancelledError } from '../../packages/core/src/errors.js';
import type { Logger } from '../../packages/core/src/platform/types.js';
import { commitFor, startGitLabSim, type GitLabSim, type JsonObject } from '../sim/gitlab/deployments.js';
import { startServer, type TestServer } from '../harness/http-fixture.js';

/** The truth, in memory: entries as given, newest first by id. */
class MemoryLedger implements LedgerBackend {
  readonly kind = 'memory';
  readonly location = 'memory://ledger';
  readonly entries: LedgerEntry[] = [];
  failAppend = false;
  append(entry: LedgerEntry): Promise<LedgerEntry> {
    if (this.failAppend) return Promise.reject(new LedgerError('memory://ledger is read-only', 'denied'));
    this.entries.push(entry);
    return Promise.resolve(entry);
  }
  list(environment: string, call?: LedgerCall & { limit?: number }): Promise<LedgerEntry[]> {
    return Promise.resolve(
      this.entries
        .filter((e) => e.environment === environment)
        .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
        .slice(0, call?.limit ?? 100),
    );
  }
}

/** Every line logged, by level. */
function recorder(): Logger & { lines: Array<{ level: string; text: string }>; warnings(): string[] } {
  const lines: Array<{ level: string; text: string }> = [];
  const at = (level: string) => (text: string) => void lines.push({ level, text });
  return {
    lines,
    warnings: () => lines.filter((l) => l.level === 'warning').map((l) => l.text),
    debugEnabled: true,
    debug: at('debug'),
    info: at('info'),
    notice: at('notice'),
    warning: at('warning'),
    error: at('error'),
    startGroup: at('group'),
    endGroup: () => undefined,
    group: (_t, fn) => fn(),
  };
}

const MAIN = commitFor('main');
const OLD = commitFor('old');
const JOB_TOKEN = 'glcbt-64_SecretJobToken_9f8e7d';
const PAT = 'glpat-SecretProjectToken-1a2b3c';

const sims: GitLabSim[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all([...sims.splice(0).map((s) => s.close()), ...servers.splice(0).map((s) => s.close())]);
});

async function gitlab(): Promise<GitLabSim> {
  const s = await startGitLabSim({
    projects: [{ id: 7, path: 'group/shop', branches: { main: MAIN }, commits: [OLD] }],
    tokens: {
      [JOB_TOKEN]: { kind: 'job', username: 'alice', role: 'developer' },
      [PAT]: { kind: 'private', username: 'project_7_bot_kiln', role: 'developer' },
      'glcbt-reporter': { kind: 'job', username: 'rita', role: 'reporter' },
    },
  });
  sims.push(s);
  return s;
}

function ledger(
  s: { apiUrl: string },
  o: Partial<GitLabLedgerOptions> = {},
): { ledger: GitLabLedger; inner: MemoryLedger; log: ReturnType<typeof recorder> } {
  const inner = new MemoryLedger();
  const log = recorder();
  const l = new GitLabLedger({
    apiUrl: s.apiUrl,
    projectId: '7',
    token: JOB_TOKEN,
    tokenKind: 'job',
    ref: 'main',
    sha: MAIN,
    inner,
    logger: log,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    ...o,
  });
  return { ledger: l, inner, log };
}

let seq = 0;
function entry(fields: Partial<LedgerEntry> = {}): LedgerEntry {
  seq++;
  return {
    id: `20260301T100000Z-${String(seq).padStart(4, '0')}`,
    event: 'deploy',
    environment: 'production',
    time: '2026-03-01T10:00:00Z',
    image: 'registry.example.com/shop/web',
    digest: `sha256:${'a'.repeat(63)}${seq % 10}`,
    commit: MAIN,
    runUrl: 'https://gitlab.example.com/group/shop/-/pipelines/1',
    actor: 'alice',
    result: 'success',
    ...fields,
  };
}

const posts = (s: GitLabSim) => s.requests.filter((r) => r.method === 'POST');

describe('GitLabLedger', () => {
  test('a deploy lands in the inner ledger and as a GitLab deployment', async () => {
    const s = await gitlab();
    const { ledger: l, inner, log } = ledger(s);
    expect(l.kind).toBe('gitlab');
    expect(l.location).toBe(`${new URL(s.url).host}/7 + memory://ledger`);
    const e = entry();
    await expect(l.append(e)).resolves.toEqual(e);
    expect(inner.entries).toEqual([e]);
    expect(s.deployments()).toEqual([
      expect.objectContaining({
        ref: 'main',
        sha: MAIN,
        status: 'success',
        deployable: null,
        user: expect.objectContaining({ username: 'alice' }),
        environment: expect.objectContaining({ name: 'production' }),
      }),
    ]);
    const [post] = posts(s);
    expect(post?.headers['job-token']).toBe(JOB_TOKEN);
    expect(post?.headers['private-token']).toBeUndefined();
    expect(JSON.parse(post?.body ?? '')).toEqual({
      environment: 'production',
      sha: MAIN,
      ref: 'main',
      tag: false,
      status: 'success',
    });
    expect(log.warnings()).toEqual([]);
  });

  test('a rolled-back or failed deploy is a failed deployment; a promote a successful one', async () => {
    const s = await gitlab();
    const { ledger: l } = ledger(s);
    await l.append(entry({ result: 'rolled-back' }));
    await l.append(entry({ result: 'failure', environment: 'staging' }));
    await l.append(entry({ event: 'promote', environment: 'canary' }));
    expect(s.deployments().map((d) => [(d['environment'] as JsonObject)['name'], d['status']])).toEqual([
      ['production', 'failed'],
      ['staging', 'failed'],
      ['canary', 'success'],
    ]);
  });

  test('verify entries are not mirrored: GitLab deployments have no verdict', async () => {
    const s = await gitlab();
    const { ledger: l, inner } = ledger(s);
    const v = entry({ event: 'verify', verdict: 'passed', of: 'x' });
    await expect(l.append(v)).resolves.toEqual(v);
    expect(inner.entries).toEqual([v]);
    expect(s.requests).toEqual([]);
  });

  test('list is the inner ledger’s: GitLab is not asked', async () => {
    const s = await gitlab();
    const { ledger: l, inner } = ledger(s);
    const a = entry();
    const b = entry({ environment: 'staging' });
    const c = entry({ event: 'verify', verdict: 'failed', of: a.id });
    for (const e of [a, b, c]) await inner.append(e);
    s.requests.splice(0);
    await expect(l.list('production')).resolves.toEqual([c, a]);
    await expect(l.list('production', { limit: 1 })).resolves.toEqual([c]);
    expect(s.requests).toEqual([]);
  });

  test('a rollback names the commit of the release it put back', async () => {
    const s = await gitlab();
    const { ledger: l } = ledger(s);
    const old = entry({ commit: OLD });
    await l.append(old);
    const bad = entry({ commit: MAIN });
    await l.append(bad);
    await l.append(entry({ event: 'rollback', of: bad.id, to: old.id, commit: MAIN }));
    expect(s.deployments().map((d) => [d['sha'], d['status']])).toEqual([
      [OLD, 'success'],
      [MAIN, 'success'],
      [OLD, 'success'],
    ]);
  });

  test('a private token is sent as PRIVATE-TOKEN; a project path is URL-encoded', async () => {
    const s = await gitlab();
    const { ledger: l } = ledger(s, { token: PAT, tokenKind: 'private', projectId: 'group/shop' });
    expect(l.location).toBe(`${new URL(s.url).host}/group/shop + memory://ledger`);
    await l.append(entry());
    const [post] = posts(s);
    expect(post?.path).toBe('/api/v4/projects/group%2Fshop/deployments');
    expect(post?.headers['private-token']).toBe(PAT);
    expect(post?.headers['job-token']).toBeUndefined();
    expect(s.deployments()[0]).toMatchObject({ user: { username: 'project_7_bot_kiln' } });
  });

  test('403 for the job token: one warning naming the permissions and the alternative; the entry is recorded', async () => {
    const s = await gitlab();
    const { ledger: l, inner, log } = ledger(s, { token: 'glcbt-reporter' });
    const a = entry();
    const b = entry({ event: 'rollback', of: a.id });
    await expect(l.append(a)).resolves.toEqual(a);
    await expect(l.append(b)).resolves.toEqual(b);
    expect(inner.entries).toEqual([a, b]);
    expect(s.deployments()).toEqual([]);
    const warnings = log.warnings();
    expect(warnings).toHaveLength(1);
    const w = warnings[0] as string;
    expect(w).toContain(`release ${a.id}`);
    expect(w).toContain('memory://ledger');
    expect(w).toContain('HTTP 403 Forbidden');
    expect(w).toContain('Developer role');
    expect(w).toContain('"Allowed to deploy"');
    expect(w).toContain('"Deployments: Read and write" and "Environments: Read and write"');
    expect(w).toContain('project access token with the `api` scope');
    // The second refusal is in the debug log.
    expect(log.lines.filter((x) => x.level === 'debug' && x.text.includes(b.id))).toHaveLength(1);
  });

  test('a 400 names GitLab’s reason', async () => {
    const s = await gitlab();
    const { ledger: l, log } = ledger(s, { ref: 'gone-branch' });
    await l.append(entry());
    expect(log.warnings()).toEqual([
      expect.stringContaining('HTTP 400: ref: The branch or tag does not exist'),
    ]);
  });

  test('a 5xx is retried (a POST too: GitLab does not repeat an equal successful deployment)', async () => {
    const s = await gitlab();
    const { ledger: l, log } = ledger(s);
    s.failNext(1, 500);
    await l.append(entry(), { deadline: Date.now() + 20_000 });
    expect(posts(s)).toHaveLength(2);
    expect(s.deployments()).toHaveLength(1);
    // GitLab did it, but the answer was lost: the retry gets the same deployment back.
    s.failNext(2, 502, { afterEffect: true });
    await l.append(entry({ commit: OLD }), { deadline: Date.now() + 20_000 });
    expect(posts(s)).toHaveLength(5);
    expect(s.deployments().map((d) => d['sha'])).toEqual([MAIN, OLD]);
    expect(log.warnings()).toEqual([]);
  });

  test('5xx until the retries are spent: a warning, the entry recorded', async () => {
    const s = await gitlab();
    const { ledger: l, inner, log } = ledger(s, { retry: { retries: 2, baseDelayMs: 5, maxDelayMs: 10 } });
    s.failNext(3, 503);
    const e = entry();
    await expect(l.append(e)).resolves.toEqual(e);
    expect(inner.entries).toEqual([e]);
    expect(posts(s)).toHaveLength(3);
    expect(log.warnings()).toEqual([expect.stringContaining('HTTP 503 Service Unavailable')]);
  });

  test('the inner ledger failing fails the append, and GitLab is not asked', async () => {
    const s = await gitlab();
    const { ledger: l, inner } = ledger(s);
    inner.failAppend = true;
    await expect(l.append(entry())).rejects.toThrow(LedgerError);
    expect(s.requests).toEqual([]);
  });

  test('the token never appears in logs or messages, even when a server echoes it', async () => {
    const s = await gitlab();
    const lines: string[] = [];
    const run = async (o: Partial<GitLabLedgerOptions>, prepare?: () => void) => {
      const { ledger: l, log } = ledger(s, o);
      prepare?.();
      await l.append(entry()).catch((e: unknown) => lines.push(String(e), (e as Error).stack ?? ''));
      lines.push(...log.lines.map((x) => x.text), l.location);
    };
    await run({}); // success
    await run({ token: 'glcbt-unknown-SecretValue' }); // 401
    await run({ token: 'glcbt-reporter' }); // 403
    await run({ ref: 'nope' }); // 400
    await run({ projectId: 'group%2Fnope' }); // 404
    await run({ retry: { retries: 1, baseDelayMs: 1, maxDelayMs: 1 } }, () => s.failNext(2, 500)); // 500
    // A proxy that echoes what it got.
    const echo = await startServer();
    servers.push(echo);
    echo.route('/api/v4/projects/7/deployments', (req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `denied for ${String(req.headers['job-token'])}` }));
    });
    await run({ apiUrl: `${echo.url}/api/v4` });
    const all = lines.join('\n');
    expect(all).toContain('HTTP 401');
    expect(all).toContain('HTTP 403: denied for ***');
    for (const token of [JOB_TOKEN, 'glcbt-unknown-SecretValue', 'glcbt-reporter'])
      expect(all).not.toContain(token);
  });

  test('a stalled GitLab ends at the call’s deadline: a warning, the entry recorded', async () => {
    const s = await gitlab();
    const { ledger: l, inner, log } = ledger(s);
    s.failNext(1, 500, { stall: true });
    const e = entry();
    const started = Date.now();
    await expect(l.append(e, { deadline: started + 600 })).resolves.toEqual(e);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(10_000);
    expect(inner.entries).toEqual([e]);
    expect(log.warnings()).toEqual([expect.stringMatching(/before the deadline/)]);
  });

  test('cancelled while GitLab is asked: the cancellation is passed on (the inner ledger has the entry)', async () => {
    const s = await gitlab();
    const { ledger: l, inner, log } = ledger(s);
    s.failNext(1, 500, { stall: true });
    const ac = new AbortController();
    const e = entry();
    const pending = l.append(e, { signal: ac.signal, deadline: Date.now() + 30_000 });
    await until(() => posts(s).length > 0, 'GitLab received the POST');
    expect(posts(s)).toHaveLength(1);
    ac.abort(new CancelledError('SIGTERM'));
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    expect(inner.entries).toEqual([e]);
    expect(log.warnings()).toEqual([]);
  });
});
