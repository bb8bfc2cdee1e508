/**
 * promote gated on the release ledger (issue #13): `require-verified` refuses a digest that did not pass
 * verification in an environment before anything is written, `force` overrides it and is recorded, `…@last-verified`
 * promotes the newest digest that passed, and `environment` records a `promote` entry. Through the committed bundle
 * (and the CLI bundle in GitLab mode) against Debian's docker-registry: QA's entries are written by the test into a
 * `file:` ledger or, with the default `ledger: registry`, as OCI artifacts in the source repository (RegistryLedger),
 * and the promote entries are read back the same way.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeHttpPools } from '../../packages/core/src/http/http.js';
import { parseImageReference } from '../../packages/core/src/image/reference.js';
import { openImageSource } from '../../packages/core/src/image/source/index.js';
import type { LedgerEntry, Verdict } from '../../packages/core/src/ledger/entry.js';
import { FileLedger } from '../../packages/core/src/ledger/file.js';
import { RegistryLedger } from '../../packages/core/src/ledger/registry.js';
import { MemoryLogger } from '../../packages/core/src/platform/logger.js';
import { localImageSource, pushImage, RegistryClient } from '../../packages/core/src/registry/index.js';
import { expectNoLeak, oneErrorLine, onlyErrorLine, rawHead } from '../harness/assertions.js';
import { repoRoot, runBundle, type RunResult } from '../harness/runner.js';
import { runNode } from '../harness/tsx.js';
import { startFaultProxy, type FaultProxy } from '../sim/registry/fault-proxy.js';
import { writeOciLayout, type OciLayoutImage } from '../sim/registry/oci-layout.js';
import { registryAvailable, startRegistry, type RunningRegistry } from '../sim/registry/registry.js';
import { removeDir } from '../sim/registry/util.js';

const PASSWORD = 'wonderland-L3dger';
const basicAuth = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;

let open: RunningRegistry;
let basicReg: RunningRegistry;
/** In front of `open`: counts requests (nothing written, nothing asked before the inputs are checked). */
let proxy: FaultProxy;
let work: string;
let emptyDockerConfig: string;
let client: RegistryClient;
let seq = 0;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  if (!registryAvailable())
    throw new Error('promote ledger tests need docker-registry (apt-get install docker-registry)');
  work = await mkdtemp(join(tmpdir(), 'kiln-promote-ledger-'));
  emptyDockerConfig = join(work, 'docker-config');
  await mkdir(emptyDockerConfig);
  const started = [
    startRegistry({ logLevel: 'error' }),
    startRegistry({ logLevel: 'error', auth: { kind: 'basic', users: { alice: PASSWORD } } }),
  ] as const;
  const settled = await Promise.allSettled(started);
  for (const s of settled) if (s.status === 'fulfilled') cleanups.push(() => s.value.stop());
  [open, basicReg] = await Promise.all(started);
  proxy = await startFaultProxy(open.url);
  cleanups.push(() => proxy.close());
  client = new RegistryClient({
    logger: new MemoryLogger(),
    env: { PATH: process.env.PATH, HOME: work },
    dockerConfigDir: emptyDockerConfig,
    explicitCredentials: { [basicReg.host]: { username: 'alice', password: PASSWORD } },
  });
}, 30_000);

afterAll(async () => {
  await closeHttpPools();
  for (const stop of cleanups.reverse()) await stop().catch(() => undefined);
  if (work) await removeDir(work);
});

/** A fresh single-platform image, different every call, pushed under `refs`. */
async function image(...refs: string[]): Promise<OciLayoutImage> {
  seq++;
  const layout = await writeOciLayout(join(work, `layout-${seq}`), {
    seed: `promote-ledger-${seq}`,
    randomBytes: 2_000,
  });
  const source = await openImageSource(layout.dir);
  try {
    await pushImage(
      localImageSource(source),
      refs.map((r) => parseImageReference(r)),
      { client, allowOverwrite: true },
    );
  } finally {
    await source.close();
  }
  return layout;
}

let clock = 0;
/** An entry of QA's history: each one a second newer than the last. */
function qa(
  image: string,
  digest: string,
  o: { event?: LedgerEntry['event']; verdict?: Verdict; environment?: string } = {},
): LedgerEntry {
  clock++;
  const event = o.event ?? 'verify';
  return {
    id: `20260101.${String(clock).padStart(6, '0')}.qa${clock}`,
    event,
    environment: o.environment ?? 'qa',
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, clock)).toISOString(),
    image,
    digest,
    result: 'success',
    ...(o.verdict !== undefined ? { verdict: o.verdict } : event === 'verify' ? { verdict: 'passed' } : {}),
  };
}

/** A `file:` ledger holding these entries. */
async function fileLedger(...entries: LedgerEntry[]): Promise<{ path: string; ledger: FileLedger }> {
  const path = join(work, `ledger-${++seq}`, 'releases.jsonl');
  const ledger = new FileLedger(path);
  for (const e of entries) await ledger.append(e);
  return { path, ledger };
}

const isolated = () => ({ DOCKER_CONFIG: emptyDockerConfig });
const writes = (p: FaultProxy) => p.stats().log.filter((e) => e.method !== 'GET' && e.method !== 'HEAD');
const lines = (r: RunResult, prefix: string) => r.stdout.split('\n').filter((l) => l.startsWith(prefix));

describe('promote require-verified with a file: ledger', () => {
  test('a verified digest is promoted and a promote entry recorded in prod (a dry run records nothing)', async () => {
    const repo = `${open.host}/file/app`;
    const img = await image(`${repo}:latest`);
    const { path, ledger } = await fileLedger(
      qa(repo, img.manifest.digest, { event: 'deploy' }),
      qa(repo, img.manifest.digest),
    );
    const inputs = {
      source: `${repo}:latest`,
      tags: '1.0.0',
      'require-verified': 'qa',
      environment: 'prod',
      ledger: `file:${path}`,
    };
    const dry = await runBundle('promote', { env: isolated(), with: { ...inputs, 'dry-run': 'true' } });
    expect(dry.stderr).toBe('');
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain(`require-verified: ${img.manifest.digest} passed verification in qa`);
    expect(dry.outputs.has('release-id')).toBe(false);
    expect(await ledger.list('prod')).toEqual([]);

    const r = await runBundle('promote', { env: isolated(), with: inputs });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(lines(r, '::error::')).toEqual([]);
    expect(lines(r, '::warning::')).toEqual([]);
    expect(await rawHead(open.url, 'file/app', '1.0.0')).toBe(img.manifest.digest);
    const prod = await ledger.list('prod');
    expect(prod).toHaveLength(1);
    expect(prod[0]).toMatchObject({
      id: r.outputs.get('release-id'),
      event: 'promote',
      environment: 'prod',
      image: repo,
      digest: img.manifest.digest,
      result: 'success',
      target: { platform: 'registry', apps: [`${repo}:1.0.0`] },
      commit: '0123456789abcdef0123456789abcdef01234567',
      description: `from ${repo}:latest, verified in qa`,
    });
    expect(prod[0]?.forced).toBeUndefined();
    expect(await ledger.list('qa')).toHaveLength(2); // QA's history is only read
    expect(r.summary).toContain(
      `Verified: ${img.manifest.digest} passed verification in qa (ledger ${path}).`,
    );
    expect(r.summary).toContain(`Recorded in prod: promote ${r.outputs.get('release-id')} (ledger ${path}).`);
    expect(r.stdout).toContain(`ledger: promote ${r.outputs.get('release-id')} recorded in prod`);
  });

  test('never verified, failed or inconclusive: refused with exit 2 in one line, nothing copied or recorded', async () => {
    const repo = `${open.host}/file/gate`;
    const never = await image(`${repo}:never`);
    const failed = await image(`${repo}:failed`);
    const unsure = await image(`${repo}:unsure`);
    const other = await image(`${repo}:other`);
    const { path, ledger } = await fileLedger(
      qa(repo, failed.manifest.digest), // passed once, then failed: the newest verdict counts
      qa(repo, failed.manifest.digest, { verdict: 'failed' }),
      qa(repo, unsure.manifest.digest, { verdict: 'inconclusive' }),
      qa(repo, other.manifest.digest),
      qa(repo, never.manifest.digest, { environment: 'staging' }), // passed elsewhere only
    );
    const cases = [
      ['never', never, 'was never verified in qa'],
      ['failed', failed, 'failed verification in qa'],
      ['unsure', unsure, 'has an inconclusive verification in qa'],
    ] as const;
    for (const [tag, img, says] of cases) {
      proxy.resetStats();
      const r = await runBundle('promote', {
        env: isolated(),
        with: {
          source: `${proxy.host}/file/gate:${tag}`,
          tags: `${tag}-1.0`,
          'require-verified': 'qa',
          environment: 'prod',
          ledger: `file:${path}`,
        },
      });
      expect(oneErrorLine(r, 2)).toBe(
        `::error::refusing to promote ${proxy.host}/file/gate:${tag}: ${img.manifest.digest} ${says} (ledger ${path}); set force to true to promote it anyway.`,
      );
      expect(writes(proxy)).toEqual([]);
      expect(await rawHead(open.url, 'file/gate', `${tag}-1.0`)).toBeUndefined();
      expect(r.outputs.has('release-id')).toBe(false);
      expect(r.summary).toMatch(/^## ❌ promote failed: refusing to promote /m);
    }
    expect(await ledger.list('prod')).toEqual([]);
  });

  test('force promotes an unverified digest: a warning, the summary, and the entry recorded forced', async () => {
    const repo = `${open.host}/file/forced`;
    const img = await image(`${repo}:rc`);
    const { path, ledger } = await fileLedger(qa(repo, img.manifest.digest, { verdict: 'failed' }));
    const r = await runBundle('promote', {
      env: isolated(),
      with: {
        source: `${repo}:rc`,
        tags: 'hotfix',
        'require-verified': 'qa',
        force: 'true',
        environment: 'prod',
        ledger: `file:${path}`,
        'release-id': 'hotfix-1',
      },
    });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(lines(r, '::warning::')).toEqual([
      `::warning::require-verified overridden (force): ${img.manifest.digest} failed verification in qa (ledger ${path}); promoting it anyway.`,
    ]);
    expect(r.summary).toContain(
      `⚠️ Verification gate overridden (force): ${img.manifest.digest} failed verification in qa (ledger ${path}).`,
    );
    expect(await rawHead(open.url, 'file/forced', 'hotfix')).toBe(img.manifest.digest);
    expect(r.outputs.get('release-id')).toBe('hotfix-1');
    const [entry, ...rest] = await ledger.list('prod');
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({
      id: 'hotfix-1',
      event: 'promote',
      digest: img.manifest.digest,
      result: 'success',
      forced: true,
      description: `from ${repo}:rc, forced: failed verification in qa`,
    });
  });

  test('@last-verified promotes the newest digest of that repository that passed qa', async () => {
    const repo = `${open.host}/file/lv`;
    const older = await image(`${repo}:older`);
    const newest = await image(`${repo}:newest`);
    const failedLater = await image(`${repo}:failed-later`);
    const neverVerified = await image(`${repo}:never`);
    const otherApp = await image(`${open.host}/file/other:1`);
    const { path, ledger } = await fileLedger(
      qa(repo, older.manifest.digest, { event: 'deploy' }),
      qa(repo, older.manifest.digest),
      qa(repo, newest.manifest.digest, { event: 'deploy' }),
      qa(repo, newest.manifest.digest),
      qa(repo, failedLater.manifest.digest, { event: 'deploy' }),
      qa(repo, failedLater.manifest.digest, { verdict: 'failed' }),
      qa(repo, neverVerified.manifest.digest, { event: 'deploy' }),
      qa(`${open.host}/file/other`, otherApp.manifest.digest), // another image of qa, newer: not this one's
    );
    const r = await runBundle('promote', {
      env: isolated(),
      with: {
        source: `${repo}@last-verified`,
        'require-verified': 'qa',
        tags: '3.1.0',
        environment: 'prod',
        ledger: `file:${path}`,
      },
    });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(
      `The newest digest of ${repo} that passed verification in qa is ${newest.manifest.digest}`,
    );
    expect(r.outputs.get('digest')).toBe(newest.manifest.digest);
    expect(r.outputs.get('promoted')).toBe(`${repo}:3.1.0`);
    expect(await rawHead(open.url, 'file/lv', '3.1.0')).toBe(newest.manifest.digest);
    const [entry] = await ledger.list('prod');
    expect(entry).toMatchObject({
      event: 'promote',
      image: repo,
      digest: newest.manifest.digest,
      description: `from ${repo}@${newest.manifest.digest}, verified in qa`,
    });

    // Nothing of that repository passed: refused, nothing copied.
    const none = await fileLedger(qa(repo, failedLater.manifest.digest, { verdict: 'failed' }));
    proxy.resetStats();
    const refused = await runBundle('promote', {
      env: isolated(),
      with: {
        source: `${proxy.host}/file/lv@last-verified`,
        'require-verified': 'qa',
        tags: '3.2.0',
        ledger: `file:${none.path}`,
      },
    });
    expect(oneErrorLine(refused, 2)).toBe(
      `::error::no digest of ${proxy.host}/file/lv passed verification in qa (ledger ${none.path}): the ledger has no entry of it there (its entries name ${repo}); nothing to promote.`,
    );
    expect(proxy.stats().requests).toBe(0);
  });

  test('a copy that fails after the gate passed is recorded as a failure', async () => {
    const repo = `${open.host}/file/fails`;
    const img = await image(`${repo}:candidate`);
    await image(`${repo}:1.0`); // the release tag already holds another image
    const { path, ledger } = await fileLedger(qa(repo, img.manifest.digest));
    const r = await runBundle('promote', {
      env: isolated(),
      with: {
        source: `${repo}:candidate`,
        tags: '1.0',
        'require-verified': 'qa',
        environment: 'prod',
        ledger: `file:${path}`,
      },
    });
    expect(oneErrorLine(r, 2)).toContain(`::error::refusing to overwrite ${repo}:1.0`);
    const [entry, ...rest] = await ledger.list('prod');
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({
      event: 'promote',
      digest: img.manifest.digest,
      result: 'failure',
      target: { platform: 'registry', apps: [`${repo}:1.0`] },
    });
  });
});

describe('promote with the registry ledger (default: OCI artifacts in the image repository)', () => {
  const repository = 'team/app';
  const repo = () => `${basicReg.host}/${repository}`;
  const creds = { username: 'alice', password: PASSWORD };

  test("QA's verdicts read in the source repository with the step's credentials; the promote entry written beside them", async () => {
    const verified = await image(`${repo()}:latest`);
    const unverified = await image(`${repo()}:next`);
    const ledger = new RegistryLedger(client, { registry: basicReg.host, repository });
    for (const e of [
      qa(repo(), verified.manifest.digest, { event: 'deploy' }),
      qa(repo(), verified.manifest.digest),
      qa(repo(), unverified.manifest.digest, { event: 'deploy' }),
    ])
      await ledger.append(e);

    const refused = await runBundle('promote', {
      env: isolated(),
      with: {
        source: `${repo()}:next`,
        tags: '2.0.0',
        'require-verified': 'qa',
        environment: 'prod',
        ...creds,
      },
    });
    expect(oneErrorLine(refused, 2)).toBe(
      `::error::refusing to promote ${repo()}:next: ${unverified.manifest.digest} was never verified in qa (ledger oci://${repo()}); set force to true to promote it anyway.`,
    );
    expect(await rawHead(basicReg.url, repository, '2.0.0', basicAuth)).toBeUndefined();

    const r = await runBundle('promote', {
      env: isolated(),
      with: {
        source: `${repo()}:latest`,
        tags: '2.0.0',
        'require-verified': 'qa',
        environment: 'prod',
        ...creds,
      },
    });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(await rawHead(basicReg.url, repository, '2.0.0', basicAuth)).toBe(verified.manifest.digest);
    const prod = await ledger.list('prod');
    expect(prod).toHaveLength(1);
    expect(prod[0]).toMatchObject({
      id: r.outputs.get('release-id'),
      event: 'promote',
      image: repo(),
      digest: verified.manifest.digest,
      result: 'success',
      target: { platform: 'registry', apps: [`${repo()}:2.0.0`] },
    });
    expect(r.summary).toContain(`(ledger oci://${repo()})`);
    expectNoLeak(r, [r.dir], PASSWORD);
  });

  test("across registries: the verdicts in the source's repository, the promote entry in the first target's", async () => {
    const source = `${open.host}/cross/app`;
    const target = `${basicReg.host}/cross/app`;
    const img = await image(`${source}:rc`);
    const sourceLedger = new RegistryLedger(client, { registry: open.host, repository: 'cross/app' });
    await sourceLedger.append(qa(source, img.manifest.digest));
    const r = await runBundle('promote', {
      env: isolated(),
      with: {
        source: `${source}:rc`,
        targets: `${target}\n${open.host}/cross/mirror`,
        tags: '1.0',
        'require-verified': 'qa',
        environment: 'prod',
        ...creds,
      },
    });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`passed verification in qa (ledger oci://${source})`);
    expect(await sourceLedger.list('prod')).toEqual([]);
    const [entry, ...rest] = await new RegistryLedger(client, {
      registry: basicReg.host,
      repository: 'cross/app',
    }).list('prod');
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({
      event: 'promote',
      image: target,
      digest: img.manifest.digest,
      target: { platform: 'registry', apps: [`${target}:1.0`, `${open.host}/cross/mirror:1.0`] },
    });
    expect(r.summary).toContain(`(ledger oci://${target})`);
  });

  test('through the kiln CLI in GitLab mode: @last-verified from the job registry, recorded, dotenv RELEASE_ID', async () => {
    const cliRepository = 'group/cli-app';
    const cliRepo = `${basicReg.host}/${cliRepository}`;
    const first = await image(`${cliRepo}:a`);
    const second = await image(`${cliRepo}:b`);
    const ledger = new RegistryLedger(client, { registry: basicReg.host, repository: cliRepository });
    for (const e of [
      qa(cliRepo, first.manifest.digest),
      qa(cliRepo, second.manifest.digest),
      qa(cliRepo, second.manifest.digest, { verdict: 'inconclusive' }),
    ])
      await ledger.append(e);
    const dir = await mkdtemp(join(work, 'gitlab-'));
    const env = {
      PATH: process.env.PATH,
      HOME: work,
      DOCKER_CONFIG: emptyDockerConfig,
      GITLAB_CI: 'true',
      CI_PROJECT_DIR: dir,
      CI_COMMIT_SHA: 'fedcba9876543210fedcba9876543210fedcba98',
      CI_REGISTRY: basicReg.host,
      CI_REGISTRY_USER: 'alice',
      CI_REGISTRY_PASSWORD: PASSWORD,
    };
    const cli = join(repoRoot, 'dist', 'cli', 'index.js');
    const r = await runNode(
      [
        cli,
        'promote',
        '--source',
        `${cliRepo}@last-verified`,
        '--require-verified',
        'qa',
        '--tags',
        '2024.06.1',
        '--environment',
        'prod',
      ],
      { cwd: dir, env },
    );
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(await rawHead(basicReg.url, cliRepository, '2024.06.1', basicAuth)).toBe(first.manifest.digest);
    const dotenv = await readFile(join(dir, 'kiln.env'), 'utf8');
    expect(dotenv).toMatch(new RegExp(`^DIGEST=${first.manifest.digest}$`, 'm'));
    const [entry] = await ledger.list('prod');
    expect(entry).toMatchObject({
      event: 'promote',
      environment: 'prod',
      image: cliRepo,
      digest: first.manifest.digest,
      result: 'success',
      commit: 'fedcba9876543210fedcba9876543210fedcba98',
    });
    expect(dotenv).toMatch(new RegExp(`^RELEASE_ID=${entry?.id.replace(/\./g, '\\.')}$`, 'm'));
    expectNoLeak(r, [dir], PASSWORD);
  });
});

describe('promote ledger inputs are checked before any request', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    [
      'a bare last-verified',
      { source: 'last-verified', tags: '1' },
      "::error::Input 'source': 'last-verified' names no repository; expected registry/repository@last-verified (the repository whose verified digests to choose from), e.g. harbor.example.com/team/app@last-verified.",
    ],
    [
      '@last-verified with a tag',
      { source: 'PROXY/x/app:1@last-verified', tags: '1', 'require-verified': 'qa' },
      "::error::Input 'source': 'PROXY/x/app:1@last-verified': name the repository only before @last-verified (no tag or digest): the ledger chooses the digest.",
    ],
    [
      '@last-verified without require-verified',
      { source: 'PROXY/x/app@last-verified', tags: '1' },
      "::error::Input 'require-verified': is needed with source …@last-verified: name the environment whose newest passed digest to promote (e.g. qa).",
    ],
    [
      '@last-verified with expected-digest',
      {
        source: 'PROXY/x/app@last-verified',
        tags: '1',
        'require-verified': 'qa',
        'expected-digest': `sha256:${'a'.repeat(64)}`,
      },
      "::error::Input 'expected-digest': is not taken with source …@last-verified (the ledger chooses the digest); to promote a tested digest, give it as source (registry/repository@sha256:…) with require-verified.",
    ],
    [
      'force without require-verified',
      { source: 'PROXY/x/app:1', tags: '2', force: 'true' },
      "::error::Input 'force': overrides require-verified, which is not given; remove force, or name the environment whose verdict to check.",
    ],
    [
      'a ledger for nothing',
      { source: 'PROXY/x/app:1', tags: '2', ledger: 'file:releases.jsonl' },
      "::error::Input 'ledger': 'file:releases.jsonl' is given, but neither environment (record the promotion there) nor require-verified (check a verdict there) is.",
    ],
    [
      'require-verified with ledger none',
      { source: 'PROXY/x/app:1', tags: '2', 'require-verified': 'qa', ledger: 'none' },
      "::error::Input 'ledger': none leaves nothing to read: require-verified checks qa's verdicts in the ledger (registry, oci://registry/repository, file:<path>, github or gitlab).",
    ],
    [
      'an unknown ledger',
      { source: 'PROXY/x/app:1', tags: '2', environment: 'prod', ledger: 's3://bucket' },
      "::error::Input 'ledger': 's3://bucket': expected registry, oci://registry/repository, file:<path>, github, gitlab or none.",
    ],
    [
      'the github ledger without a token',
      { source: 'PROXY/x/app:1', tags: '2', 'require-verified': 'qa', ledger: 'github' },
      "::error::Input 'ledger-token': is needed for ledger: github (pass `${{ github.token }}`).",
    ],
    [
      'release-id without environment',
      { source: 'PROXY/x/app:1', tags: '2', 'require-verified': 'qa', 'release-id': '1.0' },
      "::error::Input 'release-id': names the promote entry recorded in environment, which is not given; name the environment too.",
    ],
    [
      'a bad release-id',
      { source: 'PROXY/x/app:1', tags: '2', environment: 'prod', 'release-id': '-1' },
      "::error::Input 'release-id': '-1': expected letters, digits, '.', '_' or '-' (at most 100, starting with a letter or digit).",
    ],
  ];

  test.each(cases)('%s: one line naming the input, exit 2', async (_name, given, expected) => {
    const host = proxy.host;
    const withHost = Object.fromEntries(Object.entries(given).map(([k, v]) => [k, v.replace('PROXY', host)]));
    proxy.resetStats();
    const r = await runBundle('promote', { env: isolated(), with: withHost });
    expect(onlyErrorLine(r)).toBe(expected.replace('PROXY', host));
    expect(proxy.stats().requests).toBe(0);
  });

  test('require-verified is an environment name', async () => {
    const r = await runBundle('promote', {
      env: isolated(),
      with: { source: `${proxy.host}/x/app:1`, tags: '2', 'require-verified': 'q a' },
    });
    expect(onlyErrorLine(r)).toMatch(/^::error::Input 'require-verified': /);
  });
});
